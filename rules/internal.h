/* SPDX-License-Identifier: MIT */
/* internal.h: the rule engine's private pieces: limits, tokens, the lexer, the compiled form of a rule (an
 * AST of nodes over resolved fields, templates split into segments) and the parser/evaluator entry points.
 * The language is docs/RULES.md. Only the rules/ sources include it. */
#ifndef TD_RULES_INTERNAL_H
#define TD_RULES_INTERNAL_H

#include "../capture/arena.h"
#include "rules.h"

/* Limits: a rule file is data from the user, so every dimension is capped and a file past a cap is rejected
 * with a message, never truncated or overflowed (YARA's limits.h). The values are far above what the built-in
 * rules need (the largest is a few KB with conditions of a dozen nodes). */
#define TD_RULES_MAX_FILE_LEN (1024u * 1024u)  /* bytes of one rule file */
#define TD_RULES_MAX_RULES_PER_FILE 1000u
#define TD_RULES_MAX_RULES 20000u              /* in one rule set, over all files */
#define TD_RULES_MAX_STRING_LEN 4096u          /* one string value after unescaping and joining */
#define TD_RULES_MAX_IDENT_LEN 128u            /* a rule id or field name */
#define TD_RULES_MAX_DEPTH 64u                 /* nested '(' and 'not': bounds the parser's and evaluator's recursion */
#define TD_RULES_MAX_NODES 1024u               /* AST nodes of one condition */
#define TD_RULES_MAX_SET 64u                   /* values in one 'in { }' */
#define TD_RULES_MAX_SEGMENTS 512u             /* literal pieces and {field}s of one template */
#define TD_RULES_ARENA_CAP (64u * 1024u * 1024u) /* compiled form of one file: bounded by MAX_FILE_LEN anyway */
#define TD_RULES_RENDER_LEN 8192u              /* one interpolated text; longer results end in "..." */

/* Tokens. Words of the condition language are their own kinds; statement keywords (rule, severity, ...) and
 * their values (error, alert, ...) are identifiers matched by text where the grammar expects them. */
enum td_tok {
    TD_TOK_EOF,
    TD_TOK_IDENT,  /* [A-Za-z_][A-Za-z0-9_.-]*: rule ids, field names, keywords */
    TD_TOK_INT,    /* decimal or 0x hex, 0 .. INT64_MAX */
    TD_TOK_STRING, /* "...": p/len cover the quotes; escapes are checked by the lexer, decoded by the parser */
    TD_TOK_LBRACE,
    TD_TOK_RBRACE,
    TD_TOK_LPAREN,
    TD_TOK_RPAREN,
    TD_TOK_SEMI,
    TD_TOK_COMMA,
    TD_TOK_EQ, /* == eq */
    TD_TOK_NE, /* != ne */
    TD_TOK_LT, /* <  lt */
    TD_TOK_LE, /* <= le */
    TD_TOK_GT, /* >  gt */
    TD_TOK_GE, /* >= ge */
    TD_TOK_AND, /* && and */
    TD_TOK_OR,  /* || or */
    TD_TOK_NOT, /* !  not */
    TD_TOK_IN,
    TD_TOK_TRUE,
    TD_TOK_FALSE,
};

struct td_token {
    enum td_tok kind;
    uint32_t line, col; /* 1-based; columns count bytes (a tab is one column) */
    const char *p;      /* the token's source text (borrowed from the file's text) */
    size_t len;
    int64_t ival;       /* TD_TOK_INT */
};

struct td_lexer {
    const char *name; /* file name for messages */
    const char *text;
    size_t len, pos;
    uint32_t line, col;
    struct td_error *err;
};

void td_lexer_init(struct td_lexer *lx, const char *name, const char *text, size_t len, struct td_error *err);
/* td_lexer_next reads the next token (TD_TOK_EOF at the end, repeatedly). Returns false with err filled
 * ("name:line:col: ...", TD_ERR_FORMAT) on a lexical error. */
TD_MUST_USE bool td_lexer_next(struct td_lexer *lx, struct td_token *out);
/* td_token_describe writes how a message names tok ("end of file", "'{'", "identifier 'x'", "integer 12"). */
void td_token_describe(const struct td_token *tok, char *buf, size_t buf_len);
/* td_rules_error_at fills err with "name:line:col: <message>" (TD_ERR_FORMAT) and returns false. */
bool td_rules_error_at(struct td_error *err, const char *name, uint32_t line, uint32_t col, const char *fmt, ...)
    TD_PRINTF(5, 6);

/* The compiled condition: an array of nodes, children linked through `next` (so and/or chains are n-ary and
 * the tree's depth is bounded by TD_RULES_MAX_DEPTH, not by the length of a chain). */
#define TD_NODE_NONE UINT32_MAX

enum td_node_kind {
    TD_NODE_AND,     /* every child (first, linked by next) */
    TD_NODE_OR,      /* any child */
    TD_NODE_NOT,     /* child `first` */
    TD_NODE_PRESENT, /* field present (a boolean: present and true) */
    TD_NODE_CMP,     /* field op literal, or field op rhs_field */
    TD_NODE_IN,      /* field equals one of values[first .. first + num) */
};

enum td_cmp {
    TD_CMP_EQ,
    TD_CMP_NE,
    TD_CMP_LT,
    TD_CMP_LE,
    TD_CMP_GT,
    TD_CMP_GE,
};

struct td_node {
    enum td_node_kind kind;
    enum td_cmp op;
    uint32_t first, num; /* children (AND/OR/NOT) or values (IN) */
    uint32_t next;       /* next sibling in the parent's list, TD_NODE_NONE at the end */
    const struct td_field *field;
    uint32_t line, col;  /* of field (scope messages) */
    const struct td_field *rhs_field; /* CMP against another field, else NULL */
    uint32_t rhs_line, rhs_col;
    struct td_value lit; /* CMP against a literal; lit.s is owned by the rule set */
};

/* A template: literal pieces (with {{ }} already reduced) and fields, in order. */
struct td_text_piece {
    const char *text; /* literal bytes, or NULL for a field */
    size_t len;
    const struct td_field *field;
};

struct td_template {
    const struct td_text_piece *segs;
    size_t num_segs;
};

/* One compiled rule. Everything it points to lives in the arena of the file it came from. */
struct td_rule {
    struct td_rule_info info;
    const struct td_node *nodes;
    uint32_t num_nodes;
    uint32_t root;
    const struct td_value *values; /* of the IN nodes */
    const struct td_field *evidence[TD_MAX_EVIDENCE];
    struct td_template title, explanation, remedy;
};

/* The rules of one file compiled by td_rules_parse: the arena holds all of them. */
struct td_rules_unit {
    struct td_arena arena;
    struct td_rule **rules; /* from the arena */
    size_t num_rules;
    struct td_rules_unit *next;
};

/* td_rules_parse compiles one file's text into unit (whose arena the caller has initialised). existing is
 * consulted for duplicate ids. Returns TD_OK, or TD_ERR_FORMAT / TD_ERR_RESOURCE with err filled; on failure
 * the caller discards the arena. */
TD_MUST_USE enum td_err td_rules_parse(const struct td_ruleset *existing, const char *name, const char *text,
                                       size_t len, struct td_rules_unit *unit, struct td_error *err);

/* td_rule_match evaluates rule's condition over ctx. */
bool td_rule_match(const struct td_rule *rule, const struct td_fact_ctx *ctx);
/* td_template_render writes t interpolated over ctx into buf (always NUL-terminated; a result longer than
 * buf_len - 1 ends in "..."). */
void td_template_render(const struct td_template *t, const struct td_fact_ctx *ctx, char *buf, size_t buf_len);
/* td_rule_evidence fills out with the frames of rule's evidence fields present in ctx, ascending, distinct;
 * returns how many. */
size_t td_rule_evidence(const struct td_rule *rule, const struct td_fact_ctx *ctx, uint64_t out[TD_MAX_EVIDENCE]);

#endif
