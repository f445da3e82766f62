/* SPDX-License-Identifier: MIT */
/* cert.c: X.509 certificate facts through libcrypto 3.0 (RFC 5280 §4.1, §4.2.1.6 subjectAltName,
 * §4.2.1.9 basicConstraints, §4.2.1.12 extKeyUsage; RFC 2253 one-line names). The only libcrypto user in
 * dissect/ besides digest.c. libcrypto parses the DER; we copy out bounded, printable strings and never
 * keep a libcrypto object past the call. */
#include "cert.h"

#include "digest.h"
#include "internal.h"

#include <arpa/inet.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Bounds on what one certificate may put in the connection arena: a hostile certificate can carry
 * thousands of SANs or a megabyte-long name. Real leaves have at most a few hundred SANs (CDN certs);
 * the report needs the first ones, which name the service. */
#define CERT_STR_MAX 1024u   /* bytes of one copied string before it ends in "..." */
#define CERT_SANS_MAX 64u    /* SANs kept */
#define CERT_EKUS_MAX 16u    /* EKU OIDs kept */
#define OID_TXT_MAX 80       /* a dotted OID as text */

/* copy_printable copies a libcrypto-made string (already printable ASCII for RFC 2253 names) into the
 * arena, escaping any other byte as \xNN and cutting it at CERT_STR_MAX. Backslashes are kept: they are
 * the RFC 2253 escapes themselves. NULL when the arena is full. */
static char *copy_printable(struct td_arena *arena, const char *s, size_t n)
{
    bool cut = n > CERT_STR_MAX;
    if (cut) {
        n = CERT_STR_MAX;
    }
    char *out = td_arena_alloc(arena, n * 4 + 4);
    if (out == NULL) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b >= 0x20 && b <= 0x7e) {
            out[o++] = (char)b;
            continue;
        }
        if (snprintf(out + o, 5, "\\x%02x", b) != 4) {
            break;
        }
        o += 4;
    }
    if (cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* name_rfc2253 renders an X509_NAME in RFC 2253 one-line form ("CN=a,O=b,C=US"). NULL on failure. */
static char *name_rfc2253(struct td_arena *arena, const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        return NULL;
    }
    char *out = NULL;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        if (n >= 0) {
            out = copy_printable(arena, n > 0 ? data : "", (size_t)n);
        }
    }
    BIO_free(bio);
    return out;
}

/* serial_hex: the serial number as uppercase hex in whole bytes, as `openssl x509 -serial` prints it. */
static char *serial_hex(struct td_arena *arena, const X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    if (bn == NULL) {
        return NULL;
    }
    char *hex = BN_bn2hex(bn);
    BN_free(bn);
    if (hex == NULL) {
        return NULL;
    }
    char *out = copy_printable(arena, hex, strlen(hex));
    OPENSSL_free(hex);
    return out;
}

/* unix_time converts an ASN1_TIME (UTCTime or GeneralizedTime) to Unix seconds; false if invalid. */
static bool unix_time(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return false;
    }
    *out = (int64_t)timegm(&tm);
    return true;
}

/* asn1_cursor views an ASN1_STRING's bytes (libcrypto memory holding wire bytes) through a cursor. */
static struct td_cursor asn1_cursor(const ASN1_STRING *s)
{
    struct td_cursor c;
    int n = ASN1_STRING_length(s);
    td_cursor_init(&c, ASN1_STRING_get0_data(s), n > 0 ? (size_t)n : 0, 0);
    return c;
}

/* san_ip formats an iPAddress SAN (4 or 16 octets, RFC 5280 §4.2.1.6) as "IP:192.0.2.1" / "IP:2001:db8::1". */
static char *san_ip(struct td_arena *arena, const ASN1_OCTET_STRING *ip)
{
    struct td_cursor c = asn1_cursor(ip);
    uint8_t addr[16];
    char txt[INET6_ADDRSTRLEN];
    char buf[INET6_ADDRSTRLEN + 8];
    size_t n = td_cursor_len(&c);
    int family = n == 4 ? AF_INET : n == 16 ? AF_INET6 : 0;
    if (family == 0) {
        // A name-constraint style or garbage address: keep it visible as hex.
        int w = snprintf(buf, sizeof(buf), "IP:(%zu bytes)", n);
        return w > 0 ? copy_printable(arena, buf, (size_t)w) : NULL;
    }
    if (!td_cursor_copy(&c, addr, n) || inet_ntop(family, addr, txt, sizeof(txt)) == NULL) {
        return NULL;
    }
    int w = snprintf(buf, sizeof(buf), "IP:%s", txt);
    if (w < 0 || (size_t)w >= sizeof(buf)) {
        return NULL;
    }
    return copy_printable(arena, buf, (size_t)w);
}

/* collect_sans keeps the dNSName and iPAddress entries of subjectAltName (at most CERT_SANS_MAX). */
static bool collect_sans(struct td_arena *arena, X509 *x, struct td_cert *out)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (gens == NULL) {
        return true;
    }
    bool ok = true;
    int total = sk_GENERAL_NAME_num(gens);
    uint32_t want = 0;
    for (int i = 0; i < total; i++) {
        int type = sk_GENERAL_NAME_value(gens, i)->type;
        if ((type == GEN_DNS || type == GEN_IPADD) && want < CERT_SANS_MAX) {
            want++;
        }
    }
    if (want > 0) {
        out->sans = td_arena_alloc(arena, want * sizeof(*out->sans));
        ok = out->sans != NULL;
    }
    for (int i = 0; ok && i < total && out->num_sans < want; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        char *s = NULL;
        if (g->type == GEN_DNS) {
            s = td_escape_string(arena, asn1_cursor(g->d.dNSName));
        } else if (g->type == GEN_IPADD) {
            s = san_ip(arena, g->d.iPAddress);
        } else {
            continue;
        }
        if (s == NULL) {
            ok = false;
            break;
        }
        out->sans[out->num_sans++] = s;
    }
    GENERAL_NAMES_free(gens);
    return ok;
}

/* collect_ekus keeps extKeyUsage purposes as short names ("serverAuth") or dotted OIDs. */
static bool collect_ekus(struct td_arena *arena, X509 *x, struct td_cert *out)
{
    out->has_eku_ext = X509_get_ext_by_NID(x, NID_ext_key_usage, -1) >= 0;
    if (!out->has_eku_ext) {
        return true;
    }
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    if (eku == NULL) {
        return true; // present but undecodable: no purpose is listed
    }
    bool ok = true;
    int total = sk_ASN1_OBJECT_num(eku);
    uint32_t want = total < 0 ? 0 : (uint32_t)total < CERT_EKUS_MAX ? (uint32_t)total : CERT_EKUS_MAX;
    if (want > 0) {
        out->ekus = td_arena_alloc(arena, want * sizeof(*out->ekus));
        ok = out->ekus != NULL;
    }
    for (uint32_t i = 0; ok && i < want; i++) {
        const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, (int)i);
        int nid = OBJ_obj2nid(obj);
        const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
        char oid[OID_TXT_MAX];
        if (sn == NULL) {
            int n = OBJ_obj2txt(oid, sizeof(oid), obj, 1);
            if (n <= 0) {
                continue;
            }
            sn = oid;
        }
        char *s = copy_printable(arena, sn, strlen(sn));
        if (s == NULL) {
            ok = false;
            break;
        }
        out->ekus[out->num_ekus++] = s;
    }
    EXTENDED_KEY_USAGE_free(eku);
    return ok;
}

/* key_facts names the subject public key type and size. */
static void key_facts(X509 *x, struct td_cert *out)
{
    EVP_PKEY *pkey = X509_get0_pubkey(x);
    if (pkey == NULL) {
        (void)snprintf(out->key_type, sizeof(out->key_type), "%s", "unknown");
        return;
    }
    const char *type = NULL;
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
        type = "RSA";
        break;
    case EVP_PKEY_RSA_PSS:
        type = "RSA-PSS";
        break;
    case EVP_PKEY_EC:
        type = "EC";
        break;
    case EVP_PKEY_DSA:
        type = "DSA";
        break;
    case EVP_PKEY_ED25519:
        type = "Ed25519";
        break;
    case EVP_PKEY_ED448:
        type = "Ed448";
        break;
    case EVP_PKEY_DH:
    case EVP_PKEY_DHX:
        type = "DH";
        break;
    default:
        type = EVP_PKEY_get0_type_name(pkey); // provider keys (SM2, ML-DSA ...) have no base id
        break;
    }
    (void)snprintf(out->key_type, sizeof(out->key_type), "%s", type != NULL ? type : "unknown");
    int bits = EVP_PKEY_get_bits(pkey);
    out->key_bits = bits > 0 ? (uint32_t)bits : 0;
}

/* sig_alg_name: "sha256WithRSAEncryption" (libcrypto's long name, as `openssl x509 -text` prints it), or
 * the dotted OID of an algorithm libcrypto does not know. */
static char *sig_alg_name(struct td_arena *arena, const X509 *x)
{
    int nid = X509_get_signature_nid(x);
    const char *ln = nid != NID_undef ? OBJ_nid2ln(nid) : NULL;
    if (ln != NULL) {
        return copy_printable(arena, ln, strlen(ln));
    }
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    char oid[OID_TXT_MAX];
    X509_get0_signature(NULL, &alg, x);
    if (alg == NULL) {
        return NULL;
    }
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    int n = obj != NULL ? OBJ_obj2txt(oid, sizeof(oid), obj, 1) : 0;
    if (n <= 0) {
        return NULL;
    }
    return copy_printable(arena, oid, strlen(oid));
}

/* is_ca: basicConstraints cA = TRUE (RFC 5280 §4.2.1.9). */
static bool is_ca(X509 *x)
{
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    if (bc == NULL) {
        return false;
    }
    bool ca = bc->ca != 0;
    BASIC_CONSTRAINTS_free(bc);
    return ca;
}

/* is_self_signed: issuer equals subject AND the signature verifies with the certificate's own key.
 * A self-issued certificate signed by another key (a CA key rollover) is not self-signed. */
static bool is_self_signed(X509 *x)
{
    if (X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) != 0) {
        return false;
    }
    EVP_PKEY *pkey = X509_get0_pubkey(x);
    return pkey != NULL && X509_verify(x, pkey) == 1;
}

bool td_cert_parse(struct td_arena *arena, struct td_cursor der, struct td_cert *out)
{
    size_t len = td_cursor_len(&der);
    const uint8_t *data = td_cursor_data(&der);
    out->der_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    td_digest_sha256_hex(data != NULL ? data : (const uint8_t *)"", len, out->sha256);
    out->parse_error = false;

    const unsigned char *p = data;
    X509 *x = NULL;
    if (p != NULL && len > 0 && len <= (size_t)LONG_MAX) {
        x = d2i_X509(NULL, &p, (long)len);
    }
    if (x == NULL) {
        out->parse_error = true;
        ERR_clear_error();
        return false;
    }

    out->subject = name_rfc2253(arena, X509_get_subject_name(x));
    out->issuer = name_rfc2253(arena, X509_get_issuer_name(x));
    out->serial = serial_hex(arena, x);
    if (!unix_time(X509_get0_notBefore(x), &out->not_before)) {
        out->not_before = 0;
    }
    if (!unix_time(X509_get0_notAfter(x), &out->not_after)) {
        out->not_after = 0;
    }
    bool ok = collect_sans(arena, x, out);
    ok = collect_ekus(arena, x, out) && ok;
    key_facts(x, out);
    out->sig_alg = sig_alg_name(arena, x);
    out->is_ca = is_ca(x);
    out->self_signed = is_self_signed(x);
    // A NULL string above is either the arena cap (then hit_cap is set) or a field libcrypto cannot
    // render, which is not a failure of the certificate.
    ok = ok && !arena->hit_cap;

    X509_free(x);
    // libcrypto leaves decode and verify failures on the thread's error queue; nothing reads them.
    ERR_clear_error();
    return ok;
}
