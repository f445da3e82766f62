/* SPDX-License-Identifier: MIT */
/* findings.c: findings (rule id, severity, confidence, title, evidence frames, explanation, remedy, references)
 * and per-server aggregates as JSON, in docs/report.schema.json order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dissect/names.h"
#include "internal.h"

/* rule_text: a rule's text (title, explanation, remedy, reference) as JSON. Rule files are UTF-8 ("RFC 5246 §7.4.4")
 * and the values interpolated into them are printable ASCII, so keep valid UTF-8 as it is; only a string
 * json_string rejects (not UTF-8) falls back to td_json_str's \xNN escaping. */
static json_t *rule_text(const char *s)
{
    json_t *j = s != NULL ? json_string(s) : NULL;
    return j != NULL ? j : td_json_str(s);
}

json_t *td_json_finding(struct td_json_ctx *ctx, const struct td_finding *f)
{
    const struct td_rule_info *rule = f->rule;
    json_t *o = json_object();
    td_json_set(ctx, o, "rule", td_json_str(rule->id));
    td_json_set(ctx, o, "revision", json_integer(rule->revision));
    td_json_set(ctx, o, "severity", json_string(td_severity_name(rule->severity)));
    td_json_set(ctx, o, "confidence", json_string(td_confidence_name(rule->confidence)));
    td_json_set(ctx, o, "title", rule_text(f->title));
    json_t *ev = json_array();
    for (size_t i = 0; i < f->num_evidence; i++) {
        td_json_append(ctx, ev, td_json_u64(f->evidence[i]));
    }
    td_json_set(ctx, o, "evidence_frames", ev);
    td_json_set(ctx, o, "explanation", rule_text(f->explanation));
    td_json_set(ctx, o, "remedy", rule_text(f->remedy));
    json_t *refs = json_array();
    for (size_t i = 0; i < rule->num_references; i++) {
        td_json_append(ctx, refs, rule_text(rule->references[i]));
    }
    td_json_set(ctx, o, "references", refs);
    return o;
}

/* A finding merged over several matches (one per alert, say) cites at most this many frames. */
#define MAX_MERGED_EVIDENCE (2 * TD_MAX_EVIDENCE)

static int frame_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void td_json_merge_finding(struct td_json_ctx *ctx, json_t *existing, const struct td_finding *f)
{
    json_t *ev = json_object_get(existing, "evidence_frames");
    // Room for a full merged list plus a full new one, so the cap below applies to distinct frames only: the
    // lowest MAX_MERGED_EVIDENCE distinct frames are kept, whatever order the findings arrived in.
    uint64_t frames[MAX_MERGED_EVIDENCE + TD_MAX_EVIDENCE];
    size_t n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(ev, i, v) {
        if (n < MAX_MERGED_EVIDENCE) {
            frames[n++] = (uint64_t)json_integer_value(v);
        }
    }
    for (i = 0; i < f->num_evidence && i < TD_MAX_EVIDENCE; i++) {
        frames[n++] = f->evidence[i];
    }
    qsort(frames, n, sizeof(frames[0]), frame_cmp);
    json_t *merged = json_array();
    size_t kept = 0;
    for (i = 0; i < n && kept < MAX_MERGED_EVIDENCE; i++) {
        if (i == 0 || frames[i] != frames[i - 1]) {
            td_json_append(ctx, merged, td_json_u64(frames[i]));
            kept++;
        }
    }
    td_json_set(ctx, existing, "evidence_frames", merged);
}

static int severity_rank(json_t *finding)
{
    const char *s = json_string_value(json_object_get(finding, "severity"));
    for (int i = TD_SEVERITY_INFO; i <= TD_SEVERITY_ERROR; i++) {
        if (s != NULL && strcmp(s, td_severity_name((enum td_severity)i)) == 0) {
            return i;
        }
    }
    return -1;
}

static long long first_frame(json_t *finding)
{
    json_t *first = json_array_get(json_object_get(finding, "evidence_frames"), 0);
    return first != NULL ? json_integer_value(first) : 0;
}

void td_json_sort_findings(json_t *findings)
{
    /* Insertion sort, stable: a connection has a handful of findings. */
    size_t n = json_array_size(findings);
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0; j--) {
            json_t *a = json_array_get(findings, j - 1), *b = json_array_get(findings, j);
            int ra = severity_rank(a), rb = severity_rank(b);
            if (ra > rb || (ra == rb && first_frame(a) <= first_frame(b))) {
                break;
            }
            json_incref(a);
            json_array_set(findings, j - 1, b);
            json_array_set_new(findings, j, a);
        }
    }
}

static json_t *version_or_null(struct td_json_ctx *ctx, uint16_t v)
{
    char buf[48];
    if (v == 0) {
        return json_null();
    }
    json_t *o = json_object();
    char code[8];
    (void)snprintf(code, sizeof(code), "0x%04x", v);
    td_json_set(ctx, o, "code", json_string(code));
    td_json_set(ctx, o, "name", td_json_str(td_name_fmt(td_name_version(v, buf, sizeof(buf)), v, buf, sizeof(buf))));
    return o;
}

json_t *td_json_server(struct td_json_ctx *ctx, size_t input_index, const struct td_server_facts *s)
{
    static const char *const version_names[] = {"ssl3.0", "tls1.0", "tls1.1", "tls1.2", "tls1.3"};
    json_t *o = json_object();
    td_json_set(ctx, o, "input", td_json_u64(input_index));
    td_json_set(ctx, o, "server", td_json_str(s->name));
    td_json_set(ctx, o, "transport", json_string(s->transport == TD_TRANSPORT_UDP ? "udp" : "tcp"));
    td_json_set(ctx, o, "sni", s->sni[0] != '\0' ? td_json_str(s->sni) : json_null());
    td_json_set(ctx, o, "first_frame", td_json_u64(s->first_frame));
    td_json_set(ctx, o, "connections", json_integer(s->connections));
    td_json_set(ctx, o, "tls_connections", json_integer(s->tls_connections));
    td_json_set(ctx, o, "established", json_integer(s->established));
    td_json_set(ctx, o, "failed", json_integer(s->failed));
    json_t *versions = json_object();
    td_json_set(ctx, versions, "max", version_or_null(ctx, s->max_version));
    td_json_set(ctx, versions, "min", version_or_null(ctx, s->min_version));
    json_t *counts = json_object();
    for (size_t i = 0; i < sizeof(version_names) / sizeof(version_names[0]); i++) {
        td_json_set(ctx, counts, version_names[i], json_integer(s->version_counts[i]));
    }
    td_json_set(ctx, versions, "negotiated", counts);
    td_json_set(ctx, o, "versions", versions);
    json_t *cr = json_object();
    td_json_set(ctx, cr, "connections", json_integer(s->cert_requests));
    td_json_set(ctx, cr, "first_frame", s->first_cert_request_frame ? td_json_u64(s->first_cert_request_frame)
                                                                     : json_null());
    td_json_set(ctx, o, "client_certificate_requests", cr);
    json_t *t13 = json_object();
    td_json_set(ctx, t13, "connections", json_integer(s->tls13_connections));
    td_json_set(ctx, t13, "without_post_handshake_auth", json_integer(s->tls13_without_pha));
    td_json_set(ctx, o, "tls13", t13);
    json_t *dhe = json_object();
    td_json_set(ctx, dhe, "handshakes", json_integer(s->dhe_handshakes));
    td_json_set(ctx, dhe, "failed", json_integer(s->dhe_failed));
    td_json_set(ctx, dhe, "short_key", json_integer(s->dhe_short_key));
    td_json_set(ctx, dhe, "failed_short_key", json_integer(s->dhe_failed_short_key));
    td_json_set(ctx, o, "dhe", dhe);
    td_json_set(ctx, o, "renegotiations", json_integer(s->renegotiations));
    json_t *ciphers = json_array();
    for (uint32_t i = 0; i < s->num_ciphers; i++) {
        const struct td_cipher_suite *cs = td_cipher_suite_find((uint16_t)s->ciphers[i].value);
        char code[8];
        snprintf(code, sizeof(code), "0x%04x", (unsigned)s->ciphers[i].value);
        json_t *c = json_object();
        td_json_set(ctx, c, "code", json_string(code));
        td_json_set(ctx, c, "name", td_json_str(cs != NULL ? cs->name : NULL));
        td_json_set(ctx, c, "connections", json_integer(s->ciphers[i].count));
        td_json_append(ctx, ciphers, c);
    }
    json_t *cipher_obj = json_object();
    td_json_set(ctx, cipher_obj, "negotiated", ciphers);
    td_json_set(ctx, cipher_obj, "other", json_integer(s->ciphers_other));
    td_json_set(ctx, o, "ciphers", cipher_obj);
    json_t *fail = json_object();
    td_json_set(ctx, fail, "failed_alert", json_integer(s->failed_alert));
    td_json_set(ctx, fail, "reset", json_integer(s->failed_reset));
    td_json_set(ctx, fail, "closed", json_integer(s->failed_closed));
    td_json_set(ctx, fail, "incomplete", json_integer(s->incomplete));
    json_t *alerts = json_array();
    for (uint32_t i = 0; i < s->num_alerts; i++) {
        int32_t d = s->alerts[i].value;
        json_t *a = json_object();
        td_json_set(ctx, a, "description", d >= 0 ? json_integer(d) : json_null());
        td_json_set(ctx, a, "name", td_json_str(d >= 0 ? td_name_alert(d) : "encrypted"));
        td_json_set(ctx, a, "connections", json_integer(s->alerts[i].count));
        td_json_append(ctx, alerts, a);
    }
    td_json_set(ctx, fail, "alerts", alerts);
    td_json_set(ctx, fail, "alerts_other", json_integer(s->alerts_other));
    td_json_set(ctx, o, "failures", fail);
    td_json_set(ctx, o, "findings", json_array());
    return o;
}
