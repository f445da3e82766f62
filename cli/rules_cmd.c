/* SPDX-License-Identifier: MIT */
/* rules_cmd.c: `tlsdiag rules`: list the loaded rules, explain one in full, list the fields conditions can use. */
#include "rules_cmd.h"

#include <string.h>

#include "exit_codes.h"

struct td_ruleset *td_cli_load_rules(const char *user_dir, FILE *errs)
{
    struct td_error err = {0};
    struct td_ruleset *rs = td_ruleset_new();
    if (rs == NULL) {
        (void)fprintf(errs, "tlsdiag: out of memory loading the rules\n");
        return NULL;
    }
    if (td_ruleset_add_builtin(rs, &err) != TD_OK ||
        (user_dir != NULL && td_ruleset_add_dir(rs, user_dir, &err) != TD_OK)) {
        (void)fprintf(errs, "tlsdiag: %s\n", err.msg);
        td_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

static void list_rules(const struct td_ruleset *rs)
{
    for (size_t i = 0; i < td_ruleset_count(rs); i++) {
        const struct td_rule_info *r = td_ruleset_rule_at(rs, i);
        printf("%-44s %-7s %-10s %s\n", r->id, td_severity_name(r->severity), td_eval_point_name(r->evaluate),
               r->title);
    }
}

static void explain_rule(const struct td_rule_info *r)
{
    printf("rule        %s (revision %u)\n", r->id, r->revision);
    printf("severity    %s, confidence %s\n", td_severity_name(r->severity), td_confidence_name(r->confidence));
    printf("evaluated   per %s\n", td_eval_point_name(r->evaluate));
    printf("title       %s\n", r->title);
    printf("condition   %s\n", r->condition);
    printf("evidence   ");
    for (size_t i = 0; i < r->num_evidence; i++) {
        printf(" %s%s", r->evidence[i], i + 1 < r->num_evidence ? "," : "");
    }
    printf("\nexplanation %s\n", r->explanation);
    printf("remedy      %s\n", r->remedy);
    printf("references ");
    for (size_t i = 0; i < r->num_references; i++) {
        printf(" %s%s", r->references[i], i + 1 < r->num_references ? ";" : "");
    }
    printf("\nsource      %s\n", r->source);
}

static const char *type_name(enum td_field_type t)
{
    switch (t) {
    case TD_FIELD_INT:
        return "int";
    case TD_FIELD_FRAME:
        return "frame";
    case TD_FIELD_BOOL:
        return "bool";
    case TD_FIELD_STRING:
        return "string";
    }
    return "?";
}

static void list_fields(void)
{
    static const char *const scopes[] = {"alert", "connection", "server"};
    for (size_t i = 0; i < td_field_count(); i++) {
        const struct td_field *f = td_field_at(i);
        printf("%-48s %-6s %-10s %s\n", f->name, type_name(f->type), scopes[f->scope], f->description);
    }
}

int td_cli_rules_main(int argc, char **argv)
{
    const char *user_dir = NULL;
    int i = 0;
    if (i + 1 < argc && strcmp(argv[i], "--rules") == 0) {
        user_dir = argv[i + 1];
        i += 2;
    }
    const char *verb = i < argc ? argv[i] : "list";
    if (strcmp(verb, "fields") == 0) {
        list_fields();
        return TD_EXIT_ANALYSED;
    }
    struct td_ruleset *rs = td_cli_load_rules(user_dir, stderr);
    if (rs == NULL) {
        return TD_EXIT_RULES;
    }
    int rc = TD_EXIT_ANALYSED;
    if (strcmp(verb, "list") == 0 && i + 1 >= argc) {
        list_rules(rs);
    } else if (strcmp(verb, "explain") == 0 && i + 2 == argc) {
        const struct td_rule_info *r = td_ruleset_find(rs, argv[i + 1]);
        if (r == NULL) {
            (void)fprintf(stderr, "tlsdiag: no rule '%s'; 'tlsdiag rules' lists them\n", argv[i + 1]);
            rc = TD_EXIT_USAGE;
        } else {
            explain_rule(r);
        }
    } else {
        (void)fprintf(stderr, "usage: tlsdiag rules [--rules DIR] [list | explain ID | fields]\n");
        rc = TD_EXIT_USAGE;
    }
    td_ruleset_free(rs);
    return rc;
}
