/* SPDX-License-Identifier: MIT */
/* pipeline.c: wires the stages together for offline input. Owns no parsing: readers, decoder, flow table,
 * dissector and report each do their one job; this file only moves their results along. */
#include "pipeline_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../capture/evidence.h"
#include "../capture/reader.h"
#include "../capture/spill.h"
#include "progress.h"
#include "../dissect/server.h"

/* Offline run state around the engine. */
struct run {
    struct td_engine *engine;
    FILE *errs;
    size_t skipped;     /* files in directories that are not captures */
};

static void *on_open(void *ctx, const struct td_flow_info *info)
{
    (void)info;
    struct td_engine *run = ctx;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        run->out_of_memory = true;
        return NULL;
    }
    c->tls = td_tls_conn_new(&run->opts->limits, run->spill);
    if (c->tls == NULL) {
        free(c);
        run->out_of_memory = true;
        return NULL;
    }
    c->input_index = run->input_index;
    return c;
}

static void on_data(void *ctx, void *user, int dir, const uint8_t *data, size_t len, uint64_t off, uint64_t frame,
                    int64_t ts_ns)
{
    (void)ctx;
    struct conn *c = user;
    if (c != NULL && td_tls_conn_is_tracking(c->tls)) {
        td_tls_conn_data(c->tls, dir, data, len, off, frame, ts_ns);
    }
}

static void on_gap(void *ctx, void *user, int dir, uint64_t off, uint64_t len, uint64_t frame, int64_t ts_ns)
{
    (void)ctx;
    struct conn *c = user;
    if (c != NULL && td_tls_conn_is_tracking(c->tls)) {
        td_tls_conn_gap(c->tls, dir, off, len, frame, ts_ns);
    }
}

static void on_datagram(void *ctx, void *user, int dir, const uint8_t *data, size_t len, uint64_t frame,
                        int64_t ts_ns)
{
    (void)ctx;
    struct conn *c = user;
    if (c != NULL && td_tls_conn_is_tracking(c->tls)) {
        td_tls_conn_datagram(c->tls, dir, data, len, frame, ts_ns);
    }
}

static void on_tcp_flags(void *ctx, void *user, int dir, uint8_t flags, uint64_t frame, int64_t ts_ns)
{
    (void)ctx;
    struct conn *c = user;
    if (c != NULL) {
        td_tls_conn_tcp_flags(c->tls, dir, flags, frame, ts_ns);
    }
}

static void on_connection_finding(void *ctx, const struct td_finding *f)
{
    struct td_engine *e = ctx;
    if ((int)f->rule->severity > e->max_severity) {
        e->max_severity = (int)f->rule->severity;
    }
    td_report_add_finding(e->report, f);
}

static void on_server_finding(void *ctx, const struct td_finding *f)
{
    td_report_add_server_finding(ctx, f);
}

/* evaluate_connection runs the connection rules, then the alert rules once per alert, with the facts of the
 * connection's server as known so far (this connection included). */
static void evaluate_connection(struct td_engine *run, const struct td_flow_info *info,
                                const struct td_tls_facts *facts)
{
    const struct td_server_facts *server = td_server_table_add(run->servers, info, facts);
    if (run->opts->rules == NULL) {
        return;
    }
    struct td_fact_ctx fc = {.flow = info, .tls = facts, .server = server};
    td_ruleset_eval(run->opts->rules, TD_EVAL_CONNECTION, &fc, on_connection_finding, run);
    for (uint32_t i = 0; facts->alerts != NULL && i < facts->num_alerts; i++) {
        fc.alert = &facts->alerts[i];
        td_ruleset_eval(run->opts->rules, TD_EVAL_ALERT, &fc, on_connection_finding, run);
    }
}

/* A failure worth an evidence file: a TLS handshake that did not complete, or any error finding. */
static bool is_failure(const struct td_engine *e, const struct td_tls_facts *facts)
{
    bool failed_tls = facts->is_tls && facts->outcome != TD_OUTCOME_ESTABLISHED &&
                      facts->outcome != TD_OUTCOME_RESUMED;
    return failed_tls || e->max_severity == (int)TD_SEVERITY_ERROR;
}

/* keep_evidence writes the frames of a failed connection to its pcap (and names it in the report), or lets
 * the collector forget them. */
static void keep_evidence(struct td_engine *e, const struct td_flow_info *info, const struct td_tls_facts *facts)
{
    char path[TD_EVIDENCE_PATH_LEN];
    struct td_error err = {0};
    if (td_evidence_close(e->opts->evidence, info, is_failure(e, facts), e->in.path, path, sizeof(path), &err) !=
        TD_OK) {
        if (!e->evidence_error_said) {
            td_progress_clear(e->opts->progress);
            fprintf(e->errs, "tlsdiag: --evidence: %s (further failures are counted, not shown)\n", err.msg);
            e->evidence_error_said = true;
        }
        return;
    }
    if (path[0] != '\0') {
        td_report_set_evidence(e->report, path);
    }
}

/* td_engine_commit reports one finished connection: report entry, rules (in close order: connection rules
 * see their server's facts as known so far), evidence, events. prep: its JSON made on a worker, or NULL. */
void td_engine_commit(struct td_engine *run, size_t input_index, const struct td_flow_info *info,
                      const struct td_tls_facts *facts, struct td_report_prepared *prep, bool free_prep)
{
    td_report_add_prepared(run->report, input_index, info, facts, prep, free_prep);
    if (info->transport != TD_TRANSPORT_UDP || facts->is_tls) {
        /* (a UDP flow without DTLS is counted, nothing more: no server, no rules, no evidence) */
        run->max_severity = -1;
        evaluate_connection(run, info, facts);
        if (run->opts->evidence != NULL) {
            keep_evidence(run, info, facts);
        }
        td_report_end_connection(run->report);
    }
    /* Commits come in close order: every connection that starts below closed_below is in the report now. */
    td_report_release(run->report, input_index, info->closed_below);
}

static void on_close(void *ctx, void *user, const struct td_flow_info *info)
{
    struct td_engine *run = ctx;
    struct conn *c = user;
    if (c == NULL) {
        return;
    }
    td_tls_conn_finish(c->tls, info->last_frame, info->last_ts_ns);
    td_engine_commit(run, c->input_index, info, td_tls_conn_facts(c->tls), NULL, false);
    td_tls_conn_free(c->tls);
    free(c);
}

struct td_flow_callbacks td_engine_callbacks(void *ctx, void *(*open)(void *ctx, const struct td_flow_info *info),
                                             void (*close)(void *ctx, void *user, const struct td_flow_info *info))
{
    return (struct td_flow_callbacks){
        .ctx = ctx,
        .on_open = open,
        .on_data = on_data,
        .on_gap = on_gap,
        .on_tcp_flags = on_tcp_flags,
        .on_datagram = on_datagram,
        .on_close = close,
    };
}

/* finish_servers reports each server of the input just read, runs the server rules, and forgets them. The
 * server cap is the one limit the report has no counter for, so its hits are said on errs. */
static void finish_servers(struct td_engine *run, const char *path)
{
    uint64_t dropped = td_server_table_dropped(run->servers);
    if (dropped > 0) {
        fprintf(run->errs,
                "tlsdiag: note: %s: %llu connections to servers past the first %u were not aggregated per server\n",
                path, (unsigned long long)dropped, TD_PIPELINE_MAX_SERVERS);
    }
    for (size_t i = 0; i < td_server_table_count(run->servers); i++) {
        const struct td_server_facts *s = td_server_table_at(run->servers, i);
        if (s->tls_connections == 0) {
            continue; /* plain TCP servers are counted in the totals, not described */
        }
        td_report_add_server(run->report, run->input_index, s);
        if (run->opts->rules != NULL) {
            struct td_fact_ctx fc = {.server = s};
            td_ruleset_eval(run->opts->rules, TD_EVAL_SERVER, &fc, on_server_finding, run->report);
        }
    }
    td_server_table_clear(run->servers);
}

static void count_decode(struct td_input_summary *in, enum td_decode_result r)
{
    switch (r) {
    case TD_DECODE_TCP:
        in->tcp_segments++;
        break;
    case TD_DECODE_UDP:
        in->udp++;
        break;
    case TD_DECODE_OTHER_IP:
        in->other_ip++;
        break;
    case TD_DECODE_IP_FRAGMENT:
        in->ip_fragments++;
        break;
    case TD_DECODE_NOT_IP:
        in->not_ip++;
        break;
    case TD_DECODE_UNKNOWN_LINK:
        in->unknown_link++;
        break;
    case TD_DECODE_TRUNCATED:
        in->truncated++;
        break;
    case TD_DECODE_MALFORMED:
        in->malformed++;
        break;
    }
}

/* Whether inputs (files, or live with --threads) are read by shards: --evidence needs every frame in one place,
 * so it keeps one thread. */
static bool sharded(const struct td_pipeline_options *opts)
{
    return opts->threads > 1 && opts->evidence == NULL;
}

struct td_engine *td_engine_new(const struct td_pipeline_options *opts, struct td_report *report, FILE *errs)
{
    struct td_engine *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    e->opts = opts;
    e->report = report;
    e->errs = errs;
    struct td_flow_callbacks cb = td_engine_callbacks(e, on_open, on_close);
    e->servers = td_server_table_new(TD_PIPELINE_MAX_SERVERS);
    // With shards this table sees no frame: an nDPI module for it would only cost its start-up (tens of ms).
    e->flows = e->servers != NULL ? td_flow_table_new(&opts->limits, &cb, opts->classify && !sharded(opts)) : NULL;
    if (e->flows == NULL) {
        td_server_table_free(e->servers);
        free(e);
        return NULL;
    }
    if (!sharded(opts)) {
        e->spill = td_engine_spill_new(opts);
    }
    return e;
}

/* Frames a settled connection must be idle before its facts leave memory: a connection that closes soon after its
 * handshake (most of them) is freed before that, without a system call. */
#define SPILL_DELAY_FRAMES 4096u
/* Settled connections kept in memory anyway (~7 KB each, 14 MB): below this a capture pays nothing for the
 * spill; above it the oldest idle ones go out. */
#define SPILL_WARM_MAX 2048u

struct td_spill *td_engine_spill_new(const struct td_pipeline_options *opts)
{
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer sees heap blocks, not a file mapping: sanitizer runs keep connections on the heap. */
    (void)opts;
    return NULL;
#else
    if (opts->no_spill) {
        return NULL;
    }
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0') {
        dir = "/tmp";
    }
    int err = 0;
    return td_spill_new(dir, SPILL_DELAY_FRAMES, SPILL_WARM_MAX, &err);
#endif
}

void td_engine_begin_input(struct td_engine *e, const char *name)
{
    e->in = (struct td_input_summary){.path = name};
    e->unknown_linktype = 0;
    td_report_set_input_name(e->report, name);
}

void td_engine_count_frame(struct td_input_summary *in, const struct td_frame *frame, enum td_decode_result r,
                           uint32_t *unknown_linktype)
{
    if (in->frames == 0) {
        in->first_ts_ns = frame->ts_ns;
    }
    in->frames++;
    in->bytes += frame->caplen;
    in->last_ts_ns = frame->ts_ns;
    count_decode(in, r);
    if (r == TD_DECODE_UNKNOWN_LINK && in->unknown_link == 1) {
        *unknown_linktype = frame->linktype;
    }
}

void td_engine_frame(struct td_engine *e, const struct td_frame *frame)
{
    struct td_segment seg;
    enum td_decode_result dr = td_decode_frame(frame->linktype, frame->data, frame->caplen, &seg);
    td_engine_count_frame(&e->in, frame, dr, &e->unknown_linktype);
    // UDP datagrams too: a failed DTLS handshake gets its evidence file like a TLS one.
    bool flow_frame = dr == TD_DECODE_TCP || dr == TD_DECODE_UDP;
    if (e->opts->evidence != NULL && flow_frame) {
        td_evidence_packet(e->opts->evidence, frame, &seg, dr == TD_DECODE_UDP ? TD_TRANSPORT_UDP : TD_TRANSPORT_TCP);
    }
    td_engine_feed(e->flows, dr, &seg, frame);
    if (e->spill != NULL) {
        td_spill_tick(e->spill);
    }
    if (e->opts->evidence != NULL && flow_frame) {
        td_evidence_expire(e->opts->evidence, frame->ts_ns);
    }
}

void td_engine_feed(struct td_flow_table *flows, enum td_decode_result r, const struct td_segment *seg,
                    const struct td_frame *frame)
{
    if (r == TD_DECODE_TCP) {
        td_flow_table_add(flows, seg, frame->frame, frame->ts_ns);
    } else if (r == TD_DECODE_UDP) {
        td_flow_table_add_datagram(flows, seg, frame->frame, frame->ts_ns);
    }
}

void td_engine_tick(struct td_engine *e, int64_t now_ns)
{
    td_flow_table_expire(e->flows, now_ns);
    if (e->opts->evidence != NULL) {
        td_evidence_expire(e->opts->evidence, now_ns);
    }
}

void td_engine_end_input(struct td_engine *e, const struct td_engine_input *end)
{
    struct td_input_summary *in = &e->in;
    if (in->unknown_link > 0) {
        const char *name = td_linktype_name(e->unknown_linktype);
        fprintf(e->errs,
                "tlsdiag: note: %s: %llu frame%s of link type %u (%s) skipped: tlsdiag decodes Ethernet, Linux cooked "
                "(SLL, SLL2), raw IP, BSD loopback, PPP and 802.11; re-export the capture with one of these link types\n",
                in->path, (unsigned long long)in->unknown_link, in->unknown_link == 1 ? "" : "s",
                e->unknown_linktype, name != NULL ? name : "unknown");
    }
    /* Connections do not span inputs: frame numbers restart with each file. */
    td_flow_table_flush(e->flows);
    if (e->opts->evidence != NULL) {
        td_evidence_clear(e->opts->evidence); /* frame numbers restart with the next input */
    }
    finish_servers(e, in->path);
    uint32_t linktypes[MAX_LINKTYPES];
    in->num_linktypes = end->num_linktypes < MAX_LINKTYPES ? end->num_linktypes : MAX_LINKTYPES;
    for (size_t i = 0; i < in->num_linktypes; i++) {
        linktypes[i] = end->linktypes[i];
    }
    in->linktypes = linktypes;
    in->format = end->format;
    in->error = end->error;
    td_report_add_input(e->report, in);
    e->input_index++;
}

const struct td_input_summary *td_engine_input(const struct td_engine *e)
{
    return &e->in;
}

uint64_t td_engine_active_flows(const struct td_engine *e)
{
    return td_flow_table_active(e->flows);
}

const struct td_flow_stats *td_engine_flow_stats(const struct td_engine *e)
{
    return e->sharded_inputs ? &e->shard_stats : td_flow_table_stats(e->flows);
}

bool td_engine_out_of_memory(const struct td_engine *e)
{
    return e->out_of_memory;
}

void td_engine_free(struct td_engine *e)
{
    if (e == NULL) {
        return;
    }
    td_flow_table_free(e->flows); /* closes and frees the connections left */
    td_server_table_free(e->servers);
    td_spill_free(e->spill);
    free(e);
}

uint64_t td_engine_file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
}

bool td_engine_stopped(const struct td_engine *e)
{
    return e->opts->stop != NULL && *e->opts->stop;
}

/* analyse_file reads one capture to its end (or to where it breaks) through the engine.
 * Returns false when the file could not be opened as a capture (err says why). */
static bool analyse_file(struct run *run, const char *path, bool from_dir, struct td_pipeline_result *result)
{
    struct td_error err = {0};
    struct td_reader *reader = NULL;
    enum td_err rc = td_reader_open(path, &reader, &err);
    if (rc != TD_OK) {
        if (from_dir && rc == TD_ERR_FORMAT) {
            run->skipped++; /* READMEs, keys, scripts next to captures: not worth a line each */
            return true;
        }
        td_progress_clear(run->engine->opts->progress);
        fprintf(run->errs, "tlsdiag: %s\n", err.msg);
        result->inputs_failed++;
        return false;
    }
    if (sharded(run->engine->opts)) {
        td_reader_free(reader);
        td_shards_analyse_file(run->engine, path, run->errs, result);
        return true;
    }
    td_engine_begin_input(run->engine, path);
    struct td_progress *progress = run->engine->opts->progress;
    td_progress_file(progress, path);
    struct td_frame frame;
    enum td_reader_status st;
    const volatile sig_atomic_t *stop = run->engine->opts->stop;
    while ((st = td_reader_next(reader, &frame, &err)) == TD_READ_FRAME) {
        if (stop != NULL && *stop) {
            break;
        }
        td_engine_frame(run->engine, &frame);
        if (progress != NULL && (frame.frame & PROGRESS_EVERY_FRAMES) == 0) {
            td_progress_update(progress, td_reader_offset(reader), td_progress_now_ns());
        }
    }
    td_progress_file_done(progress, td_engine_file_size(path));
    td_progress_clear(progress);
    struct td_engine_input end = {.format = td_reader_format_name(reader)};
    if (st == TD_READ_ERROR) {
        fprintf(run->errs, "tlsdiag: %s\n", err.msg);
        end.error = err.msg;
        result->inputs_partial++;
    } else {
        result->inputs_read++;
    }
    uint32_t linktypes[MAX_LINKTYPES];
    size_t n = td_reader_num_linktypes(reader);
    end.num_linktypes = n < MAX_LINKTYPES ? n : MAX_LINKTYPES;
    for (size_t i = 0; i < end.num_linktypes; i++) {
        linktypes[i] = td_reader_linktype_at(reader, i);
    }
    end.linktypes = linktypes;
    result->frames += td_engine_input(run->engine)->frames;
    result->bytes += td_engine_input(run->engine)->bytes;
    td_engine_end_input(run->engine, &end);
    td_reader_free(reader);
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Bound on directory recursion: symlink loops and pathological trees must not recurse without end. */
#define MAX_DIR_DEPTH 16

static void analyse_path(struct run *run, const char *path, bool from_dir, int depth, struct td_pipeline_result *result)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        td_progress_clear(run->engine->opts->progress);
        fprintf(run->errs, "tlsdiag: %s: %s; check the path and permissions\n", path, strerror(errno));
        result->inputs_failed++;
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        (void)analyse_file(run, path, from_dir, result);
        return;
    }
    if (depth >= MAX_DIR_DEPTH) {
        td_progress_clear(run->engine->opts->progress);
        fprintf(run->errs, "tlsdiag: note: %s: not descending more than %d directories deep\n", path, MAX_DIR_DEPTH);
        return;
    }
    DIR *dir = opendir(path);
    if (dir == NULL) {
        td_progress_clear(run->engine->opts->progress);
        fprintf(run->errs, "tlsdiag: %s: %s; check the permissions\n", path, strerror(errno));
        result->inputs_failed++;
        return;
    }
    char **names = NULL;
    size_t num = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue; /* ".", "..", and hidden files */
        }
        if (num == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **bigger = realloc(names, ncap * sizeof(*names));
            if (bigger == NULL) {
                run->engine->out_of_memory = true;
                break;
            }
            names = bigger;
            cap = ncap;
        }
        size_t len = strlen(path) + 1 + strlen(de->d_name) + 1;
        names[num] = malloc(len);
        if (names[num] == NULL) {
            run->engine->out_of_memory = true;
            break;
        }
        size_t dir_len = strlen(path);
        while (dir_len > 1 && path[dir_len - 1] == '/') {
            dir_len--; /* "samples/" + "x.pcap" -> "samples/x.pcap" */
        }
        snprintf(names[num], len, "%.*s/%s", (int)dir_len, path, de->d_name);
        num++;
    }
    closedir(dir);
    if (num > 1) {
        qsort(names, num, sizeof(*names), compare_names);
    }
    for (size_t i = 0; i < num; i++) {
        if (!run->engine->out_of_memory && !td_engine_stopped(run->engine)) {
            analyse_path(run, names[i], true, depth + 1, result);
        }
        free(names[i]);
    }
    free(names);
}

static void measure(const char *path, int depth, uint64_t *bytes, size_t *files)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        *bytes += S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
        (*files)++;
        return;
    }
    DIR *dir = depth < MAX_DIR_DEPTH ? opendir(path) : NULL;
    if (dir == NULL) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        char child[4096];
        int n = snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
        if (n > 0 && (size_t)n < sizeof(child)) {
            measure(child, depth + 1, bytes, files);
        }
    }
    closedir(dir);
}

void td_pipeline_measure(char *const *paths, size_t num_paths, uint64_t *bytes, size_t *files)
{
    *bytes = 0;
    *files = 0;
    for (size_t i = 0; i < num_paths; i++) {
        measure(paths[i], 0, bytes, files);
    }
}

enum td_err td_pipeline_run(const struct td_pipeline_options *opts, char *const *paths, size_t num_paths,
                            struct td_report *report, FILE *errs, struct td_pipeline_result *result,
                            struct td_flow_stats *flow_stats)
{
    memset(result, 0, sizeof(*result));
    struct run run = {.engine = td_engine_new(opts, report, errs), .errs = errs};
    if (run.engine == NULL) {
        return TD_ERR_RESOURCE;
    }
    for (size_t i = 0; i < num_paths && !run.engine->out_of_memory && !td_engine_stopped(run.engine); i++) {
        analyse_path(&run, paths[i], false, 0, result);
    }
    result->interrupted = td_engine_stopped(run.engine);
    if (run.skipped > 0) {
        fprintf(errs, "tlsdiag: note: skipped %zu file%s that %s not captures\n", run.skipped,
                run.skipped == 1 ? "" : "s", run.skipped == 1 ? "is" : "are");
    }
    *flow_stats = *td_engine_flow_stats(run.engine);
    bool oom = run.engine->out_of_memory;
    td_engine_free(run.engine);
    return oom ? TD_ERR_RESOURCE : TD_OK;
}
