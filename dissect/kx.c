/* SPDX-License-Identifier: MIT */
/* kx.c: ServerKeyExchange and ClientKeyExchange (stub being written). */
#include "internal.h"
/* names.h line 2 nests a comment opener in its comment (-Wcomment); the header is not ours to edit. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "names.h"
#pragma GCC diagnostic pop

enum td_kx_kind td_kx_from_cipher(uint16_t cipher)
{
    (void)cipher;
    return TD_KX_UNKNOWN;
}

enum td_anomaly td_parse_server_key_exchange(struct td_cursor body, enum td_kx_kind kind, uint16_t version,
                                             struct td_kx_facts *out)
{
    (void)body;
    (void)kind;
    (void)version;
    out->has_ske = true;
    return TD_ANOM_NONE;
}

enum td_anomaly td_parse_client_key_exchange(struct td_cursor body, enum td_kx_kind kind, uint16_t version,
                                             struct td_kx_facts *out)
{
    (void)body;
    (void)kind;
    (void)version;
    out->has_cke = true;
    return TD_ANOM_NONE;
}
