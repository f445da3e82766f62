/* SPDX-License-Identifier: MIT */
/* test_events.c: the NDJSON events (reports/events.c) on real captures run through reader, flow table,
 * dissector and the built-in rules as cli/pipeline.c runs them, and on hand-built facts for the corner cases.
 * Expected values come from tshark 4.0 and openssl on the same files (quoted next to each), the ECS 8.17 field
 * reference and RFC 4514 (DN escapes); never from running our code. */
#include "../testlib.h"
#include "json_at.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../../../capture/decode.h"
#include "../../../capture/flow.h"
#include "../../../capture/reader.h"
#include "../../../dissect/server.h"
#include "../../../dissect/tls.h"
#include "../../../reports/events.h"

/* --- a small pipeline: capture file -> connection events --- */

struct run {
    struct td_limits limits;
    struct td_ruleset *rules;
    struct td_server_table *servers;
    struct td_json_ctx ctx;
    const char *input;
    json_t *events;      /* array of connection events, in the order the flows closed */
    json_t *findings;    /* of the connection being closed */
};

static void *on_open(void *ctx, const struct td_flow_info *info)
{
    (void)info;
    struct run *run = ctx;
    return td_tls_conn_new(&run->limits, NULL);
}

static void on_data(void *ctx, void *user, int dir, const uint8_t *data, size_t len, uint64_t off, uint64_t frame,
                    int64_t ts_ns)
{
    (void)ctx;
    if (user != NULL && td_tls_conn_is_tracking(user)) {
        td_tls_conn_data(user, dir, data, len, off, frame, ts_ns);
    }
}

static void on_gap(void *ctx, void *user, int dir, uint64_t off, uint64_t len, uint64_t frame, int64_t ts_ns)
{
    (void)ctx;
    if (user != NULL && td_tls_conn_is_tracking(user)) {
        td_tls_conn_gap(user, dir, off, len, frame, ts_ns);
    }
}

static void on_tcp_flags(void *ctx, void *user, int dir, uint8_t flags, uint64_t frame, int64_t ts_ns)
{
    (void)ctx;
    if (user != NULL) {
        td_tls_conn_tcp_flags(user, dir, flags, frame, ts_ns);
    }
}

/* One finding per rule per connection, as the report keeps them (td_report_add_finding). */
static void on_finding(void *ctx, const struct td_finding *f)
{
    struct run *run = ctx;
    size_t i;
    json_t *existing;
    json_array_foreach(run->findings, i, existing) {
        if (strcmp(json_string_value(json_object_get(existing, "rule")), f->rule->id) == 0) {
            td_json_merge_finding(&run->ctx, existing, f);
            return;
        }
    }
    td_json_append(&run->ctx, run->findings, td_json_finding(&run->ctx, f));
}

static void on_close(void *ctx, void *user, const struct td_flow_info *info)
{
    struct run *run = ctx;
    if (user == NULL) {
        return;
    }
    td_tls_conn_finish(user, info->last_frame, info->last_ts_ns);
    const struct td_tls_facts *facts = td_tls_conn_facts(user);
    const struct td_server_facts *server = td_server_table_add(run->servers, info, facts);
    struct td_fact_ctx fc = {.flow = info, .tls = facts, .server = server};
    run->findings = json_array();
    td_ruleset_eval(run->rules, TD_EVAL_CONNECTION, &fc, on_finding, run);
    for (uint32_t i = 0; facts->alerts != NULL && i < facts->num_alerts; i++) {
        fc.alert = &facts->alerts[i];
        td_ruleset_eval(run->rules, TD_EVAL_ALERT, &fc, on_finding, run);
    }
    td_json_sort_findings(run->findings);
    json_t *ev = td_event_connection(&run->ctx, run->input, 0, info, facts, run->findings);
    td_json_append(&run->ctx, run->events, ev);
    json_decref(run->findings);
    run->findings = NULL;
    td_tls_conn_free(user);
}

/* run_file returns the connection events of one capture (NULL when it cannot be read); *failures gets the
 * builder failures counted while making them. */
static json_t *run_file(const char *path, size_t *failures)
{
    struct run run;
    memset(&run, 0, sizeof(run));
    run.limits = td_limits_default();
    run.input = path;
    run.events = json_array();
    run.rules = td_ruleset_new();
    run.servers = td_server_table_new(64);
    struct td_error err = {0};
    if (run.rules == NULL || run.servers == NULL || td_ruleset_add_builtin(run.rules, &err) != TD_OK) {
        fprintf(stderr, "setup failed: %s\n", err.msg);
        td_ruleset_free(run.rules);
        td_server_table_free(run.servers);
        json_decref(run.events);
        return NULL;
    }
    struct td_flow_callbacks cb = {.ctx = &run, .on_open = on_open, .on_data = on_data, .on_gap = on_gap,
                                   .on_tcp_flags = on_tcp_flags, .on_close = on_close};
    struct td_flow_table *flows = td_flow_table_new(&run.limits, &cb, true);
    struct td_reader *reader = NULL;
    if (flows == NULL || td_reader_open(path, &reader, &err) != TD_OK) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        td_flow_table_free(flows);
        td_ruleset_free(run.rules);
        td_server_table_free(run.servers);
        json_decref(run.events);
        return NULL;
    }
    struct td_frame frame;
    while (td_reader_next(reader, &frame, &err) == TD_READ_FRAME) {
        struct td_segment seg;
        if (td_decode_frame(frame.linktype, frame.data, frame.caplen, &seg) == TD_DECODE_TCP) {
            td_flow_table_add(flows, &seg, frame.frame, frame.ts_ns);
        }
    }
    td_flow_table_flush(flows);
    td_reader_free(reader);
    td_flow_table_free(flows);
    td_ruleset_free(run.rules);
    td_server_table_free(run.servers);
    *failures = run.ctx.failures;
    return run.events;
}


/* has_null: any null anywhere (the events leave unknown facts out instead). */
static bool has_null(json_t *v)
{
    if (json_is_null(v)) {
        return true;
    }
    const char *key;
    json_t *child;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, key, child) {
            if (has_null(child)) {
                fprintf(stderr, "null at %s\n", key);
                return true;
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child) {
            if (has_null(child)) {
                return true;
            }
        }
    }
    return false;
}

/* one_line: the event as the writer will write it (json_dumpb, JSON_COMPACT) is one line of valid JSON. */
static bool one_line(json_t *ev)
{
    size_t need = json_dumpb(ev, NULL, 0, JSON_COMPACT);
    if (need == 0) {
        return false;
    }
    char *buf = malloc(need);
    if (buf == NULL || json_dumpb(ev, buf, need, JSON_COMPACT) != need) {
        free(buf);
        return false;
    }
    bool ok = memchr(buf, '\n', need) == NULL && memchr(buf, '\r', need) == NULL;
    json_t *back = json_loadb(buf, need, 0, NULL);
    ok = ok && back != NULL && json_equal(back, ev);
    json_decref(back);
    free(buf);
    return ok;
}

/* The event.kind rule: "alert" exactly when a finding of severity error is attached. */
static bool kind_matches_findings(json_t *ev)
{
    bool has_error = false;
    size_t i;
    json_t *f;
    json_array_foreach(at(ev, "tlsdiag.findings"), i, f) {
        has_error = has_error || strcmp(s_at(f, "severity"), "error") == 0;
    }
    return strcmp(s_at(ev, "event.kind"), has_error ? "alert" : "event") == 0;
}

static void check_common(json_t *ev)
{
    CU_ASSERT_STRING_EQUAL(s_at(ev, "ecs.version"), TD_EVENT_ECS_VERSION);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.dataset"), "tlsdiag.connection");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.module"), "tlsdiag");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.category.0"), "network");
    CU_ASSERT_EQUAL(json_array_size(at(ev, "event.type")), 2);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.type.0"), "connection");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.type.1"), "end");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "network.transport"), "tcp");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "@timestamp"), s_at(ev, "event.start"));
    CU_ASSERT_PTR_NOT_NULL(at(ev, "message"));
    CU_ASSERT_TRUE(kind_matches_findings(ev));
    CU_ASSERT_FALSE(has_null(ev));
    CU_ASSERT_TRUE(one_line(ev));
}

/* --- real captures --- */

static void test_tls12_ecdhe(void)
{
    size_t failures = 99;
    json_t *events = run_file(TD_SAMPLES_DIR "/tls12-ecdhe.pcap", &failures);
    CU_ASSERT_PTR_NOT_NULL_FATAL(events);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL_FATAL(json_array_size(events), 1);
    json_t *ev = json_array_get(events, 0);
    check_common(ev);
    // The flow ends at the second FIN, frame 16 (tshark: FIN 15 server, 16 client); the flow table closes it
    // there and the bare ACK of frame 17 opens nothing (capture/flow.c). tshark -e frame.time_epoch: frame 1
    // 1795555369.134038000, frame 16 1795555369.151757000.
    CU_ASSERT_STRING_EQUAL(s_at(ev, "@timestamp"), "2026-11-24T21:22:49.134038000Z");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.end"), "2026-11-24T21:22:49.151757000Z");
    CU_ASSERT_EQUAL(i_at(ev, "event.duration"), 17719000);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.outcome"), "success");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.action"), "tls-handshake-completed");
    // tshark -Y tls.handshake.type==1 -e tcp.srcport -e tcp.dstport -e ip.src: 45610 -> 4431, 127.0.0.1
    CU_ASSERT_STRING_EQUAL(s_at(ev, "source.ip"), "127.0.0.1");
    CU_ASSERT_EQUAL(i_at(ev, "source.port"), 45610);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "destination.ip"), "127.0.0.1");
    CU_ASSERT_EQUAL(i_at(ev, "destination.port"), 4431);
    // tshark -e tcp.srcport -e tcp.len summed per side over frames 1-16: 45610 9 packets 329 bytes, 4431 7
    // packets 1605 bytes (its 8th, frame 17, is the ACK after the close)
    CU_ASSERT_EQUAL(i_at(ev, "source.packets"), 9);
    CU_ASSERT_EQUAL(i_at(ev, "source.bytes"), 329);
    CU_ASSERT_EQUAL(i_at(ev, "destination.packets"), 7);
    CU_ASSERT_EQUAL(i_at(ev, "destination.bytes"), 1605);
    CU_ASSERT_EQUAL(i_at(ev, "network.packets"), 16);
    CU_ASSERT_EQUAL(i_at(ev, "network.bytes"), 1934);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "network.type"), "ipv4");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "network.protocol"), "tls");
    // tshark -Y tls.handshake.type==2 -V: "Cipher Suite: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (0xc02f)"
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.cipher"), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.version"), "1.2");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.version_protocol"), "tls");
    // samples/README.md "curve x25519" (tshark tls.handshake.server_named_curve)
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.curve"), "x25519");
    CU_ASSERT_TRUE(json_is_true(at(ev, "tls.established")));
    CU_ASSERT_TRUE(json_is_false(at(ev, "tls.resumed")));
    // tshark -e tls.handshake.extensions_server_name -e tls.handshake.ja3
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.server_name"), "server.test");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "destination.domain"), "server.test");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.ja3"), "d1f47f694f10b1faf653048918492609");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.supported_ciphers.0"), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    // openssl x509 -in samples/pki/server.pem -noout -subject -issuer -serial -nameopt RFC2253 -fingerprint -sha256
    // -dates; tshark x509ce.dNSName "localhost,server.test"
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.subject.distinguished_name"), "CN=server.test,O=tlsdiag Test");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.subject.common_name.0"), "server.test");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.issuer.distinguished_name"),
                           "CN=tlsdiag Test Root CA,O=tlsdiag Test");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.issuer.common_name.0"), "tlsdiag Test Root CA");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.serial_number"), "1001");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.not_before"), "2026-11-24T21:21:51Z");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.not_after"), "2036-11-21T21:21:51Z");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.not_after"), "2036-11-21T21:21:51Z");
    CU_ASSERT_EQUAL(json_array_size(at(ev, "tls.server.x509.alternative_names")), 2);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.alternative_names.0"), "localhost");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.alternative_names.1"), "server.test");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.x509.public_key_algorithm"), "RSA");
    CU_ASSERT_EQUAL(i_at(ev, "tls.server.x509.public_key_size"), 2048);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.server.hash.sha256"),
                           "3721DED274B0BEE335263933F2BF323F4ED54A329082E8A8F27A685C4C3E11F3");
    CU_ASSERT_PTR_NULL(at(ev, "tls.client.x509")); // no client certificate in this handshake
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.input"), TD_SAMPLES_DIR "/tls12-ecdhe.pcap");
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.connection_id"), 1);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.frames.first"), 1);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.frames.last"), 16);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.outcome.result"), "established");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.outcome.text"), s_at(ev, "message"));
    // close_notify alerts 12 (server) and 14 (client) (samples/README.md): warning close_notify, encrypted here
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.alerts_seen"), 2);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.alerts.0.frame"), 12);
    json_decref(events);
}

static void test_version_mismatch(void)
{
    size_t failures = 99;
    json_t *events = run_file(TD_SAMPLES_DIR "/version-mismatch.pcap", &failures);
    CU_ASSERT_PTR_NOT_NULL_FATAL(events);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL_FATAL(json_array_size(events), 1);
    json_t *ev = json_array_get(events, 0);
    check_common(ev);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.outcome"), "failure");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.action"), "tls-handshake-failed");
    // tshark -e tcp.srcport -e tcp.dstport: client 38008, server 4435; frame 6 alert 70 from 4435
    CU_ASSERT_EQUAL(i_at(ev, "source.port"), 38008);
    CU_ASSERT_EQUAL(i_at(ev, "destination.port"), 4435);
    CU_ASSERT_TRUE(json_is_false(at(ev, "tls.established")));
    CU_ASSERT_PTR_NULL(at(ev, "tls.version"));  // no ServerHello: the version was never negotiated
    CU_ASSERT_PTR_NULL(at(ev, "tls.cipher"));
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.server_name"), "server.test");
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.alerts.0.frame"), 6);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.alerts.0.from"), "server");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.alerts.0.level"), "fatal");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.alerts.0.description"), "protocol_version");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.outcome.result"), "failed_alert");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.outcome.alert.name"), "protocol_version");
    // A failed handshake with an alert is a diagnosis: at least one finding, and rule.* names the first.
    CU_ASSERT_TRUE(json_array_size(at(ev, "tlsdiag.findings")) > 0);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "rule.id"), s_at(ev, "tlsdiag.findings.0.rule"));
    CU_ASSERT_STRING_EQUAL(s_at(ev, "rule.name"), s_at(ev, "tlsdiag.findings.0.title"));
    CU_ASSERT(i_at(ev, "event.severity") >= 1 && i_at(ev, "event.severity") <= 3);
    json_decref(events);
}

static void test_ipv6(void)
{
    const char *path = TD_CORPUS_DIR "/sv-tls12-client-auth-loopback-ipv6.pcap";
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("\n  note: %s absent, IPv6 test skipped\n", path);
        return;
    }
    size_t failures = 99;
    json_t *events = run_file(path, &failures);
    CU_ASSERT_PTR_NOT_NULL_FATAL(events);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL_FATAL(json_array_size(events), 1);
    json_t *ev = json_array_get(events, 0);
    check_common(ev);
    // tshark -Y tls.handshake.type==2 -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport -e
    // tls.handshake.ciphersuite: ::1 ::1 8081 58606 0xc030
    CU_ASSERT_STRING_EQUAL(s_at(ev, "network.type"), "ipv6");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "source.ip"), "::1");
    CU_ASSERT_EQUAL(i_at(ev, "source.port"), 58606);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "destination.ip"), "::1");
    CU_ASSERT_EQUAL(i_at(ev, "destination.port"), 8081);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.cipher"), "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.version"), "1.2");
    // tshark -q -z conv,tcp: 22 frames in the conversation; the second FIN is frame 21 and frame 22 the bare ACK
    // after the close, which the flow table does not count (see test_tls12_ecdhe)
    CU_ASSERT_EQUAL(i_at(ev, "network.packets"), 21);
    // MANIFEST.md: mutual authentication, the client Certificate in frame 9
    CU_ASSERT_PTR_NOT_NULL(at(ev, "tls.client.x509.subject.distinguished_name"));
    json_decref(events);
}

/* --- hand-built facts --- */

/* 2013-11-03T07:45:43Z (date -u -d @1383464743) */
#define T0 1383464743000000000LL

static void set_v4(struct td_addr *a, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3)
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    a->bytes[0] = a0;
    a->bytes[1] = a1;
    a->bytes[2] = a2;
    a->bytes[3] = a3;
}

static struct td_flow_info make_info(void)
{
    struct td_flow_info info;
    memset(&info, 0, sizeof(info));
    info.id = 7;
    set_v4(&info.client, 192, 0, 2, 1);
    set_v4(&info.server, 198, 51, 100, 7);
    info.client_port = 51234;
    info.server_port = 443;
    info.first_frame = 3;
    info.last_frame = 9;
    info.first_ts_ns = T0;
    info.last_ts_ns = T0 + 1500000;
    info.packets[TD_DIR_C2S] = 4;
    info.packets[TD_DIR_S2C] = 3;
    info.payload_bytes[TD_DIR_C2S] = 100;
    info.payload_bytes[TD_DIR_S2C] = 2000;
    info.end = TD_FLOW_END_FIN;
    return info;
}

static void facts_init(struct td_tls_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->last_hs_msg = -1;
    f->outcome_alert = -1;
    f->outcome_after_msg = -1;
}

static char subject_escaped[] = "CN=Acme\\, Inc.+CN=second,O=Acme\\2C Ltd,CN=third";
static char issuer_plain[] = "O=No Common Name";
static char san_ip[] = "IP:192.0.2.9";
static char san_dns[] = "*.example.com";
static char *sans[] = {san_ip, san_dns};
static char sni_newline[] = "a\nb\"c";
static uint16_t ciphers[] = {0x1a1a, 0xc02f, 0xfafa};

static void test_hand_built(void)
{
    struct td_flow_info info = make_info();
    struct td_tls_facts f;
    facts_init(&f);
    struct td_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    ch.sni = sni_newline;
    ch.ciphers = (struct td_u16_list){ciphers, 3};
    struct td_cert cert;
    memset(&cert, 0, sizeof(cert));
    cert.subject = subject_escaped;
    cert.issuer = issuer_plain;
    cert.not_before = 0;
    cert.not_after = 253402300799; // 9999-12-31T23:59:59Z (date -u -d @253402300799)
    cert.sans = sans;
    cert.num_sans = 2;
    (void)snprintf(cert.sha256, sizeof(cert.sha256), "%s",
                   "00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ab");
    struct td_cert_chain chain = {.certs = &cert, .num_certs = 1, .num_sent = 1};
    f.is_tls = true;
    f.roles_swapped = true; // the TLS client is the TCP server side
    f.client_hellos[0] = &ch;
    f.num_client_hellos = f.client_hellos_seen = 1;
    f.client_certs = &chain;
    f.version = 0x7f16; // TLS 1.3 draft-22
    f.outcome = TD_OUTCOME_INCOMPLETE;
    f.outcome_ev = (struct td_evidence){.frame = 9, .ts_ns = info.last_ts_ns};

    struct td_json_ctx ctx = {0};
    json_t *findings = json_pack("[{s:s, s:i, s:s, s:s, s:s, s:[s,s]}, {s:s, s:s}]", "rule", "tls.example.one",
                                 "revision", 3, "severity", "error", "title", "First title", "explanation",
                                 "Why it matters.", "references", "RFC 8446 §4.1",
                                 "https://www.rfc-editor.org/rfc/rfc8446",
                                 "rule", "tls.example.two", "severity", "info");
    CU_ASSERT_PTR_NOT_NULL_FATAL(findings);
    json_t *ev = td_event_connection(&ctx, NULL, 2, &info, &f, findings);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_EQUAL(ctx.failures, 0);
    CU_ASSERT_FALSE(has_null(ev));
    CU_ASSERT_TRUE(one_line(ev));
    // @timestamp: T0 = 2013-11-03T07:45:43Z; duration 1.5 ms
    CU_ASSERT_STRING_EQUAL(s_at(ev, "@timestamp"), "2013-11-03T07:45:43.000000000Z");
    CU_ASSERT_EQUAL(i_at(ev, "event.duration"), 1500000);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.outcome"), "unknown");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.action"), "tls-handshake-incomplete");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.kind"), "alert");
    CU_ASSERT_EQUAL(i_at(ev, "event.severity"), 3);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "rule.id"), "tls.example.one");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "rule.version"), "3");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "rule.name"), "First title");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "rule.description"), "Why it matters.");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "rule.reference"), "https://www.rfc-editor.org/rfc/rfc8446"); // the first URL
    CU_ASSERT_EQUAL(json_array_size(at(ev, "tlsdiag.findings")), 2);
    // Roles swapped: source is the TLS client, i.e. the flow's TCP server, with its direction's counters.
    CU_ASSERT_STRING_EQUAL(s_at(ev, "source.ip"), "198.51.100.7");
    CU_ASSERT_EQUAL(i_at(ev, "source.port"), 443);
    CU_ASSERT_EQUAL(i_at(ev, "source.packets"), 3);
    CU_ASSERT_EQUAL(i_at(ev, "source.bytes"), 2000);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "destination.ip"), "192.0.2.1");
    CU_ASSERT_EQUAL(i_at(ev, "destination.port"), 51234);
    CU_ASSERT_TRUE(json_is_true(at(ev, "tlsdiag.roles_swapped")));
    CU_ASSERT_PTR_NULL(at(ev, "tlsdiag.input")); // no input name given
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.input_index"), 2);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.version"), "1.3");
    CU_ASSERT_PTR_NULL(at(ev, "tls.cipher")); // not negotiated
    CU_ASSERT_STRING_EQUAL(s_at(ev, "network.protocol"), "tls");
    // The newline and quote of the SNI stay inside the string: \xNN escapes (td_json_str), one line.
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.server_name"), "a\\x0ab\"c");
    // GREASE 0x1a1a and 0xfafa (RFC 8701 §2) are left out of the offered ciphers.
    CU_ASSERT_EQUAL(json_array_size(at(ev, "tls.client.supported_ciphers")), 1);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.supported_ciphers.0"), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    // RFC 4514 §2.4: "\," is an escaped comma; a multi-valued RDN ("+") holds a second CN; hex escapes stay.
    json_t *cn = at(ev, "tls.client.x509.subject.common_name");
    CU_ASSERT_EQUAL(json_array_size(cn), 3);
    CU_ASSERT_STRING_EQUAL(s_at(cn, "0"), "Acme, Inc.");
    CU_ASSERT_STRING_EQUAL(s_at(cn, "1"), "second");
    CU_ASSERT_STRING_EQUAL(s_at(cn, "2"), "third");
    CU_ASSERT_PTR_NULL(at(ev, "tls.client.x509.issuer.common_name")); // the issuer has no CN
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.x509.issuer.distinguished_name"), "O=No Common Name");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.x509.not_before"), "1970-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.x509.not_after"), "9999-12-31T23:59:59Z");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.x509.alternative_names.0"), "192.0.2.9");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.x509.alternative_names.1"), "*.example.com");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tls.client.hash.sha256"),
                           "00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00AB");
    CU_ASSERT_PTR_NULL(at(ev, "tls.client.x509.serial_number"));
    CU_ASSERT_PTR_NULL(at(ev, "tls.server"));
    json_decref(ev);
    json_decref(findings);
}

static void test_not_tls(void)
{
    struct td_flow_info info = make_info();
    info.app_protocol = "HTTP";
    struct td_json_ctx ctx = {0};
    json_t *ev = td_event_connection(&ctx, "eth0", 0, &info, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_EQUAL(ctx.failures, 0);
    check_common(ev);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.action"), "tcp-connection-no-tls");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.outcome"), "unknown");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.kind"), "event");
    CU_ASSERT_EQUAL(i_at(ev, "event.severity"), 0);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "network.protocol"), "http"); // ECS: lower case
    CU_ASSERT_STRING_EQUAL(s_at(ev, "source.ip"), "192.0.2.1");
    CU_ASSERT_EQUAL(i_at(ev, "source.packets"), 4);
    CU_ASSERT_PTR_NULL(at(ev, "tls"));
    CU_ASSERT_PTR_NULL(at(ev, "rule"));
    CU_ASSERT_PTR_NULL(at(ev, "tlsdiag.findings"));
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.input"), "eth0");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.outcome.result"), "not_tls");
    json_decref(ev);

    // nDPI found nothing: no network.protocol at all (unknown is left out).
    info.app_protocol = "Unknown";
    ev = td_event_connection(&ctx, "eth0", 0, &info, NULL, NULL);
    CU_ASSERT_PTR_NULL(at(ev, "network.protocol"));
    CU_ASSERT_EQUAL(ctx.failures, 0);
    json_decref(ev);
}

static void test_stats(void)
{
    uint64_t rss = td_event_rss_bytes();
    CU_ASSERT(rss > 0); // Linux: /proc/self/statm
    struct td_event_stats s = {
        .time_ns = T0, .input = "eth0", .live = true, .packets = 1000, .bytes = 800000, .has_drops = true,
        .packets_dropped_kernel = 5, .packets_dropped_interface = 2, .flows_active = 12, .flows_total = 40,
        .flows_evicted = 1, .connections = 28, .findings = {7, 3, 2}, .rss_bytes = rss, .uptime_ns = 60000000000LL,
    };
    struct td_json_ctx ctx = {0};
    json_t *ev = td_event_stats(&ctx, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_EQUAL(ctx.failures, 0);
    CU_ASSERT_FALSE(has_null(ev));
    CU_ASSERT_TRUE(one_line(ev));
    CU_ASSERT_STRING_EQUAL(s_at(ev, "@timestamp"), "2013-11-03T07:45:43.000000000Z");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "ecs.version"), TD_EVENT_ECS_VERSION);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.kind"), "metric");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.category.0"), "network");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.type.0"), "info");
    CU_ASSERT_EQUAL(json_array_size(at(ev, "event.type")), 1);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.action"), "statistics");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.dataset"), "tlsdiag.stats");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "observer.ingress.interface.name"), "eth0");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.input"), "eth0");
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.packets"), 1000);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.bytes"), 800000);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.packets_dropped.kernel"), 5);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.packets_dropped.interface"), 2);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.flows.active"), 12);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.flows.total"), 40);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.flows.evicted"), 1);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.connections"), 28);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.findings.info"), 7);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.findings.warning"), 3);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.findings.error"), 2);
    CU_ASSERT_EQUAL((uint64_t)i_at(ev, "tlsdiag.stats.memory.rss_bytes"), rss);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.stats.uptime_ns"), 60000000000LL);
    json_decref(ev);

    // A capture file: no drop counters, no interface, unknown memory -> those fields are absent.
    s.live = false;
    s.input = "a.pcap";
    s.has_drops = false;
    s.rss_bytes = 0;
    ev = td_event_stats(&ctx, &s);
    CU_ASSERT_PTR_NULL(at(ev, "observer"));
    CU_ASSERT_PTR_NULL(at(ev, "tlsdiag.stats.packets_dropped"));
    CU_ASSERT_PTR_NULL(at(ev, "tlsdiag.stats.memory"));
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.input"), "a.pcap");
    CU_ASSERT_EQUAL(ctx.failures, 0);
    json_decref(ev);
}

static void test_input(void)
{
    struct td_json_ctx ctx = {0};
    struct td_input_summary in = {.path = "b.pcap", .format = "pcap"};
    json_t *ev = td_event_input(&ctx, T0, TD_EVENT_INPUT_STARTED, 1, &in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.action"), "input-started");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.dataset"), "tlsdiag.input");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "file.path"), "b.pcap");
    CU_ASSERT_PTR_NULL(at(ev, "event.outcome"));
    CU_ASSERT_PTR_NULL(at(ev, "tlsdiag.frames"));
    CU_ASSERT_TRUE(one_line(ev));
    json_decref(ev);

    in.frames = 13;
    in.bytes = 4000;
    in.first_ts_ns = T0;
    in.last_ts_ns = T0 + 1000000000;
    in.tcp_segments = 12;
    in.error = "b.pcap: the file ends inside frame 14.";
    ev = td_event_input(&ctx, T0 + 2000000000, TD_EVENT_INPUT_FINISHED, 1, &in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.action"), "input-finished");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.outcome"), "failure");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "error.message"), "b.pcap: the file ends inside frame 14.");
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.frames"), 13);
    CU_ASSERT_EQUAL(i_at(ev, "tlsdiag.decode.tcp_segments"), 12);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "tlsdiag.last_time"), "2013-11-03T07:45:44.000000000Z");
    CU_ASSERT_STRING_EQUAL(s_at(ev, "@timestamp"), "2013-11-03T07:45:45.000000000Z");
    CU_ASSERT_FALSE(has_null(ev));
    CU_ASSERT_TRUE(one_line(ev));
    json_decref(ev);

    in.error = NULL;
    ev = td_event_input(&ctx, T0, TD_EVENT_INPUT_FINISHED, 1, &in);
    CU_ASSERT_STRING_EQUAL(s_at(ev, "event.outcome"), "success");
    CU_ASSERT_PTR_NULL(at(ev, "error"));
    CU_ASSERT_EQUAL(ctx.failures, 0);
    json_decref(ev);
}

static CU_TestInfo tests[] = {
    {"tls12-ecdhe.pcap: established, values from tshark", test_tls12_ecdhe},
    {"version-mismatch.pcap: failure, alert, rule", test_version_mismatch},
    {"IPv6 capture from the corpus", test_ipv6},
    {"hand-built: roles, DN escapes, GREASE, one line", test_hand_built},
    {"not TLS: nDPI protocol, no tls object", test_not_tls},
    {"statistics event", test_stats},
    {"input started/finished events", test_input},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("events", tests)
