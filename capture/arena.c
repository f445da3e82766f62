/* SPDX-License-Identifier: MIT */
/* arena.c: bump allocation in blocks that double from 512 bytes to 64 KB, freed together. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

#include "spill.h"

struct td_arena_block {
    struct td_arena_block *next;
    size_t size;        /* usable bytes in data */
    size_t used;
    size_t spill_len;   /* the whole block's length in the spill, 0 for a heap block */
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
    td_arena_init_spill(a, cap_len, NULL);
}

void td_arena_init_spill(struct td_arena *a, size_t cap_len, struct td_spill *spill)
{
    *a = (struct td_arena){.cap_len = cap_len, .spill = spill};
}

void td_arena_cleanup(struct td_arena *a)
{
    if (a->spill != NULL) {
        td_spill_forget(a->spill, a);
    }
    struct td_arena_block *b = a->head;
    while (b != NULL) {
        struct td_arena_block *next = b->next;
        if (b->spill_len != 0) {
            td_spill_release(a->spill, b, b->spill_len, a->cold, a->was_cooled);
        } else {
            free(b);
        }
        b = next;
    }
    a->head = NULL;
    a->used_len = 0;
    a->settled = false; /* cold and was_cooled stay for td_arena_release_owner */
}

void td_arena_adopt(struct td_arena *a, void *block, size_t owner_len)
{
    a->owner_block = block;
    a->owner_len = owner_len;
}

void td_arena_release_owner(struct td_arena *a)
{
    struct td_spill *spill = a->spill;
    void *block = a->owner_block;
    size_t len = a->owner_len;
    bool cold = a->cold;
    bool settled = a->was_cooled;
    a->owner_block = NULL;
    if (spill != NULL && block != NULL) {
        td_spill_release(spill, block, len, cold, settled);
    }
}

void td_arena_cool(struct td_arena *a)
{
    if (a->cold || a->spill == NULL) {
        return;
    }
    /* Everything is read and written before the pages go: the arena may live in the owner block, which is
     * cooled last. */
    struct td_spill *spill = a->spill;
    void *owner = a->owner_block;
    size_t owner_len = a->owner_len;
    struct td_arena_block *b = a->head;
    a->cold = true;
    a->was_cooled = true;
    while (b != NULL) {
        struct td_arena_block *next = b->next; /* read before the block's page is dropped */
        if (b->spill_len != 0) {
            td_spill_cool(spill, b, b->spill_len);
        }
        b = next;
    }
    if (owner != NULL) {
        td_spill_cool(spill, owner, owner_len);
    }
}

void td_arena_settle(struct td_arena *a)
{
    if (a->spill == NULL) {
        return;
    }
    a->settled = true;
    if (!a->cold) {
        td_spill_cool_later(a->spill, a);
    }
}

void td_arena_unsettle(struct td_arena *a)
{
    if (a->spill != NULL) {
        td_spill_forget(a->spill, a);
    }
    a->settled = false;
}

void td_arena_touch(struct td_arena *a)
{
    if (!a->cold) {
        return;
    }
    if (a->owner_block != NULL) {
        td_spill_warm(a->spill, a->owner_block, a->owner_len);
    }
    for (struct td_arena_block *b = a->head; b != NULL; b = b->next) {
        if (b->spill_len != 0) {
            td_spill_warm(a->spill, b, b->spill_len);
        }
    }
    a->cold = false;
    if (a->settled) {
        td_spill_cool_later(a->spill, a);
    }
}

/* new_block gets a block of size usable bytes from the spill when the arena has one and the size is one of its
 * classes (the whole block, header included, a power of two), else from the heap. */
static struct td_arena_block *new_block(struct td_arena *a, size_t size)
{
    size_t whole = sizeof(struct td_arena_block) + size;
    if (a->spill != NULL && whole <= TD_SPILL_BLOCK_MAX && (whole & (whole - 1)) == 0) {
        struct td_arena_block *b = td_spill_alloc(a->spill, whole);
        if (b != NULL) {
            b->spill_len = whole;
            return b;
        }
    }
    struct td_arena_block *b = malloc(whole);
    if (b != NULL) {
        b->spill_len = 0;
    }
    return b;
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
    td_arena_touch(a);
    struct td_arena_block *b = a->head;
    if (b == NULL || b->size - b->used < need) {
        /* Spill blocks are powers of two including their header, so their usable sizes are a header short of
         * the heap's. */
        size_t first = a->spill != NULL ? TD_SPILL_BLOCK_MIN - sizeof(*b) : BLOCK_FIRST;
        size_t max = a->spill != NULL ? TD_SPILL_BLOCK_MAX - sizeof(*b) : BLOCK_MAX;
        size_t size = b == NULL ? first : b->size < max / 2 ? b->size * 2 + (a->spill != NULL ? sizeof(*b) : 0) : max;
        if (size < need) {
            size = need;
        }
        if (a->used_len + size + sizeof(*b) > a->cap_len) {
            a->hit_cap = true;
            return NULL;
        }
        b = new_block(a, size);
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
