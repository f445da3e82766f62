/* SPDX-License-Identifier: MIT */
/* pipeline.h: the offline driver: capture files -> frames -> TCP segments -> flows -> TLS dissector -> report. */
#ifndef TD_CLI_PIPELINE_H
#define TD_CLI_PIPELINE_H

#include "../capture/limits.h"
#include "../reports/report.h"

struct td_pipeline_options {
    struct td_limits limits;
    bool classify;                  /* run nDPI */
    const struct td_ruleset *rules; /* evaluated on every connection, alert and server; NULL: none */
};

/* Servers aggregated per input file for the server.* facts; connections to further servers are not aggregated. */
#define TD_PIPELINE_MAX_SERVERS 65536u

/* Per-run outcome, for the exit code. */
struct td_pipeline_result {
    size_t inputs_read;      /* files analysed to their end */
    size_t inputs_partial;   /* files that broke mid-way (what was read is in the report) */
    size_t inputs_failed;    /* files that could not be opened or are not captures */
    uint64_t frames;
    uint64_t bytes;
};

/* td_pipeline_run analyses the given paths in order (directories are walked recursively, entries sorted by
 * name; files in a directory that are not captures are skipped with a note on stderr) and adds everything to
 * report. Messages about unreadable or broken inputs go to errs (one line each). Returns TD_OK, or
 * TD_ERR_RESOURCE when memory ran out. */
TD_MUST_USE enum td_err td_pipeline_run(const struct td_pipeline_options *opts, char *const *paths, size_t num_paths,
                                        struct td_report *report, FILE *errs, struct td_pipeline_result *result,
                                        struct td_flow_stats *flow_stats);

#endif
