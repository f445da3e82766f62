/* SPDX-License-Identifier: MIT */
/* json.c: one connection's facts (dissect/facts.h) as a json_tree.h value, and the input, totals and limits as
 * jansson objects, in the key order of docs/report.schema.json. Code values are "0x%04x" strings with their IANA
 * names (Wireshark's tls.handshake.* fields show the same values); times are RFC 3339 UTC with nanoseconds.
 * Specs: RFC 3339 §5.6 (timestamps), RFC 8446 / RFC 5246 (field meanings), RFC 8701 (GREASE). */
#include "internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../capture/decode.h"
#include "../capture/reader.h"
#include "../dissect/fingerprint.h"
#include "../dissect/names.h"
#include "../dissect/tds.h"

#define NAME_BUF_LEN 64

/* --- checked builders --- */

void td_json_set(struct td_json_ctx *ctx, json_t *obj, const char *key, json_t *value)
{
    // json_object_set_new_nocheck decrefs value and returns -1 on a NULL object or value. It skips the UTF-8
    // check of the key: every key is one of our ASCII names, never wire data.
    if (value == NULL || json_object_set_new_nocheck(obj, key, value) != 0) {
        ctx->failures++;
    }
}

void td_json_append(struct td_json_ctx *ctx, json_t *arr, json_t *value)
{
    if (value == NULL || json_array_append_new(arr, value) != 0) {
        ctx->failures++;
    }
}

json_t *td_json_u64(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *td_json_str(const char *s)
{
    if (s == NULL) {
        return json_null();
    }
    size_t n = strlen(s);
    bool clean = true;
    for (size_t i = 0; i < n && clean; i++) {
        unsigned char ch = (unsigned char)s[i];
        clean = ch >= 0x20 && ch <= 0x7e;
    }
    if (clean) {
        return json_stringn_nocheck(s, n); /* printable ASCII is valid UTF-8 */
    }
    /* The dissector escapes wire strings already; this backstop keeps a stray byte from making
     * json_string fail (it requires UTF-8) or from reaching a terminal. Same \xNN form as dissect/escape.c. */
    char *buf = malloc(n * 4 + 1);
    if (buf == NULL) {
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch <= 0x7e) {
            buf[o++] = (char)ch;
            continue;
        }
        (void)snprintf(buf + o, 5, "\\x%02x", ch);
        o += 4;
    }
    json_t *j = json_stringn_nocheck(buf, o);
    free(buf);
    return j;
}

const char *td_json_time(int64_t ts_ns, char *buf, size_t buf_len)
{
    // Floor division so that times before 1970 still get a nanosecond part in 0..999999999.
    int64_t sec = ts_ns / 1000000000;
    int64_t nsec = ts_ns % 1000000000;
    if (nsec < 0) {
        nsec += 1000000000;
        sec -= 1;
    }
    /* Timestamps of one connection mostly share their second: gmtime_r and the date's formatting are done
     * once per second per thread, the nanoseconds by hand (a report formats millions of times). */
    static _Thread_local int64_t cached_sec = INT64_MIN;
    static _Thread_local char cached_prefix[24]; /* "YYYY-MM-DDTHH:MM:SS" */
    if (sec != cached_sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
            return NULL;
        }
        int n = snprintf(cached_prefix, sizeof(cached_prefix), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (n != 19) {
            return NULL;
        }
        cached_sec = sec;
    }
    if (buf_len < 31) { /* 19 + '.' + 9 digits + 'Z' + NUL */
        return NULL;
    }
    memcpy(buf, cached_prefix, 19);
    buf[19] = '.';
    for (int i = 28; i >= 20; i--) {
        buf[i] = (char)('0' + nsec % 10);
        nsec /= 10;
    }
    buf[29] = 'Z';
    buf[30] = '\0';
    return buf;
}

/* Certificate validity times are whole seconds: "2013-11-03T07:45:43Z". */
static struct td_jv *time_sec(int64_t sec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    char buf[32];
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        return td_jv_null();
    }
    int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return n > 0 && (size_t)n < sizeof(buf) ? td_jv_strn(buf, (size_t)n) : td_jv_null();
}

static struct td_jv *time_ns(int64_t ts_ns)
{
    char buf[48];
    const char *s = td_json_time(ts_ns, buf, sizeof(buf));
    return s != NULL ? td_jv_strn(s, 30) : td_jv_null();
}

static struct td_jv *boolean(bool b)
{
    return td_jv_bool(b);
}

static const char hex_digits[] = "0123456789abcdef";

static struct td_jv *code16(uint16_t v)
{
    char buf[6] = {'0', 'x', hex_digits[v >> 12], hex_digits[(v >> 8) & 15u], hex_digits[(v >> 4) & 15u],
                   hex_digits[v & 15u]};
    return td_jv_strn(buf, sizeof(buf));
}

static struct td_jv *code8(unsigned v)
{
    char buf[4] = {'0', 'x', hex_digits[(v >> 4) & 15u], hex_digits[v & 15u]};
    return td_jv_strn(buf, sizeof(buf));
}

static const char *role_name(uint8_t role)
{
    return role == TD_ROLE_CLIENT ? "client" : "server";
}

/* The display name of a 16-bit code: the table's name; GREASE values (RFC 8701) as "GREASE" since the
 * tables do not list them; anything else as "unknown(0x1a1a)". */
static const char *name16(const char *name, uint16_t v, char *buf, size_t buf_len)
{
    if (name == NULL && td_is_grease(v)) {
        return "GREASE";
    }
    return td_name_fmt(name, v, buf, buf_len);
}

/* {"code": "0x0303", "name": "..."} */
static struct td_jv *named(struct td_json_ctx *ctx, uint16_t v, const char *name)
{
    char buf[NAME_BUF_LEN];
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "code", code16(v));
    td_jv_set(ctx, o, "name", td_jv_str(name16(name, v, buf, sizeof(buf))));
    return o;
}

static struct td_jv *version_obj(struct td_json_ctx *ctx, uint16_t v)
{
    char buf[NAME_BUF_LEN];
    return named(ctx, v, td_name_version(v, buf, sizeof(buf)));
}

typedef const char *(*name16_fn)(uint16_t);

/* ---- shared {code,name} values and remembered lists ----
 * Every ClientHello lists 20-60 codes, and a capture's hellos name the same few hundred over and over, mostly
 * in the same few lists (one per client stack). Per thread, remembered_list keeps the text of each list it has
 * written (cipher suites, extensions, groups, signature algorithms, versions, point formats, certificate types:
 * keyed on how it is written, the registry and the codes, compared whole) and gives later hellos with the same
 * list that text as a raw value; a list not remembered is made of one {code,name} object per (registry, code),
 * made once in the thread's lasting region (json_tree.h) so that it outlives the connection's scope. Nothing
 * modifies them and they never leave the thread: the trees holding them are dumped within the scope, on the
 * thread that made them. Both tables are bounded; past them, lists and objects are made per use, and a full
 * list table is emptied between connections (td_json_lists_refresh). */
#define SHARED_SLOTS 4096u                  /* power of two */
#define SHARED_MAX (SHARED_SLOTS / 4u * 3u) /* entries kept, so that probes stay short */
#define LIST_SLOTS 1024u                    /* power of two */
#define LIST_MAX (LIST_SLOTS / 4u * 3u)
#define LIST_MAX_BYTES ((size_t)4 << 20)    /* of remembered text and codes per thread */

struct shared_named {
    name16_fn fn;                           /* the registry; NULL: free slot */
    uint16_t code;
    struct td_jv *obj;
};

typedef struct td_jv *(*list_builder)(struct td_json_ctx *ctx, const struct td_u16_list *l, name16_fn fn);

struct list_memo {
    list_builder build;                     /* how the list is written; NULL: free slot */
    name16_fn fn;                           /* the registry (NULL for some builders) */
    uint64_t key;
    uint32_t num;                           /* codes */
    uint32_t len;                           /* of text */
    uint16_t *codes;
    char *text;                             /* the list's compact JSON */
};

struct shared_table {
    struct shared_named slot[SHARED_SLOTS];
    uint32_t count;
    struct list_memo list[LIST_SLOTS];
    uint32_t lists;
    size_t list_bytes;
    bool lists_full;                        /* a list found no room: forget them all when it is safe */
};

static _Thread_local struct shared_table *tl_shared;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static pthread_key_t shared_key; /* its destructor frees a finished thread's table */
static bool shared_key_ok;

static void lists_forget(struct shared_table *t)
{
    for (uint32_t i = 0; i < LIST_SLOTS; i++) {
        free(t->list[i].codes);
        free(t->list[i].text);
        t->list[i] = (struct list_memo){0};
    }
    t->lists = 0;
    t->list_bytes = 0;
    t->lists_full = false;
}

/* Runs on the thread whose table it is (td_json_shared_free_thread, or the key's destructor at its exit). */
static void shared_table_free(void *p)
{
    struct shared_table *t = p;
    if (t != NULL) {
        lists_forget(t);
    }
    free(t);
    if (t == tl_shared) {
        tl_shared = NULL;
    }
    td_jv_persist_free_thread(); /* the shared objects: nothing points at them now */
}

static void shared_key_make(void)
{
    shared_key_ok = pthread_key_create(&shared_key, shared_table_free) == 0;
}

void td_json_shared_free_thread(void)
{
    shared_table_free(tl_shared);
    tl_shared = NULL;
    if (shared_key_ok) {
        (void)pthread_setspecific(shared_key, NULL);
    }
}

/* thread_table: this thread's table, made on first use; NULL when it cannot be. */
static struct shared_table *thread_table(void)
{
    struct shared_table *t = tl_shared;
    if (t == NULL) {
        (void)pthread_once(&shared_once, shared_key_make);
        if (!shared_key_ok || (t = calloc(1, sizeof(*t))) == NULL) {
            return NULL;
        }
        tl_shared = t;
        (void)pthread_setspecific(shared_key, t);
    }
    return t;
}

/* shared_named returns the shared {code,name} object of (fn, v); NULL when there is none to share (no memory,
 * table full): the caller makes its own. */
static struct td_jv *shared_named(struct td_json_ctx *ctx, name16_fn fn, uint16_t v)
{
    struct shared_table *t = fn != NULL ? thread_table() : NULL;
    if (t == NULL) {
        return NULL;
    }
    uint32_t h = ((uint32_t)v * 2654435761u) ^ (uint32_t)((uintptr_t)fn >> 4);
    for (uint32_t i = h & (SHARED_SLOTS - 1u);; i = (i + 1u) & (SHARED_SLOTS - 1u)) {
        struct shared_named *s = &t->slot[i];
        if (s->fn == fn && s->code == v) {
            return s->obj;
        }
        if (s->fn != NULL) {
            continue;
        }
        if (t->count >= SHARED_MAX) {
            return NULL;
        }
        td_jv_persist_begin(); /* it outlives this scope */
        struct td_json_ctx own = {0};
        struct td_jv *o = named(&own, v, fn(v));
        td_jv_persist_end();
        if (o == NULL || own.failures != 0) {
            ctx->failures += own.failures; /* what was made stays in the lasting region: bounded, rare */
            return NULL;
        }
        *s = (struct shared_named){.fn = fn, .code = v, .obj = o};
        t->count++;
        return o;
    }
}

static struct td_jv *build_named_list(struct td_json_ctx *ctx, const struct td_u16_list *l, name16_fn fn)
{
    struct td_jv *a = td_jv_array();
    for (uint32_t i = 0; l->v != NULL && i < l->num; i++) {
        struct td_jv *o = shared_named(ctx, fn, l->v[i]);
        td_jv_append(ctx, a, o != NULL ? o : named(ctx, l->v[i], fn != NULL ? fn(l->v[i]) : NULL));
    }
    return a;
}

static uint64_t list_key(list_builder build, name16_fn fn, const struct td_u16_list *l)
{
    uint64_t h = ((uint64_t)(uintptr_t)fn * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(uintptr_t)build >> 3) ^ l->num;
    for (uint32_t i = 0; i < l->num; i++) {
        h = (h ^ l->v[i]) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    return h;
}

/* remember stores a copy of the list and the text of its array a in slot m; false when it cannot. */
static bool remember(struct shared_table *t, struct list_memo *m, list_builder build, name16_fn fn, uint64_t key,
                     const struct td_u16_list *l, const struct td_jv *a)
{
    struct td_text text = {0};
    size_t codes_bytes = (size_t)l->num * sizeof(uint16_t);
    uint16_t *codes = malloc(codes_bytes != 0 ? codes_bytes : 1);
    if (codes == NULL || !td_jv_write_compact(&text, a) || text.len >= UINT32_MAX ||
        t->list_bytes + text.len + codes_bytes > LIST_MAX_BYTES) {
        t->lists_full = codes != NULL && text.len < UINT32_MAX; /* out of room, not of memory */
        free(codes);
        free(text.data);
        return false;
    }
    // Kept at its size: the writer's buffer starts at 16 KiB.
    char *exact = realloc(text.data, text.len);
    if (exact != NULL) {
        text.data = exact;
    }
    if (codes_bytes != 0) {
        memcpy(codes, l->v, codes_bytes);
    }
    *m = (struct list_memo){.build = build, .fn = fn, .key = key, .num = l->num, .len = (uint32_t)text.len,
                            .codes = codes, .text = text.data};
    t->lists++;
    t->list_bytes += text.len + codes_bytes;
    return true;
}

/* remembered_list: the array build makes of l and fn, as a remembered text when the same list was written
 * before on this thread. */
static struct td_jv *remembered_list(struct td_json_ctx *ctx, const struct td_u16_list *l, name16_fn fn,
                                     list_builder build)
{
    struct shared_table *t = l->v != NULL ? thread_table() : NULL;
    if (t == NULL) {
        return build(ctx, l, fn);
    }
    uint64_t key = list_key(build, fn, l);
    uint32_t i = (uint32_t)key & (LIST_SLOTS - 1u);
    struct list_memo *m = &t->list[i];
    while (m->build != NULL) { /* ends: at most LIST_MAX of the slots are used */
        if (m->build == build && m->fn == fn && m->key == key && m->num == l->num &&
            memcmp(m->codes, l->v, (size_t)l->num * sizeof(uint16_t)) == 0) {
            return td_jv_raw(m->text, m->len);
        }
        i = (i + 1u) & (LIST_SLOTS - 1u);
        m = &t->list[i];
    }
    struct td_json_ctx own = {0};
    struct td_jv *a = build(&own, l, fn);
    ctx->failures += own.failures;
    if (own.failures == 0 && t->lists >= LIST_MAX) {
        t->lists_full = true;
    } else if (own.failures == 0 && remember(t, m, build, fn, key, l, a)) {
        return td_jv_raw(m->text, m->len);
    }
    return a;
}

/* named_list: [{"code": ..., "name": ...}, ...] of the codes of l, named by fn. */
static struct td_jv *named_list(struct td_json_ctx *ctx, const struct td_u16_list *l, name16_fn fn)
{
    return remembered_list(ctx, l, fn, build_named_list);
}

void td_json_lists_refresh(void)
{
    // Some stacks make every hello's list different (Chrome shuffles its extensions): once the table is full of
    // those, it is emptied, so that the lists that do repeat are remembered again. Only outside a scope: trees
    // point at the remembered text.
    struct shared_table *t = tl_shared;
    if (t != NULL && t->lists_full && !td_jv_in_scope()) {
        lists_forget(t);
    }
}

static const char *cipher_name(uint16_t code)
{
    const struct td_cipher_suite *cs = td_cipher_suite_find(code);
    return cs != NULL ? cs->name : NULL;
}

static struct td_jv *build_version_list(struct td_json_ctx *ctx, const struct td_u16_list *l, name16_fn unused)
{
    (void)unused;
    struct td_jv *a = td_jv_array();
    for (uint32_t i = 0; l->v != NULL && i < l->num; i++) {
        td_jv_append(ctx, a, version_obj(ctx, l->v[i]));
    }
    return a;
}

static struct td_jv *version_list(struct td_json_ctx *ctx, const struct td_u16_list *l)
{
    return remembered_list(ctx, l, NULL, build_version_list);
}

/* EC point formats (RFC 8422 §5.1.2) and client certificate types (RFC 5246 §7.4.4, RFC 8422 §5.5):
 * two small registries the shared name tables do not carry. */
static const char *ec_point_format_name(uint16_t v)
{
    static const char *const names[] = {"uncompressed", "ansiX962_compressed_prime",
                                        "ansiX962_compressed_char2"};
    return v < sizeof(names) / sizeof(names[0]) ? names[v] : NULL;
}

static const char *cert_type_name(uint16_t v)
{
    switch (v) {
    case 1: return "rsa_sign";
    case 2: return "dss_sign";
    case 3: return "rsa_fixed_dh";
    case 4: return "dss_fixed_dh";
    case 5: return "rsa_ephemeral_dh_RESERVED";
    case 6: return "dss_ephemeral_dh_RESERVED";
    case 20: return "fortezza_dms_RESERVED";
    case 64: return "ecdsa_sign";
    case 65: return "rsa_fixed_ecdh";
    case 66: return "ecdsa_fixed_ecdh";
    case 67: return "gost_sign256";
    case 68: return "gost_sign512";
    default: return NULL;
    }
}

/* u8 registries: {"code": "0x01", "name": ...} */
static struct td_jv *build_named8_list(struct td_json_ctx *ctx, const struct td_u16_list *l, name16_fn fn)
{
    struct td_jv *a = td_jv_array();
    for (uint32_t i = 0; l->v != NULL && i < l->num; i++) {
        char buf[NAME_BUF_LEN];
        const char *name = fn(l->v[i]);
        if (name == NULL) {
            (void)snprintf(buf, sizeof(buf), "unknown(0x%02x)", l->v[i] & 0xffu);
            name = buf;
        }
        struct td_jv *o = td_jv_object();
        td_jv_set(ctx, o, "code", code8(l->v[i]));
        td_jv_set(ctx, o, "name", td_jv_str(name));
        td_jv_append(ctx, a, o);
    }
    return a;
}

static struct td_jv *named8_list(struct td_json_ctx *ctx, const struct td_u16_list *l, name16_fn fn)
{
    return remembered_list(ctx, l, fn, build_named8_list);
}

static struct td_jv *str_list(struct td_json_ctx *ctx, char *const *v, uint32_t num)
{
    struct td_jv *a = td_jv_array();
    for (uint32_t i = 0; v != NULL && i < num; i++) {
        td_jv_append(ctx, a, td_jv_str(v[i]));
    }
    return a;
}

/* Adds "frame" and "time" of an evidence to an object (null when the fact has no frame). */
static void set_ev(struct td_json_ctx *ctx, struct td_jv *o, const struct td_evidence *ev)
{
    td_jv_set(ctx, o, "frame", ev->frame != 0 ? td_jv_u64(ev->frame) : td_jv_null());
    td_jv_set(ctx, o, "time", ev->frame != 0 ? time_ns(ev->ts_ns) : td_jv_null());
}

/* {"frame": n, "time": t}, or null when the fact was not seen. */
static struct td_jv *ev_obj(struct td_json_ctx *ctx, const struct td_evidence *ev)
{
    if (ev->frame == 0) {
        return td_jv_null();
    }
    struct td_jv *o = td_jv_object();
    set_ev(ctx, o, ev);
    return o;
}

/* {"client": ..., "server": ...} from TLS-role-indexed evidence. */
static struct td_jv *ev_pair(struct td_json_ctx *ctx, const struct td_evidence ev[2])
{
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "client", ev_obj(ctx, &ev[TD_ROLE_CLIENT]));
    td_jv_set(ctx, o, "server", ev_obj(ctx, &ev[TD_ROLE_SERVER]));
    return o;
}

static struct td_jv *u64_pair(struct td_json_ctx *ctx, uint64_t client, uint64_t server)
{
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "client", td_jv_u64(client));
    td_jv_set(ctx, o, "server", td_jv_u64(server));
    return o;
}

static struct td_jv *frame_or_null(uint64_t frame)
{
    return frame != 0 ? td_jv_u64(frame) : td_jv_null();
}

/* Handshake type as our snake_case id ("client_hello"); unknown types as "unknown(0x00fe)". */
static struct td_jv *hs_name(int32_t type)
{
    if (type < 0) {
        return td_jv_null();
    }
    char buf[NAME_BUF_LEN];
    return td_jv_str(td_name_fmt(td_name_handshake(type), (unsigned)type, buf, sizeof(buf)));
}

static struct td_jv *anomaly_name(enum td_anomaly a)
{
    return a == TD_ANOM_NONE ? td_jv_null() : td_jv_lit(td_anomaly_name(a));
}

/* --- connection parts --- */

static struct td_jv *endpoint(struct td_json_ctx *ctx, const struct td_addr *a, uint16_t port)
{
    char buf[64];
    td_addr_format(a, buf, sizeof(buf));
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "ip", td_jv_str(buf));
    td_jv_set(ctx, o, "port", td_jv_integer(port));
    return o;
}

static const char *const encap_names[] = {
    [TD_ENCAP_VLAN] = "vlan",     [TD_ENCAP_MPLS] = "mpls",   [TD_ENCAP_PPPOE] = "pppoe",
    [TD_ENCAP_IP] = "ip",         [TD_ENCAP_GRE] = "gre",     [TD_ENCAP_ERSPAN] = "erspan",
    [TD_ENCAP_VXLAN] = "vxlan",   [TD_ENCAP_GENEVE] = "geneve", [TD_ENCAP_GTPU] = "gtpu",
};

/* encapsulation_arr: the flow's outer path, outermost first: [{"type":"vlan","id":100}, {"type":"ip","src":
 * "192.0.2.1","dst":"192.0.2.2"}, {"type":"erspan","id":1,"version":2}, ...]; [] for a plain flow. */
static struct td_jv *encapsulation_arr(struct td_json_ctx *ctx, const struct td_encap_path *path)
{
    struct td_jv *a = td_jv_array();
    for (unsigned i = 0; i < path->num && i < TD_MAX_ENCAP_LAYERS; i++) {
        const struct td_encap_layer *l = &path->layers[i];
        const char *name = l->kind < sizeof(encap_names) / sizeof(encap_names[0]) ? encap_names[l->kind] : NULL;
        struct td_jv *o = td_jv_object();
        td_jv_set(ctx, o, "type", td_jv_lit(name != NULL ? name : "unknown"));
        if (l->kind == TD_ENCAP_IP) {
            char buf[64];
            td_addr_format(&l->src, buf, sizeof(buf));
            td_jv_set(ctx, o, "src", td_jv_str(buf));
            td_addr_format(&l->dst, buf, sizeof(buf));
            td_jv_set(ctx, o, "dst", td_jv_str(buf));
        } else {
            td_jv_set(ctx, o, "id", td_jv_u64(l->id));
        }
        if (l->kind == TD_ENCAP_ERSPAN) {
            td_jv_set(ctx, o, "version", td_jv_integer(l->version));
        }
        td_jv_append(ctx, a, o);
    }
    return a;
}

static const char *flow_end_name(enum td_flow_end e)
{
    switch (e) {
    case TD_FLOW_END_FIN: return "fin";
    case TD_FLOW_END_RST: return "rst";
    case TD_FLOW_END_IDLE: return "idle";
    case TD_FLOW_END_EVICTED: return "evicted";
    case TD_FLOW_END_CAPTURE_END: return "capture_end";
    case TD_FLOW_END_NONE: break;
    }
    return "open";
}

/* TLS role -> TCP direction of the flow table: they differ when the TLS client is the TCP server. */
static int tcp_dir(bool swapped, int role)
{
    return swapped ? 1 - role : role;
}

static struct td_jv *tcp_flag(struct td_json_ctx *ctx, uint64_t frame, const char *from)
{
    if (frame == 0) {
        return td_jv_null();
    }
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "frame", td_jv_u64(frame));
    td_jv_set(ctx, o, "from", td_jv_lit(from));
    return o;
}

/* plaintext_start_obj: the plaintext phase before TLS (STARTTLS and kin), null when TLS began at the first byte
 * or never followed. nDPI's name for the flow settles what the plaintext alone did not (dissect/tds.h). */
static struct td_jv *plaintext_start_obj(struct td_json_ctx *ctx, const struct td_flow_info *info,
                                   const struct td_tls_facts *f)
{
    struct td_plaintext_start ps = td_plaintext_start_resolve(&f->plaintext_start, td_flow_app_protocol(info));
    if (ps.protocol == TD_PLAINTEXT_NONE || ps.tls_ev.frame == 0) {
        return td_jv_null();
    }
    const char *source = td_plaintext_source_name((enum td_plaintext_source)ps.source);
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "protocol", td_jv_lit(td_plaintext_proto_name((enum td_plaintext_proto)ps.protocol)));
    td_jv_set(ctx, o, "recognised_from", source != NULL ? td_jv_lit(source) : td_jv_null());
    td_jv_set(ctx, o, "tls_frame", td_jv_u64(ps.tls_ev.frame));
    td_jv_set(ctx, o, "client_bytes", td_jv_u64(ps.skipped_len[0]));
    td_jv_set(ctx, o, "server_bytes", td_jv_u64(ps.skipped_len[1]));
    if (ps.protocol == TD_PLAINTEXT_TDS) {
        struct td_jv *t = td_jv_object();
        td_jv_set(ctx, t, "client_packets", td_jv_integer(ps.tds_packets[0]));
        td_jv_set(ctx, t, "server_packets", td_jv_integer(ps.tds_packets[1]));
        td_jv_set(ctx, t, "raw_from_frame",
                    ps.tds_raw_ev.frame != 0 ? td_jv_u64(ps.tds_raw_ev.frame) : td_jv_null());
        td_jv_set(ctx, t, "malformed_headers", td_jv_integer(ps.tds_malformed));
        td_jv_set(ctx, o, "tds", t);
    }
    return o;
}

static struct td_jv *tcp_obj(struct td_json_ctx *ctx, const struct td_flow_info *info, bool sw)
{
    int c = tcp_dir(sw, TD_ROLE_CLIENT), s = tcp_dir(sw, TD_ROLE_SERVER);
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "packets", u64_pair(ctx, info->packets[c], info->packets[s]));
    td_jv_set(ctx, o, "payload_bytes", u64_pair(ctx, info->payload_bytes[c], info->payload_bytes[s]));
    // SYN comes from the TCP client, which is the TLS server when roles are swapped.
    td_jv_set(ctx, o, "syn", tcp_flag(ctx, info->syn_frame, sw ? "server" : "client"));
    td_jv_set(ctx, o, "synack", tcp_flag(ctx, info->synack_frame, sw ? "client" : "server"));
    struct td_jv *fin = td_jv_object();
    td_jv_set(ctx, fin, "client", frame_or_null(info->fin_frame[c]));
    td_jv_set(ctx, fin, "server", frame_or_null(info->fin_frame[s]));
    td_jv_set(ctx, o, "fin", fin);
    struct td_jv *rst = td_jv_object();
    td_jv_set(ctx, rst, "client", frame_or_null(info->rst_frame[c]));
    td_jv_set(ctx, rst, "server", frame_or_null(info->rst_frame[s]));
    td_jv_set(ctx, o, "rst", rst);
    td_jv_set(ctx, o, "retransmissions", u64_pair(ctx, info->retransmissions[c], info->retransmissions[s]));
    td_jv_set(ctx, o, "out_of_order", u64_pair(ctx, info->out_of_order[c], info->out_of_order[s]));
    td_jv_set(ctx, o, "gaps", u64_pair(ctx, info->gaps[c], info->gaps[s]));
    td_jv_set(ctx, o, "gap_bytes", u64_pair(ctx, info->gap_bytes[c], info->gap_bytes[s]));
    td_jv_set(ctx, o, "reasm_cap_hits", u64_pair(ctx, info->reasm_cap_hits[c], info->reasm_cap_hits[s]));
    td_jv_set(ctx, o, "end", td_jv_lit(flow_end_name(info->end)));
    return o;
}

static struct td_jv *key_share(struct td_json_ctx *ctx, uint16_t group, uint16_t key_len)
{
    char buf[NAME_BUF_LEN];
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "group", code16(group));
    td_jv_set(ctx, o, "name", td_jv_str(name16(td_name_group(group), group, buf, sizeof(buf))));
    td_jv_set(ctx, o, "key_len", td_jv_integer(key_len));
    return o;
}

/* The members the human summary reads (summary.c) are made by these helpers, shared by td_json_connection and
 * td_json_connection_summary, so that the two cannot disagree. */
static struct td_jv *sni_value(const struct td_client_hello *ch)
{
    return td_jv_str(ch->sni);
}

/* first_client_hello: the hello reported first in "client_hellos" (NULL when none). */
static const struct td_client_hello *first_client_hello(const struct td_tls_facts *f)
{
    for (uint32_t i = 0; i < f->num_client_hellos && i < TD_MAX_HELLOS; i++) {
        if (f->client_hellos[i] != NULL) {
            return f->client_hellos[i];
        }
    }
    return NULL;
}

static struct td_jv *client_hello(struct td_json_ctx *ctx, const struct td_client_hello *ch)
{
    struct td_jv *o = td_jv_object();
    set_ev(ctx, o, &ch->ev);
    td_jv_set(ctx, o, "record_version", version_obj(ctx, ch->record_version));
    td_jv_set(ctx, o, "version", version_obj(ctx, ch->legacy_version));
    td_jv_set(ctx, o, "sslv2_format", boolean(ch->sslv2_format));
    td_jv_set(ctx, o, "session_id_len", td_jv_integer(ch->session_id_len));
    td_jv_set(ctx, o, "cipher_suites", named_list(ctx, &ch->ciphers, cipher_name));
    td_jv_set(ctx, o, "compression_methods_len", td_jv_integer(ch->compression_methods_len));
    td_jv_set(ctx, o, "extensions", named_list(ctx, &ch->extensions, td_name_extension));
    td_jv_set(ctx, o, "sni", sni_value(ch));
    td_jv_set(ctx, o, "alpn", str_list(ctx, ch->alpn, ch->num_alpn));
    td_jv_set(ctx, o, "supported_versions", version_list(ctx, &ch->supported_versions));
    td_jv_set(ctx, o, "supported_groups", named_list(ctx, &ch->groups, td_name_group));
    td_jv_set(ctx, o, "signature_algorithms", named_list(ctx, &ch->sig_algs, td_name_sig_alg));
    struct td_jv *ks = td_jv_array();
    for (uint32_t i = 0; ch->key_shares != NULL && i < ch->num_key_shares; i++) {
        td_jv_append(ctx, ks, key_share(ctx, ch->key_shares[i].group, ch->key_shares[i].key_len));
    }
    td_jv_set(ctx, o, "key_shares", ks);
    td_jv_set(ctx, o, "ec_point_formats", named8_list(ctx, &ch->ec_point_formats, ec_point_format_name));
    struct td_jv *f = td_jv_object();
    td_jv_set(ctx, f, "renegotiation_info", boolean(ch->has_renegotiation_info));
    td_jv_set(ctx, f, "scsv_renegotiation", boolean(ch->has_scsv_renegotiation));
    td_jv_set(ctx, f, "fallback_scsv", boolean(ch->has_fallback_scsv));
    td_jv_set(ctx, f, "post_handshake_auth", boolean(ch->has_post_handshake_auth));
    td_jv_set(ctx, f, "extended_master_secret", boolean(ch->has_extended_master_secret));
    td_jv_set(ctx, f, "session_ticket", boolean(ch->has_session_ticket));
    td_jv_set(ctx, f, "pre_shared_key", boolean(ch->has_pre_shared_key));
    td_jv_set(ctx, f, "early_data", boolean(ch->has_early_data));
    td_jv_set(ctx, o, "flags", f);
    // The fingerprints are fixed-size arrays; bound the read in case one was filled to the brim.
    struct td_fingerprints fp;
    td_fingerprint_client_hello(ch, &fp);
    td_jv_set(ctx, o, "ja3", fp.ja3[0] ? td_jv_str(fp.ja3) : td_jv_null());
    td_jv_set(ctx, o, "ja3_hash", fp.ja3_hash[0] ? td_jv_strn(fp.ja3_hash, strnlen(fp.ja3_hash, 32))
                                                     : td_jv_null());
    td_jv_set(ctx, o, "ja4", fp.ja4[0] ? td_jv_strn(fp.ja4, strnlen(fp.ja4, sizeof(fp.ja4) - 1))
                                           : td_jv_null());
    td_jv_set(ctx, o, "anomaly", anomaly_name(ch->anomaly));
    return o;
}

static struct td_jv *server_hello(struct td_json_ctx *ctx, const struct td_server_hello *sh)
{
    struct td_jv *o = td_jv_object();
    set_ev(ctx, o, &sh->ev);
    td_jv_set(ctx, o, "hello_retry_request", boolean(sh->is_hrr));
    td_jv_set(ctx, o, "record_version", version_obj(ctx, sh->record_version));
    td_jv_set(ctx, o, "version", version_obj(ctx, sh->legacy_version));
    td_jv_set(ctx, o, "selected_version",
                sh->selected_version != 0 ? version_obj(ctx, sh->selected_version) : td_jv_null());
    td_jv_set(ctx, o, "session_id_len", td_jv_integer(sh->session_id_len));
    td_jv_set(ctx, o, "cipher", named(ctx, sh->cipher, cipher_name(sh->cipher)));
    td_jv_set(ctx, o, "compression", td_jv_integer(sh->compression));
    td_jv_set(ctx, o, "extensions", named_list(ctx, &sh->extensions, td_name_extension));
    td_jv_set(ctx, o, "key_share",
                sh->key_share_group != 0 ? key_share(ctx, sh->key_share_group, sh->key_share_len) : td_jv_null());
    td_jv_set(ctx, o, "alpn", td_jv_str(sh->alpn));
    struct td_jv *f = td_jv_object();
    td_jv_set(ctx, f, "renegotiation_info", boolean(sh->has_renegotiation_info));
    td_jv_set(ctx, f, "extended_master_secret", boolean(sh->has_extended_master_secret));
    td_jv_set(ctx, f, "session_ticket", boolean(sh->has_session_ticket));
    td_jv_set(ctx, f, "pre_shared_key", boolean(sh->has_pre_shared_key));
    td_jv_set(ctx, o, "flags", f);
    td_jv_set(ctx, o, "anomaly", anomaly_name(sh->anomaly));
    return o;
}

static struct td_jv *cert_obj(struct td_json_ctx *ctx, const struct td_cert *c)
{
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "subject", td_jv_str(c->subject));
    td_jv_set(ctx, o, "issuer", td_jv_str(c->issuer));
    td_jv_set(ctx, o, "serial", td_jv_str(c->serial));
    td_jv_set(ctx, o, "not_before", c->parse_error ? td_jv_null() : time_sec(c->not_before));
    td_jv_set(ctx, o, "not_after", c->parse_error ? td_jv_null() : time_sec(c->not_after));
    td_jv_set(ctx, o, "sans", str_list(ctx, c->sans, c->num_sans));
    td_jv_set(ctx, o, "ekus", str_list(ctx, c->ekus, c->num_ekus));
    td_jv_set(ctx, o, "has_eku_extension", boolean(c->has_eku_ext));
    struct td_jv *key = td_jv_object();
    td_jv_set(ctx, key, "type",
                c->key_type[0] ? td_jv_strn(c->key_type, strnlen(c->key_type, sizeof(c->key_type) - 1))
                               : td_jv_null());
    td_jv_set(ctx, key, "bits", td_jv_integer(c->key_bits));
    td_jv_set(ctx, o, "key", key);
    td_jv_set(ctx, o, "signature_algorithm", td_jv_str(c->sig_alg));
    td_jv_set(ctx, o, "self_signed", boolean(c->self_signed));
    td_jv_set(ctx, o, "ca", boolean(c->is_ca));
    td_jv_set(ctx, o, "der_len", td_jv_integer(c->der_len));
    td_jv_set(ctx, o, "sha256", c->sha256[0] ? td_jv_strn(c->sha256, strnlen(c->sha256, 64)) : td_jv_null());
    td_jv_set(ctx, o, "parse_error", boolean(c->parse_error));
    return o;
}

static struct td_jv *chain_obj(struct td_json_ctx *ctx, const struct td_cert_chain *ch)
{
    if (ch == NULL) {
        return td_jv_null();
    }
    struct td_jv *o = td_jv_object();
    set_ev(ctx, o, &ch->ev);
    td_jv_set(ctx, o, "count_sent", td_jv_integer(ch->num_sent));
    td_jv_set(ctx, o, "total_len", td_jv_integer(ch->total_len));
    struct td_jv *a = td_jv_array();
    for (uint32_t i = 0; ch->certs != NULL && i < ch->num_certs; i++) {
        td_jv_append(ctx, a, cert_obj(ctx, &ch->certs[i]));
    }
    td_jv_set(ctx, o, "chain", a);
    return o;
}

static const char *kx_kind_name(enum td_kx_kind k)
{
    switch (k) {
    case TD_KX_RSA: return "rsa";
    case TD_KX_DHE: return "dhe";
    case TD_KX_ECDHE: return "ecdhe";
    case TD_KX_PSK: return "psk";
    case TD_KX_TLS13: return "tls13";
    case TD_KX_OTHER: return "other";
    case TD_KX_UNKNOWN: break;
    }
    return "unknown";
}

static struct td_jv *ske_obj(struct td_json_ctx *ctx, const struct td_kx_facts *kx)
{
    if (!kx->has_ske) {
        return td_jv_null();
    }
    struct td_jv *o = td_jv_object();
    set_ev(ctx, o, &kx->ske_ev);
    // The parser fills the fields of the negotiated kind; fall back on which fields are set.
    bool dh = kx->kind == TD_KX_DHE || (kx->kind != TD_KX_ECDHE && kx->dh_p_len != 0);
    bool ecdh = !dh && (kx->kind == TD_KX_ECDHE || kx->ec_curve_type != 0);
    if (dh) {
        struct td_jv *d = td_jv_object();
        td_jv_set(ctx, d, "p_len", td_jv_integer(kx->dh_p_len));
        td_jv_set(ctx, d, "g_len", td_jv_integer(kx->dh_g_len));
        td_jv_set(ctx, d, "ys_len", td_jv_integer(kx->dh_ys_len));
        td_jv_set(ctx, d, "p_first_byte", td_jv_integer(kx->dh_p_first));
        td_jv_set(ctx, d, "ys_first_byte", td_jv_integer(kx->dh_ys_first));
        td_jv_set(ctx, o, "dh", d);
    }
    if (ecdh) {
        char buf[NAME_BUF_LEN];
        struct td_jv *e = td_jv_object();
        td_jv_set(ctx, e, "curve_type", td_jv_integer(kx->ec_curve_type));
        td_jv_set(ctx, e, "group", code16(kx->ec_group));
        td_jv_set(ctx, e, "group_name",
                    td_jv_str(name16(td_name_group(kx->ec_group), kx->ec_group, buf, sizeof(buf))));
        td_jv_set(ctx, e, "point_len", td_jv_integer(kx->ec_server_point_len));
        td_jv_set(ctx, o, "ecdh", e);
    }
    td_jv_set(ctx, o, "signature_algorithm",
                kx->ske_sig_alg != 0 ? named(ctx, kx->ske_sig_alg, td_name_sig_alg(kx->ske_sig_alg))
                                     : td_jv_null());
    td_jv_set(ctx, o, "signature_len", td_jv_integer(kx->ske_sig_len));
    return o;
}

static struct td_jv *cke_obj(struct td_json_ctx *ctx, const struct td_kx_facts *kx)
{
    if (!kx->has_cke) {
        return td_jv_null();
    }
    struct td_jv *o = td_jv_object();
    set_ev(ctx, o, &kx->cke_ev);
    if (kx->has_dh_yc && (kx->kind == TD_KX_DHE || kx->kind == TD_KX_UNKNOWN || kx->kind == TD_KX_OTHER)) {
        struct td_jv *d = td_jv_object();
        td_jv_set(ctx, d, "yc_len", td_jv_integer(kx->dh_yc_len));
        td_jv_set(ctx, d, "yc_first_byte", td_jv_integer(kx->dh_yc_first));
        td_jv_set(ctx, o, "dh", d);
    } else if (kx->kind == TD_KX_ECDHE || (kx->kind != TD_KX_RSA && kx->ec_client_point_len != 0)) {
        struct td_jv *e = td_jv_object();
        td_jv_set(ctx, e, "point_len", td_jv_integer(kx->ec_client_point_len));
        td_jv_set(ctx, o, "ecdh", e);
    } else if (kx->kind == TD_KX_RSA || kx->rsa_epms_len != 0) {
        struct td_jv *r = td_jv_object();
        td_jv_set(ctx, r, "encrypted_premaster_len", td_jv_integer(kx->rsa_epms_len));
        td_jv_set(ctx, o, "rsa", r);
    }
    return o;
}

static struct td_jv *kx_obj(struct td_json_ctx *ctx, const struct td_kx_facts *kx)
{
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "kind", td_jv_lit(kx_kind_name(kx->kind)));
    td_jv_set(ctx, o, "server_key_exchange", ske_obj(ctx, kx));
    td_jv_set(ctx, o, "client_key_exchange", cke_obj(ctx, kx));
    return o;
}

static struct td_jv *cert_request_obj(struct td_json_ctx *ctx, const struct td_tls_facts *f)
{
    const struct td_cert_request *cr = f->cert_request;
    if (cr == NULL) {
        return td_jv_null();
    }
    struct td_jv *o = td_jv_object();
    set_ev(ctx, o, &cr->ev);
    td_jv_set(ctx, o, "tls13", boolean(cr->tls13));
    td_jv_set(ctx, o, "certificate_types", named8_list(ctx, &cr->cert_types, cert_type_name));
    td_jv_set(ctx, o, "signature_algorithms", named_list(ctx, &cr->sig_algs, td_name_sig_alg));
    struct td_jv *ca = td_jv_object();
    td_jv_set(ctx, ca, "list_len", td_jv_integer(cr->ca_list_len));
    td_jv_set(ctx, ca, "names", td_jv_integer(cr->num_ca_names));
    td_jv_set(ctx, ca, "well_formed", boolean(cr->ca_list_well_formed));
    td_jv_set(ctx, o, "certificate_authorities", ca);
    td_jv_set(ctx, o, "message_len", td_jv_integer(cr->msg_len));
    td_jv_set(ctx, o, "count", td_jv_integer(f->cert_requests_seen));
    return o;
}

static struct td_jv *alert_obj(struct td_json_ctx *ctx, const struct td_alert *a)
{
    char buf[NAME_BUF_LEN];
    struct td_jv *o = td_jv_object();
    set_ev(ctx, o, &a->ev);
    td_jv_set(ctx, o, "from", td_jv_lit(role_name(a->role)));
    td_jv_set(ctx, o, "encrypted", boolean(a->encrypted));
    td_jv_set(ctx, o, "inferred", boolean(a->inferred));
    if (a->encrypted) {
        td_jv_set(ctx, o, "level", td_jv_null());
        td_jv_set(ctx, o, "level_name", td_jv_null());
        td_jv_set(ctx, o, "description", td_jv_null());
        td_jv_set(ctx, o, "description_name", td_jv_null());
    } else {
        td_jv_set(ctx, o, "level", td_jv_integer(a->level));
        td_jv_set(ctx, o, "level_name",
                    td_jv_str(td_name_fmt(td_name_alert_level(a->level), a->level, buf, sizeof(buf))));
        td_jv_set(ctx, o, "description", td_jv_integer(a->description));
        td_jv_set(ctx, o, "description_name",
                    td_jv_str(td_name_fmt(td_name_alert(a->description), a->description, buf, sizeof(buf))));
    }
    td_jv_set(ctx, o, "after", hs_name(a->after_msg));
    return o;
}

static struct td_jv *records_obj(struct td_json_ctx *ctx, const struct td_tls_facts *f, int role)
{
    static const char *const keys[5] = {"change_cipher_spec", "alert", "handshake", "application_data",
                                        "heartbeat"};
    const struct td_record_counts *rc = &f->counts[role];
    struct td_jv *o = td_jv_object();
    for (size_t i = 0; i < 5; i++) {
        td_jv_set(ctx, o, keys[i], td_jv_u64(rc->records[i]));
    }
    td_jv_set(ctx, o, "other", td_jv_u64(rc->other_records));
    struct td_jv *b = td_jv_object();
    for (size_t i = 0; i < 5; i++) {
        td_jv_set(ctx, b, keys[i], td_jv_u64(rc->bytes[i]));
    }
    td_jv_set(ctx, o, "bytes", b);
    td_jv_set(ctx, o, "application_data_bytes", td_jv_u64(f->app_data_bytes[role]));
    return o;
}

static struct td_jv *handshake_obj(struct td_json_ctx *ctx, const struct td_tls_facts *f)
{
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "completed", ev_obj(ctx, &f->handshake_done));
    td_jv_set(ctx, o, "resumed", boolean(f->resumed));
    td_jv_set(ctx, o, "false_start", boolean(f->false_start));
    td_jv_set(ctx, o, "finished", ev_pair(ctx, f->finished));
    td_jv_set(ctx, o, "change_cipher_spec", ev_pair(ctx, f->ccs));
    td_jv_set(ctx, o, "encrypted_from", ev_pair(ctx, f->encrypted_from));
    td_jv_set(ctx, o, "first_application_data", ev_pair(ctx, f->first_app_data));
    td_jv_set(ctx, o, "last_message", hs_name(f->last_hs_msg));
    td_jv_set(ctx, o, "last_message_from", f->last_hs_msg >= 0 ? td_jv_lit(role_name(f->last_hs_role))
                                                                  : td_jv_null());
    return o;
}

static struct td_jv *post_handshake_obj(struct td_json_ctx *ctx, const struct td_tls_facts *f)
{
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "handshake_records", u64_pair(ctx, f->hs_records_after_done[0], f->hs_records_after_done[1]));
    td_jv_set(ctx, o, "first", ev_pair(ctx, f->first_hs_after_done));
    td_jv_set(ctx, o, "plaintext", u64_pair(ctx, f->plaintext_hs_after_done[0], f->plaintext_hs_after_done[1]));
    td_jv_set(ctx, o, "hello_requests", td_jv_integer(f->hello_requests));
    return o;
}

/* dtls_obj: what only DTLS has (RFC 6347 §4.2.1 cookie exchange, §4.2.4 retransmission; RFC 9147 §4 unified
 * header). Counters per TLS role. */
static struct td_jv *dtls_obj(struct td_json_ctx *ctx, const struct td_tls_facts *f)
{
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "hello_verify_requests", td_jv_integer(f->dtls_hello_verify_requests));
    td_jv_set(ctx, o, "hello_verify_request",
                f->dtls_hello_verify_request.frame != 0 ? ev_obj(ctx, &f->dtls_hello_verify_request) : td_jv_null());
    td_jv_set(ctx, o, "cookie_len", td_jv_integer(f->dtls_cookie_len));
    td_jv_set(ctx, o, "retransmitted", u64_pair(ctx, f->dtls_retransmitted[TD_ROLE_CLIENT],
                                                  f->dtls_retransmitted[TD_ROLE_SERVER]));
    td_jv_set(ctx, o, "unified_header_records", u64_pair(ctx, f->dtls_unified_records[TD_ROLE_CLIENT],
                                                           f->dtls_unified_records[TD_ROLE_SERVER]));
    return o;
}

/* set_negotiated: "version" and "cipher" of the tls object (full: with the suite's parts, which the summary
 * does not read). */
static void set_negotiated(struct td_json_ctx *ctx, struct td_jv *o, const struct td_tls_facts *f, bool full)
{
    td_jv_set(ctx, o, "version", f->version != 0 ? version_obj(ctx, f->version) : td_jv_null());
    if (f->cipher_known) {
        const struct td_cipher_suite *cs = td_cipher_suite_find(f->cipher);
        struct td_jv *c = named(ctx, f->cipher, cs != NULL ? cs->name : NULL);
        if (full) {
            td_jv_set(ctx, c, "kx", td_jv_str(cs != NULL ? cs->kx : NULL));
            td_jv_set(ctx, c, "auth", td_jv_str(cs != NULL ? cs->auth : NULL));
            td_jv_set(ctx, c, "cipher", td_jv_str(cs != NULL ? cs->cipher : NULL));
            td_jv_set(ctx, c, "mac", td_jv_str(cs != NULL ? cs->mac : NULL));
        }
        td_jv_set(ctx, o, "cipher", c);
    } else {
        td_jv_set(ctx, o, "cipher", td_jv_null());
    }
}

static struct td_jv *tls_obj(struct td_json_ctx *ctx, const struct td_tls_facts *f)
{
    struct td_jv *o = td_jv_object();
    set_negotiated(ctx, o, f, true);
    struct td_jv *chs = td_jv_array();
    for (uint32_t i = 0; i < f->num_client_hellos && i < TD_MAX_HELLOS; i++) {
        if (f->client_hellos[i] != NULL) {
            td_jv_append(ctx, chs, client_hello(ctx, f->client_hellos[i]));
        }
    }
    td_jv_set(ctx, o, "client_hellos", chs);
    td_jv_set(ctx, o, "client_hellos_seen", td_jv_integer(f->client_hellos_seen));
    struct td_jv *shs = td_jv_array();
    for (uint32_t i = 0; i < f->num_server_hellos && i < TD_MAX_HELLOS; i++) {
        if (f->server_hellos[i] != NULL) {
            td_jv_append(ctx, shs, server_hello(ctx, f->server_hellos[i]));
        }
    }
    td_jv_set(ctx, o, "server_hellos", shs);
    td_jv_set(ctx, o, "server_hellos_seen", td_jv_integer(f->server_hellos_seen));
    struct td_jv *certs = td_jv_object();
    td_jv_set(ctx, certs, "server", chain_obj(ctx, f->server_certs));
    td_jv_set(ctx, certs, "client", chain_obj(ctx, f->client_certs));
    td_jv_set(ctx, o, "certificates", certs);
    td_jv_set(ctx, o, "key_exchange", kx_obj(ctx, &f->kx));
    td_jv_set(ctx, o, "certificate_request", cert_request_obj(ctx, f));
    struct td_jv *alerts = td_jv_array();
    for (uint32_t i = 0; f->alerts != NULL && i < f->num_alerts; i++) {
        td_jv_append(ctx, alerts, alert_obj(ctx, &f->alerts[i]));
    }
    td_jv_set(ctx, o, "alerts", alerts);
    td_jv_set(ctx, o, "alerts_seen", td_jv_integer(f->alerts_seen));
    struct td_jv *rec = td_jv_object();
    td_jv_set(ctx, rec, "client", records_obj(ctx, f, TD_ROLE_CLIENT));
    td_jv_set(ctx, rec, "server", records_obj(ctx, f, TD_ROLE_SERVER));
    td_jv_set(ctx, o, "records", rec);
    td_jv_set(ctx, o, "handshake", handshake_obj(ctx, f));
    td_jv_set(ctx, o, "post_handshake", post_handshake_obj(ctx, f));
    td_jv_set(ctx, o, "dtls", f->dtls ? dtls_obj(ctx, f) : td_jv_null());
    return o;
}

static const char *event_name(const struct td_event *e)
{
    switch ((enum td_event_kind)e->kind) {
    case TD_EV_TCP_SYN: return "tcp_syn";
    case TD_EV_TCP_SYNACK: return "tcp_synack";
    case TD_EV_TCP_FIN: return "tcp_fin";
    case TD_EV_TCP_RST: return "tcp_rst";
    case TD_EV_HANDSHAKE: return NULL; // named after the message
    case TD_EV_CHANGE_CIPHER_SPEC: return "change_cipher_spec";
    case TD_EV_ALERT: return "alert";
    case TD_EV_APPLICATION_DATA: return "application_data";
    case TD_EV_HEARTBEAT: return "heartbeat";
    case TD_EV_GAP: return "gap";
    case TD_EV_ANOMALY: return "anomaly";
    }
    return "unknown";
}

static struct td_jv *event_obj(struct td_json_ctx *ctx, const struct td_tls_facts *f, const struct td_event *e)
{
    char buf[NAME_BUF_LEN];
    struct td_jv *o = td_jv_object();
    set_ev(ctx, o, &e->ev);
    td_jv_set(ctx, o, "from", td_jv_lit(role_name(e->role)));
    const char *name = event_name(e);
    if (e->kind == TD_EV_HANDSHAKE) {
        name = td_name_fmt(td_name_handshake(e->detail), (unsigned)e->detail, buf, sizeof(buf));
    }
    td_jv_set(ctx, o, "event", td_jv_str(name));
    switch ((enum td_event_kind)e->kind) {
    case TD_EV_HANDSHAKE:
        // Wireshark's tls.handshake.type for what was read in plaintext: a HelloRetryRequest is a ServerHello
        // and an SSLv2-format hello a ClientHello on the wire; a protected record's type is not on the wire.
        if (e->is_protected) {
            td_jv_set(ctx, o, "encrypted", td_jv_true());
        } else if (e->detail == TD_HS_HELLO_RETRY_REQUEST) {
            td_jv_set(ctx, o, "handshake_type", td_jv_integer(TD_HS_SERVER_HELLO));
        } else if (e->detail == TD_HS_SSLV2_CLIENT_HELLO) {
            td_jv_set(ctx, o, "handshake_type", td_jv_integer(TD_HS_CLIENT_HELLO));
        } else if (e->detail >= 0 && e->detail <= 255) {
            td_jv_set(ctx, o, "handshake_type", td_jv_integer(e->detail));
        }
        break;
    case TD_EV_ALERT:
        if (e->detail >= 0 && f->alerts != NULL && (uint32_t)e->detail < f->num_alerts) {
            const struct td_alert *a = &f->alerts[e->detail];
            td_jv_set(ctx, o, "level", a->encrypted ? td_jv_lit("encrypted")
                                                      : td_jv_str(td_name_fmt(td_name_alert_level(a->level),
                                                                                a->level, buf, sizeof(buf))));
            td_jv_set(ctx, o, "description",
                        a->encrypted ? td_jv_lit("encrypted")
                                     : td_jv_str(td_name_fmt(td_name_alert(a->description), a->description, buf,
                                                               sizeof(buf))));
        }
        break;
    case TD_EV_GAP:
        td_jv_set(ctx, o, "bytes", td_jv_integer(e->detail));
        break;
    case TD_EV_ANOMALY:
        td_jv_set(ctx, o, "name", td_jv_lit(td_anomaly_name((enum td_anomaly)e->detail)));
        break;
    default:
        break;
    }
    if (e->len != 0) {
        td_jv_set(ctx, o, "len", td_jv_integer(e->len));
    }
    return o;
}

/* --- the outcome sentence --- */

/* Which side normally sends a handshake message: "rejected the ClientHello" reads right only when the
 * alert came from the other side. -1: either side (Certificate, Finished, ...). */
static int natural_sender(int32_t type)
{
    switch (type) {
    case TD_HS_CLIENT_HELLO:
    case TD_HS_SSLV2_CLIENT_HELLO:
    case TD_HS_CLIENT_KEY_EXCHANGE:
    case TD_HS_END_OF_EARLY_DATA:
        return TD_ROLE_CLIENT;
    case TD_HS_HELLO_REQUEST:
    case TD_HS_SERVER_HELLO:
    case TD_HS_HELLO_RETRY_REQUEST:
    case TD_HS_SERVER_KEY_EXCHANGE:
    case TD_HS_CERTIFICATE_REQUEST:
    case TD_HS_SERVER_HELLO_DONE:
    case TD_HS_NEW_SESSION_TICKET:
    case TD_HS_ENCRYPTED_EXTENSIONS:
    case TD_HS_CERTIFICATE_STATUS:
        return TD_ROLE_SERVER;
    default:
        return -1;
    }
}

/* A hello is answered as a whole: "the server rejected the Client Hello" is exact for it. */
static bool is_hello(int32_t type)
{
    return type == TD_HS_CLIENT_HELLO || type == TD_HS_SSLV2_CLIENT_HELLO || type == TD_HS_SERVER_HELLO ||
           type == TD_HS_HELLO_RETRY_REQUEST;
}

/* "the Client Hello" (Wireshark's display name) or "handshake message 0x00fe". */
static const char *msg_phrase(int32_t type, char *buf, size_t buf_len)
{
    const char *d = type >= 0 ? td_name_handshake_display(type) : NULL;
    if (d != NULL) {
        (void)snprintf(buf, buf_len, "the %s", d);
    } else {
        (void)snprintf(buf, buf_len, "handshake message %d", (int)type);
    }
    return buf;
}

static const struct td_alert *find_outcome_alert(const struct td_tls_facts *f)
{
    for (uint32_t i = 0; f->alerts != NULL && i < f->num_alerts; i++) {
        if (f->alerts[i].ev.frame == f->outcome_ev.frame && f->alerts[i].role == f->outcome_role) {
            return &f->alerts[i];
        }
    }
    return NULL;
}

static void outcome_text(const struct td_flow_info *info, const struct td_tls_facts *f, char *out, size_t out_len)
{
    char msg[96], vbuf[NAME_BUF_LEN], abuf[NAME_BUF_LEN];
    const char *by = role_name(f->outcome_role);
    unsigned long long frame = (unsigned long long)f->outcome_ev.frame;
    int32_t after = f->outcome_after_msg;
    const char *ver = f->version != 0 ? td_name_fmt(td_name_version(f->version, vbuf, sizeof(vbuf)), f->version,
                                                    vbuf, sizeof(vbuf))
                                      : "TLS";
    switch (f->outcome) {
    case TD_OUTCOME_ESTABLISHED:
        (void)snprintf(out, out_len, "The %s handshake completed (frame %llu).", ver, frame);
        return;
    case TD_OUTCOME_RESUMED:
        (void)snprintf(out, out_len, "The abbreviated %s handshake resuming an earlier session completed (frame %llu).",
                       ver, frame);
        return;
    case TD_OUTCOME_FAILED_ALERT: {
        const struct td_alert *a = find_outcome_alert(f);
        if (f->outcome_alert < 0 || (a != NULL && a->encrypted)) {
            (void)snprintf(out, out_len,
                           "The %s sent an encrypted alert (frame %llu) after %s; its level and description are "
                           "not visible, and the handshake did not complete.",
                           by, frame, after >= 0 ? msg_phrase(after, msg, sizeof(msg)) : "the first messages");
            return;
        }
        const char *level = a != NULL ? td_name_alert_level(a->level) : NULL;
        const char *desc = td_name_fmt(td_name_alert(f->outcome_alert), (unsigned)f->outcome_alert, abuf,
                                       sizeof(abuf));
        // "a fatal x alert", "a warning x alert", or "an alert x" when the level is unknown.
        char what[128];
        if (level != NULL) {
            (void)snprintf(what, sizeof(what), "a %s %s alert", level, desc);
        } else {
            (void)snprintf(what, sizeof(what), "an alert %s", desc);
        }
        int peer = natural_sender(after);
        if (after >= 0 && peer >= 0 && peer != f->outcome_role && is_hello(after)) {
            (void)snprintf(out, out_len, "The %s rejected %s with %s (frame %llu).", by,
                           msg_phrase(after, msg, sizeof(msg)), what, frame);
        } else if (after >= 0 && peer >= 0 && peer != f->outcome_role) {
            // After a later message the alert answers the peer's whole flight (a certificate, say), not that
            // one message: say "in answer to the server's flight ending with the Server Hello Done".
            (void)snprintf(out, out_len, "The %s sent %s in answer to the %s's flight ending with %s (frame %llu).",
                           by, what, role_name((uint8_t)peer), msg_phrase(after, msg, sizeof(msg)), frame);
        } else if (after >= 0) {
            (void)snprintf(out, out_len, "The %s sent %s after %s (frame %llu); the handshake did not complete.",
                           by, what, msg_phrase(after, msg, sizeof(msg)), frame);
        } else {
            (void)snprintf(out, out_len, "The %s sent %s (frame %llu) before any handshake message.", by, what,
                           frame);
        }
        return;
    }
    case TD_OUTCOME_RESET:
    case TD_OUTCOME_CLOSED: {
        const char *act = f->outcome == TD_OUTCOME_RESET ? "reset the TCP connection (RST"
                                                         : "closed the TCP connection (FIN";
        if (after >= 0) {
            (void)snprintf(out, out_len, "The %s %s, frame %llu) after %s, before the handshake completed.", by,
                           act, frame, msg_phrase(after, msg, sizeof(msg)));
        } else {
            (void)snprintf(out, out_len, "The %s %s, frame %llu) before any handshake message.", by, act, frame);
        }
        return;
    }
    case TD_OUTCOME_INCOMPLETE: {
        const char *why = info->end == TD_FLOW_END_IDLE      ? "The connection went idle past the idle timeout"
                          : info->end == TD_FLOW_END_EVICTED ? "The flow was evicted from the flow table (max_flows)"
                                                             : "The capture ended";
        if (after >= 0) {
            (void)snprintf(out, out_len,
                           "%s before the handshake completed (last frame %llu); the last handshake message seen "
                           "was %s.",
                           why, frame, msg_phrase(after, msg, sizeof(msg)));
        } else {
            (void)snprintf(out, out_len, "%s before the handshake completed (last frame %llu).", why, frame);
        }
        return;
    }
    case TD_OUTCOME_NOT_TLS:
        break;
    }
    const char *app = td_flow_app_protocol(info);
    if (app[0] != '\0') {
        (void)snprintf(out, out_len, "No TLS records were seen on this connection (nDPI: %s).", app);
        return;
    }
    (void)snprintf(out, out_len, "No TLS records were seen on this connection.");
}

const char *td_outcome_name(enum td_outcome o)
{
    switch (o) {
    case TD_OUTCOME_ESTABLISHED: return "established";
    case TD_OUTCOME_RESUMED: return "resumed";
    case TD_OUTCOME_FAILED_ALERT: return "failed_alert";
    case TD_OUTCOME_RESET: return "reset";
    case TD_OUTCOME_CLOSED: return "closed";
    case TD_OUTCOME_INCOMPLETE: return "incomplete";
    case TD_OUTCOME_NOT_TLS: break;
    }
    return "not_tls";
}

struct td_jv *td_json_outcome(struct td_json_ctx *ctx, const struct td_flow_info *info, const struct td_tls_facts *f)
{
    char buf[NAME_BUF_LEN], text[512];
    struct td_jv *o = td_jv_object();
    td_jv_set(ctx, o, "result", td_jv_lit(td_outcome_name(f->outcome)));
    set_ev(ctx, o, &f->outcome_ev);
    bool has_by = f->outcome != TD_OUTCOME_NOT_TLS && f->outcome_ev.frame != 0;
    td_jv_set(ctx, o, "by", has_by ? td_jv_lit(role_name(f->outcome_role)) : td_jv_null());
    if (f->outcome == TD_OUTCOME_FAILED_ALERT) {
        const struct td_alert *a = find_outcome_alert(f);
        struct td_jv *al = td_jv_object();
        if (f->outcome_alert < 0 || (a != NULL && a->encrypted)) {
            td_jv_set(ctx, al, "description", td_jv_null());
            td_jv_set(ctx, al, "name", td_jv_lit("encrypted"));
        } else {
            td_jv_set(ctx, al, "description", td_jv_integer(f->outcome_alert));
            td_jv_set(ctx, al, "name", td_jv_str(td_name_fmt(td_name_alert(f->outcome_alert),
                                                                 (unsigned)f->outcome_alert, buf, sizeof(buf))));
        }
        td_jv_set(ctx, o, "alert", al);
    } else {
        td_jv_set(ctx, o, "alert", td_jv_null());
    }
    td_jv_set(ctx, o, "after", hs_name(f->outcome_after_msg));
    outcome_text(info, f, text, sizeof(text));
    td_jv_set(ctx, o, "text", td_jv_str(text));
    return o;
}

/* Duration in milliseconds with microsecond resolution (json_dumpf uses JSON_REAL_PRECISION(15)). */
static struct td_jv *duration_ms(int64_t first_ns, int64_t last_ns)
{
    int64_t d = last_ns > first_ns ? last_ns - first_ns : 0;
    return td_jv_real((double)(d / 1000) / 1000.0);
}

static const struct td_tls_facts no_facts = {.outcome = TD_OUTCOME_NOT_TLS, .last_hs_msg = -1,
                                              .outcome_alert = -1, .outcome_after_msg = -1};

/* set_endpoints: "client" and "server" in TLS roles (the flow's TCP server is the TLS client when roles are
 * swapped). */
static void set_endpoints(struct td_json_ctx *ctx, struct td_jv *o, const struct td_flow_info *info, bool sw)
{
    td_jv_set(ctx, o, "client", sw ? endpoint(ctx, &info->server, info->server_port)
                                     : endpoint(ctx, &info->client, info->client_port));
    td_jv_set(ctx, o, "server", sw ? endpoint(ctx, &info->client, info->client_port)
                                     : endpoint(ctx, &info->server, info->server_port));
}

static struct td_jv *transport_name(const struct td_flow_info *info)
{
    return td_jv_lit(info->transport == TD_TRANSPORT_UDP ? "udp" : "tcp");
}

struct td_jv *td_json_connection_summary(struct td_json_ctx *ctx, const struct td_flow_info *info,
                                   const struct td_tls_facts *facts)
{
    const struct td_tls_facts *f = facts != NULL ? facts : &no_facts;
    struct td_jv *o = td_jv_object();
    if (o == NULL) {
        ctx->failures++;
        return NULL;
    }
    td_jv_set(ctx, o, "id", td_jv_u64(info->id));
    set_endpoints(ctx, o, info, f->roles_swapped);
    td_jv_set(ctx, o, "transport", transport_name(info));
    td_jv_set(ctx, o, "encapsulation", encapsulation_arr(ctx, td_flow_encap(info)));
    td_jv_set(ctx, o, "plaintext_start", plaintext_start_obj(ctx, info, f));
    td_jv_set(ctx, o, "outcome", td_json_outcome(ctx, info, f));
    struct td_jv *tls = td_jv_null();
    if (f->is_tls) {
        tls = td_jv_object();
        set_negotiated(ctx, tls, f, false);
        struct td_jv *chs = td_jv_array();
        const struct td_client_hello *ch = first_client_hello(f);
        if (ch != NULL) {
            struct td_jv *first = td_jv_object();
            td_jv_set(ctx, first, "sni", sni_value(ch));
            td_jv_append(ctx, chs, first);
        }
        td_jv_set(ctx, tls, "client_hellos", chs);
    }
    td_jv_set(ctx, o, "tls", tls);
    return o;
}

struct td_jv *td_json_connection(struct td_json_ctx *ctx, size_t input_index, const struct td_flow_info *info,
                           const struct td_tls_facts *facts)
{
    const struct td_tls_facts *f = facts != NULL ? facts : &no_facts;
    bool sw = f->roles_swapped;
    struct td_jv *o = td_jv_object();
    if (o == NULL) {
        ctx->failures++;
        return NULL;
    }
    td_jv_set(ctx, o, "id", td_jv_u64(info->id));
    td_jv_set(ctx, o, "input", td_jv_u64(input_index));
    set_endpoints(ctx, o, info, sw);
    td_jv_set(ctx, o, "roles_swapped", boolean(sw));
    td_jv_set(ctx, o, "transport", transport_name(info));
    td_jv_set(ctx, o, "encapsulation", encapsulation_arr(ctx, td_flow_encap(info)));
    td_jv_set(ctx, o, "first_frame", td_jv_u64(info->first_frame));
    td_jv_set(ctx, o, "last_frame", td_jv_u64(info->last_frame));
    td_jv_set(ctx, o, "start", time_ns(info->first_ts_ns));
    td_jv_set(ctx, o, "end", time_ns(info->last_ts_ns));
    td_jv_set(ctx, o, "duration_ms", duration_ms(info->first_ts_ns, info->last_ts_ns));
    struct td_jv *proto = td_jv_object();
    size_t app_len = strlen(td_flow_app_protocol(info));
    size_t master_len = strlen(td_flow_master_protocol(info));
    td_jv_set(ctx, proto, "app", app_len != 0 ? td_jv_strn(td_flow_app_protocol(info), app_len) : td_jv_null());
    td_jv_set(ctx, proto, "master",
                master_len != 0 ? td_jv_strn(td_flow_master_protocol(info), master_len) : td_jv_null());
    td_jv_set(ctx, o, "protocol", proto);
    td_jv_set(ctx, o, "plaintext_start", plaintext_start_obj(ctx, info, f));
    td_jv_set(ctx, o, "outcome", td_json_outcome(ctx, info, f));
    td_jv_set(ctx, o, "tcp", tcp_obj(ctx, info, sw));
    td_jv_set(ctx, o, "tls", f->is_tls ? tls_obj(ctx, f) : td_jv_null());
    struct td_jv *tl = td_jv_array();
    for (uint32_t i = 0; f->timeline != NULL && i < f->num_events; i++) {
        td_jv_append(ctx, tl, event_obj(ctx, f, &f->timeline[i]));
    }
    td_jv_set(ctx, o, "timeline", tl);
    td_jv_set(ctx, o, "timeline_events_seen", td_jv_integer(f->events_seen));
    td_jv_set(ctx, o, "timeline_truncated", boolean(f->events_seen > f->num_events));
    struct td_jv *an = td_jv_array();
    for (uint32_t i = 0; f->anomalies != NULL && i < f->num_anomalies; i++) {
        const struct td_anomaly_entry *e = &f->anomalies[i];
        struct td_jv *a = td_jv_object();
        set_ev(ctx, a, &e->ev);
        td_jv_set(ctx, a, "from", td_jv_lit(role_name(e->role)));
        td_jv_set(ctx, a, "name", td_jv_lit(td_anomaly_name(e->code)));
        td_jv_set(ctx, a, "description", td_jv_lit(td_anomaly_description(e->code)));
        td_jv_append(ctx, an, a);
    }
    td_jv_set(ctx, o, "anomalies", an);
    td_jv_set(ctx, o, "anomalies_seen", td_jv_integer(f->anomalies_seen));
    td_jv_set(ctx, o, "arena_full", boolean(f->arena_full));
    return o; /* "findings" and "evidence" follow when the connection ends (report.c, splice_connection) */
}

/* --- inputs, totals, limits (jansson: made once per run, written with the report's head and tail) --- */

static json_t *time_ns_json(int64_t ts_ns)
{
    char buf[48];
    const char *s = td_json_time(ts_ns, buf, sizeof(buf));
    return s != NULL ? json_stringn_nocheck(s, 30) : json_null();
}

json_t *td_json_input(struct td_json_ctx *ctx, const struct td_input_summary *in)
{
    json_t *o = json_object();
    td_json_set(ctx, o, "path", td_json_str(in->path));
    td_json_set(ctx, o, "format", td_json_str(in->format));
    json_t *lts = json_array();
    for (size_t i = 0; in->linktypes != NULL && i < in->num_linktypes; i++) {
        json_t *lt = json_object();
        td_json_set(ctx, lt, "value", json_integer(in->linktypes[i]));
        td_json_set(ctx, lt, "name", td_json_str(td_linktype_name(in->linktypes[i])));
        td_json_append(ctx, lts, lt);
    }
    td_json_set(ctx, o, "link_types", lts);
    td_json_set(ctx, o, "frames", td_json_u64(in->frames));
    td_json_set(ctx, o, "bytes", td_json_u64(in->bytes));
    td_json_set(ctx, o, "first_time", in->frames != 0 ? time_ns_json(in->first_ts_ns) : json_null());
    td_json_set(ctx, o, "last_time", in->frames != 0 ? time_ns_json(in->last_ts_ns) : json_null());
    json_t *d = json_object();
    td_json_set(ctx, d, "tcp_segments", td_json_u64(in->tcp_segments));
    td_json_set(ctx, d, "udp", td_json_u64(in->udp));
    td_json_set(ctx, d, "other_ip", td_json_u64(in->other_ip));
    td_json_set(ctx, d, "not_ip", td_json_u64(in->not_ip));
    td_json_set(ctx, d, "unknown_link", td_json_u64(in->unknown_link));
    td_json_set(ctx, d, "truncated", td_json_u64(in->truncated));
    td_json_set(ctx, d, "malformed", td_json_u64(in->malformed));
    td_json_set(ctx, d, "ip_fragments", td_json_u64(in->ip_fragments));
    td_json_set(ctx, o, "decode", d);
    td_json_set(ctx, o, "error", td_json_str(in->error));
    return o;
}

json_t *td_json_totals(struct td_json_ctx *ctx, const struct td_report_totals *t, const struct td_flow_stats *flows)
{
    static const struct td_flow_stats zero;
    const struct td_flow_stats *fs = flows != NULL ? flows : &zero;
    static const enum td_outcome order[] = {TD_OUTCOME_ESTABLISHED, TD_OUTCOME_RESUMED, TD_OUTCOME_FAILED_ALERT,
                                            TD_OUTCOME_RESET,       TD_OUTCOME_CLOSED,  TD_OUTCOME_INCOMPLETE,
                                            TD_OUTCOME_NOT_TLS};
    json_t *o = json_object();
    td_json_set(ctx, o, "connections", td_json_u64(t->connections));
    td_json_set(ctx, o, "tls_connections", td_json_u64(t->tls_connections));
    json_t *by = json_object();
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        td_json_set(ctx, by, td_outcome_name(order[i]), td_json_u64(t->by_outcome[order[i]]));
    }
    td_json_set(ctx, o, "by_outcome", by);
    td_json_set(ctx, o, "connections_with_anomalies", td_json_u64(t->with_anomalies));
    td_json_set(ctx, o, "connections_listed", td_json_u64(t->listed));
    td_json_set(ctx, o, "udp_flows_not_dtls", td_json_u64(t->udp_flows_not_dtls));
    td_json_set(ctx, o, "flows_evicted", td_json_u64(fs->flows_evicted));
    td_json_set(ctx, o, "flows_active_max", td_json_u64(fs->flows_active_max));
    td_json_set(ctx, o, "segments_ignored", td_json_u64(fs->segments_ignored));
    td_json_set(ctx, o, "reasm_cap_hits", td_json_u64(fs->reasm_cap_hits));
    json_t *findings = json_object();
    for (int s = TD_SEVERITY_ERROR; s >= TD_SEVERITY_INFO; s--) {
        td_json_set(ctx, findings, td_severity_name((enum td_severity)s), td_json_u64(t->findings[s]));
    }
    td_json_set(ctx, o, "findings", findings);
    return o;
}

json_t *td_json_limits(struct td_json_ctx *ctx, const struct td_limits *limits)
{
    struct td_limits def = td_limits_default();
    const struct td_limits *l = limits != NULL ? limits : &def;
    json_t *o = json_object();
    td_json_set(ctx, o, "max_flows", json_integer(l->max_flows));
    td_json_set(ctx, o, "max_reasm_bytes", json_integer(l->max_reasm_bytes));
    td_json_set(ctx, o, "max_hs_msg_bytes", json_integer(l->max_hs_msg_bytes));
    td_json_set(ctx, o, "max_timeline", json_integer(l->max_timeline));
    td_json_set(ctx, o, "max_conn_arena_bytes", json_integer(l->max_conn_arena_bytes));
    td_json_set(ctx, o, "max_records_per_chunk", json_integer(l->max_records_per_chunk));
    td_json_set(ctx, o, "idle_timeout_ns", td_json_u64(l->idle_timeout_ns));
    return o;
}
