/* SPDX-License-Identifier: MIT */
/* rules.h: the rule engine. Rule files (docs/RULES.md) are lexed, parsed, resolved against the field registry
 * (dissect/fields.h), type-checked and compiled into an immutable rule set, as YARA compiles its rules; a file
 * with any error is rejected whole with file:line:column. Evaluation is a small interpreter over facts: no
 * signature lives in C. The built-in rules (the .rules files in rules/) are embedded in the binary at build time. */
#ifndef TD_RULES_RULES_H
#define TD_RULES_RULES_H

#include "../dissect/fields.h"

enum td_severity {
    TD_SEVERITY_INFO,
    TD_SEVERITY_WARNING,
    TD_SEVERITY_ERROR,
};

enum td_confidence {
    TD_CONFIDENCE_LOW,
    TD_CONFIDENCE_MEDIUM,
    TD_CONFIDENCE_HIGH,
};

enum td_eval_point {
    TD_EVAL_ALERT,      /* per alert, at connection end */
    TD_EVAL_CONNECTION, /* per connection, at its end */
    TD_EVAL_SERVER,     /* per server, at the end of each input */
};

#define TD_MAX_EVIDENCE 8
#define TD_MAX_REFERENCES 12

/* One rule as loaded (for listing and explaining). Strings are owned by the rule set. */
struct td_rule_info {
    const char *id;
    uint32_t revision;
    enum td_severity severity;
    enum td_confidence confidence;
    enum td_eval_point evaluate;
    const char *title;       /* template as written */
    const char *condition;   /* source text as written (whitespace normalised) */
    const char *evidence[TD_MAX_EVIDENCE];
    size_t num_evidence;
    const char *explanation; /* template as written */
    const char *remedy;      /* template as written */
    const char *references[TD_MAX_REFERENCES];
    size_t num_references;
    const char *source;      /* "builtin:tls-alerts.rules:12" or the user file:line */
};

/* A finding handed to the callback. Valid during the callback only: copy what you keep. */
struct td_finding {
    const struct td_rule_info *rule;
    const char *title;        /* interpolated */
    const char *explanation;  /* interpolated */
    const char *remedy;       /* interpolated */
    uint64_t evidence[TD_MAX_EVIDENCE]; /* frame numbers, ascending, distinct */
    size_t num_evidence;
};

typedef void (*td_finding_fn)(void *ctx, const struct td_finding *finding);

struct td_ruleset;

/* td_ruleset_new returns an empty rule set (NULL on allocation failure). */
TD_MUST_USE struct td_ruleset *td_ruleset_new(void);
void td_ruleset_free(struct td_ruleset *rs);
/* td_ruleset_add_text compiles one rule file's text (name is used in messages and td_rule_info.source) and adds
 * its rules. On any error nothing of the file is added: returns TD_ERR_FORMAT with err->msg
 * "name:line:col: expected ..., found ..." (or a duplicate-id / unknown-field / type message at its position). */
TD_MUST_USE enum td_err td_ruleset_add_text(struct td_ruleset *rs, const char *name, const char *text, size_t len,
                                            struct td_error *err);
/* td_ruleset_add_builtin adds the rule files embedded at build time. */
TD_MUST_USE enum td_err td_ruleset_add_builtin(struct td_ruleset *rs, struct td_error *err);
/* td_ruleset_add_dir adds every *.rules file of dir (sorted by name); TD_ERR_IO when it cannot be read. */
TD_MUST_USE enum td_err td_ruleset_add_dir(struct td_ruleset *rs, const char *dir, struct td_error *err);

size_t td_ruleset_count(const struct td_ruleset *rs);
const struct td_rule_info *td_ruleset_rule_at(const struct td_ruleset *rs, size_t i);
/* td_ruleset_find returns the rule with this id, or NULL. */
const struct td_rule_info *td_ruleset_find(const struct td_ruleset *rs, const char *id);

/* td_ruleset_eval runs every rule of evaluation point `point` over ctx and calls fn for each that matches, in
 * rule-set order. For TD_EVAL_ALERT the caller calls it once per alert with ctx->alert set. */
void td_ruleset_eval(const struct td_ruleset *rs, enum td_eval_point point, const struct td_fact_ctx *ctx,
                     td_finding_fn fn, void *fn_ctx);

const char *td_severity_name(enum td_severity s);     /* "info", "warning", "error" */
const char *td_confidence_name(enum td_confidence c); /* "low", "medium", "high" */
const char *td_eval_point_name(enum td_eval_point p); /* "alert", "connection", "server" */

#endif
