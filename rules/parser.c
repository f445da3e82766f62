/* SPDX-License-Identifier: MIT */
/* parser.c: recursive-descent parser and compiler for rule files (docs/RULES.md): statements of each rule,
 * conditions with display-filter precedence (not > comparison > and > or), resolution of every field name
 * against the registry (dissect/fields.h), scope and type checks, templates split into segments. The first
 * error stops the file; the caller then discards everything compiled from it. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum statement {
    ST_REVISION,
    ST_SEVERITY,
    ST_CONFIDENCE,
    ST_EVALUATE,
    ST_TITLE,
    ST_CONDITION,
    ST_EVIDENCE,
    ST_EXPLANATION,
    ST_REMEDY,
    ST_REFERENCES,
    ST_COUNT,
};

static const struct {
    const char *word;
    bool required;
} statements[ST_COUNT] = {
    [ST_REVISION] = {"revision", true},       [ST_SEVERITY] = {"severity", true},
    [ST_CONFIDENCE] = {"confidence", false},  [ST_EVALUATE] = {"evaluate", true},
    [ST_TITLE] = {"title", true},             [ST_CONDITION] = {"condition", true},
    [ST_EVIDENCE] = {"evidence", true},       [ST_EXPLANATION] = {"explanation", true},
    [ST_REMEDY] = {"remedy", true},           [ST_REFERENCES] = {"references", false},
};

/* A field named somewhere in a rule, kept until `evaluate` is known for the scope check. */
struct field_use {
    const struct td_field *field;
    uint32_t line, col;
};

/* What is known about the rule being parsed. */
struct draft {
    struct td_rule *rule;
    bool seen[ST_COUNT];
    struct field_use evidence[TD_MAX_EVIDENCE];
    uint32_t text_line[3], text_col[3]; /* title, explanation, remedy: where their value starts */
};

struct parser {
    struct td_lexer lx;
    struct td_token tok;  /* the lookahead */
    const char *prev_end; /* end of the token before the lookahead */
    const char *name;
    struct td_error *err;
    enum td_err status;   /* what a false return means: TD_ERR_FORMAT or TD_ERR_RESOURCE */
    struct td_arena *arena;
    const struct td_ruleset *existing;
    uint32_t depth;
    /* Per-condition scratch, copied to the arena when the condition is complete. */
    struct td_node nodes[TD_RULES_MAX_NODES];
    uint32_t num_nodes;
    struct td_value values[TD_RULES_MAX_NODES];
    uint32_t num_values;
    /* Per-template scratch. */
    struct td_text_piece segs[TD_RULES_MAX_SEGMENTS];
    char text[TD_RULES_MAX_STRING_LEN + 1];
    /* The file's rules so far. */
    struct td_rule *rules[TD_RULES_MAX_RULES_PER_FILE];
    size_t num_rules;
};

static bool fail_at(struct parser *ps, const struct td_token *tok, const char *what)
{
    char found[96];
    td_token_describe(tok, found, sizeof(found));
    return td_rules_error_at(ps->err, ps->name, tok->line, tok->col, "expected %s, found %s", what, found);
}

static bool out_of_memory(struct parser *ps)
{
    ps->status = TD_ERR_RESOURCE;
    (void)td_error_set(ps->err, TD_ERR_RESOURCE, "%s: out of memory while compiling the rules", ps->name);
    return false;
}

static bool next(struct parser *ps)
{
    if (ps->tok.p != NULL) { // before the first token there is none: NULL + 0 is undefined behaviour
        ps->prev_end = ps->tok.p + ps->tok.len;
    }
    return td_lexer_next(&ps->lx, &ps->tok);
}

/* expect checks the lookahead's kind and consumes it. */
static bool expect(struct parser *ps, enum td_tok kind, const char *what)
{
    if (ps->tok.kind != kind) {
        return fail_at(ps, &ps->tok, what);
    }
    return next(ps);
}

static bool tok_is_word(const struct td_token *tok, const char *word)
{
    return tok->kind == TD_TOK_IDENT && strlen(word) == tok->len && memcmp(word, tok->p, tok->len) == 0;
}

static const char *type_phrase(enum td_field_type t)
{
    switch (t) {
    case TD_FIELD_INT:
        return "an integer";
    case TD_FIELD_FRAME:
        return "a frame number";
    case TD_FIELD_BOOL:
        return "a boolean";
    case TD_FIELD_STRING:
        return "a string";
    }
    return "of unknown type";
}

static const char *compare_hint(enum td_field_type t)
{
    switch (t) {
    case TD_FIELD_INT:
    case TD_FIELD_FRAME:
        return "an integer";
    case TD_FIELD_BOOL:
        return "true or false";
    case TD_FIELD_STRING:
        return "a string";
    }
    return "a value";
}

static bool is_numeric(enum td_field_type t)
{
    return t == TD_FIELD_INT || t == TD_FIELD_FRAME;
}

/* resolve looks an identifier token up in the field registry. */
static bool resolve(struct parser *ps, const struct td_token *tok, const struct td_field **out)
{
    char name[TD_RULES_MAX_IDENT_LEN + 1];
    size_t n = tok->len < TD_RULES_MAX_IDENT_LEN ? tok->len : TD_RULES_MAX_IDENT_LEN;
    memcpy(name, tok->p, n);
    name[n] = '\0';
    *out = td_field_find(name);
    if (*out == NULL) {
        return td_rules_error_at(ps->err, ps->name, tok->line, tok->col, "unknown field '%s'", name);
    }
    return true;
}

/* ---- strings ---- */

/* parse_string_value reads one or more adjacent string tokens, unescaped and joined, into ps->text. */
/* parse_string_value reads a string into ps->text. join: adjacent strings are one (texts that span lines);
 * in a condition they are not, since `in {"reset" "closed"}` separates set elements by spaces. */
static bool parse_string_value(struct parser *ps, bool join, size_t *out_len)
{
    if (ps->tok.kind != TD_TOK_STRING) {
        return fail_at(ps, &ps->tok, "a string");
    }
    struct td_token first = ps->tok;
    size_t n = 0;
    while (ps->tok.kind == TD_TOK_STRING) {
        // The lexer accepted the escapes; the quotes are the first and last bytes.
        const char *s = ps->tok.p + 1;
        size_t len = ps->tok.len - 2;
        for (size_t i = 0; i < len; i++) {
            char c = s[i];
            if (c == '\\') {
                i++;
                c = s[i] == 'n' ? '\n' : s[i];
            }
            if (n == TD_RULES_MAX_STRING_LEN) {
                return td_rules_error_at(ps->err, ps->name, first.line, first.col,
                                         "string longer than %u bytes", TD_RULES_MAX_STRING_LEN);
            }
            ps->text[n++] = c;
        }
        if (!next(ps)) {
            return false;
        }
        if (!join) {
            break;
        }
    }
    ps->text[n] = '\0';
    *out_len = n;
    return true;
}

static bool parse_string_copy(struct parser *ps, bool join, const char **out)
{
    size_t len;
    if (!parse_string_value(ps, join, &len)) {
        return false;
    }
    *out = td_arena_strndup(ps->arena, ps->text, len);
    return *out != NULL || out_of_memory(ps);
}

/* ---- templates: "{field}" is a value, "{{" and "}}" are braces ---- */

static bool add_segment(struct parser *ps, size_t *num, struct td_text_piece seg, uint32_t line, uint32_t col)
{
    if (*num == TD_RULES_MAX_SEGMENTS) {
        return td_rules_error_at(ps->err, ps->name, line, col, "text has more than %u pieces",
                                 TD_RULES_MAX_SEGMENTS);
    }
    ps->segs[(*num)++] = seg;
    return true;
}

static bool compile_template(struct parser *ps, const char *text, size_t len, uint32_t line, uint32_t col,
                             struct td_template *out)
{
    char *lit = td_arena_alloc(ps->arena, len + 1);
    if (lit == NULL) {
        return out_of_memory(ps);
    }
    size_t num = 0, lit_len = 0, lit_start = 0;
    size_t i = 0;
    while (i < len) {
        char c = text[i];
        bool doubled = i + 1 < len && text[i + 1] == c;
        if ((c == '{' || c == '}') && doubled) {
            lit[lit_len++] = c;
            i += 2;
            continue;
        }
        if (c == '}') {
            return td_rules_error_at(ps->err, ps->name, line, col,
                                     "unmatched '}' in text (write '}}' for a brace)");
        }
        if (c != '{') {
            lit[lit_len++] = c;
            i++;
            continue;
        }
        const char *close = memchr(text + i, '}', len - i);
        if (close == NULL) {
            return td_rules_error_at(ps->err, ps->name, line, col,
                                     "unterminated '{' in text (write '{{' for a brace)");
        }
        size_t name_len = (size_t)(close - (text + i)) - 1;
        if (name_len == 0 || name_len > TD_RULES_MAX_IDENT_LEN) {
            return td_rules_error_at(ps->err, ps->name, line, col, "'{%.*s}' in text is not a field name",
                                     (int)(name_len > 40 ? 40 : name_len), text + i + 1);
        }
        struct td_token ident = {.kind = TD_TOK_IDENT, .line = line, .col = col, .p = text + i + 1,
                                 .len = name_len};
        const struct td_field *field;
        if (!resolve(ps, &ident, &field)) {
            return false;
        }
        if (lit_len > lit_start &&
            !add_segment(ps, &num, (struct td_text_piece){lit + lit_start, lit_len - lit_start, NULL}, line, col)) {
            return false;
        }
        lit_start = lit_len;
        if (!add_segment(ps, &num, (struct td_text_piece){NULL, 0, field}, line, col)) {
            return false;
        }
        i += name_len + 2;
    }
    if (lit_len > lit_start &&
        !add_segment(ps, &num, (struct td_text_piece){lit + lit_start, lit_len - lit_start, NULL}, line, col)) {
        return false;
    }
    out->num_segs = num;
    out->segs = NULL;
    if (num == 0) {
        return true;
    }
    out->segs = td_arena_memdup(ps->arena, ps->segs, num * sizeof(ps->segs[0]));
    return out->segs != NULL || out_of_memory(ps);
}

/* parse_text reads a title/explanation/remedy: the template as written plus its compiled form. */
static bool parse_text(struct parser *ps, struct draft *d, int which, const char **out_text, struct td_template *out)
{
    uint32_t line = ps->tok.line, col = ps->tok.col;
    size_t len;
    if (!parse_string_value(ps, true, &len)) {
        return false;
    }
    *out_text = td_arena_strndup(ps->arena, ps->text, len);
    if (*out_text == NULL) {
        return out_of_memory(ps);
    }
    d->text_line[which] = line;
    d->text_col[which] = col;
    return compile_template(ps, *out_text, len, line, col, out);
}

/* ---- conditions ---- */

static bool new_node(struct parser *ps, enum td_node_kind kind, const struct td_token *at, uint32_t *out)
{
    if (ps->num_nodes == TD_RULES_MAX_NODES) {
        return td_rules_error_at(ps->err, ps->name, at->line, at->col, "condition has more than %u terms",
                                 TD_RULES_MAX_NODES);
    }
    *out = ps->num_nodes++;
    ps->nodes[*out] = (struct td_node){.kind = kind, .first = TD_NODE_NONE, .next = TD_NODE_NONE};
    return true;
}

static bool parse_or(struct parser *ps, uint32_t *out);

static bool enter(struct parser *ps)
{
    if (ps->depth == TD_RULES_MAX_DEPTH) {
        return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col,
                                 "condition nests deeper than %u levels", TD_RULES_MAX_DEPTH);
    }
    ps->depth++;
    return true;
}

/* check_literal type-checks `field op literal` (the literal is the lookahead) and fills *lit. */
static bool check_literal(struct parser *ps, const struct td_field *field, struct td_value *lit)
{
    const struct td_token *t = &ps->tok;
    enum td_field_type want = field->type;
    bool ok = (t->kind == TD_TOK_INT && is_numeric(want)) || (t->kind == TD_TOK_STRING && want == TD_FIELD_STRING) ||
              ((t->kind == TD_TOK_TRUE || t->kind == TD_TOK_FALSE) && want == TD_FIELD_BOOL);
    if (t->kind != TD_TOK_INT && t->kind != TD_TOK_STRING && t->kind != TD_TOK_TRUE && t->kind != TD_TOK_FALSE) {
        return fail_at(ps, t, "a value");
    }
    if (!ok) {
        return td_rules_error_at(ps->err, ps->name, t->line, t->col, "field '%s' is %s; compare it with %s",
                                 field->name, type_phrase(want), compare_hint(want));
    }
    *lit = (struct td_value){.type = want};
    if (t->kind == TD_TOK_STRING) {
        return parse_string_copy(ps, false, &lit->s);
    }
    lit->i = t->kind == TD_TOK_INT ? t->ival : (t->kind == TD_TOK_TRUE);
    return next(ps);
}

static bool parse_set(struct parser *ps, uint32_t node)
{
    struct td_node *n = &ps->nodes[node];
    if (!expect(ps, TD_TOK_LBRACE, "'{'")) {
        return false;
    }
    n->first = ps->num_values;
    n->num = 0;
    while (ps->tok.kind != TD_TOK_RBRACE || n->num == 0) {
        if (n->num > 0 && ps->tok.kind == TD_TOK_COMMA && !next(ps)) {
            return false;
        }
        if (n->num == TD_RULES_MAX_SET) {
            return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col, "more than %u values in a set",
                                     TD_RULES_MAX_SET);
        }
        if (ps->num_values == TD_RULES_MAX_NODES) {
            return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col,
                                     "condition has more than %u values", TD_RULES_MAX_NODES);
        }
        if (!check_literal(ps, n->field, &ps->values[ps->num_values])) {
            return false;
        }
        ps->num_values++;
        n->num++;
    }
    return next(ps);
}

static bool parse_comparison(struct parser *ps, uint32_t node)
{
    struct td_node *n = &ps->nodes[node];
    const struct td_token op = ps->tok;
    n->op = (enum td_cmp)(op.kind - TD_TOK_EQ);
    if (n->op >= TD_CMP_LT && (n->field->type == TD_FIELD_BOOL || n->field->type == TD_FIELD_STRING)) {
        return td_rules_error_at(ps->err, ps->name, op.line, op.col,
                                 "field '%s' is %s; only == and != compare it", n->field->name,
                                 type_phrase(n->field->type));
    }
    if (!next(ps)) {
        return false;
    }
    if (ps->tok.kind != TD_TOK_IDENT) {
        return check_literal(ps, n->field, &n->lit);
    }
    // Field against field: both sides must have the same type (integers and frame numbers mix).
    const struct td_field *rhs;
    if (!resolve(ps, &ps->tok, &rhs)) {
        return false;
    }
    bool same = rhs->type == n->field->type || (is_numeric(rhs->type) && is_numeric(n->field->type));
    if (!same) {
        return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col,
                                 "field '%s' is %s and field '%s' is %s; they cannot be compared", n->field->name,
                                 type_phrase(n->field->type), rhs->name, type_phrase(rhs->type));
    }
    n->rhs_field = rhs;
    n->rhs_line = ps->tok.line;
    n->rhs_col = ps->tok.col;
    return next(ps);
}

static bool parse_primary(struct parser *ps, uint32_t *out)
{
    if (ps->tok.kind == TD_TOK_LPAREN) {
        if (!enter(ps) || !next(ps) || !parse_or(ps, out)) {
            return false;
        }
        if (ps->tok.kind != TD_TOK_RPAREN) {
            return fail_at(ps, &ps->tok, "'and', 'or' or ')'");
        }
        ps->depth--;
        return next(ps);
    }
    if (ps->tok.kind != TD_TOK_IDENT) {
        return fail_at(ps, &ps->tok, "a field name, 'not' or '('");
    }
    const struct td_field *field;
    if (!resolve(ps, &ps->tok, &field) || !new_node(ps, TD_NODE_PRESENT, &ps->tok, out)) {
        return false;
    }
    struct td_node *n = &ps->nodes[*out];
    n->field = field;
    n->line = ps->tok.line;
    n->col = ps->tok.col;
    if (!next(ps)) {
        return false;
    }
    if (ps->tok.kind >= TD_TOK_EQ && ps->tok.kind <= TD_TOK_GE) {
        n->kind = TD_NODE_CMP;
        return parse_comparison(ps, *out);
    }
    if (ps->tok.kind == TD_TOK_IN) {
        n->kind = TD_NODE_IN;
        return next(ps) && parse_set(ps, *out);
    }
    return true;
}

static bool parse_unary(struct parser *ps, uint32_t *out)
{
    if (ps->tok.kind != TD_TOK_NOT) {
        return parse_primary(ps, out);
    }
    struct td_token at = ps->tok;
    uint32_t child;
    if (!enter(ps) || !next(ps) || !parse_unary(ps, &child) || !new_node(ps, TD_NODE_NOT, &at, out)) {
        return false;
    }
    ps->depth--;
    ps->nodes[*out].first = child;
    ps->nodes[*out].num = 1;
    return true;
}

/* parse_list parses `operand (op operand)*` into one n-ary node (or the operand alone). */
static bool parse_list(struct parser *ps, enum td_tok op, enum td_node_kind kind,
                       bool (*operand)(struct parser *, uint32_t *), uint32_t *out)
{
    uint32_t first;
    if (!operand(ps, &first)) {
        return false;
    }
    if (ps->tok.kind != op) {
        *out = first;
        return true;
    }
    if (!new_node(ps, kind, &ps->tok, out)) {
        return false;
    }
    uint32_t last = first, num = 1;
    while (ps->tok.kind == op) {
        uint32_t child;
        if (!next(ps) || !operand(ps, &child)) {
            return false;
        }
        ps->nodes[last].next = child;
        last = child;
        num++;
    }
    ps->nodes[*out].first = first;
    ps->nodes[*out].num = num;
    return true;
}

static bool parse_and(struct parser *ps, uint32_t *out)
{
    return parse_list(ps, TD_TOK_AND, TD_NODE_AND, parse_unary, out);
}

static bool parse_or(struct parser *ps, uint32_t *out)
{
    return parse_list(ps, TD_TOK_OR, TD_NODE_OR, parse_and, out);
}

/* condition_text re-reads the condition's tokens and joins them with one space where the source had any
 * whitespace or comment between them. */
static const char *condition_text(struct parser *ps, const char *start, const char *end)
{
    char *out = td_arena_alloc(ps->arena, (size_t)(end - start) + 1);
    if (out == NULL) {
        return NULL;
    }
    struct td_lexer lx;
    struct td_error scratch;
    td_lexer_init(&lx, ps->name, start, (size_t)(end - start), &scratch);
    size_t n = 0;
    const char *prev = NULL;
    struct td_token t;
    while (td_lexer_next(&lx, &t) && t.kind != TD_TOK_EOF) {
        if (prev != NULL && t.p > prev) {
            out[n++] = ' ';
        }
        memcpy(out + n, t.p, t.len);
        n += t.len;
        prev = t.p + t.len;
    }
    out[n] = '\0';
    return out;
}

static bool parse_condition(struct parser *ps, struct td_rule *r)
{
    const char *start = ps->tok.p;
    ps->num_nodes = 0;
    ps->num_values = 0;
    ps->depth = 0;
    uint32_t root;
    if (!parse_or(ps, &root)) {
        return false;
    }
    if (ps->tok.kind != TD_TOK_SEMI) {
        return fail_at(ps, &ps->tok, "'and', 'or' or ';'");
    }
    r->info.condition = condition_text(ps, start, ps->prev_end);
    r->nodes = td_arena_memdup(ps->arena, ps->nodes, ps->num_nodes * sizeof(ps->nodes[0]));
    r->num_nodes = ps->num_nodes;
    r->root = root;
    r->values = NULL;
    if (ps->num_values > 0) {
        r->values = td_arena_memdup(ps->arena, ps->values, ps->num_values * sizeof(ps->values[0]));
        if (r->values == NULL) {
            return out_of_memory(ps);
        }
    }
    return (r->info.condition != NULL && r->nodes != NULL) || out_of_memory(ps);
}

/* ---- statements ---- */

static bool parse_word_value(struct parser *ps, const char *const *choices, size_t num, const char *what,
                             int *out)
{
    for (size_t i = 0; i < num; i++) {
        if (tok_is_word(&ps->tok, choices[i])) {
            *out = (int)i;
            return next(ps);
        }
    }
    return fail_at(ps, &ps->tok, what);
}

static bool parse_evidence(struct parser *ps, struct draft *d)
{
    struct td_rule *r = d->rule;
    for (;;) {
        if (ps->tok.kind != TD_TOK_IDENT) {
            return fail_at(ps, &ps->tok, "a field name");
        }
        if (r->info.num_evidence == TD_MAX_EVIDENCE) {
            return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col, "more than %u evidence fields",
                                     TD_MAX_EVIDENCE);
        }
        const struct td_field *f;
        if (!resolve(ps, &ps->tok, &f)) {
            return false;
        }
        if (f->type != TD_FIELD_FRAME) {
            return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col,
                                     "field '%s' is %s; evidence lists frame-number fields", f->name,
                                     type_phrase(f->type));
        }
        d->evidence[r->info.num_evidence] = (struct field_use){f, ps->tok.line, ps->tok.col};
        r->evidence[r->info.num_evidence] = f;
        r->info.evidence[r->info.num_evidence++] = f->name;
        if (!next(ps)) {
            return false;
        }
        if (ps->tok.kind != TD_TOK_COMMA) {
            return true;
        }
        if (!next(ps)) {
            return false;
        }
    }
}

static bool parse_references(struct parser *ps, struct td_rule *r)
{
    for (;;) {
        if (r->info.num_references == TD_MAX_REFERENCES && ps->tok.kind == TD_TOK_STRING) {
            return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col, "more than %u references",
                                     TD_MAX_REFERENCES);
        }
        if (!parse_string_copy(ps, true, &r->info.references[r->info.num_references])) {
            return false;
        }
        r->info.num_references++;
        if (ps->tok.kind != TD_TOK_COMMA) {
            return true;
        }
        if (!next(ps)) {
            return false;
        }
    }
}

static bool parse_statement(struct parser *ps, struct draft *d, enum statement st)
{
    static const char *const severities[] = {"info", "warning", "error"};
    static const char *const confidences[] = {"low", "medium", "high"};
    static const char *const points[] = {"alert", "connection", "server"};
    struct td_rule *r = d->rule;
    int v;
    switch (st) {
    case ST_REVISION:
        if (ps->tok.kind != TD_TOK_INT) {
            return fail_at(ps, &ps->tok, "a revision number");
        }
        if (ps->tok.ival < 1 || ps->tok.ival > (int64_t)UINT32_MAX) {
            return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col,
                                     "revision must be between 1 and %u", UINT32_MAX);
        }
        r->info.revision = (uint32_t)ps->tok.ival;
        return next(ps);
    case ST_SEVERITY:
        TD_TRY(parse_word_value(ps, severities, 3, "info, warning or error", &v));
        r->info.severity = (enum td_severity)v;
        return true;
    case ST_CONFIDENCE:
        TD_TRY(parse_word_value(ps, confidences, 3, "low, medium or high", &v));
        r->info.confidence = (enum td_confidence)v;
        return true;
    case ST_EVALUATE:
        TD_TRY(parse_word_value(ps, points, 3, "alert, connection or server", &v));
        r->info.evaluate = (enum td_eval_point)v;
        return true;
    case ST_TITLE:
        return parse_text(ps, d, 0, &r->info.title, &r->title);
    case ST_CONDITION:
        return parse_condition(ps, r);
    case ST_EVIDENCE:
        return parse_evidence(ps, d);
    case ST_EXPLANATION:
        return parse_text(ps, d, 1, &r->info.explanation, &r->explanation);
    case ST_REMEDY:
        return parse_text(ps, d, 2, &r->info.remedy, &r->remedy);
    case ST_REFERENCES:
        return parse_references(ps, r);
    case ST_COUNT:
        break;
    }
    return false;
}

/* ---- scopes: alert rules see everything, connection rules connection and server facts, server rules only
 * server facts (docs/RULES.md "evaluate") ---- */

static bool in_scope(enum td_eval_point point, enum td_field_scope scope)
{
    switch (point) {
    case TD_EVAL_ALERT:
        return true;
    case TD_EVAL_CONNECTION:
        return scope != TD_SCOPE_ALERT;
    case TD_EVAL_SERVER:
        return scope == TD_SCOPE_SERVER;
    }
    return false;
}

static void note_use(enum td_eval_point point, struct field_use use, struct field_use *worst)
{
    if (use.field == NULL || in_scope(point, use.field->scope)) {
        return;
    }
    bool earlier = worst->field == NULL || use.line < worst->line || (use.line == worst->line && use.col < worst->col);
    if (earlier) {
        *worst = use;
    }
}

static bool check_scopes(struct parser *ps, const struct draft *d)
{
    const struct td_rule *r = d->rule;
    enum td_eval_point point = r->info.evaluate;
    struct field_use worst = {0};
    for (uint32_t i = 0; i < r->num_nodes; i++) {
        const struct td_node *n = &r->nodes[i];
        note_use(point, (struct field_use){n->field, n->line, n->col}, &worst);
        note_use(point, (struct field_use){n->rhs_field, n->rhs_line, n->rhs_col}, &worst);
    }
    for (size_t i = 0; i < r->info.num_evidence; i++) {
        note_use(point, d->evidence[i], &worst);
    }
    const struct td_template *texts[3] = {&r->title, &r->explanation, &r->remedy};
    for (int t = 0; t < 3; t++) {
        for (size_t i = 0; i < texts[t]->num_segs; i++) {
            note_use(point, (struct field_use){texts[t]->segs[i].field, d->text_line[t], d->text_col[t]}, &worst);
        }
    }
    if (worst.field == NULL) {
        return true;
    }
    if (worst.field->scope == TD_SCOPE_ALERT) {
        return td_rules_error_at(ps->err, ps->name, worst.line, worst.col,
                                 "field '%s' is an alert field; only 'evaluate alert' rules can use it",
                                 worst.field->name);
    }
    return td_rules_error_at(ps->err, ps->name, worst.line, worst.col,
                             "field '%s' is a connection field; 'evaluate server' rules can use only server.* "
                             "fields",
                             worst.field->name);
}

/* ---- rules ---- */

static bool check_duplicate(struct parser *ps, const struct td_token *id_tok, const char *id)
{
    const struct td_rule_info *prev = td_ruleset_find(ps->existing, id);
    for (size_t i = 0; prev == NULL && i < ps->num_rules; i++) {
        if (strcmp(ps->rules[i]->info.id, id) == 0) {
            prev = &ps->rules[i]->info;
        }
    }
    if (prev == NULL) {
        return true;
    }
    return td_rules_error_at(ps->err, ps->name, id_tok->line, id_tok->col, "duplicate rule id '%s' (first at %s)",
                             id, prev->source);
}

static enum statement find_statement(const struct td_token *tok)
{
    for (int i = 0; i < ST_COUNT; i++) {
        if (tok_is_word(tok, statements[i].word)) {
            return (enum statement)i;
        }
    }
    return ST_COUNT;
}

static bool parse_rule(struct parser *ps)
{
    struct td_token rule_tok = ps->tok;
    size_t total = td_ruleset_count(ps->existing) + ps->num_rules;
    if (ps->num_rules == TD_RULES_MAX_RULES_PER_FILE || total >= TD_RULES_MAX_RULES) {
        return td_rules_error_at(ps->err, ps->name, rule_tok.line, rule_tok.col, "more than %u rules",
                                 ps->num_rules == TD_RULES_MAX_RULES_PER_FILE ? TD_RULES_MAX_RULES_PER_FILE
                                                                                : TD_RULES_MAX_RULES);
    }
    if (!next(ps)) {
        return false;
    }
    if (ps->tok.kind != TD_TOK_IDENT) {
        return fail_at(ps, &ps->tok, "a rule id");
    }
    struct td_token id_tok = ps->tok;
    struct draft d = {.rule = td_arena_alloc(ps->arena, sizeof(struct td_rule))};
    if (d.rule == NULL) {
        return out_of_memory(ps);
    }
    struct td_rule *r = d.rule;
    char source[TD_ERRMSG_LEN];
    if (snprintf(source, sizeof(source), "%s:%u", ps->name, (unsigned)rule_tok.line) < 0) {
        source[0] = '\0';
    }
    r->info.id = td_arena_strndup(ps->arena, id_tok.p, id_tok.len);
    r->info.source = td_arena_strndup(ps->arena, source, strlen(source));
    r->info.confidence = TD_CONFIDENCE_HIGH;
    if (r->info.id == NULL || r->info.source == NULL) {
        return out_of_memory(ps);
    }
    if (!check_duplicate(ps, &id_tok, r->info.id) || !next(ps) || !expect(ps, TD_TOK_LBRACE, "'{'")) {
        return false;
    }
    while (ps->tok.kind != TD_TOK_RBRACE) {
        if (ps->tok.kind != TD_TOK_IDENT) {
            return fail_at(ps, &ps->tok, "a statement or '}'");
        }
        enum statement st = find_statement(&ps->tok);
        if (st == ST_COUNT) {
            char found[96];
            td_token_describe(&ps->tok, found, sizeof(found));
            return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col,
                                     "unknown statement %s (expected revision, severity, confidence, evaluate, "
                                     "title, condition, evidence, explanation, remedy or references)",
                                     found);
        }
        if (d.seen[st]) {
            return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col, "'%s' given twice",
                                     statements[st].word);
        }
        d.seen[st] = true;
        if (!next(ps) || !parse_statement(ps, &d, st) || !expect(ps, TD_TOK_SEMI, "';'")) {
            return false;
        }
    }
    for (int i = 0; i < ST_COUNT; i++) {
        if (statements[i].required && !d.seen[i]) {
            return td_rules_error_at(ps->err, ps->name, ps->tok.line, ps->tok.col, "missing '%s' in rule '%s'",
                                     statements[i].word, r->info.id);
        }
    }
    if (!check_scopes(ps, &d)) {
        return false;
    }
    ps->rules[ps->num_rules++] = r;
    return next(ps);
}

enum td_err td_rules_parse(const struct td_ruleset *existing, const char *name, const char *text, size_t len,
                           struct td_rules_unit *unit, struct td_error *err)
{
    struct parser *ps = calloc(1, sizeof(*ps));
    if (ps == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory while compiling the rules", name);
    }
    ps->name = name;
    ps->err = err;
    ps->status = TD_ERR_FORMAT;
    ps->arena = &unit->arena;
    ps->existing = existing;
    td_lexer_init(&ps->lx, name, text, len, err);
    enum td_err rc = ps->status;
    if (!next(ps)) {
        goto out;
    }
    while (ps->tok.kind != TD_TOK_EOF) {
        if (!tok_is_word(&ps->tok, "rule")) {
            (void)fail_at(ps, &ps->tok, "'rule'");
            goto out;
        }
        if (!parse_rule(ps)) {
            rc = ps->status;
            goto out;
        }
    }
    unit->num_rules = ps->num_rules;
    unit->rules = NULL;
    if (ps->num_rules > 0) {
        unit->rules = td_arena_memdup(&unit->arena, ps->rules, ps->num_rules * sizeof(ps->rules[0]));
        if (unit->rules == NULL) {
            rc = td_error_set(err, TD_ERR_RESOURCE, "%s: out of memory while compiling the rules", name);
            goto out;
        }
    }
    rc = TD_OK;
out:
    free(ps);
    return rc;
}
