/* SPDX-License-Identifier: MIT */
/* test_tds.c: SQL Server's TDS framing around the TLS handshake (dissect/tds.c, and record.c driving it):
 * PRELOGIN packet headers stripped, a TLS record split across two TDS packets, the switch to raw records after
 * the handshake, hostile packet lengths. Packets are hand-built after [MS-TDS] §2.2.3.1 (header: type, status,
 * length big-endian incl. the 8-byte header, SPID, PacketID, Window) and §2.2.6.5 (PRELOGIN); the byte counts
 * in the comments are those of the vectors. */
#include "../testlib.h"

#include <string.h>

#include "../../../capture/flow.h"
#include "../../../dissect/tds.h"
#include "../../../dissect/tls.h"

/* Hand-built byte streams. */
struct bytes {
    uint8_t p[4096];
    size_t len;
};

static void b_hex(struct bytes *b, const char *hex)
{
    size_t n;
    uint8_t *p = td_test_hex(hex, &n);
    CU_ASSERT_FATAL(b->len + n <= sizeof(b->p));
    memcpy(b->p + b->len, p, n);
    b->len += n;
    free(p);
}

/* b_tds: a TDS packet header for payload_len bytes: type, status, length, SPID 0, PacketID 1, Window 0. */
static void b_tds(struct bytes *b, uint8_t type, uint8_t status, size_t payload_len)
{
    size_t len = payload_len + 8;
    uint8_t h[8] = {type, status, (uint8_t)(len >> 8), (uint8_t)len, 0, 0, 1, 0};
    CU_ASSERT_FATAL(b->len + sizeof(h) <= sizeof(b->p));
    memcpy(b->p + b->len, h, sizeof(h));
    b->len += sizeof(h);
}

#define R32_11 "1111111111111111111111111111111111111111111111111111111111111111"
#define R32_22 "2222222222222222222222222222222222222222222222222222222222222222"
/* A ClientHello record (RFC 5246 §7.4.1.2): 16 0303 002d | 01 000029 0303 random 00 0002c02f 0100: 50 bytes */
#define REC_CLIENT_HELLO "16" "0303" "002d" "01000029" "0303" R32_11 "00" "0002c02f" "0100"
/* ServerHello + ServerHelloDone in one record: 16 0303 002e | 02 000026 ... | 0e 000000: 51 bytes */
#define REC_SERVER_HELLO "16" "0303" "002e" "02000026" "0303" R32_22 "00" "c02f" "00" "0e000000"
/* The client's fatal handshake_failure(40) alert: 7 bytes */
#define REC_ALERT_40 "15" "0303" "0002" "0228"
/* PRELOGIN options: VERSION (0) at 11, 6 bytes; ENCRYPTION (1) at 17, 1 byte; terminator: 18 bytes */
#define PRELOGIN_OPTIONS "00000b0006" "0100110001" "ff" "0f0000000000" "01"

/* --- the unwrapper alone --- */

/* unwrap_all runs the unwrapper over in and appends every payload piece to out; returns the last step. */
static enum td_tds_step unwrap_all(struct td_tds_unwrap *u, struct td_cursor *in, struct bytes *out,
                                   unsigned *num_packet_ends)
{
    enum td_tds_step step = TD_TDS_STEP_NEED_MORE;
    while (td_cursor_len(in) > 0 && (u->state == TD_TDS_HEADER || u->state == TD_TDS_PAYLOAD)) {
        struct td_cursor payload;
        bool end;
        uint8_t type;
        step = td_tds_unwrap_next(u, in, &payload, &end, &type);
        if (step == TD_TDS_STEP_PAYLOAD) {
            size_t n = td_cursor_len(&payload);
            CU_ASSERT_FATAL(out->len + n <= sizeof(out->p));
            CU_ASSERT_TRUE(td_cursor_copy(&payload, out->p + out->len, n));
            out->len += n;
            *num_packet_ends += end ? 1u : 0u;
            CU_ASSERT_EQUAL(type, TD_TDS_PRELOGIN);
        }
        if (step == TD_TDS_STEP_RAW || step == TD_TDS_STEP_MALFORMED) {
            break;
        }
    }
    return step;
}

static void test_record_split_across_packets(void)
{
    /* The 50-byte ClientHello record in two PRELOGIN packets: 20 bytes (status 0: more follows), then 30 (EOM),
     * then a raw application data record (17 0303 0002 abcd) once the handshake is over. */
    struct bytes wire = {0}, want = {0};
    b_hex(&want, REC_CLIENT_HELLO);
    CU_ASSERT_EQUAL_FATAL(want.len, 50);
    b_tds(&wire, TD_TDS_PRELOGIN, 0x00, 20);
    memcpy(wire.p + wire.len, want.p, 20);
    wire.len += 20;
    b_tds(&wire, TD_TDS_PRELOGIN, 0x01, 30);
    memcpy(wire.p + wire.len, want.p + 20, 30);
    wire.len += 30;
    size_t raw_at = wire.len;
    b_hex(&wire, "170303" "0002" "abcd");

    /* whole, then fed in every split of two deliveries */
    for (size_t cut = 0; cut <= raw_at; cut++) {
        struct td_tds_unwrap u;
        td_tds_unwrap_start(&u);
        struct bytes got = {0};
        unsigned ends = 0;
        struct td_cursor in;
        td_cursor_init(&in, wire.p, cut, 0);
        (void)unwrap_all(&u, &in, &got, &ends);
        CU_ASSERT_EQUAL(td_cursor_len(&in), 0);
        td_cursor_init(&in, wire.p + cut, wire.len - cut, cut);
        enum td_tds_step step = unwrap_all(&u, &in, &got, &ends);
        CU_ASSERT_EQUAL(step, TD_TDS_STEP_RAW);
        CU_ASSERT_EQUAL(u.state, TD_TDS_RAW);
        CU_ASSERT_EQUAL(td_cursor_off(&in), raw_at); /* the raw record is left for the record layer */
        CU_ASSERT_EQUAL(got.len, 50);
        CU_ASSERT_EQUAL(memcmp(got.p, want.p, 50), 0);
        CU_ASSERT_EQUAL(ends, 2);
    }
}

static void test_hostile_lengths(void)
{
    struct td_tds_unwrap u;
    struct td_cursor in;
    struct bytes got = {0};
    unsigned ends = 0;
    /* length 4: below the header's own 8 bytes */
    static const uint8_t short_len[] = {0x12, 0x01, 0x00, 0x04, 0, 0, 1, 0, 0x16, 0x03};
    td_tds_unwrap_start(&u);
    td_cursor_init(&in, short_len, sizeof(short_len), 0);
    CU_ASSERT_EQUAL(unwrap_all(&u, &in, &got, &ends), TD_TDS_STEP_MALFORMED);
    CU_ASSERT_EQUAL(u.state, TD_TDS_OFF);
    CU_ASSERT_EQUAL(td_cursor_len(&in), 2); /* the bytes after the bad header are left to the caller */
    /* an unknown packet type (0x55) */
    static const uint8_t bad_type[] = {0x55, 0x01, 0x00, 0x10, 0, 0, 1, 0};
    td_tds_unwrap_start(&u);
    td_cursor_init(&in, bad_type, sizeof(bad_type), 0);
    CU_ASSERT_EQUAL(unwrap_all(&u, &in, &got, &ends), TD_TDS_STEP_MALFORMED);
    /* length 0xffff with 3 payload bytes present: they are handed on, the rest is awaited, nothing allocated */
    static const uint8_t huge[] = {0x12, 0x00, 0xff, 0xff, 0, 0, 1, 0, 0xaa, 0xbb, 0xcc};
    td_tds_unwrap_start(&u);
    td_cursor_init(&in, huge, sizeof(huge), 0);
    got.len = 0;
    (void)unwrap_all(&u, &in, &got, &ends);
    CU_ASSERT_EQUAL(got.len, 3);
    CU_ASSERT_EQUAL(u.state, TD_TDS_PAYLOAD);
    CU_ASSERT_EQUAL(u.left, 0xffff - 8 - 3);
    /* a gap inside that payload keeps the boundary; one past it loses the framing */
    CU_ASSERT_TRUE(td_tds_unwrap_gap(&u, 100));
    CU_ASSERT_EQUAL(u.left, 0xffff - 8 - 3 - 100);
    CU_ASSERT_FALSE(td_tds_unwrap_gap(&u, 0x10000));
    CU_ASSERT_EQUAL(u.state, TD_TDS_OFF);
    /* an empty packet (length 8) is legal and yields an empty piece */
    static const uint8_t empty[] = {0x12, 0x01, 0x00, 0x08, 0, 0, 1, 0};
    td_tds_unwrap_start(&u);
    td_cursor_init(&in, empty, sizeof(empty), 0);
    struct td_cursor piece;
    bool end;
    uint8_t type;
    CU_ASSERT_EQUAL(td_tds_unwrap_next(&u, &in, &piece, &end, &type), TD_TDS_STEP_PAYLOAD);
    CU_ASSERT_EQUAL(td_cursor_len(&piece), 0);
    CU_ASSERT_TRUE(end);
    CU_ASSERT_EQUAL(u.state, TD_TDS_HEADER);
}

static void test_header_plausible(void)
{
    struct td_cursor c;
    static const uint8_t prelogin[] = {0x12, 0x01, 0x00, 0x2f, 0, 0, 1, 0}; /* 47 bytes, as SSMS sends */
    static const uint8_t answer[] = {0x04, 0x01, 0x00, 0x2b, 0, 0, 1, 0};
    static const uint8_t no_payload[] = {0x12, 0x01, 0x00, 0x08, 0, 0, 1, 0};
    static const uint8_t too_long[] = {0x12, 0x01, 0x80, 0x00, 0, 0, 1, 0}; /* 32768 */
    static const uint8_t window[] = {0x12, 0x01, 0x00, 0x2f, 0, 0, 1, 1};
    static const uint8_t tls[] = {0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00};
    td_cursor_init(&c, prelogin, sizeof(prelogin), 0);
    CU_ASSERT_TRUE(td_tds_header_plausible(&c, false));
    CU_ASSERT_FALSE(td_tds_header_plausible(&c, true));
    for (size_t n = 0; n < sizeof(prelogin); n++) { /* every truncation */
        td_cursor_init(&c, prelogin, n, 0);
        CU_ASSERT_FALSE(td_tds_header_plausible(&c, false));
    }
    td_cursor_init(&c, answer, sizeof(answer), 0);
    CU_ASSERT_TRUE(td_tds_header_plausible(&c, true));
    CU_ASSERT_FALSE(td_tds_header_plausible(&c, false));
    td_cursor_init(&c, no_payload, sizeof(no_payload), 0);
    CU_ASSERT_FALSE(td_tds_header_plausible(&c, false));
    td_cursor_init(&c, too_long, sizeof(too_long), 0);
    CU_ASSERT_FALSE(td_tds_header_plausible(&c, false));
    td_cursor_init(&c, window, sizeof(window), 0);
    CU_ASSERT_FALSE(td_tds_header_plausible(&c, false));
    td_cursor_init(&c, tls, sizeof(tls), 0);
    CU_ASSERT_FALSE(td_tds_header_plausible(&c, false));
}

/* --- through the connection --- */

struct conn {
    struct td_tls_conn *c;
    uint64_t off[2];
};

static void feed(struct conn *k, int dir, const struct bytes *b, size_t from, size_t to, uint64_t frame)
{
    td_tls_conn_data(k->c, dir, b->p + from, to - from, k->off[dir], frame, (int64_t)frame * 1000);
    k->off[dir] += to - from;
}

static unsigned count_anomaly(const struct td_tls_facts *f, enum td_anomaly code)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < f->num_anomalies; i++) {
        n += f->anomalies[i].code == code ? 1u : 0u;
    }
    return n;
}

/* tds_dialogue: frame 4 client PRELOGIN (26 bytes); 6 server answer (26); 8 ClientHello split over two PRELOGIN
 * packets (20 + 30 payload bytes, 66 on the wire); 9 ServerHello record in a PRELOGIN packet (59); 10 the client's
 * fatal alert in a PRELOGIN packet (15). */
static const struct td_tls_facts *tds_dialogue(struct conn *k, bool split_deliveries)
{
    struct td_limits l = td_limits_default();
    k->c = td_tls_conn_new(&l, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k->c);
    k->off[0] = k->off[1] = 0;
    struct bytes b = {0};
    b_tds(&b, TD_TDS_PRELOGIN, 0x01, 18);
    b_hex(&b, PRELOGIN_OPTIONS);
    feed(k, TD_DIR_C2S, &b, 0, b.len, 4);
    b.len = 0;
    b_tds(&b, TD_TDS_TABULAR_RESULT, 0x01, 18);
    b_hex(&b, PRELOGIN_OPTIONS);
    feed(k, TD_DIR_S2C, &b, 0, b.len, 6);
    struct bytes ch = {0};
    b_hex(&ch, REC_CLIENT_HELLO);
    b.len = 0;
    b_tds(&b, TD_TDS_PRELOGIN, 0x00, 20);
    memcpy(b.p + b.len, ch.p, 20);
    b.len += 20;
    b_tds(&b, TD_TDS_PRELOGIN, 0x01, 30);
    memcpy(b.p + b.len, ch.p + 20, 30);
    b.len += 30;
    if (split_deliveries) {
        /* TCP segments cut inside the second TDS header and inside the record */
        feed(k, TD_DIR_C2S, &b, 0, 31, 7);
        feed(k, TD_DIR_C2S, &b, 31, b.len, 8);
    } else {
        feed(k, TD_DIR_C2S, &b, 0, b.len, 8);
    }
    b.len = 0;
    b_tds(&b, TD_TDS_PRELOGIN, 0x01, 51);
    b_hex(&b, REC_SERVER_HELLO);
    feed(k, TD_DIR_S2C, &b, 0, b.len, 9);
    b.len = 0;
    b_tds(&b, TD_TDS_PRELOGIN, 0x01, 7);
    b_hex(&b, REC_ALERT_40);
    feed(k, TD_DIR_C2S, &b, 0, b.len, 10);
    td_tls_conn_finish(k->c, 10, 10000);
    return td_tls_conn_facts(k->c);
}

static void test_handshake_in_prelogin(void)
{
    for (int split = 0; split < 2; split++) {
        struct conn k;
        const struct td_tls_facts *f = tds_dialogue(&k, split != 0);
        const struct td_plaintext_start *ps = &f->plaintext_start;
        CU_ASSERT_EQUAL(ps->protocol, TD_PLAINTEXT_TDS);
        CU_ASSERT_EQUAL(ps->source, TD_PLAINTEXT_FROM_REQUEST);
        CU_ASSERT_EQUAL(ps->skipped_len[0], 26 + 8); /* PRELOGIN + the first wrapping header */
        CU_ASSERT_EQUAL(ps->skipped_len[1], 26 + 8);
        CU_ASSERT_EQUAL(ps->tls_ev.frame, 8);
        CU_ASSERT_EQUAL(ps->tds_packets[0], 3); /* two for the ClientHello, one for the alert */
        CU_ASSERT_EQUAL(ps->tds_packets[1], 1);
        CU_ASSERT_EQUAL(ps->tds_raw_ev.frame, 0);
        CU_ASSERT_EQUAL(ps->tds_malformed, 0);
        CU_ASSERT_EQUAL_FATAL(f->num_client_hellos, 1);
        CU_ASSERT_EQUAL(f->client_hellos[0]->ev.frame, 8);
        CU_ASSERT_EQUAL_FATAL(f->num_server_hellos, 1);
        CU_ASSERT_EQUAL(f->server_hellos[0]->cipher, 0xc02f);
        CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
        CU_ASSERT_EQUAL(f->outcome_alert, 40);
        CU_ASSERT_EQUAL(f->outcome_role, TD_ROLE_CLIENT);
        CU_ASSERT_EQUAL(f->outcome_ev.frame, 10);
        CU_ASSERT_EQUAL(f->num_anomalies, 0);
        td_tls_conn_free(k.c);
    }
}

static void test_hostile_length_in_conn(void)
{
    /* After the PRELOGIN, a header claiming 5 bytes (below its own 8) and a ClientHello behind it: the framing is
     * given up with an anomaly, the connection goes on and still finds the record. */
    struct td_limits l = td_limits_default();
    struct conn k = {.c = td_tls_conn_new(&l, NULL)};
    CU_ASSERT_PTR_NOT_NULL_FATAL(k.c);
    struct bytes b = {0};
    b_tds(&b, TD_TDS_PRELOGIN, 0x01, 18);
    b_hex(&b, PRELOGIN_OPTIONS);
    feed(&k, TD_DIR_C2S, &b, 0, b.len, 1);
    b.len = 0;
    b_hex(&b, "12010005" "00000100");
    b_hex(&b, REC_CLIENT_HELLO);
    feed(&k, TD_DIR_C2S, &b, 0, b.len, 2);
    td_tls_conn_finish(k.c, 2, 2000);
    const struct td_tls_facts *f = td_tls_conn_facts(k.c);
    CU_ASSERT_EQUAL(f->plaintext_start.tds_malformed, 1);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_TDS_MALFORMED), 1);
    CU_ASSERT_EQUAL(f->num_client_hellos, 1);
    td_tls_conn_free(k.c);

    /* Random bytes in PRELOGIN packets of every length 0..40: never a crash, never a hang. */
    for (unsigned len = 0; len < 40; len++) {
        k.c = td_tls_conn_new(&l, NULL);
        k.off[0] = k.off[1] = 0;
        CU_ASSERT_PTR_NOT_NULL_FATAL(k.c);
        b.len = 0;
        b_tds(&b, TD_TDS_PRELOGIN, 0x01, 18);
        b_hex(&b, PRELOGIN_OPTIONS);
        for (unsigned i = 0; i < 64; i++) {
            b.p[b.len++] = (uint8_t)(i * 37u + len * 11u);
        }
        b.p[26 + 2] = (uint8_t)(len >> 8);
        b.p[26 + 3] = (uint8_t)len;
        feed(&k, TD_DIR_C2S, &b, 0, b.len, 1);
        td_tls_conn_finish(k.c, 1, 1000);
        td_tls_conn_free(k.c);
    }
}

static CU_TestInfo tests[] = {
    {"record_split_across_packets", test_record_split_across_packets},
    {"hostile_lengths", test_hostile_lengths},
    {"header_plausible", test_header_plausible},
    {"handshake_in_prelogin", test_handshake_in_prelogin},
    {"hostile_length_in_conn", test_hostile_length_in_conn},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("dissect.tds", tests)
