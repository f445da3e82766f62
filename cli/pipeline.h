/* SPDX-License-Identifier: MIT */
/* pipeline.h: the offline driver: capture files -> frames -> TCP segments -> flows -> TLS dissector -> report. */
#ifndef TD_CLI_PIPELINE_H
#define TD_CLI_PIPELINE_H

#include <signal.h>

#include "../capture/limits.h"
#include "../capture/reader.h"
#include "../reports/report.h"

struct td_progress;
struct td_evidence;

struct td_pipeline_options {
    struct td_limits limits;
    bool classify;                  /* run nDPI */
    bool no_spill;                  /* --no-spill: settled connections stay in memory (capture/spill.h) */
    const struct td_ruleset *rules; /* evaluated on every connection, alert and server; NULL: none */
    struct td_progress *progress;   /* offline: the progress line (progress.h), NULL: none */
    struct td_evidence *evidence;   /* --evidence: failed connections' frames to pcaps (evidence.h), NULL: off */
    uint32_t threads;               /* offline worker threads (0 or 1: this thread only; not with --evidence) */
    const volatile sig_atomic_t *stop; /* offline: set (by a signal handler) to stop reading; NULL: never */
};

/* Servers aggregated per input file for the server.* facts; connections to further servers are not aggregated. */
#define TD_PIPELINE_MAX_SERVERS 65536u

/* The engine: frames in, connections out to the report (decode, flow table, TLS dissector, rules, per-server
 * aggregation). td_pipeline_run drives it over files; `tlsdiag live` over an interface. */
struct td_engine;

/* How an input ended, for its summary in the report. */
struct td_engine_input {
    const char *format;          /* "pcap", "pcapng+gzip", "live", ... */
    const uint32_t *linktypes;   /* distinct link types seen */
    size_t num_linktypes;
    const char *error;           /* NULL, or why reading stopped early (a full sentence) */
};

/* td_engine_new returns an engine adding to report (NULL when memory ran out); notes go to errs. */
TD_MUST_USE struct td_engine *td_engine_new(const struct td_pipeline_options *opts, struct td_report *report,
                                            FILE *errs);
/* td_engine_begin_input starts an input (a file path or an interface name; the string must stay valid until
 * td_engine_end_input). */
void td_engine_begin_input(struct td_engine *e, const char *name);
/* td_engine_frame analyses one frame of the current input. */
void td_engine_frame(struct td_engine *e, const struct td_frame *frame);
/* td_engine_tick closes the flows idle at now_ns (live capture calls it when the link is quiet). */
void td_engine_tick(struct td_engine *e, int64_t now_ns);
/* td_engine_end_input closes every open flow, evaluates the server rules and adds the input's summary. */
void td_engine_end_input(struct td_engine *e, const struct td_engine_input *end);
/* What the current input has shown so far (frames, bytes, decode counters). */
const struct td_input_summary *td_engine_input(const struct td_engine *e);
uint64_t td_engine_active_flows(const struct td_engine *e);
const struct td_flow_stats *td_engine_flow_stats(const struct td_engine *e);
bool td_engine_out_of_memory(const struct td_engine *e);
void td_engine_free(struct td_engine *e);

/* Per-run outcome, for the exit code. */
struct td_pipeline_result {
    bool interrupted;        /* opts->stop was set: inputs were not read to their end */
    size_t inputs_read;      /* files analysed to their end */
    size_t inputs_partial;   /* files that broke mid-way (what was read is in the report) */
    size_t inputs_failed;    /* files that could not be opened or are not captures */
    uint64_t frames;
    uint64_t bytes;
};

/* td_pipeline_measure counts the capture candidates under paths (files, directories walked as
 * td_pipeline_run walks them) and their bytes, for the progress line. */
void td_pipeline_measure(char *const *paths, size_t num_paths, uint64_t *bytes, size_t *files);

/* td_pipeline_run analyses the given paths in order (directories are walked recursively, entries sorted by
 * name; files in a directory that are not captures are skipped with a note on stderr) and adds everything to
 * report. Messages about unreadable or broken inputs go to errs (one line each). Returns TD_OK, or
 * TD_ERR_RESOURCE when memory ran out. */
TD_MUST_USE enum td_err td_pipeline_run(const struct td_pipeline_options *opts, char *const *paths, size_t num_paths,
                                        struct td_report *report, FILE *errs, struct td_pipeline_result *result,
                                        struct td_flow_stats *flow_stats);

#endif
