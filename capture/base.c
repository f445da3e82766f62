/* SPDX-License-Identifier: MIT */
/* base.c: filling operational error messages. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>

enum td_err td_error_set(struct td_error *err, enum td_err code, const char *fmt, ...)
{
    if (err == NULL) {
        return code;
    }
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        err->msg[0] = '\0';
    }
    return code;
}
