/* SPDX-License-Identifier: MIT */
/* fields.c: the field registry (fields.h): one table, one row per fact a rule can name, each with a small
 * accessor over struct td_tls_facts / td_flow_info / td_server_facts. Derived facts are computed here:
 * versions a client offered (RFC 8446 §4.2.1, RFC 8701 GREASE), DHE values shorter than p (RFC 5246 §8.1.2),
 * certificate validity at capture time and name matching (RFC 5280 §4.1.2.5, RFC 6125 §6.4), the TLS 1.0 CBC
 * 1/n-1 record split (RFC 2246 §6.2.3.2, RFC 7366), renegotiation (RFC 5746). Field list: docs/RULES.md. */
#include "fields.h"

#include <stdio.h>
#include <string.h>

#include "names.h"

/* --- values: each setter returns true; accessors return false (absent) before calling one --- */

static bool set_int(struct td_value *out, int64_t v)
{
    out->type = TD_FIELD_INT;
    out->i = v;
    out->s = NULL;
    return true;
}

static bool set_bool(struct td_value *out, bool v)
{
    out->type = TD_FIELD_BOOL;
    out->i = v ? 1 : 0;
    out->s = NULL;
    return true;
}

// Frame 0 means "none" in the facts: such a frame is absent.
static bool set_frame(struct td_value *out, uint64_t frame)
{
    if (frame == 0 || frame > INT64_MAX) {
        return false;
    }
    out->type = TD_FIELD_FRAME;
    out->i = (int64_t)frame;
    out->s = NULL;
    return true;
}

static bool set_str(struct td_value *out, const char *s)
{
    if (s == NULL) {
        return false;
    }
    out->type = TD_FIELD_STRING;
    out->i = 0;
    out->s = s;
    return true;
}

static const char *role_name(uint8_t role)
{
    return role == TD_ROLE_CLIENT ? "client" : "server";
}

static const char *handshake_name(int32_t type)
{
    return type < 0 ? NULL : td_name_handshake(type);
}

/* Names of TLS 1.3 draft versions (0x7fNN is draft NN), a static table so a name outlives the evaluation. */
#define DRAFT(n) "TLS 1.3 draft-" #n,
#define DRAFTS10(t) DRAFT(t##0) DRAFT(t##1) DRAFT(t##2) DRAFT(t##3) DRAFT(t##4) DRAFT(t##5) DRAFT(t##6) DRAFT(t##7) \
    DRAFT(t##8) DRAFT(t##9)
static const char *const draft_names[256] = {
    DRAFT(0) DRAFT(1) DRAFT(2) DRAFT(3) DRAFT(4) DRAFT(5) DRAFT(6) DRAFT(7) DRAFT(8) DRAFT(9)
    DRAFTS10(1) DRAFTS10(2) DRAFTS10(3) DRAFTS10(4) DRAFTS10(5) DRAFTS10(6) DRAFTS10(7) DRAFTS10(8) DRAFTS10(9)
    DRAFTS10(10) DRAFTS10(11) DRAFTS10(12) DRAFTS10(13) DRAFTS10(14) DRAFTS10(15) DRAFTS10(16) DRAFTS10(17)
    DRAFTS10(18) DRAFTS10(19) DRAFTS10(20) DRAFTS10(21) DRAFTS10(22) DRAFTS10(23) DRAFTS10(24)
    DRAFT(250) DRAFT(251) DRAFT(252) DRAFT(253) DRAFT(254) DRAFT(255)
};
#undef DRAFTS10
#undef DRAFT

static const char *version_name(uint16_t v)
{
    const char *name = td_name_version(v, NULL, 0);
    if (name != NULL) {
        return name;
    }
    if ((v >> 8) == 0x7f) {
        return draft_names[v & 0xffu];
    }
    if (v == 0xfb17) {
        return "TLS 1.3 Facebook draft-23";
    }
    if (v == 0xfb1a) {
        return "TLS 1.3 Facebook draft-26";
    }
    return NULL;
}

static bool is_tls13_draft(uint16_t v)
{
    return (v >> 8) == 0x7f || v == 0xfb17 || v == 0xfb1a;
}

// version_rank: a version as an ordered number, TLS 1.3 drafts as TLS 1.3, DTLS versions as the TLS version
// they are based on (their own numbers go down as versions go up: RFC 6347 §4.1); 0 for values that are no
// version (GREASE, unknown DTLS values, garbage), which offered-version computations ignore.
static uint16_t version_rank(uint16_t v)
{
    if (is_tls13_draft(v)) {
        return TD_VERSION_TLS13;
    }
    if (td_version_is_dtls(v)) {
        return td_version_tls_equivalent(v);
    }
    if (v == TD_VERSION_SSL2 || (v >> 8) == 0x03) {
        return v;
    }
    return 0;
}

/* --- alert scope --- */

static bool alert_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->alert != NULL && set_frame(out, ctx->alert->ev.frame);
}

static bool alert_level(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->alert != NULL && !ctx->alert->encrypted && set_int(out, ctx->alert->level);
}

static bool alert_description(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->alert != NULL && !ctx->alert->encrypted && set_int(out, ctx->alert->description);
}

static bool alert_description_name(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->alert != NULL && !ctx->alert->encrypted && set_str(out, td_name_alert(ctx->alert->description));
}

static bool alert_from(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->alert != NULL && set_str(out, role_name(ctx->alert->role));
}

static bool alert_encrypted(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->alert != NULL && set_bool(out, ctx->alert->encrypted);
}

static bool alert_inferred(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->alert != NULL && set_bool(out, ctx->alert->inferred);
}

static bool alert_after(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->alert != NULL && set_str(out, handshake_name(ctx->alert->after_msg));
}

// alert_after_from: the alert does not store who sent the message before it; the timeline does. Find the
// alert's event (detail = its index in alerts), then the latest handshake event of that type before it.
// Absent when the alert is not one of tls->alerts or the timeline was cut before it.
static bool alert_after_from(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_alert *a = ctx->alert;
    const struct td_tls_facts *f = ctx->tls;
    if (a == NULL || f == NULL || a->after_msg < 0 || f->alerts == NULL || f->timeline == NULL) {
        return false;
    }
    int64_t index = -1;
    for (uint32_t k = 0; k < f->num_alerts; k++) {
        if (&f->alerts[k] == a) {
            index = k;
            break;
        }
    }
    if (index < 0) {
        return false;
    }
    uint32_t e = 0;
    while (e < f->num_events && !(f->timeline[e].kind == TD_EV_ALERT && f->timeline[e].detail == index)) {
        e++;
    }
    if (e == f->num_events) {
        return false; // the timeline was cut before the alert: the message before it may be past the cut
    }
    while (e-- > 0) {
        const struct td_event *ev = &f->timeline[e];
        if (ev->kind == TD_EV_HANDSHAKE && ev->detail == a->after_msg) {
            return set_str(out, role_name(ev->role));
        }
    }
    return false;
}

/* --- connection: flow --- */

static bool conn_id(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->flow != NULL && ctx->flow->id <= INT64_MAX && set_int(out, (int64_t)ctx->flow->id);
}

static bool conn_first_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->flow != NULL && set_frame(out, ctx->flow->first_frame);
}

static bool conn_last_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->flow != NULL && set_frame(out, ctx->flow->last_frame);
}

static bool roles_swapped(const struct td_fact_ctx *ctx)
{
    return ctx->tls != NULL && ctx->tls->roles_swapped;
}

static bool conn_server_port(const struct td_fact_ctx *ctx, struct td_value *out)
{
    if (ctx->flow == NULL) {
        return false;
    }
    return set_int(out, roles_swapped(ctx) ? ctx->flow->client_port : ctx->flow->server_port);
}

static bool conn_client_port(const struct td_fact_ctx *ctx, struct td_value *out)
{
    if (ctx->flow == NULL) {
        return false;
    }
    return set_int(out, roles_swapped(ctx) ? ctx->flow->server_port : ctx->flow->client_port);
}

static bool conn_end(const struct td_fact_ctx *ctx, struct td_value *out)
{
    if (ctx->flow == NULL) {
        return false;
    }
    switch (ctx->flow->end) {
    case TD_FLOW_END_FIN:
        return set_str(out, "fin");
    case TD_FLOW_END_RST:
        return set_str(out, "rst");
    case TD_FLOW_END_IDLE:
        return set_str(out, "idle");
    case TD_FLOW_END_EVICTED:
        return set_str(out, "evicted");
    case TD_FLOW_END_CAPTURE_END:
        return set_str(out, "capture_end");
    case TD_FLOW_END_NONE:
        break;
    }
    return false;
}

static bool conn_gaps(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->flow != NULL && set_int(out, (int64_t)ctx->flow->gaps[0] + ctx->flow->gaps[1]);
}

/* --- connection: outcome --- */

static const char *outcome_name(enum td_outcome o)
{
    switch (o) {
    case TD_OUTCOME_NOT_TLS:
        return "not_tls";
    case TD_OUTCOME_ESTABLISHED:
        return "established";
    case TD_OUTCOME_FAILED_ALERT:
        return "failed_alert";
    case TD_OUTCOME_RESET:
        return "reset";
    case TD_OUTCOME_CLOSED:
        return "closed";
    case TD_OUTCOME_INCOMPLETE:
        return "incomplete";
    case TD_OUTCOME_RESUMED:
        return "resumed";
    }
    return NULL;
}

static bool is_failed(enum td_outcome o)
{
    return o == TD_OUTCOME_FAILED_ALERT || o == TD_OUTCOME_RESET || o == TD_OUTCOME_CLOSED;
}

static bool conn_outcome(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_str(out, outcome_name(ctx->tls->outcome));
}

static bool conn_outcome_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_frame(out, ctx->tls->outcome_ev.frame);
}

// Only a failure has a party that ended the handshake (who sent the alert, RST or FIN).
static bool conn_outcome_by(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && is_failed(ctx->tls->outcome) && set_str(out, role_name(ctx->tls->outcome_role));
}

static bool conn_outcome_after(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_str(out, handshake_name(ctx->tls->outcome_after_msg));
}

static bool conn_outcome_alert(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_tls_facts *f = ctx->tls;
    return f != NULL && f->outcome == TD_OUTCOME_FAILED_ALERT && f->outcome_alert >= 0 &&
           set_int(out, f->outcome_alert);
}

static bool conn_failed(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, is_failed(ctx->tls->outcome));
}

/* --- connection: negotiated parameters and phases --- */

static bool tls_present(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, ctx->tls->is_tls);
}

static bool tls_version(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && ctx->tls->version != 0 && set_int(out, ctx->tls->version);
}

static bool tls_version_name(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && ctx->tls->version != 0 && set_str(out, version_name(ctx->tls->version));
}

static bool tls_version_as_tls(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && version_rank(ctx->tls->version) != 0 && set_int(out, version_rank(ctx->tls->version));
}

static bool tls_dtls(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, ctx->tls->dtls);
}

static bool tls_dtls_retransmitted(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_tls_facts *f = ctx->tls;
    return f != NULL && f->dtls &&
           set_int(out, (int64_t)f->dtls_retransmitted[TD_ROLE_CLIENT] + f->dtls_retransmitted[TD_ROLE_SERVER]);
}

static bool tls_dtls_hvr(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && ctx->tls->dtls && set_bool(out, ctx->tls->dtls_hello_verify_requests > 0);
}

static bool tls_dtls_hvr_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_frame(out, ctx->tls->dtls_hello_verify_request.frame);
}

static bool tls_tls13(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, version_rank(ctx->tls->version) == TD_VERSION_TLS13);
}

static const struct td_cipher_suite *negotiated_suite(const struct td_fact_ctx *ctx)
{
    if (ctx->tls == NULL || ctx->tls->version == 0) {
        return NULL;
    }
    return td_cipher_suite_find(ctx->tls->cipher);
}

// A negotiated cipher is known once a ServerHello was parsed (0x0000 is TLS_NULL_WITH_NULL_NULL, never chosen).
static bool tls_cipher(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && ctx->tls->version != 0 && ctx->tls->cipher != 0 && set_int(out, ctx->tls->cipher);
}

static bool tls_cipher_name(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cipher_suite *cs = negotiated_suite(ctx);
    return cs != NULL && set_str(out, cs->name);
}

static bool tls_cipher_kx(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cipher_suite *cs = negotiated_suite(ctx);
    return cs != NULL && set_str(out, cs->kx);
}

static bool tls_cipher_cbc(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cipher_suite *cs = negotiated_suite(ctx);
    return cs != NULL && set_bool(out, cs->is_cbc);
}

static bool hs_completed(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, ctx->tls->handshake_done.frame != 0);
}

static bool hs_completed_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_frame(out, ctx->tls->handshake_done.frame);
}

static bool hs_resumed(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, ctx->tls->resumed);
}

static bool hs_false_start(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, ctx->tls->false_start);
}

/* --- connection: ClientHello --- */

static const struct td_client_hello *first_ch(const struct td_fact_ctx *ctx)
{
    if (ctx->tls == NULL || ctx->tls->num_client_hellos == 0) {
        return NULL;
    }
    return ctx->tls->client_hellos[0];
}

// ranked_wire: the value reported for the version of rank r seen as wire value v: TLS drafts as 0x0304, DTLS
// versions as sent (their rank only orders them).
static uint16_t ranked_wire(uint16_t v, uint16_t r)
{
    return td_version_is_dtls(v) ? v : r;
}

// offered_max: the highest version a ClientHello offered: max(supported_versions) when the extension lists
// a version, else legacy_version (RFC 8446 §4.2.1). GREASE and non-TLS values are ignored; drafts rank as 1.3;
// DTLS versions are ordered by what they stand for (DTLS 1.3 0xfefc above DTLS 1.2 0xfefd).
static uint16_t offered_max(const struct td_client_hello *ch)
{
    uint16_t best = 0, best_wire = 0;
    for (uint32_t k = 0; ch->supported_versions.v != NULL && k < ch->supported_versions.num; k++) {
        uint16_t v = ch->supported_versions.v[k];
        uint16_t r = version_rank(v);
        if (r > best) {
            best = r;
            best_wire = ranked_wire(v, r);
        }
    }
    return best != 0 ? best_wire : ch->legacy_version;
}

// offered_min: the lowest version offered: min(supported_versions), else SSL 3.0 (a client without the
// extension accepts anything from the oldest version it implements up to legacy_version; SSL 3.0 is the
// oldest record-compatible one). An SSLv2 hello offering SSL 2.0 gives 0x0002.
// A DTLS client without the extension accepts DTLS 1.0 (0xfeff) and up, or OpenSSL's pre-RFC 0x0100 if that is
// what it sent.
static uint16_t offered_min(const struct td_client_hello *ch)
{
    uint16_t best = 0, best_wire = 0;
    for (uint32_t k = 0; ch->supported_versions.v != NULL && k < ch->supported_versions.num; k++) {
        uint16_t v = ch->supported_versions.v[k];
        uint16_t r = version_rank(v);
        if (r != 0 && (best == 0 || r < best)) {
            best = r;
            best_wire = ranked_wire(v, r);
        }
    }
    if (best != 0) {
        return best_wire;
    }
    if (td_version_is_dtls(ch->legacy_version)) {
        return ch->legacy_version == TD_VERSION_DTLS10_OPENSSL_PRE ? ch->legacy_version : TD_VERSION_DTLS10;
    }
    return ch->legacy_version < TD_VERSION_SSL3 ? ch->legacy_version : TD_VERSION_SSL3;
}

static bool has_supported_versions(const struct td_client_hello *ch)
{
    for (uint32_t k = 0; ch->supported_versions.v != NULL && k < ch->supported_versions.num; k++) {
        if (version_rank(ch->supported_versions.v[k]) != 0) {
            return true;
        }
    }
    return false;
}

// version_offered: v is among what ch offered: listed in supported_versions, or (without the extension)
// any version up to legacy_version.
static bool version_offered(const struct td_client_hello *ch, uint16_t v)
{
    if (!has_supported_versions(ch)) {
        if (td_version_is_dtls(v) != td_version_is_dtls(ch->legacy_version)) {
            return false; /* DTLS to a TLS hello or the reverse */
        }
        uint16_t r = version_rank(v);
        return r != 0 ? r <= version_rank(ch->legacy_version) : v <= ch->legacy_version;
    }
    for (uint32_t k = 0; k < ch->supported_versions.num; k++) {
        if (ch->supported_versions.v[k] == v) {
            return true;
        }
    }
    return false;
}

static bool ch_present(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, first_ch(ctx) != NULL);
}

static bool ch_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_frame(out, ch->ev.frame);
}

static bool ch_count(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_int(out, ctx->tls->client_hellos_seen);
}

static bool ch_version(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_int(out, ch->legacy_version);
}

static bool ch_max_version(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_int(out, offered_max(ch));
}

static bool ch_min_version(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_int(out, offered_min(ch));
}

static bool ch_max_version_name(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_str(out, version_name(offered_max(ch)));
}

static bool ch_min_version_name(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_str(out, version_name(offered_min(ch)));
}

static bool ch_offers_tls13(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_bool(out, has_supported_versions(ch) && version_rank(offered_max(ch)) >= TD_VERSION_TLS13);
}

static bool ch_sni(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_str(out, ch->sni);
}

static bool ch_fallback_scsv(const struct td_fact_ctx *ctx, struct td_value *out)
{
    if (first_ch(ctx) == NULL) {
        return false;
    }
    bool any = false;
    for (uint32_t k = 0; k < ctx->tls->num_client_hellos && k < TD_MAX_HELLOS; k++) {
        any = any || (ctx->tls->client_hellos[k] != NULL && ctx->tls->client_hellos[k]->has_fallback_scsv);
    }
    return set_bool(out, any);
}

static bool ch_secure_renegotiation(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_bool(out, ch->has_renegotiation_info || ch->has_scsv_renegotiation);
}

static bool ch_post_handshake_auth(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_bool(out, ch->has_post_handshake_auth);
}

static bool ch_num_ciphers(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    return ch != NULL && set_int(out, ch->ciphers.num);
}

// dhe_only: every suite offered, GREASE and signalling values aside, has DHE key exchange (and there is one).
// A suite missing from the IANA table is not DHE.
static bool ch_dhe_only(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    if (ch == NULL) {
        return false;
    }
    uint32_t dhe = 0;
    for (uint32_t k = 0; ch->ciphers.v != NULL && k < ch->ciphers.num; k++) {
        uint16_t code = ch->ciphers.v[k];
        if (td_is_grease(code)) {
            continue;
        }
        const struct td_cipher_suite *cs = td_cipher_suite_find(code);
        if (cs != NULL && strcmp(cs->kx, "SCSV") == 0) {
            continue;
        }
        if (cs == NULL || strcmp(cs->kx, "DHE") != 0) {
            return set_bool(out, false);
        }
        dhe++;
    }
    return set_bool(out, dhe > 0);
}

// retry_lower: a later ClientHello of this connection (after an HRR or a failed attempt on the same TCP
// connection, or a renegotiation) offered a lower maximum version than an earlier one.
static bool ch_retry_lower(const struct td_fact_ctx *ctx, struct td_value *out)
{
    if (first_ch(ctx) == NULL) {
        return false;
    }
    uint16_t highest = 0;
    bool lower = false;
    for (uint32_t k = 0; k < ctx->tls->num_client_hellos && k < TD_MAX_HELLOS; k++) {
        const struct td_client_hello *ch = ctx->tls->client_hellos[k];
        if (ch == NULL) {
            continue;
        }
        uint16_t m = version_rank(offered_max(ch));
        lower = lower || (highest != 0 && m < highest);
        highest = m > highest ? m : highest;
    }
    return set_bool(out, lower);
}

/* --- connection: ServerHello, HelloRetryRequest --- */

static const struct td_server_hello *first_sh(const struct td_fact_ctx *ctx)
{
    if (ctx->tls == NULL) {
        return NULL;
    }
    for (uint32_t k = 0; k < ctx->tls->num_server_hellos && k < TD_MAX_HELLOS; k++) {
        const struct td_server_hello *sh = ctx->tls->server_hellos[k];
        if (sh != NULL && !sh->is_hrr) {
            return sh;
        }
    }
    return NULL;
}

static uint16_t sh_selected(const struct td_server_hello *sh)
{
    return sh->selected_version != 0 ? sh->selected_version : sh->legacy_version;
}

static bool sh_present(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, first_sh(ctx) != NULL);
}

static bool sh_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_server_hello *sh = first_sh(ctx);
    return sh != NULL && set_frame(out, sh->ev.frame);
}

static bool sh_version(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_server_hello *sh = first_sh(ctx);
    return sh != NULL && set_int(out, sh_selected(sh));
}

static bool sh_version_offered(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_server_hello *sh = first_sh(ctx);
    const struct td_client_hello *ch = first_ch(ctx);
    return sh != NULL && ch != NULL && set_bool(out, version_offered(ch, sh_selected(sh)));
}

static bool sh_secure_renegotiation(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_server_hello *sh = first_sh(ctx);
    return sh != NULL && set_bool(out, sh->has_renegotiation_info);
}

static const struct td_server_hello *first_hrr(const struct td_fact_ctx *ctx)
{
    for (uint32_t k = 0; ctx->tls != NULL && k < ctx->tls->num_server_hellos && k < TD_MAX_HELLOS; k++) {
        const struct td_server_hello *sh = ctx->tls->server_hellos[k];
        if (sh != NULL && sh->is_hrr) {
            return sh;
        }
    }
    return NULL;
}

static bool tls_hrr(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, first_hrr(ctx) != NULL);
}

static bool tls_hrr_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_server_hello *hrr = first_hrr(ctx);
    return hrr != NULL && set_frame(out, hrr->ev.frame);
}

/* --- connection: the first fatal alert --- */

// first_fatal: the first alert that is fatal in the clear, or encrypted (its level is unknown) and either
// sent before the handshake completed or the one that decided a failed_alert outcome. An encrypted alert
// after completion is almost always close_notify ending a healthy connection: counting it would make every
// TLS 1.2 connection closed cleanly look like a fatal failure.
static const struct td_alert *first_fatal(const struct td_fact_ctx *ctx)
{
    const struct td_tls_facts *f = ctx->tls;
    if (f == NULL || f->alerts == NULL) {
        return NULL;
    }
    for (uint32_t k = 0; k < f->num_alerts; k++) {
        const struct td_alert *a = &f->alerts[k];
        if (!a->encrypted && a->level == TD_ALERT_LEVEL_FATAL) {
            return a;
        }
        bool before_done = f->handshake_done.frame == 0 || a->ev.frame < f->handshake_done.frame;
        bool decided = f->outcome == TD_OUTCOME_FAILED_ALERT && f->outcome_ev.frame == a->ev.frame;
        if (a->encrypted && (before_done || decided)) {
            return a;
        }
    }
    return NULL;
}

// The fatal_alert.* fields are the alert.* accessors applied to the first fatal alert.
static bool with_fatal(const struct td_fact_ctx *ctx, struct td_value *out,
                       bool (*get)(const struct td_fact_ctx *, struct td_value *))
{
    struct td_fact_ctx sub = *ctx;
    sub.alert = first_fatal(ctx);
    return sub.alert != NULL && get(&sub, out);
}

static bool fatal_present(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, first_fatal(ctx) != NULL);
}

static bool fatal_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return with_fatal(ctx, out, alert_frame);
}

static bool fatal_description(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return with_fatal(ctx, out, alert_description);
}

static bool fatal_description_name(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return with_fatal(ctx, out, alert_description_name);
}

static bool fatal_from(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return with_fatal(ctx, out, alert_from);
}

static bool fatal_after(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return with_fatal(ctx, out, alert_after);
}

static bool fatal_encrypted(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return with_fatal(ctx, out, alert_encrypted);
}

/* --- connection: CertificateRequest, client Certificate --- */

static const struct td_cert_request *cert_request(const struct td_fact_ctx *ctx)
{
    return ctx->tls == NULL ? NULL : ctx->tls->cert_request;
}

static bool cr_present(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, cert_request(ctx) != NULL);
}

static bool cr_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert_request *cr = cert_request(ctx);
    return cr != NULL && set_frame(out, cr->ev.frame);
}

static bool cr_count(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_int(out, ctx->tls->cert_requests_seen);
}

static bool cr_ca_list_len(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert_request *cr = cert_request(ctx);
    return cr != NULL && set_int(out, cr->ca_list_len);
}

static bool cr_num_ca_names(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert_request *cr = cert_request(ctx);
    return cr != NULL && set_int(out, cr->num_ca_names);
}

static bool cr_ca_list_well_formed(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert_request *cr = cert_request(ctx);
    return cr != NULL && set_bool(out, cr->ca_list_well_formed);
}

static bool cc_present(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, ctx->tls->client_certs != NULL);
}

static bool cc_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && ctx->tls->client_certs != NULL && set_frame(out, ctx->tls->client_certs->ev.frame);
}

static bool cc_count(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && ctx->tls->client_certs != NULL && set_int(out, ctx->tls->client_certs->num_sent);
}

/* --- connection: the server's certificate --- */

static const struct td_cert_chain *server_chain(const struct td_fact_ctx *ctx)
{
    return ctx->tls == NULL ? NULL : ctx->tls->server_certs;
}

// leaf: the server's end-entity certificate when it was kept and parsed.
static const struct td_cert *leaf(const struct td_fact_ctx *ctx)
{
    const struct td_cert_chain *chain = server_chain(ctx);
    if (chain == NULL || chain->certs == NULL || chain->num_certs == 0 || chain->certs[0].parse_error) {
        return NULL;
    }
    return &chain->certs[0];
}

static bool sc_present(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, server_chain(ctx) != NULL);
}

static bool sc_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert_chain *chain = server_chain(ctx);
    return chain != NULL && set_frame(out, chain->ev.frame);
}

static bool sc_chain_len(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert_chain *chain = server_chain(ctx);
    return chain != NULL && set_int(out, chain->num_sent);
}

static bool sc_subject(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert *c = leaf(ctx);
    return c != NULL && set_str(out, c->subject);
}

static bool sc_issuer(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert *c = leaf(ctx);
    return c != NULL && set_str(out, c->issuer);
}

static bool sc_self_signed(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert *c = leaf(ctx);
    return c != NULL && set_bool(out, c->self_signed);
}

static bool sc_has_eku(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert *c = leaf(ctx);
    return c != NULL && set_bool(out, c->has_eku_ext);
}

// server_auth: RFC 5280 §4.2.1.12: without the extension any use is allowed; with it, id-kp-serverAuth
// (1.3.6.1.5.5.7.3.1) or anyExtendedKeyUsage (2.5.29.37.0) must be listed.
static bool sc_server_auth(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_cert *c = leaf(ctx);
    if (c == NULL) {
        return false;
    }
    bool ok = !c->has_eku_ext;
    for (uint32_t k = 0; c->ekus != NULL && k < c->num_ekus; k++) {
        const char *e = c->ekus[k];
        ok = ok || (e != NULL && (strcmp(e, "serverAuth") == 0 || strcmp(e, "anyExtendedKeyUsage") == 0 ||
                                  strcmp(e, "1.3.6.1.5.5.7.3.1") == 0 || strcmp(e, "2.5.29.37.0") == 0));
    }
    return set_bool(out, ok);
}

// capture_time: the Certificate frame's capture time as whole seconds (floor) and whether a fraction remains.
static bool capture_time(const struct td_fact_ctx *ctx, int64_t *sec, bool *frac)
{
    const struct td_cert_chain *chain = server_chain(ctx);
    if (leaf(ctx) == NULL || chain->ev.frame == 0) {
        return false;
    }
    int64_t ns = chain->ev.ts_ns;
    int64_t s = ns / 1000000000;
    int64_t r = ns % 1000000000;
    if (r < 0) {
        s--;
        r += 1000000000;
    }
    *sec = s;
    *frac = r != 0;
    return true;
}

static bool sc_expired(const struct td_fact_ctx *ctx, struct td_value *out)
{
    int64_t sec = 0;
    bool frac = false;
    if (!capture_time(ctx, &sec, &frac)) {
        return false;
    }
    int64_t not_after = leaf(ctx)->not_after;
    return set_bool(out, sec > not_after || (sec == not_after && frac));
}

static bool sc_not_yet_valid(const struct td_fact_ctx *ctx, struct td_value *out)
{
    int64_t sec = 0;
    bool frac = false;
    if (!capture_time(ctx, &sec, &frac)) {
        return false;
    }
    return set_bool(out, sec < leaf(ctx)->not_before);
}

// civil_from_days: the proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm),
// valid for every int64 day count a certificate can hold.
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

// sc_not_after: RFC 3339 UTC ("2024-01-31T23:59:59Z"). The text is formatted into a per-thread buffer, valid
// until this accessor runs again on the same thread (the value is used within one evaluation step).
static bool sc_not_after(const struct td_fact_ctx *ctx, struct td_value *out)
{
    static _Thread_local char buf[40];
    const struct td_cert *c = leaf(ctx);
    if (c == NULL || c->not_after < -62135596800 || c->not_after > 253402300799) {
        return false; // outside years 0001..9999: RFC 3339 cannot write it
    }
    int64_t days = c->not_after / 86400;
    int64_t rem = c->not_after % 86400;
    if (rem < 0) {
        days--;
        rem += 86400;
    }
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", (long long)y, m, d,
                     (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60));
    return n > 0 && (size_t)n < sizeof(buf) && set_str(out, buf);
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

// labels_equal: two labels of n bytes, ASCII case-insensitively (RFC 6125 §6.4.1; A-labels are ASCII).
static bool labels_equal(const char *a, const char *b, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (ascii_lower(a[k]) != ascii_lower(b[k])) {
            return false;
        }
    }
    return true;
}

// name_len: length without one trailing dot (a fully qualified "example.com." names the same host).
static size_t name_len(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

/* dns_name_matches: does the reference identity host (the SNI)
 * match the presented identifier pattern (a dNSName SAN or CN)? RFC 6125 §6.4.3 as browsers apply it:
 * ASCII case-insensitive; a wildcard only as the whole leftmost label ("*.example.com"), matching exactly
 * one non-empty label, never across dots, and only with at least two labels after it ("*.com" matches
 * nothing); partial wildcards ("w*.example.com") and a '*' anywhere else match nothing; empty labels never
 * match. */
static bool dns_name_matches(const char *pattern, const char *host)
{
    if (pattern == NULL || host == NULL) {
        return false;
    }
    size_t pn = name_len(pattern);
    size_t hn = name_len(host);
    if (pn == 0 || hn == 0 || memchr(host, '*', hn) != NULL) {
        return false;
    }
    for (size_t k = 0; k + 1 < hn; k++) {
        if (host[k] == '.' && host[k + 1] == '.') {
            return false;
        }
    }
    if (host[0] == '.') {
        return false;
    }
    if (pn >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        const char *rest = memchr(pattern + 2, '.', pn - 2);
        const char *host_rest = memchr(host, '.', hn);
        if (rest == NULL || host_rest == NULL || host_rest == host) {
            return false; // "*.com", or a single-label host, or an empty leftmost label
        }
        size_t suffix = pn - 1; // ".example.com" including its leading dot
        size_t host_suffix = hn - (size_t)(host_rest - host);
        return suffix == host_suffix && memchr(pattern + 1, '*', suffix) == NULL &&
               labels_equal(pattern + 1, host_rest, suffix);
    }
    if (memchr(pattern, '*', pn) != NULL || pn != hn) {
        return false;
    }
    for (size_t k = 0; k + 1 < pn; k++) {
        if (pattern[k] == '.' && pattern[k + 1] == '.') {
            return false;
        }
    }
    return labels_equal(pattern, host, pn);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = ascii_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* subject_cn: copy the first CN attribute value of an RFC 2253 one-line name
 * ("CN=www.example.com,O=Example,C=US": the most specific RDN comes first) into buf, undoing RFC 2253
 * escapes ("\,", "\2C"); false when there is none or it does not fit. Values split at unescaped ',' and
 * '+' (multi-valued RDNs). */
static bool subject_cn(const char *subject, char *buf, size_t buf_len)
{
    if (subject == NULL || buf == NULL || buf_len == 0) {
        return false;
    }
    size_t k = 0;
    while (subject[k] != '\0') {
        size_t start = k;
        bool is_cn = (subject[k] == 'C' || subject[k] == 'c') && (subject[k + 1] == 'N' || subject[k + 1] == 'n') &&
                     subject[k + 2] == '=';
        size_t o = 0;
        bool fits = true;
        k = is_cn ? k + 3 : k;
        while (subject[k] != '\0' && subject[k] != ',' && subject[k] != '+') {
            char c = subject[k++];
            if (c == '\\' && subject[k] != '\0') {
                int hi = hex_value(subject[k]);
                int lo = hi >= 0 && subject[k + 1] != '\0' ? hex_value(subject[k + 1]) : -1;
                if (lo >= 0) {
                    c = (char)(hi * 16 + lo);
                    k += 2;
                } else {
                    c = subject[k++];
                }
            }
            if (o + 1 >= buf_len) {
                fits = false;
            } else {
                buf[o++] = c;
            }
        }
        if (is_cn && k > start) {
            buf[o] = '\0';
            return fits;
        }
        k = subject[k] != '\0' ? k + 1 : k;
    }
    return false;
}

// name_matches_sni: the SNI against the leaf's dNSName SANs; only when there is none, against the subject
// CN (RFC 6125 §6.4.4). iPAddress SANs never match a host name (and take no wildcards).
static bool sc_name_matches_sni(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    const struct td_cert *c = leaf(ctx);
    if (ch == NULL || ch->sni == NULL || ch->sni[0] == '\0' || c == NULL) {
        return false;
    }
    bool any_dns = false;
    for (uint32_t k = 0; c->sans != NULL && k < c->num_sans; k++) {
        const char *san = c->sans[k];
        if (san == NULL || strncmp(san, "IP:", 3) == 0) {
            continue;
        }
        any_dns = true;
        if (dns_name_matches(san, ch->sni)) {
            return set_bool(out, true);
        }
    }
    if (any_dns) {
        return set_bool(out, false);
    }
    char cn[256];
    return set_bool(out, subject_cn(c->subject, cn, sizeof(cn)) && dns_name_matches(cn, ch->sni));
}

/* --- connection: key exchange --- */

static const struct td_kx_facts *dhe(const struct td_fact_ctx *ctx)
{
    if (ctx->tls == NULL || ctx->tls->kx.kind != TD_KX_DHE || !ctx->tls->kx.has_ske) {
        return NULL;
    }
    return &ctx->tls->kx;
}

static bool dhe_present(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, dhe(ctx) != NULL);
}

static bool dhe_p_len(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    return kx != NULL && set_int(out, kx->dh_p_len);
}

static bool dhe_g_len(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    return kx != NULL && set_int(out, kx->dh_g_len);
}

static bool dhe_ys_len(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    return kx != NULL && set_int(out, kx->dh_ys_len);
}

static bool dhe_yc_len(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    return kx != NULL && kx->has_dh_yc && set_int(out, kx->dh_yc_len);
}

// A public value shorter than p had leading zero bytes stripped (RFC 5246 §8.1.2 strips them from Z, some
// stacks also from Y); peers that require the full length fail about 1 handshake in 256.
static bool dhe_ys_short(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    return kx != NULL && set_bool(out, kx->dh_ys_len < kx->dh_p_len);
}

static bool dhe_yc_short(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    return kx != NULL && kx->has_dh_yc && set_bool(out, kx->dh_yc_len < kx->dh_p_len);
}

static bool dhe_short_key(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    return kx != NULL &&
           set_bool(out, kx->dh_ys_len < kx->dh_p_len || (kx->has_dh_yc && kx->dh_yc_len < kx->dh_p_len));
}

/* The short public value, for texts: Ys when it is short (the client may never have answered), else Yc. */
static bool dhe_short_is_ys(const struct td_kx_facts *kx, bool *is_ys)
{
    if (kx->dh_ys_len < kx->dh_p_len) {
        *is_ys = true;
        return true;
    }
    *is_ys = false;
    return kx->has_dh_yc && kx->dh_yc_len < kx->dh_p_len;
}

static bool dhe_short_value(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    bool is_ys;
    return kx != NULL && dhe_short_is_ys(kx, &is_ys) &&
           set_str(out, is_ys ? "the server's Ys (ServerKeyExchange)" : "the client's Yc (ClientKeyExchange)");
}

static bool dhe_short_value_len(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    bool is_ys;
    return kx != NULL && dhe_short_is_ys(kx, &is_ys) && set_int(out, is_ys ? kx->dh_ys_len : kx->dh_yc_len);
}

static bool dhe_short_value_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    bool is_ys;
    return kx != NULL && dhe_short_is_ys(kx, &is_ys) && set_frame(out, is_ys ? kx->ske_ev.frame : kx->cke_ev.frame);
}

static bool dhe_p_bits(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_kx_facts *kx = dhe(ctx);
    return kx != NULL && set_int(out, 8 * (int64_t)kx->dh_p_len);
}

static bool ske_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_frame(out, ctx->tls->kx.ske_ev.frame);
}

static bool cke_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_frame(out, ctx->tls->kx.cke_ev.frame);
}

// ecdhe_group: TLS <= 1.2: the named curve of an ECDHE ServerKeyExchange; TLS 1.3: the ServerHello's
// key_share group (the (EC)DHE group in use).
static uint16_t ecdhe_group(const struct td_fact_ctx *ctx)
{
    if (ctx->tls == NULL) {
        return 0;
    }
    const struct td_kx_facts *kx = &ctx->tls->kx;
    if (kx->kind == TD_KX_ECDHE && kx->has_ske) {
        return kx->ec_group;
    }
    const struct td_server_hello *sh = first_sh(ctx);
    if (version_rank(ctx->tls->version) == TD_VERSION_TLS13 && sh != NULL) {
        return sh->key_share_group;
    }
    return 0;
}

static bool ecdhe_group_int(const struct td_fact_ctx *ctx, struct td_value *out)
{
    uint16_t g = ecdhe_group(ctx);
    return g != 0 && set_int(out, g);
}

static bool ecdhe_group_name(const struct td_fact_ctx *ctx, struct td_value *out)
{
    uint16_t g = ecdhe_group(ctx);
    return g != 0 && set_str(out, td_name_group(g));
}

/* --- connection: renegotiation --- */

static uint64_t renego_count(const struct td_tls_facts *f)
{
    return (uint64_t)f->hs_records_after_done[TD_ROLE_CLIENT] + f->hs_records_after_done[TD_ROLE_SERVER];
}

// renego_role: the role that sent the first handshake record after completion (-1 none). A role whose
// first frame is unknown (0) loses to one with a frame.
static int renego_role(const struct td_tls_facts *f)
{
    bool c = f->hs_records_after_done[TD_ROLE_CLIENT] > 0;
    bool s = f->hs_records_after_done[TD_ROLE_SERVER] > 0;
    if (!c && !s) {
        return -1;
    }
    if (c && s) {
        uint64_t cf = f->first_hs_after_done[TD_ROLE_CLIENT].frame;
        uint64_t sf = f->first_hs_after_done[TD_ROLE_SERVER].frame;
        return cf != 0 && (sf == 0 || cf <= sf) ? TD_ROLE_CLIENT : TD_ROLE_SERVER;
    }
    return c ? TD_ROLE_CLIENT : TD_ROLE_SERVER;
}

static bool reneg_present(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, renego_count(ctx->tls) > 0);
}

static bool reneg_by(const struct td_fact_ctx *ctx, struct td_value *out)
{
    int role = ctx->tls == NULL ? -1 : renego_role(ctx->tls);
    return role >= 0 && set_str(out, role_name((uint8_t)role));
}

static bool reneg_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    int role = ctx->tls == NULL ? -1 : renego_role(ctx->tls);
    return role >= 0 && set_frame(out, ctx->tls->first_hs_after_done[role].frame);
}

static bool reneg_count(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_int(out, (int64_t)renego_count(ctx->tls));
}

static bool reneg_plaintext(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_tls_facts *f = ctx->tls;
    if (f == NULL) {
        return false;
    }
    return set_int(out,
                   (int64_t)f->plaintext_hs_after_done[TD_ROLE_CLIENT] + f->plaintext_hs_after_done[TD_ROLE_SERVER]);
}

// reneg_secure: RFC 5746 was negotiated in the initial handshake (client: renegotiation_info or the SCSV;
// server: renegotiation_info), so a renegotiation would be secure. Present whenever both hellos are known.
static bool reneg_secure(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_client_hello *ch = first_ch(ctx);
    const struct td_server_hello *sh = first_sh(ctx);
    if (ch == NULL || sh == NULL) {
        return false;
    }
    return set_bool(out, (ch->has_renegotiation_info || ch->has_scsv_renegotiation) && sh->has_renegotiation_info);
}

static bool hello_request_count(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_int(out, ctx->tls->hello_requests);
}

/* --- connection: the TLS 1.0 CBC record split --- */

static size_t cbc_mac_len(const char *mac)
{
    if (strcmp(mac, "SHA") == 0) {
        return 20;
    }
    if (strcmp(mac, "MD5") == 0) {
        return 16;
    }
    if (strcmp(mac, "SHA256") == 0) {
        return 32;
    }
    return strcmp(mac, "SHA384") == 0 ? 48 : 0;
}

static size_t cbc_block_len(const char *cipher)
{
    static const char *const b16[] = {"AES", "CAMELLIA", "ARIA", "SEED"};
    static const char *const b8[] = {"3DES", "DES", "IDEA", "RC2"};
    for (size_t k = 0; k < sizeof(b16) / sizeof(b16[0]); k++) {
        if (strncmp(cipher, b16[k], strlen(b16[k])) == 0) {
            return 16;
        }
    }
    for (size_t k = 0; k < sizeof(b8) / sizeof(b8[0]); k++) {
        if (strncmp(cipher, b8[k], strlen(b8[k])) == 0) {
            return 8;
        }
    }
    return 0;
}

static size_t round_up(size_t n, size_t block)
{
    return (n + block - 1) / block * block;
}

static bool sh_has_extension(const struct td_server_hello *sh, uint16_t type)
{
    for (uint32_t k = 0; sh->extensions.v != NULL && k < sh->extensions.num; k++) {
        if (sh->extensions.v[k] == type) {
            return true;
        }
    }
    return false;
}

#define EXT_ENCRYPT_THEN_MAC 22 /* RFC 7366 */

// cbc_record_len: the body length of a TLS 1.0 CBC record carrying plain_len bytes with minimal padding (at
// least one padding-length byte): MAC-then-encrypt ceil((n + mac + 1) / block) * block (RFC 2246 §6.2.3.2);
// encrypt-then-MAC (RFC 7366) ceil((n + 1) / block) * block + mac. TLS 1.0 sends no explicit IV.
static size_t cbc_record_len(size_t plain_len, size_t mac_len, size_t block_len, bool etm)
{
    if (etm) {
        return round_up(plain_len + 1, block_len) + mac_len;
    }
    return round_up(plain_len + mac_len + 1, block_len);
}

// is_cbc_split: TLS 1.0 with a CBC suite, and the client's first application-data record is the smallest
// record that carries 1 byte (1/n-1 split) or 0 bytes (OpenSSL's empty-fragment countermeasure) and another
// record follows it (BEAST countermeasures; some servers mishandle the short first record).
static bool is_cbc_split(const struct td_tls_facts *f, const struct td_server_hello *sh)
{
    if (f->version != TD_VERSION_TLS10 || sh == NULL) {
        return false;
    }
    const struct td_cipher_suite *cs = td_cipher_suite_find(f->cipher);
    if (cs == NULL || !cs->is_cbc) {
        return false;
    }
    size_t mac = cbc_mac_len(cs->mac);
    size_t block = cbc_block_len(cs->cipher);
    if (mac == 0 || block == 0 || f->num_first_app_data_lens[TD_ROLE_CLIENT] < 2) {
        return false;
    }
    bool etm = sh_has_extension(sh, EXT_ENCRYPT_THEN_MAC);
    size_t first = f->first_app_data_lens[TD_ROLE_CLIENT][0];
    return first == cbc_record_len(1, mac, block, etm) || first == cbc_record_len(0, mac, block, etm);
}

static bool cbc_split(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_bool(out, is_cbc_split(ctx->tls, first_sh(ctx)));
}

static bool cbc_split_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && is_cbc_split(ctx->tls, first_sh(ctx)) &&
           set_frame(out, ctx->tls->first_app_data[TD_ROLE_CLIENT].frame);
}

// app_data_client_first_lens: "32,48" (decimal, in order). Per-thread buffer: see sc_not_after.
static bool app_data_client_first_lens(const struct td_fact_ctx *ctx, struct td_value *out)
{
    static _Thread_local char buf[TD_FIRST_APP_DATA_LENS * 11 + 1];
    if (ctx->tls == NULL || ctx->tls->num_first_app_data_lens[TD_ROLE_CLIENT] == 0) {
        return false;
    }
    size_t o = 0;
    buf[0] = '\0';
    for (uint32_t k = 0; k < ctx->tls->num_first_app_data_lens[TD_ROLE_CLIENT] && k < TD_FIRST_APP_DATA_LENS; k++) {
        int n = snprintf(buf + o, sizeof(buf) - o, "%s%u", k > 0 ? "," : "",
                         (unsigned)ctx->tls->first_app_data_lens[TD_ROLE_CLIENT][k]);
        if (n < 0 || (size_t)n >= sizeof(buf) - o) {
            return false;
        }
        o += (size_t)n;
    }
    return set_str(out, buf);
}

/* --- connection: anomalies --- */

static bool has_anomaly(const struct td_fact_ctx *ctx, enum td_anomaly code, struct td_value *out)
{
    if (ctx->tls == NULL) {
        return false;
    }
    for (uint32_t k = 0; ctx->tls->anomalies != NULL && k < ctx->tls->num_anomalies; k++) {
        if (ctx->tls->anomalies[k].code == code) {
            return set_bool(out, true);
        }
    }
    return set_bool(out, false);
}

// One accessor per row of anomalies.def ("none" included but never registered: static inline keeps it quiet).
#define TD_ANOMALY(e, name, desc)                                                                  \
    static inline bool anomaly_##e(const struct td_fact_ctx *ctx, struct td_value *out)           \
    {                                                                                              \
        return has_anomaly(ctx, TD_ANOM_##e, out);                                                 \
    }
#include "anomalies.def"
#undef TD_ANOMALY

static bool anomaly_frame(const struct td_fact_ctx *ctx, struct td_value *out)
{
    const struct td_tls_facts *f = ctx->tls;
    return f != NULL && f->anomalies != NULL && f->num_anomalies > 0 && set_frame(out, f->anomalies[0].ev.frame);
}

static bool anomaly_count(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->tls != NULL && set_int(out, ctx->tls->anomalies_seen);
}

/* --- server scope --- */

static bool server_name(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->server != NULL && set_str(out, ctx->server->name);
}

static bool server_sni(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->server != NULL && ctx->server->sni[0] != '\0' && set_str(out, ctx->server->sni);
}

static bool server_max_version(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->server != NULL && ctx->server->max_version != 0 && set_int(out, ctx->server->max_version);
}

static bool server_min_version(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->server != NULL && ctx->server->min_version != 0 && set_int(out, ctx->server->min_version);
}

static bool server_max_version_name(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->server != NULL && ctx->server->max_version != 0 &&
           set_str(out, version_name(ctx->server->max_version));
}

static bool server_requests_client_cert(const struct td_fact_ctx *ctx, struct td_value *out)
{
    return ctx->server != NULL && set_bool(out, ctx->server->cert_requests > 0);
}

// Counters and first frames of struct td_server_facts, one accessor each.
#define SERVER_INT(member)                                                                         \
    static bool server_##member(const struct td_fact_ctx *ctx, struct td_value *out)              \
    {                                                                                              \
        return ctx->server != NULL && set_int(out, ctx->server->member);                          \
    }
#define SERVER_FRAME(member)                                                                       \
    static bool server_##member(const struct td_fact_ctx *ctx, struct td_value *out)              \
    {                                                                                              \
        return ctx->server != NULL && set_frame(out, ctx->server->member);                        \
    }
SERVER_INT(connections)
SERVER_INT(tls_connections)
SERVER_INT(established)
SERVER_INT(failed)
SERVER_INT(cert_requests)
SERVER_INT(tls13_connections)
SERVER_INT(tls13_without_pha)
SERVER_INT(dhe_handshakes)
SERVER_INT(dhe_failed)
SERVER_INT(dhe_short_key)
SERVER_INT(dhe_failed_short_key)
SERVER_INT(renegotiations)
SERVER_FRAME(first_cert_request_frame)
SERVER_FRAME(first_tls13_without_pha_frame)
SERVER_FRAME(first_dhe_failed_short_key_frame)
SERVER_FRAME(first_frame)
#undef SERVER_INT
#undef SERVER_FRAME

/* --- the registry --- */

#define I TD_FIELD_INT
#define F TD_FIELD_FRAME
#define B TD_FIELD_BOOL
#define T TD_FIELD_STRING
#define A TD_SCOPE_ALERT
#define C TD_SCOPE_CONNECTION
#define S TD_SCOPE_SERVER

static const struct td_field fields[] = {
    /* alert scope */
    {"tls.alert.frame", F, A, "frame of the alert record", alert_frame},
    {"tls.alert.level", I, A, "alert level: 1 warning, 2 fatal; absent when encrypted", alert_level},
    {"tls.alert.description", I, A, "alert description code (40 handshake_failure); absent when encrypted",
     alert_description},
    {"tls.alert.description_name", T, A, "alert description name (\"illegal_parameter\"); absent when encrypted",
     alert_description_name},
    {"tls.alert.from", T, A, "sender of the alert: \"client\" or \"server\"", alert_from},
    {"tls.alert.encrypted", B, A, "the alert was encrypted: its level and description are not visible",
     alert_encrypted},
    {"tls.alert.inferred", B, A, "a protected TLS 1.3 record taken for an alert by its length, not read as one",
     alert_inferred},
    {"tls.alert.after", T, A, "the last handshake message (snake_case id) before the alert; absent when none",
     alert_after},
    {"tls.alert.after_from", T, A,
     "who sent that last handshake message (\"client\"/\"server\"), from the timeline; absent when unknown",
     alert_after_from},

    /* connection: flow */
    {"conn.id", I, C, "flow id (1-based, in order of the flow's first packet)", conn_id},
    {"conn.first_frame", F, C, "first frame of the connection", conn_first_frame},
    {"conn.last_frame", F, C, "last frame of the connection", conn_last_frame},
    {"conn.server_port", I, C, "TCP port of the TLS server", conn_server_port},
    {"conn.client_port", I, C, "TCP port of the TLS client", conn_client_port},
    {"conn.outcome", T, C, "established, resumed, failed_alert, reset, closed, incomplete or not_tls", conn_outcome},
    {"conn.outcome.frame", F, C, "the frame that decided the outcome (alert, RST, FIN, Finished, last frame)",
     conn_outcome_frame},
    {"conn.outcome.by", T, C,
     "who ended the handshake (sent the alert, RST or FIN): \"client\"/\"server\"; absent unless it failed",
     conn_outcome_by},
    {"conn.outcome.after", T, C, "the last handshake message before the outcome; absent when none",
     conn_outcome_after},
    {"conn.outcome.alert", I, C, "the alert description of a failed_alert outcome; absent when encrypted or other",
     conn_outcome_alert},
    {"conn.failed", B, C, "the outcome is failed_alert, reset or closed (the handshake did not complete)",
     conn_failed},
    {"conn.end", T, C, "how the TCP connection ended: fin, rst, idle, evicted or capture_end", conn_end},
    {"conn.gaps", I, C, "capture gaps (bytes never seen), both directions", conn_gaps},

    /* connection: negotiated */
    {"tls.present", B, C, "at least one TLS/SSL record was parsed", tls_present},
    {"tls.version", I, C, "negotiated version (0x0303 = TLS 1.2); absent when none", tls_version},
    {"tls.version_name", T, C, "negotiated version name (\"TLS 1.2\"); absent when none", tls_version_name},
    {"tls.version_as_tls", I, C,
     "negotiated version as a TLS version, for comparisons: TLS 1.3 drafts as 0x0304, DTLS 1.0 as 0x0302, DTLS 1.2 "
     "as 0x0303, DTLS 1.3 as 0x0304 (DTLS numbers go down as versions go up); absent when none",
     tls_version_as_tls},
    {"tls.tls13", B, C, "TLS 1.3 (or a TLS 1.3 draft, or DTLS 1.3) was negotiated", tls_tls13},
    {"tls.dtls", B, C, "the connection is DTLS over UDP (RFC 6347, RFC 9147)", tls_dtls},
    {"tls.dtls.retransmitted", I, C,
     "DTLS: handshake fragments, ChangeCipherSpec and Finished records resent for a flight already seen (both "
     "sides); absent for TLS",
     tls_dtls_retransmitted},
    {"tls.dtls.hello_verify_request", B, C, "DTLS: the server answered with a HelloVerifyRequest (cookie exchange); "
     "absent for TLS", tls_dtls_hvr},
    {"tls.dtls.hello_verify_request.frame", F, C, "frame of the first HelloVerifyRequest", tls_dtls_hvr_frame},
    {"tls.cipher", I, C, "negotiated cipher suite; absent when none", tls_cipher},
    {"tls.cipher_name", T, C, "IANA name of the negotiated cipher suite; absent when unknown", tls_cipher_name},
    {"tls.cipher.kx", T, C, "key exchange of the negotiated suite: ECDHE, DHE, RSA, PSK, TLS13, ...", tls_cipher_kx},
    {"tls.cipher.cbc", B, C, "the negotiated suite is a block cipher in CBC mode", tls_cipher_cbc},
    {"tls.handshake.completed", B, C, "the handshake completed (both Finished, or TLS 1.3 inferred)", hs_completed},
    {"tls.handshake.completed_frame", F, C, "frame in which the handshake completed", hs_completed_frame},
    {"tls.handshake.resumed", B, C, "abbreviated handshake (session resumption)", hs_resumed},
    {"tls.handshake.false_start", B, C, "client application data before the server's Finished (RFC 7918)",
     hs_false_start},

    /* connection: ClientHello */
    {"tls.client_hello.present", B, C, "at least one ClientHello was kept", ch_present},
    {"tls.client_hello.frame", F, C, "frame of the first ClientHello", ch_frame},
    {"tls.client_hello.count", I, C, "ClientHellos seen in the connection", ch_count},
    {"tls.client_hello.version", I, C, "legacy_version (client_version) of the first ClientHello", ch_version},
    {"tls.client_hello.max_version", I, C,
     "highest version the first ClientHello offered: max(supported_versions) without GREASE, drafts as 0x0304, "
     "else legacy_version",
     ch_max_version},
    {"tls.client_hello.min_version", I, C,
     "lowest version the first ClientHello offered: min(supported_versions), else 0x0300 (a legacy client "
     "accepts anything up to legacy_version)",
     ch_min_version},
    {"tls.client_hello.max_version_name", T, C, "name of tls.client_hello.max_version (\"TLS 1.3\")",
     ch_max_version_name},
    {"tls.client_hello.min_version_name", T, C, "name of tls.client_hello.min_version (\"SSL 3.0\")",
     ch_min_version_name},
    {"tls.client_hello.offers_tls13", B, C, "supported_versions lists TLS 1.3 (0x0304) or a TLS 1.3 draft",
     ch_offers_tls13},
    {"tls.client_hello.sni", T, C, "server_name (host_name) of the first ClientHello; absent when none", ch_sni},
    {"tls.client_hello.fallback_scsv", B, C, "a ClientHello carried TLS_FALLBACK_SCSV (RFC 7507)", ch_fallback_scsv},
    {"tls.client_hello.secure_renegotiation", B, C,
     "the first ClientHello carried renegotiation_info or TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746)",
     ch_secure_renegotiation},
    {"tls.client_hello.post_handshake_auth", B, C, "the first ClientHello offered post_handshake_auth (RFC 8446)",
     ch_post_handshake_auth},
    {"tls.client_hello.num_ciphers", I, C, "cipher suites in the first ClientHello, as sent (GREASE included)",
     ch_num_ciphers},
    {"tls.client_hello.dhe_only", B, C,
     "every suite offered (GREASE and SCSVs aside) uses DHE key exchange, so a server without DHE cannot agree",
     ch_dhe_only},
    {"tls.client_hello.retry_lower", B, C,
     "a later ClientHello of this connection offered a lower maximum version than an earlier one", ch_retry_lower},

    /* connection: ServerHello, HRR */
    {"tls.server_hello.present", B, C, "a ServerHello (not a HelloRetryRequest) was seen", sh_present},
    {"tls.server_hello.frame", F, C, "frame of the first ServerHello", sh_frame},
    {"tls.server_hello.version", I, C, "version the ServerHello selected (supported_versions, else legacy_version)",
     sh_version},
    {"tls.server_hello.version_offered", B, C,
     "the selected version is among those the first ClientHello offered (listed in supported_versions, or "
     "<= legacy_version without it)",
     sh_version_offered},
    {"tls.server_hello.secure_renegotiation", B, C, "the ServerHello carried renegotiation_info (RFC 5746)",
     sh_secure_renegotiation},
    {"tls.hrr", B, C, "a HelloRetryRequest was seen", tls_hrr},
    {"tls.hrr.frame", F, C, "frame of the first HelloRetryRequest", tls_hrr_frame},

    /* connection: first fatal alert */
    {"tls.fatal_alert.present", B, C,
     "an alert fatal in the clear, or an encrypted one before the handshake completed (or that decided a "
     "failed_alert outcome; later encrypted alerts are close_notify in practice), was seen",
     fatal_present},
    {"tls.fatal_alert.frame", F, C, "frame of the first fatal or encrypted alert", fatal_frame},
    {"tls.fatal_alert.description", I, C, "its description code; absent when encrypted", fatal_description},
    {"tls.fatal_alert.description_name", T, C, "its description name; absent when encrypted",
     fatal_description_name},
    {"tls.fatal_alert.from", T, C, "its sender: \"client\"/\"server\"", fatal_from},
    {"tls.fatal_alert.after", T, C, "the last handshake message before it; absent when none", fatal_after},
    {"tls.fatal_alert.encrypted", B, C, "it was encrypted (description not visible)", fatal_encrypted},

    /* connection: CertificateRequest, client Certificate */
    {"tls.certificate_request.present", B, C, "the server sent a (plaintext) CertificateRequest", cr_present},
    {"tls.certificate_request.frame", F, C, "frame of the first CertificateRequest", cr_frame},
    {"tls.certificate_request.count", I, C, "CertificateRequests seen", cr_count},
    {"tls.certificate_request.ca_list_len", I, C,
     "bytes of the certificate_authorities list as declared in the first CertificateRequest", cr_ca_list_len},
    {"tls.certificate_request.num_ca_names", I, C, "distinguished names parsed from that list", cr_num_ca_names},
    {"tls.certificate_request.ca_list_well_formed", B, C,
     "every name's length fits and the list ends exactly (false: cut short, KB 2801679)", cr_ca_list_well_formed},
    {"tls.client_certificate.present", B, C, "the client sent a (plaintext) Certificate message", cc_present},
    {"tls.client_certificate.frame", F, C, "frame of the client's Certificate message", cc_frame},
    {"tls.client_certificate.count", I, C, "certificates in it (0: an empty message, no certificate)", cc_count},

    /* connection: server certificate */
    {"tls.server_certificate.present", B, C, "the server's Certificate message was seen (plaintext)", sc_present},
    {"tls.server_certificate.frame", F, C, "frame of the server's Certificate message", sc_frame},
    {"tls.server_certificate.subject", T, C, "leaf subject, RFC 2253 form", sc_subject},
    {"tls.server_certificate.issuer", T, C, "leaf issuer, RFC 2253 form", sc_issuer},
    {"tls.server_certificate.self_signed", B, C, "the leaf is self-signed (issuer = subject, own key verifies)",
     sc_self_signed},
    {"tls.server_certificate.has_eku", B, C, "the leaf has an extendedKeyUsage extension", sc_has_eku},
    {"tls.server_certificate.server_auth", B, C,
     "the leaf may authenticate a server: no EKU extension, or it lists serverAuth or anyExtendedKeyUsage",
     sc_server_auth},
    {"tls.server_certificate.expired", B, C, "the Certificate frame's capture time is after the leaf's notAfter",
     sc_expired},
    {"tls.server_certificate.not_yet_valid", B, C,
     "the Certificate frame's capture time is before the leaf's notBefore", sc_not_yet_valid},
    {"tls.server_certificate.not_after", T, C, "the leaf's notAfter, RFC 3339 UTC", sc_not_after},
    {"tls.server_certificate.name_matches_sni", B, C,
     "the SNI matches a DNS SAN of the leaf (RFC 6125: case-insensitive, '*' only as the whole leftmost label), "
     "or its subject CN when it has no DNS SAN; absent without SNI",
     sc_name_matches_sni},
    {"tls.server_certificate.chain_len", I, C, "certificates the server sent", sc_chain_len},

    /* connection: key exchange */
    {"tls.dhe", B, C, "DHE key exchange with a parsed ServerKeyExchange", dhe_present},
    {"tls.dhe.p_len", I, C, "bytes of the DH prime p", dhe_p_len},
    {"tls.dhe.g_len", I, C, "bytes of the DH generator g", dhe_g_len},
    {"tls.dhe.ys_len", I, C, "bytes of the server's public value Ys", dhe_ys_len},
    {"tls.dhe.yc_len", I, C, "bytes of the client's public value Yc; absent without ClientKeyExchange", dhe_yc_len},
    {"tls.dhe.ys_short", B, C, "Ys is shorter than p (leading zero bytes stripped)", dhe_ys_short},
    {"tls.dhe.yc_short", B, C, "Yc is shorter than p; absent without ClientKeyExchange", dhe_yc_short},
    {"tls.dhe.short_key", B, C, "Ys or Yc is shorter than p", dhe_short_key},
    {"tls.dhe.p_bits", I, C, "size of p in bits, 8 * p_len", dhe_p_bits},
    {"tls.dhe.short_value", T, C, "which public value is shorter than p: the server's Ys, else the client's Yc",
     dhe_short_value},
    {"tls.dhe.short_value_len", I, C, "bytes of that short public value", dhe_short_value_len},
    {"tls.dhe.short_value.frame", F, C, "the frame that carried it", dhe_short_value_frame},
    {"tls.server_key_exchange.frame", F, C, "frame of the ServerKeyExchange", ske_frame},
    {"tls.client_key_exchange.frame", F, C, "frame of the ClientKeyExchange", cke_frame},
    {"tls.ecdhe.group", I, C,
     "(EC)DHE group: the named curve of an ECDHE ServerKeyExchange, or TLS 1.3's ServerHello key_share group",
     ecdhe_group_int},
    {"tls.ecdhe.group_name", T, C, "that group's name (\"x25519\")", ecdhe_group_name},

    /* connection: renegotiation */
    {"tls.renegotiation.present", B, C, "handshake records after the handshake completed (either role)",
     reneg_present},
    {"tls.renegotiation.by", T, C, "who sent the first post-completion handshake record: \"client\"/\"server\"",
     reneg_by},
    {"tls.renegotiation.frame", F, C, "frame of the first post-completion handshake record", reneg_frame},
    {"tls.renegotiation.count", I, C, "post-completion handshake records, both roles", reneg_count},
    {"tls.renegotiation.plaintext", I, C, "of which plaintext (a ClientHello or HelloRequest in the clear)",
     reneg_plaintext},
    {"tls.renegotiation.secure", B, C,
     "both initial hellos negotiated RFC 5746 (client: renegotiation_info or SCSV; server: renegotiation_info)",
     reneg_secure},
    {"tls.hello_request.count", I, C, "plaintext HelloRequest messages", hello_request_count},

    /* connection: CBC split */
    {"tls.app_data.client_first_lens", T, C, "body lengths of the client's first application-data records (\"32,48\")",
     app_data_client_first_lens},
    {"tls.cbc_split", B, C,
     "TLS 1.0 CBC suite and the client's first application-data record is the smallest one carrying 1 byte "
     "(1/n-1 split) or 0 bytes (empty fragment) for the suite's MAC and block size (encrypt-then-MAC aware), "
     "followed by another record",
     cbc_split},
    {"tls.cbc_split.frame", F, C, "frame of that short first record", cbc_split_frame},

    /* connection: anomalies */
    {"tls.anomaly.frame", F, C, "frame of the first anomaly", anomaly_frame},
    {"tls.anomalies", I, C, "anomalies recorded (all, including those not kept)", anomaly_count},
    /* One boolean per row of anomalies.def, named after it; "none" is no field (NULL name, skipped). */
#define TD_ANOMALY(e, name, desc) {TD_ANOM_##e == TD_ANOM_NONE ? NULL : name, B, C, desc, anomaly_##e},
#include "anomalies.def"
#undef TD_ANOMALY

    /* server scope */
    {"server.name", T, S, "the server as \"192.0.2.1:443\" or \"[2001:db8::1]:443\"", server_name},
    {"server.sni", T, S, "the first SNI a client asked this server for; absent when none", server_sni},
    {"server.connections", I, S, "TCP connections to the server", server_connections},
    {"server.tls_connections", I, S, "of which TLS", server_tls_connections},
    {"server.established", I, S, "connections established or resumed", server_established},
    {"server.failed", I, S, "connections failed (failed_alert, reset, closed)", server_failed},
    {"server.max_version", I, S, "highest version the server negotiated; absent when none", server_max_version},
    {"server.min_version", I, S, "lowest version the server negotiated; absent when none", server_min_version},
    {"server.max_version_name", T, S, "name of the highest version it negotiated", server_max_version_name},
    {"server.requests_client_cert", B, S, "the server sent a CertificateRequest in some connection",
     server_requests_client_cert},
    {"server.cert_requests", I, S, "connections with a CertificateRequest", server_cert_requests},
    {"server.first_cert_request_frame", F, S, "frame of the first CertificateRequest",
     server_first_cert_request_frame},
    {"server.tls13_connections", I, S, "connections that negotiated TLS 1.3", server_tls13_connections},
    {"server.tls13_without_pha", I, S, "of which the client did not offer post_handshake_auth",
     server_tls13_without_pha},
    {"server.first_tls13_without_pha_frame", F, S, "ClientHello frame of the first of those",
     server_first_tls13_without_pha_frame},
    {"server.dhe_handshakes", I, S, "connections with a DHE ServerKeyExchange", server_dhe_handshakes},
    {"server.dhe_failed", I, S, "of which failed", server_dhe_failed},
    {"server.dhe_short_key", I, S, "of which Ys or Yc was shorter than p", server_dhe_short_key},
    {"server.dhe_failed_short_key", I, S, "failed with a short Ys or Yc (the 1-in-256 pattern)",
     server_dhe_failed_short_key},
    {"server.first_dhe_failed_short_key_frame", F, S,
     "frame of the first short value that went with a failure (ClientKeyExchange if Yc, else ServerKeyExchange)",
     server_first_dhe_failed_short_key_frame},
    {"server.renegotiations", I, S, "connections with handshake records after completion", server_renegotiations},
    {"server.first_frame", F, S, "first frame of the server's first connection", server_first_frame},
};

#undef I
#undef F
#undef B
#undef T
#undef A
#undef C
#undef S

#define NUM_ROWS (sizeof(fields) / sizeof(fields[0]))

/* Lookups happen when rules are compiled, not per packet: a linear search over ~170 rows is enough. */
const struct td_field *td_field_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t k = 0; k < NUM_ROWS; k++) {
        if (fields[k].name != NULL && strcmp(fields[k].name, name) == 0) {
            return &fields[k];
        }
    }
    return NULL;
}

size_t td_field_count(void)
{
    size_t n = 0;
    for (size_t k = 0; k < NUM_ROWS; k++) {
        n += fields[k].name != NULL ? 1 : 0;
    }
    return n;
}

const struct td_field *td_field_at(size_t i)
{
    for (size_t k = 0; k < NUM_ROWS; k++) {
        if (fields[k].name == NULL) {
            continue;
        }
        if (i == 0) {
            return &fields[k];
        }
        i--;
    }
    return NULL;
}
