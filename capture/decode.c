/* SPDX-License-Identifier: MIT */
/* decode.c: one captured frame down to its TCP segment or UDP datagram, through link layers, IP and the
 * tunnels in between, recording those layers as the outer path.
 * Specifications: pcap-linktype(7) (LINKTYPE_* numbers, NULL/LOOP, SLL/SLL2, PPP); IEEE 802.1Q (VLAN, QinQ);
 * IEEE 802.2 LLC + RFC 1042 SNAP; RFC 2516 §4 (PPPoE session); RFC 1661 §2 / RFC 1662 §3 (PPP, HDLC framing);
 * RFC 3032 §2.1 (MPLS label stack); RFC 791 §3.1 (IPv4); RFC 8200 §3-§4 (IPv6, extension headers); RFC 4302 §2
 * (AH); RFC 2003 / RFC 4213 §3.5 (IP-in-IP, 6in4); RFC 2784 + RFC 2890 (GRE); draft-foschiano-erspan-03
 * (ERSPAN II/III); RFC 768 (UDP); RFC 7348 §5 (VXLAN); RFC 8926 §3.4 (Geneve); 3GPP TS 29.281 §5 (GTP-U);
 * RFC 9293 §3.1 (TCP).
 *
 * The decoder is a loop over layers rather than a recursion: each step reads one header through the cursor,
 * narrows the view to what the header declares, and names the next layer. The number of steps is capped, so
 * a crafted frame of tunnels inside tunnels ends in MALFORMED instead of running on.
 *
 * The outer path is written as the walk goes: each encapsulation header appends its layer, and an IP header
 * appends itself (as TD_ENCAP_IP) when it turns out to carry a tunnel. A UDP port only guesses a tunnel, so
 * the UDP step remembers how long the path was; if the guess fails before an inner IP header is accepted,
 * the path is cut back and the datagram is reported as plain UDP. */
#include "decode.h"

#include "cursor.h"
#include "reader.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* Layers decoded for one frame, counting an Ethernet header, an ethertype step (a whole VLAN tag stack,
 * PPPoE, an MPLS label stack) and an IP header with its transport or tunnel header as one each. The
 * deepest real case, VXLAN in VLAN with a tagged inner frame, takes nine; sixteen leaves room and stops
 * crafted nesting. */
#define MAX_LAYERS 16u
/* Per-layer repeat caps: 802.1Q tags, MPLS labels, IPv6 extension headers, GTP-U extension headers.
 * Real frames carry two or three at most; the caps only bound loops over crafted input. */
#define MAX_VLAN_TAGS 8u
#define MAX_MPLS_LABELS 16u
#define MAX_IPV6_EXT_HEADERS 16u
#define MAX_GTP_EXT_HEADERS 8u

/* Ethertypes (IEEE Registration Authority). */
#define ETH_IPV4 0x0800u
#define ETH_IPV6 0x86ddu
#define ETH_VLAN 0x8100u
#define ETH_QINQ 0x88a8u
#define ETH_QINQ_OLD 0x9100u /* pre-802.1ad vendor S-tag */
#define ETH_PPPOE_SESSION 0x8864u
#define ETH_MPLS 0x8847u
#define ETH_TEB 0x6558u          /* Transparent Ethernet Bridging (GRE, Geneve) */
#define ETH_ERSPAN_II 0x88beu    /* also type I when the GRE header has no sequence number */
#define ETH_ERSPAN_III 0x22ebu
/* Largest 802.3 length field; 1501..1535 is undefined, 1536 (0x0600) and up are ethertypes. */
#define ETH_MAX_802_3_LEN 1500u

#define PPP_IPV4 0x0021u
#define PPP_IPV6 0x0057u

#define IPPROTO_NUM_HOPOPTS 0u
#define IPPROTO_NUM_IPIP 4u
#define IPPROTO_NUM_TCP 6u
#define IPPROTO_NUM_UDP 17u
#define IPPROTO_NUM_IPV6 41u
#define IPPROTO_NUM_ROUTING 43u
#define IPPROTO_NUM_FRAGMENT 44u
#define IPPROTO_NUM_GRE 47u
#define IPPROTO_NUM_AH 51u
#define IPPROTO_NUM_DSTOPTS 60u

#define UDP_PORT_VXLAN 4789u
#define UDP_PORT_GENEVE 6081u
#define UDP_PORT_GTPU 2152u

/* LINKTYPE_* (pcap-linktype(7)); 12 and 14 are the DLT_RAW values of Linux and OpenBSD that
 * pcap_datalink() may return instead of LINKTYPE_RAW. */
#define LT_NULL 0u
#define LT_ETHERNET 1u
#define LT_PPP 9u
#define LT_DLT_RAW_12 12u
#define LT_DLT_RAW_14 14u
#define LT_PPP_HDLC 50u
#define LT_RAW 101u
#define LT_C_HDLC 104u
#define LT_LOOP 108u
#define LT_LINUX_SLL 113u
#define LT_IPV4 228u
#define LT_IPV6 229u
#define LT_LINUX_SLL2 276u
#define LT_IEEE802_11 105u
#define LT_IEEE802_11_RADIOTAP 127u

enum layer {
    LAYER_ETHER,     /* an Ethernet II or 802.3 header */
    LAYER_ETHERTYPE, /* d->type is an ethertype; the view starts right after it */
    LAYER_IP,        /* an IP header; d->type is 4 or 6 to require that version, 0 for either */
    LAYER_DONE,      /* d->result holds the answer */
};

struct decoder {
    struct td_segment *out;
    struct td_cursor c; /* from the start of the next header to the end of what the outer layers declare */
    uint16_t type;      /* what the next header is, see enum layer */
    /* Whether the enclosing IP payload lost bytes to the snaplen. A header that does not fit is then
     * TRUNCATED (not captured); otherwise the sender declared too little room for it: MALFORMED.
     * Before any IP header there is nothing to compare with, so short link headers count as truncated. */
    bool cut;
    bool seen_ip;   /* an IP header was decoded: whatever is inside is no longer NOT_IP */
    /* The view ends where an enclosing length field (PPPoE) says its payload ends, and the capture covers it:
     * an IP header claiming more describes bytes that were never sent, not bytes the snaplen dropped. */
    bool framed;
    /* Inside a tunnel guessed from a UDP port, until its inner IP header is accepted: failing to decode it
     * means plain UDP. out->sport/dport/payload* then still describe that datagram, and the path is cut
     * back to udp_encap_num / udp_encap_more. */
    bool by_port;
    uint8_t udp_encap_num;
    bool udp_encap_more;
    enum td_decode_result result;
};

static enum layer done(struct decoder *d, enum td_decode_result r)
{
    d->result = r;
    return LAYER_DONE;
}

/* short_header: the next header did not fit in the view. */
static enum layer short_header(struct decoder *d)
{
    return done(d, d->cut ? TD_DECODE_TRUNCATED : TD_DECODE_MALFORMED);
}

static enum layer next_ethertype(struct decoder *d, uint16_t type)
{
    d->type = type;
    return LAYER_ETHERTYPE;
}

static enum layer next_ip(struct decoder *d, uint16_t version)
{
    d->type = version;
    return LAYER_IP;
}

/* push_layer appends a layer to the outer path and returns it, or NULL (setting `more`) when the path is full.
 * The whole layer is written, so nothing of a previous frame's path survives in it. */
static struct td_encap_layer *push_layer(struct decoder *d, enum td_encap_kind kind, uint32_t id)
{
    struct td_encap_path *path = &d->out->encap;
    if (path->num >= TD_MAX_ENCAP_LAYERS) {
        path->more = true;
        return NULL;
    }
    struct td_encap_layer *l = &path->layers[path->num++];
    *l = (struct td_encap_layer){.kind = (uint8_t)kind, .id = id};
    return l;
}

/* push_outer_ip: the IP header just decoded (its addresses are in out) carries a tunnel. */
static void push_outer_ip(struct decoder *d)
{
    struct td_encap_layer *l = push_layer(d, TD_ENCAP_IP, 0);
    if (l != NULL) {
        l->src = d->out->src;
        l->dst = d->out->dst;
    }
}

/* ip_version_next: for payloads with no type field (raw IP, MPLS, GTP-U), the IP version nibble decides. */
static enum layer ip_version_next(struct decoder *d, enum td_decode_result otherwise)
{
    uint8_t b;
    if (!td_cursor_peek_u8(&d->c, &b)) {
        return short_header(d);
    }
    uint8_t version = (uint8_t)(b >> 4);
    if (version != 4 && version != 6) {
        return done(d, otherwise);
    }
    return next_ip(d, version);
}

/* ---- Link layers ---------------------------------------------------------------------------------- */

/* LLC (IEEE 802.2): DSAP(8) SSAP(8) control(8, or 16 for I/S frames); SNAP (RFC 1042): OUI(24) type(16).
 * Only SNAP with OUI 0 carries an ethertype, and so possibly IP. */
static enum layer step_llc(struct decoder *d)
{
    uint8_t dsap, ssap, control;
    if (!td_cursor_get_u8(&d->c, &dsap) || !td_cursor_get_u8(&d->c, &ssap) ||
        !td_cursor_get_u8(&d->c, &control)) {
        return short_header(d);
    }
    if (dsap != 0xaa || ssap != 0xaa || control != 0x03) {
        return done(d, TD_DECODE_NOT_IP);
    }
    uint32_t oui;
    uint16_t type;
    if (!td_cursor_get_u24(&d->c, &oui) || !td_cursor_get_u16(&d->c, &type)) {
        return short_header(d);
    }
    if (oui != 0) {
        return done(d, TD_DECODE_NOT_IP);
    }
    return next_ethertype(d, type);
}

/* IEEE 802.11 (802.11-2020 §9.2.4.1, §9.3.2.1): frame_control(16: version(2) type(2) subtype(4) | to_ds from_ds
 * more_frag retry pwr_mgt more_data protected order) duration(16) addr1 addr2 addr3(48 each) seq_ctl(16),
 * addr4(48) when both DS bits are set, QoS control(16) for QoS data, HT control(32) when the order bit is set on
 * QoS data; then LLC/SNAP. Only unprotected data frames that carry data can hold IP, and only unfragmented ones
 * are decoded (§10.5). */
static enum layer step_ieee802_11(struct decoder *d)
{
    uint8_t fc0, fc1;
    if (!td_cursor_get_u8(&d->c, &fc0) || !td_cursor_get_u8(&d->c, &fc1)) {
        return short_header(d);
    }
    bool data = (fc0 & 0x0cu) == 0x08u;      /* type 2 */
    bool no_data = (fc0 & 0x40u) != 0;       /* subtypes with bit 2 set: Null, QoS Null, CF-Ack/Poll only */
    bool qos = (fc0 & 0x80u) != 0;           /* subtype bit 3 */
    if ((fc0 & 0x03u) != 0 || !data || no_data || (fc1 & 0x40u) != 0) {
        return done(d, TD_DECODE_NOT_IP);    /* management, control, another version, or encrypted */
    }
    size_t header_rest = 0;
    if ((fc1 & 0x03u) == 0x03u) {
        header_rest += 6u;                   /* WDS: a fourth address */
    }
    if (qos) {
        header_rest += 2u + ((fc1 & 0x80u) != 0 ? 4u : 0u);
    }
    uint16_t seq_ctl;                        /* sequence number(12) | fragment number(4), little-endian */
    if (!td_cursor_skip(&d->c, 20u) || !td_cursor_get_u16_le(&d->c, &seq_ctl) ||
        !td_cursor_skip(&d->c, header_rest)) {
        return short_header(d);
    }
    // A fragmented MSDU (802.11-2020 §10.5): only the first fragment starts with the LLC header, and fragments
    // are not reassembled here, as IP fragments are not. A later one's bytes must not be read as headers.
    if ((seq_ctl & 0x000fu) != 0 || (fc1 & 0x04u) != 0) {
        return done(d, TD_DECODE_IP_FRAGMENT);
    }
    return step_llc(d);
}

/* Radiotap (radiotap.org): version(8)=0 pad(8) length(16, little-endian, the whole header) present(32)...; an
 * 802.11 frame follows. A trailing FCS, if any, lies past the IP packet's own length. */
static enum layer step_radiotap(struct decoder *d)
{
    uint8_t version;
    uint16_t len;
    if (!td_cursor_get_u8(&d->c, &version) || !td_cursor_skip(&d->c, 1) || !td_cursor_get_u16_le(&d->c, &len)) {
        return short_header(d);
    }
    if (version != 0 || len < 8) {
        return done(d, TD_DECODE_MALFORMED);
    }
    if (!td_cursor_skip(&d->c, (size_t)len - 4u)) {
        return short_header(d);
    }
    return step_ieee802_11(d);
}

/* Network Monitor's 802.11 metadata header (Wireshark's netmon_802_11 dissector): version(8) length(16,
 * little-endian, the whole header) op_mode flags phy channel signal rate timestamp...; an 802.11 frame follows. */
static enum layer step_netmon_802_11(struct decoder *d)
{
    uint16_t len;
    if (!td_cursor_skip(&d->c, 1) || !td_cursor_get_u16_le(&d->c, &len)) {
        return short_header(d);
    }
    if (len < 3) {
        return done(d, TD_DECODE_MALFORMED);
    }
    if (!td_cursor_skip(&d->c, (size_t)len - 3u)) {
        return short_header(d);
    }
    return step_ieee802_11(d);
}

/* Ethernet II: destination(48) source(48) type(16); a type of 1500 or less is an 802.3 length. */
static enum layer step_ether(struct decoder *d)
{
    uint16_t type;
    if (!td_cursor_skip(&d->c, 12) || !td_cursor_get_u16(&d->c, &type)) {
        return short_header(d);
    }
    if (type <= ETH_MAX_802_3_LEN) {
        // The length excludes padding to the 60-byte minimum; trim it so it is not read as payload.
        td_cursor_truncate(&d->c, type);
        return step_llc(d);
    }
    return next_ethertype(d, type);
}

/* 802.1Q / 802.1ad tags: TCI = PCP(3) DEI(1) VID(12) | type(16), stacked for QinQ. */
static enum layer step_vlan(struct decoder *d)
{
    uint16_t type = d->type;
    for (unsigned i = 0; i < MAX_VLAN_TAGS; i++) {
        if (type != ETH_VLAN && type != ETH_QINQ && type != ETH_QINQ_OLD) {
            return next_ethertype(d, type);
        }
        uint16_t tci;
        if (!td_cursor_get_u16(&d->c, &tci) || !td_cursor_get_u16(&d->c, &type)) {
            return short_header(d);
        }
        push_layer(d, TD_ENCAP_VLAN, tci & 0x0fffu);
    }
    return done(d, TD_DECODE_MALFORMED);
}

/* PPP protocol field (RFC 1661 §2): 16 bits, or 8 when Protocol-Field-Compression leaves an odd first byte. */
static enum layer step_ppp_protocol(struct decoder *d)
{
    uint8_t hi;
    if (!td_cursor_get_u8(&d->c, &hi)) {
        return short_header(d);
    }
    uint16_t proto = hi;
    if ((hi & 1u) == 0) {
        uint8_t lo;
        if (!td_cursor_get_u8(&d->c, &lo)) {
            return short_header(d);
        }
        proto = (uint16_t)((unsigned)hi << 8 | lo);
    }
    if (proto == PPP_IPV4) {
        return next_ip(d, 4);
    }
    if (proto == PPP_IPV6) {
        return next_ip(d, 6);
    }
    return done(d, TD_DECODE_NOT_IP);
}

/* PPPoE session stage (RFC 2516 §4): ver(4)=1 type(4)=1 | code(8)=0 | session_id(16) | length(16), then PPP. */
static enum layer step_pppoe(struct decoder *d)
{
    uint8_t ver_type, code;
    uint16_t session, length;
    if (!td_cursor_get_u8(&d->c, &ver_type) || !td_cursor_get_u8(&d->c, &code) ||
        !td_cursor_get_u16(&d->c, &session) || !td_cursor_get_u16(&d->c, &length)) {
        return short_header(d);
    }
    if (ver_type != 0x11 || code != 0) {
        return done(d, TD_DECODE_MALFORMED);
    }
    push_layer(d, TD_ENCAP_PPPOE, session);
    d->framed = td_cursor_len(&d->c) >= length;
    td_cursor_truncate(&d->c, length); // drops Ethernet padding after the PPP frame
    return step_ppp_protocol(d);
}

/* MPLS label stack entry (RFC 3032 §2.1): label(20) TC(3) S(1) TTL(8); S marks the last entry.
 * The payload has no type field: the IP version nibble tells IPv4 from IPv6, as Wireshark guesses. */
static enum layer step_mpls(struct decoder *d)
{
    for (unsigned i = 0; i < MAX_MPLS_LABELS; i++) {
        uint32_t entry;
        if (!td_cursor_get_u32(&d->c, &entry)) {
            return short_header(d);
        }
        push_layer(d, TD_ENCAP_MPLS, entry >> 12);
        if ((entry & 0x100u) != 0) {
            return ip_version_next(d, TD_DECODE_NOT_IP);
        }
    }
    return done(d, TD_DECODE_MALFORMED);
}

static enum layer step_ethertype(struct decoder *d)
{
    switch (d->type) {
    case ETH_IPV4:
        return next_ip(d, 4);
    case ETH_IPV6:
        return next_ip(d, 6);
    case ETH_VLAN:
    case ETH_QINQ:
    case ETH_QINQ_OLD:
        return step_vlan(d);
    case ETH_PPPOE_SESSION:
        return step_pppoe(d);
    case ETH_MPLS:
        return step_mpls(d);
    default:
        return done(d, TD_DECODE_NOT_IP);
    }
}

/* Linux cooked v1: packet_type(16) ARPHRD(16) addr_len(16) addr(64) protocol(16). */
static enum layer step_sll(struct decoder *d)
{
    uint16_t proto;
    if (!td_cursor_skip(&d->c, 14) || !td_cursor_get_u16(&d->c, &proto)) {
        return short_header(d);
    }
    return next_ethertype(d, proto);
}

/* Linux cooked v2: protocol(16) reserved(16) ifindex(32) ARPHRD(16) packet_type(8) addr_len(8) addr(64). */
static enum layer step_sll2(struct decoder *d)
{
    uint16_t proto;
    if (!td_cursor_get_u16(&d->c, &proto) || !td_cursor_skip(&d->c, 18)) {
        return short_header(d);
    }
    return next_ethertype(d, proto);
}

/* BSD loopback: a 4-byte address family. AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD, OpenBSD),
 * 28 (FreeBSD), 30 (macOS) or 10 (Linux). */
static enum layer step_loopback(struct decoder *d, bool network_order)
{
    uint32_t family;
    if (!td_cursor_get_u32(&d->c, &family)) {
        return short_header(d);
    }
    // NULL uses the byte order of the machine that captured, which need not be ours: families are
    // small numbers, so a value with its high half set was written little-endian.
    if (!network_order && (family & 0xffff0000u) != 0) {
        family = (family >> 24) | ((family >> 8) & 0xff00u) | ((family << 8) & 0xff0000u) | (family << 24);
    }
    switch (family) {
    case 2:
        return next_ip(d, 4);
    case 10:
    case 24:
    case 28:
    case 30:
        return next_ip(d, 6);
    default:
        return done(d, TD_DECODE_NOT_IP);
    }
}

/* LINKTYPE_PPP: RFC 1662 address 0xff control 0x03 may precede the protocol, or be absent. */
static enum layer step_ppp(struct decoder *d)
{
    uint16_t addr_control;
    if (td_cursor_peek_u16(&d->c, &addr_control) && addr_control == 0xff03u) {
        if (!td_cursor_skip(&d->c, 2)) {
            return short_header(d);
        }
    }
    return step_ppp_protocol(d);
}

/* LINKTYPE_PPP_HDLC and LINKTYPE_C_HDLC: address(8) control(8), then a PPP protocol (address 0xff)
 * or, for Cisco HDLC (address 0x0f unicast / 0x8f broadcast), an ethertype. */
static enum layer step_hdlc(struct decoder *d)
{
    uint8_t address, control;
    if (!td_cursor_get_u8(&d->c, &address) || !td_cursor_get_u8(&d->c, &control)) {
        return short_header(d);
    }
    if (address == 0xff) {
        return step_ppp_protocol(d);
    }
    if (address != 0x0f && address != 0x8f) {
        return done(d, TD_DECODE_NOT_IP);
    }
    uint16_t type;
    if (!td_cursor_get_u16(&d->c, &type)) {
        return short_header(d);
    }
    return next_ethertype(d, type);
}

static enum layer step_link(struct decoder *d, uint32_t linktype)
{
    switch (linktype) {
    case LT_ETHERNET:
        return LAYER_ETHER;
    case LT_LINUX_SLL:
        return step_sll(d);
    case LT_LINUX_SLL2:
        return step_sll2(d);
    case LT_RAW:
    case LT_DLT_RAW_12:
    case LT_DLT_RAW_14:
        return ip_version_next(d, TD_DECODE_MALFORMED);
    case LT_IPV4:
        return next_ip(d, 4);
    case LT_IPV6:
        return next_ip(d, 6);
    case LT_NULL:
        return step_loopback(d, false);
    case LT_LOOP:
        return step_loopback(d, true);
    case LT_PPP:
        return step_ppp(d);
    case LT_PPP_HDLC:
    case LT_C_HDLC:
        return step_hdlc(d);
    case LT_IEEE802_11:
        return step_ieee802_11(d);
    case LT_IEEE802_11_RADIOTAP:
        return step_radiotap(d);
    case TD_LINKTYPE_NETMON_802_11:
        return step_netmon_802_11(d);
    default:
        return done(d, TD_DECODE_UNKNOWN_LINK);
    }
}

/* ---- Transport and tunnels ------------------------------------------------------------------------ */

/* TCP (RFC 9293 §3.1): sport(16) dport(16) seq(32) ack(32) | data_offset(4) reserved(4) | flags(8) |
 * window(16) checksum(16) urgent(16) | options. wire_len is the segment length the IP header declares. */
static enum layer step_tcp(struct decoder *d, size_t wire_len)
{
    struct td_segment *out = d->out;
    uint8_t offset_byte, flags;
    if (!td_cursor_get_u16(&d->c, &out->sport) || !td_cursor_get_u16(&d->c, &out->dport) ||
        !td_cursor_get_u32(&d->c, &out->seq) || !td_cursor_get_u32(&d->c, &out->ack) ||
        !td_cursor_get_u8(&d->c, &offset_byte) || !td_cursor_get_u8(&d->c, &flags) ||
        !td_cursor_skip(&d->c, 6)) {
        return short_header(d);
    }
    size_t header_len = (size_t)(offset_byte >> 4) * 4;
    if (header_len < 20 || header_len > wire_len) {
        return done(d, TD_DECODE_MALFORMED);
    }
    if (!td_cursor_skip(&d->c, header_len - 20)) {
        return short_header(d);
    }
    out->flags = flags;
    out->payload = td_cursor_data(&d->c);
    out->payload_len = (uint32_t)td_cursor_len(&d->c);
    out->payload_wire_len = (uint32_t)(wire_len - header_len);
    return done(d, TD_DECODE_TCP);
}

/* VXLAN (RFC 7348 §5): flags(8) reserved(24) VNI(24) reserved(8), then Ethernet. */
static enum layer step_vxlan(struct decoder *d)
{
    uint32_t vni;
    if (!td_cursor_skip(&d->c, 4) || !td_cursor_get_u24(&d->c, &vni) || !td_cursor_skip(&d->c, 1)) {
        return short_header(d);
    }
    push_layer(d, TD_ENCAP_VXLAN, vni);
    return LAYER_ETHER;
}

/* Geneve (RFC 8926 §3.4): ver(2) opt_len(6) | O(1) C(1) rsvd(6) | protocol(16) | VNI(24) rsvd(8) |
 * options (opt_len x 4 bytes). */
static enum layer step_geneve(struct decoder *d)
{
    uint8_t ver_opt_len, flags;
    uint16_t proto;
    uint32_t vni;
    if (!td_cursor_get_u8(&d->c, &ver_opt_len) || !td_cursor_get_u8(&d->c, &flags) ||
        !td_cursor_get_u16(&d->c, &proto) || !td_cursor_get_u24(&d->c, &vni) || !td_cursor_skip(&d->c, 1)) {
        return short_header(d);
    }
    if ((ver_opt_len >> 6) != 0) {
        return done(d, TD_DECODE_MALFORMED);
    }
    push_layer(d, TD_ENCAP_GENEVE, vni);
    if (!td_cursor_skip(&d->c, (size_t)(ver_opt_len & 0x3fu) * 4)) {
        return short_header(d);
    }
    if (proto == ETH_TEB) {
        return LAYER_ETHER;
    }
    return next_ethertype(d, proto);
}

/* GTP-U (3GPP TS 29.281 §5.1): version(3)=1 PT(1)=1 spare(1) E(1) S(1) PN(1) | type(8) | length(16) |
 * TEID(32) | [seq(16) N-PDU(8) next_ext(8) when E, S or PN] | extension headers, each
 * length(8, in 4-byte units) content next_ext(8) (§5.2). A G-PDU (type 255) carries an IP packet. */
static enum layer step_gtpu(struct decoder *d)
{
    uint8_t flags, type;
    uint16_t length;
    uint32_t teid;
    if (!td_cursor_get_u8(&d->c, &flags) || !td_cursor_get_u8(&d->c, &type) ||
        !td_cursor_get_u16(&d->c, &length) || !td_cursor_get_u32(&d->c, &teid)) {
        return short_header(d);
    }
    if ((flags >> 5) != 1 || (flags & 0x10u) == 0) {
        return done(d, TD_DECODE_MALFORMED); // GTPv0, or GTP' (charging) which shares the port
    }
    if (type != 0xff) {
        return done(d, TD_DECODE_OTHER_IP); // echo, error indication, end marker: no user packet
    }
    push_layer(d, TD_ENCAP_GTPU, teid);
    td_cursor_truncate(&d->c, length); // length counts what follows the 8 mandatory bytes
    if ((flags & 0x07u) == 0) {
        return ip_version_next(d, TD_DECODE_MALFORMED);
    }
    uint8_t next_ext;
    if (!td_cursor_skip(&d->c, 3) || !td_cursor_get_u8(&d->c, &next_ext)) {
        return short_header(d);
    }
    for (unsigned i = 0; next_ext != 0; i++) {
        if (i == MAX_GTP_EXT_HEADERS) {
            return done(d, TD_DECODE_MALFORMED);
        }
        uint8_t units;
        if (!td_cursor_peek_u8(&d->c, &units)) {
            return short_header(d);
        }
        if (units == 0) {
            return done(d, TD_DECODE_MALFORMED);
        }
        // The header is units x 4 bytes long and its last byte is the next extension type.
        if (!td_cursor_skip(&d->c, (size_t)units * 4 - 1) || !td_cursor_get_u8(&d->c, &next_ext)) {
            return short_header(d);
        }
    }
    return ip_version_next(d, TD_DECODE_MALFORMED);
}

/* UDP (RFC 768): sport(16) dport(16) length(16) checksum(16). The datagram is the answer unless its port
 * names a tunnel we know; then it is the answer only if that tunnel does not decode. wire_len is the
 * datagram length the IP header declares. */
static enum layer step_udp(struct decoder *d, size_t wire_len)
{
    struct td_segment *out = d->out;
    uint16_t sport, dport, length;
    if (!td_cursor_get_u16(&d->c, &sport) || !td_cursor_get_u16(&d->c, &dport) ||
        !td_cursor_get_u16(&d->c, &length) || !td_cursor_skip(&d->c, 2)) {
        return short_header(d);
    }
    // The UDP length is trusted only to trim, and only when the IP packet has room for it; a wrong one is
    // the sender's problem, not a reason to stop. The IP header's length counts otherwise, as for TCP.
    size_t datagram_len = length >= 8 && length <= wire_len ? length : wire_len;
    if (datagram_len < 8) {
        return done(d, TD_DECODE_MALFORMED); // unreachable while the view ends at wire_len; kept for safety
    }
    td_cursor_truncate(&d->c, datagram_len - 8);
    out->sport = sport;
    out->dport = dport;
    out->payload = td_cursor_data(&d->c);
    out->payload_len = (uint32_t)td_cursor_len(&d->c);
    out->payload_wire_len = (uint32_t)(datagram_len - 8);
    if (dport != UDP_PORT_VXLAN && dport != UDP_PORT_GENEVE && dport != UDP_PORT_GTPU && sport != UDP_PORT_GTPU) {
        return done(d, TD_DECODE_UDP);
    }
    d->by_port = true;
    d->udp_encap_num = out->encap.num;
    d->udp_encap_more = out->encap.more;
    push_outer_ip(d);
    if (dport == UDP_PORT_VXLAN) {
        return step_vxlan(d);
    }
    if (dport == UDP_PORT_GENEVE) {
        return step_geneve(d);
    }
    return step_gtpu(d);
}

/* ERSPAN type II: ver(4)=1 VLAN(12) | COS(3) En(2) T(1) session(10) | reserved(12) index(20).
 * Type I has no header at all and is told apart by a GRE header without a sequence number. */
static enum layer step_erspan_ii(struct decoder *d, bool has_seq)
{
    if (!has_seq) {
        struct td_encap_layer *l = push_layer(d, TD_ENCAP_ERSPAN, 0);
        if (l != NULL) {
            l->version = 1;
        }
        return LAYER_ETHER;
    }
    uint16_t ver_vlan, session;
    if (!td_cursor_get_u16(&d->c, &ver_vlan) || !td_cursor_get_u16(&d->c, &session) ||
        !td_cursor_skip(&d->c, 4)) {
        return short_header(d);
    }
    if ((ver_vlan >> 12) != 1) {
        return done(d, TD_DECODE_MALFORMED);
    }
    struct td_encap_layer *l = push_layer(d, TD_ENCAP_ERSPAN, session & 0x03ffu);
    if (l != NULL) {
        l->version = 2;
    }
    return LAYER_ETHER;
}

/* ERSPAN type III: ver(4)=2 VLAN(12) | COS(3) BSO(2) T(1) session(10) | timestamp(32) | SGT(16) |
 * P(1) FT(5) HW_ID(6) D(1) Gra(2) O(1) | [platform-specific subheader(64) when O]. FT 0 is Ethernet. */
static enum layer step_erspan_iii(struct decoder *d)
{
    uint16_t ver_vlan, session, ft_o;
    if (!td_cursor_get_u16(&d->c, &ver_vlan) || !td_cursor_get_u16(&d->c, &session) ||
        !td_cursor_skip(&d->c, 6) || !td_cursor_get_u16(&d->c, &ft_o)) {
        return short_header(d);
    }
    if ((ver_vlan >> 12) != 2) {
        return done(d, TD_DECODE_MALFORMED);
    }
    struct td_encap_layer *l = push_layer(d, TD_ENCAP_ERSPAN, session & 0x03ffu);
    if (l != NULL) {
        l->version = 3;
    }
    if ((ft_o & 1u) != 0 && !td_cursor_skip(&d->c, 8)) {
        return short_header(d);
    }
    if (((ft_o >> 10) & 0x1fu) != 0) {
        return done(d, TD_DECODE_OTHER_IP); // mirrored frames of another kind: Wireshark leaves them as data
    }
    return LAYER_ETHER;
}

/* GRE (RFC 2784 §2.1, RFC 2890 §2): C(1) R(1) K(1) S(1) reserved0(9) ver(3) | protocol(16) |
 * [checksum(16) reserved1(16) when C] | [key(32) when K] | [sequence(32) when S]. */
static enum layer step_gre(struct decoder *d)
{
    uint16_t flags, proto;
    if (!td_cursor_get_u16(&d->c, &flags) || !td_cursor_get_u16(&d->c, &proto)) {
        return short_header(d);
    }
    // Version 1 is PPTP's enhanced GRE and R is the RFC 1701 source route: neither carries our traffic.
    if ((flags & 0x0007u) != 0 || (flags & 0x4000u) != 0) {
        return done(d, TD_DECODE_OTHER_IP);
    }
    bool has_seq = (flags & 0x1000u) != 0;
    uint32_t key = 0;
    if (((flags & 0x8000u) != 0 && !td_cursor_skip(&d->c, 4)) ||
        ((flags & 0x2000u) != 0 && !td_cursor_get_u32(&d->c, &key)) || (has_seq && !td_cursor_skip(&d->c, 4))) {
        return short_header(d);
    }
    push_outer_ip(d);
    push_layer(d, TD_ENCAP_GRE, key);
    switch (proto) {
    case ETH_TEB:
        return LAYER_ETHER;
    case ETH_ERSPAN_II:
        return step_erspan_ii(d, has_seq);
    case ETH_ERSPAN_III:
        return step_erspan_iii(d);
    default:
        return next_ethertype(d, proto);
    }
}

/* step_transport: what follows the (last) IP header: TCP ends the walk, the tunnels continue it. */
static enum layer step_transport(struct decoder *d, uint8_t proto, size_t wire_len)
{
    switch (proto) {
    case IPPROTO_NUM_TCP:
        return step_tcp(d, wire_len);
    case IPPROTO_NUM_UDP:
        return step_udp(d, wire_len);
    case IPPROTO_NUM_GRE:
        return step_gre(d);
    case IPPROTO_NUM_IPIP:
        push_outer_ip(d);
        return next_ip(d, 4);
    case IPPROTO_NUM_IPV6:
        push_outer_ip(d);
        return next_ip(d, 6);
    default:
        return done(d, TD_DECODE_OTHER_IP);
    }
}

/* ---- IP ------------------------------------------------------------------------------------------- */

/* bound_payload: the IP header declares wire_len payload bytes. Trim the view to them (dropping Ethernet
 * padding and trailers) and note whether the snaplen took some. */
static void bound_payload(struct decoder *d, size_t wire_len)
{
    td_cursor_truncate(&d->c, wire_len);
    d->cut = td_cursor_len(&d->c) < wire_len;
    d->seen_ip = true;
}

/* start_ip: the innermost IP header seen so far is what nDPI gets. */
static void start_ip(struct decoder *d, const struct td_cursor *header, size_t total_len)
{
    struct td_cursor whole = *header;
    td_cursor_truncate(&whole, total_len);
    d->out->ip = td_cursor_data(&whole);
    d->out->ip_len = (uint32_t)td_cursor_len(&whole);
}

/* IPv4 (RFC 791 §3.1): version(4) IHL(4) | TOS(8) | total_length(16) | id(16) | flags(3) frag_offset(13) |
 * TTL(8) | protocol(8) | checksum(16) | source(32) | destination(32) | options (IHL x 4 - 20). */
static enum layer step_ipv4(struct decoder *d)
{
    struct td_cursor header = d->c;
    struct td_addr src = {.family = 4}, dst = {.family = 4};
    uint8_t version_ihl, proto;
    uint16_t total_len, frag;
    if (!td_cursor_get_u8(&d->c, &version_ihl) || !td_cursor_skip(&d->c, 1) ||
        !td_cursor_get_u16(&d->c, &total_len) || !td_cursor_skip(&d->c, 2) ||
        !td_cursor_get_u16(&d->c, &frag) || !td_cursor_skip(&d->c, 1) || !td_cursor_get_u8(&d->c, &proto) ||
        !td_cursor_skip(&d->c, 2) || !td_cursor_copy(&d->c, src.bytes, 4) ||
        !td_cursor_copy(&d->c, dst.bytes, 4)) {
        return short_header(d);
    }
    size_t header_len = (size_t)(version_ihl & 0x0fu) * 4;
    if ((version_ihl >> 4) != 4 || header_len < 20) {
        return done(d, TD_DECODE_MALFORMED);
    }
    // A total length of 0 comes from TCP segmentation offload on the capturing host: the NIC fills it in
    // later. Wireshark then uses the captured length, and so do we.
    size_t wire_total = total_len != 0 ? total_len : td_cursor_len(&header);
    if (d->framed && wire_total > td_cursor_len(&header)) {
        wire_total = td_cursor_len(&header); // as Wireshark: the link layer's framing wins
    }
    d->framed = false;
    if (wire_total < header_len) {
        return done(d, TD_DECODE_MALFORMED);
    }
    if (!td_cursor_skip(&d->c, header_len - 20)) {
        return short_header(d);
    }
    d->by_port = false; // an IP header inside the guessed tunnel: the guess was right
    d->out->src = src;
    d->out->dst = dst;
    start_ip(d, &header, wire_total);
    bound_payload(d, wire_total - header_len);
    // MF set or a non-zero offset: a piece of a datagram we do not reassemble.
    if ((frag & 0x3fffu) != 0) {
        return done(d, TD_DECODE_IP_FRAGMENT);
    }
    return step_transport(d, proto, wire_total - header_len);
}

/* IPv6 (RFC 8200 §3): version(4) traffic_class(8) flow_label(20) | payload_length(16) | next_header(8) |
 * hop_limit(8) | source(128) | destination(128), then extension headers (§4) up to the transport. */
static enum layer step_ipv6(struct decoder *d)
{
    struct td_cursor header = d->c;
    struct td_addr src = {.family = 6}, dst = {.family = 6};
    uint8_t version, next;
    uint16_t payload_len;
    if (!td_cursor_get_u8(&d->c, &version) || !td_cursor_skip(&d->c, 3) ||
        !td_cursor_get_u16(&d->c, &payload_len) || !td_cursor_get_u8(&d->c, &next) ||
        !td_cursor_skip(&d->c, 1) || !td_cursor_copy(&d->c, src.bytes, 16) ||
        !td_cursor_copy(&d->c, dst.bytes, 16)) {
        return short_header(d);
    }
    if ((version >> 4) != 6) {
        return done(d, TD_DECODE_MALFORMED);
    }
    // Payload length 0: a jumbogram (RFC 2675) or segmentation offload; take what was captured.
    size_t wire_len = payload_len != 0 ? payload_len : td_cursor_len(&d->c);
    if (d->framed && wire_len > td_cursor_len(&d->c)) {
        wire_len = td_cursor_len(&d->c); // as Wireshark: the link layer's framing wins
    }
    d->framed = false;
    d->by_port = false; // an IP header inside the guessed tunnel: the guess was right
    d->out->src = src;
    d->out->dst = dst;
    start_ip(d, &header, 40 + wire_len);
    bound_payload(d, wire_len);
    for (unsigned i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
        size_t ext_len;
        uint8_t len_field;
        switch (next) {
        case IPPROTO_NUM_HOPOPTS:
        case IPPROTO_NUM_ROUTING:
        case IPPROTO_NUM_DSTOPTS:
            // next_header(8) hdr_ext_len(8, 8-byte units beyond the first 8) ... (RFC 8200 §4.3-§4.6)
            if (!td_cursor_peek_at_u8(&d->c, 1, &len_field)) {
                return short_header(d);
            }
            ext_len = ((size_t)len_field + 1) * 8;
            break;
        case IPPROTO_NUM_AH:
            // next_header(8) payload_len(8, 4-byte units minus 2) ... (RFC 4302 §2.2)
            if (!td_cursor_peek_at_u8(&d->c, 1, &len_field)) {
                return short_header(d);
            }
            ext_len = ((size_t)len_field + 2) * 4;
            break;
        case IPPROTO_NUM_FRAGMENT: {
            // next_header(8) reserved(8) offset(13) res(2) M(1) identification(32) (RFC 8200 §4.5)
            uint8_t offset_hi, offset_lo_m;
            if (!td_cursor_peek_at_u8(&d->c, 2, &offset_hi) || !td_cursor_peek_at_u8(&d->c, 3, &offset_lo_m)) {
                return short_header(d);
            }
            if (offset_hi != 0 || (offset_lo_m & 0xf9u) != 0) {
                return done(d, TD_DECODE_IP_FRAGMENT);
            }
            ext_len = 8; // an atomic fragment (offset 0, no M; RFC 6946) is a whole packet
            break;
        }
        default:
            return step_transport(d, next, wire_len);
        }
        if (ext_len > wire_len) {
            return done(d, TD_DECODE_MALFORMED);
        }
        if (!td_cursor_get_u8(&d->c, &next) || !td_cursor_skip(&d->c, ext_len - 1)) {
            return short_header(d);
        }
        wire_len -= ext_len;
    }
    return done(d, TD_DECODE_MALFORMED);
}

static enum layer step_ip(struct decoder *d)
{
    if (d->type == 4) {
        return step_ipv4(d);
    }
    if (d->type == 6) {
        return step_ipv6(d);
    }
    return ip_version_next(d, TD_DECODE_MALFORMED);
}

/* ---- Public --------------------------------------------------------------------------------------- */

enum td_decode_result td_decode_frame(uint32_t linktype, const uint8_t *data, uint32_t caplen,
                                      struct td_segment *out)
{
    // Every field but the path's layers: those are written as they are appended (see push_layer).
    memset(out, 0, offsetof(struct td_segment, encap));
    out->encap.num = 0;
    out->encap.more = false;
    struct decoder d = {.out = out, .cut = true, .result = TD_DECODE_MALFORMED};
    td_cursor_init(&d.c, data, caplen, 0);
    enum layer next = step_link(&d, linktype);
    // Each pass decodes one encapsulation; loops within one (tags, labels, extension headers) are
    // bounded by their own caps.
    for (unsigned i = 0; i < MAX_LAYERS && next != LAYER_DONE; i++) {
        switch (next) {
        case LAYER_ETHER:
            next = step_ether(&d);
            break;
        case LAYER_ETHERTYPE:
            next = step_ethertype(&d);
            break;
        case LAYER_IP:
            next = step_ip(&d);
            break;
        case LAYER_DONE:
            break;
        }
    }
    if (next != LAYER_DONE) {
        return TD_DECODE_MALFORMED; // nested deeper than any real network does
    }
    if (d.by_port && d.result == TD_DECODE_MALFORMED) {
        // The port was a guess: an ordinary datagram to a tunnel port. The tunnel step left the datagram's
        // fields alone; only the layers it appended go.
        out->encap.num = d.udp_encap_num;
        out->encap.more = d.udp_encap_more;
        return TD_DECODE_UDP;
    }
    if (d.seen_ip && d.result == TD_DECODE_NOT_IP) {
        return TD_DECODE_OTHER_IP; // e.g. ARP inside VXLAN: the frame itself is IP
    }
    return d.result;
}

static const char *const result_names[] = {
    [TD_DECODE_TCP] = "tcp",
    [TD_DECODE_OTHER_IP] = "other_ip",
    [TD_DECODE_IP_FRAGMENT] = "ip_fragment",
    [TD_DECODE_NOT_IP] = "not_ip",
    [TD_DECODE_UNKNOWN_LINK] = "unknown_link",
    [TD_DECODE_TRUNCATED] = "truncated",
    [TD_DECODE_MALFORMED] = "malformed",
    [TD_DECODE_UDP] = "udp",
};

const char *td_decode_result_name(enum td_decode_result r)
{
    if ((size_t)r >= sizeof(result_names) / sizeof(result_names[0]) || result_names[r] == NULL) {
        return "unknown";
    }
    return result_names[r];
}

void td_addr_format(const struct td_addr *a, char *buf, size_t buf_len)
{
    if (buf_len == 0) {
        return;
    }
    int af = a->family == 4 ? AF_INET : a->family == 6 ? AF_INET6 : -1;
    if (af < 0 || inet_ntop(af, a->bytes, buf, (socklen_t)buf_len) == NULL) {
        buf[0] = '\0';
    }
}
