/* SPDX-License-Identifier: MIT */
/* report.c: collects inputs and converted connections, sorts them by (input, first frame) and writes the JSON
 * report atomically (temporary file in the target's directory, fsync, rename: POSIX rename(2) replaces the
 * target in one step, so a reader sees either the old file or the complete new one) and the human summary. */
#include "internal.h"

#include "events.h"
#include "filter.h"
#include "json_arena.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Reals (duration_ms) are printed with 15 significant digits so that microsecond values read as
 * "12.345" rather than the 17-digit binary expansion. The small top-level parts are indented; each connection
 * is one compact line of the "connections" array (half the bytes, grep- and diff-friendly, and jq
 * reads either). */
#define DUMP_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(15))

/* A connection converted to its report text, on whatever thread called td_report_prepare: the JSON object
 * without "findings" and "evidence" (known only once the rules ran), dumped and freed, and its summary entry
 * without the findings. The end of the connection adds those (spool_connection). Building and dumping are
 * nearly all of a report's cost, and this way worker threads do both. */
struct td_report_prepared {
    struct td_json_ctx ctx;
    struct td_text text;
    bool ok;
    bool summary_line;                  /* it has a summary entry (td_summary_entry_begin) */
    uint8_t widths[TD_SUMMARY_COLS];
    struct td_text summary;             /* the entry, without the findings */
};

static int64_t wall_clock_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void write_event(struct td_report *r, json_t *event);

struct td_report *td_report_new(const struct td_report_options *opts)
{
    td_json_arena_install(); /* before any worker thread builds JSON */
    struct td_report *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    if (opts != NULL) {
        r->opts = *opts;
    }
    r->inputs = json_array();
    if (r->inputs == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void td_report_add_input(struct td_report *r, const struct td_input_summary *in)
{
    if (r == NULL || in == NULL) {
        return;
    }
    td_json_append(&r->ctx, r->inputs, td_json_input(&r->ctx, in));
    if (r->opts.events != NULL) {
        td_report_end_connection(r);
        json_t *ev = td_event_input(&r->ctx, wall_clock_ns(), TD_EVENT_INPUT_FINISHED, r->num_inputs, in);
        if (ev != NULL) {
            write_event(r, ev);
        }
        json_decref(ev);
    }
    r->num_inputs++;
}


void td_report_set_input_name(struct td_report *r, const char *name)
{
    if (r == NULL) {
        return;
    }
    free(r->input_name);
    r->input_name = name != NULL ? strdup(name) : NULL;
    if (name != NULL && r->input_name == NULL) {
        r->ctx.failures++;
    }
    if (r->opts.events != NULL && name != NULL) {
        struct td_input_summary in = {.path = name};
        json_t *ev = td_event_input(&r->ctx, wall_clock_ns(), TD_EVENT_INPUT_STARTED, r->num_inputs, &in);
        if (ev != NULL) {
            write_event(r, ev);
        }
        json_decref(ev);
    }
}

void td_report_set_events(struct td_report *r, FILE *f)
{
    if (r != NULL) {
        r->opts.events = f;
        r->events_failed = false; /* a new stream gets a new chance */
    }
}

void td_report_stats_event(struct td_report *r, const struct td_event_stats *s)
{
    if (r == NULL || s == NULL || r->opts.events == NULL) {
        return;
    }
    struct td_event_stats full = *s;
    full.connections = r->totals.listed;
    for (int i = 0; i <= (int)TD_SEVERITY_ERROR; i++) {
        full.findings[i] = r->totals.findings[i];
    }
    json_t *ev = td_event_stats(&r->ctx, &full);
    if (ev != NULL) {
        write_event(r, ev);
    }
    json_decref(ev);
}

uint64_t td_report_rss_bytes(void)
{
    return td_event_rss_bytes();
}

static bool has_anomalies(const struct td_tls_facts *f)
{
    return f != NULL && (f->anomalies_seen > 0 || f->num_anomalies > 0);
}

/* The report and the summary are both made from the spooled connection JSON. */
static bool wants_connection_json(const struct td_report *r)
{
    return r->opts.json_path != NULL || r->opts.summary != NULL;
}

/* open_spool creates the unlinked temporary file the connections' JSON and summary entries are streamed to
 * ($TMPDIR or /tmp). */
static bool open_spool(struct td_report *r)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0') {
        dir = "/tmp";
    }
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/tlsdiag-spool.XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        r->spool_failed = true;
        r->spool_errno = ENAMETOOLONG;
        return false;
    }
    int fd = mkstemp(path);
    if (fd < 0) {
        r->spool_failed = true;
        r->spool_errno = errno;
        return false;
    }
    (void)unlink(path); // nothing to clean up, whatever way the process ends
    r->spool = fdopen(fd, "w+");
    if (r->spool == NULL) {
        r->spool_failed = true;
        r->spool_errno = errno;
        (void)close(fd);
        return false;
    }
    return true;
}

static bool filter_match(const struct td_report *r, const struct td_flow_info *info, const struct td_tls_facts *facts,
                         int max_severity)
{
    return r->opts.filter == NULL || td_filter_match(r->opts.filter, info, facts, max_severity);
}

/* jansson hands a dump over token by token: collected in memory, it reaches the stream in one fwrite. */
static int text_append(const char *buffer, size_t size, void *data)
{
    return td_text_append(data, buffer, size) ? 0 : -1;
}

/* dump_compact renders json into t (emptied first) as compact text, jansson's bytes from our faster writer
 * (json_write.c); false on allocation failure. */
static bool dump_compact(struct td_text *t, json_t *json)
{
    t->len = 0;
    return td_json_write_compact(t, json);
}

/* append_member appends `,"key":<value>` to t: a member spliced into a connection's compact text. */
static bool append_member(struct td_text *t, struct td_text *scratch, const char *key, json_t *value)
{
    if (value == NULL || !dump_compact(scratch, value)) {
        return false;
    }
    return text_append(",\"", 2, t) == 0 && text_append(key, strlen(key), t) == 0 &&
           text_append("\":", 2, t) == 0 && text_append(scratch->data, scratch->len, t) == 0;
}

/* splice_connection makes the connection's full text in r->text: the prepared body, then "findings" and
 * "evidence" (the same text jansson writes for the whole object). */
static bool splice_connection(struct td_report *r, const struct td_report_pending *p)
{
    const struct td_text *body = &p->prep->text;
    r->text.len = 0;
    json_t *evidence = td_json_str(p->evidence);
    bool ok = text_append(body->data, body->len - 1, &r->text) == 0 &&
              append_member(&r->text, &r->scratch, "findings", p->findings) &&
              append_member(&r->text, &r->scratch, "evidence", evidence) && text_append("}", 1, &r->text) == 0;
    json_decref(evidence);
    return ok;
}

/* spool_connection appends the pending connection's JSON to the spool and indexes it. */
static void spool_connection(struct td_report *r, const struct td_report_pending *p)
{
    if (r->spool_failed || (r->spool == NULL && !open_spool(r))) {
        return;
    }
    if (r->num_index == r->cap_index) {
        size_t cap = r->cap_index != 0 ? r->cap_index * 2 : 256;
        struct td_report_index *bigger = cap <= SIZE_MAX / sizeof(*bigger) ? realloc(r->index, cap * sizeof(*bigger))
                                                                            : NULL;
        if (bigger == NULL) {
            r->ctx.failures++;
            return;
        }
        r->index = bigger;
        r->cap_index = cap;
    }
    if (p->input > UINT32_MAX) { /* the index keeps 32 bits of it: 4 billion inputs in one run cannot be sorted */
        r->ctx.failures++;
        return;
    }
    uint64_t offset = r->spool_bytes;
    r->text.len = 0;
    if (r->opts.json_path != NULL && !splice_connection(r, p)) { /* a summary-only run spools no JSON */
        r->ctx.failures++;
        return;
    }
    size_t json_len = r->text.len;
    /* The summary entry follows the JSON, with the findings the rules just gave. */
    struct td_text *summary = &p->prep->summary;
    bool summary_line = p->prep->summary_line;
    if (summary_line && (!td_summary_entry_findings(summary, p->findings) || summary->len > UINT32_MAX ||
                         !td_text_append(&r->text, summary->data, summary->len))) {
        r->ctx.failures++;
        return;
    }
    errno = 0;
    if (fwrite(r->text.data, 1, r->text.len, r->spool) != r->text.len) {
        r->spool_failed = true;
        r->spool_errno = errno;
        return;
    }
    r->spool_bytes += r->text.len;
    r->index[r->num_index++] = (struct td_report_index){
        .input = (uint32_t)p->input, .summary_length = summary_line ? (uint32_t)summary->len : 0,
        .first_frame = p->first_frame, .id = p->id, .offset = offset, .length = json_len,
        .summary_line = summary_line};
    memcpy(r->index[r->num_index - 1].widths, p->prep->widths, sizeof(p->prep->widths));
    r->index_sorted = false;
}

static int max_severity(json_t *findings)
{
    int max = -1;
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        const char *name = json_string_value(json_object_get(f, "severity"));
        enum td_severity sev;
        if (name != NULL && td_severity_parse(name, &sev) && (int)sev > max) {
            max = (int)sev;
        }
    }
    return max;
}

static void write_event(struct td_report *r, json_t *event)
{
    if (r->events_failed) {
        return;
    }
    if (!dump_compact(&r->text, event) || text_append("\n", 1, &r->text) != 0) {
        r->ctx.failures++;
        return;
    }
    errno = 0;
    if (fwrite(r->text.data, 1, r->text.len, r->opts.events) != r->text.len || fflush(r->opts.events) != 0) {
        r->events_failed = true;
        r->events_errno = errno;
    }
}

void td_report_set_evidence(struct td_report *r, const char *path)
{
    if (r == NULL || path == NULL || !r->pending.active) {
        return;
    }
    free(r->pending.evidence);
    r->pending.evidence = strdup(path);
    if (r->pending.evidence == NULL) {
        r->ctx.failures++;
    }
}

void td_report_end_connection(struct td_report *r)
{
    if (r == NULL || !r->pending.active) {
        return;
    }
    struct td_report_pending *p = &r->pending;
    td_json_sort_findings(p->findings);
    int sev = max_severity(p->findings);
    if (p->match[sev + 1]) {
        r->totals.listed++;
        if (p->prep != NULL && p->prep->ok) {
            spool_connection(r, p);
        }
        if (r->opts.events != NULL && p->info != NULL) {
            json_t *event = td_event_connection(&r->ctx, r->input_name, p->input, p->info, p->facts, p->findings);
            if (event != NULL && p->evidence != NULL) {
                td_json_set(&r->ctx, json_object_get(event, "tlsdiag"), "evidence", td_json_str(p->evidence));
            }
            if (event != NULL) {
                write_event(r, event);
            }
            json_decref(event);
        }
    }
    if (p->own_prep) {
        td_report_prepared_free(p->prep);
    }
    json_decref(p->findings);
    free(p->evidence);
    memset(p, 0, sizeof(*p));
}


/* prepare builds the connection's JSON object and dumps it (with_json) and makes its summary entry
 * (with_summary): a summary-only run (the default) builds only the members the summary reads and writes no
 * JSON text. */
static struct td_report_prepared *prepare(size_t input_index, const struct td_flow_info *info,
                                          const struct td_tls_facts *facts, bool with_json, bool with_summary)
{
    struct td_report_prepared *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    td_json_arena_begin();
    json_t *json = with_json ? td_json_connection(&p->ctx, input_index, info, facts)
                             : td_json_connection_summary(&p->ctx, info, facts);
    /* Dumped here, on the worker: the end of the connection only splices "findings" and "evidence" in before
     * the closing brace, and the end of the run copies the text. */
    p->ok = json != NULL && (!with_json || (dump_compact(&p->text, json) && p->text.len > 2 && /* never "{}" */
                                            p->text.data[p->text.len - 1] == '}'));
    p->summary_line = with_summary && json != NULL && td_summary_entry_begin(&p->ctx, json, p->widths, &p->summary);
    json_decref(json);
    td_json_arena_end();
    if (!p->ok) {
        p->ctx.failures++;
    }
    return p;
}

struct td_report_prepared *td_report_prepare(const struct td_report *r, size_t input_index,
                                             const struct td_flow_info *info, const struct td_tls_facts *facts)
{
    if (r == NULL || info == NULL) {
        return NULL;
    }
    bool is_tls = facts != NULL && facts->is_tls;
    if (!wants_connection_json(r) || (!is_tls && !r->opts.include_non_tls)) {
        return NULL;
    }
    return prepare(input_index, info, facts, r->opts.json_path != NULL, r->opts.summary != NULL);
}

void td_report_prepared_free(struct td_report_prepared *p)
{
    if (p != NULL) {
        free(p->text.data);
        free(p->summary.data);
        free(p);
    }
}

static void add_connection(struct td_report *r, size_t input_index, const struct td_flow_info *info,
                           const struct td_tls_facts *facts, struct td_report_prepared *prep)
{
    td_report_end_connection(r);
    bool is_tls = facts != NULL && facts->is_tls;
    if (info->transport == TD_TRANSPORT_UDP && !is_tls) {
        r->totals.udp_flows_not_dtls++; /* DNS, QUIC, RTP...: no connection of ours, not even with --all */
        return;
    }
    enum td_outcome outcome = facts != NULL ? facts->outcome : TD_OUTCOME_NOT_TLS;
    r->totals.connections++;
    r->totals.tls_connections += is_tls;
    if ((unsigned)outcome <= TD_OUTCOME_RESUMED) {
        r->totals.by_outcome[outcome]++;
    }
    r->totals.with_anomalies += has_anomalies(facts);
    if (!is_tls && !r->opts.include_non_tls) {
        return;
    }
    struct td_report_pending *p = &r->pending;
    // The filter's verdict for each possible most severe finding, decided now while info and facts are valid.
    bool any = false;
    for (int sev = -1; sev <= (int)TD_SEVERITY_ERROR; sev++) {
        p->match[sev + 1] = filter_match(r, info, facts, sev);
        any = any || p->match[sev + 1];
    }
    if (!any) {
        return; /* filtered out whatever its findings: nothing to build */
    }
    p->active = true;
    p->input = input_index;
    p->first_frame = info->first_frame;
    p->id = info->id;
    if (prep != NULL) {
        p->prep = prep;
    } else if (wants_connection_json(r)) {
        p->prep = prepare(input_index, info, facts, r->opts.json_path != NULL, r->opts.summary != NULL);
        p->own_prep = true;
        if (p->prep == NULL) {
            r->ctx.failures++;
        }
    }
    if (p->prep != NULL) {
        r->ctx.failures += p->prep->ctx.failures;
    }
    p->findings = json_array();
    if (p->findings == NULL) {
        r->ctx.failures++;
        if (p->own_prep) {
            td_report_prepared_free(p->prep);
        }
        memset(p, 0, sizeof(*p));
        return;
    }
    p->info = info;
    p->facts = facts;
}

void td_report_add_connection(struct td_report *r, size_t input_index, const struct td_flow_info *info,
                              const struct td_tls_facts *facts)
{
    if (r != NULL && info != NULL) {
        add_connection(r, input_index, info, facts, NULL);
    }
}

void td_report_add_prepared(struct td_report *r, size_t input_index, const struct td_flow_info *info,
                            const struct td_tls_facts *facts, struct td_report_prepared *prep, bool free_prep)
{
    if (r != NULL && info != NULL) {
        add_connection(r, input_index, info, facts, prep);
    }
    if (free_prep) {
        td_report_prepared_free(prep);
    }
}

/* add_to_findings appends f to a findings array, or merges it into the finding of the same rule already there.
 * Returns true when f was new (not merged). */
static bool add_to_findings(struct td_report *r, json_t *findings, const struct td_finding *f)
{
    size_t i;
    json_t *existing;
    json_array_foreach(findings, i, existing) {
        const char *id = json_string_value(json_object_get(existing, "rule"));
        if (id != NULL && strcmp(id, f->rule->id) == 0) {
            td_json_merge_finding(&r->ctx, existing, f);
            return false;
        }
    }
    td_json_append(&r->ctx, findings, td_json_finding(&r->ctx, f));
    return true;
}

static void count_finding(struct td_report *r, const struct td_finding *f)
{
    if ((unsigned)f->rule->severity <= TD_SEVERITY_ERROR) {
        r->totals.findings[f->rule->severity]++;
    }
}

void td_report_add_finding(struct td_report *r, const struct td_finding *f)
{
    if (r == NULL || f == NULL || !r->pending.active) {
        return; /* findings on an unlisted connection (no TLS without --all, or filtered out) are not reported */
    }
    if (add_to_findings(r, r->pending.findings, f)) {
        count_finding(r, f);
    }
}

void td_report_add_server(struct td_report *r, size_t input_index, const struct td_server_facts *s)
{
    if (r == NULL || s == NULL) {
        return;
    }
    td_report_end_connection(r);
    if (r->num_servers == r->cap_servers) {
        size_t cap = r->cap_servers ? r->cap_servers * 2 : 16;
        struct td_report_server *bigger = realloc(r->servers, cap * sizeof(*bigger));
        if (bigger == NULL) {
            r->ctx.failures++;
            return;
        }
        r->servers = bigger;
        r->cap_servers = cap;
    }
    r->servers[r->num_servers++] =
        (struct td_report_server){.input = input_index, .json = td_json_server(&r->ctx, input_index, s)};
}

void td_report_add_server_finding(struct td_report *r, const struct td_finding *f)
{
    if (r == NULL || f == NULL || r->num_servers == 0) {
        return;
    }
    if (add_to_findings(r, json_object_get(r->servers[r->num_servers - 1].json, "findings"), f)) {
        count_finding(r, f);
    }
}

static int index_cmp(const void *a, const void *b)
{
    const struct td_report_index *x = a, *y = b;
    if (x->input != y->input) {
        return x->input < y->input ? -1 : 1;
    }
    if (x->first_frame != y->first_frame) {
        return x->first_frame < y->first_frame ? -1 : 1;
    }
    if (x->id != y->id) {
        return x->id < y->id ? -1 : 1;
    }
    return 0;
}

static void sort_index(struct td_report *r)
{
    if (!r->index_sorted && r->num_index > 1) {
        qsort(r->index, r->num_index, sizeof(*r->index), index_cmp);
    }
    r->index_sorted = true;
}

/* read_spool reads len bytes at offset of the spool into *buf (grown as needed, NUL-terminated). */
static bool read_spool(struct td_report *r, uint64_t offset, uint64_t len, char **buf, size_t *cap)
{
    if (r->spool == NULL || len > SIZE_MAX - 1) {
        return false;
    }
    if (*cap < len + 1) {
        char *bigger = realloc(*buf, len + 1);
        if (bigger == NULL) {
            return false;
        }
        *buf = bigger;
        *cap = len + 1;
    }
    if (fflush(r->spool) != 0) {
        return false;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fileno(r->spool), *buf + done, len - done, (off_t)(offset + done));
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        done += (size_t)n;
    }
    (*buf)[len] = '\0';
    return true;
}

/* read_spooled reads the i-th connection's JSON text into *buf (grown as needed). */
static bool read_spooled(struct td_report *r, size_t i, char **buf, size_t *cap)
{
    return read_spool(r, r->index[i].offset, r->index[i].length, buf, cap);
}

bool td_report_load_summary(struct td_report *r, size_t i, struct td_text *entry)
{
    entry->len = 0;
    if (i >= r->num_index || r->index[i].summary_length == 0) {
        return false;
    }
    const struct td_report_index *e = &r->index[i];
    if (!read_spool(r, e->offset + e->length, e->summary_length, &entry->data, &entry->cap)) {
        return false;
    }
    entry->len = e->summary_length;
    return true;
}

/* write_indented writes len bytes of JSON text with indent spaces after each newline: the pieces of the
 * document are dumped on their own and nested here. */
static bool write_indented(FILE *f, const char *text, size_t len, int indent)
{
    static const char spaces[] = "        ";
    struct td_text out = {0};
    bool ok = true;
    while (ok && len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - text) + 1 : len;
        ok = text_append(text, n, &out) == 0 && (nl == NULL || text_append(spaces, (size_t)indent, &out) == 0);
        text += n;
        len -= n;
    }
    ok = ok && fwrite(out.data, 1, out.len, f) == out.len;
    free(out.data);
    return ok;
}

/* write_member writes `  "key": <value>` (value dumped and indented to sit at depth 1). */
static bool write_member(FILE *f, const char *key, json_t *value, bool last)
{
    char *text = json_dumps(value, DUMP_FLAGS | JSON_ENCODE_ANY);
    if (text == NULL) {
        return false;
    }
    bool ok = fprintf(f, "  \"%s\": ", key) > 0 && write_indented(f, text, strlen(text), 2) &&
              fputs(last ? "\n" : ",\n", f) != EOF;
    free(text);
    return ok;
}

/* write_document writes the whole report: the small top-level parts through jansson, the connections copied
 * from the spool in sorted order (each already JSON text), then the servers. */
static bool write_document(struct td_report *r, FILE *f, json_t *totals, const struct td_limits *limits)
{
    struct td_json_ctx *ctx = &r->ctx;
    json_t *tool = json_object();
    td_json_set(ctx, tool, "name", json_string("tlsdiag"));
    td_json_set(ctx, tool, "version", td_json_str(r->opts.tool_version != NULL ? r->opts.tool_version : "unknown"));
    json_t *lim = td_json_limits(ctx, limits);
    bool ok = fputs("{\n", f) != EOF && write_member(f, "tool", tool, false) &&
              write_member(f, "inputs", r->inputs, false) && write_member(f, "totals", totals, false) &&
              write_member(f, "limits", lim, false);
    json_decref(tool);
    json_decref(lim);
    ok = ok && fputs("  \"connections\": [", f) != EOF;
    char *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; ok && i < r->num_index; i++) {
        if (!read_spooled(r, i, &buf, &cap)) {
            r->spool_failed = true;
            r->spool_errno = errno;
            ok = false;
            break;
        }
        ok = fputs(i == 0 ? "\n    " : ",\n    ", f) != EOF && fwrite(buf, 1, r->index[i].length, f) == r->index[i].length;
    }
    free(buf);
    ok = ok && fputs(r->num_index > 0 ? "\n  ],\n" : "],\n", f) != EOF;
    json_t *servers = json_array();
    for (size_t i = 0; i < r->num_servers; i++) {
        td_json_sort_findings(json_object_get(r->servers[i].json, "findings"));
        td_json_append(ctx, servers, json_incref(r->servers[i].json));
    }
    ok = ok && write_member(f, "servers", servers, true) && fputs("}\n", f) != EOF;
    json_decref(servers);
    return ok;
}

/* A document being written: what write_document needs besides the stream. */
struct doc {
    struct td_report *r;
    json_t *totals;
    const struct td_limits *limits;
};

static bool write_doc(const struct doc *d, FILE *f)
{
    return write_document(d->r, f, d->totals, d->limits);
}

static enum td_err write_stdout(const struct doc *d, struct td_error *err)
{
    errno = 0;
    if (!write_doc(d, stdout) || fflush(stdout) != 0 || ferror(stdout)) {
        return td_error_set(err, TD_ERR_IO,
                            "cannot write the JSON report to standard output: %s; check that the output pipe or "
                            "disk is still open and has space",
                            errno != 0 ? strerror(errno) : "write error");
    }
    return TD_OK;
}

/* write_direct writes into an existing target that is not a regular file (/dev/null, /dev/stdout, a FIFO):
 * renaming a temporary file over it would replace the device or pipe itself (as root, /dev/null). */
static enum td_err write_direct(const struct doc *d, const char *path, struct td_error *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return td_error_set(err, TD_ERR_IO, "cannot write the JSON report to '%s': %s", path, strerror(errno));
    }
    errno = 0;
    bool ok = write_doc(d, f) && fflush(f) == 0 && !ferror(f);
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        return td_error_set(err, TD_ERR_IO, "cannot write the JSON report to '%s': %s", path,
                            saved != 0 ? strerror(saved) : "write error");
    }
    return TD_OK;
}

/* Writes the report to path through "<dir>/.<name>.XXXXXX" and rename(2). On failure the temporary file is
 * removed and the target is left as it was. An existing target that is not a regular file is written
 * in place (write_direct): atomicity only means something for a regular file. */
static enum td_err write_atomic(const struct doc *d, const char *path, struct td_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        return write_direct(d, path, err);
    }
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    if (*base == '\0') {
        return td_error_set(err, TD_ERR_IO, "cannot write the JSON report to '%s': the path names a directory; "
                                            "give a file name", path);
    }
    size_t tmp_len = strlen(path) + 16;
    char *tmp = malloc(tmp_len);
    if (tmp == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "out of memory while writing the JSON report to '%s'", path);
    }
    int n = snprintf(tmp, tmp_len, "%.*s.%s.XXXXXX", (int)dir_len, path, base);
    if (n < 0 || (size_t)n >= tmp_len) {
        free(tmp);
        return td_error_set(err, TD_ERR_INTERNAL, "cannot form a temporary name for '%s'", path);
    }
    enum td_err rc = TD_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = td_error_set(err, TD_ERR_IO,
                          "cannot write the JSON report to '%s': creating a temporary file in its directory "
                          "failed: %s; check that the directory exists and is writable, or choose another path",
                          path, strerror(errno));
        free(tmp);
        return rc;
    }
    // mkstemp creates the file 0600; a report is an ordinary shareable file.
    (void)fchmod(fd, 0644);
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        rc = td_error_set(err, TD_ERR_IO, "cannot write the JSON report to '%s': %s", path, strerror(errno));
        (void)close(fd);
        goto out;
    }
    errno = 0;
    bool ok = write_doc(d, f) && fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        rc = td_error_set(err, TD_ERR_IO,
                          "cannot write the JSON report to '%s': %s; check free space and permissions there, "
                          "the previous file (if any) was left unchanged",
                          path, saved != 0 ? strerror(saved) : "write error");
        goto out;
    }
    if (d->r->opts.interrupted != NULL && *d->r->opts.interrupted) {
        rc = td_error_set(err, TD_ERR_IO, "interrupted while writing the JSON report: '%s' was not replaced (the "
                                          "previous file, if any, is unchanged)", path);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = td_error_set(err, TD_ERR_IO,
                          "cannot write the JSON report to '%s': renaming the finished temporary file failed: %s; "
                          "check that the path is not a directory and that its directory is writable",
                          path, strerror(errno));
        goto out;
    }
    free(tmp);
    return TD_OK;
out:
    (void)unlink(tmp);
    free(tmp);
    return rc;
}

enum td_err td_report_finish(struct td_report *r, const struct td_flow_stats *flows, const struct td_limits *limits,
                             struct td_error *err)
{
    if (r == NULL) {
        return td_error_set(err, TD_ERR_INTERNAL, "td_report_finish called without a report");
    }
    td_report_end_connection(r);
    sort_index(r);
    json_t *totals = td_json_totals(&r->ctx, &r->totals, flows);
    enum td_err rc = TD_OK;
    if (r->spool_failed) {
        rc = td_error_set(err, TD_ERR_IO,
                          "cannot keep the connections for the report in a temporary file: %s; set TMPDIR to a "
                          "directory with free space (the report needs about as much as its own size)",
                          strerror(r->spool_errno != 0 ? r->spool_errno : EIO));
        goto out;
    }
    // A failed constructor or set would leave a key missing: refuse to write a report that lies by omission.
    if (r->ctx.failures != 0 || totals == NULL) {
        rc = td_error_set(err, TD_ERR_RESOURCE,
                          "out of memory while building the JSON report (%zu values could not be created); "
                          "no report was written: free memory or analyse fewer connections at once",
                          r->ctx.failures);
        goto out;
    }
    struct doc d = {.r = r, .totals = totals, .limits = limits};
    if (r->opts.json_path != NULL) {
        rc = strcmp(r->opts.json_path, "-") == 0 ? write_stdout(&d, err) : write_atomic(&d, r->opts.json_path, err);
        if (rc != TD_OK) {
            goto out;
        }
    }
    if (r->opts.summary != NULL && !td_summary_write(r, totals, r->opts.summary)) {
        rc = td_error_set(err, TD_ERR_IO, "cannot write the summary: %s; check the output stream",
                          strerror(errno));
        goto out;
    }
    if (r->events_failed) {
        rc = td_error_set(err, TD_ERR_IO, "cannot write the event stream: %s; events after the failure were lost",
                          strerror(r->events_errno != 0 ? r->events_errno : EIO));
    }
out:
    json_decref(totals);
    return rc;
}

void td_report_free(struct td_report *r)
{
    if (r == NULL) {
        return;
    }
    if (r->pending.own_prep) {
        td_report_prepared_free(r->pending.prep);
    }
    json_decref(r->pending.findings);
    free(r->pending.evidence);
    if (r->spool != NULL) {
        (void)fclose(r->spool);
    }
    free(r->index);
    for (size_t i = 0; i < r->num_servers; i++) {
        json_decref(r->servers[i].json);
    }
    free(r->servers);
    json_decref(r->inputs);
    free(r->input_name);
    free(r->text.data);
    td_json_shared_free_thread(); /* this thread's shared names (workers free theirs when they exit) */
    free(r->scratch.data);
    free(r);
}
