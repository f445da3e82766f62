/* SPDX-License-Identifier: MIT */
/* live_run.c: the live driver. Frames from the interface go through the same engine as files; the wall clock
 * (CLOCK_REALTIME, the clock the kernel stamps packets with) ends idle flows while the link is quiet and paces
 * the statistics events. Signals only set flags or wake the capture (td_live_stop is async-signal-safe); all
 * the work happens in the loop. */
#include "live_run.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "exit_codes.h"
#include "frame_ring.h"
#include "pipeline_internal.h"

/* How often the loop looks at the clock while packets keep coming (a clock read per packet would cost more
 * than a small packet's analysis); the capture's own timeout covers a quiet link. */
#define CLOCK_EVERY_FRAMES 1024u

static struct td_live *g_live;              /* the capture signal handlers stop */
static volatile sig_atomic_t g_reopen;      /* SIGHUP seen: reopen the event file */
static volatile sig_atomic_t g_stop_signal; /* the signal that stopped the capture */

static void on_stop_signal(int sig)
{
    g_stop_signal = sig;
    if (g_live != NULL) {
        td_live_stop(g_live);
    }
}

static void on_hup(int sig)
{
    (void)sig;
    g_reopen = 1;
}

static void install(int sig, void (*handler)(int), struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(sig, &sa, old);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* reopen_events swaps in a fresh handle on the event file (after logrotate moved the old one away). */
static void reopen_events(const struct td_live_run_options *lo, struct td_report *report, FILE **events, FILE *errs)
{
    if (lo->events_path == NULL || strcmp(lo->events_path, "-") == 0 || *events == NULL) {
        return;
    }
    FILE *fresh = fopen(lo->events_path, "a");
    if (fresh == NULL) {
        fprintf(errs, "tlsdiag: SIGHUP: cannot reopen '%s': %s; events keep going to the old file\n",
                lo->events_path, strerror(errno));
        return;
    }
    (void)fclose(*events);
    *events = fresh;
    td_report_set_events(report, fresh);
}

/* live_counters: what a statistics event reports besides the clock and the drops. */
struct live_counters {
    uint64_t packets, bytes, flows_active, flows_total, flows_evicted;
};

static void stats_event(struct td_report *report, const struct live_counters *c, const struct td_live_stats *ls,
                        const char *iface, int64_t start_ns)
{
    int64_t t = now_ns();
    struct td_event_stats s = {
        .time_ns = t,
        .input = iface,
        .live = true,
        .packets = c->packets,
        .bytes = c->bytes,
        .flows_active = c->flows_active,
        .flows_total = c->flows_total,
        .flows_evicted = c->flows_evicted,
        .rss_bytes = td_report_rss_bytes(),
        .uptime_ns = t - start_ns,
    };
    if (ls != NULL) {
        s.has_drops = true;
        s.packets_dropped_kernel = ls->dropped;
        s.packets_dropped_interface = ls->if_dropped;
    }
    td_report_stats_event(report, &s);
}

static struct live_counters engine_counters(struct td_engine *engine)
{
    const struct td_input_summary *in = td_engine_input(engine);
    const struct td_flow_stats *fs = td_engine_flow_stats(engine);
    return (struct live_counters){.packets = in->frames, .bytes = in->bytes,
                                  .flows_active = td_engine_active_flows(engine), .flows_total = fs->flows_total,
                                  .flows_evicted = fs->flows_evicted};
}

/* What both drivers share: the capture, the report, the clock. */
struct live_ctx {
    const struct td_live_run_options *lo;
    struct td_live *live;
    struct td_engine *engine;
    struct td_report *report;
    FILE **events;
    FILE *errs;
    const char *iface;
    int64_t start;
    int64_t next_stats;
    int status;
    const char *broke;   /* why the capture broke, NULL when it was stopped */
    struct td_error err;
};

static void schedule_stats(struct live_ctx *x, int64_t t)
{
    x->next_stats = x->lo->stats_interval_s > 0 ? t + (int64_t)x->lo->stats_interval_s * 1000000000 : INT64_MAX;
}

/* run_single: this thread captures and analyses. */
static void run_single(struct live_ctx *x)
{
    struct td_frame frame;
    uint64_t frames = 0;
    for (;;) {
        enum td_live_status st = td_live_next(x->live, &frame, &x->err);
        if (st == TD_LIVE_STOPPED) {
            break;
        }
        if (st == TD_LIVE_ERROR) {
            fprintf(x->errs, "tlsdiag: %s\n", x->err.msg);
            x->broke = x->err.msg;
            x->status = TD_EXIT_PARTIAL_INPUT;
            break;
        }
        if (st == TD_LIVE_FRAME) {
            td_engine_frame(x->engine, &frame);
            if ((++frames % CLOCK_EVERY_FRAMES) != 0) {
                continue;
            }
        }
        if (g_reopen) {
            g_reopen = 0;
            reopen_events(x->lo, x->report, x->events, x->errs);
        }
        int64_t t = now_ns();
        td_engine_tick(x->engine, t);
        if (t >= x->next_stats) {
            struct live_counters c = engine_counters(x->engine);
            struct td_live_stats ls;
            stats_event(x->report, &c, td_live_stats(x->live, &ls) ? &ls : NULL, x->iface, x->start);
            schedule_stats(x, t);
        }
        if (td_engine_out_of_memory(x->engine)) {
            fprintf(x->errs, "tlsdiag: out of memory; lower --max-flows\n");
            x->status = TD_EXIT_INTERNAL;
            break;
        }
    }
}

/* ---- --threads N: a capture thread fills the frame ring, workers analyse, this thread commits ---- */

/* pcap_stats is a system call: the capture thread samples it at most this often for the statistics events. */
#define DROPS_EVERY_NS 250000000

struct threaded {
    struct live_ctx *x;
    struct td_frame_ring *ring;
    pthread_mutex_t mu;          /* guards drops/has_drops */
    struct td_live_stats drops;
    bool has_drops;
    uint64_t cut_frames;         /* frames cut to fit the ring (capture thread) */
};

static void sample_drops(struct threaded *th)
{
    struct td_live_stats ls;
    bool ok = td_live_stats(th->x->live, &ls);
    pthread_mutex_lock(&th->mu);
    th->drops = ls;
    th->has_drops = ok;
    pthread_mutex_unlock(&th->mu);
}

/* capture_main: the only thread that touches the capture handle (libpcap handles are not thread-safe). */
static void *capture_main(void *arg)
{
    struct threaded *th = arg;
    struct live_ctx *x = th->x;
    struct td_frame frame;
    uint64_t frames = 0;
    int64_t next_drops = 0;
    for (;;) {
        enum td_live_status st = td_live_next(x->live, &frame, &x->err);
        if (st == TD_LIVE_STOPPED) {
            break;
        }
        if (st == TD_LIVE_ERROR) {
            x->broke = x->err.msg; /* said by the committing thread once the workers are done */
            break;
        }
        if (st == TD_LIVE_FRAME) {
            if (!td_frame_ring_push(th->ring, &frame)) {
                th->cut_frames++;
            }
            if ((++frames % CLOCK_EVERY_FRAMES) != 0) {
                continue;
            }
        }
        int64_t t = now_ns();
        td_frame_ring_tick(th->ring, t);
        if (t >= next_drops) {
            sample_drops(th);
            next_drops = t + DROPS_EVERY_NS;
        }
    }
    sample_drops(th);
    td_frame_ring_end(th->ring);
    return NULL;
}

/* committer_periodic: statistics events and log rotation, on the thread that owns the report. */
static void committer_periodic(void *ctx, const struct td_shards_counters *c)
{
    struct threaded *th = ctx;
    struct live_ctx *x = th->x;
    if (g_reopen) {
        g_reopen = 0;
        reopen_events(x->lo, x->report, x->events, x->errs);
    }
    int64_t t = now_ns();
    if (t < x->next_stats) {
        return;
    }
    struct live_counters lc = {.packets = c->frames, .bytes = c->bytes, .flows_active = c->flows_active,
                               .flows_total = c->flows_total, .flows_evicted = c->flows_evicted};
    pthread_mutex_lock(&th->mu);
    struct td_live_stats ls = th->drops;
    bool has = th->has_drops;
    pthread_mutex_unlock(&th->mu);
    stats_event(x->report, &lc, has ? &ls : NULL, x->iface, x->start);
    schedule_stats(x, t);
}

static void run_threaded(struct live_ctx *x, uint32_t threads)
{
    struct threaded th = {.x = x, .ring = td_frame_ring_new(TD_FRAME_RING_DEFAULT_BYTES, threads)};
    if (th.ring == NULL) {
        fprintf(x->errs, "tlsdiag: out of memory for the frame ring (%u MiB); try --threads 1\n",
                TD_FRAME_RING_DEFAULT_BYTES >> 20);
        x->status = TD_EXIT_INTERNAL;
        return;
    }
    pthread_mutex_init(&th.mu, NULL);
    sample_drops(&th); /* before the capture thread owns the handle: every statistics event has the drops */
    pthread_t capture;
    if (pthread_create(&capture, NULL, capture_main, &th) != 0) {
        fprintf(x->errs, "tlsdiag: cannot start the capture thread; try --threads 1\n");
        x->status = TD_EXIT_INTERNAL;
    } else {
        struct td_shards_live sl = {.ring = th.ring, .periodic = committer_periodic, .ctx = &th};
        if (!td_shards_analyse_live(x->engine, &sl)) {
            td_live_stop(x->live); /* some workers did not start: end the capture, report what was seen */
        }
        pthread_join(capture, NULL);
        if (x->broke != NULL) {
            fprintf(x->errs, "tlsdiag: %s\n", x->broke);
            x->status = TD_EXIT_PARTIAL_INPUT;
        }
        if (td_engine_out_of_memory(x->engine)) {
            fprintf(x->errs, "tlsdiag: out of memory; lower --max-flows\n");
            x->status = TD_EXIT_INTERNAL;
        }
        if (th.cut_frames > 0) {
            fprintf(x->errs, "tlsdiag: note: %llu frames longer than a quarter of the frame ring were cut\n",
                    (unsigned long long)th.cut_frames);
        }
    }
    pthread_mutex_destroy(&th.mu);
    td_frame_ring_free(th.ring);
}

int td_live_run(const struct td_pipeline_options *popts, const struct td_live_run_options *lo,
                struct td_report *report, FILE **events, FILE *errs, struct td_flow_stats *flow_stats)
{
    struct td_error err = {0};
    struct td_live *live = NULL;
    enum td_err rc = td_live_open(&lo->live, &live, &err);
    if (rc != TD_OK) {
        fprintf(errs, "tlsdiag: %s\n", err.msg);
        return rc == TD_ERR_USAGE ? TD_EXIT_USAGE : rc == TD_ERR_RESOURCE ? TD_EXIT_INTERNAL : TD_EXIT_NO_INPUT;
    }
    const char *warning = td_live_warning(live);
    if (warning != NULL) {
        fprintf(errs, "tlsdiag: note: %s\n", warning);
    }
    if (lo->drop_user != NULL && td_live_drop_privileges(lo->drop_user, &err) != TD_OK) {
        fprintf(errs, "tlsdiag: -Z %s: %s\n", lo->drop_user, err.msg);
        td_live_free(live);
        return err.code == TD_ERR_USAGE ? TD_EXIT_USAGE : TD_EXIT_INTERNAL;
    }
    struct td_engine *engine = td_engine_new(popts, report, errs);
    if (engine == NULL) {
        td_live_free(live);
        fprintf(errs, "tlsdiag: out of memory\n");
        return TD_EXIT_INTERNAL;
    }
    struct live_ctx x = {.lo = lo, .live = live, .engine = engine, .report = report, .events = events,
                         .errs = errs, .iface = lo->live.iface != NULL ? lo->live.iface : TD_LIVE_DEFAULT_IFACE,
                         .status = TD_EXIT_ANALYSED};
    struct sigaction old_int, old_term, old_hup, old_pipe;
    g_live = live;
    g_reopen = 0;
    g_stop_signal = 0;
    install(SIGINT, on_stop_signal, &old_int);
    install(SIGTERM, on_stop_signal, &old_term);
    install(SIGHUP, on_hup, &old_hup);
    /* A reader of the events on standard output that went away stops the capture like SIGTERM: the report is
     * still written (and the one being built beside the --json path is not left behind half done). */
    install(SIGPIPE, on_stop_signal, &old_pipe);

    td_engine_begin_input(engine, x.iface);
    x.start = now_ns();
    schedule_stats(&x, x.start);
    /* --evidence needs every frame in one place, as offline. */
    if (popts->threads > 1 && popts->evidence == NULL) {
        run_threaded(&x, popts->threads);
    } else {
        run_single(&x);
    }
    /* Everything in flight is reported: open flows end as at the end of a file. */
    uint32_t linktype = td_live_linktype(live);
    struct td_engine_input end = {.format = "live", .linktypes = &linktype, .num_linktypes = 1, .error = x.broke};
    td_engine_end_input(engine, &end);
    struct live_counters c = engine_counters(engine);
    struct td_live_stats ls;
    stats_event(report, &c, td_live_stats(live, &ls) ? &ls : NULL, x.iface, x.start);
    *flow_stats = *td_engine_flow_stats(engine);
    (void)sigaction(SIGINT, &old_int, NULL);
    (void)sigaction(SIGTERM, &old_term, NULL);
    (void)sigaction(SIGHUP, &old_hup, NULL);
    (void)sigaction(SIGPIPE, &old_pipe, NULL);
    g_live = NULL;
    td_engine_free(engine);
    td_live_free(live);
    return x.status;
}
