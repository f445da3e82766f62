/* SPDX-License-Identifier: MIT */
/* test_progress.c: the progress line written to a memory stream: redraw throttling, percentage, sizes, rate and
 * ETA (values worked out by hand below), name shortening, width fitting, clearing, and silence when disabled. */
#include "../../../cli/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testlib.h"

#define MS 1000000LL
#define SEC 1000000000LL

/* A progress writing to an open_memstream buffer. */
struct sink {
    FILE *f;
    char *buf;
    size_t len;
};

static void sink_open(struct sink *s)
{
    s->buf = NULL;
    s->len = 0;
    s->f = open_memstream(&s->buf, &s->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->f);
}

/* sink_text flushes and returns everything written so far (valid until the next write or close). */
static const char *sink_text(struct sink *s)
{
    (void)fflush(s->f);
    return s->buf != NULL ? s->buf : "";
}

static void sink_close(struct sink *s)
{
    (void)fclose(s->f);
    free(s->buf);
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        n += *s == c;
    }
    return n;
}

/* last_line returns the text after the last '\r' (the line as the terminal shows it), copied into out. */
static void last_line(struct sink *s, char *out, size_t out_len)
{
    const char *t = sink_text(s);
    const char *cr = strrchr(t, '\r');
    (void)snprintf(out, out_len, "%s", cr != NULL ? cr + 1 : t);
}

static void test_format_bytes(void)
{
    char b[16];
    td_progress_format_bytes(0, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "0 B");
    td_progress_format_bytes(999, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "999 B");
    td_progress_format_bytes(1000, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "1.0 kB");
    td_progress_format_bytes(1200000000ull, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "1.2 GB");
    td_progress_format_bytes(310000000ull, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "310 MB");
    td_progress_format_bytes(9940000ull, b, sizeof(b)); // 9.94 MB: still one decimal
    CU_ASSERT_STRING_EQUAL(b, "9.9 MB");
    td_progress_format_bytes(9960000ull, b, sizeof(b)); // 9.96 would print 10.0: no decimal then
    CU_ASSERT_STRING_EQUAL(b, "10 MB");
    td_progress_format_bytes(999499ull, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "999 kB");
    td_progress_format_bytes(999500ull, b, sizeof(b)); // would round to 1000 kB: next unit
    CU_ASSERT_STRING_EQUAL(b, "1.0 MB");
    td_progress_format_bytes(UINT64_MAX, b, sizeof(b)); // 1.8e19 = 18 EB
    CU_ASSERT_STRING_EQUAL(b, "18 EB");
}

static void test_format_eta(void)
{
    char b[16];
    td_progress_format_eta(0, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "0:00");
    td_progress_format_eta(5, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "0:05");
    td_progress_format_eta(100, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "1:40");
    td_progress_format_eta(3599, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "59:59");
    td_progress_format_eta(3600, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "1:00:00");
    td_progress_format_eta(9999, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "2:46:39");
    td_progress_format_eta(359999, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "99:59:59");
    td_progress_format_eta(360000, b, sizeof(b));
    CU_ASSERT_STRING_EQUAL(b, "--:--");
}

static void test_disabled_writes_nothing(void)
{
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, false, 1000, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_file(p, "a.pcap");
    for (int64_t t = 0; t < 5 * SEC; t += 50 * MS) {
        td_progress_update(p, (uint64_t)(t / MS), t);
    }
    td_progress_file_done(p, 500);
    td_progress_clear(p);
    td_progress_finish(p);
    td_progress_free(p);
    CU_ASSERT_EQUAL(strlen(sink_text(&s)), 0);
    sink_close(&s);
    // A memory stream is no terminal.
    sink_open(&s);
    CU_ASSERT_FALSE(td_progress_is_terminal(s.f));
    CU_ASSERT_FALSE(td_progress_is_terminal(NULL));
    sink_close(&s);
}

/* Every function accepts NULL (td_progress_new failed). */
static void test_null_progress(void)
{
    td_progress_set_width(NULL, 80);
    td_progress_file(NULL, "x");
    td_progress_update(NULL, 1, 0);
    td_progress_file_done(NULL, 1);
    td_progress_clear(NULL);
    td_progress_finish(NULL);
    td_progress_free(NULL);
    CU_ASSERT_TRUE(td_progress_now_ns() > 0);
}

static void test_throttle(void)
{
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, true, 1000, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 80);
    td_progress_file(p, "a.pcap");
    td_progress_update(p, 0, 10 * SEC); // starts the clock
    td_progress_update(p, 10, 10 * SEC + 100 * MS);
    td_progress_update(p, 20, 10 * SEC + 199 * MS);
    CU_ASSERT_EQUAL(strlen(sink_text(&s)), 0); // under 200 ms: nothing yet
    td_progress_update(p, 30, 10 * SEC + 200 * MS);
    CU_ASSERT_EQUAL(count_char(sink_text(&s), '\r'), 1);
    for (int64_t t = 201; t < 400; t++) { // per-frame calls in between do not draw
        td_progress_update(p, 40, 10 * SEC + t * MS);
    }
    CU_ASSERT_EQUAL(count_char(sink_text(&s), '\r'), 1);
    td_progress_update(p, 50, 10 * SEC + 400 * MS);
    CU_ASSERT_EQUAL(count_char(sink_text(&s), '\r'), 2);
    td_progress_update(p, 60, 10 * SEC + 401 * MS);
    CU_ASSERT_EQUAL(count_char(sink_text(&s), '\r'), 2);
    // A long pause then one call: one redraw, not a burst.
    td_progress_update(p, 70, 20 * SEC);
    CU_ASSERT_EQUAL(count_char(sink_text(&s), '\r'), 3);
    CU_ASSERT_PTR_NULL(strchr(sink_text(&s), '\n'));
    td_progress_free(p);
    sink_close(&s);
}

/* The example line: file 3 of 12, 1.24 GB of 2.7 GB after 4 s.
 * 1.24e9 * 100 / 2.7e9 = 45.9 -> 45%; rate 1.24e9 / 4 = 310 MB/s; (2.7e9 - 1.24e9) / 310e6 = 4.71 s -> 0:05. */
static void test_full_line(void)
{
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, true, 2700000000ull, 12);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 80);
    td_progress_file(p, "capture-01.pcap");
    td_progress_update(p, 0, 0);
    td_progress_file_done(p, 500000000ull);
    td_progress_file(p, "capture-02.pcap");
    td_progress_file_done(p, 500000000ull);
    td_progress_file(p, "capture-07.pcap");
    td_progress_update(p, 240000000ull, 4 * SEC);
    char line[256];
    last_line(&s, line, sizeof(line));
    // 79 columns: prefix, name padded, two spaces, the statistics at the right edge.
    const char *stats = " 45% 1.2 GB/2.7 GB  310 MB/s  ETA 0:05";
    char expect[256];
    size_t pad = 79 - strlen("[ 3/12] ") - strlen("capture-07.pcap") - 2 - strlen(stats);
    (void)snprintf(expect, sizeof(expect), "[ 3/12] capture-07.pcap%*s  %s", (int)pad, "", stats);
    CU_ASSERT_STRING_EQUAL(line, expect);
    CU_ASSERT_EQUAL(strlen(line), 79);
    td_progress_free(p);
    sink_close(&s);
}

static void test_percentages(void)
{
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, true, 3000, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 80);
    td_progress_file(p, "x");
    td_progress_update(p, 0, 0);
    char line[256];
    td_progress_update(p, 29, 300 * MS); // 0.97%: floor, so 0% until a whole percent is done
    last_line(&s, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "  0% 29 B/3.0 kB"));
    td_progress_update(p, 30, 600 * MS);
    last_line(&s, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "  1% 30 B/3.0 kB"));
    td_progress_update(p, 2999, 900 * MS); // 99.97%: never 100% before the end
    last_line(&s, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " 99% 3.0 kB/3.0 kB"));
    td_progress_update(p, 3000, 1200 * MS);
    last_line(&s, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "100% 3.0 kB/3.0 kB"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "ETA 0:00"));
    td_progress_update(p, 4000, 1500 * MS); // the file grew while read: capped at 100%
    last_line(&s, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "100% 4.0 kB/3.0 kB"));
    td_progress_free(p);
    sink_close(&s);

    // Sizes beyond 2^64 / 100 must not overflow: 1.7e19 of 1.8e19 is 94%.
    sink_open(&s);
    p = td_progress_new(s.f, true, 18000000000000000000ull, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 80);
    td_progress_file(p, "big");
    td_progress_update(p, 0, 0);
    td_progress_update(p, 17000000000000000000ull, 300 * MS);
    last_line(&s, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " 94% 17 EB/18 EB"));
    td_progress_free(p);
    sink_close(&s);
}

static void test_rate_and_eta_timing(void)
{
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, true, 1000000000000ull, 1); // 1 TB
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 100);
    td_progress_file(p, "big.pcapng");
    td_progress_update(p, 0, 0);
    char line[256];
    td_progress_update(p, 80000000ull, 800 * MS); // before 1 s: no rate, no ETA
    last_line(&s, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "  0% 80 MB/1.0 TB"));
    CU_ASSERT_PTR_NULL(strstr(line, "/s"));
    CU_ASSERT_PTR_NULL(strstr(line, "ETA"));
    // 1 s, 100 MB: 100 MB/s, 999.9e9 / 1e8 = 9999 s = 2:46:39.
    td_progress_update(p, 100000000ull, 1 * SEC);
    last_line(&s, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "  0% 100 MB/1.0 TB  100 MB/s  ETA 2:46:39"));
    // 2000 s, 950 GB: 475 MB/s, 50e9 / 475e6 = 105.3 s = 1:45.
    td_progress_update(p, 950000000000ull, 2000 * SEC);
    last_line(&s, line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " 95% 950 GB/1.0 TB  475 MB/s  ETA 1:45"));
    td_progress_free(p);
    sink_close(&s);
}

static void test_unknown_totals(void)
{
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, true, 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 80);
    td_progress_file(p, "-");
    td_progress_update(p, 0, 0);
    td_progress_update(p, 620000000ull, 2 * SEC);
    char line[256];
    last_line(&s, line, sizeof(line));
    CU_ASSERT_EQUAL(strncmp(line, "[1] -", 5), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "  620 MB  310 MB/s"));
    CU_ASSERT_PTR_NULL(strchr(line, '%'));
    CU_ASSERT_PTR_NULL(strstr(line, "ETA"));
    CU_ASSERT_EQUAL(strlen(line), 79);
    td_progress_free(p);
    sink_close(&s);
}

/* A 100-character name in 80 columns: 79 - 8 ("[1/1] " is 6, plus 2 before the stats) - the stats. */
static void test_long_name_shortened(void)
{
    char name[101];
    for (int i = 0; i < 100; i++) {
        name[i] = (char)('a' + i % 26);
    }
    name[100] = '\0';
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, true, 1000, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 80);
    td_progress_file(p, name);
    td_progress_update(p, 0, 0);
    td_progress_update(p, 500, 300 * MS);
    char line[256];
    last_line(&s, line, sizeof(line));
    const char *stats = " 50% 500 B/1.0 kB";
    size_t room = 79 - strlen("[1/1] ") - 2 - strlen(stats); // the head gets the odd column
    size_t tail = (room - 3) / 2;
    size_t head = room - 3 - tail;
    CU_ASSERT_EQUAL(room, 54);
    CU_ASSERT_EQUAL(head, 26);
    CU_ASSERT_EQUAL(tail, 25);
    char expect[256];
    (void)snprintf(expect, sizeof(expect), "[1/1] %.26s...%s  %s", name, name + 100 - 25, stats);
    CU_ASSERT_STRING_EQUAL(line, expect);
    CU_ASSERT_EQUAL(strlen(line), 79);
    td_progress_free(p);
    sink_close(&s);
}

#define E1 "\xc3\xa9"
#define E5 E1 E1 E1 E1 E1
#define E6 E5 E1
#define E10 E5 E5

/* UTF-8 names are cut between characters, and counted in characters, not bytes. Control bytes become '?'. */
static void test_name_utf8_and_controls(void)
{
    // "é" (c3 a9) is 2 bytes; 40 of them are 40 columns, 80 bytes.
    char name[128];
    (void)snprintf(name, sizeof(name), "%s%s%s%s", E10, E10, E10, E10);
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, true, 1000, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 40);
    td_progress_file(p, name);
    td_progress_update(p, 0, 0);
    td_progress_update(p, 500, 300 * MS);
    char line[512];
    last_line(&s, line, sizeof(line));
    // 39 columns: "[1/1] " 6 + name + 2 + " 50% 500 B/1.0 kB" 17 -> 14 for the name: 6 é, "...", 5 é.
    const char *expect = "[1/1] " E6 "..." E5 "   50% 500 B/1.0 kB";
    CU_ASSERT_STRING_EQUAL(line, expect);
    td_progress_free(p);
    sink_close(&s);

    sink_open(&s);
    p = td_progress_new(s.f, true, 1000, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 80);
    td_progress_file(p, "bad\nname\x1b[2J.pcap");
    td_progress_update(p, 0, 0);
    td_progress_update(p, 1, 300 * MS);
    const char *t = sink_text(&s);
    CU_ASSERT_PTR_NULL(strchr(t, '\n'));
    CU_ASSERT_PTR_NULL(strchr(t, '\x1b'));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "bad?name?[2J.pcap"));
    td_progress_free(p);
    sink_close(&s);
}

static void test_widths(void)
{
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, true, 2700000000ull, 12);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    // No width set and no terminal behind the stream: 80 columns.
    td_progress_file(p, "capture-07.pcap");
    td_progress_update(p, 0, 0);
    td_progress_update(p, 1240000000ull, 4 * SEC);
    char line[1024];
    last_line(&s, line, sizeof(line));
    CU_ASSERT_EQUAL(strlen(line), 79);
    // 200 columns: 199, the statistics still at the right edge.
    td_progress_set_width(p, 200);
    td_progress_update(p, 1240000000ull, 5 * SEC);
    last_line(&s, line, sizeof(line));
    CU_ASSERT_EQUAL(strlen(line), 199);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "248 MB/s  ETA 0:06")); // 1.24e9/5 s; 1.46e9/248e6 = 5.9 s
    // 50 columns (49 usable): "[ 1/12] " 8 + 2 + the statistics. In full (" 45% 1.2 GB/2.7 GB  207 MB/s  ETA 0:07",
    // 38) or without the ETA (28) the name would get under 12 columns; sizes only (18) leave it 21.
    td_progress_set_width(p, 50);
    td_progress_update(p, 1240000000ull, 6 * SEC);
    last_line(&s, line, sizeof(line));
    // The previous line was 199 columns: the 150 beyond the new one are blanked, then the 49 are checked.
    CU_ASSERT_EQUAL_FATAL(strlen(line), 199);
    CU_ASSERT_EQUAL(strspn(line + 49, " "), 150);
    line[49] = '\0';
    CU_ASSERT_NOT_EQUAL(line[48], ' ');
    CU_ASSERT_PTR_NULL(strstr(line, "ETA"));
    CU_ASSERT_PTR_NULL(strstr(line, "/s"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "[ 1/12] capture-07.pcap"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, " 45% 1.2 GB/2.7 GB"));
    // 30 columns: only the percentage fits next to a 12-column name: 29 - 8 - 2 - 4 = 15 >= 15 (whole name).
    td_progress_set_width(p, 30);
    td_progress_update(p, 1240000000ull, 7 * SEC);
    last_line(&s, line, sizeof(line));
    // Only the 49 columns drawn last are blanked beyond it: the 150 before them are blank already.
    CU_ASSERT_EQUAL_FATAL(strlen(line), 49);
    CU_ASSERT_EQUAL(strspn(line + 29, " "), 20);
    line[29] = '\0';
    CU_ASSERT_STRING_EQUAL(line, "[ 1/12] capture-07.pcap   45%");
    // 12 columns: not even the percentage fits; no name, and the line is cut to 11.
    td_progress_set_width(p, 12);
    td_progress_update(p, 1240000000ull, 8 * SEC);
    const char *t = sink_text(&s);
    const char *cr = strrchr(t, '\r');
    CU_ASSERT_PTR_NOT_NULL_FATAL(cr);
    // "[ 1/12]    45%" cut to 11, then the 18 columns the previous 29-column line had beyond it are blanked.
    CU_ASSERT_EQUAL(strlen(cr + 1), 29);
    CU_ASSERT_EQUAL(strncmp(cr + 1, "[ 1/12]", 7), 0);
    CU_ASSERT_EQUAL(strspn(cr + 1 + 7, " "), 22);
    td_progress_free(p);
    sink_close(&s);
}

static void test_clear_and_finish(void)
{
    struct sink s;
    sink_open(&s);
    struct td_progress *p = td_progress_new(s.f, true, 1000, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 80);
    td_progress_clear(p); // nothing shown yet: nothing to erase
    CU_ASSERT_EQUAL(strlen(sink_text(&s)), 0);
    td_progress_file(p, "a.pcap");
    td_progress_update(p, 0, 0);
    td_progress_update(p, 100, 300 * MS);
    size_t drawn = strlen(sink_text(&s));
    CU_ASSERT_EQUAL(drawn, 80); // '\r' + 79 columns
    td_progress_clear(p);
    const char *t = sink_text(&s);
    CU_ASSERT_EQUAL(strlen(t), drawn + 81);
    CU_ASSERT_EQUAL(t[drawn], '\r');
    CU_ASSERT_EQUAL(strspn(t + drawn + 1, " "), 79);
    CU_ASSERT_EQUAL(t[drawn + 80], '\r');
    td_progress_clear(p); // already clear
    CU_ASSERT_EQUAL(strlen(sink_text(&s)), drawn + 81);
    // The caller prints its message on the clean line; the next redraw comes at the usual pace.
    (void)fputs("tlsdiag: warning\n", s.f);
    size_t before = strlen(sink_text(&s));
    td_progress_update(p, 200, 400 * MS);
    CU_ASSERT_EQUAL(strlen(sink_text(&s)), before);
    td_progress_update(p, 300, 500 * MS);
    CU_ASSERT_EQUAL(strlen(sink_text(&s)), before + 80);
    // finish erases, and nothing is written after it.
    td_progress_finish(p);
    t = sink_text(&s);
    size_t after_finish = strlen(t);
    CU_ASSERT_EQUAL(after_finish, before + 80 + 81);
    CU_ASSERT_EQUAL(t[after_finish - 1], '\r');
    td_progress_file(p, "b.pcap");
    td_progress_update(p, 400, 5 * SEC);
    td_progress_clear(p);
    td_progress_free(p);
    CU_ASSERT_EQUAL(strlen(sink_text(&s)), after_finish);
    sink_close(&s);

    // free without finish still erases a shown line, so an error printed next starts clean.
    sink_open(&s);
    p = td_progress_new(s.f, true, 1000, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    td_progress_set_width(p, 40);
    td_progress_file(p, "a.pcap");
    td_progress_update(p, 0, 0);
    td_progress_update(p, 100, 300 * MS);
    td_progress_free(p);
    t = sink_text(&s);
    CU_ASSERT_EQUAL(strlen(t), 40 + 41);
    CU_ASSERT_EQUAL(t[strlen(t) - 1], '\r');
    sink_close(&s);
}

static CU_TestInfo tests[] = {
    {"byte sizes", test_format_bytes},
    {"ETA format", test_format_eta},
    {"disabled writes nothing", test_disabled_writes_nothing},
    {"NULL progress", test_null_progress},
    {"redraw throttling", test_throttle},
    {"the full line", test_full_line},
    {"percentages", test_percentages},
    {"rate and ETA after 1 s", test_rate_and_eta_timing},
    {"unknown totals", test_unknown_totals},
    {"long names shortened in the middle", test_long_name_shortened},
    {"UTF-8 and control bytes in names", test_name_utf8_and_controls},
    {"widths", test_widths},
    {"clear and finish", test_clear_and_finish},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("progress", tests)
