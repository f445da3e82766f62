/* SPDX-License-Identifier: MIT */
/* builtin.h: the rule files embedded at build time by embed.cmake (rules/CMakeLists.txt). */
#ifndef TD_RULES_BUILTIN_H
#define TD_RULES_BUILTIN_H

#include <stddef.h>

struct td_builtin_rule_file {
    const char *name; /* "alerts.rules" */
    const char *text; /* len bytes, NUL-terminated */
    size_t len;
};

extern const struct td_builtin_rule_file td_builtin_rule_files[];
extern const size_t td_num_builtin_rule_files;

#endif
