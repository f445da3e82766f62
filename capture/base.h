/* SPDX-License-Identifier: MIT */
/* base.h: the leaf header every module uses: result annotations, the two control-flow macros,
 * and operational errors (enum td_err + a message buffer filled by the callee, as libpcap's errbuf). */
#ifndef TD_CAPTURE_BASE_H
#define TD_CAPTURE_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TD_MUST_USE __attribute__((warn_unused_result))
#define TD_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* TD_TRY(call): return false from a bool function when call fails. */
#define TD_TRY(call)                                                                               \
    do {                                                                                           \
        if (!(call)) {                                                                             \
            return false;                                                                          \
        }                                                                                          \
    } while (0)
/* TD_ENSURE(cond, ret): return ret when cond does not hold. */
#define TD_ENSURE(cond, ret)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            return (ret);                                                                          \
        }                                                                                          \
    } while (0)

/* Operational errors: go up to cli/, which alone prints them and picks the exit code. */
enum td_err {
    TD_OK = 0,
    TD_ERR_IO,        /* cannot open/read a file */
    TD_ERR_FORMAT,    /* not a capture, unsupported format or link type */
    TD_ERR_TRUNCATED, /* capture ends or breaks mid-way: what was read is still analysed */
    TD_ERR_USAGE,     /* bad options */
    TD_ERR_RESOURCE,  /* out of memory */
    TD_ERR_INTERNAL,
};

#define TD_ERRMSG_LEN 512
struct td_error {
    enum td_err code;
    char msg[TD_ERRMSG_LEN]; /* "what failed, where, what to do"; no trailing newline */
};

/* td_error_set fills err (if non-NULL) and returns code, so callers can `return td_error_set(...)`. */
enum td_err td_error_set(struct td_error *err, enum td_err code, const char *fmt, ...) TD_PRINTF(3, 4);

#endif
