/* SPDX-License-Identifier: MIT */
/* events.c: NDJSON events with Elastic Common Schema names: one object per finished connection, per statistics
 * tick and per input file. ECS JSON is nested ({"source": {"ip": ...}}), so fields are set by dotted path.
 * Specs: ECS 8.17 field reference (event, source, destination, network, tls, x509, rule, observer, error, file,
 * ecs); RFC 3339 §5.6 (timestamps); RFC 4514 §2.4 (DN escapes); RFC 8446 / RFC 5246 (field meanings). */
#include "events.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../capture/decode.h"
#include "../dissect/fingerprint.h"
#include "../dissect/names.h"

#define NAME_BUF_LEN 64
#define PATH_SEGMENT_MAX 64
/* A connection with a storm of alerts or anomalies must not make one event line unbounded: the report keeps
 * the full lists, the event the first few and the count. */
#define MAX_EVENT_ALERTS 8
#define MAX_EVENT_ANOMALIES 16

/* --- building blocks --- */

/* put sets root[a][b][c] = value for path "a.b.c", creating the intermediate objects; steals value. A NULL
 * value or any failed step is counted in ctx. */
static void put(struct td_json_ctx *ctx, json_t *root, const char *path, json_t *value)
{
    json_t *o = root;
    const char *seg = path;
    const char *dot;
    while (o != NULL && (dot = strchr(seg, '.')) != NULL) {
        char key[PATH_SEGMENT_MAX];
        size_t n = (size_t)(dot - seg);
        if (n == 0 || n >= sizeof(key)) {
            o = NULL;
            break;
        }
        memcpy(key, seg, n);
        key[n] = '\0';
        json_t *child = json_object_get(o, key);
        if (child == NULL) {
            child = json_object();
            if (child == NULL || json_object_set_new(o, key, child) != 0) {
                child = NULL;
            }
        }
        o = json_is_object(child) ? child : NULL;
        seg = dot + 1;
    }
    if (o == NULL) {
        json_decref(value);
        ctx->failures++;
        return;
    }
    td_json_set(ctx, o, seg, value);
}

/* Sets a string only when it is known (non-NULL, non-empty). */
static void put_str(struct td_json_ctx *ctx, json_t *root, const char *path, const char *s)
{
    if (s != NULL && s[0] != '\0') {
        put(ctx, root, path, td_json_str(s));
    }
}

static void put_u64(struct td_json_ctx *ctx, json_t *root, const char *path, uint64_t v)
{
    put(ctx, root, path, td_json_u64(v));
}

static void put_time_ns(struct td_json_ctx *ctx, json_t *root, const char *path, int64_t ts_ns)
{
    char buf[48];
    const char *s = td_json_time(ts_ns, buf, sizeof(buf));
    if (s != NULL) {
        put(ctx, root, path, json_string(s));
    }
}

/* Certificate validity: whole seconds, "2030-01-01T00:00:00Z". Not through td_json_time: notAfter 9999-12-31 is
 * common and does not fit in int64 nanoseconds. */
static void put_time_sec(struct td_json_ctx *ctx, json_t *root, const char *path, int64_t sec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    char buf[32];
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        return;
    }
    int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n > 0 && (size_t)n < sizeof(buf)) {
        put(ctx, root, path, json_string(buf));
    }
}

static json_t *str_array1(const char *a)
{
    json_t *arr = json_array();
    if (arr != NULL && json_array_append_new(arr, json_string(a)) != 0) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* drop_nulls removes every null member of an object, recursively through objects, so the parts borrowed from
 * the report's connection object follow the "absent, never null" rule of the events. */
static void drop_nulls(json_t *o)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, key, v) {
        if (json_is_null(v)) {
            (void)json_object_del(o, key);
        } else if (json_is_object(v)) {
            drop_nulls(v);
        }
    }
}

static void put_header(struct td_json_ctx *ctx, json_t *o, int64_t ts_ns)
{
    put_time_ns(ctx, o, "@timestamp", ts_ns);
    put(ctx, o, "ecs.version", json_string(TD_EVENT_ECS_VERSION));
}

/* event.kind/category/type/action/dataset/module, in the order Kibana shows them. */
static void put_event_class(struct td_json_ctx *ctx, json_t *o, const char *kind, const char *category,
                            const char *type1, const char *type2, const char *action, const char *dataset)
{
    put(ctx, o, "event.kind", json_string(kind));
    put(ctx, o, "event.category", str_array1(category));
    json_t *types = str_array1(type1);
    if (types != NULL && type2 != NULL) {
        td_json_append(ctx, types, json_string(type2));
    }
    put(ctx, o, "event.type", types);
    put(ctx, o, "event.action", json_string(action));
    put(ctx, o, "event.dataset", json_string(dataset));
    put(ctx, o, "event.module", json_string("tlsdiag"));
}

/* --- connection: outcome and findings --- */

static const char *outcome_action(enum td_outcome o)
{
    switch (o) {
    case TD_OUTCOME_ESTABLISHED: return "tls-handshake-completed";
    case TD_OUTCOME_RESUMED: return "tls-resumed";
    case TD_OUTCOME_FAILED_ALERT: return "tls-handshake-failed";
    case TD_OUTCOME_RESET: return "tls-handshake-reset";
    case TD_OUTCOME_CLOSED: return "tls-handshake-closed";
    case TD_OUTCOME_INCOMPLETE: return "tls-handshake-incomplete";
    case TD_OUTCOME_NOT_TLS: break;
    }
    return "tcp-connection-no-tls";
}

/* ECS event.outcome: the handshake succeeded or failed; a capture that ended mid-handshake, or a connection
 * without TLS, says neither. */
static const char *outcome_ecs(enum td_outcome o)
{
    switch (o) {
    case TD_OUTCOME_ESTABLISHED:
    case TD_OUTCOME_RESUMED:
        return "success";
    case TD_OUTCOME_FAILED_ALERT:
    case TD_OUTCOME_RESET:
    case TD_OUTCOME_CLOSED:
        return "failure";
    case TD_OUTCOME_INCOMPLETE:
    case TD_OUTCOME_NOT_TLS:
        break;
    }
    return "unknown";
}

/* event.severity: 0 no finding, 1 info, 2 warning, 3 error (the most severe finding; higher is worse). */
static int finding_severity(json_t *finding)
{
    const char *s = json_string_value(json_object_get(finding, "severity"));
    if (s == NULL) {
        return 0;
    }
    for (int i = TD_SEVERITY_INFO; i <= TD_SEVERITY_ERROR; i++) {
        if (strcmp(s, td_severity_name((enum td_severity)i)) == 0) {
            return i + 1;
        }
    }
    return 0;
}

static int max_severity(json_t *findings)
{
    int max = 0;
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        int s = finding_severity(f);
        max = s > max ? s : max;
    }
    return max;
}

/* rule.*: the most severe finding (findings[0]; the caller sorts them). */
static void put_rule(struct td_json_ctx *ctx, json_t *o, json_t *findings)
{
    json_t *f = json_array_get(findings, 0);
    if (f == NULL) {
        return;
    }
    put_str(ctx, o, "rule.id", json_string_value(json_object_get(f, "rule")));
    json_t *rev = json_object_get(f, "revision");
    if (json_is_integer(rev)) {
        char buf[24];
        (void)snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(rev));
        put(ctx, o, "rule.version", json_string(buf));
    }
    put_str(ctx, o, "rule.name", json_string_value(json_object_get(f, "title")));
    put_str(ctx, o, "rule.description", json_string_value(json_object_get(f, "explanation")));
    // ECS rule.reference is a URL; rule references are often citations ("RFC 8446 Appendix D"): the first URL.
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(f, "references"), i, ref) {
        const char *s = json_string_value(ref);
        if (s != NULL && (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0)) {
            put_str(ctx, o, "rule.reference", s);
            break;
        }
    }
}

/* --- connection: endpoints and network --- */

static void put_endpoint(struct td_json_ctx *ctx, json_t *o, const char *side, const struct td_addr *a,
                         uint16_t port, uint64_t packets, uint64_t bytes)
{
    char buf[64], path[32];
    td_addr_format(a, buf, sizeof(buf));
    (void)snprintf(path, sizeof(path), "%s.ip", side);
    put(ctx, o, path, td_json_str(buf));
    (void)snprintf(path, sizeof(path), "%s.port", side);
    put(ctx, o, path, json_integer(port));
    (void)snprintf(path, sizeof(path), "%s.packets", side);
    put_u64(ctx, o, path, packets);
    (void)snprintf(path, sizeof(path), "%s.bytes", side);
    put_u64(ctx, o, path, bytes);
}

/* network.protocol: "tls" when TLS was seen, else nDPI's name lower-cased (ECS wants lower case); left out when
 * nDPI did not run or found nothing. */
static void put_protocol(struct td_json_ctx *ctx, json_t *o, const struct td_flow_info *info, bool is_tls)
{
    if (is_tls) {
        put(ctx, o, "network.protocol", json_string("tls"));
        return;
    }
    const char *app = td_flow_app_protocol(info);
    char buf[64];
    size_t n = strnlen(app, sizeof(buf) - 1);
    if (n == 0 || strcmp(app, "Unknown") == 0) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = (char)tolower((unsigned char)app[i]);
    }
    buf[n] = '\0';
    put(ctx, o, "network.protocol", td_json_str(buf));
}

/* --- connection: TLS --- */

/* tls.version "1.2" and tls.version_protocol "tls"/"ssl"/"dtls" (ECS splits the version string this way). */
static void put_version(struct td_json_ctx *ctx, json_t *o, uint16_t v)
{
    const char *proto = NULL, *num = NULL;
    switch (v) {
    case TD_VERSION_SSL2: proto = "ssl"; num = "2.0"; break;
    case TD_VERSION_SSL3: proto = "ssl"; num = "3.0"; break;
    case TD_VERSION_TLS10: proto = "tls"; num = "1.0"; break;
    case TD_VERSION_TLS11: proto = "tls"; num = "1.1"; break;
    case TD_VERSION_TLS12: proto = "tls"; num = "1.2"; break;
    case TD_VERSION_TLS13: proto = "tls"; num = "1.3"; break;
    case TD_VERSION_DTLS10:
    case TD_VERSION_DTLS10_OPENSSL_PRE: proto = "dtls"; num = "1.0"; break;
    case TD_VERSION_DTLS12: proto = "dtls"; num = "1.2"; break;
    case TD_VERSION_DTLS13: proto = "dtls"; num = "1.3"; break;
    default:
        // TLS 1.3 drafts (0x7fNN, RFC 8446 predecessors) negotiate 1.3 as far as a log reader cares.
        if ((v & 0xff00u) == 0x7f00u) {
            proto = "tls";
            num = "1.3";
        }
        break;
    }
    if (num == NULL) {
        return;
    }
    put(ctx, o, "tls.version", json_string(num));
    put(ctx, o, "tls.version_protocol", json_string(proto));
}

static const char *cipher_name(uint16_t code, char *buf, size_t buf_len)
{
    const struct td_cipher_suite *cs = td_cipher_suite_find(code);
    return td_name_fmt(cs != NULL ? cs->name : NULL, code, buf, buf_len);
}

static const struct td_server_hello *first_server_hello(const struct td_tls_facts *f)
{
    for (uint32_t i = 0; i < f->num_server_hellos && i < TD_MAX_HELLOS; i++) {
        if (f->server_hellos[i] != NULL && !f->server_hellos[i]->is_hrr) {
            return f->server_hellos[i];
        }
    }
    return NULL;
}

/* tls.curve: the ECDHE group of ServerKeyExchange, or in TLS 1.3 the ServerHello's key_share group. */
static void put_curve(struct td_json_ctx *ctx, json_t *o, const struct td_tls_facts *f,
                      const struct td_server_hello *sh)
{
    uint16_t group = 0;
    if (f->kx.has_ske && f->kx.ec_curve_type == 3 && f->kx.ec_group != 0) {
        group = f->kx.ec_group;
    } else if (sh != NULL && sh->key_share_group != 0) {
        group = sh->key_share_group;
    }
    if (group == 0) {
        return;
    }
    char buf[NAME_BUF_LEN];
    put(ctx, o, "tls.curve", td_json_str(td_name_fmt(td_name_group(group), group, buf, sizeof(buf))));
}

static void put_client_hello(struct td_json_ctx *ctx, json_t *o, const struct td_tls_facts *f)
{
    const struct td_client_hello *ch = f->num_client_hellos > 0 ? f->client_hellos[0] : NULL;
    if (ch == NULL) {
        return;
    }
    // The first ClientHello with a server_name: after a HelloRetryRequest both carry the same one.
    for (uint32_t i = 0; i < f->num_client_hellos && i < TD_MAX_HELLOS; i++) {
        if (f->client_hellos[i] != NULL && f->client_hellos[i]->sni != NULL) {
            put_str(ctx, o, "tls.client.server_name", f->client_hellos[i]->sni);
            // ECS: "When this value is available, it should get copied to destination.domain."
            put_str(ctx, o, "destination.domain", f->client_hellos[i]->sni);
            break;
        }
    }
    struct td_fingerprints fp;
    td_fingerprint_client_hello(ch, &fp);
    put_str(ctx, o, "tls.client.ja3", fp.ja3_hash);
    if (ch->ciphers.v != NULL && ch->ciphers.num > 0) {
        json_t *a = json_array();
        for (uint32_t i = 0; i < ch->ciphers.num; i++) {
            if (td_is_grease(ch->ciphers.v[i])) {
                continue; // RFC 8701 values are not ciphers; JA3 drops them too
            }
            char buf[NAME_BUF_LEN];
            td_json_append(ctx, a, td_json_str(cipher_name(ch->ciphers.v[i], buf, sizeof(buf))));
        }
        put(ctx, o, "tls.client.supported_ciphers", a);
    }
}

/* Copies s to out in upper case (ECS wants hashes and serial numbers upper-case). */
static const char *upper(const char *s, char *out, size_t out_len)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < out_len; i++) {
        out[i] = (char)toupper((unsigned char)s[i]);
    }
    out[i] = '\0';
    return out;
}

/* The values of attribute `attr` ("CN") in an RFC 2253 one-line DN ("CN=a,O=b+CN=c"), RFC 4514 §2.4 escapes of
 * special characters undone ("\," becomes ","); other escapes (hex) are kept as written. NULL when none. */
static json_t *dn_values(struct td_json_ctx *ctx, const char *dn, const char *attr)
{
    json_t *out = NULL;
    size_t attr_len = strlen(attr);
    const char *p = dn;
    while (*p != '\0') {
        // p is at the start of an attribute type and value.
        bool match = strncmp(p, attr, attr_len) == 0 && p[attr_len] == '=';
        const char *v = match ? p + attr_len + 1 : p;
        char buf[256];
        size_t n = 0;
        while (*v != '\0' && *v != ',' && *v != '+') {
            if (*v == '\\' && v[1] != '\0') {
                if (strchr(",+\"\\<>;=# ", v[1]) != NULL) {
                    v++; // an escaped special: keep the character, drop the backslash
                } else if (match && n + 1 < sizeof(buf)) {
                    buf[n++] = *v++; // other escapes stay as written
                } else {
                    v++;
                }
            }
            if (match && n + 1 < sizeof(buf)) {
                buf[n++] = *v;
            }
            v++;
        }
        if (match) {
            buf[n] = '\0';
            if (out == NULL) {
                out = json_array();
            }
            td_json_append(ctx, out, td_json_str(buf));
        }
        p = *v != '\0' ? v + 1 : v;
    }
    return out;
}

/* tls.<side>.x509.*, tls.<side>.hash.sha256, tls.<side>.subject/issuer/not_before/not_after from the leaf. */
static void put_cert(struct td_json_ctx *ctx, json_t *o, const char *side, const struct td_cert_chain *chain)
{
    if (chain == NULL || chain->certs == NULL || chain->num_certs == 0 || chain->certs[0].parse_error) {
        return;
    }
    const struct td_cert *c = &chain->certs[0];
    char path[64], buf[80];
    json_t *x = json_object();
    if (x == NULL) {
        ctx->failures++;
        return;
    }
    if (c->serial != NULL && c->serial[0] != '\0') {
        char serial[128];
        put(ctx, x, "serial_number", td_json_str(upper(c->serial, serial, sizeof(serial))));
    }
    put_str(ctx, x, "subject.distinguished_name", c->subject);
    json_t *cn = c->subject != NULL ? dn_values(ctx, c->subject, "CN") : NULL;
    if (cn != NULL) {
        put(ctx, x, "subject.common_name", cn);
    }
    put_str(ctx, x, "issuer.distinguished_name", c->issuer);
    cn = c->issuer != NULL ? dn_values(ctx, c->issuer, "CN") : NULL;
    if (cn != NULL) {
        put(ctx, x, "issuer.common_name", cn);
    }
    put_time_sec(ctx, x, "not_before", c->not_before);
    put_time_sec(ctx, x, "not_after", c->not_after);
    if (c->sans != NULL && c->num_sans > 0) {
        json_t *a = json_array();
        for (uint32_t i = 0; i < c->num_sans; i++) {
            // "IP:192.0.2.1" is how the dissector tells an address from a name; ECS lists both plainly.
            const char *san = c->sans[i];
            if (strncmp(san, "IP:", 3) == 0 && san[3] != '(') {
                san += 3;
            }
            td_json_append(ctx, a, td_json_str(san));
        }
        put(ctx, x, "alternative_names", a);
    }
    size_t kt_len = strnlen(c->key_type, sizeof(c->key_type));
    if (kt_len > 0 && kt_len < sizeof(c->key_type)) {
        put(ctx, x, "public_key_algorithm", td_json_str(c->key_type));
    }
    if (c->key_bits > 0) {
        put(ctx, x, "public_key_size", json_integer(c->key_bits));
    }
    put_str(ctx, x, "signature_algorithm", c->sig_alg);
    (void)snprintf(path, sizeof(path), "tls.%s.x509", side);
    put(ctx, o, path, x);

    size_t h_len = strnlen(c->sha256, sizeof(c->sha256));
    if (h_len == 64) {
        (void)snprintf(path, sizeof(path), "tls.%s.hash.sha256", side);
        put(ctx, o, path, json_string(upper(c->sha256, buf, sizeof(buf))));
    }
    (void)snprintf(path, sizeof(path), "tls.%s.subject", side);
    put_str(ctx, o, path, c->subject);
    (void)snprintf(path, sizeof(path), "tls.%s.issuer", side);
    put_str(ctx, o, path, c->issuer);
    (void)snprintf(path, sizeof(path), "tls.%s.not_before", side);
    put_time_sec(ctx, o, path, c->not_before);
    (void)snprintf(path, sizeof(path), "tls.%s.not_after", side);
    put_time_sec(ctx, o, path, c->not_after);
}

static void put_tls(struct td_json_ctx *ctx, json_t *o, const struct td_tls_facts *f)
{
    const struct td_server_hello *sh = first_server_hello(f);
    put_version(ctx, o, f->version);
    if (f->cipher_known) {
        char buf[NAME_BUF_LEN];
        put(ctx, o, "tls.cipher", td_json_str(cipher_name(f->cipher, buf, sizeof(buf))));
    }
    put_curve(ctx, o, f, sh);
    bool done = f->outcome == TD_OUTCOME_ESTABLISHED || f->outcome == TD_OUTCOME_RESUMED;
    put(ctx, o, "tls.established", json_boolean(done));
    put(ctx, o, "tls.resumed", json_boolean(f->resumed));
    if (sh != NULL) {
        put_str(ctx, o, "tls.next_protocol", sh->alpn);
    }
    put_client_hello(ctx, o, f);
    put_cert(ctx, o, "client", f->client_certs);
    put_cert(ctx, o, "server", f->server_certs);
}

/* --- connection: tlsdiag.* --- */

static const char *role_name(uint8_t role)
{
    return role == TD_ROLE_CLIENT ? "client" : "server";
}

static json_t *alerts_summary(struct td_json_ctx *ctx, const struct td_tls_facts *f)
{
    json_t *a = json_array();
    for (uint32_t i = 0; f->alerts != NULL && i < f->num_alerts && i < MAX_EVENT_ALERTS; i++) {
        const struct td_alert *al = &f->alerts[i];
        char buf[NAME_BUF_LEN];
        json_t *e = json_object();
        td_json_set(ctx, e, "frame", td_json_u64(al->ev.frame));
        td_json_set(ctx, e, "from", json_string(role_name(al->role)));
        if (al->encrypted) {
            td_json_set(ctx, e, "encrypted", json_true());
        } else {
            td_json_set(ctx, e, "level",
                        td_json_str(td_name_fmt(td_name_alert_level(al->level), al->level, buf, sizeof(buf))));
            td_json_set(ctx, e, "description",
                        td_json_str(td_name_fmt(td_name_alert(al->description), al->description, buf, sizeof(buf))));
        }
        td_json_append(ctx, a, e);
    }
    return a;
}

static json_t *anomalies_summary(struct td_json_ctx *ctx, const struct td_tls_facts *f)
{
    json_t *a = json_array();
    for (uint32_t i = 0; f->anomalies != NULL && i < f->num_anomalies && i < MAX_EVENT_ANOMALIES; i++) {
        const struct td_anomaly_entry *e = &f->anomalies[i];
        json_t *o = json_object();
        td_json_set(ctx, o, "name", json_string(td_anomaly_name(e->code)));
        if (e->ev.frame != 0) {
            td_json_set(ctx, o, "frame", td_json_u64(e->ev.frame));
        }
        td_json_set(ctx, o, "from", json_string(role_name(e->role)));
        td_json_append(ctx, a, o);
    }
    return a;
}

/* The report's outcome object ({result, frame, time, by, alert, after, text}) without its nulls. */
static json_t *outcome_object(struct td_json_ctx *ctx, const struct td_flow_info *info,
                              const struct td_tls_facts *facts)
{
    td_jv_scope_begin();
    json_t *out = td_jv_to_jansson(td_json_outcome(ctx, info, facts));
    td_jv_scope_end();
    if (out == NULL) {
        ctx->failures++;
        return NULL;
    }
    drop_nulls(out);
    return out;
}

static void put_tlsdiag(struct td_json_ctx *ctx, json_t *o, const char *input_name, size_t input_index,
                        const struct td_flow_info *info, const struct td_tls_facts *f, json_t *outcome,
                        json_t *findings)
{
    put_u64(ctx, o, "tlsdiag.connection_id", info->id);
    put_str(ctx, o, "tlsdiag.input", input_name);
    put_u64(ctx, o, "tlsdiag.input_index", input_index);
    put_u64(ctx, o, "tlsdiag.frames.first", info->first_frame);
    put_u64(ctx, o, "tlsdiag.frames.last", info->last_frame);
    if (f->roles_swapped) {
        put(ctx, o, "tlsdiag.roles_swapped", json_true());
    }
    if (td_flow_app_protocol(info)[0] != '\0') {
        put(ctx, o, "tlsdiag.app_protocol", td_json_str(td_flow_app_protocol(info)));
    }
    if (outcome != NULL) {
        put(ctx, o, "tlsdiag.outcome", outcome);
    }
    const struct td_client_hello *ch = f->num_client_hellos > 0 ? f->client_hellos[0] : NULL;
    if (ch != NULL) {
        struct td_fingerprints fp;
        td_fingerprint_client_hello(ch, &fp);
        put_str(ctx, o, "tlsdiag.ja4", fp.ja4);
    }
    if (f->alerts_seen > 0) {
        put(ctx, o, "tlsdiag.alerts", alerts_summary(ctx, f));
        put(ctx, o, "tlsdiag.alerts_seen", json_integer(f->alerts_seen));
    }
    if (f->anomalies_seen > 0) {
        put(ctx, o, "tlsdiag.anomalies", anomalies_summary(ctx, f));
        put(ctx, o, "tlsdiag.anomalies_seen", json_integer(f->anomalies_seen));
    }
    if (json_array_size(findings) > 0) {
        put(ctx, o, "tlsdiag.findings", json_incref(findings));
    }
}

json_t *td_event_connection(struct td_json_ctx *ctx, const char *input_name, size_t input_index,
                            const struct td_flow_info *info, const struct td_tls_facts *facts, json_t *findings)
{
    static const struct td_tls_facts none = {.outcome = TD_OUTCOME_NOT_TLS, .last_hs_msg = -1,
                                             .outcome_alert = -1, .outcome_after_msg = -1};
    const struct td_tls_facts *f = facts != NULL ? facts : &none;
    json_t *o = json_object();
    if (o == NULL) {
        ctx->failures++;
        return NULL;
    }
    json_t *outcome = outcome_object(ctx, info, f);
    int severity = max_severity(findings);

    put_header(ctx, o, info->first_ts_ns);
    const char *text = json_string_value(json_object_get(outcome, "text"));
    put_str(ctx, o, "message", text);
    put_event_class(ctx, o, severity == TD_SEVERITY_ERROR + 1 ? "alert" : "event", "network", "connection", "end",
                    outcome_action(f->outcome), "tlsdiag.connection");
    put(ctx, o, "event.outcome", json_string(outcome_ecs(f->outcome)));
    put(ctx, o, "event.severity", json_integer(severity));
    put_time_ns(ctx, o, "event.start", info->first_ts_ns);
    put_time_ns(ctx, o, "event.end", info->last_ts_ns);
    put(ctx, o, "event.duration",
        json_integer(info->last_ts_ns > info->first_ts_ns ? info->last_ts_ns - info->first_ts_ns : 0));

    // source = the TLS client, destination = the TLS server; TCP direction indexes follow the flow table.
    bool sw = f->roles_swapped;
    int cdir = sw ? TD_DIR_S2C : TD_DIR_C2S;
    int sdir = sw ? TD_DIR_C2S : TD_DIR_S2C;
    put_endpoint(ctx, o, "source", sw ? &info->server : &info->client, sw ? info->server_port : info->client_port,
                 info->packets[cdir], info->payload_bytes[cdir]);
    put_endpoint(ctx, o, "destination", sw ? &info->client : &info->server,
                 sw ? info->client_port : info->server_port, info->packets[sdir], info->payload_bytes[sdir]);

    put(ctx, o, "network.transport", json_string(info->transport == TD_TRANSPORT_UDP ? "udp" : "tcp"));
    put(ctx, o, "network.type", json_string(info->client.family == 6 ? "ipv6" : "ipv4"));
    put_protocol(ctx, o, info, f->is_tls);
    put_u64(ctx, o, "network.bytes", info->payload_bytes[0] + info->payload_bytes[1]);
    put_u64(ctx, o, "network.packets", info->packets[0] + info->packets[1]);

    if (f->is_tls) {
        put_tls(ctx, o, f);
    }
    put_rule(ctx, o, findings);
    put_tlsdiag(ctx, o, input_name, input_index, info, f, outcome, findings);
    return o;
}

/* --- statistics --- */

uint64_t td_event_rss_bytes(void)
{
    // statm: size resident shared text lib data dt, in pages (proc(5)).
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp == NULL) {
        return 0;
    }
    char line[128];
    bool ok = fgets(line, sizeof(line), fp) != NULL;
    (void)fclose(fp);
    if (!ok) {
        return 0;
    }
    char *end;
    (void)strtoull(line, &end, 10);
    if (end == line) {
        return 0;
    }
    char *p = end;
    unsigned long long pages = strtoull(p, &end, 10);
    long page = sysconf(_SC_PAGESIZE);
    if (end == p || page <= 0) {
        return 0;
    }
    return (uint64_t)pages * (uint64_t)page;
}

json_t *td_event_stats(struct td_json_ctx *ctx, const struct td_event_stats *s)
{
    json_t *o = json_object();
    if (o == NULL) {
        ctx->failures++;
        return NULL;
    }
    put_header(ctx, o, s->time_ns);
    // ECS: event.kind "metric" is a numeric measurement taken at a point in time.
    put_event_class(ctx, o, "metric", "network", "info", NULL, "statistics", "tlsdiag.stats");
    if (s->live) {
        put_str(ctx, o, "observer.ingress.interface.name", s->input);
    }
    put_str(ctx, o, "tlsdiag.input", s->input);
    put_u64(ctx, o, "tlsdiag.stats.packets", s->packets);
    put_u64(ctx, o, "tlsdiag.stats.bytes", s->bytes);
    if (s->has_drops) {
        put_u64(ctx, o, "tlsdiag.stats.packets_dropped.kernel", s->packets_dropped_kernel);
        put_u64(ctx, o, "tlsdiag.stats.packets_dropped.interface", s->packets_dropped_interface);
    }
    put_u64(ctx, o, "tlsdiag.stats.flows.active", s->flows_active);
    put_u64(ctx, o, "tlsdiag.stats.flows.total", s->flows_total);
    put_u64(ctx, o, "tlsdiag.stats.flows.evicted", s->flows_evicted);
    put_u64(ctx, o, "tlsdiag.stats.connections", s->connections);
    for (int i = TD_SEVERITY_ERROR; i >= TD_SEVERITY_INFO; i--) {
        char path[48];
        (void)snprintf(path, sizeof(path), "tlsdiag.stats.findings.%s", td_severity_name((enum td_severity)i));
        put_u64(ctx, o, path, s->findings[i]);
    }
    if (s->rss_bytes > 0) {
        put_u64(ctx, o, "tlsdiag.stats.memory.rss_bytes", s->rss_bytes);
    }
    put_u64(ctx, o, "tlsdiag.stats.uptime_ns", s->uptime_ns > 0 ? (uint64_t)s->uptime_ns : 0);
    return o;
}

/* --- inputs --- */

json_t *td_event_input(struct td_json_ctx *ctx, int64_t time_ns, enum td_event_input_phase phase, size_t input_index,
                       const struct td_input_summary *in)
{
    json_t *o = json_object();
    if (o == NULL) {
        ctx->failures++;
        return NULL;
    }
    bool finished = phase == TD_EVENT_INPUT_FINISHED;
    bool failed = finished && in->error != NULL;
    put_header(ctx, o, time_ns);
    put_str(ctx, o, "message", failed ? in->error : NULL);
    put_event_class(ctx, o, "event", "file", finished ? "info" : "access", NULL,
                    finished ? "input-finished" : "input-started", "tlsdiag.input");
    if (finished) {
        put(ctx, o, "event.outcome", json_string(failed ? "failure" : "success"));
    }
    put_str(ctx, o, "file.path", in->path);
    if (failed) {
        put_str(ctx, o, "error.message", in->error);
    }
    put_u64(ctx, o, "tlsdiag.input_index", input_index);
    put_str(ctx, o, "tlsdiag.format", in->format);
    if (!finished) {
        return o;
    }
    put_u64(ctx, o, "tlsdiag.frames", in->frames);
    put_u64(ctx, o, "tlsdiag.bytes", in->bytes);
    if (in->frames > 0) {
        put_time_ns(ctx, o, "tlsdiag.first_time", in->first_ts_ns);
        put_time_ns(ctx, o, "tlsdiag.last_time", in->last_ts_ns);
    }
    put_u64(ctx, o, "tlsdiag.decode.tcp_segments", in->tcp_segments);
    put_u64(ctx, o, "tlsdiag.decode.udp", in->udp);
    put_u64(ctx, o, "tlsdiag.decode.other_ip", in->other_ip);
    put_u64(ctx, o, "tlsdiag.decode.not_ip", in->not_ip);
    put_u64(ctx, o, "tlsdiag.decode.unknown_link", in->unknown_link);
    put_u64(ctx, o, "tlsdiag.decode.truncated", in->truncated);
    put_u64(ctx, o, "tlsdiag.decode.malformed", in->malformed);
    put_u64(ctx, o, "tlsdiag.decode.ip_fragments", in->ip_fragments);
    return o;
}
