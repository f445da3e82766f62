/* SPDX-License-Identifier: MIT */
/* events.h: private to reports/: NDJSON events, one JSON object per connection, statistics tick or input file,
 * with Elastic Common Schema field names (ECS 8.17; docs/EVENTS.md lists every field). The caller writes each
 * object as one line (json_dumpb with JSON_COMPACT) and flushes; nothing here writes or keeps state.
 * Facts ECS has no name for are under the "tlsdiag" object. Unknown facts are left out, never null. */
#ifndef TD_REPORTS_EVENTS_H
#define TD_REPORTS_EVENTS_H

#include "internal.h"

/* The ECS version whose field names the events follow (also written as ecs.version). */
#define TD_EVENT_ECS_VERSION "8.17.0"

/* td_event_connection builds the event of one finished connection ("event.dataset": "tlsdiag.connection").
 * input_name: the capture file or interface it came from (NULL: left out). findings: borrowed array of finding
 * objects as td_json_finding builds them, most severe first (td_json_sort_findings), or NULL; the event holds a
 * reference to it (shared, not copied), so it must not change while the event is alive. Returns a new
 * reference, or NULL when even the top object could not be allocated; a failed part is counted in ctx. */
json_t *td_event_connection(struct td_json_ctx *ctx, const char *input_name, size_t input_index,
                            const struct td_flow_info *info, const struct td_tls_facts *facts, json_t *findings);

/* struct td_event_stats (the counters of a statistics event) is in report.h: the live driver fills it. */
/* td_event_stats builds a statistics event ("event.dataset": "tlsdiag.stats"). Returns a new reference, or NULL
 * when the top object could not be allocated. */
json_t *td_event_stats(struct td_json_ctx *ctx, const struct td_event_stats *s);

/* td_event_rss_bytes returns this process's resident set size from /proc/self/statm, or 0 when it cannot be
 * read (not Linux, /proc not mounted). */
uint64_t td_event_rss_bytes(void);

enum td_event_input_phase {
    TD_EVENT_INPUT_STARTED,
    TD_EVENT_INPUT_FINISHED,
};

/* td_event_input builds an input event ("event.dataset": "tlsdiag.input") when a capture file is opened
 * (STARTED: in->path, and in->format when known) or done (FINISHED: the whole summary; in->error makes the
 * outcome a failure). time_ns: the wall clock now. Returns a new reference, or NULL when the top object could
 * not be allocated. */
json_t *td_event_input(struct td_json_ctx *ctx, int64_t time_ns, enum td_event_input_phase phase, size_t input_index,
                       const struct td_input_summary *in);

#endif
