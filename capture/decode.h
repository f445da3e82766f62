/* SPDX-License-Identifier: MIT */
/* decode.h: from a captured frame to a TCP segment: link layers (Ethernet with 802.1Q/QinQ, Linux
 * cooked SLL/SLL2, raw IP (DLT_RAW 12/14/101, 228, 229), BSD NULL/LOOP, PPP/PPPoE), IPv4 (options) and IPv6
 * (extension headers), and the tunnels our corpus carries (IPv6-in-IPv4, GRE, VXLAN, Geneve, GTP-U).
 * Stateless: IP fragments are counted, not reassembled. All reads go through struct td_cursor. */
#ifndef TD_CAPTURE_DECODE_H
#define TD_CAPTURE_DECODE_H

#include "base.h"

#define TD_TCP_FIN 0x01
#define TD_TCP_SYN 0x02
#define TD_TCP_RST 0x04
#define TD_TCP_PSH 0x08
#define TD_TCP_ACK 0x10

/* An IP address: IPv4 addresses are stored in the first 4 bytes, the rest zero. */
struct td_addr {
    uint8_t family; /* 4 or 6 */
    uint8_t bytes[16];
};

/* A decoded TCP segment. Pointers are into the frame's data and valid as long as it is. */
struct td_segment {
    struct td_addr src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;             /* TD_TCP_* */
    const uint8_t *payload;    /* captured TCP payload */
    uint32_t payload_len;      /* captured payload bytes */
    uint32_t payload_wire_len; /* payload length from the IP header (> payload_len when snaplen cut it) */
    const uint8_t *ip;         /* the innermost IP header, for nDPI */
    uint32_t ip_len;           /* captured bytes from the innermost IP header */
};

enum td_decode_result {
    TD_DECODE_TCP,          /* *out is filled */
    TD_DECODE_OTHER_IP,     /* IP but not TCP (UDP that is no known tunnel, ICMP, ...) */
    TD_DECODE_IP_FRAGMENT,  /* a non-first IP fragment or a first one we cannot decode TCP from */
    TD_DECODE_NOT_IP,       /* ARP, LLDP, ... */
    TD_DECODE_UNKNOWN_LINK, /* link type not supported */
    TD_DECODE_TRUNCATED,    /* headers cut short by the snaplen */
    TD_DECODE_MALFORMED,    /* headers present but impossible (bad IHL, bad version, ...) */
};

/* td_decode_frame decodes one frame of the given link type. Never fails on any input. */
enum td_decode_result td_decode_frame(uint32_t linktype, const uint8_t *data, uint32_t caplen,
                                      struct td_segment *out);

/* Human-readable name of a decode result for counters ("not_ip", ...). */
const char *td_decode_result_name(enum td_decode_result r);

/* td_addr_format writes "192.0.2.1" or "2001:db8::1" into buf (at least 46 bytes). */
void td_addr_format(const struct td_addr *a, char *buf, size_t buf_len);

#endif
