/* SPDX-License-Identifier: MIT */
/* test_rules.c: the rule engine against docs/RULES.md: lexing, parsing, precedence, absent-field semantics,
 * templates, evidence, scopes, types, every error class with its position, whole-file rejection, limits, and
 * the shipped built-in rules. Facts are built by hand; expected results and messages come from the language
 * reference and from counting columns in the texts below, never from running the engine. */
#include "../../../rules/rules.h"
#include "../testlib.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- facts ---- */

struct fixture {
    struct td_flow_info flow;
    struct td_tls_facts tls;
    struct td_cert_request cr;
    struct td_alert alert;
    struct td_server_facts server;
    struct td_fact_ctx ctx;
};

/* A TLS 1.2 connection refused with a fatal illegal_parameter (47) in frame 9 after a CertificateRequest in
 * frame 5 with a 20000-byte, badly formed CA list; its server negotiated at most TLS 1.2. */
static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->flow.id = 1;
    f->flow.first_frame = 1;
    f->flow.last_frame = 12;
    f->flow.server_port = 443;
    f->tls.is_tls = true;
    f->tls.version = 0x0303;
    f->tls.outcome = TD_OUTCOME_FAILED_ALERT;
    f->tls.outcome_ev.frame = 9;
    f->tls.outcome_role = TD_ROLE_SERVER;
    f->tls.outcome_alert = 47;
    f->tls.outcome_after_msg = -1;
    f->tls.last_hs_msg = -1;
    f->cr.ev.frame = 5;
    f->cr.ca_list_len = 20000;
    f->cr.num_ca_names = 300;
    f->cr.ca_list_well_formed = false;
    f->tls.cert_request = &f->cr;
    f->tls.cert_requests_seen = 1;
    f->alert.ev.frame = 9;
    f->alert.role = TD_ROLE_SERVER;
    f->alert.level = 2;
    f->alert.description = 47;
    f->alert.after_msg = -1;
    f->tls.alerts = &f->alert;
    f->tls.num_alerts = 1;
    f->tls.alerts_seen = 1;
    f->server.port = 443;
    (void)snprintf(f->server.name, sizeof(f->server.name), "192.0.2.1:443");
    f->server.connections = 3;
    f->server.tls_connections = 3;
    f->server.max_version = 0x0303;
    f->server.min_version = 0x0301;
    f->server.first_frame = 1;
    f->server.cert_requests = 1;
    f->server.first_cert_request_frame = 5;
    f->ctx = (struct td_fact_ctx){.flow = &f->flow, .tls = &f->tls, .alert = &f->alert, .server = &f->server};
}

/* ---- findings ---- */

struct seen {
    int count;
    char id[64];
    char title[512], explanation[1024], remedy[512];
    uint64_t evidence[TD_MAX_EVIDENCE];
    size_t num_evidence;
};

static void on_finding(void *ctx, const struct td_finding *f)
{
    struct seen *s = ctx;
    s->count++;
    (void)snprintf(s->id, sizeof(s->id), "%s", f->rule->id);
    (void)snprintf(s->title, sizeof(s->title), "%s", f->title);
    (void)snprintf(s->explanation, sizeof(s->explanation), "%s", f->explanation);
    (void)snprintf(s->remedy, sizeof(s->remedy), "%s", f->remedy);
    s->num_evidence = f->num_evidence;
    memcpy(s->evidence, f->evidence, sizeof(s->evidence));
}

/* ---- rule texts ---- */

/* The condition sits on line 6 from column 13 ("  condition " is 12 bytes). */
#define COND_LINE 6
#define COND_COL 13

static const char *evidence_for(const char *evaluate)
{
    if (strcmp(evaluate, "alert") == 0) {
        return "tls.alert.frame";
    }
    if (strcmp(evaluate, "connection") == 0) {
        return "conn.outcome.frame";
    }
    return "server.first_frame";
}

static const char *rule_text(const char *evaluate, const char *cond)
{
    static char buf[256 * 1024];
    int n = snprintf(buf, sizeof(buf),
                     "rule t.x {\n"
                     "  revision 1;\n"
                     "  severity error;\n"
                     "  evaluate %s;\n"
                     "  title \"T\";\n"
                     "  condition %s;\n"
                     "  evidence %s;\n"
                     "  explanation \"E\";\n"
                     "  remedy \"R\";\n"
                     "}\n",
                     evaluate, cond, evidence_for(evaluate));
    CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(buf));
    return buf;
}

/* load compiles text into a fresh set; returns the set (NULL when loading failed, with err filled). */
static struct td_ruleset *load(const char *text, struct td_error *err)
{
    struct td_ruleset *rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    memset(err, 0, sizeof(*err));
    if (td_ruleset_add_text(rs, "t.rules", text, strlen(text), err) != TD_OK) {
        td_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

/* fires evaluates cond (as an `evaluate` rule) over the fixture; -1 when the rule did not load. */
static int fires_ctx(const char *evaluate, const char *cond, const struct td_fact_ctx *ctx)
{
    struct td_error err;
    struct td_ruleset *rs = load(rule_text(evaluate, cond), &err);
    if (rs == NULL) {
        fprintf(stderr, "\n  condition `%s` did not load: %s\n", cond, err.msg);
        return -1;
    }
    enum td_eval_point point = strcmp(evaluate, "alert") == 0        ? TD_EVAL_ALERT
                               : strcmp(evaluate, "connection") == 0 ? TD_EVAL_CONNECTION
                                                                     : TD_EVAL_SERVER;
    struct seen s = {0};
    td_ruleset_eval(rs, point, ctx, on_finding, &s);
    td_ruleset_free(rs);
    return s.count;
}

static int fires(const char *evaluate, const char *cond)
{
    struct fixture f;
    fixture_init(&f);
    return fires_ctx(evaluate, cond, &f.ctx);
}

#define FIRES(ev, cond) CU_ASSERT_EQUAL(fires((ev), (cond)), 1)
#define QUIET(ev, cond) CU_ASSERT_EQUAL(fires((ev), (cond)), 0)

/* error_of loads text and returns the error message ("" when it loaded). */
static const char *error_of(const char *text)
{
    static struct td_error err;
    struct td_ruleset *rs = load(text, &err);
    if (rs != NULL) {
        td_ruleset_free(rs);
        return "";
    }
    CU_ASSERT_EQUAL(err.code, TD_ERR_FORMAT);
    return err.msg;
}

#define ERR_EQ(text, expected) CU_ASSERT_STRING_EQUAL(error_of(text), (expected))
#define COND_ERR(ev, cond, expected) CU_ASSERT_STRING_EQUAL(error_of(rule_text((ev), (cond))), (expected))

/* ---- tests ---- */

static void test_names(void)
{
    CU_ASSERT_STRING_EQUAL(td_severity_name(TD_SEVERITY_INFO), "info");
    CU_ASSERT_STRING_EQUAL(td_severity_name(TD_SEVERITY_WARNING), "warning");
    CU_ASSERT_STRING_EQUAL(td_severity_name(TD_SEVERITY_ERROR), "error");
    CU_ASSERT_STRING_EQUAL(td_confidence_name(TD_CONFIDENCE_LOW), "low");
    CU_ASSERT_STRING_EQUAL(td_confidence_name(TD_CONFIDENCE_MEDIUM), "medium");
    CU_ASSERT_STRING_EQUAL(td_confidence_name(TD_CONFIDENCE_HIGH), "high");
    CU_ASSERT_STRING_EQUAL(td_eval_point_name(TD_EVAL_ALERT), "alert");
    CU_ASSERT_STRING_EQUAL(td_eval_point_name(TD_EVAL_CONNECTION), "connection");
    CU_ASSERT_STRING_EQUAL(td_eval_point_name(TD_EVAL_SERVER), "server");
}

static const char *full_rule =
    "# A comment runs to the end of the line.\n"
    "rule tls.alert.illegal_parameter.ca_list {\n"
    "    revision    3;\n"
    "    severity    warning;   # info | warning | error\n"
    "    evaluate    alert;\n"
    "    title       \"Fatal {tls.alert.description} after \" \"a {{large}} list\";\n"
    "    condition   tls.alert.description == 47 and tls.alert.level == 2   # fatal\n"
    "                and (tls.certificate_request.ca_list_len > 16384\n"
    "                     or not tls.certificate_request.ca_list_well_formed);\n"
    "    evidence    tls.certificate_request.frame, tls.alert.frame;\n"
    "    explanation \"The CertificateRequest (frame {tls.certificate_request.frame}) lists \"\n"
    "                \"{tls.certificate_request.num_ca_names} CAs in {tls.certificate_request.ca_list_len} bytes; \"\n"
    "                \"well formed: {tls.certificate_request.ca_list_well_formed}; SNI {tls.client_hello.sni}.\";\n"
    "    remedy      \"Say \\\"no\\\" \\\\ then\\nretry.\";\n"
    "    references  \"KB 2801679\", \"Schannel event 36885\", \"RFC 5246 \" \"\xc2\xa7" "7.4.4\";\n"
    "}\n";

static void test_rule_info(void)
{
    struct td_error err;
    struct td_ruleset *rs = load(full_rule, &err);
    if (rs == NULL) {
        fprintf(stderr, "\n  %s\n", err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(td_ruleset_count(rs), 1);
    const struct td_rule_info *r = td_ruleset_find(rs, "tls.alert.illegal_parameter.ca_list");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_PTR_EQUAL(r, td_ruleset_rule_at(rs, 0));
    CU_ASSERT_PTR_NULL(td_ruleset_rule_at(rs, 1));
    CU_ASSERT_PTR_NULL(td_ruleset_find(rs, "tls.alert"));
    CU_ASSERT_EQUAL(r->revision, 3);
    CU_ASSERT_EQUAL(r->severity, TD_SEVERITY_WARNING);
    CU_ASSERT_EQUAL(r->confidence, TD_CONFIDENCE_HIGH); // the default
    CU_ASSERT_EQUAL(r->evaluate, TD_EVAL_ALERT);
    CU_ASSERT_STRING_EQUAL(r->title, "Fatal {tls.alert.description} after a {{large}} list");
    CU_ASSERT_STRING_EQUAL(r->condition, "tls.alert.description == 47 and tls.alert.level == 2 and "
                                         "(tls.certificate_request.ca_list_len > 16384 or not "
                                         "tls.certificate_request.ca_list_well_formed)");
    CU_ASSERT_EQUAL_FATAL(r->num_evidence, 2);
    CU_ASSERT_STRING_EQUAL(r->evidence[0], "tls.certificate_request.frame");
    CU_ASSERT_STRING_EQUAL(r->evidence[1], "tls.alert.frame");
    CU_ASSERT_STRING_EQUAL(r->remedy, "Say \"no\" \\ then\nretry.");
    CU_ASSERT_EQUAL_FATAL(r->num_references, 3);
    CU_ASSERT_STRING_EQUAL(r->references[0], "KB 2801679");
    CU_ASSERT_STRING_EQUAL(r->references[1], "Schannel event 36885");
    CU_ASSERT_STRING_EQUAL(r->references[2], "RFC 5246 \xc2\xa7" "7.4.4");
    CU_ASSERT_STRING_EQUAL(r->source, "t.rules:2");

    // Evaluate: every template form and the evidence.
    struct fixture f;
    fixture_init(&f);
    struct seen s = {0};
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL(s.count, 0); // an alert rule does not run at connection end
    td_ruleset_eval(rs, TD_EVAL_ALERT, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL_FATAL(s.count, 1);
    CU_ASSERT_STRING_EQUAL(s.id, "tls.alert.illegal_parameter.ca_list");
    CU_ASSERT_STRING_EQUAL(s.title, "Fatal 47 after a {large} list");
    CU_ASSERT_STRING_EQUAL(s.explanation, "The CertificateRequest (frame 5) lists 300 CAs in 20000 bytes; "
                                          "well formed: no; SNI unknown.");
    CU_ASSERT_STRING_EQUAL(s.remedy, "Say \"no\" \\ then\nretry.");
    CU_ASSERT_EQUAL_FATAL(s.num_evidence, 2);
    CU_ASSERT_EQUAL(s.evidence[0], 5);
    CU_ASSERT_EQUAL(s.evidence[1], 9);

    // The fatal alert is a warning-level one: the condition no longer holds.
    f.alert.level = 1;
    s.count = 0;
    td_ruleset_eval(rs, TD_EVAL_ALERT, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL(s.count, 0);
    td_ruleset_free(rs);
}

static void test_comparisons(void)
{
    // tls.alert.description is 47.
    FIRES("alert", "tls.alert.description == 47");
    QUIET("alert", "tls.alert.description == 46");
    FIRES("alert", "tls.alert.description != 46");
    QUIET("alert", "tls.alert.description != 47");
    FIRES("alert", "tls.alert.description < 48");
    QUIET("alert", "tls.alert.description < 47");
    FIRES("alert", "tls.alert.description <= 47");
    QUIET("alert", "tls.alert.description <= 46");
    FIRES("alert", "tls.alert.description > 46");
    QUIET("alert", "tls.alert.description > 47");
    FIRES("alert", "tls.alert.description >= 47");
    QUIET("alert", "tls.alert.description >= 48");
    FIRES("alert", "tls.alert.description eq 47");
    FIRES("alert", "tls.alert.description ne 46");
    FIRES("alert", "tls.alert.description lt 48");
    FIRES("alert", "tls.alert.description le 47");
    FIRES("alert", "tls.alert.description gt 46");
    FIRES("alert", "tls.alert.description ge 47");
    QUIET("alert", "tls.alert.description ge 48");
    FIRES("alert", "tls.alert.description==47"); // no spaces needed
    // Hex literals: 0x0303 is TLS 1.2.
    FIRES("connection", "tls.version == 0x0303");
    FIRES("connection", "tls.version == 0X303");
    FIRES("connection", "tls.version == 771");
    QUIET("connection", "tls.version >= 0x0304");
    // Field against field (integers and frame numbers mix).
    FIRES("alert", "tls.alert.frame > tls.certificate_request.frame");
    QUIET("alert", "tls.alert.frame < tls.certificate_request.frame");
}

static void test_logic_and_precedence(void)
{
    // Shorthand: D = description (47), L = level (2).
    FIRES("alert", "tls.alert.description == 47 and tls.alert.level == 2");
    QUIET("alert", "tls.alert.description == 47 and tls.alert.level == 1");
    FIRES("alert", "tls.alert.description == 47 && tls.alert.level == 2");
    QUIET("alert", "tls.alert.description == 1 && tls.alert.level == 2");
    FIRES("alert", "tls.alert.description == 1 or tls.alert.level == 2");
    QUIET("alert", "tls.alert.description == 1 or tls.alert.level == 1");
    FIRES("alert", "tls.alert.description == 1 || tls.alert.level == 2");
    FIRES("alert", "not tls.alert.description == 1");
    QUIET("alert", "not tls.alert.description == 47");
    FIRES("alert", "!tls.alert.description == 1");
    QUIET("alert", "! tls.alert.description == 47");
    FIRES("alert", "not not tls.alert.description == 47");
    // and binds tighter than or: true or (false and false) = true; (true or false) and false = false.
    FIRES("alert", "tls.alert.level == 2 or tls.alert.level == 1 and tls.alert.description == 1");
    QUIET("alert", "(tls.alert.level == 2 or tls.alert.level == 1) and tls.alert.description == 1");
    // false and false or true = (false and false) or true = true.
    FIRES("alert", "tls.alert.level == 1 and tls.alert.description == 1 or tls.alert.level == 2");
    QUIET("alert", "tls.alert.level == 1 and (tls.alert.description == 1 or tls.alert.level == 2)");
    // not binds tighter than and/or: (not true) or true = true; not (true or true) = false.
    FIRES("alert", "not tls.alert.level == 2 or tls.alert.description == 47");
    QUIET("alert", "not (tls.alert.level == 2 or tls.alert.description == 47)");
    // (not false) and false = false; not (false and false) = true.
    QUIET("alert", "not tls.alert.level == 1 and tls.alert.description == 1");
    FIRES("alert", "not (tls.alert.level == 1 and tls.alert.description == 1)");
    // Words and symbols mix; long chains.
    FIRES("alert", "tls.alert.level == 2 && tls.alert.description == 47 and tls.alert.frame == 9 && "
                   "tls.alert.level ge 1");
    FIRES("alert", "tls.alert.level == 7 || tls.alert.level == 8 or tls.alert.level == 9 || tls.alert.level == 2");
    FIRES("alert", "((((tls.alert.level == 2))))");
}

static void test_in_sets(void)
{
    FIRES("alert", "tls.alert.description in {40 70 47}");
    FIRES("alert", "tls.alert.description in {40, 47}");
    FIRES("alert", "tls.alert.description in {47}");
    FIRES("alert", "tls.alert.description in {0x28, 0x2f}");
    QUIET("alert", "tls.alert.description in {40 70}");
    QUIET("alert", "tls.alert.description in {40, 70}");
    FIRES("alert", "not tls.alert.description in {40 70}");
    FIRES("connection", "conn.outcome in {\"reset\", \"failed_alert\"}");
    QUIET("connection", "conn.outcome in {\"reset\" \"closed\"}"); // adjacent strings join: "resetclosed"
    // Absent: in is false, not in is true.
    struct fixture f;
    fixture_init(&f);
    f.alert.encrypted = true;
    CU_ASSERT_EQUAL(fires_ctx("alert", "tls.alert.description in {47 40}", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("alert", "not tls.alert.description in {47 40}", &f.ctx), 1);
}

static void test_absent_fields(void)
{
    // An encrypted alert has no level or description: every comparison with them is false, even !=.
    struct fixture f;
    fixture_init(&f);
    f.alert.encrypted = true;
    CU_ASSERT_EQUAL(fires_ctx("alert", "tls.alert.description == 47", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("alert", "tls.alert.description != 47", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("alert", "tls.alert.description < 1000", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("alert", "tls.alert.description >= 0", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("alert", "not tls.alert.description == 47", &f.ctx), 1);
    CU_ASSERT_EQUAL(fires_ctx("alert", "not tls.alert.description != 47", &f.ctx), 1);
    CU_ASSERT_EQUAL(fires_ctx("alert", "tls.alert.description", &f.ctx), 0); // bare field: present?
    CU_ASSERT_EQUAL(fires_ctx("alert", "not tls.alert.description", &f.ctx), 1);
    CU_ASSERT_EQUAL(fires_ctx("alert", "tls.alert.frame", &f.ctx), 1);
    CU_ASSERT_EQUAL(fires_ctx("alert", "tls.alert.description == 47 or tls.alert.frame == 9", &f.ctx), 1);
    // Field against an absent field.
    CU_ASSERT_EQUAL(fires_ctx("alert", "tls.alert.frame != tls.alert.description", &f.ctx), 0);
    // No CertificateRequest at all.
    f.tls.cert_request = NULL;
    CU_ASSERT_EQUAL(fires_ctx("connection", "tls.certificate_request.ca_list_len > 0", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("connection", "tls.certificate_request.ca_list_len <= 0", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("connection", "not tls.certificate_request.ca_list_len > 0", &f.ctx), 1);
    // No version negotiated (0 means absent).
    f.tls.version = 0;
    CU_ASSERT_EQUAL(fires_ctx("connection", "tls.version == 0", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("connection", "tls.version", &f.ctx), 0);
    // A server rule sees no connection.
    f.ctx.tls = NULL;
    f.ctx.flow = NULL;
    f.ctx.alert = NULL;
    CU_ASSERT_EQUAL(fires_ctx("server", "server.max_version == 0x0303", &f.ctx), 1);
}

static void test_booleans(void)
{
    // ca_list_well_formed is present and false.
    QUIET("connection", "tls.certificate_request.ca_list_well_formed");
    FIRES("connection", "not tls.certificate_request.ca_list_well_formed");
    FIRES("connection", "tls.certificate_request.ca_list_well_formed == false");
    QUIET("connection", "tls.certificate_request.ca_list_well_formed == true");
    FIRES("connection", "tls.certificate_request.ca_list_well_formed != true");
    FIRES("connection", "tls.certificate_request.present");
    FIRES("connection", "tls.certificate_request.present == true");
    struct fixture f;
    fixture_init(&f);
    f.cr.ca_list_well_formed = true;
    CU_ASSERT_EQUAL(fires_ctx("connection", "tls.certificate_request.ca_list_well_formed", &f.ctx), 1);
    // Without a CertificateRequest the boolean is absent: neither true nor false.
    f.tls.cert_request = NULL;
    CU_ASSERT_EQUAL(fires_ctx("connection", "tls.certificate_request.ca_list_well_formed == false", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("connection", "tls.certificate_request.ca_list_well_formed == true", &f.ctx), 0);
    CU_ASSERT_EQUAL(fires_ctx("connection", "not tls.certificate_request.ca_list_well_formed", &f.ctx), 1);
}

static void test_strings(void)
{
    FIRES("connection", "conn.outcome == \"failed_alert\"");
    QUIET("connection", "conn.outcome == \"failed\"");
    FIRES("connection", "conn.outcome != \"established\"");
    // In a condition adjacent strings are separate values: set elements are separated by spaces.
    FIRES("connection", "conn.outcome in {\"reset\" \"failed_alert\"}");
    FIRES("connection", "conn.outcome in {\"reset\", \"failed_alert\"}");
    QUIET("connection", "conn.outcome in {\"reset\" \"closed\"}");
    CU_ASSERT_NOT_EQUAL(fires("connection", "conn.outcome == \"failed\" \"_alert\""), 1);
    FIRES("server", "server.name == \"192.0.2.1:443\"");
    FIRES("connection", "conn.outcome != \"a\\\"b\\\\c\\n\"");
    struct fixture f;
    fixture_init(&f);
    (void)snprintf(f.server.name, sizeof(f.server.name), "a\"b\\c");
    CU_ASSERT_EQUAL(fires_ctx("server", "server.name == \"a\\\"b\\\\c\"", &f.ctx), 1);
}

static void test_templates(void)
{
    static const char *text = "rule t.tmpl {\n"
                              "  revision 1; severity info; evaluate alert;\n"
                              "  title \"{tls.alert.description}/{tls.alert.frame}/{conn.outcome}\";\n"
                              "  condition tls.alert.frame;\n"
                              "  evidence tls.alert.frame;\n"
                              "  explanation \"{{literal}} {{{tls.alert.level}}} ok={tls.certificate_request."
                              "ca_list_well_formed} v={server.max_version} x={tls.client_hello.sni}}}\";\n"
                              "  remedy \"\";\n"
                              "}\n";
    struct td_error err;
    struct td_ruleset *rs = load(text, &err);
    if (rs == NULL) {
        fprintf(stderr, "\n  %s\n", err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    struct fixture f;
    fixture_init(&f);
    struct seen s = {0};
    td_ruleset_eval(rs, TD_EVAL_ALERT, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL_FATAL(s.count, 1);
    CU_ASSERT_STRING_EQUAL(s.title, "47/9/failed_alert");
    CU_ASSERT_STRING_EQUAL(s.explanation, "{literal} {2} ok=no v=771 x=unknown}");
    CU_ASSERT_STRING_EQUAL(s.remedy, "");
    // Absent values print as "unknown"; booleans as yes/no.
    f.alert.encrypted = true;
    f.cr.ca_list_well_formed = true;
    f.server.max_version = 0;
    s.count = 0;
    td_ruleset_eval(rs, TD_EVAL_ALERT, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL_FATAL(s.count, 1);
    CU_ASSERT_STRING_EQUAL(s.title, "unknown/9/failed_alert");
    CU_ASSERT_STRING_EQUAL(s.explanation, "{literal} {unknown} ok=yes v=unknown x=unknown}");
    td_ruleset_free(rs);
}

static void test_evidence(void)
{
    // Listed out of order, one duplicate frame (the outcome is the alert, frame 9), one absent field.
    static const char *text = "rule t.ev {\n"
                              "  revision 1; severity info; evaluate connection;\n"
                              "  title \"t\"; condition conn.outcome;\n"
                              "  evidence conn.outcome.frame, tls.server_hello.frame, tls.certificate_request.frame,\n"
                              "           conn.first_frame, tls.fatal_alert.frame, conn.outcome.frame;\n"
                              "  explanation \"e\"; remedy \"r\";\n"
                              "}\n";
    struct td_error err;
    struct td_ruleset *rs = load(text, &err);
    if (rs == NULL) {
        fprintf(stderr, "\n  %s\n", err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(td_ruleset_rule_at(rs, 0)->num_evidence, 6);
    struct fixture f;
    fixture_init(&f);
    struct seen s = {0};
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL_FATAL(s.count, 1);
    CU_ASSERT_EQUAL_FATAL(s.num_evidence, 3);
    CU_ASSERT_EQUAL(s.evidence[0], 1);
    CU_ASSERT_EQUAL(s.evidence[1], 5);
    CU_ASSERT_EQUAL(s.evidence[2], 9);
    // Nothing present: the finding cites no frame.
    f.flow.first_frame = 0;
    f.tls.outcome_ev.frame = 0;
    f.tls.cert_request = NULL;
    f.tls.alerts = NULL;
    f.tls.num_alerts = 0;
    s.count = 0;
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL_FATAL(s.count, 1);
    CU_ASSERT_EQUAL(s.num_evidence, 0);
    td_ruleset_free(rs);
}

static void test_scopes(void)
{
    // Alert rules see alert, connection and server facts; connection rules connection and server facts;
    // server rules server facts only.
    FIRES("alert", "tls.alert.level == 2 and tls.version == 0x0303 and server.max_version == 0x0303");
    FIRES("connection", "tls.version == 0x0303 and server.max_version == 0x0303");
    COND_ERR("connection", "tls.version == 0x0303 and tls.alert.level == 2",
             "t.rules:6:39: field 'tls.alert.level' is an alert field; only 'evaluate alert' rules can use it");
    COND_ERR("server", "server.max_version == 0x0303 or tls.version == 0x0303",
             "t.rules:6:45: field 'tls.version' is a connection field; 'evaluate server' rules can use only "
             "server.* fields");
    // evaluate after the condition: checked once the rule is complete, at the field's position.
    ERR_EQ("rule a {\n"
           "  condition tls.alert.level == 2;\n"
           "  revision 1; severity info; evaluate connection; title \"t\";\n"
           "  evidence conn.outcome.frame; explanation \"e\"; remedy \"r\";\n"
           "}\n",
           "t.rules:2:13: field 'tls.alert.level' is an alert field; only 'evaluate alert' rules can use it");
    // Evidence and templates are checked too.
    ERR_EQ("rule a {\n"
           "  revision 1; severity info; evaluate connection; title \"t\"; condition conn.outcome;\n"
           "  evidence conn.outcome.frame, tls.alert.frame; explanation \"e\"; remedy \"r\";\n"
           "}\n",
           "t.rules:3:32: field 'tls.alert.frame' is an alert field; only 'evaluate alert' rules can use it");
    ERR_EQ("rule a {\n"
           "  revision 1; severity info; evaluate server; title \"t\"; condition server.name;\n"
           "  evidence server.first_frame; explanation \"on {server.name}: {tls.version}\"; remedy \"r\";\n"
           "}\n",
           "t.rules:3:44: field 'tls.version' is a connection field; 'evaluate server' rules can use only "
           "server.* fields");
}

static void test_type_errors(void)
{
    // Column of the offending token = COND_COL + its offset in the condition.
    COND_ERR("connection", "conn.outcome == 3",
             "t.rules:6:29: field 'conn.outcome' is a string; compare it with a string");
    COND_ERR("connection", "tls.version == \"1.2\"",
             "t.rules:6:28: field 'tls.version' is an integer; compare it with an integer");
    COND_ERR("connection", "tls.version == true",
             "t.rules:6:28: field 'tls.version' is an integer; compare it with an integer");
    COND_ERR("connection", "tls.certificate_request.present == 1",
             "t.rules:6:48: field 'tls.certificate_request.present' is a boolean; compare it with true or false");
    COND_ERR("connection", "tls.certificate_request.present < true",
             "t.rules:6:45: field 'tls.certificate_request.present' is a boolean; only == and != compare it");
    COND_ERR("connection", "conn.outcome >= \"a\"",
             "t.rules:6:26: field 'conn.outcome' is a string; only == and != compare it");
    COND_ERR("connection", "tls.version in {0x0303, \"x\"}",
             "t.rules:6:37: field 'tls.version' is an integer; compare it with an integer");
    COND_ERR("connection", "conn.outcome == tls.version",
             "t.rules:6:29: field 'conn.outcome' is a string and field 'tls.version' is an integer; they cannot be "
             "compared");
    COND_ERR("alert", "tls.alert.frame == 1 and tls.alert.level > 1 and tls.foo.bar",
             "t.rules:6:62: unknown field 'tls.foo.bar'");
    // Evidence must be frame numbers.
    ERR_EQ("rule a {\n"
           "  revision 1; severity info; evaluate alert; title \"t\"; condition tls.alert.frame;\n"
           "  evidence tls.alert.frame, tls.alert.level; explanation \"e\"; remedy \"r\";\n"
           "}\n",
           "t.rules:3:29: field 'tls.alert.level' is an integer; evidence lists frame-number fields");
}

static void test_syntax_errors(void)
{
    COND_ERR("alert", "tls.alert.level == ", "t.rules:6:32: expected a value, found ';'");
    COND_ERR("alert", "tls.alert.level = 2", "t.rules:6:29: expected '==', found '='");
    COND_ERR("alert", "tls.alert.level == 2 & tls.alert.frame", "t.rules:6:34: expected '&&', found '&'");
    COND_ERR("alert", "tls.alert.level == 2 | tls.alert.frame", "t.rules:6:34: expected '||', found '|'");
    COND_ERR("alert", "(tls.alert.level == 2", "t.rules:6:34: expected 'and', 'or' or ')', found ';'");
    COND_ERR("alert", "tls.alert.level == 2)", "t.rules:6:33: expected 'and', 'or' or ';', found ')'");
    COND_ERR("alert", "tls.alert.level == 2 tls.alert.frame",
             "t.rules:6:34: expected 'and', 'or' or ';', found 'tls.alert.frame'");
    COND_ERR("alert", "2 == tls.alert.level", "t.rules:6:13: expected a field name, 'not' or '(', found integer 2");
    COND_ERR("alert", "tls.alert.level == 2 and", "t.rules:6:37: expected a field name, 'not' or '(', found ';'");
    COND_ERR("alert", "tls.alert.level in {}", "t.rules:6:33: expected a value, found '}'");
    COND_ERR("alert", "tls.alert.level in {1,}", "t.rules:6:35: expected a value, found '}'");
    COND_ERR("alert", "tls.alert.level in {,1}", "t.rules:6:33: expected a value, found ','");
    COND_ERR("alert", "tls.alert.level in 1", "t.rules:6:32: expected '{', found integer 1");
    COND_ERR("alert", "tls.alert.level @ 1", "t.rules:6:29: unexpected character '@'");
    COND_ERR("alert", "tls.alert.level == 12ab", "t.rules:6:32: invalid number '12ab'");
    COND_ERR("alert", "tls.alert.level == 0x", "t.rules:6:32: invalid number '0x'");
    COND_ERR("alert", "tls.alert.level == 9223372036854775808",
             "t.rules:6:32: integer '9223372036854775808' is out of range (the largest is 9223372036854775807)");
    COND_ERR("alert", "tls.alert.level == 0x10000000000000000",
             "t.rules:6:32: integer '0x10000000000000000' is out of range (the largest is 9223372036854775807)");
    FIRES("alert", "tls.alert.level < 9223372036854775807");
    FIRES("alert", "tls.alert.level < 0x7fffffffffffffff");

    // Statements.
    ERR_EQ("", "");                    // an empty file is a valid file with no rules
    ERR_EQ("# only a comment\n", "");
    ERR_EQ("rules a {}", "t.rules:1:1: expected 'rule', found 'rules'");
    ERR_EQ("\n  rule {", "t.rules:2:8: expected a rule id, found '{'");
    ERR_EQ("rule a b", "t.rules:1:8: expected '{', found 'b'");
    ERR_EQ("rule a {", "t.rules:1:9: expected a statement or '}', found end of file");
    ERR_EQ("rule a { revision 1 }", "t.rules:1:21: expected ';', found '}'");
    ERR_EQ("rule a { revision x; }", "t.rules:1:19: expected a revision number, found 'x'");
    ERR_EQ("rule a { revision 0; }", "t.rules:1:19: revision must be between 1 and 4294967295");
    ERR_EQ("rule a { revision 4294967296; }", "t.rules:1:19: revision must be between 1 and 4294967295");
    ERR_EQ("rule a { severity fatal; }", "t.rules:1:19: expected info, warning or error, found 'fatal'");
    ERR_EQ("rule a { confidence 3; }", "t.rules:1:21: expected low, medium or high, found integer 3");
    ERR_EQ("rule a { evaluate record; }", "t.rules:1:19: expected alert, connection or server, found 'record'");
    ERR_EQ("rule a { title x; }", "t.rules:1:16: expected a string, found 'x'");
    ERR_EQ("rule a { revision 1; revision 2; }", "t.rules:1:22: 'revision' given twice");
    ERR_EQ("rule a { severity info;\n severity info; }", "t.rules:2:2: 'severity' given twice");
    ERR_EQ("rule a { revison 1; }",
           "t.rules:1:10: unknown statement 'revison' (expected revision, severity, confidence, evaluate, title, "
           "condition, evidence, explanation, remedy or references)");
    ERR_EQ("rule a { 1; }", "t.rules:1:10: expected a statement or '}', found integer 1");
    ERR_EQ("rule a { evidence ; }", "t.rules:1:19: expected a field name, found ';'");
    ERR_EQ("rule a { references \"x\", ; }", "t.rules:1:26: expected a string, found ';'");
    ERR_EQ("rule a {\n"
           "  revision 1; severity info; evaluate alert; title \"t\";\n"
           "  evidence tls.alert.frame; explanation \"e\"; remedy \"r\";\n"
           "}\n",
           "t.rules:4:1: missing 'condition' in rule 'a'");
    ERR_EQ("rule a { }", "t.rules:1:10: missing 'revision' in rule 'a'");

    // Strings.
    ERR_EQ("rule a { title \"abc\n\"; }",
           "t.rules:1:16: unterminated string (strings end on the line they start; join lines with adjacent "
           "strings)");
    ERR_EQ("rule a { title \"abc", "t.rules:1:16: unterminated string (strings end on the line they start; join "
                                   "lines with adjacent strings)");
    ERR_EQ("rule a { title \"a\\tb\"; }", "t.rules:1:18: unknown escape '\\t' (use \\\", \\\\ or \\n)");
    ERR_EQ("rule a { title \"a\x01\"; }", "t.rules:1:18: control byte 0x01 in a string");
    ERR_EQ("rule a { title \"a\" \n\n    x; }", "t.rules:3:5: expected ';', found 'x'");
    static const char nul_text[] = "rule a\0{";
    struct td_ruleset *rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    struct td_error err;
    CU_ASSERT_EQUAL(td_ruleset_add_text(rs, "t.rules", nul_text, sizeof(nul_text) - 1, &err), TD_ERR_FORMAT);
    CU_ASSERT_STRING_EQUAL(err.msg, "t.rules:1:7: unexpected byte 0x00");
    td_ruleset_free(rs);
}

static void test_template_errors(void)
{
    // Template errors are reported at the start of the text's first string.
    ERR_EQ("rule a {\n"
           "  revision 1; severity info; evaluate alert; title \"bad {tls.alert.nope}\";\n",
           "t.rules:2:52: unknown field 'tls.alert.nope'");
    ERR_EQ("rule a { title \"a } b\"; }", "t.rules:1:16: unmatched '}' in text (write '}}' for a brace)");
    ERR_EQ("rule a { title \"a {tls.alert.frame\"; }",
           "t.rules:1:16: unterminated '{' in text (write '{{' for a brace)");
    ERR_EQ("rule a { title \"a {}\"; }", "t.rules:1:16: '{}' in text is not a field name");
    ERR_EQ("rule a { remedy \"x\"\n   \"{tls.alert}\"; }", "t.rules:1:17: unknown field 'tls.alert'");
}

static const char *good_rules = "rule good.one {\n"
                                "  revision 1; severity info; evaluate alert; title \"one\";\n"
                                "  condition tls.alert.level == 2; evidence tls.alert.frame;\n"
                                "  explanation \"e\"; remedy \"r\";\n"
                                "}\n"
                                "rule good.two {\n"
                                "  revision 2; severity error; confidence low; evaluate connection; title \"two\";\n"
                                "  condition conn.outcome == \"failed_alert\"; evidence conn.outcome.frame;\n"
                                "  explanation \"e\"; remedy \"r\"; references \"RFC 8446\";\n"
                                "}\n";

static void test_whole_file_rejected(void)
{
    struct td_ruleset *rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    struct td_error err;
    CU_ASSERT_EQUAL_FATAL(td_ruleset_add_text(rs, "good.rules", good_rules, strlen(good_rules), &err), TD_OK);
    CU_ASSERT_EQUAL(td_ruleset_count(rs), 2);
    CU_ASSERT_STRING_EQUAL(td_ruleset_rule_at(rs, 1)->source, "good.rules:6");
    // Two good rules and a bad third: nothing of the file is added.
    static const char *mixed = "rule m.one {\n"
                               "  revision 1; severity info; evaluate alert; title \"one\";\n"
                               "  condition tls.alert.level == 2; evidence tls.alert.frame;\n"
                               "  explanation \"e\"; remedy \"r\";\n"
                               "}\n"
                               "rule m.two {\n"
                               "  revision 1; severity info; evaluate alert; title \"one\";\n"
                               "  condition tls.alert.level == 2; evidence tls.alert.frame;\n"
                               "  explanation \"e\"; remedy \"r\";\n"
                               "}\n"
                               "rule m.three {\n"
                               "  revision 1; severity info; evaluate alert; title \"one\";\n"
                               "  condition tls.alert.level === 2; evidence tls.alert.frame;\n"
                               "  explanation \"e\"; remedy \"r\";\n"
                               "}\n";
    CU_ASSERT_EQUAL(td_ruleset_add_text(rs, "mixed.rules", mixed, strlen(mixed), &err), TD_ERR_FORMAT);
    CU_ASSERT_STRING_EQUAL(err.msg, "mixed.rules:13:31: expected '==', found '='");
    CU_ASSERT_EQUAL(td_ruleset_count(rs), 2);
    CU_ASSERT_PTR_NULL(td_ruleset_find(rs, "m.one"));
    CU_ASSERT_PTR_NULL(td_ruleset_find(rs, "m.two"));
    // The same file again: the ids are still free, so a fixed version loads.
    struct fixture f;
    fixture_init(&f);
    struct seen s = {0};
    td_ruleset_eval(rs, TD_EVAL_ALERT, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL(s.count, 1);
    CU_ASSERT_STRING_EQUAL(s.id, "good.one");
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL(s.count, 2);
    CU_ASSERT_STRING_EQUAL(s.id, "good.two");
    td_ruleset_free(rs);
}

static void test_duplicate_ids(void)
{
    struct td_ruleset *rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    struct td_error err;
    CU_ASSERT_EQUAL_FATAL(td_ruleset_add_text(rs, "first.rules", good_rules, strlen(good_rules), &err), TD_OK);
    // Across files: the second file names the first file's rule.
    static const char *again = "# again\n"
                               "rule other.rule {\n"
                               "  revision 1; severity info; evaluate alert; title \"one\";\n"
                               "  condition tls.alert.level == 2; evidence tls.alert.frame;\n"
                               "  explanation \"e\"; remedy \"r\";\n"
                               "}\n"
                               "rule  good.two {\n";
    CU_ASSERT_EQUAL(td_ruleset_add_text(rs, "second.rules", again, strlen(again), &err), TD_ERR_FORMAT);
    CU_ASSERT_STRING_EQUAL(err.msg, "second.rules:7:7: duplicate rule id 'good.two' (first at first.rules:6)");
    CU_ASSERT_EQUAL(td_ruleset_count(rs), 2);
    CU_ASSERT_PTR_NULL(td_ruleset_find(rs, "other.rule"));
    td_ruleset_free(rs);
    // Within one file.
    static const char *twice = "rule d.x {\n"
                               "  revision 1; severity info; evaluate alert; title \"one\";\n"
                               "  condition tls.alert.level == 2; evidence tls.alert.frame;\n"
                               "  explanation \"e\"; remedy \"r\";\n"
                               "}\n"
                               "rule d.x {";
    ERR_EQ(twice, "t.rules:6:6: duplicate rule id 'd.x' (first at t.rules:1)");
}

static void test_limits(void)
{
    // Nesting: 64 levels load, the 65th '(' is refused at its column.
    char cond[8192];
    size_t n = 0;
    for (int i = 0; i < 64; i++) {
        cond[n++] = '(';
    }
    memcpy(cond + n, "tls.alert.level == 2", 20);
    n += 20;
    for (int i = 0; i < 64; i++) {
        cond[n++] = ')';
    }
    cond[n] = '\0';
    FIRES("alert", cond);
    memmove(cond + 1, cond, n + 1);
    cond[0] = '(';
    memcpy(cond + n + 1, ")", 2);
    COND_ERR("alert", cond, "t.rules:6:77: condition nests deeper than 64 levels");
    // A hostile run of 'not's or '(' stops at the bound, not at the stack's end.
    static char deep[200001];
    for (size_t i = 0; i + 4 < sizeof(deep); i += 4) {
        memcpy(deep + i, "not ", 4);
    }
    deep[sizeof(deep) - 1] = '\0';
    COND_ERR("alert", deep, "t.rules:6:269: condition nests deeper than 64 levels");
    memset(deep, '(', sizeof(deep) - 1);
    COND_ERR("alert", deep, "t.rules:6:77: condition nests deeper than 64 levels");
    // A long flat chain evaluates without deep recursion (n-ary and/or).
    n = 0;
    for (int i = 0; i < 300; i++) {
        n += (size_t)snprintf(cond + n, sizeof(cond) - n, "%stls.alert.frame", i > 0 ? " or " : "");
    }
    CU_ASSERT_FATAL(n < sizeof(cond));
    FIRES("alert", cond);

    // Evidence: at most TD_MAX_EVIDENCE (8).
    ERR_EQ("rule a { evidence tls.alert.frame, tls.alert.frame, tls.alert.frame, tls.alert.frame, tls.alert.frame,\n"
           "tls.alert.frame, tls.alert.frame, tls.alert.frame, tls.alert.frame; }",
           "t.rules:2:52: more than 8 evidence fields");
    // References: at most TD_MAX_REFERENCES (12).
    ERR_EQ("rule a { references \"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", \"8\", \"9\", \"10\", \"11\", \"12\",\n"
           "  \"13\"; }",
           "t.rules:2:3: more than 12 references");
    // A string of 4096 bytes is fine; 4097 is not.
    static char big[3 * 4096];
    int len = snprintf(big, sizeof(big), "rule a { title \"%4096d\" ", 7);
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT_STRING_EQUAL(error_of(big), "t.rules:1:4115: expected ';', found end of file");
    (void)snprintf(big, sizeof(big), "rule a { title \"%4090d\" \"%6d\"; }", 7, 8); // joined: 4096 bytes
    CU_ASSERT_STRING_EQUAL(error_of(big), "t.rules:1:4119: missing 'revision' in rule 'a'");
    (void)snprintf(big, sizeof(big), "rule a { title \"%4091d\" \"%6d\"; }", 7, 8); // 4097 bytes
    CU_ASSERT_STRING_EQUAL(error_of(big), "t.rules:1:16: string longer than 4096 bytes");
    // Identifiers: at most 128 bytes.
    (void)snprintf(big, sizeof(big), "rule a%128d {", 0);
    memset(big + 6, 'x', 128);
    CU_ASSERT_STRING_EQUAL(error_of(big), "t.rules:1:6: identifier longer than 128 characters");
    // A file over 1 MB is refused before lexing.
    char *huge = malloc(1024 * 1024 + 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(huge);
    memset(huge, ' ', 1024 * 1024 + 1);
    huge[1024 * 1024 + 1] = '\0';
    struct td_ruleset *rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    struct td_error err;
    CU_ASSERT_EQUAL(td_ruleset_add_text(rs, "huge.rules", huge, 1024 * 1024 + 1, &err), TD_ERR_FORMAT);
    CU_ASSERT_STRING_EQUAL(err.msg, "huge.rules: the rule file is 1048577 bytes; the limit is 1048576 bytes");
    CU_ASSERT_EQUAL(td_ruleset_add_text(rs, "huge.rules", huge, 1024 * 1024, &err), TD_OK); // blanks: no rules
    CU_ASSERT_EQUAL(td_ruleset_count(rs), 0);
    free(huge);
    td_ruleset_free(rs);
}

/* Every prefix of a valid file loads or fails with a positioned message; nothing crashes or leaks (run this
 * suite under TLSDIAG_SANITIZE to check the leaks). */
static void test_every_prefix(void)
{
    size_t len = strlen(full_rule);
    size_t loaded = 0;
    for (size_t n = 0; n <= len; n++) {
        char *copy = malloc(n + 1); // exact-size copy: reading past n would be caught by ASan
        CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
        memcpy(copy, full_rule, n);
        struct td_ruleset *rs = td_ruleset_new();
        CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
        struct td_error err = {0};
        enum td_err rc = td_ruleset_add_text(rs, "p.rules", copy, n, &err);
        if (rc == TD_OK) {
            loaded++;
            CU_ASSERT(td_ruleset_count(rs) <= 1);
        } else {
            CU_ASSERT_EQUAL(rc, TD_ERR_FORMAT);
            CU_ASSERT(strncmp(err.msg, "p.rules:", 8) == 0);
            CU_ASSERT_EQUAL(td_ruleset_count(rs), 0);
        }
        td_ruleset_free(rs);
        free(copy);
    }
    // The empty prefix, the comment line alone (with or without its newline) and the whole file load.
    CU_ASSERT(loaded >= 3);
}

/* A file's first token (fuzz regression tests/fuzz/regressions/rules/empty-file-null-token-offset): before it the
 * parser has no previous token, and computing its end from a NULL pointer was undefined behaviour (clang's UBSan
 * reports it for every file). An empty file and a comment alone load with no rules; an error at the first token
 * is positioned at 1:1. */
static void test_first_token(void)
{
    struct td_error err;
    struct td_ruleset *rs = load("", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(td_ruleset_count(rs), 0);
    td_ruleset_free(rs);
    rs = load("# only a comment", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(td_ruleset_count(rs), 0);
    td_ruleset_free(rs);
    CU_ASSERT(strncmp(error_of("}"), "t.rules:1:1: ", 13) == 0);
}

/* One rule per line (a format: %04d is its number). */
#define ONE_RULE                                                                                                   \
    "rule r%04d { revision 1; severity info; evaluate alert; title \"t\"; condition tls.alert.frame; "            \
    "evidence tls.alert.frame; explanation \"e\"; remedy \"r\"; }\n"

static void test_rules_per_file(void)
{
    // 1000 rules load; the 1001st is refused at its 'rule' keyword.
    size_t cap = 1001 * 200;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        n += (size_t)snprintf(text + n, cap - n, ONE_RULE, i);
    }
    CU_ASSERT_FATAL(n < cap);
    struct td_error err;
    struct td_ruleset *rs = load(text, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(td_ruleset_count(rs), 1000);
    CU_ASSERT_PTR_NOT_NULL(td_ruleset_find(rs, "r0999"));
    td_ruleset_free(rs);
    n += (size_t)snprintf(text + n, cap - n, ONE_RULE, 1000);
    CU_ASSERT_FATAL(n < cap);
    CU_ASSERT_STRING_EQUAL(error_of(text), "t.rules:1001:1: more than 1000 rules");
    free(text);
}

/* Every byte of a valid file replaced by each of a few bytes that matter to the lexer and parser: the result
 * loads or fails cleanly (and, under the sanitizers, without reading out of bounds or leaking). */
static void test_mutations(void)
{
    static const char replacements[] = {'(', ')', '{', '}', '"', '\\', '#', '\n', ';', ',', '!', '0', 'x', '\0', '\xff'};
    size_t len = strlen(full_rule);
    char *copy = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    size_t failed = 0, loaded = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k < sizeof(replacements); k++) {
            memcpy(copy, full_rule, len);
            copy[i] = replacements[k];
            struct td_ruleset *rs = td_ruleset_new();
            CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
            struct td_error err = {0};
            enum td_err rc = td_ruleset_add_text(rs, "m.rules", copy, len, &err);
            if (rc == TD_OK) {
                loaded++;
                struct fixture f;
                fixture_init(&f);
                struct seen s = {0};
                td_ruleset_eval(rs, TD_EVAL_ALERT, &f.ctx, on_finding, &s);
            } else {
                failed++;
                CU_ASSERT_EQUAL(rc, TD_ERR_FORMAT);
                CU_ASSERT(strncmp(err.msg, "m.rules:", 8) == 0);
                CU_ASSERT_EQUAL(td_ruleset_count(rs), 0);
            }
            td_ruleset_free(rs);
        }
    }
    free(copy);
    CU_ASSERT(failed > 0);
    CU_ASSERT(loaded > 0); // e.g. bytes inside comments and strings
}

static void test_builtin(void)
{
    struct td_ruleset *rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    struct td_error err = {0};
    enum td_err rc = td_ruleset_add_builtin(rs, &err);
    if (rc != TD_OK) {
        fprintf(stderr, "\n  built-in rules: %s\n", err.msg);
        td_ruleset_free(rs);
        CU_FAIL_FATAL("the built-in rules must load");
    }
    for (size_t i = 0; i < td_ruleset_count(rs); i++) {
        const struct td_rule_info *r = td_ruleset_rule_at(rs, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        CU_ASSERT(strncmp(r->source, "builtin:", 8) == 0);
        CU_ASSERT(r->title[0] != '\0');
        CU_ASSERT(r->num_evidence >= 1);
        CU_ASSERT_PTR_EQUAL(td_ruleset_find(rs, r->id), r);
    }
    // Adding them twice is a duplicate id (when there are any).
    if (td_ruleset_count(rs) > 0) {
        CU_ASSERT_EQUAL(td_ruleset_add_builtin(rs, &err), TD_ERR_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "duplicate rule id"));
    }
    // Evaluating every point over a connection with every pointer absent must be safe.
    struct td_fact_ctx empty = {0};
    struct seen s = {0};
    td_ruleset_eval(rs, TD_EVAL_ALERT, &empty, on_finding, &s);
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &empty, on_finding, &s);
    td_ruleset_eval(rs, TD_EVAL_SERVER, &empty, on_finding, &s);
    struct fixture f;
    fixture_init(&f);
    td_ruleset_eval(rs, TD_EVAL_ALERT, &f.ctx, on_finding, &s);
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &f.ctx, on_finding, &s);
    td_ruleset_eval(rs, TD_EVAL_SERVER, &f.ctx, on_finding, &s);
    td_ruleset_free(rs);
}

static bool write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (fp == NULL) {
        return false;
    }
    bool ok = fputs(text, fp) >= 0;
    return fclose(fp) == 0 && ok;
}

static void test_add_dir(void)
{
    char dir[] = "/tmp/td_rules_test_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char path[256];
    (void)snprintf(path, sizeof(path), "%s/b.rules", dir);
    CU_ASSERT_FATAL(write_file(path, "rule from.b {\n"
                                     "  revision 1; severity info; evaluate alert; title \"b\";\n"
                                     "  condition tls.alert.level == 2; evidence tls.alert.frame;\n"
                                     "  explanation \"e\"; remedy \"r\";\n"
                                     "}\n"));
    (void)snprintf(path, sizeof(path), "%s/a.rules", dir);
    CU_ASSERT_FATAL(write_file(path, "rule from.a {\n"
                                     "  revision 1; severity info; evaluate alert; title \"a\";\n"
                                     "  condition tls.alert.level == 2; evidence tls.alert.frame;\n"
                                     "  explanation \"e\"; remedy \"r\";\n"
                                     "}\n"));
    (void)snprintf(path, sizeof(path), "%s/notes.txt", dir);
    CU_ASSERT_FATAL(write_file(path, "not a rule file"));
    struct td_ruleset *rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    struct td_error err = {0};
    CU_ASSERT_EQUAL(td_ruleset_add_dir(rs, dir, &err), TD_OK);
    CU_ASSERT_EQUAL_FATAL(td_ruleset_count(rs), 2);
    CU_ASSERT_STRING_EQUAL(td_ruleset_rule_at(rs, 0)->id, "from.a"); // sorted by file name
    CU_ASSERT_STRING_EQUAL(td_ruleset_rule_at(rs, 1)->id, "from.b");
    char expected[512];
    (void)snprintf(expected, sizeof(expected), "%s/a.rules:1", dir);
    CU_ASSERT_STRING_EQUAL(td_ruleset_rule_at(rs, 0)->source, expected);
    // A bad file in the directory: its message names it.
    (void)snprintf(path, sizeof(path), "%s/c.rules", dir);
    CU_ASSERT_FATAL(write_file(path, "rule"));
    td_ruleset_free(rs);
    rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(td_ruleset_add_dir(rs, dir, &err), TD_ERR_FORMAT);
    (void)snprintf(expected, sizeof(expected), "%s/c.rules:1:5: expected a rule id, found end of file", dir);
    CU_ASSERT_STRING_EQUAL(err.msg, expected);
    CU_ASSERT_EQUAL(unlink(path), 0);
    // A *.rules entry that cannot be read (a directory).
    (void)snprintf(path, sizeof(path), "%s/d.rules", dir);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    td_ruleset_free(rs);
    rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(td_ruleset_add_dir(rs, dir, &err), TD_ERR_IO);
    (void)snprintf(expected, sizeof(expected), "%s/d.rules: cannot read the rule file: Is a directory", dir);
    CU_ASSERT_STRING_EQUAL(err.msg, expected);
    CU_ASSERT_EQUAL(rmdir(path), 0);
    // A directory that does not exist.
    char missing[300];
    (void)snprintf(missing, sizeof(missing), "%s/none", dir);
    CU_ASSERT_EQUAL(td_ruleset_add_dir(rs, missing, &err), TD_ERR_IO);
    (void)snprintf(expected, sizeof(expected), "%s: cannot read the rules directory: No such file or directory",
                   missing);
    CU_ASSERT_STRING_EQUAL(err.msg, expected);
    td_ruleset_free(rs);
    (void)snprintf(path, sizeof(path), "%s/a.rules", dir);
    CU_ASSERT_EQUAL(unlink(path), 0);
    (void)snprintf(path, sizeof(path), "%s/b.rules", dir);
    CU_ASSERT_EQUAL(unlink(path), 0);
    (void)snprintf(path, sizeof(path), "%s/notes.txt", dir);
    CU_ASSERT_EQUAL(unlink(path), 0);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
}

static void test_null_safety(void)
{
    CU_ASSERT_EQUAL(td_ruleset_count(NULL), 0);
    CU_ASSERT_PTR_NULL(td_ruleset_rule_at(NULL, 0));
    CU_ASSERT_PTR_NULL(td_ruleset_find(NULL, "x"));
    td_ruleset_free(NULL);
    struct td_ruleset *rs = td_ruleset_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    td_ruleset_eval(rs, TD_EVAL_ALERT, NULL, on_finding, NULL);
    td_ruleset_free(rs);
}

/* A rule file saved by a Windows editor: a UTF-8 byte order mark, CRLF line endings. It loads, and positions
 * count from after the mark (an error on line 1 right after it is at column 1). */
static void test_bom_crlf(void)
{
    static const char *text = "\xef\xbb\xbfrule t.win {\r\n"
                              "  revision 1; severity info; evaluate connection; # comment\r\n"
                              "  title \"t\";\r\n"
                              "  condition conn.outcome == \"failed_alert\";\r\n"
                              "  evidence conn.outcome.frame;\r\n"
                              "  explanation \"e\"; remedy \"r\";\r\n"
                              "}\r\n";
    struct td_error err;
    struct td_ruleset *rs = load(text, &err);
    if (rs == NULL) {
        fprintf(stderr, "\n  %s\n", err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_STRING_EQUAL(td_ruleset_rule_at(rs, 0)->id, "t.win");
    struct fixture f;
    fixture_init(&f);
    struct seen s = {0};
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &f.ctx, on_finding, &s);
    CU_ASSERT_EQUAL(s.count, 1);
    td_ruleset_free(rs);
    ERR_EQ("\xef\xbb\xbf}", "t.rules:1:1: expected 'rule', found '}'");
}

/* The longest rendered text (TD_RULES_RENDER_LEN, 8192 bytes with the NUL) ends in "..."; the cut never
 * splits a UTF-8 character, or the report's JSON string would not be UTF-8. Here the 2-byte "§" (c2 a7)
 * starts at byte 8187, so "..." (bytes 8188-8190) would otherwise leave its lead byte alone. */
static char long_title[9000];

static void keep_title(void *ctx, const struct td_finding *f)
{
    (void)ctx;
    (void)snprintf(long_title, sizeof(long_title), "%s", f->title);
}

static void test_render_utf8_cut(void)
{
    static char sni[4094];
    memset(sni, 'a', sizeof(sni) - 1);
    struct td_client_hello ch = {.sni = sni};
    struct fixture f;
    fixture_init(&f);
    f.tls.client_hellos[0] = &ch;
    f.tls.num_client_hellos = 1;
    static const char *text = "rule t.long {\n"
                              "  revision 1; severity info; evaluate connection;\n"
                              "  title \"{tls.client_hello.sni}{tls.client_hello.sni}x"
                              "\xc2\xa7\xc2\xa7\xc2\xa7\xc2\xa7\";\n"
                              "  condition tls.client_hello.sni; evidence conn.first_frame;\n"
                              "  explanation \"e\"; remedy \"r\";\n"
                              "}\n";
    struct td_error err;
    struct td_ruleset *rs = load(text, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    long_title[0] = '\0';
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &f.ctx, keep_title, NULL);
    td_ruleset_free(rs);
    size_t n = strlen(long_title);
    CU_ASSERT_EQUAL_FATAL(n, 2 * 4093 + 1 + 3);
    CU_ASSERT_STRING_EQUAL(long_title + n - 5, "ax...");
}

static CU_TestInfo tests[] = {
    {"names", test_names},
    {"rule_info", test_rule_info},
    {"comparisons", test_comparisons},
    {"logic_and_precedence", test_logic_and_precedence},
    {"in_sets", test_in_sets},
    {"absent_fields", test_absent_fields},
    {"booleans", test_booleans},
    {"strings", test_strings},
    {"templates", test_templates},
    {"evidence", test_evidence},
    {"scopes", test_scopes},
    {"type_errors", test_type_errors},
    {"syntax_errors", test_syntax_errors},
    {"template_errors", test_template_errors},
    {"whole_file_rejected", test_whole_file_rejected},
    {"duplicate_ids", test_duplicate_ids},
    {"limits", test_limits},
    {"rules_per_file", test_rules_per_file},
    {"every_prefix", test_every_prefix},
    {"first_token", test_first_token},
    {"mutations", test_mutations},
    {"builtin", test_builtin},
    {"add_dir", test_add_dir},
    {"null_safety", test_null_safety},
    {"bom_crlf", test_bom_crlf},
    {"render_utf8_cut", test_render_utf8_cut},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("rules", tests)
