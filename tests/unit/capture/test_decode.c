/* SPDX-License-Identifier: MIT */
/* test_decode.c: frame decoding from every supported link type through VLAN/QinQ/PPPoE/MPLS, IPv4/IPv6 and
 * the tunnels (6in4, IP-in-IP, GRE/ERSPAN, VXLAN, Geneve, GTP-U) to TCP or UDP, with hand-built frames whose
 * expected values are read off the hex; the outer path recorded for each tunnel, on hand-built frames and
 * on corpus frames (expected values from tshark); truncation at every prefix; malformed headers; and a
 * cross-check of the TCP frame count of every corpus capture against tshark. */
#include "../../../capture/decode.h"
#include "../../../capture/reader.h"
#include "../testlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

/* ---- Building blocks (layouts from the RFCs named in capture/decode.c) ---------------------------- */

/* TCP 1234 -> 443, seq 1, ack 2, data offset 5, flags PSH|ACK, 4 payload bytes 16 03 01 00. */
#define TCP_SEG "04d2 01bb 00000001 00000002 50 18 ffff 0000 0000  16030100 "
/* IPv4 192.0.2.1 -> 198.51.100.2, total length 44 (0x2c), DF, protocol 6. */
#define IPV4_TCP "45 00 002c 0001 4000 40 06 0000 c0000201 c6336402 " TCP_SEG
/* IPv6 2001:db8::1 -> 2001:db8::2, payload length 24 (0x18), next header 6. */
#define IPV6_SRC "20010db8000000000000000000000001"
#define IPV6_DST "20010db8000000000000000000000002"
#define IPV6_TCP "60000000 0018 06 40 " IPV6_SRC IPV6_DST " " TCP_SEG
#define ETH(type) "00000000000a 00000000000b " type " "

#define LT_NULL 0u
#define LT_ETHERNET 1u
#define LT_PPP 9u
#define LT_PPP_HDLC 50u
#define LT_RAW 101u
#define LT_C_HDLC 104u
#define LT_LOOP 108u
#define LT_SLL 113u
#define LT_IPV4 228u
#define LT_IPV6 229u
#define LT_SLL2 276u
#define LT_IEEE802_11 105u
#define LT_RADIOTAP 127u

static uint8_t frame_buf[4096];
static size_t frame_len;

/* decode_hex decodes a hex frame held in frame_buf (so seg's pointers stay valid until the next call). */
static enum td_decode_result decode_hex(uint32_t linktype, const char *hex, struct td_segment *seg)
{
    size_t n;
    uint8_t *b = td_test_hex(hex, &n);
    CU_ASSERT_FATAL(n <= sizeof(frame_buf));
    memcpy(frame_buf, b, n);
    free(b);
    frame_len = n;
    return td_decode_frame(linktype, frame_buf, (uint32_t)n, seg);
}

static bool frame_has(const uint8_t *p, size_t len)
{
    return p >= frame_buf && len <= frame_len && (size_t)(p - frame_buf) <= frame_len - len;
}

static void expect_tcp_fields(const struct td_segment *s)
{
    static const uint8_t payload[] = {0x16, 0x03, 0x01, 0x00};
    CU_ASSERT_EQUAL(s->sport, 1234);
    CU_ASSERT_EQUAL(s->dport, 443);
    CU_ASSERT_EQUAL(s->seq, 1);
    CU_ASSERT_EQUAL(s->ack, 2);
    CU_ASSERT_EQUAL(s->flags, TD_TCP_PSH | TD_TCP_ACK);
    CU_ASSERT_EQUAL_FATAL(s->payload_len, 4);
    CU_ASSERT_EQUAL(s->payload_wire_len, 4);
    CU_ASSERT_TRUE_FATAL(frame_has(s->payload, 4));
    CU_ASSERT_EQUAL(memcmp(s->payload, payload, 4), 0);
}

/* expect_v4: the IPV4_TCP packet, at byte ip_off of the frame. */
static void expect_v4(enum td_decode_result r, const struct td_segment *s, size_t ip_off)
{
    static const uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {198, 51, 100, 2};
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
    CU_ASSERT_EQUAL(s->src.family, 4);
    CU_ASSERT_EQUAL(s->dst.family, 4);
    CU_ASSERT_EQUAL(memcmp(s->src.bytes, src, 4), 0);
    CU_ASSERT_EQUAL(memcmp(s->dst.bytes, dst, 4), 0);
    CU_ASSERT_PTR_EQUAL(s->ip, frame_buf + ip_off);
    CU_ASSERT_EQUAL(s->ip_len, 44);
    expect_tcp_fields(s);
}

/* expect_v6: the IPV6_TCP packet, at byte ip_off of the frame. */
static void expect_v6(enum td_decode_result r, const struct td_segment *s, size_t ip_off, uint32_t ip_len)
{
    static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
    CU_ASSERT_EQUAL(s->src.family, 6);
    CU_ASSERT_EQUAL(memcmp(s->src.bytes, src, 16), 0);
    CU_ASSERT_EQUAL(memcmp(s->dst.bytes, dst, 16), 0);
    CU_ASSERT_PTR_EQUAL(s->ip, frame_buf + ip_off);
    CU_ASSERT_EQUAL(s->ip_len, ip_len);
    expect_tcp_fields(s);
}

/* ---- Link layers ---------------------------------------------------------------------------------- */

static void test_ethernet(void)
{
    struct td_segment s;
    expect_v4(decode_hex(LT_ETHERNET, ETH("0800") IPV4_TCP, &s), &s, 14);
    // Padding after the IP packet (short frames are padded to 60 bytes) is not payload.
    expect_v4(decode_hex(LT_ETHERNET, ETH("0800") IPV4_TCP "0000000000000000", &s), &s, 14);
    expect_v6(decode_hex(LT_ETHERNET, ETH("86dd") IPV6_TCP, &s), &s, 14, 64);
    // ARP and LLDP are not IP.
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("0806") "0001 0800 0604 0001", &s), TD_DECODE_NOT_IP);
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("88cc") "0207 04", &s), TD_DECODE_NOT_IP);
}

static void test_802_3_llc_snap(void)
{
    struct td_segment s;
    // 802.3 length 52 = LLC/SNAP 8 + IP 44; SNAP OUI 0, type 0x0800 (RFC 1042).
    expect_v4(decode_hex(LT_ETHERNET, ETH("0034") "aa aa 03 000000 0800 " IPV4_TCP "000000", &s), &s, 22);
    // The same with a non-zero OUI (Cisco), and plain LLC for spanning tree: not IP.
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("0034") "aa aa 03 00000c 0800 " IPV4_TCP, &s), TD_DECODE_NOT_IP);
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("0026") "42 42 03 0000 00", &s), TD_DECODE_NOT_IP);
}

static void test_vlan_qinq(void)
{
    struct td_segment s;
    expect_v4(decode_hex(LT_ETHERNET, ETH("8100") "0064 0800 " IPV4_TCP, &s), &s, 18);
    // 802.1ad S-tag over a C-tag, and the older 0x9100 S-tag over two C-tags.
    expect_v4(decode_hex(LT_ETHERNET, ETH("88a8") "0064 8100 00c8 0800 " IPV4_TCP, &s), &s, 22);
    expect_v6(decode_hex(LT_ETHERNET, ETH("9100") "0001 8100 0002 8100 0003 86dd " IPV6_TCP, &s), &s, 26, 64);
    // Nine stacked tags: beyond any real network.
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET,
                               ETH("8100") "0001 8100 0001 8100 0001 8100 0001 8100 0001 8100 0001 8100 0001 "
                                           "8100 0001 8100 0001 0800 " IPV4_TCP,
                               &s),
                    TD_DECODE_MALFORMED);
}

static void test_pppoe(void)
{
    struct td_segment s;
    // ver/type 0x11, code 0, session 1, length 46 = PPP protocol 2 + IP 44, PPP 0x0021 IPv4.
    expect_v4(decode_hex(LT_ETHERNET, ETH("8864") "11 00 0001 002e 0021 " IPV4_TCP, &s), &s, 22);
    // Over QinQ, as in zeek's pppoe-over-qinq capture, and with IPv6 (PPP 0x0057, length 66).
    expect_v4(decode_hex(LT_ETHERNET, ETH("8100") "0064 8100 00c8 8864 11 00 0001 002e 0021 " IPV4_TCP, &s),
              &s, 30);
    expect_v6(decode_hex(LT_ETHERNET, ETH("8864") "11 00 0001 0042 0057 " IPV6_TCP, &s), &s, 22, 64);
    // LCP (0xc021) is not IP; a PPPoE discovery frame (0x8863) neither.
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("8864") "11 00 0001 0006 c021 01010004", &s), TD_DECODE_NOT_IP);
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("8863") "11 09 0000 0000", &s), TD_DECODE_NOT_IP);
    // Version/type must be 0x11.
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("8864") "21 00 0001 002e 0021 " IPV4_TCP, &s), TD_DECODE_MALFORMED);
    // zeek pppoe-over-qinq frame 19: PPPoE length 42 frames a 40-byte IP packet whose header claims 46; the
    // rest of the frame is Ethernet padding. Wireshark takes the PPPoE framing (tcp.len 0): no bytes are
    // missing, so payload_wire_len must not announce any (it would read as a capture gap).
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET,
                               ETH("8864") "11 00 0001 002a 0021 "
                                           "45 00 002e 0001 4000 40 06 0000 c0000201 c6336402 "
                                           "0050 1234 00000001 00000002 50 10 ffff 0000 0000 "
                                           "000000000000",
                               &s),
                    TD_DECODE_TCP);
    CU_ASSERT_EQUAL(s.payload_len, 0);
    CU_ASSERT_EQUAL(s.payload_wire_len, 0);
}

static void test_mpls(void)
{
    struct td_segment s;
    // Two labels: 16 (S=0, TTL 64) = 0x00010040, then 17 with S=1 = 0x00011140.
    expect_v4(decode_hex(LT_ETHERNET, ETH("8847") "00010040 00011140 " IPV4_TCP, &s), &s, 22);
    expect_v6(decode_hex(LT_ETHERNET, ETH("8847") "00011140 " IPV6_TCP, &s), &s, 18, 64);
    // A pseudowire control word (first nibble 0) after the stack: not something we can call IP.
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("8847") "00011140 00000000 " ETH("0800") IPV4_TCP, &s),
                    TD_DECODE_NOT_IP);
}

static void test_linux_cooked(void)
{
    struct td_segment s;
    // SLL: packet type 0, ARPHRD_ETHER 1, address length 6, address (8 bytes), protocol 0x0800.
    expect_v4(decode_hex(LT_SLL, "0000 0001 0006 00000000000a0000 0800 " IPV4_TCP, &s), &s, 16);
    expect_v6(decode_hex(LT_SLL, "0004 0001 0006 00000000000a0000 86dd " IPV6_TCP, &s), &s, 16, 64);
    // SLL2: protocol, reserved, ifindex 2, ARPHRD 1, packet type 4, address length 6, address.
    expect_v4(decode_hex(LT_SLL2, "0800 0000 00000002 0001 04 06 00000000000a0000 " IPV4_TCP, &s), &s, 20);
    CU_ASSERT_EQUAL(decode_hex(LT_SLL2, "0806 0000 00000002 0001 04 06 00000000000a0000 00010800", &s),
                    TD_DECODE_NOT_IP);
}

static void test_raw_ip(void)
{
    struct td_segment s;
    const uint32_t raw_types[] = {LT_RAW, 12, 14};
    for (size_t i = 0; i < sizeof(raw_types) / sizeof(raw_types[0]); i++) {
        expect_v4(decode_hex(raw_types[i], IPV4_TCP, &s), &s, 0);
        expect_v6(decode_hex(raw_types[i], IPV6_TCP, &s), &s, 0, 64);
        CU_ASSERT_EQUAL(decode_hex(raw_types[i], "50000000", &s), TD_DECODE_MALFORMED);
    }
    expect_v4(decode_hex(LT_IPV4, IPV4_TCP, &s), &s, 0);
    expect_v6(decode_hex(LT_IPV6, IPV6_TCP, &s), &s, 0, 64);
    // LINKTYPE_IPV4 promises IPv4: an IPv6 header there is impossible.
    CU_ASSERT_EQUAL(decode_hex(LT_IPV4, IPV6_TCP, &s), TD_DECODE_MALFORMED);
    CU_ASSERT_EQUAL(decode_hex(LT_IPV6, IPV4_TCP, &s), TD_DECODE_MALFORMED);
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "", &s), TD_DECODE_TRUNCATED);
}

static void test_null_loop(void)
{
    struct td_segment s;
    // NULL: family in the capturing host's byte order (little-endian here, big-endian from a SPARC).
    expect_v4(decode_hex(LT_NULL, "02000000 " IPV4_TCP, &s), &s, 4);
    expect_v4(decode_hex(LT_NULL, "00000002 " IPV4_TCP, &s), &s, 4);
    // AF_INET6 of NetBSD/OpenBSD 24, FreeBSD 28, macOS 30, Linux 10.
    expect_v6(decode_hex(LT_NULL, "18000000 " IPV6_TCP, &s), &s, 4, 64);
    expect_v6(decode_hex(LT_NULL, "1c000000 " IPV6_TCP, &s), &s, 4, 64);
    expect_v6(decode_hex(LT_NULL, "1e000000 " IPV6_TCP, &s), &s, 4, 64);
    expect_v6(decode_hex(LT_NULL, "0000001e " IPV6_TCP, &s), &s, 4, 64);
    expect_v6(decode_hex(LT_NULL, "0a000000 " IPV6_TCP, &s), &s, 4, 64);
    // LOOP: network byte order.
    expect_v4(decode_hex(LT_LOOP, "00000002 " IPV4_TCP, &s), &s, 4);
    expect_v6(decode_hex(LT_LOOP, "00000018 " IPV6_TCP, &s), &s, 4, 64);
    CU_ASSERT_EQUAL(decode_hex(LT_NULL, "07000000 00", &s), TD_DECODE_NOT_IP); // AF_ISO
    CU_ASSERT_EQUAL(decode_hex(LT_NULL, "020000", &s), TD_DECODE_TRUNCATED);
}

static void test_ppp(void)
{
    struct td_segment s;
    // LINKTYPE_PPP with and without the RFC 1662 address/control bytes.
    expect_v4(decode_hex(LT_PPP, "ff03 0021 " IPV4_TCP, &s), &s, 4);
    expect_v4(decode_hex(LT_PPP, "0021 " IPV4_TCP, &s), &s, 2);
    expect_v6(decode_hex(LT_PPP, "ff03 0057 " IPV6_TCP, &s), &s, 4, 64);
    // Protocol-Field-Compression: a one-byte protocol 0x21.
    expect_v4(decode_hex(LT_PPP, "21 " IPV4_TCP, &s), &s, 1);
    CU_ASSERT_EQUAL(decode_hex(LT_PPP, "ff03 c021 01010004", &s), TD_DECODE_NOT_IP);
    // PPP in HDLC framing, and Cisco HDLC (address 0x0f, control 0, ethertype).
    expect_v4(decode_hex(LT_PPP_HDLC, "ff03 0021 " IPV4_TCP, &s), &s, 4);
    expect_v4(decode_hex(LT_PPP_HDLC, "0f00 0800 " IPV4_TCP, &s), &s, 4);
    expect_v6(decode_hex(LT_C_HDLC, "8f00 86dd " IPV6_TCP, &s), &s, 4, 64);
}

static void test_unknown_link(void)
{
    struct td_segment s;
    CU_ASSERT_EQUAL(decode_hex(147, IPV4_TCP, &s), TD_DECODE_UNKNOWN_LINK); // LINKTYPE_USER0
    CU_ASSERT_EQUAL(decode_hex(TD_LINKTYPE_NETMON_BASE + 4u, IPV4_TCP, &s), TD_DECODE_UNKNOWN_LINK); // NetMon ATM
}

/* ---- IPv4 and TCP --------------------------------------------------------------------------------- */

static void test_ipv4_options_and_snaplen(void)
{
    struct td_segment s;
    // IHL 6: one 4-byte option word (NOP NOP NOP EOL); total length 48.
    enum td_decode_result r =
        decode_hex(LT_RAW, "46 00 0030 0001 4000 40 06 0000 c0000201 c6336402 01010100 " TCP_SEG, &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
    CU_ASSERT_EQUAL(s.ip_len, 48);
    expect_tcp_fields(&s);
    // Total length 144 (0x90) but only 48 bytes captured: payload 4 captured of 104 on the wire.
    r = decode_hex(LT_RAW, "45 00 0090 0001 4000 40 06 0000 c0000201 c6336402 " TCP_SEG, &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
    CU_ASSERT_EQUAL(s.payload_len, 4);
    CU_ASSERT_EQUAL(s.payload_wire_len, 104);
    CU_ASSERT_EQUAL(s.ip_len, 44);
    // TCP options: data offset 8 = 12 option bytes (MSS 1460, NOP, NOP, SACK-permitted, NOP, NOP, NOP, NOP).
    r = decode_hex(LT_RAW,
                   "45 00 0038 0001 4000 40 06 0000 c0000201 c6336402 "
                   "04d2 01bb 00000001 00000002 80 02 ffff 0000 0000 020405b4 01010402 01010101 16030100",
                   &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
    CU_ASSERT_EQUAL(s.flags, TD_TCP_SYN);
    CU_ASSERT_EQUAL(s.payload_len, 4);
    CU_ASSERT_EQUAL(s.payload_wire_len, 4);
    CU_ASSERT_PTR_EQUAL(s.payload, frame_buf + 52);
    // Total length 0 (segmentation offload on the capturing host): the captured length counts.
    r = decode_hex(LT_RAW, "45 00 0000 0001 4000 40 06 0000 c0000201 c6336402 " TCP_SEG, &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
    expect_tcp_fields(&s);
}

static void test_ipv4_malformed(void)
{
    struct td_segment s;
    // IHL 4 (< 5), version 5, total length 16 (< header).
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "44 00 002c 0001 4000 40 06 0000 c0000201 c6336402 " TCP_SEG, &s),
                    TD_DECODE_MALFORMED);
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("0800") "55 00 002c 0001 4000 40 06 0000 c0000201 c6336402 " TCP_SEG,
                               &s),
                    TD_DECODE_MALFORMED);
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 0010 0001 4000 40 06 0000 c0000201 c6336402 " TCP_SEG, &s),
                    TD_DECODE_MALFORMED);
    // IHL 15 (60 bytes) but total length 44: the options overrun the packet.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "4f 00 002c 0001 4000 40 06 0000 c0000201 c6336402 " TCP_SEG, &s),
                    TD_DECODE_MALFORMED);
    // TCP data offset 4 (< 5), and 15 (60 bytes) in a 24-byte segment.
    CU_ASSERT_EQUAL(
        decode_hex(LT_RAW, "45 00 002c 0001 4000 40 06 0000 c0000201 c6336402 04d2 01bb 00000001 00000002 "
                           "40 18 ffff 0000 0000 16030100",
                   &s),
        TD_DECODE_MALFORMED);
    CU_ASSERT_EQUAL(
        decode_hex(LT_RAW, "45 00 002c 0001 4000 40 06 0000 c0000201 c6336402 04d2 01bb 00000001 00000002 "
                           "f0 18 ffff 0000 0000 16030100",
                   &s),
        TD_DECODE_MALFORMED);
    // Total length 30 declares 10 TCP bytes: the 20-byte header cannot fit although more was captured.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 001e 0001 4000 40 06 0000 c0000201 c6336402 " TCP_SEG, &s),
                    TD_DECODE_MALFORMED);
    // Data offset 15 with a 60-byte TCP header declared but only 24 bytes captured: truncated.
    CU_ASSERT_EQUAL(
        decode_hex(LT_RAW, "45 00 0050 0001 4000 40 06 0000 c0000201 c6336402 04d2 01bb 00000001 00000002 "
                           "f0 18 ffff 0000 0000 16030100",
                   &s),
        TD_DECODE_TRUNCATED);
}

static void test_ipv4_fragments(void)
{
    struct td_segment s;
    // MF set, offset 0 (first fragment); offset 1 (8 bytes), no MF (last fragment).
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 002c 0001 2000 40 06 0000 c0000201 c6336402 " TCP_SEG, &s),
                    TD_DECODE_IP_FRAGMENT);
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 002c 0001 0001 40 06 0000 c0000201 c6336402 " TCP_SEG, &s),
                    TD_DECODE_IP_FRAGMENT);
    // DF alone is a whole packet.
    expect_v4(decode_hex(LT_RAW, IPV4_TCP, &s), &s, 0);
    // Other protocols: UDP to a plain port (a datagram of its own), ICMP.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 0024 0001 0000 40 11 0000 c0000201 c6336402 "
                                       "c000 0035 0010 0000 01020304 05060708",
                               &s),
                    TD_DECODE_UDP);
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 001c 0001 0000 40 01 0000 c0000201 c6336402 0800 f7ff 0000 0000", &s),
                    TD_DECODE_OTHER_IP);
}

/* Every prefix of a VLAN + IPv4 + TCP frame: cut inside the headers it is TRUNCATED, cut inside the payload
 * it is TCP with the captured part. */
static void test_truncation_every_prefix(void)
{
    size_t n;
    uint8_t *full = td_test_hex(ETH("8100") "0064 0800 " IPV4_TCP, &n);
    CU_ASSERT_EQUAL_FATAL(n, 62);
    const size_t headers_len = 14 + 4 + 20 + 20;
    for (size_t len = 0; len <= n; len++) {
        // A fresh allocation of exactly len bytes, so a read past the end is caught by ASan.
        uint8_t *copy = malloc(len ? len : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
        memcpy(copy, full, len);
        struct td_segment s;
        enum td_decode_result r = td_decode_frame(LT_ETHERNET, copy, (uint32_t)len, &s);
        if (len < headers_len) {
            CU_ASSERT_EQUAL(r, TD_DECODE_TRUNCATED);
        } else {
            CU_ASSERT_EQUAL(r, TD_DECODE_TCP);
            CU_ASSERT_EQUAL(s.payload_len, len - headers_len);
            CU_ASSERT_EQUAL(s.payload_wire_len, 4);
            CU_ASSERT_EQUAL(s.ip_len, len - 18);
        }
        free(copy);
    }
    free(full);
}

/* ---- IPv6 ----------------------------------------------------------------------------------------- */

static void test_ipv6_extension_headers(void)
{
    struct td_segment s;
    // Hop-by-hop (next 43, PadN) -> routing (next 60, length 2 = 24 bytes, type 2 (RFC 6275 §6.4),
    // 1 segment left, home address) -> destination options (next 51, PadN) -> AH (next 6, payload
    // length 4 = 24 bytes) -> TCP. Payload length 88 (0x58) = 8 + 24 + 8 + 24 + 24.
    enum td_decode_result r = decode_hex(LT_RAW,
                                         "60000000 0058 00 40 " IPV6_SRC IPV6_DST " "
                                         "2b 00 0104 00000000 "
                                         "3c 02 02 01 00000000 20010db8000000000000000000000003 "
                                         "33 00 0104 00000000 "
                                         "06 04 0000 00001000 00000001 000000000000000000000000 " TCP_SEG,
                                         &s);
    expect_v6(r, &s, 0, 128);
    // Fragment header, offset 0 with M set (first fragment) and offset 1 (a later one).
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "60000000 0020 2c 40 " IPV6_SRC IPV6_DST " 06 00 0001 12345678 " TCP_SEG, &s),
                    TD_DECODE_IP_FRAGMENT);
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "60000000 0020 2c 40 " IPV6_SRC IPV6_DST " 06 00 0008 12345678 " TCP_SEG, &s),
                    TD_DECODE_IP_FRAGMENT);
    // An atomic fragment (offset 0, no M; RFC 6946) is the whole packet.
    r = decode_hex(LT_RAW, "60000000 0020 2c 40 " IPV6_SRC IPV6_DST " 06 00 0000 12345678 " TCP_SEG, &s);
    expect_v6(r, &s, 0, 72);
    // Hop-by-hop claiming 16 bytes in a 24-byte payload that must also hold TCP: the header fits, TCP does not.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "60000000 0018 00 40 " IPV6_SRC IPV6_DST " 06 01 0104 00000000 " TCP_SEG, &s),
                    TD_DECODE_MALFORMED);
    // Hop-by-hop claiming 2048 bytes in a 24-byte payload.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "60000000 0018 00 40 " IPV6_SRC IPV6_DST " 06 ff 0104 00000000 " TCP_SEG, &s),
                    TD_DECODE_MALFORMED);
    // No next header (59), ESP (50): not TCP.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "60000000 0000 3b 40 " IPV6_SRC IPV6_DST, &s), TD_DECODE_OTHER_IP);
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "60000000 0008 32 40 " IPV6_SRC IPV6_DST " 00000001 00000001", &s),
                    TD_DECODE_OTHER_IP);
    // Version 4 in an IPv6 ethertype.
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("86dd") IPV4_TCP, &s), TD_DECODE_MALFORMED);
    // Payload length 48 (0x30) with 24 captured: the snaplen.
    r = decode_hex(LT_RAW, "60000000 0030 06 40 " IPV6_SRC IPV6_DST " " TCP_SEG, &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
    CU_ASSERT_EQUAL(s.payload_len, 4);
    CU_ASSERT_EQUAL(s.payload_wire_len, 28);
}

/* ---- Tunnels -------------------------------------------------------------------------------------- */

static void test_ip_in_ip(void)
{
    struct td_segment s;
    // 6in4: IPv4 10.0.0.1 -> 10.0.0.2 protocol 41, total 84 (0x54) = 20 + 64.
    expect_v6(decode_hex(LT_ETHERNET, ETH("0800") "45 00 0054 0001 0000 40 29 0000 0a000001 0a000002 " IPV6_TCP, &s),
              &s, 34, 64);
    // IPv4-in-IPv4 (protocol 4), total 64: the inner addresses are reported.
    expect_v4(decode_hex(LT_ETHERNET, ETH("0800") "45 00 0040 0001 0000 40 04 0000 0a000001 0a000002 " IPV4_TCP, &s),
              &s, 34);
    // IPv4-in-IPv6 (next header 4), payload length 44.
    expect_v4(decode_hex(LT_RAW, "60000000 002c 04 40 " IPV6_SRC IPV6_DST " " IPV4_TCP, &s), &s, 40);
    // Protocol 41 whose inner header is IPv4: impossible.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 0040 0001 0000 40 29 0000 0a000001 0a000002 " IPV4_TCP, &s),
                    TD_DECODE_MALFORMED);
    // A fragmented outer packet hides the inner one.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 0054 0001 2000 40 29 0000 0a000001 0a000002 " IPV6_TCP, &s),
                    TD_DECODE_IP_FRAGMENT);
}

/* 20 IPv4 headers, each protocol 4 around the next: stopped by the layer cap, never a crash. */
static void test_nesting_bound(void)
{
    char hex[4096] = "";
    size_t used = 0;
    for (int i = 0; i < 20; i++) {
        int n = snprintf(hex + used, sizeof(hex) - used, "45 00 %04x 0001 0000 40 04 0000 0a000001 0a000002 ",
                         (unsigned)(44 + (20 - i) * 20));
        CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(hex) - used);
        used += (size_t)n;
    }
    CU_ASSERT_FATAL(used + strlen(IPV4_TCP) < sizeof(hex));
    memcpy(hex + used, IPV4_TCP, strlen(IPV4_TCP) + 1);
    struct td_segment s;
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, hex, &s), TD_DECODE_MALFORMED);
}

/* Outer IPv4 10.0.0.1 -> 10.0.0.2 with protocol proto and the given total length. */
#define OUTER_V4(total, proto) "45 00 " total " 0001 0000 40 " proto " 0000 0a000001 0a000002 "

static void test_gre(void)
{
    struct td_segment s;
    // GRE without options, protocol IPv4 (RFC 2784): total 20 + 4 + 44 = 68.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("0044", "2f") "0000 0800 " IPV4_TCP, &s), &s, 24);
    // Checksum, key and sequence present (C, K, S: 0xb000): 12 option bytes; IPv6 inside.
    expect_v6(decode_hex(LT_RAW, OUTER_V4("0064", "2f") "b000 86dd 0000 0000 00000001 00000002 " IPV6_TCP, &s), &s,
              36, 64);
    // Transparent Ethernet Bridging with a key.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("0056", "2f") "2000 6558 00000001 " ETH("0800") IPV4_TCP, &s), &s, 42);
    // ERSPAN type II (sequence present): version 1, VLAN 0, session 1, index 0; then Ethernet.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("005e", "2f") "1000 88be 00000001 1000 0001 00000000 " ETH("0800") IPV4_TCP,
                         &s),
              &s, 50);
    // ERSPAN type I: no sequence number, no ERSPAN header.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("0052", "2f") "0000 88be " ETH("0800") IPV4_TCP, &s), &s, 38);
    // ERSPAN type III: version 2, timestamp, SGT, frame type 0 (Ethernet), O=0.
    expect_v4(decode_hex(LT_RAW,
                         OUTER_V4("0062", "2f") "1000 22eb 00000001 2000 0001 00000000 0000 0000 " ETH("0800") IPV4_TCP,
                         &s),
              &s, 54);
    // ERSPAN type III with the optional platform-specific subheader (O=1).
    expect_v4(decode_hex(LT_RAW,
                         OUTER_V4("006a", "2f") "1000 22eb 00000001 2000 0001 00000000 0000 0001 "
                                                "0000000000000000 " ETH("0800") IPV4_TCP,
                         &s),
              &s, 62);
    // ERSPAN type III mirroring frame type 7, as in tcpdump's erspan-type-iii-ft-7 capture: opaque.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW,
                               OUTER_V4("0062", "2f") "1000 22eb 00000001 2000 0001 00000000 0000 1c00 " ETH("0800")
                                   IPV4_TCP,
                               &s),
                    TD_DECODE_OTHER_IP);
    // GRE version 1 (PPTP) is not decoded further; nor is an ARP frame bridged over GRE.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("004c", "2f") "3001 880b 0010 0001 00000001 " IPV4_TCP, &s),
                    TD_DECODE_OTHER_IP);
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("002a", "2f") "0000 6558 " ETH("0806") "0001 0800", &s),
                    TD_DECODE_OTHER_IP);
    // Cut by the snaplen inside the GRE options, and a GRE header declared longer than its packet.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("0070", "2f") "b000 86dd 0000", &s), TD_DECODE_TRUNCATED);
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("001a", "2f") "b000 86dd 0000 0000 00000001 00000002 " IPV6_TCP, &s),
                    TD_DECODE_MALFORMED);
}

/* Outer UDP sport 49152 -> dport with the given length. */
#define UDP(dport, len) "c000 " dport " " len " 0000 "

static void test_vxlan(void)
{
    struct td_segment s;
    // UDP 4789 (0x12b5) length 74 = 8 + 8 + 14 + 44; VXLAN flags I, VNI 1.
    expect_v4(decode_hex(LT_ETHERNET,
                         ETH("0800") OUTER_V4("005e", "11") UDP("12b5", "004a") "08000000 00000100 " ETH("0800")
                             IPV4_TCP,
                         &s),
              &s, 64);
    // Inside an outer VLAN, with a tagged inner frame.
    expect_v4(decode_hex(LT_ETHERNET,
                         ETH("8100") "0005 0800 " OUTER_V4("0062", "11") UDP("12b5", "004e") "08000000 00000100 "
                             ETH("8100") "0006 0800 " IPV4_TCP,
                         &s),
              &s, 72);
    // A datagram to 4789 too short for VXLAN + Ethernet is ordinary UDP, not a broken frame.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("0020", "11") UDP("12b5", "000c") "08000000", &s),
                    TD_DECODE_UDP);
    CU_ASSERT_EQUAL(s.dport, 4789);
    CU_ASSERT_EQUAL(s.payload_len, 4);
    // VXLAN carrying ARP: the frame is still IP (UDP).
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("0036", "11") UDP("12b5", "0022") "08000000 00000100 " ETH("0806")
                                                                                      "0001 0800",
                               &s),
                    TD_DECODE_OTHER_IP);
}

static void test_geneve(void)
{
    struct td_segment s;
    // UDP 6081 (0x17c1); Geneve version 0, no options, protocol 0x6558 (Ethernet), VNI 1.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("005e", "11") UDP("17c1", "004a") "00 00 6558 00000100 " ETH("0800") IPV4_TCP,
                         &s),
              &s, 50);
    // Option length 2 (8 bytes): class 0x0102, type 3, length 1 (4 data bytes); IPv4 directly (0x0800).
    expect_v4(decode_hex(LT_RAW,
                         OUTER_V4("0058", "11") UDP("17c1", "0044") "02 00 0800 00000100 0102 03 01 00000000 " IPV4_TCP,
                         &s),
              &s, 44);
    // Version 1 does not exist yet: plain UDP.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("005e", "11") UDP("17c1", "004a") "40 00 6558 00000100 " ETH("0800")
                                                                                      IPV4_TCP,
                               &s),
                    TD_DECODE_UDP);
    CU_ASSERT_EQUAL(s.dport, 6081);
    CU_ASSERT_EQUAL(s.payload_len, 0x4a - 8);
    CU_ASSERT_EQUAL(s.encap.num, 0);
}

static void test_gtpu(void)
{
    struct td_segment s;
    // UDP 2152 (0x0868); GTPv1 PT=1 (0x30), G-PDU (0xff), length 44, TEID 1.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("0050", "11") UDP("0868", "003c") "30 ff 002c 00000001 " IPV4_TCP, &s), &s,
              36);
    // E flag (0x34): sequence, N-PDU, next type 0x85 (PDU session container, 4 bytes: length 1, content
    // 0x0009, next 0); length 52 = 4 + 4 + 44. then S alone (0x32) with IPv6 inside (length 68 = 4 + 64).
    expect_v4(decode_hex(LT_RAW, OUTER_V4("0058", "11") UDP("0868", "0044") "34 ff 0034 00000001 0000 00 85 01 0009 00 "
                                                                             IPV4_TCP,
                         &s),
              &s, 44);
    expect_v6(decode_hex(LT_RAW, OUTER_V4("0068", "11") UDP("0868", "0054") "32 ff 0044 00000001 0001 00 00 "
                                                                             IPV6_TCP,
                         &s),
              &s, 40, 64);
    // Extension header of length 0: cannot advance. Inside a port-guessed tunnel that means plain UDP.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("0058", "11") UDP("0868", "0044") "34 ff 0034 00000001 0000 00 85 00 "
                                                                                   "0009 00 " IPV4_TCP,
                               &s),
                    TD_DECODE_UDP);
    CU_ASSERT_EQUAL(s.sport, 49152);
    CU_ASSERT_EQUAL(s.dport, 2152);
    CU_ASSERT_EQUAL(s.encap.num, 0);
    // Echo request (type 1): signalling, no user packet.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("0028", "11") UDP("0868", "0014") "32 01 0004 00000000 0001 0000", &s),
                    TD_DECODE_OTHER_IP);
    // Snaplen cut in the middle of the inner TCP header.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("0050", "11") UDP("0868", "003c") "30 ff 002c 00000001 "
                                                                                   "45 00 002c 0001 4000 40 06 0000 "
                                                                                   "c0000201 c6336402 04d2 01bb",
                               &s),
                    TD_DECODE_TRUNCATED);
}

/* ---- UDP datagrams -------------------------------------------------------------------------------- */

/* IPv4 192.0.2.1 -> 198.51.100.2, total length 36 (0x24), protocol 17; UDP 49152 -> 53, length 16, 8 bytes. */
#define IPV4_UDP "45 00 0024 0001 0000 40 11 0000 c0000201 c6336402 c000 0035 0010 0000 01020304 05060708 "

/* expect_udp4: the IPV4_UDP packet, at byte ip_off of the frame. */
static void expect_udp4(enum td_decode_result r, const struct td_segment *s, size_t ip_off)
{
    static const uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {198, 51, 100, 2};
    static const uint8_t payload[] = {1, 2, 3, 4, 5, 6, 7, 8};
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_UDP);
    CU_ASSERT_EQUAL(memcmp(s->src.bytes, src, 4), 0);
    CU_ASSERT_EQUAL(memcmp(s->dst.bytes, dst, 4), 0);
    CU_ASSERT_EQUAL(s->sport, 49152);
    CU_ASSERT_EQUAL(s->dport, 53);
    CU_ASSERT_EQUAL(s->seq, 0);
    CU_ASSERT_EQUAL(s->ack, 0);
    CU_ASSERT_EQUAL(s->flags, 0);
    CU_ASSERT_PTR_EQUAL(s->ip, frame_buf + ip_off);
    CU_ASSERT_EQUAL(s->ip_len, 36);
    CU_ASSERT_EQUAL_FATAL(s->payload_len, 8);
    CU_ASSERT_EQUAL(s->payload_wire_len, 8);
    CU_ASSERT_PTR_EQUAL_FATAL(s->payload, frame_buf + ip_off + 28);
    CU_ASSERT_EQUAL(memcmp(s->payload, payload, 8), 0);
}

static void test_udp(void)
{
    struct td_segment s;
    expect_udp4(decode_hex(LT_RAW, IPV4_UDP, &s), &s, 0);
    CU_ASSERT_EQUAL(s.encap.num, 0);
    // Ethernet padding after the datagram is not payload.
    expect_udp4(decode_hex(LT_ETHERNET, ETH("0800") IPV4_UDP "000000000000", &s), &s, 14);
    // IPv6, UDP 49152 -> 443 (0x01bb), length 12: 4 payload bytes.
    enum td_decode_result r =
        decode_hex(LT_RAW, "60000000 000c 11 40 " IPV6_SRC IPV6_DST " c000 01bb 000c 0000 16fefd00", &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_UDP);
    CU_ASSERT_EQUAL(s.src.family, 6);
    CU_ASSERT_EQUAL(s.dport, 443);
    CU_ASSERT_EQUAL(s.payload_len, 4);
    CU_ASSERT_EQUAL(s.payload_wire_len, 4);
    CU_ASSERT_PTR_EQUAL(s.payload, frame_buf + 48);
    CU_ASSERT_EQUAL(s.ip_len, 52);
    // UDP length 12 inside a 16-byte IP payload: the datagram ends after 4 bytes.
    r = decode_hex(LT_RAW, "45 00 0024 0001 0000 40 11 0000 c0000201 c6336402 c000 0035 000c 0000 01020304 05060708",
                   &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_UDP);
    CU_ASSERT_EQUAL(s.payload_len, 4);
    CU_ASSERT_EQUAL(s.payload_wire_len, 4);
    // UDP length 0x0100 beyond the IP packet, and 4 (below the header): the IP length counts (8 bytes).
    r = decode_hex(LT_RAW, "45 00 0024 0001 0000 40 11 0000 c0000201 c6336402 c000 0035 0100 0000 01020304 05060708",
                   &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_UDP);
    CU_ASSERT_EQUAL(s.payload_len, 8);
    CU_ASSERT_EQUAL(s.payload_wire_len, 8);
    r = decode_hex(LT_RAW, "45 00 0024 0001 0000 40 11 0000 c0000201 c6336402 c000 0035 0004 0000 01020304 05060708",
                   &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_UDP);
    CU_ASSERT_EQUAL(s.payload_wire_len, 8);
    // Snaplen: IP total 100 (0x64), UDP length 80 (0x50), 36 bytes captured: 8 of 72 payload bytes.
    r = decode_hex(LT_RAW, "45 00 0064 0001 0000 40 11 0000 c0000201 c6336402 c000 0035 0050 0000 01020304 05060708",
                   &s);
    CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_UDP);
    CU_ASSERT_EQUAL(s.payload_len, 8);
    CU_ASSERT_EQUAL(s.payload_wire_len, 72);
    // An IP packet too short for the UDP header it announces (total 24), and a first fragment of a datagram.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 0018 0001 0000 40 11 0000 c0000201 c6336402 c000 0035 0010 0000", &s),
                    TD_DECODE_MALFORMED);
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, "45 00 0024 0001 2000 40 11 0000 c0000201 c6336402 c000 0035 0010 0000 "
                                       "01020304 05060708",
                               &s),
                    TD_DECODE_IP_FRAGMENT);
}

/* Every prefix of an Ethernet + IPv4 + UDP frame: TRUNCATED while the UDP header is incomplete, then UDP
 * with what was captured of the payload. */
static void test_udp_truncated(void)
{
    size_t n;
    uint8_t *full = td_test_hex(ETH("0800") IPV4_UDP, &n);
    CU_ASSERT_EQUAL_FATAL(n, 50);
    const size_t headers_len = 14 + 20 + 8;
    for (size_t len = 0; len <= n; len++) {
        uint8_t *copy = malloc(len ? len : 1); // exactly len bytes, so ASan catches a read past the end
        CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
        memcpy(copy, full, len);
        struct td_segment s;
        enum td_decode_result r = td_decode_frame(LT_ETHERNET, copy, (uint32_t)len, &s);
        if (len < headers_len) {
            CU_ASSERT_EQUAL(r, TD_DECODE_TRUNCATED);
        } else {
            CU_ASSERT_EQUAL(r, TD_DECODE_UDP);
            CU_ASSERT_EQUAL(s.payload_len, len - headers_len);
            CU_ASSERT_EQUAL(s.payload_wire_len, 8);
            CU_ASSERT_EQUAL(s.sport, 49152);
        }
        free(copy);
    }
    free(full);
}

/* ---- The outer path ------------------------------------------------------------------------------- */

static void expect_layer(const struct td_segment *s, unsigned i, enum td_encap_kind kind, uint32_t id, uint8_t version)
{
    CU_ASSERT_FATAL(i < s->encap.num);
    const struct td_encap_layer *l = &s->encap.layers[i];
    CU_ASSERT_EQUAL(l->kind, kind);
    CU_ASSERT_EQUAL(l->id, id);
    CU_ASSERT_EQUAL(l->version, version);
    if (kind != TD_ENCAP_IP) {
        CU_ASSERT_EQUAL(l->src.family, 0);
        CU_ASSERT_EQUAL(l->dst.family, 0);
    }
}

/* expect_ip_layer: layer i is an outer IP header src -> dst (text form, parsed with inet_pton). */
static void expect_ip_layer(const struct td_segment *s, unsigned i, const char *src, const char *dst)
{
    expect_layer(s, i, TD_ENCAP_IP, 0, 0);
    const struct td_encap_layer *l = &s->encap.layers[i];
    uint8_t a[16] = {0}, b[16] = {0};
    bool v6 = strchr(src, ':') != NULL;
    CU_ASSERT_FATAL(inet_pton(v6 ? AF_INET6 : AF_INET, src, a) == 1);
    CU_ASSERT_FATAL(inet_pton(v6 ? AF_INET6 : AF_INET, dst, b) == 1);
    CU_ASSERT_EQUAL(l->src.family, v6 ? 6 : 4);
    CU_ASSERT_EQUAL(l->dst.family, v6 ? 6 : 4);
    CU_ASSERT_EQUAL(memcmp(l->src.bytes, a, 16), 0);
    CU_ASSERT_EQUAL(memcmp(l->dst.bytes, b, 16), 0);
}

static void test_path_link_layers(void)
{
    struct td_segment s;
    expect_v4(decode_hex(LT_ETHERNET, ETH("0800") IPV4_TCP, &s), &s, 14);
    CU_ASSERT_EQUAL(s.encap.num, 0);
    CU_ASSERT_FALSE(s.encap.more);
    // TCI 0xa064: priority 5, VLAN 100 (the priority bits are not part of the id).
    expect_v4(decode_hex(LT_ETHERNET, ETH("8100") "a064 0800 " IPV4_TCP, &s), &s, 18);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 1);
    expect_layer(&s, 0, TD_ENCAP_VLAN, 100, 0);
    // QinQ: S-tag 100 outside C-tag 200, outermost first.
    expect_v4(decode_hex(LT_ETHERNET, ETH("88a8") "0064 8100 00c8 0800 " IPV4_TCP, &s), &s, 22);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 2);
    expect_layer(&s, 0, TD_ENCAP_VLAN, 100, 0);
    expect_layer(&s, 1, TD_ENCAP_VLAN, 200, 0);
    // MPLS labels 16 (0x00010040) and 17 with S (0x00011140).
    expect_v4(decode_hex(LT_ETHERNET, ETH("8847") "00010040 00011140 " IPV4_TCP, &s), &s, 22);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 2);
    expect_layer(&s, 0, TD_ENCAP_MPLS, 16, 0);
    expect_layer(&s, 1, TD_ENCAP_MPLS, 17, 0);
    // Label 0xfffff (the largest) with S.
    expect_v4(decode_hex(LT_ETHERNET, ETH("8847") "fffff140 " IPV4_TCP, &s), &s, 18);
    expect_layer(&s, 0, TD_ENCAP_MPLS, 0xfffff, 0);
    // PPPoE session 0x0f07 over QinQ 3704 (0x0e78) / 2474 (0x09aa), as in zeek's pppoe-over-qinq.
    expect_v4(decode_hex(LT_ETHERNET, ETH("8100") "0e78 8100 09aa 8864 11 00 0f07 002e 0021 " IPV4_TCP, &s), &s, 30);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 3);
    expect_layer(&s, 0, TD_ENCAP_VLAN, 3704, 0);
    expect_layer(&s, 1, TD_ENCAP_VLAN, 2474, 0);
    expect_layer(&s, 2, TD_ENCAP_PPPOE, 0x0f07, 0);
    // A link layer that is no encapsulation (Linux cooked) adds nothing.
    expect_v4(decode_hex(LT_SLL, "0000 0001 0006 00000000000a0000 0800 " IPV4_TCP, &s), &s, 16);
    CU_ASSERT_EQUAL(s.encap.num, 0);
}

static void test_path_ip_tunnels(void)
{
    struct td_segment s;
    // 6in4 and IPv4-in-IPv4: the outer header is a layer, the inner one is the packet.
    expect_v6(decode_hex(LT_ETHERNET, ETH("0800") "45 00 0054 0001 0000 40 29 0000 0a000001 0a000002 " IPV6_TCP, &s),
              &s, 34, 64);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 1);
    expect_ip_layer(&s, 0, "10.0.0.1", "10.0.0.2");
    expect_v4(decode_hex(LT_RAW, "45 00 0040 0001 0000 40 04 0000 0a000001 0a000002 " IPV4_TCP, &s), &s, 20);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 1);
    expect_ip_layer(&s, 0, "10.0.0.1", "10.0.0.2");
    // IPv4-in-IPv6.
    expect_v4(decode_hex(LT_RAW, "60000000 002c 04 40 " IPV6_SRC IPV6_DST " " IPV4_TCP, &s), &s, 40);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 1);
    expect_ip_layer(&s, 0, "2001:db8::1", "2001:db8::2");
    // GRE without options: key 0.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("0044", "2f") "0000 0800 " IPV4_TCP, &s), &s, 24);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 2);
    expect_ip_layer(&s, 0, "10.0.0.1", "10.0.0.2");
    expect_layer(&s, 1, TD_ENCAP_GRE, 0, 0);
    // GRE with checksum, key 0xdeadbeef and sequence 2: the key sits between the two.
    expect_v6(decode_hex(LT_RAW, OUTER_V4("0064", "2f") "b000 86dd 0000 0000 deadbeef 00000002 " IPV6_TCP, &s), &s,
              36, 64);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 2);
    expect_layer(&s, 1, TD_ENCAP_GRE, 0xdeadbeef, 0);
    // ERSPAN type II, session 100 (0x0064), behind GRE with a sequence number.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("005e", "2f") "1000 88be 00000001 1000 0064 00000000 " ETH("0800") IPV4_TCP,
                         &s),
              &s, 50);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 3);
    expect_ip_layer(&s, 0, "10.0.0.1", "10.0.0.2");
    expect_layer(&s, 1, TD_ENCAP_GRE, 0, 0);
    expect_layer(&s, 2, TD_ENCAP_ERSPAN, 100, 2);
    // ERSPAN type I: no header, so no session.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("0052", "2f") "0000 88be " ETH("0800") IPV4_TCP, &s), &s, 38);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 3);
    expect_layer(&s, 2, TD_ENCAP_ERSPAN, 0, 1);
    // ERSPAN type III: COS 7, BSO 3, T 1 around session 101 (0xfc65 -> low 10 bits 0x065).
    expect_v4(decode_hex(LT_RAW,
                         OUTER_V4("0062", "2f") "1000 22eb 00000001 2000 fc65 00000000 0000 0000 " ETH("0800") IPV4_TCP,
                         &s),
              &s, 54);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 3);
    expect_layer(&s, 2, TD_ENCAP_ERSPAN, 101, 3);
    // PPTP's GRE version 1 is no tunnel we follow: the IP header is the packet, no layer.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("004c", "2f") "3001 880b 0010 0001 00000001 " IPV4_TCP, &s),
                    TD_DECODE_OTHER_IP);
    CU_ASSERT_EQUAL(s.encap.num, 0);
}

static void test_path_udp_tunnels(void)
{
    struct td_segment s;
    // VXLAN VNI 1111 (0x000457) in VLAN 5, with a tagged inner frame (VLAN 6): four layers.
    expect_v4(decode_hex(LT_ETHERNET,
                         ETH("8100") "0005 0800 " OUTER_V4("0062", "11") UDP("12b5", "004e") "08000000 00045700 "
                             ETH("8100") "0006 0800 " IPV4_TCP,
                         &s),
              &s, 72);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 4);
    expect_layer(&s, 0, TD_ENCAP_VLAN, 5, 0);
    expect_ip_layer(&s, 1, "10.0.0.1", "10.0.0.2");
    expect_layer(&s, 2, TD_ENCAP_VXLAN, 1111, 0);
    expect_layer(&s, 3, TD_ENCAP_VLAN, 6, 0);
    // Geneve VNI 4242 (0x001092).
    expect_v4(decode_hex(LT_RAW, OUTER_V4("005e", "11") UDP("17c1", "004a") "00 00 6558 00109200 " ETH("0800") IPV4_TCP,
                         &s),
              &s, 50);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 2);
    expect_ip_layer(&s, 0, "10.0.0.1", "10.0.0.2");
    expect_layer(&s, 1, TD_ENCAP_GENEVE, 4242, 0);
    // GTP-U TEID 0x0e2c1dc7.
    expect_v4(decode_hex(LT_RAW, OUTER_V4("0050", "11") UDP("0868", "003c") "30 ff 002c 0e2c1dc7 " IPV4_TCP, &s), &s,
              36);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 2);
    expect_layer(&s, 1, TD_ENCAP_GTPU, 0x0e2c1dc7, 0);
    // A UDP datagram inside VXLAN inside VLAN 5: the inner datagram is the answer, the tunnel its path.
    expect_udp4(decode_hex(LT_ETHERNET,
                           ETH("8100") "0005 0800 " OUTER_V4("0056", "11") UDP("12b5", "0042") "08000000 00045700 "
                               ETH("0800") IPV4_UDP,
                           &s),
                &s, 68);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 3);
    expect_layer(&s, 0, TD_ENCAP_VLAN, 5, 0);
    expect_ip_layer(&s, 1, "10.0.0.1", "10.0.0.2");
    expect_layer(&s, 2, TD_ENCAP_VXLAN, 1111, 0);
    // The same cut by the snaplen inside the VXLAN header: not captured, so not a claim about the datagram.
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("8100") "0005 0800 " OUTER_V4("0056", "11") UDP("12b5", "0042") "0800",
                               &s),
                    TD_DECODE_TRUNCATED);
    // A datagram to 4789 that is no VXLAN frame: plain UDP, and the guessed layers are taken back (VLAN stays).
    CU_ASSERT_EQUAL(decode_hex(LT_ETHERNET, ETH("8100") "0005 0800 " OUTER_V4("0020", "11") UDP("12b5", "000c")
                                                                                                  "08000000",
                               &s),
                    TD_DECODE_UDP);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 1);
    expect_layer(&s, 0, TD_ENCAP_VLAN, 5, 0);
    CU_ASSERT_EQUAL(s.sport, 49152);
    CU_ASSERT_EQUAL(s.dport, 4789);
    CU_ASSERT_EQUAL(s.payload_len, 4);
    CU_ASSERT_PTR_EQUAL(s.payload, frame_buf + 46);
    static const uint8_t src[4] = {10, 0, 0, 1};
    CU_ASSERT_EQUAL(memcmp(s.src.bytes, src, 4), 0);
    CU_ASSERT_PTR_EQUAL(s.ip, frame_buf + 18);
    // A GTPv0 header (version 0) from port 2152: plain UDP, no GTP-U layer.
    CU_ASSERT_EQUAL(decode_hex(LT_RAW, OUTER_V4("0050", "11") UDP("0868", "003c") "10 ff 002c 00000001 " IPV4_TCP, &s),
                    TD_DECODE_UDP);
    CU_ASSERT_EQUAL(s.encap.num, 0);
}

static void test_path_bounds(void)
{
    struct td_segment s;
    // Six tags fill the path exactly; seven set `more` and keep the outermost six.
    expect_v4(decode_hex(LT_ETHERNET,
                         ETH("8100") "0001 8100 0002 8100 0003 8100 0004 8100 0005 8100 0006 0800 " IPV4_TCP, &s),
              &s, 38);
    CU_ASSERT_EQUAL(s.encap.num, 6);
    CU_ASSERT_FALSE(s.encap.more);
    expect_v4(decode_hex(LT_ETHERNET,
                         ETH("8100") "0001 8100 0002 8100 0003 8100 0004 8100 0005 8100 0006 8100 0007 0800 " IPV4_TCP,
                         &s),
              &s, 42);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, TD_MAX_ENCAP_LAYERS);
    CU_ASSERT_TRUE(s.encap.more);
    for (unsigned i = 0; i < TD_MAX_ENCAP_LAYERS; i++) {
        expect_layer(&s, i, TD_ENCAP_VLAN, i + 1, 0);
    }
    // The next frame, plain, carries nothing over from the previous path.
    expect_v4(decode_hex(LT_ETHERNET, ETH("0800") IPV4_TCP, &s), &s, 14);
    CU_ASSERT_EQUAL(s.encap.num, 0);
    CU_ASSERT_FALSE(s.encap.more);
    // Four VLAN tags, then VXLAN (IP, VXLAN) with one more tag inside: seven layers, six kept.
    expect_v4(decode_hex(LT_ETHERNET,
                         ETH("8100") "0001 8100 0002 8100 0003 8100 0004 0800 " OUTER_V4("0062", "11")
                             UDP("12b5", "004e") "08000000 00000100 " ETH("8100") "0006 0800 " IPV4_TCP,
                         &s),
              &s, 84);
    CU_ASSERT_EQUAL_FATAL(s.encap.num, 6);
    CU_ASSERT_TRUE(s.encap.more);
    expect_ip_layer(&s, 4, "10.0.0.1", "10.0.0.2");
    expect_layer(&s, 5, TD_ENCAP_VXLAN, 1, 0);
}

/* ---- The outer path of corpus frames (expected values: tshark -T fields on the same frame) -------- */

/* decode_corpus_frame decodes frame number `number` of a corpus capture into frame_buf. Returns false
 * (after a note) when the corpus is absent. */
static bool decode_corpus_frame(const char *name, unsigned long number, enum td_decode_result *r,
                                struct td_segment *s)
{
    char path[1024], errbuf[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof(path), "%s/%s", TD_CORPUS_DIR, name);
    pcap_t *pc = pcap_open_offline(path, errbuf);
    if (pc == NULL) {
        printf("\n  %s: %s: skipped", name, errbuf);
        return false;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    unsigned long frame = 0;
    bool found = false;
    while (!found && pcap_next_ex(pc, &h, &data) == 1) {
        found = ++frame == number;
    }
    CU_ASSERT_FATAL(found);
    CU_ASSERT_FATAL(h->caplen <= sizeof(frame_buf));
    memcpy(frame_buf, data, h->caplen);
    frame_len = h->caplen;
    *r = td_decode_frame((uint32_t)pcap_datalink(pc), frame_buf, h->caplen, s);
    pcap_close(pc);
    return true;
}

static void expect_ports(const struct td_segment *s, uint16_t sport, uint16_t dport)
{
    CU_ASSERT_EQUAL(s->sport, sport);
    CU_ASSERT_EQUAL(s->dport, dport);
}

static void test_path_corpus(void)
{
    DIR *dir = opendir(TD_CORPUS_DIR);
    if (dir == NULL) {
        printf("\n  corpus %s absent: skipped\n", TD_CORPUS_DIR);
        return;
    }
    closedir(dir);
    struct td_segment s;
    enum td_decode_result r;
    // Frame 1: DNS over UDP inside VXLAN inside VLAN 5; 10.10.20.4:44437 -> 8.8.8.8:53, udp.length 38.
    if (decode_corpus_frame("ndpi-vxlan-in-vlan-tls13.pcap", 1, &r, &s)) {
        CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_UDP);
        expect_ports(&s, 44437, 53);
        CU_ASSERT_EQUAL(s.payload_len, 30);
        CU_ASSERT_EQUAL_FATAL(s.encap.num, 3);
        expect_layer(&s, 0, TD_ENCAP_VLAN, 5, 0);
        expect_ip_layer(&s, 1, "192.168.22.4", "192.168.22.5");
        expect_layer(&s, 2, TD_ENCAP_VXLAN, 1111, 0);
    }
    // Frame 10: TLS 443 -> 45226, the other way through the tunnel.
    if (decode_corpus_frame("ndpi-vxlan-in-vlan-tls13.pcap", 10, &r, &s)) {
        CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
        expect_ports(&s, 443, 45226);
        CU_ASSERT_EQUAL_FATAL(s.encap.num, 3);
        expect_ip_layer(&s, 1, "192.168.22.5", "192.168.22.4");
        expect_layer(&s, 2, TD_ENCAP_VXLAN, 1111, 0);
    }
    if (decode_corpus_frame("zeek-geneve-tls.pcap", 1, &r, &s)) {
        CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
        expect_ports(&s, 45474, 443);
        CU_ASSERT_EQUAL_FATAL(s.encap.num, 2);
        expect_ip_layer(&s, 0, "127.0.0.1", "127.0.0.1");
        expect_layer(&s, 1, TD_ENCAP_GENEVE, 0x001092, 0);
    }
    if (decode_corpus_frame("zeek-pppoe-over-qinq-tls.pcap", 1, &r, &s)) {
        CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
        expect_ports(&s, 20394, 443);
        CU_ASSERT_EQUAL_FATAL(s.encap.num, 3);
        expect_layer(&s, 0, TD_ENCAP_VLAN, 3704, 0);
        expect_layer(&s, 1, TD_ENCAP_VLAN, 2474, 0);
        expect_layer(&s, 2, TD_ENCAP_PPPOE, 0x0f07, 0);
    }
    // Frame 22: the first TCP segment of the 6in4 capture (frames 1-21 are ICMPv6).
    if (decode_corpus_frame("ndpi-6in4-tunnel-tls.pcap", 22, &r, &s)) {
        CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
        expect_ports(&s, 53234, 443);
        CU_ASSERT_EQUAL(s.src.family, 6);
        CU_ASSERT_EQUAL_FATAL(s.encap.num, 1);
        expect_ip_layer(&s, 0, "174.3.73.24", "184.105.255.26");
    }
    // Frame 3: DTLS over UDP 54162 -> 3478 inside GTP-U inside QinQ 3243/10; inner udp.length 204.
    if (decode_corpus_frame("ndpi-dtls-gtp-qinq-unexpected-message-dsb.pcap", 3, &r, &s)) {
        CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_UDP);
        expect_ports(&s, 54162, 3478);
        CU_ASSERT_EQUAL(s.payload_len, 196);
        CU_ASSERT_EQUAL(s.payload_wire_len, 196);
        CU_ASSERT_EQUAL_FATAL(s.encap.num, 4);
        expect_layer(&s, 0, TD_ENCAP_VLAN, 3243, 0);
        expect_layer(&s, 1, TD_ENCAP_VLAN, 10, 0);
        expect_ip_layer(&s, 2, "10.116.8.57", "10.238.250.51");
        expect_layer(&s, 3, TD_ENCAP_GTPU, 0x0e2c1dc7, 0);
    }
    // Frame 1 of the DSB capture: plain DTLS over UDP 40739 -> 56515, udp.length 163.
    if (decode_corpus_frame("ndpi-dtls-gtp-qinq-unexpected-message-dsb.pcap", 1, &r, &s)) {
        CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_UDP);
        expect_ports(&s, 40739, 56515);
        CU_ASSERT_EQUAL(s.payload_len, 155);
        CU_ASSERT_EQUAL(s.encap.num, 0);
    }
    // ERSPAN type III (session 101) mirroring frame type 7: the path up to the opaque payload.
    if (decode_corpus_frame("tcpdump-erspan-type3-no-tls.pcap", 1, &r, &s)) {
        CU_ASSERT_EQUAL(r, TD_DECODE_OTHER_IP);
        CU_ASSERT_EQUAL_FATAL(s.encap.num, 3);
        expect_ip_layer(&s, 0, "192.168.1.172", "192.168.1.249");
        expect_layer(&s, 1, TD_ENCAP_GRE, 0, 0);
        expect_layer(&s, 2, TD_ENCAP_ERSPAN, 101, 3);
    }
    if (decode_corpus_frame("ndpi-gtp-snaplen-truncated-tls.pcap", 1, &r, &s)) {
        CU_ASSERT_EQUAL_FATAL(r, TD_DECODE_TCP);
        expect_ports(&s, 58496, 443);
        CU_ASSERT_EQUAL_FATAL(s.encap.num, 2);
        expect_ip_layer(&s, 0, "132.190.244.12", "151.121.185.44");
        expect_layer(&s, 1, TD_ENCAP_GTPU, 0x013c5b74, 0);
    }
}

/* ---- Robustness ----------------------------------------------------------------------------------- */

/* Flip bytes of valid frames and feed random bytes under every link type: nothing may crash, and a TCP
 * result must point inside the frame. Deterministic (fixed LCG seed). */
static void test_mutations(void)
{
    static const char *const frames[] = {
        ETH("8100") "0064 0800 " IPV4_TCP,
        ETH("0800") OUTER_V4("005e", "11") UDP("12b5", "004a") "08000000 00000100 " ETH("0800") IPV4_TCP,
        OUTER_V4("0058", "11") UDP("0868", "0044") "34 ff 0034 00000001 0000 00 85 01 0009 00 " IPV4_TCP,
        "60000000 0058 00 40 " IPV6_SRC IPV6_DST " 2b 00 0104 00000000 3c 02 02 01 00000000 "
        "20010db8000000000000000000000003 33 00 0104 00000000 "
        "06 04 0000 00001000 00000001 000000000000000000000000 " TCP_SEG,
        OUTER_V4("0062", "2f") "1000 22eb 00000001 2000 0001 00000000 0000 0000 " ETH("0800") IPV4_TCP,
    };
    static const uint32_t linktypes[] = {LT_NULL, LT_ETHERNET, LT_PPP, 12, 14, LT_PPP_HDLC, LT_RAW,
                                         LT_C_HDLC, LT_LOOP, LT_SLL, LT_IPV4, LT_IPV6, LT_SLL2};
    uint32_t state = 12345;
    unsigned tcp = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n;
        uint8_t *b = td_test_hex(frames[(size_t)round % (sizeof(frames) / sizeof(frames[0]))], &n);
        for (int k = 0; k < 3; k++) {
            state = state * 1103515245u + 12345u;
            b[(state >> 8) % n] = (uint8_t)(state >> 20);
        }
        state = state * 1103515245u + 12345u;
        uint32_t lt = (round % 5 == 0) ? linktypes[(state >> 8) % (sizeof(linktypes) / sizeof(linktypes[0]))]
                                       : (round % 5 == 4 ? LT_RAW : LT_ETHERNET);
        size_t len = (state >> 16) % (n + 1);
        struct td_segment s;
        enum td_decode_result r = td_decode_frame(lt, b, (uint32_t)len, &s);
        CU_ASSERT(r <= TD_DECODE_UDP);
        CU_ASSERT(s.encap.num <= TD_MAX_ENCAP_LAYERS);
        if (r == TD_DECODE_TCP || r == TD_DECODE_UDP) {
            tcp += r == TD_DECODE_TCP;
            CU_ASSERT(s.payload_len <= s.payload_wire_len);
            CU_ASSERT(s.payload_len == 0 ||
                      (s.payload >= b && (size_t)(s.payload - b) + s.payload_len <= len));
            CU_ASSERT(s.ip >= b && (size_t)(s.ip - b) + s.ip_len <= len);
        }
        free(b);
    }
    CU_ASSERT(tcp > 0); // the mutations left some frames whole
}

static void test_names_and_format(void)
{
    CU_ASSERT_STRING_EQUAL(td_decode_result_name(TD_DECODE_TCP), "tcp");
    CU_ASSERT_STRING_EQUAL(td_decode_result_name(TD_DECODE_OTHER_IP), "other_ip");
    CU_ASSERT_STRING_EQUAL(td_decode_result_name(TD_DECODE_IP_FRAGMENT), "ip_fragment");
    CU_ASSERT_STRING_EQUAL(td_decode_result_name(TD_DECODE_NOT_IP), "not_ip");
    CU_ASSERT_STRING_EQUAL(td_decode_result_name(TD_DECODE_UNKNOWN_LINK), "unknown_link");
    CU_ASSERT_STRING_EQUAL(td_decode_result_name(TD_DECODE_TRUNCATED), "truncated");
    CU_ASSERT_STRING_EQUAL(td_decode_result_name(TD_DECODE_MALFORMED), "malformed");
    CU_ASSERT_STRING_EQUAL(td_decode_result_name(TD_DECODE_UDP), "udp");
    CU_ASSERT_STRING_EQUAL(td_decode_result_name((enum td_decode_result)99), "unknown");

    char buf[46];
    struct td_addr a4 = {.family = 4, .bytes = {192, 0, 2, 1}};
    td_addr_format(&a4, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "192.0.2.1");
    struct td_addr a6 = {.family = 6, .bytes = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
    td_addr_format(&a6, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "2001:db8::1");
    struct td_addr bad = {.family = 5};
    td_addr_format(&bad, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "");
    td_addr_format(&a6, buf, 4); // too small: empty, never overrun
    CU_ASSERT_STRING_EQUAL(buf, "");
}

/* ---- Corpus cross-check against tshark ------------------------------------------------------------ */

/* Captures where our TCP frame count legitimately differs from tshark's: ours minus tshark's, and why. */
static const struct {
    const char *file;
    long delta;
    const char *reason;
} known_differences[] = {
    {"ndpi-6in4-tunnel-tls.pcap", -2,
     "frames 3 and 45 are ICMPv6 errors quoting a TCP header; tshark's tcp filter matches the quote"},
    {NULL, 0, NULL},
};

/* tshark starts in about a second, so a few run at once. */
#define TSHARK_PARALLEL 4

struct corpus_file {
    char name[256];
    uint32_t linktype;
    unsigned long frames, tcp;
    FILE *tshark;
    long oracle;
};

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_shell_safe(const char *s)
{
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '-' || *s == '_')) {
            return false;
        }
    }
    return true;
}

static int compare_files(const void *a, const void *b)
{
    return strcmp(((const struct corpus_file *)a)->name, ((const struct corpus_file *)b)->name);
}

/* count_ours: reads f with libpcap and counts the frames we decode as TCP. False if libpcap refuses it. */
static bool count_ours(struct corpus_file *f)
{
    char path[1024], errbuf[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof(path), "%s/%s", TD_CORPUS_DIR, f->name);
    pcap_t *pc = pcap_open_offline(path, errbuf);
    if (pc == NULL) {
        printf("\n  %s: libpcap refuses it (%s): skipped", f->name, errbuf);
        return false;
    }
    f->linktype = (uint32_t)pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    // libpcap stops at a corrupt record or at a pcapng interface it cannot mix in; the comparison is
    // made on the frames it did read.
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        f->frames++;
        struct td_segment s;
        f->tcp += td_decode_frame(f->linktype, data, h->caplen, &s) == TD_DECODE_TCP;
    }
    if (rc == PCAP_ERROR) {
        printf("\n  %s: libpcap stopped after %lu frames (%s)%s", f->name, f->frames, pcap_geterr(pc),
               f->frames ? ": compared on those" : ": skipped");
    }
    pcap_close(pc);
    return f->frames > 0;
}

/* tshark_start: runs tshark on f, counting frames with a TCP layer among the first f->frames. */
static void tshark_start(struct corpus_file *f)
{
    char cmd[1024];
    int n = snprintf(cmd, sizeof(cmd),
                     "tshark -n -r '%s/%s' -Y 'tcp && frame.number <= %lu' -T fields -e frame.number 2>/dev/null"
                     " | wc -l",
                     TD_CORPUS_DIR, f->name, f->frames);
    f->tshark = n > 0 && (size_t)n < sizeof(cmd) ? popen(cmd, "r") : NULL;
}

static void tshark_finish(struct corpus_file *f)
{
    f->oracle = -1;
    if (f->tshark == NULL) {
        return;
    }
    if (fscanf(f->tshark, "%ld", &f->oracle) != 1) {
        f->oracle = -1;
    }
    pclose(f->tshark);
    f->tshark = NULL;
}

static void check_against_tshark(const struct corpus_file *f)
{
    CU_ASSERT_FATAL(f->oracle >= 0);
    long delta = (long)f->tcp - f->oracle;
    long expected_delta = 0;
    for (size_t k = 0; known_differences[k].file != NULL; k++) {
        if (strcmp(known_differences[k].file, f->name) == 0) {
            expected_delta = known_differences[k].delta;
            printf("\n  %s: %+ld vs tshark (%s)", f->name, delta, known_differences[k].reason);
        }
    }
    if (delta != expected_delta) {
        printf("\n  %s: link type %u, %lu frames, %lu TCP, tshark %ld", f->name, f->linktype, f->frames, f->tcp,
               f->oracle);
    }
    CU_ASSERT_EQUAL(delta, expected_delta);
}

static void test_corpus_vs_tshark(void)
{
    /* Slow (one tshark run per capture): CTest runs it as diff.decode_corpus, not in the unit loop. */
    if (getenv("TD_TEST_DIFF") == NULL) {
        printf("\n  corpus cross-check runs as diff.decode_corpus (TD_TEST_DIFF=1): skipped here\n");
        return;
    }
    DIR *dir = opendir(TD_CORPUS_DIR);
    if (dir == NULL) {
        printf("\n  corpus %s absent: skipped\n", TD_CORPUS_DIR);
        return;
    }
    if (system("command -v tshark >/dev/null 2>&1") != 0) {
        closedir(dir);
        CU_FAIL("tshark not found: it is the oracle of this test");
        return;
    }
    static struct corpus_file files[256];
    size_t num_files = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL && num_files < sizeof(files) / sizeof(files[0])) {
        // Skipped: .gz (libpcap reads no compressed files), .cap (NetMon, unknown to libpcap), the manifests.
        bool wanted = has_suffix(e->d_name, ".pcap") || has_suffix(e->d_name, ".pcapng");
        if (!wanted || !is_shell_safe(e->d_name) || strlen(e->d_name) >= sizeof(files[0].name)) {
            continue;
        }
        struct corpus_file *f = &files[num_files];
        memset(f, 0, sizeof(*f));
        memcpy(f->name, e->d_name, strlen(e->d_name) + 1);
        num_files += count_ours(f);
    }
    closedir(dir);
    qsort(files, num_files, sizeof(files[0]), compare_files);

    for (size_t start = 0; start < num_files; start += TSHARK_PARALLEL) {
        size_t end = start + TSHARK_PARALLEL < num_files ? start + TSHARK_PARALLEL : num_files;
        for (size_t i = start; i < end; i++) {
            tshark_start(&files[i]);
        }
        for (size_t i = start; i < end; i++) {
            tshark_finish(&files[i]);
        }
        for (size_t i = start; i < end; i++) {
            check_against_tshark(&files[i]);
        }
    }
    printf("\n  %zu captures compared with tshark\n", num_files);
    CU_ASSERT(num_files > 0);
}

/* 802.11 data frames (802.11-2020 §9.3.2.1): frame control, duration, three addresses, sequence control;
 * LLC/SNAP (AA AA 03 000000) and the ethertype follow. */
#define WLAN_ADDRS "00000000000a 00000000000b 00000000000c 1000 "
#define SNAP_IPV4 "aaaa03 000000 0800 "

static void test_ieee802_11(void)
{
    struct td_segment s;
    // Data (type 2, subtype 0), ToDS: 24-byte header.
    expect_v4(decode_hex(LT_IEEE802_11, "08 01 3a01 " WLAN_ADDRS SNAP_IPV4 IPV4_TCP, &s), &s, 32);
    // QoS data (subtype 8): +2 bytes QoS control.
    expect_v4(decode_hex(LT_IEEE802_11, "88 02 3a01 " WLAN_ADDRS "0000 " SNAP_IPV4 IPV4_TCP, &s), &s, 34);
    // QoS data with the order bit: +4 bytes HT control; WDS (both DS bits): +6 bytes fourth address.
    expect_v4(decode_hex(LT_IEEE802_11, "88 83 3a01 " WLAN_ADDRS "00000000000d 0000 00000000 " SNAP_IPV4 IPV4_TCP,
                         &s), &s, 44);
    // Protected (WPA) data, a beacon (management), QoS Null (no data), and an ACK (control): nothing to decode.
    CU_ASSERT_EQUAL(decode_hex(LT_IEEE802_11, "08 41 3a01 " WLAN_ADDRS "0000000000000000", &s), TD_DECODE_NOT_IP);
    CU_ASSERT_EQUAL(decode_hex(LT_IEEE802_11, "80 00 0000 " WLAN_ADDRS "0000000000000000", &s), TD_DECODE_NOT_IP);
    CU_ASSERT_EQUAL(decode_hex(LT_IEEE802_11, "c8 01 3a01 " WLAN_ADDRS "0000", &s), TD_DECODE_NOT_IP);
    CU_ASSERT_EQUAL(decode_hex(LT_IEEE802_11, "d4 00 0000 00000000000a", &s), TD_DECODE_NOT_IP);
    // Cut inside the MAC header.
    CU_ASSERT_EQUAL(decode_hex(LT_IEEE802_11, "08 01 3a01 00000000000a", &s), TD_DECODE_TRUNCATED);
    // Fragments of an MSDU (802.11-2020 §10.5, sequence control = sequence number(12) | fragment number(4),
    // little-endian): only the first holds the LLC header and nothing is reassembled. A later fragment's bytes
    // are the middle of a packet, however much they look like LLC + IP; a first one with More Fragments is cut.
    CU_ASSERT_EQUAL(decode_hex(LT_IEEE802_11, "08 01 3a01 00000000000a 00000000000b 00000000000c 1100 " SNAP_IPV4
                               IPV4_TCP, &s), TD_DECODE_IP_FRAGMENT);
    CU_ASSERT_EQUAL(decode_hex(LT_IEEE802_11, "08 05 3a01 " WLAN_ADDRS SNAP_IPV4 IPV4_TCP, &s),
                    TD_DECODE_IP_FRAGMENT);
    // Radiotap: version 0, pad, length 12 (little-endian), present flags, 4 bytes of fields, then 802.11.
    expect_v4(decode_hex(LT_RADIOTAP, "00 00 0c00 02000000 10000000 08 01 3a01 " WLAN_ADDRS SNAP_IPV4 IPV4_TCP, &s),
              &s, 44);
    CU_ASSERT_EQUAL(decode_hex(LT_RADIOTAP, "01 00 0c00 02000000 10000000", &s), TD_DECODE_MALFORMED);
    CU_ASSERT_EQUAL(decode_hex(LT_RADIOTAP, "00 00 4000 02000000", &s), TD_DECODE_TRUNCATED);
    // Network Monitor's 802.11 metadata header: version 2, length 32 (little-endian), 29 more bytes.
    expect_v4(decode_hex(TD_LINKTYPE_NETMON_802_11,
                         "02 2000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00 "
                         "08 01 3a01 " WLAN_ADDRS SNAP_IPV4 IPV4_TCP, &s), &s, 64);
    CU_ASSERT_EQUAL(decode_hex(TD_LINKTYPE_NETMON_802_11, "02 0200", &s), TD_DECODE_MALFORMED);
}

static CU_TestInfo tests[] = {
    {"ethernet", test_ethernet},
    {"IEEE 802.11, radiotap, NetMon 802.11", test_ieee802_11},
    {"802.3 LLC/SNAP", test_802_3_llc_snap},
    {"VLAN and QinQ", test_vlan_qinq},
    {"PPPoE", test_pppoe},
    {"MPLS", test_mpls},
    {"Linux cooked SLL/SLL2", test_linux_cooked},
    {"raw IP 12/14/101/228/229", test_raw_ip},
    {"BSD NULL and LOOP", test_null_loop},
    {"PPP, PPP_HDLC, C_HDLC", test_ppp},
    {"unknown link type", test_unknown_link},
    {"IPv4 options, snaplen, TCP options", test_ipv4_options_and_snaplen},
    {"IPv4/TCP malformed", test_ipv4_malformed},
    {"IPv4 fragments and other protocols", test_ipv4_fragments},
    {"truncation at every prefix", test_truncation_every_prefix},
    {"IPv6 extension headers and fragments", test_ipv6_extension_headers},
    {"6in4, IP-in-IP", test_ip_in_ip},
    {"nesting bound", test_nesting_bound},
    {"GRE and ERSPAN", test_gre},
    {"VXLAN", test_vxlan},
    {"Geneve", test_geneve},
    {"GTP-U", test_gtpu},
    {"UDP datagrams", test_udp},
    {"UDP truncation at every prefix", test_udp_truncated},
    {"outer path: VLAN, MPLS, PPPoE", test_path_link_layers},
    {"outer path: IP-in-IP, GRE, ERSPAN", test_path_ip_tunnels},
    {"outer path: VXLAN, Geneve, GTP-U, plain UDP", test_path_udp_tunnels},
    {"outer path: more than TD_MAX_ENCAP_LAYERS", test_path_bounds},
    {"outer path of corpus frames", test_path_corpus},
    {"mutated frames", test_mutations},
    {"names and address format", test_names_and_format},
    {"corpus TCP frame count vs tshark", test_corpus_vs_tshark},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("capture/decode", tests)
