#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gen_flood.py: writes the hostile captures of the limits test (tests/limits/flood_test.py) at test time.

Classic pcap (libpcap's savefile format), Ethernet, IPv4, TCP (RFC 791, RFC 9293); TLS records (RFC 5246 §6.2,
RFC 8446 §5.1). Nothing here is committed: every capture is made in a temporary directory and removed after.
IP and TCP checksums are left zero (tlsdiag does not check them, like captures taken on offloading NICs).

    gen_flood.py syn OUT [N]        N SYN-only flows, each from its own address and port
    gen_flood.py servers OUT [N]    N SYN-only flows, each to its own server address (198.18.0.0/15)
    gen_flood.py handshake OUT      huge handshake-length claims and a record flood
    gen_flood.py reasm OUT          out-of-order data past any sane reassembly cap
"""
import struct
import sys

PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
SNAPLEN = 262144
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
ETH = bytes.fromhex("020000000002" "020000000001" "0800")
SERVER_IP = bytes([192, 0, 2, 1])  # RFC 5737 documentation address: the captures are synthetic
MAX_SEGMENT = 65535 - 40            # the largest payload an IPv4 packet can carry


class Pcap:
    """A classic pcap writer; frames get increasing timestamps (1 us apart unless told)."""

    def __init__(self, path):
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        self.ts_us = 1_700_000_000 * 1_000_000

    def tcp(self, src, sport, dst, dport, seq, ack, flags, payload=b""):
        ip_len = 20 + 20 + len(payload)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, ip_len, 0, 0x4000, 64, 6, 0, src, dst)
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
        frame = ETH + ip + tcp + payload
        self.ts_us += 1
        self.f.write(struct.pack("<IIII", self.ts_us // 1_000_000, self.ts_us % 1_000_000, len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


def client_ip(i):
    return bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])


def write_syn_flood(path, n, distinct_servers=False):
    """n SYNs, each the only packet of its flow: distinct source address (10.0.0.0/8) and port per flow, and
    with distinct_servers a distinct server address too (198.18.0.0/15, RFC 2544's benchmarking range)."""
    hdr = bytearray(struct.pack("<IIII", 0, 0, 54, 54))
    frame = bytearray(ETH + struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0, bytes(4), SERVER_IP) +
                      struct.pack(">HHIIBBHHH", 0, 443, 1000, 0, 5 << 4, TCP_SYN, 65535, 0, 0))
    rec = hdr + frame
    base_s = 1_700_000_000
    out = bytearray()
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        for i in range(n):
            # 1 us apart: the whole flood spans one second, far under the idle timeout, so only max_flows acts
            struct.pack_into("<II", rec, 0, base_s + i // 1_000_000, i % 1_000_000)
            struct.pack_into(">4sH", rec, 16 + 14 + 12, client_ip(i + 1), 0)
            struct.pack_into(">H", rec, 16 + 14 + 20, 1024 + i % 64000)
            if distinct_servers:
                struct.pack_into(">BBH", rec, 16 + 14 + 16, 198, 18 + (i >> 16 & 1), i & 0xFFFF)
            out += rec
            if len(out) >= 1 << 20:
                f.write(out)
                out.clear()
        f.write(out)


def record(content_type, body, version=0x0303):
    return struct.pack(">BHH", content_type, version, len(body)) + body


def client_hello():
    """A minimal TLS 1.2 ClientHello (RFC 5246 §7.4.1.2): one suite, null compression, no extensions."""
    body = struct.pack(">H", 0x0303) + bytes(range(32)) + b"\x00" + struct.pack(">HH", 2, 0x002F) + b"\x01\x00"
    return b"\x01" + len(body).to_bytes(3, "big") + body


class Conn:
    """One TCP connection from client i to SERVER_IP:443, SYN, SYN/ACK and ACK written on creation."""

    def __init__(self, pcap, i):
        self.p, self.cip, self.cport = pcap, client_ip(i), 20000 + i
        self.cseq, self.sseq = 1000 * i, 5000 * i
        self.p.tcp(self.cip, self.cport, SERVER_IP, 443, self.cseq, 0, TCP_SYN)
        self.p.tcp(SERVER_IP, 443, self.cip, self.cport, self.sseq, self.cseq + 1, TCP_SYN | TCP_ACK)
        self.cseq += 1
        self.sseq += 1
        self.p.tcp(self.cip, self.cport, SERVER_IP, 443, self.cseq, self.sseq, TCP_ACK)
        self.base = self.cseq  # sequence number of stream offset 0

    def send(self, data, offset=None):
        """Client data at the next sequence number, or at `offset` bytes past the SYN (out of order)."""
        seq = self.cseq if offset is None else self.base + offset
        self.p.tcp(self.cip, self.cport, SERVER_IP, 443, seq, self.sseq, TCP_PSH | TCP_ACK, data)
        if offset is None:
            self.cseq += len(data)

    def fin(self):
        self.p.tcp(self.cip, self.cport, SERVER_IP, 443, self.cseq, self.sseq, TCP_FIN | TCP_ACK)
        self.p.tcp(SERVER_IP, 443, self.cip, self.cport, self.sseq, self.cseq + 1, TCP_FIN | TCP_ACK)


def write_handshake_flood(path, huge_conns=20, huge_bytes=4 << 20, flood_records=200_000):
    """huge_conns connections whose ClientHello claims 2^24 - 1 bytes (RFC 5246 §7.4: uint24 length) and then
    send huge_bytes of handshake records, interleaved so they are all open at once; then one connection with a
    real ClientHello followed by flood_records ChangeCipherSpec records packed ~10,900 to a segment."""
    p = Pcap(path)
    conns = [Conn(p, i + 1) for i in range(huge_conns)]
    filler = bytes(range(256)) * 64  # 16 KB of handshake body per record, the most a record may carry
    # a ClientHello header claiming 2^24 - 1 bytes, then client_version 3.3 so that it reads as the start of TLS
    first = record(22, b"\x01\xff\xff\xff\x03\x03" + filler[: len(filler) - 6], 0x0301)
    later = record(22, filler)
    sent = 0
    per_segment = 3  # three full records per segment
    while sent < huge_bytes:
        for c in conns:
            if sent == 0:
                c.send(first + later * (per_segment - 1))
            else:
                c.send(later * per_segment)
        sent += per_segment * len(filler)
    for c in conns:
        c.fin()
    flood = Conn(p, huge_conns + 1)
    flood.send(record(22, client_hello()))
    ccs = record(20, b"\x01")
    per_seg = MAX_SEGMENT // len(ccs)
    left = flood_records
    while left > 0:
        k = min(per_seg, left)
        flood.send(ccs * k)
        left -= k
    flood.fin()
    p.close()


def write_reasm_flood(path, conns=200, ooo_bytes=256 * 1024, segment=16 * 1024):
    """conns connections whose first segment (a ClientHello and an application_data record) comes last: the
    ooo_bytes after it, whole application_data records, arrive first (out of order, interleaved across
    connections) and must wait for the hole or be dropped at the reassembly cap."""
    p = Pcap(path)
    cs = [Conn(p, i + 1) for i in range(conns)]
    hole = segment
    for off in range(hole, hole + ooo_bytes, segment):
        for c in cs:
            c.send(record(23, bytes(segment - 5)), offset=off)
    for c in cs:
        hello = record(22, client_hello())
        c.send(hello + record(23, bytes(hole - len(hello) - 5)), offset=0)
    for c in cs:
        c.cseq = c.base + hole + ooo_bytes
        c.fin()
    p.close()


def main(argv):
    if len(argv) < 3 or argv[1] not in ("syn", "servers", "handshake", "reasm"):
        sys.stderr.write(__doc__)
        return 2
    if argv[1] in ("syn", "servers"):
        write_syn_flood(argv[2], int(argv[3]) if len(argv) > 3 else 1_000_000, argv[1] == "servers")
    elif argv[1] == "handshake":
        write_handshake_flood(argv[2])
    else:
        write_reasm_flood(argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
