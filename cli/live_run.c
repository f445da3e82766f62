/* SPDX-License-Identifier: MIT */
/* live_run.c: the live driver. Frames from the interface go through the same engine as files; the wall clock
 * (CLOCK_REALTIME, the clock the kernel stamps packets with) ends idle flows while the link is quiet and paces
 * the statistics events. Signals only set flags or wake the capture (td_live_stop is async-signal-safe); all
 * the work happens in the loop. */
#include "live_run.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "exit_codes.h"

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

static void stats_event(struct td_report *report, struct td_engine *engine, struct td_live *live, const char *iface,
                        int64_t start_ns)
{
    const struct td_input_summary *in = td_engine_input(engine);
    const struct td_flow_stats *fs = td_engine_flow_stats(engine);
    int64_t t = now_ns();
    struct td_event_stats s = {
        .time_ns = t,
        .input = iface,
        .live = true,
        .packets = in->frames,
        .bytes = in->bytes,
        .flows_active = td_engine_active_flows(engine),
        .flows_total = fs->flows_total,
        .flows_evicted = fs->flows_evicted,
        .rss_bytes = td_report_rss_bytes(),
        .uptime_ns = t - start_ns,
    };
    struct td_live_stats ls;
    if (td_live_stats(live, &ls)) {
        s.has_drops = true;
        s.packets_dropped_kernel = ls.dropped;
        s.packets_dropped_interface = ls.if_dropped;
    }
    td_report_stats_event(report, &s);
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
    const char *iface = lo->live.iface != NULL ? lo->live.iface : TD_LIVE_DEFAULT_IFACE;
    struct sigaction old_int, old_term, old_hup;
    g_live = live;
    g_reopen = 0;
    g_stop_signal = 0;
    install(SIGINT, on_stop_signal, &old_int);
    install(SIGTERM, on_stop_signal, &old_term);
    install(SIGHUP, on_hup, &old_hup);

    td_engine_begin_input(engine, iface);
    int64_t start = now_ns();
    int64_t next_stats = lo->stats_interval_s > 0 ? start + (int64_t)lo->stats_interval_s * 1000000000 : INT64_MAX;
    int status = TD_EXIT_ANALYSED;
    const char *broke = NULL;
    struct td_frame frame;
    uint64_t frames = 0;
    for (;;) {
        enum td_live_status st = td_live_next(live, &frame, &err);
        if (st == TD_LIVE_STOPPED) {
            break;
        }
        if (st == TD_LIVE_ERROR) {
            fprintf(errs, "tlsdiag: %s\n", err.msg);
            broke = err.msg;
            status = TD_EXIT_PARTIAL_INPUT;
            break;
        }
        if (st == TD_LIVE_FRAME) {
            td_engine_frame(engine, &frame);
            if ((++frames % CLOCK_EVERY_FRAMES) != 0) {
                continue;
            }
        }
        if (g_reopen) {
            g_reopen = 0;
            reopen_events(lo, report, events, errs);
        }
        int64_t t = now_ns();
        td_engine_tick(engine, t);
        if (t >= next_stats) {
            stats_event(report, engine, live, iface, start);
            next_stats = t + (int64_t)lo->stats_interval_s * 1000000000;
        }
        if (td_engine_out_of_memory(engine)) {
            fprintf(errs, "tlsdiag: out of memory; lower --max-flows\n");
            status = TD_EXIT_INTERNAL;
            break;
        }
    }
    /* Everything in flight is reported: open flows end as at the end of a file. */
    uint32_t linktype = td_live_linktype(live);
    struct td_engine_input end = {.format = "live", .linktypes = &linktype, .num_linktypes = 1, .error = broke};
    td_engine_end_input(engine, &end);
    stats_event(report, engine, live, iface, start);
    *flow_stats = *td_engine_flow_stats(engine);
    (void)sigaction(SIGINT, &old_int, NULL);
    (void)sigaction(SIGTERM, &old_term, NULL);
    (void)sigaction(SIGHUP, &old_hup, NULL);
    g_live = NULL;
    td_engine_free(engine);
    td_live_free(live);
    return status;
}
