/* SPDX-License-Identifier: MIT */
/* json_write.c: compact JSON text of a jansson value or of a json_tree.h value, byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15)) writes (tests/unit/reports/test_json_write.c holds both to
 * that on every golden report and on edge values), at several times its speed. Why: jansson's encoder hands its
 * output over token by token through a callback, checks every character as a UTF-8 code point through a function
 * call and prints integers with snprintf; the report's connections are hundreds of MB of text on a big capture
 * and that encoder was most of the run's time.
 * Escaping as jansson without JSON_ENSURE_ASCII/JSON_ESCAPE_SLASH: '"', '\\' and control characters; UTF-8 is
 * copied as it is (RFC 8259 §7). */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Deeper than any report value (a connection nests 5 levels): a cycle or a runaway tree fails instead. */
#define MAX_DEPTH 64

bool td_text_grow(struct td_text *t, size_t more)
{
    if (more > SIZE_MAX - t->len) {
        return false;
    }
    if (t->len + more <= t->cap) {
        return true;
    }
    size_t cap = t->cap != 0 ? t->cap : 16384;
    while (cap < t->len + more) {
        cap = cap <= SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
    }
    char *bigger = realloc(t->data, cap);
    if (bigger == NULL) {
        return false;
    }
    t->data = bigger;
    t->cap = cap;
    return true;
}

static bool put(struct td_text *t, const char *s, size_t n)
{
    if (!td_text_reserve(t, n)) {
        return false;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    return true;
}

bool td_text_append(struct td_text *t, const void *s, size_t n)
{
    return put(t, s, n);
}

static bool put_char(struct td_text *t, char c)
{
    if (!td_text_reserve(t, 1)) {
        return false;
    }
    t->data[t->len++] = c;
    return true;
}

/* Bytes a JSON string must escape: '"', '\\' and 0x00-0x1f. */
static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* plain_prefix counts the bytes at the start of s[0..n) that need no escape, a word at a time: most of a report
 * is strings, and escapes are rare. A word holds a byte below 0x20, a '"' or a '\\' when one of the classic
 * has-a-zero-byte tests sets a high bit (bytes from 0x80, UTF-8, pass as they must). */
static size_t plain_prefix(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, sizeof(x));
        uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');
        uint64_t found = ((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash);
        if ((found & highs) != 0) {
            break;
        }
    }
    while (i < n && !needs_escape((unsigned char)s[i])) {
        i++;
    }
    return i;
}

static bool put_string(struct td_text *t, const char *s, size_t n)
{
    // Worst case every byte becomes \u00XX: reserved once, then written without further checks.
    if (n > (SIZE_MAX - 2) / 6 || !td_text_reserve(t, n * 6 + 2)) {
        return false;
    }
    static const char hex[] = "0123456789ABCDEF";
    char *o = t->data + t->len;
    *o++ = '"';
    size_t run = 0; /* start of the bytes not yet copied */
    for (size_t i = plain_prefix(s, n); i < n; i += 1 + plain_prefix(s + i + 1, n - i - 1)) {
        unsigned char c = (unsigned char)s[i];
        memcpy(o, s + run, i - run);
        o += i - run;
        run = i + 1;
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15u];
            break;
        }
    }
    memcpy(o, s + run, n - run);
    o += n - run;
    *o++ = '"';
    t->len = (size_t)(o - t->data);
    return true;
}

static bool put_integer(struct td_text *t, json_int_t v)
{
    char buf[24];
    char *end = buf + sizeof(buf);
    char *p = end;
    // Through unsigned arithmetic so that the most negative value has a magnitude too.
    unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag != 0);
    if (v < 0) {
        *--p = '-';
    }
    return put(t, p, (size_t)(end - p));
}

/* As jansson's dtostr with precision 15: "%.15g", ".0" when it would read as an integer, and the exponent
 * without '+' or leading zeros. jansson refuses NaN and infinities; so does this. */
static bool put_real(struct td_text *t, double v)
{
    if (!isfinite(v)) {
        return false;
    }
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%.15g", v);
    if (n < 0 || (size_t)n >= sizeof(buf) - 3) {
        return false;
    }
    char *e = strchr(buf, 'e');
    if (strchr(buf, '.') == NULL && e == NULL) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    if (e != NULL) {
        char *start = e + 1;
        char *digits = start;
        if (*start == '-') {
            start++;
            digits++;
        } else if (*start == '+') {
            digits++;
        }
        while (*digits == '0' && digits[1] != '\0') {
            digits++;
        }
        if (digits != start) {
            memmove(start, digits, strlen(digits) + 1);
            n = (int)strlen(buf);
        }
    }
    return put(t, buf, (size_t)n);
}

static bool put_value(struct td_text *t, json_t *v, int depth)
{
    if (v == NULL || depth > MAX_DEPTH) {
        return false;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (!put_char(t, '{')) {
            return false;
        }
        bool first = true;
        for (void *it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
            const char *key = json_object_iter_key(it);
            if ((!first && !put_char(t, ',')) || !put_string(t, key, json_object_iter_key_len(it)) ||
                !put_char(t, ':') ||
                !put_value(t, json_object_iter_value(it), depth + 1)) {
                return false;
            }
            first = false;
        }
        return put_char(t, '}');
    }
    case JSON_ARRAY: {
        if (!put_char(t, '[')) {
            return false;
        }
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if ((i > 0 && !put_char(t, ',')) || !put_value(t, json_array_get(v, i), depth + 1)) {
                return false;
            }
        }
        return put_char(t, ']');
    }
    case JSON_STRING:
        return put_string(t, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return put_integer(t, json_integer_value(v));
    case JSON_REAL:
        return put_real(t, json_real_value(v));
    case JSON_TRUE:
        return put(t, "true", 4);
    case JSON_FALSE:
        return put(t, "false", 5);
    case JSON_NULL:
        return put(t, "null", 4);
    default:
        return false;
    }
}

/* put_jv: the same text for a json_tree.h value. Keys are our own names and need no escaping. */
static bool put_jv(struct td_text *t, const struct td_jv *v, int depth)
{
    if (v == NULL || depth > MAX_DEPTH) {
        return false;
    }
    switch ((enum td_jv_type)v->type) {
    case TD_JV_OBJECT:
    case TD_JV_ARRAY: {
        bool object = v->type == TD_JV_OBJECT;
        if (!put_char(t, object ? '{' : '[')) {
            return false;
        }
        for (const struct td_jv_member *m = v->u.members.first; m != NULL; m = m->next) {
            if (m != v->u.members.first && !put_char(t, ',')) {
                return false;
            }
            if (object) {
                if (!td_text_reserve(t, (size_t)m->key_len + 3)) {
                    return false;
                }
                char *o = t->data + t->len;
                *o++ = '"';
                memcpy(o, m->key, m->key_len);
                o += m->key_len;
                *o++ = '"';
                *o++ = ':';
                t->len = (size_t)(o - t->data);
            }
            if (!put_jv(t, m->value, depth + 1)) {
                return false;
            }
        }
        return put_char(t, object ? '}' : ']');
    }
    case TD_JV_STRING:
        return put_string(t, v->u.string, v->len);
    case TD_JV_RAW:
        return put(t, v->u.string, v->len);
    case TD_JV_INTEGER:
        return put_integer(t, v->u.integer);
    case TD_JV_REAL:
        return put_real(t, v->u.real);
    case TD_JV_TRUE:
        return put(t, "true", 4);
    case TD_JV_FALSE:
        return put(t, "false", 5);
    case TD_JV_NULL:
        return put(t, "null", 4);
    }
    return false;
}

bool td_jv_write_compact(struct td_text *t, const struct td_jv *v)
{
    size_t mark = t->len;
    if (put_jv(t, v, 0)) {
        return true;
    }
    t->len = mark;
    return false;
}

bool td_json_write_compact(struct td_text *t, json_t *v)
{
    size_t mark = t->len;
    if (put_value(t, v, 0)) {
        return true;
    }
    t->len = mark; /* nothing half-written stays */
    return false;
}
