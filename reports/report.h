/* SPDX-License-Identifier: MIT */
/* report.h: the JSON report (jansson; schema in docs/report.schema.json), the NDJSON event stream and the
 * human summary. The only writer of results. Connections are added as their flows close: each is streamed
 * out (its event line at once; its report JSON as soon as every connection that starts before it has ended,
 * td_report_release), so memory does not grow with the number of connections. The report lists connections
 * by first frame and is put in place atomically at the end (temporary file, then rename). */
#ifndef TD_REPORTS_REPORT_H
#define TD_REPORTS_REPORT_H

#include <signal.h>
#include <stdio.h>

#include "../capture/flow.h"
#include "../dissect/facts.h"
#include "../dissect/server.h"
#include "../rules/rules.h"

/* Per input file: what was read. */
struct td_input_summary {
    const char *path;
    const char *format;          /* td_reader_format_name */
    const uint32_t *linktypes;   /* distinct link types, in order of first appearance */
    size_t num_linktypes;
    uint64_t frames;             /* frames read */
    uint64_t bytes;              /* captured bytes of those frames */
    int64_t first_ts_ns, last_ts_ns;
    uint64_t tcp_segments;       /* frames decoded to TCP */
    uint64_t udp;                /* frames decoded to a UDP datagram (no tunnel, or the innermost one's) */
    uint64_t other_ip;           /* IP but neither TCP nor UDP */
    uint64_t not_ip;             /* non-IP frames */
    uint64_t unknown_link;       /* frames of unsupported link types */
    uint64_t truncated;          /* frames whose headers were cut by the snaplen */
    uint64_t malformed;          /* frames with impossible headers */
    uint64_t ip_fragments;
    const char *error;           /* NULL, or why reading stopped early (already a full sentence) */
};

struct td_filter;

struct td_report_options {
    const char *json_path;       /* NULL: no JSON; "-": stdout */
    FILE *summary;               /* NULL: no human summary */
    FILE *events;                /* NULL: no NDJSON events; else one line per listed connection, flushed */
    const struct td_filter *filter; /* NULL: list every connection; else only those it matches (filter.h) */
    bool include_non_tls;        /* also list TCP connections that carried no TLS */
    const char *tool_version;
    const volatile sig_atomic_t *interrupted; /* set by a signal handler: a report being written is not renamed
                                               * into place (the previous file stays); NULL: never */
    size_t hold_max_bytes;       /* JSON of connections waiting for their turn kept in memory (0: 8 MiB); past it
                                    they wait in the spool */
};

struct td_report;

/* Counters for a statistics event (td_report_stats_event). */
struct td_event_stats {
    int64_t time_ns;             /* when they were taken, ns since the epoch (@timestamp) */
    const char *input;           /* interface or capture file name; NULL: left out */
    bool live;                   /* input is an interface (also written as observer.ingress.interface.name) */
    uint64_t packets;            /* frames read */
    uint64_t bytes;              /* captured bytes of those frames */
    bool has_drops;              /* the two drop counters are known (pcap_stats on a live capture) */
    uint64_t packets_dropped_kernel;    /* pcap_stats ps_drop */
    uint64_t packets_dropped_interface; /* pcap_stats ps_ifdrop */
    uint64_t flows_active;       /* flows in the table now */
    uint64_t flows_total;        /* flows opened */
    uint64_t flows_evicted;      /* closed early at max_flows */
    uint64_t connections;        /* connection events reported */
    uint64_t findings[TD_SEVERITY_ERROR + 1]; /* by enum td_severity */
    uint64_t rss_bytes;          /* resident memory (td_event_rss_bytes); 0: unknown, left out */
    int64_t uptime_ns;           /* since the run started */
};


/* td_report_new returns a report or NULL on allocation failure. opts is copied (strings must outlive it). */
TD_MUST_USE struct td_report *td_report_new(const struct td_report_options *opts);
/* td_report_add_input records one input file's summary (call after the file was read). */
void td_report_add_input(struct td_report *r, const struct td_input_summary *in);
/* td_report_set_input_name names the input being read (a file path or an interface) for the events of its
 * connections; the string is copied. */
void td_report_set_input_name(struct td_report *r, const char *name);
/* td_report_add_connection converts one finished connection now (nothing is kept pointing at info or facts
 * after the call). input_index: which input file (0-based) it came from. Its findings follow
 * (td_report_add_finding); td_report_end_connection, the next td_report_add_connection or td_report_finish
 * ends it: then it is filtered, written to the spool and to the event stream, and forgotten. With an event
 * stream, info and facts must stay valid until that end (the event is built then, with the findings). */
void td_report_add_connection(struct td_report *r, size_t input_index, const struct td_flow_info *info,
                              const struct td_tls_facts *facts);
/* td_report_set_evidence names the evidence pcap written for the connection added last ("evidence" in the
 * report, tlsdiag.evidence in its event); path is copied. */
void td_report_set_evidence(struct td_report *r, const char *path);
/* For worker threads (--threads): td_report_prepare converts a connection to its report JSON on the calling
 * thread, reading nothing of r but its options (NULL when no JSON is needed for it); td_report_add_prepared is
 * td_report_add_connection using that conversion, and frees it when free_prep (else the caller frees it with
 * td_report_prepared_free, on the thread that made it, once the connection has ended). */
struct td_report_prepared;
struct td_report_prepared *td_report_prepare(const struct td_report *r, size_t input_index,
                                             const struct td_flow_info *info, const struct td_tls_facts *facts);
void td_report_add_prepared(struct td_report *r, size_t input_index, const struct td_flow_info *info,
                            const struct td_tls_facts *facts, struct td_report_prepared *prep, bool free_prep);
void td_report_prepared_free(struct td_report_prepared *p);
/* td_report_end_connection streams out the connection added last (see above); does nothing when none is open. */
void td_report_end_connection(struct td_report *r);
/* td_report_release says that every connection of input input_index starting below frame below_frame has been
 * added (td_flow_info.closed_below of the flow closed last): those, and every connection of earlier inputs, are
 * written to the JSON report now. The rest wait (in memory up to hold_max_bytes, then in the spool) until a
 * later release, the end of their input (td_report_add_input) or td_report_finish. Ends the open connection. */
void td_report_release(struct td_report *r, size_t input_index, uint64_t below_frame);
/* td_report_add_finding attaches a connection or alert rule's finding to the connection added last by
 * td_report_add_connection. A second finding of the same rule on that connection merges its evidence into
 * the first (findings are deduplicated on rule and connection). Nothing of f is kept after the call. */
void td_report_add_finding(struct td_report *r, const struct td_finding *f);
/* td_report_add_server records the aggregate of one server of input input_index (call at the end of the input). */
void td_report_add_server(struct td_report *r, size_t input_index, const struct td_server_facts *s);
/* td_report_add_server_finding attaches a server rule's finding to the server added last. */
void td_report_add_server_finding(struct td_report *r, const struct td_finding *f);

/* td_report_set_events switches the event stream to f (after SIGHUP reopened the file; NULL: stop events). */
void td_report_set_events(struct td_report *r, FILE *f);
/* td_report_stats_event writes a statistics event. The caller fills the capture and flow counters; the
 * report adds the connections and findings it reported. */
void td_report_stats_event(struct td_report *r, const struct td_event_stats *s);
/* td_report_rss_bytes: this process's resident memory (0 when unknown). */
uint64_t td_report_rss_bytes(void);

/* td_report_finish writes the JSON report (atomically) and the summary. Returns TD_OK or TD_ERR_IO with err. */
TD_MUST_USE enum td_err td_report_finish(struct td_report *r, const struct td_flow_stats *flows,
                                         const struct td_limits *limits, struct td_error *err);
void td_report_free(struct td_report *r);

#endif
