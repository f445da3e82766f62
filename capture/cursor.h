/* SPDX-License-Identifier: MIT */
/* cursor.h: the one bounds-checked view through which every packet and file byte is read
 * (BoringSSL's CBS plus an absolute stream offset, so any field can be turned into an evidence frame).
 *
 * A cursor never owns memory and is valid only while the bytes it views are: never store one.
 * Every get/skip either succeeds and advances, or fails (returns false) and leaves the cursor unchanged.
 * Multi-byte integers are big-endian (network order) unless the name ends in _le (file formats). */
#ifndef TD_CAPTURE_CURSOR_H
#define TD_CAPTURE_CURSOR_H

#include "base.h"

struct td_cursor {
    const uint8_t *p; /* next unread byte */
    size_t len;       /* bytes left */
    uint64_t off;     /* absolute offset of p in its stream or file */
};

void td_cursor_init(struct td_cursor *c, const uint8_t *p, size_t len, uint64_t off);

size_t td_cursor_len(const struct td_cursor *c);
uint64_t td_cursor_off(const struct td_cursor *c);
/* td_cursor_data returns the viewed bytes, only to hand a complete view to a library
 * (libcrypto's d2i, a digest, nDPI). Parsers must not index it. */
const uint8_t *td_cursor_data(const struct td_cursor *c);

TD_MUST_USE bool td_cursor_get_u8(struct td_cursor *c, uint8_t *out);
TD_MUST_USE bool td_cursor_get_u16(struct td_cursor *c, uint16_t *out);
TD_MUST_USE bool td_cursor_get_u24(struct td_cursor *c, uint32_t *out);
TD_MUST_USE bool td_cursor_get_u32(struct td_cursor *c, uint32_t *out);
TD_MUST_USE bool td_cursor_get_u64(struct td_cursor *c, uint64_t *out);
TD_MUST_USE bool td_cursor_get_u16_le(struct td_cursor *c, uint16_t *out);
TD_MUST_USE bool td_cursor_get_u32_le(struct td_cursor *c, uint32_t *out);
TD_MUST_USE bool td_cursor_get_u64_le(struct td_cursor *c, uint64_t *out);

TD_MUST_USE bool td_cursor_peek_u8(const struct td_cursor *c, uint8_t *out);
TD_MUST_USE bool td_cursor_peek_u16(const struct td_cursor *c, uint16_t *out);
/* td_cursor_peek_at_u8 reads the byte at index i without advancing. */
TD_MUST_USE bool td_cursor_peek_at_u8(const struct td_cursor *c, size_t i, uint8_t *out);

/* td_cursor_get_bytes carves the next n bytes out as *out and advances past them. */
TD_MUST_USE bool td_cursor_get_bytes(struct td_cursor *c, struct td_cursor *out, size_t n);
/* Length-prefixed vectors (u8/u16/u24 length) come out as sub-cursors; on failure nothing moves. */
TD_MUST_USE bool td_cursor_get_u8_prefixed(struct td_cursor *c, struct td_cursor *out);
TD_MUST_USE bool td_cursor_get_u16_prefixed(struct td_cursor *c, struct td_cursor *out);
TD_MUST_USE bool td_cursor_get_u24_prefixed(struct td_cursor *c, struct td_cursor *out);

TD_MUST_USE bool td_cursor_skip(struct td_cursor *c, size_t n);
/* td_cursor_copy copies the next n bytes into dst (n <= caller's buffer) and advances. */
TD_MUST_USE bool td_cursor_copy(struct td_cursor *c, uint8_t *dst, size_t n);
/* td_cursor_truncate shortens the view to at most n bytes (a snaplen or a declared length). */
void td_cursor_truncate(struct td_cursor *c, size_t n);

#endif
