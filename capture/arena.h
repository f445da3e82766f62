/* SPDX-License-Identifier: MIT */
/* arena.h: a per-connection bump allocator with a byte cap. Everything dissect keeps for a connection
 * comes from it and is released in one td_arena_cleanup call. */
#ifndef TD_CAPTURE_ARENA_H
#define TD_CAPTURE_ARENA_H

#include "base.h"

struct td_arena_block;
struct td_arena {
    struct td_arena_block *head;
    size_t used_len; /* bytes handed out plus block overhead */
    size_t cap_len;  /* td_arena_alloc fails once used_len would pass this */
    bool hit_cap;    /* set when an allocation was refused for the cap */
};

void td_arena_init(struct td_arena *a, size_t cap_len);
/* td_arena_cleanup frees every block; the arena can be reused after td_arena_init. */
void td_arena_cleanup(struct td_arena *a);
/* td_arena_alloc returns n zeroed bytes aligned for any type, valid until cleanup, or NULL when the
 * cap is reached (hit_cap is set) or memory is exhausted. */
TD_MUST_USE void *td_arena_alloc(struct td_arena *a, size_t n);
/* td_arena_memdup copies n bytes; td_arena_strndup copies n bytes and NUL-terminates. NULL on failure. */
TD_MUST_USE void *td_arena_memdup(struct td_arena *a, const void *src, size_t n);
TD_MUST_USE char *td_arena_strndup(struct td_arena *a, const char *src, size_t n);

#endif
