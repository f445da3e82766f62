/* SPDX-License-Identifier: MIT */
/* test_builtin_rules.c: every built-in rule (the .rules files of rules/) against hand-built facts: a positive
 * scenario shaped like the capture of that failure (the rule fires once, cites exactly the expected frames, and
 * its texts carry the scenario's values with no field left "unknown") and a near miss (it stays quiet); then the
 * expectations across families: the CA-list truncation (KB 2801679, RFC 5246 §7.4.4), DHE values shorter than p
 * (RFC 5246 §8.1.2), renegotiation on TLS 1.3 (RFC 8446 §4.1.2) and clean handshakes. Expected frames and values
 * come from the scenarios and the rule texts, never from running the engine. A rule without a scenario fails. */
#include "../../../rules/rules.h"
#include "../testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- reporting: CUnit assertions that say which rule failed and how (CUnit copies the message) ---- */

#define CHECK(cond, ...) check_at((cond), __LINE__, __VA_ARGS__)

__attribute__((format(printf, 3, 4))) static void check_at(bool ok, unsigned line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, __FILE__, "", CU_FALSE);
}

/* ---- facts of one connection and its server, built by hand ---- */

/* Frame times: 2024-03-15T10:00:00Z (date -u -d 2024-03-15T10:00:00Z +%s) plus 1 ms per frame. */
#define CAPTURE_S INT64_C(1710496800)
#define NOT_BEFORE_S INT64_C(1685577600)   /* 2023-06-01T00:00:00Z */
#define NOT_AFTER_S INT64_C(1748736000)    /* 2025-06-01T00:00:00Z */
#define EXPIRED_AT_S INT64_C(1706745599)   /* 2024-01-31T23:59:59Z */
#define VALID_FROM_S INT64_C(1717200000)   /* 2024-06-01T00:00:00Z */

struct conn {
    struct td_flow_info flow;
    struct td_tls_facts tls;
    struct td_client_hello ch[2];
    struct td_server_hello sh[2];
    uint16_t ch_ciphers[2][8], ch_versions[2][4], ch_groups[2][4];
    struct td_key_share_entry key_share;
    char sni[64];
    struct td_cert_chain server_chain, client_chain;
    struct td_cert certs[2];
    char subject[2][96], issuer[2][96];
    char san[2][64];
    char *sans[2];
    char eku[2][32];
    char *ekus[2];
    struct td_cert_request cr;
    uint16_t cr_types[4];
    struct td_alert alerts[4];
    struct td_server_facts server;
};

static struct td_evidence at(uint64_t frame)
{
    return (struct td_evidence){.frame = frame, .ts_ns = CAPTURE_S * 1000000000 + (int64_t)frame * 1000000};
}

static void set_list(struct td_u16_list *l, uint16_t *store, size_t cap, const uint16_t *v, size_t n)
{
    CU_ASSERT_FATAL(n <= cap);
    memcpy(store, v, n * sizeof(v[0]));
    l->v = store;
    l->num = (uint32_t)n;
}

#define U16S(...) (const uint16_t[]){__VA_ARGS__}, sizeof((const uint16_t[]){__VA_ARGS__}) / sizeof(uint16_t)
#define SET_LIST(list, store, ...) set_list((list), (store), sizeof(store) / sizeof((store)[0]), U16S(__VA_ARGS__))

/* A TLS 1.2 client's ClientHello (kept as ch[k]): ECDHE/DHE AEAD suites and the renegotiation SCSV, SNI
 * www.example.com, no supported_versions. */
static void client_hello(struct conn *c, uint32_t k, uint64_t frame)
{
    struct td_client_hello *ch = &c->ch[k];
    memset(ch, 0, sizeof(*ch));
    ch->ev = at(frame);
    ch->record_version = 0x0301;
    ch->legacy_version = 0x0303;
    ch->session_id_len = 32;
    SET_LIST(&ch->ciphers, c->ch_ciphers[k], 0xc02f, 0xc030, 0x009e, 0x00ff);
    SET_LIST(&ch->groups, c->ch_groups[k], 29, 23, 24);
    ch->compression_methods_len = 1;
    ch->has_scsv_renegotiation = true;
    ch->has_extended_master_secret = true;
    (void)snprintf(c->sni, sizeof(c->sni), "www.example.com");
    ch->sni = c->sni;
    c->tls.client_hellos[k] = ch;
    c->tls.num_client_hellos = k + 1;
    c->tls.client_hellos_seen = k + 1;
    c->tls.last_hs_msg = TD_HS_CLIENT_HELLO;
    c->tls.last_hs_role = TD_ROLE_CLIENT;
}

/* offer_tls13: ch[k] becomes a TLS 1.3 client's: supported_versions {1.3, 1.2}, an x25519 key share. */
static void offer_tls13(struct conn *c, uint32_t k)
{
    struct td_client_hello *ch = &c->ch[k];
    SET_LIST(&ch->ciphers, c->ch_ciphers[k], 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc030);
    SET_LIST(&ch->supported_versions, c->ch_versions[k], 0x0304, 0x0303);
    c->key_share = (struct td_key_share_entry){.group = 29, .key_len = 32};
    ch->key_shares = &c->key_share;
    ch->num_key_shares = 1;
    ch->has_scsv_renegotiation = false;
    ch->has_renegotiation_info = true;
}

/* The start of every scenario: TCP 198.51.100.7:50112 -> 192.0.2.10:443 (SYN 1, SYN/ACK 2, ACK 3), the
 * ClientHello in frame 4, nothing after it yet; the server as seen over this capture. */
static void tls12_client_hello(struct conn *c)
{
    memset(c, 0, sizeof(*c));
    c->flow = (struct td_flow_info){.id = 7,
                                    .client_port = 50112,
                                    .server_port = 443,
                                    .saw_syn = true,
                                    .saw_synack = true,
                                    .first_frame = 1,
                                    .last_frame = 5,
                                    .syn_frame = 1,
                                    .synack_frame = 2,
                                    .end = TD_FLOW_END_CAPTURE_END};
    c->flow.client = (struct td_addr){.family = 4, .bytes = {198, 51, 100, 7}};
    c->flow.server = (struct td_addr){.family = 4, .bytes = {192, 0, 2, 10}};
    c->tls.is_tls = true;
    c->tls.last_hs_msg = -1;
    c->tls.outcome = TD_OUTCOME_INCOMPLETE;
    c->tls.outcome_alert = -1;
    client_hello(c, 0, 4);
    c->tls.outcome_ev = at(4);
    c->tls.outcome_after_msg = TD_HS_CLIENT_HELLO;
    c->tls.counts[TD_ROLE_CLIENT].records[TD_CT_HANDSHAKE - 20] = 1;

    struct td_server_facts *s = &c->server;
    s->addr = c->flow.server;
    s->port = 443;
    (void)snprintf(s->name, sizeof(s->name), "192.0.2.10:443");
    (void)snprintf(s->sni, sizeof(s->sni), "www.example.com");
    s->connections = 1;
    s->tls_connections = 1;
    s->max_version = 0x0303; // what it negotiated elsewhere in the capture
    s->min_version = 0x0303;
    s->version_counts[3] = 1;
    s->first_frame = 1;
}

/* leaf: CN=www.example.com issued by an intermediate, SANs www.example.com and example.com, EKU serverAuth and
 * clientAuth, RSA 2048, valid 2023-06-01 to 2025-06-01 (the capture is 2024-03-15). */
static void server_certificate(struct conn *c, uint64_t frame)
{
    struct td_cert *leaf = &c->certs[0];
    struct td_cert *ca = &c->certs[1];
    (void)snprintf(c->subject[0], sizeof(c->subject[0]), "CN=www.example.com,O=Example Corp,C=US");
    (void)snprintf(c->issuer[0], sizeof(c->issuer[0]), "CN=Example Issuing CA 1,O=Example Corp,C=US");
    (void)snprintf(c->subject[1], sizeof(c->subject[1]), "CN=Example Issuing CA 1,O=Example Corp,C=US");
    (void)snprintf(c->issuer[1], sizeof(c->issuer[1]), "CN=Example Root CA,O=Example Corp,C=US");
    (void)snprintf(c->san[0], sizeof(c->san[0]), "www.example.com");
    (void)snprintf(c->san[1], sizeof(c->san[1]), "example.com");
    (void)snprintf(c->eku[0], sizeof(c->eku[0]), "serverAuth");
    (void)snprintf(c->eku[1], sizeof(c->eku[1]), "clientAuth");
    c->sans[0] = c->san[0];
    c->sans[1] = c->san[1];
    c->ekus[0] = c->eku[0];
    c->ekus[1] = c->eku[1];
    *leaf = (struct td_cert){.der_len = 1460,
                             .subject = c->subject[0],
                             .issuer = c->issuer[0],
                             .not_before = NOT_BEFORE_S,
                             .not_after = NOT_AFTER_S,
                             .sans = c->sans,
                             .num_sans = 2,
                             .ekus = c->ekus,
                             .num_ekus = 2,
                             .has_eku_ext = true,
                             .key_type = "RSA",
                             .key_bits = 2048};
    *ca = (struct td_cert){.der_len = 1320,
                           .subject = c->subject[1],
                           .issuer = c->issuer[1],
                           .not_before = NOT_BEFORE_S - 86400 * 365,
                           .not_after = NOT_AFTER_S + 86400 * 365 * 3,
                           .is_ca = true,
                           .key_type = "RSA",
                           .key_bits = 4096};
    c->server_chain = (struct td_cert_chain){
        .ev = at(frame), .certs = c->certs, .num_certs = 2, .num_sent = 2, .total_len = 1460 + 1320 + 6};
    c->tls.server_certs = &c->server_chain;
}

/* The server's TLS 1.2 flight in frame 6: ServerHello (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, renegotiation_info),
 * Certificate, ServerKeyExchange (x25519), ServerHelloDone. */
static void server_flight12(struct conn *c)
{
    c->sh[0] = (struct td_server_hello){.ev = at(6),
                                        .record_version = 0x0303,
                                        .legacy_version = 0x0303,
                                        .cipher = 0xc02f,
                                        .session_id_len = 32,
                                        .has_renegotiation_info = true,
                                        .has_extended_master_secret = true};
    c->tls.server_hellos[0] = &c->sh[0];
    c->tls.num_server_hellos = 1;
    c->tls.server_hellos_seen = 1;
    c->tls.version = 0x0303;
    c->tls.cipher = 0xc02f;
    c->tls.cipher_known = true;
    server_certificate(c, 6);
    c->tls.kx = (struct td_kx_facts){.kind = TD_KX_ECDHE,
                                     .ske_ev = at(6),
                                     .ec_curve_type = 3,
                                     .ec_group = 29,
                                     .ec_server_point_len = 32,
                                     .ske_sig_alg = 0x0804,
                                     .ske_sig_len = 256,
                                     .has_ske = true};
    c->tls.last_hs_msg = TD_HS_SERVER_HELLO_DONE;
    c->tls.last_hs_role = TD_ROLE_SERVER;
    c->tls.outcome_ev = at(6);
    c->tls.outcome_after_msg = TD_HS_SERVER_HELLO_DONE;
    c->tls.counts[TD_ROLE_SERVER].records[TD_CT_HANDSHAKE - 20] = 4;
    c->flow.last_frame = 7;
}

static void tls12_hellos(struct conn *c)
{
    tls12_client_hello(c);
    server_flight12(c);
}

/* cert_request: the server's flight also carries a CertificateRequest (it completes in frame 7, the flight's last
 * segment) listing num CA names in len bytes. */
static void cert_request(struct conn *c, uint32_t len, uint32_t num, bool well_formed)
{
    c->cr = (struct td_cert_request){.ev = at(7),
                                     .ca_list_len = len,
                                     .num_ca_names = num,
                                     .ca_list_well_formed = well_formed,
                                     .msg_len = len + 2 + 3 + 2 + 16};
    SET_LIST(&c->cr.cert_types, c->cr_types, 1, 64);
    c->tls.cert_request = &c->cr;
    c->tls.cert_requests_seen = 1;
    c->tls.outcome_ev = at(7);
    c->server.cert_requests = 1;
    c->server.first_cert_request_frame = 7;
}

/* client_certificate: the client's flight starts with a Certificate of num certificates (0: an empty one). */
static void client_certificate(struct conn *c, uint32_t num)
{
    c->client_chain = (struct td_cert_chain){.ev = at(8), .num_sent = num, .total_len = num * 1200};
    c->tls.client_certs = &c->client_chain;
}

/* The client's flight in frame 8: ClientKeyExchange, ChangeCipherSpec, Finished (encrypted). Its public value has
 * the length of p for DHE. */
static void client_flight(struct conn *c)
{
    struct td_kx_facts *kx = &c->tls.kx;
    kx->cke_ev = at(8);
    kx->has_cke = true;
    if (kx->kind == TD_KX_DHE) {
        kx->has_dh_yc = true;
        kx->dh_yc_len = kx->dh_p_len;
    } else if (kx->kind == TD_KX_ECDHE) {
        kx->ec_client_point_len = 32;
    } else {
        kx->rsa_epms_len = 256;
    }
    c->tls.ccs[TD_ROLE_CLIENT] = at(8);
    c->tls.encrypted_from[TD_ROLE_CLIENT] = at(8);
    c->tls.finished[TD_ROLE_CLIENT] = at(8);
    c->tls.last_hs_msg = TD_HS_FINISHED;
    c->tls.last_hs_role = TD_ROLE_CLIENT;
    c->tls.outcome_ev = at(8);
    c->tls.outcome_after_msg = TD_HS_FINISHED;
    c->flow.last_frame = 8;
}

/* add_alert: an alert record; encrypted ones have no visible level or description. */
static struct td_alert *add_alert(struct conn *c, uint8_t role, bool encrypted, uint8_t level, uint8_t desc,
                                  uint64_t frame)
{
    CU_ASSERT_FATAL(c->tls.num_alerts < sizeof(c->alerts) / sizeof(c->alerts[0]));
    struct td_alert *a = &c->alerts[c->tls.num_alerts++];
    *a = (struct td_alert){.ev = at(frame),
                           .role = role,
                           .encrypted = encrypted,
                           .level = encrypted ? 0 : level,
                           .description = encrypted ? 0 : desc,
                           .after_msg = c->tls.last_hs_msg};
    c->tls.alerts = c->alerts;
    c->tls.alerts_seen = c->tls.num_alerts;
    c->tls.counts[role].records[TD_CT_ALERT - 20]++;
    return a;
}

/* The connection ends cleanly: application data both ways, the client's encrypted close_notify (frame 20), FINs. */
static void close_cleanly(struct conn *c, uint64_t client_data, uint64_t server_data, bool inferred)
{
    c->tls.first_app_data[TD_ROLE_CLIENT] = at(client_data);
    c->tls.first_app_data[TD_ROLE_SERVER] = at(server_data);
    c->tls.first_app_data_lens[TD_ROLE_CLIENT][0] = 541;
    c->tls.num_first_app_data_lens[TD_ROLE_CLIENT] = 1;
    c->tls.first_app_data_lens[TD_ROLE_SERVER][0] = 1200;
    c->tls.num_first_app_data_lens[TD_ROLE_SERVER] = 1;
    c->tls.app_data_bytes[TD_ROLE_CLIENT] = 541;
    c->tls.app_data_bytes[TD_ROLE_SERVER] = 5120;
    add_alert(c, TD_ROLE_CLIENT, true, 0, 0, 20)->inferred = inferred;
    c->tls.outcome = TD_OUTCOME_ESTABLISHED;
    c->tls.outcome_ev = c->tls.handshake_done;
    c->tls.outcome_after_msg = TD_HS_FINISHED;
    c->flow.fin_frame[TD_DIR_C2S] = 21;
    c->flow.fin_frame[TD_DIR_S2C] = 22;
    c->flow.last_frame = 23;
    c->flow.end = TD_FLOW_END_FIN;
    c->server.established = 1;
}

/* complete12: the server's ChangeCipherSpec and Finished in frame 9 complete the handshake. */
static void complete12(struct conn *c)
{
    c->tls.ccs[TD_ROLE_SERVER] = at(9);
    c->tls.encrypted_from[TD_ROLE_SERVER] = at(9);
    c->tls.finished[TD_ROLE_SERVER] = at(9);
    c->tls.handshake_done = at(9);
    c->tls.last_hs_role = TD_ROLE_SERVER;
    close_cleanly(c, 10, 11, false);
}

/* fail_alert: role refuses with a fatal alert in frame `frame`, after the last handshake message so far. */
static void fail_alert(struct conn *c, uint8_t role, uint8_t desc, uint64_t frame)
{
    add_alert(c, role, false, TD_ALERT_LEVEL_FATAL, desc, frame);
    c->tls.outcome = TD_OUTCOME_FAILED_ALERT;
    c->tls.outcome_ev = at(frame);
    c->tls.outcome_role = role;
    c->tls.outcome_alert = desc;
    c->tls.outcome_after_msg = c->tls.last_hs_msg;
    c->flow.rst_frame[role] = frame + 1; // TLS role == TCP direction here (no role swap)
    c->flow.last_frame = frame + 1;
    c->flow.end = TD_FLOW_END_RST;
    c->server.failed = 1;
}

/* fail_reset: role resets the TCP connection in frame `frame` before the handshake completed. */
static void fail_reset(struct conn *c, uint8_t role, uint64_t frame)
{
    c->tls.outcome = TD_OUTCOME_RESET;
    c->tls.outcome_ev = at(frame);
    c->tls.outcome_role = role;
    c->tls.outcome_after_msg = c->tls.last_hs_msg;
    c->flow.rst_frame[role] = frame;
    c->flow.last_frame = frame;
    c->flow.end = TD_FLOW_END_RST;
    c->server.failed = 1;
}

/* A TLS 1.0 server: ServerHello 0x0301 with `cipher` (RSA key transport: no ServerKeyExchange). */
static void tls10(struct conn *c, uint16_t cipher)
{
    tls12_hellos(c);
    c->sh[0].legacy_version = 0x0301;
    c->sh[0].record_version = 0x0301;
    c->sh[0].cipher = cipher;
    c->tls.version = 0x0301;
    c->tls.cipher = cipher;
    if (cipher == 0x002f) {
        c->tls.kx = (struct td_kx_facts){.kind = TD_KX_RSA};
    }
    c->server.max_version = 0x0301;
    c->server.min_version = 0x0301;
    c->server.version_counts[3] = 0;
    c->server.version_counts[1] = 1;
}

/* DHE (TLS_DHE_RSA_WITH_AES_128_GCM_SHA256): ServerKeyExchange in frame 6 with p and Ys of these lengths. */
static void dhe_hellos(struct conn *c, uint16_t p_len, uint16_t ys_len)
{
    tls12_hellos(c);
    c->sh[0].cipher = 0x009e;
    c->tls.cipher = 0x009e;
    c->tls.kx = (struct td_kx_facts){.kind = TD_KX_DHE,
                                     .ske_ev = at(6),
                                     .dh_p_len = p_len,
                                     .dh_g_len = 1,
                                     .dh_ys_len = ys_len,
                                     .dh_p_first = 0xff,
                                     .dh_ys_first = ys_len < p_len ? 0x9c : 0x01,
                                     .ske_sig_alg = 0x0804,
                                     .ske_sig_len = 256,
                                     .has_ske = true};
    c->server.dhe_handshakes = 1;
}

/* TLS 1.3 (with a HelloRetryRequest when hrr): ClientHello 4, [HRR 5, ClientHello 6,] ServerHello and the
 * server's encrypted flight in frame 6 [7], the client's ChangeCipherSpec and Finished in frame 8 [9]. */
static void tls13_hellos(struct conn *c, bool hrr)
{
    tls12_client_hello(c);
    offer_tls13(c, 0);
    uint64_t sh_frame = 6;
    uint32_t k = 0;
    if (hrr) {
        c->ch[0].key_shares = NULL; // offered only secp256r1... say none the server takes: it asks for x25519
        c->ch[0].num_key_shares = 0;
        c->sh[0] = (struct td_server_hello){.ev = at(5),
                                            .is_hrr = true,
                                            .record_version = 0x0303,
                                            .legacy_version = 0x0303,
                                            .selected_version = 0x0304,
                                            .cipher = 0x1301,
                                            .key_share_group = 29};
        c->tls.server_hellos[0] = &c->sh[0];
        client_hello(c, 1, 6);
        offer_tls13(c, 1);
        sh_frame = 7;
        k = 1;
    }
    c->sh[k] = (struct td_server_hello){.ev = at(sh_frame),
                                        .record_version = 0x0303,
                                        .legacy_version = 0x0303,
                                        .selected_version = 0x0304,
                                        .cipher = 0x1301,
                                        .session_id_len = 32,
                                        .key_share_group = 29,
                                        .key_share_len = 32};
    c->tls.server_hellos[k] = &c->sh[k];
    c->tls.num_server_hellos = k + 1;
    c->tls.server_hellos_seen = k + 1;
    c->tls.version = 0x0304;
    c->tls.cipher = 0x1301;
    c->tls.cipher_known = true;
    c->tls.kx = (struct td_kx_facts){.kind = TD_KX_TLS13};
    c->tls.ccs[TD_ROLE_SERVER] = at(sh_frame);
    c->tls.encrypted_from[TD_ROLE_SERVER] = at(sh_frame);
    c->tls.finished[TD_ROLE_SERVER] = at(sh_frame);
    uint64_t fin = sh_frame + 2;
    c->tls.ccs[TD_ROLE_CLIENT] = at(fin);
    c->tls.encrypted_from[TD_ROLE_CLIENT] = at(fin);
    c->tls.finished[TD_ROLE_CLIENT] = at(fin);
    c->tls.last_hs_msg = TD_HS_FINISHED;
    c->tls.last_hs_role = TD_ROLE_CLIENT;
    c->tls.outcome_ev = at(fin);
    c->flow.last_frame = fin;
    struct td_server_facts *s = &c->server;
    s->max_version = 0x0304;
    s->min_version = 0x0304;
    s->version_counts[3] = 0;
    s->version_counts[4] = 1;
    s->tls13_connections = 1;
    s->tls13_without_pha = 1; // browsers do not offer post_handshake_auth
    s->first_tls13_without_pha_frame = 4;
}

static void tls13_complete(struct conn *c, bool hrr)
{
    tls13_hellos(c, hrr);
    c->tls.handshake_done = c->tls.finished[TD_ROLE_CLIENT];
    uint64_t fin = c->tls.handshake_done.frame;
    close_cleanly(c, fin + 2, fin + 1, true);
}

/* ---- scenarios: one builder per connection shape ---- */

static void tls12_clean(struct conn *c)
{
    tls12_hellos(c);
    client_flight(c);
    complete12(c);
}

static void tls13_clean(struct conn *c)
{
    tls13_complete(c, false);
}

/* TLS 1.3 with a HelloRetryRequest: two ClientHellos, both before completion. */
static void tls13_hrr(struct conn *c)
{
    tls13_complete(c, true);
}

/* alerts */

static void ca_list_refused(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 17000, 126, true);
    fail_alert(c, TD_ROLE_CLIENT, 47, 8);
}

/* Schannel cut the list at 16 KB: the names no longer add up to the declared length. */
static void ca_list_truncated_refused(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 16383, 121, false);
    fail_alert(c, TD_ROLE_CLIENT, 47, 8);
}

static void ca_list_small_refused(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 1145, 9, true);
    fail_alert(c, TD_ROLE_CLIENT, 47, 8);
}

/* What OpenSSL and GnuTLS clients answer to the cut list (samples/ca-list-truncated-alert.pcap). */
static void ca_list_truncated_decode_error(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 16383, 121, false);
    fail_alert(c, TD_ROLE_CLIENT, 50, 8);
}

static void ca_list_small_decode_error(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 1145, 9, true);
    fail_alert(c, TD_ROLE_CLIENT, 50, 8);
}

static void ca_list_oversize_handshake_failure(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 17000, 126, true);
    fail_alert(c, TD_ROLE_CLIENT, 40, 8);
}

static void ca_list_oversize_accepted(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 17000, 126, true);
    client_certificate(c, 2);
    client_flight(c);
    complete12(c);
}

static void ca_list_small_accepted(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 1145, 9, true);
    client_certificate(c, 2);
    client_flight(c);
    complete12(c);
}

static void illegal_parameter(struct conn *c)
{
    tls12_hellos(c);
    fail_alert(c, TD_ROLE_CLIENT, 47, 8);
}

/* The server asked for a certificate, the client sent an empty one, the server refused with handshake_failure. */
static void client_cert_refused(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 1145, 9, true);
    client_certificate(c, 0);
    client_flight(c);
    fail_alert(c, TD_ROLE_SERVER, 40, 9);
}

/* ... and the same server accepting the empty certificate (the certificate was optional). */
static void empty_cert_accepted(struct conn *c)
{
    tls12_hellos(c);
    cert_request(c, 1145, 9, true);
    client_certificate(c, 0);
    client_flight(c);
    complete12(c);
}

static void client_handshake_failure(struct conn *c)
{
    tls12_hellos(c);
    fail_alert(c, TD_ROLE_CLIENT, 40, 8);
}

/* The server sent only its leaf (no intermediate): the client cannot build a chain. */
static void unknown_ca(struct conn *c)
{
    tls12_hellos(c);
    c->server_chain.num_certs = 1;
    c->server_chain.num_sent = 1;
    fail_alert(c, TD_ROLE_CLIENT, 48, 8);
}

static void decode_error(struct conn *c)
{
    tls12_hellos(c);
    fail_alert(c, TD_ROLE_CLIENT, 50, 8);
}

static void unexpected_message(struct conn *c)
{
    tls12_hellos(c);
    fail_alert(c, TD_ROLE_CLIENT, 10, 8);
}

static void internal_error(struct conn *c)
{
    tls12_hellos(c);
    client_flight(c);
    fail_alert(c, TD_ROLE_SERVER, 80, 9);
}

/* The client offers only 3DES and RC4; the server refuses them at once. */
static void insufficient_security(struct conn *c)
{
    tls12_client_hello(c);
    SET_LIST(&c->ch[0].ciphers, c->ch_ciphers[0], 0x000a, 0x0005);
    fail_alert(c, TD_ROLE_SERVER, 71, 5);
}

/* The client offers only ChaCha20 suites the server has not enabled. */
static void no_shared_cipher(struct conn *c)
{
    tls12_client_hello(c);
    SET_LIST(&c->ch[0].ciphers, c->ch_ciphers[0], 0xcca8, 0xcca9);
    fail_alert(c, TD_ROLE_SERVER, 40, 5);
}

/* A client limited to TLS 1.1 and 1.2; the server stops at TLS 1.0 and refuses. */
/* The first connection to this server: nothing else says what it supports (when something does,
 * tls.version.mismatch.server_max gives the fuller diagnosis instead). */
static void version_mismatch(struct conn *c)
{
    tls12_client_hello(c);
    SET_LIST(&c->ch[0].supported_versions, c->ch_versions[0], 0x0303, 0x0302);
    fail_alert(c, TD_ROLE_SERVER, 70, 5);
}

/* The capture starts after the ClientHello: the server's protocol_version alert is all there is. */
static void protocol_version_midstream(struct conn *c)
{
    tls12_client_hello(c);
    c->tls.client_hellos[0] = NULL;
    c->tls.num_client_hellos = 0;
    c->tls.client_hellos_seen = 0;
    c->tls.last_hs_msg = -1;
    c->flow.saw_syn = false;
    c->flow.saw_synack = false;
    c->flow.syn_frame = 0;
    c->flow.synack_frame = 0;
    c->tls.counts[TD_ROLE_CLIENT].records[TD_CT_HANDSHAKE - 20] = 0;
    fail_alert(c, TD_ROLE_SERVER, 70, 3);
}

/* TLS 1.3 refused after the client's Finished: the server's answer is a 19-byte protected record. */
static void tls13_refused_encrypted(struct conn *c)
{
    tls13_hellos(c, false);
    struct td_alert *a = add_alert(c, TD_ROLE_SERVER, true, 0, 0, 9);
    a->inferred = true;
    c->tls.outcome = TD_OUTCOME_FAILED_ALERT;
    c->tls.outcome_ev = at(9);
    c->tls.outcome_role = TD_ROLE_SERVER;
    c->tls.outcome_alert = -1;
    c->tls.outcome_after_msg = TD_HS_FINISHED;
    c->flow.last_frame = 10;
    c->flow.end = TD_FLOW_END_FIN;
    c->server.failed = 1;
}

/* The same refusal seen in the clear (certificate_required, as a TLS 1.3 server sends it; see the report). */
static void certificate_required(struct conn *c)
{
    tls13_hellos(c, false);
    fail_alert(c, TD_ROLE_SERVER, 116, 9);
}

/* certificates */

static void client_auth_only_cert(struct conn *c)
{
    tls12_hellos(c);
    c->certs[0].num_ekus = 1;
    c->ekus[0] = c->eku[1]; // clientAuth only
    fail_alert(c, TD_ROLE_CLIENT, 43, 8);
}

static void expired_cert(struct conn *c)
{
    tls12_hellos(c);
    c->certs[0].not_after = EXPIRED_AT_S;
    fail_alert(c, TD_ROLE_CLIENT, 45, 8);
}

static void future_cert(struct conn *c)
{
    tls12_hellos(c);
    c->certs[0].not_before = VALID_FROM_S;
    fail_alert(c, TD_ROLE_CLIENT, 42, 8);
}

static void self_signed_cert(struct conn *c)
{
    tls12_hellos(c);
    c->certs[0].issuer = c->subject[0];
    c->certs[0].self_signed = true;
    c->server_chain.num_certs = 1;
    c->server_chain.num_sent = 1;
    fail_alert(c, TD_ROLE_CLIENT, 48, 8);
}

static void wrong_name_cert(struct conn *c)
{
    tls12_hellos(c);
    (void)snprintf(c->sni, sizeof(c->sni), "intranet.example.com");
    (void)snprintf(c->server.sni, sizeof(c->server.sni), "intranet.example.com");
    fail_alert(c, TD_ROLE_CLIENT, 42, 8);
}

/* key exchange */

static void dhe_short_failed(struct conn *c)
{
    dhe_hellos(c, 256, 255);
    client_flight(c);
    fail_alert(c, TD_ROLE_SERVER, 20, 9); // the premaster secrets differ: the client's Finished does not decrypt
    c->server.dhe_failed = 1;
    c->server.dhe_short_key = 1;
    c->server.dhe_failed_short_key = 1;
    c->server.first_dhe_failed_short_key_frame = 6;
}

static void dhe_short_yc_failed(struct conn *c)
{
    dhe_hellos(c, 256, 256);
    client_flight(c);
    c->tls.kx.dh_yc_len = 255;
    fail_alert(c, TD_ROLE_SERVER, 20, 9);
}

static void dhe_equal_failed(struct conn *c)
{
    dhe_hellos(c, 256, 256);
    client_flight(c);
    fail_alert(c, TD_ROLE_SERVER, 20, 9);
}

static void dhe_short_ok(struct conn *c)
{
    dhe_hellos(c, 256, 255);
    client_flight(c);
    complete12(c);
}

static void dhe_equal_ok(struct conn *c)
{
    dhe_hellos(c, 256, 256);
    client_flight(c);
    complete12(c);
}

static void dhe_1024(struct conn *c)
{
    dhe_hellos(c, 128, 128);
    client_flight(c);
    complete12(c);
}

/* A server with 512 DHE handshakes in the capture, 3 failed, 2 of them with a short value. */
static void dhe_server_pattern(struct conn *c)
{
    dhe_equal_ok(c);
    struct td_server_facts *s = &c->server;
    s->connections = 530;
    s->tls_connections = 530;
    s->established = 527;
    s->failed = 3;
    s->dhe_handshakes = 512;
    s->dhe_failed = 3;
    s->dhe_short_key = 3;
    s->dhe_failed_short_key = 2;
    s->first_dhe_failed_short_key_frame = 4711;
}

static void dhe_server_no_pattern(struct conn *c)
{
    dhe_server_pattern(c);
    c->server.dhe_failed_short_key = 0;
    c->server.first_dhe_failed_short_key_frame = 0;
}

/* renegotiation */

/* After the TLS 1.3 handshake (done in frame 8) the client sends a new ClientHello in the clear (frame 14). */
static void tls13_client_hello_after_done(struct conn *c)
{
    tls13_clean(c);
    client_hello(c, 1, 14);
    offer_tls13(c, 1);
    c->tls.hs_records_after_done[TD_ROLE_CLIENT] = 1;
    c->tls.first_hs_after_done[TD_ROLE_CLIENT] = at(14);
    c->tls.plaintext_hs_after_done[TD_ROLE_CLIENT] = 1;
    c->tls.last_hs_msg = TD_HS_FINISHED; // the post-completion ClientHello does not move the handshake on
    add_alert(c, TD_ROLE_SERVER, true, 0, 0, 15)->inferred = true; // unexpected_message, protected
}

/* TLS 1.2, established in frame 9; the server renegotiates (encrypted HelloRequest in frame 15) to ask for a
 * client certificate: 3 server and 2 client handshake records after completion. */
static void tls12_server_renegotiation(struct conn *c)
{
    tls12_clean(c);
    c->tls.hs_records_after_done[TD_ROLE_SERVER] = 3;
    c->tls.hs_records_after_done[TD_ROLE_CLIENT] = 2;
    c->tls.first_hs_after_done[TD_ROLE_SERVER] = at(15);
    c->tls.first_hs_after_done[TD_ROLE_CLIENT] = at(16);
    c->server.renegotiations = 1;
}

/* ... with hellos from before RFC 5746: no renegotiation_info, no SCSV. */
static void tls12_insecure_renegotiation(struct conn *c)
{
    tls12_server_renegotiation(c);
    SET_LIST(&c->ch[0].ciphers, c->ch_ciphers[0], 0xc02f, 0xc030, 0x009e);
    c->ch[0].has_scsv_renegotiation = false;
    c->sh[0].has_renegotiation_info = false;
}

/* A server that asked 5 connections for a client certificate (TLS 1.2, first in frame 120) and is reached
 * over TLS 1.3 by 3 clients without post_handshake_auth (first ClientHello in frame 204). */
static void server_cert_trap(struct conn *c)
{
    tls13_clean(c);
    struct td_server_facts *s = &c->server;
    s->connections = 40;
    s->tls_connections = 40;
    s->established = 40;
    s->min_version = 0x0303;
    s->version_counts[3] = 37;
    s->version_counts[4] = 3;
    s->tls13_connections = 3;
    s->tls13_without_pha = 3;
    s->first_tls13_without_pha_frame = 204;
    s->cert_requests = 5;
    s->first_cert_request_frame = 120;
}

static void server_cert_no_trap(struct conn *c)
{
    server_cert_trap(c);
    c->server.tls13_without_pha = 0;
    c->server.first_tls13_without_pha_frame = 0;
}

/* TLS 1.0 CBC record split (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: HMAC-SHA1, 16-byte blocks): a 1-byte record
 * is ceil((1 + 20 + 1) / 16) * 16 = 32 bytes (RFC 2246 §6.2.3.2), then the rest of a 300-byte request. */
static void cbc_split_records(struct conn *c, uint64_t frame, uint32_t first_len)
{
    c->tls.first_app_data[TD_ROLE_CLIENT] = at(frame);
    c->tls.first_app_data_lens[TD_ROLE_CLIENT][0] = first_len;
    c->tls.first_app_data_lens[TD_ROLE_CLIENT][1] = 320;
    c->tls.num_first_app_data_lens[TD_ROLE_CLIENT] = 2;
}

/* False start: the client's split data (frame 9) before the server's Finished; the server resets (frame 10). */
static void cbc_split_reset(struct conn *c)
{
    tls10(c, 0xc013);
    client_flight(c);
    c->tls.false_start = true;
    cbc_split_records(c, 9, 32);
    fail_reset(c, TD_ROLE_SERVER, 10);
}

static void cbc_split_ok(struct conn *c)
{
    tls10(c, 0xc013);
    client_flight(c);
    complete12(c);
    cbc_split_records(c, 10, 32);
}

static void cbc_no_split(struct conn *c)
{
    tls10(c, 0xc013);
    client_flight(c);
    complete12(c);
    cbc_split_records(c, 10, 336); // the whole 300-byte request in one record: 300 + 20 + 1 -> 336
    c->tls.first_app_data_lens[TD_ROLE_CLIENT][1] = 48;
}

/* versions */

/* A TLS 1.3 client (offers 1.3 and 1.2); the server resets the connection on its ClientHello. */
static void reset_after_client_hello(struct conn *c)
{
    tls12_client_hello(c);
    offer_tls13(c, 0);
    fail_reset(c, TD_ROLE_SERVER, 5);
}

/* ... and elsewhere in the capture that server never negotiated more than TLS 1.0. */
static void reset_by_tls10_server(struct conn *c)
{
    reset_after_client_hello(c);
    c->server.max_version = 0x0301;
    c->server.min_version = 0x0301;
}

static void client_reset_after_client_hello(struct conn *c)
{
    tls12_client_hello(c);
    offer_tls13(c, 0);
    fail_reset(c, TD_ROLE_CLIENT, 5);
}

static void tls10_refused_by_client(struct conn *c)
{
    tls10(c, 0x002f);
    fail_alert(c, TD_ROLE_CLIENT, 70, 8);
}

static void tls10_accepted(struct conn *c)
{
    tls10(c, 0x002f);
    client_flight(c);
    complete12(c);
}

/* A TLS 1.3 client (1.3, 1.2) and a server answering TLS 1.1 by legacy_version. */
static void tls11_not_offered(struct conn *c)
{
    tls12_hellos(c);
    offer_tls13(c, 0);
    c->sh[0].legacy_version = 0x0302;
    c->sh[0].cipher = 0xc013;
    c->tls.version = 0x0302;
    c->tls.cipher = 0xc013;
    fail_alert(c, TD_ROLE_CLIENT, 70, 8);
}

/* The same client and a TLS 1.2 server (it ignores supported_versions and answers 0x0303). */
static void tls12_for_tls13_client(struct conn *c)
{
    tls12_hellos(c);
    offer_tls13(c, 0);
    client_flight(c);
    complete12(c);
}

/* The client retries with TLS 1.1 and TLS_FALLBACK_SCSV; the server supports TLS 1.2 and refuses. */
static void fallback_retry(struct conn *c)
{
    tls12_client_hello(c);
    c->ch[0].legacy_version = 0x0302;
    SET_LIST(&c->ch[0].ciphers, c->ch_ciphers[0], 0xc013, 0xc014, 0x002f, 0x00ff, 0x5600);
    c->ch[0].has_fallback_scsv = true;
    fail_alert(c, TD_ROLE_SERVER, 86, 5);
}

/* The same TLS 1.1 ClientHello without the SCSV (not a retry); the server requires TLS 1.2. */
static void tls11_first_attempt(struct conn *c)
{
    tls12_client_hello(c);
    c->ch[0].legacy_version = 0x0302;
    SET_LIST(&c->ch[0].ciphers, c->ch_ciphers[0], 0xc013, 0xc014, 0x002f, 0x00ff);
    fail_alert(c, TD_ROLE_SERVER, 70, 5);
}

/* ---- evaluation: every point, as the pipeline does (cli/pipeline.c) ---- */

#define MAX_HITS 32

struct hit {
    char id[96];
    enum td_severity severity;
    uint64_t evidence[TD_MAX_EVIDENCE];
    size_t num_evidence;
    char title[512], explanation[4096];
    char absent[96]; // first field a text names that the evaluation did not have ("" when none)
};

struct hits {
    struct hit v[MAX_HITS];
    size_t num;
    bool overflow;
    const struct td_fact_ctx *ctx; // the evaluation in progress
};

/* first_absent: the first {field} of template that has no value in ctx (copied into out), or false. */
static bool first_absent(const char *t, const struct td_fact_ctx *ctx, char *out, size_t out_len)
{
    for (const char *p = t; p != NULL && *p != '\0'; p++) {
        if (p[0] == '{' && p[1] == '{') {
            p++;
            continue;
        }
        const char *end = p[0] == '{' ? strchr(p, '}') : NULL;
        if (end == NULL) {
            continue;
        }
        char name[96];
        (void)snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
        const struct td_field *field = td_field_find(name);
        struct td_value v;
        if (field == NULL || !field->get(ctx, &v)) {
            (void)snprintf(out, out_len, "%s", name);
            return true;
        }
        p = end;
    }
    return false;
}

static void collect(void *arg, const struct td_finding *f)
{
    struct hits *h = arg;
    if (h->num == MAX_HITS) {
        h->overflow = true;
        return;
    }
    struct hit *x = &h->v[h->num++];
    (void)snprintf(x->id, sizeof(x->id), "%s", f->rule->id);
    x->severity = f->rule->severity;
    x->num_evidence = f->num_evidence;
    memcpy(x->evidence, f->evidence, sizeof(x->evidence));
    (void)snprintf(x->title, sizeof(x->title), "%s", f->title);
    (void)snprintf(x->explanation, sizeof(x->explanation), "%s", f->explanation);
    x->absent[0] = '\0';
    if (!first_absent(f->rule->title, h->ctx, x->absent, sizeof(x->absent)) &&
        !first_absent(f->rule->explanation, h->ctx, x->absent, sizeof(x->absent))) {
        (void)first_absent(f->rule->remedy, h->ctx, x->absent, sizeof(x->absent));
    }
}

/* run builds a scenario and evaluates it: connection rules, alert rules once per alert, server rules with only
 * the server's facts. The caller frees the result. */
static struct hits *run(const struct td_ruleset *rs, void (*build)(struct conn *))
{
    struct conn *c = calloc(1, sizeof(*c));
    struct hits *h = calloc(1, sizeof(*h));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    build(c);
    struct td_fact_ctx ctx = {.flow = &c->flow, .tls = &c->tls, .server = &c->server};
    h->ctx = &ctx;
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &ctx, collect, h);
    for (uint32_t i = 0; i < c->tls.num_alerts; i++) {
        ctx.alert = &c->tls.alerts[i];
        td_ruleset_eval(rs, TD_EVAL_ALERT, &ctx, collect, h);
    }
    struct td_fact_ctx server_ctx = {.server = &c->server};
    h->ctx = &server_ctx;
    td_ruleset_eval(rs, TD_EVAL_SERVER, &server_ctx, collect, h);
    h->ctx = NULL;
    CHECK(!h->overflow, "more than %d findings", MAX_HITS);
    free(c);
    return h;
}

static const struct hit *find_hit(const struct hits *h, const char *id)
{
    for (size_t i = 0; i < h->num; i++) {
        if (strcmp(h->v[i].id, id) == 0) {
            return &h->v[i];
        }
    }
    return NULL;
}

static size_t count_hits(const struct hits *h, const char *id)
{
    size_t n = 0;
    for (size_t i = 0; i < h->num; i++) {
        n += strcmp(h->v[i].id, id) == 0 ? 1 : 0;
    }
    return n;
}

/* ids: the fired rule ids, for messages. */
static const char *ids(const struct hits *h)
{
    static char buf[2048];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < h->num && o < sizeof(buf); i++) {
        int n = snprintf(buf + o, sizeof(buf) - o, "%s%s", i > 0 ? " " : "", h->v[i].id);
        o += n > 0 ? (size_t)n : 0;
    }
    return h->num == 0 ? "(none)" : buf;
}

static bool fired(const struct hits *h, const char *id)
{
    return find_hit(h, id) != NULL;
}

static struct td_ruleset *builtin(void)
{
    struct td_ruleset *rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    struct td_error err = {0};
    if (td_ruleset_add_builtin(rs, &err) != TD_OK) {
        fprintf(stderr, "\n  built-in rules: %s\n", err.msg);
        td_ruleset_free(rs);
        CU_FAIL_FATAL("the built-in rules must load");
    }
    return rs;
}

/* ---- the table: every built-in rule, its positive scenario with what it must cite and say, its near miss ---- */

struct scenario {
    const char *id;
    void (*positive)(struct conn *c);
    uint64_t evidence[TD_MAX_EVIDENCE]; // exact, ascending; 0 ends the list
    const char *texts[8];               // each in the title or the explanation; NULL ends the list
    void (*negative)(struct conn *c);
};

static const struct scenario scenarios[] = {
    /* alerts.rules */
    {"tls.alert.illegal_parameter.ca_list", ca_list_refused, {7, 8},
     {"illegal_parameter", "16 KB", "frame 7", "126 names in 17000 bytes", "well formed: yes", "the client answered",
      "frame 8"},
     ca_list_small_refused},
    {"tls.alert.decode_error.ca_list", ca_list_truncated_decode_error, {7, 8},
     {"decode_error", "16 KB", "frame 7", "16383 bytes", "121 names", "well formed: no", "(frame 8)"},
     ca_list_small_decode_error},
    {"tls.alert.illegal_parameter", illegal_parameter, {8},
     {"illegal_parameter", "The client sent", "frame 8", "after the server_hello_done"}, ca_list_refused},
    /* The client gives up on the server's flight (no common signature algorithm, say). The server refusing an
     * empty client Certificate is tls.client_certificate.missing's alone, and right after the ClientHello
     * tls.cipher.no_shared_cipher's: neither repeats here. */
    {"tls.alert.handshake_failure", client_handshake_failure, {8},
     {"handshake_failure", "the client could not agree", "frame 8", "after the server_hello_done"},
     client_cert_refused},
    {"tls.alert.certificate", unknown_ca, {6, 8},
     {"The client rejected", "(unknown_ca)", "fatal unknown_ca alert (frame 8)", "after the server_hello_done"},
     client_handshake_failure},
    {"tls.alert.decode_error", decode_error, {8},
     {"Fatal decode_error: the client", "frame 8", "after the server_hello_done"}, unexpected_message},
    {"tls.alert.insufficient_security", insufficient_security, {4, 5},
     {"Fatal insufficient_security", "the server's security policy", "frame 5"}, no_shared_cipher},
    {"tls.alert.certificate_required", certificate_required, {9}, {"certificate_required (frame 9)"},
     tls13_refused_encrypted},
    {"tls.alert.protocol_version", protocol_version_midstream, {3}, {"from the server", "frame 3"},
     version_mismatch},
    {"tls.alert.fatal", internal_error, {9},
     {"Fatal internal_error alert from the server", "code 80", "frame 9", "after the finished"},
     client_cert_refused},
    {"tls.alert.encrypted_failure", tls13_refused_encrypted, {9},
     {"encrypted alert from the server", "frame 9", "after the finished"}, tls13_clean},
    /* certificates.rules */
    {"tls.client_certificate.missing", client_cert_refused, {7, 8, 9},
     {"frame 7", "empty Certificate message (frame 8)", "one of the 9 CAs", "(failed_alert, frame 9)"},
     empty_cert_accepted},
    {"tls.server_certificate.no_server_auth", client_auth_only_cert, {6},
     {"CN=www.example.com,O=Example Corp,C=US", "frame 6"}, tls12_clean},
    {"tls.server_certificate.expired", expired_cert, {6},
     {"CN=www.example.com,O=Example Corp,C=US", "until 2024-01-31T23:59:59Z", "frame 6"}, tls12_clean},
    {"tls.server_certificate.not_yet_valid", future_cert, {6}, {"CN=www.example.com,O=Example Corp,C=US", "frame 6"},
     tls12_clean},
    {"tls.server_certificate.self_signed", self_signed_cert, {6}, {"CN=www.example.com,O=Example Corp,C=US", "frame 6"},
     tls12_clean},
    {"tls.server_certificate.name_mismatch", wrong_name_cert, {4, 6},
     {"(intranet.example.com)", "asked for intranet.example.com", "frame 4", "CN=www.example.com", "frame 6"},
     tls12_clean},
    {"tls.certificate_request.ca_list_oversize", ca_list_oversize_accepted, {7},
     {"over 16 KB", "frame 7", "126 CAs in 17000 bytes", "well formed: yes"}, ca_list_small_accepted},
    /* key_exchange.rules */
    {"tls.cipher.no_shared_cipher", no_shared_cipher, {4, 5},
     {"offered 2 cipher suites", "frame 4", "(frame 5)", "none of them is enabled"}, version_mismatch},
    {"tls.dhe.short_key.failed", dhe_short_failed, {6, 9},
     {"prime is 256 bytes", "the server's Ys (ServerKeyExchange) is 255 bytes (frame 6)",
      "ended failed_alert (frame 9)"},
     dhe_equal_failed},
    {"tls.dhe.short_key", dhe_short_ok, {6}, {"prime is 256 bytes", "the server's Ys (ServerKeyExchange) is 255 bytes"},
     dhe_equal_ok},
    {"server.dhe.short_key_pattern", dhe_server_pattern, {4711},
     {"at 192.0.2.10:443", "Of 512 DHE handshakes", "3 failed", "2 of the failed ones", "(3 short in all)"},
     dhe_server_no_pattern},
    {"tls.dhe.weak_group", dhe_1024, {6}, {"1024-bit group", "128 bytes (1024 bits", "frame 6"}, dhe_equal_ok},
    /* renegotiation.rules */
    {"tls.renegotiation.tls13_attempt", tls13_client_hello_after_done, {8, 14},
     {"(frame 8)", "the client sent a handshake message in the clear (frame 14)"}, tls13_hrr},
    {"tls.renegotiation.tls12", tls12_server_renegotiation, {9, 15},
     {"by the server", "(frame 9)", "(frame 15", "5 handshake records", "secure renegotiation: yes"}, tls12_clean},
    {"tls.renegotiation.insecure", tls12_insecure_renegotiation, {4, 15}, {"(frame 15)"}, tls12_server_renegotiation},
    {"server.tls13_client_cert_trap", server_cert_trap, {120, 204},
     {"192.0.2.10:443 asks", "on 5 connection(s)", "frame 120", "3 TLS 1.3 connection(s)", "frame 204"},
     server_cert_no_trap},
    {"tls.cbc.record_split.failed", cbc_split_reset, {9, 10}, {"(frame 9)", "ended with rst (last frame 10)"},
     cbc_split_ok},
    {"tls.cbc.record_split", cbc_split_ok, {10}, {"(frame 10)"}, cbc_no_split},
    /* versions.rules */
    {"tls.version.mismatch", version_mismatch, {4, 5},
     {"offered TLS 1.1 to TLS 1.2", "frame 4", "(frame 5)"}, no_shared_cipher},
    {"tls.version.mismatch.server_max", reset_by_tls10_server, {4, 5},
     {"at most TLS 1.0", "offered TLS 1.2 to TLS 1.3", "(reset, frame 5)", "more than TLS 1.0"},
     reset_after_client_hello},
    {"tls.version.refused_by_client", tls10_refused_by_client, {6, 8},
     {"(TLS 1.0)", "selected TLS 1.0", "frame 6", "(frame 8)", "up to TLS 1.2"}, tls10_accepted},
    {"tls.version.reset_after_client_hello", reset_after_client_hello, {4, 5},
     {"(frame 4)", "by reset (frame 5)", "up to TLS 1.3"}, client_reset_after_client_hello},
    {"tls.version.not_offered", tls11_not_offered, {4, 6},
     {"(frame 6) selects TLS 1.1", "frame 4: TLS 1.2 to TLS 1.3"}, tls12_for_tls13_client},
    {"tls.version.fallback_retry", fallback_retry, {4}, {"(frame 4)", "(TLS 1.1)"}, tls11_first_attempt},
    {"tls.version.deprecated", tls10_accepted, {6}, {"(TLS 1.0)", "frame 6"}, tls12_clean},
};

#define NUM_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static const struct scenario *scenario_find(const char *id)
{
    for (size_t i = 0; i < NUM_SCENARIOS; i++) {
        if (strcmp(scenarios[i].id, id) == 0) {
            return &scenarios[i];
        }
    }
    return NULL;
}

static bool is_word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* has_unknown: s has the word "unknown" (what the engine writes for an absent field), not inside a name such as
 * unknown_ca. */
static bool has_unknown(const char *s)
{
    for (const char *p = strstr(s, "unknown"); p != NULL; p = strstr(p + 1, "unknown")) {
        if ((p == s || !is_word_char(p[-1])) && !is_word_char(p[7])) {
            return true;
        }
    }
    return false;
}

/* no_unknown: a rendered text says "unknown" only where its template says it literally. */
static bool no_unknown(const char *rendered, const char *tmpl)
{
    return has_unknown(tmpl) || !has_unknown(rendered);
}

static void check_positive(const struct td_ruleset *rs, const struct scenario *s)
{
    struct hits *h = run(rs, s->positive);
    const struct hit *x = find_hit(h, s->id);
    CHECK(x != NULL, "%s: its positive scenario did not fire it (fired: %s)", s->id, ids(h));
    if (x == NULL) {
        free(h);
        return;
    }
    CHECK(count_hits(h, s->id) == 1, "%s fired %zu times", s->id, count_hits(h, s->id));
    size_t n = 0;
    while (n < TD_MAX_EVIDENCE && s->evidence[n] != 0) {
        n++;
    }
    bool same = x->num_evidence == n;
    for (size_t i = 0; same && i < n; i++) {
        same = x->evidence[i] == s->evidence[i];
    }
    CHECK(same, "%s: evidence %zu frames (first %llu), expected %zu (first %llu)", s->id, x->num_evidence,
          (unsigned long long)(x->num_evidence > 0 ? x->evidence[0] : 0), n, (unsigned long long)s->evidence[0]);
    for (size_t i = 0; i < 8 && s->texts[i] != NULL; i++) {
        bool has = strstr(x->title, s->texts[i]) != NULL || strstr(x->explanation, s->texts[i]) != NULL;
        CHECK(has, "%s: \"%s\" not in title \"%s\" / explanation \"%s\"", s->id, s->texts[i], x->title,
              x->explanation);
    }
    CHECK(x->absent[0] == '\0', "%s: its texts name %s, absent in the scenario", s->id, x->absent);
    const struct td_rule_info *r = td_ruleset_find(rs, s->id);
    CHECK(no_unknown(x->title, r->title), "%s: title says unknown: %s", s->id, x->title);
    CHECK(no_unknown(x->explanation, r->explanation), "%s: explanation says unknown: %s", s->id, x->explanation);
    free(h);
}

static void check_negative(const struct td_ruleset *rs, const struct scenario *s)
{
    struct hits *h = run(rs, s->negative);
    CHECK(!fired(h, s->id), "%s: fired on its near miss (fired: %s)", s->id, ids(h));
    free(h);
}

/* ---- tests ---- */

/* Every loaded rule has a scenario and every scenario names a loaded rule. */
static void test_every_rule_has_scenarios(void)
{
    struct td_ruleset *rs = builtin();
    CU_ASSERT(td_ruleset_count(rs) > 0);
    for (size_t i = 0; i < td_ruleset_count(rs); i++) {
        const struct td_rule_info *r = td_ruleset_rule_at(rs, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CHECK(scenario_find(r->id) != NULL, "built-in rule %s (%s) has no scenario", r->id, r->source);
    }
    for (size_t i = 0; i < NUM_SCENARIOS; i++) {
        CHECK(td_ruleset_find(rs, scenarios[i].id) != NULL, "scenario for %s: no such built-in rule", scenarios[i].id);
        CHECK(scenarios[i].positive != NULL && scenarios[i].negative != NULL && scenarios[i].evidence[0] != 0,
              "scenario for %s is incomplete", scenarios[i].id);
        CHECK(scenario_find(scenarios[i].id) == &scenarios[i], "scenario for %s is listed twice", scenarios[i].id);
    }
    CU_ASSERT_EQUAL(td_ruleset_count(rs), NUM_SCENARIOS);
    td_ruleset_free(rs);
}

static void test_positive_scenarios(void)
{
    struct td_ruleset *rs = builtin();
    for (size_t i = 0; i < NUM_SCENARIOS; i++) {
        if (td_ruleset_find(rs, scenarios[i].id) != NULL) {
            check_positive(rs, &scenarios[i]);
        }
    }
    td_ruleset_free(rs);
}

static void test_negative_scenarios(void)
{
    struct td_ruleset *rs = builtin();
    for (size_t i = 0; i < NUM_SCENARIOS; i++) {
        check_negative(rs, &scenarios[i]);
    }
    td_ruleset_free(rs);
}

/* KB 2801679: alert 47 after a CertificateRequest over 16384 bytes or cut short is the CA-list rule, not the
 * generic one; an oversize list without the alert is only a warning; a small list gets the generic rule. */
static void test_ca_list_family(void)
{
    static const char *const ca_list = "tls.alert.illegal_parameter.ca_list";
    static const char *const generic = "tls.alert.illegal_parameter";
    static const char *const oversize = "tls.certificate_request.ca_list_oversize";
    struct td_ruleset *rs = builtin();
    void (*const refused[])(struct conn *) = {ca_list_refused, ca_list_truncated_refused};
    for (size_t i = 0; i < 2; i++) {
        struct hits *h = run(rs, refused[i]);
        CHECK(fired(h, ca_list) && !fired(h, generic) && !fired(h, oversize), "CA list refused (%zu): fired %s", i,
              ids(h));
        const struct hit *x = find_hit(h, ca_list);
        CHECK(x == NULL || x->severity == TD_SEVERITY_ERROR, "the CA-list refusal is an error");
        free(h);
    }

    struct hits *h = run(rs, ca_list_oversize_accepted);
    CHECK(h->num == 1 && fired(h, oversize), "oversize list, no alert: fired %s (expected only %s)", ids(h), oversize);
    CHECK(h->num == 1 && h->v[0].severity == TD_SEVERITY_WARNING, "the oversize list alone is a warning");
    free(h);

    h = run(rs, ca_list_small_refused);
    CHECK(fired(h, generic) && !fired(h, ca_list) && !fired(h, oversize), "small list refused: fired %s", ids(h));
    free(h);

    h = run(rs, ca_list_oversize_handshake_failure);
    CHECK(!fired(h, ca_list) && !fired(h, generic) && fired(h, oversize) && fired(h, "tls.alert.handshake_failure"),
          "oversize list, alert 40: fired %s", ids(h));
    free(h);
    td_ruleset_free(rs);
}

/* RFC 5246 §8.1.2: a short Ys or Yc with a failure is the error rule, with a success the warning; equal
 * lengths are neither. */
static void test_dhe_family(void)
{
    static const char *const failed = "tls.dhe.short_key.failed";
    static const char *const warn = "tls.dhe.short_key";
    struct td_ruleset *rs = builtin();
    void (*const short_failed[])(struct conn *) = {dhe_short_failed, dhe_short_yc_failed};
    for (size_t i = 0; i < 2; i++) {
        struct hits *h = run(rs, short_failed[i]);
        const struct hit *x = find_hit(h, failed);
        CHECK(x != NULL && x->severity == TD_SEVERITY_ERROR && !fired(h, warn), "short key, failed (%zu): fired %s",
              i, ids(h));
        free(h);
    }
    struct hits *h = run(rs, dhe_short_ok);
    const struct hit *x = find_hit(h, warn);
    CHECK(x != NULL && x->severity == TD_SEVERITY_WARNING && !fired(h, failed), "short key, success: fired %s",
          ids(h));
    free(h);
    void (*const equal[])(struct conn *) = {dhe_equal_failed, dhe_equal_ok};
    for (size_t i = 0; i < 2; i++) {
        h = run(rs, equal[i]);
        CHECK(!fired(h, failed) && !fired(h, warn), "equal lengths (%zu): fired %s", i, ids(h));
        free(h);
    }
    td_ruleset_free(rs);
}

/* RFC 8446 §4.1.2: a plaintext ClientHello after a TLS 1.3 handshake is a renegotiation attempt; a second
 * ClientHello after a HelloRetryRequest is part of the handshake and no renegotiation at all. */
static void test_renegotiation_family(void)
{
    struct td_ruleset *rs = builtin();
    struct hits *h = run(rs, tls13_client_hello_after_done);
    CHECK(fired(h, "tls.renegotiation.tls13_attempt") && !fired(h, "tls.renegotiation.tls12") &&
              !fired(h, "tls.renegotiation.insecure"),
          "TLS 1.3 ClientHello after completion: fired %s", ids(h));
    free(h);
    h = run(rs, tls13_hrr);
    for (size_t i = 0; i < h->num; i++) {
        CHECK(strncmp(h->v[i].id, "tls.renegotiation.", 18) != 0, "HRR: %s fired", h->v[i].id);
    }
    free(h);
    td_ruleset_free(rs);
}

/* Clean handshakes draw no warning or error from any rule at any evaluation point. */
static void test_clean_connections(void)
{
    struct td_ruleset *rs = builtin();
    void (*const clean[])(struct conn *) = {tls12_clean, tls13_clean, tls13_hrr, tls12_for_tls13_client};
    static const char *const names[] = {"TLS 1.2 ECDHE", "TLS 1.3", "TLS 1.3 after HRR", "TLS 1.2 to a 1.3 client"};
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        struct hits *h = run(rs, clean[i]);
        for (size_t k = 0; k < h->num; k++) {
            CHECK(h->v[k].severity == TD_SEVERITY_INFO, "clean %s: %s (%s) fired", names[i], h->v[k].id,
                  td_severity_name(h->v[k].severity));
        }
        free(h);
    }
    td_ruleset_free(rs);
}

static CU_TestInfo tests[] = {
    {"every_rule_has_scenarios", test_every_rule_has_scenarios},
    {"positive_scenarios", test_positive_scenarios},
    {"negative_scenarios", test_negative_scenarios},
    {"ca_list_family", test_ca_list_family},
    {"dhe_family", test_dhe_family},
    {"renegotiation_family", test_renegotiation_family},
    {"clean_connections", test_clean_connections},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("builtin_rules", tests)
