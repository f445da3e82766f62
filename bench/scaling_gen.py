#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Deterministic captures for bench/scaling.sh: many concurrent TLS flows, and a capture doubled
# without 5-tuple collisions. Standard library only; classic pcap (microseconds, Ethernet) out.
#
#   scaling_gen.py flows N OUT [--seed S] [--samples DIR]
#       N TLS connections that are all open (SYN, SYN-ACK, ACK, ClientHello) before any of them
#       closes; then, flow by flow in a seeded random order, the rest of the conversation (server
#       flight .. close_notify/FIN, or the protocol_version alert and FIN). The packets are those of
#       samples/tls12-ecdhe.pcap (75 % of flows) and samples/version-mismatch.pcap (25 %), replayed
#       with a client address per flow (10.0.0.0/8 from 10.0.0.1 on), a seeded client port, one of
#       512 servers in 198.18.0.0/23 on port 443, seeded initial sequence numbers on both sides
#       (seq/ack rewritten relative to the sample's ISNs), IP ids per flow, and correct IPv4 and
#       TCP checksums. Timestamps advance 1 us a packet, so the whole capture spans N x ~14 us
#       (14 s for 1 M flows), from the ECDHE sample's first timestamp: far below tlsdiag's default 300 s idle timeout.
#   scaling_gen.py established N OUT [--seed S] [--samples DIR]
#       As flows, but every connection is samples/tls12-ecdhe.pcap and all N complete their handshake
#       and exchange their first application data records (each side's) before any closes: the
#       peak holds N connections after their handshake, the state issue 5's 1 KB budget is about.
#       Then, in the seeded order, each sends close_notify and FIN.
#   scaling_gen.py double IN OUT
#       IN, then IN again with every IPv4 198.18.x.y / 10.x.y.z address moved to 198.19.x.y /
#       11.x.y.z (checksums updated incrementally, RFC 1624) and timestamps shifted past IN's end:
#       twice the packets and flows, and no 5-tuple of the second copy meets one of the first.
import random
import struct
import sys

PCAP_HDR = struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
REC = struct.Struct('<IIII')
IP = struct.Struct('!BBHHHBBHII')
TCP = struct.Struct('!HHIIBBHHH')
ETHERTYPE_IPV4 = 0x0800


def fold(s):
    """Ones'-complement checksum of a 32-bit-or-wider sum of 16-bit words."""
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def words_sum(b):
    if len(b) % 2:
        b = b + b'\0'
    return sum(struct.unpack('!%dH' % (len(b) // 2), b))


def read_pcap(path):
    """Yields (ts_sec, ts_usec, data) of a classic little-endian microsecond pcap (ours)."""
    with open(path, 'rb') as f:
        hdr = f.read(24)
        magic = struct.unpack('<I', hdr[:4])[0]
        if magic != 0xa1b2c3d4 or struct.unpack('<I', hdr[20:24])[0] != 1:
            sys.exit('scaling_gen.py: %s: only little-endian microsecond Ethernet pcap is handled' % path)
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            sec, usec, incl, _orig = REC.unpack(rh)
            yield sec, usec, f.read(incl)


class Seg:
    """One TCP segment of a sample conversation, relative to the sample's ISNs."""
    __slots__ = ('from_client', 'flags', 'rel_seq', 'rel_ack', 'win', 'opts', 'payload', 'const_sum')


def load_template(path):
    segs = []
    client = None
    isn = {}
    for _s, _u, d in read_pcap(path):
        if len(d) < 34 or struct.unpack('!H', d[12:14])[0] != ETHERTYPE_IPV4 or d[23] != 6:
            continue
        ihl = (d[14] & 15) * 4
        tot = struct.unpack('!H', d[16:18])[0]
        t = 14 + ihl
        sport, dport, seq, ack, off, flags, win = struct.unpack('!HHIIBBH', d[t:t + 16])
        doff = (off >> 4) * 4
        if client is None:
            client = sport  # the first packet is the client's SYN
        from_client = sport == client
        if flags & 0x02:
            isn[from_client] = seq
        g = Seg()
        g.from_client = from_client
        g.flags = flags
        g.rel_seq = (seq - isn[from_client]) & 0xffffffff
        g.rel_ack = (ack - isn[not from_client]) & 0xffffffff if flags & 0x10 else None
        g.win = win
        g.opts = d[t + 20:t + doff]
        g.payload = d[t + doff:14 + tot]
        # Checksum words that do not change between flows: offset/flags, window, options,
        # payload, and the pseudo-header's protocol and TCP length.
        tcp_len = doff + len(g.payload)
        g.const_sum = ((doff // 4) << 12 | flags) + win + words_sum(g.opts) + words_sum(g.payload) + 6 + tcp_len
        segs.append(g)
    if len(segs) < 5 or not (segs[0].flags & 0x02) or not segs[3].payload or not segs[3].from_client:
        sys.exit('scaling_gen.py: %s does not open with SYN, SYN-ACK, ACK, ClientHello' % path)
    return segs


def open_len(tpl, established):
    """How many segments of tpl every flow sends before any flow closes: through the ClientHello, or
    (established) up to the first alert record or FIN, i.e. past the handshake and the first
    application data."""
    if not established:
        return 4
    for k, seg in enumerate(tpl):
        if seg.flags & 0x01 or seg.payload[:1] == b'\x15':
            return k
    sys.exit('scaling_gen.py: the template never closes')


def gen_flows(n, out, seed, samples, established=False):
    rng = random.Random(seed)
    templates = [load_template(samples + '/tls12-ecdhe.pcap'), load_template(samples + '/version-mismatch.pcap')]
    if established:
        templates = templates[:1]
    first_ts = next(read_pcap(samples + '/tls12-ecdhe.pcap'))[:2]
    mac_c = bytes.fromhex('020000000001')
    mac_s = bytes.fromhex('020000000002')
    eth_c2s = mac_s + mac_c + b'\x08\x00'
    eth_s2c = mac_c + mac_s + b'\x08\x00'
    client_base = (10 << 24) + 1
    server_base = (198 << 24) | (18 << 16)
    flows = []
    for i in range(n):
        tpl = templates[0] if rng.random() < 0.75 or established else templates[1]
        flows.append((tpl, client_base + i, server_base + rng.randrange(512), rng.randrange(1024, 65536),
                      443, rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(16)))
    order = list(range(n))
    rng.shuffle(order)
    # Start at the sample's own time: its certificate is valid then (tlsdiag checks validity against
    # the capture clock).
    ts = [first_ts[0], first_ts[1]]
    rec_pack = REC.pack
    ip_pack = IP.pack
    tcp_pack = TCP.pack
    ip_const = 0x4500 + 0x4000 + ((64 << 8) | 6)
    buf = []

    def emit(flow, k, seg):
        tpl, cip, sip, cport, sport, isn_c, isn_s, ipid = flow
        if seg.from_client:
            src, dst, sp, dp, isn_me, isn_peer, eth = cip, sip, cport, sport, isn_c, isn_s, eth_c2s
        else:
            src, dst, sp, dp, isn_me, isn_peer, eth = sip, cip, sport, cport, isn_s, isn_c, eth_s2c
        seq = (isn_me + seg.rel_seq) & 0xffffffff
        ack = (isn_peer + seg.rel_ack) & 0xffffffff if seg.rel_ack is not None else 0
        tcp_len = 20 + len(seg.opts) + len(seg.payload)
        tot = 20 + tcp_len
        pid = (ipid + k) & 0xffff
        addr_sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff)
        ipsum = fold(ip_const + tot + pid + addr_sum)
        tsum = fold(seg.const_sum + addr_sum + sp + dp + (seq >> 16) + (seq & 0xffff) + (ack >> 16) + (ack & 0xffff))
        caplen = 14 + tot
        buf.append(rec_pack(ts[0], ts[1], caplen, caplen))
        buf.append(eth)
        buf.append(ip_pack(0x45, 0, tot, pid, 0x4000, 64, 6, ipsum, src, dst))
        buf.append(tcp_pack(sp, dp, seq, ack, ((20 + len(seg.opts)) // 4) << 4, seg.flags, seg.win, tsum, 0))
        buf.append(seg.opts)
        buf.append(seg.payload)
        ts[1] += 1
        if ts[1] == 1000000:
            ts[0] += 1
            ts[1] = 0

    with open(out, 'wb') as f:
        f.write(PCAP_HDR)
        for flow in flows:
            tpl = flow[0]
            for k in range(open_len(tpl, established)):
                emit(flow, k, tpl[k])
            if len(buf) > 60000:
                f.write(b''.join(buf))
                buf.clear()
        for i in order:
            flow = flows[i]
            tpl = flow[0]
            for k in range(open_len(tpl, established), len(tpl)):
                emit(flow, k, tpl[k])
            if len(buf) > 60000:
                f.write(b''.join(buf))
                buf.clear()
        f.write(b''.join(buf))


def csum_update(hc, old, new):
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one 16-bit word m -> m'."""
    s = (~hc & 0xffff) + (~old & 0xffff) + new
    return fold(s)


def moved(addr_hi):
    """The high 16 bits of an address in the second copy (198.18 -> 198.19, 10.x -> 11.x)."""
    if addr_hi >> 8 == 10:
        return addr_hi + 0x100
    if addr_hi == 0xc612:
        return 0xc613
    return addr_hi


def double(inp, out):
    first = last = None
    with open(out, 'wb') as f:
        f.write(PCAP_HDR)
        for sec, usec, d in read_pcap(inp):
            if first is None:
                first = (sec, usec)
            last = (sec, usec)
            f.write(REC.pack(sec, usec, len(d), len(d)))
            f.write(d)
        # The second copy starts one second after the first ends.
        shift_us = (last[0] - first[0]) * 1000000 + (last[1] - first[1]) + 1000000
        buf = []
        for sec, usec, d in read_pcap(inp):
            t = sec * 1000000 + usec + shift_us
            if len(d) >= 34 and d[12:14] == b'\x08\x00':
                d = bytearray(d)
                ihl = (d[14] & 15) * 4
                ipsum = struct.unpack('!H', d[24:26])[0]
                l4sum_off = None
                if d[23] == 6 and len(d) >= 14 + ihl + 18:
                    l4sum_off = 14 + ihl + 16
                elif d[23] == 17 and len(d) >= 14 + ihl + 8:
                    l4sum_off = 14 + ihl + 6
                l4sum = struct.unpack('!H', d[l4sum_off:l4sum_off + 2])[0] if l4sum_off else None
                for off in (26, 30):  # source, destination: the high 16 bits
                    old = struct.unpack('!H', d[off:off + 2])[0]
                    new = moved(old)
                    if new != old:
                        d[off:off + 2] = struct.pack('!H', new)
                        ipsum = csum_update(ipsum, old, new)
                        if l4sum is not None and not (d[23] == 17 and l4sum == 0):
                            l4sum = csum_update(l4sum, old, new)
                d[24:26] = struct.pack('!H', ipsum)
                if l4sum is not None:
                    d[l4sum_off:l4sum_off + 2] = struct.pack('!H', l4sum)
                d = bytes(d)
            buf.append(REC.pack(t // 1000000, t % 1000000, len(d), len(d)))
            buf.append(d)
            if len(buf) > 60000:
                f.write(b''.join(buf))
                buf.clear()
        f.write(b''.join(buf))


def main(argv):
    usage = 'usage: scaling_gen.py flows|established N OUT [--seed S] [--samples DIR] | double IN OUT'
    if len(argv) < 3:
        sys.exit(usage)
    if argv[0] in ('flows', 'established'):
        seed, samples = 20240301, None
        rest = argv[3:]
        while rest:
            if rest[0] == '--seed' and len(rest) > 1:
                seed = int(rest[1])
            elif rest[0] == '--samples' and len(rest) > 1:
                samples = rest[1]
            else:
                sys.exit(usage)
            rest = rest[2:]
        if samples is None:
            import os
            samples = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'samples')
        gen_flows(int(argv[1]), argv[2], seed, samples, established=argv[0] == 'established')
    elif argv[0] == 'double' and len(argv) == 3:
        double(argv[1], argv[2])
    else:
        sys.exit(usage)


if __name__ == '__main__':
    main(sys.argv[1:])
