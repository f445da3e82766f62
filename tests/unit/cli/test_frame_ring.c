/* SPDX-License-Identifier: MIT */
/* test_frame_ring.c: the live frame ring: every reader sees every frame, tick and the end, in order and intact,
 * across many wrap-arounds of a small ring with a producer that has to wait for slow readers. */
#include "../../../cli/frame_ring.h"
#include "../testlib.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NUM_FRAMES 20000u
#define TICK_EVERY 97u

/* The frame number decides its length and bytes, so a reader can check each frame without sharing state. */
static uint32_t frame_len(uint64_t n)
{
    return (uint32_t)((n * 7919u) % 9000u); /* 0 .. 8999 bytes: lengths that hit every alignment */
}

static uint8_t frame_byte(uint64_t n, uint32_t i)
{
    return (uint8_t)(n * 31u + i);
}

struct reader_result {
    struct td_frame_ring *ring;
    uint32_t index;
    uint64_t frames, ticks, bad;
    bool slow;
};

static void *reader_main(void *arg)
{
    struct reader_result *rr = arg;
    struct td_frame frame;
    int64_t now = 0;
    uint64_t expect = 1;
    enum td_ring_entry kind;
    while ((kind = td_frame_ring_next(rr->ring, rr->index, &frame, &now)) != TD_RING_END) {
        if (kind == TD_RING_TICK) {
            if (now != (int64_t)(expect - 1)) {
                rr->bad++; /* a tick comes right after the frame it follows */
            }
            rr->ticks++;
            continue;
        }
        if (frame.frame != expect || frame.caplen != frame_len(expect) || frame.wire_len != frame.caplen + 4 ||
            frame.linktype != 1 || frame.ts_ns != (int64_t)expect * 1000) {
            rr->bad++;
        }
        for (uint32_t i = 0; i < frame.caplen; i++) {
            if (frame.data[i] != frame_byte(expect, i)) {
                rr->bad++;
                break;
            }
        }
        if (rr->slow && expect % 1000 == 0) {
            struct timespec ts = {.tv_nsec = 1000000};
            nanosleep(&ts, NULL);
        }
        expect++;
        rr->frames++;
    }
    /* The end stays the end. */
    if (td_frame_ring_next(rr->ring, rr->index, &frame, &now) != TD_RING_END) {
        rr->bad++;
    }
    return NULL;
}

static void test_readers_see_everything(void)
{
    enum { READERS = 3 };
    struct td_frame_ring *ring = td_frame_ring_new(1, READERS); /* rounded up to the 1 MiB minimum */
    CU_ASSERT_PTR_NOT_NULL_FATAL(ring);
    struct reader_result rr[READERS];
    pthread_t threads[READERS];
    for (uint32_t k = 0; k < READERS; k++) {
        rr[k] = (struct reader_result){.ring = ring, .index = k, .slow = k == 1};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[k], NULL, reader_main, &rr[k]), 0);
    }
    uint8_t *buf = malloc(9000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    uint64_t ticks = 0;
    for (uint64_t n = 1; n <= NUM_FRAMES; n++) {
        uint32_t len = frame_len(n);
        for (uint32_t i = 0; i < len; i++) {
            buf[i] = frame_byte(n, i);
        }
        struct td_frame f = {.frame = n, .ts_ns = (int64_t)n * 1000, .caplen = len, .wire_len = len + 4,
                             .linktype = 1, .data = buf};
        CU_ASSERT_TRUE(td_frame_ring_push(ring, &f));
        memset(buf, 0xee, len); /* the ring must hold its own copy */
        if (n % TICK_EVERY == 0) {
            td_frame_ring_tick(ring, (int64_t)n);
            ticks++;
        }
    }
    td_frame_ring_end(ring);
    for (uint32_t k = 0; k < READERS; k++) {
        pthread_join(threads[k], NULL);
        CU_ASSERT_EQUAL(rr[k].frames, NUM_FRAMES);
        CU_ASSERT_EQUAL(rr[k].ticks, ticks);
        CU_ASSERT_EQUAL(rr[k].bad, 0);
    }
    /* About 90 MB went through a 1 MiB ring with a slow reader: the producer had to wait. */
    CU_ASSERT_TRUE(td_frame_ring_full_waits(ring) > 0);
    free(buf);
    td_frame_ring_free(ring);
}

static void test_giant_frame_is_cut(void)
{
    struct td_frame_ring *ring = td_frame_ring_new(TD_FRAME_RING_MIN_BYTES, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ring);
    size_t big = TD_FRAME_RING_MIN_BYTES / 2;
    uint8_t *buf = calloc(1, big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    struct td_frame f = {.frame = 1, .caplen = (uint32_t)big, .wire_len = (uint32_t)big, .linktype = 1, .data = buf};
    CU_ASSERT_FALSE(td_frame_ring_push(ring, &f));
    td_frame_ring_end(ring);
    struct td_frame out;
    int64_t now;
    CU_ASSERT_EQUAL(td_frame_ring_next(ring, 0, &out, &now), TD_RING_FRAME);
    CU_ASSERT_TRUE(out.caplen < TD_FRAME_RING_MIN_BYTES / 4);
    CU_ASSERT_EQUAL(out.wire_len, big); /* what the wire carried is still said */
    CU_ASSERT_EQUAL(td_frame_ring_next(ring, 0, &out, &now), TD_RING_END);
    free(buf);
    td_frame_ring_free(ring);
}

static void test_detached_reader_is_not_waited_for(void)
{
    struct td_frame_ring *ring = td_frame_ring_new(TD_FRAME_RING_MIN_BYTES, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ring);
    td_frame_ring_detach(ring, 1);
    static uint8_t buf[4096];
    struct td_frame out;
    int64_t now;
    /* Reader 0 keeps up; reader 1 never reads. Several ring sizes go through without the producer blocking. */
    for (uint64_t n = 1; n <= 4 * (TD_FRAME_RING_MIN_BYTES / sizeof(buf)); n++) {
        struct td_frame f = {.frame = n, .caplen = sizeof(buf), .wire_len = sizeof(buf), .data = buf};
        CU_ASSERT_TRUE(td_frame_ring_push(ring, &f));
        CU_ASSERT_EQUAL(td_frame_ring_next(ring, 0, &out, &now), TD_RING_FRAME);
        CU_ASSERT_EQUAL(out.frame, n);
    }
    td_frame_ring_free(ring);
}

static CU_TestInfo tests[] = {
    {"readers_see_everything", test_readers_see_everything},
    {"giant_frame_is_cut", test_giant_frame_is_cut},
    {"detached_reader_is_not_waited_for", test_detached_reader_is_not_waited_for},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("cli.frame_ring", tests)
