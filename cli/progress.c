/* SPDX-License-Identifier: MIT */
/* progress.c: the terminal progress line: throttled '\r' redraws fitted to the terminal width (TIOCGWINSZ,
 * POSIX termios winsize), names shortened in the middle, rate and ETA from the bytes done since the first update. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Widths beyond this are used as this: nobody reads a progress line wider than a screen. */
#define MAX_COLUMNS 512
/* The name keeps at least this many columns before the rate and ETA are dropped to make room for it. */
#define MIN_NAME_COLUMNS 12
#define FALLBACK_COLUMNS 80

struct td_progress {
    FILE *out;
    bool enabled;
    bool finished;
    uint64_t total_bytes;
    size_t total_files;
    size_t file_num;     /* 1-based number of the current file; 0 before the first */
    char *name;          /* current file's display name, sanitised; NULL before the first (or if strdup failed) */
    uint64_t done_bytes; /* of finished files */
    uint64_t cur_bytes;  /* of the current file */
    bool started;
    int64_t start_ns;
    int64_t mark_ns;     /* last redraw, or the start */
    size_t shown_cols;   /* columns of the line on screen; 0 when none */
    unsigned width;      /* 0: ask the terminal */
};

struct td_progress *td_progress_new(FILE *out, bool enabled, uint64_t total_bytes, size_t total_files)
{
    struct td_progress *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    p->out = out;
    p->enabled = enabled && out != NULL;
    p->total_bytes = total_bytes;
    p->total_files = total_files;
    return p;
}

void td_progress_free(struct td_progress *p)
{
    if (p == NULL) {
        return;
    }
    td_progress_clear(p);
    free(p->name);
    free(p);
}

bool td_progress_is_terminal(FILE *out)
{
    if (out == NULL) {
        return false;
    }
    int fd = fileno(out);
    return fd >= 0 && isatty(fd) == 1;
}

int64_t td_progress_now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

void td_progress_set_width(struct td_progress *p, unsigned columns)
{
    if (p != NULL) {
        p->width = columns;
    }
}

void td_progress_file(struct td_progress *p, const char *name)
{
    if (p == NULL) {
        return;
    }
    p->file_num++;
    p->cur_bytes = 0;
    free(p->name);
    p->name = strdup(name != NULL ? name : "");
    if (p->name == NULL) {
        return;
    }
    // A newline or escape in a file name would break the line or drive the terminal.
    for (char *c = p->name; *c != '\0'; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 || u == 0x7f) {
            *c = '?';
        }
    }
}

void td_progress_file_done(struct td_progress *p, uint64_t file_bytes)
{
    if (p == NULL) {
        return;
    }
    p->done_bytes += file_bytes;
    p->cur_bytes = 0;
}

/* --- formatting --- */

void td_progress_format_bytes(uint64_t n, char *buf, size_t buf_len)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    if (n < 1000) {
        (void)snprintf(buf, buf_len, "%u B", (unsigned)n);
        return;
    }
    double v = (double)n;
    size_t u = 0;
    // Move up while the value would print as 1000 or more (999.5 rounds to 1000).
    while (v >= 999.5 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1000.0;
        u++;
    }
    (void)snprintf(buf, buf_len, v < 9.95 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void td_progress_format_eta(uint64_t seconds, char *buf, size_t buf_len)
{
    if (seconds > 99u * 3600u + 59u * 60u + 59u) {
        (void)snprintf(buf, buf_len, "--:--");
        return;
    }
    unsigned h = (unsigned)(seconds / 3600u);
    unsigned m = (unsigned)(seconds / 60u % 60u);
    unsigned s = (unsigned)(seconds % 60u);
    if (h == 0) {
        (void)snprintf(buf, buf_len, "%u:%02u", m, s);
        return;
    }
    (void)snprintf(buf, buf_len, "%u:%02u:%02u", h, m, s);
}

/* cols counts terminal columns as UTF-8 code points (continuation bytes take none); wide glyphs count one. */
static size_t cols(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        n += ((unsigned char)*s & 0xc0u) != 0x80u;
    }
    return n;
}

/* col_offset is the byte offset where column `col` starts (strlen(s) when s is shorter). */
static size_t col_offset(const char *s, size_t col)
{
    size_t i = 0;
    size_t seen = 0;
    for (; s[i] != '\0'; i++) {
        if (((unsigned char)s[i] & 0xc0u) != 0x80u) {
            if (seen == col) {
                return i;
            }
            seen++;
        }
    }
    return i;
}

/* A growing output line with a byte bound; appends that do not fit are cut. */
struct line {
    char buf[4 * MAX_COLUMNS + 64];
    size_t len;
};

static void put_n(struct line *l, const char *s, size_t n)
{
    size_t room = sizeof(l->buf) - 1 - l->len;
    if (n > room) {
        n = room;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

static void put_spaces(struct line *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_n(l, " ", 1);
    }
}

/* put_name writes name in exactly `room` columns: padded with spaces, or shortened to head...tail. */
static void put_name(struct line *l, const char *name, size_t room)
{
    size_t n = cols(name);
    if (n <= room) {
        put_n(l, name, strlen(name));
        put_spaces(l, room - n);
        return;
    }
    if (room <= 3) {
        put_n(l, "...", room);
        return;
    }
    size_t tail = (room - 3) / 2;
    size_t head = room - 3 - tail;
    put_n(l, name, col_offset(name, head));
    put_n(l, "...", 3);
    size_t from = col_offset(name, n - tail);
    put_n(l, name + from, strlen(name + from));
}

static unsigned line_columns(const struct td_progress *p)
{
    unsigned w = p->width;
    if (w == 0) {
        struct winsize ws;
        int fd = fileno(p->out);
        w = fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : FALLBACK_COLUMNS;
    }
    return w > MAX_COLUMNS ? MAX_COLUMNS : w;
}

static unsigned percent(uint64_t done, uint64_t total)
{
    if (done >= total) {
        return 100;
    }
    if (done <= UINT64_MAX / 100u) {
        return (unsigned)(done * 100u / total);
    }
    return (unsigned)(done / (total / 100u)); // total > done > 1.8e17: total/100 loses nothing visible
}

/* The statistics, richest first; the first variant that leaves the name enough room is used. */
enum { STATS_FULL, STATS_NO_ETA, STATS_SIZES, STATS_PERCENT, NUM_STATS_VARIANTS };

static void format_stats(const struct td_progress *p, int variant, int64_t now_ns, char *buf, size_t buf_len)
{
    uint64_t done = p->done_bytes + p->cur_bytes;
    char done_s[16], total_s[16], rate_s[32], eta_s[32];
    td_progress_format_bytes(done, done_s, sizeof(done_s));
    td_progress_format_bytes(p->total_bytes, total_s, sizeof(total_s));
    int64_t elapsed = now_ns - p->start_ns;
    bool timed = elapsed >= TD_PROGRESS_RATE_AFTER_NS && variant <= STATS_NO_ETA;
    double rate = timed ? (double)done * 1e9 / (double)elapsed : 0.0;
    rate_s[0] = '\0';
    eta_s[0] = '\0';
    if (timed) {
        char r[16];
        td_progress_format_bytes((uint64_t)rate, r, sizeof(r));
        (void)snprintf(rate_s, sizeof(rate_s), "  %s/s", r);
    }
    if (timed && variant == STATS_FULL && p->total_bytes != 0 && rate >= 1.0) {
        uint64_t left = done < p->total_bytes ? p->total_bytes - done : 0;
        char e[16];
        td_progress_format_eta((uint64_t)((double)left / rate + 0.5), e, sizeof(e));
        (void)snprintf(eta_s, sizeof(eta_s), "  ETA %s", e);
    }
    if (p->total_bytes == 0) {
        (void)snprintf(buf, buf_len, "%s%s", variant == STATS_PERCENT ? "" : done_s, rate_s);
        return;
    }
    unsigned pct = percent(done, p->total_bytes);
    if (variant == STATS_PERCENT) {
        (void)snprintf(buf, buf_len, "%3u%%", pct);
        return;
    }
    (void)snprintf(buf, buf_len, "%3u%% %s/%s%s%s", pct, done_s, total_s, rate_s, eta_s);
}

static void draw(struct td_progress *p, int64_t now_ns)
{
    size_t width = line_columns(p);
    size_t avail = width > 1 ? width - 1 : 1;
    char prefix[64];
    if (p->total_files != 0) {
        int digits = snprintf(NULL, 0, "%zu", p->total_files);
        (void)snprintf(prefix, sizeof(prefix), "[%*zu/%zu] ", digits, p->file_num, p->total_files);
    } else {
        (void)snprintf(prefix, sizeof(prefix), "[%zu] ", p->file_num);
    }
    const char *name = p->name != NULL ? p->name : "";
    size_t want = cols(name) < MIN_NAME_COLUMNS ? cols(name) : MIN_NAME_COLUMNS;
    char stats[128];
    size_t fixed = 0;
    for (int v = STATS_FULL; v < NUM_STATS_VARIANTS; v++) {
        format_stats(p, v, now_ns, stats, sizeof(stats));
        fixed = strlen(prefix) + 2 + strlen(stats);
        if (fixed + want <= avail) {
            break;
        }
    }
    struct line l = {.len = 0};
    put_n(&l, prefix, strlen(prefix));
    put_name(&l, name, fixed < avail ? avail - fixed : 0);
    put_n(&l, "  ", 2);
    put_n(&l, stats, strlen(stats));
    // A terminal too narrow even for the shortest form: cut the line to fit.
    size_t end = col_offset(l.buf, avail);
    size_t shown = cols(l.buf) < avail ? cols(l.buf) : avail;
    // Erase the rest of a longer previous line (the width may have shrunk since).
    size_t pad = p->shown_cols > shown ? p->shown_cols - shown : 0;
    (void)fputc('\r', p->out);
    (void)fwrite(l.buf, 1, end, p->out);
    for (size_t i = 0; i < pad; i++) {
        (void)fputc(' ', p->out);
    }
    (void)fflush(p->out);
    p->shown_cols = shown; // the padding left blanks behind
}

void td_progress_update(struct td_progress *p, uint64_t bytes_done_in_current_file, int64_t now_mono_ns)
{
    if (p == NULL || !p->enabled || p->finished) {
        return;
    }
    p->cur_bytes = bytes_done_in_current_file;
    if (!p->started) {
        p->started = true;
        p->start_ns = now_mono_ns;
        p->mark_ns = now_mono_ns;
        return;
    }
    if (now_mono_ns - p->mark_ns < TD_PROGRESS_REDRAW_NS) {
        return;
    }
    p->mark_ns = now_mono_ns;
    draw(p, now_mono_ns);
}

void td_progress_clear(struct td_progress *p)
{
    if (p == NULL || !p->enabled || p->shown_cols == 0) {
        return;
    }
    (void)fputc('\r', p->out);
    for (size_t i = 0; i < p->shown_cols; i++) {
        (void)fputc(' ', p->out);
    }
    (void)fputc('\r', p->out);
    (void)fflush(p->out);
    p->shown_cols = 0;
}

void td_progress_finish(struct td_progress *p)
{
    if (p == NULL) {
        return;
    }
    td_progress_clear(p);
    p->finished = true;
}
