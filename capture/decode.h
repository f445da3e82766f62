/* SPDX-License-Identifier: MIT */
/* decode.h: from a captured frame to a TCP segment or UDP datagram: link layers (Ethernet with 802.1Q/QinQ,
 * Linux cooked SLL/SLL2, raw IP (DLT_RAW 12/14/101, 228, 229), BSD NULL/LOOP, PPP/PPPoE, IEEE 802.11 data frames
 * (plain, radiotap, Network Monitor's 802.11 header)), IPv4 (options) and
 * IPv6 (extension headers), and the tunnels our corpus carries (IPv6-in-IPv4, GRE/ERSPAN, VXLAN, Geneve,
 * GTP-U), whose headers are recorded as the frame's outer path.
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

/* One layer of the outer path: an encapsulation the analysed IP packet was found inside. */
enum td_encap_kind {
    TD_ENCAP_VLAN = 1, /* 802.1Q/802.1ad tag: id = VLAN id */
    TD_ENCAP_MPLS,     /* one label stack entry: id = label */
    TD_ENCAP_PPPOE,    /* PPPoE session stage: id = session id */
    TD_ENCAP_IP,       /* an outer IP header carrying the analysed one (IP-in-IP, 6in4, GRE, UDP tunnels): src, dst */
    TD_ENCAP_GRE,      /* id = GRE key, 0 when the header has none */
    TD_ENCAP_ERSPAN,   /* id = session id, version = ERSPAN type (1, 2, 3) */
    TD_ENCAP_VXLAN,    /* id = VNI */
    TD_ENCAP_GENEVE,   /* id = VNI */
    TD_ENCAP_GTPU,     /* id = TEID */
};

struct td_encap_layer {
    uint8_t kind;    /* enum td_encap_kind */
    uint8_t version; /* ERSPAN type, else 0 */
    uint32_t id;     /* see enum td_encap_kind; 0 for TD_ENCAP_IP */
    struct td_addr src, dst; /* TD_ENCAP_IP only; family 0 otherwise */
};

/* Layers kept per frame. Real paths are shorter (VLAN, IP, VXLAN and an inner VLAN is four; QinQ with
 * PPPoE three); deeper ones keep their outermost layers and set `more`. */
#define TD_MAX_ENCAP_LAYERS 6

/* The outer path, outermost first. Only layers[0 .. num-1] are set: readers must not look past num. */
struct td_encap_path {
    uint8_t num;
    bool more; /* there were more layers than TD_MAX_ENCAP_LAYERS; the innermost ones are not kept */
    struct td_encap_layer layers[TD_MAX_ENCAP_LAYERS];
};

/* A decoded TCP segment or UDP datagram (seq, ack and flags are 0 for UDP). Pointers are into the frame's
 * data and valid as long as it is. */
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
    /* Last, so that resetting the fields above does not have to touch the layers (decode is per frame). */
    struct td_encap_path encap; /* what the innermost IP header was found inside; num 0 when plain */
};

enum td_decode_result {
    TD_DECODE_TCP,          /* *out is filled */
    TD_DECODE_OTHER_IP,     /* IP but neither TCP nor UDP (ICMP, ESP, GRE we do not follow, ...) */
    TD_DECODE_IP_FRAGMENT,  /* a non-first IP fragment or a first one we cannot decode TCP from */
    TD_DECODE_NOT_IP,       /* ARP, LLDP, ... */
    TD_DECODE_UNKNOWN_LINK, /* link type not supported */
    TD_DECODE_TRUNCATED,    /* headers cut short by the snaplen */
    TD_DECODE_MALFORMED,    /* headers present but impossible (bad IHL, bad version, ...) */
    TD_DECODE_UDP,          /* *out is filled (seq/ack/flags 0): a UDP datagram that is no known tunnel, or
                               one to a tunnel port whose content is not that tunnel */
};

/* td_decode_frame decodes one frame of the given link type. Never fails on any input. For every result,
 * out->encap holds the layers walked before the decode stopped; the other fields of *out are meaningful
 * for TD_DECODE_TCP and TD_DECODE_UDP only. */
enum td_decode_result td_decode_frame(uint32_t linktype, const uint8_t *data, uint32_t caplen,
                                      struct td_segment *out);

/* Human-readable name of a decode result for counters ("not_ip", ...). */
const char *td_decode_result_name(enum td_decode_result r);

/* td_addr_format writes "192.0.2.1" or "2001:db8::1" into buf (at least 46 bytes). */
void td_addr_format(const struct td_addr *a, char *buf, size_t buf_len);

#endif
