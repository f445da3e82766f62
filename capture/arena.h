/* SPDX-License-Identifier: MIT */
/* arena.h: a per-connection bump allocator with a byte cap. Everything dissect keeps for a connection
 * comes from it and is released in one td_arena_cleanup call. With a spill (spill.h) its blocks live in a
 * file mapping and the arena can be cooled: its pages leave the process's memory, its pointers stay valid. */
#ifndef TD_CAPTURE_ARENA_H
#define TD_CAPTURE_ARENA_H

#include "base.h"
#include "spill.h"

struct td_arena_block;
struct td_spill;
struct td_arena {
    struct td_arena_block *head;
    size_t used_len; /* bytes handed out plus block overhead */
    size_t cap_len;  /* td_arena_alloc fails once used_len would pass this */
    bool hit_cap;    /* set when an allocation was refused for the cap */
    /* With a spill: */
    struct td_spill *spill;
    bool cold;          /* the spill blocks are cooled (td_arena_cool) */
    bool settled;       /* td_arena_settle was called: cool again some time after each warming */
    bool cool_queued;   /* on the spill's cooling queue (spill.c), as cool_ticket */
    bool was_cooled;    /* cooled at least once */
    uint64_t cool_ticket;
    uint64_t active_tick; /* the spill's clock at the owner's last td_arena_active */
    void *owner_block;  /* a spill block of the arena's owner, cooled and warmed with the arena (td_arena_adopt) */
    size_t owner_len;
};

void td_arena_init(struct td_arena *a, size_t cap_len);
/* td_arena_init_spill: the same, with blocks from spill (NULL: the heap). Blocks the spill cannot give come
 * from the heap. */
void td_arena_init_spill(struct td_arena *a, size_t cap_len, struct td_spill *spill);
/* td_arena_settle: the owner will rarely touch the arena from now on; it is cooled after the spill's delay, and
 * again after each td_arena_touch or allocation. No effect without a spill. Call on the spill's thread. */
void td_arena_settle(struct td_arena *a);
/* td_arena_unsettle takes the arena off the cooling queue for good (before it is handed to another thread); it
 * stays as it is, warm or cold, and reading it is always fine. */
void td_arena_unsettle(struct td_arena *a);
/* td_arena_touch: the owner is about to write into memory it allocated earlier (not through td_arena_alloc);
 * a cooled arena is warmed first. Cheap when the arena is warm. */
void td_arena_touch(struct td_arena *a);
/* td_arena_adopt: block (owner_len bytes from the arena's spill) holds the arena's owner, usually with the
 * arena itself inside it: it is cooled and warmed with the arena's blocks, and released by the owner with
 * td_arena_release_owner after td_arena_cleanup. */
void td_arena_adopt(struct td_arena *a, void *block, size_t owner_len);
/* td_arena_release_owner gives the adopted block back; a is read before the block goes (it may be inside). */
void td_arena_release_owner(struct td_arena *a);
/* td_arena_active: the owner is busy (a packet of its connection): a settled arena is cooled only once it has
 * been idle for the spill's delay. Cheap; call on the spill's thread. */
static inline void td_arena_active(struct td_arena *a)
{
    if (a->settled) {
        a->active_tick = td_spill_clock(a->spill);
    }
}
/* td_arena_cool drops the arena's spill blocks from memory now (called by the spill's queue). */
void td_arena_cool(struct td_arena *a);
/* td_arena_cleanup frees every block; the arena can be reused after td_arena_init. */
void td_arena_cleanup(struct td_arena *a);
/* td_arena_alloc returns n zeroed bytes aligned for any type, valid until cleanup, or NULL when the
 * cap is reached (hit_cap is set) or memory is exhausted. */
TD_MUST_USE void *td_arena_alloc(struct td_arena *a, size_t n);
/* td_arena_memdup copies n bytes; td_arena_strndup copies n bytes and NUL-terminates. NULL on failure. */
TD_MUST_USE void *td_arena_memdup(struct td_arena *a, const void *src, size_t n);
TD_MUST_USE char *td_arena_strndup(struct td_arena *a, const char *src, size_t n);

#endif
