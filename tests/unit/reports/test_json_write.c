/* SPDX-License-Identifier: MIT */
/* test_json_write.c: reports/json_write.c writes exactly the bytes of jansson's json_dumps(v, JSON_COMPACT |
 * JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY), for jansson values and for their json_tree.h copies: edge values
 * (every control character, quotes, UTF-8, extreme integers, reals that print with exponents), 20,000 random
 * trees, and every golden file of the test suite;
 * and it refuses what cannot be a report (nesting past 64 levels) without leaving half a value behind. */
#include "../testlib.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../reports/internal.h"

#define FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY)

static size_t compared, compared_tree;

/* from_jansson makes the json_tree.h copy of v (in the caller's scope); *plain_keys is cleared when a key would
 * need escaping, which the tree's keys (our own names) never do. */
static struct td_jv *from_jansson(struct td_json_ctx *ctx, json_t *v, bool *plain_keys)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        struct td_jv *o = td_jv_object();
        const char *key;
        json_t *member;
        json_object_foreach(v, key, member) {
            for (const char *k = key; *k != '\0'; k++) {
                *plain_keys &= (unsigned char)*k >= 0x20 && *k != '"' && *k != '\\';
            }
            td_jv_set(ctx, o, key, from_jansson(ctx, member, plain_keys));
        }
        return o;
    }
    case JSON_ARRAY: {
        struct td_jv *a = td_jv_array();
        size_t i;
        json_t *member;
        json_array_foreach(v, i, member) {
            td_jv_append(ctx, a, from_jansson(ctx, member, plain_keys));
        }
        return a;
    }
    case JSON_STRING: return td_jv_strn(json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return td_jv_integer(json_integer_value(v));
    case JSON_REAL: return td_jv_real(json_real_value(v));
    case JSON_TRUE: return td_jv_true();
    case JSON_FALSE: return td_jv_bool(false);
    default: return td_jv_null();
    }
}

static void same_text(const struct td_text *t, const char *want, const char *who)
{
    CU_ASSERT_EQUAL(t->len, strlen(want));
    if (t->len != strlen(want) || memcmp(t->data, want, t->len) != 0) {
        CU_FAIL("text differs from jansson's");
        printf("\n  jansson: %.200s\n  %s:    %.*s\n", want, who, (int)(t->len < 200 ? t->len : 200), t->data);
    }
}

/* same_as_jansson asserts that our text of v, and of its json_tree.h copy, equals jansson's. */
static void same_as_jansson(json_t *v)
{
    char *want = json_dumps(v, FLAGS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    struct td_text t = {0};
    CU_ASSERT_TRUE_FATAL(td_json_write_compact(&t, v));
    same_text(&t, want, "ours");
    compared++;
    struct td_json_ctx ctx = {0};
    bool plain_keys = true;
    td_jv_scope_begin();
    struct td_jv *tree = from_jansson(&ctx, v, &plain_keys);
    CU_ASSERT_EQUAL(ctx.failures, 0);
    if (plain_keys) {
        t.len = 0;
        CU_ASSERT_TRUE_FATAL(td_jv_write_compact(&t, tree));
        same_text(&t, want, "tree");
        compared_tree++;
    }
    td_jv_scope_end();
    free(want);
    free(t.data);
}

static void test_scalars(void)
{
    static const double reals[] = {0.0,   -0.0,  1.0,   -1.5,   12.345, 9.086,     0.1,     1e5,   1e15,
                                   1e16,  1e17,  1e-5,  1e-7,   1e300,  -1e-300,   5e-324,  1e100, 123456789012345678.0,
                                   2.5e-10, 3.14159265358979, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        json_t *r = json_real(reals[i]);
        same_as_jansson(r);
        json_decref(r);
    }
    static const json_int_t ints[] = {0, 1, -1, 9, 10, -10, 1234567890, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        json_t *n = json_integer(ints[i]);
        same_as_jansson(n);
        json_decref(n);
    }
    same_as_jansson(json_true());
    same_as_jansson(json_false());
    same_as_jansson(json_null());
}

static void test_strings(void)
{
    char all[128];
    for (int i = 0; i < 127; i++) {
        all[i] = (char)(i + 1); /* 0x01 .. 0x7f: every control character, quote, backslash, slash, DEL */
    }
    all[127] = '\0';
    json_t *s = json_string(all);
    same_as_jansson(s);
    json_decref(s);
    json_t *nul = json_stringn("a\0b", 3); /* an embedded NUL */
    same_as_jansson(nul);
    json_decref(nul);
    static const char *const texts[] = {"", "plain", "\"quoted\"", "back\\slash", "C:\\Windows\\System32",
                                        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92", "line\nbreak\r\ttab",
                                        "\xe2\x80\xa8\xe2\x80\xa9"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *v = json_string(texts[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        same_as_jansson(v);
        json_decref(v);
    }
    /* Every byte that needs an escape (and neighbours that do not: ' ' right above 0x1f, UTF-8 sequences, '!'
     * and '#' beside '"', '[' and ']' beside '\\') at every position of strings up to 24 bytes, once alone and
     * once before a '"': where a copied run ends and the next begins. */
    static const char *const specials[] = {"\x00", "\x01", "\x08", "\x1f", " ", "\"", "!", "#", "\\", "[", "]",
                                           "\x7f", "\xc3\xa9", "\xe2\x82\xac"};
    char buf[32];
    for (size_t len = 1; len <= 24; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
                size_t n = k == 0 ? 1 : strlen(specials[k]);
                for (int twice = 0; twice < 2 && pos + n <= len; twice++) {
                    memset(buf, 'a', len);
                    memcpy(buf + pos, specials[k], n);
                    if (twice && pos + n + 2 < len) {
                        buf[pos + n + 2] = '"';
                    }
                    json_t *v = json_stringn_nocheck(buf, len);
                    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
                    same_as_jansson(v);
                    json_decref(v);
                }
            }
        }
    }
}

static void test_containers(void)
{
    json_t *v = json_loads("{\"empty\": {}, \"list\": [], \"nested\": [{}, [], [[]]], \"deep\": {\"a\": {\"b\": null}},"
                           " \"mixed\": [1, 2.5, \"x\", true, false, null, -0.0, 1e-7]}",
                           0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    same_as_jansson(v);
    json_t *weird_keys = json_object();
    json_object_set_new(weird_keys, "quote\"key", json_integer(1));
    json_object_set_new(weird_keys, "ctl\x01key", json_integer(2));
    json_object_set_new(weird_keys, "", json_integer(3));
    same_as_jansson(weird_keys);
    json_decref(weird_keys);
    json_decref(v);
}

/* A small deterministic generator (xorshift64*) for random trees. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static json_t *random_value(int depth)
{
    unsigned kind = (unsigned)(rnd() % (depth < 5 ? 8u : 6u));
    switch (kind) {
    case 0: return json_integer((json_int_t)rnd());
    case 1: {
        double d;
        uint64_t bits = rnd();
        memcpy(&d, &bits, sizeof(d));
        return isfinite(d) ? json_real(d) : json_real((double)(int64_t)rnd() / 1e6);
    }
    case 2: {
        char buf[24];
        size_t n = (size_t)(rnd() % sizeof(buf));
        for (size_t i = 0; i < n; i++) {
            buf[i] = (char)(1 + rnd() % 127); /* ASCII incl. controls; valid UTF-8 */
        }
        return json_stringn(buf, n);
    }
    case 3: return json_true();
    case 4: return json_false();
    case 5: return json_null();
    case 6: {
        json_t *a = json_array();
        for (unsigned i = (unsigned)(rnd() % 5); i > 0; i--) {
            json_array_append_new(a, random_value(depth + 1));
        }
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = (unsigned)(rnd() % 5); i > 0; i--) {
            char key[8];
            snprintf(key, sizeof(key), "k%u", (unsigned)(rnd() % 50));
            json_object_set_new(o, key, random_value(depth + 1));
        }
        return o;
    }
    }
}

static void test_random_trees(void)
{
    for (int i = 0; i < 20000; i++) {
        json_t *v = random_value(0);
        same_as_jansson(v);
        json_decref(v);
    }
}

/* Every expect.json of the golden tests: real report shapes. */
static void test_golden_files(void)
{
    DIR *d = opendir(TD_SOURCE_DIR "/tests/golden");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[1024];
        snprintf(path, sizeof(path), "%s/tests/golden/%s/expect.json", TD_SOURCE_DIR, e->d_name);
        json_t *v = json_load_file(path, 0, NULL);
        if (v == NULL) {
            continue; /* not a case directory */
        }
        same_as_jansson(v);
        json_decref(v);
        files++;
    }
    closedir(d);
    CU_ASSERT_TRUE(files >= 40);
}

static void test_refusals(void)
{
    struct td_text t = {0};
    CU_ASSERT_TRUE_FATAL(td_text_reserve(&t, 4));
    memcpy(t.data, "keep", 4);
    t.len = 4;
    /* jansson makes no NaN or infinite reals (json_real refuses them), so a report cannot hold one. */
    CU_ASSERT_PTR_NULL(json_real(INFINITY));
    json_t *deep = json_array();
    json_t *at = deep;
    for (int i = 0; i < 70; i++) {
        json_t *next = json_array();
        json_array_append_new(at, next);
        at = next;
    }
    size_t before = t.len;
    CU_ASSERT_FALSE(td_json_write_compact(&t, deep));
    CU_ASSERT_EQUAL(t.len, before); /* nothing half-written */
    CU_ASSERT_EQUAL(memcmp(t.data, "keep", 4), 0);
    struct td_json_ctx ctx = {0};
    bool plain_keys = true;
    td_jv_scope_begin();
    CU_ASSERT_FALSE(td_jv_write_compact(&t, from_jansson(&ctx, deep, &plain_keys)));
    CU_ASSERT_EQUAL(t.len, before);
    CU_ASSERT_PTR_NULL(td_jv_real(INFINITY)); /* as json_real; the writer refuses one made by hand too */
    static struct td_jv infinite = {.type = TD_JV_REAL, .u.real = INFINITY};
    struct td_jv *not_finite = td_jv_array();
    td_jv_append(&ctx, not_finite, td_jv_integer(1));
    td_jv_append(&ctx, not_finite, &infinite);
    CU_ASSERT_FALSE(td_jv_write_compact(&t, not_finite));
    CU_ASSERT_EQUAL(t.len, before);
    CU_ASSERT_EQUAL(memcmp(t.data, "keep", 4), 0);
    td_jv_scope_end();
    json_decref(deep);
    free(t.data);
}

static void test_count(void)
{
    CU_ASSERT_TRUE(compared > 20000);
    CU_ASSERT_TRUE(compared_tree > 20000);
}

static CU_TestInfo tests[] = {
    {"scalars as jansson writes them", test_scalars},
    {"strings and escapes", test_strings},
    {"objects and arrays", test_containers},
    {"20,000 random trees", test_random_trees},
    {"the golden reports", test_golden_files},
    {"refusals leave the text unchanged", test_refusals},
    {"comparisons made", test_count},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("json_write", tests)
