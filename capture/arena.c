/* SPDX-License-Identifier: MIT */
/* arena.c: bump allocation in blocks that double from 512 bytes to 64 KB, freed together. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

struct td_arena_block {
    struct td_arena_block *next;
    size_t size;
    size_t used;
    max_align_t data[]; /* aligned storage */
};

/* The first block is small because every flow gets an arena and most keep only a few timeline entries (a
 * SYN-only flood keeps max_flows of them: a 4 KB first block made that 4 KB per flow). Doubling keeps the
 * number of blocks, and so malloc calls, logarithmic for the connections that do keep a lot; a block that
 * would pass the cap is refused whole, so at most one BLOCK_MAX of the cap goes unused. */
#define BLOCK_FIRST 512u
#define BLOCK_MAX (64u * 1024u)

void td_arena_init(struct td_arena *a, size_t cap_len)
{
    a->head = NULL;
    a->used_len = 0;
    a->cap_len = cap_len;
    a->hit_cap = false;
}

void td_arena_cleanup(struct td_arena *a)
{
    struct td_arena_block *b = a->head;
    while (b != NULL) {
        struct td_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_len = 0;
}

void *td_arena_alloc(struct td_arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    if (n > SIZE_MAX / 2) {
        a->hit_cap = true;
        return NULL;
    }
    size_t need = (n + align - 1) / align * align;
    if (need == 0) {
        need = align;
    }
    struct td_arena_block *b = a->head;
    if (b == NULL || b->size - b->used < need) {
        size_t size = b == NULL ? BLOCK_FIRST : b->size < BLOCK_MAX / 2 ? b->size * 2 : BLOCK_MAX;
        if (size < need) {
            size = need;
        }
        if (a->used_len + size + sizeof(*b) > a->cap_len) {
            a->hit_cap = true;
            return NULL;
        }
        b = malloc(sizeof(*b) + size);
        if (b == NULL) {
            return NULL;
        }
        b->next = a->head;
        b->size = size;
        b->used = 0;
        a->head = b;
        a->used_len += size + sizeof(*b);
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    memset(p, 0, n);
    return p;
}

void *td_arena_memdup(struct td_arena *a, const void *src, size_t n)
{
    void *p = td_arena_alloc(a, n);
    if (p != NULL && n > 0) {
        memcpy(p, src, n);
    }
    return p;
}

char *td_arena_strndup(struct td_arena *a, const char *src, size_t n)
{
    char *p = td_arena_alloc(a, n + 1);
    if (p != NULL) {
        if (n > 0) {
            memcpy(p, src, n);
        }
        p[n] = '\0';
    }
    return p;
}
