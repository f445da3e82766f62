/* SPDX-License-Identifier: MIT */
/* test_json_tree.c: the connection's value tree (reports/json_tree.c): values live in the thread's region until
 * the outermost scope ends, which empties it back to one block; nested scopes; a value bigger than a block;
 * threads build in their own regions; the lasting region outlives scopes; a value made outside any scope stops a
 * debug build; a refused block allocation makes constructors fail and the setters count it; strings are copied
 * and escaped as the dissector escapes; reading members back; the copy into jansson. Also the report's
 * hand-formatted RFC 3339 times (json.c's per-second cache), checked against date(1), and json.c's remembered
 * lists (one text per list and thread) and shared {code,name} objects (one per code and thread, in the lasting
 * region) past the lists' bound. */
#include "../testlib.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../reports/internal.h"

/* small_tree: [{"code":0,"name":"TLS_AES_128_GCM_SHA256"}, ...] with n members. */
static struct td_jv *small_tree(struct td_json_ctx *ctx, int n)
{
    struct td_jv *a = td_jv_array();
    for (int i = 0; i < n; i++) {
        struct td_jv *o = td_jv_object();
        td_jv_set(ctx, o, "code", td_jv_integer(i));
        td_jv_set(ctx, o, "name", td_jv_lit("TLS_AES_128_GCM_SHA256"));
        td_jv_append(ctx, a, o);
    }
    return a;
}

static char *text_of(const struct td_jv *v)
{
    struct td_text t = {0};
    if (!td_jv_write_compact(&t, v) || !td_text_append(&t, "", 1)) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

static void test_scope_empties_its_region(void)
{
    struct td_json_ctx ctx = {0};
    td_jv_scope_begin();
    struct td_jv *t = small_tree(&ctx, 2000); /* more than one 64 KiB block */
    size_t grown = td_jv_region_bytes();
    CU_ASSERT_TRUE(grown > ((size_t)64 << 10));
    char *text = text_of(t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    static const char head[] = "[{\"code\":0,\"name\":\"TLS_AES_128_GCM_SHA256\"},{\"code\":1,";
    CU_ASSERT_EQUAL(strncmp(text, head, sizeof(head) - 1), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "{\"code\":1999,\"name\":\"TLS_AES_128_GCM_SHA256\"}]"));
    free(text);
    td_jv_scope_end();
    CU_ASSERT_EQUAL(td_jv_region_bytes(), (size_t)64 << 10); /* one block kept for the next connection */
    CU_ASSERT_EQUAL(ctx.failures, 0);
    /* The kept block serves the next scope without growing. */
    td_jv_scope_begin();
    struct td_jv *u = small_tree(&ctx, 10);
    CU_ASSERT_EQUAL(td_jv_size(u), 10);
    CU_ASSERT_EQUAL(td_jv_region_bytes(), (size_t)64 << 10);
    td_jv_scope_end();
}

static void test_nested_scopes(void)
{
    td_jv_scope_begin();
    struct td_jv *a = td_jv_strn("outer", 5);
    td_jv_scope_begin();
    struct td_jv *b = td_jv_strn("inner", 5);
    td_jv_scope_end(); /* the inner end does not empty the region: a is still there */
    CU_ASSERT_STRING_EQUAL(td_jv_string(a), "outer");
    CU_ASSERT_STRING_EQUAL(td_jv_string(b), "inner");
    td_jv_scope_end();
}

static void test_value_bigger_than_a_block(void)
{
    size_t n = (size_t)1 << 20;
    char *big = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', n);
    td_jv_scope_begin();
    struct td_jv *small = td_jv_strn("before", 6);
    struct td_jv *s = td_jv_strn(big, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(strlen(td_jv_string(s)), n);
    struct td_jv *after = td_jv_strn("after", 5);
    CU_ASSERT_STRING_EQUAL(td_jv_string(small), "before");
    CU_ASSERT_STRING_EQUAL(td_jv_string(after), "after");
    td_jv_scope_end();
    CU_ASSERT_EQUAL(td_jv_region_bytes(), (size_t)64 << 10); /* the big block went back */
    free(big);
}

static void *thread_builds(void *arg)
{
    int *ok = arg;
    for (int round = 0; round < 200; round++) {
        struct td_json_ctx ctx = {0};
        td_jv_scope_begin();
        char *text = text_of(small_tree(&ctx, 20));
        *ok &= text != NULL && strstr(text, "\"code\":19,") != NULL && ctx.failures == 0;
        free(text);
        td_jv_scope_end();
    }
    return NULL;
}

static void test_threads_have_their_own_region(void)
{
    int ok[3] = {1, 1, 1};
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, thread_builds, &ok[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_TRUE(ok[i]);
    }
}

static void test_lasting_region(void)
{
    td_jv_scope_begin();
    td_jv_persist_begin();
    struct td_jv *kept = td_jv_strn("outlives the scope", 18);
    td_jv_persist_end();
    struct td_jv *gone = td_jv_strn("scope", 5);
    CU_ASSERT_PTR_NOT_NULL(gone);
    td_jv_scope_end();
    /* A new scope reuses the emptied block; the lasting value is elsewhere and unchanged. */
    td_jv_scope_begin();
    (void)td_jv_strn("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 30);
    CU_ASSERT_STRING_EQUAL(td_jv_string(kept), "outlives the scope");
    td_jv_scope_end();
    td_jv_persist_free_thread();
}

static void test_outside_a_scope(void)
{
    /* The constants need no region. */
    CU_ASSERT_TRUE(td_jv_is(td_jv_null(), TD_JV_NULL));
    CU_ASSERT_TRUE(td_jv_is(td_jv_bool(false), TD_JV_FALSE));
#ifdef NDEBUG
    CU_ASSERT_PTR_NULL(td_jv_object());
#else
    pid_t pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        (void)freopen("/dev/null", "w", stderr);
        struct td_jv *v = td_jv_object(); /* must abort */
        _exit(v != NULL ? 0 : 1);
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#endif
}

static void *refuse(size_t n)
{
    (void)n;
    return NULL;
}

static void test_refused_block(void)
{
    td_jv_scope_begin();
    struct td_json_ctx ctx = {0};
    struct td_jv *o = td_jv_object();
    CU_ASSERT_PTR_NOT_NULL_FATAL(o); /* made before blocks are refused */
    td_jv_set_alloc_funcs(refuse, NULL);
    /* Use up the block (an integer is the smallest value); then no new block is given. */
    int made = 0;
    while (td_jv_integer(made) != NULL && made < 100000) {
        made++;
    }
    CU_ASSERT_TRUE(made > 1000 && made < 100000);
    CU_ASSERT_PTR_NULL(td_jv_integer(1));
    CU_ASSERT_PTR_NULL(td_jv_strn("x", 1));
    CU_ASSERT_PTR_NULL(td_jv_real(1.0 / 0.0)); /* not even tried: JSON has no infinity */
    td_jv_set(&ctx, o, "a", td_jv_integer(1));
    td_jv_set(&ctx, o, "b", td_jv_null()); /* the value is a constant, the member needs memory */
    td_jv_append(&ctx, td_jv_array(), td_jv_null());
    CU_ASSERT_EQUAL(ctx.failures, 3);
    CU_ASSERT_EQUAL(td_jv_size(o), 0);
    td_jv_set_alloc_funcs(NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL(td_jv_integer(1));
    td_jv_scope_end();
    /* Wrong types are failures too. */
    td_jv_scope_begin();
    struct td_json_ctx bad = {0};
    td_jv_set(&bad, td_jv_array(), "k", td_jv_null());
    td_jv_append(&bad, td_jv_object(), td_jv_null());
    td_jv_set(&bad, NULL, "k", td_jv_null());
    CU_ASSERT_EQUAL(bad.failures, 3);
    td_jv_scope_end();
}

static void test_strings(void)
{
    td_jv_scope_begin();
    char buf[8] = "stack";
    struct td_jv *copy = td_jv_str(buf);
    buf[0] = 'X';
    CU_ASSERT_STRING_EQUAL(td_jv_string(copy), "stack"); /* copied */
    CU_ASSERT_TRUE(td_jv_is(td_jv_str(NULL), TD_JV_NULL));
    struct td_jv *esc = td_jv_str("a\x01\xc3\xa9z\x7f");
    CU_ASSERT_STRING_EQUAL(td_jv_string(esc), "a\\x01\\xc3\\xa9z\\x7f");
    char *text = text_of(esc);
    CU_ASSERT_STRING_EQUAL(text, "\"a\\\\x01\\\\xc3\\\\xa9z\\\\x7f\"");
    free(text);
    CU_ASSERT_EQUAL(td_jv_u64(UINT64_MAX)->u.integer, INT64_MAX);
    td_jv_scope_end();
}

static void test_reading_and_jansson(void)
{
    struct td_json_ctx ctx = {0};
    td_jv_scope_begin();
    struct td_jv *o = td_jv_object();
    td_jv_set(&ctx, o, "id", td_jv_integer(-7));
    td_jv_set(&ctx, o, "name", td_jv_lit("x\"y"));
    td_jv_set(&ctx, o, "list", small_tree(&ctx, 3));
    td_jv_set(&ctx, o, "ms", td_jv_real(1.5));
    td_jv_set(&ctx, o, "none", td_jv_null());
    td_jv_set(&ctx, o, "yes", td_jv_true());
    static const char raw[] = "[1,{\"a\":null}]";
    td_jv_set(&ctx, o, "raw", td_jv_raw(raw, sizeof(raw) - 1));
    CU_ASSERT_EQUAL(ctx.failures, 0);
    CU_ASSERT_EQUAL(td_jv_size(o), 7);
    CU_ASSERT_EQUAL(td_jv_size(td_jv_get(o, "raw")), 0); /* opaque */
    CU_ASSERT_EQUAL(td_jv_integer_value(td_jv_get(o, "id")), -7);
    CU_ASSERT_STRING_EQUAL(td_jv_string(td_jv_get(o, "name")), "x\"y");
    CU_ASSERT_EQUAL(td_jv_integer_value(td_jv_get(td_jv_at(td_jv_get(o, "list"), 2), "code")), 2);
    CU_ASSERT_PTR_NULL(td_jv_at(td_jv_get(o, "list"), 3));
    CU_ASSERT_PTR_NULL(td_jv_get(o, "missing"));
    CU_ASSERT_PTR_NULL(td_jv_string(td_jv_get(o, "id")));
    CU_ASSERT_EQUAL(td_jv_integer_value(td_jv_get(o, "name")), 0);
    CU_ASSERT_EQUAL(td_jv_size(td_jv_get(o, "id")), 0);
    json_t *j = td_jv_to_jansson(o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    char *want = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
    char *got = text_of(o);
    CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT_STRING_EQUAL(got, "{\"id\":-7,\"name\":\"x\\\"y\",\"list\":["
                                "{\"code\":0,\"name\":\"TLS_AES_128_GCM_SHA256\"},"
                                "{\"code\":1,\"name\":\"TLS_AES_128_GCM_SHA256\"},{\"code\":2,\"name\":"
                                "\"TLS_AES_128_GCM_SHA256\"}],\"ms\":1.5,\"none\":null,\"yes\":true,"
                                "\"raw\":[1,{\"a\":null}]}");
    free(want);
    free(got);
    json_decref(j);
    td_jv_scope_end();
}

#ifndef NDEBUG
static void test_duplicate_key_stops_debug_build(void)
{
    pid_t pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        (void)freopen("/dev/null", "w", stderr);
        struct td_json_ctx ctx = {0};
        td_jv_scope_begin();
        struct td_jv *o = td_jv_object();
        td_jv_set(&ctx, o, "k", td_jv_null());
        td_jv_set(&ctx, o, "k", td_jv_null()); /* must abort */
        _exit(0);
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}
#endif

/* suites_of: the cipher_suites array of the first ClientHello of a connection tree. */
static const struct td_jv *suites_of(const struct td_jv *tree)
{
    return td_jv_get(td_jv_at(td_jv_get(td_jv_get(tree, "tls"), "client_hellos"), 0), "cipher_suites");
}

/* connection_with builds (in the caller's scope) a connection whose one ClientHello is ch (failures in ctx). */
static const struct td_jv *connection_with(struct td_client_hello *ch, struct td_json_ctx *ctx)
{
    static struct td_tls_facts f;
    memset(&f, 0, sizeof(f));
    f.is_tls = true;
    f.client_hellos[0] = ch;
    f.num_client_hellos = f.client_hellos_seen = 1;
    f.last_hs_msg = f.outcome_alert = f.outcome_after_msg = -1;
    f.outcome = TD_OUTCOME_INCOMPLETE;
    struct td_flow_info info = {.id = 1, .transport = TD_TRANSPORT_TCP};
    return td_json_connection(ctx, 0, &info, &f);
}

/* connection_offering builds (in the caller's scope) a connection whose one ClientHello offers ciphers[]. */
static const struct td_jv *connection_offering(uint16_t *ciphers, uint32_t num)
{
    static struct td_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    ch.ciphers = (struct td_u16_list){ciphers, num};
    struct td_json_ctx ctx = {0};
    const struct td_jv *tree = connection_with(&ch, &ctx);
    CU_ASSERT_EQUAL(ctx.failures, 0);
    return tree;
}

static void test_remembered_lists_and_shared_names(void)
{
    static const char want[] = "[{\"code\":\"0xc02f\",\"name\":\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"},"
                               "{\"code\":\"0x1301\",\"name\":\"TLS_AES_128_GCM_SHA256\"},"
                               "{\"code\":\"0xc02f\",\"name\":\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"},"
                               "{\"code\":\"0x0a0a\",\"name\":\"GREASE\"}]";
    uint16_t ciphers[] = {0xc02f, 0x1301, 0xc02f, 0x0a0a};
    td_json_shared_free_thread(); /* start from empty tables */
    td_jv_scope_begin();
    const struct td_jv *a = suites_of(connection_offering(ciphers, 4));
    const struct td_jv *b = suites_of(connection_offering(ciphers, 4));
    CU_ASSERT_TRUE_FATAL(td_jv_is(a, TD_JV_RAW) && td_jv_is(b, TD_JV_RAW));
    CU_ASSERT_PTR_EQUAL(a->u.string, b->u.string); /* one remembered text for both connections */
    char *text = text_of(a);
    CU_ASSERT_STRING_EQUAL(text, want);
    free(text);
    const char *remembered = a->u.string;
    const struct td_jv *shorter = suites_of(connection_offering(ciphers, 3)); /* another list: its own text */
    CU_ASSERT_TRUE_FATAL(td_jv_is(shorter, TD_JV_RAW));
    CU_ASSERT_PTR_NOT_EQUAL(shorter->u.string, remembered);
    td_jv_scope_end();

    /* Past the table's bound, lists are made per use, of shared {code,name} objects. */
    uint16_t one[2];
    td_jv_scope_begin();
    for (uint16_t i = 0; i < 800; i++) {
        one[0] = (uint16_t)(0x1000 + i);
        (void)connection_offering(one, 1);
    }
    one[0] = 0xc02f;
    one[1] = 0x1302;
    const struct td_jv *c = suites_of(connection_offering(one, 2));
    const struct td_jv *d = suites_of(connection_offering(one, 2));
    CU_ASSERT_TRUE_FATAL(td_jv_is(c, TD_JV_ARRAY) && td_jv_is(d, TD_JV_ARRAY));
    CU_ASSERT_PTR_NOT_EQUAL(c, d);
    const struct td_jv *c0 = td_jv_at(c, 0);
    CU_ASSERT_PTR_EQUAL(c0, td_jv_at(d, 0)); /* one object for both connections */
    CU_ASSERT_PTR_NOT_EQUAL(c0, td_jv_at(c, 1));
    CU_ASSERT_STRING_EQUAL(td_jv_string(td_jv_get(c0, "code")), "0xc02f");
    CU_ASSERT_STRING_EQUAL(td_jv_string(td_jv_get(c0, "name")), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    td_jv_scope_end();
    /* Both outlive the scopes: the next connection finds them, unchanged. */
    td_jv_scope_begin();
    CU_ASSERT_PTR_EQUAL(suites_of(connection_offering(ciphers, 4))->u.string, remembered);
    CU_ASSERT_EQUAL(memcmp(remembered, want, sizeof(want) - 1), 0); /* raw text has its length, no NUL */
    const struct td_jv *e = suites_of(connection_offering(one, 2));
    CU_ASSERT_PTR_EQUAL(td_jv_at(e, 0), c0);
    CU_ASSERT_STRING_EQUAL(td_jv_string(td_jv_get(c0, "name")), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    td_json_lists_refresh(); /* inside a scope: nothing happens, e's tree may point at remembered text */
    CU_ASSERT_PTR_EQUAL(suites_of(connection_offering(ciphers, 4))->u.string, remembered);
    td_jv_scope_end();
    /* Between connections a full table is emptied, and lists are remembered again, the one that found no room
     * too. */
    td_json_lists_refresh();
    td_jv_scope_begin();
    const struct td_jv *f = suites_of(connection_offering(one, 2));
    const struct td_jv *g = suites_of(connection_offering(one, 2));
    CU_ASSERT_TRUE_FATAL(td_jv_is(f, TD_JV_RAW) && td_jv_is(g, TD_JV_RAW));
    CU_ASSERT_PTR_EQUAL(f->u.string, g->u.string);
    const struct td_jv *again = suites_of(connection_offering(ciphers, 4));
    CU_ASSERT_TRUE_FATAL(td_jv_is(again, TD_JV_RAW));
    CU_ASSERT_EQUAL(again->len, sizeof(want) - 1);
    CU_ASSERT_EQUAL(memcmp(again->u.string, want, sizeof(want) - 1), 0);
    td_jv_scope_end();
    td_json_shared_free_thread();
}

/* The same codes in two kinds of list (cipher suites, versions) are two texts: the key holds the registry and
 * how a list is written. */
static void test_remembered_lists_by_kind(void)
{
    static uint16_t codes[] = {0x0304, 0x0303};
    static struct td_client_hello ch;
    memset(&ch, 0, sizeof(ch));
    ch.ciphers = (struct td_u16_list){codes, 2};
    ch.supported_versions = (struct td_u16_list){codes, 2};
    static const char versions[] = "[{\"code\":\"0x0304\",\"name\":\"TLS 1.3\"},"
                                   "{\"code\":\"0x0303\",\"name\":\"TLS 1.2\"}]";
    td_json_shared_free_thread();
    for (int round = 0; round < 2; round++) { /* made, then remembered */
        struct td_json_ctx ctx = {0};
        td_jv_scope_begin();
        const struct td_jv *tls = td_jv_get(connection_with(&ch, &ctx), "tls");
        const struct td_jv *hello = td_jv_at(td_jv_get(tls, "client_hellos"), 0);
        const struct td_jv *v = td_jv_get(hello, "supported_versions");
        const struct td_jv *c = td_jv_get(hello, "cipher_suites");
        CU_ASSERT_EQUAL(ctx.failures, 0);
        CU_ASSERT_TRUE_FATAL(td_jv_is(v, TD_JV_RAW) && td_jv_is(c, TD_JV_RAW));
        CU_ASSERT_PTR_NOT_EQUAL(v->u.string, c->u.string);
        CU_ASSERT_EQUAL(v->len, sizeof(versions) - 1);
        CU_ASSERT_EQUAL(memcmp(v->u.string, versions, sizeof(versions) - 1), 0);
        static const char ciphers[] = "[{\"code\":\"0x0304\",\"name\":\"unknown(0x0304)\"},";
        CU_ASSERT_TRUE(c->len > sizeof(ciphers) - 1 && memcmp(c->u.string, ciphers, sizeof(ciphers) - 1) == 0);
        td_jv_scope_end();
    }
    td_json_shared_free_thread();
}

static void check_time(int64_t ns, const char *want)
{
    char buf[48];
    const char *got = td_json_time(ns, buf, sizeof(buf));
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_times(void)
{
    /* date -u -d @1383464743 +%FT%T: 2013-11-03T07:45:43 */
    check_time(1383464743000000000LL, "2013-11-03T07:45:43.000000000Z");
    check_time(1383464743000000001LL, "2013-11-03T07:45:43.000000001Z");
    check_time(1383464744999999999LL, "2013-11-03T07:45:44.999999999Z"); /* the next second (cache refresh) */
    check_time(1383464743123456789LL, "2013-11-03T07:45:43.123456789Z"); /* and back */
    check_time(0, "1970-01-01T00:00:00.000000000Z");
    check_time(-1, "1969-12-31T23:59:59.999999999Z"); /* floor division before 1970 */
    check_time(-1000000000LL, "1969-12-31T23:59:59.000000000Z");
    char small[30];
    CU_ASSERT_PTR_NULL(td_json_time(0, small, sizeof(small))); /* needs 31 bytes */
    check_time(INT64_MAX, "2262-04-11T23:47:16.854775807Z"); /* the last time a capture can carry */
}

static CU_TestInfo tests[] = {
    {"a scope empties its region", test_scope_empties_its_region},
    {"nested scopes", test_nested_scopes},
    {"a value bigger than a block", test_value_bigger_than_a_block},
    {"threads have their own region", test_threads_have_their_own_region},
    {"the lasting region outlives scopes", test_lasting_region},
    {"outside a scope", test_outside_a_scope},
    {"a refused block fails the constructors", test_refused_block},
    {"strings are copied and escaped", test_strings},
    {"reading back and the copy into jansson", test_reading_and_jansson},
#ifndef NDEBUG
    {"a key set twice stops a debug build", test_duplicate_key_stops_debug_build},
#endif
    {"remembered lists and shared {code,name} objects", test_remembered_lists_and_shared_names},
    {"the same codes in two kinds of list are two texts", test_remembered_lists_by_kind},
    {"RFC 3339 times with nanoseconds", test_times},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("json_tree", tests)
