/* SPDX-License-Identifier: MIT */
/* test_flow.c: the flow table (roles, lifecycle, flag events, eviction, idle timeout), per-direction
 * reassembly (order, retransmission, overlap, wraparound, caps, gaps, snaplen, TCP Fast Open), UDP flows
 * (datagram delivery, roles, transport in the key, lifecycle, shards, the outer path) and nDPI
 * classification on a real capture. Segments are built by hand; expected values follow from the segments. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "../../../capture/cursor.h"
#include "../../../capture/flow.h"
#include "../testlib.h"

#define MAX_EVENTS 128
#define STREAM_CAP 8192

struct event {
    char kind; /* 'o' open, 'd' data, 'g' gap, 'f' flags, 'u' datagram, 'c' close */
    int dir;
    uint64_t off, len, frame, id;
    uint8_t flags;
    const uint8_t *data;
    enum td_flow_end end;
};

/* A recorder: every callback in order, plus each flow's reassembled streams ('?' for gap bytes). */
struct rec {
    struct event ev[MAX_EVENTS];
    size_t num_ev;
    uint64_t user_ids[32];         /* on_open returns &user_ids[id]: callbacks must hand it back */
    uint8_t stream[32][2][STREAM_CAP];
    size_t stream_len[32][2];
    struct td_flow_info closed[32];
    struct td_encap_path closed_encap[32]; /* closed[i].encap points here: the table frees its copy at on_close */
    bool shared_empty_path[32];            /* the flow had the shared empty path (no copy of its own) */
    unsigned close_count[32];
    size_t num_closed;
    size_t num_opened;
    bool contiguous; /* every data/gap started where the previous one of its direction ended */
};

static struct event *push(struct rec *r, char kind)
{
    static struct event overflow;
    if (r->num_ev >= MAX_EVENTS) {
        return &overflow;
    }
    struct event *e = &r->ev[r->num_ev++];
    *e = (struct event){.kind = kind};
    return e;
}

static uint64_t user_id(struct rec *r, void *user)
{
    uint64_t *u = user;
    CU_ASSERT_FATAL(u >= r->user_ids && u < r->user_ids + 32);
    return *u;
}

static void *on_open(void *ctx, const struct td_flow_info *info)
{
    struct rec *r = ctx;
    CU_ASSERT_FATAL(info->id < 32);
    r->user_ids[info->id] = info->id;
    r->num_opened++;
    struct event *e = push(r, 'o');
    e->id = info->id;
    e->frame = info->first_frame;
    return &r->user_ids[info->id];
}

static void append(struct rec *r, uint64_t id, int dir, uint64_t off, const uint8_t *data, uint64_t len)
{
    if (off != r->stream_len[id][dir]) {
        r->contiguous = false;
    }
    for (uint64_t i = 0; i < len && r->stream_len[id][dir] < STREAM_CAP; i++) {
        r->stream[id][dir][r->stream_len[id][dir]++] = data != NULL ? data[i] : '?';
    }
}

static void on_data(void *ctx, void *user, int dir, const uint8_t *data, size_t len, uint64_t off, uint64_t frame,
                    int64_t ts_ns)
{
    (void)ts_ns;
    struct rec *r = ctx;
    struct event *e = push(r, 'd');
    e->id = user_id(r, user);
    e->dir = dir;
    e->off = off;
    e->len = len;
    e->frame = frame;
    e->data = data;
    append(r, e->id, dir, off, data, len);
}

static void on_gap(void *ctx, void *user, int dir, uint64_t off, uint64_t len, uint64_t frame, int64_t ts_ns)
{
    (void)ts_ns;
    struct rec *r = ctx;
    struct event *e = push(r, 'g');
    e->id = user_id(r, user);
    e->dir = dir;
    e->off = off;
    e->len = len;
    e->frame = frame;
    append(r, e->id, dir, off, NULL, len);
}

static void on_tcp_flags(void *ctx, void *user, int dir, uint8_t flags, uint64_t frame, int64_t ts_ns)
{
    (void)ts_ns;
    struct rec *r = ctx;
    struct event *e = push(r, 'f');
    e->id = user_id(r, user);
    e->dir = dir;
    e->flags = flags;
    e->frame = frame;
}

/* on_datagram records a datagram at the end of its direction's "stream" (off is its position there). */
static void on_datagram(void *ctx, void *user, int dir, const uint8_t *data, size_t len, uint64_t frame,
                        int64_t ts_ns)
{
    (void)ts_ns;
    struct rec *r = ctx;
    struct event *e = push(r, 'u');
    e->id = user_id(r, user);
    e->dir = dir;
    e->len = len;
    e->frame = frame;
    e->data = data;
    append(r, e->id, dir, r->stream_len[e->id][dir], data, len);
}

static void on_close(void *ctx, void *user, const struct td_flow_info *info)
{
    struct rec *r = ctx;
    uint64_t id = user_id(r, user);
    CU_ASSERT_EQUAL(id, info->id);
    r->close_count[id]++;
    CU_ASSERT_EQUAL(r->close_count[id], 1); /* each flow is reported exactly once */
    r->closed[id] = *info;
    r->shared_empty_path[id] = info->encap == &td_encap_path_none;
    r->closed_encap[id] = *td_flow_encap(info);
    r->closed[id].encap = &r->closed_encap[id];
    r->num_closed++;
    struct event *e = push(r, 'c');
    e->id = id;
    e->end = info->end;
    e->frame = info->last_frame;
}

static struct td_flow_table *table_new(struct rec *r, const struct td_limits *limits)
{
    memset(r, 0, sizeof(*r));
    r->contiguous = true;
    struct td_flow_callbacks cb = {
        .ctx = r,
        .on_open = on_open,
        .on_data = on_data,
        .on_gap = on_gap,
        .on_tcp_flags = on_tcp_flags,
        .on_datagram = on_datagram,
        .on_close = on_close,
    };
    struct td_limits l = limits != NULL ? *limits : td_limits_default();
    struct td_flow_table *t = td_flow_table_new(&l, &cb, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    return t;
}

/* ---- building segments ---- */

struct ep {
    uint8_t a, b, c, d;
    uint16_t port;
};

static const struct ep CLI = {10, 0, 0, 1, 50000};
static const struct ep SRV = {10, 0, 0, 2, 443};

static struct td_addr addr4(struct ep e)
{
    struct td_addr a = {.family = 4};
    a.bytes[0] = e.a;
    a.bytes[1] = e.b;
    a.bytes[2] = e.c;
    a.bytes[3] = e.d;
    return a;
}

static struct td_segment mk(struct ep src, struct ep dst, uint8_t flags, uint32_t seq, uint32_t ack, const char *payload)
{
    struct td_segment s = {
        .src = addr4(src),
        .dst = addr4(dst),
        .sport = src.port,
        .dport = dst.port,
        .seq = seq,
        .ack = ack,
        .flags = flags,
        .payload = (const uint8_t *)payload,
        .payload_len = payload != NULL ? (uint32_t)strlen(payload) : 0,
    };
    s.payload_wire_len = s.payload_len;
    return s;
}

/* c2s / s2c: a segment between CLI and SRV. */
static struct td_segment c2s(uint8_t flags, uint32_t seq, uint32_t ack, const char *payload)
{
    return mk(CLI, SRV, flags, seq, ack, payload);
}

static struct td_segment s2c(uint8_t flags, uint32_t seq, uint32_t ack, const char *payload)
{
    return mk(SRV, CLI, flags, seq, ack, payload);
}

#define S TD_TCP_SYN
#define A TD_TCP_ACK
#define F TD_TCP_FIN
#define R TD_TCP_RST
#define P TD_TCP_PSH

#define ISN_C 1000u
#define ISN_S 5000u

static void feed(struct td_flow_table *t, struct td_segment s, uint64_t frame)
{
    td_flow_table_add(t, &s, frame, (int64_t)frame * 1000000);
}

/* handshake: frames 1-3, client ISN_C, server ISN_S. */
static void handshake(struct td_flow_table *t)
{
    feed(t, c2s(S, ISN_C, 0, NULL), 1);
    feed(t, s2c(S | A, ISN_S, ISN_C + 1, NULL), 2);
    feed(t, c2s(A, ISN_C + 1, ISN_S + 1, NULL), 3);
}

static const struct event *nth(const struct rec *r, char kind, size_t n)
{
    for (size_t i = 0; i < r->num_ev; i++) {
        if (r->ev[i].kind == kind && n-- == 0) {
            return &r->ev[i];
        }
    }
    return NULL;
}

static size_t count_kind(const struct rec *r, char kind)
{
    size_t n = 0;
    for (size_t i = 0; i < r->num_ev; i++) {
        n += r->ev[i].kind == kind;
    }
    return n;
}

#define ASSERT_EV(ev, k, d, o, l, f)                                                                               \
    do {                                                                                                       \
        const struct event *e_ = (ev);                                                                         \
        CU_ASSERT_PTR_NOT_NULL_FATAL(e_);                                                                      \
        CU_ASSERT_EQUAL(e_->kind, (k));                                                                        \
        CU_ASSERT_EQUAL(e_->dir, (d));                                                                         \
        CU_ASSERT_EQUAL(e_->off, (o));                                                                         \
        CU_ASSERT_EQUAL(e_->len, (l));                                                                         \
        CU_ASSERT_EQUAL(e_->frame, (f));                                                                       \
    } while (0)

#define ASSERT_STREAM(r, id, dir, text)                                                                            \
    do {                                                                                                       \
        CU_ASSERT_EQUAL((r)->stream_len[id][dir], strlen(text));                                              \
        CU_ASSERT(memcmp((r)->stream[id][dir], (text), strlen(text)) == 0);                                   \
    } while (0)

/* ---- tests ---- */

static void test_in_order_and_fin_close(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    handshake(t);
    struct td_segment d4 = c2s(A | P, ISN_C + 1, ISN_S + 1, "hello");
    feed(t, d4, 4);
    feed(t, s2c(A | P, ISN_S + 1, ISN_C + 6, "world!"), 5);
    feed(t, c2s(A | P, ISN_C + 6, ISN_S + 7, " there"), 6);
    feed(t, c2s(A | F, ISN_C + 12, ISN_S + 7, NULL), 7);
    CU_ASSERT_EQUAL(r.num_closed, 0);
    feed(t, s2c(A | F, ISN_S + 7, ISN_C + 13, NULL), 8);
    CU_ASSERT_EQUAL(r.num_closed, 1);
    feed(t, c2s(A, ISN_C + 13, ISN_S + 8, NULL), 9); /* the last ACK: no new flow */

    CU_ASSERT_EQUAL(r.ev[0].kind, 'o');
    CU_ASSERT_EQUAL(r.ev[0].frame, 1);
    CU_ASSERT_EQUAL(r.ev[1].kind, 'f');
    CU_ASSERT_EQUAL(r.ev[1].flags, S);
    CU_ASSERT_EQUAL(r.ev[1].dir, TD_DIR_C2S);
    CU_ASSERT_EQUAL(r.ev[2].kind, 'f');
    CU_ASSERT_EQUAL(r.ev[2].flags, S | A);
    CU_ASSERT_EQUAL(r.ev[2].dir, TD_DIR_S2C);
    ASSERT_EV(nth(&r, 'd', 0), 'd', TD_DIR_C2S, 0, 5, 4);
    CU_ASSERT_PTR_EQUAL(nth(&r, 'd', 0)->data, d4.payload); /* in-order data is not copied */
    ASSERT_EV(nth(&r, 'd', 1), 'd', TD_DIR_S2C, 0, 6, 5);
    ASSERT_EV(nth(&r, 'd', 2), 'd', TD_DIR_C2S, 5, 6, 6);
    CU_ASSERT_EQUAL(nth(&r, 'f', 2)->flags, F);
    CU_ASSERT_EQUAL(nth(&r, 'f', 2)->frame, 7);
    CU_ASSERT_EQUAL(nth(&r, 'f', 3)->dir, TD_DIR_S2C);
    CU_ASSERT_EQUAL(r.ev[r.num_ev - 1].kind, 'c');
    ASSERT_STREAM(&r, 1, 0, "hello there");
    ASSERT_STREAM(&r, 1, 1, "world!");
    CU_ASSERT_EQUAL(count_kind(&r, 'g'), 0);

    const struct td_flow_info *fi = &r.closed[1];
    CU_ASSERT_EQUAL(fi->end, TD_FLOW_END_FIN);
    CU_ASSERT(fi->saw_syn && fi->saw_synack);
    CU_ASSERT_TRUE(r.shared_empty_path[1]); /* a plain flow keeps no path of its own */
    CU_ASSERT_STRING_EQUAL(td_flow_app_protocol(fi), ""); /* no classifier in this table */
    CU_ASSERT_EQUAL(fi->syn_frame, 1);
    CU_ASSERT_EQUAL(fi->synack_frame, 2);
    CU_ASSERT_EQUAL(fi->fin_frame[0], 7);
    CU_ASSERT_EQUAL(fi->fin_frame[1], 8);
    CU_ASSERT_EQUAL(fi->client_port, 50000);
    CU_ASSERT_EQUAL(fi->server_port, 443);
    CU_ASSERT_EQUAL(fi->client.bytes[3], 1);
    CU_ASSERT_EQUAL(fi->packets[0], 5);
    CU_ASSERT_EQUAL(fi->packets[1], 3);
    CU_ASSERT_EQUAL(fi->payload_bytes[0], 11);
    CU_ASSERT_EQUAL(fi->first_frame, 1);
    CU_ASSERT_EQUAL(fi->last_frame, 8);

    /* Stragglers of the closed flow open nothing: a retransmitted FIN, a late data retransmission. */
    feed(t, s2c(A | F, ISN_S + 7, ISN_C + 13, NULL), 10);
    feed(t, c2s(A | P, ISN_C + 6, ISN_S + 7, " there"), 11);
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.num_opened, 1);
    CU_ASSERT_EQUAL(r.num_closed, 1);
    const struct td_flow_stats *st = td_flow_table_stats(t);
    CU_ASSERT_EQUAL(st->flows_total, 1);
    CU_ASSERT_EQUAL(st->segments, 11);
    CU_ASSERT_EQUAL(st->segments_ignored, 3);
    CU_ASSERT(r.contiguous);
    td_flow_table_free(t);
}

static void test_out_of_order(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    handshake(t);
    feed(t, c2s(A, ISN_C + 1, ISN_S + 1, "AAAAA"), 4);
    feed(t, c2s(A, ISN_C + 11, ISN_S + 1, "CCCCC"), 5); /* hole at 5..10 */
    CU_ASSERT_EQUAL(count_kind(&r, 'd'), 1);
    feed(t, c2s(A, ISN_C + 16, ISN_S + 1, "DD"), 6);
    CU_ASSERT_EQUAL(count_kind(&r, 'd'), 1);
    feed(t, c2s(A, ISN_C + 6, ISN_S + 1, "BBBBB"), 7); /* fills the hole */
    ASSERT_EV(nth(&r, 'd', 0), 'd', 0, 0, 5, 4);
    ASSERT_EV(nth(&r, 'd', 1), 'd', 0, 5, 5, 7);
    ASSERT_EV(nth(&r, 'd', 2), 'd', 0, 10, 5, 7);
    ASSERT_EV(nth(&r, 'd', 3), 'd', 0, 15, 2, 7);
    ASSERT_STREAM(&r, 1, 0, "AAAAABBBBBCCCCCDD");
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[1].out_of_order[0], 2);
    CU_ASSERT_EQUAL(r.closed[1].gaps[0], 0);
    CU_ASSERT_EQUAL(r.closed[1].end, TD_FLOW_END_CAPTURE_END);
    CU_ASSERT(r.contiguous);
    td_flow_table_free(t);
}

static void test_retransmission_and_overlap(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    handshake(t);
    feed(t, c2s(A, ISN_C + 1, ISN_S + 1, "0123456789"), 4);
    feed(t, c2s(A, ISN_C + 1, ISN_S + 1, "0123456789"), 5); /* full retransmission */
    feed(t, c2s(A, ISN_C + 3, ISN_S + 1, "234"), 6);        /* inside delivered data */
    CU_ASSERT_EQUAL(count_kind(&r, 'd'), 1);
    feed(t, c2s(A, ISN_C + 6, ISN_S + 1, "56789abcde"), 7); /* partial overlap: only "abcde" is new */
    ASSERT_EV(nth(&r, 'd', 1), 'd', 0, 10, 5, 7);
    /* Overlap with buffered data: the first copy of a byte wins, the new part fills around it. */
    feed(t, c2s(A, ISN_C + 21, ISN_S + 1, "klmno"), 8);   /* 20..25 buffered */
    feed(t, c2s(A, ISN_C + 19, ISN_S + 1, "ijXXXXXp"), 9); /* 18..26: 18, 19 and 25 are new */
    feed(t, c2s(A, ISN_C + 21, ISN_S + 1, "klmno"), 10);  /* all buffered already: a retransmission */
    feed(t, c2s(A, ISN_C + 16, ISN_S + 1, "fgh"), 11);    /* 15..18 fills the hole */
    ASSERT_STREAM(&r, 1, 0, "0123456789abcdefghijklmnop");
    CU_ASSERT_EQUAL(nth(&r, 'd', count_kind(&r, 'd') - 1)->frame, 11);
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[1].retransmissions[0], 3);
    CU_ASSERT_EQUAL(r.closed[1].out_of_order[0], 2);
    CU_ASSERT_EQUAL(r.closed[1].gaps[0], 0);
    CU_ASSERT(r.contiguous);
    td_flow_table_free(t);
}

static void test_sequence_wraparound(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    uint32_t isn = 0xfffffff8u; /* offset 0 is 0xfffffff9; byte 7 is sequence 0 */
    feed(t, c2s(S, isn, 0, NULL), 1);
    feed(t, s2c(S | A, ISN_S, isn + 1u, NULL), 2);
    feed(t, c2s(A, isn + 1u, ISN_S + 1, "0123456789"), 3);  /* 0xfffffff9 .. 0x00000002 */
    feed(t, c2s(A, 0x00000008u, ISN_S + 1, "fghi"), 4);     /* offset 15, out of order */
    feed(t, c2s(A, 0x00000003u, ISN_S + 1, "abcde"), 5);    /* offset 10 */
    feed(t, c2s(A, 0xfffffffbu, ISN_S + 1, "23"), 6);       /* an old retransmission before the wrap */
    ASSERT_EV(nth(&r, 'd', 0), 'd', 0, 0, 10, 3);
    ASSERT_EV(nth(&r, 'd', 1), 'd', 0, 10, 5, 5);
    ASSERT_EV(nth(&r, 'd', 2), 'd', 0, 15, 4, 5);
    ASSERT_STREAM(&r, 1, 0, "0123456789abcdefghi");
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[1].retransmissions[0], 1);
    td_flow_table_free(t);
}

static void test_gap_on_cap_and_flush(void)
{
    struct rec r;
    struct td_limits l = td_limits_default();
    l.max_reasm_bytes = 16;
    struct td_flow_table *t = table_new(&r, &l);
    handshake(t);
    feed(t, c2s(A, ISN_C + 1, ISN_S + 1, "AAAAA"), 4);
    feed(t, c2s(A, ISN_C + 11, ISN_S + 1, "CCCCCCCCCC"), 5); /* 10 bytes buffered behind a hole at 5 */
    feed(t, c2s(A, ISN_C + 21, ISN_S + 1, "DDDDDDDDDD"), 6); /* 20 > 16: the hole is given up */
    ASSERT_EV(nth(&r, 'g', 0), 'g', 0, 5, 5, 6);
    ASSERT_EV(nth(&r, 'd', 1), 'd', 0, 10, 10, 6);
    ASSERT_EV(nth(&r, 'd', 2), 'd', 0, 20, 10, 6);
    /* A second hole still open when the input ends becomes a gap at flush. */
    feed(t, c2s(A, ISN_C + 41, ISN_S + 1, "EEEE"), 7);
    feed(t, s2c(A, ISN_S + 1, ISN_C + 1, "x"), 8);
    td_flow_table_flush(t);
    ASSERT_EV(nth(&r, 'g', 1), 'g', 0, 30, 10, 8);
    ASSERT_EV(nth(&r, 'd', 4), 'd', 0, 40, 4, 8);
    ASSERT_STREAM(&r, 1, 0, "AAAAA?????CCCCCCCCCCDDDDDDDDDD??????????EEEE");
    const struct td_flow_info *fi = &r.closed[1];
    CU_ASSERT_EQUAL(fi->reasm_cap_hits[0], 1);
    CU_ASSERT_EQUAL(fi->gaps[0], 2);
    CU_ASSERT_EQUAL(fi->gap_bytes[0], 15);
    CU_ASSERT_EQUAL(fi->end, TD_FLOW_END_CAPTURE_END);
    CU_ASSERT_EQUAL(td_flow_table_stats(t)->reasm_cap_hits, 1);
    CU_ASSERT(r.contiguous);
    td_flow_table_free(t);
}

static void test_gap_from_peer_ack(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    handshake(t);
    feed(t, c2s(A, ISN_C + 1, ISN_S + 1, "AAAAA"), 4);
    feed(t, c2s(A, ISN_C + 11, ISN_S + 1, "CCCCC"), 5);
    feed(t, s2c(A, ISN_S + 1, ISN_C + 6, NULL), 6); /* acknowledges only what we have: nothing happens */
    CU_ASSERT_EQUAL(count_kind(&r, 'g'), 0);
    feed(t, s2c(A, ISN_S + 1, ISN_C + 16, NULL), 7); /* the server got 5..10: the capture lost it */
    ASSERT_EV(nth(&r, 'g', 0), 'g', 0, 5, 5, 7);
    ASSERT_EV(nth(&r, 'd', 1), 'd', 0, 10, 5, 7);
    feed(t, c2s(A, ISN_C + 6, ISN_S + 1, "BBBBB"), 8); /* the lost bytes after all: too late */
    CU_ASSERT_EQUAL(count_kind(&r, 'd'), 2);
    /* A FIN seen ahead of missing data: once the peer acknowledges the FIN, the hole is a gap and the
     * FIN's own sequence number is no byte. */
    feed(t, c2s(A | F, ISN_C + 21, ISN_S + 1, NULL), 9);
    feed(t, s2c(A | F, ISN_S + 1, ISN_C + 22, NULL), 10);
    ASSERT_EV(nth(&r, 'g', 1), 'g', 0, 15, 5, 10);
    CU_ASSERT_EQUAL(r.num_closed, 1);
    CU_ASSERT_EQUAL(r.closed[1].end, TD_FLOW_END_FIN);
    CU_ASSERT_EQUAL(r.closed[1].gap_bytes[0], 10);
    CU_ASSERT_EQUAL(r.closed[1].gap_bytes[1], 0);
    td_flow_table_free(t);
}

static void test_fin_waits_for_missing_data(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    handshake(t);
    feed(t, c2s(A, ISN_C + 1, ISN_S + 1, "AAAAA"), 4);
    feed(t, c2s(A | F, ISN_C + 11, ISN_S + 1, NULL), 5); /* FIN overtook the segment 5..10 */
    feed(t, s2c(A | F, ISN_S + 1, ISN_C + 6, NULL), 6);
    CU_ASSERT_EQUAL(r.num_closed, 0);
    feed(t, c2s(A, ISN_C + 6, ISN_S + 2, "BBBBB"), 7);
    CU_ASSERT_EQUAL(r.num_closed, 1);
    ASSERT_STREAM(&r, 1, 0, "AAAAABBBBB");
    CU_ASSERT_EQUAL(r.closed[1].end, TD_FLOW_END_FIN);
    CU_ASSERT_EQUAL(r.closed[1].last_frame, 7);
    CU_ASSERT_EQUAL(r.ev[r.num_ev - 2].kind, 'd'); /* the data came before the close */
    td_flow_table_free(t);
}

static void test_mid_stream_roles(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    /* A bare ACK of an unknown connection opens nothing. */
    feed(t, s2c(A, 7000, 3000, NULL), 1);
    CU_ASSERT_EQUAL(r.num_opened, 0);
    /* 443 -> 50000: a well-known port sending to an ephemeral one is the server: roles swapped. */
    feed(t, s2c(A | P, 7000, 3000, "srv"), 2);
    feed(t, c2s(A | P, 3000, 7003, "cli"), 3);
    struct ep x = {10, 0, 0, 3, 50001};
    struct ep y = {10, 0, 0, 4, 8443};
    feed(t, mk(x, y, A | P, 1, 1, "q"), 4); /* both unprivileged: the sender is the client */
    struct ep u = {10, 0, 0, 5, 993};
    struct ep v = {10, 0, 0, 6, 143};
    feed(t, mk(u, v, A | P, 1, 1, "z"), 5); /* both below 1024: the sender is the client */
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.num_closed, 3);
    CU_ASSERT_EQUAL(r.closed[1].client_port, 50000);
    CU_ASSERT_EQUAL(r.closed[1].server_port, 443);
    CU_ASSERT_FALSE(r.closed[1].saw_syn);
    ASSERT_EV(nth(&r, 'd', 0), 'd', TD_DIR_S2C, 0, 3, 2);
    ASSERT_EV(nth(&r, 'd', 1), 'd', TD_DIR_C2S, 0, 3, 3);
    CU_ASSERT_EQUAL(r.closed[2].client_port, 50001);
    CU_ASSERT_EQUAL(r.closed[3].client_port, 993);
    CU_ASSERT_EQUAL(td_flow_table_stats(t)->segments_ignored, 1);
    td_flow_table_free(t);
}

static void test_synack_first_and_rst(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    /* The SYN was not captured: the SYN+ACK's receiver is the client. */
    feed(t, s2c(S | A, ISN_S, ISN_C + 1, NULL), 1);
    feed(t, s2c(S | A, ISN_S, ISN_C + 1, NULL), 2); /* retransmitted: reported once */
    feed(t, c2s(A | P, ISN_C + 1, ISN_S + 1, "hi"), 3);
    feed(t, s2c(A | P, ISN_S + 1, ISN_C + 3, "ok"), 4);
    feed(t, s2c(R | A, ISN_S + 3, ISN_C + 3, NULL), 5);
    feed(t, s2c(R, ISN_S + 3, 0, NULL), 6); /* a second RST: no new flow */
    CU_ASSERT_EQUAL(r.num_opened, 1);
    CU_ASSERT_EQUAL(r.num_closed, 1);
    const struct td_flow_info *fi = &r.closed[1];
    CU_ASSERT_EQUAL(fi->client_port, 50000);
    CU_ASSERT_FALSE(fi->saw_syn);
    CU_ASSERT_TRUE(fi->saw_synack);
    CU_ASSERT_EQUAL(fi->synack_frame, 1);
    CU_ASSERT_EQUAL(fi->syn_frame, 0);
    CU_ASSERT_EQUAL(fi->rst_frame[1], 5);
    CU_ASSERT_EQUAL(fi->rst_frame[0], 0);
    CU_ASSERT_EQUAL(fi->end, TD_FLOW_END_RST);
    CU_ASSERT_EQUAL(count_kind(&r, 'f'), 2);
    CU_ASSERT_EQUAL(nth(&r, 'f', 0)->flags, S | A);
    CU_ASSERT_EQUAL(nth(&r, 'f', 0)->dir, TD_DIR_S2C);
    CU_ASSERT_EQUAL(nth(&r, 'f', 1)->flags, R);
    CU_ASSERT_EQUAL(nth(&r, 'f', 1)->frame, 5);
    ASSERT_EV(nth(&r, 'd', 0), 'd', TD_DIR_C2S, 0, 2, 3);
    ASSERT_EV(nth(&r, 'd', 1), 'd', TD_DIR_S2C, 0, 2, 4);
    CU_ASSERT_EQUAL(r.ev[r.num_ev - 1].kind, 'c');
    CU_ASSERT_EQUAL(td_flow_table_stats(t)->segments_ignored, 1);
    /* A new SYN on the closed tuple (its tombstone lets a SYN through) is a new connection. */
    feed(t, c2s(S, 90000, 0, NULL), 7);
    CU_ASSERT_EQUAL(r.num_opened, 2);
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[2].syn_frame, 7);
    CU_ASSERT_EQUAL(r.closed[2].close_seq, 2);
    td_flow_table_free(t);
}

static void test_eviction(void)
{
    struct rec r;
    struct td_limits l = td_limits_default();
    l.max_flows = 3;
    struct td_flow_table *t = table_new(&r, &l);
    struct ep srv = SRV;
    for (uint16_t i = 0; i < 3; i++) {
        struct ep c = CLI;
        c.port = (uint16_t)(50000 + i);
        feed(t, mk(c, srv, S, 100, 0, NULL), i + 1u);
    }
    feed(t, c2s(A | P, 101, 1, "x"), 4); /* flow 1 (port 50000) is active again: flow 2 is now oldest */
    struct ep c4 = CLI;
    c4.port = 50003;
    feed(t, mk(c4, srv, S, 100, 0, NULL), 5);
    CU_ASSERT_EQUAL(r.num_closed, 1);
    CU_ASSERT_EQUAL(r.closed[2].end, TD_FLOW_END_EVICTED);
    CU_ASSERT_EQUAL(r.closed[2].client_port, 50001);
    const struct td_flow_stats *st = td_flow_table_stats(t);
    CU_ASSERT_EQUAL(st->flows_evicted, 1);
    CU_ASSERT_EQUAL(st->flows_total, 4);
    CU_ASSERT_EQUAL(st->flows_active_max, 3);
    /* Flush closes the rest oldest first by first frame: flows 1, 3, 4. */
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.num_closed, 4);
    uint64_t order[4] = {0};
    size_t n = 0;
    for (size_t i = 0; i < r.num_ev; i++) {
        if (r.ev[i].kind == 'c' && n < 4) {
            order[n++] = r.ev[i].id;
        }
    }
    CU_ASSERT_EQUAL(order[0], 2);
    CU_ASSERT_EQUAL(order[1], 1);
    CU_ASSERT_EQUAL(order[2], 3);
    CU_ASSERT_EQUAL(order[3], 4);
    CU_ASSERT_EQUAL(r.closed[4].end, TD_FLOW_END_CAPTURE_END);
    td_flow_table_free(t);
}

/* closed_below: at each close, the first frame below which every flow has closed, and below which no later
 * flow can start (what lets the report write connections in first-frame order as it goes). Eviction opens a
 * flow in the frame that closes another: that frame bounds it too. */
static void test_closed_below(void)
{
    struct rec r;
    struct td_limits l = td_limits_default();
    l.max_flows = 3;
    struct td_flow_table *t = table_new(&r, &l);
    struct ep srv = SRV, c[5];
    for (uint16_t i = 0; i < 5; i++) {
        c[i] = CLI;
        c[i].port = (uint16_t)(50000 + i);
    }
    for (uint16_t i = 0; i < 3; i++) {
        feed(t, mk(c[i], srv, S, 100, 0, NULL), i + 1u); /* flows 1-3 at frames 1-3 */
    }
    feed(t, mk(c[0], srv, A | P, 101, 1, "x"), 4);  /* flow 1 active again: flow 2 is least recent */
    feed(t, mk(c[3], srv, S, 100, 0, NULL), 5);      /* flow 4 evicts flow 2; flow 1 is still open */
    CU_ASSERT_EQUAL(r.closed[2].closed_below, 1);
    feed(t, mk(c[0], srv, R, 102, 0, NULL), 6);      /* flow 1 ends: flow 3 (frame 3) is the oldest open */
    CU_ASSERT_EQUAL(r.closed[1].closed_below, 3);
    feed(t, mk(c[2], srv, R, 101, 0, NULL), 7);      /* flow 3 ends: flow 4 (frame 5) */
    CU_ASSERT_EQUAL(r.closed[3].closed_below, 5);
    feed(t, mk(c[3], srv, R, 101, 0, NULL), 8);      /* flow 4 ends, nothing open: a flow may still start at 8 */
    CU_ASSERT_EQUAL(r.closed[4].closed_below, 8);
    feed(t, mk(c[4], srv, S, 100, 0, NULL), 9);
    td_flow_table_flush(t);                          /* the input ends: nothing can start any more */
    CU_ASSERT_EQUAL(r.closed[5].closed_below, UINT64_MAX);
    td_flow_table_free(t);

    /* Idle timeouts close flows in the frame that passes them, before that frame's own flow opens. */
    l = td_limits_default();
    l.idle_timeout_ns = 10 * 1000000; /* 10 frames (feed stamps frame n at n ms) */
    t = table_new(&r, &l);
    feed(t, mk(c[0], srv, S, 100, 0, NULL), 1);
    feed(t, mk(c[1], srv, S, 100, 0, NULL), 2);
    feed(t, mk(c[2], srv, S, 100, 0, NULL), 50);     /* both idle: flow 1 closes with flow 2 still open */
    CU_ASSERT_EQUAL(r.closed[1].closed_below, 2);
    CU_ASSERT_EQUAL(r.closed[2].closed_below, 50);   /* and flow 3, opened by frame 50, starts at 50 */
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[3].closed_below, UINT64_MAX);
    td_flow_table_free(t);
}

static void test_idle_timeout(void)
{
    struct rec r;
    struct td_limits l = td_limits_default();
    l.idle_timeout_ns = 10ull * 1000000000ull;
    struct td_flow_table *t = table_new(&r, &l);
    struct ep srv = SRV;
    struct ep c2 = CLI;
    c2.port = 50001;
    struct td_segment a = c2s(S, 100, 0, NULL);
    struct td_segment b = mk(c2, srv, S, 100, 0, NULL);
    struct td_segment b2 = mk(c2, srv, A | P, 101, 1, "x");
    td_flow_table_add(t, &a, 1, 0);
    td_flow_table_add(t, &b, 2, 5000000000);
    td_flow_table_add(t, &b2, 3, 10000000000); /* flow 1 idle exactly 10 s: not yet over */
    CU_ASSERT_EQUAL(r.num_closed, 0);
    td_flow_table_add(t, &b2, 4, 10000000001);
    CU_ASSERT_EQUAL(r.num_closed, 1);
    CU_ASSERT_EQUAL(r.closed[1].end, TD_FLOW_END_IDLE);
    CU_ASSERT_EQUAL(r.closed[1].last_frame, 1);
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[2].end, TD_FLOW_END_CAPTURE_END);
    CU_ASSERT_EQUAL(r.closed[2].retransmissions[0], 1);
    td_flow_table_free(t);
}

/* td_flow_table_expire: a quiet link (no packets) still ends idle flows when the clock advances; active ones
 * stay. */
static void test_expire_without_packets(void)
{
    struct rec r;
    struct td_limits l = td_limits_default();
    l.idle_timeout_ns = 10ull * 1000000000ull;
    struct td_flow_table *t = table_new(&r, &l);
    struct ep srv = SRV;
    struct ep c2 = CLI;
    c2.port = 50001;
    struct td_segment a = c2s(S, 100, 0, NULL);
    struct td_segment b = mk(c2, srv, S, 100, 0, NULL);
    td_flow_table_add(t, &a, 1, 0);
    td_flow_table_add(t, &b, 2, 5000000000);
    CU_ASSERT_EQUAL(td_flow_table_active(t), 2);
    td_flow_table_expire(t, 10000000000); /* exactly 10 s idle: not over */
    CU_ASSERT_EQUAL(r.num_closed, 0);
    td_flow_table_expire(t, 14000000000);
    CU_ASSERT_EQUAL(r.num_closed, 1);
    CU_ASSERT_EQUAL(r.closed[1].end, TD_FLOW_END_IDLE);
    CU_ASSERT_EQUAL(r.closed[1].first_frame, 1);
    CU_ASSERT_EQUAL(td_flow_table_active(t), 1);
    td_flow_table_expire(t, 16000000000);
    CU_ASSERT_EQUAL(r.num_closed, 2);
    CU_ASSERT_EQUAL(r.closed[2].first_frame, 2);
    CU_ASSERT_EQUAL(td_flow_table_active(t), 0);
    td_flow_table_free(t);
}

static void test_fast_open(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    feed(t, c2s(S, ISN_C, 0, "CLIENTHELLO"), 1);
    feed(t, s2c(S | A, ISN_S, ISN_C + 1, NULL), 2); /* the server ignores the TFO data */
    feed(t, c2s(A, ISN_C + 1, ISN_S + 1, "CLIENTHELLO"), 3);
    ASSERT_EV(nth(&r, 'd', 0), 'd', 0, 0, 11, 1);
    CU_ASSERT_EQUAL(count_kind(&r, 'd'), 1);
    CU_ASSERT_EQUAL(nth(&r, 'f', 0)->frame, 1);
    CU_ASSERT(r.ev[1].kind == 'f' && r.ev[2].kind == 'd'); /* the SYN event precedes its data */
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[1].retransmissions[0], 1);
    td_flow_table_free(t);
}

/* suricata-verify tcp-fastopen-10-syn-data-ignore: SYN-ACKs with two ISNs; the server's data follows the
 * second, a billion bytes away from the first. The first data byte re-anchors the direction (no gap). */
static void test_reanchor_on_data_beyond_window(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    handshake(t);
    const uint32_t other_isn = ISN_S + 1180489186u;
    feed(t, s2c(A | P, other_isn + 1, ISN_C + 1, "SERVERHELLO"), 4);
    feed(t, s2c(A | P, other_isn + 12, ISN_C + 1, "MORE"), 5);
    ASSERT_EV(nth(&r, 'd', 0), 'd', 1, 0, 11, 4);
    ASSERT_EV(nth(&r, 'd', 1), 'd', 1, 11, 4, 5);
    CU_ASSERT_EQUAL(count_kind(&r, 'g'), 0);
    /* within the window, a hole is still a hole: data 100 bytes ahead waits and later becomes a gap */
    feed(t, c2s(A | P, ISN_C + 101, ISN_S + 1, "AHEAD"), 6);
    CU_ASSERT_EQUAL(count_kind(&r, 'd'), 2);
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(count_kind(&r, 'g'), 1);
    td_flow_table_free(t);
}

static void test_snaplen(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    handshake(t);
    struct td_segment cut = c2s(A, ISN_C + 1, ISN_S + 1, "ABCD");
    cut.payload_wire_len = 10;
    feed(t, cut, 4);
    feed(t, c2s(A, ISN_C + 11, ISN_S + 1, "KL"), 5);
    /* Cut and out of order: buffered with its missing tail. */
    struct td_segment cut2 = c2s(A, ISN_C + 17, ISN_S + 1, "QR");
    cut2.payload_wire_len = 5;
    feed(t, cut2, 6);
    feed(t, c2s(A, ISN_C + 13, ISN_S + 1, "MNOP"), 7);
    feed(t, c2s(A, ISN_C + 22, ISN_S + 1, "W"), 8);
    ASSERT_EV(nth(&r, 'd', 0), 'd', 0, 0, 4, 4);
    ASSERT_EV(nth(&r, 'g', 0), 'g', 0, 4, 6, 4);
    ASSERT_EV(nth(&r, 'd', 1), 'd', 0, 10, 2, 5);
    ASSERT_EV(nth(&r, 'g', 1), 'g', 0, 18, 3, 7);
    ASSERT_STREAM(&r, 1, 0, "ABCD??????KLMNOPQR???W");
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[1].gaps[0], 2);
    CU_ASSERT_EQUAL(r.closed[1].gap_bytes[0], 9);
    CU_ASSERT_EQUAL(r.closed[1].payload_bytes[0], 22);
    CU_ASSERT(r.contiguous);
    td_flow_table_free(t);
}

/* Shards (--threads): two tables each keep every flow but call back only for their half; together they report
 * each connection exactly once, with the id, close order and end an unsharded table gives it, and the
 * evictions of the whole table (max_flows 8 of 24 flows). */
static struct rec shard_rec[3];

static void test_shards(void)
{
    struct td_limits l = td_limits_default();
    l.max_flows = 8;
    struct td_flow_table *t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = table_new(&shard_rec[i], &l);
    }
    td_flow_table_set_shard(t[1], 0, 2);
    td_flow_table_set_shard(t[2], 1, 2);
    struct ep srv = SRV;
    uint64_t frame = 0;
    for (uint16_t k = 0; k < 24; k++) {
        struct ep c = CLI;
        c.port = (uint16_t)(40000 + k * 7);
        struct td_segment syn = mk(c, srv, S, 1000, 0, NULL);
        struct td_segment data = mk(c, srv, A | P, 1001, 1, "hello");
        struct td_segment fin = mk(c, srv, F | A, 1006, 1, NULL);
        struct td_segment rst = mk(srv, c, R, 1, 0, NULL);
        frame++;
        for (int i = 0; i < 3; i++) {
            td_flow_table_add(t[i], &syn, frame, (int64_t)frame);
        }
        frame++;
        for (int i = 0; i < 3; i++) {
            td_flow_table_add(t[i], &data, frame, (int64_t)frame);
        }
        if (k % 3 == 0) { /* every third ends at once, by RST; the others are evicted or flushed */
            frame++;
            for (int i = 0; i < 3; i++) {
                td_flow_table_add(t[i], &rst, frame, (int64_t)frame);
            }
        } else if (k % 3 == 1) {
            frame++;
            for (int i = 0; i < 3; i++) {
                td_flow_table_add(t[i], &fin, frame, (int64_t)frame);
            }
        }
    }
    for (int i = 0; i < 3; i++) {
        td_flow_table_flush(t[i]);
    }
    struct rec *all = &shard_rec[0];
    CU_ASSERT_EQUAL(all->num_closed, 24);
    CU_ASSERT_EQUAL(shard_rec[1].num_closed + shard_rec[2].num_closed, 24);
    CU_ASSERT_TRUE(shard_rec[1].num_closed > 0 && shard_rec[2].num_closed > 0);
    CU_ASSERT_EQUAL(td_flow_table_stats(t[0])->flows_evicted, td_flow_table_stats(t[1])->flows_evicted);
    CU_ASSERT_TRUE(td_flow_table_stats(t[0])->flows_evicted > 0);
    bool seen[32] = {false};
    for (int i = 1; i < 3; i++) {
        for (uint64_t id = 1; id <= 24; id++) {
            if (shard_rec[i].close_count[id] == 0) {
                continue;
            }
            const struct td_flow_info *a = &all->closed[id], *b = &shard_rec[i].closed[id];
            CU_ASSERT_FALSE(seen[id]);
            seen[id] = true;
            CU_ASSERT_EQUAL(a->close_seq, b->close_seq);
            CU_ASSERT_EQUAL(a->first_frame, b->first_frame);
            CU_ASSERT_EQUAL(a->last_frame, b->last_frame);
            CU_ASSERT_EQUAL(a->end, b->end);
            CU_ASSERT_EQUAL(a->client_port, b->client_port);
        }
    }
    for (int i = 0; i < 3; i++) {
        td_flow_table_free(t[i]);
    }
}

static void test_ipv6_and_both_directions_one_flow(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    struct td_segment s = c2s(S, 1, 0, NULL);
    s.src.family = 6;
    s.dst.family = 6;
    s.src.bytes[15] = 9;
    struct td_segment v4 = c2s(S, 1, 0, NULL);
    feed(t, s, 1);
    feed(t, v4, 2); /* same bytes and ports, other family: another flow */
    struct td_segment back = s2c(S | A, 9, 2, NULL);
    back.src.family = 6;
    back.dst.family = 6;
    back.dst.bytes[15] = 9;
    feed(t, back, 3);
    CU_ASSERT_EQUAL(r.num_opened, 2);
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[1].synack_frame, 3);
    CU_ASSERT_EQUAL(r.closed[1].client.family, 6);
    CU_ASSERT_EQUAL(r.closed[2].synack_frame, 0);
    td_flow_table_free(t);
}

/* ---- nDPI on a real capture ---- */

/* parse_frame: Ethernet II / IPv4 / TCP, enough for the corpus file used below. */
static bool parse_frame(const uint8_t *data, uint32_t caplen, struct td_segment *seg)
{
    struct td_cursor c;
    td_cursor_init(&c, data, caplen, 0);
    uint16_t ethertype = 0;
    struct td_cursor ip;
    uint8_t vihl = 0;
    uint8_t proto = 0;
    uint16_t total = 0;
    if (!td_cursor_skip(&c, 12) || !td_cursor_get_u16(&c, &ethertype) || ethertype != 0x0800) {
        return false;
    }
    ip = c;
    if (!td_cursor_get_u8(&c, &vihl) || !td_cursor_skip(&c, 1) || !td_cursor_get_u16(&c, &total) ||
        !td_cursor_skip(&c, 5) || !td_cursor_get_u8(&c, &proto) || !td_cursor_skip(&c, 2) || proto != 6) {
        return false;
    }
    memset(seg, 0, sizeof(*seg));
    seg->src.family = 4;
    seg->dst.family = 4;
    size_t ihl = (size_t)(vihl & 0x0f) * 4u;
    uint8_t off_flags = 0;
    uint16_t win = 0;
    if (!td_cursor_copy(&c, seg->src.bytes, 4) || !td_cursor_copy(&c, seg->dst.bytes, 4) || ihl < 20 ||
        !td_cursor_skip(&c, ihl - 20) || !td_cursor_get_u16(&c, &seg->sport) || !td_cursor_get_u16(&c, &seg->dport) ||
        !td_cursor_get_u32(&c, &seg->seq) || !td_cursor_get_u32(&c, &seg->ack) || !td_cursor_get_u8(&c, &off_flags) ||
        !td_cursor_get_u8(&c, &seg->flags) || !td_cursor_get_u16(&c, &win) || !td_cursor_skip(&c, 4)) {
        return false;
    }
    size_t doff = (size_t)(off_flags >> 4) * 4u;
    if (doff < 20 || !td_cursor_skip(&c, doff - 20) || total < ihl + doff) {
        return false;
    }
    seg->payload_wire_len = (uint32_t)(total - ihl - doff);
    td_cursor_truncate(&c, seg->payload_wire_len);
    seg->payload = td_cursor_data(&c);
    seg->payload_len = (uint32_t)td_cursor_len(&c);
    seg->ip = td_cursor_data(&ip);
    seg->ip_len = (uint32_t)td_cursor_len(&ip);
    return true;
}

/* ---- UDP flows ---- */

/* udp: a datagram src -> dst with the given payload (seq, ack and flags 0, as the decoder leaves them). */
static struct td_segment udp(struct ep src, struct ep dst, const char *payload)
{
    return mk(src, dst, 0, 0, 0, payload);
}

static void feed_udp(struct td_flow_table *t, struct td_segment s, uint64_t frame)
{
    td_flow_table_add_datagram(t, &s, frame, (int64_t)frame * 1000000);
}

static void test_udp_datagrams(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    struct td_segment first = udp(CLI, SRV, "hello");
    first.encap.num = 2;
    first.encap.layers[0] = (struct td_encap_layer){.kind = TD_ENCAP_VLAN, .id = 5};
    first.encap.layers[1] = (struct td_encap_layer){.kind = TD_ENCAP_GTPU, .id = 0x0e2c1dc7};
    feed_udp(t, first, 1);
    feed_udp(t, udp(SRV, CLI, "world!"), 2);
    // The same bytes again: datagrams are not a stream, nothing is dropped as a retransmission.
    feed_udp(t, udp(CLI, SRV, "hello"), 3);
    feed_udp(t, udp(CLI, SRV, ""), 4); // an empty datagram is a datagram too
    CU_ASSERT_EQUAL(r.num_opened, 1);
    CU_ASSERT_EQUAL(count_kind(&r, 'u'), 4);
    CU_ASSERT_EQUAL(count_kind(&r, 'd') + count_kind(&r, 'g') + count_kind(&r, 'f'), 0);
    ASSERT_EV(nth(&r, 'u', 0), 'u', TD_DIR_C2S, 0, 5, 1);
    CU_ASSERT_PTR_EQUAL(nth(&r, 'u', 0)->data, first.payload); // handed on in place, not copied
    ASSERT_EV(nth(&r, 'u', 1), 'u', TD_DIR_S2C, 0, 6, 2);
    ASSERT_EV(nth(&r, 'u', 2), 'u', TD_DIR_C2S, 0, 5, 3);
    ASSERT_EV(nth(&r, 'u', 3), 'u', TD_DIR_C2S, 0, 0, 4);
    ASSERT_STREAM(&r, 1, 0, "hellohello");
    ASSERT_STREAM(&r, 1, 1, "world!");
    CU_ASSERT_EQUAL(r.num_closed, 0); // no FIN in UDP: open until the timer or the input ends
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL_FATAL(r.num_closed, 1);
    const struct td_flow_info *fi = &r.closed[1];
    CU_ASSERT_EQUAL(fi->transport, TD_TRANSPORT_UDP);
    CU_ASSERT_EQUAL(fi->end, TD_FLOW_END_CAPTURE_END);
    CU_ASSERT_EQUAL(fi->client_port, 50000);
    CU_ASSERT_EQUAL(fi->server_port, 443);
    CU_ASSERT_FALSE(fi->saw_syn || fi->saw_synack);
    CU_ASSERT_EQUAL(fi->packets[0], 3);
    CU_ASSERT_EQUAL(fi->packets[1], 1);
    CU_ASSERT_EQUAL(fi->payload_bytes[0], 10);
    CU_ASSERT_EQUAL(fi->payload_bytes[1], 6);
    CU_ASSERT_EQUAL(fi->first_frame, 1);
    CU_ASSERT_EQUAL(fi->last_frame, 4);
    CU_ASSERT_EQUAL(fi->gaps[0], 0);
    // The first packet's path, and nothing past it.
    CU_ASSERT_EQUAL_FATAL(fi->encap->num, 2);
    CU_ASSERT_FALSE(fi->encap->more);
    CU_ASSERT_EQUAL(fi->encap->layers[0].kind, TD_ENCAP_VLAN);
    CU_ASSERT_EQUAL(fi->encap->layers[0].id, 5);
    CU_ASSERT_EQUAL(fi->encap->layers[1].kind, TD_ENCAP_GTPU);
    CU_ASSERT_EQUAL(fi->encap->layers[1].id, 0x0e2c1dc7);
    CU_ASSERT_EQUAL(fi->encap->layers[2].kind, 0);
    const struct td_flow_stats *st = td_flow_table_stats(t);
    CU_ASSERT_EQUAL(st->flows_total, 1);
    CU_ASSERT_EQUAL(st->segments, 0); // TCP segments only
    td_flow_table_free(t);
}

/* Roles: the first sender is the client unless it sends from a port below 1024 to one of 1024 or more. */
static void test_udp_roles(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    const struct ep dns = {192, 0, 2, 53, 53}, resolver = {192, 0, 2, 54, 53};
    const struct ep peer_a = {192, 0, 2, 1, 5353}, peer_b = {192, 0, 2, 2, 40000};
    feed_udp(t, udp(SRV, CLI, "reply first"), 1);      // 443 -> 50000: the server answering
    feed_udp(t, udp(resolver, dns, "query"), 2);        // 53 -> 53: the first sender
    feed_udp(t, udp(peer_a, peer_b, "5353 -> 40000"), 3); // both ephemeral: the first sender
    feed_udp(t, udp(CLI, SRV, "request"), 4);
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL_FATAL(r.num_closed, 3);
    CU_ASSERT_EQUAL(r.closed[1].client_port, 50000);
    CU_ASSERT_EQUAL(r.closed[1].server_port, 443);
    CU_ASSERT_EQUAL(r.closed[1].client.bytes[3], 1);
    CU_ASSERT_EQUAL(nth(&r, 'u', 0)->dir, TD_DIR_S2C);
    CU_ASSERT_EQUAL(nth(&r, 'u', 3)->dir, TD_DIR_C2S);
    CU_ASSERT_EQUAL(r.closed[2].client.bytes[3], 54);
    CU_ASSERT_EQUAL(r.closed[2].server.bytes[3], 53);
    CU_ASSERT_EQUAL(r.closed[3].client_port, 5353);
    CU_ASSERT_EQUAL(r.closed[3].server_port, 40000);
    td_flow_table_free(t);
}

/* The same 5-tuple over TCP and over UDP is two flows, and a closed TCP connection's tombstone does not stop
 * a UDP flow on its tuple. */
static void test_udp_and_tcp_apart(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    handshake(t);                            // TCP flow 1, frames 1-3
    feed_udp(t, udp(CLI, SRV, "dtls"), 4); // UDP flow 2
    feed(t, c2s(A | P, ISN_C + 1, ISN_S + 1, "tls"), 5);
    feed_udp(t, udp(SRV, CLI, "back"), 6);
    feed(t, s2c(R, ISN_S + 1, 0, NULL), 7); // ends TCP flow 1 only
    CU_ASSERT_EQUAL(r.num_opened, 2);
    CU_ASSERT_EQUAL_FATAL(r.num_closed, 1);
    CU_ASSERT_EQUAL(r.closed[1].transport, TD_TRANSPORT_TCP);
    CU_ASSERT_EQUAL(r.closed[1].end, TD_FLOW_END_RST);
    feed_udp(t, udp(CLI, SRV, "more"), 8); // the tombstone is TCP's
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.num_opened, 2);
    CU_ASSERT_EQUAL_FATAL(r.num_closed, 2);
    CU_ASSERT_EQUAL(r.closed[2].transport, TD_TRANSPORT_UDP);
    CU_ASSERT_EQUAL(r.closed[2].packets[0], 2);
    CU_ASSERT_EQUAL(r.closed[2].packets[1], 1);
    ASSERT_STREAM(&r, 1, 0, "tls");
    ASSERT_STREAM(&r, 2, 0, "dtlsmore");
    ASSERT_STREAM(&r, 2, 1, "back");
    td_flow_table_free(t);
}

/* Idle timeout, eviction and td_flow_table_expire end UDP flows as they end TCP ones. */
static void test_udp_idle_and_eviction(void)
{
    struct rec r;
    struct td_limits l = td_limits_default();
    l.idle_timeout_ns = 10ull * 1000000000ull;
    l.max_flows = 2;
    struct td_flow_table *t = table_new(&r, &l);
    struct ep c2 = CLI, c3 = CLI;
    c2.port = 50001;
    c3.port = 50002;
    struct td_segment a = udp(CLI, SRV, "a"), b = udp(c2, SRV, "b"), c = udp(c3, SRV, "c");
    td_flow_table_add_datagram(t, &a, 1, 0);
    td_flow_table_add_datagram(t, &b, 2, 5000000000);
    td_flow_table_add_datagram(t, &b, 3, 10000000000); // flow 1 idle exactly 10 s: not yet over
    CU_ASSERT_EQUAL(r.num_closed, 0);
    td_flow_table_add_datagram(t, &b, 4, 10000000001);
    CU_ASSERT_EQUAL_FATAL(r.num_closed, 1);
    CU_ASSERT_EQUAL(r.closed[1].end, TD_FLOW_END_IDLE);
    CU_ASSERT_EQUAL(r.closed[1].last_frame, 1);
    // A TCP flow and then a UDP one: max_flows 2 evicts the least recently active (flow 2, UDP).
    struct td_segment syn = c2s(S, 100, 0, NULL);
    td_flow_table_add(t, &syn, 5, 10000000002);
    td_flow_table_add_datagram(t, &c, 6, 10000000003);
    CU_ASSERT_EQUAL_FATAL(r.num_closed, 2);
    CU_ASSERT_EQUAL(r.closed[2].end, TD_FLOW_END_EVICTED);
    CU_ASSERT_EQUAL(r.closed[2].transport, TD_TRANSPORT_UDP);
    CU_ASSERT_EQUAL(td_flow_table_stats(t)->flows_evicted, 1);
    // A quiet link: expire ends the UDP flow 4 and the TCP flow 3 alike.
    td_flow_table_expire(t, 30000000000);
    CU_ASSERT_EQUAL(r.num_closed, 4);
    CU_ASSERT_EQUAL(r.closed[3].end, TD_FLOW_END_IDLE);
    CU_ASSERT_EQUAL(r.closed[4].end, TD_FLOW_END_IDLE);
    CU_ASSERT_EQUAL(r.closed[4].transport, TD_TRANSPORT_UDP);
    td_flow_table_free(t);
}

/* A datagram cut by the snaplen: the captured part is delivered, the rest counted as a gap. */
static void test_udp_snaplen(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    struct td_segment cut = udp(CLI, SRV, "ABCD");
    cut.payload_wire_len = 10;
    feed_udp(t, cut, 1);
    feed_udp(t, udp(SRV, CLI, "ok"), 2);
    ASSERT_EV(nth(&r, 'u', 0), 'u', TD_DIR_C2S, 0, 4, 1);
    CU_ASSERT_EQUAL(count_kind(&r, 'g'), 0); // no stream offset to announce a hole at
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(r.closed[1].gaps[0], 1);
    CU_ASSERT_EQUAL(r.closed[1].gap_bytes[0], 6);
    CU_ASSERT_EQUAL(r.closed[1].gaps[1], 0);
    CU_ASSERT_EQUAL(r.closed[1].payload_bytes[0], 10);
    td_flow_table_free(t);
}

/* The TCP flow's path is its first packet's too. */
static void test_tcp_encap(void)
{
    struct rec r;
    struct td_flow_table *t = table_new(&r, NULL);
    struct td_segment syn = c2s(S, ISN_C, 0, NULL);
    syn.encap.num = 1;
    syn.encap.more = true;
    syn.encap.layers[0] = (struct td_encap_layer){.kind = TD_ENCAP_IP, .src = addr4(CLI), .dst = addr4(SRV)};
    feed(t, syn, 1);
    feed(t, s2c(S | A, ISN_S, ISN_C + 1, NULL), 2); // a reply with no path changes nothing
    td_flow_table_flush(t);
    const struct td_flow_info *fi = &r.closed[1];
    CU_ASSERT_EQUAL(fi->transport, TD_TRANSPORT_TCP);
    CU_ASSERT_FALSE(r.shared_empty_path[1]);
    CU_ASSERT_EQUAL_FATAL(fi->encap->num, 1);
    CU_ASSERT_TRUE(fi->encap->more);
    CU_ASSERT_EQUAL(fi->encap->layers[0].kind, TD_ENCAP_IP);
    CU_ASSERT_EQUAL(fi->encap->layers[0].src.bytes[3], 1);
    CU_ASSERT_EQUAL(fi->encap->layers[0].dst.bytes[3], 2);
    td_flow_table_free(t);
}

/* Shards with UDP: every UDP flow is reported by exactly one of two shard tables, with the ids, datagrams and
 * close order of an unsharded table, and a datagram's shard is that of a TCP segment on the same tuple. */
static void test_udp_shards(void)
{
    static struct rec rec[3];
    struct td_limits l = td_limits_default();
    l.max_flows = 6;
    struct td_flow_table *t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = table_new(&rec[i], &l);
    }
    td_flow_table_set_shard(t[1], 0, 2);
    td_flow_table_set_shard(t[2], 1, 2);
    struct ep srv = SRV;
    uint64_t frame = 0;
    for (uint16_t k = 0; k < 16; k++) {
        struct ep c = CLI;
        c.port = (uint16_t)(40000 + k * 11);
        struct td_segment q = udp(c, srv, "q"), a = udp(srv, c, "answer");
        struct td_segment tcp = mk(c, srv, S, 1, 0, NULL);
        CU_ASSERT_EQUAL(td_flow_shard_of(&q, 2), td_flow_shard_of(&a, 2));
        CU_ASSERT_EQUAL(td_flow_shard_of(&q, 2), td_flow_shard_of(&tcp, 2));
        for (int i = 0; i < 3; i++) {
            td_flow_table_add_datagram(t[i], &q, frame + 1, (int64_t)frame + 1);
            td_flow_table_add_datagram(t[i], &a, frame + 2, (int64_t)frame + 2);
        }
        frame += 2;
    }
    for (int i = 0; i < 3; i++) {
        td_flow_table_flush(t[i]);
    }
    CU_ASSERT_EQUAL(rec[0].num_closed, 16);
    CU_ASSERT_EQUAL(rec[1].num_closed + rec[2].num_closed, 16);
    CU_ASSERT_TRUE(rec[1].num_closed > 0 && rec[2].num_closed > 0);
    CU_ASSERT_EQUAL(count_kind(&rec[1], 'u') + count_kind(&rec[2], 'u'), 32);
    CU_ASSERT_EQUAL(td_flow_table_stats(t[0])->flows_evicted, 10);
    CU_ASSERT_EQUAL(td_flow_table_stats(t[2])->flows_evicted, 10);
    for (int i = 1; i < 3; i++) {
        for (uint64_t id = 1; id <= 16; id++) {
            if (rec[i].close_count[id] == 0) {
                continue;
            }
            CU_ASSERT_EQUAL(rec[3 - i].close_count[id], 0);
            const struct td_flow_info *x = &rec[0].closed[id], *y = &rec[i].closed[id];
            CU_ASSERT_EQUAL(x->close_seq, y->close_seq);
            CU_ASSERT_EQUAL(x->end, y->end);
            CU_ASSERT_EQUAL(x->client_port, y->client_port);
            CU_ASSERT_EQUAL(x->first_frame, y->first_frame);
        }
    }
    for (int i = 0; i < 3; i++) {
        td_flow_table_free(t[i]);
    }
}

static void test_ndpi_tls_capture(void)
{
    const char *path = TD_CORPUS_DIR "/zeek-tls12-dhe-rsa.pcap";
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, errbuf);
    if (p == NULL) {
        printf("\n  skipped: %s not available\n", path);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(pcap_datalink(p), DLT_EN10MB);
    struct rec r;
    memset(&r, 0, sizeof(r));
    r.contiguous = true;
    struct td_flow_callbacks cb = {
        .ctx = &r,
        .on_open = on_open,
        .on_data = on_data,
        .on_gap = on_gap,
        .on_tcp_flags = on_tcp_flags,
        .on_close = on_close,
    };
    struct td_limits l = td_limits_default();
    struct td_flow_table *t = td_flow_table_new(&l, &cb, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t frame = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        frame++;
        struct td_segment seg;
        if (!parse_frame(data, h->caplen, &seg)) {
            continue;
        }
        int64_t ts = (int64_t)h->ts.tv_sec * 1000000000 + (int64_t)h->ts.tv_usec * 1000;
        td_flow_table_add(t, &seg, frame, ts);
    }
    pcap_close(p);
    td_flow_table_flush(t);
    CU_ASSERT_EQUAL(frame, 24);
    CU_ASSERT_EQUAL(r.num_closed, 1);
    const struct td_flow_info *fi = &r.closed[1];
    CU_ASSERT_STRING_EQUAL(fi->app_protocol, "TLS");
    /* From tshark: client 62277, server 443; client FIN in frame 21 (after its 53-byte segment 20), server
     * FIN in frame 17; the three RSTs (22-24) arrive after the close; streams are 489 and 4395 bytes
     * (frame 15 overlaps frame 14 and adds 53 bytes). */
    CU_ASSERT_EQUAL(fi->client_port, 62277);
    CU_ASSERT_EQUAL(fi->server_port, 443);
    CU_ASSERT_EQUAL(fi->end, TD_FLOW_END_FIN);
    CU_ASSERT_EQUAL(fi->fin_frame[0], 21);
    CU_ASSERT_EQUAL(fi->fin_frame[1], 17);
    CU_ASSERT_EQUAL(fi->last_frame, 21);
    CU_ASSERT_EQUAL(r.stream_len[1][0], 489);
    CU_ASSERT_EQUAL(r.stream_len[1][1], 4395);
    CU_ASSERT_EQUAL(fi->gaps[0] + fi->gaps[1], 0);
    CU_ASSERT_EQUAL(td_flow_table_stats(t)->segments_ignored, 3);
    CU_ASSERT(r.contiguous);
    /* The first client bytes are a TLS handshake record (content type 22, version 3.x). */
    CU_ASSERT_EQUAL(r.stream[1][0][0], 0x16);
    CU_ASSERT_EQUAL(r.stream[1][0][1], 0x03);
    td_flow_table_free(t);
}


/* ---- randomized segments: structural invariants only ---- */

#define STRESS_IDS 4096

struct stress {
    uint64_t next_off[STRESS_IDS][2];
    uint8_t state[STRESS_IDS]; /* 0 unused, 1 open, 2 closed */
    uint64_t ids[STRESS_IDS];
    bool ok;
    size_t opened, closed;
};

static uint64_t stress_id(struct stress *st, void *user)
{
    uint64_t *u = user;
    if (u < st->ids || u >= st->ids + STRESS_IDS || st->state[*u] != 1) {
        st->ok = false;
        return 0;
    }
    return *u;
}

static void *st_open(void *ctx, const struct td_flow_info *info)
{
    struct stress *st = ctx;
    if (info->id >= STRESS_IDS || st->state[info->id] != 0) {
        st->ok = false;
        return NULL;
    }
    st->state[info->id] = 1;
    st->ids[info->id] = info->id;
    st->opened++;
    return &st->ids[info->id];
}

static void st_span(struct stress *st, void *user, int dir, uint64_t off, uint64_t len)
{
    uint64_t id = stress_id(st, user);
    if (len == 0 || off != st->next_off[id][dir]) {
        st->ok = false;
    }
    st->next_off[id][dir] = off + len;
}

static void st_data(void *ctx, void *user, int dir, const uint8_t *data, size_t len, uint64_t off, uint64_t frame,
                    int64_t ts_ns)
{
    (void)data;
    (void)frame;
    (void)ts_ns;
    st_span(ctx, user, dir, off, len);
}

static void st_gap(void *ctx, void *user, int dir, uint64_t off, uint64_t len, uint64_t frame, int64_t ts_ns)
{
    (void)frame;
    (void)ts_ns;
    st_span(ctx, user, dir, off, len);
}

static void st_close(void *ctx, void *user, const struct td_flow_info *info)
{
    struct stress *st = ctx;
    uint64_t id = stress_id(st, user);
    if (id != info->id || info->end == TD_FLOW_END_NONE) {
        st->ok = false;
    }
    st->state[id] = 2;
    st->closed++;
}

static uint32_t xorshift(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void test_random_segments(void)
{
    static struct stress st;
    static const char bytes[] = "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    memset(&st, 0, sizeof(st));
    st.ok = true;
    struct td_flow_callbacks cb = {.ctx = &st, .on_open = st_open, .on_data = st_data, .on_gap = st_gap,
                                   .on_close = st_close};
    struct td_limits l = td_limits_default();
    l.max_flows = 3;
    l.max_reasm_bytes = 64;
    l.idle_timeout_ns = 2000000000;
    struct td_flow_table *t = td_flow_table_new(&l, &cb, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    uint32_t rnd = 0x9e3779b9u;
    uint32_t isn[5][2];
    for (int i = 0; i < 5; i++) {
        isn[i][0] = xorshift(&rnd);
        isn[i][1] = (i & 1) ? 0xffffffc0u : xorshift(&rnd); /* some wrap early */
    }
    int64_t now = 0;
    for (uint64_t frame = 1; frame <= 20000; frame++) {
        uint32_t x = xorshift(&rnd);
        int conn = (int)(x % 5u);
        int dir = (int)((x >> 3) & 1u);
        struct ep c = CLI;
        c.port = (uint16_t)(50000 + conn);
        struct ep srv = SRV;
        uint32_t y = xorshift(&rnd);
        uint8_t flags = A;
        switch (y % 16u) {
        case 0:
            flags = dir == 0 ? S : (S | A);
            break;
        case 1:
            flags = A | F;
            break;
        case 2:
            flags = (y & 16u) ? R : (R | A);
            break;
        default:
            break;
        }
        uint32_t len = (y >> 8) % 24u;
        if (flags & R) {
            len = 0;
        }
        int32_t jitter = (int32_t)((y >> 16) % 200u) - 40;
        uint32_t seq = isn[conn][dir] + 1u + (uint32_t)(frame / 4u) + (uint32_t)jitter;
        if (flags & S) {
            seq = isn[conn][dir];
        }
        uint32_t ack = isn[conn][1 - dir] + 1u + (uint32_t)(frame / 4u) + (uint32_t)((y >> 24) % 64u);
        struct td_segment seg = dir == 0 ? mk(c, srv, flags, seq, ack, NULL) : mk(srv, c, flags, seq, ack, NULL);
        seg.payload = (const uint8_t *)bytes;
        seg.payload_len = len;
        seg.payload_wire_len = (x & 0x700u) == 0 ? len + 7u : len; /* some snaplen cuts */
        now += (int64_t)(x >> 12) % 50000000;
        td_flow_table_add(t, &seg, frame, now);
        if (!st.ok) {
            break;
        }
    }
    td_flow_table_flush(t);
    CU_ASSERT_TRUE(st.ok);
    CU_ASSERT(st.opened > 10);
    CU_ASSERT_EQUAL(st.opened, st.closed);
    CU_ASSERT_EQUAL(td_flow_table_stats(t)->flows_total, st.opened);
    CU_ASSERT(td_flow_table_stats(t)->flows_active_max <= 3);
    td_flow_table_free(t);
}

static CU_TestInfo tests[] = {
    {"in order, FIN close, stragglers", test_in_order_and_fin_close},
    {"out of order", test_out_of_order},
    {"retransmission and overlap", test_retransmission_and_overlap},
    {"sequence wraparound", test_sequence_wraparound},
    {"gap on cap and at flush", test_gap_on_cap_and_flush},
    {"gap from the peer's ACK", test_gap_from_peer_ack},
    {"FIN waits for missing data", test_fin_waits_for_missing_data},
    {"mid-stream roles", test_mid_stream_roles},
    {"SYN+ACK first, RST", test_synack_first_and_rst},
    {"eviction and flush order", test_eviction},
    {"closed_below", test_closed_below},
    {"idle timeout", test_idle_timeout},
    {"expire without packets", test_expire_without_packets},
    {"shards", test_shards},
    {"TCP fast open", test_fast_open},
    {"re-anchor on data beyond any window", test_reanchor_on_data_beyond_window},
    {"snaplen", test_snaplen},
    {"IPv6 and one flow per connection", test_ipv6_and_both_directions_one_flow},
    {"random segments keep the invariants", test_random_segments},
    {"UDP datagrams", test_udp_datagrams},
    {"UDP roles", test_udp_roles},
    {"UDP and TCP on one tuple", test_udp_and_tcp_apart},
    {"UDP idle timeout and eviction", test_udp_idle_and_eviction},
    {"UDP snaplen", test_udp_snaplen},
    {"TCP outer path", test_tcp_encap},
    {"UDP shards", test_udp_shards},
    {"nDPI on a TLS capture", test_ndpi_tls_capture},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("flow", tests)
