/* SPDX-License-Identifier: MIT */
/* ruleset.c: the rule set: adding compiled files (text, the embedded built-ins, a directory of *.rules),
 * listing, lookup and evaluation into findings (docs/RULES.md). A file is compiled into its own arena and
 * joins the set only when all of it compiled, so a bad file leaves the set as it was. */
#include "builtin.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct td_ruleset {
    struct td_rule **rules; /* in the order added; each points into its unit's arena */
    size_t num_rules, cap_rules;
    struct td_rules_unit *units;
};

struct td_ruleset *td_ruleset_new(void)
{
    return calloc(1, sizeof(struct td_ruleset));
}

void td_ruleset_free(struct td_ruleset *rs)
{
    if (rs == NULL) {
        return;
    }
    struct td_rules_unit *u = rs->units;
    while (u != NULL) {
        struct td_rules_unit *next = u->next;
        td_arena_cleanup(&u->arena);
        free(u);
        u = next;
    }
    free(rs->rules);
    free(rs);
}

static bool reserve(struct td_ruleset *rs, size_t more)
{
    if (rs->cap_rules - rs->num_rules >= more) {
        return true;
    }
    size_t cap = rs->cap_rules == 0 ? 64 : rs->cap_rules;
    while (cap - rs->num_rules < more) {
        cap *= 2;
    }
    struct td_rule **rules = realloc(rs->rules, cap * sizeof(rules[0]));
    if (rules == NULL) {
        return false;
    }
    rs->rules = rules;
    rs->cap_rules = cap;
    return true;
}

enum td_err td_ruleset_add_text(struct td_ruleset *rs, const char *name, const char *text, size_t len,
                                struct td_error *err)
{
    if (len > TD_RULES_MAX_FILE_LEN) {
        return td_error_set(err, TD_ERR_FORMAT, "%s: the rule file is %zu bytes; the limit is %u bytes", name, len,
                            TD_RULES_MAX_FILE_LEN);
    }
    struct td_rules_unit *unit = calloc(1, sizeof(*unit));
    if (unit == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory while compiling the rules", name);
    }
    td_arena_init(&unit->arena, TD_RULES_ARENA_CAP);
    enum td_err rc = td_rules_parse(rs, name, text, len, unit, err);
    if (rc == TD_OK && !reserve(rs, unit->num_rules)) {
        rc = td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory while compiling the rules", name);
    }
    if (rc != TD_OK) {
        td_arena_cleanup(&unit->arena);
        free(unit);
        return rc;
    }
    for (size_t i = 0; i < unit->num_rules; i++) {
        rs->rules[rs->num_rules++] = unit->rules[i];
    }
    unit->next = rs->units;
    rs->units = unit;
    return TD_OK;
}

enum td_err td_ruleset_add_builtin(struct td_ruleset *rs, struct td_error *err)
{
    for (size_t i = 0; i < td_num_builtin_rule_files; i++) {
        const struct td_builtin_rule_file *f = &td_builtin_rule_files[i];
        char name[256];
        if (snprintf(name, sizeof(name), "builtin:%s", f->name) < 0) {
            return td_error_set(err, TD_ERR_INTERNAL, "cannot name the built-in rule file %zu", i);
        }
        enum td_err rc = td_ruleset_add_text(rs, name, f->text, f->len, err);
        if (rc != TD_OK) {
            return rc;
        }
    }
    return TD_OK;
}

/* read_file reads at most TD_RULES_MAX_FILE_LEN + 1 bytes, enough to tell that a file is too large. */
static enum td_err read_file(const char *path, char **out, size_t *out_len, struct td_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return td_error_set(err, TD_ERR_IO, "%s: cannot open the rule file: %s", path, strerror(errno));
    }
    enum td_err rc = TD_OK;
    char *buf = malloc(TD_RULES_MAX_FILE_LEN + 1);
    if (buf == NULL) {
        rc = td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory reading the rule file", path);
        goto out;
    }
    size_t n = fread(buf, 1, TD_RULES_MAX_FILE_LEN + 1, f);
    if (ferror(f)) {
        rc = td_error_set(err, TD_ERR_IO, "%s: cannot read the rule file: %s", path, strerror(errno));
        goto out;
    }
    *out = buf;
    *out_len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_rule_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 6 && strcmp(name + n - 6, ".rules") == 0;
}

/* list_dir collects the *.rules names of dir, sorted. */
static enum td_err list_dir(const char *dir, char ***out, size_t *out_num, struct td_error *err)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return td_error_set(err, TD_ERR_IO, "%s: cannot read the rules directory: %s", dir, strerror(errno));
    }
    enum td_err rc = TD_OK;
    char **names = NULL;
    size_t num = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_rule_file(e->d_name)) {
            continue;
        }
        if (num == cap) {
            size_t new_cap = cap == 0 ? 16 : cap * 2;
            char **grown = realloc(names, new_cap * sizeof(grown[0]));
            if (grown == NULL) {
                rc = td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory listing the rules directory", dir);
                goto out;
            }
            names = grown;
            cap = new_cap;
        }
        names[num] = malloc(strlen(e->d_name) + 1);
        if (names[num] == NULL) {
            rc = td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory listing the rules directory", dir);
            goto out;
        }
        memcpy(names[num], e->d_name, strlen(e->d_name) + 1);
        num++;
    }
    if (num > 0) {
        qsort(names, num, sizeof(names[0]), compare_names);
    }
out:
    closedir(d);
    if (rc != TD_OK) {
        for (size_t i = 0; i < num; i++) {
            free(names[i]);
        }
        free(names);
        return rc;
    }
    *out = names;
    *out_num = num;
    return TD_OK;
}

enum td_err td_ruleset_add_dir(struct td_ruleset *rs, const char *dir, struct td_error *err)
{
    char **names = NULL;
    size_t num = 0;
    enum td_err rc = list_dir(dir, &names, &num, err);
    if (rc != TD_OK) {
        return rc;
    }
    for (size_t i = 0; i < num && rc == TD_OK; i++) {
        char path[4096];
        int n = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            rc = td_error_set(err, TD_ERR_IO, "%s/%s: path too long", dir, names[i]);
            break;
        }
        char *text = NULL;
        size_t len = 0;
        rc = read_file(path, &text, &len, err);
        if (rc == TD_OK) {
            rc = td_ruleset_add_text(rs, path, text, len, err);
        }
        free(text);
    }
    for (size_t i = 0; i < num; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

size_t td_ruleset_count(const struct td_ruleset *rs)
{
    return rs == NULL ? 0 : rs->num_rules;
}

const struct td_rule_info *td_ruleset_rule_at(const struct td_ruleset *rs, size_t i)
{
    if (rs == NULL || i >= rs->num_rules) {
        return NULL;
    }
    return &rs->rules[i]->info;
}

const struct td_rule_info *td_ruleset_find(const struct td_ruleset *rs, const char *id)
{
    for (size_t i = 0; rs != NULL && id != NULL && i < rs->num_rules; i++) {
        if (strcmp(rs->rules[i]->info.id, id) == 0) {
            return &rs->rules[i]->info;
        }
    }
    return NULL;
}

/* The interpolated texts live in this call's stack frame (3 x TD_RULES_RENDER_LEN): valid during the callback,
 * no allocation per evaluation, and nothing shared between calls, so a const rule set stays immutable. */
void td_ruleset_eval(const struct td_ruleset *rs, enum td_eval_point point, const struct td_fact_ctx *ctx,
                     td_finding_fn fn, void *fn_ctx)
{
    if (rs == NULL || ctx == NULL || fn == NULL) {
        return;
    }
    char title[TD_RULES_RENDER_LEN], explanation[TD_RULES_RENDER_LEN], remedy[TD_RULES_RENDER_LEN];
    for (size_t i = 0; i < rs->num_rules; i++) {
        const struct td_rule *r = rs->rules[i];
        if (r->info.evaluate != point || !td_rule_match(r, ctx)) {
            continue;
        }
        struct td_finding f = {.rule = &r->info, .title = title, .explanation = explanation, .remedy = remedy};
        td_template_render(&r->title, ctx, title, sizeof(title));
        td_template_render(&r->explanation, ctx, explanation, sizeof(explanation));
        td_template_render(&r->remedy, ctx, remedy, sizeof(remedy));
        f.num_evidence = td_rule_evidence(r, ctx, f.evidence);
        fn(fn_ctx, &f);
    }
}

const char *td_severity_name(enum td_severity s)
{
    switch (s) {
    case TD_SEVERITY_INFO:
        return "info";
    case TD_SEVERITY_WARNING:
        return "warning";
    case TD_SEVERITY_ERROR:
        return "error";
    }
    return "unknown";
}

const char *td_confidence_name(enum td_confidence c)
{
    switch (c) {
    case TD_CONFIDENCE_LOW:
        return "low";
    case TD_CONFIDENCE_MEDIUM:
        return "medium";
    case TD_CONFIDENCE_HIGH:
        return "high";
    }
    return "unknown";
}

const char *td_eval_point_name(enum td_eval_point p)
{
    switch (p) {
    case TD_EVAL_ALERT:
        return "alert";
    case TD_EVAL_CONNECTION:
        return "connection";
    case TD_EVAL_SERVER:
        return "server";
    }
    return "unknown";
}
