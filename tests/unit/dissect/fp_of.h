/* SPDX-License-Identifier: MIT */
/* fp_of.h: a hello's JA3/JA4 (dissect/fingerprint.h) for assertions; the result lives until the next call. */
#ifndef TD_TESTS_FP_OF_H
#define TD_TESTS_FP_OF_H

#include "../../../dissect/fingerprint.h"

static struct td_fingerprints fp_buf;

static inline const struct td_fingerprints *fp_of(const struct td_client_hello *ch)
{
    td_fingerprint_client_hello(ch, &fp_buf);
    return &fp_buf;
}

#endif
