/* SPDX-License-Identifier: MIT */
/* listing.c: the JSON report document, written while the capture is read.
 *
 * Connections end in close order but are listed by (input, first frame, id). An ended connection's text is
 * held until nothing that sorts before it can still end (td_listing_release, given the flow table's
 * closed_below), then appended to the document. On a capture of short connections a thousand or so are held at
 * once and every text is written once; spooling all of them and copying the spool into the report at the end
 * wrote the whole report twice, and the copy was a serial tail of every --threads run. Held texts stay in
 * memory up to a budget (one long connection holds back every later one), past it in the spool. What is known
 * only at the end (inputs, totals, limits, servers) follows the connections.
 *
 * A report to a regular file is written to "<dir>/.<name>.XXXXXX" from the first listed connection on, then
 * fsync'ed and renamed over the target: a reader sees the old file or the whole new one, and a failed or
 * interrupted run removes the temporary file and leaves the target as it was. Standard output and other
 * non-regular targets (a FIFO, /dev/null) get the document copied from an unlinked temporary file at the end,
 * so an interrupted run writes nothing to them either. */
#define _GNU_SOURCE /* sync_file_range */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Reals (duration_ms) are printed with 15 significant digits so that microsecond values read as "12.345"
 * rather than the 17-digit binary expansion. The small top-level parts are indented; each connection is one
 * compact line of the "connections" array (half the bytes, grep- and diff-friendly, and jq reads either). */
#define DUMP_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(15))

/* Held connections' JSON kept in memory by default, whatever the number of connections: the handshake
 * benchmark capture peaks at 11 MB and runs as fast with 8 (it rarely needs more; the rest waits in the spool),
 * and every MiB here is a MiB of peak RSS on a capture of long connections. */
#define HOLD_DEFAULT_BYTES ((size_t)8 << 20)

/* A connection waiting for its turn in the document. */
struct td_listing_held {
    struct td_listing_held_key key; /* (input, first frame, id) */
    char *text;      /* its JSON text, or NULL: in the spool at offset */
    size_t capacity; /* of text's buffer (what it weighs in memory) */
    uint64_t offset;
    size_t length;
};

static void fail(struct td_listing *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fail keeps the first failure's message (said by td_listing_finish); later ones follow from it. */
static void fail(struct td_listing *l, const char *fmt, ...)
{
    if (l->failed) {
        return;
    }
    l->failed = true;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(l->error, sizeof(l->error), fmt, ap);
    va_end(ap);
}

/* ---- the held connections: a binary heap on (input, first frame, id) ---- */

static bool key_before(const struct td_listing_held_key *a, const struct td_listing_held_key *b)
{
    if (a->input != b->input) {
        return a->input < b->input;
    }
    if (a->first_frame != b->first_frame) {
        return a->first_frame < b->first_frame;
    }
    return a->id < b->id;
}

static bool held_before(const struct td_listing_held *a, const struct td_listing_held *b)
{
    return key_before(&a->key, &b->key);
}

static bool held_push(struct td_listing *l, const struct td_listing_held *h)
{
    if (l->num_held == l->cap_held) {
        size_t cap = l->cap_held != 0 ? l->cap_held * 2 : 256;
        struct td_listing_held *bigger =
            cap <= SIZE_MAX / sizeof(*bigger) ? realloc(l->held, cap * sizeof(*bigger)) : NULL;
        if (bigger == NULL) {
            return false;
        }
        l->held = bigger;
        l->cap_held = cap;
    }
    size_t i = l->num_held++;
    while (i > 0 && held_before(h, &l->held[(i - 1) / 2])) {
        l->held[i] = l->held[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    l->held[i] = *h;
    return true;
}

static struct td_listing_held held_pop(struct td_listing *l)
{
    struct td_listing_held top = l->held[0];
    struct td_listing_held last = l->held[--l->num_held];
    size_t i = 0, n = l->num_held;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) {
            break;
        }
        if (child + 1 < n && held_before(&l->held[child + 1], &l->held[child])) {
            child++;
        }
        if (!held_before(&l->held[child], &last)) {
            break;
        }
        l->held[i] = l->held[child];
        i = child;
    }
    if (n > 0) {
        l->held[i] = last;
    }
    return top;
}

/* ---- the document ---- */

/* put_indented appends len bytes of JSON text to out with indent spaces after each newline: the top-level
 * parts are dumped on their own and nested here. */
static bool put_indented(struct td_text *out, const char *text, size_t len, int indent)
{
    static const char spaces[] = "        ";
    bool ok = true;
    while (ok && len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - text) + 1 : len;
        ok = td_text_append(out, text, n) && (nl == NULL || td_text_append(out, spaces, (size_t)indent));
        text += n;
        len -= n;
    }
    return ok;
}

static bool put_text(struct td_text *out, const char *s)
{
    return td_text_append(out, s, strlen(s));
}

/* A dump collected in memory. Failure is sticky: jansson 2.14 ignores a failed write of an object's key and
 * dumps on, so one refused allocation could otherwise drop a key from text that looks complete. */
struct dump_sink {
    struct td_text text;
    bool failed;
};

static int dump_append(const char *buffer, size_t size, void *data)
{
    struct dump_sink *s = data;
    s->failed = s->failed || !td_text_append(&s->text, buffer, size);
    return s->failed ? -1 : 0;
}

/* put_member appends `  "key": <value>` to out (value dumped and indented to sit at depth 1). */
static bool put_member(struct td_text *out, const char *key, json_t *value, bool last)
{
    struct dump_sink sink = {0};
    bool ok = value != NULL && json_dump_callback(value, dump_append, &sink, DUMP_FLAGS | JSON_ENCODE_ANY) == 0 &&
              !sink.failed && put_text(out, "  \"") && put_text(out, key) && put_text(out, "\": ") &&
              put_indented(out, sink.text.data, sink.text.len, 2) && put_text(out, last ? "\n" : ",\n");
    free(sink.text.data);
    return ok;
}

/* write_all writes the n pieces whole (writev, resumed after a short write or a signal); false with errno. */
static bool write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t done = writev(fd, iov, n);
        if (done < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        if (done == 0) {
            errno = EIO;
            return false;
        }
        while (n > 0 && (size_t)done >= iov->iov_len) {
            done -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= (size_t)done;
        }
    }
    return true;
}

/* write_text writes t whole to fd. */
static bool write_text(int fd, struct td_text *t)
{
    struct iovec iov = {.iov_base = t->data, .iov_len = t->len};
    return t->len == 0 || write_all(fd, &iov, 1);
}

static const char *errno_text(int saved)
{
    return saved != 0 ? strerror(saved) : "write error";
}

/* open_target opens the document's file: a temporary file beside a regular (or missing) target, or an
 * unlinked one in $TMPDIR for standard output and other targets, copied at the end; -1 after a failure. */
static int open_target(struct td_report *r)
{
    struct td_listing *l = &r->listing;
    const char *path = r->opts.json_path;
    struct stat st;
    if (strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
        /* A device or FIFO is written in place at the end: renaming over it would replace the device or pipe
         * itself (as root, /dev/null). */
        int fd = td_report_temp_fd("tlsdiag-report");
        if (fd < 0) {
            fail(l, "cannot write the JSON report to '%s': creating a temporary file in TMPDIR failed: %s; set "
                    "TMPDIR to a writable directory with free space (the report needs about its own size there)",
                 path, strerror(errno));
        }
        return fd;
    }
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    if (*base == '\0') {
        fail(l, "cannot write the JSON report to '%s': the path names a directory; give a file name", path);
        return -1;
    }
    size_t tmp_len = strlen(path) + 16;
    char *tmp = malloc(tmp_len);
    if (tmp == NULL) {
        fail(l, "out of memory while writing the JSON report to '%s'", path);
        return -1;
    }
    (void)snprintf(tmp, tmp_len, "%.*s.%s.XXXXXX", (int)dir_len, path, base);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fail(l, "cannot write the JSON report to '%s': creating a temporary file in its directory failed: %s; "
                "check that the directory exists and is writable, or choose another path",
             path, strerror(errno));
        free(tmp);
        return -1;
    }
    // mkstemp creates the file 0600; a report is an ordinary shareable file.
    (void)fchmod(fd, 0644);
    l->tmp_path = tmp;
    return fd;
}

/* open_doc opens the document and writes its head, once; false after a failure. The document is a plain file
 * descriptor: connections go out with writev straight from their text (no copy through a stdio buffer, one
 * system call each), the head and the tail are built in memory first. */
static bool open_doc(struct td_report *r)
{
    struct td_listing *l = &r->listing;
    if (l->doc >= 0 || l->failed) {
        return !l->failed;
    }
    l->doc = open_target(r);
    if (l->doc < 0) {
        return false;
    }
    json_t *tool = json_object();
    td_json_set(&r->ctx, tool, "name", json_string("tlsdiag"));
    td_json_set(&r->ctx, tool, "version",
                td_json_str(r->opts.tool_version != NULL ? r->opts.tool_version : "unknown"));
    struct td_text head = {0};
    errno = 0;
    bool ok = put_text(&head, "{\n") && put_member(&head, "tool", tool, false) &&
              put_text(&head, "  \"connections\": [") && write_text(l->doc, &head);
    json_decref(tool);
    free(head.data);
    if (!ok) {
        fail(l, "cannot write the JSON report to '%s': %s; check free space and permissions there, the previous "
                "file (if any) was left unchanged",
             r->opts.json_path, errno_text(errno));
    }
    return ok;
}

/* The document is handed to the disk as it grows, WRITEBACK_STEP at a time, so that the fsync before the rename
 * finds little left to write: it was a serial wait of ~0.35 s at the end of a 400 MB report, 0.07 s now. Writeback
 * is started for each step and waited for one step later (by then it has long ended: the wait costs nothing);
 * without the wait the final fsync still took 0.23 s. */
#define WRITEBACK_STEP ((uint64_t)8 << 20)

static void start_writeback(struct td_listing *l)
{
#ifdef SYNC_FILE_RANGE_WRITE
    uint64_t upto = l->doc_bytes; /* (a lower bound: the head is not counted) */
    if (l->waited_to < l->flushed_to) { /* the step before last: long written by now, normally */
        (void)sync_file_range(l->doc, (off64_t)l->waited_to, (off64_t)(l->flushed_to - l->waited_to),
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        l->waited_to = l->flushed_to;
    }
    (void)sync_file_range(l->doc, (off64_t)l->flushed_to, (off64_t)(upto - l->flushed_to),
                          SYNC_FILE_RANGE_WRITE);
    l->flushed_to = upto;
#else
    (void)l;
#endif
}

/* Connections written by one writev: a system call per connection was most of the report's system time (40 k
 * calls for the handshake capture, and calls are dear in a VM). */
#define BATCH 32

/* append writes n held connections, in order, to the document with one writev (a connection put in the spool
 * comes alone: its text is read back into the one buffer). */
static void append(struct td_report *r, struct td_listing_held *h, int n)
{
    struct td_listing *l = &r->listing;
    static char first[] = "\n    ", next[] = ",\n    "; /* writev's iovec has no const */
    struct iovec iov[2 * BATCH];
    uint64_t bytes = 0;
    for (int i = 0; i < n; i++) {
        if (l->written + (uint64_t)i > 0 && key_before(&h[i].key, &l->last)) {
            l->out_of_order = true; /* cannot happen while closed_below holds its promise: said at finish */
        }
        l->last = h[i].key;
        char *text = h[i].text;
        if (text == NULL) {
            if (!td_report_spool_read(r, h[i].offset, h[i].length, &l->buf, &l->buf_cap)) {
                r->spool_failed = true;
                r->spool_errno = errno;
                return;
            }
            text = l->buf;
        }
        char *sep = l->written + (uint64_t)i == 0 ? first : next;
        iov[2 * i] = (struct iovec){.iov_base = sep, .iov_len = strlen(sep)};
        iov[2 * i + 1] = (struct iovec){.iov_base = text, .iov_len = h[i].length};
        bytes += iov[2 * i].iov_len + h[i].length;
    }
    if (!open_doc(r)) {
        return;
    }
    if (!write_all(l->doc, iov, 2 * n)) {
        fail(l, "cannot write the JSON report to '%s': %s; check free space and permissions there, the previous "
                "file (if any) was left unchanged",
             r->opts.json_path, errno_text(errno));
    }
    l->written += (uint64_t)n;
    l->doc_bytes += bytes;
    if (l->tmp_path != NULL && l->doc_bytes - l->flushed_to >= WRITEBACK_STEP) {
        start_writeback(l);
    }
}

void td_listing_hold(struct td_report *r, uint32_t input, uint64_t first_frame, uint64_t id, struct td_text *t)
{
    struct td_listing *l = &r->listing;
    struct td_listing_held h = {.key = {.input = input, .first_frame = first_frame, .id = id}, .length = t->len};
    size_t budget = r->opts.hold_max_bytes != 0 ? r->opts.hold_max_bytes : HOLD_DEFAULT_BYTES;
    if (t->len <= budget && l->held_bytes <= budget - t->len) {
        /* Taken over, not copied (the next connection's text gets a new buffer), and trimmed to its text: a
         * shrinking realloc stays in place. */
        char *trimmed = t->len > 0 ? realloc(t->data, t->len) : NULL;
        h.text = trimmed != NULL ? trimmed : t->data;
        h.capacity = trimmed != NULL ? t->len : t->cap;
        *t = (struct td_text){0};
    } else if (!td_report_spool_append(r, t->data, t->len, &h.offset)) {
        return; /* said at finish */
    }
    if (!held_push(l, &h)) {
        free(h.text);
        r->ctx.failures++;
        return;
    }
    l->held_bytes += h.capacity;
}

/* flush_batch writes the batch and frees its texts. */
static void flush_batch(struct td_report *r, struct td_listing_held *batch, int *n)
{
    if (*n > 0) {
        append(r, batch, *n);
    }
    for (int i = 0; i < *n; i++) {
        free(batch[i].text);
    }
    *n = 0;
}

void td_listing_release(struct td_report *r, size_t input, uint64_t below)
{
    struct td_listing *l = &r->listing;
    struct td_listing_held batch[BATCH];
    int n = 0;
    while (l->num_held > 0 &&
           (l->held[0].key.input < input || (l->held[0].key.input == input && l->held[0].key.first_frame < below))) {
        struct td_listing_held h = held_pop(l);
        l->held_bytes -= h.capacity;
        if (h.text == NULL) { /* from the spool: alone, after what is batched before it */
            flush_batch(r, batch, &n);
            batch[n++] = h;
            flush_batch(r, batch, &n);
            continue;
        }
        batch[n++] = h;
        if (n == BATCH) {
            flush_batch(r, batch, &n);
        }
    }
    flush_batch(r, batch, &n);
}

/* copy_out copies the finished document to standard output or an existing non-regular target. */
static enum td_err copy_out(struct td_report *r, struct td_error *err)
{
    struct td_listing *l = &r->listing;
    const char *path = r->opts.json_path;
    bool to_stdout = strcmp(path, "-") == 0;
    FILE *out = to_stdout ? stdout : fopen(path, "w");
    if (out == NULL) {
        return td_error_set(err, TD_ERR_IO, "cannot write the JSON report to '%s': %s", path, strerror(errno));
    }
    errno = 0;
    bool ok = true;
    char buf[65536];
    for (off_t at = 0; ok;) {
        ssize_t n = pread(l->doc, buf, sizeof(buf), at);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        ok = fwrite(buf, 1, (size_t)n, out) == (size_t)n;
        at += n;
    }
    ok = ok && fflush(out) == 0 && !ferror(out);
    int saved = errno;
    if (!to_stdout && fclose(out) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        if (to_stdout) {
            return td_error_set(err, TD_ERR_IO,
                                "cannot write the JSON report to standard output: %s; check that the output pipe "
                                "or disk is still open and has space",
                                errno_text(saved));
        }
        return td_error_set(err, TD_ERR_IO, "cannot write the JSON report to '%s': %s", path, errno_text(saved));
    }
    return TD_OK;
}

/* put_in_place makes the finished temporary file the target: fsync, then rename (unless interrupted). */
static enum td_err put_in_place(struct td_report *r, struct td_error *err)
{
    struct td_listing *l = &r->listing;
    const char *path = r->opts.json_path;
    errno = 0;
    bool ok = fsync(l->doc) == 0;
    int saved = errno;
    if (close(l->doc) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    l->doc = -1;
    if (!ok) {
        return td_error_set(err, TD_ERR_IO,
                            "cannot write the JSON report to '%s': %s; check free space and permissions there, "
                            "the previous file (if any) was left unchanged",
                            path, errno_text(saved));
    }
    if (r->opts.interrupted != NULL && *r->opts.interrupted) {
        return td_error_set(err, TD_ERR_IO, "interrupted while writing the JSON report: '%s' was not replaced (the "
                                            "previous file, if any, is unchanged)", path);
    }
    if (rename(l->tmp_path, path) != 0) {
        return td_error_set(err, TD_ERR_IO,
                            "cannot write the JSON report to '%s': renaming the finished temporary file failed: "
                            "%s; check that the path is not a directory and that its directory is writable",
                            path, strerror(errno));
    }
    free(l->tmp_path);
    l->tmp_path = NULL;
    return TD_OK;
}

enum td_err td_listing_finish(struct td_report *r, json_t *totals, const struct td_limits *limits,
                              struct td_error *err)
{
    struct td_listing *l = &r->listing;
    td_listing_release(r, SIZE_MAX, UINT64_MAX);
    if (l->out_of_order) {
        return td_error_set(err, TD_ERR_INTERNAL,
                            "the connections could not be listed in first-frame order (a bug in tlsdiag: please "
                            "report it with the capture); no report was written to '%s'",
                            r->opts.json_path);
    }
    if (r->spool_failed) {
        return td_error_set(err, TD_ERR_IO,
                            "cannot read back the connections held in a temporary file for the report: %s; set "
                            "TMPDIR to a directory with free space",
                            strerror(r->spool_errno != 0 ? r->spool_errno : EIO));
    }
    (void)open_doc(r);
    json_t *lim = td_json_limits(&r->ctx, limits);
    json_t *servers = json_array();
    for (size_t i = 0; i < r->num_servers; i++) {
        td_json_sort_findings(json_object_get(r->servers[i].json, "findings"));
        td_json_append(&r->ctx, servers, json_incref(r->servers[i].json));
    }
    if (!l->failed) {
        struct td_text tail = {0};
        errno = 0;
        bool ok = put_text(&tail, l->written > 0 ? "\n  ],\n" : "],\n") &&
                  put_member(&tail, "inputs", r->inputs, false) && put_member(&tail, "totals", totals, false) &&
                  put_member(&tail, "limits", lim, false) && put_member(&tail, "servers", servers, true) &&
                  put_text(&tail, "}\n") && write_text(l->doc, &tail);
        free(tail.data);
        if (!ok) {
            fail(l, "cannot write the JSON report to '%s': %s; check free space and permissions there, the "
                    "previous file (if any) was left unchanged",
                 r->opts.json_path, errno_text(errno));
        }
    }
    json_decref(lim);
    json_decref(servers);
    if (r->ctx.failures != 0) {
        return td_report_oom_error(r, err);
    }
    if (l->failed) {
        return td_error_set(err, TD_ERR_IO, "%s", l->error);
    }
    return l->tmp_path != NULL ? put_in_place(r, err) : copy_out(r, err);
}

void td_listing_free(struct td_report *r)
{
    struct td_listing *l = &r->listing;
    if (l->doc >= 0) {
        (void)close(l->doc);
    }
    if (l->tmp_path != NULL) {
        (void)unlink(l->tmp_path); /* never renamed into place: the target is left as it was */
        free(l->tmp_path);
    }
    for (size_t i = 0; i < l->num_held; i++) {
        free(l->held[i].text);
    }
    free(l->held);
    free(l->buf);
    memset(l, 0, sizeof(*l));
    l->doc = -1;
}
