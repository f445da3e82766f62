/* SPDX-License-Identifier: MIT */
/* pipeline.c: wires the stages together for offline input. Owns no parsing: readers, decoder, flow table,
 * dissector and report each do their one job; this file only moves their results along. */
#include "pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../capture/decode.h"
#include "../capture/flow.h"
#include "../capture/reader.h"
#include "../dissect/server.h"
#include "../dissect/tls.h"

struct run {
    const struct td_pipeline_options *opts;
    struct td_report *report;
    FILE *errs;
    size_t input_index; /* index of the file being read, as registered in the report */
    size_t skipped;     /* files in directories that are not captures */
    struct td_server_table *servers;
    bool out_of_memory;
};

/* Per-flow consumer state. */
struct conn {
    struct td_tls_conn *tls;
    size_t input_index;
};

static void *on_open(void *ctx, const struct td_flow_info *info)
{
    (void)info;
    struct run *run = ctx;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        run->out_of_memory = true;
        return NULL;
    }
    c->tls = td_tls_conn_new(&run->opts->limits);
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
    td_report_add_finding(ctx, f);
}

static void on_server_finding(void *ctx, const struct td_finding *f)
{
    td_report_add_server_finding(ctx, f);
}

/* evaluate_connection runs the connection rules, then the alert rules once per alert, with the facts of the
 * connection's server as known so far (this connection included). */
static void evaluate_connection(struct run *run, const struct td_flow_info *info, const struct td_tls_facts *facts)
{
    const struct td_server_facts *server = td_server_table_add(run->servers, info, facts);
    if (run->opts->rules == NULL) {
        return;
    }
    struct td_fact_ctx fc = {.flow = info, .tls = facts, .server = server};
    td_ruleset_eval(run->opts->rules, TD_EVAL_CONNECTION, &fc, on_connection_finding, run->report);
    for (uint32_t i = 0; facts->alerts != NULL && i < facts->num_alerts; i++) {
        fc.alert = &facts->alerts[i];
        td_ruleset_eval(run->opts->rules, TD_EVAL_ALERT, &fc, on_connection_finding, run->report);
    }
}

static void on_close(void *ctx, void *user, const struct td_flow_info *info)
{
    struct run *run = ctx;
    struct conn *c = user;
    if (c == NULL) {
        return;
    }
    td_tls_conn_finish(c->tls, info->last_frame, info->last_ts_ns);
    const struct td_tls_facts *facts = td_tls_conn_facts(c->tls);
    td_report_add_connection(run->report, c->input_index, info, facts);
    evaluate_connection(run, info, facts);
    td_report_end_connection(run->report);
    td_tls_conn_free(c->tls);
    free(c);
}

/* finish_servers reports each server of the input just read, runs the server rules, and forgets them. The
 * server cap is the one limit the report has no counter for, so its hits are said on errs. */
static void finish_servers(struct run *run, const char *path)
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

/* Distinct link types of one input, for its summary. */
#define MAX_LINKTYPES 32

static void count_decode(struct td_input_summary *in, enum td_decode_result r)
{
    switch (r) {
    case TD_DECODE_TCP:
        in->tcp_segments++;
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

/* analyse_file reads one capture to its end (or to where it breaks) through the flow table.
 * Returns false when the file could not be opened as a capture (err says why). */
static bool analyse_file(struct run *run, struct td_flow_table *flows, const char *path, bool from_dir,
                         struct td_pipeline_result *result)
{
    struct td_error err = {0};
    struct td_reader *reader = NULL;
    enum td_err rc = td_reader_open(path, &reader, &err);
    if (rc != TD_OK) {
        if (from_dir && rc == TD_ERR_FORMAT) {
            run->skipped++; /* READMEs, keys, scripts next to captures: not worth a line each */
            return true;
        }
        fprintf(run->errs, "tlsdiag: %s\n", err.msg);
        result->inputs_failed++;
        return false;
    }

    struct td_input_summary in = {.path = path, .first_ts_ns = 0, .last_ts_ns = 0};
    uint32_t linktypes[MAX_LINKTYPES];
    struct td_frame frame;
    enum td_reader_status st;
    uint32_t unknown_linktype = 0; /* the first link type we could not decode, for the note below */
    while ((st = td_reader_next(reader, &frame, &err)) == TD_READ_FRAME) {
        if (in.frames == 0) {
            in.first_ts_ns = frame.ts_ns;
        }
        in.frames++;
        in.bytes += frame.caplen;
        in.last_ts_ns = frame.ts_ns;
        struct td_segment seg;
        enum td_decode_result dr = td_decode_frame(frame.linktype, frame.data, frame.caplen, &seg);
        count_decode(&in, dr);
        if (dr == TD_DECODE_UNKNOWN_LINK && in.unknown_link == 1) {
            unknown_linktype = frame.linktype;
        }
        if (dr == TD_DECODE_TCP) {
            td_flow_table_add(flows, &seg, frame.frame, frame.ts_ns);
        }
    }
    if (st == TD_READ_ERROR) {
        fprintf(run->errs, "tlsdiag: %s\n", err.msg);
        in.error = err.msg;
        result->inputs_partial++;
    } else {
        result->inputs_read++;
    }
    if (in.unknown_link > 0) {
        const char *name = td_linktype_name(unknown_linktype);
        fprintf(run->errs,
                "tlsdiag: note: %s: %llu frame%s of link type %u (%s) skipped: tlsdiag decodes Ethernet, Linux cooked "
                "(SLL, SLL2), raw IP, BSD loopback and PPP; re-export the capture with one of these link types\n",
                path, (unsigned long long)in.unknown_link, in.unknown_link == 1 ? "" : "s", unknown_linktype,
                name != NULL ? name : "unknown");
    }
    /* Connections do not span files: frame numbers restart with each file. */
    td_flow_table_flush(flows);
    finish_servers(run, path);

    size_t n = td_reader_num_linktypes(reader);
    in.num_linktypes = n < MAX_LINKTYPES ? n : MAX_LINKTYPES;
    for (size_t i = 0; i < in.num_linktypes; i++) {
        linktypes[i] = td_reader_linktype_at(reader, i);
    }
    in.linktypes = linktypes;
    in.format = td_reader_format_name(reader);
    td_report_add_input(run->report, &in);
    run->input_index++;
    result->frames += in.frames;
    result->bytes += in.bytes;
    td_reader_free(reader);
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Bound on directory recursion: symlink loops and pathological trees must not recurse without end. */
#define MAX_DIR_DEPTH 16

static void analyse_path(struct run *run, struct td_flow_table *flows, const char *path, bool from_dir, int depth,
                         struct td_pipeline_result *result)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(run->errs, "tlsdiag: %s: %s; check the path and permissions\n", path, strerror(errno));
        result->inputs_failed++;
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        (void)analyse_file(run, flows, path, from_dir, result);
        return;
    }
    if (depth >= MAX_DIR_DEPTH) {
        fprintf(run->errs, "tlsdiag: note: %s: not descending more than %d directories deep\n", path, MAX_DIR_DEPTH);
        return;
    }
    DIR *dir = opendir(path);
    if (dir == NULL) {
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
                run->out_of_memory = true;
                break;
            }
            names = bigger;
            cap = ncap;
        }
        size_t len = strlen(path) + 1 + strlen(de->d_name) + 1;
        names[num] = malloc(len);
        if (names[num] == NULL) {
            run->out_of_memory = true;
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
        if (!run->out_of_memory) {
            analyse_path(run, flows, names[i], true, depth + 1, result);
        }
        free(names[i]);
    }
    free(names);
}

enum td_err td_pipeline_run(const struct td_pipeline_options *opts, char *const *paths, size_t num_paths,
                            struct td_report *report, FILE *errs, struct td_pipeline_result *result,
                            struct td_flow_stats *flow_stats)
{
    struct run run = {.opts = opts, .report = report, .errs = errs};
    struct td_flow_callbacks cb = {
        .ctx = &run,
        .on_open = on_open,
        .on_data = on_data,
        .on_gap = on_gap,
        .on_tcp_flags = on_tcp_flags,
        .on_close = on_close,
    };
    memset(result, 0, sizeof(*result));
    run.servers = td_server_table_new(TD_PIPELINE_MAX_SERVERS);
    struct td_flow_table *flows = run.servers != NULL ? td_flow_table_new(&opts->limits, &cb, opts->classify) : NULL;
    if (flows == NULL) {
        td_server_table_free(run.servers);
        return TD_ERR_RESOURCE;
    }
    for (size_t i = 0; i < num_paths && !run.out_of_memory; i++) {
        analyse_path(&run, flows, paths[i], false, 0, result);
    }
    if (run.skipped > 0) {
        fprintf(errs, "tlsdiag: note: skipped %zu file%s that %s not captures\n", run.skipped,
                run.skipped == 1 ? "" : "s", run.skipped == 1 ? "is" : "are");
    }
    *flow_stats = *td_flow_table_stats(flows);
    td_flow_table_free(flows);
    td_server_table_free(run.servers);
    return run.out_of_memory ? TD_ERR_RESOURCE : TD_OK;
}
