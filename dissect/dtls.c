/* SPDX-License-Identifier: MIT */
/* dtls.c: the DTLS record layer over UDP datagrams: records found in each datagram, handshake fragments
 * reassembled per message_seq and handed over in order, retransmitted flights counted and not parsed again, DTLS
 * 1.3 unified-header records counted and never read; complete messages go to the TLS state machine (conn.c).
 * RFC 6347 §4.1 (record layer), §4.2.1 (HelloVerifyRequest, cookie), §4.2.2 (handshake message format), §4.2.4
 * (timeout and retransmission); RFC 4347 (DTLS 1.0); RFC 9147 §4 (DTLS 1.3 record layer, unified header);
 * RFC 7983 §7 / RFC 9443 §3 (first-byte demultiplexing of DTLS, STUN, RTP on one port). */
#include <stdlib.h>
#include <string.h>

#include "../capture/flow.h"
#include "conn_internal.h"
#include "names.h"
#include "tls.h"

/* DTLSPlaintext: type(1) version(2) epoch(2) sequence_number(6) length(2)  (RFC 6347 §4.1) */
#define DTLS_RECORD_HEADER_LEN 13u
/* Handshake: msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3)  (RFC 6347 §4.2.2) */
#define DTLS_HS_HEADER_LEN 12u
/* Content types DTLS adds: tls12_cid (RFC 9146 §4), ack (RFC 9147 §7). Both are never read. */
#define DTLS_CT_TLS12_CID 25u
#define DTLS_CT_ACK 26u
/* RFC 9147 §4: the first byte of a DTLSCiphertext unified header is 001CSLEE. */
#define DTLS13_UNIFIED_MASK 0xe0u
#define DTLS13_UNIFIED_BITS 0x20u
#define DTLS13_FLAG_CID 0x10u
#define DTLS13_FLAG_SEQ16 0x08u
#define DTLS13_FLAG_LENGTH 0x04u
/* RFC 7983 §7 (RFC 9443 §3): a first byte 20..63 is DTLS; 0..3 STUN, 16..19 ZRTP, 64..79 TURN channel, 128..191
 * RTP/RTCP share the port in WebRTC and are not DTLS. */
#define DTLS_FIRST_BYTE_MIN 20u
#define DTLS_FIRST_BYTE_MAX 63u

/* Messages reassembled at once per direction. A DTLS 1.2 server flight has at most 6 messages (ServerHello ..
 * ServerHelloDone); 8 leaves room for a reordered flight. Each slot costs ~180 bytes without its buffer. */
#define DTLS_MAX_PENDING 8u
/* Disjoint byte ranges tracked per message. Real stacks fragment into a handful of pieces sent in order; a
 * message still in more than 16 pieces after merging is given up (resource.reassembly_cap). */
#define DTLS_MAX_RANGES 16u
/* Messages remembered per direction after hand-over, to tell a retransmission from a new message. */
#define DTLS_HISTORY 32u
/* Body bytes hashed to tell a resent message from a new one with the same message_seq and type (a fresh
 * ClientHello of a restarted client differs in its random within the first 34 bytes). */
#define DTLS_PREFIX_LEN 64u
/* A message_seq this far beyond the next expected one starts over (a new handshake, or one picked up late). */
#define DTLS_SEQ_WINDOW 32u
/* Message buffers above this size are freed after use instead of kept for the next message. */
#define DTLS_KEEP_BUF_LEN (64u * 1024u)

struct range {
    uint32_t lo, hi; /* [lo, hi) */
};

/* A handshake message being reassembled, or complete and waiting for the messages before it. */
struct pending_msg {
    bool used;
    bool too_large;        /* length over limits.max_hs_msg_bytes: ranges tracked, bytes not kept */
    bool given_up;         /* too many ranges: its fragments are ignored until the connection ends */
    uint8_t type;
    uint16_t seq;
    uint16_t record_version;
    uint32_t msg_len;
    uint8_t *buf;          /* grows with the highest byte received, never past msg_len */
    size_t buf_cap;
    uint32_t num_ranges;
    struct range ranges[DTLS_MAX_RANGES];
    struct td_evidence ev; /* the fragment that completed it */
};

struct delivered {
    uint16_t seq;
    uint8_t type;
    uint32_t len;
    uint32_t prefix_len;   /* bytes hashed, 0 when the body was not kept */
    uint64_t prefix_hash;
};

struct dtls_dir {
    bool seq_known;
    uint16_t next_seq;     /* message_seq handed over next */
    struct delivered done[DTLS_HISTORY];
    uint32_t num_done;     /* all handed over; done[] is a ring */
    struct pending_msg pending[DTLS_MAX_PENDING];
    bool ccs_seen;         /* a plaintext ChangeCipherSpec was handed over: another one is resent */
    bool resending;        /* the last plaintext handshake record was resent: the protected Finished that
                              follows it belongs to the same resent flight */
};

struct td_dtls {
    struct dtls_dir dir[2];
};

/* A fragment header and its bytes (RFC 6347 §4.2.2). */
struct fragment {
    uint8_t type;
    uint32_t msg_len;
    uint16_t seq;
    uint32_t off;
    uint32_t len;
    struct td_cursor data;
};

static uint8_t role_of(const struct td_tls_conn *c, int dir)
{
    return (uint8_t)(((unsigned)dir ^ (c->facts.roles_swapped ? 1u : 0u)) & 1u);
}

static void count_resent(struct td_tls_conn *c, int dir)
{
    c->facts.dtls_retransmitted[role_of(c, dir)]++;
}

/* FNV-1a over the first n bytes of cur (a digest for equality only, not security: a peer that forges a
 * collision only hides its own message). */
static uint64_t prefix_hash(struct td_cursor cur, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    uint8_t b;
    for (size_t i = 0; i < n && td_cursor_get_u8(&cur, &b); i++) {
        h = (h ^ b) * 0x100000001b3ull;
    }
    return h;
}

static bool is_dtls_record_version(uint16_t v)
{
    return v == TD_VERSION_DTLS10 || v == TD_VERSION_DTLS12 || v == TD_VERSION_DTLS13 ||
           v == TD_VERSION_DTLS10_OPENSSL_PRE;
}

/* --- handshake reassembly --- */

static void msg_clear(struct pending_msg *m)
{
    uint8_t *buf = m->buf;
    size_t cap = m->buf_cap;
    if (cap > DTLS_KEEP_BUF_LEN) {
        free(buf);
        buf = NULL;
        cap = 0;
    }
    memset(m, 0, sizeof(*m));
    m->buf = buf;
    m->buf_cap = cap;
}

static bool msg_complete(const struct pending_msg *m)
{
    if (m->msg_len == 0) {
        return true;
    }
    return m->num_ranges == 1 && m->ranges[0].lo == 0 && m->ranges[0].hi == m->msg_len;
}

static bool range_covered(const struct pending_msg *m, uint32_t lo, uint32_t hi)
{
    for (uint32_t i = 0; i < m->num_ranges; i++) {
        if (m->ranges[i].lo <= lo && hi <= m->ranges[i].hi) {
            return true;
        }
    }
    return false;
}

/* add_range merges [lo, hi) into the sorted disjoint ranges. False when a new disjoint range does not fit. */
static bool add_range(struct pending_msg *m, uint32_t lo, uint32_t hi)
{
    struct range merged = {lo, hi};
    struct range out[DTLS_MAX_RANGES + 1];
    uint32_t n = 0;
    bool placed = false;
    for (uint32_t i = 0; i < m->num_ranges; i++) {
        struct range r = m->ranges[i];
        if (r.hi < merged.lo) {
            out[n++] = r;
        } else if (merged.hi < r.lo) {
            if (!placed) {
                out[n++] = merged;
                placed = true;
            }
            out[n++] = r;
        } else {
            merged.lo = r.lo < merged.lo ? r.lo : merged.lo;
            merged.hi = r.hi > merged.hi ? r.hi : merged.hi;
        }
    }
    if (!placed) {
        out[n++] = merged;
    }
    if (n > DTLS_MAX_RANGES) {
        return false;
    }
    memcpy(m->ranges, out, n * sizeof(out[0]));
    m->num_ranges = n;
    return true;
}

/* dir_buf_bytes: what the message buffers of a direction hold, kept spare ones included. */
static size_t dir_buf_bytes(const struct dtls_dir *dd)
{
    size_t n = 0;
    for (uint32_t i = 0; i < DTLS_MAX_PENDING; i++) {
        n += dd->pending[i].buf_cap;
    }
    return n;
}

static void free_spare_bufs(struct dtls_dir *dd)
{
    for (uint32_t i = 0; i < DTLS_MAX_PENDING; i++) {
        struct pending_msg *m = &dd->pending[i];
        if (!m->used) {
            free(m->buf);
            m->buf = NULL;
            m->buf_cap = 0;
        }
    }
}

/* msg_grow makes room for need_len bytes (need_len <= msg_len <= max_hs_msg_bytes): the buffer grows with the
 * bytes that arrived, never straight to the peer's claim. A fragment_offset is a claim too (one byte at the end
 * of a 1 MB message needs the whole buffer), so all the buffers of a direction together stay within budget
 * (max_hs_msg_bytes, as a TCP direction's handshake message: docs/SECURITY.md "Worst case"). */
static bool msg_grow(struct dtls_dir *dd, struct pending_msg *m, size_t need_len, size_t budget)
{
    if (m->buf_cap >= need_len) {
        return true;
    }
    size_t cap = m->buf_cap < 4096 ? 4096 : m->buf_cap * 2;
    if (cap < need_len) {
        cap = need_len;
    }
    if (cap > m->msg_len) {
        cap = m->msg_len;
    }
    size_t others = dir_buf_bytes(dd) - m->buf_cap;
    if (others + cap > budget) {
        free_spare_bufs(dd);
        others = dir_buf_bytes(dd) - m->buf_cap;
        cap = need_len;
    }
    if (others + cap > budget) {
        return false;
    }
    uint8_t *p = realloc(m->buf, cap);
    if (p == NULL) {
        return false;
    }
    m->buf = p;
    m->buf_cap = cap;
    return true;
}

/* seq_before: message_seq s comes before n. message_seq is a 16-bit counter (RFC 6347 §4.2.2): compared as
 * serial numbers (RFC 1982 §3.2), so that 65535 stays before 0 when a hostile or long-lived peer wraps it. */
static bool seq_before(uint16_t s, uint16_t n)
{
    uint16_t d = (uint16_t)(n - s);
    return d != 0 && d < 0x8000u;
}

static struct pending_msg *find_pending(struct dtls_dir *dd, uint16_t seq)
{
    for (uint32_t i = 0; i < DTLS_MAX_PENDING; i++) {
        if (dd->pending[i].used && dd->pending[i].seq == seq) {
            return &dd->pending[i];
        }
    }
    return NULL;
}

static const struct delivered *find_delivered(const struct dtls_dir *dd, uint16_t seq)
{
    uint32_t num = dd->num_done < DTLS_HISTORY ? dd->num_done : DTLS_HISTORY;
    for (uint32_t k = 1; k <= num; k++) {
        const struct delivered *d = &dd->done[(dd->num_done - k) % DTLS_HISTORY];
        if (d->seq == seq) {
            return d;
        }
    }
    return NULL;
}

/* is_resent_delivered: a fragment of a message_seq already handed over is the same message sent again, unless its
 * type or length differ or (when it starts the message) its first bytes do: then it starts a new handshake. */
static bool is_resent_delivered(const struct dtls_dir *dd, const struct fragment *f)
{
    const struct delivered *d = find_delivered(dd, f->seq);
    if (d == NULL) {
        return true; /* older than the history: nothing says it is new */
    }
    if (d->type != f->type || d->len != f->msg_len) {
        return false;
    }
    if (f->off == 0 && d->prefix_len > 0 && f->len >= d->prefix_len) {
        return prefix_hash(f->data, d->prefix_len) == d->prefix_hash;
    }
    return true;
}

/* is_resent: the fragment brings nothing new (pass 1: no state changes). */
static bool is_resent(struct dtls_dir *dd, const struct fragment *f)
{
    if (dd->seq_known && seq_before(f->seq, dd->next_seq)) {
        return is_resent_delivered(dd, f);
    }
    const struct pending_msg *m = find_pending(dd, f->seq);
    return m != NULL && m->type == f->type && m->msg_len == f->msg_len && f->len > 0 &&
           range_covered(m, f->off, f->off + f->len);
}

static void remember(struct dtls_dir *dd, const struct pending_msg *m)
{
    struct delivered *d = &dd->done[dd->num_done % DTLS_HISTORY];
    dd->num_done++;
    *d = (struct delivered){.seq = m->seq, .type = m->type, .len = m->msg_len};
    if (!m->too_large && m->buf != NULL) {
        struct td_cursor body;
        td_cursor_init(&body, m->buf, m->msg_len, 0);
        d->prefix_len = m->msg_len < DTLS_PREFIX_LEN ? m->msg_len : DTLS_PREFIX_LEN;
        d->prefix_hash = prefix_hash(body, d->prefix_len);
    }
}

static void hand_over(struct td_tls_conn *c, int dir, struct pending_msg *m)
{
    struct dtls_dir *dd = &c->dtls->dir[dir];
    struct td_cursor body;
    td_cursor_init(&body, m->too_large ? NULL : m->buf, m->too_large ? 0 : m->msg_len, 0);
    remember(dd, m);
    dd->next_seq = (uint16_t)(m->seq + 1u);
    /* Copy what the state machine needs: the slot is reused once it returns. */
    uint8_t type = m->type;
    uint32_t msg_len = m->msg_len;
    uint16_t version = m->record_version;
    bool too_large = m->too_large;
    struct td_evidence ev = m->ev;
    td_tls_conn_on_handshake(c, dir, type, body, msg_len, version, too_large, ev);
    msg_clear(m);
}

/* deliver_ready hands over complete messages in message_seq order (RFC 6347 §4.2.2: messages are processed in
 * order; later ones wait for the missing one). */
static void deliver_ready(struct td_tls_conn *c, int dir)
{
    struct dtls_dir *dd = &c->dtls->dir[dir];
    for (;;) {
        struct pending_msg *m = find_pending(dd, dd->next_seq);
        if (m == NULL || m->given_up || !msg_complete(m)) {
            return;
        }
        hand_over(c, dir, m);
    }
}

/* drop_pending gives up every message in progress (a new handshake began): incomplete ones are truncated. */
static void drop_pending(struct td_tls_conn *c, int dir, struct td_evidence ev)
{
    struct dtls_dir *dd = &c->dtls->dir[dir];
    for (uint32_t i = 0; i < DTLS_MAX_PENDING; i++) {
        if (dd->pending[i].used) {
            td_tls_conn_anomaly(c, dir, TD_ANOM_HS_MSG_TRUNCATED, ev);
            msg_clear(&dd->pending[i]);
        }
    }
}

static struct pending_msg *new_pending(struct td_tls_conn *c, int dir, const struct fragment *f,
                                       uint16_t record_version, struct td_evidence ev)
{
    struct dtls_dir *dd = &c->dtls->dir[dir];
    struct pending_msg *m = NULL;
    for (uint32_t i = 0; i < DTLS_MAX_PENDING && m == NULL; i++) {
        if (!dd->pending[i].used) {
            m = &dd->pending[i];
        }
    }
    if (m == NULL) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_REASM_CAP, ev);
        return NULL;
    }
    m->used = true;
    m->type = f->type;
    m->seq = f->seq;
    m->msg_len = f->msg_len;
    m->record_version = record_version;
    m->num_ranges = 0;
    if ((uint64_t)f->msg_len + 4u > c->limits.max_hs_msg_bytes) {
        /* Tracked by its ranges and counted, never allocated (limits.h). */
        td_tls_conn_anomaly(c, dir, TD_ANOM_HS_MSG_TOO_LARGE, ev);
        m->too_large = true;
    }
    return m;
}

/* take_fragment: pass 2, one fragment of a plaintext handshake record. */
static void take_fragment(struct td_tls_conn *c, int dir, const struct fragment *f, uint16_t record_version,
                          struct td_evidence ev)
{
    struct dtls_dir *dd = &c->dtls->dir[dir];
    if (f->len == 0 && f->msg_len > 0) {
        return; /* brings no byte: changes nothing, holds no slot */
    }
    if (!dd->seq_known) {
        dd->seq_known = true;
        dd->next_seq = f->seq;
    }
    if (seq_before(f->seq, dd->next_seq)) {
        if (is_resent_delivered(dd, f)) {
            count_resent(c, dir);
            return;
        }
        /* Same message_seq, other content: the peer started a new handshake on this 5-tuple. */
        drop_pending(c, dir, ev);
        dd->next_seq = f->seq;
        dd->ccs_seen = false;
    } else if ((uint16_t)(f->seq - dd->next_seq) >= DTLS_SEQ_WINDOW) {
        drop_pending(c, dir, ev);
        dd->next_seq = f->seq;
    }
    struct pending_msg *m = find_pending(dd, f->seq);
    if (m != NULL && (m->type != f->type || m->msg_len != f->msg_len)) {
        /* Fragments of one message must agree on its type and length (RFC 6347 §4.2.2). */
        td_tls_conn_anomaly(c, dir, TD_ANOM_DTLS_FRAGMENT_MALFORMED, ev);
        return;
    }
    if (m == NULL) {
        m = new_pending(c, dir, f, record_version, ev);
        if (m == NULL) {
            return;
        }
    }
    if (m->given_up) {
        return;
    }
    if (f->len > 0 && range_covered(m, f->off, f->off + f->len)) {
        count_resent(c, dir);
        return;
    }
    if (f->len > 0 && !add_range(m, f->off, f->off + f->len)) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_REASM_CAP, ev);
        m->given_up = true;
        return;
    }
    if (f->len > 0 && !m->too_large) {
        struct td_cursor data = f->data;
        if (!msg_grow(dd, m, (size_t)f->off + f->len, c->limits.max_hs_msg_bytes) ||
            !td_cursor_copy(&data, &m->buf[f->off], f->len)) {
            td_tls_conn_anomaly(c, dir, TD_ANOM_REASM_CAP, ev);
            m->given_up = true;
            return;
        }
    }
    m->ev = ev;
    if (msg_complete(m)) {
        deliver_ready(c, dir);
    }
}

/* get_fragment reads one fragment header and its bytes. Returns false at the end of the record or when the rest
 * of it is no fragment (*bad set, anomaly to record). */
static bool get_fragment(struct td_cursor *body, struct fragment *f, enum td_anomaly *bad)
{
    *bad = TD_ANOM_NONE;
    if (td_cursor_len(body) == 0) {
        return false;
    }
    if (!td_cursor_get_u8(body, &f->type) || !td_cursor_get_u24(body, &f->msg_len) ||
        !td_cursor_get_u16(body, &f->seq) || !td_cursor_get_u24(body, &f->off) ||
        !td_cursor_get_u24(body, &f->len)) {
        *bad = TD_ANOM_HS_MSG_TRUNCATED; /* the record ends inside a fragment header */
        return false;
    }
    if (td_name_handshake(f->type) == NULL) {
        *bad = TD_ANOM_HS_UNKNOWN_TYPE; /* its lengths are noise: the rest of the record is dropped */
        return false;
    }
    if (!td_cursor_get_bytes(body, &f->data, f->len)) {
        *bad = TD_ANOM_HS_MSG_TRUNCATED; /* fragment_length runs past the record */
        return false;
    }
    return true;
}

/* fragment_fits: fragment_offset + fragment_length must stay within the message's length. */
static bool fragment_fits(const struct fragment *f)
{
    return (uint64_t)f->off + f->len <= f->msg_len;
}

/* --- records --- */

struct dtls_record {
    uint8_t type;
    uint16_t version;
    uint16_t epoch;
    bool unified;          /* DTLS 1.3 DTLSCiphertext */
    struct td_cursor body;
};

static void emit_record(struct td_tls_conn *c, int dir, const struct dtls_record *rec, bool is_protected,
                        bool resent, struct td_evidence ev)
{
    struct td_record_info r = {
        .type = rec->type,
        .version = rec->version,
        .len = (uint32_t)td_cursor_len(&rec->body),
        .is_protected = is_protected,
        .retransmitted = resent,
    };
    if (resent) {
        count_resent(c, dir);
    }
    /* hs_idle is false: the TLS check that a first handshake record is hello-shaped reads a TLS handshake header;
     * in DTLS the epoch already tells protected from plaintext. */
    bool wants_fragments = td_tls_conn_on_record(c, dir, &r, is_protected ? NULL : &rec->body, false, ev);
    (void)wants_fragments; /* only plaintext handshake records carry fragments: handshake_record reads those */
}

/* handshake_record: a plaintext (epoch 0) handshake record: pass 1 decides whether it only repeats what was seen
 * (then it is counted, not parsed), pass 2 reassembles its fragments. */
static void handshake_record(struct td_tls_conn *c, int dir, const struct dtls_record *rec, struct td_evidence ev)
{
    struct dtls_dir *dd = &c->dtls->dir[dir];
    struct td_cursor scan = rec->body;
    struct fragment f;
    enum td_anomaly bad;
    uint32_t num = 0, num_resent = 0;
    while (get_fragment(&scan, &f, &bad)) {
        num++;
        num_resent += fragment_fits(&f) && is_resent(dd, &f) ? 1u : 0u;
    }
    bool all_resent = num > 0 && num_resent == num && bad == TD_ANOM_NONE;
    dd->resending = all_resent;
    struct td_record_info r = {
        .type = rec->type,
        .version = rec->version,
        .len = (uint32_t)td_cursor_len(&rec->body),
        .retransmitted = all_resent,
    };
    if (all_resent) {
        c->facts.dtls_retransmitted[role_of(c, dir)] += num;
    }
    bool dispatch = td_tls_conn_on_record(c, dir, &r, &rec->body, false, ev);
    if (all_resent || !dispatch) {
        return;
    }
    struct td_cursor body = rec->body;
    while (get_fragment(&body, &f, &bad)) {
        if (!fragment_fits(&f)) {
            /* Bytes beyond the message's declared end: the fragment is dropped. */
            td_tls_conn_anomaly(c, dir, TD_ANOM_DTLS_FRAGMENT_MALFORMED, ev);
            continue;
        }
        take_fragment(c, dir, &f, rec->version, ev);
    }
    td_tls_conn_anomaly(c, dir, bad, ev);
}

static void plaintext_record(struct td_tls_conn *c, int dir, const struct dtls_record *rec, struct td_evidence ev)
{
    struct dtls_dir *dd = &c->dtls->dir[dir];
    size_t len = td_cursor_len(&rec->body);
    if (len == 0 && (rec->type == TD_CT_HANDSHAKE || rec->type == TD_CT_ALERT)) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_RECORD_EMPTY, ev);
    }
    switch (rec->type) {
    case TD_CT_HANDSHAKE:
        handshake_record(c, dir, rec, ev);
        return;
    case TD_CT_CHANGE_CIPHER_SPEC: {
        /* A second plaintext CCS in one direction is its flight sent again (renegotiation's is protected). */
        bool resent = dd->ccs_seen;
        dd->ccs_seen = true;
        emit_record(c, dir, rec, false, resent, ev);
        return;
    }
    case TD_CT_APPLICATION_DATA:
    case DTLS_CT_TLS12_CID:
        emit_record(c, dir, rec, true, false, ev);
        return;
    default:
        /* alert, heartbeat, ack: read by the state machine as in TLS (an epoch 0 alert is plaintext) */
        emit_record(c, dir, rec, false, false, ev);
        return;
    }
}

static void protected_record(struct td_tls_conn *c, int dir, const struct dtls_record *rec, struct td_evidence ev)
{
    struct dtls_dir *dd = &c->dtls->dir[dir];
    if (rec->unified) {
        c->facts.dtls_unified_records[role_of(c, dir)]++;
    }
    /* The Finished of a resent flight follows its resent plaintext part (RFC 6347 §4.2.4: flights are resent
     * whole); the flight ends with it. */
    bool resent = rec->type == TD_CT_HANDSHAKE && dd->resending;
    if (rec->type == TD_CT_HANDSHAKE) {
        dd->resending = false;
    }
    emit_record(c, dir, rec, true, resent, ev);
}

/* get_unified: a DTLS 1.3 DTLSCiphertext (RFC 9147 §4): 001CSLEE, [connection_id], sequence (8 or 16 bits),
 * [length (16 bits)], encrypted_record. Without a length it runs to the end of the datagram. A connection id's
 * length was negotiated out of our sight: the rest of the datagram is taken as one record. */
static bool get_unified(struct td_cursor *in, struct dtls_record *rec)
{
    uint8_t b0, seq8;
    uint16_t seq16, len;
    if (!td_cursor_get_u8(in, &b0)) {
        return false;
    }
    rec->type = TD_CT_APPLICATION_DATA; /* the real type is encrypted (RFC 9147 §4) */
    rec->version = TD_VERSION_DTLS13;
    rec->epoch = (uint16_t)(b0 & 0x03u);
    rec->unified = true;
    if ((b0 & DTLS13_FLAG_CID) != 0) {
        return td_cursor_get_bytes(in, &rec->body, td_cursor_len(in));
    }
    bool seq_ok = (b0 & DTLS13_FLAG_SEQ16) != 0 ? td_cursor_get_u16(in, &seq16) : td_cursor_get_u8(in, &seq8);
    if (!seq_ok) {
        return false;
    }
    if ((b0 & DTLS13_FLAG_LENGTH) == 0) {
        return td_cursor_get_bytes(in, &rec->body, td_cursor_len(in));
    }
    return td_cursor_get_u16(in, &len) && td_cursor_get_bytes(in, &rec->body, len);
}

/* get_plaintext_header reads a DTLSPlaintext header (RFC 6347 §4.1) and carves out its body. */
static bool get_plaintext(struct td_cursor *in, struct dtls_record *rec, uint16_t *len)
{
    uint16_t seq_hi;
    uint32_t seq_lo;
    rec->unified = false;
    return td_cursor_get_u8(in, &rec->type) && td_cursor_get_u16(in, &rec->version) &&
           td_cursor_get_u16(in, &rec->epoch) && td_cursor_get_u16(in, &seq_hi) && td_cursor_get_u32(in, &seq_lo) &&
           td_cursor_get_u16(in, len);
}

static bool plausible_type(uint8_t type)
{
    return type >= TD_CT_CHANGE_CIPHER_SPEC && type <= DTLS_CT_ACK;
}

/* accept_dtls: the first record of the connection was found (or another one in a known DTLS connection). */
static bool accept_dtls(struct td_tls_conn *c, int dir)
{
    if (c->dtls == NULL) {
        c->dtls = calloc(1, sizeof(*c->dtls));
        if (c->dtls == NULL) {
            return false;
        }
    }
    c->facts.dtls = true;
    c->dir[dir].mode = TD_DIR_MODE_RECORDS;
    c->dir[dir].scanned_len = 0;
    return true;
}

/* not_dtls: a datagram of a connection where no DTLS was seen yet holds none. After TD_SCAN_WINDOW_LEN such bytes
 * the direction is given up, as for TCP. */
static void not_dtls(struct td_tls_conn *c, int dir, size_t len)
{
    struct td_tls_dir *d = &c->dir[dir];
    if (c->facts.dtls) {
        return; /* STUN, RTP .. sharing the port with DTLS (RFC 7983) */
    }
    d->scanned_len += len;
    if (d->scanned_len > TD_SCAN_WINDOW_LEN) {
        d->mode = TD_DIR_MODE_NOT_TLS;
    }
}

void td_tls_conn_datagram(struct td_tls_conn *c, int dir, const uint8_t *data, size_t len, uint64_t frame,
                          int64_t ts_ns)
{
    if (c == NULL || c->finished || (dir != TD_DIR_C2S && dir != TD_DIR_S2C) || len == 0 || data == NULL) {
        return;
    }
    td_arena_active(&c->arena);
    struct td_tls_dir *d = &c->dir[dir];
    if (d->mode == TD_DIR_MODE_NOT_TLS) {
        return;
    }
    struct td_evidence ev = {.frame = frame, .ts_ns = ts_ns};
    if (!d->has_data) {
        d->has_data = true;
        d->first_data_ev = ev;
    }
    struct td_cursor in;
    td_cursor_init(&in, data, len, 0);
    uint8_t b0;
    if (!td_cursor_peek_u8(&in, &b0) || b0 < DTLS_FIRST_BYTE_MIN || b0 > DTLS_FIRST_BYTE_MAX) {
        not_dtls(c, dir, len);
        return;
    }
    uint32_t num_records = 0;
    while (td_cursor_len(&in) > 0) {
        if (num_records >= c->limits.max_records_per_chunk) {
            td_tls_conn_anomaly(c, dir, TD_ANOM_RECORDS_PER_CHUNK, ev);
            return;
        }
        bool known = c->facts.dtls;
        struct dtls_record rec;
        if (!td_cursor_peek_u8(&in, &b0)) {
            return;
        }
        if ((b0 & DTLS13_UNIFIED_MASK) == DTLS13_UNIFIED_BITS) {
            /* Only inside a connection already known as DTLS: the bit pattern alone says little. */
            if (!known) {
                not_dtls(c, dir, len);
                return;
            }
            if (!get_unified(&in, &rec)) {
                td_tls_conn_anomaly(c, dir, TD_ANOM_RECORD_TRUNCATED, ev);
                return;
            }
        } else {
            uint16_t rec_len;
            if (!get_plaintext(&in, &rec, &rec_len)) {
                if (known) {
                    td_tls_conn_anomaly(c, dir, TD_ANOM_RECORD_TRUNCATED, ev);
                } else {
                    not_dtls(c, dir, len);
                }
                return;
            }
            if (!plausible_type(rec.type) || !is_dtls_record_version(rec.version)) {
                if (!known) {
                    not_dtls(c, dir, len);
                    return;
                }
                /* Datagram boundaries are record boundaries: nothing to resynchronise, the rest is dropped. */
                td_tls_conn_anomaly(c, dir,
                                    plausible_type(rec.type) ? TD_ANOM_RECORD_BAD_VERSION
                                                             : TD_ANOM_RECORD_BAD_CONTENT_TYPE,
                                    ev);
                return;
            }
            if (!td_cursor_get_bytes(&in, &rec.body, rec_len)) {
                /* The record runs past the datagram: snaplen, or not DTLS at all. */
                if (known) {
                    td_tls_conn_anomaly(c, dir, TD_ANOM_RECORD_TRUNCATED, ev);
                } else {
                    not_dtls(c, dir, len);
                }
                return;
            }
        }
        if (!accept_dtls(c, dir)) {
            td_tls_conn_anomaly(c, dir, TD_ANOM_REASM_CAP, ev);
            return;
        }
        num_records++;
        if (rec.epoch == 0 && !rec.unified) {
            plaintext_record(c, dir, &rec, ev);
        } else {
            protected_record(c, dir, &rec, ev);
        }
    }
}

/* --- end of connection --- */

void td_dtls_finish(struct td_tls_conn *c, struct td_evidence ev)
{
    if (c->dtls == NULL) {
        return;
    }
    for (int dir = 0; dir < 2; dir++) {
        struct dtls_dir *dd = &c->dtls->dir[dir];
        /* Hand over what is complete in message_seq order, past the missing ones; the rest is truncated. */
        for (;;) {
            struct pending_msg *lowest = NULL;
            for (uint32_t i = 0; i < DTLS_MAX_PENDING; i++) {
                struct pending_msg *m = &dd->pending[i];
                /* serial order from the next expected message_seq (pending ones are never before it) */
                if (m->used && (lowest == NULL || (uint16_t)(m->seq - dd->next_seq) <
                                                      (uint16_t)(lowest->seq - dd->next_seq))) {
                    lowest = m;
                }
            }
            if (lowest == NULL) {
                break;
            }
            if (!lowest->given_up && msg_complete(lowest)) {
                hand_over(c, dir, lowest);
                continue;
            }
            td_tls_conn_anomaly(c, dir, TD_ANOM_HS_MSG_TRUNCATED, ev);
            msg_clear(lowest);
        }
    }
}

void td_dtls_cleanup(struct td_tls_conn *c)
{
    if (c == NULL || c->dtls == NULL) {
        return;
    }
    for (int dir = 0; dir < 2; dir++) {
        for (uint32_t i = 0; i < DTLS_MAX_PENDING; i++) {
            free(c->dtls->dir[dir].pending[i].buf);
        }
    }
    free(c->dtls);
    c->dtls = NULL;
}
