/* SPDX-License-Identifier: MIT */
/* lexer.c: splits a rule file into tokens with line:column positions (docs/RULES.md "A rule", "Conditions"):
 * '#' comments, identifiers with dots and dashes, decimal and 0x integers with an overflow check, strings with
 * \" \\ \n escapes, the operators of Wireshark's display filters and their word forms. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool td_rules_error_at(struct td_error *err, const char *name, uint32_t line, uint32_t col, const char *fmt, ...)
{
    char msg[TD_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        msg[0] = '\0';
    }
    (void)td_error_set(err, TD_ERR_FORMAT, "%s:%u:%u: %s", name, (unsigned)line, (unsigned)col, msg);
    return false;
}

void td_lexer_init(struct td_lexer *lx, const char *name, const char *text, size_t len, struct td_error *err)
{
    lx->name = name;
    lx->text = text;
    lx->len = len;
    lx->pos = 0;
    // A UTF-8 byte order mark (Windows editors write one) is not part of the text: skip it, so such a file
    // loads like any other and columns on line 1 count from after it.
    if (text != NULL && len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        lx->pos = 3;
    }
    lx->line = 1;
    lx->col = 1;
    lx->err = err;
}

static int peek_at(const struct td_lexer *lx, size_t ahead)
{
    if (ahead >= lx->len - lx->pos) {
        return -1;
    }
    return (unsigned char)lx->text[lx->pos + ahead];
}

static void advance(struct td_lexer *lx)
{
    if (lx->text[lx->pos] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->pos++;
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_char(int c)
{
    return is_alpha(c) || is_digit(c) || c == '.' || c == '-';
}

static int hex_value(int c)
{
    if (is_digit(c)) {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void skip_space_and_comments(struct td_lexer *lx)
{
    for (;;) {
        int c = peek_at(lx, 0);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            advance(lx);
            continue;
        }
        if (c != '#') {
            return;
        }
        while (peek_at(lx, 0) >= 0 && peek_at(lx, 0) != '\n') {
            advance(lx);
        }
    }
}

/* The words of the condition language (display-filter operators and literals). */
static const struct {
    const char *word;
    enum td_tok kind;
} words[] = {
    {"and", TD_TOK_AND}, {"or", TD_TOK_OR}, {"not", TD_TOK_NOT}, {"eq", TD_TOK_EQ},     {"ne", TD_TOK_NE},
    {"lt", TD_TOK_LT},   {"le", TD_TOK_LE}, {"gt", TD_TOK_GT},   {"ge", TD_TOK_GE},     {"in", TD_TOK_IN},
    {"true", TD_TOK_TRUE}, {"false", TD_TOK_FALSE},
};

static bool lex_ident(struct td_lexer *lx, struct td_token *tok)
{
    while (is_ident_char(peek_at(lx, 0))) {
        advance(lx);
    }
    tok->len = lx->pos - (size_t)(tok->p - lx->text);
    if (tok->len > TD_RULES_MAX_IDENT_LEN) {
        return td_rules_error_at(lx->err, lx->name, tok->line, tok->col, "identifier longer than %u characters",
                                 TD_RULES_MAX_IDENT_LEN);
    }
    tok->kind = TD_TOK_IDENT;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strlen(words[i].word) == tok->len && memcmp(words[i].word, tok->p, tok->len) == 0) {
            tok->kind = words[i].kind;
        }
    }
    return true;
}

static bool lex_int(struct td_lexer *lx, struct td_token *tok)
{
    uint64_t base = 10;
    if (peek_at(lx, 0) == '0' && (peek_at(lx, 1) == 'x' || peek_at(lx, 1) == 'X')) {
        base = 16;
        advance(lx);
        advance(lx);
    }
    uint64_t v = 0;
    size_t digits = 0;
    bool overflow = false;
    for (;;) {
        int c = peek_at(lx, 0);
        int d = base == 16 ? hex_value(c) : (is_digit(c) ? c - '0' : -1);
        if (d < 0) {
            break;
        }
        if (v > ((uint64_t)INT64_MAX - (uint64_t)d) / base) {
            overflow = true;
        } else {
            v = v * base + (uint64_t)d;
        }
        digits++;
        advance(lx);
    }
    while (is_ident_char(peek_at(lx, 0))) { // "12ab", "0x": report the whole word
        advance(lx);
        digits = 0;
    }
    tok->len = lx->pos - (size_t)(tok->p - lx->text);
    int shown = tok->len > 40 ? 40 : (int)tok->len;
    if (digits == 0) {
        return td_rules_error_at(lx->err, lx->name, tok->line, tok->col, "invalid number '%.*s'", shown, tok->p);
    }
    if (overflow) {
        return td_rules_error_at(lx->err, lx->name, tok->line, tok->col,
                                 "integer '%.*s' is out of range (the largest is %lld)", shown, tok->p,
                                 (long long)INT64_MAX);
    }
    tok->kind = TD_TOK_INT;
    tok->ival = (int64_t)v;
    return true;
}

/* Strings stay on one line; escapes are \" \\ and \n. Bytes >= 0x80 (UTF-8, "§") pass through; other control
 * bytes are refused so a report never carries them. */
static bool lex_string(struct td_lexer *lx, struct td_token *tok)
{
    advance(lx); // opening quote
    for (;;) {
        int c = peek_at(lx, 0);
        if (c < 0 || c == '\n') {
            return td_rules_error_at(lx->err, lx->name, tok->line, tok->col,
                                     "unterminated string (strings end on the line they start; join lines with "
                                     "adjacent strings)");
        }
        if (c == '"') {
            advance(lx);
            break;
        }
        if (c == '\\') {
            uint32_t line = lx->line, col = lx->col;
            int e = peek_at(lx, 1);
            if (e != '"' && e != '\\' && e != 'n') {
                if (e > 0x20 && e < 0x7f) {
                    return td_rules_error_at(lx->err, lx->name, line, col,
                                             "unknown escape '\\%c' (use \\\", \\\\ or \\n)", e);
                }
                return td_rules_error_at(lx->err, lx->name, line, col, "unknown escape (use \\\", \\\\ or \\n)");
            }
            advance(lx);
            advance(lx);
            continue;
        }
        if (c < 0x20 && c != '\t') {
            return td_rules_error_at(lx->err, lx->name, lx->line, lx->col, "control byte 0x%02x in a string", c);
        }
        advance(lx);
    }
    tok->len = lx->pos - (size_t)(tok->p - lx->text);
    tok->kind = TD_TOK_STRING;
    return true;
}

/* Operators: a two-byte form is tried before its one-byte prefix. */
static const struct {
    const char *text;
    enum td_tok kind;
} operators[] = {
    {"==", TD_TOK_EQ}, {"!=", TD_TOK_NE}, {"<=", TD_TOK_LE},  {">=", TD_TOK_GE},  {"&&", TD_TOK_AND},
    {"||", TD_TOK_OR}, {"<", TD_TOK_LT},  {">", TD_TOK_GT},   {"!", TD_TOK_NOT},  {"{", TD_TOK_LBRACE},
    {"}", TD_TOK_RBRACE}, {"(", TD_TOK_LPAREN}, {")", TD_TOK_RPAREN}, {";", TD_TOK_SEMI}, {",", TD_TOK_COMMA},
};

static bool lex_operator(struct td_lexer *lx, struct td_token *tok)
{
    for (size_t i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
        size_t n = strlen(operators[i].text);
        bool match = true;
        for (size_t k = 0; k < n; k++) {
            match = match && peek_at(lx, k) == (unsigned char)operators[i].text[k];
        }
        if (match) {
            for (size_t k = 0; k < n; k++) {
                advance(lx);
            }
            tok->kind = operators[i].kind;
            tok->len = n;
            return true;
        }
    }
    int c = peek_at(lx, 0);
    if (c == '=') {
        return td_rules_error_at(lx->err, lx->name, tok->line, tok->col, "expected '==', found '='");
    }
    if (c == '&' || c == '|') {
        return td_rules_error_at(lx->err, lx->name, tok->line, tok->col, "expected '%c%c', found '%c'", c, c, c);
    }
    if (c > 0x20 && c < 0x7f) {
        return td_rules_error_at(lx->err, lx->name, tok->line, tok->col, "unexpected character '%c'", c);
    }
    return td_rules_error_at(lx->err, lx->name, tok->line, tok->col, "unexpected byte 0x%02x", c);
}

bool td_lexer_next(struct td_lexer *lx, struct td_token *out)
{
    skip_space_and_comments(lx);
    struct td_token tok = {.line = lx->line, .col = lx->col, .p = lx->text + lx->pos};
    int c = peek_at(lx, 0);
    bool ok = true;
    if (c < 0) {
        tok.kind = TD_TOK_EOF;
    } else if (is_alpha(c)) {
        ok = lex_ident(lx, &tok);
    } else if (is_digit(c)) {
        ok = lex_int(lx, &tok);
    } else if (c == '"') {
        ok = lex_string(lx, &tok);
    } else {
        ok = lex_operator(lx, &tok);
    }
    *out = tok;
    return ok;
}

void td_token_describe(const struct td_token *tok, char *buf, size_t buf_len)
{
    int shown = tok->len > 40 ? 40 : (int)tok->len;
    const char *more = tok->len > 40 ? "..." : "";
    switch (tok->kind) {
    case TD_TOK_EOF:
        (void)snprintf(buf, buf_len, "end of file");
        return;
    case TD_TOK_IDENT:
        (void)snprintf(buf, buf_len, "'%.*s%s'", shown, tok->p, more);
        return;
    case TD_TOK_INT:
        (void)snprintf(buf, buf_len, "integer %.*s%s", shown, tok->p, more);
        return;
    case TD_TOK_STRING:
        (void)snprintf(buf, buf_len, "string %.*s%s", shown, tok->p, more);
        return;
    default:
        (void)snprintf(buf, buf_len, "'%.*s'", shown, tok->p);
        return;
    }
}
