/* SPDX-License-Identifier: MIT */
/* rules_cmd.h: loading the rule set for a run, and the `tlsdiag rules` subcommand (list, explain, fields). */
#ifndef TD_CLI_RULES_CMD_H
#define TD_CLI_RULES_CMD_H

#include <stdio.h>

#include "../rules/rules.h"

/* td_cli_load_rules builds the rule set: the built-in rules plus every *.rules file of user_dir (may be NULL).
 * On failure prints the error (file:line:col) to errs and returns NULL. */
struct td_ruleset *td_cli_load_rules(const char *user_dir, FILE *errs);

/* td_cli_rules_main runs `tlsdiag rules [--rules DIR] [list | explain ID | fields]` (argv starts after "rules").
 * Returns the process exit status. */
int td_cli_rules_main(int argc, char **argv);

#endif
