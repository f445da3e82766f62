/* SPDX-License-Identifier: MIT */
/* test_evidence.c: --evidence (issue #6): real samples read with td_reader, fed to td_evidence_packet and
 * the flow table, whose on_close writes the pcap; the written files are read back with libpcap and compared
 * frame by frame with the original (bytes, lengths, nanosecond timestamps). Packet counts come from tshark;
 * caps, port reuse, expiry, eviction, link types and directory errors use the same real frames. */
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../capture/cursor.h"
#include "../../../capture/decode.h"
#include "../../../capture/evidence.h"
#include "../../../capture/flow.h"
#include "../../../capture/reader.h"
#include "../testlib.h"

#define MAX_FRAMES 64
#define SEC 1000000000ll

/* A sample held in memory: frames (with their own copy of the data) and their decoded segments. */
struct sample {
    struct td_frame frame[MAX_FRAMES];
    struct td_segment seg[MAX_FRAMES];
    uint8_t *data[MAX_FRAMES];
    size_t num;
};

static void sample_load(struct sample *s, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", TD_SAMPLES_DIR, name);
    memset(s, 0, sizeof(*s));
    struct td_reader *r = NULL;
    struct td_error err = {0};
    CU_ASSERT_EQUAL_FATAL(td_reader_open(path, &r, &err), TD_OK);
    struct td_frame f;
    while (td_reader_next(r, &f, &err) == TD_READ_FRAME) {
        CU_ASSERT_FATAL(s->num < MAX_FRAMES);
        size_t i = s->num++;
        s->frame[i] = f;
        s->data[i] = malloc(f.caplen > 0 ? f.caplen : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s->data[i]);
        struct td_cursor c;
        td_cursor_init(&c, f.data, f.caplen, 0);
        CU_ASSERT_FATAL(td_cursor_copy(&c, s->data[i], f.caplen));
        s->frame[i].data = s->data[i];
        CU_ASSERT_EQUAL_FATAL(td_decode_frame(f.linktype, s->data[i], f.caplen, &s->seg[i]), TD_DECODE_TCP);
    }
    td_reader_free(r);
}

static void sample_free(struct sample *s)
{
    for (size_t i = 0; i < s->num; i++) {
        free(s->data[i]);
    }
}

/* feed gives frame i of s (0-based) to ev as frame number `number`, its time shifted by shift_ns. */
static void feed(struct td_evidence *ev, const struct sample *s, size_t i, uint64_t number, int64_t shift_ns)
{
    struct td_frame f = s->frame[i];
    f.frame = number;
    f.ts_ns += shift_ns;
    td_evidence_packet(ev, &f, &s->seg[i], TD_TRANSPORT_TCP);
}

/* ---- temporary directories ---- */

static void make_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/td-evidence-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

/* list_dir: the number of entries in dir; the first one's name in first (if any). */
static size_t list_dir(const char *dir, char *first, size_t first_len)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    size_t n = 0;
    struct dirent *de;
    if (first != NULL) {
        first[0] = '\0';
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (n++ == 0 && first != NULL) {
            snprintf(first, first_len, "%s", de->d_name);
        }
    }
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *de;
    char path[1024];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

static struct td_evidence *new_ev(const char *dir, struct td_evidence_options o)
{
    o.dir = dir;
    struct td_evidence *ev = NULL;
    struct td_error err = {0};
    CU_ASSERT_EQUAL_FATAL(td_evidence_new(&o, &ev, &err), TD_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    return ev;
}

/* ---- reading the written pcap back ---- */

/* check_pcap: the file at path holds exactly frames first..first+num-1 (0-based) of s, byte for byte,
 * with their lengths and nanosecond timestamps (shifted by shift_ns), and link type dlt. */
static void check_pcap(const char *path, const struct sample *s, size_t first, size_t num, int64_t shift_ns, int dlt)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(pcap_datalink(p), dlt);
    struct pcap_pkthdr *h;
    const u_char *data;
    size_t n = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        if (n < num) {
            const struct td_frame *f = &s->frame[first + n];
            int64_t ts = (int64_t)h->ts.tv_sec * SEC + (int64_t)h->ts.tv_usec;
            CU_ASSERT_EQUAL(ts, f->ts_ns + shift_ns);
            CU_ASSERT_EQUAL(h->caplen, f->caplen);
            CU_ASSERT_EQUAL(h->len, f->wire_len);
            CU_ASSERT(h->caplen == f->caplen && memcmp(data, f->data, f->caplen) == 0);
        }
        n++;
    }
    CU_ASSERT_EQUAL(n, num);
    pcap_close(p);
}

/* ---- the flow table driving the closes, as the CLI driver does ---- */

struct pipeline {
    struct td_evidence *ev;
    const char *input;
    bool keep_only_first; /* keep=true for flow 1, false for the others */
    char paths[4][TD_EVIDENCE_PATH_LEN];
    size_t num_closed;
    enum td_err rc;
};

static void on_close(void *ctx, void *user, const struct td_flow_info *info)
{
    (void)user;
    struct pipeline *pl = ctx;
    bool keep = !pl->keep_only_first || info->id == 1;
    char path[TD_EVIDENCE_PATH_LEN];
    struct td_error err = {0};
    enum td_err rc = td_evidence_close(pl->ev, info, keep, pl->input, path, sizeof(path), &err);
    if (rc != TD_OK) {
        pl->rc = rc;
    }
    if (pl->num_closed < 4) {
        snprintf(pl->paths[pl->num_closed], sizeof(pl->paths[0]), "%s", path);
    }
    pl->num_closed++;
}

static void run_pipeline(struct pipeline *pl, const struct sample *s)
{
    struct td_limits limits = td_limits_default();
    struct td_flow_callbacks cb = {.ctx = pl, .on_close = on_close};
    struct td_flow_table *t = td_flow_table_new(&limits, &cb, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (size_t i = 0; i < s->num; i++) {
        td_evidence_packet(pl->ev, &s->frame[i], &s->seg[i], TD_TRANSPORT_TCP);
        td_flow_table_add(t, &s->seg[i], s->frame[i].frame, s->frame[i].ts_ns);
        td_evidence_expire(pl->ev, s->frame[i].ts_ns);
    }
    td_flow_table_flush(t);
    td_flow_table_free(t);
}

/* The connection reset after the ClientHello: one failed connection, one file with all its frames. */
static void test_reset_whole_flow(void)
{
    struct sample s;
    sample_load(&s, "reset-after-client-hello.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    struct pipeline pl = {.ev = new_ev(dir, (struct td_evidence_options){0}),
                          .input = TD_SAMPLES_DIR "/reset-after-client-hello.pcap"};
    run_pipeline(&pl, &s);
    CU_ASSERT_EQUAL(pl.rc, TD_OK);
    CU_ASSERT_EQUAL_FATAL(pl.num_closed, 1);
    /* Client 127.0.0.1:37500 (SYN in frame 1), server port 4453; first frame 1. */
    char want[256];
    snprintf(want, sizeof(want), "%s/reset-after-client-hello-1-127.0.0.1.37500-127.0.0.1.4453.pcap", dir);
    CU_ASSERT_STRING_EQUAL(pl.paths[0], want);
    char name[256];
    CU_ASSERT_EQUAL(list_dir(dir, name, sizeof(name)), 1); // no temporary file left behind
    /* tshark -r samples/reset-after-client-hello.pcap -Y "tcp.stream==0" | wc -l  ->  6 (RST in frame 6). */
    check_pcap(pl.paths[0], &s, 0, 6, 0, DLT_EN10MB);
    const struct td_evidence_stats *st = td_evidence_stats(pl.ev);
    CU_ASSERT_EQUAL(st->files_written, 1);
    CU_ASSERT_EQUAL(st->packets_written, 6);
    CU_ASSERT_EQUAL(st->bytes_held, 0);
    /* caplens 74+74+66+383+66+66 (tshark frame.cap_len): all six were held at once. */
    CU_ASSERT_EQUAL(st->bytes_held_max, 729);
    td_evidence_free(pl.ev);
    remove_dir(dir);
    sample_free(&s);
}

/* version-mismatch: the server's protocol_version alert, then FIN/FIN/ACK. */
static void test_version_mismatch(void)
{
    struct sample s;
    sample_load(&s, "version-mismatch.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    struct pipeline pl = {.ev = new_ev(dir, (struct td_evidence_options){0}), .input = "version-mismatch.pcap"};
    run_pipeline(&pl, &s);
    CU_ASSERT_EQUAL(pl.rc, TD_OK);
    CU_ASSERT_EQUAL_FATAL(pl.num_closed, 1);
    /* tshark -r samples/version-mismatch.pcap -Y "tcp.stream==0" | wc -l  ->  10. Frame 10 is the bare ACK
     * of the second FIN (frame 9): the flow table closes the flow at the second FIN (flow.h,
     * TD_FLOW_END_FIN), so the flow is frames 1..9 and frame 10 is a straggler no close claims. */
    check_pcap(pl.paths[0], &s, 0, 9, 0, DLT_EN10MB);
    const struct td_evidence_stats *st = td_evidence_stats(pl.ev);
    CU_ASSERT_EQUAL(st->packets_unclaimed, 0);
    CU_ASSERT_EQUAL(st->bytes_held, 66); // frame 10's caplen, waiting for expiry
    td_evidence_clear(pl.ev);            // end of input
    CU_ASSERT_EQUAL(st->packets_unclaimed, 1);
    CU_ASSERT_EQUAL(st->bytes_held, 0);
    td_evidence_free(pl.ev);
    remove_dir(dir);
    sample_free(&s);
}

/* fallback-retry: two connections on different ports; only the first (failed) one is kept. */
static void test_keep_false_writes_nothing(void)
{
    struct sample s;
    sample_load(&s, "fallback-retry.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    struct pipeline pl = {.ev = new_ev(dir, (struct td_evidence_options){0}), .input = "fallback-retry.pcap",
                          .keep_only_first = true};
    run_pipeline(&pl, &s);
    CU_ASSERT_EQUAL(pl.rc, TD_OK);
    CU_ASSERT_EQUAL_FATAL(pl.num_closed, 2);
    CU_ASSERT_STRING_EQUAL(pl.paths[1], ""); // keep=false
    CU_ASSERT_EQUAL(list_dir(dir, NULL, 0), 1);
    /* tshark -Y "tcp.stream==0": frames 1..11; frame 11 is the ACK after FIN 9 / FIN 10, so the flow is 1..10. */
    check_pcap(pl.paths[0], &s, 0, 10, 0, DLT_EN10MB);
    const struct td_evidence_stats *st = td_evidence_stats(pl.ev);
    CU_ASSERT_EQUAL(st->files_written, 1);
    CU_ASSERT_EQUAL(st->packets_written, 10);
    td_evidence_free(pl.ev);
    remove_dir(dir);
    sample_free(&s);
}

/* A closed flow given to td_evidence_close by hand. */
static struct td_flow_info info_of(const struct sample *s, uint64_t first, uint64_t last)
{
    struct td_flow_info info = {.id = first, .first_frame = first, .last_frame = last, .transport = TD_TRANSPORT_TCP};
    info.client = s->seg[0].src; // frame 1 is the client's SYN in every sample used here
    info.server = s->seg[0].dst;
    info.client_port = s->seg[0].sport;
    info.server_port = s->seg[0].dport;
    return info;
}

static void close_keep(struct td_evidence *ev, const struct td_flow_info *info, const char *input, char *path,
                       size_t path_len)
{
    struct td_error err = {0};
    CU_ASSERT_EQUAL(td_evidence_close(ev, info, true, input, path, path_len, &err), TD_OK);
}

/* Per-flow caps: packets (4 of 6 kept), then bytes (frame 4 of 383 bytes does not fit, nor anything after). */
static void test_flow_caps(void)
{
    struct sample s;
    sample_load(&s, "reset-after-client-hello.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    char path[TD_EVIDENCE_PATH_LEN];
    struct td_evidence *ev = new_ev(dir, (struct td_evidence_options){.max_packets_per_flow = 4});
    for (size_t i = 0; i < s.num; i++) {
        feed(ev, &s, i, i + 1, 0);
    }
    struct td_flow_info info = info_of(&s, 1, 6);
    close_keep(ev, &info, "a.pcap", path, sizeof(path));
    check_pcap(path, &s, 0, 4, 0, DLT_EN10MB);
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->packets_over_flow_cap, 2);
    td_evidence_free(ev);
    remove_dir(dir);

    make_dir(dir, sizeof(dir));
    /* caplens 74, 74, 66, 383, 66, 66: 214 + 1 holds frames 1-3; frame 4 is refused, and 5 and 6 too
     * (66 would fit, but the file must not have a hole). */
    ev = new_ev(dir, (struct td_evidence_options){.max_bytes_per_flow = 215});
    for (size_t i = 0; i < s.num; i++) {
        feed(ev, &s, i, i + 1, 0);
    }
    close_keep(ev, &info, "a.pcap", path, sizeof(path));
    check_pcap(path, &s, 0, 3, 0, DLT_EN10MB);
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->packets_over_flow_cap, 3);
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->packets_over_total_cap, 0);
    td_evidence_free(ev);
    remove_dir(dir);

    /* Port reuse at the cap (4 frames): connection 1 is frames 1-3, connection 2 starts at frame 4 and
     * loses frame 5. Closing connection 1 does not reopen the entry: connection 2 keeps its prefix (frame 4). */
    make_dir(dir, sizeof(dir));
    ev = new_ev(dir, (struct td_evidence_options){.max_packets_per_flow = 4});
    for (size_t i = 0; i < 3; i++) {
        feed(ev, &s, i, i + 1, 0);
    }
    feed(ev, &s, 0, 4, SEC);
    feed(ev, &s, 1, 5, SEC);
    info = info_of(&s, 1, 3);
    close_keep(ev, &info, "a.pcap", path, sizeof(path));
    check_pcap(path, &s, 0, 3, 0, DLT_EN10MB);
    feed(ev, &s, 2, 6, SEC);
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->packets_over_flow_cap, 2);
    info = info_of(&s, 4, 6);
    close_keep(ev, &info, "a.pcap", path, sizeof(path));
    check_pcap(path, &s, 0, 1, SEC, DLT_EN10MB);
    /* Now the tuple is free: a third connection is stored whole (frames 7-9). */
    for (size_t i = 0; i < 3; i++) {
        feed(ev, &s, i, i + 7, 2 * SEC);
    }
    info = info_of(&s, 7, 9);
    close_keep(ev, &info, "a.pcap", path, sizeof(path));
    check_pcap(path, &s, 0, 3, 2 * SEC, DLT_EN10MB);
    td_evidence_free(ev);
    remove_dir(dir);
    sample_free(&s);
}

/* The total cap: 597 bytes = frames 1-4 (74+74+66+383); a second connection gets nothing. */
static void test_total_cap(void)
{
    struct sample a;
    struct sample b;
    sample_load(&a, "reset-after-client-hello.pcap");
    sample_load(&b, "version-mismatch.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    char path[TD_EVIDENCE_PATH_LEN];
    struct td_evidence *ev = new_ev(dir, (struct td_evidence_options){.max_total_bytes = 597});
    for (size_t i = 0; i < a.num; i++) {
        feed(ev, &a, i, i + 1, 0);
    }
    feed(ev, &b, 0, 7, 0);
    const struct td_evidence_stats *st = td_evidence_stats(ev);
    CU_ASSERT_EQUAL(st->packets_over_total_cap, 3);
    CU_ASSERT_EQUAL(st->packets_over_flow_cap, 0);
    CU_ASSERT_EQUAL(st->bytes_held_max, 597);
    struct td_flow_info info = info_of(&a, 1, 6);
    close_keep(ev, &info, "a.pcap", path, sizeof(path));
    check_pcap(path, &a, 0, 4, 0, DLT_EN10MB);
    /* B refused its SYN, so it refuses the rest (no file without its start); a new tuple is stored. */
    feed(ev, &b, 1, 8, 0);
    CU_ASSERT_EQUAL(st->packets_over_total_cap, 4);
    CU_ASSERT_EQUAL(st->bytes_held, 0);
    struct sample c = b;
    c.seg[0].sport = (uint16_t)(b.seg[0].sport + 1);
    feed(ev, &c, 0, 9, 0);
    CU_ASSERT_EQUAL(st->bytes_held, 74);
    CU_ASSERT_EQUAL(st->packets_over_total_cap, 4);
    td_evidence_free(ev);
    remove_dir(dir);
    sample_free(&a);
    sample_free(&b);
}

/* One 5-tuple, two connections: frames split by frame range; a straggler of the first is stale for the second. */
static void test_port_reuse(void)
{
    struct sample s;
    sample_load(&s, "reset-after-client-hello.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    char path1[TD_EVIDENCE_PATH_LEN];
    char path2[TD_EVIDENCE_PATH_LEN];
    struct td_evidence *ev = new_ev(dir, (struct td_evidence_options){0});
    /* Connection 1: frames 1-4 (originals 1-4); 5 is its straggler (original 5). Connection 2 starts at
     * frame 6 (originals 1-6 again, 10 s later) before connection 1 is closed. */
    for (size_t i = 0; i < 5; i++) {
        feed(ev, &s, i, i + 1, 0);
    }
    feed(ev, &s, 0, 6, 10 * SEC);
    feed(ev, &s, 1, 7, 10 * SEC);
    struct td_flow_info info1 = info_of(&s, 1, 4);
    close_keep(ev, &info1, "reuse.pcap", path1, sizeof(path1));
    check_pcap(path1, &s, 0, 4, 0, DLT_EN10MB);
    for (size_t i = 2; i < 6; i++) {
        feed(ev, &s, i, i + 6, 10 * SEC);
    }
    struct td_flow_info info2 = info_of(&s, 6, 11);
    close_keep(ev, &info2, "reuse.pcap", path2, sizeof(path2));
    check_pcap(path2, &s, 0, 6, 10 * SEC, DLT_EN10MB);
    CU_ASSERT_STRING_NOT_EQUAL(path1, path2);
    CU_ASSERT(strstr(path2, "/reuse-6-127.0.0.1.37500-127.0.0.1.4453.pcap") != NULL);
    const struct td_evidence_stats *st = td_evidence_stats(ev);
    CU_ASSERT_EQUAL(st->files_written, 2);
    CU_ASSERT_EQUAL(st->packets_written, 10);
    CU_ASSERT_EQUAL(st->packets_unclaimed, 1); // frame 5
    CU_ASSERT_EQUAL(st->bytes_held, 0);
    CU_ASSERT_EQUAL(list_dir(dir, NULL, 0), 2);
    td_evidence_free(ev);
    remove_dir(dir);
    sample_free(&s);
}

/* Idle entries are dropped by packet time; a close finding nothing writes nothing. */
static void test_expire(void)
{
    struct sample a;
    struct sample b;
    sample_load(&a, "reset-after-client-hello.pcap");
    sample_load(&b, "version-mismatch.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    struct td_evidence *ev = new_ev(dir, (struct td_evidence_options){.idle_ns = 50 * SEC});
    int64_t t0 = a.frame[0].ts_ns;
    for (size_t i = 0; i < 3; i++) {
        feed(ev, &a, i, i + 1, 0); // tuple A at t0 (plus microseconds)
    }
    feed(ev, &b, 0, 4, t0 + 100 * SEC - b.frame[0].ts_ns); // tuple B at t0 + 100 s
    td_evidence_expire(ev, t0 + 120 * SEC);
    const struct td_evidence_stats *st = td_evidence_stats(ev);
    CU_ASSERT_EQUAL(st->entries_expired, 1);
    CU_ASSERT_EQUAL(st->packets_unclaimed, 3);
    CU_ASSERT_EQUAL(st->bytes_held, 74);
    char path[TD_EVIDENCE_PATH_LEN] = "x";
    struct td_flow_info info = info_of(&a, 1, 3);
    close_keep(ev, &info, "a.pcap", path, sizeof(path));
    CU_ASSERT_STRING_EQUAL(path, "");
    CU_ASSERT_EQUAL(st->closes_without_packets, 1);
    CU_ASSERT_EQUAL(list_dir(dir, NULL, 0), 0);
    td_evidence_expire(ev, t0 + 150 * SEC); // B idle exactly 50 s: not more than idle_ns
    CU_ASSERT_EQUAL(st->entries_expired, 1);
    td_evidence_expire(ev, t0 + 150 * SEC + 1);
    CU_ASSERT_EQUAL(st->entries_expired, 2);
    CU_ASSERT_EQUAL(st->bytes_held, 0);
    td_evidence_free(ev);
    remove_dir(dir);
    sample_free(&a);
    sample_free(&b);
}

/* max_entries: the least recently touched entry is evicted. */
static void test_evict(void)
{
    struct sample a;
    struct sample b;
    sample_load(&a, "reset-after-client-hello.pcap");
    sample_load(&b, "version-mismatch.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    struct td_evidence *ev = new_ev(dir, (struct td_evidence_options){.max_entries = 2});
    feed(ev, &a, 0, 1, 0);
    feed(ev, &b, 0, 2, 0);
    feed(ev, &a, 1, 3, 0);                      // A touched last: B is the oldest
    struct sample c = a;                        // a third tuple: A's SYN from another client port
    c.seg[0].sport = (uint16_t)(a.seg[0].sport + 1);
    feed(ev, &c, 0, 4, 0);
    const struct td_evidence_stats *st = td_evidence_stats(ev);
    CU_ASSERT_EQUAL(st->entries_evicted, 1);
    CU_ASSERT_EQUAL(st->packets_unclaimed, 1);
    char path[TD_EVIDENCE_PATH_LEN];
    struct td_flow_info info = info_of(&b, 2, 2);
    close_keep(ev, &info, "b.pcap", path, sizeof(path));
    CU_ASSERT_EQUAL(st->closes_without_packets, 1); // B's frames went with its entry
    info = info_of(&a, 1, 3);
    close_keep(ev, &info, "a.pcap", path, sizeof(path));
    check_pcap(path, &a, 0, 2, 0, DLT_EN10MB);
    td_evidence_free(ev);
    remove_dir(dir);
    sample_free(&a);
    sample_free(&b);
}

/* Frames of another link type in the range are skipped; raw IP (LINKTYPE_RAW 101) and an IPv6 file name. */
static void test_linktypes_and_names(void)
{
    struct sample s;
    sample_load(&s, "reset-after-client-hello.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    char path[TD_EVIDENCE_PATH_LEN];
    struct td_evidence *ev = new_ev(dir, (struct td_evidence_options){0});
    feed(ev, &s, 0, 1, 0);
    struct td_frame f = s.frame[1];
    f.frame = 2;
    f.linktype = 113; // LINUX_SLL: a second interface of a pcapng
    td_evidence_packet(ev, &f, &s.seg[1], TD_TRANSPORT_TCP);
    feed(ev, &s, 2, 3, 0);
    struct td_flow_info info = info_of(&s, 1, 3);
    close_keep(ev, &info, "mixed.pcapng", path, sizeof(path));
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->packets_linktype_skipped, 1);
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->packets_written, 2);
    /* Expect frames 1 and 3: check the first, then the file's count. */
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    struct pcap_pkthdr *h;
    const u_char *data;
    int n = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        const struct td_frame *want = &s.frame[n == 0 ? 0 : 2];
        CU_ASSERT(h->caplen == want->caplen && memcmp(data, want->data, want->caplen) == 0);
        n++;
    }
    CU_ASSERT_EQUAL(n, 2);
    pcap_close(p);

    /* IPv6 on raw IP: LINKTYPE 101 must be written as libpcap's DLT_RAW (101 is refused as a DLT). The
     * bytes are the sample's IPv4 frame 4 minus its 14-byte Ethernet header; only the key is IPv6. */
    struct td_segment seg = s.seg[3];
    const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    seg.src.family = 6;
    seg.dst.family = 6;
    memcpy(seg.src.bytes, a6, 16);
    memcpy(seg.dst.bytes, a6, 16);
    seg.dst.bytes[15] = 0x02;
    struct td_frame raw = s.frame[3];
    struct td_cursor c;
    struct td_cursor ip;
    td_cursor_init(&c, raw.data, raw.caplen, 0);
    CU_ASSERT_FATAL(td_cursor_skip(&c, 14) && td_cursor_get_bytes(&c, &ip, raw.caplen - 14u));
    raw.data = td_cursor_data(&ip);
    raw.caplen -= 14;
    raw.wire_len -= 14;
    raw.linktype = 101;
    raw.frame = 42;
    /* Before 1970 (1969-12-31 23:59:58.5; a corpus pcapng has such times): the fraction must stay in
     * [0, 1e9). libpcap reads the seconds back signed; Wireshark shows them unsigned (pcap's limit). */
    raw.ts_ns = -1500000000ll;
    td_evidence_packet(ev, &raw, &seg, TD_TRANSPORT_TCP);
    struct td_flow_info i6 = {.first_frame = 42, .last_frame = 42, .transport = TD_TRANSPORT_TCP,
                              .client = seg.src, .server = seg.dst, .client_port = seg.sport, .server_port = seg.dport};
    close_keep(ev, &i6, "/captures/site 1/trace.pcapng.gz", path, sizeof(path));
    char want[256];
    snprintf(want, sizeof(want), "%s/trace-42-2001-db8--1.%u-2001-db8--2.%u.pcap", dir, seg.sport, seg.dport);
    CU_ASSERT_STRING_EQUAL(path, want);
    p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(pcap_datalink(p), DLT_RAW);
    CU_ASSERT_EQUAL_FATAL(pcap_next_ex(p, &h, &data), 1);
    CU_ASSERT_EQUAL(h->ts.tv_sec, -2);
    CU_ASSERT_EQUAL(h->ts.tv_usec, 500000000);
    CU_ASSERT(h->caplen == raw.caplen && memcmp(data, raw.data, raw.caplen) == 0);
    pcap_close(p);

    /* The stem: no directory, no extension, unsafe characters replaced, never hidden; live: the interface. */
    td_evidence_packet(ev, &raw, &seg, TD_TRANSPORT_TCP);
    close_keep(ev, &i6, ".hidden name?.cap", path, sizeof(path));
    CU_ASSERT(strstr(path, "/_hidden_name_-42-") != NULL);
    td_evidence_packet(ev, &raw, &seg, TD_TRANSPORT_TCP);
    close_keep(ev, &i6, "eth0", path, sizeof(path));
    CU_ASSERT(strstr(path, "/eth0-42-") != NULL);
    td_evidence_packet(ev, &raw, &seg, TD_TRANSPORT_TCP);
    close_keep(ev, &i6, NULL, path, sizeof(path));
    CU_ASSERT(strstr(path, "/capture-42-") != NULL);
    CU_ASSERT_EQUAL(list_dir(dir, NULL, 0), 5);
    td_evidence_free(ev);
    remove_dir(dir);
    sample_free(&s);
}

/* DIR missing, not a directory, not writable: refused at startup with a message naming it. A write
 * failing later is TD_ERR_IO, and the frames are freed anyway. */
static void test_dir_errors(void)
{
    struct td_evidence *ev = (struct td_evidence *)1;
    struct td_error err = {0};
    struct td_evidence_options o = {.dir = "/nonexistent/td-evidence"};
    CU_ASSERT_EQUAL(td_evidence_new(&o, &ev, &err), TD_ERR_USAGE);
    CU_ASSERT_PTR_NULL(ev);
    CU_ASSERT(strstr(err.msg, "/nonexistent/td-evidence does not exist") != NULL);

    o.dir = TD_SAMPLES_DIR "/tls13.pcap";
    CU_ASSERT_EQUAL(td_evidence_new(&o, &ev, &err), TD_ERR_USAGE);
    CU_ASSERT(strstr(err.msg, "tls13.pcap is not a directory") != NULL);

    /* /proc/self cannot be written to, not even by root (who bypasses a chmod'ed directory). */
    o.dir = "/proc/self";
    CU_ASSERT_EQUAL(td_evidence_new(&o, &ev, &err), TD_ERR_USAGE);
    CU_ASSERT(strstr(err.msg, "/proc/self is not writable") != NULL);

    char dir[64];
    make_dir(dir, sizeof(dir));
    if (geteuid() != 0) {
        CU_ASSERT_FATAL(chmod(dir, 0500) == 0);
        o.dir = dir;
        CU_ASSERT_EQUAL(td_evidence_new(&o, &ev, &err), TD_ERR_USAGE);
        CU_ASSERT(strstr(err.msg, "is not writable") != NULL);
        CU_ASSERT_FATAL(chmod(dir, 0700) == 0);
    }

    o.dir = NULL;
    CU_ASSERT_EQUAL(td_evidence_new(&o, &ev, &err), TD_ERR_USAGE);

    struct sample s;
    sample_load(&s, "reset-after-client-hello.pcap");
    ev = new_ev(dir, (struct td_evidence_options){0});
    feed(ev, &s, 0, 1, 0);
    feed(ev, &s, 1, 2, 0);
    rmdir(dir); // the directory disappears during the run
    char path[TD_EVIDENCE_PATH_LEN];
    struct td_flow_info info = info_of(&s, 1, 2);
    CU_ASSERT_EQUAL(td_evidence_close(ev, &info, true, "a.pcap", path, sizeof(path), &err), TD_ERR_IO);
    CU_ASSERT(strstr(err.msg, dir) != NULL);
    CU_ASSERT_STRING_EQUAL(path, "");
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->bytes_held, 0);
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->files_written, 0);

    /* A path buffer too short is refused before anything is written. */
    CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
    feed(ev, &s, 0, 1, 0);
    char small[16];
    CU_ASSERT_EQUAL(td_evidence_close(ev, &info, true, "a.pcap", small, sizeof(small), &err), TD_ERR_USAGE);
    CU_ASSERT_EQUAL(list_dir(dir, NULL, 0), 0);
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->bytes_held, 0);
    td_evidence_free(ev);
    remove_dir(dir);
    sample_free(&s);
    td_evidence_free(NULL);
}

/* A TCP connection and a UDP (DTLS) flow between the same ports at the same time: each pcap holds its own frames
 * only. Frames 1, 3, 5 go in as TCP, 2, 4, 6 as UDP (the bytes do not matter to the collector). */
static void test_tcp_and_udp_on_one_tuple(void)
{
    struct sample s;
    sample_load(&s, "reset-after-client-hello.pcap");
    char dir[64];
    make_dir(dir, sizeof(dir));
    char path[TD_EVIDENCE_PATH_LEN];
    struct td_evidence *ev = new_ev(dir, (struct td_evidence_options){0});
    for (uint64_t n = 1; n <= 6; n++) {
        struct td_frame f = s.frame[0];
        f.frame = n;
        td_evidence_packet(ev, &f, &s.seg[0], n % 2 == 1 ? TD_TRANSPORT_TCP : TD_TRANSPORT_UDP);
    }
    struct td_flow_info tcp = info_of(&s, 1, 5);
    struct td_flow_info udp = info_of(&s, 2, 6);
    udp.transport = TD_TRANSPORT_UDP;
    close_keep(ev, &tcp, "tcp.pcap", path, sizeof(path));
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->packets_written, 3);
    close_keep(ev, &udp, "udp.pcap", path, sizeof(path));
    CU_ASSERT_EQUAL(td_evidence_stats(ev)->packets_written, 6);
    CU_ASSERT_EQUAL(list_dir(dir, NULL, 0), 2);
    td_evidence_free(ev);
    remove_dir(dir);
    sample_free(&s);
}

static CU_TestInfo tests[] = {
    {"reset: whole flow, byte-identical", test_reset_whole_flow},
    {"version mismatch: frames 1-9", test_version_mismatch},
    {"keep=false writes nothing", test_keep_false_writes_nothing},
    {"per-flow caps", test_flow_caps},
    {"total cap", test_total_cap},
    {"port reuse: split by frame range", test_port_reuse},
    {"expire idle entries", test_expire},
    {"evict least recently touched", test_evict},
    {"link types and file names", test_linktypes_and_names},
    {"directory errors", test_dir_errors},
    {"TCP and UDP on one tuple", test_tcp_and_udp_on_one_tuple},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("evidence", tests)
