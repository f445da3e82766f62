/* SPDX-License-Identifier: MIT */
/* conn.c: the per-connection TLS state machine: TLS roles, hellos and the other handshake messages handed to
 * their parsers, protection phases (ChangeCipherSpec in TLS <= 1.2, the ServerHello in TLS 1.3), Finished and
 * completion, alerts, renegotiation evidence, the timeline, and the connection's outcome.
 * RFC 5246 §7.1 (ChangeCipherSpec), §7.2 (alerts), §7.3 (handshake flows, abbreviated handshake), §7.4.1.1
 * (HelloRequest); RFC 8446 §2 (protocol overview), §4.1.4 (HelloRetryRequest), §5 (record protection), Appendix
 * D.4 (middlebox compatibility mode); RFC 7918 (False Start); RFC 6520 §4 (heartbeat lengths); RFC 6347 §4.2.1
 * (HelloVerifyRequest) and RFC 9147 (DTLS 1.3) for the messages dtls.c hands over. */
#include "conn_internal.h"

#include <stdlib.h>
#include <string.h>

#include "../capture/decode.h"
#include "../capture/flow.h"
#include "names.h"

/* A TLS 1.3 protected alert: 2 bytes of alert + 1 byte inner content type + a 16-byte AEAD tag (RFC 8446 §5.2;
 * every TLS 1.3 suite but TLS_AES_128_CCM_8_SHA256 has a 16-byte tag). No handshake record can be this short:
 * the smallest, a Finished, is 4 + 32 + 1 + 16 bytes. */
#define TLS13_PROTECTED_ALERT_LEN 19u

static uint8_t role_of(const struct td_tls_conn *c, int dir)
{
    return (uint8_t)(((unsigned)dir ^ (c->facts.roles_swapped ? 1u : 0u)) & 1u);
}

static bool is_done(const struct td_tls_conn *c) { return c->facts.handshake_done.frame != 0; }

/* TLS 1.3 and its drafts: 0x7fxx (IETF drafts), 0x7exx (pre-standard experimental versions); DTLS 1.3 (RFC 9147)
 * has TLS 1.3's handshake and protection. */
static bool is_tls13_version(uint16_t v)
{
    return v == TD_VERSION_TLS13 || v == TD_VERSION_DTLS13 || (v >> 8) == 0x7f || (v >> 8) == 0x7e;
}

/* --- arena arrays, timeline, anomalies --- */

static void add_anomaly_role(struct td_tls_conn *c, uint8_t role, enum td_anomaly code, struct td_evidence ev);

static void note_arena_full(struct td_tls_conn *c, uint8_t role, struct td_evidence ev)
{
    if (c->facts.arena_full) {
        return;
    }
    c->facts.arena_full = true;
    add_anomaly_role(c, role, TD_ANOM_ARENA_FULL, ev);
}

static void check_arena(struct td_tls_conn *c, int dir, struct td_evidence ev)
{
    if (c->arena.hit_cap) {
        note_arena_full(c, role_of(c, dir), ev);
    }
}

/* grow_array returns arr with room for element num (a new arena copy when it had to grow), or NULL when the
 * cap max or the arena refuses. */
static void *grow_array(struct td_tls_conn *c, void *arr, uint32_t *cap, uint32_t num, size_t elem_len, uint32_t max,
                        uint8_t role, struct td_evidence ev)
{
    td_arena_touch(&c->arena); /* the caller writes element num */
    if (num < *cap) {
        return arr;
    }
    if (num >= max) {
        return NULL;
    }
    uint32_t new_cap = *cap == 0 ? 8 : *cap * 2;
    if (new_cap > max) {
        new_cap = max;
    }
    void *p = td_arena_alloc(&c->arena, (size_t)new_cap * elem_len);
    if (p == NULL) {
        note_arena_full(c, role, ev);
        return NULL;
    }
    if (num > 0) {
        memcpy(p, arr, (size_t)num * elem_len);
    }
    *cap = new_cap;
    return p;
}

/* add_event appends to the timeline; returns the entry's index, UINT32_MAX when it was only counted. */
static uint32_t add_event(struct td_tls_conn *c, uint8_t role, enum td_event_kind kind, int32_t detail, uint32_t len,
                          struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    f->events_seen++;
    if (f->num_events >= c->limits.max_timeline) {
        if (!c->timeline_full_noted) {
            c->timeline_full_noted = true;
            add_anomaly_role(c, role, TD_ANOM_TIMELINE_FULL, ev);
        }
        return UINT32_MAX;
    }
    struct td_event *t = grow_array(c, f->timeline, &c->timeline_cap, f->num_events, sizeof(*t),
                                    c->limits.max_timeline, role, ev);
    if (t == NULL) {
        return UINT32_MAX;
    }
    f->timeline = t;
    t[f->num_events] = (struct td_event){.ev = ev, .role = role, .kind = (uint8_t)kind, .detail = detail, .len = len};
    return f->num_events++;
}

/* add_protected_event: a handshake record read under encryption; type is inferred (Finished) or unknown. */
static uint32_t add_protected_event(struct td_tls_conn *c, uint8_t role, int32_t type, uint32_t len,
                                    struct td_evidence ev)
{
    uint32_t i = add_event(c, role, TD_EV_HANDSHAKE, type, len, ev); /* touched the arena */
    if (i != UINT32_MAX) {
        c->facts.timeline[i].is_protected = true;
    }
    return i;
}

static void add_anomaly_role(struct td_tls_conn *c, uint8_t role, enum td_anomaly code, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    f->anomalies_seen++;
    struct td_anomaly_entry *a = grow_array(c, f->anomalies, &c->anomalies_cap, f->num_anomalies, sizeof(*a),
                                            c->limits.max_timeline, role, ev);
    if (a != NULL) {
        f->anomalies = a;
        a[f->num_anomalies++] = (struct td_anomaly_entry){.ev = ev, .role = role, .code = code};
    }
    if (code != TD_ANOM_TIMELINE_FULL) {
        (void)add_event(c, role, TD_EV_ANOMALY, (int32_t)code, 0, ev);
    }
}

void td_tls_conn_anomaly(struct td_tls_conn *c, int dir, enum td_anomaly code, struct td_evidence ev)
{
    if (code == TD_ANOM_NONE) {
        return;
    }
    add_anomaly_role(c, role_of(c, dir), code, ev);
}

/* --- roles --- */

static void swap_ev(struct td_evidence e[2])
{
    struct td_evidence t = e[0];
    e[0] = e[1];
    e[1] = t;
}

static void swap_u32(uint32_t v[2])
{
    uint32_t t = v[0];
    v[0] = v[1];
    v[1] = t;
}

/* swap_roles: the TLS client turned out to be the TCP server side. Everything recorded so far in TLS roles is
 * flipped (only happens before the first hello, so little is recorded). */
static void swap_roles(struct td_tls_conn *c)
{
    struct td_tls_facts *f = &c->facts;
    f->roles_swapped = !f->roles_swapped;
    struct td_record_counts counts = f->counts[0];
    f->counts[0] = f->counts[1];
    f->counts[1] = counts;
    uint64_t bytes = f->app_data_bytes[0];
    f->app_data_bytes[0] = f->app_data_bytes[1];
    f->app_data_bytes[1] = bytes;
    swap_ev(f->ccs);
    swap_ev(f->encrypted_from);
    swap_ev(f->finished);
    swap_ev(f->first_app_data);
    swap_ev(f->first_hs_after_done);
    swap_u32(f->hs_records_after_done);
    swap_u32(f->plaintext_hs_after_done);
    swap_u32(f->dtls_retransmitted);
    swap_u32(f->dtls_unified_records);
    for (uint32_t i = 0; i < f->num_events; i++) {
        f->timeline[i].role ^= 1u;
    }
    for (uint32_t i = 0; i < f->num_anomalies; i++) {
        f->anomalies[i].role ^= 1u;
    }
    for (uint32_t i = 0; i < f->num_alerts; i++) {
        f->alerts[i].role ^= 1u;
    }
    f->last_hs_role ^= 1u;
    c->failing_alert.role ^= 1u;
    c->warning_alert.role ^= 1u;
    c->close.role ^= 1u;
}

/* decide_roles: the first hello fixes which TCP direction is the TLS client. */
static void decide_roles(struct td_tls_conn *c, int dir, bool from_client, struct td_evidence ev)
{
    if (c->roles_decided) {
        if (role_of(c, dir) != (from_client ? TD_ROLE_CLIENT : TD_ROLE_SERVER)) {
            td_tls_conn_anomaly(c, dir, TD_ANOM_UNEXPECTED_MESSAGE, ev);
        }
        return;
    }
    c->roles_decided = true;
    int client_dir = from_client ? dir : 1 - dir;
    if (client_dir == TD_DIR_S2C) {
        swap_roles(c);
    }
}

/* --- outcome bookkeeping --- */

static void set_done(struct td_tls_conn *c, struct td_evidence ev)
{
    c->facts.handshake_done = ev;
    c->done_after_msg = c->facts.last_hs_msg;
    /* From here on the facts change rarely (alerts, renegotiation, the close): a connection that lives on has
     * them moved out of memory (capture/spill.h); a write to them warms them again. */
    td_arena_settle(&c->arena);
}

static void set_last_msg(struct td_tls_conn *c, uint8_t role, int32_t type)
{
    c->facts.last_hs_msg = type;
    c->facts.last_hs_role = role;
}

static void add_alert(struct td_tls_conn *c, uint8_t role, bool encrypted, uint8_t level, uint8_t description,
                      struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    f->alerts_seen++;
    int32_t idx = -1;
    struct td_alert *a =
        grow_array(c, f->alerts, &c->alerts_cap, f->num_alerts, sizeof(*a), c->limits.max_timeline, role, ev);
    if (a != NULL) {
        f->alerts = a;
        a[f->num_alerts] = (struct td_alert){.ev = ev,
                                             .role = role,
                                             .encrypted = encrypted,
                                             .level = level,
                                             .description = description,
                                             .after_msg = f->last_hs_msg};
        idx = (int32_t)f->num_alerts++;
    }
    (void)add_event(c, role, TD_EV_ALERT, idx, encrypted ? 0 : 2, ev);
    if (is_done(c)) {
        return;
    }
    struct td_outcome_mark m = {
        .set = true, .role = role, .ev = ev, .alert = encrypted ? -1 : description, .after_msg = f->last_hs_msg};
    if (encrypted || level == TD_ALERT_LEVEL_FATAL) {
        if (!c->failing_alert.set) {
            c->failing_alert = m;
        }
        return;
    }
    /* A warning (unrecognized_name before a ServerHello, say) fails the handshake only if nothing follows. */
    c->warning_alert = m;
    c->progress_after_warning = false;
}

/* add_inferred_alert: a TLS 1.3 protected record whose length is that of an alert (TLS13_PROTECTED_ALERT_LEN). */
static void add_inferred_alert(struct td_tls_conn *c, uint8_t role, struct td_evidence ev)
{
    uint32_t before = c->facts.num_alerts;
    add_alert(c, role, true, 0, 0, ev);
    if (c->facts.num_alerts > before) {
        c->facts.alerts[before].inferred = true;
    }
}

static void count_after_done(struct td_tls_conn *c, uint8_t role, bool plaintext, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    f->hs_records_after_done[role]++;
    if (f->first_hs_after_done[role].frame == 0) {
        f->first_hs_after_done[role] = ev;
    }
    if (plaintext) {
        f->plaintext_hs_after_done[role]++;
    }
}

/* --- handshake messages --- */

/* remember_client_sid keeps the ClientHello's session id to recognise an abbreviated handshake.
 * ClientHello: ProtocolVersion client_version; Random random; SessionID session_id<0..32>; ... (RFC 5246 §7.4.1.2) */
static void remember_client_sid(struct td_tls_conn *c, struct td_cursor body)
{
    struct td_cursor sid;
    c->client_sid_len = 0;
    if (!td_cursor_skip(&body, 2 + 32) || !td_cursor_get_u8_prefixed(&body, &sid) ||
        td_cursor_len(&sid) > sizeof(c->client_sid)) {
        return;
    }
    size_t n = td_cursor_len(&sid);
    if (td_cursor_copy(&sid, c->client_sid, n)) {
        c->client_sid_len = (uint8_t)n;
    }
}

/* sid_echoed: the ServerHello's session_id equals the client's non-empty one (RFC 5246 §7.3 resumption). */
static bool sid_echoed(const struct td_tls_conn *c, struct td_cursor body)
{
    struct td_cursor sid;
    uint8_t b[32];
    if (c->client_sid_len == 0 || !td_cursor_skip(&body, 2 + 32) || !td_cursor_get_u8_prefixed(&body, &sid) ||
        td_cursor_len(&sid) != c->client_sid_len || !td_cursor_copy(&sid, b, c->client_sid_len)) {
        return false;
    }
    return memcmp(b, c->client_sid, c->client_sid_len) == 0;
}

static void on_client_hello(struct td_tls_conn *c, int dir, struct td_cursor body, uint16_t record_version,
                            bool sslv2, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    decide_roles(c, dir, true, ev);
    f->client_hellos_seen++;
    if (!c->saw_client_hello) {
        c->saw_client_hello = true;
        c->ch_dir = dir;
    }
    c->hello_ok = true;
    c->dir[dir].hs_trusted = true;
    if (sslv2) {
        c->sslv2_client = true;
    } else {
        remember_client_sid(c, body);
    }
    if (f->num_client_hellos >= TD_MAX_HELLOS) {
        return;
    }
    struct td_client_hello *ch = td_arena_alloc(&c->arena, sizeof(*ch));
    if (ch == NULL) {
        note_arena_full(c, role_of(c, dir), ev);
        return;
    }
    enum td_anomaly a = sslv2 ? td_parse_sslv2_client_hello(&c->arena, body, ch)
                              : td_parse_client_hello(&c->arena, body, record_version, ch);
    ch->ev = ev;
    ch->sslv2_format = sslv2;
    if (ch->anomaly == TD_ANOM_NONE) {
        ch->anomaly = a;
    }
    td_tls_conn_anomaly(c, dir, a, ev);
    check_arena(c, dir, ev);
    f->client_hellos[f->num_client_hellos++] = ch;
    for (uint32_t i = 0; i < ch->supported_versions.num && ch->supported_versions.v != NULL; i++) {
        if (is_tls13_version(ch->supported_versions.v[i])) {
            c->client_offered_tls13 = true;
        }
    }
}

static void keep_server_hello(struct td_tls_conn *c, int dir, const struct td_server_hello *sh, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    if (f->num_server_hellos >= TD_MAX_HELLOS) {
        return;
    }
    struct td_server_hello *p = td_arena_alloc(&c->arena, sizeof(*p));
    if (p == NULL) {
        note_arena_full(c, role_of(c, dir), ev);
        return;
    }
    *p = *sh;
    f->server_hellos[f->num_server_hellos++] = p;
}

/* on_server_hello returns the timeline type: TD_HS_SERVER_HELLO or TD_HS_HELLO_RETRY_REQUEST. */
static int32_t on_server_hello(struct td_tls_conn *c, int dir, struct td_cursor body, uint16_t record_version,
                               struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    decide_roles(c, dir, false, ev);
    f->server_hellos_seen++;
    struct td_server_hello sh;
    memset(&sh, 0, sizeof(sh));
    enum td_anomaly a = td_parse_server_hello(&c->arena, body, record_version, &sh);
    sh.ev = ev;
    if (sh.anomaly == TD_ANOM_NONE) {
        sh.anomaly = a;
    }
    td_tls_conn_anomaly(c, dir, a, ev);
    check_arena(c, dir, ev);
    keep_server_hello(c, dir, &sh, ev);
    uint16_t version = sh.selected_version != 0 ? sh.selected_version : sh.legacy_version;
    if (sh.is_hrr) {
        /* RFC 8446 §4.1.4: not the negotiated ServerHello; the second ClientHello is not renegotiation. */
        c->tls13 = true;
        return TD_HS_HELLO_RETRY_REQUEST;
    }
    c->sh_seen = true;
    c->hello_ok = true;
    c->dir[dir].hs_trusted = true;
    c->tls13 = is_tls13_version(version);
    f->version = version;
    f->cipher = sh.cipher;
    f->cipher_known = td_cipher_suite_find(sh.cipher) != NULL;
    f->kx.kind = c->tls13 ? TD_KX_TLS13 : td_kx_from_cipher(sh.cipher);
    /* TLS 1.3 echoes every session id (compatibility mode), so only an accepted PSK means resumption there. */
    f->resumed = c->tls13 ? sh.has_pre_shared_key : sid_echoed(c, body);
    return TD_HS_SERVER_HELLO;
}

/* struct { ProtocolVersion server_version; opaque cookie<0..2^8-1>; } HelloVerifyRequest;  (RFC 6347 §4.2.1)
 * A DTLS server's answer to a ClientHello without a valid cookie. The client sends its ClientHello again with the
 * cookie: that second ClientHello continues the same handshake (no renegotiation, no failed first attempt). */
static void on_hello_verify_request(struct td_tls_conn *c, int dir, struct td_cursor body, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    decide_roles(c, dir, false, ev);
    f->dtls_hello_verify_requests++;
    c->hello_ok = true;
    if (f->dtls_hello_verify_request.frame != 0) {
        return;
    }
    f->dtls_hello_verify_request = ev;
    uint16_t version;
    struct td_cursor cookie;
    if (!td_cursor_get_u16(&body, &version) || !td_cursor_get_u8_prefixed(&body, &cookie)) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_SERVER_HELLO_MALFORMED, ev);
        return;
    }
    f->dtls_cookie_len = (uint16_t)td_cursor_len(&cookie); // u8-prefixed: fits
    if (td_cursor_len(&body) != 0) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_TRAILING_BYTES, ev);
    }
}

static void on_certificate(struct td_tls_conn *c, int dir, struct td_cursor body, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    struct td_cert_chain **slot = role_of(c, dir) == TD_ROLE_SERVER ? &f->server_certs : &f->client_certs;
    if (*slot != NULL) {
        return;
    }
    struct td_cert_chain *chain = td_arena_alloc(&c->arena, sizeof(*chain));
    if (chain == NULL) {
        note_arena_full(c, role_of(c, dir), ev);
        return;
    }
    enum td_anomaly a = td_parse_certificate(&c->arena, body, c->tls13, chain);
    chain->ev = ev;
    *slot = chain;
    td_tls_conn_anomaly(c, dir, a, ev);
    check_arena(c, dir, ev);
}

static void on_certificate_request(struct td_tls_conn *c, int dir, struct td_cursor body, uint16_t version,
                                   struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    f->cert_requests_seen++;
    if (f->cert_request != NULL) {
        return;
    }
    struct td_cert_request *cr = td_arena_alloc(&c->arena, sizeof(*cr));
    if (cr == NULL) {
        note_arena_full(c, role_of(c, dir), ev);
        return;
    }
    enum td_anomaly a = td_parse_certificate_request(&c->arena, body, version, c->tls13, cr);
    cr->ev = ev;
    f->cert_request = cr;
    td_tls_conn_anomaly(c, dir, a, ev);
    check_arena(c, dir, ev);
}

void td_tls_conn_on_handshake(struct td_tls_conn *c, int dir, uint8_t type, struct td_cursor body, uint32_t msg_len,
                              uint16_t record_version, bool too_large, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    int32_t detail = type;
    /* The message parsers compare versions as TLS numbers (TLS 1.2 adds signature algorithms): DTLS versions are
     * mapped to the TLS version they are based on (DTLS 1.0 is TLS 1.1, DTLS 1.2 is TLS 1.2). */
    uint16_t version = td_version_tls_equivalent(f->version != 0 ? f->version : record_version);
    c->progress_after_warning = true;
    switch (too_large ? -1 : (int)type) {
    case TD_HS_HELLO_REQUEST:
        f->hello_requests++;
        break;
    case TD_HS_CLIENT_HELLO:
        on_client_hello(c, dir, body, record_version, false, ev);
        break;
    case TD_HS_SERVER_HELLO:
        detail = on_server_hello(c, dir, body, record_version, ev);
        break;
    case TD_HS_HELLO_VERIFY_REQUEST:
        on_hello_verify_request(c, dir, body, ev);
        break;
    case TD_HS_CERTIFICATE:
        on_certificate(c, dir, body, ev);
        break;
    case TD_HS_SERVER_KEY_EXCHANGE:
        if (!f->kx.has_ske) {
            f->kx.ske_ev = ev;
            td_tls_conn_anomaly(c, dir, td_parse_server_key_exchange(body, f->kx.kind, version, &f->kx), ev);
            f->kx.has_ske = true;
        }
        break;
    case TD_HS_CLIENT_KEY_EXCHANGE:
        if (!f->kx.has_cke) {
            f->kx.cke_ev = ev;
            td_tls_conn_anomaly(c, dir, td_parse_client_key_exchange(body, f->kx.kind, version, &f->kx), ev);
            f->kx.has_cke = true;
        }
        break;
    case TD_HS_CERTIFICATE_REQUEST:
        on_certificate_request(c, dir, body, version, ev);
        break;
    case TD_HS_FINISHED:
        /* Readable only when protection was missed; still that side's Finished. */
        if (f->finished[role_of(c, dir)].frame == 0) {
            f->finished[role_of(c, dir)] = ev;
        }
        break;
    default:
        break;
    }
    if (td_name_handshake(type) == NULL) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_HS_UNKNOWN_TYPE, ev);
        return; /* not a message: no timeline entry */
    }
    uint8_t role = role_of(c, dir);
    (void)add_event(c, role, TD_EV_HANDSHAKE, detail, msg_len, ev);
    set_last_msg(c, role, detail);
}

/* --- SSLv2 --- */

/* SSL 2.0 SERVER-HELLO: msg_type(4) session_id_hit(1) certificate_type(1) server_version(2)
 * certificate_length(2) cipher_specs_length(2) connection_id_length(2) ... (SSL 2.0 draft, Appendix A). */
static void on_sslv2_server_hello(struct td_tls_conn *c, int dir, struct td_cursor body, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    uint8_t msg, hit, cert_type;
    uint16_t version;
    decide_roles(c, dir, false, ev);
    f->server_hellos_seen++;
    if (!td_cursor_get_u8(&body, &msg) || !td_cursor_get_u8(&body, &hit) || !td_cursor_get_u8(&body, &cert_type) ||
        !td_cursor_get_u16(&body, &version)) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_SSLV2_MALFORMED, ev);
        return;
    }
    c->sh_seen = true;
    c->hello_ok = true;
    f->version = version;
    struct td_server_hello sh;
    memset(&sh, 0, sizeof(sh));
    sh.ev = ev;
    sh.record_version = TD_VERSION_SSL2;
    sh.legacy_version = version;
    keep_server_hello(c, dir, &sh, ev);
}

void td_tls_conn_on_sslv2(struct td_tls_conn *c, int dir, const struct td_cursor *body, uint32_t len,
                          struct td_evidence ev)
{
    c->facts.is_tls = true;
    c->facts.counts[role_of(c, dir)].other_records++;
    uint8_t msg;
    if (body == NULL || !td_cursor_peek_u8(body, &msg)) {
        return;
    }
    int32_t detail;
    if (msg == 1) {
        on_client_hello(c, dir, *body, TD_VERSION_SSL2, true, ev);
        detail = TD_HS_SSLV2_CLIENT_HELLO;
    } else if (msg == 4) {
        on_sslv2_server_hello(c, dir, *body, ev);
        detail = TD_HS_SERVER_HELLO;
    } else {
        return;
    }
    uint8_t role = role_of(c, dir);
    (void)add_event(c, role, TD_EV_HANDSHAKE, detail, len, ev);
    set_last_msg(c, role, detail);
}

/* --- records --- */

bool td_tls_conn_is_protected(const struct td_tls_conn *c, int dir, uint8_t type)
{
    /* Application data is protected in every version. In TLS 1.3 every protected record has the outer type
     * application_data (RFC 8446 §5.2), so CCS, alerts and handshake records stay readable. */
    if (type == TD_CT_APPLICATION_DATA) {
        return true;
    }
    return !c->tls13 && c->dir[dir].keys_on;
}

static void on_ccs(struct td_tls_conn *c, int dir, const struct td_record_info *r, const struct td_cursor *body,
                   struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    struct td_tls_dir *d = &c->dir[dir];
    uint8_t role = role_of(c, dir);
    if (f->ccs[role].frame == 0) {
        f->ccs[role] = ev;
    }
    (void)add_event(c, role, TD_EV_CHANGE_CIPHER_SPEC, 0, r->len, ev);
    c->progress_after_warning = true;
    if (r->is_protected || body == NULL) {
        return; /* a renegotiation's CCS under the current keys */
    }
    struct td_cursor b = *body;
    uint8_t v;
    /* OpenSSL's pre-RFC DTLS (0x0100, DTLS1_BAD_VER) follows the 1 with a 2-byte message sequence number
     * (OpenSSL dtls_construct_change_cipher_spec). */
    uint32_t want_len = r->version == TD_VERSION_DTLS10_OPENSSL_PRE ? 3u : 1u;
    if (r->len != want_len || !td_cursor_get_u8(&b, &v) || v != 1) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_CCS_MALFORMED, ev);
    }
    /* TLS 1.3 middlebox-compatibility CCS (RFC 8446 D.4) changes nothing. A client CCS before any ServerHello
     * is that too when the client offered TLS 1.3. */
    if (c->tls13 || (!c->sh_seen && role == TD_ROLE_CLIENT && c->client_offered_tls13)) {
        return;
    }
    d->keys_on = true;
    d->expect_finished = true;
    td_tls_record_hs_reset(c, dir, true, ev);
    /* RFC 5246 §7.3: in the abbreviated handshake the server sends its CCS first (session id or ticket). */
    if (role == TD_ROLE_SERVER && c->sh_seen && !c->dir[1 - dir].keys_on) {
        f->resumed = true;
    }
}

static void on_alert(struct td_tls_conn *c, int dir, const struct td_record_info *r, const struct td_cursor *body,
                     struct td_evidence ev)
{
    uint8_t role = role_of(c, dir);
    /* A connection picked up mid-stream (no hello seen) is past its handshake: an alert record that is not the
     * 2 bytes of one plaintext Alert is protected (a 2-byte alert plus MAC/tag and padding: 26, 31, 37 .. bytes). */
    bool picked_up_protected = !c->hello_ok && r->len != 2 && !c->facts.dtls; /* DTLS: the epoch says it */
    if (r->is_protected || body == NULL || picked_up_protected) {
        add_alert(c, role, true, 0, 0, ev);
        return;
    }
    /* struct { AlertLevel level; AlertDescription description; } Alert;  (RFC 5246 §7.2), possibly several. */
    struct td_cursor b = *body;
    bool malformed = false;
    uint8_t level, description;
    while (td_cursor_get_u8(&b, &level)) {
        if (!td_cursor_get_u8(&b, &description)) {
            malformed = true;
            break;
        }
        if (level != TD_ALERT_LEVEL_WARNING && level != TD_ALERT_LEVEL_FATAL) {
            malformed = true;
        }
        add_alert(c, role, false, level, description, ev);
    }
    if (malformed) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_ALERT_MALFORMED, ev);
    }
}

/* TLS 1.3 after the client's first protected record. The client's flight (Certificate, CertificateVerify,
 * Finished when the server asked for a certificate) goes out in one segment: further client records of that
 * frame, before the server speaks, belong to it and the last is Finished. The server's first record after it
 * answers the client's Finished: a 19-byte record (a 2-byte alert, its content type and a 16-byte AEAD tag) is
 * the server refusing it (certificate_required, bad_certificate, decrypt_error ..), since NewSessionTicket and
 * application data records are longer. Returns true when the record was taken as one of these. */
static bool on_tls13_after_client_finished(struct td_tls_conn *c, uint8_t role, const struct td_record_info *r,
                                           struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    if (role == TD_ROLE_CLIENT && !c->server_spoke_after_done && ev.frame == c->client_flight_frame &&
        c->client_flight_event != UINT32_MAX) {
        td_arena_touch(&c->arena);
        f->timeline[c->client_flight_event].detail = TD_HS_ENCRYPTED;
        c->client_flight_event = add_protected_event(c, role, TD_HS_FINISHED, r->len, ev);
        return true;
    }
    if (role != TD_ROLE_SERVER || c->server_spoke_after_done) {
        return false;
    }
    c->server_spoke_after_done = true;
    if (r->len != TLS13_PROTECTED_ALERT_LEN) {
        return false;
    }
    c->rejected_after_finished = (struct td_outcome_mark){
        .set = true, .role = role, .ev = ev, .alert = -1, .after_msg = TD_HS_FINISHED};
    add_inferred_alert(c, role, ev);
    return true;
}

static void on_app_data(struct td_tls_conn *c, int dir, const struct td_record_info *r, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    uint8_t role = role_of(c, dir);
    if (c->tls13 && c->sh_seen && !is_done(c)) {
        if (r->len == TLS13_PROTECTED_ALERT_LEN) {
            add_inferred_alert(c, role, ev);
            return;
        }
        c->progress_after_warning = true;
        if (role == TD_ROLE_SERVER) {
            /* The server's protected flight: EncryptedExtensions .. Finished; the last record holds Finished. */
            c->server_flight_event = add_protected_event(c, role, TD_HS_ENCRYPTED, r->len, ev);
            f->finished[TD_ROLE_SERVER] = ev;
            return;
        }
        /* The client's first protected record after the ServerHello: its Finished flight ends the handshake. */
        f->finished[TD_ROLE_CLIENT] = ev;
        c->client_flight_event = add_protected_event(c, role, TD_HS_FINISHED, r->len, ev);
        c->client_flight_frame = ev.frame;
        if (c->server_flight_event != UINT32_MAX) {
            f->timeline[c->server_flight_event].detail = TD_HS_FINISHED;
        }
        set_last_msg(c, role, TD_HS_FINISHED);
        set_done(c, ev);
        return;
    }
    if (c->tls13 && is_done(c) && on_tls13_after_client_finished(c, role, r, ev)) {
        return;
    }
    if (f->first_app_data[role].frame == 0) {
        f->first_app_data[role] = ev;
        (void)add_event(c, role, TD_EV_APPLICATION_DATA, 0, r->len, ev);
    }
    f->app_data_bytes[role] += r->len;
    /* Keep the first record lengths: a TLS 1.0 CBC 1/n-1 split shows in them (fields.c, tls.cbc_split). */
    if (f->num_first_app_data_lens[role] < TD_FIRST_APP_DATA_LENS) {
        f->first_app_data_lens[role][f->num_first_app_data_lens[role]++] = r->len;
    }
    /* RFC 7918: the client sends data after its Finished, before the server's. */
    if (!c->tls13 && role == TD_ROLE_CLIENT && c->sh_seen && !is_done(c) && c->dir[dir].keys_on &&
        f->finished[TD_ROLE_SERVER].frame == 0) {
        f->false_start = true;
    }
}

static void on_heartbeat(struct td_tls_conn *c, int dir, const struct td_record_info *r, const struct td_cursor *body,
                         struct td_evidence ev)
{
    (void)add_event(c, role_of(c, dir), TD_EV_HEARTBEAT, 0, r->len, ev);
    if (r->is_protected || body == NULL) {
        return;
    }
    /* struct { HeartbeatMessageType type; uint16 payload_length; opaque payload[payload_length];
     *          opaque padding[padding_length]; } with padding_length >= 16  (RFC 6520 §4) */
    struct td_cursor b = *body;
    uint8_t type;
    uint16_t payload_len;
    if (!td_cursor_get_u8(&b, &type) || !td_cursor_get_u16(&b, &payload_len) ||
        (uint32_t)payload_len + 3u + 16u > r->len) {
        td_tls_conn_anomaly(c, dir, TD_ANOM_HEARTBEAT_BAD_LENGTH, ev);
    }
}

/* hello_record_plausible: before any hello was accepted, a handshake record must start with a ClientHello or a
 * well-formed ServerHello with an assigned suite. Otherwise it is the protected handshake of a connection picked
 * up mid-stream (mercury's encrypted_handshake_cert_false_positive: protected bytes that read as a ServerHello
 * with suite 0x2175 and a HelloRequest). */
static bool hello_record_plausible(struct td_cursor body)
{
    uint8_t type, major;
    uint32_t len;
    if (!td_cursor_get_u8(&body, &type) || !td_cursor_get_u24(&body, &len)) {
        return false;
    }
    if (type == TD_HS_CLIENT_HELLO) {
        /* client_version 3.x; the rest may still be in the next record */
        return len >= 38 && (!td_cursor_peek_u8(&body, &major) || major == 3);
    }
    struct td_cursor msg, random, sid;
    uint16_t version, cipher;
    uint8_t compression;
    if (type != TD_HS_SERVER_HELLO || !td_cursor_get_bytes(&body, &msg, len) || !td_cursor_get_u16(&msg, &version) ||
        !td_cursor_get_bytes(&msg, &random, 32)) {
        return false;
    }
    /* TLS 1.3 drafts before -22 have no session id and no compression method. */
    bool draft = (version >> 8) == 0x7f;
    if (!draft && ((version >> 8) != 3 || !td_cursor_get_u8_prefixed(&msg, &sid) || td_cursor_len(&sid) > 32)) {
        return false;
    }
    if (!td_cursor_get_u16(&msg, &cipher) || (!draft && !td_cursor_get_u8(&msg, &compression))) {
        return false;
    }
    return td_cipher_suite_find(cipher) != NULL;
}

static bool on_handshake_record(struct td_tls_conn *c, int dir, const struct td_record_info *r,
                                const struct td_cursor *body, bool hs_idle, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    struct td_tls_dir *d = &c->dir[dir];
    uint8_t role = role_of(c, dir);
    if (r->is_protected) {
        c->progress_after_warning = true;
        if (d->expect_finished && !is_done(c)) {
            /* RFC 5246 §7.4.9: Finished is the first message protected by the new keys. */
            d->expect_finished = false;
            f->finished[role] = ev;
            (void)add_protected_event(c, role, TD_HS_FINISHED, r->len, ev);
            set_last_msg(c, role, TD_HS_FINISHED);
            if (f->finished[TD_ROLE_CLIENT].frame != 0 && f->finished[TD_ROLE_SERVER].frame != 0) {
                set_done(c, ev);
            }
            return false;
        }
        if (is_done(c)) {
            count_after_done(c, role, false, ev); /* renegotiation or post-handshake messages */
        }
        (void)add_protected_event(c, role, TD_HS_ENCRYPTED, r->len, ev);
        return false;
    }
    if (body == NULL) {
        return false;
    }
    if (hs_idle && !c->hello_ok && !d->hs_trusted) {
        if (!hello_record_plausible(*body)) {
            d->keys_on = true; /* picked up mid-stream: this direction is already protected */
            if (f->encrypted_from[role].frame == 0) {
                f->encrypted_from[role] = ev;
            }
            (void)add_protected_event(c, role, TD_HS_ENCRYPTED, r->len, ev);
            return false;
        }
        d->hs_trusted = true;
    }
    if (is_done(c)) {
        count_after_done(c, role, true, ev); /* TLS 1.3: a ClientHello/HelloRequest in the clear after completion */
    }
    return true;
}

bool td_tls_conn_on_record(struct td_tls_conn *c, int dir, const struct td_record_info *r,
                           const struct td_cursor *body, bool hs_idle, struct td_evidence ev)
{
    struct td_tls_facts *f = &c->facts;
    uint8_t role = role_of(c, dir);
    f->is_tls = true;
    if (r->type >= TD_CT_CHANGE_CIPHER_SPEC && r->type <= TD_CT_HEARTBEAT) {
        f->counts[role].records[r->type - TD_CT_CHANGE_CIPHER_SPEC]++;
        f->counts[role].bytes[r->type - TD_CT_CHANGE_CIPHER_SPEC] += r->len;
    } else {
        f->counts[role].other_records++;
    }
    if (r->is_protected && f->encrypted_from[role].frame == 0) {
        f->encrypted_from[role] = ev;
    }
    if (r->retransmitted) {
        return false; /* DTLS: a flight sent again (dtls.c counts it) */
    }
    if (r->lost && r->type != TD_CT_APPLICATION_DATA) {
        return false;
    }
    switch (r->type) {
    case TD_CT_CHANGE_CIPHER_SPEC:
        on_ccs(c, dir, r, body, ev);
        return false;
    case TD_CT_ALERT:
        on_alert(c, dir, r, body, ev);
        return false;
    case TD_CT_HANDSHAKE:
        return on_handshake_record(c, dir, r, body, hs_idle, ev);
    case TD_CT_APPLICATION_DATA:
        on_app_data(c, dir, r, ev);
        return false;
    case TD_CT_HEARTBEAT:
        on_heartbeat(c, dir, r, body, ev);
        return false;
    default:
        return false;
    }
}

/* --- public interface --- */

/* With a spill the connection itself is a spill block too, cooled with its arena: a connection idle after its
 * handshake keeps nothing in memory but its flow. */
#define CONN_SPILL_BLOCK 2048u
_Static_assert(sizeof(struct td_tls_conn) <= CONN_SPILL_BLOCK, "struct td_tls_conn must fit its spill block");

struct td_tls_conn *td_tls_conn_new(const struct td_limits *limits, struct td_spill *spill)
{
    struct td_tls_conn *c = spill != NULL ? td_spill_alloc(spill, CONN_SPILL_BLOCK) : NULL;
    if (c != NULL) {
        memset(c, 0, sizeof(*c));
    } else {
        spill = NULL; /* the spill is full: this connection lives on the heap */
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            return NULL;
        }
    }
    c->limits = *limits;
    td_arena_init_spill(&c->arena, c->limits.max_conn_arena_bytes, spill);
    if (spill != NULL) {
        td_arena_adopt(&c->arena, c, CONN_SPILL_BLOCK);
    }
    c->facts.last_hs_msg = -1;
    c->facts.outcome_alert = -1;
    c->facts.outcome_after_msg = -1;
    c->done_after_msg = -1;
    c->ch_dir = -1;
    c->server_flight_event = UINT32_MAX;
    c->client_flight_event = UINT32_MAX;
    return c;
}

void td_tls_conn_free(struct td_tls_conn *c)
{
    if (c == NULL) {
        return;
    }
    td_tls_record_cleanup(&c->dir[0]);
    td_tls_record_cleanup(&c->dir[1]);
    td_dtls_cleanup(c);
    td_arena_cleanup(&c->arena);
    if (c->arena.owner_block != NULL) {
        td_arena_release_owner(&c->arena); /* c itself */
    } else {
        free(c);
    }
}

void td_tls_conn_gap(struct td_tls_conn *c, int dir, uint64_t off, uint64_t len, uint64_t frame, int64_t ts_ns)
{
    if (c == NULL || c->finished || (dir != TD_DIR_C2S && dir != TD_DIR_S2C) || len == 0) {
        return;
    }
    td_arena_active(&c->arena);
    struct td_evidence ev = {.frame = frame, .ts_ns = ts_ns};
    struct td_tls_dir *d = &c->dir[dir];
    (void)add_event(c, role_of(c, dir), TD_EV_GAP, len > INT32_MAX ? INT32_MAX : (int32_t)len,
                    len > UINT32_MAX ? UINT32_MAX : (uint32_t)len, ev);
    td_tls_record_gap(c, dir, len, ev);
    d->off_known = true;
    d->next_off = off + len;
}

void td_tls_conn_data(struct td_tls_conn *c, int dir, const uint8_t *data, size_t len, uint64_t off, uint64_t frame,
                      int64_t ts_ns)
{
    if (c == NULL || c->finished || (dir != TD_DIR_C2S && dir != TD_DIR_S2C) || len == 0 || data == NULL) {
        return;
    }
    td_arena_active(&c->arena);
    struct td_tls_dir *d = &c->dir[dir];
    struct td_cursor in;
    td_cursor_init(&in, data, len, off);
    if (d->off_known && off > d->next_off) {
        /* A hole the flow table did not report: same as a gap. */
        td_tls_conn_gap(c, dir, d->next_off, off - d->next_off, frame, ts_ns);
    } else if (d->off_known && off < d->next_off) {
        /* Bytes already delivered: skip them. */
        uint64_t dup = d->next_off - off;
        if (dup >= len || !td_cursor_skip(&in, (size_t)dup)) {
            return;
        }
    }
    d->off_known = true;
    d->next_off = td_cursor_off(&in) + td_cursor_len(&in);
    struct td_evidence ev = {.frame = frame, .ts_ns = ts_ns};
    if (!d->has_data) {
        d->has_data = true;
        d->first_data_ev = ev;
    }
    td_tls_record_feed(c, dir, in, ev);
}

static void mark_close(struct td_tls_conn *c, int dir, bool is_rst, struct td_evidence ev)
{
    if (is_done(c) || c->close.set) {
        return;
    }
    c->close = (struct td_outcome_mark){.set = true,
                                        .role = role_of(c, dir),
                                        .ev = ev,
                                        .alert = -1,
                                        .after_msg = c->facts.last_hs_msg,
                                        .is_rst = is_rst};
}

void td_tls_conn_tcp_flags(struct td_tls_conn *c, int dir, uint8_t flags, uint64_t frame, int64_t ts_ns)
{
    if (c == NULL || c->finished || (dir != TD_DIR_C2S && dir != TD_DIR_S2C)) {
        return;
    }
    td_arena_active(&c->arena);
    struct td_tls_dir *d = &c->dir[dir];
    struct td_evidence ev = {.frame = frame, .ts_ns = ts_ns};
    uint8_t role = role_of(c, dir);
    if ((flags & TD_TCP_SYN) != 0) {
        bool synack = (flags & TD_TCP_ACK) != 0 || dir == TD_DIR_S2C;
        (void)add_event(c, role, synack ? TD_EV_TCP_SYNACK : TD_EV_TCP_SYN, 0, 0, ev);
    }
    if ((flags & TD_TCP_FIN) != 0) {
        (void)add_event(c, role, TD_EV_TCP_FIN, 0, 0, ev);
        if (!d->fin_seen) {
            d->fin_seen = true;
            d->first_fin = ev;
        }
        mark_close(c, dir, false, ev);
    }
    if ((flags & TD_TCP_RST) != 0) {
        (void)add_event(c, role, TD_EV_TCP_RST, 0, 0, ev);
        if (!d->rst_seen) {
            d->rst_seen = true;
            d->first_rst = ev;
        }
        mark_close(c, dir, true, ev);
    }
}

static void decide_outcome(struct td_tls_conn *c, struct td_evidence end)
{
    struct td_tls_facts *f = &c->facts;
    f->outcome_alert = -1;
    f->outcome_after_msg = -1;
    f->outcome_role = TD_ROLE_CLIENT;
    if (!f->is_tls) {
        f->outcome = TD_OUTCOME_NOT_TLS;
        f->outcome_ev = end;
        return;
    }
    if (c->rejected_after_finished.set) {
        /* The client finished, the server did not accept it: the handshake did not complete. */
        f->handshake_done = (struct td_evidence){0};
        c->failing_alert = c->rejected_after_finished;
    }
    if (is_done(c)) {
        f->outcome = f->resumed ? TD_OUTCOME_RESUMED : TD_OUTCOME_ESTABLISHED;
        f->outcome_ev = f->handshake_done;
        f->outcome_after_msg = c->done_after_msg;
        return;
    }
    const struct td_outcome_mark *m = NULL;
    if (c->failing_alert.set) {
        m = &c->failing_alert;
    } else if (c->warning_alert.set && !c->progress_after_warning) {
        m = &c->warning_alert; /* any alert followed by the end fails the handshake */
    }
    if (m != NULL) {
        f->outcome = TD_OUTCOME_FAILED_ALERT;
        f->outcome_ev = m->ev;
        f->outcome_role = m->role;
        f->outcome_alert = m->alert;
        f->outcome_after_msg = m->after_msg;
        return;
    }
    if (c->close.set) {
        f->outcome = c->close.is_rst ? TD_OUTCOME_RESET : TD_OUTCOME_CLOSED;
        f->outcome_ev = c->close.ev;
        f->outcome_role = c->close.role;
        f->outcome_after_msg = c->close.after_msg;
        return;
    }
    f->outcome = TD_OUTCOME_INCOMPLETE;
    f->outcome_ev = end;
    f->outcome_role = f->last_hs_msg >= 0 ? f->last_hs_role : TD_ROLE_CLIENT;
    f->outcome_after_msg = f->last_hs_msg;
}

void td_tls_conn_finish(struct td_tls_conn *c, uint64_t last_frame, int64_t last_ts_ns)
{
    if (c == NULL || c->finished) {
        return;
    }
    /* Off the spill's cooling queue: the facts are read, and the connection freed, on other threads. */
    td_arena_unsettle(&c->arena);
    struct td_evidence end = {.frame = last_frame, .ts_ns = last_ts_ns};
    for (int dir = 0; dir < 2; dir++) {
        td_tls_record_finish(c, dir, end);
    }
    td_dtls_finish(c, end);
    for (int dir = 0; dir < 2 && c->facts.is_tls; dir++) {
        const struct td_tls_dir *d = &c->dir[dir];
        /* START with under 5 bytes is undecided, not evidence of anything. */
        bool never_tls = d->mode == TD_DIR_MODE_SCAN || d->mode == TD_DIR_MODE_NOT_TLS;
        if (d->has_data && never_tls) {
            /* The peer of a TLS endpoint answered with bytes that are not TLS (zeek's garbled alert). */
            td_tls_conn_anomaly(c, dir, TD_ANOM_NOT_TLS, d->first_data_ev);
        }
    }
    decide_outcome(c, end);
    c->finished = true;
    td_tls_record_cleanup(&c->dir[0]);
    td_tls_record_cleanup(&c->dir[1]);
    td_dtls_cleanup(c);
}

const struct td_tls_facts *td_tls_conn_facts(const struct td_tls_conn *c) { return &c->facts; }

bool td_tls_conn_is_tracking(const struct td_tls_conn *c)
{
    return !(c->dir[0].mode == TD_DIR_MODE_NOT_TLS && c->dir[1].mode == TD_DIR_MODE_NOT_TLS);
}
