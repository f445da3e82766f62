/* SPDX-License-Identifier: MIT */
/* test_spill.c: arenas in the spill file: a cooled arena leaves the process's memory (its resident pages, read
 * from /proc/self/smaps_rollup) and keeps every byte; warming, releasing and reusing blocks. */
#include "../../../capture/arena.h"
#include "../../../capture/spill.h"
#include "../testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENAS 2000u
#define BYTES_EACH 3000u /* three blocks: 480 + 992 + 2016 usable bytes */

/* rss_file_kb: resident file-backed memory of this process (the spill's pages are counted there). */
static long rss_file_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "RssFile:", 8) == 0) {
            kb = atol(line + 8);
        }
    }
    fclose(f);
    return kb;
}

static struct td_spill *new_spill_warm(uint64_t delay, size_t warm_max)
{
    int err = 0;
    struct td_spill *s = td_spill_new(".", delay, warm_max, &err);
    if (s == NULL) {
        fprintf(stderr, "spill unavailable here (errno %d)\n", err);
    }
    return s;
}

static struct td_spill *new_spill(uint64_t delay)
{
    return new_spill_warm(delay, 0);
}

static void fill(struct td_arena *a, unsigned seed, unsigned char **parts)
{
    static const size_t sizes[] = {400, 900, 1700};
    for (unsigned i = 0; i < 3; i++) {
        parts[i] = td_arena_alloc(a, sizes[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(parts[i]);
        for (size_t k = 0; k < sizes[i]; k++) {
            parts[i][k] = (unsigned char)(seed * 31u + i * 7u + k);
        }
    }
}

static bool intact(unsigned seed, unsigned char *const *parts)
{
    static const size_t sizes[] = {400, 900, 1700};
    for (unsigned i = 0; i < 3; i++) {
        for (size_t k = 0; k < sizes[i]; k++) {
            if (parts[i][k] != (unsigned char)(seed * 31u + i * 7u + k)) {
                return false;
            }
        }
    }
    return true;
}

static void test_cooled_arenas_leave_memory_and_keep_their_bytes(void)
{
    struct td_spill *s = new_spill(10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct td_arena *arenas = calloc(ARENAS, sizeof(*arenas));
    unsigned char *(*parts)[3] = calloc(ARENAS, sizeof(*parts));
    CU_ASSERT_PTR_NOT_NULL_FATAL(arenas);
    CU_ASSERT_PTR_NOT_NULL_FATAL(parts);
    long before = rss_file_kb();
    for (unsigned i = 0; i < ARENAS; i++) {
        td_arena_init_spill(&arenas[i], 1u << 20, s);
        fill(&arenas[i], i, parts[i]);
        td_arena_settle(&arenas[i]);
    }
    long warm = rss_file_kb();
    /* 2000 arenas of 3.5 KB of blocks: about 7 MB resident while warm */
    CU_ASSERT_TRUE(warm - before > 5000);
    for (unsigned t = 0; t < 9; t++) {
        td_spill_tick(s);
        CU_ASSERT_FALSE(arenas[0].cold); /* not before the delay (10 ticks) */
    }
    for (unsigned t = 0; t < 4096; t++) {
        td_spill_tick(s); /* the delay passes, and the drops are flushed */
    }
    CU_ASSERT_TRUE(arenas[0].cold);
    CU_ASSERT_TRUE(arenas[ARENAS - 1].cold);
    long cold = rss_file_kb();
    CU_ASSERT_TRUE(cold - before < 1024);
    struct td_spill_stats st;
    td_spill_stats(s, &st);
    CU_ASSERT_EQUAL(st.arenas_cooled, ARENAS);
    CU_ASSERT_EQUAL(st.blocks_cold, st.blocks_live);
    /* every byte is still there, read straight through the cold pointers */
    bool all = true;
    for (unsigned i = 0; i < ARENAS; i++) {
        all = all && intact(i, parts[i]);
    }
    CU_ASSERT_TRUE(all);
    /* an allocation warms the arena (and queues it again); the old bytes stay */
    char *more = td_arena_strndup(&arenas[7], "after", 5);
    CU_ASSERT_STRING_EQUAL(more, "after");
    CU_ASSERT_FALSE(arenas[7].cold);
    CU_ASSERT_TRUE(intact(7, parts[7]));
    for (unsigned i = 0; i < ARENAS; i++) {
        td_arena_cleanup(&arenas[i]);
    }
    td_spill_stats(s, &st);
    CU_ASSERT_EQUAL(st.blocks_live, 0);
    CU_ASSERT_EQUAL(st.blocks_cold, 0);
    free(parts);
    free(arenas);
    td_spill_free(s);
}

static void test_released_blocks_are_reused_and_forgotten_arenas_stay_warm(void)
{
    struct td_spill *s = new_spill(5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct td_arena a, b;
    td_arena_init_spill(&a, 1u << 20, s);
    unsigned char *pa[3];
    fill(&a, 1, pa);
    td_arena_settle(&a);
    td_arena_cleanup(&a); /* freed before the delay: nothing to cool */
    for (unsigned t = 0; t < 10; t++) {
        td_spill_tick(s);
    }
    struct td_spill_stats st;
    td_spill_stats(s, &st);
    CU_ASSERT_EQUAL(st.arenas_cooled, 0);
    CU_ASSERT_EQUAL(st.blocks_live, 0);
    uint64_t file = st.file_bytes;
    /* the same blocks serve the next arena: the file does not grow */
    td_arena_init_spill(&b, 1u << 20, s);
    unsigned char *pb[3];
    fill(&b, 2, pb);
    CU_ASSERT_PTR_EQUAL(pb[0], pa[0]);
    td_arena_settle(&b);
    td_arena_unsettle(&b); /* handed to another thread: never cooled from the queue */
    for (unsigned t = 0; t < 10; t++) {
        td_spill_tick(s);
    }
    CU_ASSERT_FALSE(b.cold);
    CU_ASSERT_TRUE(intact(2, pb));
    td_spill_stats(s, &st);
    CU_ASSERT_EQUAL(st.file_bytes, file);
    td_arena_cleanup(&b);
    td_spill_free(s);
}

static void test_busy_arenas_wait_until_idle(void)
{
    struct td_spill *s = new_spill(100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct td_arena a;
    td_arena_init_spill(&a, 1u << 20, s);
    unsigned char *p[3];
    fill(&a, 3, p);
    td_arena_settle(&a);
    for (unsigned t = 0; t < 1000; t++) { /* a bulk transfer: a packet every tick */
        td_arena_active(&a);
        td_spill_tick(s);
    }
    CU_ASSERT_FALSE(a.cold);
    for (unsigned t = 0; t < 99; t++) {
        td_spill_tick(s);
    }
    CU_ASSERT_FALSE(a.cold); /* idle for less than the delay */
    for (unsigned t = 0; t < 200; t++) {
        td_spill_tick(s);
    }
    CU_ASSERT_TRUE(a.cold);
    CU_ASSERT_TRUE(intact(3, p));
    td_arena_cleanup(&a);
    td_spill_free(s);
}

static void test_only_settled_arenas_past_the_warm_budget_are_cooled(void)
{
    struct td_spill *s = new_spill_warm(10, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct td_arena a[5];
    unsigned char *p[5][3];
    for (unsigned i = 0; i < 5; i++) {
        td_arena_init_spill(&a[i], 1u << 20, s);
        fill(&a[i], i, p[i]);
        td_arena_settle(&a[i]);
    }
    td_arena_cleanup(&a[4]); /* a closed connection does not count */
    for (unsigned t = 0; t < 50; t++) {
        td_spill_tick(s);
    }
    /* four settled, three may stay warm: the oldest goes */
    CU_ASSERT_TRUE(a[0].cold);
    CU_ASSERT_FALSE(a[1].cold);
    CU_ASSERT_FALSE(a[3].cold);
    CU_ASSERT_TRUE(intact(0, p[0]));
    for (unsigned i = 0; i < 4; i++) {
        td_arena_cleanup(&a[i]);
    }
    td_spill_free(s);
}

static void test_sizes_outside_the_classes_are_refused(void)
{
    struct td_spill *s = new_spill(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NULL(td_spill_alloc(s, 1000));
    CU_ASSERT_PTR_NULL(td_spill_alloc(s, 128 * 1024));
    void *p = td_spill_alloc(s, 64 * 1024);
    CU_ASSERT_PTR_NOT_NULL(p);
    td_spill_release(s, p, 64 * 1024, false, false);
    /* an arena asking for more than the largest block gets a heap block for it, and still works */
    struct td_arena a;
    td_arena_init_spill(&a, 1u << 20, s);
    unsigned char *big = td_arena_alloc(&a, 100 * 1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 0xab, 100 * 1024);
    td_arena_cool(&a);
    CU_ASSERT_EQUAL(big[100 * 1024 - 1], 0xab);
    td_arena_cleanup(&a);
    td_spill_free(s);
}

static CU_TestInfo tests[] = {
    {"cooled arenas leave memory and keep their bytes", test_cooled_arenas_leave_memory_and_keep_their_bytes},
    {"released blocks are reused, forgotten arenas stay warm",
     test_released_blocks_are_reused_and_forgotten_arenas_stay_warm},
    {"busy arenas wait until idle", test_busy_arenas_wait_until_idle},
    {"only settled arenas past the warm budget are cooled", test_only_settled_arenas_past_the_warm_budget_are_cooled},
    {"sizes outside the classes are refused", test_sizes_outside_the_classes_are_refused},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("spill", tests)
