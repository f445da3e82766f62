/* SPDX-License-Identifier: MIT */
/* frame_ring.h: live capture with --threads: one producer (the capture thread) copies each frame once into a
 * ring that every worker reads in full, in the same order, as each would read a file. Clock ticks and the end
 * travel in the same stream, so every worker's flow table sees the same frames and the same idle expiries at
 * the same points (the sharded engine relies on that for results identical to one thread). */
#ifndef TD_CLI_FRAME_RING_H
#define TD_CLI_FRAME_RING_H

#include <stddef.h>
#include <stdint.h>

#include "../capture/base.h"
#include "../capture/reader.h"

struct td_frame_ring;

/* The smallest ring; td_frame_ring_new rounds capacity up to a power of two at least this. */
#define TD_FRAME_RING_MIN_BYTES (1u << 20)
/* The live default: 64 MiB absorbs about a quarter second of a saturated gigabit link while a worker is busy. */
#define TD_FRAME_RING_DEFAULT_BYTES (64u << 20)

enum td_ring_entry {
    TD_RING_FRAME = 1, /* a frame: *frame is filled, data valid until the next td_frame_ring_next */
    TD_RING_TICK,      /* the clock: *now_ns is filled */
    TD_RING_END,       /* the producer has finished: every later call returns this too */
};

/* td_frame_ring_new returns a ring of about capacity bytes read by num_readers readers (0..num_readers-1), or
 * NULL when memory ran out. */
TD_MUST_USE struct td_frame_ring *td_frame_ring_new(size_t capacity, uint32_t num_readers);
void td_frame_ring_free(struct td_frame_ring *r);

/* Producer side (one thread). Each call waits while the slowest reader is a whole ring behind: the kernel's
 * capture buffer absorbs the wait, and what it cannot hold shows as drops in pcap_stats.
 * td_frame_ring_push copies the frame (frame numbers are the caller's). A frame larger than a quarter of the
 * ring is cut to that (snaplen-like; wire_len is kept) and false is returned so the caller can count it. */
bool td_frame_ring_push(struct td_frame_ring *r, const struct td_frame *frame);
void td_frame_ring_tick(struct td_frame_ring *r, int64_t now_ns);
void td_frame_ring_end(struct td_frame_ring *r);

/* Reader side: reader is this thread's index. Waits for the next entry. */
enum td_ring_entry td_frame_ring_next(struct td_frame_ring *r, uint32_t reader, struct td_frame *frame,
                                      int64_t *now_ns);

/* td_frame_ring_detach: reader will never read (its thread did not start); the producer stops waiting for it. */
void td_frame_ring_detach(struct td_frame_ring *r, uint32_t reader);

/* Producer waits so far (the ring was full): a sign the workers do not keep up with the link. */
uint64_t td_frame_ring_full_waits(struct td_frame_ring *r);

#endif
