/* SPDX-License-Identifier: MIT */
/* cert.c: X.509 certificate facts through libcrypto 3.0 (RFC 5280 §4.1, §4.2.1.6 subjectAltName,
 * §4.2.1.9 basicConstraints, §4.2.1.12 extKeyUsage; RFC 2253 one-line names), with a per-thread cache of
 * parsed certificates keyed on the SHA-256 of the DER. The only libcrypto user in dissect/ besides
 * digest.c. libcrypto parses the DER; we copy out bounded, printable strings and never keep a libcrypto
 * object past the call.
 *
 * Two stages. A miss parses the DER into a record: the finished strings plus, for each, the number of
 * bytes td_cert_parse asks the connection arena for. Every call (hit or miss) then replays a record into
 * the connection arena: the same allocations, of the same sizes, in the same order as a direct parse, so
 * a connection whose arena fills up mid-certificate ends with exactly the fields it would have had
 * without the cache. Servers send the same few certificates on every connection; parsing one (decoding
 * its key through OSSL_DECODER and verifying its signature) costs far more than the rest of a handshake. */
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bounds on what one certificate may put in the connection arena: a hostile certificate can carry
 * thousands of SANs or a megabyte-long name. Real leaves have at most a few hundred SANs (CDN certs);
 * the report needs the first ones, which name the service. */
#define CERT_STR_MAX 1024u   /* bytes of one copied string before it ends in "..." */
#define CERT_SANS_MAX 64u    /* SANs kept */
#define CERT_EKUS_MAX 16u    /* EKU OIDs kept */
#define OID_TXT_MAX 80       /* a dotted OID as text */
/* td_escape_string escapes at most TD_ESCAPE_MAX_IN input bytes and asks its arena for min(n, that) * 4 + 4
 * bytes; the replay must ask for the same. test_cert_cache fails if the cut point of a 1105-byte dNSName moves. */

/* Cache bounds per thread. 1024 distinct certificates cover every server of a large capture; a typical
 * record is 1-3 KB, the worst (64 SANs of 1 KB) about 300 KB, so the byte bound is what holds against a
 * peer that sends fresh huge certificates on every connection. */
#define CACHE_ENTRIES_MAX 1024u
#define CACHE_MEM_MAX (16u * 1024u * 1024u)
#define CACHE_BUCKETS 2048u          /* power of two, twice the entries: chains of one or two */
#define RECORD_MEM_MAX (4u * 1024u * 1024u) /* one record's strings (the worst is under 400 KB) */

/* ---------------------------------------------------------------- records */

/* One string as td_cert_parse stores it: the finished text and what it asks the connection arena for. */
struct rec_str {
    char *text;         /* NULL: libcrypto could not render it, and no arena allocation was made */
    size_t len;         /* strlen(text) */
    size_t alloc_len;   /* bytes asked of the connection arena (the escape worst case) */
};

/* A parsed certificate, independent of any connection. Strings and arrays live in mem. */
struct cert_record {
    struct td_cert scalars;   /* der_len, sha256, times, key, flags; its pointers stay NULL */
    bool key_bits_set;        /* key_bits is left as the caller had it when there is no public key */
    struct rec_str subject, issuer, serial, sig_alg;
    struct rec_str *sans;
    uint32_t sans_want;       /* the SAN array asked for (0: none) */
    uint32_t num_sans;        /* strings recorded */
    bool sans_failed;         /* rendering the next SAN failed outright: the parse reports failure */
    struct rec_str *ekus;
    uint32_t ekus_want;
    uint32_t num_ekus;
    bool oom;                 /* malloc failed while building: used once, never cached */
    struct td_arena mem;
};

/* rec_keep stores text (len bytes) in the record, and alloc_len for the replay. */
static void rec_keep(struct cert_record *r, struct rec_str *dst, const char *text, size_t len, size_t alloc_len)
{
    dst->text = td_arena_strndup(&r->mem, text, len);
    dst->len = len;
    dst->alloc_len = alloc_len;
    if (dst->text == NULL) {
        r->oom = true;
    }
}

/* rec_printable stores a libcrypto-made string (already printable ASCII for RFC 2253 names), escaping
 * any other byte as \xNN and cutting it at CERT_STR_MAX. Backslashes are kept: they are the RFC 2253
 * escapes themselves. */
static void rec_printable(struct cert_record *r, struct rec_str *dst, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char buf[CERT_STR_MAX * 4 + 4];
    bool cut = n > CERT_STR_MAX;
    if (cut) {
        n = CERT_STR_MAX;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b >= 0x20 && b <= 0x7e) {
            buf[o++] = (char)b;
            continue;
        }
        buf[o++] = '\\';
        buf[o++] = 'x';
        buf[o++] = hex[b >> 4];
        buf[o++] = hex[b & 0x0f];
    }
    if (cut) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    rec_keep(r, dst, buf, o, n * 4 + 4);
}

/* rec_name stores an X509_NAME in RFC 2253 one-line form ("CN=a,O=b,C=US"); none on failure. */
static void rec_name(struct cert_record *r, struct rec_str *dst, const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        return;
    }
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        if (n >= 0) {
            rec_printable(r, dst, n > 0 ? data : "", (size_t)n);
        }
    }
    BIO_free(bio);
}

/* rec_serial: the serial number as uppercase hex in whole bytes, as `openssl x509 -serial` prints it. */
static void rec_serial(struct cert_record *r, const X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    if (bn == NULL) {
        return;
    }
    char *hex = BN_bn2hex(bn);
    BN_free(bn);
    if (hex == NULL) {
        return;
    }
    rec_printable(r, &r->serial, hex, strlen(hex));
    OPENSSL_free(hex);
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

/* rec_dns stores a dNSName SAN escaped by td_escape_string (the escaper of every peer string). It is
 * made in scratch first: td_escape_string writes into an arena at its worst-case size. */
static bool rec_dns(struct cert_record *r, struct td_arena *scratch, struct rec_str *dst, const ASN1_STRING *dns)
{
    struct td_cursor c = asn1_cursor(dns);
    size_t n = td_cursor_len(&c);
    char *s = td_escape_string(scratch, c);
    if (s == NULL) {
        r->oom = true;
        return false;
    }
    rec_keep(r, dst, s, strlen(s), (n < TD_ESCAPE_MAX_IN ? n : TD_ESCAPE_MAX_IN) * 4 + 4);
    return dst->text != NULL;
}

/* rec_ip stores an iPAddress SAN (4 or 16 octets, RFC 5280 §4.2.1.6) as "IP:192.0.2.1" / "IP:2001:db8::1". */
static bool rec_ip(struct cert_record *r, struct rec_str *dst, const ASN1_OCTET_STRING *ip)
{
    struct td_cursor c = asn1_cursor(ip);
    uint8_t addr[16];
    char txt[INET6_ADDRSTRLEN];
    char buf[INET6_ADDRSTRLEN + 8];
    size_t n = td_cursor_len(&c);
    int family = n == 4 ? AF_INET : n == 16 ? AF_INET6 : 0;
    int w = 0;
    if (family == 0) {
        // A name-constraint style or garbage address: keep its size visible.
        w = snprintf(buf, sizeof(buf), "IP:(%zu bytes)", n);
        if (w <= 0 || (size_t)w >= sizeof(buf)) {
            return false;
        }
    } else {
        if (!td_cursor_copy(&c, addr, n) || inet_ntop(family, addr, txt, sizeof(txt)) == NULL) {
            return false;
        }
        w = snprintf(buf, sizeof(buf), "IP:%s", txt);
        if (w < 0 || (size_t)w >= sizeof(buf)) {
            return false;
        }
    }
    rec_printable(r, dst, buf, (size_t)w);
    return dst->text != NULL;
}

/* rec_sans keeps the dNSName and iPAddress entries of subjectAltName (at most CERT_SANS_MAX). A SAN that
 * cannot be rendered ends the list and marks the parse failed, as running out of arena does. */
static void rec_sans(struct cert_record *r, X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (gens == NULL) {
        return;
    }
    int total = sk_GENERAL_NAME_num(gens);
    for (int i = 0; i < total; i++) {
        int type = sk_GENERAL_NAME_value(gens, i)->type;
        if ((type == GEN_DNS || type == GEN_IPADD) && r->sans_want < CERT_SANS_MAX) {
            r->sans_want++;
        }
    }
    if (r->sans_want > 0) {
        r->sans = td_arena_alloc(&r->mem, r->sans_want * sizeof(*r->sans));
        if (r->sans == NULL) {
            r->oom = true;
            r->sans_failed = true;
        }
    }
    struct td_arena scratch;
    td_arena_init(&scratch, RECORD_MEM_MAX);
    for (int i = 0; r->sans != NULL && i < total && r->num_sans < r->sans_want; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        struct rec_str *dst = &r->sans[r->num_sans];
        bool ok = true;
        if (g->type == GEN_DNS) {
            ok = rec_dns(r, &scratch, dst, g->d.dNSName);
        } else if (g->type == GEN_IPADD) {
            ok = rec_ip(r, dst, g->d.iPAddress);
        } else {
            continue;
        }
        if (!ok) {
            r->sans_failed = true;
            break;
        }
        r->num_sans++;
    }
    td_arena_cleanup(&scratch);
    GENERAL_NAMES_free(gens);
}

/* rec_ekus keeps extKeyUsage purposes as short names ("serverAuth") or dotted OIDs. */
static void rec_ekus(struct cert_record *r, X509 *x)
{
    r->scalars.has_eku_ext = X509_get_ext_by_NID(x, NID_ext_key_usage, -1) >= 0;
    if (!r->scalars.has_eku_ext) {
        return;
    }
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    if (eku == NULL) {
        return; // present but undecodable: no purpose is listed
    }
    int total = sk_ASN1_OBJECT_num(eku);
    r->ekus_want = total < 0 ? 0 : (uint32_t)total < CERT_EKUS_MAX ? (uint32_t)total : CERT_EKUS_MAX;
    if (r->ekus_want > 0) {
        r->ekus = td_arena_alloc(&r->mem, r->ekus_want * sizeof(*r->ekus));
        if (r->ekus == NULL) {
            r->oom = true;
        }
    }
    for (uint32_t i = 0; r->ekus != NULL && i < r->ekus_want; i++) {
        const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, (int)i);
        int nid = OBJ_obj2nid(obj);
        const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
        char oid[OID_TXT_MAX];
        if (sn == NULL) {
            int n = OBJ_obj2txt(oid, sizeof(oid), obj, 1);
            if (n <= 0) {
                continue; // not listed, and nothing asked of the arena
            }
            sn = oid;
        }
        rec_printable(r, &r->ekus[r->num_ekus], sn, strlen(sn));
        if (r->ekus[r->num_ekus].text == NULL) {
            break;
        }
        r->num_ekus++;
    }
    EXTENDED_KEY_USAGE_free(eku);
}

/* rec_key names the subject public key type and size. */
static void rec_key(struct cert_record *r, X509 *x)
{
    struct td_cert *out = &r->scalars;
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
    r->key_bits_set = true;
}

/* rec_sig_alg: "sha256WithRSAEncryption" (libcrypto's long name, as `openssl x509 -text` prints it), or
 * the dotted OID of an algorithm libcrypto does not know. */
static void rec_sig_alg(struct cert_record *r, const X509 *x)
{
    int nid = X509_get_signature_nid(x);
    const char *ln = nid != NID_undef ? OBJ_nid2ln(nid) : NULL;
    if (ln != NULL) {
        rec_printable(r, &r->sig_alg, ln, strlen(ln));
        return;
    }
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *obj = NULL;
    char oid[OID_TXT_MAX];
    X509_get0_signature(NULL, &alg, x);
    if (alg == NULL) {
        return;
    }
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    int n = obj != NULL ? OBJ_obj2txt(oid, sizeof(oid), obj, 1) : 0;
    if (n <= 0) {
        return;
    }
    rec_printable(r, &r->sig_alg, oid, strlen(oid));
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

static void record_free(struct cert_record *r)
{
    if (r == NULL) {
        return;
    }
    td_arena_cleanup(&r->mem);
    free(r);
}

/* record_build parses the DER (len bytes, len > 0) into a new record whose der_len and sha256 are the
 * caller's. NULL only when malloc fails for the record itself. */
static struct cert_record *record_build(const uint8_t *data, size_t len, const struct td_cert *id)
{
    struct cert_record *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    td_arena_init(&r->mem, RECORD_MEM_MAX);
    r->scalars.der_len = id->der_len;
    memcpy(r->scalars.sha256, id->sha256, sizeof(r->scalars.sha256));

    const unsigned char *p = data;
    X509 *x = NULL;
    if (p != NULL && len > 0 && len <= (size_t)LONG_MAX) {
        x = d2i_X509(NULL, &p, (long)len);
    }
    if (x == NULL) {
        r->scalars.parse_error = true;
        ERR_clear_error();
        return r;
    }
    rec_name(r, &r->subject, X509_get_subject_name(x));
    rec_name(r, &r->issuer, X509_get_issuer_name(x));
    rec_serial(r, x);
    if (!unix_time(X509_get0_notBefore(x), &r->scalars.not_before)) {
        r->scalars.not_before = 0;
    }
    if (!unix_time(X509_get0_notAfter(x), &r->scalars.not_after)) {
        r->scalars.not_after = 0;
    }
    rec_sans(r, x);
    rec_ekus(r, x);
    rec_key(r, x);
    rec_sig_alg(r, x);
    r->scalars.is_ca = is_ca(x);
    r->scalars.self_signed = is_self_signed(x);
    X509_free(x);
    // libcrypto leaves decode and verify failures on the thread's error queue; nothing reads them.
    ERR_clear_error();
    return r;
}

/* ---------------------------------------------------------------- replay */

/* replay_str copies a recorded string into the arena with the allocation a direct parse makes. */
static char *replay_str(struct td_arena *arena, const struct rec_str *s)
{
    if (s->text == NULL) {
        return NULL;
    }
    char *out = td_arena_alloc(arena, s->alloc_len);
    if (out != NULL) {
        memcpy(out, s->text, s->len + 1);
    }
    return out;
}

/* replay fills *out from r into the connection arena: the allocations of a direct parse, in its order
 * (subject, issuer, serial, SAN array, SANs, EKU array, EKUs, signature algorithm), each failure
 * handled as it handles it. Returns what td_cert_parse returns. */
static bool replay(struct td_arena *arena, const struct cert_record *r, struct td_cert *out)
{
    const struct td_cert *s = &r->scalars;
    out->parse_error = s->parse_error;
    if (s->parse_error) {
        return false;
    }
    out->subject = replay_str(arena, &r->subject);
    out->issuer = replay_str(arena, &r->issuer);
    out->serial = replay_str(arena, &r->serial);
    out->not_before = s->not_before;
    out->not_after = s->not_after;

    bool sans_ok = !r->sans_failed;
    if (r->sans_want > 0) {
        out->sans = td_arena_alloc(arena, r->sans_want * sizeof(*out->sans));
        sans_ok = sans_ok && out->sans != NULL;
    }
    for (uint32_t i = 0; out->sans != NULL && i < r->num_sans; i++) {
        char *str = replay_str(arena, &r->sans[i]);
        if (str == NULL) {
            sans_ok = false;
            break;
        }
        out->sans[out->num_sans++] = str;
    }

    bool ekus_ok = true;
    out->has_eku_ext = s->has_eku_ext;
    if (r->ekus_want > 0) {
        out->ekus = td_arena_alloc(arena, r->ekus_want * sizeof(*out->ekus));
        ekus_ok = out->ekus != NULL;
    }
    for (uint32_t i = 0; out->ekus != NULL && i < r->num_ekus; i++) {
        char *str = replay_str(arena, &r->ekus[i]);
        if (str == NULL) {
            ekus_ok = false;
            break;
        }
        out->ekus[out->num_ekus++] = str;
    }

    memcpy(out->key_type, s->key_type, sizeof(out->key_type));
    if (r->key_bits_set) {
        out->key_bits = s->key_bits;
    }
    out->sig_alg = replay_str(arena, &r->sig_alg);
    out->is_ca = s->is_ca;
    out->self_signed = s->self_signed;
    // A NULL string above is either the arena cap (then hit_cap is set) or a field libcrypto cannot
    // render, which is not a failure of the certificate. hit_cap may also be from an earlier message.
    return sans_ok && ekus_ok && !r->oom && !arena->hit_cap;
}

/* ---------------------------------------------------------------- the per-thread cache */

struct cache_entry {
    uint8_t key[TD_SHA256_LEN];
    uint32_t der_len;
    size_t mem_len;                    /* accounted bytes: the entry, the record and its strings */
    struct cert_record *rec;
    struct cache_entry *hash_next;
    struct cache_entry *lru_prev;      /* towards the most recently used */
    struct cache_entry *lru_next;
};

struct cert_cache {
    struct cache_entry *buckets[CACHE_BUCKETS];
    struct cache_entry *lru_head;      /* most recently used */
    struct cache_entry *lru_tail;      /* next to evict */
    uint32_t max_entries;
    size_t max_mem_len;
    struct td_cert_cache_stats stats;
};

static _Thread_local struct cert_cache *tls_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;
static bool cache_key_ok;

static size_t bucket_of(const uint8_t key[TD_SHA256_LEN])
{
    uint64_t h = 0;
    memcpy(&h, key, sizeof(h)); // SHA-256 output is uniform: its first bytes are the hash
    return (size_t)(h & (CACHE_BUCKETS - 1u));
}

static void lru_unlink(struct cert_cache *c, struct cache_entry *e)
{
    if (e->lru_prev != NULL) {
        e->lru_prev->lru_next = e->lru_next;
    } else {
        c->lru_head = e->lru_next;
    }
    if (e->lru_next != NULL) {
        e->lru_next->lru_prev = e->lru_prev;
    } else {
        c->lru_tail = e->lru_prev;
    }
    e->lru_prev = NULL;
    e->lru_next = NULL;
}

static void lru_push_front(struct cert_cache *c, struct cache_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head != NULL) {
        c->lru_head->lru_prev = e;
    } else {
        c->lru_tail = e;
    }
    c->lru_head = e;
}

static void entry_remove(struct cert_cache *c, struct cache_entry *e)
{
    struct cache_entry **pp = &c->buckets[bucket_of(e->key)];
    while (*pp != NULL && *pp != e) {
        pp = &(*pp)->hash_next;
    }
    if (*pp == e) {
        *pp = e->hash_next;
    }
    lru_unlink(c, e);
    c->stats.entries--;
    c->stats.mem_len -= e->mem_len;
    record_free(e->rec);
    free(e);
}

/* evict_to_fit drops least recently used entries until need_len more bytes and one more entry fit. */
static void evict_to_fit(struct cert_cache *c, size_t need_len)
{
    while (c->lru_tail != NULL &&
           (c->stats.entries + 1u > c->max_entries || c->stats.mem_len + need_len > c->max_mem_len)) {
        entry_remove(c, c->lru_tail);
        c->stats.evictions++;
    }
}

static void cache_free(struct cert_cache *c)
{
    if (c == NULL) {
        return;
    }
    while (c->lru_tail != NULL) {
        entry_remove(c, c->lru_tail);
    }
    free(c);
}

/* The key exists for its destructor, which frees a worker thread's cache when the thread exits. */
static void cache_destroy(void *p)
{
    cache_free(p);
}

static void cache_key_create(void)
{
    cache_key_ok = pthread_key_create(&cache_key, cache_destroy) == 0;
}

/* thread_cache returns the calling thread's cache, creating it on first use; NULL without memory (the
 * caller then parses without caching). */
static struct cert_cache *thread_cache(void)
{
    if (tls_cache != NULL) {
        return tls_cache;
    }
    struct cert_cache *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->max_entries = CACHE_ENTRIES_MAX;
    c->max_mem_len = CACHE_MEM_MAX;
    (void)pthread_once(&cache_key_once, cache_key_create);
    if (cache_key_ok) {
        (void)pthread_setspecific(cache_key, c);
    }
    tls_cache = c;
    return c;
}

static struct cache_entry *cache_find(struct cert_cache *c, const uint8_t key[TD_SHA256_LEN], uint32_t der_len)
{
    for (struct cache_entry *e = c->buckets[bucket_of(key)]; e != NULL; e = e->hash_next) {
        if (e->der_len == der_len && memcmp(e->key, key, TD_SHA256_LEN) == 0) {
            return e;
        }
    }
    return NULL;
}

/* cache_insert takes ownership of r when it returns true. */
static bool cache_insert(struct cert_cache *c, const uint8_t key[TD_SHA256_LEN], struct cert_record *r)
{
    size_t mem_len = sizeof(struct cache_entry) + sizeof(*r) + r->mem.used_len;
    if (c->max_entries == 0 || mem_len > c->max_mem_len) {
        return false;
    }
    evict_to_fit(c, mem_len);
    struct cache_entry *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return false;
    }
    memcpy(e->key, key, TD_SHA256_LEN);
    e->der_len = r->scalars.der_len;
    e->mem_len = mem_len;
    e->rec = r;
    size_t b = bucket_of(key);
    e->hash_next = c->buckets[b];
    c->buckets[b] = e;
    lru_push_front(c, e);
    c->stats.entries++;
    c->stats.mem_len += mem_len;
    return true;
}

void td_cert_cache_free_thread(void)
{
    if (tls_cache == NULL) {
        return;
    }
    if (cache_key_ok) {
        (void)pthread_setspecific(cache_key, NULL);
    }
    cache_free(tls_cache);
    tls_cache = NULL;
}

void td_cert_cache_set_limits(uint32_t max_entries, size_t max_mem_len)
{
    struct cert_cache *c = thread_cache();
    if (c == NULL) {
        return;
    }
    c->max_entries = max_entries;
    c->max_mem_len = max_mem_len;
    while (c->lru_tail != NULL && (c->stats.entries > max_entries || c->stats.mem_len > max_mem_len)) {
        entry_remove(c, c->lru_tail);
        c->stats.evictions++;
    }
}

void td_cert_cache_get_stats(struct td_cert_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (tls_cache != NULL) {
        *out = tls_cache->stats;
    }
}

/* ---------------------------------------------------------------- td_cert_parse */

bool td_cert_parse(struct td_arena *arena, struct td_cursor der, struct td_cert *out)
{
    size_t len = td_cursor_len(&der);
    const uint8_t *data = td_cursor_data(&der);
    uint8_t key[TD_SHA256_LEN];
    out->der_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    out->sha256[0] = '\0';
    bool keyed = td_digest_sha256(data != NULL ? data : (const uint8_t *)"", len, key);
    if (keyed) {
        td_digest_hex(key, sizeof(key), out->sha256);
    }
    out->parse_error = false;

    // Without a digest there is no key: parse without the cache.
    struct cert_cache *c = keyed ? thread_cache() : NULL;
    struct cache_entry *e = c != NULL ? cache_find(c, key, out->der_len) : NULL;
    if (e != NULL) {
        c->stats.hits++;
        lru_unlink(c, e);
        lru_push_front(c, e);
        return replay(arena, e->rec, out);
    }

    struct cert_record *r = record_build(data, len, out);
    if (r == NULL) {
        out->parse_error = true; // no memory to parse it: reported like an unparsable certificate
        return false;
    }
    bool ok = replay(arena, r, out);
    if (c != NULL) {
        c->stats.misses++;
    }
    if (c == NULL || r->oom || !cache_insert(c, key, r)) {
        record_free(r);
    }
    return ok;
}
