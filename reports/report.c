/* SPDX-License-Identifier: MIT */
/* report.c: collects inputs and converted connections: their JSON goes to the document in report order
 * (listing.c), their summary entries to a spool sorted by (input, first frame) at the end for the human
 * summary (summary.c); events are written as connections end. */
#include "internal.h"

#include "events.h"
#include "filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A connection converted to its report text, on whatever thread called td_report_prepare: the JSON object
 * without "findings" and "evidence" (known only once the rules ran), dumped and freed, and its summary entry
 * without the findings. The end of the connection adds those (list_connection). Building and dumping are
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
    struct td_report *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    if (opts != NULL) {
        r->opts = *opts;
    }
    r->listing.doc = -1; /* no document yet */
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
    /* Every connection of this input has ended: the held ones go out before the next input's. */
    td_report_release(r, r->num_inputs, UINT64_MAX);
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

int td_report_temp_fd(const char *name)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0') {
        dir = "/tmp";
    }
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s.XXXXXX", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(path);
    if (fd >= 0) {
        (void)unlink(path); // nothing to clean up, whatever way the process ends
    }
    return fd;
}

/* open_spool creates the unlinked temporary file that summary entries, and connections held back past the
 * memory budget, are streamed to ($TMPDIR or /tmp). */
static bool open_spool(struct td_report *r)
{
    int fd = td_report_temp_fd("tlsdiag-spool");
    r->spool = fd >= 0 ? fdopen(fd, "w+") : NULL;
    if (r->spool == NULL) {
        r->spool_failed = true;
        r->spool_errno = errno;
        if (fd >= 0) {
            (void)close(fd);
        }
        return false;
    }
    return true;
}

bool td_report_spool_append(struct td_report *r, const void *data, size_t len, uint64_t *offset)
{
    if (r->spool_failed || (r->spool == NULL && !open_spool(r))) {
        return false;
    }
    errno = 0;
    if (fwrite(data, 1, len, r->spool) != len) {
        r->spool_failed = true;
        r->spool_errno = errno;
        return false;
    }
    *offset = r->spool_bytes;
    r->spool_bytes += len;
    return true;
}

static bool filter_match(const struct td_report *r, const struct td_flow_info *info, const struct td_tls_facts *facts,
                         int max_severity)
{
    return r->opts.filter == NULL || td_filter_match(r->opts.filter, info, facts, max_severity);
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
    return td_text_append(t, ",\"", 2) && td_text_append(t, key, strlen(key)) &&
           td_text_append(t, "\":", 2) && td_text_append(t, scratch->data, scratch->len);
}

/* splice_connection makes the connection's full text in r->text: the prepared body, then "findings" and
 * "evidence" (the same text jansson writes for the whole object). */
static bool splice_connection(struct td_report *r, const struct td_report_pending *p)
{
    const struct td_text *body = &p->prep->text;
    r->text.len = 0;
    json_t *evidence = td_json_str(p->evidence);
    bool ok = td_text_append(&r->text, body->data, body->len - 1) &&
              append_member(&r->text, &r->scratch, "findings", p->findings) &&
              append_member(&r->text, &r->scratch, "evidence", evidence) && td_text_append(&r->text, "}", 1);
    json_decref(evidence);
    return ok;
}

/* list_connection hands the pending connection's JSON to the document (listing.c) and spools its summary
 * entry, indexed for the summary. */
static void list_connection(struct td_report *r, const struct td_report_pending *p)
{
    if (p->input > UINT32_MAX) { /* the index keeps 32 bits of it: 4 billion inputs in one run cannot be sorted */
        r->ctx.failures++;
        return;
    }
    if (r->opts.json_path != NULL) {
        if (!splice_connection(r, p)) {
            r->ctx.failures++;
            return;
        }
        td_listing_hold(r, (uint32_t)p->input, p->first_frame, p->id, &r->text);
    }
    if (r->opts.summary == NULL) {
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
    /* The summary entry gets the findings the rules just gave. */
    struct td_text *summary = &p->prep->summary;
    bool summary_line = p->prep->summary_line;
    uint64_t offset = 0;
    if (summary_line) {
        if (!td_summary_entry_findings(summary, p->findings) || summary->len > UINT32_MAX) {
            r->ctx.failures++;
            return;
        }
        if (!td_report_spool_append(r, summary->data, summary->len, &offset)) {
            return; /* said at finish */
        }
    }
    r->index[r->num_index++] = (struct td_report_index){
        .input = (uint32_t)p->input, .summary_length = summary_line ? (uint32_t)summary->len : 0,
        .first_frame = p->first_frame, .id = p->id, .offset = offset, .summary_line = summary_line};
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
    if (!dump_compact(&r->text, event) || !td_text_append(&r->text, "\n", 1)) {
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
            list_connection(r, p);
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
    td_jv_scope_begin();
    struct td_jv *json = with_json ? td_json_connection(&p->ctx, input_index, info, facts)
                                   : td_json_connection_summary(&p->ctx, info, facts);
    /* Dumped here, on the worker: the end of the connection only splices "findings" and "evidence" in before
     * the closing brace, and the end of the run copies the text. */
    p->ok = json != NULL && (!with_json || (td_jv_write_compact(&p->text, json) && p->text.len > 2 && /* never "{}" */
                                            p->text.data[p->text.len - 1] == '}'));
    p->summary_line = with_summary && json != NULL && td_summary_entry_begin(&p->ctx, json, p->widths, &p->summary);
    td_jv_scope_end();
    td_json_lists_refresh();
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

bool td_report_spool_read(struct td_report *r, uint64_t offset, uint64_t len, char **buf, size_t *cap)
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
            if (n == 0) {
                errno = EIO; /* shorter than what was written to it */
            }
            return false;
        }
        done += (size_t)n;
    }
    (*buf)[len] = '\0';
    return true;
}

bool td_report_load_summary(struct td_report *r, size_t i, struct td_text *entry)
{
    entry->len = 0;
    if (i >= r->num_index || r->index[i].summary_length == 0) {
        return false;
    }
    const struct td_report_index *e = &r->index[i];
    if (!td_report_spool_read(r, e->offset, e->summary_length, &entry->data, &entry->cap)) {
        return false;
    }
    entry->len = e->summary_length;
    return true;
}

enum td_err td_report_oom_error(const struct td_report *r, struct td_error *err)
{
    // A failed constructor or set would leave a key missing: refuse to write a report that lies by omission.
    return td_error_set(err, TD_ERR_RESOURCE,
                        "out of memory while building the JSON report (%zu values could not be created); no report "
                        "was written: free memory or analyse fewer connections at once",
                        r->ctx.failures);
}

void td_report_release(struct td_report *r, size_t input_index, uint64_t below_frame)
{
    if (r == NULL || r->opts.json_path == NULL) {
        return;
    }
    td_report_end_connection(r); /* it may sort before what is released */
    td_listing_release(r, input_index, below_frame);
}

enum td_err td_report_finish(struct td_report *r, const struct td_flow_stats *flows, const struct td_limits *limits,
                             struct td_error *err)
{
    if (r == NULL) {
        return td_error_set(err, TD_ERR_INTERNAL, "td_report_finish called without a report");
    }
    td_report_end_connection(r);
    if (r->opts.json_path != NULL) {
        td_listing_release(r, SIZE_MAX, UINT64_MAX); /* whatever is still held, in order */
    }
    sort_index(r);
    json_t *totals = td_json_totals(&r->ctx, &r->totals, flows);
    enum td_err rc = TD_OK;
    if (r->spool_failed) {
        rc = td_error_set(err, TD_ERR_IO,
                          "cannot keep the connections for the report in a temporary file: %s; set TMPDIR to a "
                          "directory with free space (the report needs up to about as much as its own size)",
                          strerror(r->spool_errno != 0 ? r->spool_errno : EIO));
        goto out;
    }
    if (r->ctx.failures != 0 || totals == NULL) {
        rc = td_report_oom_error(r, err);
        goto out;
    }
    if (r->opts.json_path != NULL) {
        rc = td_listing_finish(r, totals, limits, err);
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
    td_listing_free(r);
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
    td_jv_free_thread();
    free(r->scratch.data);
    free(r);
}
