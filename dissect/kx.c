/* SPDX-License-Identifier: MIT */
/* kx.c: the key exchange kind of a cipher suite, and the ServerKeyExchange / ClientKeyExchange messages
 * measured for the size-mismatch signatures (RFC 5246 §7.4.3, §7.4.7; RFC 4346/2246 (no signature
 * algorithm); RFC 8422 §5.4, §5.7; RFC 4279 §2-§4 and RFC 5489 §2 (PSK); SSL 3.0: RFC 6101 §5.6.7). */
#include "names.h"

#include "internal.h"

#include <string.h>

/* ECParameters.curve_type (RFC 8422 §5.4; RFC 4492 §5.4 for the explicit forms, since deprecated). */
#define EC_EXPLICIT_PRIME 1
#define EC_EXPLICIT_CHAR2 2
#define EC_NAMED_CURVE 3
/* ECBasisType (RFC 4492 §5.4). */
#define EC_BASIS_TRINOMIAL 1
#define EC_BASIS_PENTANOMIAL 2

enum td_kx_kind td_kx_from_cipher(uint16_t cipher)
{
    const struct td_cipher_suite *cs = td_cipher_suite_find(cipher);
    if (cs == NULL) {
        return TD_KX_UNKNOWN;
    }
    // The table's kx already folds DH_anon/ECDH_anon into DHE/ECDHE (ephemeral, unsigned) and
    // RSA_EXPORT into RSA; every *_PSK family starts its messages with a PSK identity (hint).
    if (strcmp(cs->kx, "RSA") == 0) {
        return TD_KX_RSA;
    }
    if (strcmp(cs->kx, "DHE") == 0) {
        return TD_KX_DHE;
    }
    if (strcmp(cs->kx, "ECDHE") == 0) {
        return TD_KX_ECDHE;
    }
    if (strcmp(cs->kx, "PSK") == 0 || strcmp(cs->kx, "DHE_PSK") == 0 || strcmp(cs->kx, "ECDHE_PSK") == 0 ||
        strcmp(cs->kx, "RSA_PSK") == 0) {
        return TD_KX_PSK;
    }
    if (strcmp(cs->kx, "TLS13") == 0) {
        return TD_KX_TLS13;
    }
    return TD_KX_OTHER;
}

/* first_byte: the first byte of a value, 0 for an empty one (then its length says so). */
static uint8_t first_byte(const struct td_cursor *v)
{
    uint8_t b = 0;
    if (!td_cursor_peek_u8(v, &b)) {
        return 0;
    }
    return b;
}

/* ServerDHParams (RFC 5246 §7.4.3):
 *   opaque dh_p<1..2^16-1>; opaque dh_g<1..2^16-1>; opaque dh_Ys<1..2^16-1>;
 * Only the sizes and first bytes are kept: a Ys one byte shorter than p is legal syntax (a leading zero
 * byte dropped) and is judged by the rules, not here. */
static enum td_anomaly parse_dh_params(struct td_cursor *body, struct td_kx_facts *out)
{
    struct td_cursor p, g, ys;
    if (!td_cursor_get_u16_prefixed(body, &p) || !td_cursor_get_u16_prefixed(body, &g) ||
        !td_cursor_get_u16_prefixed(body, &ys)) {
        return TD_ANOM_SKE_MALFORMED;
    }
    // The u16 prefix bounds each length, so the narrowing is exact.
    out->dh_p_len = (uint16_t)td_cursor_len(&p);
    out->dh_g_len = (uint16_t)td_cursor_len(&g);
    out->dh_ys_len = (uint16_t)td_cursor_len(&ys);
    out->dh_p_first = first_byte(&p);
    out->dh_ys_first = first_byte(&ys);
    if (out->dh_p_len == 0 || out->dh_g_len == 0 || out->dh_ys_len == 0) {
        return TD_ANOM_SKE_MALFORMED;
    }
    return TD_ANOM_NONE;
}

/* skip_u8_vectors skips n consecutive opaque<1..2^8-1> values. */
static bool skip_u8_vectors(struct td_cursor *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct td_cursor v;
        TD_TRY(td_cursor_get_u8_prefixed(c, &v));
    }
    return true;
}

/* ServerECDHParams (RFC 8422 §5.4): ECParameters curve_params; ECPoint public;
 *   ECParameters: ECCurveType curve_type; select (curve_type) {
 *     case explicit_prime: opaque prime_p<1..2^8-1>; ECCurve curve; ECPoint base; opaque order<1..2^8-1>;
 *                          opaque cofactor<1..2^8-1>;
 *     case explicit_char2: uint16 m; ECBasisType basis; (k | k1 k2 k3)<1..2^8-1>; ECCurve curve;
 *                          ECPoint base; opaque order<1..2^8-1>; opaque cofactor<1..2^8-1>;
 *     case named_curve: NamedCurve namedcurve; }
 *   ECCurve: opaque a<1..2^8-1>; opaque b<1..2^8-1>;   ECPoint: opaque point<1..2^8-1>; */
static enum td_anomaly parse_ecdh_params(struct td_cursor *body, struct td_kx_facts *out)
{
    uint8_t curve_type = 0;
    if (!td_cursor_get_u8(body, &curve_type)) {
        return TD_ANOM_SKE_MALFORMED;
    }
    out->ec_curve_type = curve_type;
    switch (curve_type) {
    case EC_NAMED_CURVE:
        if (!td_cursor_get_u16(body, &out->ec_group)) {
            return TD_ANOM_SKE_MALFORMED;
        }
        break;
    case EC_EXPLICIT_PRIME:
        // prime_p, a, b, base, order, cofactor
        if (!skip_u8_vectors(body, 6)) {
            return TD_ANOM_SKE_MALFORMED;
        }
        break;
    case EC_EXPLICIT_CHAR2: {
        uint16_t m = 0;
        uint8_t basis = 0;
        if (!td_cursor_get_u16(body, &m) || !td_cursor_get_u8(body, &basis)) {
            return TD_ANOM_SKE_MALFORMED;
        }
        unsigned ks = basis == EC_BASIS_TRINOMIAL ? 1 : basis == EC_BASIS_PENTANOMIAL ? 3 : 0;
        // k (or k1..k3), a, b, base, order, cofactor
        if (ks == 0 || !skip_u8_vectors(body, ks + 5)) {
            return TD_ANOM_SKE_MALFORMED;
        }
        break;
    }
    default:
        return TD_ANOM_SKE_MALFORMED;
    }
    struct td_cursor point;
    if (!td_cursor_get_u8_prefixed(body, &point)) {
        return TD_ANOM_SKE_MALFORMED;
    }
    out->ec_server_point_len = (uint16_t)td_cursor_len(&point);
    if (out->ec_server_point_len == 0) {
        return TD_ANOM_SKE_MALFORMED;
    }
    return TD_ANOM_NONE;
}

/* The signed part of ServerKeyExchange (RFC 5246 §7.4.3 digitally-signed, §4.7):
 *   TLS 1.2: SignatureAndHashAlgorithm algorithm (u16); opaque signature<0..2^16-1>;
 *   TLS 1.0/1.1, SSL 3.0: opaque signature<0..2^16-1> (RFC 4346 §7.4.3).
 * Anonymous suites (DH_anon, ECDH_anon) send no signature at all, so an empty rest is accepted.
 * version 0 (not known yet) takes whichever form fits the bytes exactly. */
static enum td_anomaly parse_ske_signature(struct td_cursor *body, uint16_t version, struct td_kx_facts *out)
{
    if (td_cursor_len(body) == 0) {
        return TD_ANOM_NONE;
    }
    bool tls12 = version >= TD_VERSION_TLS12;
    if (version == 0) {
        struct td_cursor probe = *body;
        struct td_cursor sig;
        tls12 = !(td_cursor_get_u16_prefixed(&probe, &sig) && td_cursor_len(&probe) == 0);
    }
    if (tls12 && !td_cursor_get_u16(body, &out->ske_sig_alg)) {
        return TD_ANOM_SKE_MALFORMED;
    }
    struct td_cursor sig;
    if (!td_cursor_get_u16_prefixed(body, &sig)) {
        return TD_ANOM_SKE_MALFORMED;
    }
    out->ske_sig_len = (uint16_t)td_cursor_len(&sig);
    if (td_cursor_len(body) != 0) {
        return TD_ANOM_TRAILING_BYTES;
    }
    return TD_ANOM_NONE;
}

/* PSK ServerKeyExchange (RFC 4279 §2, §3; RFC 5489 §2): opaque psk_identity_hint<0..2^16-1>; then
 * ServerDHParams (DHE_PSK), ServerECDHParams (ECDHE_PSK) or nothing (PSK, RSA_PSK); never signed.
 * The kind does not say which PSK family was negotiated, so the rest is recognised by its shape. */
static enum td_anomaly parse_psk_ske(struct td_cursor *body, struct td_kx_facts *out)
{
    struct td_cursor hint;
    if (!td_cursor_get_u16_prefixed(body, &hint)) {
        return TD_ANOM_SKE_MALFORMED;
    }
    if (td_cursor_len(body) == 0) {
        return TD_ANOM_NONE;
    }
    struct td_cursor dh = *body;
    struct td_kx_facts dh_out = *out;
    if (parse_dh_params(&dh, &dh_out) == TD_ANOM_NONE && td_cursor_len(&dh) == 0) {
        *out = dh_out;
        *body = dh;
        return TD_ANOM_NONE;
    }
    struct td_cursor ec = *body;
    struct td_kx_facts ec_out = *out;
    if (parse_ecdh_params(&ec, &ec_out) == TD_ANOM_NONE && td_cursor_len(&ec) == 0) {
        *out = ec_out;
        *body = ec;
        return TD_ANOM_NONE;
    }
    return TD_ANOM_SKE_MALFORMED;
}

enum td_anomaly td_parse_server_key_exchange(struct td_cursor body, enum td_kx_kind kind, uint16_t version,
                                             struct td_kx_facts *out)
{
    out->kind = kind;
    out->has_ske = true;
    enum td_anomaly a = TD_ANOM_NONE;
    switch (kind) {
    case TD_KX_DHE:
        a = parse_dh_params(&body, out);
        break;
    case TD_KX_ECDHE:
        a = parse_ecdh_params(&body, out);
        break;
    case TD_KX_PSK:
        return parse_psk_ske(&body, out);
    case TD_KX_RSA: {
        // Only RSA_EXPORT with a key over 512 bits sends one (RFC 2246 §7.4.3): ServerRSAParams
        // rsa_modulus<1..2^16-1>, rsa_exponent<1..2^16-1>, then the signature.
        struct td_cursor mod, exp;
        if (!td_cursor_get_u16_prefixed(&body, &mod) || !td_cursor_get_u16_prefixed(&body, &exp)) {
            return TD_ANOM_SKE_MALFORMED;
        }
        break;
    }
    case TD_KX_TLS13:
        // TLS 1.3 has no ServerKeyExchange (RFC 8446 §4): the message is out of place.
        return TD_ANOM_UNEXPECTED_MESSAGE;
    default:
        // Static DH, SRP, KRB5, ECCPWD, GOST or an unknown suite: not measured.
        return TD_ANOM_NONE;
    }
    if (a != TD_ANOM_NONE) {
        return a;
    }
    return parse_ske_signature(&body, version, out);
}

/* PSK ClientKeyExchange (RFC 4279 §2-§4, RFC 5489 §2): opaque psk_identity<0..2^16-1>; then nothing (PSK),
 * ClientDiffieHellmanPublic dh_Yc<1..2^16-1> (DHE_PSK), EncryptedPreMasterSecret<0..2^16-1> (RSA_PSK) or
 * ECPoint<1..2^8-1> (ECDHE_PSK). The u16 forms are indistinguishable, so only the shape is checked. */
static enum td_anomaly parse_psk_cke(struct td_cursor body)
{
    struct td_cursor identity, v;
    if (!td_cursor_get_u16_prefixed(&body, &identity)) {
        return TD_ANOM_CKE_MALFORMED;
    }
    if (td_cursor_len(&body) == 0) {
        return TD_ANOM_NONE;
    }
    struct td_cursor u16 = body;
    if (td_cursor_get_u16_prefixed(&u16, &v) && td_cursor_len(&u16) == 0) {
        return TD_ANOM_NONE;
    }
    struct td_cursor u8 = body;
    if (td_cursor_get_u8_prefixed(&u8, &v) && td_cursor_len(&u8) == 0) {
        return TD_ANOM_NONE;
    }
    return TD_ANOM_CKE_MALFORMED;
}

/* ClientKeyExchange (RFC 5246 §7.4.7):
 *   DHE:   ClientDiffieHellmanPublic: opaque dh_Yc<1..2^16-1>;                       (§7.4.7.2)
 *   ECDHE: ClientECDiffieHellmanPublic: opaque point<1..2^8-1>;                     (RFC 8422 §5.7)
 *   RSA:   EncryptedPreMasterSecret: public-key-encrypted PreMasterSecret, a u16-prefixed vector in TLS
 *          (§7.4.7.1) but the bare ciphertext in SSL 3.0 (RFC 6101 §5.6.7.1; RFC 5246 §7.4.7.1 note). */
enum td_anomaly td_parse_client_key_exchange(struct td_cursor body, enum td_kx_kind kind, uint16_t version,
                                             struct td_kx_facts *out)
{
    out->has_cke = true;
    if (out->kind == TD_KX_UNKNOWN) {
        out->kind = kind;
    }
    struct td_cursor v;
    switch (kind) {
    case TD_KX_DHE:
        if (!td_cursor_get_u16_prefixed(&body, &v)) {
            return TD_ANOM_CKE_MALFORMED;
        }
        out->has_dh_yc = true;
        out->dh_yc_len = (uint16_t)td_cursor_len(&v);
        out->dh_yc_first = first_byte(&v);
        if (out->dh_yc_len == 0) {
            return TD_ANOM_CKE_MALFORMED;
        }
        break;
    case TD_KX_ECDHE:
        if (!td_cursor_get_u8_prefixed(&body, &v)) {
            return TD_ANOM_CKE_MALFORMED;
        }
        out->ec_client_point_len = (uint16_t)td_cursor_len(&v);
        if (out->ec_client_point_len == 0) {
            return TD_ANOM_CKE_MALFORMED;
        }
        break;
    case TD_KX_RSA: {
        bool prefixed = version != TD_VERSION_SSL3;
        if (version == 0) {
            // Version not known: take the TLS form when the prefix matches the body exactly.
            struct td_cursor probe = body;
            prefixed = td_cursor_get_u16_prefixed(&probe, &v) && td_cursor_len(&probe) == 0;
        }
        if (!prefixed) {
            size_t n = td_cursor_len(&body);
            out->rsa_epms_len = n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
            return TD_ANOM_NONE;
        }
        if (!td_cursor_get_u16_prefixed(&body, &v)) {
            return TD_ANOM_CKE_MALFORMED;
        }
        out->rsa_epms_len = (uint16_t)td_cursor_len(&v);
        break;
    }
    case TD_KX_PSK:
        return parse_psk_cke(body);
    default:
        // TLS 1.3 never sends it; static DH, SRP, KRB5 and unknown suites are not measured.
        return TD_ANOM_NONE;
    }
    if (td_cursor_len(&body) != 0) {
        return TD_ANOM_TRAILING_BYTES;
    }
    return TD_ANOM_NONE;
}
