/* SPDX-License-Identifier: MIT */
/* frame_ring.c: a single-producer, broadcast ring of frames for the live sharded engine. Positions only grow;
 * the producer publishes with a release store of its head, each reader with one of its tail, so the copy of a
 * frame is the only work per frame besides two atomic loads. Threads sleep on a condition variable only when
 * the ring is empty (readers) or full (producer), and are woken only when someone sleeps. */
#include "frame_ring.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { KIND_PAD = 0 };

/* What precedes each entry's bytes. Entries start 8-byte aligned; an entry never wraps: the end of the buffer
 * is skipped with a PAD entry, or implicitly when less than a header remains. */
struct entry_header {
    uint32_t size; /* header + data, rounded up to 8 */
    uint32_t kind; /* enum td_ring_entry, or KIND_PAD */
    uint32_t caplen;
    uint32_t wire_len;
    uint32_t linktype;
    uint32_t interface;
    uint64_t frame;
    int64_t ts_ns; /* the frame's time, or the tick's clock */
};

#define HEADER_LEN ((uint32_t)sizeof(struct entry_header))
/* A sleeping thread looks again after this long even if no wake-up came (belt and braces). */
#define WAIT_NS 50000000L

struct reader_pos {
    _Atomic uint64_t tail;    /* bytes this reader is done with */
    uint64_t release;         /* the entry handed out last, released at the next call */
    char pad[64 - 2 * sizeof(uint64_t)]; /* one cache line per reader: tails are written constantly */
};

struct td_frame_ring {
    uint8_t *buf;
    size_t cap;   /* power of two */
    size_t mask;
    uint32_t num_readers;
    struct reader_pos *readers;
    _Alignas(64) _Atomic uint64_t head; /* bytes published */
    uint64_t min_tail;                  /* producer's cached slowest tail */
    bool ended;                         /* producer only */
    uint64_t full_waits;
    pthread_mutex_t mu;
    pthread_cond_t data;                /* published something */
    pthread_cond_t room;                /* a reader moved on */
    _Atomic uint32_t readers_waiting;
    _Atomic bool producer_waiting;
};

static size_t round_up_pow2(size_t n)
{
    size_t p = TD_FRAME_RING_MIN_BYTES;
    while (p < n && p <= SIZE_MAX / 2) {
        p *= 2;
    }
    return p;
}

struct td_frame_ring *td_frame_ring_new(size_t capacity, uint32_t num_readers)
{
    if (num_readers == 0) {
        return NULL;
    }
    struct td_frame_ring *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->cap = round_up_pow2(capacity);
    r->mask = r->cap - 1;
    r->num_readers = num_readers;
    r->buf = malloc(r->cap);
    r->readers = aligned_alloc(64, sizeof(*r->readers) * num_readers);
    if (r->buf == NULL || r->readers == NULL) {
        free(r->buf);
        free(r->readers);
        free(r);
        return NULL;
    }
    memset(r->readers, 0, sizeof(*r->readers) * num_readers);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->data, NULL);
    pthread_cond_init(&r->room, NULL);
    return r;
}

void td_frame_ring_free(struct td_frame_ring *r)
{
    if (r == NULL) {
        return;
    }
    pthread_cond_destroy(&r->room);
    pthread_cond_destroy(&r->data);
    pthread_mutex_destroy(&r->mu);
    free(r->readers);
    free(r->buf);
    free(r);
}

static void deadline(struct timespec *until)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_nsec += WAIT_NS;
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

static uint64_t slowest_tail(struct td_frame_ring *r)
{
    uint64_t min = atomic_load_explicit(&r->readers[0].tail, memory_order_acquire);
    for (uint32_t k = 1; k < r->num_readers; k++) {
        uint64_t t = atomic_load_explicit(&r->readers[k].tail, memory_order_acquire);
        if (t < min) {
            min = t;
        }
    }
    return min;
}

/* wait_room waits until `need` bytes past head are free in every reader's view. */
static void wait_room(struct td_frame_ring *r, uint64_t head, size_t need)
{
    if (head + need - r->min_tail <= r->cap) {
        return;
    }
    r->min_tail = slowest_tail(r);
    if (head + need - r->min_tail <= r->cap) {
        return;
    }
    r->full_waits++;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        atomic_store(&r->producer_waiting, true);
        r->min_tail = slowest_tail(r);
        if (head + need - r->min_tail <= r->cap) {
            break;
        }
        struct timespec until;
        deadline(&until);
        (void)pthread_cond_timedwait(&r->room, &r->mu, &until);
    }
    atomic_store(&r->producer_waiting, false);
    pthread_mutex_unlock(&r->mu);
}

static void publish(struct td_frame_ring *r, uint64_t head)
{
    atomic_store(&r->head, head);
    if (atomic_load(&r->readers_waiting) > 0) {
        pthread_mutex_lock(&r->mu);
        pthread_cond_broadcast(&r->data);
        pthread_mutex_unlock(&r->mu);
    }
}

/* append writes one entry (header + data) and publishes it. */
static void append(struct td_frame_ring *r, struct entry_header h, const uint8_t *data)
{
    uint32_t size = (HEADER_LEN + h.caplen + 7u) & ~7u;
    h.size = size;
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t off = (size_t)(head & r->mask);
    size_t to_end = r->cap - off;
    size_t skip = to_end < size ? to_end : 0; /* the end of the buffer is skipped rather than wrapped */
    wait_room(r, head, skip + size);
    if (skip >= HEADER_LEN) {
        struct entry_header pad = {.size = (uint32_t)skip, .kind = KIND_PAD};
        memcpy(r->buf + off, &pad, sizeof(pad));
    }
    head += skip;
    off = (size_t)(head & r->mask);
    memcpy(r->buf + off, &h, sizeof(h));
    if (h.caplen > 0) {
        memcpy(r->buf + off + HEADER_LEN, data, h.caplen);
    }
    publish(r, head + size);
}

bool td_frame_ring_push(struct td_frame_ring *r, const struct td_frame *frame)
{
    uint32_t max = (uint32_t)(r->cap / 4) - HEADER_LEN;
    bool whole = frame->caplen <= max;
    struct entry_header h = {
        .kind = TD_RING_FRAME,
        .caplen = whole ? frame->caplen : max,
        .wire_len = frame->wire_len,
        .linktype = frame->linktype,
        .interface = frame->interface,
        .frame = frame->frame,
        .ts_ns = frame->ts_ns,
    };
    append(r, h, frame->data);
    return whole;
}

void td_frame_ring_tick(struct td_frame_ring *r, int64_t now_ns)
{
    append(r, (struct entry_header){.kind = TD_RING_TICK, .ts_ns = now_ns}, NULL);
}

void td_frame_ring_end(struct td_frame_ring *r)
{
    if (!r->ended) {
        r->ended = true;
        append(r, (struct entry_header){.kind = TD_RING_END}, NULL);
    }
}

void td_frame_ring_detach(struct td_frame_ring *r, uint32_t reader)
{
    atomic_store(&r->readers[reader].tail, UINT64_MAX);
    pthread_mutex_lock(&r->mu);
    pthread_cond_signal(&r->room);
    pthread_mutex_unlock(&r->mu);
}

uint64_t td_frame_ring_full_waits(struct td_frame_ring *r)
{
    return r->full_waits;
}

/* wait_data waits until the head has moved past tail. */
static uint64_t wait_data(struct td_frame_ring *r, uint64_t tail)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (head != tail) {
        return head;
    }
    pthread_mutex_lock(&r->mu);
    atomic_fetch_add(&r->readers_waiting, 1);
    while ((head = atomic_load(&r->head)) == tail) {
        struct timespec until;
        deadline(&until);
        (void)pthread_cond_timedwait(&r->data, &r->mu, &until);
    }
    atomic_fetch_sub(&r->readers_waiting, 1);
    pthread_mutex_unlock(&r->mu);
    return head;
}

static void release(struct td_frame_ring *r, struct reader_pos *p, uint64_t tail)
{
    atomic_store(&p->tail, tail);
    if (atomic_load(&r->producer_waiting)) {
        pthread_mutex_lock(&r->mu);
        pthread_cond_signal(&r->room);
        pthread_mutex_unlock(&r->mu);
    }
}

enum td_ring_entry td_frame_ring_next(struct td_frame_ring *r, uint32_t reader, struct td_frame *frame,
                                      int64_t *now_ns)
{
    struct reader_pos *p = &r->readers[reader];
    uint64_t tail = atomic_load_explicit(&p->tail, memory_order_relaxed) + p->release;
    p->release = 0;
    release(r, p, tail); /* the previous entry's bytes may now be overwritten */
    for (;;) {
        wait_data(r, tail);
        size_t off = (size_t)(tail & r->mask);
        if (r->cap - off < HEADER_LEN) {
            tail += r->cap - off; /* implicit skip to the start */
            continue;
        }
        struct entry_header h;
        memcpy(&h, r->buf + off, sizeof(h));
        if (h.kind == KIND_PAD) {
            tail += h.size;
            continue;
        }
        if (tail != atomic_load_explicit(&p->tail, memory_order_relaxed)) {
            atomic_store(&p->tail, tail); /* skipped padding is free again */
        }
        switch ((enum td_ring_entry)h.kind) {
        case TD_RING_FRAME:
            *frame = (struct td_frame){.frame = h.frame, .ts_ns = h.ts_ns, .caplen = h.caplen,
                                       .wire_len = h.wire_len, .linktype = h.linktype, .interface = h.interface,
                                       .data = r->buf + off + HEADER_LEN};
            p->release = h.size;
            return TD_RING_FRAME;
        case TD_RING_TICK:
            *now_ns = h.ts_ns;
            p->release = h.size;
            return TD_RING_TICK;
        case TD_RING_END:
            return TD_RING_END; /* not released: every later call sees it again */
        }
        return TD_RING_END; /* not reached: only the producer writes kinds */
    }
}
