/* SPDX-License-Identifier: MIT */
/* spill.c: blocks in a shared mapping of an unlinked file, and the queue of arenas waiting to be cooled. */
#define _GNU_SOURCE
#include "spill.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "arena.h"

#define PAGE 4096u
#define CHUNK_LEN (64u * 1024u * 1024u)
#define PAGES_PER_CHUNK (CHUNK_LEN / PAGE)
#define NUM_CLASSES 8u /* 512 << 0 .. 512 << 7 = 64 KB */
/* Arenas waiting to be cooled; when the ring is full the oldest is cooled early. */
#define QUEUE_LEN 16384u
/* Ticks between flushes of the marked windows: dropping pages a few thousand frames late costs nothing, and one
 * call per run of pages instead of one per block saves most of the system time. */
#define FLUSH_TICKS 2048u
/* ... or sooner once this many windows (8 MB) wait: each may be mapped back whole by one read fault. */
#define FLUSH_WINDOWS 128u
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* Per page: warm and cold blocks on it (at most eight of either). A page is dropped when its last warm block
 * goes cold, or is released while cold ones remain or by a connection that had been cooled; pages whose blocks
 * were only ever warm stay mapped, as freed heap memory would, and are reused first. */
struct page_state {
    uint8_t warm, cold;
};

struct chunk {
    uint8_t *base;
    struct page_state *pages;
};

struct free_list {
    void **v;
    size_t n, cap;
};

struct queued {
    struct td_arena *arena; /* NULL: forgotten */
    uint64_t ticket;
    uint64_t due;
};

struct td_spill {
    pthread_mutex_t mu; /* chunks, free lists, page states, stats (blocks may be released on another thread) */
    int fd;
    struct chunk *chunks;
    size_t num_chunks, cap_chunks;
    size_t next_page;   /* first never-used page of the last chunk */
    bool exhausted;     /* the file could not grow: alloc fails from now on */
    struct free_list free[NUM_CLASSES];
    struct td_spill_stats stats;
    /* The cooling queue: only the owning thread. */
    struct queued queue[QUEUE_LEN];
    uint64_t q_first, q_next; /* tickets: queue[t % QUEUE_LEN] for q_first <= t < q_next */
    size_t queued_live;       /* entries not forgotten */
    size_t warm_max;          /* settled arenas kept warm before the oldest idle ones are cooled */
    uint64_t clock, delay;
    /* 64 KB windows to drop at the next flush (drop_around): chunk * windows per chunk + window. */
    uint32_t *marked;
    size_t num_marked, cap_marked;
};

static int class_of(size_t size)
{
    for (unsigned k = 0; k < NUM_CLASSES; k++) {
        if ((size_t)TD_SPILL_BLOCK_MIN << k == size) {
            return (int)k;
        }
    }
    return -1;
}

struct td_spill *td_spill_new(const char *dir, uint64_t delay_ticks, size_t warm_max, int *err)
{
    struct statfs fs;
    if (statfs(dir, &fs) != 0) {
        *err = errno;
        return NULL;
    }
    if ((unsigned long)fs.f_type == (unsigned long)TMPFS_MAGIC) {
        *err = EXDEV; /* a file in memory would not take anything out of memory */
        return NULL;
    }
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/tlsdiag-spill.XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        *err = ENAMETOOLONG;
        return NULL;
    }
    int fd = mkstemp(path);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    (void)unlink(path); /* gone whatever way the process ends; dirty pages of a deleted file are never written */
    struct td_spill *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        *err = ENOMEM;
        (void)close(fd);
        return NULL;
    }
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        *err = ENOMEM;
        free(s);
        (void)close(fd);
        return NULL;
    }
    s->fd = fd;
    s->delay = delay_ticks;
    s->warm_max = warm_max;
    s->next_page = PAGES_PER_CHUNK; /* no chunk yet */
    return s;
}

void td_spill_free(struct td_spill *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->num_chunks; i++) {
        (void)munmap(s->chunks[i].base, CHUNK_LEN);
        free(s->chunks[i].pages);
    }
    for (unsigned k = 0; k < NUM_CLASSES; k++) {
        free(s->free[k].v);
    }
    free(s->chunks);
    free(s->marked);
    (void)close(s->fd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* add_chunk reserves and maps the next 64 MB of the file (mu held). */
static bool add_chunk(struct td_spill *s)
{
    if (s->exhausted) {
        return false;
    }
    if (s->num_chunks == s->cap_chunks) {
        size_t cap = s->cap_chunks == 0 ? 16 : s->cap_chunks * 2;
        struct chunk *grown = realloc(s->chunks, cap * sizeof(*grown));
        if (grown == NULL) {
            return false;
        }
        s->chunks = grown;
        s->cap_chunks = cap;
    }
    off_t off = (off_t)s->num_chunks * CHUNK_LEN;
    /* Reserve the blocks now: a write fault on a sparse page of a full disk would be a SIGBUS. */
    if (fallocate(s->fd, 0, off, CHUNK_LEN) != 0) {
        s->exhausted = true;
        return false;
    }
    struct page_state *pages = calloc(PAGES_PER_CHUNK, sizeof(*pages));
    void *base = pages == NULL ? MAP_FAILED : mmap(NULL, CHUNK_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, off);
    if (base == MAP_FAILED) {
        free(pages);
        s->exhausted = true;
        return false;
    }
    /* No readahead: page cache pages then come one at a time, not as large folios, so a write to a page that
     * was dropped dirties that page's buffers only, and a read maps back the fault-around window at most. */
    (void)madvise(base, CHUNK_LEN, MADV_RANDOM);
    s->chunks[s->num_chunks++] = (struct chunk){.base = base, .pages = pages};
    s->next_page = 0;
    s->stats.file_bytes += CHUNK_LEN;
    return true;
}

static bool push_free(struct free_list *l, void *block)
{
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 64 : l->cap * 2;
        void **grown = realloc(l->v, cap * sizeof(*grown));
        if (grown == NULL) {
            return false;
        }
        l->v = grown;
        l->cap = cap;
    }
    l->v[l->n++] = block;
    return true;
}

/* carve takes fresh pages for class k: a page of blocks for the small classes (the rest go on the free list),
 * one block of whole pages otherwise. mu held. */
static void *carve(struct td_spill *s, unsigned k)
{
    size_t size = (size_t)TD_SPILL_BLOCK_MIN << k;
    size_t pages = size < PAGE ? 1 : size / PAGE;
    if (s->next_page + pages > PAGES_PER_CHUNK && !add_chunk(s)) {
        return NULL;
    }
    uint8_t *p = s->chunks[s->num_chunks - 1].base + s->next_page * PAGE;
    s->next_page += pages;
    for (size_t off = size; off < PAGE; off += size) {
        if (!push_free(&s->free[k], p + off)) {
            break; /* those blocks are lost to this run, not to correctness */
        }
    }
    return p;
}

/* find_chunk returns the index of the chunk holding p, or SIZE_MAX; *off gets p's offset in it (mu held).
 * Chunks are few (64 MB each). */
static size_t find_chunk(const struct td_spill *s, const void *p, size_t *off)
{
    const uint8_t *b = p;
    for (size_t i = s->num_chunks; i-- > 0;) {
        const struct chunk *c = &s->chunks[i];
        if (b >= c->base && b < c->base + CHUNK_LEN) {
            *off = (size_t)(b - c->base);
            return i;
        }
    }
    return SIZE_MAX;
}

/* find_page returns the state of the page holding p (mu held). */
static struct page_state *find_page(struct td_spill *s, const void *p)
{
    size_t off = 0;
    size_t i = find_chunk(s, p, &off);
    return i == SIZE_MAX ? NULL : &s->chunks[i].pages[off / PAGE];
}

/* drop_around marks the 64 KB window around block to leave the process at the next flush. A read fault on a
 * file mapping maps the neighbouring pages that are in the page cache as well (the kernel's fault-around, 64 KB):
 * reading one settled connection back brings its neighbours' cold pages with it, and only dropping whole
 * windows sends them out again. mu held. */
static void drop_around(struct td_spill *s, const void *block, size_t size)
{
    const size_t window = 16u * PAGE;
    size_t off = 0;
    size_t i = find_chunk(s, block, &off);
    for (size_t w = off / window; i != SIZE_MAX && w * window < off + size; w++) {
        if (s->num_marked == s->cap_marked) {
            size_t cap = s->cap_marked == 0 ? 1024 : s->cap_marked * 2;
            uint32_t *grown = realloc(s->marked, cap * sizeof(*grown));
            if (grown == NULL) {
                return; /* the pages stay: memory, not correctness */
            }
            s->marked = grown;
            s->cap_marked = cap;
        }
        s->marked[s->num_marked++] = (uint32_t)(i * (CHUNK_LEN / window) + w);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* flush_drops drops the pages of the marked windows that hold no warm block, one call per run of such pages
 * (adjacent windows make one run; settled connections are mostly neighbours, since blocks are handed out in
 * order and cooled in the same order). Each MADV_DONTNEED costs ~8 us on a VM whatever its length, so runs
 * beat pages. The work is bounded by the marks, not by the file. mu held. */
static void flush_drops(struct td_spill *s)
{
    if (s->num_marked == 0) {
        return;
    }
    const size_t per_chunk = PAGES_PER_CHUNK / 16;
    qsort(s->marked, s->num_marked, sizeof(*s->marked), cmp_u32);
    const struct chunk *run_chunk = NULL;
    size_t run_first = 0, run_end = 0; /* pages [run_first, run_end) of run_chunk, none warm */
    for (size_t m = 0; m <= s->num_marked; m++) {
        bool done = m == s->num_marked;
        if (!done && m > 0 && s->marked[m] == s->marked[m - 1]) {
            continue;
        }
        const struct chunk *c = done ? NULL : &s->chunks[s->marked[m] / per_chunk];
        size_t first = done ? 0 : s->marked[m] % per_chunk * 16;
        for (size_t p = first; done || p < first + 16; p++) {
            if (!done && c == run_chunk && p == run_end && c->pages[p].warm == 0) {
                run_end++;
                continue;
            }
            if (run_chunk != NULL && run_end > run_first) {
                (void)madvise(run_chunk->base + run_first * PAGE, (run_end - run_first) * PAGE, MADV_DONTNEED);
                s->stats.pages_dropped += run_end - run_first;
            }
            if (done) {
                break;
            }
            run_chunk = c;
            run_first = c->pages[p].warm == 0 ? p : p + 1;
            run_end = p + 1;
        }
    }
    s->num_marked = 0;
}

void *td_spill_alloc(struct td_spill *s, size_t size)
{
    int k = class_of(size);
    if (k < 0) {
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    struct free_list *l = &s->free[k];
    void *p = l->n > 0 ? l->v[--l->n] : carve(s, (unsigned)k);
    if (p != NULL) {
        struct page_state *ps = find_page(s, p);
        size_t pages = size < PAGE ? 1 : size / PAGE;
        for (size_t i = 0; i < pages; i++) {
            ps[i].warm++;
        }
        s->stats.blocks_live++;
    }
    pthread_mutex_unlock(&s->mu);
    return p;
}

void td_spill_release(struct td_spill *s, void *block, size_t size, bool cold, bool settled)
{
    int k = class_of(size);
    if (block == NULL || k < 0) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    struct page_state *ps = find_page(s, block);
    size_t pages = size < PAGE ? 1 : size / PAGE;
    bool drop = false;
    for (size_t i = 0; ps != NULL && i < pages; i++) {
        if (cold) {
            ps[i].cold--;
        } else {
            ps[i].warm--;
        }
        /* A warm block leaving only cold neighbours on its page lets that page go too. */
        drop |= ps[i].warm == 0 && (cold || settled || ps[i].cold > 0);
    }
    if (drop) {
        drop_around(s, block, size);
    }
    if (cold) {
        s->stats.blocks_cold--;
    }
    s->stats.blocks_live--;
    (void)push_free(&s->free[k], block);
    pthread_mutex_unlock(&s->mu);
}

void td_spill_cool(struct td_spill *s, void *block, size_t size)
{
    pthread_mutex_lock(&s->mu);
    struct page_state *ps = find_page(s, block);
    size_t pages = size < PAGE ? 1 : size / PAGE;
    bool drop = false;
    for (size_t i = 0; ps != NULL && i < pages; i++) {
        ps[i].warm--;
        ps[i].cold++;
        drop |= ps[i].warm == 0;
    }
    if (drop) {
        drop_around(s, block, size);
    }
    s->stats.blocks_cold++;
    pthread_mutex_unlock(&s->mu);
}

void td_spill_warm(struct td_spill *s, void *block, size_t size)
{
    pthread_mutex_lock(&s->mu);
    struct page_state *ps = find_page(s, block);
    size_t pages = size < PAGE ? 1 : size / PAGE;
    for (size_t i = 0; ps != NULL && i < pages; i++) {
        ps[i].cold--;
        ps[i].warm++;
    }
    s->stats.blocks_cold--;
    pthread_mutex_unlock(&s->mu);
}

/* --- the cooling queue (owning thread only) --- */

static void cool_oldest(struct td_spill *s)
{
    struct queued *q = &s->queue[s->q_first % QUEUE_LEN];
    s->q_first++;
    if (q->arena != NULL) {
        struct td_arena *a = q->arena;
        q->arena = NULL;
        a->cool_queued = false;
        s->queued_live--;
        if (a->active_tick + s->delay > s->clock) {
            td_spill_cool_later(s, a); /* still busy (a bulk transfer): look again a delay later */
            return;
        }
        td_arena_cool(a);
        s->stats.arenas_cooled++;
    }
}

void td_spill_cool_later(struct td_spill *s, struct td_arena *a)
{
    if (a->cool_queued) {
        return;
    }
    if (s->q_next - s->q_first == QUEUE_LEN) {
        cool_oldest(s);
    }
    uint64_t t = s->q_next++;
    s->queue[t % QUEUE_LEN] = (struct queued){.arena = a, .ticket = t, .due = s->clock + s->delay};
    s->queued_live++;
    a->cool_queued = true;
    a->cool_ticket = t;
}

void td_spill_forget(struct td_spill *s, struct td_arena *a)
{
    if (!a->cool_queued) {
        return;
    }
    struct queued *q = &s->queue[a->cool_ticket % QUEUE_LEN];
    if (q->ticket == a->cool_ticket && q->arena == a) {
        q->arena = NULL;
        s->queued_live--;
    }
    a->cool_queued = false;
}

void td_spill_tick(struct td_spill *s)
{
    s->clock++;
    /* The marks are also made by releases on other threads: looked at under mu, every 64 ticks. */
    if (s->clock % 64 == 0) {
        pthread_mutex_lock(&s->mu);
        if (s->clock % FLUSH_TICKS == 0 || s->num_marked >= FLUSH_WINDOWS) {
            flush_drops(s);
        }
        pthread_mutex_unlock(&s->mu);
    }
    while (s->q_first != s->q_next) {
        const struct queued *head = &s->queue[s->q_first % QUEUE_LEN];
        if (head->arena == NULL) {
            s->q_first++; /* forgotten */
            continue;
        }
        if (head->due > s->clock || s->queued_live <= s->warm_max) {
            break;
        }
        cool_oldest(s);
    }
}

uint64_t td_spill_clock(const struct td_spill *s)
{
    return s->clock;
}

void td_spill_stats(struct td_spill *s, struct td_spill_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}
