/* SPDX-License-Identifier: MIT */
/* certificate.c: Certificate message (stub being written). */
#include "internal.h"

enum td_anomaly td_parse_certificate(struct td_arena *arena, struct td_cursor body, bool tls13,
                                     struct td_cert_chain *out)
{
    (void)arena;
    (void)body;
    (void)tls13;
    (void)out;
    return TD_ANOM_NONE;
}
