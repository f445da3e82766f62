/* SPDX-License-Identifier: MIT */
/* hello.c: ClientHello (TLS and SSLv2-compatible) and ServerHello/HelloRetryRequest bodies into facts.
 * Specification: RFC 8446 §4.1.2, §4.1.3, §4.1.4; RFC 5246 §7.4.1.2, §7.4.1.3, Appendix E.2;
 * draft-ietf-tls-tls13-16..21 §4.1.3 (ServerHello without session id and compression); RFC 6347 §4.2.1 (the DTLS
 * ClientHello cookie). */
#include "extensions.h"
#include "names.h"

#include <string.h>

#define TD_CIPHER_EMPTY_RENEGOTIATION_INFO_SCSV 0x00ff /* RFC 5746 §3.3 */
#define TD_CIPHER_FALLBACK_SCSV 0x5600                 /* RFC 7507 §2 */
#define TD_SESSION_ID_MAX 32
#define TD_RANDOM_LEN 32

/* The HelloRetryRequest random: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
static const uint8_t hrr_random[TD_RANDOM_LEN] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

/* scan_scsv sets the signalling-suite flags from the raw cipher vector (not from the kept list, which may
 * be missing when the arena is full). */
static void scan_scsv(struct td_cursor suites, struct td_client_hello *ch)
{
    uint16_t suite;
    while (td_cursor_get_u16(&suites, &suite)) {
        if (suite == TD_CIPHER_EMPTY_RENEGOTIATION_INFO_SCSV) {
            ch->has_scsv_renegotiation = true;
        }
        if (suite == TD_CIPHER_FALLBACK_SCSV) {
            ch->has_fallback_scsv = true;
        }
    }
}

/* struct {
 *     ProtocolVersion legacy_version = 0x0303;
 *     Random random;
 *     opaque legacy_session_id<0..32>;
 *     opaque cookie<0..2^8-1>;             -- DTLS only (RFC 6347 §4.2.1; RFC 9147 §5.3 legacy_cookie)
 *     CipherSuite cipher_suites<2..2^16-2>;
 *     opaque legacy_compression_methods<1..2^8-1>;
 *     Extension extensions<8..2^16-1>;     -- absent is legal before TLS 1.3 (RFC 5246 §7.4.1.2)
 * } ClientHello;                           (RFC 8446 §4.1.2) */
static void parse_client_hello(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    struct td_cursor session_id, suites, compression, exts;
    if (!td_cursor_get_u16(body, &ch->legacy_version) || !td_cursor_skip(body, TD_RANDOM_LEN) ||
        !td_cursor_get_u8_prefixed(body, &session_id)) {
        td_hello_note(hp, TD_ANOM_CLIENT_HELLO_MALFORMED);
        return;
    }
    ch->session_id_len = (uint8_t)td_cursor_len(&session_id); // u8-prefixed: fits
    if (td_cursor_len(&session_id) > TD_SESSION_ID_MAX) {
        td_hello_note(hp, TD_ANOM_CLIENT_HELLO_MALFORMED);
    }
    if (ch->dtls) {
        struct td_cursor cookie;
        if (!td_cursor_get_u8_prefixed(body, &cookie)) {
            td_hello_note(hp, TD_ANOM_CLIENT_HELLO_MALFORMED);
            return;
        }
        ch->cookie_len = (uint8_t)td_cursor_len(&cookie); // u8-prefixed: fits
    }
    if (!td_cursor_get_u16_prefixed(body, &suites)) {
        td_hello_note(hp, TD_ANOM_CLIENT_HELLO_MALFORMED);
        return;
    }
    if (!td_hello_get_u16_list(hp, suites, &ch->ciphers) || td_cursor_len(&suites) == 0) {
        td_hello_note(hp, TD_ANOM_CIPHER_LIST_ODD);
    }
    scan_scsv(suites, ch);
    if (!td_cursor_get_u8_prefixed(body, &compression)) {
        td_hello_note(hp, TD_ANOM_CLIENT_HELLO_MALFORMED);
        return;
    }
    ch->compression_methods_len = (uint32_t)td_cursor_len(&compression);
    if (td_cursor_len(&compression) == 0) {
        td_hello_note(hp, TD_ANOM_CLIENT_HELLO_MALFORMED);
    }
    if (td_cursor_len(body) == 0) {
        return;
    }
    if (!td_cursor_get_u16_prefixed(body, &exts)) {
        // The block claims more than the message holds: keep what the extensions that are there say
        // (malformed hellos are fingerprinted too), but the hello is malformed first.
        td_hello_note(hp, TD_ANOM_CLIENT_HELLO_MALFORMED);
        if (td_cursor_skip(body, 2)) {
            td_extensions_parse_client(hp, *body, ch);
        }
        return;
    }
    td_extensions_parse_client(hp, exts, ch);
    if (td_cursor_len(body) != 0) {
        td_hello_note(hp, TD_ANOM_TRAILING_BYTES);
    }
}

/* finish_client_hello: a fingerprint computed from lists the arena could not hold would be wrong, so the hello
 * says it has none (fingerprint.h). */
static enum td_anomaly finish_client_hello(const struct td_hello_parse *hp, struct td_client_hello *ch)
{
    ch->fingerprint_lost = hp->lost;
    ch->anomaly = td_hello_result(hp);
    return ch->anomaly;
}

/* reset_client_hello clears *out but keeps the evidence the caller may have filled in already. */
static void reset_client_hello(struct td_client_hello *out)
{
    struct td_evidence ev = out->ev;
    memset(out, 0, sizeof *out);
    out->ev = ev;
}

enum td_anomaly td_parse_client_hello(struct td_arena *arena, struct td_cursor body, uint16_t record_version,
                                      struct td_client_hello *out)
{
    struct td_hello_parse hp = {.arena = arena, .anomaly = TD_ANOM_NONE, .lost = false};
    reset_client_hello(out);
    out->record_version = record_version;
    out->dtls = td_version_is_dtls(record_version);
    parse_client_hello(&hp, &body, out);
    return finish_client_hello(&hp, out);
}

/* uint8 msg_type = 1; Version version; uint16 cipher_spec_length; uint16 session_id_length;
 * uint16 challenge_length; V2CipherSpec cipher_specs[cipher_spec_length];
 * opaque session_id[session_id_length]; opaque challenge[challenge_length];   (RFC 5246 Appendix E.2)
 * A V2CipherSpec is 3 bytes; those starting with 0x00 carry a TLS suite in the other two. */
static void parse_sslv2_client_hello(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    uint8_t msg_type;
    uint16_t specs_len, session_id_len, challenge_len;
    struct td_cursor specs, session_id, challenge;
    if (!td_cursor_get_u8(body, &msg_type) || !td_cursor_get_u16(body, &ch->legacy_version) ||
        !td_cursor_get_u16(body, &specs_len) || !td_cursor_get_u16(body, &session_id_len) ||
        !td_cursor_get_u16(body, &challenge_len) || !td_cursor_get_bytes(body, &specs, specs_len)) {
        td_hello_note(hp, TD_ANOM_SSLV2_MALFORMED);
        return;
    }
    if (msg_type != 1) {
        td_hello_note(hp, TD_ANOM_SSLV2_MALFORMED);
        return;
    }
    if (specs_len == 0 || specs_len % 3 != 0) {
        td_hello_note(hp, TD_ANOM_CIPHER_LIST_ODD);
    }
    // Count the TLS-compatible specs first so the list is sized by what is there.
    struct td_cursor scan = specs;
    uint32_t num_tls = 0;
    uint8_t kind;
    uint16_t suite;
    while (td_cursor_get_u8(&scan, &kind) && td_cursor_get_u16(&scan, &suite)) {
        if (kind == 0) {
            num_tls++;
        }
    }
    uint16_t *v = num_tls ? td_arena_alloc(hp->arena, num_tls * sizeof *v) : NULL;
    if (num_tls > 0 && v == NULL) {
        hp->lost = true;
    }
    uint32_t n = 0;
    while (td_cursor_get_u8(&specs, &kind) && td_cursor_get_u16(&specs, &suite)) {
        if (kind == 0 && v != NULL && n < num_tls) {
            v[n++] = suite;
        }
        if (kind == 0 && suite == TD_CIPHER_EMPTY_RENEGOTIATION_INFO_SCSV) {
            ch->has_scsv_renegotiation = true;
        }
        if (kind == 0 && suite == TD_CIPHER_FALLBACK_SCSV) {
            ch->has_fallback_scsv = true;
        }
    }
    ch->ciphers.v = v;
    ch->ciphers.num = n;
    if (!td_cursor_get_bytes(body, &session_id, session_id_len) ||
        !td_cursor_get_bytes(body, &challenge, challenge_len)) {
        td_hello_note(hp, TD_ANOM_SSLV2_MALFORMED);
        return;
    }
    ch->session_id_len = session_id_len > UINT8_MAX ? UINT8_MAX : (uint8_t)session_id_len;
    // session_id_length MUST be 0 or 16, the challenge 16..32 bytes (RFC 5246 Appendix E.2).
    if ((session_id_len != 0 && session_id_len != 16) || challenge_len < 16 || challenge_len > 32) {
        td_hello_note(hp, TD_ANOM_SSLV2_MALFORMED);
    }
    if (td_cursor_len(body) != 0) {
        td_hello_note(hp, TD_ANOM_TRAILING_BYTES);
    }
}

enum td_anomaly td_parse_sslv2_client_hello(struct td_arena *arena, struct td_cursor body,
                                            struct td_client_hello *out)
{
    struct td_hello_parse hp = {.arena = arena, .anomaly = TD_ANOM_NONE, .lost = false};
    reset_client_hello(out);
    out->sslv2_format = true;
    out->record_version = TD_VERSION_SSL2; // the SSLv2 record header carries no version
    parse_sslv2_client_hello(&hp, &body, out);
    return finish_client_hello(&hp, out);
}

/* is_early_draft: a TLS 1.3 draft version before -22 (0x7f00 | n, n < 22), whose ServerHello is
 * { ProtocolVersion version; Random random; CipherSuite cipher_suite; Extension extensions<0..2^16-1>; }
 * with the draft version in `version` and no session id or compression (draft-ietf-tls-tls13-21 §4.1.3). */
static bool is_early_draft(uint16_t version)
{
    return (version & 0xff00) == 0x7f00 && (version & 0x00ff) < 22;
}

/* parse_server_hello_head reads the fields before the extensions. False when the message ends early. */
static bool parse_server_hello_head(struct td_hello_parse *hp, struct td_cursor *body, struct td_server_hello *sh)
{
    uint8_t random[TD_RANDOM_LEN];
    struct td_cursor session_id;
    TD_TRY(td_cursor_get_u16(body, &sh->legacy_version) && td_cursor_copy(body, random, sizeof random));
    sh->is_hrr = memcmp(random, hrr_random, sizeof random) == 0;
    if (is_early_draft(sh->legacy_version)) {
        return td_cursor_get_u16(body, &sh->cipher);
    }
    TD_TRY(td_cursor_get_u8_prefixed(body, &session_id));
    sh->session_id_len = (uint8_t)td_cursor_len(&session_id); // u8-prefixed: fits
    if (td_cursor_len(&session_id) > TD_SESSION_ID_MAX) {
        td_hello_note(hp, TD_ANOM_SERVER_HELLO_MALFORMED);
    }
    return td_cursor_get_u16(body, &sh->cipher) && td_cursor_get_u8(body, &sh->compression);
}

/* struct {
 *     ProtocolVersion legacy_version = 0x0303;
 *     Random random;                        -- HelloRetryRequest: the fixed hrr_random
 *     opaque legacy_session_id_echo<0..32>;
 *     CipherSuite cipher_suite;
 *     uint8 legacy_compression_method = 0;
 *     Extension extensions<6..2^16-1>;     -- absent is legal before TLS 1.3 (RFC 5246 §7.4.1.3)
 * } ServerHello;                           (RFC 8446 §4.1.3) */
static void parse_server_hello(struct td_hello_parse *hp, struct td_cursor *body, struct td_server_hello *sh)
{
    struct td_cursor exts;
    if (!parse_server_hello_head(hp, body, sh)) {
        td_hello_note(hp, TD_ANOM_SERVER_HELLO_MALFORMED);
        return;
    }
    if (td_cursor_len(body) == 0) {
        return;
    }
    if (!td_cursor_get_u16_prefixed(body, &exts)) {
        td_hello_note(hp, TD_ANOM_SERVER_HELLO_MALFORMED);
        if (td_cursor_skip(body, 2)) {
            td_extensions_parse_server(hp, *body, sh);
        }
        return;
    }
    td_extensions_parse_server(hp, exts, sh);
    if (td_cursor_len(body) != 0) {
        td_hello_note(hp, TD_ANOM_TRAILING_BYTES);
    }
}

enum td_anomaly td_parse_server_hello(struct td_arena *arena, struct td_cursor body, uint16_t record_version,
                                      struct td_server_hello *out)
{
    struct td_hello_parse hp = {.arena = arena, .anomaly = TD_ANOM_NONE, .lost = false};
    struct td_evidence ev = out->ev;
    memset(out, 0, sizeof *out);
    out->ev = ev;
    out->record_version = record_version;
    parse_server_hello(&hp, &body, out);
    out->anomaly = td_hello_result(&hp);
    return out->anomaly;
}
