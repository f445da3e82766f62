/* SPDX-License-Identifier: MIT */
/* test_json_arena.c: the per-thread bump allocator behind jansson (reports/json_arena.c): region values are
 * counted and released by scope, values made outside a scope stay malloc's (freed correctly inside or outside
 * one), an allocation larger than the region spills to malloc, threads have separate regions, and a region
 * value that outlives its scope stops a debug build. Also the report's hand-formatted RFC 3339 times (the
 * per-second cache of json.c), checked against date(1), and json.c's shared {code,name} values: one object per
 * code and thread inside a scope, made with malloc while the region is paused. */
#include "../testlib.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../reports/internal.h"
#include "../../../reports/json_arena.h"

/* json_dumps allocates its text with jansson's allocator: inside a scope that is the region, so it is freed
 * through jansson's free function, never free(3). */
static void jansson_free(void *p)
{
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    f(p);
}

static json_t *small_tree(int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "code", json_integer(i));
        json_object_set_new(o, "name", json_string("TLS_AES_128_GCM_SHA256"));
        json_array_append_new(a, o);
    }
    return a;
}

static void test_outside_scope_is_malloc(void)
{
    td_json_arena_install();
    json_t *t = small_tree(10);
    CU_ASSERT_EQUAL(td_json_arena_live(), 0);
    json_decref(t);
    CU_ASSERT_EQUAL(td_json_arena_live(), 0);
}

static void test_scope_counts_and_releases(void)
{
    td_json_arena_begin();
    json_t *t = small_tree(50);
    CU_ASSERT_TRUE(td_json_arena_live() > 100); /* array, 50 objects, their tables, keys and values */
    char *text = json_dumps(t, JSON_COMPACT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    static const char head[] = "[{\"code\":0,\"name\":\"TLS_AES_128_GCM_SHA256\"},{\"code\":1,";
    CU_ASSERT_EQUAL(strncmp(text, head, sizeof(head) - 1), 0);
    jansson_free(text);
    json_decref(t);
    CU_ASSERT_EQUAL(td_json_arena_live(), 0);
    td_json_arena_end();
    /* The region is reused: a second scope builds the same tree in the same memory without growing. */
    td_json_arena_begin();
    json_t *u = small_tree(50);
    CU_ASSERT_EQUAL(json_array_size(u), 50);
    json_decref(u);
    td_json_arena_end();
}

static void test_values_cross_the_boundary(void)
{
    json_t *outer = small_tree(3); /* malloc'd */
    td_json_arena_begin();
    json_t *inner = json_object();
    json_object_set(inner, "outer", outer); /* a region object refers to a malloc'd one */
    json_decref(inner);                     /* frees the region object, leaves outer alive */
    CU_ASSERT_EQUAL(td_json_arena_live(), 0);
    json_object_set_new(json_array_get(outer, 0), "extra", json_integer(7)); /* grows a malloc'd table */
    json_decref(outer); /* malloc'd values freed inside a scope go to free() */
    td_json_arena_end();
}

static void test_nested_scopes(void)
{
    td_json_arena_begin();
    json_t *a = json_string("outer");
    td_json_arena_begin();
    json_t *b = json_string("inner");
    td_json_arena_end(); /* the inner end does not reset: a is still live */
    CU_ASSERT_STRING_EQUAL(json_string_value(a), "outer");
    json_decref(b);
    json_decref(a);
    CU_ASSERT_EQUAL(td_json_arena_live(), 0);
    td_json_arena_end();
}

static void test_giant_value_spills_to_malloc(void)
{
    size_t n = (size_t)70 << 20; /* more than the 64 MiB region */
    char *big = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', n);
    td_json_arena_begin();
    json_t *small = json_string("before");
    json_t *s = json_stringn_nocheck(big, n);
    CU_ASSERT_PTR_NOT_NULL(s);
    CU_ASSERT_EQUAL(json_string_length(s), n);
    json_t *after = json_string("after"); /* the region still serves small values */
    CU_ASSERT_STRING_EQUAL(json_string_value(after), "after");
    json_decref(s);
    json_decref(small);
    json_decref(after);
    CU_ASSERT_EQUAL(td_json_arena_live(), 0);
    td_json_arena_end();
    free(big);
}

static void *thread_builds(void *arg)
{
    int *ok = arg;
    for (int round = 0; round < 200; round++) {
        td_json_arena_begin();
        json_t *t = small_tree(20);
        char *text = json_dumps(t, JSON_COMPACT);
        *ok &= text != NULL && strstr(text, "\"code\":19") != NULL;
        jansson_free(text);
        json_decref(t);
        *ok &= td_json_arena_live() == 0;
        td_json_arena_end();
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

static void test_leaked_value_stops_debug_build(void)
{
#ifdef NDEBUG
    CU_PASS("release build: the leak check is a debug-build abort");
#else
    pid_t pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        (void)freopen("/dev/null", "w", stderr);
        td_json_arena_begin();
        json_t *kept = json_string("outlives its scope");
        td_json_arena_end(); /* must abort */
        _exit(json_string_value(kept) != NULL ? 0 : 1);
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
#endif
}

static void test_pause_makes_malloc_values(void)
{
    td_json_arena_begin();
    json_t *in_region = json_string("region");
    size_t live = td_json_arena_live();
    CU_ASSERT(live > 0);
    td_json_arena_pause();
    CU_ASSERT_TRUE(td_json_arena_in_scope());
    json_t *kept = json_string("outlives the scope");
    td_json_arena_resume();
    CU_ASSERT_EQUAL(td_json_arena_live(), live); /* kept came from malloc */
    json_decref(in_region);
    td_json_arena_end(); /* kept is malloc's: no abort in a debug build */
    CU_ASSERT_FALSE(td_json_arena_in_scope());
    CU_ASSERT_STRING_EQUAL(json_string_value(kept), "outlives the scope");
    json_decref(kept);
}

/* cipher_at builds a connection whose one ClientHello offers ciphers[] and returns its n-th cipher object (the
 * tree is returned in *tree, to be freed by the caller). */
static json_t *cipher_at(uint16_t *ciphers, uint32_t num, size_t n, json_t **tree)
{
    static struct td_client_hello ch;
    static struct td_tls_facts f;
    memset(&ch, 0, sizeof(ch));
    memset(&f, 0, sizeof(f));
    ch.ciphers = (struct td_u16_list){ciphers, num};
    f.is_tls = true;
    f.client_hellos[0] = &ch;
    f.num_client_hellos = f.client_hellos_seen = 1;
    f.last_hs_msg = f.outcome_alert = f.outcome_after_msg = -1;
    f.outcome = TD_OUTCOME_INCOMPLETE;
    struct td_flow_info info = {.id = 1, .transport = TD_TRANSPORT_TCP};
    struct td_json_ctx ctx = {0};
    *tree = td_json_connection(&ctx, 0, &info, &f);
    CU_ASSERT_EQUAL(ctx.failures, 0);
    json_t *suites = json_object_get(json_array_get(json_object_get(json_object_get(*tree, "tls"), "client_hellos"), 0),
                                     "cipher_suites");
    return json_array_get(suites, n);
}

static json_t *suites_of(json_t *tree)
{
    return json_object_get(json_array_get(json_object_get(json_object_get(tree, "tls"), "client_hellos"), 0),
                           "cipher_suites");
}

static void test_shared_names(void)
{
    uint16_t ciphers[] = {0xc02f, 0x1301, 0xc02f, 0x0a0a};
    json_t *a, *b;
    td_json_arena_begin();
    json_t *a0 = cipher_at(ciphers, 4, 0, &a);
    json_t *b0 = cipher_at(ciphers, 4, 0, &b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a0);
    CU_ASSERT_PTR_EQUAL(a0, b0);                              /* one object for both connections */
    CU_ASSERT_PTR_EQUAL(a0, json_array_get(suites_of(a), 2)); /* and for the same code twice in one list */
    CU_ASSERT_PTR_NOT_EQUAL(a0, json_array_get(suites_of(a), 1));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a0, "code")), "0xc02f");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(a0, "name")), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    json_t *grease = json_array_get(suites_of(a), 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(grease, "name")), "GREASE");
    json_decref(a);
    json_decref(b);
    td_json_arena_end(); /* the shared objects are malloc's: nothing of the region outlives the scope */

    /* Outside a scope (the servers' aggregates are built there) every tree gets its own objects. */
    json_t *c0 = cipher_at(ciphers, 4, 0, &a);
    json_t *d0 = cipher_at(ciphers, 4, 0, &b);
    CU_ASSERT_PTR_NOT_EQUAL(c0, d0);
    CU_ASSERT_TRUE(json_equal(c0, d0));
    json_decref(a);
    json_decref(b);
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
    {"outside a scope jansson uses malloc", test_outside_scope_is_malloc},
    {"a scope counts and releases its values", test_scope_counts_and_releases},
    {"values cross the scope boundary", test_values_cross_the_boundary},
    {"nested scopes", test_nested_scopes},
    {"a value larger than the region spills to malloc", test_giant_value_spills_to_malloc},
    {"threads have their own region", test_threads_have_their_own_region},
    {"a value outliving its scope stops a debug build", test_leaked_value_stops_debug_build},
    {"RFC 3339 times with nanoseconds", test_times},
    {"pause: malloc values inside a scope", test_pause_makes_malloc_values},
    {"shared {code,name} values inside a scope", test_shared_names},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("json_arena", tests)
