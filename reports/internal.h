/* SPDX-License-Identifier: MIT */
/* internal.h: private to reports/: the report object, the checked jansson builders shared by json.c,
 * report.c and summary.c. Nothing outside reports/ may include this file (or jansson.h). */
#ifndef TD_REPORTS_INTERNAL_H
#define TD_REPORTS_INTERNAL_H

#include <jansson.h>

#include "json_tree.h"
#include "report.h"

/* A build context: every jansson constructor or setter that fails is counted here instead of being
 * dropped silently; td_report_finish refuses to write a report with failures > 0. */
struct td_json_ctx {
    size_t failures;
};

/* Columns of a connection's line in the human summary (summary.c). */
#define TD_SUMMARY_COLS 7

/* Where one listed connection's JSON lies in the spool file: the report is written sorted by (input, first
 * frame, id) at the end, while connections arrive in the order their flows close. Its summary entry
 * (summary.c), when there is one, follows the JSON in the spool. 48 bytes per connection is all the report
 * keeps of it. */
struct td_report_index {
    uint32_t input;            /* input index */
    uint32_t summary_length;   /* bytes of its summary entry (0: none) */
    uint64_t first_frame;
    uint64_t id;
    uint64_t offset;           /* byte offset of its summary entry in the spool */
    uint8_t widths[TD_SUMMARY_COLS]; /* its summary line's column widths (capped), so that aligning the summary
                                      * needs no first pass over the spool */
    bool summary_line;         /* it has a summary line (a TLS connection) */
};

/* One server aggregate of one input. */
struct td_report_server {
    size_t input;
    json_t *json;              /* owned; the server object of the report (with its "findings") */
};

/* Tallies for "totals", kept for every connection (also those not listed). */
struct td_report_totals {
    uint64_t connections;
    uint64_t tls_connections;
    uint64_t by_outcome[TD_OUTCOME_RESUMED + 1]; /* indexed by enum td_outcome */
    uint64_t with_anomalies;
    uint64_t findings[TD_SEVERITY_ERROR + 1]; /* by severity, connection and server findings */
    uint64_t listed;           /* connections written to the report (after --all and the filters) */
    uint64_t udp_flows_not_dtls; /* UDP flows that carried no DTLS: not connections, counted here only */
};

/* The connection between td_report_add_connection and its end (the next add, td_report_end_connection or
 * finish): findings attach to it. */
struct td_report_pending {
    bool active;
    size_t input;
    uint64_t first_frame, id;
    struct td_report_prepared *prep; /* its text without findings and evidence; NULL when neither a JSON report
                                      * nor a summary is made */
    bool own_prep;             /* prep was made here (freed at the end), not handed in by td_report_add_prepared */
    json_t *findings;          /* owned: the "findings" array */
    char *evidence;            /* the evidence pcap's path, or NULL */
    const struct td_flow_info *info;   /* for the event, built at the end with the findings (valid until then) */
    const struct td_tls_facts *facts;
    bool match[TD_SEVERITY_ERROR + 2]; /* filter verdict by its most severe finding: [0] none, [1 + severity] */
};

/* A growing text buffer (dumps are collected here and written in one piece). */
struct td_text {
    char *data;
    size_t len, cap;
};

/* The JSON document being written (listing.c). */
struct td_listing_held;
struct td_listing {
    int doc;                   /* its file descriptor; -1 until the first connection is written (or the end) */
    char *tmp_path;            /* its name beside the target until renamed; NULL: an unlinked copy source */
    bool failed;
    char error[600];           /* the first failure, said at the end */
    uint64_t written;          /* connections in the document */
    uint64_t doc_bytes;        /* about how many bytes of them (a lower bound: the head is not counted) */
    uint64_t flushed_to;       /* writeback was started for the bytes before this offset */
    uint64_t waited_to;        /* and has ended for those before this one */
    struct td_listing_held *held; /* a heap: connections waiting for their turn */
    size_t num_held, cap_held;
    size_t held_bytes;         /* of held texts' buffers in memory */
    struct td_listing_held_key {
        uint32_t input;
        uint64_t first_frame, id;
    } last;                    /* the last written: each must sort after it */
    bool out_of_order;
    char *buf;                 /* a held text read back from the spool */
    size_t buf_cap;
};

struct td_report {
    struct td_report_options opts;
    struct td_json_ctx ctx;
    json_t *inputs;            /* array of input objects, in the order they were added */
    size_t num_inputs;
    char *input_name;          /* the input being read (events name it) */
    struct td_report_pending pending;
    FILE *spool;               /* listed connections' JSON, in arrival order (an unlinked temporary file) */
    uint64_t spool_bytes;
    bool spool_failed;         /* a write to the spool failed: finish refuses to write a partial report */
    int spool_errno;
    struct td_listing listing;
    struct td_report_index *index; /* for the summary: a run without one keeps none */
    size_t num_index, cap_index;
    bool index_sorted;
    struct td_report_server *servers;
    size_t num_servers, cap_servers;
    struct td_report_totals totals;
    struct td_text text;       /* reused for every connection's and event's dump */
    struct td_text scratch;    /* reused for the members spliced into a connection */
    bool events_failed;        /* the event stream reported a write error (said once, at finish) */
    int events_errno;
};

/* --- the spool and temporary files (report.c) --- */

/* td_report_temp_fd creates an unlinked temporary file "<name>.XXXXXX" in $TMPDIR (or /tmp); -1 with errno. */
int td_report_temp_fd(const char *name);
/* td_report_spool_append appends len bytes to the spool (opened on first use) and says where; false (with
 * r->spool_failed) when that failed. */
TD_MUST_USE bool td_report_spool_append(struct td_report *r, const void *data, size_t len, uint64_t *offset);
/* td_report_spool_read reads len bytes at offset of the spool into *buf (grown as needed, NUL-terminated). */
TD_MUST_USE bool td_report_spool_read(struct td_report *r, uint64_t offset, uint64_t len, char **buf, size_t *cap);
/* td_report_oom_error sets err to the "out of memory while building the JSON report" error. */
enum td_err td_report_oom_error(const struct td_report *r, struct td_error *err);

/* --- the JSON document (listing.c) --- */

/* td_listing_hold holds a listed connection's JSON text until its turn: it takes t's buffer over (t is left
 * empty) or copies the text to the spool. */
void td_listing_hold(struct td_report *r, uint32_t input, uint64_t first_frame, uint64_t id, struct td_text *t);
/* td_listing_release writes out, in order, the held connections of inputs before input_index and those of
 * input_index that start below below_frame. */
void td_listing_release(struct td_report *r, size_t input_index, uint64_t below_frame);
/* td_listing_finish writes everything still held and the parts after the connections, and puts the document in
 * place (rename, or a copy to standard output or a device). */
TD_MUST_USE enum td_err td_listing_finish(struct td_report *r, json_t *totals, const struct td_limits *limits,
                                          struct td_error *err);
/* td_listing_free closes the document and removes a temporary file that was not put in place. */
void td_listing_free(struct td_report *r);

/* --- text (json_write.c) --- */

/* td_text_grow is td_text_reserve's slow path: it reallocates (doubling). */
TD_MUST_USE bool td_text_grow(struct td_text *t, size_t more);
/* td_text_reserve makes room for more bytes after t->len; false when out of memory. Inline: the JSON writer
 * calls it for every token. */
TD_MUST_USE static inline bool td_text_reserve(struct td_text *t, size_t more)
{
    return (more <= t->cap - t->len) || td_text_grow(t, more);
}
/* td_text_append appends n bytes of s; false when out of memory. */
TD_MUST_USE bool td_text_append(struct td_text *t, const void *s, size_t n);
/* td_json_write_compact appends v's compact JSON text to t, the same bytes as json_dumps(v, JSON_COMPACT |
 * JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY); false (t unchanged) when out of memory, on NaN or infinity, or
 * past 64 levels of nesting. */
TD_MUST_USE bool td_json_write_compact(struct td_text *t, json_t *v);
/* td_jv_write_compact appends the same text for a json_tree.h value (the bytes jansson writes for
 * td_jv_to_jansson of it), with the same failures. */
TD_MUST_USE bool td_jv_write_compact(struct td_text *t, const struct td_jv *v);

/* --- checked builders (json.c) --- */

/* td_json_set sets obj[key] = value, stealing value. A NULL value or a failed set counts a failure. */
void td_json_set(struct td_json_ctx *ctx, json_t *obj, const char *key, json_t *value);
/* td_json_append appends value to arr, stealing value; failures are counted. */
void td_json_append(struct td_json_ctx *ctx, json_t *arr, json_t *value);
/* td_json_u64 returns a JSON integer; values above INT64_MAX (never expected) are clamped to it because
 * json_int_t is long long. */
json_t *td_json_u64(uint64_t v);
/* td_json_str returns a JSON string, or JSON null for NULL. Bytes that are not printable ASCII (wire
 * strings arrive escaped, this is the backstop) are written as \xNN so json_string never rejects them. */
json_t *td_json_str(const char *s);
/* td_json_time formats ns since the epoch as RFC 3339 UTC with nanoseconds into buf (at least 40 bytes);
 * returns buf, or NULL when the time cannot be represented. */
const char *td_json_time(int64_t ts_ns, char *buf, size_t buf_len);

/* --- documents (json.c) --- */

/* td_json_connection converts one connection, without its "findings" and "evidence" (the report splices those
 * in at the end of the connection), into a json_tree.h value of the caller's scope (NULL when even the object
 * could not be made; a failed part is counted in ctx and left out). */
struct td_jv *td_json_connection(struct td_json_ctx *ctx, size_t input_index, const struct td_flow_info *info,
                           const struct td_tls_facts *facts);
/* td_json_connection_summary builds only the members of td_json_connection that the human summary reads (id,
 * client, server, transport, encapsulation, plaintext_start, outcome, and tls with version, cipher name and the
 * first ClientHello's sni), with the same code: a run that writes no JSON report builds no more. */
struct td_jv *td_json_connection_summary(struct td_json_ctx *ctx, const struct td_flow_info *info,
                                   const struct td_tls_facts *facts);
/* td_json_shared_free_thread frees the calling thread's shared {code,name} values (json.c; worker threads' are
 * freed when they exit). Call it when no JSON tree of the thread is alive. */
void td_json_shared_free_thread(void);
/* td_json_lists_refresh empties this thread's remembered lists once they filled up (json.c); call it between
 * connections, outside any json_tree.h scope. */
void td_json_lists_refresh(void);
/* td_json_outcome builds a connection's "outcome" object (result, frame, by, alert, after, text), in the
 * caller's json_tree.h scope. */
struct td_jv *td_json_outcome(struct td_json_ctx *ctx, const struct td_flow_info *info, const struct td_tls_facts *f);
/* td_json_input converts one input summary; returns a new reference. */
json_t *td_json_input(struct td_json_ctx *ctx, const struct td_input_summary *in);
/* td_json_totals and td_json_limits build the top-level "totals" and "limits" objects. */
json_t *td_json_totals(struct td_json_ctx *ctx, const struct td_report_totals *t, const struct td_flow_stats *flows);
json_t *td_json_limits(struct td_json_ctx *ctx, const struct td_limits *limits);
/* td_json_finding converts one finding; returns a new reference. */
json_t *td_json_finding(struct td_json_ctx *ctx, const struct td_finding *f);
/* td_json_merge_finding adds the evidence frames of f to an existing finding object (sorted, distinct). */
void td_json_merge_finding(struct td_json_ctx *ctx, json_t *existing, const struct td_finding *f);
/* td_json_sort_findings orders a findings array most severe first, then by first evidence frame. */
void td_json_sort_findings(json_t *findings);
/* td_json_server converts one server aggregate (with an empty "findings" array); returns a new reference. */
json_t *td_json_server(struct td_json_ctx *ctx, size_t input_index, const struct td_server_facts *s);

/* td_outcome_name: "established", "failed_alert", ... */
const char *td_outcome_name(enum td_outcome o);

/* --- human summary (summary.c) --- */

/* A connection's summary entry is made with its JSON, so that printing the summary never parses the connection
 * back: td_summary_entry_begin renders conn's line (its fields, unaligned) and the path line under it into
 * entry (emptied first) and measures its columns (each capped at 255); false when conn has no line (not TLS)
 * or memory ran out (counted in ctx). td_summary_entry_findings appends the findings, once the rules ran;
 * false when memory ran out. */
bool td_summary_entry_begin(struct td_json_ctx *ctx, const struct td_jv *conn, uint8_t widths[TD_SUMMARY_COLS],
                            struct td_text *entry);
TD_MUST_USE bool td_summary_entry_findings(struct td_text *entry, json_t *findings);
/* td_summary_write prints the summary of the finished report (index already sorted).
 * Returns false when the stream reported a write error. */
TD_MUST_USE bool td_summary_write(struct td_report *r, json_t *totals, FILE *out);

/* --- the spool (report.c) --- */

/* td_report_load_summary reads the i-th connection's summary entry from the spool into *entry (emptied
 * first); false when it cannot be read. */
TD_MUST_USE bool td_report_load_summary(struct td_report *r, size_t i, struct td_text *entry);

#endif
