/* SPDX-License-Identifier: MIT */
/* live_run.h: `tlsdiag live`: the engine fed from a live interface until SIGINT/SIGTERM, with idle flows ended
 * by the wall clock, periodic statistics events, and the event file reopened on SIGHUP (log rotation). */
#ifndef TD_CLI_LIVE_RUN_H
#define TD_CLI_LIVE_RUN_H

#include <stdio.h>

#include "../capture/live.h"
#include "pipeline.h"

struct td_live_run_options {
    struct td_live_options live;
    const char *drop_user;       /* -Z USER: switch to it once the capture is open; NULL: stay */
    uint32_t stats_interval_s;   /* a statistics event every this many seconds; 0: only at the end */
    const char *events_path;     /* the event file, reopened on SIGHUP; NULL or "-": nothing to reopen */
};

/* td_live_run captures and analyses until stopped. *events is the open event stream (replaced on SIGHUP;
 * the caller closes the final one). Messages go to errs. Returns an exit status (exit_codes.h): 0 stopped by a
 * signal, 2 bad interface or filter, 3 the capture could not be opened, 4 the capture broke, 6 out of memory.
 * The report is not finished here. */
int td_live_run(const struct td_pipeline_options *popts, const struct td_live_run_options *lo,
                struct td_report *report, FILE **events, FILE *errs, struct td_flow_stats *flow_stats);

#endif
