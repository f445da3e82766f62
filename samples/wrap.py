#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""wrap.py: wrap every packet of a classic pcap in one encapsulation met on span and mirror ports.

Specs: GRE RFC 2784 §2.1 + RFC 2890 §2 (key, sequence); ERSPAN draft-foschiano-erspan-03 §4.1-§4.3
(types I, II, III, carried in GRE); VXLAN RFC 7348 §5; Geneve RFC 8926 §3.4-§3.5; MPLS RFC 3032 §2.1;
PPPoE RFC 2516 §4-§7 (session stage); IP-in-IP RFC 2003 §3; 6in4 RFC 4213 §3.5; GTP-U 3GPP TS 29.281 §5.1;
802.1Q / 802.1ad tags (IEEE 802.1Q §9.6); IPv4 RFC 791 §3.1 (header checksum RFC 1071); UDP RFC 768;
incremental checksum update RFC 1624 §3.

Each packet stays one frame, so frame numbers, timestamps and the inner bytes are unchanged; only outer
headers are added (and, for the encapsulations that carry IP rather than Ethernet, the inner Ethernet
header and its padding are dropped). Outer lengths are computed from the inner packet's wire length, so a
snaplen-cut inner packet keeps a correct outer header; its UDP checksum is then 0 (allowed over IPv4).
Outer endpoints follow the inner direction: the side that sent a flow's first packet talks from --outer-src
to --outer-dst, the other side the reverse, as a real tunnel does.

--to-ipv6 rewrites an inner IPv4 packet into IPv6 (2001:db8::/96 + the IPv4 address; hop limit = TTL,
traffic class = TOS) and updates the TCP/UDP checksum incrementally for the new pseudo-header, so a
checksum that was right stays right and one that was wrong (loopback offload) stays exactly as wrong.
6in4 needs an IPv6 inner packet: give it --to-ipv6 or an IPv6 capture.

Usage: wrap.py ENCAP IN.pcap OUT.pcap [options]; ENCAP is one of vlan qinq mpls pppoe ipip 6in4 gre gre-key
erspan1 erspan2 erspan3 vxlan geneve gtpu (wrap.py --help lists the options and their defaults).
"""

import argparse
import ipaddress
import struct
import sys

ENCAPS = ("vlan", "qinq", "mpls", "pppoe", "ipip", "6in4", "gre", "gre-key", "erspan1", "erspan2", "erspan3",
          "vxlan", "geneve", "gtpu")

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_MPLS = 0x8847
ETH_PPPOE_SESSION = 0x8864
ETH_TEB = 0x6558        # transparent Ethernet bridging (Geneve protocol type)
ETH_ERSPAN_II = 0x88BE  # ERSPAN type I and II (type I: no GRE sequence number, no ERSPAN header)
ETH_ERSPAN_III = 0x22EB

IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_GRE = 47

PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057

UDP_VXLAN = 4789
UDP_GENEVE = 6081
UDP_GTPU = 2152

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
MAC_INNER_A = bytes.fromhex("02000000000a")
MAC_INNER_B = bytes.fromhex("02000000000b")


class WrapError(Exception):
    pass


# ---- checksums ------------------------------------------------------------------------------------------

def ones_sum(data):
    """RFC 1071 one's-complement sum of 16-bit words (odd length padded with a zero byte), folded."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum(data):
    return ~ones_sum(data) & 0xFFFF


def fold(total):
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


# ---- pcap -----------------------------------------------------------------------------------------------

def read_pcap(path):
    """Classic pcap, both byte orders, micro- or nanosecond. Returns (endian, magic, linktype, records),
    a record being [ts_sec, ts_frac, caplen, wire_len, data]."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 24:
        raise WrapError("%s: too short for a pcap header" % path)
    magic_le = struct.unpack("<I", raw[:4])[0]
    if magic_le in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif struct.unpack(">I", raw[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D):
        endian = ">"
    else:
        raise WrapError("%s: not a classic pcap file (pcapng: convert with editcap -F pcap)" % path)
    magic, _vmaj, _vmin, _zone, _sigfigs, _snaplen, linktype = struct.unpack(endian + "IHHiIII", raw[:24])
    records = []
    off = 24
    while off < len(raw):
        if off + 16 > len(raw):
            raise WrapError("%s: cut inside a record header at byte %d" % (path, off))
        ts_sec, ts_frac, caplen, wire_len = struct.unpack(endian + "IIII", raw[off:off + 16])
        off += 16
        if off + caplen > len(raw):
            raise WrapError("%s: cut inside a record at byte %d" % (path, off))
        records.append([ts_sec, ts_frac, caplen, wire_len, raw[off:off + caplen]])
        off += caplen
    return endian, magic, linktype & 0x0FFFFFFF, records


def write_pcap(path, magic, linktype, records):
    """Little-endian classic pcap with the input's time precision (magic) and a 262144-byte snaplen."""
    out = [struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    for ts_sec, ts_frac, wire_len, data in records:
        out.append(struct.pack("<IIII", ts_sec, ts_frac, len(data), wire_len))
        out.append(data)
    with open(path, "wb") as f:
        f.write(b"".join(out))


# ---- the inner packet -----------------------------------------------------------------------------------

class Inner:
    """One inner packet: its IP bytes as captured (trimmed to the IP length), the IP wire length, the
    Ethernet frame carrying it (for the Ethernet-carrying encapsulations) and its wire length."""

    def __init__(self, ip, ip_wire, eth, eth_wire):
        self.ip, self.ip_wire, self.eth, self.eth_wire = ip, ip_wire, eth, eth_wire

    @property
    def version(self):
        return self.ip[0] >> 4


def ip_wire_len(ip):
    if len(ip) < 1:
        raise WrapError("empty IP packet")
    if ip[0] >> 4 == 4 and len(ip) >= 4:
        return struct.unpack("!H", ip[2:4])[0]
    if ip[0] >> 4 == 6 and len(ip) >= 6:
        return 40 + struct.unpack("!H", ip[4:6])[0]
    raise WrapError("not an IPv4/IPv6 packet (first byte 0x%02x)" % ip[0])


def extract_inner(linktype, data, wire_len):
    """Find the IP packet in a frame; keep the whole Ethernet frame for the Ethernet carriers."""
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            raise WrapError("Ethernet frame shorter than its header")
        etype = struct.unpack("!H", data[12:14])[0]
        off = 14
        while etype in (ETH_VLAN, ETH_QINQ):
            if len(data) < off + 4:
                raise WrapError("VLAN tag cut short")
            etype = struct.unpack("!H", data[off + 2:off + 4])[0]
            off += 4
        if etype not in (ETH_IPV4, ETH_IPV6):
            raise WrapError("Ethernet type 0x%04x is not IP" % etype)
        ip = data[off:]
        ip_wire = ip_wire_len(ip)
        return Inner(ip[:ip_wire], ip_wire, data, wire_len)
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        ip_wire = ip_wire_len(data)
        ip = data[:ip_wire]
        etype = ETH_IPV4 if ip[0] >> 4 == 4 else ETH_IPV6
        eth = MAC_INNER_B + MAC_INNER_A + struct.pack("!H", etype)
        return Inner(ip, ip_wire, eth + ip, 14 + ip_wire)
    raise WrapError("link type %d is not supported (Ethernet and raw IP are)" % linktype)


def v4_to_v6_addr(addr4):
    return bytes.fromhex("20010db8") + bytes(8) + addr4


def to_ipv6(inner):
    """RFC 791 -> RFC 8200 header; TCP/UDP checksum updated for the new pseudo-header (RFC 1624 §3)."""
    ip = inner.ip
    if ip[0] >> 4 != 4:
        return inner
    ihl = (ip[0] & 0x0F) * 4
    tos, total, frag, ttl, proto = ip[1], struct.unpack("!H", ip[2:4])[0], struct.unpack("!H", ip[6:8])[0], \
        ip[8], ip[9]
    if frag & 0x3FFF:
        raise WrapError("--to-ipv6: IPv4 fragments are not converted")
    src4, dst4 = ip[12:16], ip[16:20]
    src6, dst6 = v4_to_v6_addr(src4), v4_to_v6_addr(dst4)
    payload = bytearray(ip[ihl:])
    plen = total - ihl
    if proto in (IPPROTO_TCP, IPPROTO_UDP):
        at = 16 if proto == IPPROTO_TCP else 6
        if len(payload) >= at + 2:
            old = struct.unpack("!H", payload[at:at + 2])[0]
            if not (proto == IPPROTO_UDP and old == 0):  # UDP over IPv6 must carry a checksum
                old_pseudo = ones_sum(src4 + dst4 + struct.pack("!BBH", 0, proto, plen))
                new_pseudo = ones_sum(src6 + dst6 + struct.pack("!IxxxB", plen, proto))
                # HC' = ~(~HC + ~m + m'), RFC 1624 eqn. 3, m being the pseudo-header sum.
                new = ~fold((~old & 0xFFFF) + (~old_pseudo & 0xFFFF) + new_pseudo) & 0xFFFF
                payload[at:at + 2] = struct.pack("!H", new)
            elif proto == IPPROTO_UDP:
                raise WrapError("--to-ipv6: a UDP datagram without checksum cannot be carried by IPv6")
    header = struct.pack("!IHBB", (6 << 28) | (tos << 20), plen, proto, ttl) + src6 + dst6
    ip6 = header + bytes(payload)
    eth = inner.eth[:12] + struct.pack("!H", ETH_IPV6) if len(inner.eth) >= 14 else \
        MAC_INNER_B + MAC_INNER_A + struct.pack("!H", ETH_IPV6)
    return Inner(ip6, 40 + plen, eth + ip6, 14 + 40 + plen)


def flow_key(ip):
    """(src, dst, sport, dport) of the inner packet, for the direction of its flow."""
    if ip[0] >> 4 == 4:
        ihl = (ip[0] & 0x0F) * 4
        src, dst, proto, l4 = ip[12:16], ip[16:20], ip[9], ip[ihl:]
    else:
        src, dst, proto, l4 = ip[8:24], ip[24:40], ip[6], ip[40:]
    ports = struct.unpack("!HH", l4[:4]) if proto in (IPPROTO_TCP, IPPROTO_UDP) and len(l4) >= 4 else (0, 0)
    return (src, ports[0]), (dst, ports[1]), proto


# ---- outer headers --------------------------------------------------------------------------------------

class Wrapper:
    def __init__(self, args):
        self.a = args
        self.flows = {}        # canonical flow -> the endpoint that sent its first packet
        self.ip_id = {True: args.ip_id, False: args.ip_id}
        self.gre_seq = {True: 0, False: 0}
        self.outer_src = ipaddress.IPv4Address(args.outer_src).packed
        self.outer_dst = ipaddress.IPv4Address(args.outer_dst).packed

    def forward(self, inner):
        a, b, proto = flow_key(inner.ip)
        key = (min(a, b), max(a, b), proto)
        first = self.flows.setdefault(key, a)
        return first == a

    def ether(self, fwd, etype):
        src, dst = (MAC_A, MAC_B) if fwd else (MAC_B, MAC_A)
        return dst + src + struct.pack("!H", etype)

    def ipv4(self, fwd, proto, payload_wire):
        """Outer IPv4 header (RFC 791 §3.1): DF set, TTL 64, checksum per RFC 1071."""
        src, dst = (self.outer_src, self.outer_dst) if fwd else (self.outer_dst, self.outer_src)
        ident = self.ip_id[fwd]
        self.ip_id[fwd] = (ident + 1) & 0xFFFF
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_wire, ident, 0x4000, 64, proto, 0, src, dst)
        return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:], src, dst

    def udp(self, fwd, sport, dport, body, body_wire):
        """UDP header (RFC 768) plus the outer IPv4 header. The checksum covers the pseudo-header; when the
        body was cut by the snaplen it cannot be computed and is sent as 0 (no checksum, IPv4 only)."""
        length = 8 + body_wire
        ip, src, dst = self.ipv4(fwd, IPPROTO_UDP, length)
        hdr = struct.pack("!HHHH", sport, dport, length, 0)
        csum = 0
        if len(body) == body_wire:
            csum = checksum(src + dst + struct.pack("!BBH", 0, IPPROTO_UDP, length) + hdr + body) or 0xFFFF
        return ip + hdr[:6] + struct.pack("!H", csum)

    def entropy_port(self, inner):
        """RFC 7348 §5 / RFC 8926 §3.3: the source port is a hash of the inner flow, in 49152-65535."""
        a, b, proto = flow_key(inner.ip)
        h = 0
        for byte in min(a, b)[0] + max(a, b)[0] + struct.pack("!HHB", min(a, b)[1], max(a, b)[1], proto):
            h = (h * 31 + byte) & 0xFFFFFFFF
        return 49152 + h % 16384

    def gre(self, fwd, proto, key=None, seq=False):
        """GRE (RFC 2784 §2.1, RFC 2890 §2): C=0 K S, version 0; key, then sequence number."""
        flags = (0x2000 if key is not None else 0) | (0x1000 if seq else 0)
        hdr = struct.pack("!HH", flags, proto)
        if key is not None:
            hdr += struct.pack("!I", key)
        if seq:
            hdr += struct.pack("!I", self.gre_seq[fwd])
            self.gre_seq[fwd] = (self.gre_seq[fwd] + 1) & 0xFFFFFFFF
        return hdr

    def wrap(self, inner, ts_us):
        """Returns (outer headers, inner bytes as captured, inner wire length) for one packet."""
        a = self.a
        fwd = self.forward(inner)
        e = a.encap
        ip_type = ETH_IPV4 if inner.version == 4 else ETH_IPV6
        if e == "vlan":
            tag = struct.pack("!HH", a.vlan & 0x0FFF, ip_type)
            return self.ether(fwd, ETH_VLAN) + tag, inner.ip, inner.ip_wire
        if e == "qinq":
            outer = struct.pack("!HH", a.svlan & 0x0FFF, ETH_VLAN)
            tag = struct.pack("!HH", a.vlan & 0x0FFF, ip_type)
            return self.ether(fwd, ETH_QINQ) + outer + tag, inner.ip, inner.ip_wire
        if e == "mpls":
            # RFC 3032 §2.1: label(20) TC(3) S(1) TTL(8); S marks the bottom of the stack.
            stack = b""
            for i, label in enumerate(a.labels):
                bottom = 1 if i == len(a.labels) - 1 else 0
                stack += struct.pack("!I", (label & 0xFFFFF) << 12 | bottom << 8 | 64)
            return self.ether(fwd, ETH_MPLS) + stack, inner.ip, inner.ip_wire
        if e == "pppoe":
            # RFC 2516 §4: ver(4)=1 type(4)=1 code(8)=0 session_id(16) length(16) = PPP payload length,
            # here the PPP protocol field (RFC 1661 §2) and the IP packet.
            proto = PPP_IPV4 if inner.version == 4 else PPP_IPV6
            hdr = struct.pack("!BBHHH", 0x11, 0x00, a.session, 2 + inner.ip_wire, proto)
            return self.ether(fwd, ETH_PPPOE_SESSION) + hdr, inner.ip, inner.ip_wire
        if e == "ipip":
            if inner.version != 4:
                raise WrapError("ipip carries IPv4 in IPv4; use 6in4 for IPv6")
            ip, _, _ = self.ipv4(fwd, IPPROTO_IPIP, inner.ip_wire)
            return self.ether(fwd, ETH_IPV4) + ip, inner.ip, inner.ip_wire
        if e == "6in4":
            if inner.version != 6:
                raise WrapError("6in4 carries IPv6: give --to-ipv6 or an IPv6 capture")
            ip, _, _ = self.ipv4(fwd, IPPROTO_IPV6, inner.ip_wire)
            return self.ether(fwd, ETH_IPV4) + ip, inner.ip, inner.ip_wire
        if e in ("gre", "gre-key"):
            gre = self.gre(fwd, ip_type, key=a.key if e == "gre-key" else None)
            ip, _, _ = self.ipv4(fwd, IPPROTO_GRE, len(gre) + inner.ip_wire)
            return self.ether(fwd, ETH_IPV4) + ip + gre, inner.ip, inner.ip_wire
        if e == "erspan1":
            # Type I: GRE protocol 0x88BE without a sequence number and no ERSPAN header (draft §4.1).
            gre = self.gre(fwd, ETH_ERSPAN_II)
            ip, _, _ = self.ipv4(fwd, IPPROTO_GRE, len(gre) + inner.eth_wire)
            return self.ether(fwd, ETH_IPV4) + ip + gre, inner.eth, inner.eth_wire
        if e == "erspan2":
            # Type II (draft §4.2): GRE with S; Ver(4)=1 VLAN(12) | COS(3) En(2) T(1) SessionID(10) |
            # Reserved(12) Index(20). En=0: the mirrored frame carries no VLAN tag.
            gre = self.gre(fwd, ETH_ERSPAN_II, seq=True)
            hdr = struct.pack("!HHI", 1 << 12, a.session_id & 0x3FF, 0)
            ip, _, _ = self.ipv4(fwd, IPPROTO_GRE, len(gre) + len(hdr) + inner.eth_wire)
            return self.ether(fwd, ETH_IPV4) + ip + gre + hdr, inner.eth, inner.eth_wire
        if e == "erspan3":
            # Type III (draft §4.3): GRE with S, protocol 0x22EB; Ver(4)=2 VLAN(12) | COS(3) BSO(2) T(1)
            # SessionID(10) | Timestamp(32) | SGT(16) | P(1) FT(5) HwID(6) D(1) Gra(2) O(1).
            # FT 0 = Ethernet frame, Gra 00 = timestamp in 100 us units, O 0 = no platform subheader.
            gre = self.gre(fwd, ETH_ERSPAN_III, seq=True)
            stamp = (ts_us // 100) & 0xFFFFFFFF
            last = (0 << 15) | (0 << 10) | (1 << 4) | (0 << 3) | (0 << 1) | 0
            hdr = struct.pack("!HHIHH", 2 << 12, a.session_id & 0x3FF, stamp, 0, last)
            ip, _, _ = self.ipv4(fwd, IPPROTO_GRE, len(gre) + len(hdr) + inner.eth_wire)
            return self.ether(fwd, ETH_IPV4) + ip + gre + hdr, inner.eth, inner.eth_wire
        if e == "vxlan":
            # RFC 7348 §5: flags(8) with I=0x08, reserved(24), VNI(24), reserved(8).
            vx = struct.pack("!II", 0x08000000, (a.vni & 0xFFFFFF) << 8)
            body = vx + inner.eth
            udp = self.udp(fwd, self.entropy_port(inner), UDP_VXLAN, body, len(vx) + inner.eth_wire)
            return self.ether(fwd, ETH_IPV4) + udp + vx, inner.eth, inner.eth_wire
        if e == "geneve":
            # RFC 8926 §3.4: Ver(2)=0 OptLen(6) | O C Rsvd(6) | Protocol Type(16) | VNI(24) Rsvd(8), then
            # options (§3.5): class(16) type(8) R(3) length(5) in 4-byte units, data. One 4-byte option in
            # the experimental class 0xFFF0 (RFC 8926 §8.1 range 0xFFF0-0xFFFF) exercises OptLen.
            option = struct.pack("!HBB", 0xFFF0, 0x01, 1) + b"\x00\x00\x00\x2a"
            gen = struct.pack("!BBHI", len(option) // 4, 0, ETH_TEB, (a.vni & 0xFFFFFF) << 8) + option
            body = gen + inner.eth
            udp = self.udp(fwd, self.entropy_port(inner), UDP_GENEVE, body, len(gen) + inner.eth_wire)
            return self.ether(fwd, ETH_IPV4) + udp + gen, inner.eth, inner.eth_wire
        if e == "gtpu":
            # TS 29.281 §5.1: version(3)=1 PT(1)=1 spare E S PN | type(8)=255 G-PDU | length(16) counts what
            # follows the first 8 bytes | TEID(32). Uplink (first sender) uses --teid, downlink --teid-down.
            teid = a.teid if fwd else a.teid_down
            gtp = struct.pack("!BBHI", 0x30, 0xFF, inner.ip_wire, teid)
            body = gtp + inner.ip
            udp = self.udp(fwd, UDP_GTPU, UDP_GTPU, body, len(gtp) + inner.ip_wire)
            return self.ether(fwd, ETH_IPV4) + udp + gtp, inner.ip, inner.ip_wire
        raise WrapError("unknown encapsulation %s" % e)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Wrap every packet of a classic pcap in one encapsulation.")
    p.add_argument("encap", choices=ENCAPS)
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--outer-src", default="192.0.2.1", help="tunnel endpoint of the first sender (IPv4)")
    p.add_argument("--outer-dst", default="198.51.100.1", help="the other tunnel endpoint (IPv4)")
    p.add_argument("--ip-id", type=int, default=1, help="first outer IPv4 identification")
    p.add_argument("--vlan", type=int, default=100, help="VLAN id (vlan; the C-tag of qinq)")
    p.add_argument("--svlan", type=int, default=200, help="S-tag VLAN id of qinq (TPID 0x88a8)")
    p.add_argument("--labels", type=lambda s: [int(x) for x in s.split(",")], default=[16, 17],
                   help="MPLS label stack, outermost first (default 16,17)")
    p.add_argument("--session", type=int, default=0x1234, help="PPPoE session id")
    p.add_argument("--key", type=int, default=0x2A, help="GRE key (gre-key)")
    p.add_argument("--session-id", type=int, default=7, help="ERSPAN II/III session id (10 bits)")
    p.add_argument("--vni", type=int, default=42, help="VXLAN / Geneve VNI")
    p.add_argument("--teid", type=int, default=0x1001, help="GTP-U TEID of the first sender's packets")
    p.add_argument("--teid-down", type=int, default=0x2002, help="GTP-U TEID of the other direction")
    p.add_argument("--to-ipv6", action="store_true", help="rewrite inner IPv4 packets into IPv6 first")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        _endian, magic, linktype, records = read_pcap(args.input)
        nanos = magic == 0xA1B23C4D
        w = Wrapper(args)
        out = []
        for n, (ts_sec, ts_frac, _caplen, wire_len, data) in enumerate(records, 1):
            try:
                inner = extract_inner(linktype, data, wire_len)
                if args.to_ipv6:
                    inner = to_ipv6(inner)
                ts_us = ts_sec * 1000000 + (ts_frac // 1000 if nanos else ts_frac)
                hdrs, body, body_wire = w.wrap(inner, ts_us)
            except WrapError as e:
                raise WrapError("%s: frame %d: %s" % (args.input, n, e)) from None
            out.append((ts_sec, ts_frac, len(hdrs) + body_wire, hdrs + body))
        write_pcap(args.output, magic, LINKTYPE_ETHERNET, out)
    except (WrapError, OSError) as e:
        print("wrap.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
