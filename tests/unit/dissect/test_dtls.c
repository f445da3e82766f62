/* SPDX-License-Identifier: MIT */
/* test_dtls.c: the DTLS record layer (dissect/dtls.c) and what the state machine makes of it, fed datagrams built
 * here from the RFC layouts: DTLSPlaintext records (RFC 6347 §4.1), handshake fragments (§4.2.2), the DTLS
 * ClientHello with its cookie and HelloVerifyRequest (§4.2.1), DTLS 1.3 unified-header records (RFC 9147 §4).
 * Expected values are those of the bytes written here. The corpus's DTLS captures run through the whole tool in
 * the golden cases tests/golden/corpus-*dtls* and the differential test against tshark (tests/diff). */
#include "../testlib.h"
#include "fp_of.h"

#include <stdio.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
/* ASan's allocator interface (compiler-rt sanitizer/allocator_interface.h, not installed with gcc 12). */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

#include "../../../capture/decode.h"
#include "../../../capture/flow.h"
#include "../../../dissect/fields.h"
#include "../../../dissect/tls.h"

#define C2S TD_DIR_C2S
#define S2C TD_DIR_S2C

#define CT_CCS 20
#define CT_ALERT 21
#define CT_HS 22
#define CT_APP 23

/* --- a byte builder for test datagrams --- */

struct buf {
    uint8_t b[8192];
    size_t len;
};

static void put_u8(struct buf *w, unsigned v)
{
    CU_ASSERT_FATAL(w->len < sizeof(w->b));
    w->b[w->len++] = (uint8_t)v;
}

static void put_u16(struct buf *w, unsigned v)
{
    put_u8(w, v >> 8);
    put_u8(w, v & 0xff);
}

static void put_u24(struct buf *w, uint32_t v)
{
    put_u8(w, (v >> 16) & 0xff);
    put_u16(w, v & 0xffff);
}

static void put_bytes(struct buf *w, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_u8(w, p[i]);
    }
}

static void put_fill(struct buf *w, unsigned v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_u8(w, v);
    }
}

/* DTLSPlaintext { ContentType type; ProtocolVersion version; uint16 epoch; uint48 sequence_number;
 *                 uint16 length; opaque fragment[length]; }   (RFC 6347 §4.1) */
static void put_record(struct buf *w, unsigned type, unsigned version, unsigned epoch, unsigned seq,
                       const uint8_t *body, size_t len)
{
    put_u8(w, type);
    put_u16(w, version);
    put_u16(w, epoch);
    put_u16(w, 0);
    put_u16(w, 0);
    put_u16(w, seq);
    put_u16(w, (unsigned)len);
    put_bytes(w, body, len);
}

/* Handshake { msg_type; uint24 length; uint16 message_seq; uint24 fragment_offset; uint24 fragment_length;
 *             body[fragment_length] }   (RFC 6347 §4.2.2); body points at the whole message body. */
static void put_fragment(struct buf *w, unsigned type, uint32_t msg_len, unsigned seq, uint32_t off, uint32_t len,
                         const uint8_t *body)
{
    put_u8(w, type);
    put_u24(w, msg_len);
    put_u16(w, seq);
    put_u24(w, off);
    put_u24(w, len);
    if (body != NULL) {
        put_bytes(w, body + off, len);
    }
}

/* A handshake record holding one whole message. */
static void put_hs_record(struct buf *w, unsigned version, unsigned rec_seq, unsigned type, unsigned msg_seq,
                          const struct buf *msg)
{
    struct buf r = {.len = 0};
    put_fragment(&r, type, (uint32_t)msg->len, msg_seq, 0, (uint32_t)msg->len, msg->b);
    put_record(w, CT_HS, version, 0, rec_seq, r.b, r.len);
}

/* ClientHello (RFC 6347 §4.2.1): client_version, random[32], session_id<0..32>, cookie<0..2^8-1>,
 * cipher_suites<2..2^16-1>, compression_methods<1..2^8-1>, extensions: server_name "example.com" and, when
 * dtls13, supported_versions {0xfefc, 0xfefd}. random_byte fills the random. */
static void client_hello(struct buf *m, uint8_t random_byte, size_t cookie_len, bool dtls13)
{
    m->len = 0;
    put_u16(m, 0xfefd);
    put_fill(m, random_byte, 32);
    put_u8(m, 0);                   /* session_id */
    put_u8(m, (unsigned)cookie_len); /* cookie */
    put_fill(m, 0xc0, cookie_len);
    put_u16(m, 4);                  /* cipher_suites: ECDHE-RSA-AES128-GCM-SHA256, TLS_AES_128_GCM_SHA256 */
    put_u16(m, 0xc02f);
    put_u16(m, 0x1301);
    put_u8(m, 1);
    put_u8(m, 0);
    size_t ext_len = 20 + (dtls13 ? 9 : 0);
    put_u16(m, (unsigned)ext_len);
    put_u16(m, 0x0000);             /* server_name: list<2> { host_name(0), name<2> "example.com" } */
    put_u16(m, 16);
    put_u16(m, 14);
    put_u8(m, 0);
    put_u16(m, 11);
    put_bytes(m, (const uint8_t *)"example.com", 11);
    if (dtls13) {
        put_u16(m, 0x002b);         /* supported_versions: versions<1> { 0xfefc, 0xfefd } */
        put_u16(m, 5);
        put_u8(m, 4);
        put_u16(m, 0xfefc);
        put_u16(m, 0xfefd);
    }
}

/* ServerHello: server_version, random[32], session_id<0>, cipher_suite, compression_method, extensions (DTLS 1.3:
 * supported_versions selected_version 0xfefc). */
static void server_hello(struct buf *m, unsigned cipher, bool dtls13)
{
    m->len = 0;
    put_u16(m, 0xfefd);
    put_fill(m, 0x5e, 32);
    put_u8(m, 0);
    put_u16(m, cipher);
    put_u8(m, 0);
    if (dtls13) {
        put_u16(m, 6);
        put_u16(m, 0x002b);
        put_u16(m, 2);
        put_u16(m, 0xfefc);
    } else {
        put_u16(m, 0);
    }
}

static const struct td_limits *limits(void)
{
    static struct td_limits l;
    l = td_limits_default();
    return &l;
}

static void feed(struct td_tls_conn *c, int dir, const struct buf *w, uint64_t frame)
{
    td_tls_conn_datagram(c, dir, w->b, w->len, frame, (int64_t)frame * 1000);
}

static uint32_t count_anomaly(const struct td_tls_facts *f, enum td_anomaly a)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->num_anomalies; i++) {
        n += f->anomalies[i].code == a ? 1u : 0u;
    }
    return n;
}

static uint32_t count_events(const struct td_tls_facts *f, int kind, int32_t detail)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->num_events; i++) {
        n += f->timeline[i].kind == kind && f->timeline[i].detail == detail ? 1u : 0u;
    }
    return n;
}

static bool field_int(const struct td_tls_facts *f, const char *name, int64_t *v)
{
    const struct td_field *fd = td_field_find(name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fd);
    struct td_fact_ctx ctx = {.tls = f};
    struct td_value out;
    if (!fd->get(&ctx, &out)) {
        return false;
    }
    *v = out.i;
    return true;
}

/* --- tests --- */

/* A ClientHello in three fragments, sent in three datagrams in the order 3, 1, 2. */
static void test_fragmented_client_hello_out_of_order(void)
{
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct buf ch;
    client_hello(&ch, 0x11, 0, false);
    uint32_t n = (uint32_t)ch.len; /* 2 + 32 + 1 + 1 + 2 + 4 + 1 + 1 + 2 + 20 = 66 */
    CU_ASSERT_EQUAL_FATAL(n, 66);
    const uint32_t cut[4] = {0, 25, 50, n};
    const int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        int i = order[k];
        struct buf frag = {.len = 0}, dg = {.len = 0};
        put_fragment(&frag, 1, n, 0, cut[i], cut[i + 1] - cut[i], ch.b);
        put_record(&dg, CT_HS, 0xfeff, 0, (unsigned)k, frag.b, frag.len);
        feed(c, C2S, &dg, (uint64_t)k + 1);
        /* nothing is handed over before the last piece */
        CU_ASSERT_EQUAL(td_tls_conn_facts(c)->client_hellos_seen, k == 2 ? 1u : 0u);
    }
    td_tls_conn_finish(c, 3, 3000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_TRUE(f->is_tls);
    CU_ASSERT_TRUE(f->dtls);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[CT_HS - CT_CCS], 3);
    CU_ASSERT_EQUAL_FATAL(f->num_client_hellos, 1);
    const struct td_client_hello *h = f->client_hellos[0];
    CU_ASSERT_EQUAL(h->ev.frame, 3); /* the datagram that completed it */
    CU_ASSERT_TRUE(h->dtls);
    CU_ASSERT_EQUAL(h->record_version, 0xfeff); /* the record that carried its first fragment seen */
    CU_ASSERT_EQUAL(h->legacy_version, 0xfefd);
    CU_ASSERT_EQUAL(h->cookie_len, 0);
    CU_ASSERT_EQUAL(h->ciphers.num, 2);
    CU_ASSERT_EQUAL(h->anomaly, TD_ANOM_NONE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h->sni);
    CU_ASSERT_STRING_EQUAL(h->sni, "example.com");
    /* JA4: 'd' (DTLS), "d2" (DTLS 1.2 from legacy_version), 'd' (SNI), 02 ciphers, 01 extension, "00" no ALPN */
    CU_ASSERT_NSTRING_EQUAL(fp_of(h)->ja4, "dd2d020100_", 11);
    CU_ASSERT_EQUAL(count_events(f, TD_EV_HANDSHAKE, 1), 1);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_INCOMPLETE);
    CU_ASSERT_EQUAL(f->outcome_after_msg, 1);
    td_tls_conn_free(c);
}

/* The DTLS 1.2 exchange of RFC 6347 §4.2.1 (cookie) and §4.2.4 (flights):
 *   1 C: ClientHello(seq 0, no cookie)      2 S: HelloVerifyRequest(seq 0, cookie 8 bytes)
 *   3 C: ClientHello(seq 1, cookie)         4 S: ServerHello(seq 1), ServerHelloDone(seq 2) in one record pair
 *   5 C: ClientKeyExchange(seq 2), ChangeCipherSpec, Finished (epoch 1)
 *   6 S: ChangeCipherSpec, Finished (epoch 1)
 *   7 C: the flight of frame 5 again        8 C: application data (epoch 1)     9 C: close_notify (epoch 1) */
static struct td_tls_conn *run_dtls12(bool resend)
{
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct buf m, dg;
    client_hello(&m, 0x22, 0, false);
    dg.len = 0;
    put_hs_record(&dg, 0xfeff, 0, 1, 0, &m);
    feed(c, C2S, &dg, 1);

    m.len = 0; /* HelloVerifyRequest { server_version; cookie<0..2^8-1> } */
    put_u16(&m, 0xfeff);
    put_u8(&m, 8);
    put_fill(&m, 0xc0, 8);
    dg.len = 0;
    put_hs_record(&dg, 0xfeff, 0, 3, 0, &m);
    feed(c, S2C, &dg, 2);

    client_hello(&m, 0x22, 8, false);
    dg.len = 0;
    put_hs_record(&dg, 0xfeff, 1, 1, 1, &m);
    feed(c, C2S, &dg, 3);

    server_hello(&m, 0xc02f, false);
    dg.len = 0;
    put_hs_record(&dg, 0xfefd, 1, 2, 1, &m);
    struct buf empty = {.len = 0};
    put_hs_record(&dg, 0xfefd, 2, 14, 2, &empty);
    feed(c, S2C, &dg, 4);

    struct buf flight = {.len = 0};
    m.len = 0; /* ClientKeyExchange, ECDHE: ECPoint<1..2^8-1> (RFC 8422 §5.7) */
    put_u8(&m, 65);
    put_u8(&m, 4);
    put_fill(&m, 0x44, 64);
    put_hs_record(&flight, 0xfefd, 2, 16, 2, &m);
    const uint8_t one = 1;
    put_record(&flight, CT_CCS, 0xfefd, 0, 3, &one, 1);
    uint8_t sealed[40];
    memset(sealed, 0x99, sizeof(sealed));
    put_record(&flight, CT_HS, 0xfefd, 1, 0, sealed, sizeof(sealed));
    feed(c, C2S, &flight, 5);

    dg.len = 0;
    put_record(&dg, CT_CCS, 0xfefd, 0, 3, &one, 1);
    put_record(&dg, CT_HS, 0xfefd, 1, 0, sealed, sizeof(sealed));
    feed(c, S2C, &dg, 6);

    if (resend) {
        feed(c, C2S, &flight, 7);
    }
    dg.len = 0;
    put_record(&dg, CT_APP, 0xfefd, 1, 1, sealed, 33);
    feed(c, C2S, &dg, 8);
    dg.len = 0;
    put_record(&dg, CT_ALERT, 0xfefd, 1, 2, sealed, 26);
    feed(c, C2S, &dg, 9);
    td_tls_conn_finish(c, 9, 9000);
    return c;
}

static void test_hello_verify_request_cookie_retry(void)
{
    struct td_tls_conn *c = run_dtls12(false);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_TRUE(f->dtls);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 2);
    CU_ASSERT_EQUAL_FATAL(f->num_client_hellos, 2);
    CU_ASSERT_EQUAL(f->client_hellos[0]->cookie_len, 0);
    CU_ASSERT_EQUAL(f->client_hellos[1]->cookie_len, 8);
    CU_ASSERT_EQUAL(f->client_hellos[1]->ev.frame, 3);
    CU_ASSERT_EQUAL(f->dtls_hello_verify_requests, 1);
    CU_ASSERT_EQUAL(f->dtls_hello_verify_request.frame, 2);
    CU_ASSERT_EQUAL(f->dtls_cookie_len, 8);
    CU_ASSERT_EQUAL(count_events(f, TD_EV_HANDSHAKE, 3), 1);
    CU_ASSERT_EQUAL(f->version, 0xfefd);
    CU_ASSERT_EQUAL(f->cipher, 0xc02f);
    CU_ASSERT_EQUAL(f->kx.kind, TD_KX_ECDHE);
    CU_ASSERT_TRUE(f->kx.has_cke);
    CU_ASSERT_EQUAL(f->kx.ec_client_point_len, 65);
    CU_ASSERT_EQUAL(f->ccs[TD_ROLE_CLIENT].frame, 5);
    CU_ASSERT_EQUAL(f->finished[TD_ROLE_CLIENT].frame, 5);
    CU_ASSERT_EQUAL(f->finished[TD_ROLE_SERVER].frame, 6);
    CU_ASSERT_EQUAL(f->handshake_done.frame, 6);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_ESTABLISHED);
    /* the cookie retry is the same handshake: no renegotiation, nothing after completion */
    CU_ASSERT_EQUAL(f->hs_records_after_done[TD_ROLE_CLIENT] + f->hs_records_after_done[TD_ROLE_SERVER], 0);
    CU_ASSERT_EQUAL(f->dtls_retransmitted[TD_ROLE_CLIENT] + f->dtls_retransmitted[TD_ROLE_SERVER], 0);
    CU_ASSERT_EQUAL(f->first_app_data[TD_ROLE_CLIENT].frame, 8);
    CU_ASSERT_EQUAL(f->app_data_bytes[TD_ROLE_CLIENT], 33);
    /* the epoch 1 alert is protected: counted, never read */
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT_TRUE(f->alerts[0].encrypted);
    CU_ASSERT_EQUAL(f->alerts[0].ev.frame, 9);
    /* fields: DTLS wire versions, names, comparable versions */
    int64_t v;
    CU_ASSERT_TRUE(field_int(f, "tls.version", &v) && v == 0xfefd);
    CU_ASSERT_TRUE(field_int(f, "tls.version_as_tls", &v) && v == 0x0303);
    CU_ASSERT_TRUE(field_int(f, "tls.dtls", &v) && v == 1);
    CU_ASSERT_TRUE(field_int(f, "tls.dtls.hello_verify_request", &v) && v == 1);
    CU_ASSERT_TRUE(field_int(f, "tls.client_hello.max_version", &v) && v == 0xfefd);
    CU_ASSERT_TRUE(field_int(f, "tls.client_hello.min_version", &v) && v == 0xfeff);
    CU_ASSERT_TRUE(field_int(f, "tls.server_hello.version_offered", &v) && v == 1);
    CU_ASSERT_TRUE(field_int(f, "tls.tls13", &v) && v == 0);
    CU_ASSERT_TRUE(field_int(f, "tls.client_hello.offers_tls13", &v) && v == 0);
    td_tls_conn_free(c);
}

/* Frame 7 sends the client's last flight again (ClientKeyExchange, ChangeCipherSpec, Finished): counted as three
 * resent pieces, not parsed, not taken for a renegotiation after completion. */
static void test_retransmitted_flight(void)
{
    struct td_tls_conn *c = run_dtls12(true);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    CU_ASSERT_EQUAL(f->dtls_retransmitted[TD_ROLE_CLIENT], 3);
    CU_ASSERT_EQUAL(f->dtls_retransmitted[TD_ROLE_SERVER], 0);
    CU_ASSERT_EQUAL(f->hs_records_after_done[TD_ROLE_CLIENT], 0);
    CU_ASSERT_EQUAL(f->plaintext_hs_after_done[TD_ROLE_CLIENT], 0);
    CU_ASSERT_EQUAL(count_events(f, TD_EV_HANDSHAKE, 16), 1);     /* one ClientKeyExchange */
    CU_ASSERT_EQUAL(count_events(f, TD_EV_CHANGE_CIPHER_SPEC, 0), 2); /* one per side */
    /* every record is counted: 3 hello records, CKE twice, 2 Finished twice */
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[CT_HS - CT_CCS], 2 + 2 + 2);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[CT_CCS - CT_CCS], 2);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_ESTABLISHED);
    CU_ASSERT_EQUAL(f->handshake_done.frame, 6);
    int64_t v;
    CU_ASSERT_TRUE(field_int(f, "tls.dtls.retransmitted", &v) && v == 3);
    td_tls_conn_free(c);
}

/* A ClientHello sent twice (the server's answer lost) is one ClientHello; a fresh one with the same message_seq
 * but another random is a new handshake. */
static void test_resent_client_hello(void)
{
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct buf m, dg = {.len = 0};
    client_hello(&m, 0x33, 0, false);
    put_hs_record(&dg, 0xfefd, 0, 1, 0, &m);
    feed(c, C2S, &dg, 1);
    feed(c, C2S, &dg, 2);
    CU_ASSERT_EQUAL(td_tls_conn_facts(c)->client_hellos_seen, 1);
    CU_ASSERT_EQUAL(td_tls_conn_facts(c)->dtls_retransmitted[TD_ROLE_CLIENT], 1);
    client_hello(&m, 0x34, 0, false);
    dg.len = 0;
    put_hs_record(&dg, 0xfefd, 0, 1, 0, &m);
    feed(c, C2S, &dg, 3);
    td_tls_conn_finish(c, 3, 3000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 2);
    CU_ASSERT_EQUAL(f->dtls_retransmitted[TD_ROLE_CLIENT], 1);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    td_tls_conn_free(c);
}

/* An epoch 0 alert is plaintext (fatal handshake_failure(40) after the ClientHello): the handshake failed. */
static void test_plaintext_alert(void)
{
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct buf m, dg = {.len = 0};
    client_hello(&m, 0x44, 0, false);
    put_hs_record(&dg, 0xfefd, 0, 1, 0, &m);
    feed(c, C2S, &dg, 1);
    const uint8_t alert[2] = {2, 40};
    dg.len = 0;
    put_record(&dg, CT_ALERT, 0xfefd, 0, 0, alert, 2);
    feed(c, S2C, &dg, 2);
    td_tls_conn_finish(c, 2, 2000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT_FALSE(f->alerts[0].encrypted);
    CU_ASSERT_EQUAL(f->alerts[0].level, 2);
    CU_ASSERT_EQUAL(f->alerts[0].description, 40);
    CU_ASSERT_EQUAL(f->alerts[0].role, TD_ROLE_SERVER);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
    CU_ASSERT_EQUAL(f->outcome_alert, 40);
    CU_ASSERT_EQUAL(f->outcome_role, TD_ROLE_SERVER);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 2);
    CU_ASSERT_EQUAL(f->outcome_after_msg, 1);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    td_tls_conn_free(c);
}

/* An epoch 1 handshake record of a connection picked up late: protected, only its header is read. */
static void test_epoch1_record(void)
{
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    /* body bytes that would read as a ClientHello fragment header if they were parsed */
    uint8_t body[48];
    memset(body, 0x01, sizeof(body));
    struct buf dg = {.len = 0};
    put_record(&dg, CT_HS, 0xfefd, 1, 7, body, sizeof(body));
    put_record(&dg, CT_APP, 0xfefd, 1, 8, body, 20);
    feed(c, C2S, &dg, 1);
    td_tls_conn_finish(c, 1, 1000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_TRUE(f->dtls);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 0);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[CT_HS - CT_CCS], 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].bytes[CT_HS - CT_CCS], 48);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[CT_APP - CT_CCS], 1);
    CU_ASSERT_EQUAL(f->encrypted_from[TD_ROLE_CLIENT].frame, 1);
    CU_ASSERT_EQUAL(count_events(f, TD_EV_HANDSHAKE, TD_HS_ENCRYPTED), 1);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    td_tls_conn_free(c);
}

/* DTLS 1.3 (RFC 9147): plaintext ClientHello/ServerHello, then unified-header records 001CSLEE:
 *   server: 0x2e = S (16-bit seq), L (length), epoch 2: 2e 0001 0028 + 40 bytes; then 0x26 = L, 8-bit seq:
 *           26 02 0010 + 16 bytes, and 0x22 = neither (8-bit seq, to the end of the datagram): 22 03 + 30 bytes
 *   client: 0x2e 0000 0032 + 50 bytes (its Finished flight) */
static void test_dtls13_unified_header(void)
{
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct buf m, dg = {.len = 0};
    client_hello(&m, 0x55, 0, true);
    put_hs_record(&dg, 0xfeff, 0, 1, 0, &m);
    feed(c, C2S, &dg, 1);
    server_hello(&m, 0x1301, true);
    dg.len = 0;
    put_hs_record(&dg, 0xfefd, 0, 2, 0, &m);
    feed(c, S2C, &dg, 2);

    dg.len = 0;
    put_u8(&dg, 0x2e);
    put_u16(&dg, 1);
    put_u16(&dg, 40);
    put_fill(&dg, 0x16, 40); /* a 0x16 first byte would read as a handshake record if parsed */
    put_u8(&dg, 0x26);
    put_u8(&dg, 2);
    put_u16(&dg, 16);
    put_fill(&dg, 0x77, 16);
    put_u8(&dg, 0x22);
    put_u8(&dg, 3);
    put_fill(&dg, 0x16, 30);
    feed(c, S2C, &dg, 3);
    dg.len = 0;
    put_u8(&dg, 0x2e);
    put_u16(&dg, 0);
    put_u16(&dg, 50);
    put_fill(&dg, 0x15, 50);
    feed(c, C2S, &dg, 4);
    td_tls_conn_finish(c, 4, 4000);

    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    CU_ASSERT_EQUAL(f->version, 0xfefc);
    CU_ASSERT_EQUAL(f->cipher, 0x1301);
    CU_ASSERT_EQUAL(f->dtls_unified_records[TD_ROLE_SERVER], 3);
    CU_ASSERT_EQUAL(f->dtls_unified_records[TD_ROLE_CLIENT], 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].records[CT_APP - CT_CCS], 3);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].bytes[CT_APP - CT_CCS], 40 + 16 + 30);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].records[CT_HS - CT_CCS], 1);
    CU_ASSERT_EQUAL(f->num_alerts, 0);
    /* TLS 1.3 inference: the client's first protected flight completes the handshake */
    CU_ASSERT_EQUAL(f->handshake_done.frame, 4);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_ESTABLISHED);
    CU_ASSERT_EQUAL_FATAL(f->num_client_hellos, 1);
    /* JA4 "d3": DTLS 1.3 is the highest offered although 0xfefc < 0xfefd */
    CU_ASSERT_NSTRING_EQUAL(fp_of(f->client_hellos[0])->ja4, "dd3d020200_", 11);
    int64_t v;
    CU_ASSERT_TRUE(field_int(f, "tls.tls13", &v) && v == 1);
    CU_ASSERT_TRUE(field_int(f, "tls.version_as_tls", &v) && v == 0x0304);
    CU_ASSERT_TRUE(field_int(f, "tls.client_hello.max_version", &v) && v == 0xfefc);
    CU_ASSERT_TRUE(field_int(f, "tls.client_hello.min_version", &v) && v == 0xfefd);
    CU_ASSERT_TRUE(field_int(f, "tls.client_hello.offers_tls13", &v) && v == 1);
    CU_ASSERT_TRUE(field_int(f, "tls.server_hello.version_offered", &v) && v == 1);
    td_tls_conn_free(c);
}

/* Hostile lengths, one connection each, all after a valid ClientHello so the flow is known as DTLS. */
static struct td_tls_conn *known_dtls(void)
{
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct buf m, dg = {.len = 0};
    client_hello(&m, 0x66, 0, false);
    put_hs_record(&dg, 0xfefd, 0, 1, 0, &m);
    feed(c, C2S, &dg, 1);
    return c;
}

static void test_fragment_beyond_message(void)
{
    struct td_tls_conn *c = known_dtls();
    uint8_t body[16] = {0};
    struct buf frag = {.len = 0}, dg = {.len = 0};
    put_fragment(&frag, 2, 10, 0, 8, 5, NULL); /* bytes 8..13 of a 10-byte ServerHello */
    put_bytes(&frag, body, 5);
    put_record(&dg, CT_HS, 0xfefd, 0, 0, frag.b, frag.len);
    feed(c, S2C, &dg, 2);
    td_tls_conn_finish(c, 2, 2000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_DTLS_FRAGMENT_MALFORMED), 1);
    CU_ASSERT_EQUAL(f->server_hellos_seen, 0);
    td_tls_conn_free(c);
}

static void test_giant_message_length(void)
{
    struct td_tls_conn *c = known_dtls();
    uint8_t body[20];
    memset(body, 0xab, sizeof(body));
    struct buf frag = {.len = 0}, dg = {.len = 0};
    put_fragment(&frag, 11, 0xffffff, 0, 0, 20, NULL); /* a 16 MiB Certificate, 20 bytes sent */
    put_bytes(&frag, body, 20);
    put_record(&dg, CT_HS, 0xfefd, 0, 0, frag.b, frag.len);
    feed(c, S2C, &dg, 2);
    td_tls_conn_finish(c, 2, 2000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HS_MSG_TOO_LARGE), 1);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HS_MSG_TRUNCATED), 1); /* never completed */
    CU_ASSERT_PTR_NULL(f->server_certs);
    td_tls_conn_free(c);
}

/* Heap bytes in use, to see what a peer's claims cost (ASan's allocator when it replaces malloc). */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}

/* Eight 1-byte fragments, each the last byte of its own 1,000,000-byte Certificate (message_seq 0..7): what they
 * hold in memory while gathered stays within one max_hs_msg_bytes per direction (docs/SECURITY.md "Worst case":
 * 2 x max_hs_msg_bytes per connection), not eight times it; the messages past it are given up. */
static void test_fragment_offsets_do_not_buy_memory(void)
{
    struct td_tls_conn *c = known_dtls();
    size_t before = heap_in_use();
    for (unsigned seq = 0; seq < 8; seq++) {
        const uint8_t last = 0x42;
        struct buf frag = {.len = 0}, dg = {.len = 0};
        put_fragment(&frag, 11, 1000000, seq, 999999, 1, NULL);
        put_bytes(&frag, &last, 1);
        put_record(&dg, CT_HS, 0xfefd, 0, seq, frag.b, frag.len);
        feed(c, S2C, &dg, (uint64_t)seq + 2);
    }
    size_t grown = heap_in_use() - before;
    CU_ASSERT(grown <= (size_t)limits()->max_hs_msg_bytes + 64u * 1024u);
    td_tls_conn_finish(c, 10, 10000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT(count_anomaly(f, TD_ANOM_REASM_CAP) >= 1);
    CU_ASSERT_PTR_NULL(f->server_certs);
    td_tls_conn_free(c);
}

/* message_seq is a 16-bit counter: the ClientHello with message_seq 65535 sent again after it was handed over
 * (the next expected message_seq wrapped to 0) is a retransmission, not a new handshake. */
static void test_message_seq_wrap(void)
{
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct buf m, dg = {.len = 0};
    client_hello(&m, 0x35, 0, false);
    put_hs_record(&dg, 0xfefd, 0, 1, 65535, &m);
    feed(c, C2S, &dg, 1);
    feed(c, C2S, &dg, 2);
    td_tls_conn_finish(c, 2, 2000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 1);
    CU_ASSERT_EQUAL(f->dtls_retransmitted[TD_ROLE_CLIENT], 1);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    td_tls_conn_free(c);
}

static void test_zero_length_fragment(void)
{
    struct td_tls_conn *c = known_dtls();
    struct buf sh;
    server_hello(&sh, 0xc02f, false);
    struct buf frag = {.len = 0}, dg = {.len = 0};
    put_fragment(&frag, 2, (uint32_t)sh.len, 0, 0, 0, NULL); /* zero bytes of a ServerHello */
    put_record(&dg, CT_HS, 0xfefd, 0, 0, frag.b, frag.len);
    feed(c, S2C, &dg, 2);
    CU_ASSERT_EQUAL(td_tls_conn_facts(c)->server_hellos_seen, 0);
    dg.len = 0;
    put_hs_record(&dg, 0xfefd, 1, 2, 0, &sh);
    feed(c, S2C, &dg, 3);
    td_tls_conn_finish(c, 3, 3000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(f->server_hellos_seen, 1);
    CU_ASSERT_EQUAL(f->version, 0xfefd);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    td_tls_conn_free(c);
}

static void test_fragment_past_record(void)
{
    struct td_tls_conn *c = known_dtls();
    struct buf frag = {.len = 0}, dg = {.len = 0};
    put_fragment(&frag, 2, 100, 0, 0, 100, NULL); /* fragment_length 100, 10 bytes in the record */
    put_fill(&frag, 0, 10);
    put_record(&dg, CT_HS, 0xfefd, 0, 0, frag.b, frag.len);
    /* a record whose length runs past the datagram */
    put_u8(&dg, CT_HS);
    put_u16(&dg, 0xfefd);
    put_u16(&dg, 0);
    put_fill(&dg, 0, 6);
    put_u16(&dg, 500);
    put_fill(&dg, 0, 20);
    feed(c, S2C, &dg, 2);
    td_tls_conn_finish(c, 2, 2000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HS_MSG_TRUNCATED), 1);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RECORD_TRUNCATED), 1);
    CU_ASSERT_EQUAL(f->server_hellos_seen, 0);
    td_tls_conn_free(c);
}

/* Datagrams that are no DTLS leave a fresh connection untouched: STUN (first byte 0x00), a TLS-over-TCP record
 * header (version 0x0303), a lone unified-header byte pattern. */
static void test_not_dtls(void)
{
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct buf dg = {.len = 0};
    put_u16(&dg, 0x0001); /* STUN Binding Request (RFC 8489 §5) */
    put_u16(&dg, 0);
    put_u16(&dg, 0x2112);
    put_u16(&dg, 0xa442);
    put_fill(&dg, 0x01, 12);
    feed(c, C2S, &dg, 1);
    uint8_t body[4] = {1, 0, 0, 0};
    dg.len = 0;
    put_u8(&dg, CT_HS);
    put_u16(&dg, 0x0303);
    put_u16(&dg, 4);
    put_bytes(&dg, body, 4);
    put_fill(&dg, 0, 8);
    feed(c, C2S, &dg, 2);
    dg.len = 0;
    put_u8(&dg, 0x2e);
    put_fill(&dg, 0, 30);
    feed(c, S2C, &dg, 3);
    td_tls_conn_finish(c, 3, 3000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_FALSE(f->is_tls);
    CU_ASSERT_FALSE(f->dtls);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_NOT_TLS);
    td_tls_conn_free(c);
}

/* More records in one datagram than max_records_per_chunk: the rest is dropped with an anomaly. */
static void test_records_per_datagram_cap(void)
{
    struct td_limits l = td_limits_default();
    l.max_records_per_chunk = 2;
    struct td_tls_conn *c = td_tls_conn_new(&l, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct buf dg = {.len = 0};
    uint8_t b[4] = {0};
    for (unsigned i = 0; i < 5; i++) {
        put_record(&dg, CT_APP, 0xfefd, 1, i, b, sizeof(b));
    }
    feed(c, C2S, &dg, 1);
    td_tls_conn_finish(c, 1, 1000);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[CT_APP - CT_CCS], 2);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RECORDS_PER_CHUNK), 1);
    td_tls_conn_free(c);
}

/* Every prefix of a valid flight, and every single-byte corruption of it, is taken without a crash (run under
 * the sanitizers in CI). */
static void test_truncations_and_corruptions(void)
{
    struct buf m, dg = {.len = 0};
    client_hello(&m, 0x77, 4, true);
    struct buf frag = {.len = 0};
    put_fragment(&frag, 1, (uint32_t)m.len, 0, 0, 30, m.b);
    put_fragment(&frag, 1, (uint32_t)m.len, 0, 30, (uint32_t)m.len - 30, m.b);
    put_record(&dg, CT_HS, 0xfefd, 0, 0, frag.b, frag.len);
    const uint8_t alert[2] = {2, 10};
    put_record(&dg, CT_ALERT, 0xfefd, 0, 1, alert, 2);
    for (size_t n = 0; n <= dg.len; n++) {
        struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        td_tls_conn_datagram(c, C2S, dg.b, n, 1, 1);
        td_tls_conn_finish(c, 1, 1);
        td_tls_conn_free(c);
    }
    for (size_t i = 0; i < dg.len; i++) {
        struct buf x = dg;
        x.b[i] ^= 0xff;
        struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        feed(c, C2S, &x, 1);
        feed(c, C2S, &dg, 2);
        feed(c, S2C, &x, 3);
        td_tls_conn_finish(c, 3, 3);
        td_tls_conn_free(c);
    }
    /* the unbroken datagram: one ClientHello from two fragments in one record, then a plaintext alert */
    struct td_tls_conn *c = td_tls_conn_new(limits(), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    feed(c, C2S, &dg, 1);
    td_tls_conn_finish(c, 1, 1);
    const struct td_tls_facts *f = td_tls_conn_facts(c);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 1);
    CU_ASSERT_EQUAL_FATAL(f->num_client_hellos, 1);
    CU_ASSERT_EQUAL(f->client_hellos[0]->cookie_len, 4);
    CU_ASSERT_EQUAL(f->num_alerts, 1);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    td_tls_conn_free(c);
}

static CU_TestInfo tests[] = {
    {"fragmented ClientHello, 3 fragments out of order", test_fragmented_client_hello_out_of_order},
    {"HelloVerifyRequest and the ClientHello retried with the cookie", test_hello_verify_request_cookie_retry},
    {"retransmitted flight counted, not parsed", test_retransmitted_flight},
    {"resent ClientHello vs a new one", test_resent_client_hello},
    {"epoch 0 alert is plaintext", test_plaintext_alert},
    {"epoch 1 record is protected", test_epoch1_record},
    {"DTLS 1.3 unified header records", test_dtls13_unified_header},
    {"hostile: fragment beyond the message length", test_fragment_beyond_message},
    {"hostile: giant message length", test_giant_message_length},
    {"hostile: zero-length fragment", test_zero_length_fragment},
    {"hostile: fragment offsets do not buy memory", test_fragment_offsets_do_not_buy_memory},
    {"hostile: message_seq wrap-around", test_message_seq_wrap},
    {"hostile: fragment and record past their container", test_fragment_past_record},
    {"datagrams that are no DTLS", test_not_dtls},
    {"records per datagram cap", test_records_per_datagram_cap},
    {"truncations and corruptions", test_truncations_and_corruptions},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("dissect.dtls", tests)
