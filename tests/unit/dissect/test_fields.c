/* SPDX-License-Identifier: MIT */
/* test_fields.c: the field registry (dissect/fields.c) and server aggregation (dissect/server.c) over facts built
 * by hand: every field family, absent facts, derived facts (offered versions and GREASE/drafts, DHE short
 * values, certificate validity at capture time, RFC 6125 name matching, the TLS 1.0 CBC 1/n-1 split, RFC 5746
 * renegotiation, first fatal alert), anomaly fields, registry hygiene, and the server table. Expected values
 * come from the specs and /work/notes/fields.md, and for the CBC lengths from tshark on samples/tls10-cbc.pcap. */
#include "../../../dissect/fields.h"
#include "../../../dissect/names.h"
#include "../testlib.h"

#include <stdio.h>
#include <string.h>

/* --- helpers --- */

static bool get(const struct td_fact_ctx *ctx, const char *name, struct td_value *v)
{
    const struct td_field *f = td_field_find(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    memset(v, 0, sizeof(*v));
    bool ok = f->get(ctx, v);
    if (ok) {
        CU_ASSERT_EQUAL(v->type, f->type);
    }
    return ok;
}

static void check_int(const struct td_fact_ctx *ctx, const char *name, int64_t want, int line)
{
    struct td_value v;
    bool ok = get(ctx, name, &v);
    if (!ok || v.i != want) {
        printf("\n  line %d: %s: %s %lld, want %lld\n", line, name, ok ? "got" : "absent", (long long)v.i,
               (long long)want);
    }
    CU_ASSERT_TRUE(ok && v.i == want);
}

static void check_str(const struct td_fact_ctx *ctx, const char *name, const char *want, int line)
{
    struct td_value v;
    bool ok = get(ctx, name, &v);
    bool eq = ok && v.s != NULL && strcmp(v.s, want) == 0;
    if (!eq) {
        printf("\n  line %d: %s: %s \"%s\", want \"%s\"\n", line, name, ok ? "got" : "absent",
               ok && v.s != NULL ? v.s : "", want);
    }
    CU_ASSERT_TRUE(eq);
}

static void check_absent(const struct td_fact_ctx *ctx, const char *name, int line)
{
    struct td_value v;
    bool ok = get(ctx, name, &v);
    if (ok) {
        printf("\n  line %d: %s: present (%lld, \"%s\"), want absent\n", line, name, (long long)v.i,
               v.s != NULL ? v.s : "");
    }
    CU_ASSERT_FALSE(ok);
}

#define INT_IS(ctx, name, want) check_int((ctx), (name), (want), __LINE__)
#define FRAME_IS(ctx, name, want) check_int((ctx), (name), (want), __LINE__)
#define BOOL_IS(ctx, name, want) check_int((ctx), (name), (want) ? 1 : 0, __LINE__)
#define STR_IS(ctx, name, want) check_str((ctx), (name), (want), __LINE__)
#define ABSENT(ctx, name) check_absent((ctx), (name), __LINE__)

static struct td_tls_facts empty_facts(void)
{
    struct td_tls_facts f;
    memset(&f, 0, sizeof(f));
    f.last_hs_msg = -1;
    f.outcome_alert = -1;
    f.outcome_after_msg = -1;
    return f;
}

static struct td_flow_info flow_v4(uint8_t last_octet, uint16_t server_port)
{
    struct td_flow_info fl;
    memset(&fl, 0, sizeof(fl));
    fl.id = 7;
    fl.client.family = 4;
    fl.client.bytes[0] = 198;
    fl.client.bytes[1] = 51;
    fl.client.bytes[2] = 100;
    fl.client.bytes[3] = 9;
    fl.server.family = 4;
    fl.server.bytes[0] = 192;
    fl.server.bytes[1] = 0;
    fl.server.bytes[2] = 2;
    fl.server.bytes[3] = last_octet;
    fl.client_port = 50000;
    fl.server_port = server_port;
    fl.first_frame = 1;
    fl.last_frame = 20;
    fl.end = TD_FLOW_END_FIN;
    return fl;
}

/* --- registry --- */

static bool name_well_formed(const char *s)
{
    // dotted lowercase words: [a-z0-9_]+ separated by single dots, starting with a letter
    if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z')) {
        return false;
    }
    size_t n = strlen(s);
    if (s[n - 1] == '.') {
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
        if (!ok || (c == '.' && s[k + 1] == '.')) {
            return false;
        }
    }
    return strchr(s, '.') != NULL;
}

static void test_registry_hygiene(void)
{
    size_t n = td_field_count();
    CU_ASSERT_TRUE_FATAL(n > 100);
    CU_ASSERT_PTR_NULL(td_field_at(n));
    for (size_t i = 0; i < n; i++) {
        const struct td_field *f = td_field_at(i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f->name);
        if (!name_well_formed(f->name)) {
            printf("\n  bad name \"%s\"\n", f->name);
        }
        CU_ASSERT_TRUE(name_well_formed(f->name));
        CU_ASSERT_TRUE(f->description != NULL && f->description[0] != '\0');
        CU_ASSERT_PTR_NOT_NULL(f->get);
        CU_ASSERT_TRUE(f->type == TD_FIELD_INT || f->type == TD_FIELD_FRAME || f->type == TD_FIELD_BOOL ||
                       f->type == TD_FIELD_STRING);
        // scope follows the name (docs/RULES.md): tls.alert.* alert, server.* server, the rest connection
        enum td_field_scope want = strncmp(f->name, "tls.alert.", 10) == 0 ? TD_SCOPE_ALERT
                                   : strncmp(f->name, "server.", 7) == 0   ? TD_SCOPE_SERVER
                                                                           : TD_SCOPE_CONNECTION;
        CU_ASSERT_EQUAL(f->scope, want);
        // frame fields and only they end in "frame" (".frame", "_frame"), so evidence lists can be checked
        bool frame_name = strlen(f->name) >= 5 && strcmp(f->name + strlen(f->name) - 5, "frame") == 0;
        CU_ASSERT_EQUAL(frame_name, f->type == TD_FIELD_FRAME);
        CU_ASSERT_PTR_EQUAL(td_field_find(f->name), f);
        for (size_t j = i + 1; j < n; j++) {
            CU_ASSERT_TRUE(strcmp(f->name, td_field_at(j)->name) != 0);
        }
    }
    CU_ASSERT_PTR_NULL(td_field_find("none"));
    CU_ASSERT_PTR_NULL(td_field_find("tls.no_such_field"));
    CU_ASSERT_PTR_NULL(td_field_find(""));
    CU_ASSERT_PTR_NULL(td_field_find(NULL));
    CU_ASSERT_PTR_NULL(td_field_find("tls.alert"));
}

/* Every name of /work/notes/fields.md (the contract with the rule files) must resolve, with its type. */
static void test_registry_contract(void)
{
    static const struct {
        const char *name;
        enum td_field_type type;
    } want[] = {
        {"tls.alert.frame", TD_FIELD_FRAME}, {"tls.alert.level", TD_FIELD_INT},
        {"tls.alert.description", TD_FIELD_INT}, {"tls.alert.description_name", TD_FIELD_STRING},
        {"tls.alert.from", TD_FIELD_STRING}, {"tls.alert.encrypted", TD_FIELD_BOOL},
        {"tls.alert.inferred", TD_FIELD_BOOL}, {"tls.alert.after", TD_FIELD_STRING},
        {"conn.id", TD_FIELD_INT}, {"conn.first_frame", TD_FIELD_FRAME}, {"conn.last_frame", TD_FIELD_FRAME},
        {"conn.server_port", TD_FIELD_INT}, {"conn.client_port", TD_FIELD_INT}, {"conn.outcome", TD_FIELD_STRING},
        {"conn.outcome.frame", TD_FIELD_FRAME}, {"conn.outcome.by", TD_FIELD_STRING},
        {"conn.outcome.after", TD_FIELD_STRING}, {"conn.outcome.alert", TD_FIELD_INT},
        {"conn.failed", TD_FIELD_BOOL}, {"conn.end", TD_FIELD_STRING}, {"conn.gaps", TD_FIELD_INT},
        {"tls.present", TD_FIELD_BOOL}, {"tls.version", TD_FIELD_INT}, {"tls.version_name", TD_FIELD_STRING},
        {"tls.cipher", TD_FIELD_INT}, {"tls.cipher_name", TD_FIELD_STRING}, {"tls.cipher.kx", TD_FIELD_STRING},
        {"tls.cipher.cbc", TD_FIELD_BOOL}, {"tls.handshake.completed", TD_FIELD_BOOL},
        {"tls.handshake.completed_frame", TD_FIELD_FRAME}, {"tls.handshake.resumed", TD_FIELD_BOOL},
        {"tls.handshake.false_start", TD_FIELD_BOOL}, {"tls.client_hello.present", TD_FIELD_BOOL},
        {"tls.client_hello.frame", TD_FIELD_FRAME}, {"tls.client_hello.count", TD_FIELD_INT},
        {"tls.client_hello.version", TD_FIELD_INT}, {"tls.client_hello.max_version", TD_FIELD_INT},
        {"tls.client_hello.min_version", TD_FIELD_INT}, {"tls.client_hello.offers_tls13", TD_FIELD_BOOL},
        {"tls.client_hello.sni", TD_FIELD_STRING}, {"tls.client_hello.fallback_scsv", TD_FIELD_BOOL},
        {"tls.client_hello.secure_renegotiation", TD_FIELD_BOOL},
        {"tls.client_hello.post_handshake_auth", TD_FIELD_BOOL}, {"tls.client_hello.num_ciphers", TD_FIELD_INT},
        {"tls.client_hello.dhe_only", TD_FIELD_BOOL}, {"tls.server_hello.present", TD_FIELD_BOOL},
        {"tls.server_hello.frame", TD_FIELD_FRAME}, {"tls.server_hello.version", TD_FIELD_INT},
        {"tls.server_hello.version_offered", TD_FIELD_BOOL},
        {"tls.server_hello.secure_renegotiation", TD_FIELD_BOOL}, {"tls.hrr", TD_FIELD_BOOL},
        {"tls.hrr.frame", TD_FIELD_FRAME}, {"tls.fatal_alert.present", TD_FIELD_BOOL},
        {"tls.fatal_alert.frame", TD_FIELD_FRAME}, {"tls.fatal_alert.description", TD_FIELD_INT},
        {"tls.fatal_alert.description_name", TD_FIELD_STRING}, {"tls.fatal_alert.from", TD_FIELD_STRING},
        {"tls.fatal_alert.after", TD_FIELD_STRING}, {"tls.fatal_alert.encrypted", TD_FIELD_BOOL},
        {"tls.certificate_request.present", TD_FIELD_BOOL}, {"tls.certificate_request.frame", TD_FIELD_FRAME},
        {"tls.certificate_request.count", TD_FIELD_INT}, {"tls.certificate_request.ca_list_len", TD_FIELD_INT},
        {"tls.certificate_request.num_ca_names", TD_FIELD_INT},
        {"tls.certificate_request.ca_list_well_formed", TD_FIELD_BOOL},
        {"tls.client_certificate.present", TD_FIELD_BOOL}, {"tls.client_certificate.frame", TD_FIELD_FRAME},
        {"tls.client_certificate.count", TD_FIELD_INT}, {"tls.server_certificate.present", TD_FIELD_BOOL},
        {"tls.server_certificate.frame", TD_FIELD_FRAME}, {"tls.server_certificate.subject", TD_FIELD_STRING},
        {"tls.server_certificate.issuer", TD_FIELD_STRING}, {"tls.server_certificate.self_signed", TD_FIELD_BOOL},
        {"tls.server_certificate.has_eku", TD_FIELD_BOOL}, {"tls.server_certificate.server_auth", TD_FIELD_BOOL},
        {"tls.server_certificate.expired", TD_FIELD_BOOL}, {"tls.server_certificate.not_yet_valid", TD_FIELD_BOOL},
        {"tls.server_certificate.not_after", TD_FIELD_STRING},
        {"tls.server_certificate.name_matches_sni", TD_FIELD_BOOL},
        {"tls.server_certificate.chain_len", TD_FIELD_INT}, {"tls.dhe", TD_FIELD_BOOL},
        {"tls.dhe.p_len", TD_FIELD_INT}, {"tls.dhe.g_len", TD_FIELD_INT}, {"tls.dhe.ys_len", TD_FIELD_INT},
        {"tls.dhe.yc_len", TD_FIELD_INT}, {"tls.dhe.ys_short", TD_FIELD_BOOL}, {"tls.dhe.yc_short", TD_FIELD_BOOL},
        {"tls.dhe.short_key", TD_FIELD_BOOL}, {"tls.dhe.p_bits", TD_FIELD_INT},
        {"tls.dhe.short_value", TD_FIELD_STRING}, {"tls.dhe.short_value_len", TD_FIELD_INT},
        {"tls.dhe.short_value.frame", TD_FIELD_FRAME},
        {"tls.server_key_exchange.frame", TD_FIELD_FRAME}, {"tls.client_key_exchange.frame", TD_FIELD_FRAME},
        {"tls.ecdhe.group", TD_FIELD_INT}, {"tls.ecdhe.group_name", TD_FIELD_STRING},
        {"tls.renegotiation.present", TD_FIELD_BOOL}, {"tls.renegotiation.by", TD_FIELD_STRING},
        {"tls.renegotiation.frame", TD_FIELD_FRAME}, {"tls.renegotiation.count", TD_FIELD_INT},
        {"tls.renegotiation.plaintext", TD_FIELD_INT}, {"tls.renegotiation.secure", TD_FIELD_BOOL},
        {"tls.hello_request.count", TD_FIELD_INT}, {"tls.tls13", TD_FIELD_BOOL},
        {"tls.cbc_split", TD_FIELD_BOOL}, {"tls.cbc_split.frame", TD_FIELD_FRAME},
        {"tls.anomaly.frame", TD_FIELD_FRAME}, {"tls.anomalies", TD_FIELD_INT},
        {"tls.anomaly.trailing_bytes", TD_FIELD_BOOL}, {"server.name", TD_FIELD_STRING},
        {"server.sni", TD_FIELD_STRING}, {"server.connections", TD_FIELD_INT},
        {"server.tls_connections", TD_FIELD_INT}, {"server.established", TD_FIELD_INT},
        {"server.failed", TD_FIELD_INT}, {"server.max_version", TD_FIELD_INT}, {"server.min_version", TD_FIELD_INT},
        {"server.max_version_name", TD_FIELD_STRING}, {"server.requests_client_cert", TD_FIELD_BOOL},
        {"server.cert_requests", TD_FIELD_INT}, {"server.first_cert_request_frame", TD_FIELD_FRAME},
        {"server.tls13_connections", TD_FIELD_INT}, {"server.tls13_without_pha", TD_FIELD_INT},
        {"server.first_tls13_without_pha_frame", TD_FIELD_FRAME}, {"server.dhe_handshakes", TD_FIELD_INT},
        {"server.dhe_failed", TD_FIELD_INT}, {"server.dhe_short_key", TD_FIELD_INT},
        {"server.dhe_failed_short_key", TD_FIELD_INT}, {"server.first_dhe_failed_short_key_frame", TD_FIELD_FRAME},
        {"server.renegotiations", TD_FIELD_INT}, {"server.first_frame", TD_FIELD_FRAME},
    };
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        const struct td_field *f = td_field_find(want[k].name);
        if (f == NULL || f->type != want[k].type) {
            printf("\n  %s: %s\n", want[k].name, f == NULL ? "missing" : "wrong type");
        }
        CU_ASSERT_TRUE(f != NULL && f->type == want[k].type);
    }
}

/* One boolean connection field per anomaly (the dotted name itself), "none" excluded. */
static void test_registry_anomalies(void)
{
    for (int a = 1; a < TD_ANOM_COUNT; a++) {
        const struct td_field *f = td_field_find(td_anomaly_name((enum td_anomaly)a));
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(f->type, TD_FIELD_BOOL);
        CU_ASSERT_EQUAL(f->scope, TD_SCOPE_CONNECTION);
        CU_ASSERT_STRING_EQUAL(f->description, td_anomaly_description((enum td_anomaly)a));
    }
    CU_ASSERT_PTR_NULL(td_field_find(td_anomaly_name(TD_ANOM_NONE)));
}

/* Every accessor copes with an all-NULL context and with facts that hold nothing. */
static void test_null_and_empty(void)
{
    struct td_fact_ctx none = {0};
    struct td_value v;
    for (size_t i = 0; i < td_field_count(); i++) {
        const struct td_field *f = td_field_at(i);
        CU_ASSERT_FALSE(f->get(&none, &v));
    }
    // zeroed facts, flow and server: no crash; nothing derived from a missing message is present
    struct td_tls_facts tls = empty_facts();
    struct td_flow_info flow;
    memset(&flow, 0, sizeof(flow));
    struct td_server_facts srv;
    memset(&srv, 0, sizeof(srv));
    struct td_alert alert;
    memset(&alert, 0, sizeof(alert));
    alert.after_msg = -1;
    struct td_fact_ctx ctx = {&flow, &tls, &alert, &srv};
    for (size_t i = 0; i < td_field_count(); i++) {
        const struct td_field *f = td_field_at(i);
        memset(&v, 0, sizeof(v));
        if (f->get(&ctx, &v)) {
            CU_ASSERT_EQUAL(v.type, f->type);
            CU_ASSERT_TRUE(v.type != TD_FIELD_STRING || v.s != NULL);
            CU_ASSERT_TRUE(v.type != TD_FIELD_FRAME || v.i >= 1);
            CU_ASSERT_TRUE(v.type != TD_FIELD_BOOL || v.i == 0 || v.i == 1);
        }
    }
    BOOL_IS(&ctx, "tls.present", false);
    STR_IS(&ctx, "conn.outcome", "not_tls");
    ABSENT(&ctx, "conn.end");
    ABSENT(&ctx, "conn.first_frame");
    ABSENT(&ctx, "tls.version");
    ABSENT(&ctx, "tls.version_name");
    ABSENT(&ctx, "tls.cipher");
    ABSENT(&ctx, "tls.cipher_name");
    BOOL_IS(&ctx, "tls.client_hello.present", false);
    ABSENT(&ctx, "tls.client_hello.max_version");
    ABSENT(&ctx, "tls.client_hello.sni");
    ABSENT(&ctx, "tls.server_hello.version_offered");
    BOOL_IS(&ctx, "tls.server_certificate.present", false);
    ABSENT(&ctx, "tls.server_certificate.expired");
    ABSENT(&ctx, "tls.server_certificate.name_matches_sni");
    BOOL_IS(&ctx, "tls.dhe", false);
    ABSENT(&ctx, "tls.dhe.p_len");
    BOOL_IS(&ctx, "tls.fatal_alert.present", false);
    ABSENT(&ctx, "tls.fatal_alert.frame");
    BOOL_IS(&ctx, "tls.renegotiation.present", false);
    ABSENT(&ctx, "tls.renegotiation.by");
    ABSENT(&ctx, "tls.renegotiation.secure");
    BOOL_IS(&ctx, "tls.cbc_split", false);
    ABSENT(&ctx, "tls.app_data.client_first_lens");
    BOOL_IS(&ctx, "tls.anomaly.trailing_bytes", false);
    ABSENT(&ctx, "tls.anomaly.frame");
    ABSENT(&ctx, "tls.alert.after");
    ABSENT(&ctx, "tls.alert.frame");
    ABSENT(&ctx, "server.max_version");
    ABSENT(&ctx, "server.sni");
    ABSENT(&ctx, "server.first_frame");
    INT_IS(&ctx, "server.connections", 0);
    BOOL_IS(&ctx, "server.requests_client_cert", false);

    // ClientHellos seen but none kept (arena full): count present, contents absent
    tls.is_tls = true;
    tls.client_hellos_seen = 1;
    tls.server_hellos_seen = 1;
    tls.version = TD_VERSION_TLS12;
    tls.cipher = 0xc02f;
    BOOL_IS(&ctx, "tls.client_hello.present", false);
    INT_IS(&ctx, "tls.client_hello.count", 1);
    ABSENT(&ctx, "tls.client_hello.frame");
    ABSENT(&ctx, "tls.client_hello.offers_tls13");
    BOOL_IS(&ctx, "tls.server_hello.present", false);
    INT_IS(&ctx, "tls.version", 0x0303);
    STR_IS(&ctx, "tls.version_name", "TLS 1.2");
    STR_IS(&ctx, "tls.cipher_name", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    STR_IS(&ctx, "tls.cipher.kx", "ECDHE");
    BOOL_IS(&ctx, "tls.cipher.cbc", false);
    BOOL_IS(&ctx, "tls.tls13", false);
    // a certificate chain whose certificates were dropped: chain facts yes, leaf facts no
    struct td_cert_chain chain = {.ev = {.frame = 5, .ts_ns = 0}, .certs = NULL, .num_certs = 0, .num_sent = 3};
    tls.server_certs = &chain;
    BOOL_IS(&ctx, "tls.server_certificate.present", true);
    FRAME_IS(&ctx, "tls.server_certificate.frame", 5);
    INT_IS(&ctx, "tls.server_certificate.chain_len", 3);
    ABSENT(&ctx, "tls.server_certificate.subject");
    ABSENT(&ctx, "tls.server_certificate.expired");
    ABSENT(&ctx, "tls.server_certificate.not_after");
}

/* --- alert scope --- */

static void test_alert_fields(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_alert alerts[2] = {
        {.ev = {.frame = 9, .ts_ns = 0}, .role = TD_ROLE_SERVER, .level = 2, .description = 47,
         .after_msg = TD_HS_CLIENT_KEY_EXCHANGE},
        {.ev = {.frame = 12, .ts_ns = 0}, .role = TD_ROLE_CLIENT, .encrypted = true, .inferred = true,
         .after_msg = -1},
    };
    // timeline: CH (client), SH (server), CKE (client), the alert (index 0)
    struct td_event timeline[] = {
        {.ev = {.frame = 4, .ts_ns = 0}, .role = TD_ROLE_CLIENT, .kind = TD_EV_HANDSHAKE, .detail = 1},
        {.ev = {.frame = 6, .ts_ns = 0}, .role = TD_ROLE_SERVER, .kind = TD_EV_HANDSHAKE, .detail = 2},
        {.ev = {.frame = 8, .ts_ns = 0}, .role = TD_ROLE_CLIENT, .kind = TD_EV_HANDSHAKE, .detail = 16},
        {.ev = {.frame = 8, .ts_ns = 0}, .role = TD_ROLE_CLIENT, .kind = TD_EV_CHANGE_CIPHER_SPEC},
        {.ev = {.frame = 9, .ts_ns = 0}, .role = TD_ROLE_SERVER, .kind = TD_EV_ALERT, .detail = 0},
        {.ev = {.frame = 12, .ts_ns = 0}, .role = TD_ROLE_CLIENT, .kind = TD_EV_ALERT, .detail = 1},
    };
    tls.is_tls = true;
    tls.alerts = alerts;
    tls.num_alerts = 2;
    tls.alerts_seen = 2;
    tls.timeline = timeline;
    tls.num_events = 6;
    struct td_fact_ctx ctx = {NULL, &tls, &alerts[0], NULL};
    FRAME_IS(&ctx, "tls.alert.frame", 9);
    INT_IS(&ctx, "tls.alert.level", 2);
    INT_IS(&ctx, "tls.alert.description", 47);
    STR_IS(&ctx, "tls.alert.description_name", "illegal_parameter");
    STR_IS(&ctx, "tls.alert.from", "server");
    BOOL_IS(&ctx, "tls.alert.encrypted", false);
    BOOL_IS(&ctx, "tls.alert.inferred", false);
    STR_IS(&ctx, "tls.alert.after", "client_key_exchange");
    STR_IS(&ctx, "tls.alert.after_from", "client");

    ctx.alert = &alerts[1];
    FRAME_IS(&ctx, "tls.alert.frame", 12);
    ABSENT(&ctx, "tls.alert.level");
    ABSENT(&ctx, "tls.alert.description");
    ABSENT(&ctx, "tls.alert.description_name");
    STR_IS(&ctx, "tls.alert.from", "client");
    BOOL_IS(&ctx, "tls.alert.encrypted", true);
    BOOL_IS(&ctx, "tls.alert.inferred", true);
    ABSENT(&ctx, "tls.alert.after");
    ABSENT(&ctx, "tls.alert.after_from");

    // an alert that is not one of tls->alerts, or without a timeline: after_from unknown
    struct td_alert other = alerts[0];
    ctx.alert = &other;
    ABSENT(&ctx, "tls.alert.after_from");
    STR_IS(&ctx, "tls.alert.after", "client_key_exchange");
    ctx.alert = &alerts[0];
    // the timeline was cut (max_timeline) before the alert's event: the message before the alert may lie past
    // the cut too, so who sent it is unknown (not the sender of the last such message before the cut)
    tls.num_events = 3;
    tls.events_seen = 6;
    ABSENT(&ctx, "tls.alert.after_from");
    tls.timeline = NULL;
    tls.num_events = 0;
    ABSENT(&ctx, "tls.alert.after_from");
    // outside alert evaluation
    ctx.alert = NULL;
    ABSENT(&ctx, "tls.alert.frame");
    ABSENT(&ctx, "tls.alert.from");
}

/* First fatal alert: the first alert fatal in the clear, or the first encrypted one. */
static void test_fatal_alert(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_alert alerts[3] = {
        {.ev = {.frame = 5, .ts_ns = 0}, .role = TD_ROLE_CLIENT, .level = 1, .description = 112, .after_msg = 1},
        {.ev = {.frame = 7, .ts_ns = 0}, .role = TD_ROLE_SERVER, .level = 2, .description = 40, .after_msg = 1},
        {.ev = {.frame = 9, .ts_ns = 0}, .role = TD_ROLE_CLIENT, .encrypted = true, .after_msg = 2},
    };
    tls.is_tls = true;
    tls.alerts = alerts;
    tls.num_alerts = 3;
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    BOOL_IS(&ctx, "tls.fatal_alert.present", true);
    FRAME_IS(&ctx, "tls.fatal_alert.frame", 7);
    INT_IS(&ctx, "tls.fatal_alert.description", 40);
    STR_IS(&ctx, "tls.fatal_alert.description_name", "handshake_failure");
    STR_IS(&ctx, "tls.fatal_alert.from", "server");
    STR_IS(&ctx, "tls.fatal_alert.after", "client_hello");
    BOOL_IS(&ctx, "tls.fatal_alert.encrypted", false);

    // an encrypted alert before the fatal one is taken
    struct td_alert enc_first[2] = {alerts[2], alerts[1]};
    tls.alerts = enc_first;
    tls.num_alerts = 2;
    FRAME_IS(&ctx, "tls.fatal_alert.frame", 9);
    ABSENT(&ctx, "tls.fatal_alert.description");
    ABSENT(&ctx, "tls.fatal_alert.description_name");
    BOOL_IS(&ctx, "tls.fatal_alert.encrypted", true);
    STR_IS(&ctx, "tls.fatal_alert.from", "client");
    STR_IS(&ctx, "tls.fatal_alert.after", "server_hello");

    // encrypted alerts after the handshake completed are close_notify in practice, not failures ...
    tls.handshake_done.frame = 8;
    BOOL_IS(&ctx, "tls.fatal_alert.present", true);
    FRAME_IS(&ctx, "tls.fatal_alert.frame", 7); // the plaintext fatal one (frame 7) comes next
    tls.num_alerts = 1;
    BOOL_IS(&ctx, "tls.fatal_alert.present", false);
    ABSENT(&ctx, "tls.fatal_alert.frame");
    // ... unless the handshake had not completed by then, or that alert decided a failed_alert outcome
    tls.handshake_done.frame = 10;
    FRAME_IS(&ctx, "tls.fatal_alert.frame", 9);
    tls.handshake_done.frame = 8;
    tls.outcome = TD_OUTCOME_FAILED_ALERT;
    tls.outcome_ev.frame = 9;
    FRAME_IS(&ctx, "tls.fatal_alert.frame", 9);
    tls.outcome = TD_OUTCOME_ESTABLISHED;
    tls.handshake_done.frame = 0;

    // warnings only
    tls.alerts = alerts;
    tls.num_alerts = 1;
    BOOL_IS(&ctx, "tls.fatal_alert.present", false);
    ABSENT(&ctx, "tls.fatal_alert.frame");
    ABSENT(&ctx, "tls.fatal_alert.from");
}

/* --- connection scope --- */

static void test_conn_fields(void)
{
    struct td_flow_info flow = flow_v4(1, 443);
    flow.gaps[0] = 2;
    flow.gaps[1] = 1;
    struct td_tls_facts tls = empty_facts();
    tls.is_tls = true;
    tls.outcome = TD_OUTCOME_FAILED_ALERT;
    tls.outcome_ev.frame = 9;
    tls.outcome_role = TD_ROLE_SERVER;
    tls.outcome_alert = 70;
    tls.outcome_after_msg = TD_HS_CLIENT_HELLO;
    struct td_fact_ctx ctx = {&flow, &tls, NULL, NULL};
    INT_IS(&ctx, "conn.id", 7);
    FRAME_IS(&ctx, "conn.first_frame", 1);
    FRAME_IS(&ctx, "conn.last_frame", 20);
    INT_IS(&ctx, "conn.server_port", 443);
    INT_IS(&ctx, "conn.client_port", 50000);
    STR_IS(&ctx, "conn.outcome", "failed_alert");
    FRAME_IS(&ctx, "conn.outcome.frame", 9);
    STR_IS(&ctx, "conn.outcome.by", "server");
    STR_IS(&ctx, "conn.outcome.after", "client_hello");
    INT_IS(&ctx, "conn.outcome.alert", 70);
    BOOL_IS(&ctx, "conn.failed", true);
    STR_IS(&ctx, "conn.end", "fin");
    INT_IS(&ctx, "conn.gaps", 3);
    BOOL_IS(&ctx, "tls.present", true);

    // the TLS client is the TCP server side: ports swap
    tls.roles_swapped = true;
    INT_IS(&ctx, "conn.server_port", 50000);
    INT_IS(&ctx, "conn.client_port", 443);
    tls.roles_swapped = false;

    tls.outcome_alert = -1; // encrypted
    ABSENT(&ctx, "conn.outcome.alert");
    tls.outcome = TD_OUTCOME_RESET;
    tls.outcome_role = TD_ROLE_CLIENT;
    tls.outcome_alert = 70;
    STR_IS(&ctx, "conn.outcome", "reset");
    STR_IS(&ctx, "conn.outcome.by", "client");
    ABSENT(&ctx, "conn.outcome.alert");
    BOOL_IS(&ctx, "conn.failed", true);
    tls.outcome = TD_OUTCOME_CLOSED;
    STR_IS(&ctx, "conn.outcome", "closed");
    BOOL_IS(&ctx, "conn.failed", true);
    tls.outcome = TD_OUTCOME_ESTABLISHED;
    STR_IS(&ctx, "conn.outcome", "established");
    ABSENT(&ctx, "conn.outcome.by");
    BOOL_IS(&ctx, "conn.failed", false);
    tls.outcome = TD_OUTCOME_RESUMED;
    STR_IS(&ctx, "conn.outcome", "resumed");
    BOOL_IS(&ctx, "conn.failed", false);
    tls.outcome = TD_OUTCOME_INCOMPLETE;
    STR_IS(&ctx, "conn.outcome", "incomplete");
    ABSENT(&ctx, "conn.outcome.by");
    BOOL_IS(&ctx, "conn.failed", false);
    tls.outcome_after_msg = -1;
    ABSENT(&ctx, "conn.outcome.after");

    flow.end = TD_FLOW_END_RST;
    STR_IS(&ctx, "conn.end", "rst");
    flow.end = TD_FLOW_END_IDLE;
    STR_IS(&ctx, "conn.end", "idle");
    flow.end = TD_FLOW_END_EVICTED;
    STR_IS(&ctx, "conn.end", "evicted");
    flow.end = TD_FLOW_END_CAPTURE_END;
    STR_IS(&ctx, "conn.end", "capture_end");

    // phases
    BOOL_IS(&ctx, "tls.handshake.completed", false);
    ABSENT(&ctx, "tls.handshake.completed_frame");
    tls.handshake_done.frame = 11;
    tls.resumed = true;
    tls.false_start = true;
    BOOL_IS(&ctx, "tls.handshake.completed", true);
    FRAME_IS(&ctx, "tls.handshake.completed_frame", 11);
    BOOL_IS(&ctx, "tls.handshake.resumed", true);
    BOOL_IS(&ctx, "tls.handshake.false_start", true);
}

static struct td_client_hello make_ch(uint16_t legacy, uint16_t *versions, uint32_t num_versions)
{
    struct td_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    ch.ev.frame = 4;
    ch.legacy_version = legacy;
    ch.supported_versions.v = versions;
    ch.supported_versions.num = num_versions;
    return ch;
}

static struct td_server_hello make_sh(uint16_t legacy, uint16_t selected, uint16_t cipher)
{
    struct td_server_hello sh;
    memset(&sh, 0, sizeof(sh));
    sh.ev.frame = 6;
    sh.legacy_version = legacy;
    sh.selected_version = selected;
    sh.cipher = cipher;
    return sh;
}

static void test_versions_offered(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    tls.is_tls = true;

    // GREASE first, TLS 1.3 and 1.2 (RFC 8701: GREASE values are ignored)
    uint16_t v1[] = {0x3a3a, 0x0304, 0x0303};
    struct td_client_hello ch = make_ch(0x0303, v1, 3);
    ch.sni = "example.com";
    tls.client_hellos[0] = &ch;
    tls.num_client_hellos = 1;
    tls.client_hellos_seen = 1;
    BOOL_IS(&ctx, "tls.client_hello.present", true);
    FRAME_IS(&ctx, "tls.client_hello.frame", 4);
    INT_IS(&ctx, "tls.client_hello.version", 0x0303);
    INT_IS(&ctx, "tls.client_hello.max_version", 0x0304);
    INT_IS(&ctx, "tls.client_hello.min_version", 0x0303);
    STR_IS(&ctx, "tls.client_hello.max_version_name", "TLS 1.3");
    STR_IS(&ctx, "tls.client_hello.min_version_name", "TLS 1.2");
    BOOL_IS(&ctx, "tls.client_hello.offers_tls13", true);
    STR_IS(&ctx, "tls.client_hello.sni", "example.com");

    // a GREASE value greater than every real version does not count ({0xfafa} would rank above 0x0304)
    uint16_t v2[] = {0xfafa, 0x0303, 0x0302, 0x0301};
    ch = make_ch(0x0303, v2, 4);
    INT_IS(&ctx, "tls.client_hello.max_version", 0x0303);
    INT_IS(&ctx, "tls.client_hello.min_version", 0x0301);
    BOOL_IS(&ctx, "tls.client_hello.offers_tls13", false);

    // drafts: 0x7f17 (draft-23) counts as TLS 1.3
    uint16_t v3[] = {0x7f17, 0x0303};
    ch = make_ch(0x0303, v3, 2);
    INT_IS(&ctx, "tls.client_hello.max_version", 0x0304);
    INT_IS(&ctx, "tls.client_hello.min_version", 0x0303);
    BOOL_IS(&ctx, "tls.client_hello.offers_tls13", true);

    // no supported_versions: up to legacy_version, from SSL 3.0
    ch = make_ch(0x0302, NULL, 0);
    INT_IS(&ctx, "tls.client_hello.max_version", 0x0302);
    INT_IS(&ctx, "tls.client_hello.min_version", 0x0300);
    STR_IS(&ctx, "tls.client_hello.max_version_name", "TLS 1.1");
    STR_IS(&ctx, "tls.client_hello.min_version_name", "SSL 3.0");
    BOOL_IS(&ctx, "tls.client_hello.offers_tls13", false);
    // supported_versions holding only GREASE is as good as absent
    uint16_t v4[] = {0x0a0a};
    ch = make_ch(0x0301, v4, 1);
    INT_IS(&ctx, "tls.client_hello.max_version", 0x0301);
    INT_IS(&ctx, "tls.client_hello.min_version", 0x0300);

    // version_offered
    ABSENT(&ctx, "tls.server_hello.version_offered");
    ch = make_ch(0x0303, v1, 3);
    struct td_server_hello hrr = make_sh(0x0303, 0x0304, 0x1301);
    hrr.is_hrr = true;
    hrr.ev.frame = 5;
    struct td_server_hello sh = make_sh(0x0303, 0x0304, 0x1301);
    tls.server_hellos[0] = &hrr;
    tls.server_hellos[1] = &sh;
    tls.num_server_hellos = 2;
    tls.version = 0x0304;
    BOOL_IS(&ctx, "tls.hrr", true);
    FRAME_IS(&ctx, "tls.hrr.frame", 5);
    BOOL_IS(&ctx, "tls.server_hello.present", true);
    FRAME_IS(&ctx, "tls.server_hello.frame", 6);
    INT_IS(&ctx, "tls.server_hello.version", 0x0304);
    BOOL_IS(&ctx, "tls.server_hello.version_offered", true);
    BOOL_IS(&ctx, "tls.tls13", true);
    STR_IS(&ctx, "tls.version_name", "TLS 1.3");
    // a server selecting TLS 1.1 that the client did not list
    sh = make_sh(0x0302, 0, 0x002f);
    INT_IS(&ctx, "tls.server_hello.version", 0x0302);
    BOOL_IS(&ctx, "tls.server_hello.version_offered", false);
    // legacy client (no extension) offering up to TLS 1.0: the server picks TLS 1.2 -> not offered; SSL 3.0 -> offered
    ch = make_ch(0x0301, NULL, 0);
    sh = make_sh(0x0303, 0, 0x002f);
    BOOL_IS(&ctx, "tls.server_hello.version_offered", false);
    sh = make_sh(0x0300, 0, 0x002f);
    BOOL_IS(&ctx, "tls.server_hello.version_offered", true);
    // only an HRR: no ServerHello
    tls.num_server_hellos = 1;
    BOOL_IS(&ctx, "tls.server_hello.present", false);
    ABSENT(&ctx, "tls.server_hello.version");
    ABSENT(&ctx, "tls.server_hello.version_offered");
    tls.num_server_hellos = 0;
    BOOL_IS(&ctx, "tls.hrr", false);
    ABSENT(&ctx, "tls.hrr.frame");

    // version names, drafts included (draft number in decimal)
    tls.version = 0x7f16;
    STR_IS(&ctx, "tls.version_name", "TLS 1.3 draft-22");
    BOOL_IS(&ctx, "tls.tls13", true);
    tls.version = 0x7f00;
    STR_IS(&ctx, "tls.version_name", "TLS 1.3 draft-0");
    tls.version = 0x7f64;
    STR_IS(&ctx, "tls.version_name", "TLS 1.3 draft-100");
    tls.version = 0x7fff;
    STR_IS(&ctx, "tls.version_name", "TLS 1.3 draft-255");
    tls.version = 0xfb17;
    STR_IS(&ctx, "tls.version_name", "TLS 1.3 Facebook draft-23");
    tls.version = 0x0300;
    STR_IS(&ctx, "tls.version_name", "SSL 3.0");
    BOOL_IS(&ctx, "tls.tls13", false);
    tls.version = 0x1234;
    INT_IS(&ctx, "tls.version", 0x1234);
    ABSENT(&ctx, "tls.version_name");
}

static void test_client_hello_flags(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    tls.is_tls = true;
    // GREASE, two DHE suites, the renegotiation SCSV: DHE only
    uint16_t dhe_suites[] = {0x2a2a, 0x0033, 0x009e, 0x00ff};
    struct td_client_hello ch = make_ch(0x0303, NULL, 0);
    ch.ciphers.v = dhe_suites;
    ch.ciphers.num = 4;
    ch.has_scsv_renegotiation = true;
    struct td_client_hello retry = make_ch(0x0302, NULL, 0);
    retry.has_fallback_scsv = true;
    tls.client_hellos[0] = &ch;
    tls.num_client_hellos = 1;
    tls.client_hellos_seen = 1;
    BOOL_IS(&ctx, "tls.client_hello.dhe_only", true);
    INT_IS(&ctx, "tls.client_hello.num_ciphers", 4);
    BOOL_IS(&ctx, "tls.client_hello.secure_renegotiation", true);
    BOOL_IS(&ctx, "tls.client_hello.fallback_scsv", false);
    BOOL_IS(&ctx, "tls.client_hello.post_handshake_auth", false);
    BOOL_IS(&ctx, "tls.client_hello.retry_lower", false);
    ABSENT(&ctx, "tls.client_hello.sni");

    // a later ClientHello with a lower version and TLS_FALLBACK_SCSV
    tls.client_hellos[1] = &retry;
    tls.num_client_hellos = 2;
    tls.client_hellos_seen = 2;
    INT_IS(&ctx, "tls.client_hello.count", 2);
    BOOL_IS(&ctx, "tls.client_hello.fallback_scsv", true);
    BOOL_IS(&ctx, "tls.client_hello.retry_lower", true);

    // one ECDHE suite among them: not DHE only; an unassigned suite is not DHE either; none at all: false
    uint16_t mixed[] = {0x0033, 0xc02f};
    ch.ciphers.v = mixed;
    ch.ciphers.num = 2;
    BOOL_IS(&ctx, "tls.client_hello.dhe_only", false);
    uint16_t unknown[] = {0x0033, 0x0fff};
    ch.ciphers.v = unknown;
    BOOL_IS(&ctx, "tls.client_hello.dhe_only", false);
    uint16_t only_scsv[] = {0x00ff};
    ch.ciphers.v = only_scsv;
    ch.ciphers.num = 1;
    BOOL_IS(&ctx, "tls.client_hello.dhe_only", false);
    ch.ciphers.num = 0;
    BOOL_IS(&ctx, "tls.client_hello.dhe_only", false);

    ch.has_scsv_renegotiation = false;
    BOOL_IS(&ctx, "tls.client_hello.secure_renegotiation", false);
    ch.has_renegotiation_info = true;
    ch.has_post_handshake_auth = true;
    BOOL_IS(&ctx, "tls.client_hello.secure_renegotiation", true);
    BOOL_IS(&ctx, "tls.client_hello.post_handshake_auth", true);
}

static void test_dhe(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    tls.is_tls = true;
    tls.version = 0x0303;
    tls.cipher = 0x009e; // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
    tls.kx.kind = TD_KX_DHE;
    // DHE negotiated but no ServerKeyExchange parsed
    BOOL_IS(&ctx, "tls.dhe", false);
    ABSENT(&ctx, "tls.dhe.p_len");
    ABSENT(&ctx, "tls.dhe.short_key");
    ABSENT(&ctx, "tls.server_key_exchange.frame");
    STR_IS(&ctx, "tls.cipher.kx", "DHE");

    tls.kx.has_ske = true;
    tls.kx.ske_ev.frame = 6;
    tls.kx.dh_p_len = 256;
    tls.kx.dh_g_len = 1;
    tls.kx.dh_ys_len = 255;
    BOOL_IS(&ctx, "tls.dhe", true);
    INT_IS(&ctx, "tls.dhe.p_len", 256);
    INT_IS(&ctx, "tls.dhe.g_len", 1);
    INT_IS(&ctx, "tls.dhe.ys_len", 255);
    INT_IS(&ctx, "tls.dhe.p_bits", 2048);
    BOOL_IS(&ctx, "tls.dhe.ys_short", true);
    ABSENT(&ctx, "tls.dhe.yc_len");
    ABSENT(&ctx, "tls.dhe.yc_short");
    BOOL_IS(&ctx, "tls.dhe.short_key", true);
    FRAME_IS(&ctx, "tls.server_key_exchange.frame", 6);
    ABSENT(&ctx, "tls.client_key_exchange.frame");
    // the short value for texts: Ys, even before any ClientKeyExchange
    STR_IS(&ctx, "tls.dhe.short_value", "the server's Ys (ServerKeyExchange)");
    INT_IS(&ctx, "tls.dhe.short_value_len", 255);
    FRAME_IS(&ctx, "tls.dhe.short_value.frame", 6);

    tls.kx.dh_ys_len = 256;
    tls.kx.has_cke = true;
    tls.kx.has_dh_yc = true;
    tls.kx.cke_ev.frame = 8;
    tls.kx.dh_yc_len = 256;
    BOOL_IS(&ctx, "tls.dhe.ys_short", false);
    INT_IS(&ctx, "tls.dhe.yc_len", 256);
    BOOL_IS(&ctx, "tls.dhe.yc_short", false);
    BOOL_IS(&ctx, "tls.dhe.short_key", false);
    FRAME_IS(&ctx, "tls.client_key_exchange.frame", 8);
    ABSENT(&ctx, "tls.dhe.short_value");
    ABSENT(&ctx, "tls.dhe.short_value.frame");
    tls.kx.dh_yc_len = 254;
    BOOL_IS(&ctx, "tls.dhe.yc_short", true);
    BOOL_IS(&ctx, "tls.dhe.short_key", true);
    STR_IS(&ctx, "tls.dhe.short_value", "the client's Yc (ClientKeyExchange)");
    INT_IS(&ctx, "tls.dhe.short_value_len", 254);
    FRAME_IS(&ctx, "tls.dhe.short_value.frame", 8);
    // 1024-bit group
    tls.kx.dh_p_len = 128;
    tls.kx.dh_ys_len = 128;
    tls.kx.dh_yc_len = 128;
    INT_IS(&ctx, "tls.dhe.p_bits", 1024);
    BOOL_IS(&ctx, "tls.dhe.short_key", false);
    ABSENT(&ctx, "tls.ecdhe.group");

    // ECDHE: the ServerKeyExchange curve; TLS 1.3: the ServerHello key_share group
    tls.kx.kind = TD_KX_ECDHE;
    tls.kx.ec_group = 23;
    BOOL_IS(&ctx, "tls.dhe", false);
    INT_IS(&ctx, "tls.ecdhe.group", 23);
    STR_IS(&ctx, "tls.ecdhe.group_name", "secp256r1");
    tls.kx.kind = TD_KX_TLS13;
    tls.kx.has_ske = false;
    tls.version = 0x0304;
    struct td_server_hello sh = make_sh(0x0303, 0x0304, 0x1301);
    sh.key_share_group = 29;
    tls.server_hellos[0] = &sh;
    tls.num_server_hellos = 1;
    INT_IS(&ctx, "tls.ecdhe.group", 29);
    STR_IS(&ctx, "tls.ecdhe.group_name", "x25519");
}

static struct td_cert make_cert(char **sans, uint32_t num_sans)
{
    struct td_cert c;
    memset(&c, 0, sizeof(c));
    c.subject = "CN=www.example.com,O=Example,C=US";
    c.issuer = "CN=Example CA,O=Example,C=US";
    c.not_before = 1700000000;  // 2023-11-14T22:13:20Z
    c.not_after = 1709251199;   // 2024-02-29T23:59:59Z
    c.sans = sans;
    c.num_sans = num_sans;
    return c;
}

static void test_server_certificate(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    char *sans[] = {"www.example.com", "IP:192.0.2.1"};
    struct td_cert certs[2] = {make_cert(sans, 2), make_cert(NULL, 0)};
    struct td_cert_chain chain = {.ev = {.frame = 6, .ts_ns = 1705000000LL * 1000000000LL},
                                  .certs = certs, .num_certs = 2, .num_sent = 2};
    tls.is_tls = true;
    tls.server_certs = &chain;
    BOOL_IS(&ctx, "tls.server_certificate.present", true);
    FRAME_IS(&ctx, "tls.server_certificate.frame", 6);
    INT_IS(&ctx, "tls.server_certificate.chain_len", 2);
    STR_IS(&ctx, "tls.server_certificate.subject", "CN=www.example.com,O=Example,C=US");
    STR_IS(&ctx, "tls.server_certificate.issuer", "CN=Example CA,O=Example,C=US");
    BOOL_IS(&ctx, "tls.server_certificate.self_signed", false);
    BOOL_IS(&ctx, "tls.server_certificate.expired", false);
    BOOL_IS(&ctx, "tls.server_certificate.not_yet_valid", false);
    STR_IS(&ctx, "tls.server_certificate.not_after", "2024-02-29T23:59:59Z");
    // no ClientHello/SNI: name matching absent
    ABSENT(&ctx, "tls.server_certificate.name_matches_sni");

    // EKU: none = any use; clientAuth only = not for servers; serverAuth or anyExtendedKeyUsage = fine
    BOOL_IS(&ctx, "tls.server_certificate.has_eku", false);
    BOOL_IS(&ctx, "tls.server_certificate.server_auth", true);
    char *client_only[] = {"clientAuth"};
    certs[0].has_eku_ext = true;
    certs[0].ekus = client_only;
    certs[0].num_ekus = 1;
    BOOL_IS(&ctx, "tls.server_certificate.has_eku", true);
    BOOL_IS(&ctx, "tls.server_certificate.server_auth", false);
    char *both[] = {"clientAuth", "serverAuth"};
    certs[0].ekus = both;
    certs[0].num_ekus = 2;
    BOOL_IS(&ctx, "tls.server_certificate.server_auth", true);
    char *any[] = {"anyExtendedKeyUsage"};
    certs[0].ekus = any;
    certs[0].num_ekus = 1;
    BOOL_IS(&ctx, "tls.server_certificate.server_auth", true);
    certs[0].num_ekus = 0; // extension present but undecodable / empty: no purpose
    BOOL_IS(&ctx, "tls.server_certificate.server_auth", false);
    certs[0].self_signed = true;
    BOOL_IS(&ctx, "tls.server_certificate.self_signed", true);

    // validity at the Certificate frame's capture time; boundaries are inclusive (RFC 5280 §4.1.2.5)
    chain.ev.ts_ns = 1709251199LL * 1000000000LL;
    BOOL_IS(&ctx, "tls.server_certificate.expired", false);
    chain.ev.ts_ns = 1709251199LL * 1000000000LL + 1;
    BOOL_IS(&ctx, "tls.server_certificate.expired", true);
    chain.ev.ts_ns = 1709251200LL * 1000000000LL;
    BOOL_IS(&ctx, "tls.server_certificate.expired", true);
    BOOL_IS(&ctx, "tls.server_certificate.not_yet_valid", false);
    chain.ev.ts_ns = 1700000000LL * 1000000000LL;
    BOOL_IS(&ctx, "tls.server_certificate.not_yet_valid", false);
    chain.ev.ts_ns = 1699999999LL * 1000000000LL + 999999999;
    BOOL_IS(&ctx, "tls.server_certificate.not_yet_valid", true);
    BOOL_IS(&ctx, "tls.server_certificate.expired", false);

    // RFC 3339 at the edges of the representable range
    certs[0].not_after = 0;
    STR_IS(&ctx, "tls.server_certificate.not_after", "1970-01-01T00:00:00Z");
    certs[0].not_after = -1;
    STR_IS(&ctx, "tls.server_certificate.not_after", "1969-12-31T23:59:59Z");
    certs[0].not_after = 253402300799LL;
    STR_IS(&ctx, "tls.server_certificate.not_after", "9999-12-31T23:59:59Z");
    certs[0].not_after = 253402300800LL;
    ABSENT(&ctx, "tls.server_certificate.not_after");

    // an unparsable leaf: leaf facts absent
    certs[0].parse_error = true;
    ABSENT(&ctx, "tls.server_certificate.subject");
    ABSENT(&ctx, "tls.server_certificate.expired");
    ABSENT(&ctx, "tls.server_certificate.server_auth");
    INT_IS(&ctx, "tls.server_certificate.chain_len", 2);
}

/* match: the SNI against a leaf with the given DNS SANs (num_sans 0: subject CN only). -1 = absent. */
static int match(const char *sni, char **sans, uint32_t num_sans, const char *subject)
{
    struct td_tls_facts tls = empty_facts();
    struct td_client_hello ch = make_ch(0x0303, NULL, 0);
    ch.sni = (char *)(uintptr_t)sni;
    struct td_cert cert = make_cert(sans, num_sans);
    cert.subject = (char *)(uintptr_t)subject;
    struct td_cert_chain chain = {.ev = {.frame = 6, .ts_ns = 0}, .certs = &cert, .num_certs = 1, .num_sent = 1};
    tls.is_tls = true;
    tls.client_hellos[0] = &ch;
    tls.num_client_hellos = 1;
    tls.server_certs = &chain;
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    struct td_value v;
    if (!get(&ctx, "tls.server_certificate.name_matches_sni", &v)) {
        return -1;
    }
    return (int)v.i;
}

#define MATCH1(sni, san) match((sni), (char *[]){(san)}, 1, "CN=unrelated.test")

static void test_name_matching(void)
{
    // exact, case-insensitive, trailing dot
    CU_ASSERT_EQUAL(MATCH1("www.example.com", "www.example.com"), 1);
    CU_ASSERT_EQUAL(MATCH1("WWW.Example.COM", "www.example.com"), 1);
    CU_ASSERT_EQUAL(MATCH1("www.example.com.", "www.example.com"), 1);
    CU_ASSERT_EQUAL(MATCH1("www.example.com", "www.example.org"), 0);
    CU_ASSERT_EQUAL(MATCH1("example.com", "www.example.com"), 0);
    CU_ASSERT_EQUAL(MATCH1("www.example.com", "example.com"), 0);
    CU_ASSERT_EQUAL(MATCH1("wwww.example.com", "www.example.com"), 0);
    // wildcard: exactly one whole leftmost label
    CU_ASSERT_EQUAL(MATCH1("www.example.com", "*.example.com"), 1);
    CU_ASSERT_EQUAL(MATCH1("MAIL.EXAMPLE.com", "*.Example.Com"), 1);
    CU_ASSERT_EQUAL(MATCH1("example.com", "*.example.com"), 0);           // no label for '*'
    CU_ASSERT_EQUAL(MATCH1("a.b.example.com", "*.example.com"), 0);       // not across dots
    CU_ASSERT_EQUAL(MATCH1(".example.com", "*.example.com"), 0);          // empty label
    CU_ASSERT_EQUAL(MATCH1("www.example.com", "www.*.com"), 0);           // not leftmost
    CU_ASSERT_EQUAL(MATCH1("www.example.com", "w*.example.com"), 0);      // partial label
    CU_ASSERT_EQUAL(MATCH1("www.example.com", "*w.example.com"), 0);
    CU_ASSERT_EQUAL(MATCH1("www.example.com", "*.*.com"), 0);
    CU_ASSERT_EQUAL(MATCH1("example.com", "*.com"), 0);                   // too broad
    CU_ASSERT_EQUAL(MATCH1("com", "*"), 0);
    CU_ASSERT_EQUAL(MATCH1("www.example.com", "*.example.com."), 1);
    CU_ASSERT_EQUAL(MATCH1("*.example.com", "*.example.com"), 0);         // a '*' in the SNI is no host
    CU_ASSERT_EQUAL(MATCH1("www..example.com", "www..example.com"), 0);
    CU_ASSERT_EQUAL(MATCH1("www.example.com", ""), 0);
    // IP SANs are never matched against a name, nor as text
    CU_ASSERT_EQUAL(MATCH1("192.0.2.1", "IP:192.0.2.1"), 0);
    // with DNS SANs, the CN is ignored (RFC 6125 §6.4.4)
    CU_ASSERT_EQUAL(match("cn.example.com", (char *[]){"www.example.com"}, 1, "CN=cn.example.com"), 0);
    CU_ASSERT_EQUAL(match("b.example.com", (char *[]){"a.example.com", "*.example.com"}, 2, "CN=x"), 1);
    // without DNS SANs (none, or only IP SANs), the subject CN
    CU_ASSERT_EQUAL(match("cn.example.com", NULL, 0, "CN=cn.example.com,O=Example,C=US"), 1);
    CU_ASSERT_EQUAL(match("cn.example.com", (char *[]){"IP:192.0.2.1"}, 1, "CN=cn.example.com"), 1);
    CU_ASSERT_EQUAL(match("x.example.com", NULL, 0, "CN=*.example.com,O=Example"), 1);
    CU_ASSERT_EQUAL(match("cn.example.com", NULL, 0, "O=Example\\, Inc.,CN=cn.example.com"), 1);
    CU_ASSERT_EQUAL(match("cn.example.com", NULL, 0, "CN=other.example.com+UID=cn.example.com"), 0);
    CU_ASSERT_EQUAL(match("cn.example.com", NULL, 0, "O=cn.example.com"), 0);
    CU_ASSERT_EQUAL(match("cn.example.com", NULL, 0, "CN=cn\\2Eexample.com"), 1); // RFC 2253 hex escape
    CU_ASSERT_EQUAL(match("cn.example.com", NULL, 0, ""), 0);
    CU_ASSERT_EQUAL(match("cn.example.com", NULL, 0, NULL), 0);
    // no SNI (or an empty one): absent
    CU_ASSERT_EQUAL(match(NULL, (char *[]){"www.example.com"}, 1, "CN=x"), -1);
    CU_ASSERT_EQUAL(match("", (char *[]){"www.example.com"}, 1, "CN=x"), -1);
}

/* cbc_split: TLS 1.0, cipher suite, the client's first record lengths, encrypt-then-MAC. -1 = absent. */
static int split(uint16_t version, uint16_t cipher, const uint32_t *lens, uint8_t num, bool etm, int64_t *frame)
{
    struct td_tls_facts tls = empty_facts();
    uint16_t exts[] = {0xff01, 22};
    struct td_server_hello sh = make_sh(version, 0, cipher);
    sh.extensions.v = exts;
    sh.extensions.num = etm ? 2 : 1;
    tls.is_tls = true;
    tls.version = version;
    tls.cipher = cipher;
    tls.server_hellos[0] = &sh;
    tls.num_server_hellos = 1;
    tls.first_app_data[TD_ROLE_CLIENT].frame = 10;
    for (uint8_t k = 0; k < num; k++) {
        tls.first_app_data_lens[TD_ROLE_CLIENT][k] = lens[k];
    }
    tls.num_first_app_data_lens[TD_ROLE_CLIENT] = num;
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    struct td_value v;
    *frame = get(&ctx, "tls.cbc_split.frame", &v) ? v.i : 0;
    if (!get(&ctx, "tls.cbc_split", &v)) {
        return -1;
    }
    return (int)v.i;
}

static void test_cbc_split(void)
{
    int64_t frame = 0;
    // TLS_RSA_WITH_AES_128_CBC_SHA (MAC 20, block 16): 1 byte -> ceil(22/16)*16 = 32; 0 bytes -> 32
    CU_ASSERT_EQUAL(split(0x0301, 0x002f, (uint32_t[]){32, 48}, 2, false, &frame), 1);
    CU_ASSERT_EQUAL(frame, 10);
    CU_ASSERT_EQUAL(split(0x0301, 0x002f, (uint32_t[]){48, 48}, 2, false, &frame), 0);
    CU_ASSERT_EQUAL(frame, 0);
    CU_ASSERT_EQUAL(split(0x0301, 0x002f, (uint32_t[]){32}, 1, false, &frame), 0);        // nothing follows
    CU_ASSERT_EQUAL(split(0x0302, 0x002f, (uint32_t[]){32, 48}, 2, false, &frame), 0);    // TLS 1.1: explicit IV
    CU_ASSERT_EQUAL(split(0x0303, 0x002f, (uint32_t[]){32, 48}, 2, false, &frame), 0);
    // samples/tls10-cbc.pcap (tshark: frame 10 carries records of 36 and 52 bytes; the ServerHello has
    // encrypt_then_mac, 22): 0 bytes -> ceil(1/16)*16 + 20 = 36
    CU_ASSERT_EQUAL(split(0x0301, 0x002f, (uint32_t[]){36, 52}, 2, true, &frame), 1);
    CU_ASSERT_EQUAL(split(0x0301, 0x002f, (uint32_t[]){36, 52}, 2, false, &frame), 0);
    CU_ASSERT_EQUAL(split(0x0301, 0x002f, (uint32_t[]){32, 48}, 2, true, &frame), 0);
    // TLS_RSA_WITH_3DES_EDE_CBC_SHA (block 8): 1 + 20 + 1 = 22 -> 24; 0 + 20 + 1 = 21 -> 24
    CU_ASSERT_EQUAL(split(0x0301, 0x000a, (uint32_t[]){24, 40}, 2, false, &frame), 1);
    CU_ASSERT_EQUAL(split(0x0301, 0x000a, (uint32_t[]){32, 40}, 2, false, &frame), 0);
    // TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5 (MAC 16, block 8): 1 + 16 + 1 = 18 -> 24; 0 -> 17 -> 24
    CU_ASSERT_EQUAL(split(0x0301, 0x0006, (uint32_t[]){24, 40}, 2, false, &frame), 1);
    // TLS_RSA_WITH_AES_128_CBC_SHA256 (MAC 32): 1 + 32 + 1 = 34 -> 48; 0 -> 33 -> 48
    CU_ASSERT_EQUAL(split(0x0301, 0x003c, (uint32_t[]){48, 64}, 2, false, &frame), 1);
    CU_ASSERT_EQUAL(split(0x0301, 0x003c, (uint32_t[]){32, 64}, 2, false, &frame), 0);
    // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 (MAC 48): 1 + 48 + 1 = 50 -> 64
    CU_ASSERT_EQUAL(split(0x0301, 0xc028, (uint32_t[]){64, 80}, 2, false, &frame), 1);
    CU_ASSERT_EQUAL(split(0x0301, 0xc028, (uint32_t[]){48, 80}, 2, false, &frame), 0);
    // TLS_RSA_WITH_CAMELLIA_128_CBC_SHA (block 16)
    CU_ASSERT_EQUAL(split(0x0301, 0x0041, (uint32_t[]){32, 48}, 2, false, &frame), 1);
    // a stream cipher (TLS_RSA_WITH_RC4_128_MD5) never splits; an unknown suite neither
    CU_ASSERT_EQUAL(split(0x0301, 0x0004, (uint32_t[]){17, 48}, 2, false, &frame), 0);
    CU_ASSERT_EQUAL(split(0x0301, 0x0fff, (uint32_t[]){32, 48}, 2, false, &frame), 0);
}

static void test_cbc_first_lens(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    tls.num_first_app_data_lens[TD_ROLE_CLIENT] = 4;
    tls.first_app_data_lens[TD_ROLE_CLIENT][0] = 36;
    tls.first_app_data_lens[TD_ROLE_CLIENT][1] = 52;
    tls.first_app_data_lens[TD_ROLE_CLIENT][2] = 16408;
    tls.first_app_data_lens[TD_ROLE_CLIENT][3] = 4294967295u;
    tls.num_first_app_data_lens[TD_ROLE_SERVER] = 1;
    tls.first_app_data_lens[TD_ROLE_SERVER][0] = 99;
    STR_IS(&ctx, "tls.app_data.client_first_lens", "36,52,16408,4294967295");
    tls.num_first_app_data_lens[TD_ROLE_CLIENT] = 1;
    STR_IS(&ctx, "tls.app_data.client_first_lens", "36");
}

static void test_renegotiation(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    tls.is_tls = true;
    struct td_client_hello ch = make_ch(0x0303, NULL, 0);
    struct td_server_hello sh = make_sh(0x0303, 0, 0xc02f);
    tls.client_hellos[0] = &ch;
    tls.num_client_hellos = 1;
    tls.server_hellos[0] = &sh;
    tls.num_server_hellos = 1;
    BOOL_IS(&ctx, "tls.renegotiation.present", false);
    INT_IS(&ctx, "tls.renegotiation.count", 0);
    ABSENT(&ctx, "tls.renegotiation.by");
    ABSENT(&ctx, "tls.renegotiation.frame");
    BOOL_IS(&ctx, "tls.renegotiation.secure", false);

    // server-initiated (HelloRequest in frame 20, then the client's ClientHello in 22)
    tls.hs_records_after_done[TD_ROLE_SERVER] = 1;
    tls.first_hs_after_done[TD_ROLE_SERVER].frame = 20;
    tls.hs_records_after_done[TD_ROLE_CLIENT] = 3;
    tls.first_hs_after_done[TD_ROLE_CLIENT].frame = 22;
    tls.plaintext_hs_after_done[TD_ROLE_SERVER] = 1;
    tls.hello_requests = 1;
    BOOL_IS(&ctx, "tls.renegotiation.present", true);
    STR_IS(&ctx, "tls.renegotiation.by", "server");
    FRAME_IS(&ctx, "tls.renegotiation.frame", 20);
    INT_IS(&ctx, "tls.renegotiation.count", 4);
    INT_IS(&ctx, "tls.renegotiation.plaintext", 1);
    INT_IS(&ctx, "tls.hello_request.count", 1);
    // client-initiated
    tls.first_hs_after_done[TD_ROLE_CLIENT].frame = 18;
    STR_IS(&ctx, "tls.renegotiation.by", "client");
    FRAME_IS(&ctx, "tls.renegotiation.frame", 18);
    tls.hs_records_after_done[TD_ROLE_SERVER] = 0;
    tls.first_hs_after_done[TD_ROLE_CLIENT].frame = 30;
    STR_IS(&ctx, "tls.renegotiation.by", "client");
    FRAME_IS(&ctx, "tls.renegotiation.frame", 30);

    // RFC 5746: client RI or SCSV, and server RI
    ch.has_scsv_renegotiation = true;
    BOOL_IS(&ctx, "tls.renegotiation.secure", false);
    sh.has_renegotiation_info = true;
    BOOL_IS(&ctx, "tls.renegotiation.secure", true);
    BOOL_IS(&ctx, "tls.server_hello.secure_renegotiation", true);
    ch.has_scsv_renegotiation = false;
    BOOL_IS(&ctx, "tls.renegotiation.secure", false);
    ch.has_renegotiation_info = true;
    BOOL_IS(&ctx, "tls.renegotiation.secure", true);
}

static void test_cert_request_and_client_cert(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    tls.is_tls = true;
    BOOL_IS(&ctx, "tls.certificate_request.present", false);
    INT_IS(&ctx, "tls.certificate_request.count", 0);
    ABSENT(&ctx, "tls.certificate_request.ca_list_len");
    ABSENT(&ctx, "tls.certificate_request.ca_list_well_formed");
    BOOL_IS(&ctx, "tls.client_certificate.present", false);
    ABSENT(&ctx, "tls.client_certificate.count");

    struct td_cert_request cr;
    memset(&cr, 0, sizeof(cr));
    cr.ev.frame = 6;
    cr.ca_list_len = 17000;
    cr.num_ca_names = 120;
    tls.cert_request = &cr;
    tls.cert_requests_seen = 1;
    BOOL_IS(&ctx, "tls.certificate_request.present", true);
    FRAME_IS(&ctx, "tls.certificate_request.frame", 6);
    INT_IS(&ctx, "tls.certificate_request.count", 1);
    INT_IS(&ctx, "tls.certificate_request.ca_list_len", 17000);
    INT_IS(&ctx, "tls.certificate_request.num_ca_names", 120);
    BOOL_IS(&ctx, "tls.certificate_request.ca_list_well_formed", false);
    cr.ca_list_well_formed = true;
    BOOL_IS(&ctx, "tls.certificate_request.ca_list_well_formed", true);

    struct td_cert_chain cc = {.ev = {.frame = 8, .ts_ns = 0}, .num_sent = 0};
    tls.client_certs = &cc;
    BOOL_IS(&ctx, "tls.client_certificate.present", true);
    FRAME_IS(&ctx, "tls.client_certificate.frame", 8);
    INT_IS(&ctx, "tls.client_certificate.count", 0);
}

static void test_anomaly_fields(void)
{
    struct td_tls_facts tls = empty_facts();
    struct td_fact_ctx ctx = {NULL, &tls, NULL, NULL};
    struct td_anomaly_entry entries[2] = {
        {.ev = {.frame = 4, .ts_ns = 0}, .role = TD_ROLE_CLIENT, .code = TD_ANOM_TRAILING_BYTES},
        {.ev = {.frame = 7, .ts_ns = 0}, .role = TD_ROLE_SERVER, .code = TD_ANOM_CERT_REQUEST_MALFORMED},
    };
    tls.is_tls = true;
    INT_IS(&ctx, "tls.anomalies", 0);
    ABSENT(&ctx, "tls.anomaly.frame");
    BOOL_IS(&ctx, "tls.anomaly.trailing_bytes", false);
    tls.anomalies = entries;
    tls.num_anomalies = 2;
    tls.anomalies_seen = 3;
    INT_IS(&ctx, "tls.anomalies", 3);
    FRAME_IS(&ctx, "tls.anomaly.frame", 4);
    BOOL_IS(&ctx, "tls.anomaly.trailing_bytes", true);
    BOOL_IS(&ctx, "tls.anomaly.certificate_request_malformed", true);
    BOOL_IS(&ctx, "tls.anomaly.record_truncated", false);
    BOOL_IS(&ctx, "resource.conn_arena_full", false);
    // every anomaly field answers false-or-true, never absent, when facts exist
    for (int a = 1; a < TD_ANOM_COUNT; a++) {
        struct td_value v;
        bool want = a == TD_ANOM_TRAILING_BYTES || a == TD_ANOM_CERT_REQUEST_MALFORMED;
        CU_ASSERT_TRUE_FATAL(get(&ctx, td_anomaly_name((enum td_anomaly)a), &v));
        CU_ASSERT_EQUAL(v.i, want ? 1 : 0);
    }
}

/* --- server scope and the server table --- */

static struct td_tls_facts tls_conn(uint16_t version, enum td_outcome outcome)
{
    struct td_tls_facts f = empty_facts();
    f.is_tls = true;
    f.version = version;
    f.outcome = outcome;
    return f;
}

/* Connections are folded in as they end: a long connection that started first but ended last still gives the
 * server's first frames (first connection, first CertificateRequest, first TLS 1.3 ClientHello without PHA). */
static void test_server_table_first_frames(void)
{
    struct td_server_table *t = td_server_table_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    struct td_flow_info late = flow_v4(1, 443), early = flow_v4(1, 443);
    late.first_frame = 40;
    early.first_frame = 3;
    struct td_cert_request cr_late, cr_early;
    memset(&cr_late, 0, sizeof(cr_late));
    memset(&cr_early, 0, sizeof(cr_early));
    cr_late.ev.frame = 44;
    cr_early.ev.frame = 7;
    struct td_client_hello ch_late = make_ch(0x0303, NULL, 0), ch_early = make_ch(0x0303, NULL, 0);
    ch_late.ev.frame = 41;
    ch_early.ev.frame = 4;
    struct td_tls_facts a = tls_conn(0x0304, TD_OUTCOME_ESTABLISHED);
    a.cert_request = &cr_late;
    a.client_hellos[0] = &ch_late;
    a.num_client_hellos = 1;
    struct td_tls_facts b = a;
    b.cert_request = &cr_early;
    b.client_hellos[0] = &ch_early;
    CU_ASSERT_PTR_NOT_NULL_FATAL(td_server_table_add(t, &late, &a));
    const struct td_server_facts *s = td_server_table_add(t, &early, &b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->connections, 2);
    CU_ASSERT_EQUAL(s->first_frame, 3);
    CU_ASSERT_EQUAL(s->first_cert_request_frame, 7);
    CU_ASSERT_EQUAL(s->first_tls13_without_pha_frame, 4);
    td_server_table_free(t);
}

/* Ciphers and failure reasons per server: counted per distinct value, the ninth distinct one in "other". */
static void test_server_table_ciphers_and_failures(void)
{
    struct td_server_table *t = td_server_table_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    struct td_flow_info f = flow_v4(1, 443);
    const struct td_server_facts *s = NULL;
    for (uint16_t i = 0; i < 10; i++) {
        struct td_tls_facts a = tls_conn(0x0303, TD_OUTCOME_ESTABLISHED);
        a.cipher = (uint16_t)(0xc02f + (i < 2 ? 0 : i)); /* 0xc02f twice, then eight more distinct suites */
        s = td_server_table_add(t, &f, &a);
    }
    struct td_tls_facts fa = tls_conn(0x0303, TD_OUTCOME_FAILED_ALERT);
    fa.outcome_alert = 70;
    s = td_server_table_add(t, &f, &fa);
    s = td_server_table_add(t, &f, &fa);
    fa.outcome_alert = -1; /* encrypted */
    s = td_server_table_add(t, &f, &fa);
    struct td_tls_facts rst = tls_conn(0, TD_OUTCOME_RESET);
    s = td_server_table_add(t, &f, &rst);
    struct td_tls_facts inc = tls_conn(0, TD_OUTCOME_INCOMPLETE);
    s = td_server_table_add(t, &f, &inc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->num_ciphers, TD_SERVER_MAX_CIPHERS);
    CU_ASSERT_EQUAL(s->ciphers[0].value, 0xc02f);
    CU_ASSERT_EQUAL(s->ciphers[0].count, 2);
    CU_ASSERT_EQUAL(s->ciphers_other, 1);
    CU_ASSERT_EQUAL(s->failed_alert, 3);
    CU_ASSERT_EQUAL(s->failed_reset, 1);
    CU_ASSERT_EQUAL(s->incomplete, 1);
    CU_ASSERT_EQUAL(s->failed_closed, 0);
    CU_ASSERT_EQUAL(s->num_alerts, 2);
    CU_ASSERT_EQUAL(s->alerts[0].value, 70);
    CU_ASSERT_EQUAL(s->alerts[0].count, 2);
    CU_ASSERT_EQUAL(s->alerts[1].value, -1);
    CU_ASSERT_EQUAL(s->failed, 4); /* failed = alert + reset + closed; incomplete is not a failure */
    td_server_table_free(t);
}

static void test_server_table_aggregate(void)
{
    struct td_server_table *t = td_server_table_new(16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    struct td_flow_info f1 = flow_v4(1, 443);
    f1.first_frame = 3;
    struct td_flow_info f2 = flow_v4(1, 443);
    f2.first_frame = 40;

    // connection 1: TLS 1.2, DHE with a short Yc, failed with an alert; CertificateRequest; SNI
    struct td_tls_facts a = tls_conn(0x0303, TD_OUTCOME_FAILED_ALERT);
    struct td_client_hello ch1 = make_ch(0x0303, NULL, 0);
    ch1.sni = "www.example.com";
    ch1.ev.frame = 4;
    a.client_hellos[0] = &ch1;
    a.num_client_hellos = 1;
    a.kx.kind = TD_KX_DHE;
    a.kx.has_ske = true;
    a.kx.ske_ev.frame = 6;
    a.kx.dh_p_len = 256;
    a.kx.dh_ys_len = 256;
    a.kx.has_dh_yc = true;
    a.kx.dh_yc_len = 255;
    a.kx.cke_ev.frame = 8;
    struct td_cert_request cr;
    memset(&cr, 0, sizeof(cr));
    cr.ev.frame = 6;
    a.cert_request = &cr;
    const struct td_server_facts *s = td_server_table_add(t, &f1, &a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    // connection 2: TLS 1.3 without post_handshake_auth, established, renegotiation-like post-handshake records
    struct td_tls_facts b = tls_conn(0x0304, TD_OUTCOME_ESTABLISHED);
    uint16_t v13[] = {0x0304};
    struct td_client_hello ch2 = make_ch(0x0303, v13, 1);
    ch2.sni = "other.example.com";
    ch2.ev.frame = 41;
    b.client_hellos[0] = &ch2;
    b.num_client_hellos = 1;
    b.hs_records_after_done[TD_ROLE_SERVER] = 1;
    const struct td_server_facts *s2 = td_server_table_add(t, &f2, &b);
    CU_ASSERT_PTR_EQUAL(s2, s);

    // connection 3: not TLS
    struct td_tls_facts c = empty_facts();
    CU_ASSERT_PTR_EQUAL(td_server_table_add(t, &f2, &c), s);
    // connection 4: no facts at all
    CU_ASSERT_PTR_EQUAL(td_server_table_add(t, &f2, NULL), s);

    CU_ASSERT_EQUAL(td_server_table_count(t), 1);
    CU_ASSERT_STRING_EQUAL(s->name, "192.0.2.1:443");
    CU_ASSERT_STRING_EQUAL(s->sni, "www.example.com");
    CU_ASSERT_EQUAL(s->port, 443);
    CU_ASSERT_EQUAL(s->connections, 4);
    CU_ASSERT_EQUAL(s->tls_connections, 2);
    CU_ASSERT_EQUAL(s->established, 1);
    CU_ASSERT_EQUAL(s->failed, 1);
    CU_ASSERT_EQUAL(s->max_version, 0x0304);
    CU_ASSERT_EQUAL(s->min_version, 0x0303);
    CU_ASSERT_EQUAL(s->version_counts[3], 1);
    CU_ASSERT_EQUAL(s->version_counts[4], 1);
    CU_ASSERT_EQUAL(s->version_counts[0] + s->version_counts[1] + s->version_counts[2], 0);
    CU_ASSERT_EQUAL(s->cert_requests, 1);
    CU_ASSERT_EQUAL(s->first_cert_request_frame, 6);
    CU_ASSERT_EQUAL(s->tls13_connections, 1);
    CU_ASSERT_EQUAL(s->tls13_without_pha, 1);
    CU_ASSERT_EQUAL(s->first_tls13_without_pha_frame, 41);
    CU_ASSERT_EQUAL(s->dhe_handshakes, 1);
    CU_ASSERT_EQUAL(s->dhe_failed, 1);
    CU_ASSERT_EQUAL(s->dhe_short_key, 1);
    CU_ASSERT_EQUAL(s->dhe_failed_short_key, 1);
    CU_ASSERT_EQUAL(s->first_dhe_failed_short_key_frame, 8); // the ClientKeyExchange carrying the short Yc
    CU_ASSERT_EQUAL(s->renegotiations, 1);
    CU_ASSERT_EQUAL(s->first_frame, 3);

    // the server fields read the same
    struct td_fact_ctx ctx = {NULL, NULL, NULL, s};
    STR_IS(&ctx, "server.name", "192.0.2.1:443");
    STR_IS(&ctx, "server.sni", "www.example.com");
    INT_IS(&ctx, "server.connections", 4);
    INT_IS(&ctx, "server.tls_connections", 2);
    INT_IS(&ctx, "server.established", 1);
    INT_IS(&ctx, "server.failed", 1);
    INT_IS(&ctx, "server.max_version", 0x0304);
    INT_IS(&ctx, "server.min_version", 0x0303);
    STR_IS(&ctx, "server.max_version_name", "TLS 1.3");
    BOOL_IS(&ctx, "server.requests_client_cert", true);
    INT_IS(&ctx, "server.cert_requests", 1);
    FRAME_IS(&ctx, "server.first_cert_request_frame", 6);
    INT_IS(&ctx, "server.tls13_connections", 1);
    INT_IS(&ctx, "server.tls13_without_pha", 1);
    FRAME_IS(&ctx, "server.first_tls13_without_pha_frame", 41);
    INT_IS(&ctx, "server.dhe_handshakes", 1);
    INT_IS(&ctx, "server.dhe_failed", 1);
    INT_IS(&ctx, "server.dhe_short_key", 1);
    INT_IS(&ctx, "server.dhe_failed_short_key", 1);
    FRAME_IS(&ctx, "server.first_dhe_failed_short_key_frame", 8);
    INT_IS(&ctx, "server.renegotiations", 1);
    FRAME_IS(&ctx, "server.first_frame", 3);
    td_server_table_free(t);
}

static void test_server_table_dhe_rules(void)
{
    struct td_server_table *t = td_server_table_new(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    struct td_flow_info fl = flow_v4(2, 443);
    // DHE negotiated but no ServerKeyExchange: not a DHE handshake
    struct td_tls_facts a = tls_conn(0x0303, TD_OUTCOME_RESET);
    a.kx.kind = TD_KX_DHE;
    const struct td_server_facts *s = td_server_table_add(t, &fl, &a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->dhe_handshakes, 0);
    CU_ASSERT_EQUAL(s->failed, 1);
    // short Ys, established: short but not failed
    struct td_tls_facts b = tls_conn(0x0303, TD_OUTCOME_ESTABLISHED);
    b.kx.kind = TD_KX_DHE;
    b.kx.has_ske = true;
    b.kx.ske_ev.frame = 50;
    b.kx.dh_p_len = 128;
    b.kx.dh_ys_len = 127;
    s = td_server_table_add(t, &fl, &b);
    CU_ASSERT_EQUAL(s->dhe_handshakes, 1);
    CU_ASSERT_EQUAL(s->dhe_short_key, 1);
    CU_ASSERT_EQUAL(s->dhe_failed, 0);
    CU_ASSERT_EQUAL(s->dhe_failed_short_key, 0);
    CU_ASSERT_EQUAL(s->first_dhe_failed_short_key_frame, 0);
    // full-length values, closed before completion: failed, not short
    struct td_tls_facts c = tls_conn(0x0303, TD_OUTCOME_CLOSED);
    c.kx = b.kx;
    c.kx.dh_ys_len = 128;
    s = td_server_table_add(t, &fl, &c);
    CU_ASSERT_EQUAL(s->dhe_handshakes, 2);
    CU_ASSERT_EQUAL(s->dhe_failed, 1);
    CU_ASSERT_EQUAL(s->dhe_short_key, 1);
    CU_ASSERT_EQUAL(s->dhe_failed_short_key, 0);
    // short Ys and incomplete (not a failure)
    struct td_tls_facts d = tls_conn(0x0303, TD_OUTCOME_INCOMPLETE);
    d.kx = b.kx;
    s = td_server_table_add(t, &fl, &d);
    CU_ASSERT_EQUAL(s->dhe_failed, 1);
    CU_ASSERT_EQUAL(s->dhe_failed_short_key, 0);
    // short Ys, failed: the ServerKeyExchange frame is the evidence
    struct td_tls_facts e = tls_conn(0x0303, TD_OUTCOME_FAILED_ALERT);
    e.kx = b.kx;
    s = td_server_table_add(t, &fl, &e);
    CU_ASSERT_EQUAL(s->dhe_failed_short_key, 1);
    CU_ASSERT_EQUAL(s->first_dhe_failed_short_key_frame, 50);
    // TLS 1.3 with post_handshake_auth offered: not counted as without; without a kept ClientHello: unknown
    struct td_tls_facts g = tls_conn(0x7f17, TD_OUTCOME_ESTABLISHED);
    struct td_client_hello ch = make_ch(0x0303, NULL, 0);
    ch.has_post_handshake_auth = true;
    g.client_hellos[0] = &ch;
    g.num_client_hellos = 1;
    s = td_server_table_add(t, &fl, &g);
    struct td_tls_facts h = tls_conn(0x0304, TD_OUTCOME_RESUMED);
    s = td_server_table_add(t, &fl, &h);
    CU_ASSERT_EQUAL(s->tls13_connections, 2);
    CU_ASSERT_EQUAL(s->tls13_without_pha, 0);
    CU_ASSERT_EQUAL(s->established, 3);
    CU_ASSERT_EQUAL(s->max_version, 0x0304); // draft-23 ranks as TLS 1.3
    CU_ASSERT_EQUAL(s->min_version, 0x0303);
    CU_ASSERT_EQUAL(s->sni[0], '\0');
    struct td_fact_ctx ctx = {NULL, NULL, NULL, s};
    ABSENT(&ctx, "server.sni");
    ABSENT(&ctx, "server.first_cert_request_frame");
    BOOL_IS(&ctx, "server.requests_client_cert", false);
    td_server_table_free(t);
}

static void test_server_table_keys(void)
{
    struct td_server_table *t = td_server_table_new(3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    struct td_tls_facts f = tls_conn(0x0303, TD_OUTCOME_ESTABLISHED);
    struct td_flow_info a = flow_v4(1, 443);
    struct td_flow_info b = flow_v4(1, 8443); // same address, other port: another server
    const struct td_server_facts *sa = td_server_table_add(t, &a, &f);
    const struct td_server_facts *sb = td_server_table_add(t, &b, &f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
    CU_ASSERT_EQUAL(td_server_table_count(t), 2);
    CU_ASSERT_STRING_EQUAL(td_server_table_at(t, 0)->name, "192.0.2.1:443");
    CU_ASSERT_STRING_EQUAL(td_server_table_at(t, 1)->name, "192.0.2.1:8443");

    // roles swapped: the TLS server is the TCP client side (198.51.100.9:50000)
    struct td_tls_facts sw = f;
    sw.roles_swapped = true;
    const struct td_server_facts *sc = td_server_table_add(t, &a, &sw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    CU_ASSERT_STRING_EQUAL(sc->name, "198.51.100.9:50000");
    CU_ASSERT_EQUAL(sc->port, 50000);
    CU_ASSERT_EQUAL(td_server_table_count(t), 3);

    // full (max_servers 3): a fourth server is dropped; known servers still aggregate
    struct td_flow_info d = flow_v4(4, 443);
    CU_ASSERT_PTR_NULL(td_server_table_add(t, &d, &f));
    CU_ASSERT_EQUAL(td_server_table_dropped(t), 1);
    CU_ASSERT_EQUAL(td_server_table_count(t), 3);
    CU_ASSERT_PTR_NULL(td_server_table_at(t, 3));
    sa = td_server_table_add(t, &a, &f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
    CU_ASSERT_EQUAL(sa->connections, 2);

    // IPv6 name
    td_server_table_clear(t);
    CU_ASSERT_EQUAL(td_server_table_count(t), 0);
    CU_ASSERT_EQUAL(td_server_table_dropped(t), 0);
    CU_ASSERT_PTR_NULL(td_server_table_at(t, 0));
    struct td_flow_info v6 = flow_v4(1, 443);
    memset(&v6.server, 0, sizeof(v6.server));
    v6.server.family = 6;
    v6.server.bytes[0] = 0x20;
    v6.server.bytes[1] = 0x01;
    v6.server.bytes[2] = 0x0d;
    v6.server.bytes[3] = 0xb8;
    v6.server.bytes[15] = 1;
    const struct td_server_facts *s6 = td_server_table_add(t, &v6, &f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s6);
    CU_ASSERT_STRING_EQUAL(s6->name, "[2001:db8::1]:443");
    CU_ASSERT_EQUAL(s6->connections, 1); // cleared: counting starts again
    sa = td_server_table_add(t, &a, &f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
    CU_ASSERT_EQUAL(sa->connections, 1);
    CU_ASSERT_EQUAL(td_server_table_count(t), 2);

    CU_ASSERT_PTR_NULL(td_server_table_add(t, NULL, &f));
    CU_ASSERT_PTR_NULL(td_server_table_add(NULL, &a, &f));
    td_server_table_free(t);
    td_server_table_free(NULL);

    // max_servers 0 tracks nothing
    t = td_server_table_new(0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NULL(td_server_table_add(t, &a, &f));
    CU_ASSERT_EQUAL(td_server_table_dropped(t), 1);
    td_server_table_free(t);
}

/* Many servers: the index grows past its first size and every server keeps its own facts, in order. */
static void test_server_table_many(void)
{
    enum { N = 1000 };
    struct td_server_table *t = td_server_table_new(N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    struct td_tls_facts f = tls_conn(0x0303, TD_OUTCOME_ESTABLISHED);
    for (int round = 0; round < 2; round++) {
        for (uint32_t k = 0; k < N; k++) {
            struct td_flow_info fl = flow_v4((uint8_t)(k & 0xff), (uint16_t)(1000 + k / 256));
            CU_ASSERT_PTR_NOT_NULL_FATAL(td_server_table_add(t, &fl, &f));
        }
    }
    CU_ASSERT_EQUAL(td_server_table_count(t), N);
    struct td_flow_info extra = flow_v4(1, 9);
    CU_ASSERT_PTR_NULL(td_server_table_add(t, &extra, &f));
    for (uint32_t k = 0; k < N; k++) {
        const struct td_server_facts *s = td_server_table_at(t, k);
        char want[64];
        snprintf(want, sizeof(want), "192.0.2.%u:%u", (unsigned)(k & 0xff), (unsigned)(1000 + k / 256));
        CU_ASSERT_STRING_EQUAL(s->name, want);
        CU_ASSERT_EQUAL(s->connections, 2);
    }
    td_server_table_clear(t);
    struct td_flow_info fl = flow_v4(1, 1000);
    CU_ASSERT_EQUAL(td_server_table_add(t, &fl, &f)->connections, 1);
    td_server_table_free(t);
}

static CU_TestInfo tests[] = {
    {"registry_hygiene", test_registry_hygiene},
    {"registry_contract", test_registry_contract},
    {"registry_anomalies", test_registry_anomalies},
    {"null_and_empty", test_null_and_empty},
    {"alert_fields", test_alert_fields},
    {"fatal_alert", test_fatal_alert},
    {"conn_fields", test_conn_fields},
    {"versions_offered", test_versions_offered},
    {"client_hello_flags", test_client_hello_flags},
    {"dhe", test_dhe},
    {"server_certificate", test_server_certificate},
    {"name_matching", test_name_matching},
    {"cbc_split", test_cbc_split},
    {"cbc_first_lens", test_cbc_first_lens},
    {"renegotiation", test_renegotiation},
    {"cert_request_and_client_cert", test_cert_request_and_client_cert},
    {"anomaly_fields", test_anomaly_fields},
    {"server_table_aggregate", test_server_table_aggregate},
    {"server_table_ciphers_and_failures", test_server_table_ciphers_and_failures},
    {"server_table_first_frames", test_server_table_first_frames},
    {"server_table_dhe_rules", test_server_table_dhe_rules},
    {"server_table_keys", test_server_table_keys},
    {"server_table_many", test_server_table_many},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("dissect.fields", tests)
