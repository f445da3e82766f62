/* SPDX-License-Identifier: MIT */
/* exit_codes.h: tlsdiag's exit codes, one table (documented in README.md and --help). */
#ifndef TD_CLI_EXIT_CODES_H
#define TD_CLI_EXIT_CODES_H

enum td_exit_code {
    TD_EXIT_ANALYSED = 0,      /* every input was read to its end and the report written */
    TD_EXIT_USAGE = 2,         /* bad command line */
    TD_EXIT_NO_INPUT = 3,      /* no input could be read (missing, unreadable, not a capture) */
    TD_EXIT_PARTIAL_INPUT = 4, /* some input was unreadable or broke mid-way; the report covers what was read */
    TD_EXIT_OUTPUT = 5,        /* the report could not be written */
    TD_EXIT_INTERNAL = 6,      /* out of memory or an internal error */
    TD_EXIT_RULES = 7,         /* a rule file has an error (file:line:column on stderr) or cannot be read */
};

#endif
