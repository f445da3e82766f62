/* SPDX-License-Identifier: MIT */
/* cert_request.c: the CertificateRequest message, with the certificate_authorities list measured for the
 * Schannel truncation signature (RFC 5246 §7.4.4; RFC 4346 §7.4.4 and RFC 2246 §7.4.4 without signature
 * algorithms; RFC 8446 §4.3.2 and §4.2.4; KB 2801679: Schannel cuts the CA list at 16 KB). */
#include "internal.h"

#define EXT_SIGNATURE_ALGORITHMS 13
#define EXT_CERTIFICATE_AUTHORITIES 47

/* get_u16_list reads a vector of u16 values (already carved out) into the arena. An odd length is
 * malformed; a full arena leaves the list empty (the anomaly is the caller's to note). */
static enum td_anomaly get_u16_list(struct td_arena *arena, struct td_cursor v, struct td_u16_list *out)
{
    size_t n = td_cursor_len(&v) / 2;
    if (td_cursor_len(&v) % 2 != 0) {
        return TD_ANOM_CERT_REQUEST_MALFORMED;
    }
    if (n == 0) {
        return TD_ANOM_NONE;
    }
    out->v = td_arena_alloc(arena, n * sizeof(*out->v));
    if (out->v == NULL) {
        return TD_ANOM_ARENA_FULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!td_cursor_get_u16(&v, &out->v[i])) {
            break;
        }
        out->num++;
    }
    return TD_ANOM_NONE;
}

/* get_u8_list reads ClientCertificateType certificate_types<1..2^8-1>, widened to u16. */
static enum td_anomaly get_u8_list(struct td_arena *arena, struct td_cursor v, struct td_u16_list *out)
{
    size_t n = td_cursor_len(&v);
    if (n == 0) {
        return TD_ANOM_CERT_REQUEST_MALFORMED;
    }
    out->v = td_arena_alloc(arena, n * sizeof(*out->v));
    if (out->v == NULL) {
        return TD_ANOM_ARENA_FULL;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t b = 0;
        if (!td_cursor_get_u8(&v, &b)) {
            break;
        }
        out->v[out->num++] = b;
    }
    return TD_ANOM_NONE;
}

/* count_ca_names walks DistinguishedName certificate_authorities<0..2^16-1>, each opaque
 * DistinguishedName<1..2^16-1>, counting the names that fit. The names tile the list exactly or the list
 * is not well formed. */
static enum td_anomaly count_ca_names(struct td_cursor list, struct td_cert_request *out)
{
    out->num_ca_names = 0;
    while (td_cursor_len(&list) > 0) {
        struct td_cursor dn;
        if (!td_cursor_get_u16_prefixed(&list, &dn)) {
            out->ca_list_well_formed = false;
            return TD_ANOM_CERT_REQUEST_MALFORMED;
        }
        out->num_ca_names++;
    }
    out->ca_list_well_formed = true;
    return TD_ANOM_NONE;
}

/* parse_ca_list reads the u16 length of certificate_authorities and counts its names. A declared length
 * that overruns the message (the list was cut short, as Schannel does past 16 KB) is not a hard failure:
 * the declared length is recorded, the names that fit are counted, and the list is not well formed. */
static enum td_anomaly parse_ca_list(struct td_cursor *body, struct td_cert_request *out)
{
    struct td_cursor list;
    if (td_cursor_get_u16_prefixed(body, &list)) {
        out->ca_list_len = (uint32_t)td_cursor_len(&list);
        return count_ca_names(list, out);
    }
    uint16_t declared = 0;
    if (!td_cursor_get_u16(body, &declared)) {
        out->ca_list_well_formed = false;
        return TD_ANOM_CERT_REQUEST_MALFORMED;
    }
    out->ca_list_len = declared;
    list = *body;
    if (!td_cursor_skip(body, td_cursor_len(body))) {
        return TD_ANOM_CERT_REQUEST_MALFORMED;
    }
    (void)count_ca_names(list, out);
    out->ca_list_well_formed = false;
    return TD_ANOM_CERT_REQUEST_MALFORMED;
}

/* TLS 1.2 (RFC 5246 §7.4.4), and TLS 1.0/1.1/SSL 3.0 without the middle field:
 *   struct { ClientCertificateType certificate_types<1..2^8-1>;
 *            SignatureAndHashAlgorithm supported_signature_algorithms<2^16-1>;   (TLS 1.2 only)
 *            DistinguishedName certificate_authorities<0..2^16-1>; } CertificateRequest; */
static enum td_anomaly parse_tls12(struct td_arena *arena, struct td_cursor body, bool with_sig_algs,
                                   struct td_cert_request *out)
{
    enum td_anomaly first = TD_ANOM_NONE;
    struct td_cursor types, sig_algs;
    if (!td_cursor_get_u8_prefixed(&body, &types)) {
        return TD_ANOM_CERT_REQUEST_MALFORMED;
    }
    first = get_u8_list(arena, types, &out->cert_types);
    if (with_sig_algs) {
        if (!td_cursor_get_u16_prefixed(&body, &sig_algs)) {
            return TD_ANOM_CERT_REQUEST_MALFORMED;
        }
        enum td_anomaly a = get_u16_list(arena, sig_algs, &out->sig_algs);
        if (first == TD_ANOM_NONE) {
            first = a;
        }
    }
    enum td_anomaly a = parse_ca_list(&body, out);
    if (a != TD_ANOM_NONE) {
        return a; // the CA list anomaly is the one the signatures look for
    }
    if (td_cursor_len(&body) != 0 && first == TD_ANOM_NONE) {
        first = TD_ANOM_TRAILING_BYTES;
    }
    return first;
}

/* TLS 1.3 (RFC 8446 §4.3.2):
 *   struct { opaque certificate_request_context<0..2^8-1>; Extension extensions<2..2^16-1>; }
 * signature_algorithms (13) and certificate_authorities (47, RFC 8446 §4.2.4:
 * DistinguishedName authorities<3..2^16-1>) are read from the extensions. */
static enum td_anomaly parse_tls13(struct td_arena *arena, struct td_cursor body, struct td_cert_request *out)
{
    enum td_anomaly first = TD_ANOM_NONE;
    struct td_cursor context, exts;
    if (!td_cursor_get_u8_prefixed(&body, &context) || !td_cursor_get_u16_prefixed(&body, &exts)) {
        return TD_ANOM_CERT_REQUEST_MALFORMED;
    }
    if (td_cursor_len(&body) != 0) {
        first = TD_ANOM_TRAILING_BYTES;
    }
    while (td_cursor_len(&exts) > 0) {
        uint16_t type = 0;
        struct td_cursor data, v;
        if (!td_cursor_get_u16(&exts, &type) || !td_cursor_get_u16_prefixed(&exts, &data)) {
            return TD_ANOM_CERT_REQUEST_MALFORMED;
        }
        enum td_anomaly a = TD_ANOM_NONE;
        if (type == EXT_SIGNATURE_ALGORITHMS && out->sig_algs.num == 0) {
            a = td_cursor_get_u16_prefixed(&data, &v) ? get_u16_list(arena, v, &out->sig_algs)
                                                      : TD_ANOM_EXTENSION_MALFORMED;
        } else if (type == EXT_CERTIFICATE_AUTHORITIES) {
            a = parse_ca_list(&data, out);
        } else {
            continue;
        }
        if (a == TD_ANOM_NONE && td_cursor_len(&data) != 0) {
            a = TD_ANOM_TRAILING_BYTES;
        }
        if (first == TD_ANOM_NONE) {
            first = a;
        }
    }
    return first;
}

enum td_anomaly td_parse_certificate_request(struct td_arena *arena, struct td_cursor body, uint16_t version,
                                             bool tls13, struct td_cert_request *out)
{
    out->tls13 = tls13;
    out->msg_len = (uint32_t)td_cursor_len(&body);
    out->ca_list_well_formed = true; // an absent list (TLS 1.3) is not a malformed one
    if (tls13) {
        return parse_tls13(arena, body, out);
    }
    if (version != 0) {
        return parse_tls12(arena, body, version >= TD_VERSION_TLS12, out);
    }
    // Version not known yet: take the TLS 1.2 form if it parses cleanly, else the older one.
    struct td_cert_request try12 = *out;
    enum td_anomaly a = parse_tls12(arena, body, true, &try12);
    if (a == TD_ANOM_NONE) {
        *out = try12;
        return a;
    }
    return parse_tls12(arena, body, false, out);
}
