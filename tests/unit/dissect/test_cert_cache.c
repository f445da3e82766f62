/* SPDX-License-Identifier: MIT */
/* test_cert_cache.c: the per-thread certificate cache behind td_cert_parse (dissect/cert.c): a hit gives
 * the same facts, return value and arena use as a parse, under every arena cap; LRU eviction by entries
 * and by bytes; caching off; one cache per thread. Expected fingerprints and names come from
 * `openssl x509 -noout -fingerprint -sha256 -subject -nameopt RFC2253` on the sample PKI. */
#include "../../../capture/arena.h"
#include "../../../capture/cursor.h"
#include "../../../dissect/cert.h"
#include "../../../dissect/digest.h"
#include "../testlib.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ARENA_BIG (1u << 20)

/* A self-signed P-256 certificate made for this test (openssl req -x509, see the report of issue #5):
 * subject "CN=cache test,O=tlsdiag", SANs: a 1105-byte dNSName ("a" x 1100 + ".test", longer than the
 * 1024 bytes an escaped string keeps), "back\slash", n0.test .. n65.test (68 in all, more than the 64
 * kept); EKU serverAuth and 1.2.3.4. */
static const char *const DER_BIG_HEX[] = {
"308208bc30820863a003020102021436e8f076a452f96110b03cc3e8330e69aa85b600300a06082a8648ce3d04030230",
    "273113301106035504030c0a636163686520746573743110300e060355040a0c07746c7364696167301e170d32363131",
    "32353030313332325a170d3336313132323030313332325a30273113301106035504030c0a6361636865207465737431",
    "10300e060355040a0c07746c73646961673059301306072a8648ce3d020106082a8648ce3d0301070342000427e7533c",
    "807840e74d15eb3cce9ea2f4fed16a2d02d89ae5754d1ac2e77a21ecc7d8653772c765a94d97ced7d03b7d31ea60ae68",
    "d0ca0eeea7641b691fb2a8cda382076b30820767301d0603551d0e04160414ff8e166da6c3dde3e19353ed513d82752f",
    "aab03c301f0603551d23041830168014ff8e166da6c3dde3e19353ed513d82752faab03c300f0603551d130101ff0405",
    "30030101ff308206f80603551d11048206ef308206eb8282045161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161",
    "616161616161616161616161616161616161616161612e74657374820a6261636b5c736c61736882076e302e74657374",
    "82076e312e7465737482076e322e7465737482076e332e7465737482076e342e7465737482076e352e7465737482076e",
    "362e7465737482076e372e7465737482076e382e7465737482076e392e7465737482086e31302e7465737482086e3131",
    "2e7465737482086e31322e7465737482086e31332e7465737482086e31342e7465737482086e31352e7465737482086e",
    "31362e7465737482086e31372e7465737482086e31382e7465737482086e31392e7465737482086e32302e7465737482",
    "086e32312e7465737482086e32322e7465737482086e32332e7465737482086e32342e7465737482086e32352e746573",
    "7482086e32362e7465737482086e32372e7465737482086e32382e7465737482086e32392e7465737482086e33302e74",
    "65737482086e33312e7465737482086e33322e7465737482086e33332e7465737482086e33342e7465737482086e3335",
    "2e7465737482086e33362e7465737482086e33372e7465737482086e33382e7465737482086e33392e7465737482086e",
    "34302e7465737482086e34312e7465737482086e34322e7465737482086e34332e7465737482086e34342e7465737482",
    "086e34352e7465737482086e34362e7465737482086e34372e7465737482086e34382e7465737482086e34392e746573",
    "7482086e35302e7465737482086e35312e7465737482086e35322e7465737482086e35332e7465737482086e35342e74",
    "65737482086e35352e7465737482086e35362e7465737482086e35372e7465737482086e35382e7465737482086e3539",
    "2e7465737482086e36302e7465737482086e36312e7465737482086e36322e7465737482086e36332e7465737482086e",
    "36342e7465737482086e36352e7465737430180603551d250411300f06082b0601050507030106032a0304300a06082a",
    "8648ce3d04030203470030440220505b6f70986060e087b30643390b59a9ad58f2ea9a3c5d21a2bb129425d1b22c0220",
    "411499f761e09ada71ba3fbd22ffea8560598f7ce4ed42136d5c349780333966",
};
/* sha256 of DER_BIG_HEX, from `openssl x509 -inform DER -noout -fingerprint -sha256`. */
#define DER_BIG_SHA256 "2deb977df261994a01bfcc1fb8d5ba2b50a71ffc3495c1d430d4781fb86ad7de"

struct der {
    uint8_t *p;
    size_t len;
};

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* pem_der reads the first certificate of samples/pki/NAME.pem as DER. */
static struct der pem_der(const char *name)
{
    char path[512];
    struct der d = {NULL, 0};
    (void)snprintf(path, sizeof(path), "%s/pki/%s.pem", TD_SAMPLES_DIR, name);
    size_t n = 0;
    uint8_t *pem = td_test_read_file(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    const char *begin = "-----BEGIN CERTIFICATE-----";
    char *text = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    memcpy(text, pem, n);
    text[n] = '\0';
    free(pem);
    char *s = strstr(text, begin);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    s += strlen(begin);
    d.p = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d.p);
    uint32_t acc = 0;
    int bits = 0;
    for (; *s != '\0' && *s != '-'; s++) {
        int v = b64_value((unsigned char)*s);
        if (v < 0) {
            continue; // newlines; '=' padding ends the data bits
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d.p[d.len++] = (uint8_t)(acc >> bits);
        }
    }
    free(text);
    return d;
}

static struct der hex_der(const char *hex)
{
    struct der d;
    d.p = td_test_hex(hex, &d.len);
    return d;
}

/* big_der joins the lines of DER_BIG_HEX (one literal would pass the 4095 bytes C11 guarantees). */
static struct der big_der(void)
{
    size_t lines = sizeof(DER_BIG_HEX) / sizeof(DER_BIG_HEX[0]), n = 1;
    for (size_t i = 0; i < lines; i++) {
        n += strlen(DER_BIG_HEX[i]);
    }
    char *hex = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hex);
    size_t used = 0;
    for (size_t i = 0; i < lines; i++) {
        size_t len = strlen(DER_BIG_HEX[i]);
        memcpy(hex + used, DER_BIG_HEX[i], len);
        used += len;
    }
    hex[used] = '\0';
    struct der d = hex_der(hex);
    free(hex);
    return d;
}

static bool parse(struct td_arena *arena, const struct der *d, struct td_cert *out)
{
    struct td_cursor c;
    td_cursor_init(&c, d->p, d->len, 0);
    memset(out, 0, sizeof(*out));
    return td_cert_parse(arena, c, out);
}

static bool str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool cert_same(const struct td_cert *a, const struct td_cert *b)
{
    bool same = a->der_len == b->der_len && strcmp(a->sha256, b->sha256) == 0 && str_same(a->subject, b->subject) &&
                str_same(a->issuer, b->issuer) && str_same(a->serial, b->serial) && a->not_before == b->not_before &&
                a->not_after == b->not_after && a->num_sans == b->num_sans && a->num_ekus == b->num_ekus &&
                (a->sans == NULL) == (b->sans == NULL) && (a->ekus == NULL) == (b->ekus == NULL) &&
                a->has_eku_ext == b->has_eku_ext && strcmp(a->key_type, b->key_type) == 0 &&
                a->key_bits == b->key_bits && str_same(a->sig_alg, b->sig_alg) && a->self_signed == b->self_signed &&
                a->is_ca == b->is_ca && a->parse_error == b->parse_error;
    for (uint32_t i = 0; same && i < a->num_sans; i++) {
        same = str_same(a->sans[i], b->sans[i]);
    }
    for (uint32_t i = 0; same && i < a->num_ekus; i++) {
        same = str_same(a->ekus[i], b->ekus[i]);
    }
    return same;
}

static void fresh_cache(void)
{
    td_cert_cache_free_thread();
}

static void test_hit_equals_miss(void)
{
    fresh_cache();
    struct der d = pem_der("server");
    struct td_arena a1, a2;
    struct td_cert c1, c2;
    td_arena_init(&a1, ARENA_BIG);
    td_arena_init(&a2, ARENA_BIG);
    CU_ASSERT_TRUE(parse(&a1, &d, &c1));
    CU_ASSERT_TRUE(parse(&a2, &d, &c2));
    CU_ASSERT_STRING_EQUAL(c1.sha256, "3721ded274b0bee335263933f2bf323f4ed54a329082e8a8f27a685c4c3e11f3");
    CU_ASSERT_STRING_EQUAL(c1.subject != NULL ? c1.subject : "", "CN=server.test,O=tlsdiag Test");
    CU_ASSERT_TRUE(cert_same(&c1, &c2));
    // The hit is a deep copy in the second arena: freeing the first leaves it intact.
    CU_ASSERT_PTR_NOT_EQUAL(c1.subject, c2.subject);
    td_arena_cleanup(&a1);
    CU_ASSERT_STRING_EQUAL(c2.subject != NULL ? c2.subject : "", "CN=server.test,O=tlsdiag Test");
    struct td_cert_cache_stats st;
    td_cert_cache_get_stats(&st);
    CU_ASSERT_EQUAL(st.misses, 1);
    CU_ASSERT_EQUAL(st.hits, 1);
    CU_ASSERT_EQUAL(st.entries, 1);
    CU_ASSERT_TRUE(st.mem_len > 0);
    td_arena_cleanup(&a2);
    free(d.p);
}

/* The big certificate: its SAN list is capped and its long name cut, as without a cache. */
static void test_big_certificate(void)
{
    fresh_cache();
    struct der d = big_der();
    struct td_arena a;
    struct td_cert c;
    td_arena_init(&a, ARENA_BIG);
    for (int round = 0; round < 2; round++) {
        CU_ASSERT_TRUE(parse(&a, &d, &c));
        CU_ASSERT_STRING_EQUAL(c.sha256, DER_BIG_SHA256);
        CU_ASSERT_STRING_EQUAL(c.subject != NULL ? c.subject : "", "O=tlsdiag,CN=cache test");
        CU_ASSERT_EQUAL(c.num_sans, 64);
        CU_ASSERT_TRUE(c.self_signed);
        CU_ASSERT_STRING_EQUAL(c.key_type, "EC");
        CU_ASSERT_EQUAL(c.key_bits, 256);
        CU_ASSERT_EQUAL_FATAL(c.num_ekus, 2);
        CU_ASSERT_STRING_EQUAL(c.ekus[0], "serverAuth");
        CU_ASSERT_STRING_EQUAL(c.ekus[1], "1.2.3.4");
        if (c.num_sans == 64) {
            // escape.c keeps 1024 input bytes then "..."; cert.c's ESCAPE_IN_MAX must match it.
            CU_ASSERT_EQUAL(strlen(c.sans[0]), 1024 + 3);
            CU_ASSERT_STRING_EQUAL(c.sans[0] + 1024, "...");
            CU_ASSERT_STRING_EQUAL(c.sans[1], "back\\x5cslash");
            CU_ASSERT_STRING_EQUAL(c.sans[2], "n0.test");
            CU_ASSERT_STRING_EQUAL(c.sans[63], "n61.test");
        }
    }
    struct td_cert_cache_stats st;
    td_cert_cache_get_stats(&st);
    CU_ASSERT_EQUAL(st.hits, 1);
    td_arena_cleanup(&a);
    free(d.p);
}

struct outcome {
    struct td_cert c;
    bool ret;
    size_t used_len;
    bool hit_cap;
    unsigned probes; /* which later allocations of 1, 100, 1000 and 5000 bytes still fit */
};

static void run_capped(const struct der *d, size_t cap, size_t before, struct td_arena *a, struct outcome *o)
{
    td_arena_init(a, cap);
    if (before > 0 && td_arena_alloc(a, before) == NULL) {
        // a cap below `before`: the parse starts with the arena already full
    }
    o->ret = parse(a, d, &o->c);
    o->used_len = a->used_len;
    o->hit_cap = a->hit_cap;
    o->probes = 0;
    static const size_t sizes[] = {1, 100, 1000, 5000};
    for (unsigned i = 0; i < 4; i++) {
        if (td_arena_alloc(a, sizes[i]) != NULL) {
            o->probes |= 1u << i;
        }
    }
}

/* Under every arena cap (and with the arena part used before), a hit and a parse with caching off give the
 * same fields, return value and arena state: the replay makes the allocations of a parse. */
static void test_every_cap(void)
{
    fresh_cache();
    struct der ders[2] = {big_der(), pem_der("ca")};
    static const size_t befores[] = {0, 300, 600};
    for (size_t k = 0; k < 2; k++) {
        for (size_t b = 0; b < 3; b++) {
            for (size_t cap = 0; cap < 24000; cap += 16) {
                struct td_arena a1, a2;
                struct outcome off, hit;
                td_cert_cache_set_limits(0, 0);
                run_capped(&ders[k], cap, befores[b], &a1, &off);
                td_cert_cache_set_limits(1024, 16u << 20);
                td_arena_init(&a2, ARENA_BIG);
                struct td_cert warm;
                (void)parse(&a2, &ders[k], &warm); // make sure the next call is a hit
                td_arena_cleanup(&a2);
                run_capped(&ders[k], cap, befores[b], &a2, &hit);
                bool same = off.ret == hit.ret && off.used_len == hit.used_len && off.hit_cap == hit.hit_cap &&
                            off.probes == hit.probes && cert_same(&off.c, &hit.c);
                CU_ASSERT_TRUE(same);
                if (!same) {
                    printf("\ncert %zu cap %zu before %zu differs\n", k, cap, befores[b]);
                }
                td_arena_cleanup(&a1);
                td_arena_cleanup(&a2);
            }
        }
    }
    free(ders[0].p);
    free(ders[1].p);
}

/* A connection whose arena already hit its cap gets false from a hit too (fields still filled if they fit). */
static void test_full_arena_reported(void)
{
    fresh_cache();
    struct der d = pem_der("server");
    struct td_arena a;
    struct td_cert c;
    for (int round = 0; round < 2; round++) {
        td_arena_init(&a, ARENA_BIG);
        CU_ASSERT_PTR_NULL(td_arena_alloc(&a, ARENA_BIG)); // sets hit_cap
        CU_ASSERT_FALSE(parse(&a, &d, &c));
        CU_ASSERT_FALSE(c.parse_error);
        CU_ASSERT_STRING_EQUAL(c.subject != NULL ? c.subject : "", "CN=server.test,O=tlsdiag Test");
        td_arena_cleanup(&a);
    }
    free(d.p);
}

static void test_parse_error_cached(void)
{
    fresh_cache();
    struct der d = hex_der("3082000130");
    struct td_arena a;
    struct td_cert c;
    td_arena_init(&a, ARENA_BIG);
    for (int round = 0; round < 2; round++) {
        CU_ASSERT_FALSE(parse(&a, &d, &c));
        CU_ASSERT_TRUE(c.parse_error);
        CU_ASSERT_EQUAL(c.der_len, 5);
        CU_ASSERT_PTR_NULL(c.subject);
        // printf '\x30\x82\x00\x01\x30' | sha256sum
        CU_ASSERT_STRING_EQUAL(c.sha256, "7f47b79a76a383cf536d3bf69206c640b9a582012e65563b22e6dd4da12e24e6");
    }
    struct td_cert_cache_stats st;
    td_cert_cache_get_stats(&st);
    CU_ASSERT_EQUAL(st.misses, 1);
    CU_ASSERT_EQUAL(st.hits, 1);
    td_arena_cleanup(&a);
    free(d.p);
}

static uint64_t misses_after(const struct der *d)
{
    struct td_arena a;
    struct td_cert c;
    td_arena_init(&a, ARENA_BIG);
    CU_ASSERT_TRUE(parse(&a, d, &c));
    td_arena_cleanup(&a);
    struct td_cert_cache_stats st;
    td_cert_cache_get_stats(&st);
    return st.misses;
}

/* Two entries at most: the least recently used one goes. */
static void test_lru_eviction(void)
{
    fresh_cache();
    struct der ca = pem_der("ca"), server = pem_der("server"), expired = pem_der("expired");
    td_cert_cache_set_limits(2, 16u << 20);
    CU_ASSERT_EQUAL(misses_after(&ca), 1);
    CU_ASSERT_EQUAL(misses_after(&server), 2);
    CU_ASSERT_EQUAL(misses_after(&ca), 2);      // hit: ca is now the most recent
    CU_ASSERT_EQUAL(misses_after(&expired), 3); // evicts server
    CU_ASSERT_EQUAL(misses_after(&ca), 3);
    CU_ASSERT_EQUAL(misses_after(&server), 4);
    struct td_cert_cache_stats st;
    td_cert_cache_get_stats(&st);
    CU_ASSERT_EQUAL(st.entries, 2);
    CU_ASSERT_EQUAL(st.evictions, 2);
    // Shrinking evicts at once; 0 entries turns caching off.
    td_cert_cache_set_limits(1, 16u << 20);
    td_cert_cache_get_stats(&st);
    CU_ASSERT_EQUAL(st.entries, 1);
    td_cert_cache_set_limits(0, 16u << 20);
    td_cert_cache_get_stats(&st);
    CU_ASSERT_EQUAL(st.entries, 0);
    CU_ASSERT_EQUAL(st.mem_len, 0);
    CU_ASSERT_EQUAL(misses_after(&ca), st.misses + 1);
    CU_ASSERT_EQUAL(misses_after(&ca), st.misses + 2);
    free(ca.p);
    free(server.p);
    free(expired.p);
}

/* The byte bound: an entry larger than the bound is not kept; the bound evicts as the entry count does. */
static void test_memory_bound(void)
{
    fresh_cache();
    struct der ca = pem_der("ca"), big = big_der();
    CU_ASSERT_EQUAL(misses_after(&ca), 1);
    struct td_cert_cache_stats st;
    td_cert_cache_get_stats(&st);
    size_t one = st.mem_len;
    td_cert_cache_set_limits(1024, one);
    CU_ASSERT_EQUAL(misses_after(&big), 2); // bigger than the whole bound: parsed, not kept
    td_cert_cache_get_stats(&st);
    CU_ASSERT_EQUAL(st.entries, 1);
    CU_ASSERT_EQUAL(st.mem_len, one);
    CU_ASSERT_EQUAL(misses_after(&ca), 2);
    CU_ASSERT_EQUAL(misses_after(&big), 3);
    td_cert_cache_set_limits(1024, one + 100000);
    CU_ASSERT_EQUAL(misses_after(&big), 4); // now kept, next to ca
    CU_ASSERT_EQUAL(misses_after(&big), 4);
    CU_ASSERT_EQUAL(misses_after(&ca), 4);
    td_cert_cache_get_stats(&st);
    CU_ASSERT_TRUE(st.mem_len <= one + 100000);
    td_cert_cache_free_thread();
    td_cert_cache_free_thread(); // idempotent
    td_cert_cache_get_stats(&st);
    CU_ASSERT_EQUAL(st.entries, 0);
    free(ca.p);
    free(big.p);
}

#define THREAD_ROUNDS 200

struct thread_job {
    const struct der *ders;
    size_t num;
    bool ok;
    struct td_cert_cache_stats st;
};

static void *thread_main(void *arg)
{
    struct thread_job *job = arg;
    job->ok = true;
    for (int r = 0; r < THREAD_ROUNDS; r++) {
        for (size_t k = 0; k < job->num; k++) {
            struct td_arena a;
            struct td_cert c;
            td_arena_init(&a, ARENA_BIG);
            if (!parse(&a, &job->ders[k], &c) || c.subject == NULL) {
                job->ok = false;
            }
            td_arena_cleanup(&a);
        }
    }
    td_cert_cache_get_stats(&job->st);
    return NULL; // the cache and digest state are freed by their thread-exit destructors
}

/* One cache per thread: each thread parses each certificate once, and no thread sees another's entries. */
static void test_threads(void)
{
    fresh_cache();
    struct der ders[3] = {pem_der("ca"), pem_der("server"), big_der()};
    struct thread_job jobs[4];
    pthread_t tids[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].ders = ders;
        jobs[i].num = 3;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tids[i], NULL, thread_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(pthread_join(tids[i], NULL), 0);
        CU_ASSERT_TRUE(jobs[i].ok);
        CU_ASSERT_EQUAL(jobs[i].st.misses, 3);
        CU_ASSERT_EQUAL(jobs[i].st.hits, 3 * THREAD_ROUNDS - 3);
    }
    struct td_cert_cache_stats st;
    td_cert_cache_get_stats(&st);
    CU_ASSERT_EQUAL(st.hits + st.misses, 0);
    for (int i = 0; i < 3; i++) {
        free(ders[i].p);
    }
    td_cert_cache_free_thread();
    td_digest_free_thread();
}

static CU_TestInfo tests[] = {
    {"hit_equals_miss", test_hit_equals_miss},
    {"big_certificate", test_big_certificate},
    {"every_cap", test_every_cap},
    {"full_arena_reported", test_full_arena_reported},
    {"parse_error_cached", test_parse_error_cached},
    {"lru_eviction", test_lru_eviction},
    {"memory_bound", test_memory_bound},
    {"threads", test_threads},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("cert_cache", tests)
