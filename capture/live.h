/* SPDX-License-Identifier: MIT */
/* live.h: live capture input through libpcap (pcap_create .. pcap_activate, a BPF filter), yielding the
 * same struct td_frame as the offline reader, plus dropping root after the capture is open (-Z USER).
 * References: pcap_create(3PCAP), pcap_activate(3PCAP), pcap_next_ex(3PCAP), pcap_breakloop(3PCAP),
 * pcap-filter(7), pcap-linktype(7). */
#ifndef TD_CAPTURE_LIVE_H
#define TD_CAPTURE_LIVE_H

#include "base.h"
#include "reader.h"

/* Defaults used for a zero field of struct td_live_options. */
/* "any" sees every interface (as Linux cooked capture, SLL2 when libpcap offers it). */
#define TD_LIVE_DEFAULT_IFACE "any"
/* tlsdiag only analyses TCP; the kernel drops everything else before it is copied to us. */
#define TD_LIVE_DEFAULT_FILTER "tcp"
/* libpcap's own maximum (MAXIMUM_SNAPLEN): a handshake must never be cut by the snaplen. */
#define TD_LIVE_DEFAULT_SNAPLEN 262144u
/* In immediate mode libpcap 1.10 uses TPACKET_V2, whose ring slots are sized for the snaplen (and for
 * 64 KB offload super-packets while GRO/TSO is on): 32 MB holds a few hundred of them, enough for a
 * burst of handshakes. samples/make-samples.sh needed this size for tcpdump on loopback too. */
#define TD_LIVE_DEFAULT_BUFFER_MB 32u
/* How long td_live_next waits for a packet before returning TD_LIVE_IDLE: the caller's period for
 * flow eviction and progress output when the link is quiet. */
#define TD_LIVE_DEFAULT_TIMEOUT_MS 1000u
/* Largest buffer accepted: pcap_set_buffer_size takes an int byte count. */
#define TD_LIVE_MAX_BUFFER_MB 2047u

struct td_live_options {
    const char *iface;   /* interface name; NULL: TD_LIVE_DEFAULT_IFACE */
    const char *filter;  /* BPF filter (pcap-filter(7)); NULL: TD_LIVE_DEFAULT_FILTER; "": no filter */
    uint32_t snaplen;    /* bytes kept per packet; 0: TD_LIVE_DEFAULT_SNAPLEN */
    uint32_t buffer_mb;  /* kernel ring size in MiB; 0: TD_LIVE_DEFAULT_BUFFER_MB; max TD_LIVE_MAX_BUFFER_MB */
    bool promisc;        /* promiscuous mode (ignored, with a warning, on "any") */
    uint32_t timeout_ms; /* idle period of td_live_next; 0: TD_LIVE_DEFAULT_TIMEOUT_MS */
};

enum td_live_status {
    TD_LIVE_FRAME = 1,   /* *out holds a frame */
    TD_LIVE_IDLE = 2,    /* no packet within timeout_ms (or a signal arrived): do periodic work, call again */
    TD_LIVE_STOPPED = 0, /* td_live_stop was called; every later call returns this too */
    TD_LIVE_ERROR = -1,  /* the capture broke (interface went away, ...): err says what; do not call again */
};

struct td_live_stats {
    uint64_t received;   /* packets that passed the filter (pcap_stats ps_recv) */
    uint64_t dropped;    /* dropped because the ring was full: raise buffer_mb (ps_drop) */
    uint64_t if_dropped; /* dropped by the interface or driver (ps_ifdrop) */
};

struct td_live;

/* td_live_open opens and activates a live capture on o->iface and installs o->filter. On success *out owns
 * the capture and must be released with td_live_free; activation warnings (promiscuous mode not supported,
 * ...) are kept for td_live_warning. On failure *out is NULL and the result is:
 *   TD_ERR_USAGE    no such interface, interface down, invalid filter (the message quotes the filter and
 *                   libpcap's reason), out-of-range option;
 *   TD_ERR_IO       no permission (the message says: run as root or give the binary CAP_NET_RAW,CAP_NET_ADMIN),
 *                   or any other activation failure, with libpcap's words;
 *   TD_ERR_RESOURCE out of memory.
 * Every message names the interface. */
TD_MUST_USE enum td_err td_live_open(const struct td_live_options *o, struct td_live **out, struct td_error *err);

/* td_live_next waits at most timeout_ms for the next packet. TD_LIVE_FRAME: *out is filled; frame numbers
 * start at 1 and count delivered packets in capture order, ts_ns is the kernel's capture time (ns since
 * the Unix epoch), linktype is a LINKTYPE_* value, interface is 0; out->data is owned by the capture and
 * valid only until the next td_live_next or td_live_free. Never spins: a quiet link costs one poll(2) per
 * timeout_ms. TD_LIVE_ERROR fills err (TD_ERR_IO, libpcap's reason, frames read so far). */
TD_MUST_USE enum td_live_status td_live_next(struct td_live *l, struct td_frame *out, struct td_error *err);

/* td_live_stop makes the current or next td_live_next return TD_LIVE_STOPPED promptly (it wakes a waiting
 * poll). Async-signal-safe and thread-safe: call it from a SIGINT/SIGTERM handler or another thread. The
 * capture stays open (stats remain readable) until td_live_free. */
void td_live_stop(struct td_live *l);

/* td_live_stats fills *out from pcap_stats; false if libpcap cannot tell (then *out is zeroed). Counters
 * are those of the kernel since activation; on Linux `received` counts packets that passed the filter. */
TD_MUST_USE bool td_live_stats(struct td_live *l, struct td_live_stats *out);

/* td_live_linktype: the LINKTYPE_* value every frame of this capture carries (1 Ethernet, 276 LINUX_SLL2). */
uint32_t td_live_linktype(const struct td_live *l);

/* td_live_warning: the activation warning in plain words, or NULL when there was none. Owned by the
 * capture, valid until td_live_free. The caller decides whether to show it. */
const char *td_live_warning(const struct td_live *l);

/* td_live_filter_check compiles filter for a link type without opening anything (no privilege needed), so
 * a command line can be checked before asking for root. A filter using primitives that only a live
 * handle supports (inbound/outbound on Linux) or those of another link type may be refused here although
 * td_live_open, which compiles against the real interface, accepts it. TD_ERR_USAGE names the filter. */
TD_MUST_USE enum td_err td_live_filter_check(const char *filter, uint32_t linktype, struct td_error *err);

/* td_live_drop_privileges switches the process to user (-Z USER) after the capture is open: supplementary
 * groups from the group database (initgroups), then group, then user (real, effective and saved ids), and
 * verifies that root cannot be regained. TD_OK also when the process already runs as that user.
 * TD_ERR_USAGE: unknown user, or not running as root; TD_ERR_INTERNAL: a switch failed or root was
 * still reachable afterwards (the process must then not go on). Not thread-safe (getpwnam). */
TD_MUST_USE enum td_err td_live_drop_privileges(const char *user, struct td_error *err);

/* td_live_free closes the capture; NULL is a no-op. */
void td_live_free(struct td_live *l);

#endif
