/* SPDX-License-Identifier: MIT */
/* eval.c: the interpreter for compiled rules (docs/RULES.md "Conditions"): conditions over the facts of one
 * evaluation, text templates and evidence frames. It reads facts only through the field registry's accessors
 * (dissect/fields.h) and allocates nothing. A comparison with an absent field is false, as in Wireshark. */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool get_value(const struct td_field *field, const struct td_fact_ctx *ctx, struct td_value *out)
{
    if (field->get == NULL || !field->get(ctx, out)) {
        return false;
    }
    return field->type != TD_FIELD_STRING || out->s != NULL;
}

static bool compare_ints(enum td_cmp op, int64_t a, int64_t b)
{
    switch (op) {
    case TD_CMP_EQ:
        return a == b;
    case TD_CMP_NE:
        return a != b;
    case TD_CMP_LT:
        return a < b;
    case TD_CMP_LE:
        return a <= b;
    case TD_CMP_GT:
        return a > b;
    case TD_CMP_GE:
        return a >= b;
    }
    return false;
}

/* compare: the parser allows only == and != for strings and booleans. */
static bool compare(enum td_cmp op, const struct td_value *a, const struct td_value *b)
{
    if (a->type == TD_FIELD_STRING) {
        bool equal = strcmp(a->s, b->s) == 0;
        return op == TD_CMP_EQ ? equal : (op == TD_CMP_NE && !equal);
    }
    if (a->type == TD_FIELD_BOOL) {
        return compare_ints(op, a->i != 0, b->i != 0);
    }
    return compare_ints(op, a->i, b->i);
}

/* eval_node recurses only through NOT and nested lists, whose depth the parser bounds (TD_RULES_MAX_DEPTH). */
static bool eval_node(const struct td_rule *rule, uint32_t idx, const struct td_fact_ctx *ctx)
{
    const struct td_node *n = &rule->nodes[idx];
    struct td_value v, rhs;
    switch (n->kind) {
    case TD_NODE_AND:
        for (uint32_t c = n->first; c != TD_NODE_NONE; c = rule->nodes[c].next) {
            if (!eval_node(rule, c, ctx)) {
                return false;
            }
        }
        return true;
    case TD_NODE_OR:
        for (uint32_t c = n->first; c != TD_NODE_NONE; c = rule->nodes[c].next) {
            if (eval_node(rule, c, ctx)) {
                return true;
            }
        }
        return false;
    case TD_NODE_NOT:
        return !eval_node(rule, n->first, ctx);
    case TD_NODE_PRESENT:
        if (!get_value(n->field, ctx, &v)) {
            return false;
        }
        return n->field->type != TD_FIELD_BOOL || v.i != 0;
    case TD_NODE_CMP:
        if (!get_value(n->field, ctx, &v)) {
            return false;
        }
        if (n->rhs_field == NULL) {
            return compare(n->op, &v, &n->lit);
        }
        if (!get_value(n->rhs_field, ctx, &rhs)) {
            return false;
        }
        return compare(n->op, &v, &rhs);
    case TD_NODE_IN:
        if (!get_value(n->field, ctx, &v)) {
            return false;
        }
        for (uint32_t i = 0; i < n->num; i++) {
            if (compare(TD_CMP_EQ, &v, &rule->values[n->first + i])) {
                return true;
            }
        }
        return false;
    }
    return false;
}

bool td_rule_match(const struct td_rule *rule, const struct td_fact_ctx *ctx)
{
    if (ctx == NULL || rule->num_nodes == 0) {
        return false;
    }
    return eval_node(rule, rule->root, ctx);
}

/* A bounded string builder: appends what fits, remembers that something did not. */
struct out {
    char *buf;
    size_t cap, len;
    bool truncated;
};

static void append(struct out *o, const char *s, size_t n)
{
    size_t room = o->cap - 1 - o->len;
    if (n > room) {
        n = room;
        o->truncated = true;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void append_value(struct out *o, const struct td_field *field, const struct td_fact_ctx *ctx)
{
    struct td_value v;
    if (!get_value(field, ctx, &v)) {
        append(o, "unknown", 7);
        return;
    }
    char num[24];
    int n;
    switch (field->type) {
    case TD_FIELD_STRING:
        append(o, v.s, strlen(v.s));
        return;
    case TD_FIELD_BOOL:
        append(o, v.i != 0 ? "yes" : "no", v.i != 0 ? 3 : 2);
        return;
    case TD_FIELD_INT:
    case TD_FIELD_FRAME:
        n = snprintf(num, sizeof(num), "%" PRId64, v.i);
        if (n > 0) {
            append(o, num, (size_t)n);
        }
        return;
    }
}

void td_template_render(const struct td_template *t, const struct td_fact_ctx *ctx, char *buf, size_t buf_len)
{
    if (buf_len == 0) {
        return;
    }
    struct out o = {.buf = buf, .cap = buf_len};
    for (size_t i = 0; i < t->num_segs; i++) {
        const struct td_text_piece *s = &t->segs[i];
        if (s->field == NULL) {
            append(&o, s->text, s->len);
        } else if (ctx != NULL) {
            append_value(&o, s->field, ctx);
        } else {
            append(&o, "unknown", 7);
        }
    }
    buf[o.len] = '\0';
    if (o.truncated && buf_len > 4) {
        // Never cut a UTF-8 sequence (rule texts may hold "§"): a lone lead byte makes the report's JSON
        // string invalid. Back up to the start of the character that "..." would split.
        size_t at = buf_len - 4;
        while (at > 0 && ((unsigned char)buf[at] & 0xc0u) == 0x80u) {
            at--;
        }
        memcpy(buf + at, "...", 4);
    }
}

size_t td_rule_evidence(const struct td_rule *rule, const struct td_fact_ctx *ctx, uint64_t out[TD_MAX_EVIDENCE])
{
    size_t num = 0;
    for (size_t i = 0; i < rule->info.num_evidence && ctx != NULL; i++) {
        struct td_value v;
        if (!get_value(rule->evidence[i], ctx, &v) || v.i < 1) {
            continue;
        }
        uint64_t frame = (uint64_t)v.i;
        // Insertion into the sorted prefix; an equal frame is cited once.
        size_t at = 0;
        while (at < num && out[at] < frame) {
            at++;
        }
        if (at < num && out[at] == frame) {
            continue;
        }
        memmove(out + at + 1, out + at, (num - at) * sizeof(out[0]));
        out[at] = frame;
        num++;
    }
    return num;
}
