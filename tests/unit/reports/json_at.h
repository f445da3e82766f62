/* SPDX-License-Identifier: MIT */
/* json_at.h: dotted-path lookups into a jansson document for the reports/ unit tests ("a.b.0.c" walks objects
 * by key and arrays by index; "@timestamp" has no dot). Shared by test_report.c and test_events.c. */
#ifndef TD_TESTS_JSON_AT_H
#define TD_TESTS_JSON_AT_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline json_t *at(json_t *root, const char *dotted)
{
    char buf[256];
    (void)snprintf(buf, sizeof(buf), "%s", dotted);
    json_t *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok != NULL && cur != NULL; tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur)) {
            cur = json_array_get(cur, strtoul(tok, NULL, 10));
        } else {
            cur = json_object_get(cur, tok);
        }
    }
    return cur;
}

/* s_at / i_at: the string or integer there, or "(missing)" / -999 so an assertion names what was absent. */
static inline const char *s_at(json_t *root, const char *dotted)
{
    const char *s = json_string_value(at(root, dotted));
    return s != NULL ? s : "(missing)";
}

static inline long long i_at(json_t *root, const char *dotted)
{
    json_t *v = at(root, dotted);
    return json_is_integer(v) ? json_integer_value(v) : -999;
}

#endif
