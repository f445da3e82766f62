/* SPDX-License-Identifier: MIT */
/* json_tree.c: json_tree.h's values and the per-thread regions they come from. A region is a list of blocks
 * carved front to back; the scope region is emptied at the end of the outermost scope (one block of the usual
 * size is kept for the next connection, the rest given back), the lasting region only when its thread is done. */
#include "json_tree.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A connection's tree takes ~40-100 KB; bigger ones (long certificate chains, full timelines) chain blocks. */
#define BLOCK_BYTES ((size_t)64 << 10)
#define ALIGNMENT ((size_t)8)
#define MAX_DEPTH 64

struct block {
    struct block *next;
    size_t size, used;     /* of data */
    unsigned char data[];
};
static_assert(offsetof(struct block, data) % ALIGNMENT == 0, "values in a block must be 8-byte aligned");

struct region {
    struct block *head;    /* the block being carved; older ones follow */
    size_t bytes;          /* data bytes of all blocks */
};

static _Thread_local struct region tl_scope, tl_lasting;
static _Thread_local int tl_depth, tl_persist;
static _Thread_local bool tl_exit_hooked;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key; /* its destructor frees a finished thread's regions */
static bool exit_key_ok;

static void *(*block_malloc)(size_t) = malloc;
static void (*block_free)(void *) = free;
static size_t block_bytes = BLOCK_BYTES;

void td_jv_set_block_bytes(size_t n)
{
    block_bytes = n != 0 ? n : BLOCK_BYTES;
}

void td_jv_set_alloc_funcs(void *(*malloc_fn)(size_t), void (*free_fn)(void *))
{
    block_malloc = malloc_fn != NULL ? malloc_fn : malloc;
    block_free = free_fn != NULL ? free_fn : free;
}

static void region_empty(struct region *r, bool keep_one);

void td_jv_free_thread(void)
{
    region_empty(&tl_scope, false); /* the lasting region is its owner's to free (td_jv_persist_free_thread) */
}

static void thread_exit(void *unused)
{
    (void)unused;
    td_jv_free_thread();
}

static void exit_key_make(void)
{
    exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
}

/* hook_thread_exit makes the thread's exit free its scope region (a worker's blocks would be lost otherwise). */
static void hook_thread_exit(void)
{
    (void)pthread_once(&exit_once, exit_key_make);
    if (exit_key_ok && pthread_setspecific(exit_key, &tl_scope) == 0) {
        tl_exit_hooked = true;
    }
}

/* region_grow starts a new block for a value of size bytes (already rounded) that did not fit. */
__attribute__((noinline)) static void *region_grow(struct region *r, size_t size)
{
    size_t data = size > block_bytes ? size : block_bytes;
    if (data > SIZE_MAX - sizeof(struct block)) {
        return NULL;
    }
    if (!tl_exit_hooked) {
        hook_thread_exit();
    }
    struct block *b = block_malloc(sizeof(struct block) + data);
    if (b == NULL) {
        return NULL;
    }
    *b = (struct block){.next = r->head, .size = data, .used = size};
    r->head = b;
    r->bytes += data;
    return b->data;
}

/* region_alloc carves n bytes from the current block (inline: every value and member comes through here). */
static inline void *region_alloc(struct region *r, size_t n)
{
    size_t size = (n + (ALIGNMENT - 1)) & ~(ALIGNMENT - 1);
    if (size < n) {
        return NULL;
    }
    struct block *b = r->head;
    if (b != NULL && size <= b->size - b->used) {
        void *p = b->data + b->used;
        b->used += size;
        return p;
    }
    return region_grow(r, size);
}

/* region_empty frees the blocks; keep_one keeps one block of the usual size, emptied, for the next use. */
static void region_empty(struct region *r, bool keep_one)
{
    struct block *kept = NULL;
    for (struct block *b = r->head, *next; b != NULL; b = next) {
        next = b->next;
        if (keep_one && kept == NULL && b->size == block_bytes) {
            kept = b;
            continue;
        }
        block_free(b);
    }
    if (kept != NULL) {
        kept->next = NULL;
        kept->used = 0;
    }
    r->head = kept;
    r->bytes = kept != NULL ? kept->size : 0;
}

void td_jv_scope_begin(void)
{
    tl_depth++;
}

void td_jv_scope_end(void)
{
    assert(tl_depth > 0);
    if (tl_depth > 0 && --tl_depth == 0) {
        region_empty(&tl_scope, true);
    }
}

void td_jv_persist_begin(void)
{
    tl_persist++;
}

void td_jv_persist_end(void)
{
    assert(tl_persist > 0);
    if (tl_persist > 0) {
        tl_persist--;
    }
}

void td_jv_persist_free_thread(void)
{
    region_empty(&tl_lasting, false);
}

bool td_jv_in_scope(void)
{
    return tl_depth > 0;
}

size_t td_jv_region_bytes(void)
{
    return tl_scope.bytes;
}

static inline void *alloc(size_t n)
{
    // A value made outside a scope would live until some later scope ends: a caller's mistake.
    assert(tl_depth > 0);
    if (tl_depth == 0) {
        return NULL;
    }
    return region_alloc(tl_persist > 0 ? &tl_lasting : &tl_scope, n);
}

static struct td_jv *value(enum td_jv_type type)
{
    struct td_jv *v = alloc(sizeof(*v));
    if (v != NULL) {
        *v = (struct td_jv){.type = (uint8_t)type};
    }
    return v;
}

/* The constants are shared by every tree; nothing writes to a value once it is made except a container's
 * member list, and these are not containers. */
static struct td_jv jv_null = {.type = TD_JV_NULL}, jv_true = {.type = TD_JV_TRUE}, jv_false = {.type = TD_JV_FALSE};

struct td_jv *td_jv_null(void)
{
    return &jv_null;
}

struct td_jv *td_jv_true(void)
{
    return &jv_true;
}

struct td_jv *td_jv_bool(bool b)
{
    return b ? &jv_true : &jv_false;
}

struct td_jv *td_jv_object(void)
{
    return value(TD_JV_OBJECT);
}

struct td_jv *td_jv_array(void)
{
    return value(TD_JV_ARRAY);
}

struct td_jv *td_jv_integer(int64_t i)
{
    struct td_jv *v = value(TD_JV_INTEGER);
    if (v != NULL) {
        v->u.integer = i;
    }
    return v;
}

struct td_jv *td_jv_u64(uint64_t u)
{
    return td_jv_integer(u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u);
}

struct td_jv *td_jv_real(double d)
{
    if (!isfinite(d)) {
        return NULL; /* as json_real: JSON has no NaN or infinity */
    }
    struct td_jv *v = value(TD_JV_REAL);
    if (v != NULL) {
        v->u.real = d;
    }
    return v;
}

struct td_jv *td_jv_lit(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    size_t n = strlen(s);
    struct td_jv *v = n < UINT32_MAX ? value(TD_JV_STRING) : NULL;
    if (v != NULL) {
        v->u.string = s;
        v->len = (uint32_t)n;
    }
    return v;
}

struct td_jv *td_jv_strn(const char *s, size_t n)
{
    if (s == NULL || n >= UINT32_MAX) {
        return NULL;
    }
    // The value and its bytes in one piece.
    struct td_jv *v = alloc(sizeof(*v) + n + 1);
    if (v == NULL) {
        return NULL;
    }
    char *copy = (char *)(v + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    *v = (struct td_jv){.type = TD_JV_STRING, .len = (uint32_t)n, .u.string = copy};
    return v;
}

struct td_jv *td_jv_str(const char *s)
{
    if (s == NULL) {
        return &jv_null;
    }
    size_t n = strlen(s), dirty = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        dirty += ch < 0x20 || ch > 0x7e;
    }
    if (dirty == 0) {
        return td_jv_strn(s, n);
    }
    if (n >= (UINT32_MAX - 1) / 4) {
        return NULL;
    }
    struct td_jv *v = alloc(sizeof(*v) + n + 3 * dirty + 1);
    if (v == NULL) {
        return NULL;
    }
    static const char hex[] = "0123456789abcdef";
    char *o = (char *)(v + 1), *start = o;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch <= 0x7e) {
            *o++ = (char)ch;
            continue;
        }
        *o++ = '\\';
        *o++ = 'x';
        *o++ = hex[ch >> 4];
        *o++ = hex[ch & 15u];
    }
    *o = '\0';
    *v = (struct td_jv){.type = TD_JV_STRING, .len = (uint32_t)(o - start), .u.string = start};
    return v;
}

struct td_jv *td_jv_raw(const char *text, size_t len)
{
    if (text == NULL || len == 0 || len >= UINT32_MAX) {
        return NULL;
    }
    struct td_jv *v = value(TD_JV_RAW);
    if (v != NULL) {
        v->u.string = text;
        v->len = (uint32_t)len;
    }
    return v;
}

static bool add_member(struct td_jv *c, const char *key, size_t key_len, struct td_jv *value)
{
    struct td_jv_member *m = alloc(sizeof(*m));
    if (m == NULL) {
        return false;
    }
    *m = (struct td_jv_member){.key = key, .key_len = (uint32_t)key_len, .value = value};
    if (c->u.members.last != NULL) {
        c->u.members.last->next = m;
    } else {
        c->u.members.first = m;
    }
    c->u.members.last = m;
    c->len++;
    return true;
}

void td_jv_setn(struct td_json_ctx *ctx, struct td_jv *obj, const char *key, size_t key_len, struct td_jv *value)
{
    if (obj == NULL || value == NULL || key == NULL || obj->type != TD_JV_OBJECT || key_len >= UINT32_MAX) {
        ctx->failures++;
        return;
    }
#ifndef NDEBUG
    // jansson would replace a key set twice; the builders never do, and the writer relies on it.
    assert(td_jv_get(obj, key) == NULL && strlen(key) == key_len);
#endif
    if (!add_member(obj, key, key_len, value)) {
        ctx->failures++;
    }
}

void td_jv_append(struct td_json_ctx *ctx, struct td_jv *arr, struct td_jv *value)
{
    if (arr == NULL || value == NULL || arr->type != TD_JV_ARRAY || !add_member(arr, NULL, 0, value)) {
        ctx->failures++;
    }
}

const struct td_jv *td_jv_get(const struct td_jv *obj, const char *key)
{
    if (obj == NULL || obj->type != TD_JV_OBJECT) {
        return NULL;
    }
    for (const struct td_jv_member *m = obj->u.members.first; m != NULL; m = m->next) {
        if (strcmp(m->key, key) == 0) {
            return m->value;
        }
    }
    return NULL;
}

const struct td_jv *td_jv_at(const struct td_jv *arr, size_t i)
{
    if (arr == NULL || arr->type != TD_JV_ARRAY) {
        return NULL;
    }
    const struct td_jv_member *m = arr->u.members.first;
    for (; m != NULL && i > 0; i--) {
        m = m->next;
    }
    return m != NULL ? m->value : NULL;
}

size_t td_jv_size(const struct td_jv *c)
{
    return c != NULL && (c->type == TD_JV_OBJECT || c->type == TD_JV_ARRAY) ? c->len : 0;
}

const char *td_jv_string(const struct td_jv *v)
{
    return v != NULL && v->type == TD_JV_STRING ? v->u.string : NULL;
}

int64_t td_jv_integer_value(const struct td_jv *v)
{
    return v != NULL && v->type == TD_JV_INTEGER ? v->u.integer : 0;
}

bool td_jv_is(const struct td_jv *v, enum td_jv_type type)
{
    return v != NULL && v->type == (uint8_t)type;
}

static json_t *to_jansson(const struct td_jv *v, int depth)
{
    if (v == NULL || depth > MAX_DEPTH) {
        return NULL;
    }
    switch ((enum td_jv_type)v->type) {
    case TD_JV_NULL: return json_null();
    case TD_JV_TRUE: return json_true();
    case TD_JV_FALSE: return json_false();
    case TD_JV_INTEGER: return json_integer(v->u.integer);
    case TD_JV_REAL: return json_real(v->u.real);
    case TD_JV_STRING: return json_stringn_nocheck(v->u.string, v->len);
    case TD_JV_RAW: return json_loadb(v->u.string, v->len, JSON_DECODE_ANY, NULL);
    case TD_JV_OBJECT:
    case TD_JV_ARRAY: {
        bool object = v->type == TD_JV_OBJECT;
        json_t *c = object ? json_object() : json_array();
        for (const struct td_jv_member *m = v->u.members.first; c != NULL && m != NULL; m = m->next) {
            json_t *child = to_jansson(m->value, depth + 1);
            int rc = object ? json_object_set_new_nocheck(c, m->key, child) : json_array_append_new(c, child);
            if (rc != 0) {
                json_decref(c);
                c = NULL;
            }
        }
        return c;
    }
    }
    return NULL;
}

json_t *td_jv_to_jansson(const struct td_jv *v)
{
    return to_jansson(v, 0);
}
