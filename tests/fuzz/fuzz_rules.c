/* SPDX-License-Identifier: MIT */
/* fuzz_rules.c: the rule compiler (rules/rules.h, language in docs/RULES.md) on an arbitrary rule file: it must
 * load or fail with a message, never crash or leak. A file that loads is listed and evaluated at every point
 * over empty facts, so compiled conditions, evidence and text templates run too. */
#include <stdlib.h>
#include <string.h>

#include "../../rules/rules.h"
#include "fuzz.h"

static volatile uint64_t sink;

static void on_finding(void *ctx, const struct td_finding *f)
{
    (void)ctx;
    sink += strlen(f->title) + strlen(f->explanation) + strlen(f->remedy) + f->num_evidence;
}

static void touch_rule(const struct td_rule_info *r)
{
    uint64_t sum = strlen(r->id) + strlen(r->title) + strlen(r->condition) + strlen(r->source);
    sum += (r->explanation != NULL ? strlen(r->explanation) : 0) + (r->remedy != NULL ? strlen(r->remedy) : 0);
    for (size_t i = 0; i < r->num_evidence; i++) {
        sum += strlen(r->evidence[i]);
    }
    for (size_t i = 0; i < r->num_references; i++) {
        sum += strlen(r->references[i]);
    }
    sink += sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct td_ruleset *rs = td_ruleset_new();
    if (rs == NULL) {
        __builtin_trap();
    }
    // An exact-size copy: the compiler gets (text, len) and must not read past len (no NUL after it).
    char *text = malloc(size > 0 ? size : 1);
    if (text == NULL) {
        __builtin_trap();
    }
    if (size > 0) {
        memcpy(text, data, size);
    }
    struct td_error err = {0};
    enum td_err rc = td_ruleset_add_text(rs, "fuzz.rules", text, size, &err);
    free(text);
    if (rc != TD_OK) {
        if (err.msg[0] == '\0') {
            __builtin_trap(); // a rejected file must say why
        }
        if (td_ruleset_count(rs) != 0) {
            __builtin_trap(); // nothing of a bad file is added
        }
        td_ruleset_free(rs);
        return 0;
    }
    for (size_t i = 0; i < td_ruleset_count(rs); i++) {
        touch_rule(td_ruleset_rule_at(rs, i));
    }
    struct td_tls_facts facts = {0};
    struct td_alert alert = {0};
    struct td_flow_info info = {0};
    struct td_server_facts server = {0};
    struct td_fact_ctx ctx = {.flow = &info, .tls = &facts, .server = &server};
    td_ruleset_eval(rs, TD_EVAL_CONNECTION, &ctx, on_finding, NULL);
    ctx.alert = &alert;
    td_ruleset_eval(rs, TD_EVAL_ALERT, &ctx, on_finding, NULL);
    struct td_fact_ctx sctx = {.server = &server};
    td_ruleset_eval(rs, TD_EVAL_SERVER, &sctx, on_finding, NULL);
    td_ruleset_free(rs);
    return 0;
}
