/* SPDX-License-Identifier: MIT */
/* spill.h: file-backed storage for the arenas of connections that have finished their handshake.
 *
 * A connection past its handshake keeps its facts (hellos, certificates, timeline) only to report them when it
 * ends, which on a span port can be hours later. Its arena blocks come from an unlinked temporary file mapped
 * shared; once the connection has been settled for a while (td_spill_cool_later, td_spill_tick) its pages are
 * dropped from the process with MADV_DONTNEED. For a shared file mapping that keeps the bytes: they stay in the
 * file (through the page cache, which the kernel writes back and reclaims) and the next touch maps them again,
 * so every pointer into the arena stays valid and nothing is serialised. Blocks are powers of two from 512 bytes
 * (eight to a page) to 64 KB; a page is dropped only when no warm block is on it. File space is reserved per
 * 64 MB chunk with fallocate, so a full disk is an allocation failure (the arena then uses the heap), never a
 * SIGBUS on a later touch. One spill belongs to one thread; blocks may be freed from another (the mutex). */
#ifndef TD_CAPTURE_SPILL_H
#define TD_CAPTURE_SPILL_H

#include "base.h"

struct td_spill;
struct td_arena;

/* Smallest and largest block, including the arena's block header. */
#define TD_SPILL_BLOCK_MIN 512u
#define TD_SPILL_BLOCK_MAX (64u * 1024u)

/* What a spill says about itself (td_spill_stats). */
struct td_spill_stats {
    uint64_t file_bytes;      /* reserved in the file */
    uint64_t blocks_live;     /* handed out and not released */
    uint64_t blocks_cold;     /* of which dropped from memory (settled arenas) */
    uint64_t pages_dropped;   /* MADV_DONTNEED calls' pages, in total */
    uint64_t arenas_cooled;   /* settled arenas whose blocks were cooled */
};

/* td_spill_new creates the spill file in dir (an unlinked temporary file). NULL with *err (an errno) when dir is
 * not writable, lives in memory (tmpfs: spilling there would save nothing) or the mapping fails; the caller
 * then keeps arenas on the heap. An arena is cooled once it has been idle for delay_ticks td_spill_tick calls
 * after td_spill_cool_later (a connection that closes soon after its handshake is freed warm, without system
 * calls) and more than warm_max settled arenas are waiting: moving a page out and back costs ~25 us of system
 * time on ext4 in a VM, worth paying only when there are enough connections for memory to matter. */
TD_MUST_USE struct td_spill *td_spill_new(const char *dir, uint64_t delay_ticks, size_t warm_max, int *err);
void td_spill_free(struct td_spill *s);

/* td_spill_alloc returns a warm block of size bytes (a power of two in [TD_SPILL_BLOCK_MIN, TD_SPILL_BLOCK_MAX])
 * or NULL (file space or memory exhausted). Its contents are undefined. */
TD_MUST_USE void *td_spill_alloc(struct td_spill *s, size_t size);
/* td_spill_release gives a block back; cold: it was cooled and not warmed again. settled: its owner lived past
 * the cooling delay, so its pages were probably read back (the report) and nothing on them will be reused
 * soon: they are dropped when no warm block is left on them (short-lived owners' pages stay for reuse, as
 * freed heap memory would). */
void td_spill_release(struct td_spill *s, void *block, size_t size, bool cold, bool settled);
/* td_spill_cool marks a warm block cold and drops its pages that hold no warm block; td_spill_warm undoes it
 * (the pages come back when touched). */
void td_spill_cool(struct td_spill *s, void *block, size_t size);
void td_spill_warm(struct td_spill *s, void *block, size_t size);

/* td_spill_cool_later queues arena a to be cooled (td_arena_cool) delay_ticks ticks from now; td_spill_forget
 * takes it off the queue (the arena is freed, or handed to another thread). Call both on the spill's thread. */
void td_spill_cool_later(struct td_spill *s, struct td_arena *a);
void td_spill_forget(struct td_spill *s, struct td_arena *a);
/* td_spill_tick advances the spill's clock by one (a frame) and cools the arenas that are due: those not active
 * (td_arena_active) for delay_ticks. */
void td_spill_tick(struct td_spill *s);
uint64_t td_spill_clock(const struct td_spill *s);

void td_spill_stats(struct td_spill *s, struct td_spill_stats *out);

#endif
