/* SPDX-License-Identifier: MIT */
/* certificate.c: the Certificate handshake message, each certificate handed to td_cert_parse
 * (RFC 5246 §7.4.2 and §7.4.6; RFC 8446 §4.4.2 for the TLS 1.3 form). */
#include "cert.h"
#include "internal.h"

/* Certificates kept per chain. Real chains are 1-5 certificates; a peer sending more is counted in
 * num_sent, and only the first ones (leaf first) are parsed and kept. */
#define CHAIN_MAX_KEPT 16u

/* next_cert carves the next certificate out of a certificate_list:
 *   TLS <= 1.2: opaque ASN.1Cert<1..2^24-1>;
 *   TLS 1.3:    CertificateEntry { opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>; } */
static bool next_cert(struct td_cursor *list, bool tls13, struct td_cursor *der)
{
    struct td_cursor save = *list;
    struct td_cursor exts;
    if (!td_cursor_get_u24_prefixed(list, der)) {
        return false;
    }
    if (tls13 && !td_cursor_get_u16_prefixed(list, &exts)) {
        *list = save;
        return false;
    }
    return true;
}

/* count_certs counts the entries that fit in list (without parsing DER), so the kept array is sized by
 * what was actually sent, never by a length claim. */
static uint32_t count_certs(struct td_cursor list, bool tls13)
{
    uint32_t n = 0;
    struct td_cursor der;
    while (td_cursor_len(&list) > 0 && next_cert(&list, tls13, &der)) {
        n++;
    }
    return n;
}

/* note keeps the first anomaly met. */
static void note(enum td_anomaly *first, enum td_anomaly a)
{
    if (*first == TD_ANOM_NONE) {
        *first = a;
    }
}

/* TLS <= 1.2 (RFC 5246 §7.4.2):  opaque ASN.1Cert<1..2^24-1>;
 *                                struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
 * TLS 1.3 (RFC 8446 §4.4.2):     struct { opaque certificate_request_context<0..2^8-1>;
 *                                         CertificateEntry certificate_list<0..2^24-1>; } Certificate;
 * A certificate_list that overruns the message, or an entry that overruns the list, is malformed; the
 * entries that fit are still parsed (leaf first), so a cut-off chain still names its leaf. */
enum td_anomaly td_parse_certificate(struct td_arena *arena, struct td_cursor body, bool tls13,
                                     struct td_cert_chain *out)
{
    enum td_anomaly first = TD_ANOM_NONE;
    struct td_cursor context;
    if (tls13 && !td_cursor_get_u8_prefixed(&body, &context)) {
        return TD_ANOM_CERTIFICATE_MALFORMED;
    }
    struct td_cursor list;
    if (!td_cursor_get_u24_prefixed(&body, &list)) {
        // The declared list overruns the message: record the claim, parse what is there.
        uint32_t declared = 0;
        if (!td_cursor_get_u24(&body, &declared)) {
            return TD_ANOM_CERTIFICATE_MALFORMED;
        }
        out->total_len = declared;
        list = body;
        note(&first, TD_ANOM_CERTIFICATE_MALFORMED);
    } else {
        out->total_len = (uint32_t)td_cursor_len(&list);
        if (td_cursor_len(&body) != 0) {
            note(&first, TD_ANOM_TRAILING_BYTES);
        }
    }

    uint32_t fit = count_certs(list, tls13);
    uint32_t want = fit < CHAIN_MAX_KEPT ? fit : CHAIN_MAX_KEPT;
    out->certs = NULL;
    out->num_certs = 0;
    out->num_sent = 0;
    if (want > 0) {
        out->certs = td_arena_alloc(arena, want * sizeof(*out->certs));
        if (out->certs == NULL) {
            note(&first, TD_ANOM_ARENA_FULL);
        }
    }
    struct td_cursor der;
    while (td_cursor_len(&list) > 0) {
        if (!next_cert(&list, tls13, &der)) {
            note(&first, TD_ANOM_CERTIFICATE_MALFORMED);
            break;
        }
        out->num_sent++;
        if (out->certs == NULL || out->num_certs >= want) {
            continue;
        }
        struct td_cert *c = &out->certs[out->num_certs++];
        if (!td_cert_parse(arena, der, c)) {
            note(&first, c->parse_error ? TD_ANOM_CERTIFICATE_UNPARSABLE : TD_ANOM_ARENA_FULL);
        }
    }
    return first;
}
