/* SPDX-License-Identifier: MIT */
/* record.c: the TLS record layer: finds records in each direction's byte stream (on any port, after plaintext
 * STARTTLS dialogues, inside SQL Server's TDS PRELOGIN packets, after gaps), names the plaintext phase before
 * TLS, buffers plaintext records and reassembles handshake messages across records and segments, and skips
 * protected bodies by counting. The only place in dissect/ that waits for more bytes.
 * RFC 5246 §6.2.1 (TLSPlaintext), §7.4 (Handshake); RFC 8446 §5.1 (record layer), §4 (handshake);
 * RFC 5246 Appendix E.2 and the SSL 2.0 draft (SSLv2 record headers). Plaintext phases: RFC 3207 (SMTP),
 * RFC 9051 §6.2.1 (IMAP), RFC 2595 §4 (POP3), RFC 4217 §4 (FTP), RFC 4511 §4.14 (LDAP), RFC 6120 §5.4 (XMPP),
 * PostgreSQL protocol §55.2.10 (SSLRequest), [MS-RDPBCGR] §2.2.1.1 (X.224), [MS-TDS] §2.2.6.5 (PRELOGIN). */
#include "conn_internal.h"

#include "../capture/flow.h"
#include "names.h"
#include "tds.h"

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

static void plaintext_ended(struct td_tls_conn *c, int dir, uint64_t off, struct td_evidence ev);

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
    if (d->mode == TD_DIR_MODE_SCAN) {
        // Stream offset of the first record: the carried bytes came just before this delivery.
        uint64_t off = td_cursor_off(in) + i;
        plaintext_ended(c, dir, off >= d->carry_len ? off - d->carry_len : 0, ev);
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

/* ---- the plaintext phase: which protocol started TLS ---- */

/* starts_with: whether c begins with the ASCII text w, letters compared without case. */
static bool starts_with(const struct td_cursor *c, size_t at, const char *w)
{
    for (size_t k = 0; w[k] != '\0'; k++) {
        uint8_t b;
        if (!td_cursor_peek_at_u8(c, at + k, &b)) {
            return false;
        }
        uint8_t want = (uint8_t)w[k];
        if (b >= 'a' && b <= 'z') {
            b = (uint8_t)(b - 'a' + 'A');
        }
        if (want >= 'a' && want <= 'z') {
            want = (uint8_t)(want - 'a' + 'A');
        }
        if (b != want) {
            return false;
        }
    }
    return true;
}

/* word_ends: the byte at `at` ends a command word (end of line, space or the end of the delivery). */
static bool word_ends(const struct td_cursor *c, size_t at)
{
    uint8_t b;
    return !td_cursor_peek_at_u8(c, at, &b) || b == '\r' || b == '\n' || b == ' ';
}

static void recognised(struct td_tls_conn *c, enum td_plaintext_proto proto, enum td_plaintext_source source)
{
    struct td_plaintext_start *ps = &c->facts.plaintext_start;
    if (source < ps->source) {
        return;
    }
    // A request replaces a greeting; a later request (IRC's 670 reply after "STARTTLS") replaces an earlier one.
    ps->protocol = (uint8_t)proto;
    ps->source = (uint8_t)source;
}

/* text_line: one line of a text protocol, at `at` in the delivery. */
static void text_line(struct td_tls_conn *c, int dir, const struct td_cursor *in, size_t at)
{
    const struct td_plaintext_start *ps = &c->facts.plaintext_start;
    if (dir == TD_DIR_S2C) {
        // IRCv3 tls: ":server 670 nick :STARTTLS successful" (RPL_STARTTLS) answers the client's STARTTLS.
        if (starts_with(in, at, ":")) {
            size_t k = at + 1;
            uint8_t b;
            while (k < at + 64 && td_cursor_peek_at_u8(in, k, &b) && b != ' ' && b != '\n') {
                k++;
            }
            recognised(c, TD_PLAINTEXT_IRC, starts_with(in, k, " 670 ") ? TD_PLAINTEXT_FROM_REQUEST
                                                                        : TD_PLAINTEXT_FROM_GREETING);
            return;
        }
        if (ps->source != TD_PLAINTEXT_FROM_NONE) {
            return; // replies after the greeting say nothing new
        }
        if (starts_with(in, at, "220")) {
            recognised(c, TD_PLAINTEXT_SMTP, TD_PLAINTEXT_FROM_GREETING); // or FTP: the request will tell
        } else if (starts_with(in, at, "* OK")) {
            recognised(c, TD_PLAINTEXT_IMAP, TD_PLAINTEXT_FROM_GREETING);
        } else if (starts_with(in, at, "+OK")) {
            recognised(c, TD_PLAINTEXT_POP3, TD_PLAINTEXT_FROM_GREETING);
        }
        return;
    }
    if (starts_with(in, at, "STARTTLS") && word_ends(in, at + 8)) {
        recognised(c, ps->protocol == TD_PLAINTEXT_IRC ? TD_PLAINTEXT_IRC : TD_PLAINTEXT_SMTP,
                   TD_PLAINTEXT_FROM_REQUEST);
    } else if (starts_with(in, at, "STLS") && word_ends(in, at + 4)) {
        recognised(c, TD_PLAINTEXT_POP3, TD_PLAINTEXT_FROM_REQUEST);
    } else if (starts_with(in, at, "AUTH TLS") || starts_with(in, at, "AUTH SSL")) {
        recognised(c, TD_PLAINTEXT_FTP, TD_PLAINTEXT_FROM_REQUEST);
    } else if (starts_with(in, at, "EHLO ") || starts_with(in, at, "HELO ")) {
        recognised(c, TD_PLAINTEXT_SMTP, TD_PLAINTEXT_FROM_GREETING);
    } else {
        // IMAP: "tag STARTTLS", the tag an atom of at most 64 characters (RFC 9051 §6.2.1)
        size_t k = at;
        uint8_t b;
        while (k < at + 64 && td_cursor_peek_at_u8(in, k, &b) && b > ' ' && b < 0x7f) {
            k++;
        }
        if (k > at && starts_with(in, k, " STARTTLS") && word_ends(in, k + 9)) {
            recognised(c, TD_PLAINTEXT_IMAP, TD_PLAINTEXT_FROM_REQUEST);
        }
    }
}

/* ber_get_len: a BER definite length, short form or 1-2 length bytes (X.690 §8.1.3). */
static bool ber_get_len(struct td_cursor *c, size_t *out)
{
    uint8_t b, hi, lo;
    if (!td_cursor_get_u8(c, &b)) {
        return false;
    }
    if (b < 0x80) {
        *out = b;
        return true;
    }
    if (b == 0x81 && td_cursor_get_u8(c, &lo)) {
        *out = lo;
        return true;
    }
    if (b == 0x82 && td_cursor_get_u8(c, &hi) && td_cursor_get_u8(c, &lo)) {
        *out = (size_t)hi << 8 | lo;
        return true;
    }
    return false;
}

/* LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp ExtendedRequest ::= [APPLICATION 23] SEQUENCE {
 *     requestName [0] LDAPOID, ... } }  with requestName 1.3.6.1.4.1.1466.20037  (RFC 4511 §4.12, §4.14.1) */
static bool is_ldap_starttls(struct td_cursor m)
{
    static const char oid[] = "1.3.6.1.4.1.1466.20037";
    struct td_cursor seq, id, op, name;
    uint8_t tag;
    size_t len;
    if (!td_cursor_get_u8(&m, &tag) || tag != 0x30 || !ber_get_len(&m, &len) || !td_cursor_get_bytes(&m, &seq, len) ||
        !td_cursor_get_u8(&seq, &tag) || tag != 0x02 || !ber_get_len(&seq, &len) ||
        !td_cursor_get_bytes(&seq, &id, len) || !td_cursor_get_u8(&seq, &tag) || tag != 0x77 ||
        !ber_get_len(&seq, &len) || !td_cursor_get_bytes(&seq, &op, len) || !td_cursor_get_u8(&op, &tag) ||
        tag != 0x80 || !ber_get_len(&op, &len) || !td_cursor_get_bytes(&op, &name, len)) {
        return false;
    }
    return td_cursor_len(&name) == sizeof(oid) - 1 && starts_with(&name, 0, oid);
}

/* binary_request: the client's binary requests that start TLS, at the start of a delivery. */
static void binary_request(struct td_tls_conn *c, struct td_cursor m)
{
    struct td_cursor b = m;
    uint32_t len32, code;
    // SSLRequest: Int32(8) Int32(80877103) (PostgreSQL protocol §55.7)
    if (td_cursor_get_u32(&b, &len32) && td_cursor_get_u32(&b, &code) && len32 == 8 && code == 80877103u) {
        recognised(c, TD_PLAINTEXT_POSTGRES, TD_PLAINTEXT_FROM_REQUEST);
        return;
    }
    // TPKT (RFC 1006 §6: version 3, reserved, length) + X.224 Connection Request (ISO 8073 §13.3: LI, CR 0xE0)
    b = m;
    uint8_t version, reserved, li, cr;
    uint16_t tpkt_len;
    if (td_cursor_get_u8(&b, &version) && td_cursor_get_u8(&b, &reserved) && td_cursor_get_u16(&b, &tpkt_len) &&
        td_cursor_get_u8(&b, &li) && td_cursor_get_u8(&b, &cr) && version == 3 && reserved == 0 &&
        tpkt_len >= 11 && li >= 6 && (cr & 0xf0) == 0xe0) {
        recognised(c, TD_PLAINTEXT_RDP, TD_PLAINTEXT_FROM_REQUEST);
        return;
    }
    if (is_ldap_starttls(m)) {
        recognised(c, TD_PLAINTEXT_LDAP, TD_PLAINTEXT_FROM_REQUEST);
        return;
    }
    // MySQL SSLRequest: payload_length (3, LE) = 32, sequence_id 1, capability flags with CLIENT_SSL (0x800)
    b = m;
    uint16_t len_lo;
    uint8_t len_hi, seq;
    uint32_t caps;
    if (c->facts.plaintext_start.protocol == TD_PLAINTEXT_MYSQL && td_cursor_get_u16_le(&b, &len_lo) &&
        td_cursor_get_u8(&b, &len_hi) && td_cursor_get_u8(&b, &seq) && td_cursor_get_u32_le(&b, &caps) &&
        len_lo == 32 && len_hi == 0 && seq == 1 && (caps & 0x800u) != 0) {
        recognised(c, TD_PLAINTEXT_MYSQL, TD_PLAINTEXT_FROM_REQUEST);
    }
}

/* binary_greeting: MySQL's HandshakeV10: payload_length (3, LE), sequence_id 0, protocol_version 10. */
static void binary_greeting(struct td_tls_conn *c, struct td_cursor m)
{
    uint16_t len_lo;
    uint8_t len_hi, seq, proto;
    if (td_cursor_get_u16_le(&m, &len_lo) && td_cursor_get_u8(&m, &len_hi) && td_cursor_get_u8(&m, &seq) &&
        td_cursor_get_u8(&m, &proto) && seq == 0 && proto == 10 && (len_lo != 0 || len_hi != 0)) {
        recognised(c, TD_PLAINTEXT_MYSQL, TD_PLAINTEXT_FROM_GREETING);
    }
}

/* recognise: a delivery of plaintext (before TLS). Requests and greetings are short and come one per segment, so
 * binary ones are matched at the start of the delivery and text ones at each line start within it. */
static void recognise(struct td_tls_conn *c, int dir, const struct td_cursor *in)
{
    if (c->facts.plaintext_start.protocol == TD_PLAINTEXT_TDS) {
        return; // the PRELOGIN header said it all
    }
    if (dir == TD_DIR_C2S) {
        binary_request(c, *in);
        // XMPP is no line protocol: <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/> anywhere (RFC 6120 §5.4.2.1)
        for (size_t k = 0; k < td_cursor_len(in); k++) {
            if (starts_with(in, k, "<starttls")) {
                recognised(c, TD_PLAINTEXT_XMPP, TD_PLAINTEXT_FROM_REQUEST);
                return;
            }
        }
    } else if (c->facts.plaintext_start.source == TD_PLAINTEXT_FROM_NONE) {
        binary_greeting(c, *in);
    }
    if (starts_with(in, 0, "<?xml") || starts_with(in, 0, "<stream:stream")) {
        recognised(c, TD_PLAINTEXT_XMPP, TD_PLAINTEXT_FROM_GREETING);
        return;
    }
    bool line_start = true;
    for (size_t k = 0; k < td_cursor_len(in); k++) {
        uint8_t b;
        if (!td_cursor_peek_at_u8(in, k, &b)) {
            return;
        }
        if (line_start) {
            text_line(c, dir, in, k);
        }
        line_start = b == '\n';
    }
}

/* plaintext_ended: direction dir found its first record at stream offset off after plaintext. */
static void plaintext_ended(struct td_tls_conn *c, int dir, uint64_t off, struct td_evidence ev)
{
    struct td_plaintext_start *ps = &c->facts.plaintext_start;
    if (ps->protocol == TD_PLAINTEXT_NONE) {
        ps->protocol = TD_PLAINTEXT_UNKNOWN;
    }
    ps->skipped_len[dir] = off;
    if (ps->tls_ev.frame == 0) {
        ps->tls_ev = ev; // until the ClientHello is known (td_tls_record_finish)
    }
}

/* ---- the stream, with or without TDS framing ---- */

/* starts_like_record: the first byte is a TLS content type (20..24) or an SSLv2 record header's high bit; no
 * plaintext protocol we recognise starts that way (text is ASCII; the binary requests start 0x00, 0x03, 0x30 or
 * with a MySQL length far above 24). */
static bool starts_like_record(const struct td_cursor *in)
{
    uint8_t b;
    return td_cursor_peek_at_u8(in, 0, &b) && ((b >= TD_CT_CHANGE_CIPHER_SPEC && b <= TD_CT_HEARTBEAT) || b >= 0x80u);
}

static void feed_stream(struct td_tls_conn *c, int dir, struct td_cursor in, struct td_evidence ev,
                        uint32_t *num_records)
{
    struct td_tls_dir *d = &c->dir[dir];
    while (td_cursor_len(&in) > 0) {
        switch (d->mode) {
        case TD_DIR_MODE_NOT_TLS:
            return;
        case TD_DIR_MODE_RECORDS:
            feed_records(c, dir, &in, ev, num_records);
            break;
        case TD_DIR_MODE_START:
        case TD_DIR_MODE_SCAN:
            // Most connections start with a record: looking for a plaintext dialogue in it would be the most
            // expensive thing done for them.
            if (d->mode == TD_DIR_MODE_SCAN || !starts_like_record(&in)) {
                recognise(c, dir, &in);
            }
            if (!scan(c, dir, &in, ev, num_records)) {
                return;
            }
            break;
        case TD_DIR_MODE_RESYNC:
            if (!scan(c, dir, &in, ev, num_records)) {
                return;
            }
            break;
        }
    }
}

/* feed_tds: direction dir speaks TDS ([MS-TDS] §3.2.5.2): packet headers are stripped and their payloads go to
 * the record layer, until raw records begin or a header cannot be TDS. */
static void feed_tds(struct td_tls_conn *c, int dir, struct td_cursor in, struct td_evidence ev,
                     uint32_t *num_records)
{
    struct td_plaintext_start *ps = &c->facts.plaintext_start;
    struct td_tds_unwrap *u = &c->dir[dir].tds;
    // Each step takes at least one byte (a header byte or a payload piece), or ends the loop.
    while (td_cursor_len(&in) > 0 && (u->state == TD_TDS_HEADER || u->state == TD_TDS_PAYLOAD)) {
        struct td_cursor payload;
        bool packet_end;
        uint8_t type;
        switch (td_tds_unwrap_next(u, &in, &payload, &packet_end, &type)) {
        case TD_TDS_STEP_NEED_MORE:
            return;
        case TD_TDS_STEP_RAW:
            if (ps->tds_raw_ev.frame == 0) {
                ps->tds_raw_ev = ev;
            }
            break;
        case TD_TDS_STEP_MALFORMED:
            // A length below the header's own 8 bytes, or no TDS type: the framing is lost. What follows goes to
            // the record layer as it is, which resynchronises on a plausible record or gives up.
            ps->tds_malformed++;
            td_tls_conn_anomaly(c, dir, TD_ANOM_TDS_MALFORMED, ev);
            break;
        case TD_TDS_STEP_PAYLOAD:
            feed_stream(c, dir, payload, ev, num_records);
            if (packet_end && type == TD_TDS_PRELOGIN && c->dir[dir].mode == TD_DIR_MODE_RECORDS) {
                ps->tds_packets[dir]++;
            }
            break;
        }
    }
    feed_stream(c, dir, in, ev, num_records);
}

void td_tls_record_feed(struct td_tls_conn *c, int dir, struct td_cursor in, struct td_evidence ev)
{
    struct td_tls_dir *d = &c->dir[dir];
    struct td_plaintext_start *ps = &c->facts.plaintext_start;
    uint32_t num_records = 0;
    if (d->mode == TD_DIR_MODE_START && d->carry_len == 0 && d->tds.state == TD_TDS_OFF) {
        // SQL Server: a PRELOGIN opens the connection, the tabular result answers it (server side only once
        // the client side was seen to speak TDS).
        bool answer = dir == TD_DIR_S2C && ps->protocol == TD_PLAINTEXT_TDS;
        if (td_tds_header_plausible(&in, answer) && (answer || dir == TD_DIR_C2S)) {
            recognised(c, TD_PLAINTEXT_TDS, TD_PLAINTEXT_FROM_REQUEST);
            td_tds_unwrap_start(&d->tds);
            d->mode = TD_DIR_MODE_SCAN; // the PRELOGIN options are plaintext; the handshake follows
        }
    }
    if (d->tds.state == TD_TDS_HEADER || d->tds.state == TD_TDS_PAYLOAD) {
        feed_tds(c, dir, in, ev, &num_records);
        return;
    }
    feed_stream(c, dir, in, ev, &num_records);
}

void td_tls_record_gap(struct td_tls_conn *c, int dir, uint64_t len, struct td_evidence ev)
{
    struct td_tls_dir *d = &c->dir[dir];
    struct td_tds_unwrap *u = &d->tds;
    if (u->state == TD_TDS_HEADER || u->state == TD_TDS_PAYLOAD) {
        // Inside a TDS payload the next header stays where the length says; otherwise unwrapping stops.
        (void)td_tds_unwrap_gap(u, len);
    }
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
    struct td_plaintext_start *ps = &c->facts.plaintext_start;
    if (ps->tls_ev.frame != 0 && c->facts.num_client_hellos > 0 && c->facts.client_hellos[0] != NULL) {
        // TLS began with the ClientHello: the frame that completed it, even when the scanner met its first bytes
        // in an earlier segment, or the other direction's plaintext ended later.
        ps->tls_ev = c->facts.client_hellos[0]->ev;
    }
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
