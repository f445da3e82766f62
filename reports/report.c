/* SPDX-License-Identifier: MIT */
/* report.c: collects inputs and converted connections, sorts them by (input, first frame) and writes the JSON
 * report atomically (temporary file in the target's directory, fsync, rename: POSIX rename(2) replaces the
 * target in one step, so a reader sees either the old file or the complete new one) and the human summary. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reals (duration_ms) are printed with 15 significant digits so that microsecond values read as
 * "12.345" rather than the 17-digit binary expansion. */
#define DUMP_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(15))

struct td_report *td_report_new(const struct td_report_options *opts)
{
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
}

static bool has_anomalies(const struct td_tls_facts *f)
{
    return f != NULL && (f->anomalies_seen > 0 || f->num_anomalies > 0);
}

static bool grow_conns(struct td_report *r)
{
    if (r->num_conns < r->cap_conns) {
        return true;
    }
    size_t cap = r->cap_conns != 0 ? r->cap_conns * 2 : 64;
    if (cap > SIZE_MAX / sizeof(*r->conns)) {
        return false;
    }
    struct td_report_conn *c = realloc(r->conns, cap * sizeof(*c));
    if (c == NULL) {
        return false;
    }
    r->conns = c;
    r->cap_conns = cap;
    return true;
}

void td_report_add_connection(struct td_report *r, size_t input_index, const struct td_flow_info *info,
                              const struct td_tls_facts *facts)
{
    if (r == NULL || info == NULL) {
        return;
    }
    bool is_tls = facts != NULL && facts->is_tls;
    enum td_outcome outcome = facts != NULL ? facts->outcome : TD_OUTCOME_NOT_TLS;
    r->totals.connections++;
    r->totals.tls_connections += is_tls;
    if ((unsigned)outcome <= TD_OUTCOME_RESUMED) {
        r->totals.by_outcome[outcome]++;
    }
    r->totals.with_anomalies += has_anomalies(facts);
    r->last_conn_listed = false;
    if (!is_tls && !r->opts.include_non_tls) {
        return;
    }
    if (!grow_conns(r)) {
        r->ctx.failures++;
        return;
    }
    json_t *j = td_json_connection(&r->ctx, input_index, info, facts);
    if (j == NULL) {
        return;
    }
    r->conns[r->num_conns++] = (struct td_report_conn){
        .input = input_index, .first_frame = info->first_frame, .id = info->id, .json = j};
    r->last_conn_listed = true;
}

/* add_to_findings appends f to a findings array, or merges it into the finding of the same rule already there. */
static void add_to_findings(struct td_report *r, json_t *findings, const struct td_finding *f)
{
    size_t i;
    json_t *existing;
    json_array_foreach(findings, i, existing) {
        const char *id = json_string_value(json_object_get(existing, "rule"));
        if (id != NULL && strcmp(id, f->rule->id) == 0) {
            td_json_merge_finding(&r->ctx, existing, f);
            return;
        }
    }
    td_json_append(&r->ctx, findings, td_json_finding(&r->ctx, f));
    if ((unsigned)f->rule->severity <= TD_SEVERITY_ERROR) {
        r->totals.findings[f->rule->severity]++;
    }
}

void td_report_add_finding(struct td_report *r, const struct td_finding *f)
{
    if (r == NULL || f == NULL || !r->last_conn_listed || r->num_conns == 0) {
        return; /* findings on an unlisted connection (no TLS, without --all) have nothing to attach to */
    }
    add_to_findings(r, json_object_get(r->conns[r->num_conns - 1].json, "findings"), f);
}

void td_report_add_server(struct td_report *r, size_t input_index, const struct td_server_facts *s)
{
    if (r == NULL || s == NULL) {
        return;
    }
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
    add_to_findings(r, json_object_get(r->servers[r->num_servers - 1].json, "findings"), f);
}

static int conn_cmp(const void *a, const void *b)
{
    const struct td_report_conn *x = a, *y = b;
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

static json_t *build_root(struct td_report *r, json_t *totals, const struct td_limits *limits)
{
    struct td_json_ctx *ctx = &r->ctx;
    json_t *root = json_object();
    json_t *tool = json_object();
    td_json_set(ctx, tool, "name", json_string("tlsdiag"));
    td_json_set(ctx, tool, "version", td_json_str(r->opts.tool_version != NULL ? r->opts.tool_version : "unknown"));
    td_json_set(ctx, root, "tool", tool);
    td_json_set(ctx, root, "inputs", json_incref(r->inputs));
    td_json_set(ctx, root, "totals", json_incref(totals));
    td_json_set(ctx, root, "limits", td_json_limits(ctx, limits));
    json_t *conns = json_array();
    for (size_t i = 0; i < r->num_conns; i++) {
        td_json_sort_findings(json_object_get(r->conns[i].json, "findings"));
        td_json_append(ctx, conns, json_incref(r->conns[i].json));
    }
    td_json_set(ctx, root, "connections", conns);
    json_t *servers = json_array();
    for (size_t i = 0; i < r->num_servers; i++) {
        td_json_sort_findings(json_object_get(r->servers[i].json, "findings"));
        td_json_append(ctx, servers, json_incref(r->servers[i].json));
    }
    td_json_set(ctx, root, "servers", servers);
    return root;
}

static enum td_err write_stdout(json_t *root, struct td_error *err)
{
    if (json_dumpf(root, stdout, DUMP_FLAGS) != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0 ||
        ferror(stdout)) {
        return td_error_set(err, TD_ERR_IO,
                            "cannot write the JSON report to standard output: %s; check that the output pipe or "
                            "disk is still open and has space",
                            strerror(errno));
    }
    return TD_OK;
}

/* write_direct writes root into an existing target that is not a regular file (/dev/null, /dev/stdout, a FIFO):
 * renaming a temporary file over it would replace the device or pipe itself (as root, /dev/null). */
static enum td_err write_direct(json_t *root, const char *path, struct td_error *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return td_error_set(err, TD_ERR_IO, "cannot write the JSON report to '%s': %s", path, strerror(errno));
    }
    errno = 0;
    bool ok = json_dumpf(root, f, DUMP_FLAGS) == 0 && fputc('\n', f) != EOF && fflush(f) == 0 && !ferror(f);
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

/* Writes root to path through "<dir>/.<name>.XXXXXX" and rename(2). On failure the temporary file is
 * removed and the target is left as it was. An existing target that is not a regular file is written
 * in place (write_direct): atomicity only means something for a regular file. */
static enum td_err write_atomic(json_t *root, const char *path, struct td_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        return write_direct(root, path, err);
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
    bool ok = json_dumpf(root, f, DUMP_FLAGS) == 0 && fputc('\n', f) != EOF && fflush(f) == 0 && !ferror(f) &&
              fsync(fileno(f)) == 0;
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
    if (r->num_conns > 1) {
        qsort(r->conns, r->num_conns, sizeof(*r->conns), conn_cmp);
    }
    json_t *totals = td_json_totals(&r->ctx, &r->totals, flows);
    json_t *root = build_root(r, totals, limits);
    enum td_err rc = TD_OK;
    // A failed constructor or set would leave a key missing: refuse to write a report that lies by omission.
    if (r->ctx.failures != 0 || root == NULL || totals == NULL) {
        rc = td_error_set(err, TD_ERR_RESOURCE,
                          "out of memory while building the JSON report (%zu values could not be created); "
                          "no report was written: free memory or analyse fewer connections at once",
                          r->ctx.failures);
        goto out;
    }
    if (r->opts.json_path != NULL) {
        rc = strcmp(r->opts.json_path, "-") == 0 ? write_stdout(root, err)
                                                 : write_atomic(root, r->opts.json_path, err);
        if (rc != TD_OK) {
            goto out;
        }
    }
    if (r->opts.summary != NULL && !td_summary_write(r, totals, r->opts.summary)) {
        rc = td_error_set(err, TD_ERR_IO, "cannot write the summary: %s; check the output stream",
                          strerror(errno));
    }
out:
    json_decref(root);
    json_decref(totals);
    return rc;
}

void td_report_free(struct td_report *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->num_conns; i++) {
        json_decref(r->conns[i].json);
    }
    free(r->conns);
    for (size_t i = 0; i < r->num_servers; i++) {
        json_decref(r->servers[i].json);
    }
    free(r->servers);
    json_decref(r->inputs);
    free(r);
}
