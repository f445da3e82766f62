/* SPDX-License-Identifier: MIT */
/* json_arena.c: a per-thread bump allocator for jansson while one connection's JSON is built, dumped and freed.
 * A connection is ~600 small jansson values (objects with their hash tables and keys, strings, integers); with
 * malloc they cost more than building and dumping them (malloc, free and malloc_consolidate were a third of a
 * report run's time). Inside td_json_arena_begin/end every jansson allocation of this thread is carved from one
 * region and the whole region is reset at the end; frees of region pointers only count. Pointers from
 * elsewhere (values made before begin, or after the region filled) go to malloc/free as usual, told apart by
 * address, so a value may cross the boundary in either direction except one: a region value must not outlive
 * end (a debug build aborts if one does). */
#include "json_arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Reserved address space per thread (pages are touched only as used); a connection above it (a 64 MiB
 * certificate chain cannot happen within the dissector's limits, but nothing here relies on that) spills to
 * malloc. */
#define REGION_BYTES ((size_t)64 << 20)
/* After a connection that used more than this, the pages above it are given back to the kernel. */
#define KEEP_BYTES ((size_t)1 << 20)
#define ALIGNMENT 16u

struct region {
    unsigned char *base;    /* NULL: not mapped (yet, or mmap failed: then malloc serves) */
    size_t used;
    size_t live;            /* region allocations not freed yet */
    int depth;              /* nesting of begin/end */
    int paused;             /* nesting of pause/resume: allocations go to malloc meanwhile */
};

static _Thread_local struct region tl_region;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t unmap_key; /* its destructor unmaps a finished thread's region */
static bool unmap_key_ok;

static bool in_region(const struct region *r, const void *p)
{
    return r->base != NULL && (const unsigned char *)p >= r->base && (const unsigned char *)p < r->base + REGION_BYTES;
}

static void *arena_malloc(size_t n)
{
    struct region *r = &tl_region;
    if (r->depth > 0 && r->paused == 0 && r->base != NULL) {
        size_t size = (n + (ALIGNMENT - 1)) & ~(size_t)(ALIGNMENT - 1);
        if (size >= n && size <= REGION_BYTES - r->used) {
            void *p = r->base + r->used;
            r->used += size;
            r->live++;
            return p;
        }
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    struct region *r = &tl_region;
    if (p == NULL) {
        return;
    }
    if (in_region(r, p)) {
        r->live--;
        return;
    }
    free(p);
}

static void unmap_region(void *base)
{
    (void)munmap(base, REGION_BYTES);
}

static void install(void)
{
    unmap_key_ok = pthread_key_create(&unmap_key, unmap_region) == 0;
    json_set_alloc_funcs(arena_malloc, arena_free);
}

void td_json_arena_install(void)
{
    (void)pthread_once(&install_once, install);
}

void td_json_arena_begin(void)
{
    struct region *r = &tl_region;
    td_json_arena_install();
    if (r->depth++ > 0) {
        return;
    }
    if (r->base == NULL) {
        void *m = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        r->base = m != MAP_FAILED ? m : NULL;
        if (r->base != NULL && unmap_key_ok) {
            (void)pthread_setspecific(unmap_key, r->base);
        }
    }
    r->used = 0;
    r->live = 0;
}

void td_json_arena_end(void)
{
    struct region *r = &tl_region;
    if (r->depth <= 0 || --r->depth > 0) {
        return;
    }
    if (r->live != 0) {
        /* A value of the region is still referenced: a bug. Debug builds stop here; a release build keeps the
         * region as it is (later connections bump on after it, then spill to malloc) rather than reuse memory
         * in use. */
#ifndef NDEBUG
        (void)fprintf(stderr, "tlsdiag: internal error: %zu JSON values outlive their arena\n", r->live);
        abort();
#else
        return;
#endif
    }
    if (r->base != NULL && r->used > KEEP_BYTES) {
        (void)madvise(r->base + KEEP_BYTES, r->used - KEEP_BYTES, MADV_DONTNEED);
    }
    r->used = 0;
}

bool td_json_arena_in_scope(void)
{
    return tl_region.depth > 0;
}

void td_json_arena_pause(void)
{
    tl_region.paused++;
}

void td_json_arena_resume(void)
{
    if (tl_region.paused > 0) {
        tl_region.paused--;
    }
}

size_t td_json_arena_live(void)
{
    return tl_region.live;
}
