/* SPDX-License-Identifier: MIT */
/* fingerprint.c: the JA3 and JA4 fingerprints of a parsed ClientHello.
 * Specification: JA3 (salesforce/ja3 README: "SSLVersion,Ciphers,Extensions,EllipticCurves,
 * EllipticCurvePointFormats", decimal, GREASE (RFC 8701) removed, MD5); JA4 (FoxIO-LLC/ja4
 * technical_details/JA4.md: ja4_a version/SNI/counts/ALPN, ja4_b sorted cipher hash, ja4_c sorted extension
 * + signature algorithm hash, each hash the first 12 hex characters of SHA-256). */
#include "fingerprint.h"

#include "digest.h"
#include "internal.h"
#include "names.h"

#include <stdlib.h>
#include <string.h>

/* Scratch limits. The full JA3 string is hashed, so it is built in a local buffer larger than out->ja3:
 * 24 KiB holds about 4000 values, far beyond any real hello (Chrome sends about 60). A hello beyond them
 * gets an empty hash rather than a wrong one. */
#define FP_TEXT_MAX 24576
#define FP_SORT_MAX 4096
#define JA4_HASH_LEN 12
#define JA4_COUNT_MAX 99

/* A bounded string builder: appends stop at the cap and set overflow; the text stays NUL-terminated. */
struct text {
    char *p;
    size_t cap;
    size_t len;
    bool overflow;
};

static void text_init(struct text *t, char *buf, size_t cap)
{
    t->p = buf;
    t->cap = cap;
    t->len = 0;
    t->overflow = false;
    buf[0] = '\0';
}

/* text_bytes appends n bytes of s; text_put a NUL-terminated string. */
static void text_bytes(struct text *t, const char *s, size_t n)
{
    if (t->overflow || n >= t->cap - t->len) {
        t->overflow = true;
        return;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_put(struct text *t, const char *s)
{
    text_bytes(t, s, strlen(s));
}

/* text_u16 appends v in decimal or as 4 lowercase hex digits, written by hand: a fingerprint formats
 * hundreds of numbers per ClientHello, and snprintf was most of its cost. */
static void text_u16(struct text *t, uint16_t v, bool hex)
{
    static const char digits[] = "0123456789abcdef";
    char num[5];
    if (hex) {
        num[0] = digits[(v >> 12) & 0x0f];
        num[1] = digits[(v >> 8) & 0x0f];
        num[2] = digits[(v >> 4) & 0x0f];
        num[3] = digits[v & 0x0f];
        text_bytes(t, num, 4);
        return;
    }
    size_t at = sizeof num; // digits are written from the right
    do {
        num[--at] = digits[v % 10u];
        v = (uint16_t)(v / 10u);
    } while (v != 0);
    text_bytes(t, num + at, sizeof num - at);
}

/* text_list appends the non-GREASE values of v, joined by sep, in decimal or 4-digit lowercase hex. */
static void text_list(struct text *t, const uint16_t *v, uint32_t num, const char *sep, bool hex)
{
    bool first = true;
    for (uint32_t i = 0; i < num; i++) {
        if (td_is_grease(v[i])) {
            continue;
        }
        if (!first) {
            text_put(t, sep);
        }
        text_u16(t, v[i], hex);
        first = false;
    }
}

static void fingerprint_ja3(const struct td_client_hello *ch, char *buf, struct td_fingerprints *out)
{
    struct text t;
    text_init(&t, buf, FP_TEXT_MAX);
    text_u16(&t, ch->legacy_version, false);
    text_put(&t, ",");
    text_list(&t, ch->ciphers.v, ch->ciphers.num, "-", false);
    text_put(&t, ",");
    text_list(&t, ch->extensions.v, ch->extensions.num, "-", false);
    text_put(&t, ",");
    text_list(&t, ch->groups.v, ch->groups.num, "-", false);
    text_put(&t, ",");
    text_list(&t, ch->ec_point_formats.v, ch->ec_point_formats.num, "-", false);

    // out->ja3 keeps what fits; a longer string ends in "..." (fingerprint.h) but the hash covers all of it.
    size_t keep = t.len < sizeof out->ja3 ? t.len : sizeof out->ja3 - 4;
    memcpy(out->ja3, buf, keep);
    out->ja3[keep] = '\0';
    if (keep < t.len) {
        memcpy(out->ja3 + keep, "...", 4);
    }
    out->ja3_hash[0] = '\0';
    if (!t.overflow) {
        td_digest_md5_hex(buf, t.len, out->ja3_hash);
    }
}

/* JA4 version codes (JA4.md "TLS and DTLS Version"); anything else is "00". */
static const struct {
    uint16_t version;
    char code[3];
} ja4_versions[] = {
    {TD_VERSION_TLS13, "13"}, {TD_VERSION_TLS12, "12"}, {TD_VERSION_TLS11, "11"}, {TD_VERSION_TLS10, "10"},
    {TD_VERSION_SSL3, "s3"},  {TD_VERSION_SSL2, "s2"},  {0xfeff, "d1"},          {0xfefd, "d2"},
    {0xfefc, "d3"},
};

static const char *ja4_version(uint16_t v)
{
    for (size_t i = 0; i < sizeof ja4_versions / sizeof ja4_versions[0]; i++) {
        if (ja4_versions[i].version == v) {
            return ja4_versions[i].code;
        }
    }
    return "00";
}

/* The highest non-GREASE supported_versions value when the extension was sent, else legacy_version. Highest by
 * what it stands for: DTLS numbers go down as versions go up (DTLS 1.3 is 0xfefc, DTLS 1.2 0xfefd). */
static uint16_t ja4_pick_version(const struct td_client_hello *ch)
{
    uint16_t best = 0;
    for (uint32_t i = 0; i < ch->supported_versions.num; i++) {
        uint16_t v = ch->supported_versions.v[i];
        if (!td_is_grease(v) && td_version_tls_equivalent(v) > td_version_tls_equivalent(best)) {
            best = v;
        }
    }
    return best != 0 ? best : ch->legacy_version;
}

static unsigned count_non_grease(const struct td_u16_list *l)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < l->num; i++) {
        if (!td_is_grease(l->v[i])) {
            n++;
        }
    }
    return n > JA4_COUNT_MAX ? JA4_COUNT_MAX : n;
}

static bool list_has(const struct td_u16_list *l, uint16_t value)
{
    for (uint32_t i = 0; i < l->num; i++) {
        if (l->v[i] == value) {
            return true;
        }
    }
    return false;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* alpn_ends recovers the first and last wire bytes of an ALPN name escaped by td_escape_string (printable
 * ASCII kept, everything else and the backslash as \xNN). Returns false for an empty name. */
static bool alpn_ends(const char *s, uint8_t *first, uint8_t *last)
{
    size_t n = 0;
    for (size_t i = 0; s[i] != '\0'; n++) {
        uint8_t b = (uint8_t)s[i];
        int hi = -1, lo = -1;
        if (s[i] == '\\' && s[i + 1] == 'x' && (hi = hex_digit(s[i + 2])) >= 0 && (lo = hex_digit(s[i + 3])) >= 0) {
            b = (uint8_t)(hi * 16 + lo);
            i += 4;
        } else {
            i++;
        }
        if (n == 0) {
            *first = b;
        }
        *last = b;
    }
    return n > 0;
}

static bool is_alnum(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z');
}

/* ja4_alpn: first and last character of the first ALPN value; "00" when there is none or it is empty;
 * when either end is not alphanumeric, the first and last characters of the value's hex form instead. */
static void ja4_alpn(const struct td_client_hello *ch, char out[3])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t first = 0, last = 0;
    memcpy(out, "00", 3);
    if (ch->num_alpn == 0 || ch->alpn == NULL || ch->alpn[0] == NULL || !alpn_ends(ch->alpn[0], &first, &last)) {
        return;
    }
    if (is_alnum(first) && is_alnum(last)) {
        out[0] = (char)first;
        out[1] = (char)last;
        return;
    }
    out[0] = hex[first >> 4];
    out[1] = hex[last & 0x0f];
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* sorted_copy puts the non-GREASE values of l, minus skip_a and skip_b when skip is set, sorted, into
 * out. Returns false when there are more than FP_SORT_MAX. */
static bool sorted_copy(const struct td_u16_list *l, bool skip, uint16_t skip_a, uint16_t skip_b, uint16_t *out,
                        uint32_t *num)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < l->num; i++) {
        uint16_t v = l->v[i];
        if (td_is_grease(v) || (skip && (v == skip_a || v == skip_b))) {
            continue;
        }
        if (n == FP_SORT_MAX) {
            return false;
        }
        out[n++] = v;
    }
    qsort(out, n, sizeof *out, cmp_u16);
    *num = n;
    return true;
}

/* truncated_sha256 writes the first 12 hex characters of SHA-256(text) into out[13]. */
static void truncated_sha256(const struct text *t, char out[JA4_HASH_LEN + 1])
{
    char full[65];
    td_digest_sha256_hex(t->p, t->len, full);
    memcpy(out, full, JA4_HASH_LEN);
    out[JA4_HASH_LEN] = '\0';
}

/* ja4_b: the hash of the sorted cipher list; "000000000000" when empty. False when too long to build. */
static bool ja4_cipher_hash(const struct td_client_hello *ch, char *buf, uint16_t *sorted,
                            char out[JA4_HASH_LEN + 1])
{
    uint32_t n = 0;
    struct text t;
    memcpy(out, "000000000000", JA4_HASH_LEN + 1);
    if (!sorted_copy(&ch->ciphers, false, 0, 0, sorted, &n)) {
        return false;
    }
    if (n == 0) {
        return true;
    }
    text_init(&t, buf, FP_TEXT_MAX);
    text_list(&t, sorted, n, ",", true);
    if (t.overflow) {
        return false;
    }
    truncated_sha256(&t, out);
    return true;
}

/* ja4_c: the hash of the sorted extensions without SNI and ALPN, then '_' and the signature algorithms in
 * the order sent (no '_' when there are none); "000000000000" when no extension is left. */
static bool ja4_extension_hash(const struct td_client_hello *ch, char *buf, uint16_t *sorted,
                               char out[JA4_HASH_LEN + 1])
{
    uint32_t n = 0;
    struct text t;
    memcpy(out, "000000000000", JA4_HASH_LEN + 1);
    if (!sorted_copy(&ch->extensions, true, 0x0000, 0x0010, sorted, &n)) {
        return false;
    }
    if (n == 0) {
        return true;
    }
    text_init(&t, buf, FP_TEXT_MAX);
    text_list(&t, sorted, n, ",", true);
    if (count_non_grease(&ch->sig_algs) > 0) {
        text_put(&t, "_");
        text_list(&t, ch->sig_algs.v, ch->sig_algs.num, ",", true);
    }
    if (t.overflow) {
        return false;
    }
    truncated_sha256(&t, out);
    return true;
}

static void fingerprint_ja4(const struct td_client_hello *ch, char *buf, uint16_t *sorted, struct td_fingerprints *out)
{
    char alpn[3], hash_b[JA4_HASH_LEN + 1], hash_c[JA4_HASH_LEN + 1];
    out->ja4[0] = '\0';
    if (!ja4_cipher_hash(ch, buf, sorted, hash_b) || !ja4_extension_hash(ch, buf, sorted, hash_c)) {
        return; // more values than the scratch space: no fingerprint rather than a wrong one
    }
    ja4_alpn(ch, alpn);
    // "t" version sni cipher-count extension-count alpn "_" ja4_b "_" ja4_c; counts are two digits
    // (count_non_grease caps them at 99).
    unsigned num_ciphers = count_non_grease(&ch->ciphers);
    unsigned num_exts = count_non_grease(&ch->extensions);
    char counts[4] = {(char)('0' + num_ciphers / 10u), (char)('0' + num_ciphers % 10u),
                      (char)('0' + num_exts / 10u), (char)('0' + num_exts % 10u)};
    char sni = list_has(&ch->extensions, 0x0000) ? 'd' : 'i';
    struct text t;
    text_init(&t, out->ja4, sizeof out->ja4);
    text_put(&t, ch->dtls ? "d" : "t"); // the transport (JA4.md "QUIC and DTLS")
    text_put(&t, ja4_version(ja4_pick_version(ch)));
    text_bytes(&t, &sni, 1);
    text_bytes(&t, counts, sizeof counts);
    text_put(&t, alpn);
    text_put(&t, "_");
    text_put(&t, hash_b);
    text_put(&t, "_");
    text_put(&t, hash_c);
    if (t.overflow) {
        out->ja4[0] = '\0';
    }
}

void td_fingerprint_client_hello(const struct td_client_hello *ch, struct td_fingerprints *out)
{
    out->ja3[0] = out->ja3_hash[0] = out->ja4[0] = '\0';
    if (ch->fingerprint_lost) {
        return;
    }
    // Scratch lives here, not in the arena: it is only needed for this call.
    char buf[FP_TEXT_MAX];
    uint16_t sorted[FP_SORT_MAX];
    fingerprint_ja3(ch, buf, out);
    fingerprint_ja4(ch, buf, sorted, out);
}
