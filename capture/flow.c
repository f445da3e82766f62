/* SPDX-License-Identifier: MIT */
/* flow.c: the flow table: 5-tuple lookup, client/server roles, flow lifecycle (FIN, RST, idle timeout by
 * packet time, eviction at max_flows, end of input) and the SYN/FIN/RST events for TCP; UDP flows in the same
 * table, delivered datagram by datagram. RFC 9293 §3.5 (connection establishment and close), §3.10.7
 * (segment arrival); RFC 768 (UDP); per-direction reassembly is in reassembly.c, nDPI in classify.c.
 *
 * Roles. A SYN without ACK makes its sender the client; a SYN+ACK seen first makes its receiver the
 * client. A connection first seen mid-stream (no SYN) takes the first packet's sender as client, except
 * when that packet goes from a port below 1024 to a port of 1024 or more: a well-known port talking to an
 * ephemeral one is the server answering, so the roles are swapped.
 *
 * UDP has no handshake: the first datagram's sender is the client under the same port exception, and
 * every datagram opens a flow when its tuple has none. UDP flows never close by themselves: idle timeout,
 * eviction and the end of the input end them, as they end TCP connections that were never closed.
 *
 * Opening. Only a SYN or a segment with payload (not a RST) opens a TCP flow: a bare ACK, FIN or RST whose
 * flow is gone opens nothing and is counted in segments_ignored. A flow closed by FIN or RST also leaves
 * a tombstone (its tuple and close time) until the idle timeout, so late retransmissions of its data
 * open nothing either; only a new SYN (port reuse) opens a flow on a tombstoned tuple.
 *
 * Lookup is a chained hash table (64-bit mix of both endpoints, symmetric so both directions find the
 * same entry; the transport is compared, not hashed, so the shard of a tuple does not depend on it) that
 * doubles as flows are added. Two intrusive lists order the flows: by last activity
 * (LRU, for the idle scan and eviction) and by first packet (for the flush order). */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "reassembly.h"

/* Oldest flows (and tombstones) examined for the idle timeout per packet. The LRU list is ordered by
 * last activity, so the scan stops at the first flow still alive; the budget only bounds the work one
 * packet can trigger after a long pause in the capture (ndpiReader's IDLE_SCAN_BUDGET). */
#define IDLE_SCAN_BUDGET 16u
/* Initial buckets; the table doubles while flows outnumber buckets. */
#define MIN_BUCKETS 256u

/* Flag events already reported, one bit per (event, direction). */
#define SEEN_SYN(dir) (1u << (dir))
#define SEEN_FIN(dir) (4u << (dir))
#define SEEN_RST(dir) (16u << (dir))

/* A tuple as stored: endpoint a is the client for flows. */
struct tuple {
    struct td_addr a, b;
    uint16_t a_port, b_port;
    uint8_t transport; /* TD_TRANSPORT_* */
};

struct hnode {
    struct hnode *next;
    uint64_t hash;
    struct tuple key;
};

struct htab {
    struct hnode **buckets;
    size_t mask;
    size_t count;
};

struct td_flow {
    struct hnode node; /* first member: the hash table links flows through it */
    struct td_flow *lru_prev, *lru_next; /* by last activity, head = least recent */
    struct td_flow *age_prev, *age_next; /* by first packet, head = oldest */
    void *user;
    struct td_classify_flow *cls; /* nDPI state while classification runs, else NULL */
    struct td_reasm reasm[2];
    struct td_flow_info info;
    uint8_t seen;
    bool classify_done;
    bool mine;         /* in this table's shard: called back and classified (always, without shards) */
};

/* The retained per-flow state must stay small: a busy link keeps up to max_flows of these, and past its handshake
 * a connection keeps little else in memory (its TLS state is in the spill, capture/spill.h). */
_Static_assert(sizeof(struct td_flow) <= 512, "struct td_flow must stay within half of the 1 KB per-connection budget");

/* A closed tuple remembered until the idle timeout, so its stragglers open no flow. */
struct tomb {
    struct hnode node; /* first member */
    struct tomb *prev, *next;
    int64_t closed_ts_ns;
};

struct td_flow_table {
    struct td_limits limits;
    struct td_flow_callbacks cb;
    struct td_classifier *classifier; /* NULL when classification is off */
    struct htab flows, tombs;
    struct td_flow *lru_head, *lru_tail;
    struct td_flow *age_head, *age_tail;
    struct tomb *tomb_head, *tomb_tail; /* by close time */
    uint64_t next_id;
    uint64_t next_close_seq;
    uint64_t frame_now;               /* the frame being added (UINT64_MAX while the input is flushed): no flow
                                         opened from now on starts below it */
    uint64_t seed;
    uint32_t shard, num_shards;       /* td_flow_table_set_shard; num_shards 0 or 1: every flow is ours */
    struct td_flow_callbacks no_cb;   /* what other shards' flows deliver to: nothing */
    struct td_flow_stats stats;
};

/* ---- hashing ---- */

/* mix64 is the splitmix64 finaliser: every input bit affects every output bit. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t endpoint_hash(const struct td_addr *a, uint16_t port, uint64_t seed)
{
    uint64_t w0 = 0;
    uint64_t w1 = 0;
    for (size_t i = 0; i < 8; i++) {
        w0 = w0 << 8 | a->bytes[i];
        w1 = w1 << 8 | a->bytes[i + 8];
    }
    uint64_t h = mix64(seed ^ ((uint64_t)a->family << 16 | port));
    h = mix64(h ^ w0);
    return mix64(h ^ w1);
}

/* Shards must agree across tables, so their hash has a fixed seed (the lookup hash's seed is per table). */
#define SHARD_SEED 0x9e3779b97f4a7c15ull

/* tuple_hash is symmetric: both directions of a connection hash alike. */
static uint64_t tuple_hash(const struct td_segment *seg, uint64_t seed)
{
    return mix64(endpoint_hash(&seg->src, seg->sport, seed) ^ endpoint_hash(&seg->dst, seg->dport, seed));
}

uint32_t td_flow_shard_of(const struct td_segment *seg, uint32_t num_shards)
{
    return num_shards > 1 ? (uint32_t)(tuple_hash(seg, SHARD_SEED) % num_shards) : 0;
}

static bool addr_equal(const struct td_addr *x, const struct td_addr *y)
{
    return x->family == y->family && memcmp(x->bytes, y->bytes, sizeof(x->bytes)) == 0;
}

/* key_match: 1 when seg (of the given transport) goes a->b, 2 when it goes b->a, 0 when it is another
 * connection. */
static int key_match(const struct tuple *k, const struct td_segment *seg, uint8_t transport)
{
    if (k->transport != transport) {
        return 0;
    }
    if (seg->sport == k->a_port && seg->dport == k->b_port && addr_equal(&seg->src, &k->a) &&
        addr_equal(&seg->dst, &k->b)) {
        return 1;
    }
    if (seg->sport == k->b_port && seg->dport == k->a_port && addr_equal(&seg->src, &k->b) &&
        addr_equal(&seg->dst, &k->a)) {
        return 2;
    }
    return 0;
}

static bool htab_init(struct htab *h)
{
    h->buckets = calloc(MIN_BUCKETS, sizeof(*h->buckets));
    h->mask = MIN_BUCKETS - 1u;
    h->count = 0;
    return h->buckets != NULL;
}

/* htab_find returns the entry for seg's connection (and in *match which way seg goes), or NULL. */
static struct hnode *htab_find(const struct htab *h, uint64_t hash, const struct td_segment *seg, uint8_t transport,
                               int *match)
{
    for (struct hnode *n = h->buckets[hash & h->mask]; n != NULL; n = n->next) {
        if (n->hash != hash) {
            continue;
        }
        *match = key_match(&n->key, seg, transport);
        if (*match != 0) {
            return n;
        }
    }
    return NULL;
}

/* grow doubles the bucket array; on allocation failure the table keeps working with longer chains. */
static void grow(struct htab *h)
{
    size_t num = (h->mask + 1u) * 2u;
    struct hnode **b = calloc(num, sizeof(*b));
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i <= h->mask; i++) {
        struct hnode *n = h->buckets[i];
        while (n != NULL) {
            struct hnode *next = n->next;
            n->next = b[n->hash & (num - 1u)];
            b[n->hash & (num - 1u)] = n;
            n = next;
        }
    }
    free(h->buckets);
    h->buckets = b;
    h->mask = num - 1u;
}

static void htab_insert(struct htab *h, struct hnode *n)
{
    if (h->count >= h->mask + 1u && h->mask < (SIZE_MAX >> 2)) {
        grow(h);
    }
    struct hnode **head = &h->buckets[n->hash & h->mask];
    n->next = *head;
    *head = n;
    h->count++;
}

static void htab_remove(struct htab *h, struct hnode *n)
{
    for (struct hnode **link = &h->buckets[n->hash & h->mask]; *link != NULL; link = &(*link)->next) {
        if (*link == n) {
            *link = n->next;
            h->count--;
            return;
        }
    }
}

/* ---- lists ---- */

static void lru_unlink(struct td_flow_table *t, struct td_flow *f)
{
    if (f->lru_prev != NULL) {
        f->lru_prev->lru_next = f->lru_next;
    } else {
        t->lru_head = f->lru_next;
    }
    if (f->lru_next != NULL) {
        f->lru_next->lru_prev = f->lru_prev;
    } else {
        t->lru_tail = f->lru_prev;
    }
    f->lru_prev = NULL;
    f->lru_next = NULL;
}

static void lru_append(struct td_flow_table *t, struct td_flow *f)
{
    f->lru_prev = t->lru_tail;
    f->lru_next = NULL;
    if (t->lru_tail != NULL) {
        t->lru_tail->lru_next = f;
    } else {
        t->lru_head = f;
    }
    t->lru_tail = f;
}

static void age_unlink(struct td_flow_table *t, struct td_flow *f)
{
    if (f->age_prev != NULL) {
        f->age_prev->age_next = f->age_next;
    } else {
        t->age_head = f->age_next;
    }
    if (f->age_next != NULL) {
        f->age_next->age_prev = f->age_prev;
    } else {
        t->age_tail = f->age_prev;
    }
}

static void age_append(struct td_flow_table *t, struct td_flow *f)
{
    f->age_prev = t->age_tail;
    f->age_next = NULL;
    if (t->age_tail != NULL) {
        t->age_tail->age_next = f;
    } else {
        t->age_head = f;
    }
    t->age_tail = f;
}

/* ---- tombstones ---- */

static void tomb_remove(struct td_flow_table *t, struct tomb *tb)
{
    htab_remove(&t->tombs, &tb->node);
    if (tb->prev != NULL) {
        tb->prev->next = tb->next;
    } else {
        t->tomb_head = tb->next;
    }
    if (tb->next != NULL) {
        tb->next->prev = tb->prev;
    } else {
        t->tomb_tail = tb->prev;
    }
    free(tb);
}

/* tomb_add remembers a closed flow's tuple. Best effort: without memory the tuple is simply forgotten. */
static void tomb_add(struct td_flow_table *t, const struct td_flow *f, int64_t ts_ns)
{
    if (t->tomb_head != NULL && t->tombs.count >= t->limits.max_flows) {
        tomb_remove(t, t->tomb_head);
    }
    struct tomb *tb = calloc(1, sizeof(*tb));
    if (tb == NULL) {
        return;
    }
    tb->node.hash = f->node.hash;
    tb->node.key = f->node.key;
    tb->closed_ts_ns = ts_ns;
    tb->prev = t->tomb_tail;
    if (t->tomb_tail != NULL) {
        t->tomb_tail->next = tb;
    } else {
        t->tomb_head = tb;
    }
    t->tomb_tail = tb;
    htab_insert(&t->tombs, &tb->node);
}

/* ---- flows ---- */

static struct td_reasm_sink make_sink(const struct td_flow_table *t, struct td_flow *f, int dir, uint64_t frame,
                                      int64_t ts_ns)
{
    struct td_reasm_sink s = {
        .cb = f->mine ? &t->cb : &t->no_cb,
        .user = f->user,
        .info = &f->info,
        .dir = dir,
        .frame = frame,
        .ts_ns = ts_ns,
        .max_reasm_bytes = t->limits.max_reasm_bytes,
    };
    return s;
}

const struct td_encap_path td_encap_path_none;

/* copy_path keeps the first packet's outer path: the shared empty one for a plain flow, else a zeroed copy of
 * the layers the decoder wrote (NULL when memory ran out). Plain flows are most of them, and the path is 268
 * bytes: kept in every flow it was a third of a tracked connection's memory. */
static const struct td_encap_path *copy_path(const struct td_encap_path *src)
{
    if (src->num == 0 && !src->more) {
        return &td_encap_path_none;
    }
    struct td_encap_path *dst = calloc(1, sizeof(*dst));
    if (dst == NULL) {
        return NULL;
    }
    uint8_t num = src->num <= TD_MAX_ENCAP_LAYERS ? src->num : TD_MAX_ENCAP_LAYERS;
    dst->num = num;
    dst->more = src->more;
    memcpy(dst->layers, src->layers, num * sizeof(dst->layers[0]));
    return dst;
}

/* flow_free releases a flow that is off every list. */
static void flow_free(struct td_flow *f)
{
    if (f->info.encap != &td_encap_path_none) {
        free((void *)(uintptr_t)f->info.encap);
    }
    free(f);
}

static void finish_classification(struct td_flow_table *t, struct td_flow *f)
{
    td_classify_result(t->classifier, &f->cls, &f->info.app_protocol, &f->info.master_protocol);
    f->classify_done = true;
}

/* flow_close delivers what is left (gaps for the holes), reports the flow once and frees it. The
 * deliveries carry the flow's last frame: no newer frame made them deliverable. */
static void flow_close(struct td_flow_table *t, struct td_flow *f, enum td_flow_end end)
{
    for (int dir = TD_DIR_C2S; dir <= TD_DIR_S2C; dir++) {
        struct td_reasm_sink s = make_sink(t, f, dir, f->info.last_frame, f->info.last_ts_ns);
        td_reasm_finish(&f->reasm[dir], &s);
    }
    if (t->classifier != NULL && f->mine && !f->classify_done) {
        finish_classification(t, f);
    }
    /* Both FINs seen but data still missing when the timer or the input ran out: it did close by FIN. */
    bool both_fin = (f->seen & (SEEN_FIN(0) | SEEN_FIN(1))) == (SEEN_FIN(0) | SEEN_FIN(1));
    if (both_fin && (end == TD_FLOW_END_IDLE || end == TD_FLOW_END_CAPTURE_END)) {
        end = TD_FLOW_END_FIN;
    }
    f->info.end = end;
    f->info.close_seq = ++t->next_close_seq;
    /* The age list is in first-frame order: its head, this flow aside, is the oldest flow still open. */
    const struct td_flow *oldest = t->age_head != f ? t->age_head : f->age_next;
    uint64_t oldest_open = oldest != NULL ? oldest->info.first_frame : UINT64_MAX;
    f->info.closed_below = oldest_open < t->frame_now ? oldest_open : t->frame_now;
    if (t->cb.on_close != NULL && f->mine) {
        t->cb.on_close(t->cb.ctx, f->user, &f->info);
    }
    htab_remove(&t->flows, &f->node);
    lru_unlink(t, f);
    age_unlink(t, f);
    if (end == TD_FLOW_END_FIN || end == TD_FLOW_END_RST) {
        tomb_add(t, f, f->info.last_ts_ns);
    }
    flow_free(f);
}

/* is_expired: nothing seen for longer than the idle timeout (0 disables it) at packet time now_ns. */
static bool is_expired(const struct td_flow_table *t, int64_t last_ns, int64_t now_ns)
{
    if (t->limits.idle_timeout_ns == 0 || now_ns <= last_ns) {
        return false;
    }
    return (uint64_t)now_ns - (uint64_t)last_ns > t->limits.idle_timeout_ns;
}

static void expire_idle(struct td_flow_table *t, int64_t now_ns)
{
    for (unsigned i = 0; i < IDLE_SCAN_BUDGET && t->lru_head != NULL; i++) {
        if (!is_expired(t, t->lru_head->info.last_ts_ns, now_ns)) {
            break;
        }
        flow_close(t, t->lru_head, TD_FLOW_END_IDLE);
    }
    for (unsigned i = 0; i < IDLE_SCAN_BUDGET && t->tomb_head != NULL; i++) {
        if (!is_expired(t, t->tomb_head->closed_ts_ns, now_ns)) {
            break;
        }
        tomb_remove(t, t->tomb_head);
    }
}

/* sender_is_client applies the role rules in the file comment to a flow's first segment or datagram (whose
 * flags are 0). */
static bool sender_is_client(const struct td_segment *seg)
{
    if (seg->flags & TD_TCP_SYN) {
        return (seg->flags & TD_TCP_ACK) == 0;
    }
    return !(seg->sport < 1024 && seg->dport >= 1024);
}

static bool has_payload(const struct td_segment *seg)
{
    return seg->payload_len > 0 || seg->payload_wire_len > 0;
}

/* may_open_tcp: whether a TCP segment whose tuple has no flow opens one (see "Opening" above). */
static bool may_open_tcp(struct td_flow_table *t, const struct td_segment *seg, uint64_t hash)
{
    bool is_syn = (seg->flags & TD_TCP_SYN) != 0;
    int match = 0;
    struct hnode *tn = htab_find(&t->tombs, hash, seg, TD_TRANSPORT_TCP, &match);
    if (tn != NULL) {
        if (!is_syn || (seg->flags & TD_TCP_ACK) != 0) {
            return false;
        }
        tomb_remove(t, (struct tomb *)tn);
        return true;
    }
    return is_syn || (has_payload(seg) && (seg->flags & TD_TCP_RST) == 0);
}

/* flow_open creates the flow for seg's tuple, or returns NULL when seg may not open one. */
static struct td_flow *flow_open(struct td_flow_table *t, const struct td_segment *seg, uint8_t transport,
                                 uint64_t hash, uint64_t frame, int64_t ts_ns)
{
    if (transport == TD_TRANSPORT_TCP && !may_open_tcp(t, seg, hash)) {
        return NULL;
    }
    if (t->flows.count >= t->limits.max_flows && t->lru_head != NULL) {
        t->stats.flows_evicted++;
        flow_close(t, t->lru_head, TD_FLOW_END_EVICTED);
    }
    struct td_flow *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    bool client = sender_is_client(seg);
    f->mine = t->num_shards <= 1 || td_flow_shard_of(seg, t->num_shards) == t->shard;
    f->node.hash = hash;
    f->node.key.a = client ? seg->src : seg->dst;
    f->node.key.b = client ? seg->dst : seg->src;
    f->node.key.a_port = client ? seg->sport : seg->dport;
    f->node.key.b_port = client ? seg->dport : seg->sport;
    f->node.key.transport = transport;
    td_reasm_init(&f->reasm[TD_DIR_C2S]);
    td_reasm_init(&f->reasm[TD_DIR_S2C]);
    struct td_flow_info *info = &f->info;
    info->encap = copy_path(&seg->encap);
    if (info->encap == NULL) {
        free(f);
        return NULL;
    }
    info->id = ++t->next_id;
    info->transport = transport;
    info->app_protocol = "";
    info->master_protocol = "";
    info->client = f->node.key.a;
    info->server = f->node.key.b;
    info->client_port = f->node.key.a_port;
    info->server_port = f->node.key.b_port;
    info->first_frame = frame;
    info->last_frame = frame;
    info->first_ts_ns = ts_ns;
    info->last_ts_ns = ts_ns;
    htab_insert(&t->flows, &f->node);
    lru_append(t, f);
    age_append(t, f);
    t->stats.flows_total++;
    if (t->flows.count > t->stats.flows_active_max) {
        t->stats.flows_active_max = t->flows.count;
    }
    if (t->cb.on_open != NULL && f->mine) {
        f->user = t->cb.on_open(t->cb.ctx, info);
    }
    return f;
}

static void report_flags(struct td_flow_table *t, struct td_flow *f, int dir, uint8_t flags, uint64_t frame,
                         int64_t ts_ns)
{
    if (t->cb.on_tcp_flags != NULL && f->mine) {
        t->cb.on_tcp_flags(t->cb.ctx, f->user, dir, flags, frame, ts_ns);
    }
}

/* is_port_reuse: a new SYN on an open flow's tuple that starts another sequence space (the old
 * connection ended without the capture seeing it close). */
static bool is_port_reuse(const struct td_flow *f, int dir, const struct td_segment *seg)
{
    const struct td_reasm *r = &f->reasm[dir];
    return (seg->flags & (TD_TCP_SYN | TD_TCP_ACK)) == TD_TCP_SYN && r->has_base && r->base_seq != seg->seq + 1u;
}

static void note_syn(struct td_flow_table *t, struct td_flow *f, int dir, const struct td_segment *seg,
                     uint64_t frame, int64_t ts_ns)
{
    td_reasm_syn(&f->reasm[dir], seg->seq);
    if (f->seen & SEEN_SYN(dir)) {
        return; /* a retransmitted SYN is reported once */
    }
    f->seen |= (uint8_t)SEEN_SYN(dir);
    uint8_t bits = seg->flags & (TD_TCP_SYN | TD_TCP_ACK);
    if (bits == TD_TCP_SYN) {
        f->info.saw_syn = true;
        f->info.syn_frame = frame;
    } else {
        f->info.saw_synack = true;
        f->info.synack_frame = frame;
    }
    report_flags(t, f, dir, bits, frame, ts_ns);
}

TD_MUST_USE struct td_flow_table *td_flow_table_new(const struct td_limits *limits, const struct td_flow_callbacks *cb,
                                                    bool classify)
{
    struct td_flow_table *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->limits = *limits;
    if (t->limits.max_flows == 0) {
        t->limits.max_flows = 1;
    }
    t->cb = *cb;
    /* Seeded per table so colliding tuples cannot be precomputed; no output depends on hash order. */
    t->seed = mix64((uint64_t)(uintptr_t)t);
    if (!htab_init(&t->flows) || !htab_init(&t->tombs)) {
        goto fail;
    }
    if (classify) {
        t->classifier = td_classifier_new();
        if (t->classifier == NULL) {
            goto fail;
        }
    }
    return t;
fail:
    td_flow_table_free(t);
    return NULL;
}

/* note_packet: what every packet of a flow updates, TCP or UDP: activity, counters, LRU order, nDPI. */
static void note_packet(struct td_flow_table *t, struct td_flow *f, int dir, const struct td_segment *seg,
                        uint64_t frame, int64_t ts_ns)
{
    struct td_flow_info *info = &f->info;
    info->last_frame = frame;
    info->last_ts_ns = ts_ns;
    info->packets[dir]++;
    info->payload_bytes[dir] += seg->payload_wire_len > seg->payload_len ? seg->payload_wire_len : seg->payload_len;
    lru_unlink(t, f);
    lru_append(t, f);
    if (t->classifier != NULL && f->mine && !f->classify_done && seg->ip != NULL && seg->ip_len > 0 &&
        td_classify_packet(t->classifier, &f->cls, seg->ip, seg->ip_len, ts_ns)) {
        finish_classification(t, f);
    }
}

void td_flow_table_add(struct td_flow_table *t, const struct td_segment *seg, uint64_t frame, int64_t ts_ns)
{
    t->stats.segments++;
    t->frame_now = frame;
    expire_idle(t, ts_ns);
    uint64_t hash = tuple_hash(seg, t->seed);
    int match = 0;
    struct td_flow *f = (struct td_flow *)htab_find(&t->flows, hash, seg, TD_TRANSPORT_TCP, &match);
    if (f != NULL && is_port_reuse(f, match == 1 ? TD_DIR_C2S : TD_DIR_S2C, seg)) {
        flow_close(t, f, TD_FLOW_END_IDLE);
        f = NULL;
    }
    if (f == NULL) {
        f = flow_open(t, seg, TD_TRANSPORT_TCP, hash, frame, ts_ns);
        if (f == NULL) {
            t->stats.segments_ignored++;
            return;
        }
        match = key_match(&f->node.key, seg, TD_TRANSPORT_TCP);
    }
    int dir = match == 1 ? TD_DIR_C2S : TD_DIR_S2C;
    int peer = 1 - dir;
    struct td_flow_info *info = &f->info;
    note_packet(t, f, dir, seg, frame, ts_ns);
    if (seg->flags & TD_TCP_SYN) {
        note_syn(t, f, dir, seg, frame, ts_ns);
    }
    if (seg->flags & TD_TCP_ACK) {
        struct td_reasm_sink ps = make_sink(t, f, peer, frame, ts_ns);
        td_reasm_ack(&f->reasm[peer], &ps, seg->ack);
    }
    uint64_t cap_hits = info->reasm_cap_hits[dir];
    bool fin = (seg->flags & TD_TCP_FIN) != 0;
    if ((seg->flags & TD_TCP_RST) == 0) {
        /* A SYN's own sequence number is not data: TCP Fast Open payload starts one after it. */
        uint32_t data_seq = seg->seq + ((seg->flags & TD_TCP_SYN) ? 1u : 0u);
        struct td_reasm_sink s = make_sink(t, f, dir, frame, ts_ns);
        td_reasm_add(&f->reasm[dir], &s, data_seq, seg->payload, seg->payload_len, seg->payload_wire_len, fin);
    }
    t->stats.reasm_cap_hits += info->reasm_cap_hits[dir] - cap_hits;
    if (fin && !(f->seen & SEEN_FIN(dir))) {
        f->seen |= (uint8_t)SEEN_FIN(dir);
        info->fin_frame[dir] = frame;
        report_flags(t, f, dir, TD_TCP_FIN, frame, ts_ns);
    }
    if (seg->flags & TD_TCP_RST) {
        if (!(f->seen & SEEN_RST(dir))) {
            f->seen |= (uint8_t)SEEN_RST(dir);
            info->rst_frame[dir] = frame;
            report_flags(t, f, dir, TD_TCP_RST, frame, ts_ns);
        }
        flow_close(t, f, TD_FLOW_END_RST);
        return;
    }
    if ((f->seen & SEEN_FIN(dir)) && (f->seen & SEEN_FIN(peer)) && td_reasm_is_complete(&f->reasm[dir]) &&
        td_reasm_is_complete(&f->reasm[peer])) {
        flow_close(t, f, TD_FLOW_END_FIN);
    }
}

void td_flow_table_add_datagram(struct td_flow_table *t, const struct td_segment *seg, uint64_t frame,
                                int64_t ts_ns)
{
    t->frame_now = frame;
    expire_idle(t, ts_ns);
    uint64_t hash = tuple_hash(seg, t->seed);
    int match = 0;
    struct td_flow *f = (struct td_flow *)htab_find(&t->flows, hash, seg, TD_TRANSPORT_UDP, &match);
    if (f == NULL) {
        f = flow_open(t, seg, TD_TRANSPORT_UDP, hash, frame, ts_ns);
        if (f == NULL) {
            return; // out of memory: the datagram is lost to the analysis, as a segment would be
        }
        match = key_match(&f->node.key, seg, TD_TRANSPORT_UDP);
    }
    int dir = match == 1 ? TD_DIR_C2S : TD_DIR_S2C;
    note_packet(t, f, dir, seg, frame, ts_ns);
    if (seg->payload_wire_len > seg->payload_len) {
        // The snaplen took the end of the datagram: there is nothing to wait for, only to count.
        f->info.gaps[dir]++;
        f->info.gap_bytes[dir] += seg->payload_wire_len - seg->payload_len;
    }
    if (t->cb.on_datagram != NULL && f->mine) {
        t->cb.on_datagram(t->cb.ctx, f->user, dir, seg->payload, seg->payload_len, frame, ts_ns);
    }
}

void td_flow_table_flush(struct td_flow_table *t)
{
    t->frame_now = UINT64_MAX; /* the input has ended: no flow opens any more */
    while (t->age_head != NULL) {
        flow_close(t, t->age_head, TD_FLOW_END_CAPTURE_END);
    }
    /* Ids and tombstones belong to one input: the next file starts with a clean slate. */
    t->next_id = 0;
    t->next_close_seq = 0;
    t->frame_now = 0;
    while (t->tomb_head != NULL) {
        tomb_remove(t, t->tomb_head);
    }
}

void td_flow_table_set_shard(struct td_flow_table *t, uint32_t shard, uint32_t num_shards)
{
    t->shard = shard;
    t->num_shards = num_shards;
}

void td_flow_table_expire(struct td_flow_table *t, int64_t now_ns)
{
    while (t->lru_head != NULL && is_expired(t, t->lru_head->info.last_ts_ns, now_ns)) {
        flow_close(t, t->lru_head, TD_FLOW_END_IDLE);
    }
    while (t->tomb_head != NULL && is_expired(t, t->tomb_head->closed_ts_ns, now_ns)) {
        tomb_remove(t, t->tomb_head);
    }
}

uint64_t td_flow_table_active(const struct td_flow_table *t)
{
    return t->flows.count;
}

const struct td_flow_stats *td_flow_table_stats(const struct td_flow_table *t)
{
    return &t->stats;
}

/* td_flow_table_free discards open flows without callbacks (call td_flow_table_flush first to report
 * them), then frees the table. */
void td_flow_table_free(struct td_flow_table *t)
{
    if (t == NULL) {
        return;
    }
    struct td_flow *f = t->age_head;
    while (f != NULL) {
        struct td_flow *next = f->age_next;
        td_reasm_cleanup(&f->reasm[TD_DIR_C2S]);
        td_reasm_cleanup(&f->reasm[TD_DIR_S2C]);
        if (f->cls != NULL) {
            td_classify_result(t->classifier, &f->cls, &f->info.app_protocol, &f->info.master_protocol);
        }
        flow_free(f);
        f = next;
    }
    while (t->tomb_head != NULL) {
        struct tomb *next = t->tomb_head->next;
        free(t->tomb_head);
        t->tomb_head = next;
    }
    free(t->flows.buckets);
    free(t->tombs.buckets);
    td_classifier_free(t->classifier);
    free(t);
}
