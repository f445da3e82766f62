/* SPDX-License-Identifier: MIT */
/* test_report.c: the JSON report and the summary from hand-built connection facts: values, names, ordering,
 * TLS roles, outcome sentences, RFC 3339 times, escaping, schema validity (docs/report.schema.json via
 * tests/schema/validate.py), the atomic write and its failure paths, and allocation failure inside jansson.
 * Expected names come from the IANA registries (RFC 8446 §4.2, §6; RFC 5246 §7.2; RFC 8422), times from date(1). */
#include "../testlib.h"
#include "json_at.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../reports/json_tree.h"
#include "../../../reports/report.h"

/* 2013-11-03T07:45:43Z (date -u -d @1383464743) */
#define T0 1383464743000000000LL
#define MS 1000000LL

static char tmpdir[] = "/tmp/td_test_report.XXXXXX";

static int suite_init(void)
{
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static void path_in_tmp(char *buf, size_t len, const char *name)
{
    (void)snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void set_v4(struct td_addr *a, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3)
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    a->bytes[0] = a0;
    a->bytes[1] = a1;
    a->bytes[2] = a2;
    a->bytes[3] = a3;
}

static struct td_flow_info make_info(uint64_t id, uint64_t first_frame, uint64_t last_frame)
{
    struct td_flow_info info;
    memset(&info, 0, sizeof(info));
    info.id = id;
    set_v4(&info.client, 192, 0, 2, 1);
    set_v4(&info.server, 198, 51, 100, 7);
    info.client_port = 51234;
    info.server_port = 443;
    info.saw_syn = info.saw_synack = true;
    info.first_frame = first_frame;
    info.last_frame = last_frame;
    info.first_ts_ns = T0 + (int64_t)first_frame * MS;
    info.last_ts_ns = T0 + (int64_t)last_frame * MS;
    info.packets[0] = 10;
    info.packets[1] = 8;
    info.payload_bytes[0] = 1000;
    info.payload_bytes[1] = 5000;
    info.syn_frame = first_frame;
    info.synack_frame = first_frame + 1;
    info.app_protocol = "TLS";
    info.end = TD_FLOW_END_FIN;
    return info;
}

static struct td_evidence ev(uint64_t frame)
{
    return (struct td_evidence){.frame = frame, .ts_ns = T0 + (int64_t)frame * MS};
}

static void facts_init(struct td_tls_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->is_tls = true;
    f->last_hs_msg = -1;
    f->outcome_alert = -1;
    f->outcome_after_msg = -1;
}

/* --- connection 1: established TLS 1.2, ECDHE-RSA, two-certificate chain (frames 20..40) --- */

static uint16_t ch12_ciphers[] = {0x0a0a, 0xc02f, 0xc030, 0x009c};
static uint16_t ch12_exts[] = {0x0000, 0x000a, 0x000b, 0x000d, 0xff01};
static uint16_t ch12_groups[] = {0x001d, 0x0017};
static uint16_t ch12_sigalgs[] = {0x0401, 0x0804};
static uint16_t ch12_pf[] = {0};
static char ch12_sni[] = "www.example.com";
static char alpn_h2[] = "h2";
static char alpn_http11[] = "http/1.1";
static char *ch12_alpn[] = {alpn_h2, alpn_http11};
static uint16_t sh12_exts[] = {0xff01, 0x000b};
static char leaf_subject[] = "CN=www.example.com,O=Example";
static char ca_subject[] = "CN=Example CA,O=Example";
static char leaf_serial[] = "0a1b2c";
static char san1[] = "www.example.com";
static char san2[] = "IP:192.0.2.1";
static char *leaf_sans[] = {san1, san2};
static char eku1[] = "serverAuth";
static char *leaf_ekus[] = {eku1};
static char sigalg[] = "sha256WithRSAEncryption";

static void conn_established(struct td_flow_info *info, struct td_tls_facts *f, struct td_client_hello *ch,
                             struct td_server_hello *sh, struct td_cert_chain *chain, struct td_cert certs[2],
                             struct td_event tl[6])
{
    *info = make_info(1, 20, 40);
    facts_init(f);
    memset(ch, 0, sizeof(*ch));
    ch->ev = ev(23);
    ch->record_version = 0x0301;
    ch->legacy_version = 0x0303;
    ch->session_id_len = 32;
    ch->ciphers = (struct td_u16_list){ch12_ciphers, 4};
    ch->extensions = (struct td_u16_list){ch12_exts, 5};
    ch->groups = (struct td_u16_list){ch12_groups, 2};
    ch->sig_algs = (struct td_u16_list){ch12_sigalgs, 2};
    ch->ec_point_formats = (struct td_u16_list){ch12_pf, 1};
    ch->sni = ch12_sni;
    ch->alpn = ch12_alpn;
    ch->num_alpn = 2;
    ch->compression_methods_len = 1;
    ch->has_renegotiation_info = true;
    memset(sh, 0, sizeof(*sh));
    sh->ev = ev(25);
    sh->record_version = 0x0303;
    sh->legacy_version = 0x0303;
    sh->cipher = 0xc02f;
    sh->extensions = (struct td_u16_list){sh12_exts, 2};
    sh->has_renegotiation_info = true;
    memset(certs, 0, 2 * sizeof(certs[0]));
    certs[0].der_len = 1200;
    (void)snprintf(certs[0].sha256, sizeof(certs[0].sha256), "%064d", 7);
    certs[0].subject = leaf_subject;
    certs[0].issuer = ca_subject;
    certs[0].serial = leaf_serial;
    certs[0].not_before = 1700000000;  // 2023-11-14T22:13:20Z
    certs[0].not_after = 1893456000;   // 2030-01-01T00:00:00Z
    certs[0].sans = leaf_sans;
    certs[0].num_sans = 2;
    certs[0].ekus = leaf_ekus;
    certs[0].num_ekus = 1;
    certs[0].has_eku_ext = true;
    (void)snprintf(certs[0].key_type, sizeof(certs[0].key_type), "RSA");
    certs[0].key_bits = 2048;
    certs[0].sig_alg = sigalg;
    certs[1].der_len = 900;
    certs[1].subject = ca_subject;
    certs[1].issuer = ca_subject;
    certs[1].self_signed = true;
    certs[1].is_ca = true;
    certs[1].not_before = 1700000000;
    certs[1].not_after = 1893456000;
    (void)snprintf(certs[1].key_type, sizeof(certs[1].key_type), "EC");
    certs[1].key_bits = 256;
    memset(chain, 0, sizeof(*chain));
    chain->ev = ev(26);
    chain->certs = certs;
    chain->num_certs = 2;
    chain->num_sent = 2;
    chain->total_len = 2106;

    f->client_hellos[0] = ch;
    f->num_client_hellos = f->client_hellos_seen = 1;
    f->server_hellos[0] = sh;
    f->num_server_hellos = f->server_hellos_seen = 1;
    f->version = 0x0303;
    f->cipher = 0xc02f;
    f->cipher_known = true;
    f->server_certs = chain;
    f->kx.kind = TD_KX_ECDHE;
    f->kx.has_ske = true;
    f->kx.ske_ev = ev(27);
    f->kx.ec_curve_type = 3;
    f->kx.ec_group = 0x001d;
    f->kx.ec_server_point_len = 32;
    f->kx.ske_sig_alg = 0x0804;
    f->kx.ske_sig_len = 256;
    f->kx.has_cke = true;
    f->kx.cke_ev = ev(29);
    f->kx.ec_client_point_len = 32;
    f->ccs[0] = ev(29);
    f->ccs[1] = ev(31);
    f->encrypted_from[0] = ev(29);
    f->encrypted_from[1] = ev(31);
    f->finished[0] = ev(29);
    f->finished[1] = ev(31);
    f->handshake_done = ev(31);
    f->first_app_data[0] = ev(32);
    f->first_app_data[1] = ev(33);
    f->last_hs_msg = TD_HS_FINISHED;
    f->last_hs_role = TD_ROLE_SERVER;
    f->counts[0].records[2] = 3;
    f->counts[0].records[3] = 4;
    f->counts[1].records[2] = 5;
    f->app_data_bytes[0] = 400;
    tl[0] = (struct td_event){.ev = ev(20), .role = TD_ROLE_CLIENT, .kind = TD_EV_TCP_SYN};
    tl[1] = (struct td_event){.ev = ev(23), .role = TD_ROLE_CLIENT, .kind = TD_EV_HANDSHAKE,
                              .detail = TD_HS_CLIENT_HELLO, .len = 512};
    tl[2] = (struct td_event){.ev = ev(25), .role = TD_ROLE_SERVER, .kind = TD_EV_HANDSHAKE,
                              .detail = TD_HS_SERVER_HELLO, .len = 80};
    tl[3] = (struct td_event){.ev = ev(26), .role = TD_ROLE_SERVER, .kind = TD_EV_HANDSHAKE,
                              .detail = TD_HS_CERTIFICATE, .len = 2109};
    tl[4] = (struct td_event){.ev = ev(29), .role = TD_ROLE_CLIENT, .kind = TD_EV_CHANGE_CIPHER_SPEC};
    tl[5] = (struct td_event){.ev = ev(30), .role = TD_ROLE_SERVER, .kind = TD_EV_GAP, .detail = 1460};
    f->timeline = tl;
    f->num_events = 6;
    f->events_seen = 9;
    f->outcome = TD_OUTCOME_ESTABLISHED;
    f->outcome_ev = ev(31);
    f->outcome_role = TD_ROLE_SERVER;
}

/* --- connection 2: fatal handshake_failure (40) from the server right after the ClientHello (frames 3..6) --- */

static void conn_failed(struct td_flow_info *info, struct td_tls_facts *f, struct td_client_hello *ch,
                        struct td_alert *alert, struct td_anomaly_entry *an)
{
    *info = make_info(2, 3, 7);
    info->end = TD_FLOW_END_RST;
    info->rst_frame[1] = 7;
    facts_init(f);
    memset(ch, 0, sizeof(*ch));
    ch->ev = ev(5);
    ch->record_version = 0x0301;
    ch->legacy_version = 0x0303;
    ch->ciphers = (struct td_u16_list){ch12_ciphers, 4};
    ch->anomaly = TD_ANOM_TRAILING_BYTES;
    f->client_hellos[0] = ch;
    f->num_client_hellos = f->client_hellos_seen = 1;
    *alert = (struct td_alert){.ev = ev(6), .role = TD_ROLE_SERVER, .level = 2, .description = 40,
                               .after_msg = TD_HS_CLIENT_HELLO};
    f->alerts = alert;
    f->num_alerts = f->alerts_seen = 1;
    *an = (struct td_anomaly_entry){.ev = ev(5), .role = TD_ROLE_CLIENT, .code = TD_ANOM_TRAILING_BYTES};
    f->anomalies = an;
    f->num_anomalies = f->anomalies_seen = 1;
    f->last_hs_msg = TD_HS_CLIENT_HELLO;
    f->outcome = TD_OUTCOME_FAILED_ALERT;
    f->outcome_ev = ev(6);
    f->outcome_role = TD_ROLE_SERVER;
    f->outcome_alert = 40;
    f->outcome_after_msg = TD_HS_CLIENT_HELLO;
}

/* --- connection 3 (input 1): TLS 1.3 with x25519 --- */

static uint16_t ch13_versions[] = {0x1a1a, 0x0304, 0x0303};
static uint16_t ch13_ciphers[] = {0x1301, 0x1302};

static void conn_tls13(struct td_flow_info *info, struct td_tls_facts *f, struct td_client_hello *ch,
                       struct td_server_hello *sh, struct td_key_share_entry *ks)
{
    *info = make_info(1, 1, 12);
    info->end = TD_FLOW_END_CAPTURE_END;
    facts_init(f);
    memset(ch, 0, sizeof(*ch));
    ch->ev = ev(4);
    ch->record_version = 0x0301;
    ch->legacy_version = 0x0303;
    ch->ciphers = (struct td_u16_list){ch13_ciphers, 2};
    ch->supported_versions = (struct td_u16_list){ch13_versions, 3};
    *ks = (struct td_key_share_entry){.group = 0x001d, .key_len = 32};
    ch->key_shares = ks;
    ch->num_key_shares = 1;
    memset(sh, 0, sizeof(*sh));
    sh->ev = ev(6);
    sh->record_version = 0x0303;
    sh->legacy_version = 0x0303;
    sh->selected_version = 0x0304;
    sh->cipher = 0x1301;
    sh->key_share_group = 0x001d;
    sh->key_share_len = 32;
    f->client_hellos[0] = ch;
    f->num_client_hellos = f->client_hellos_seen = 1;
    f->server_hellos[0] = sh;
    f->num_server_hellos = f->server_hellos_seen = 1;
    f->version = 0x0304;
    f->cipher = 0x1301;
    f->cipher_known = true;
    f->kx.kind = TD_KX_TLS13;
    f->handshake_done = ev(9);
    f->outcome = TD_OUTCOME_ESTABLISHED;
    f->outcome_ev = ev(9);
    f->outcome_role = TD_ROLE_CLIENT;
}

/* --- connection 4: roles swapped: the TCP client (SYN sender, port 443) is the TLS server --- */

static void conn_swapped(struct td_flow_info *info, struct td_tls_facts *f, struct td_client_hello *ch)
{
    *info = make_info(4, 50, 60);
    set_v4(&info->client, 203, 0, 113, 5);
    info->client_port = 443;
    set_v4(&info->server, 203, 0, 113, 9);
    info->server_port = 40000;
    info->packets[0] = 3;  // TCP client = TLS server
    info->packets[1] = 11; // TCP server = TLS client
    facts_init(f);
    f->roles_swapped = true;
    memset(ch, 0, sizeof(*ch));
    ch->ev = ev(53);
    ch->legacy_version = 0x0303;
    f->client_hellos[0] = ch;
    f->num_client_hellos = f->client_hellos_seen = 1;
    f->last_hs_msg = TD_HS_CLIENT_HELLO;
    f->outcome = TD_OUTCOME_INCOMPLETE;
    f->outcome_ev = ev(60);
    f->outcome_role = TD_ROLE_CLIENT;
    f->outcome_after_msg = TD_HS_CLIENT_HELLO;
}

/* --- connection 5: wire strings that need escaping (already escaped by dissect, plus raw bytes) --- */

static char esc_sni[] = "q\"uote\\x00<tag>&";    // printable ASCII with JSON specials
static char esc_alpn0[] = "\xff\x01raw";          // not escaped: the report's backstop must fix it
static char *esc_alpn[] = {esc_alpn0};

static void conn_escapes(struct td_flow_info *info, struct td_tls_facts *f, struct td_client_hello *ch)
{
    *info = make_info(5, 70, 71);
    facts_init(f);
    memset(ch, 0, sizeof(*ch));
    ch->ev = ev(70);
    ch->legacy_version = 0x0303;
    ch->sni = esc_sni;
    ch->alpn = esc_alpn;
    ch->num_alpn = 1;
    f->client_hellos[0] = ch;
    f->num_client_hellos = f->client_hellos_seen = 1;
    f->outcome = TD_OUTCOME_CLOSED;
    f->outcome_ev = ev(71);
    f->outcome_role = TD_ROLE_CLIENT;
    f->outcome_after_msg = TD_HS_CLIENT_HELLO;
}

/* Builds the full report into path (summary to sum if non-NULL). Returns finish's result. */
static enum td_err build_report(const char *path, FILE *sum, bool include_non_tls, struct td_error *err)
{
    struct td_report_options opts = {
        .json_path = path, .summary = sum, .include_non_tls = include_non_tls, .tool_version = "0.1.0-test"};
    struct td_report *r = td_report_new(&opts);
    if (r == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "td_report_new failed");
    }
    struct td_flow_info info;
    struct td_tls_facts f;
    struct td_client_hello ch;
    struct td_server_hello sh;
    struct td_cert_chain chain;
    struct td_cert certs[2];
    struct td_event tl[6];
    struct td_alert alert;
    struct td_anomaly_entry an;
    struct td_key_share_entry ks;

    // Added out of order: the report must sort by (input, first frame).
    conn_established(&info, &f, &ch, &sh, &chain, certs, tl);
    td_report_add_connection(r, 0, &info, &f);
    conn_tls13(&info, &f, &ch, &sh, &ks);
    td_report_add_connection(r, 1, &info, &f);
    conn_failed(&info, &f, &ch, &alert, &an);
    td_report_add_connection(r, 0, &info, &f);
    conn_swapped(&info, &f, &ch);
    td_report_add_connection(r, 0, &info, &f);
    conn_escapes(&info, &f, &ch);
    td_report_add_connection(r, 0, &info, &f);
    // A TCP connection without TLS: no facts at all.
    info = make_info(6, 10, 11);
    info.app_protocol = "HTTP";
    td_report_add_connection(r, 0, &info, NULL);

    static const uint32_t lts0[] = {1};
    static const uint32_t lts1[] = {1, 113};
    struct td_input_summary in0 = {.path = "a.pcapng", .format = "pcapng", .linktypes = lts0, .num_linktypes = 1,
                                   .frames = 100, .bytes = 65000, .first_ts_ns = T0 + MS, .last_ts_ns = T0 + 100 * MS,
                                   .tcp_segments = 90, .not_ip = 10};
    struct td_input_summary in1 = {.path = "b.pcap", .format = "pcap", .linktypes = lts1, .num_linktypes = 2,
                                   .frames = 12, .bytes = 4000, .first_ts_ns = T0 + MS, .last_ts_ns = T0 + 12 * MS,
                                   .tcp_segments = 12, .error = "b.pcap: the file ends inside frame 13."};
    td_report_add_input(r, &in0);
    td_report_add_input(r, &in1);
    struct td_flow_stats stats = {.flows_total = 6, .flows_active_max = 3, .segments = 102};
    struct td_limits limits = td_limits_default();
    enum td_err rc = td_report_finish(r, &stats, &limits, err);
    td_report_free(r);
    return rc;
}

static json_t *load(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "json_load_file %s: %s (line %d)\n", path, jerr.text, jerr.line);
    }
    return root;
}


static void test_values(void)
{
    char path[256];
    path_in_tmp(path, sizeof(path), "values.json");
    struct td_error err = {0};
    CU_ASSERT_EQUAL_FATAL(build_report(path, NULL, true, &err), TD_OK);
    json_t *root = load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);

    CU_ASSERT_STRING_EQUAL(s_at(root, "tool.name"), "tlsdiag");
    CU_ASSERT_STRING_EQUAL(s_at(root, "tool.version"), "0.1.0-test");
    CU_ASSERT_EQUAL(json_array_size(at(root, "inputs")), 2);
    CU_ASSERT_STRING_EQUAL(s_at(root, "inputs.0.path"), "a.pcapng");
    CU_ASSERT_EQUAL(i_at(root, "inputs.0.link_types.0.value"), 1);
    CU_ASSERT_EQUAL(i_at(root, "inputs.1.link_types.1.value"), 113);
    CU_ASSERT_STRING_EQUAL(s_at(root, "inputs.0.first_time"), "2013-11-03T07:45:43.001000000Z");
    CU_ASSERT_EQUAL(i_at(root, "inputs.0.decode.not_ip"), 10);
    CU_ASSERT_TRUE(json_is_null(at(root, "inputs.0.error")));
    CU_ASSERT_STRING_EQUAL(s_at(root, "inputs.1.error"), "b.pcap: the file ends inside frame 13.");

    // Totals count all six connections, listed or not.
    CU_ASSERT_EQUAL(i_at(root, "totals.connections"), 6);
    CU_ASSERT_EQUAL(i_at(root, "totals.tls_connections"), 5);
    CU_ASSERT_EQUAL(i_at(root, "totals.by_outcome.established"), 2);
    CU_ASSERT_EQUAL(i_at(root, "totals.by_outcome.failed_alert"), 1);
    CU_ASSERT_EQUAL(i_at(root, "totals.by_outcome.incomplete"), 1);
    CU_ASSERT_EQUAL(i_at(root, "totals.by_outcome.closed"), 1);
    CU_ASSERT_EQUAL(i_at(root, "totals.by_outcome.not_tls"), 1);
    CU_ASSERT_EQUAL(i_at(root, "totals.connections_with_anomalies"), 1);
    CU_ASSERT_EQUAL(i_at(root, "totals.flows_active_max"), 3);
    CU_ASSERT_EQUAL(i_at(root, "limits.max_flows"), TD_DEFAULT_MAX_FLOWS);
    CU_ASSERT_EQUAL(i_at(root, "limits.max_timeline"), TD_DEFAULT_MAX_TIMELINE);

    // Order: input 0 by first frame (3: failed, 10: non-TLS, 20: established, 50: swapped, 70: escapes),
    // then input 1.
    json_t *conns = at(root, "connections");
    CU_ASSERT_EQUAL_FATAL(json_array_size(conns), 6);
    static const long long want_first[] = {3, 10, 20, 50, 70, 1};
    static const long long want_input[] = {0, 0, 0, 0, 0, 1};
    for (size_t i = 0; i < 6; i++) {
        json_t *c = json_array_get(conns, i);
        CU_ASSERT_EQUAL(i_at(c, "first_frame"), want_first[i]);
        CU_ASSERT_EQUAL(i_at(c, "input"), want_input[i]);
    }

    // The failed connection.
    json_t *c = json_array_get(conns, 0);
    CU_ASSERT_EQUAL(i_at(c, "id"), 2);
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.result"), "failed_alert");
    CU_ASSERT_EQUAL(i_at(c, "outcome.frame"), 6);
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.time"), "2013-11-03T07:45:43.006000000Z");
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.by"), "server");
    CU_ASSERT_EQUAL(i_at(c, "outcome.alert.description"), 40);
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.alert.name"), "handshake_failure");
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.after"), "client_hello");
    const char *text = s_at(c, "outcome.text");
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "server"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "fatal handshake_failure alert"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(frame 6)"));
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.alerts.0.level_name"), "fatal");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.alerts.0.description_name"), "handshake_failure");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.alerts.0.from"), "server");
    CU_ASSERT_TRUE(json_is_false(at(c, "tls.alerts.0.inferred")));
    CU_ASSERT_EQUAL(i_at(c, "tls.alerts.0.frame"), 6);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.anomaly"), "tls.anomaly.trailing_bytes");
    CU_ASSERT_STRING_EQUAL(s_at(c, "anomalies.0.name"), "tls.anomaly.trailing_bytes");
    CU_ASSERT_EQUAL(i_at(c, "anomalies.0.frame"), 5);
    CU_ASSERT_EQUAL(i_at(c, "tcp.rst.server"), 7);
    CU_ASSERT_TRUE(json_is_null(at(c, "tcp.rst.client")));
    CU_ASSERT_STRING_EQUAL(s_at(c, "tcp.end"), "rst");
    CU_ASSERT_TRUE(json_is_null(at(c, "tls.version")));
    CU_ASSERT_TRUE(json_is_null(at(c, "tls.cipher")));

    // The non-TLS connection.
    c = json_array_get(conns, 1);
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.result"), "not_tls");
    CU_ASSERT_TRUE(json_is_null(at(c, "tls")));
    CU_ASSERT_STRING_EQUAL(s_at(c, "protocol.app"), "HTTP");
    CU_ASSERT_TRUE(json_is_null(at(c, "protocol.master")));
    CU_ASSERT_EQUAL(json_array_size(at(c, "timeline")), 0);

    // The established TLS 1.2 connection.
    c = json_array_get(conns, 2);
    CU_ASSERT_STRING_EQUAL(s_at(c, "client.ip"), "192.0.2.1");
    CU_ASSERT_EQUAL(i_at(c, "client.port"), 51234);
    CU_ASSERT_STRING_EQUAL(s_at(c, "server.ip"), "198.51.100.7");
    CU_ASSERT_EQUAL(i_at(c, "server.port"), 443);
    CU_ASSERT_STRING_EQUAL(s_at(c, "start"), "2013-11-03T07:45:43.020000000Z");
    CU_ASSERT_STRING_EQUAL(s_at(c, "end"), "2013-11-03T07:45:43.040000000Z");
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(at(c, "duration_ms")), 20.0, 1e-9);
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.result"), "established");
    CU_ASSERT_EQUAL(i_at(c, "outcome.frame"), 31);
    CU_ASSERT_PTR_NOT_NULL(strstr(s_at(c, "outcome.text"), "TLS 1.2"));
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.version.code"), "0x0303");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.version.name"), "TLS 1.2");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.cipher.code"), "0xc02f");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.cipher.name"), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.cipher.kx"), "ECDHE");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.cipher.auth"), "RSA");
    CU_ASSERT_EQUAL(i_at(c, "tls.client_hellos.0.frame"), 23);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.time"), "2013-11-03T07:45:43.023000000Z");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.record_version.name"), "TLS 1.0");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.cipher_suites.0.code"), "0x0a0a");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.cipher_suites.0.name"), "GREASE");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.cipher_suites.3.name"), "TLS_RSA_WITH_AES_128_GCM_SHA256");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.extensions.0.name"), "server_name");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.extensions.4.code"), "0xff01");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.supported_groups.0.name"), "x25519");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.supported_groups.1.name"), "secp256r1");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.signature_algorithms.0.name"), "rsa_pkcs1_sha256");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.ec_point_formats.0.name"), "uncompressed");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.sni"), "www.example.com");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.alpn.1"), "http/1.1");
    CU_ASSERT_TRUE(json_is_true(at(c, "tls.client_hellos.0.flags.renegotiation_info")));
    CU_ASSERT_TRUE(json_is_false(at(c, "tls.client_hellos.0.flags.early_data")));
    // The fingerprints are computed from the lists when reported: GREASE 0x0a0a left out; MD5 by hashlib.
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.ja3"), "771,49199-49200-156,0-10-11-13-65281,29-23,0");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.ja3_hash"), "2addbfbaa0dd01a956387cfd7ff16a61");
    CU_ASSERT_EQUAL(strncmp(s_at(c, "tls.client_hellos.0.ja4"), "t12d0305h2_", 11), 0);
    CU_ASSERT_TRUE(json_is_null(at(c, "tls.client_hellos.0.anomaly")));
    CU_ASSERT_EQUAL(i_at(c, "tls.server_hellos.0.frame"), 25);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.server_hellos.0.cipher.name"), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    CU_ASSERT_TRUE(json_is_null(at(c, "tls.server_hellos.0.selected_version")));
    CU_ASSERT_EQUAL(i_at(c, "tls.certificates.server.frame"), 26);
    CU_ASSERT_EQUAL(i_at(c, "tls.certificates.server.count_sent"), 2);
    CU_ASSERT_TRUE(json_is_null(at(c, "tls.certificates.client")));
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.certificates.server.chain.0.subject"), "CN=www.example.com,O=Example");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.certificates.server.chain.0.not_before"), "2023-11-14T22:13:20Z");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.certificates.server.chain.0.not_after"), "2030-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.certificates.server.chain.0.sans.1"), "IP:192.0.2.1");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.certificates.server.chain.0.key.type"), "RSA");
    CU_ASSERT_EQUAL(i_at(c, "tls.certificates.server.chain.0.key.bits"), 2048);
    CU_ASSERT_TRUE(json_is_true(at(c, "tls.certificates.server.chain.1.self_signed")));
    CU_ASSERT_TRUE(json_is_true(at(c, "tls.certificates.server.chain.1.ca")));
    CU_ASSERT_TRUE(json_is_null(at(c, "tls.certificates.server.chain.1.serial")));
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.key_exchange.kind"), "ecdhe");
    CU_ASSERT_EQUAL(i_at(c, "tls.key_exchange.server_key_exchange.frame"), 27);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.key_exchange.server_key_exchange.ecdh.group_name"), "x25519");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.key_exchange.server_key_exchange.signature_algorithm.name"),
                           "rsa_pss_rsae_sha256");
    CU_ASSERT_PTR_NULL(at(c, "tls.key_exchange.server_key_exchange.dh")); // ECDHE: only "ecdh"
    CU_ASSERT_EQUAL(i_at(c, "tls.key_exchange.client_key_exchange.ecdh.point_len"), 32);
    CU_ASSERT_EQUAL(i_at(c, "tls.handshake.completed.frame"), 31);
    CU_ASSERT_EQUAL(i_at(c, "tls.handshake.change_cipher_spec.client.frame"), 29);
    CU_ASSERT_EQUAL(i_at(c, "tls.handshake.first_application_data.server.frame"), 33);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.handshake.last_message"), "finished");
    CU_ASSERT_EQUAL(i_at(c, "tls.records.client.handshake"), 3);
    CU_ASSERT_EQUAL(i_at(c, "tls.records.client.application_data"), 4);
    CU_ASSERT_EQUAL(i_at(c, "tls.records.server.handshake"), 5);
    CU_ASSERT_EQUAL(i_at(c, "tcp.syn.frame"), 20);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tcp.syn.from"), "client");
    CU_ASSERT_EQUAL(i_at(c, "tcp.packets.client"), 10);
    CU_ASSERT_EQUAL(i_at(c, "tcp.payload_bytes.server"), 5000);
    json_t *tl = at(c, "timeline");
    CU_ASSERT_EQUAL(json_array_size(tl), 6);
    CU_ASSERT_STRING_EQUAL(s_at(tl, "0.event"), "tcp_syn");
    CU_ASSERT_STRING_EQUAL(s_at(tl, "1.event"), "client_hello");
    CU_ASSERT_EQUAL(i_at(tl, "1.handshake_type"), 1);
    CU_ASSERT_EQUAL(i_at(tl, "1.len"), 512);
    CU_ASSERT_STRING_EQUAL(s_at(tl, "2.event"), "server_hello");
    CU_ASSERT_STRING_EQUAL(s_at(tl, "2.from"), "server");
    CU_ASSERT_STRING_EQUAL(s_at(tl, "3.event"), "certificate");
    CU_ASSERT_STRING_EQUAL(s_at(tl, "4.event"), "change_cipher_spec");
    CU_ASSERT_STRING_EQUAL(s_at(tl, "5.event"), "gap");
    CU_ASSERT_EQUAL(i_at(tl, "5.bytes"), 1460);
    CU_ASSERT_TRUE(json_is_true(at(c, "timeline_truncated")));

    // Roles swapped: the TLS client is the flow's TCP server (203.0.113.9:40000).
    c = json_array_get(conns, 3);
    CU_ASSERT_TRUE(json_is_true(at(c, "roles_swapped")));
    CU_ASSERT_STRING_EQUAL(s_at(c, "client.ip"), "203.0.113.9");
    CU_ASSERT_EQUAL(i_at(c, "client.port"), 40000);
    CU_ASSERT_STRING_EQUAL(s_at(c, "server.ip"), "203.0.113.5");
    CU_ASSERT_EQUAL(i_at(c, "server.port"), 443);
    CU_ASSERT_EQUAL(i_at(c, "tcp.packets.client"), 11);
    CU_ASSERT_EQUAL(i_at(c, "tcp.packets.server"), 3);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tcp.syn.from"), "server");
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.result"), "incomplete");
    CU_ASSERT_PTR_NOT_NULL(strstr(s_at(c, "outcome.text"), "before the handshake completed"));

    // Escapes: printable strings round-trip exactly; raw bytes arrive as \xNN.
    c = json_array_get(conns, 4);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.sni"), "q\"uote\\x00<tag>&");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.alpn.0"), "\\xff\\x01raw");
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.result"), "closed");
    CU_ASSERT_PTR_NOT_NULL(strstr(s_at(c, "outcome.text"), "FIN, frame 71"));

    // TLS 1.3 from input 1.
    c = json_array_get(conns, 5);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.version.name"), "TLS 1.3");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.cipher.name"), "TLS_AES_128_GCM_SHA256");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.server_hellos.0.selected_version.code"), "0x0304");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.server_hellos.0.key_share.name"), "x25519");
    CU_ASSERT_EQUAL(i_at(c, "tls.server_hellos.0.key_share.key_len"), 32);
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.supported_versions.0.name"), "GREASE");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.supported_versions.1.name"), "TLS 1.3");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.client_hellos.0.key_shares.0.group"), "0x001d");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tls.key_exchange.kind"), "tls13");
    CU_ASSERT_STRING_EQUAL(s_at(c, "tcp.end"), "capture_end");
    json_decref(root);
}

static void test_non_tls_hidden(void)
{
    char path[256];
    path_in_tmp(path, sizeof(path), "tls_only.json");
    struct td_error err = {0};
    CU_ASSERT_EQUAL_FATAL(build_report(path, NULL, false, &err), TD_OK);
    json_t *root = load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL(json_array_size(at(root, "connections")), 5);
    CU_ASSERT_EQUAL(i_at(root, "totals.connections"), 6);
    json_decref(root);
}

static bool have_jsonschema(void)
{
    return system("/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1") == 0;
}

static void test_schema(void)
{
    if (!have_jsonschema()) {
        printf("\n  note: /usr/bin/python3 lacks jsonschema (apt-get install python3-jsonschema): schema check "
               "skipped\n");
        return;
    }
    char path[256], cmd[1024];
    path_in_tmp(path, sizeof(path), "schema.json");
    struct td_error err = {0};
    CU_ASSERT_EQUAL_FATAL(build_report(path, NULL, true, &err), TD_OK);
    (void)snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/schema/validate.py %s/docs/report.schema.json %s",
                   TD_SOURCE_DIR, TD_SOURCE_DIR, path);
    CU_ASSERT_EQUAL(system(cmd), 0);
    // The validator must be able to fail: a report missing a required key.
    json_t *root = load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_EQUAL(json_object_del(json_array_get(json_object_get(root, "connections"), 0), "outcome"), 0);
    char bad[256];
    path_in_tmp(bad, sizeof(bad), "schema_bad.json");
    CU_ASSERT_EQUAL_FATAL(json_dump_file(root, bad, 0), 0);
    json_decref(root);
    (void)snprintf(cmd, sizeof(cmd),
                   "/usr/bin/python3 %s/tests/schema/validate.py %s/docs/report.schema.json %s >/dev/null 2>&1",
                   TD_SOURCE_DIR, TD_SOURCE_DIR, bad);
    CU_ASSERT_NOT_EQUAL(system(cmd), 0);
    (void)unlink(bad);
}

static void test_summary(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
    struct td_error err = {0};
    CU_ASSERT_EQUAL(build_report(NULL, mem, true, &err), TD_OK);
    CU_ASSERT_EQUAL(fclose(mem), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "input 0: a.pcapng (pcapng"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "input 1: b.pcap (pcap"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "b.pcap: the file ends inside frame 13."));
    const char *est = strstr(buf, "#1  ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(est);
    const char *line_end = strchr(est, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(line_end);
    char line[512];
    (void)snprintf(line, sizeof(line), "%.*s", (int)(line_end - est), est);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "192.0.2.1:51234 -> 198.51.100.7:443"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "sni=www.example.com"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "TLS 1.2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "established"));
    // The failed connection carries its outcome sentence; the non-TLS one is not listed.
    const char *fail = strstr(buf, "#2  ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fail);
    CU_ASSERT_PTR_NOT_NULL(strstr(fail, "failed_alert  The server"));
    CU_ASSERT_PTR_NULL(strstr(buf, "#6 "));
    // Aligned: "->" at the same column on every connection line of input 0 (input 1 has its own widths).
    const char *input1 = strstr(buf, "input 1:");
    CU_ASSERT_PTR_NOT_NULL_FATAL(input1);
    long arrow_col = -1;
    int rows = 0;
    for (const char *p = buf; p < input1;) {
        const char *nl = strchr(p, '\n');
        CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
        const char *arrow = strstr(p, " -> ");
        if (*p == '#' && arrow != NULL && arrow < nl) {
            long col = (long)(arrow - p);
            CU_ASSERT(arrow_col < 0 || col == arrow_col);
            arrow_col = col;
            rows++;
        }
        p = nl + 1;
    }
    CU_ASSERT_EQUAL(rows, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "totals: 6 connections, 5 TLS or DTLS: 2 established"));

    // A summary-only run spools no JSON text, only summary entries; with a JSON report beside it, the summary
    // is the same text.
    char *buf2 = NULL;
    size_t len2 = 0;
    char path[300];
    path_in_tmp(path, sizeof(path), "with-summary.json");
    mem = open_memstream(&buf2, &len2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
    CU_ASSERT_EQUAL(build_report(path, mem, true, &err), TD_OK);
    CU_ASSERT_EQUAL(fclose(mem), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf2);
    CU_ASSERT_STRING_EQUAL(buf2, buf);
    (void)unlink(path);
    free(buf2);
    free(buf);
}

static size_t count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (d == NULL) {
        return 0;
    }
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    (void)closedir(d);
    return n;
}

static void test_atomic_write(void)
{
    char dir[256], path[300], sub[300];
    path_in_tmp(dir, sizeof(dir), "atomic");
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    (void)snprintf(path, sizeof(path), "%s/report.json", dir);
    // An old file is replaced whole.
    FILE *old = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(old);
    (void)fputs("old contents", old);
    (void)fclose(old);
    struct td_error err = {0};
    CU_ASSERT_EQUAL(build_report(path, NULL, true, &err), TD_OK);
    json_t *root = load(path);
    CU_ASSERT_PTR_NOT_NULL(root);
    json_decref(root);
    CU_ASSERT_EQUAL(count_dir_entries(dir), 1); // no temporary file left behind
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);

    // The target is a directory: rename fails; the temp file must be removed, the directory untouched.
    (void)snprintf(sub, sizeof(sub), "%s/sub", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);
    memset(&err, 0, sizeof(err));
    CU_ASSERT_EQUAL(build_report(sub, NULL, true, &err), TD_ERR_IO);
    CU_ASSERT_EQUAL(err.code, TD_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, sub));
    CU_ASSERT_EQUAL(count_dir_entries(dir), 2);
    CU_ASSERT_EQUAL(count_dir_entries(sub), 0);
    CU_ASSERT_EQUAL(rmdir(sub), 0);
    CU_ASSERT_EQUAL(unlink(path), 0);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static void test_unwritable(void)
{
    const char *path = "/nonexistent-td-dir/sub/report.json";
    struct td_error err = {0};
    CU_ASSERT_EQUAL(build_report(path, NULL, true, &err), TD_ERR_IO);
    CU_ASSERT_EQUAL(err.code, TD_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file or directory"));
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
}

/* Allocation failure (jansson's test_chaos), for jansson and the connections' value tree alike: fail the n-th
 * allocation for growing n. Every run must either succeed or fail with TD_ERR_RESOURCE/TD_ERR_IO and leave no
 * report and no temporary file. */
static long chaos_left;

static void *chaos_malloc(size_t n)
{
    if (chaos_left >= 0 && chaos_left-- == 0) {
        return NULL;
    }
    return malloc(n);
}

static void test_alloc_failure(void)
{
    char dir[256], path[300];
    path_in_tmp(dir, sizeof(dir), "chaos");
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    (void)snprintf(path, sizeof(path), "%s/report.json", dir);
    json_set_alloc_funcs(chaos_malloc, free);
    td_jv_set_alloc_funcs(chaos_malloc, free);
    td_jv_set_block_bytes(256); /* a connection's tree takes many blocks: failures land inside it */
    bool succeeded = false;
    int failures = 0;
    for (long n = 0; n < 20000 && !succeeded; n++) {
        chaos_left = n;
        struct td_error err = {0};
        enum td_err rc = build_report(path, NULL, true, &err);
        if (rc == TD_OK) {
            succeeded = true;
            break;
        }
        failures++;
        CU_ASSERT(rc == TD_ERR_RESOURCE || rc == TD_ERR_IO);
        CU_ASSERT(err.msg[0] != '\0');
        CU_ASSERT_EQUAL(count_dir_entries(dir), 0);
        if (count_dir_entries(dir) != 0) {
            break;
        }
    }
    chaos_left = -1;
    json_set_alloc_funcs(malloc, free);
    td_jv_set_alloc_funcs(NULL, NULL);
    td_jv_set_block_bytes(0);
    CU_ASSERT_TRUE(succeeded);
    CU_ASSERT(failures > 100); // the loop really exercised the failure paths
    json_t *root = load(path);
    CU_ASSERT_PTR_NOT_NULL(root);
    json_decref(root);
    (void)unlink(path);
    (void)rmdir(dir);
}

/* add_incomplete adds a TLS connection that never finished its handshake (no findings). */
static void add_incomplete(struct td_report *r, const struct td_flow_info *info)
{
    struct td_tls_facts f;
    facts_init(&f);
    f.outcome = TD_OUTCOME_INCOMPLETE;
    td_report_add_connection(r, 0, info, &f);
}

/* finish_and_load finishes and frees r, which must succeed, and loads the report it wrote at path. */
static json_t *finish_and_load(struct td_report *r, const char *path)
{
    struct td_error err = {0};
    CU_ASSERT_EQUAL(td_report_finish(r, NULL, NULL, &err), TD_OK);
    td_report_free(r);
    return load(path);
}

static void test_time_format(void)
{
    struct td_report_options opts = {.json_path = NULL};
    struct td_report *r = td_report_new(&opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    td_report_free(r);
    td_report_free(NULL);
    // Times are checked through the report: a frame at 2013-11-03T07:45:43.123456789Z.
    char path[256];
    path_in_tmp(path, sizeof(path), "time.json");
    opts.json_path = path;
    r = td_report_new(&opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct td_flow_info info = make_info(1, 1, 2);
    info.first_ts_ns = T0 + 123456789;
    info.last_ts_ns = T0 - 1; // before the start: duration clamps to 0; time before the second
    add_incomplete(r, &info);
    json_t *root = finish_and_load(r, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_STRING_EQUAL(s_at(root, "connections.0.start"), "2013-11-03T07:45:43.123456789Z");
    CU_ASSERT_STRING_EQUAL(s_at(root, "connections.0.end"), "2013-11-03T07:45:42.999999999Z");
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(at(root, "connections.0.duration_ms")), 0.0, 1e-12);
    CU_ASSERT_EQUAL(i_at(root, "limits.max_flows"), TD_DEFAULT_MAX_FLOWS);
    CU_ASSERT_EQUAL(i_at(root, "totals.flows_evicted"), 0);
    json_decref(root);
    (void)unlink(path);
}

/* ordered_ids checks that a report lists n connections with ids 1..n at first frames 10, 20, ... */
static bool ordered_ids(json_t *root, size_t n)
{
    json_t *conns = json_object_get(root, "connections");
    bool ordered = json_array_size(conns) == n;
    for (size_t i = 0; ordered && i < n; i++) {
        json_t *c = json_array_get(conns, i);
        ordered = json_integer_value(json_object_get(c, "first_frame")) == (json_int_t)((i + 1) * 10) &&
                  json_integer_value(json_object_get(c, "id")) == (json_int_t)(i + 1);
    }
    return ordered;
}

/* Connections added with no release at all are held to the end and still come out sorted: many connections
 * added in reverse frame order, in memory and (past a small budget) through the spool; an unusable TMPDIR is
 * then a clear I/O error, not a partial report. */
static void test_spool(void)
{
    char path[256];
    path_in_tmp(path, sizeof(path), "spool.json");
    enum { N = 3000 };
    static const size_t budgets[] = {0, 20000};
    for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
        struct td_report_options opts = {.json_path = path, .hold_max_bytes = budgets[b]};
        struct td_report *r = td_report_new(&opts);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        for (uint64_t i = N; i >= 1; i--) {
            struct td_flow_info info = make_info(i, i * 10, i * 10 + 5);
            add_incomplete(r, &info);
        }
        json_t *root = finish_and_load(r, path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(root);
        CU_ASSERT_TRUE(ordered_ids(root, N));
        CU_ASSERT_EQUAL(i_at(root, "totals.connections_listed"), N);
        json_decref(root);
        (void)unlink(path);
    }

    const char *old = getenv("TMPDIR");
    char *saved = old != NULL ? strdup(old) : NULL;
    setenv("TMPDIR", "/nonexistent-tlsdiag-test", 1);
    struct td_report_options opts = {.json_path = path, .hold_max_bytes = 1}; /* nothing held in memory */
    struct td_report *r = td_report_new(&opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct td_flow_info info = make_info(1, 1, 2);
    struct td_tls_facts f;
    facts_init(&f);
    td_report_add_connection(r, 0, &info, &f);
    struct td_error err = {0};
    CU_ASSERT_EQUAL(td_report_finish(r, NULL, NULL, &err), TD_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "TMPDIR"));
    td_report_free(r);
    if (saved != NULL) {
        setenv("TMPDIR", saved, 1);
        free(saved);
    } else {
        unsetenv("TMPDIR");
    }
    CU_ASSERT_EQUAL(access(path, F_OK), -1); /* no report written */
}

/* file_size_of_temp returns the size of the one temporary file ".<name>.*" in dir (-1: none or several). */
static long file_size_of_temp(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    long size = -1;
    int found = 0;
    size_t len = strlen(name);
    for (struct dirent *e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
        if (e->d_name[0] == '.' && strncmp(e->d_name + 1, name, len) == 0 && e->d_name[1 + len] == '.') {
            char p[600];
            struct stat st;
            (void)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            size = stat(p, &st) == 0 ? (long)st.st_size : -1;
            found++;
        }
    }
    if (d != NULL) {
        (void)closedir(d);
    }
    return found == 1 ? size : -1;
}

/* The report is written while connections are added: a connection goes out as soon as a release says that
 * nothing starting before it can still come (as the flow table's closed_below does), not at the end. Flows here
 * overlap in pairs and close second-first: each release lets the pair out, in first-frame order. */
static void test_streaming(void)
{
    char dir[256], path[300];
    path_in_tmp(dir, sizeof(dir), "streaming");
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    (void)snprintf(path, sizeof(path), "%s/report.json", dir);
    struct td_report_options opts = {.json_path = path};
    struct td_report *r = td_report_new(&opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    enum { PAIRS = 200 };
    long size_at_half = -1;
    for (uint64_t k = 0; k < PAIRS; k++) {
        uint64_t a = 2 * k + 1, b = 2 * k + 2; /* ids; first frames 10a and 10b */
        struct td_flow_info second = make_info(b, b * 10, b * 10 + 5);
        add_incomplete(r, &second);
        td_report_release(r, 0, a * 10); /* the first of the pair is still open */
        struct td_flow_info first = make_info(a, a * 10, b * 10 + 6);
        add_incomplete(r, &first);
        td_report_release(r, 0, b * 10 + 7); /* both closed, nothing open */
        if (k == PAIRS / 2) {
            size_at_half = file_size_of_temp(dir, "report.json");
        }
    }
    /* Half the connections (~1 KB of JSON each) are already in the document beside the target. */
    CU_ASSERT(size_at_half > (long)(PAIRS * 400));
    CU_ASSERT_EQUAL(access(path, F_OK), -1); /* not in place before the end */
    json_t *root = finish_and_load(r, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_TRUE(ordered_ids(root, 2 * PAIRS));
    json_decref(root);
    CU_ASSERT_EQUAL(count_dir_entries(dir), 1);

    /* A release that broke its promise (a connection starting below it arrives later) is caught: no report,
     * an internal error, and the temporary file is gone. */
    r = td_report_new(&opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct td_flow_info late = make_info(2, 20, 30);
    add_incomplete(r, &late);
    td_report_release(r, 0, 100);
    struct td_flow_info early = make_info(1, 10, 40);
    add_incomplete(r, &early);
    struct td_error err = {0};
    CU_ASSERT_EQUAL(td_report_finish(r, NULL, NULL, &err), TD_ERR_INTERNAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "first-frame order"));
    td_report_free(r);
    CU_ASSERT_EQUAL(access(path, F_OK), 0); /* the previous report is left as it was */
    CU_ASSERT_EQUAL(count_dir_entries(dir), 1);
    (void)unlink(path);
    (void)rmdir(dir);
}

/* An encrypted alert ends the handshake: never guessed, reported as "encrypted". */
static void test_encrypted_alert(void)
{
    char path[256];
    path_in_tmp(path, sizeof(path), "encrypted_alert.json");
    struct td_report_options opts = {.json_path = path};
    struct td_report *r = td_report_new(&opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct td_flow_info info = make_info(9, 1, 9);
    struct td_tls_facts f;
    facts_init(&f);
    struct td_alert alert = {.ev = ev(8), .role = TD_ROLE_CLIENT, .encrypted = true, .inferred = true,
                             .after_msg = TD_HS_ENCRYPTED};
    f.alerts = &alert;
    f.num_alerts = f.alerts_seen = 1;
    struct td_event tl[2] = {
        {.ev = ev(6), .role = TD_ROLE_SERVER, .kind = TD_EV_HANDSHAKE, .detail = TD_HS_HELLO_RETRY_REQUEST},
        {.ev = ev(8), .role = TD_ROLE_CLIENT, .kind = TD_EV_ALERT, .detail = 0, .len = 19},
    };
    f.timeline = tl;
    f.num_events = f.events_seen = 2;
    f.outcome = TD_OUTCOME_FAILED_ALERT;
    f.outcome_ev = ev(8);
    f.outcome_role = TD_ROLE_CLIENT;
    f.outcome_alert = -1;
    f.outcome_after_msg = TD_HS_SERVER_HELLO;
    td_report_add_connection(r, 0, &info, &f);
    struct td_error err = {0};
    CU_ASSERT_EQUAL(td_report_finish(r, NULL, NULL, &err), TD_OK);
    td_report_free(r);
    json_t *root = load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *c = at(root, "connections.0");
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.alert.name"), "encrypted");
    CU_ASSERT_TRUE(json_is_null(at(c, "outcome.alert.description")));
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.by"), "client");
    CU_ASSERT_STRING_EQUAL(s_at(c, "outcome.after"), "server_hello");
    CU_ASSERT_PTR_NOT_NULL(strstr(s_at(c, "outcome.text"), "encrypted alert (frame 8)"));
    CU_ASSERT_TRUE(json_is_true(at(c, "tls.alerts.0.encrypted")));
    CU_ASSERT_TRUE(json_is_true(at(c, "tls.alerts.0.inferred")));
    CU_ASSERT_TRUE(json_is_null(at(c, "tls.alerts.0.description")));
    CU_ASSERT_STRING_EQUAL(s_at(c, "timeline.0.event"), "hello_retry_request");
    // On the wire a HelloRetryRequest is a ServerHello: Wireshark's tls.handshake.type 2.
    CU_ASSERT_EQUAL(i_at(c, "timeline.0.handshake_type"), TD_HS_SERVER_HELLO);
    CU_ASSERT_PTR_NULL(at(c, "timeline.0.encrypted"));
    CU_ASSERT_STRING_EQUAL(s_at(c, "timeline.1.event"), "alert");
    CU_ASSERT_STRING_EQUAL(s_at(c, "timeline.1.description"), "encrypted");
    CU_ASSERT_EQUAL(i_at(c, "timeline.1.len"), 19);
    if (have_jsonschema()) {
        char cmd[1024];
        (void)snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/schema/validate.py %s/docs/report.schema.json %s",
                       TD_SOURCE_DIR, TD_SOURCE_DIR, path);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
    json_decref(root);
    (void)unlink(path);
}

/* Findings of one rule on one connection merge (one finding per alert, say): the evidence is the lowest 16
 * (2 x TD_MAX_EVIDENCE) distinct frames whatever order the matches came in; rule texts keep their UTF-8
 * ("§"), and a "\n" in a rule text starts a new, indented line of the summary. */
static void test_finding_merge(void)
{
    char path[300];
    path_in_tmp(path, sizeof(path), "merge.json");
    char *sum = NULL;
    size_t sum_len = 0;
    FILE *mem = open_memstream(&sum, &sum_len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
    struct td_report_options opts = {.json_path = path, .summary = mem, .tool_version = "0.1.0-test"};
    struct td_report *r = td_report_new(&opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct td_flow_info info;
    struct td_tls_facts f;
    struct td_client_hello ch;
    struct td_alert alert;
    struct td_anomaly_entry an;
    conn_failed(&info, &f, &ch, &alert, &an);
    td_report_add_connection(r, 0, &info, &f);
    struct td_rule_info rule = {.id = "t.merge", .revision = 1, .severity = TD_SEVERITY_ERROR,
                                .confidence = TD_CONFIDENCE_HIGH, .evaluate = TD_EVAL_ALERT,
                                .references = {"RFC 5246 \xc2\xa7" "7.4.4"}, .num_references = 1};
    struct td_finding fd = {.rule = &rule, .title = "T \xc2\xa7", .explanation = "line one\nline two",
                            .remedy = "R", .num_evidence = TD_MAX_EVIDENCE};
    for (int k = 0; k < TD_MAX_EVIDENCE; k++) {
        fd.evidence[k] = (uint64_t)(2 * k + 2); // 2, 4, ..., 16
    }
    td_report_add_finding(r, &fd);
    for (int k = 0; k < TD_MAX_EVIDENCE; k++) {
        fd.evidence[k] = (uint64_t)(2 * k + 18); // 18, 20, ..., 32: 16 frames in all
    }
    td_report_add_finding(r, &fd);
    fd.evidence[0] = 1; // a lower frame arrives last: it is kept, 32 drops out
    fd.evidence[1] = 4;
    fd.num_evidence = 2;
    td_report_add_finding(r, &fd);
    struct td_error err = {0};
    struct td_limits limits = td_limits_default();
    CU_ASSERT_EQUAL(td_report_finish(r, NULL, &limits, &err), TD_OK);
    td_report_free(r);
    CU_ASSERT_EQUAL(fclose(mem), 0);
    json_t *root = load(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *findings = at(root, "connections.0.findings");
    CU_ASSERT_EQUAL(json_array_size(findings), 1);
    json_t *ev = at(root, "connections.0.findings.0.evidence_frames");
    CU_ASSERT_EQUAL(json_array_size(ev), 2 * TD_MAX_EVIDENCE);
    CU_ASSERT_EQUAL(i_at(root, "connections.0.findings.0.evidence_frames.0"), 1);
    CU_ASSERT_EQUAL(i_at(root, "connections.0.findings.0.evidence_frames.1"), 2);
    CU_ASSERT_EQUAL(i_at(root, "connections.0.findings.0.evidence_frames.15"), 30);
    CU_ASSERT_EQUAL(i_at(root, "totals.findings.error"), 1);
    CU_ASSERT_STRING_EQUAL(s_at(root, "connections.0.findings.0.references.0"), "RFC 5246 \xc2\xa7" "7.4.4");
    CU_ASSERT_STRING_EQUAL(s_at(root, "connections.0.findings.0.title"), "T \xc2\xa7");
    CU_ASSERT_STRING_EQUAL(s_at(root, "connections.0.findings.0.explanation"), "line one\nline two");
    json_decref(root);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sum);
    // "    error   " is the finding's indent (4) plus the 8-byte severity column.
    CU_ASSERT_PTR_NOT_NULL(strstr(sum, "\n            line one\n            line two\n"));
    free(sum);
    (void)unlink(path);
}

static CU_TestInfo tests[] = {
    {"values", test_values},
    {"non_tls_hidden", test_non_tls_hidden},
    {"schema", test_schema},
    {"summary", test_summary},
    {"atomic_write", test_atomic_write},
    {"unwritable", test_unwritable},
    {"alloc_failure", test_alloc_failure},
    {"time_format", test_time_format},
    {"encrypted_alert", test_encrypted_alert},
    {"finding_merge", test_finding_merge},
    {"spool", test_spool},
    {"streaming", test_streaming},
    CU_TEST_INFO_NULL,
};

int main(void)
{
    if (suite_init() != 0) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    int rc = td_test_run("reports", tests);
    char cmd[300];
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    (void)system(cmd);
    return rc;
}
