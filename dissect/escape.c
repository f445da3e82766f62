/* SPDX-License-Identifier: MIT */
/* escape.c: wire strings (SNI, ALPN, certificate names) copied as bounded printable ASCII. */
#include "internal.h"

#include <stdio.h>

/* Strings from the wire are not UTF-8 by contract; reports need text that cannot break JSON or a
 * terminal. Only this many input bytes are escaped; longer strings end in "..." so one hostile name
 * cannot fill the connection arena. */

char *td_escape_string(struct td_arena *arena, struct td_cursor bytes)
{
    size_t n = td_cursor_len(&bytes);
    bool cut = n > TD_ESCAPE_MAX_IN;
    if (cut) {
        n = TD_ESCAPE_MAX_IN;
    }
    /* Worst case: every byte becomes \xNN, plus "..." and the NUL. */
    char *out = td_arena_alloc(arena, n * 4 + 4);
    if (out == NULL) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = 0;
        if (!td_cursor_get_u8(&bytes, &b)) {
            break;
        }
        if (b >= 0x20 && b <= 0x7e && b != '\\') {
            out[o++] = (char)b;
            continue;
        }
        int w = snprintf(out + o, 5, "\\x%02x", b);
        if (w != 4) {
            break;
        }
        o += 4;
    }
    if (cut) {
        out[o++] = '.';
        out[o++] = '.';
        out[o++] = '.';
    }
    out[o] = '\0';
    return out;
}
