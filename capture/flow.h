/* SPDX-License-Identifier: MIT */
/* flow.h: the flow table (TCP connections and UDP flows) and per-direction TCP reassembly.
 *
 * Flows are keyed on the 5-tuple and the transport, both directions in one entry. The TCP client is the SYN
 * sender; for a connection seen mid-stream (no SYN) the first packet's sender is taken as client unless ports
 * say otherwise (a well-known/lower port is the server). Each direction is reassembled by sequence number:
 * retransmissions and overlaps are dropped (counted), out-of-order segments are buffered up to
 * limits->max_reasm_bytes, and a hole that cannot be filled (cap reached, or the flow ends) is reported as a
 * gap so the consumer can resynchronise. Bytes are handed on in order through callbacks, one call per
 * contiguous piece, with the frame that completed it; the table never copies in-order payload.
 * UDP flows (td_flow_table_add_datagram) live in the same table: the client is the first sender unless the
 * ports say otherwise (as for a mid-stream TCP connection), each datagram is handed on whole through
 * on_datagram with no reassembly, and the flow ends by idle timeout, eviction or the end of the input.
 * nDPI classification (classify.h) runs on the first packets of each flow. Memory is bounded by
 * limits->max_flows (the least recently active flow is evicted and reported) and the reassembly cap.
 * Time is the capture's packet time, never the wall clock. */
#ifndef TD_CAPTURE_FLOW_H
#define TD_CAPTURE_FLOW_H

#include "decode.h"
#include "limits.h"

/* Direction index used everywhere: 0 = client to server, 1 = server to client (TCP roles; for UDP, the
 * roles the first datagram's sender and ports give). */
#define TD_DIR_C2S 0
#define TD_DIR_S2C 1

enum td_flow_end {
    TD_FLOW_END_NONE = 0,     /* still open */
    TD_FLOW_END_FIN,          /* both sides sent FIN */
    TD_FLOW_END_RST,          /* a side sent RST */
    TD_FLOW_END_IDLE,         /* no packet for limits->idle_timeout_ns */
    TD_FLOW_END_EVICTED,      /* evicted because max_flows was reached */
    TD_FLOW_END_CAPTURE_END,  /* still open when the input ended */
};

#define TD_TRANSPORT_TCP 6  /* IANA protocol numbers */
#define TD_TRANSPORT_UDP 17

/* What the flow table knows about a connection; filled progressively, final at on_close. */
struct td_flow_info {
    uint64_t id;                 /* 1-based, in order of the flow's first packet in the input */
    uint8_t transport;           /* TD_TRANSPORT_TCP or TD_TRANSPORT_UDP */
    struct td_addr client, server;
    uint16_t client_port, server_port;
    bool saw_syn, saw_synack;    /* the handshake was captured: roles are certain */
    uint64_t first_frame, last_frame;
    int64_t first_ts_ns, last_ts_ns;
    uint64_t packets[2];         /* per direction (TD_DIR_*) */
    uint64_t payload_bytes[2];   /* TCP/UDP payload bytes seen on the wire, retransmissions included */
    uint64_t syn_frame, synack_frame; /* 0 = not seen */
    uint64_t fin_frame[2], rst_frame[2];
    uint32_t retransmissions[2]; /* segments whose bytes were all delivered already */
    uint32_t out_of_order[2];    /* segments buffered ahead of a hole */
    uint32_t gaps[2];            /* holes never filled: bytes lost to the analysis (UDP: datagrams cut by
                                    the snaplen, and their missing bytes) */
    uint64_t gap_bytes[2];
    uint32_t reasm_cap_hits[2];  /* out-of-order data dropped at max_reasm_bytes */
    /* Names in static storage (nDPI's protocol table or literals), valid until the flow table is freed; NULL
     * (a zeroed info) reads as "" through td_flow_app_protocol/td_flow_master_protocol: */
    const char *app_protocol;    /* nDPI: "TLS", "HTTP", "IMAPS", ... ("Unknown" when nothing matched, "" when
                                    classification is off) */
    const char *master_protocol; /* nDPI master protocol ("TLS" for IMAPS), "" when none */
    enum td_flow_end end;
    uint64_t close_seq;          /* 1-based order in which the table closed its flows (set at on_close) */
    uint64_t closed_below;       /* set at on_close: every flow of this input whose first frame is below this
                                    frame has closed by now (this one included), and no flow opened later can
                                    start below it; UINT64_MAX once the input has ended. A consumer listing
                                    connections in first-frame order may write out those below it. */
    /* The outer path of the flow's first packet: a shared empty path for plain flows (most), else the flow's
     * own copy, valid until on_close returns (a consumer keeping info longer copies it). Read it with
     * td_flow_encap (NULL, in a zeroed info, is the empty path). */
    const struct td_encap_path *encap;
};

/* td_encap_path_none: the empty path of every plain flow (encap->num == 0). */
extern const struct td_encap_path td_encap_path_none;

static inline const char *td_flow_app_protocol(const struct td_flow_info *info)
{
    return info->app_protocol != NULL ? info->app_protocol : "";
}

static inline const char *td_flow_master_protocol(const struct td_flow_info *info)
{
    return info->master_protocol != NULL ? info->master_protocol : "";
}

static inline const struct td_encap_path *td_flow_encap(const struct td_flow_info *info)
{
    return info->encap != NULL ? info->encap : &td_encap_path_none;
}

/* Consumer callbacks. `user` is what on_open returned for the flow. Pointers are valid during the call only. */
struct td_flow_callbacks {
    void *ctx;
    /* A new flow: return the consumer's per-flow state (may be NULL). */
    void *(*on_open)(void *ctx, const struct td_flow_info *info);
    /* In-order stream bytes of direction dir. off is the stream offset of data[0]: 0 is the byte after the
     * SYN (or the first byte seen for a mid-stream connection). frame is the frame that made them deliverable. */
    void (*on_data)(void *ctx, void *user, int dir, const uint8_t *data, size_t len, uint64_t off, uint64_t frame,
                    int64_t ts_ns);
    /* len bytes from off in direction dir were never seen (lost, or dropped at a cap). */
    void (*on_gap)(void *ctx, void *user, int dir, uint64_t off, uint64_t len, uint64_t frame, int64_t ts_ns);
    /* SYN, FIN or RST (TD_TCP_* bits) from direction dir, in frame order. */
    void (*on_tcp_flags)(void *ctx, void *user, int dir, uint8_t flags, uint64_t frame, int64_t ts_ns);
    /* One UDP datagram of direction dir, in frame order: its captured payload (len may be below the datagram's
     * length when the snaplen cut it; info->gaps counts those). May be NULL. */
    void (*on_datagram)(void *ctx, void *user, int dir, const uint8_t *data, size_t len, uint64_t frame,
                        int64_t ts_ns);
    /* The flow is finished (info->end says why); all its data was delivered. The consumer frees `user`. */
    void (*on_close)(void *ctx, void *user, const struct td_flow_info *info);
};

struct td_flow_stats {
    uint64_t flows_total;      /* flows opened */
    uint64_t flows_evicted;    /* closed early by max_flows */
    uint64_t flows_active_max; /* high-water mark of concurrent flows */
    uint64_t segments;         /* TCP segments given to the table (UDP datagrams are not counted here) */
    uint64_t segments_ignored; /* segments that opened no flow (e.g. a bare ACK after a flow closed) */
    uint64_t reasm_cap_hits;   /* per-direction reassembly cap hits, all flows */
};

struct td_flow_table;

/* td_flow_table_new returns a table that calls cb; NULL on allocation failure. limits and cb are copied.
 * classify: run nDPI on each flow's first packets. */
TD_MUST_USE struct td_flow_table *td_flow_table_new(const struct td_limits *limits, const struct td_flow_callbacks *cb,
                                                    bool classify);
/* td_flow_table_set_shard makes the table one of num_shards shadows of the same input (--threads): it keeps
 * every flow, so ids, idle timeouts, evictions and close_seq are exactly those of a single table, but calls
 * back, reassembles into callbacks and classifies only the flows whose symmetric 5-tuple hash falls in shard
 * `shard`. Call before the first segment. */
void td_flow_table_set_shard(struct td_flow_table *t, uint32_t shard, uint32_t num_shards);
/* td_flow_shard_of: the shard (of num_shards) a segment's or datagram's flow belongs to; both directions
 * agree. */
uint32_t td_flow_shard_of(const struct td_segment *seg, uint32_t num_shards);
/* td_flow_table_add feeds one decoded TCP segment (TD_DECODE_TCP) of frame number `frame`. Callbacks run
 * inside this call. */
void td_flow_table_add(struct td_flow_table *t, const struct td_segment *seg, uint64_t frame, int64_t ts_ns);
/* td_flow_table_add_datagram feeds one decoded UDP datagram (TD_DECODE_UDP) of frame number `frame`: it opens
 * the flow if needed and calls on_datagram. Callbacks run inside this call. */
void td_flow_table_add_datagram(struct td_flow_table *t, const struct td_segment *seg, uint64_t frame,
                                int64_t ts_ns);
/* td_flow_table_flush closes every open flow (end TD_FLOW_END_CAPTURE_END), oldest first, delivering any
 * buffered data and gaps first. Call at the end of each input (or the whole run). */
void td_flow_table_flush(struct td_flow_table *t);
/* td_flow_table_expire closes every flow idle for longer than the idle timeout at time now_ns, as a packet of
 * that time would (live capture: a quiet link still ends idle connections). */
void td_flow_table_expire(struct td_flow_table *t, int64_t now_ns);
const struct td_flow_stats *td_flow_table_stats(const struct td_flow_table *t);
/* td_flow_table_active: flows open now. */
uint64_t td_flow_table_active(const struct td_flow_table *t);
void td_flow_table_free(struct td_flow_table *t);

#endif
