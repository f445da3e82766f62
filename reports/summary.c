/* SPDX-License-Identifier: MIT */
/* summary.c: the human summary: per input a header line, one aligned line per TLS connection (with the
 * outcome sentence for failures), then the totals. Made from the report's JSON so both say the same thing;
 * no colours, nothing that depends on the terminal, so the output is deterministic.
 * Each connection's part is rendered from its JSON object when that is made (an entry in the spool, after the
 * JSON text): printing the summary of a large capture then reads small entries instead of parsing every
 * connection back, which was most of a default run's time. */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NUM_COLS TD_SUMMARY_COLS

struct row {
    char id[24];
    char client[64];
    char server[64];
    const char *sni;
    const char *version;
    const char *cipher;
    const char *result;
    const char *text;          /* outcome sentence, shown for failures only */
};

static const char *get_str(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : dflt;
}

static long long get_int(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* The same for a connection's json_tree.h value. */
static const char *jv_str(const struct td_jv *o, const char *key, const char *dflt)
{
    const char *s = td_jv_string(td_jv_get(o, key));
    return s != NULL ? s : dflt;
}

static long long jv_int(const struct td_jv *o, const char *key)
{
    return (long long)td_jv_integer_value(td_jv_get(o, key));
}

/* "192.0.2.1:443" or "[2001:db8::1]:443". */
static void format_endpoint(const struct td_jv *ep, char *buf, size_t buf_len)
{
    const char *ip = jv_str(ep, "ip", "?");
    bool v6 = strchr(ip, ':') != NULL;
    (void)snprintf(buf, buf_len, "%s%s%s:%lld", v6 ? "[" : "", ip, v6 ? "]" : "", jv_int(ep, "port"));
}

static void fill_row(const struct td_jv *conn, struct row *row)
{
    const struct td_jv *tls = td_jv_get(conn, "tls");
    const struct td_jv *outcome = td_jv_get(conn, "outcome");
    const struct td_jv *ch0 = td_jv_at(td_jv_get(tls, "client_hellos"), 0);
    (void)snprintf(row->id, sizeof(row->id), "#%lld", jv_int(conn, "id"));
    format_endpoint(td_jv_get(conn, "client"), row->client, sizeof(row->client));
    format_endpoint(td_jv_get(conn, "server"), row->server, sizeof(row->server));
    row->sni = jv_str(ch0, "sni", "-");
    row->version = jv_str(td_jv_get(tls, "version"), "name", "-");
    row->cipher = jv_str(td_jv_get(tls, "cipher"), "name", "-");
    row->result = jv_str(outcome, "result", "?");
    bool ok = strcmp(row->result, "established") == 0 || strcmp(row->result, "resumed") == 0;
    row->text = ok ? NULL : jv_str(outcome, "text", NULL);
}

/* Text of findings is wrapped at this width, after an indent, so a terminal shows it without side-scrolling. */
#define WRAP_COLUMNS 100

/* write_wrapped prints text word-wrapped: the first line after `first` (already indented), the rest indented. */
static void write_wrapped(FILE *out, const char *first, const char *text, int indent)
{
    (void)fprintf(out, "%*s%s", indent, "", first);
    int col = indent + (int)strlen(first);
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\n') { // a "\n" written in the rule text: a new line, indented like the wrapped ones
            (void)fprintf(out, "\n%*s", indent + (int)strlen(first), "");
            col = indent + (int)strlen(first);
            p++;
            continue;
        }
        size_t word = strcspn(p, " \n");
        if (word == 0) {
            break;
        }
        if (col + 1 + (int)word > WRAP_COLUMNS && col > indent + (int)strlen(first)) {
            (void)fprintf(out, "\n%*s", indent + (int)strlen(first), "");
            col = indent + (int)strlen(first);
        } else if (col > indent + (int)strlen(first)) {
            (void)fputc(' ', out);
            col++;
        }
        (void)fprintf(out, "%.*s", (int)word, p);
        col += (int)word;
        p += word;
    }
    (void)fputc('\n', out);
}

/* write_findings prints each finding: severity, rule, title, evidence frames, then the explanation and the fix. */
static void write_findings(json_t *findings, FILE *out, int indent)
{
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        char head[64];
        (void)snprintf(head, sizeof(head), "%-7s ", get_str(f, "severity", "?"));
        (void)fprintf(out, "%*s%s%s: %s", indent, "", head, get_str(f, "rule", "?"), get_str(f, "title", ""));
        json_t *ev = json_object_get(f, "evidence_frames");
        size_t k;
        json_t *frame;
        json_array_foreach(ev, k, frame) {
            (void)fprintf(out, "%s%lld", k == 0 ? (json_array_size(ev) == 1 ? " [frame " : " [frames ") : ", ",
                          json_integer_value(frame));
        }
        (void)fprintf(out, "%s\n", json_array_size(ev) > 0 ? "]" : "");
        write_wrapped(out, "", get_str(f, "explanation", ""), indent + (int)strlen(head));
        write_wrapped(out, "fix: ", get_str(f, "remedy", ""), indent + (int)strlen(head));
    }
}

static size_t col_len(const struct row *row, size_t col)
{
    switch (col) {
    case 0: return strlen(row->id);
    case 1: return strlen(row->client);
    case 2: return strlen(row->server);
    case 3: return strlen(row->sni) + 4; // "sni="
    case 4: return strlen(row->version);
    case 5: return strlen(row->cipher);
    default: return strlen(row->result);
    }
}

/* write_path prints how the connection reached the capture when that is not plain TLS over TCP:
 * "    path: DTLS over UDP; smtp plaintext first, TLS from frame 8; inside vlan 100 > ip 10.0.0.1->10.0.0.2 > vxlan 42"
 * (a GRE key of 0 means none and is not shown). */
static void write_path(void *arg, FILE *out)
{
    const struct td_jv *conn = *(const struct td_jv **)arg;
    const char *sep = "    path: ";
    bool any = false;
    if (strcmp(jv_str(conn, "transport", "tcp"), "udp") == 0) {
        (void)fprintf(out, "%sDTLS over UDP", sep);
        sep = "; ";
        any = true;
    }
    const struct td_jv *ps = td_jv_get(conn, "plaintext_start");
    if (td_jv_is(ps, TD_JV_OBJECT)) {
        (void)fprintf(out, "%s%s plaintext first, TLS from frame %lld", sep, jv_str(ps, "protocol", "?"),
                      jv_int(ps, "tls_frame"));
        sep = "; ";
        any = true;
    }
    const struct td_jv *encap = td_jv_get(conn, "encapsulation");
    if (td_jv_size(encap) > 0) {
        (void)fprintf(out, "%sinside", sep);
        for (size_t i = 0; i < td_jv_size(encap); i++) {
            const struct td_jv *layer = td_jv_at(encap, i);
            (void)fprintf(out, "%s%s", i == 0 ? " " : " > ", jv_str(layer, "type", "?"));
            bool keyless_gre = strcmp(jv_str(layer, "type", ""), "gre") == 0 && jv_int(layer, "id") == 0;
            if (td_jv_is(td_jv_get(layer, "id"), TD_JV_INTEGER) && !keyless_gre) {
                (void)fprintf(out, " %lld", jv_int(layer, "id"));
            }
            if (td_jv_is(td_jv_get(layer, "src"), TD_JV_STRING)) {
                (void)fprintf(out, " %s->%s", jv_str(layer, "src", "?"), jv_str(layer, "dst", "?"));
            }
        }
        any = true;
    }
    if (any) {
        (void)fputc('\n', out);
    }
}

static bool listed(const struct td_jv *conn)
{
    return conn != NULL && !td_jv_is(td_jv_get(conn, "tls"), TD_JV_NULL);
}

static int clamp_width(size_t w)
{
    return w > 200 ? 200 : (int)w; // one absurd SNI must not push every line off the screen
}

/* ---- summary entries ----
 * An entry is the line's fields as NUL-terminated strings: a flag ('1': the outcome sentence is shown), id,
 * client, server, sni, version, cipher, result, sentence; then, as printed, the lines under it (the path
 * line, then the findings). */
#define ENTRY_FIELDS 8

static bool text_put_field(struct td_text *t, const char *s)
{
    return td_text_append(t, s, strlen(s) + 1); /* with its NUL */
}

/* text_put_stream appends what write() prints (a memory stream: the summary's printing code, unchanged). */
static bool text_put_stream(struct td_text *t, void (*write)(void *, FILE *), void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        return false;
    }
    write(arg, f);
    bool ok = fclose(f) == 0 && td_text_append(t, buf, len);
    free(buf);
    return ok;
}

static void write_conn_findings(void *findings, FILE *out)
{
    write_findings(findings, out, 4);
}

bool td_summary_entry_begin(struct td_json_ctx *ctx, const struct td_jv *conn, uint8_t widths[TD_SUMMARY_COLS],
                            struct td_text *entry)
{
    memset(widths, 0, TD_SUMMARY_COLS);
    entry->len = 0;
    if (!listed(conn)) {
        return false;
    }
    struct row row;
    fill_row(conn, &row);
    for (size_t c = 0; c < NUM_COLS; c++) {
        size_t len = col_len(&row, c);
        widths[c] = (uint8_t)(len > 255 ? 255 : len); /* above clamp_width's 200 either way */
    }
    const char *fields[ENTRY_FIELDS] = {row.text != NULL ? "1" : "0", row.id, row.client, row.server,
                                        row.sni, row.version, row.cipher, row.result};
    bool ok = true;
    for (size_t i = 0; ok && i < ENTRY_FIELDS; i++) {
        ok = text_put_field(entry, fields[i]);
    }
    ok = ok && text_put_field(entry, row.text != NULL ? row.text : "") &&
         text_put_stream(entry, write_path, (void *)&conn);
    if (!ok) {
        ctx->failures++;
        entry->len = 0;
    }
    return ok;
}

bool td_summary_entry_findings(struct td_text *entry, json_t *findings)
{
    return text_put_stream(entry, write_conn_findings, findings);
}

/* print_entry prints one connection's part of the summary from its entry; false when the entry is malformed. */
static bool print_entry(const struct td_text *entry, const size_t width[NUM_COLS], FILE *out)
{
    const char *f[ENTRY_FIELDS + 1];
    const char *p = entry->data, *end = entry->data + entry->len;
    for (size_t i = 0; i <= ENTRY_FIELDS; i++) {
        const char *nul = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
        if (nul == NULL) {
            return false;
        }
        f[i] = p;
        p = nul + 1;
    }
    (void)fprintf(out, "%-*s  %*s -> %-*s  sni=%-*s  %-*s  %-*s  ", clamp_width(width[0]), f[1],
                  clamp_width(width[1]), f[2], clamp_width(width[2]), f[3], clamp_width(width[3] - 4), f[4],
                  clamp_width(width[4]), f[5], clamp_width(width[5]), f[6]);
    // The sentence column lines up too; a line without one carries no trailing blanks.
    if (f[0][0] == '1') {
        (void)fprintf(out, "%-*s  %s\n", clamp_width(width[6]), f[7], f[8]);
    } else {
        (void)fprintf(out, "%s\n", f[7]);
    }
    (void)fwrite(p, 1, (size_t)(end - p), out); /* the path and findings lines, as printed */
    return true;
}

static void write_input(struct td_report *r, size_t input, FILE *out)
{
    json_t *in = json_array_get(r->inputs, input);
    if (in != NULL) {
        const char *first = get_str(in, "first_time", "-"), *last = get_str(in, "last_time", "-");
        (void)fprintf(out, "input %zu: %s (%s", input, get_str(in, "path", "?"), get_str(in, "format", "?"));
        size_t i;
        json_t *lt;
        json_array_foreach(json_object_get(in, "link_types"), i, lt) {
            const char *name = get_str(lt, "name", NULL);
            if (name != NULL) {
                (void)fprintf(out, "%s%s", i == 0 ? "; " : ", ", name);
            } else {
                (void)fprintf(out, "%slinktype %lld", i == 0 ? "; " : ", ", get_int(lt, "value"));
            }
        }
        (void)fprintf(out, "): %lld frames, %lld bytes, %s .. %s\n", get_int(in, "frames"), get_int(in, "bytes"),
                      first, last);
        const char *error = get_str(in, "error", NULL);
        if (error != NULL) {
            (void)fprintf(out, "  input error: %s\n", error);
        }
    } else {
        (void)fprintf(out, "input %zu:\n", input);
    }

    // The connections of this input are a run of the sorted index: widths from the index, then each line
    // printed from its connection parsed back from the spool, one at a time.
    size_t begin = 0;
    while (begin < r->num_index && r->index[begin].input < input) {
        begin++;
    }
    size_t end = begin;
    while (end < r->num_index && r->index[end].input == input) {
        end++;
    }
    /* Column widths were measured when each connection's JSON was made (td_summary_row_widths): one pass
     * over the spool, not two. */
    size_t width[NUM_COLS] = {0};
    size_t rows = 0;
    for (size_t i = begin; i < end; i++) {
        const struct td_report_index *e = &r->index[i];
        if (e->summary_line) {
            for (size_t c = 0; c < NUM_COLS; c++) {
                width[c] = e->widths[c] > width[c] ? e->widths[c] : width[c];
            }
            rows++;
        }
    }
    if (rows == 0) {
        (void)fprintf(out, "  no TLS connections\n");
        return;
    }
    struct td_text entry = {0};
    for (size_t i = begin; i < end; i++) {
        if (!r->index[i].summary_line) {
            continue;
        }
        if (!td_report_load_summary(r, i, &entry) || !print_entry(&entry, width, out)) {
            r->ctx.failures++;
        }
    }
    free(entry.data);
}

/* write_failure_reasons prints "failures: 3 by alert (protocol_version x2, encrypted x1), 1 reset" when any. */
static void write_failure_reasons(json_t *failures, FILE *out)
{
    long long by_alert = get_int(failures, "failed_alert"), reset = get_int(failures, "reset");
    long long closed = get_int(failures, "closed");
    if (by_alert + reset + closed == 0) {
        return;
    }
    (void)fprintf(out, "    failures:");
    const char *sep = " ";
    if (by_alert > 0) {
        (void)fprintf(out, " %lld by alert (", by_alert);
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(failures, "alerts"), i, a) {
            (void)fprintf(out, "%s%s x%lld", i == 0 ? "" : ", ", get_str(a, "name", "?"), get_int(a, "connections"));
        }
        long long other = get_int(failures, "alerts_other");
        (void)fprintf(out, "%s)", other > 0 ? ", other" : "");
        sep = ", ";
    }
    if (reset > 0) {
        (void)fprintf(out, "%s%lld reset", sep, reset);
        sep = ", ";
    }
    if (closed > 0) {
        (void)fprintf(out, "%s%lld closed before the handshake completed", sep, closed);
    }
    (void)fputc('\n', out);
}

/* write_servers prints the servers of an input that have findings. */
static void write_servers(struct td_report *r, size_t input, FILE *out)
{
    for (size_t i = 0; i < r->num_servers; i++) {
        json_t *s = r->servers[i].json;
        json_t *findings = json_object_get(s, "findings");
        if (r->servers[i].input != input || json_array_size(findings) == 0) {
            continue;
        }
        json_t *max = json_object_get(json_object_get(s, "versions"), "max");
        (void)fprintf(out, "  server %s: %lld connections, %lld established, %lld failed, highest version %s\n",
                      get_str(s, "server", "?"), get_int(s, "connections"), get_int(s, "established"),
                      get_int(s, "failed"), get_str(max, "name", "none"));
        write_failure_reasons(json_object_get(s, "failures"), out);
        write_findings(findings, out, 4);
    }
}

bool td_summary_write(struct td_report *r, json_t *totals, FILE *out)
{
    // Inputs in order; connections of an input that was never added (the caller skipped add_input) still show.
    size_t num_inputs = json_array_size(r->inputs);
    for (size_t i = 0; i < r->num_index; i++) {
        num_inputs = r->index[i].input + 1 > num_inputs ? (size_t)r->index[i].input + 1 : num_inputs;
    }
    for (size_t i = 0; i < num_inputs; i++) {
        write_input(r, i, out);
        write_servers(r, i, out);
    }
    json_t *by = json_object_get(totals, "by_outcome");
    (void)fprintf(out,
                  "totals: %lld connection%s, %lld TLS or DTLS: %lld established, %lld resumed, %lld failed_alert, "
                  "%lld reset, %lld closed, %lld incomplete; %lld with anomalies; findings: %lld error, %lld warning, "
                  "%lld info\n",
                  get_int(totals, "connections"), get_int(totals, "connections") == 1 ? "" : "s",
                  get_int(totals, "tls_connections"), get_int(by, "established"),
                  get_int(by, "resumed"), get_int(by, "failed_alert"), get_int(by, "reset"), get_int(by, "closed"),
                  get_int(by, "incomplete"), get_int(totals, "connections_with_anomalies"),
                  get_int(json_object_get(totals, "findings"), "error"),
                  get_int(json_object_get(totals, "findings"), "warning"),
                  get_int(json_object_get(totals, "findings"), "info"));
    long long evicted = get_int(totals, "flows_evicted"), cap_hits = get_int(totals, "reasm_cap_hits");
    if (evicted != 0 || cap_hits != 0) {
        (void)fprintf(out, "limits hit: %lld flows evicted at max_flows, %lld reassembly cap hits\n", evicted,
                      cap_hits);
    }
    return fflush(out) == 0 && !ferror(out);
}
