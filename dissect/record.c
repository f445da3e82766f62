/* SPDX-License-Identifier: MIT */
/* record.c: the TLS record layer: finds records in each direction's byte stream (on any port, after plaintext
 * STARTTLS dialogues, after gaps), buffers plaintext records and reassembles handshake messages across records
 * and segments, and skips protected bodies by counting. The only place in dissect/ that waits for more bytes.
 * RFC 5246 §6.2.1 (TLSPlaintext), §7.4 (Handshake); RFC 8446 §5.1 (record layer), §4 (handshake);
 * RFC 5246 Appendix E.2 and the SSL 2.0 draft (SSLv2 record headers). */
#include "conn_internal.h"
#include "names.h"

#include <stdlib.h>
#include <string.h>

enum verdict {
    VERDICT_NO,
    VERDICT_MATCH,
    VERDICT_NEED_MORE,
};

/* The scanner's view of the carried-over bytes followed by the current delivery. */
struct vstream {
    struct td_cursor carry;
    struct td_cursor chunk;
    size_t total_len;
};

static bool vbyte(const struct vstream *v, size_t i, uint8_t *out)
{
    size_t carry_len = td_cursor_len(&v->carry);
    if (i < carry_len) {
        return td_cursor_peek_at_u8(&v->carry, i, out);
    }
    return td_cursor_peek_at_u8(&v->chunk, i - carry_len, out);
}

/* vbytes copies n bytes from position i into out; false when fewer are available. */
static bool vbytes(const struct vstream *v, size_t i, uint8_t *out, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (!vbyte(v, i + k, &out[k])) {
            return false;
        }
    }
    return true;
}

static uint16_t be16(uint8_t hi, uint8_t lo) { return (uint16_t)((unsigned)hi << 8 | lo); }

/* A TLS record header anyone would accept: content type 20..24 (RFC 8446 §5.1, RFC 6520), version 3.0..3.4
 * (TLS 1.3 records carry 0x0301/0x0303), a body of 1 .. 2^14 + 2048 bytes. */
static bool header_plausible(uint8_t type, uint16_t version, uint32_t len)
{
    return type >= TD_CT_CHANGE_CIPHER_SPEC && type <= TD_CT_HEARTBEAT && (version >> 8) == 3 &&
           (version & 0xff) <= 4 && len >= 1 && len <= TD_RECORD_MAX_BODY;
}

/* SSLv2-format CLIENT-HELLO (RFC 5246 E.2): 2-byte header with the high bit set, msg_type 1, version 0x0002 or
 * 3.0..3.3. b holds the first 5 bytes. */
static bool sslv2_client_hello_plausible(const uint8_t b[5])
{
    uint16_t len = (uint16_t)(be16(b[0], b[1]) & 0x7fff);
    uint16_t version = be16(b[3], b[4]);
    return (b[0] & 0x80) != 0 && b[2] == 1 && len >= 9 &&
           (version == TD_VERSION_SSL2 || (version >= TD_VERSION_SSL3 && version <= TD_VERSION_TLS12));
}

/* START: the direction's very first bytes. */
static enum verdict verdict_start(struct td_tls_conn *c, int dir, const struct vstream *v)
{
    uint8_t b[5];
    if (!vbytes(v, 0, b, sizeof(b))) {
        return VERDICT_NEED_MORE;
    }
    if (header_plausible(b[0], be16(b[1], b[2]), be16(b[3], b[4]))) {
        return VERDICT_MATCH;
    }
    if (sslv2_client_hello_plausible(b)) {
        c->dir[dir].sslv2_ok = true;
        c->dir[dir].sslv2_hello_pending = true;
        return VERDICT_MATCH;
    }
    /* SSL 2.0 SERVER-HELLO (msg_type 4) answering an SSLv2 CLIENT-HELLO. */
    if ((b[0] & 0x80) != 0 && b[2] == 4 && c->sslv2_client && c->saw_client_hello && c->ch_dir != dir) {
        c->dir[dir].sslv2_ok = true;
        c->dir[dir].sslv2_hello_pending = true;
        c->sslv2_server = true;
        return VERDICT_MATCH;
    }
    return VERDICT_NO;
}

/* SCAN: plaintext before TLS. Accept only a hello-shaped record so that text cannot pass for TLS: for any side,
 * a handshake record whose first message is a ClientHello (client_version 3.x, a consistent length); for the
 * side opposite a ClientHello, also a ServerHello record or a 2-byte alert record. */
static enum verdict verdict_scan(const struct td_tls_conn *c, int dir, const struct vstream *v, size_t i)
{
    uint8_t b[TD_SCAN_LOOKAHEAD_LEN];
    if (!vbytes(v, i, b, 1)) {
        return VERDICT_NEED_MORE;
    }
    bool answers_hello = c->saw_client_hello && c->ch_dir != dir;
    if (b[0] == TD_CT_ALERT && answers_hello) {
        if (!vbytes(v, i, b, 7)) {
            return VERDICT_NEED_MORE;
        }
        bool ok = b[1] == 3 && b[2] <= 4 && be16(b[3], b[4]) == 2 &&
                  (b[5] == TD_ALERT_LEVEL_WARNING || b[5] == TD_ALERT_LEVEL_FATAL);
        return ok ? VERDICT_MATCH : VERDICT_NO;
    }
    if (b[0] != TD_CT_HANDSHAKE) {
        return VERDICT_NO;
    }
    if (!vbytes(v, i, b, sizeof(b))) {
        return VERDICT_NEED_MORE;
    }
    uint16_t rec_len = be16(b[3], b[4]);
    uint32_t hs_len = (uint32_t)b[6] << 16 | (uint32_t)be16(b[7], b[8]);
    if (!header_plausible(b[0], be16(b[1], b[2]), rec_len) || rec_len < 6 || hs_len < 38) {
        return VERDICT_NO;
    }
    /* The client's first record holds the ClientHello alone or its first fragment. */
    if (b[5] == TD_HS_CLIENT_HELLO && b[9] == 3 && b[10] <= 4 && hs_len + 4 >= rec_len) {
        return VERDICT_MATCH;
    }
    /* server_version 3.x, or 0x7fxx in TLS 1.3 drafts before -22 */
    if (b[5] == TD_HS_SERVER_HELLO && answers_hello && (b[9] == 3 || b[9] == 0x7f)) {
        return VERDICT_MATCH;
    }
    return VERDICT_NO;
}

/* RESYNC: after a gap or a broken header. A plausible header, with the version this direction used before
 * when known, followed by another plausible header (or the end of the data seen so far). */
static enum verdict verdict_resync(const struct td_tls_conn *c, int dir, const struct vstream *v, size_t i)
{
    uint8_t b[TD_RECORD_HEADER_LEN];
    if (!vbytes(v, i, b, sizeof(b))) {
        return VERDICT_NEED_MORE;
    }
    uint16_t version = be16(b[1], b[2]);
    uint16_t len = be16(b[3], b[4]);
    uint16_t last = c->dir[dir].last_version;
    if (!header_plausible(b[0], version, len) || (last != 0 && version != last)) {
        return VERDICT_NO;
    }
    size_t next = i + TD_RECORD_HEADER_LEN + len;
    uint8_t n[3];
    size_t have = next < v->total_len ? v->total_len - next : 0;
    if (have > sizeof(n)) {
        have = sizeof(n);
    }
    if (have > 0 && !vbytes(v, next, n, have)) {
        return VERDICT_NO;
    }
    if (have >= 1 && (n[0] < TD_CT_CHANGE_CIPHER_SPEC || n[0] > TD_CT_HEARTBEAT)) {
        return VERDICT_NO;
    }
    if (have >= 3 && be16(n[1], n[2]) != version && (n[1] != 3 || n[2] > 4)) {
        return VERDICT_NO;
    }
    return VERDICT_MATCH;
}

static void consume_all(struct td_cursor *in)
{
    td_cursor_init(in, NULL, 0, td_cursor_off(in) + td_cursor_len(in));
}

static void hs_clear(struct td_hs_reasm *hs)
{
    hs->hdr_len = 0;
    hs->have_len = 0;
    hs->msg_len = 0;
    hs->skip_len = 0;
    /* Keep small buffers for the next message; give back big ones (a 340 KB Certificate is a one-off). */
    if (hs->buf_cap > 64u * 1024u) {
        free(hs->buf);
        hs->buf = NULL;
        hs->buf_cap = 0;
    }
}

void td_tls_record_hs_reset(struct td_tls_conn *c, int dir, bool truncated, struct td_evidence ev)
{
    struct td_hs_reasm *hs = &c->dir[dir].hs;
    if (truncated && hs->hdr_len > 0) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_HS_MSG_TRUNCATED, ev);
    }
    hs_clear(hs);
}

static void record_reset(struct td_tls_dir *d)
{
    d->hdr_len = 0;
    d->hdr_need = 0;
    d->in_body = false;
    d->sslv2_rec = false;
    d->body_len = 0;
    d->rec_len = 0;
    d->opaque = false;
    d->is_protected = false;
    d->dropping = false;
}

/* enter_resync: the record boundary is lost. carry (may be empty) holds bytes already taken that the scanner
 * must still look at. */
static void enter_resync(struct td_tls_conn *c, int dir, struct td_cursor carry, struct td_evidence ev)
{
    struct td_tls_dir *d = &c->dir[dir];
    record_reset(d);
    td_tls_record_hs_reset(c, dir, true, ev);
    d->mode = TD_DIR_MODE_RESYNC;
    d->scanned_len = 0;
    size_t n = td_cursor_len(&carry);
    if (n > sizeof(d->carry)) {
        n = sizeof(d->carry);
    }
    d->carry_len = td_cursor_copy(&carry, d->carry, n) ? (uint8_t)n : 0;
}

/* hs_grow makes room for need_len bytes of the current message (need_len <= msg_len <= max_hs_msg_bytes):
 * the buffer grows with the bytes that arrived, never straight to the peer's claim. */
static bool hs_grow(struct td_hs_reasm *hs, size_t need_len)
{
    if (hs->buf_cap >= need_len) {
        return true;
    }
    size_t cap = hs->buf_cap < 4096 ? 4096 : hs->buf_cap * 2;
    if (cap < need_len) {
        cap = need_len;
    }
    if (cap > hs->msg_len) {
        cap = hs->msg_len;
    }
    uint8_t *p = realloc(hs->buf, cap);
    if (p == NULL) {
        return false;
    }
    hs->buf = p;
    hs->buf_cap = cap;
    return true;
}

static void hs_dispatch(struct td_tls_conn *c, int dir, struct td_cursor msg, struct td_evidence ev)
{
    struct td_hs_reasm *hs = &c->dir[dir].hs;
    uint8_t type = hs->type;
    uint32_t msg_len = hs->msg_len;
    uint16_t version = hs->record_version;
    hs->hdr_len = 0;
    hs->have_len = 0;
    td_tls_conn_on_handshake(c, dir, type, msg, msg_len, version, false, ev);
}

/* hs_feed: the plaintext body of a complete handshake record. Messages wholly inside the record are parsed in
 * place; a message spanning records is gathered into hs->buf (RFC 5246 §6.2.1: "multiple client messages of the
 * same ContentType MAY be coalesced ... or fragmented across several records"). */
static void hs_feed(struct td_tls_conn *c, int dir, struct td_cursor body, uint16_t record_version,
                    struct td_evidence ev)
{
    struct td_hs_reasm *hs = &c->dir[dir].hs;
    while (td_cursor_len(&body) > 0) {
        if (hs->skip_len > 0) {
            size_t n = td_cursor_len(&body) < hs->skip_len ? td_cursor_len(&body) : hs->skip_len;
            if (!td_cursor_skip(&body, n)) {
                return;
            }
            hs->skip_len -= (uint32_t)n;
            continue;
        }
        if (hs->hdr_len < sizeof(hs->hdr)) {
            size_t n = sizeof(hs->hdr) - hs->hdr_len;
            if (n > td_cursor_len(&body)) {
                n = td_cursor_len(&body);
            }
            if (hs->hdr_len == 0) {
                hs->record_version = record_version;
            }
            if (!td_cursor_copy(&body, &hs->hdr[hs->hdr_len], n)) {
                return;
            }
            hs->hdr_len = (uint8_t)(hs->hdr_len + n);
            if (hs->hdr_len < sizeof(hs->hdr)) {
                return;
            }
            struct td_cursor h;
            td_cursor_init(&h, hs->hdr, sizeof(hs->hdr), 0);
            if (!td_cursor_get_u8(&h, &hs->type) || !td_cursor_get_u24(&h, &hs->msg_len)) {
                return;
            }
            hs->have_len = 0;
            if (td_name_handshake(hs->type) == NULL) {
                /* No stack sends an unassigned type: these are protected or corrupt bytes, and their length is
                 * noise. Record it and drop the rest of the record rather than wait for a message that is not one. */
                td_tls_conn_anomaly(c, dir, TD_ANOM_HS_UNKNOWN_TYPE, ev);
                hs->hdr_len = 0;
                return;
            }
            if ((uint64_t)hs->msg_len + 4 > c->limits.max_hs_msg_bytes) {
                /* Recorded and skipped by counting, never allocated (limits.h). */
                td_tls_conn_anomaly(c, dir, TD_ANOM_HS_MSG_TOO_LARGE, ev);
                struct td_cursor none;
                td_cursor_init(&none, NULL, 0, td_cursor_off(&body));
                td_tls_conn_on_handshake(c, dir, hs->type, none, hs->msg_len, hs->record_version, true, ev);
                hs->skip_len = hs->msg_len;
                hs->hdr_len = 0;
                continue;
            }
            if (hs->msg_len == 0) {
                struct td_cursor none;
                td_cursor_init(&none, NULL, 0, td_cursor_off(&body));
                hs_dispatch(c, dir, none, ev);
                continue;
            }
        }
        if (td_cursor_len(&body) == 0) {
            return; // the header ended the record: the body comes in the next one (no empty copy into no buffer)
        }
        uint32_t need = hs->msg_len - hs->have_len;
        if (hs->have_len == 0 && td_cursor_len(&body) >= need) {
            struct td_cursor msg;
            if (!td_cursor_get_bytes(&body, &msg, need)) {
                return;
            }
            hs_dispatch(c, dir, msg, ev);
            continue;
        }
        size_t n = td_cursor_len(&body) < need ? td_cursor_len(&body) : need;
        if (!hs_grow(hs, (size_t)hs->have_len + n)) {
            td_tls_conn_anomaly(c, dir, TD_ANOM_REASM_CAP, ev);
            hs->skip_len = need;
            hs->hdr_len = 0;
            continue;
        }
        if (!td_cursor_copy(&body, &hs->buf[hs->have_len], n)) {
            return;
        }
        hs->have_len += (uint32_t)n;
        if (hs->have_len == hs->msg_len) {
            struct td_cursor msg;
            td_cursor_init(&msg, hs->buf, hs->have_len, 0);
            hs_dispatch(c, dir, msg, ev);
        }
    }
}

/* hs_lost_record: a handshake record of len bytes was not seen whole. When it lies inside a message whose length
 * is known, the rest of that message is skipped by counting, so the messages after it stay in step. */
static void hs_lost_record(struct td_tls_conn *c, int dir, uint32_t len, struct td_evidence ev)
{
    struct td_hs_reasm *hs = &c->dir[dir].hs;
    if (hs->skip_len > 0) {
        hs->skip_len = len < hs->skip_len ? hs->skip_len - len : 0;
        return;
    }
    if (hs->hdr_len == sizeof(hs->hdr) && len < hs->msg_len - hs->have_len) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_HS_MSG_TRUNCATED, ev);
        hs->skip_len = hs->msg_len - hs->have_len - len;
        hs->hdr_len = 0;
        hs->have_len = 0;
        return;
    }
    td_tls_record_hs_reset(c, dir, true, ev);
}

/* complete_record hands a finished record to the state machine. body is NULL when it was not kept. */
static void complete_record(struct td_tls_conn *c, int dir, const struct td_cursor *body, struct td_evidence ev)
{
    struct td_tls_dir *d = &c->dir[dir];
    bool lost = d->dropping;
    if (d->sslv2_rec) {
        td_tls_conn_on_sslv2(c, dir, lost ? NULL : body, d->rec_len, ev);
        d->sslv2_hello_pending = false;
        record_reset(d);
        return;
    }
    struct td_record_info r = {
        .type = d->type,
        .version = d->version,
        .len = d->rec_len,
        .is_protected = d->is_protected,
        .lost = lost || (body == NULL && !d->is_protected),
    };
    bool hs_idle = d->hs.hdr_len == 0 && d->hs.skip_len == 0;
    bool plaintext = !d->is_protected && !r.lost;
    if (plaintext && r.type != TD_CT_HANDSHAKE && r.type != TD_CT_APPLICATION_DATA && !hs_idle) {
        /* RFC 8446 §5.1: handshake messages MUST NOT be interleaved with other record types. */
        td_tls_conn_anomaly(c, dir, TD_ANOM_HS_INTERLEAVED, ev);
    }
    if (r.type == TD_CT_HANDSHAKE && r.lost) {
        hs_lost_record(c, dir, r.len, ev);
        hs_idle = false;
    }
    uint8_t type = d->type;
    uint16_t version = d->version;
    record_reset(d);
    bool dispatch = td_tls_conn_on_record(c, dir, &r, r.lost ? NULL : body, hs_idle, ev);
    if (dispatch && body != NULL && type == TD_CT_HANDSHAKE) {
        hs_feed(c, dir, *body, version, ev);
    }
}

/* read_header takes header bytes from in. Returns true when a header is complete and accepted (d->in_body).
 * False: more bytes needed (in is empty) or the header was rejected (mode is now RESYNC). */
static bool read_header(struct td_tls_conn *c, int dir, struct td_cursor *in, struct td_evidence ev)
{
    struct td_tls_dir *d = &c->dir[dir];
    if (d->hdr_len == 0) {
        uint8_t b0;
        if (!td_cursor_peek_u8(in, &b0)) {
            return false;
        }
        d->hdr_need = TD_RECORD_HEADER_LEN;
        /* SSLv2 headers: 2 bytes with the high bit set, or 3 bytes (with padding) in an SSL 2.0 session. */
        if (d->sslv2_ok && (b0 & 0x80) != 0) {
            d->hdr_need = 2;
        } else if (d->sslv2_ok && c->sslv2_server) {
            d->hdr_need = 3;
        }
    }
    size_t n = d->hdr_need - d->hdr_len;
    if (n > td_cursor_len(in)) {
        n = td_cursor_len(in);
    }
    if (!td_cursor_copy(in, &d->hdr[d->hdr_len], n)) {
        return false;
    }
    d->hdr_len = (uint8_t)(d->hdr_len + n);
    if (d->hdr_len < d->hdr_need) {
        return false;
    }
    struct td_cursor h;
    td_cursor_init(&h, d->hdr, d->hdr_len, 0);
    if (d->hdr_need != TD_RECORD_HEADER_LEN) {
        uint16_t v;
        if (!td_cursor_get_u16(&h, &v)) {
            return false;
        }
        d->sslv2_rec = true;
        d->type = 0;
        d->version = TD_VERSION_SSL2;
        d->rec_len = d->hdr_need == 2 ? (uint32_t)(v & 0x7fff) : (uint32_t)(v & 0x3fff);
        /* Only the hello is read; the rest of an SSL 2.0 session is encrypted. */
        d->opaque = !d->sslv2_hello_pending || d->rec_len > TD_RECORD_MAX_BODY;
        d->is_protected = false;
        d->in_body = true;
        d->body_len = 0;
        d->hdr_len = 0;
        return true;
    }
    uint8_t type;
    uint16_t version, len;
    if (!td_cursor_get_u8(&h, &type) || !td_cursor_get_u16(&h, &version) || !td_cursor_get_u16(&h, &len)) {
        return false;
    }
    if (type < TD_CT_CHANGE_CIPHER_SPEC || type > TD_CT_HEARTBEAT || (version >> 8) != 3) {
        td_tls_conn_anomaly(c, dir,
                            (version >> 8) != 3 ? TD_ANOM_RECORD_BAD_VERSION : TD_ANOM_RECORD_BAD_CONTENT_TYPE, ev);
        struct td_cursor rest;
        td_cursor_init(&rest, d->hdr, d->hdr_len, 0);
        if (!td_cursor_skip(&rest, 1)) {
            return false;
        }
        enter_resync(c, dir, rest, ev);
        return false;
    }
    c->facts.is_tls = true; /* a record header was accepted, even if its body never arrives */
    d->type = type;
    d->version = version;
    d->last_version = version;
    d->rec_len = len;
    d->is_protected = td_tls_conn_is_protected(c, dir, type);
    /* Application data is never copied: protected in every version that sends it. */
    d->opaque = d->is_protected || type == TD_CT_APPLICATION_DATA;
    if (len > TD_RECORD_MAX_BODY) {
        /* The boundary is still known: count the record, do not keep it. */
        td_tls_conn_anomaly(c, dir, TD_ANOM_RECORD_TOO_LONG, ev);
        d->opaque = true;
    }
    if (len == 0 && !d->is_protected && type != TD_CT_APPLICATION_DATA) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_RECORD_EMPTY, ev);
    }
    d->in_body = true;
    d->body_len = 0;
    d->hdr_len = 0;
    return true;
}

/* feed_records: RECORDS mode over in. Returns with in consumed, or with the mode changed (in holds the rest). */
static void feed_records(struct td_tls_conn *c, int dir, struct td_cursor *in, struct td_evidence ev,
                         uint32_t *num_records)
{
    struct td_tls_dir *d = &c->dir[dir];
    while (d->mode == TD_DIR_MODE_RECORDS && td_cursor_len(in) > 0) {
        if (!d->in_body && !read_header(c, dir, in, ev)) {
            continue;
        }
        uint32_t need = d->rec_len - d->body_len;
        size_t n = td_cursor_len(in) < need ? td_cursor_len(in) : need;
        if (d->opaque || d->dropping) {
            if (!td_cursor_skip(in, n)) {
                return;
            }
            d->body_len += (uint32_t)n;
            if (d->body_len < d->rec_len) {
                continue;
            }
            complete_record(c, dir, NULL, ev);
        } else if (d->body_len == 0 && n == need) {
            /* The whole body is in this delivery: parse it in place, no copy. */
            struct td_cursor body;
            if (!td_cursor_get_bytes(in, &body, n)) {
                return;
            }
            d->body_len = (uint32_t)n;
            complete_record(c, dir, &body, ev);
        } else {
            if (d->rec_buf == NULL) {
                d->rec_buf = malloc(TD_RECORD_MAX_BODY);
                if (d->rec_buf == NULL) {
                    d->dropping = true;
                    td_tls_conn_anomaly(c, dir, TD_ANOM_REASM_CAP, ev);
                    continue;
                }
            }
            if (!td_cursor_copy(in, &d->rec_buf[d->body_len], n)) {
                return;
            }
            d->body_len += (uint32_t)n;
            if (d->body_len < d->rec_len) {
                continue;
            }
            struct td_cursor body;
            td_cursor_init(&body, d->rec_buf, d->body_len, 0);
            complete_record(c, dir, &body, ev);
        }
        if (++*num_records >= c->limits.max_records_per_chunk && td_cursor_len(in) > 0) {
            /* Suricata's loop bound: the rest of this delivery is given up like a gap. */
            td_tls_conn_anomaly(c, dir, TD_ANOM_RECORDS_PER_CHUNK, ev);
            uint64_t rest = td_cursor_len(in);
            if (!td_cursor_skip(in, td_cursor_len(in))) {
                return;
            }
            td_tls_record_gap(c, dir, rest, ev);
            return;
        }
    }
}

/* scan: START, SCAN and RESYNC modes. Returns true when the record stream was found: the carried bytes from
 * the match on have been fed and *in starts where records continue. False: *in was consumed. */
static bool scan(struct td_tls_conn *c, int dir, struct td_cursor *in, struct td_evidence ev, uint32_t *num_records)
{
    struct td_tls_dir *d = &c->dir[dir];
    struct vstream v;
    td_cursor_init(&v.carry, d->carry, d->carry_len, 0);
    v.chunk = *in;
    v.total_len = d->carry_len + td_cursor_len(in);
    size_t i = 0;
    enum verdict vd = VERDICT_NO;
    while (i < v.total_len) {
        if (d->mode == TD_DIR_MODE_START) {
            vd = verdict_start(c, dir, &v);
            if (vd == VERDICT_NO) {
                d->mode = TD_DIR_MODE_SCAN;
                continue;
            }
        } else if (d->mode == TD_DIR_MODE_SCAN) {
            vd = verdict_scan(c, dir, &v, i);
        } else {
            vd = verdict_resync(c, dir, &v, i);
        }
        if (vd != VERDICT_NO) {
            break;
        }
        i++;
    }
    bool windowed = d->mode == TD_DIR_MODE_SCAN || (d->mode == TD_DIR_MODE_RESYNC && !c->facts.is_tls);
    if (vd != VERDICT_MATCH) {
        d->scanned_len += i;
        if (windowed && d->scanned_len > TD_SCAN_WINDOW_LEN) {
            d->mode = TD_DIR_MODE_NOT_TLS;
            d->carry_len = 0;
        } else {
            /* Keep the undecided tail (< TD_SCAN_LOOKAHEAD_LEN bytes) for the next delivery. */
            uint8_t tail[sizeof(d->carry)];
            size_t n = v.total_len - i;
            if (n > sizeof(tail) || !vbytes(&v, i, tail, n)) {
                n = 0;
            }
            memcpy(d->carry, tail, n);
            d->carry_len = (uint8_t)n;
        }
        consume_all(in);
        return false;
    }
    if (d->mode == TD_DIR_MODE_RESYNC) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_RESYNC, ev);
    }
    d->mode = TD_DIR_MODE_RECORDS;
    d->scanned_len = 0;
    size_t carry_len = d->carry_len;
    d->carry_len = 0;
    if (i < carry_len) {
        uint8_t head[sizeof(d->carry)];
        size_t n = carry_len - i;
        if (!vbytes(&v, i, head, n)) {
            return true;
        }
        struct td_cursor cc;
        td_cursor_init(&cc, head, n, 0);
        feed_records(c, dir, &cc, ev, num_records);
        return true;
    }
    if (!td_cursor_skip(in, i - carry_len)) {
        consume_all(in);
    }
    return true;
}

void td_tls_record_feed(struct td_tls_conn *c, int dir, struct td_cursor in, struct td_evidence ev)
{
    struct td_tls_dir *d = &c->dir[dir];
    uint32_t num_records = 0;
    while (td_cursor_len(&in) > 0) {
        switch (d->mode) {
        case TD_DIR_MODE_NOT_TLS:
            return;
        case TD_DIR_MODE_RECORDS:
            feed_records(c, dir, &in, ev, &num_records);
            break;
        case TD_DIR_MODE_START:
        case TD_DIR_MODE_SCAN:
        case TD_DIR_MODE_RESYNC:
            if (!scan(c, dir, &in, ev, &num_records)) {
                return;
            }
            break;
        }
    }
}

void td_tls_record_gap(struct td_tls_conn *c, int dir, uint64_t len, struct td_evidence ev)
{
    struct td_tls_dir *d = &c->dir[dir];
    struct td_cursor none;
    td_cursor_init(&none, NULL, 0, 0);
    switch (d->mode) {
    case TD_DIR_MODE_NOT_TLS:
        return;
    case TD_DIR_MODE_START:
        /* The direction's first bytes are missing: what follows is mid-stream, not a fresh start. */
        enter_resync(c, dir, none, ev);
        return;
    case TD_DIR_MODE_SCAN:
        d->carry_len = 0;
        d->scanned_len += len;
        if (d->scanned_len > TD_SCAN_WINDOW_LEN) {
            d->mode = TD_DIR_MODE_NOT_TLS;
        }
        return;
    case TD_DIR_MODE_RESYNC:
        d->carry_len = 0;
        return;
    case TD_DIR_MODE_RECORDS:
        break;
    }
    if (!d->in_body) {
        if (d->hdr_len > 0) {
            td_tls_conn_anomaly(c, dir, TD_ANOM_RECORD_TRUNCATED, ev);
        }
        enter_resync(c, dir, none, ev);
        return;
    }
    uint32_t remaining = d->rec_len - d->body_len;
    if (!d->opaque && !d->dropping) {
        /* A plaintext record lost bytes: it is counted, never parsed from a hole. */
        td_tls_conn_anomaly(c, dir, TD_ANOM_RECORD_TRUNCATED, ev);
        d->dropping = true;
    }
    if (len < remaining) {
        /* The gap ends inside the body: the next header is still where the length says. */
        d->body_len += (uint32_t)len;
        return;
    }
    d->body_len = d->rec_len;
    complete_record(c, dir, NULL, ev);
    if (len > remaining) {
        enter_resync(c, dir, none, ev);
    }
}

void td_tls_record_finish(struct td_tls_conn *c, int dir, struct td_evidence ev)
{
    struct td_tls_dir *d = &c->dir[dir];
    if (d->mode != TD_DIR_MODE_RECORDS) {
        return;
    }
    bool hs_pending = d->hs.hdr_len > 0;
    if (d->in_body || d->hdr_len > 0) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_RECORD_TRUNCATED, ev);
        if (d->in_body && d->type == TD_CT_HANDSHAKE && !d->opaque && !d->dropping) {
            hs_pending = true;
        }
    }
    if (hs_pending) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_HS_MSG_TRUNCATED, ev);
    }
    record_reset(d);
    hs_clear(&d->hs);
}

void td_tls_record_cleanup(struct td_tls_dir *d)
{
    free(d->rec_buf);
    d->rec_buf = NULL;
    free(d->hs.buf);
    d->hs.buf = NULL;
    d->hs.buf_cap = 0;
}
