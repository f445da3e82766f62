/* SPDX-License-Identifier: MIT */
/* reassembly.c: one direction of a TCP connection turned back into an ordered byte stream, with gaps
 * reported for bytes the capture never saw. RFC 9293 §3.4 (sequence numbers; SYN and FIN each occupy one),
 * RFC 1982 §3.2 (serial-number comparison), RFC 7413 §2 (TCP Fast Open: data in the SYN). */
#include "reassembly.h"

#include <stdlib.h>

#include "cursor.h"

/* Pieces buffered per direction at most. Bounds the sorted-list walk on each out-of-order insert and the
 * allocations behind one hole; 1024 pieces of a full-size segment is far more than max_reasm_bytes, so
 * only a peer (or a capture) sending tiny out-of-order segments reaches it, and it then counts as a cap hit. */
#define MAX_NODES 1024u

struct reasm_node {
    struct reasm_node *next;
    uint64_t off;  /* stream offset of the first byte */
    uint32_t len;  /* bytes covered */
    bool has_data; /* false: bytes that were on the wire but cut by the snaplen (delivered as a gap) */
    uint8_t data[];
};

/* The largest window TCP can advertise: 65535 << 14 (RFC 7323 §2.3), just under 2^30. */
#define MAX_WINDOW ((int64_t)1 << 30)

void td_reasm_init(struct td_reasm *r)
{
    *r = (struct td_reasm){0};
}

void td_reasm_cleanup(struct td_reasm *r)
{
    struct reasm_node *n = r->head;
    while (n != NULL) {
        struct reasm_node *next = n->next;
        free(n);
        n = next;
    }
    r->head = NULL;
    r->tail = NULL;
    r->ooo_bytes = 0;
    r->num_nodes = 0;
}

void td_reasm_syn(struct td_reasm *r, uint32_t isn)
{
    if (r->has_base) {
        return;
    }
    r->base_seq = isn + 1u;
    r->has_base = true;
}

bool td_reasm_is_complete(const struct td_reasm *r)
{
    return r->has_fin && r->head == NULL && r->next_off >= r->fin_off;
}

/* serial_diff returns a - b as a signed distance in 32-bit sequence space (RFC 1982 §3.2). */
static int64_t serial_diff(uint32_t a, uint32_t b)
{
    uint32_t d = a - b;
    if (d < 0x80000000u) {
        return (int64_t)d;
    }
    return (int64_t)d - (int64_t)0x100000000;
}

/* seq_offset maps a sequence number to a stream offset near next_off (negative: before offset 0). */
static int64_t seq_offset(const struct td_reasm *r, uint32_t seq)
{
    uint32_t next_seq = r->base_seq + (uint32_t)(r->next_off & 0xffffffffu);
    return (int64_t)r->next_off + serial_diff(seq, next_seq);
}

static void emit_data(const struct td_reasm_sink *s, const uint8_t *data, size_t len, uint64_t off)
{
    if (len == 0 || s->cb->on_data == NULL) {
        return;
    }
    s->cb->on_data(s->cb->ctx, s->user, s->dir, data, len, off, s->frame, s->ts_ns);
}

static void emit_gap(struct td_reasm *r, const struct td_reasm_sink *s, uint64_t len)
{
    if (len == 0) {
        return;
    }
    s->info->gaps[s->dir]++;
    s->info->gap_bytes[s->dir] += len;
    if (s->cb->on_gap != NULL) {
        s->cb->on_gap(s->cb->ctx, s->user, s->dir, r->next_off, len, s->frame, s->ts_ns);
    }
    r->next_off += len;
}

/* deliver_from hands on the part of [off, off + wire_len) beyond next_off: captured bytes from data
 * (which views cap_len bytes starting at off), then a gap for the uncaptured tail. off <= next_off. */
static void deliver_from(struct td_reasm *r, const struct td_reasm_sink *s, uint64_t off, struct td_cursor *data,
                         uint64_t cap_len, uint64_t wire_len)
{
    uint64_t skip = r->next_off - off;
    if (skip < cap_len) {
        struct td_cursor piece = *data;
        size_t n = (size_t)(cap_len - skip);
        if (td_cursor_skip(&piece, (size_t)skip) && td_cursor_len(&piece) >= n) {
            emit_data(s, td_cursor_data(&piece), n, r->next_off);
            r->next_off += n;
        }
    }
    uint64_t end = off + wire_len;
    if (r->next_off < end) {
        emit_gap(r, s, end - r->next_off);
    }
}

/* drain delivers buffered pieces that are now contiguous with next_off, freeing them. */
static void drain(struct td_reasm *r, const struct td_reasm_sink *s)
{
    while (r->head != NULL && r->head->off <= r->next_off) {
        struct reasm_node *n = r->head;
        r->head = n->next;
        if (r->head == NULL) {
            r->tail = NULL;
        }
        r->num_nodes--;
        if (n->has_data) {
            r->ooo_bytes -= n->len;
        }
        if (n->off + n->len > r->next_off) {
            struct td_cursor c;
            td_cursor_init(&c, n->data, n->has_data ? n->len : 0, n->off);
            deliver_from(r, s, n->off, &c, n->has_data ? n->len : 0, n->len);
        }
        free(n);
    }
}

/* flush_holes gives up on every hole in front of buffered data: gap, deliver, repeat until empty. */
static void flush_holes(struct td_reasm *r, const struct td_reasm_sink *s)
{
    while (r->head != NULL) {
        if (r->head->off > r->next_off) {
            emit_gap(r, s, r->head->off - r->next_off);
        }
        drain(r, s);
    }
}

/* new_node allocates a piece covering [off, off + len), copying len bytes from data when it is given. */
static struct reasm_node *new_node(uint64_t off, uint32_t len, struct td_cursor *data)
{
    struct reasm_node *n = malloc(sizeof(*n) + (data != NULL ? len : 0u));
    if (n == NULL) {
        return NULL;
    }
    n->next = NULL;
    n->off = off;
    n->len = len;
    n->has_data = data != NULL;
    if (data != NULL && !td_cursor_copy(data, n->data, len)) {
        free(n);
        return NULL;
    }
    return n;
}

/* insert_range buffers the parts of [off, off + len) not already buffered (the first copy of a byte
 * wins, as most stacks keep what they queued first). data views the bytes, or is NULL for an uncaptured
 * range. Returns the bytes newly covered; stops early when the node cap is reached or malloc fails. */
static uint64_t insert_range(struct td_reasm *r, uint64_t off, uint32_t len, struct td_cursor *data)
{
    uint64_t added = 0;
    struct reasm_node **link = &r->head;
    /* Common case: the new piece continues past everything buffered. */
    if (r->tail != NULL && off >= r->tail->off + r->tail->len) {
        link = &r->tail->next;
    }
    while (len > 0) {
        while (*link != NULL && (*link)->off + (*link)->len <= off) {
            link = &(*link)->next;
        }
        struct reasm_node *next = *link;
        if (next != NULL && next->off <= off) {
            uint64_t overlap = next->off + next->len - off;
            uint32_t skip = overlap < len ? (uint32_t)overlap : len;
            if (data != NULL && !td_cursor_skip(data, skip)) {
                return added;
            }
            off += skip;
            len -= skip;
            continue;
        }
        uint32_t piece = len;
        if (next != NULL && next->off < off + len) {
            piece = (uint32_t)(next->off - off);
        }
        if (r->num_nodes >= MAX_NODES) {
            return added;
        }
        struct reasm_node *n = new_node(off, piece, data);
        if (n == NULL) {
            return added;
        }
        n->next = next;
        *link = n;
        if (next == NULL) {
            r->tail = n;
        }
        link = &n->next;
        r->num_nodes++;
        if (data != NULL) {
            r->ooo_bytes += piece;
        }
        added += piece;
        off += piece;
        len -= piece;
    }
    return added;
}

/* buffer_ahead keeps a segment that starts beyond next_off until the hole before it is filled. */
static void buffer_ahead(struct td_reasm *r, const struct td_reasm_sink *s, uint64_t off, struct td_cursor *data,
                         uint32_t cap_len, uint32_t wire_len)
{
    bool fits = (uint64_t)r->ooo_bytes + cap_len <= s->max_reasm_bytes && r->num_nodes + 2u <= MAX_NODES;
    if (!fits) {
        /* The cap is reached: the holes in front of what is buffered will not be waited for any longer. */
        s->info->reasm_cap_hits[s->dir]++;
        flush_holes(r, s);
        if (off + wire_len <= r->next_off) {
            return;
        }
        if (off <= r->next_off || cap_len > s->max_reasm_bytes) {
            if (off > r->next_off) {
                emit_gap(r, s, off - r->next_off);
            }
            deliver_from(r, s, off, data, cap_len, wire_len);
            return;
        }
    }
    uint64_t added = insert_range(r, off, cap_len, data);
    if (wire_len > cap_len) {
        added += insert_range(r, off + cap_len, wire_len - cap_len, NULL);
    }
    if (added == 0) {
        s->info->retransmissions[s->dir]++;
        return;
    }
    s->info->out_of_order[s->dir]++;
}

void td_reasm_add(struct td_reasm *r, const struct td_reasm_sink *s, uint32_t seq, const uint8_t *payload,
                  uint32_t cap_len, uint32_t wire_len, bool fin)
{
    if (cap_len > wire_len) {
        wire_len = cap_len; /* decode guarantees the opposite; do not trust it blindly */
    }
    if (!r->has_base) {
        if (wire_len == 0 && !fin) {
            return;
        }
        /* Mid-stream: the first byte seen is offset 0. */
        r->base_seq = seq;
        r->has_base = true;
    }
    int64_t off = seq_offset(r, seq);
    if (r->next_off == 0 && r->head == NULL && !r->has_fin && (off > MAX_WINDOW || off < -MAX_WINDOW)) {
        /* Nothing delivered yet and the first data lies beyond any window the SYN allowed: the SYN we anchored
         * on belongs to another incarnation of the port pair (suricata-verify's TFO capture re-sends SYN-ACKs
         * with two ISNs). Anchor on the data instead of waiting for a hole of a billion bytes to fill. */
        r->base_seq = seq;
        off = 0;
    }
    int64_t end = off + (int64_t)wire_len;
    if (fin && !r->has_fin) {
        r->has_fin = true;
        r->fin_off = end > (int64_t)r->next_off ? (uint64_t)end : r->next_off;
    }
    if (wire_len == 0) {
        return;
    }
    if (end <= (int64_t)r->next_off) {
        s->info->retransmissions[s->dir]++;
        return;
    }
    struct td_cursor data;
    if (off < 0) {
        /* Starts before offset 0 (e.g. a retransmission reaching back over the SYN): keep the tail. */
        uint64_t skip = (uint64_t)-off;
        if (skip >= cap_len) {
            payload = NULL;
            cap_len = 0;
        }
        td_cursor_init(&data, payload, cap_len, 0);
        if (cap_len > 0 && !td_cursor_skip(&data, (size_t)skip)) {
            return;
        }
        cap_len = cap_len > skip ? cap_len - (uint32_t)skip : 0;
        wire_len -= (uint32_t)skip;
        off = 0;
    } else {
        td_cursor_init(&data, payload, cap_len, 0);
    }
    /* Nothing follows the FIN: bytes beyond it are not part of this stream. */
    if (r->has_fin && (uint64_t)off + wire_len > r->fin_off) {
        if ((uint64_t)off >= r->fin_off) {
            return;
        }
        wire_len = (uint32_t)(r->fin_off - (uint64_t)off);
        if (cap_len > wire_len) {
            cap_len = wire_len;
        }
    }
    if ((uint64_t)off > r->next_off) {
        buffer_ahead(r, s, (uint64_t)off, &data, cap_len, wire_len);
        return;
    }
    deliver_from(r, s, (uint64_t)off, &data, cap_len, wire_len);
    drain(r, s);
}

void td_reasm_ack(struct td_reasm *r, const struct td_reasm_sink *s, uint32_t ack)
{
    if (!r->has_base) {
        return;
    }
    bool fin_hole = r->has_fin && r->next_off < r->fin_off;
    if (r->head == NULL && !fin_hole) {
        return; /* no hole: an ACK ahead of us only means data is still in flight to the capture point */
    }
    int64_t ack_off = seq_offset(r, ack);
    if (ack_off <= (int64_t)r->next_off) {
        return;
    }
    uint64_t acked = (uint64_t)ack_off;
    if (r->has_fin && acked > r->fin_off) {
        acked = r->fin_off; /* the FIN's own sequence number is acknowledged too, it is no byte */
    }
    while (r->next_off < acked) {
        if (r->head != NULL && r->head->off <= r->next_off) {
            drain(r, s);
            continue;
        }
        if (r->head == NULL && !r->has_fin) {
            return; /* acknowledged beyond anything we know exists: wait for the data to show up */
        }
        uint64_t hole_end = acked;
        if (r->head != NULL && r->head->off < hole_end) {
            hole_end = r->head->off;
        }
        emit_gap(r, s, hole_end - r->next_off);
    }
    drain(r, s);
}

void td_reasm_finish(struct td_reasm *r, const struct td_reasm_sink *s)
{
    flush_holes(r, s);
    if (r->has_fin && r->next_off < r->fin_off) {
        emit_gap(r, s, r->fin_off - r->next_off);
    }
    td_reasm_cleanup(r);
}
