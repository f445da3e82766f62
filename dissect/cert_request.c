/* SPDX-License-Identifier: MIT */
/* cert_request.c: CertificateRequest (stub being written). */
#include "internal.h"

enum td_anomaly td_parse_certificate_request(struct td_arena *arena, struct td_cursor body, uint16_t version,
                                             bool tls13, struct td_cert_request *out)
{
    (void)arena;
    (void)version;
    out->tls13 = tls13;
    out->msg_len = (uint32_t)td_cursor_len(&body);
    return TD_ANOM_NONE;
}
