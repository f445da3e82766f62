/* SPDX-License-Identifier: MIT */
/* cursor.c: the only code that touches packet memory by index. Every read goes through take(). */
#include "cursor.h"

#include <string.h>

void td_cursor_init(struct td_cursor *c, const uint8_t *p, size_t len, uint64_t off)
{
    c->p = len ? p : NULL;
    c->len = len;
    c->off = off;
}

size_t td_cursor_len(const struct td_cursor *c) { return c->len; }
uint64_t td_cursor_off(const struct td_cursor *c) { return c->off; }
const uint8_t *td_cursor_data(const struct td_cursor *c) { return c->p; }

/* take: the single checked primitive. Returns the start of n bytes and advances, or NULL. */
static const uint8_t *take(struct td_cursor *c, size_t n)
{
    if (c->len < n) {
        return NULL;
    }
    const uint8_t *start = c->p;
    if (n > 0) {
        c->p += n;
        c->len -= n;
        c->off += n;
    }
    return start == NULL && n == 0 ? (const uint8_t *)"" : start;
}

static bool get_be(struct td_cursor *c, size_t n, uint64_t *out)
{
    const uint8_t *b = take(c, n);
    if (b == NULL) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | b[i];
    }
    *out = v;
    return true;
}

static bool get_le(struct td_cursor *c, size_t n, uint64_t *out)
{
    const uint8_t *b = take(c, n);
    if (b == NULL) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) {
        v = (v << 8) | b[i - 1];
    }
    *out = v;
    return true;
}

bool td_cursor_get_u8(struct td_cursor *c, uint8_t *out)
{
    uint64_t v;
    TD_TRY(get_be(c, 1, &v));
    *out = (uint8_t)v;
    return true;
}

bool td_cursor_get_u16(struct td_cursor *c, uint16_t *out)
{
    uint64_t v;
    TD_TRY(get_be(c, 2, &v));
    *out = (uint16_t)v;
    return true;
}

bool td_cursor_get_u24(struct td_cursor *c, uint32_t *out)
{
    uint64_t v;
    TD_TRY(get_be(c, 3, &v));
    *out = (uint32_t)v;
    return true;
}

bool td_cursor_get_u32(struct td_cursor *c, uint32_t *out)
{
    uint64_t v;
    TD_TRY(get_be(c, 4, &v));
    *out = (uint32_t)v;
    return true;
}

bool td_cursor_get_u64(struct td_cursor *c, uint64_t *out) { return get_be(c, 8, out); }

bool td_cursor_get_u16_le(struct td_cursor *c, uint16_t *out)
{
    uint64_t v;
    TD_TRY(get_le(c, 2, &v));
    *out = (uint16_t)v;
    return true;
}

bool td_cursor_get_u32_le(struct td_cursor *c, uint32_t *out)
{
    uint64_t v;
    TD_TRY(get_le(c, 4, &v));
    *out = (uint32_t)v;
    return true;
}

bool td_cursor_get_u64_le(struct td_cursor *c, uint64_t *out) { return get_le(c, 8, out); }

bool td_cursor_peek_u8(const struct td_cursor *c, uint8_t *out)
{
    struct td_cursor tmp = *c;
    return td_cursor_get_u8(&tmp, out);
}

bool td_cursor_peek_u16(const struct td_cursor *c, uint16_t *out)
{
    struct td_cursor tmp = *c;
    return td_cursor_get_u16(&tmp, out);
}

bool td_cursor_peek_at_u8(const struct td_cursor *c, size_t i, uint8_t *out)
{
    struct td_cursor tmp = *c;
    return td_cursor_skip(&tmp, i) && td_cursor_get_u8(&tmp, out);
}

bool td_cursor_get_bytes(struct td_cursor *c, struct td_cursor *out, size_t n)
{
    uint64_t off = c->off;
    const uint8_t *b = take(c, n);
    if (b == NULL) {
        return false;
    }
    td_cursor_init(out, b, n, off);
    return true;
}

static bool get_prefixed(struct td_cursor *c, struct td_cursor *out, size_t prefix_len)
{
    struct td_cursor tmp = *c;
    uint64_t n;
    if (!get_be(&tmp, prefix_len, &n) || n > tmp.len || !td_cursor_get_bytes(&tmp, out, (size_t)n)) {
        return false;
    }
    *c = tmp;
    return true;
}

bool td_cursor_get_u8_prefixed(struct td_cursor *c, struct td_cursor *out) { return get_prefixed(c, out, 1); }
bool td_cursor_get_u16_prefixed(struct td_cursor *c, struct td_cursor *out) { return get_prefixed(c, out, 2); }
bool td_cursor_get_u24_prefixed(struct td_cursor *c, struct td_cursor *out) { return get_prefixed(c, out, 3); }

bool td_cursor_skip(struct td_cursor *c, size_t n) { return take(c, n) != NULL; }

bool td_cursor_copy(struct td_cursor *c, uint8_t *dst, size_t n)
{
    const uint8_t *b = take(c, n);
    if (b == NULL) {
        return false;
    }
    if (n > 0) {
        memcpy(dst, b, n);
    }
    return true;
}

void td_cursor_truncate(struct td_cursor *c, size_t n)
{
    if (n < c->len) {
        c->len = n;
    }
}
