/* SPDX-License-Identifier: MIT */
/* json_tree.h: the small JSON value tree a connection's report object is built in (json.c), private to reports/.
 * Why not jansson: a connection is ~600 values built, dumped once and thrown away, millions of times on a big
 * capture. jansson hashes and copies every key into a per-object table, counts references and frees value by
 * value; that was two fifths of a report run's instructions. Here an object is a list of members in insertion
 * order whose keys are the builders' string literals (never copied), every value comes from a per-thread region
 * that is reset in one step when the connection is done, and null/true/false are shared constants. jansson still
 * builds the head and tail of the report and the smaller parts (findings, servers, events); td_jv_to_jansson
 * bridges.
 * Values are written by td_jv_write_compact (json_write.c), byte for byte as jansson would write the same tree. */
#ifndef TD_REPORTS_JSON_TREE_H
#define TD_REPORTS_JSON_TREE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct td_json_ctx;

enum td_jv_type { TD_JV_NULL, TD_JV_TRUE, TD_JV_FALSE, TD_JV_INTEGER, TD_JV_REAL, TD_JV_STRING, TD_JV_OBJECT,
                  TD_JV_ARRAY, TD_JV_RAW };

struct td_jv_member;

/* One value. Strings are NUL-terminated copies (or literals, td_jv_lit) of printable ASCII, which needs no
 * check as UTF-8. Containers keep their members in order; an object's keys are literals of our own names. */
struct td_jv {
    uint8_t type;          /* enum td_jv_type */
    uint32_t len;          /* a string's bytes, a container's members */
    union {
        int64_t integer;
        double real;
        const char *string;
        struct {
            struct td_jv_member *first, *last;
        } members;
    } u;
};

struct td_jv_member {
    struct td_jv_member *next;
    const char *key;       /* NULL in an array */
    uint32_t key_len;
    struct td_jv *value;
};

/* --- scopes: where values live ---
 * td_jv_scope_begin starts a scope on this thread: values made until the matching end come from the thread's
 * region; td_jv_scope_end ends it and, at the outermost end, frees every value made in it at once. Scopes nest.
 * Making a value outside a scope fails (NULL), and a debug build stops. */
void td_jv_scope_begin(void);
void td_jv_scope_end(void);
/* td_jv_persist_begin/end: values made in between (inside a scope) come from this thread's lasting region
 * instead (json.c's shared {code,name} objects). td_jv_persist_free_thread frees that region: only its user
 * knows when nothing points into it any more (json.c's table, which frees it with itself). */
void td_jv_persist_begin(void);
void td_jv_persist_end(void);
void td_jv_persist_free_thread(void);
/* td_jv_free_thread frees this thread's scope region (at a thread's exit this happens by itself). */
void td_jv_free_thread(void);
/* td_jv_in_scope: this thread is inside a scope (a tree may still point at remembered text). */
bool td_jv_in_scope(void);
/* td_jv_region_bytes: bytes this thread's scope region holds now (tests). */
size_t td_jv_region_bytes(void);
/* td_jv_set_alloc_funcs replaces malloc/free for the regions' blocks (tests inject failures, as jansson's
 * json_set_alloc_funcs); NULL restores them. td_jv_set_block_bytes sets the usual block size (tests make it
 * small so that a tree needs many blocks; 0 restores 64 KiB). Not thread-safe: call them while no thread holds
 * values. */
void td_jv_set_alloc_funcs(void *(*malloc_fn)(size_t), void (*free_fn)(void *));
void td_jv_set_block_bytes(size_t n);

/* --- constructors: NULL when out of memory or outside a scope --- */
struct td_jv *td_jv_object(void);
struct td_jv *td_jv_array(void);
struct td_jv *td_jv_null(void);
struct td_jv *td_jv_bool(bool b);
struct td_jv *td_jv_true(void);
struct td_jv *td_jv_integer(int64_t v);
/* td_jv_u64 clamps values above INT64_MAX (never expected) to it, as the report's integers are signed. */
struct td_jv *td_jv_u64(uint64_t v);
/* td_jv_real: NULL for NaN and infinities, as json_real (JSON has none). */
struct td_jv *td_jv_real(double v);
/* td_jv_lit: a string value of a literal or a static table's name, not copied (it must stay valid while the
 * value lives); printable ASCII. */
struct td_jv *td_jv_lit(const char *s);
/* td_jv_strn copies n bytes of printable ASCII (the caller's guarantee: codes, digests, times). */
struct td_jv *td_jv_strn(const char *s, size_t n);
/* td_jv_str copies s, or is JSON null for NULL. Bytes that are not printable ASCII (wire strings arrive escaped,
 * this is the backstop) become \xNN, as dissect/escape.c writes them. */
struct td_jv *td_jv_str(const char *s);

/* td_jv_raw: a value already written as compact JSON text (len bytes of one whole value, as td_jv_write_compact
 * writes it), not copied: it must stay valid while the value lives. Opaque to the readers below. */
struct td_jv *td_jv_raw(const char *text, size_t len);

/* td_jv_set appends key: value to obj, key being a literal or static name. A NULL obj or value counts a failure
 * in ctx. Keys are distinct (a debug build checks). */
void td_jv_setn(struct td_json_ctx *ctx, struct td_jv *obj, const char *key, size_t key_len, struct td_jv *value);
/* The key's length is folded at compile time for a literal (most calls); key is evaluated twice and must not be
 * NULL. */
#define td_jv_set(ctx, obj, key, value) td_jv_setn((ctx), (obj), (key), __builtin_strlen(key), (value))
/* td_jv_append appends value to arr; failures are counted in ctx. */
void td_jv_append(struct td_json_ctx *ctx, struct td_jv *arr, struct td_jv *value);

/* --- reading (summary.c): NULL / 0 / false for a missing member or a value of another type --- */
const struct td_jv *td_jv_get(const struct td_jv *obj, const char *key);
const struct td_jv *td_jv_at(const struct td_jv *arr, size_t i);
size_t td_jv_size(const struct td_jv *container);
const char *td_jv_string(const struct td_jv *v);
int64_t td_jv_integer_value(const struct td_jv *v);
bool td_jv_is(const struct td_jv *v, enum td_jv_type type);

/* td_jv_to_jansson copies a tree into jansson values (a new reference; NULL when out of memory). */
json_t *td_jv_to_jansson(const struct td_jv *v);

#endif
