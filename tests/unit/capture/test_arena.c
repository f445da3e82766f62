/* SPDX-License-Identifier: MIT */
/* test_arena.c: the per-connection arena: zeroed, aligned allocations under a byte cap. */
#include "../../../capture/arena.h"
#include "../testlib.h"

#include <string.h>

static void test_alloc_and_cap(void)
{
    struct td_arena a;
    td_arena_init(&a, 16 * 1024);
    char *s = td_arena_strndup(&a, "hello world", 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(s, "hello");
    uint64_t *u = td_arena_alloc(&a, 10 * sizeof(*u));
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    CU_ASSERT_EQUAL((uintptr_t)u % _Alignof(max_align_t), 0);
    CU_ASSERT_EQUAL(u[9], 0);
    CU_ASSERT_FALSE(a.hit_cap);
    /* a request past the cap fails and says so; smaller ones still succeed */
    CU_ASSERT_PTR_NULL(td_arena_alloc(&a, 64 * 1024));
    CU_ASSERT_TRUE(a.hit_cap);
    CU_ASSERT_PTR_NOT_NULL(td_arena_alloc(&a, 8));
    /* huge claims never reach malloc */
    CU_ASSERT_PTR_NULL(td_arena_alloc(&a, SIZE_MAX - 4));
    td_arena_cleanup(&a);
    CU_ASSERT_EQUAL(a.used_len, 0);
}

static void test_many_small(void)
{
    struct td_arena a;
    td_arena_init(&a, 1 << 20);
    size_t ok = 0;
    for (int i = 0; i < 10000; i++) {
        uint8_t *p = td_arena_memdup(&a, "abcdefgh", 8);
        if (p == NULL) {
            break;
        }
        ok += memcmp(p, "abcdefgh", 8) == 0;
    }
    CU_ASSERT_TRUE(ok > 1000);
    CU_ASSERT_TRUE(a.used_len <= 1 << 20);
    td_arena_cleanup(&a);
}

/* Every flow has an arena, so a flow that keeps one small array must not cost a big block (a SYN flood keeps
 * max_flows of them); the doubling blocks still hand out most of the cap before refusing. */
static void test_small_first_block(void)
{
    struct td_arena a;
    td_arena_init(&a, 8 * 1024);
    CU_ASSERT_PTR_NOT_NULL(td_arena_alloc(&a, 320));
    CU_ASSERT_TRUE(a.used_len <= 1024);
    size_t got = 0;
    while (td_arena_alloc(&a, 256) != NULL) {
        got += 256;
    }
    CU_ASSERT_TRUE(a.hit_cap);
    CU_ASSERT_TRUE(a.used_len <= 8 * 1024);
    /* blocks of 512, 1 K and 2 K fit in 8 K, the next one (4 K) does not: 3.5 K of it is usable */
    CU_ASSERT_TRUE(320 + got >= 3 * 1024);
    td_arena_cleanup(&a);
}

static CU_TestInfo tests[] = {
    {"alloc and cap", test_alloc_and_cap},
    {"many small", test_many_small},
    {"small first block", test_small_first_block},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("arena", tests)
