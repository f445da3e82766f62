/* SPDX-License-Identifier: MIT */
/* hello.c: ClientHello and ServerHello parsing (stub; being written). */
#include "internal.h"

enum td_anomaly td_parse_client_hello(struct td_arena *arena, struct td_cursor body, uint16_t record_version,
                                      struct td_client_hello *out)
{
    (void)arena;
    (void)body;
    out->record_version = record_version;
    return TD_ANOM_NONE;
}

enum td_anomaly td_parse_sslv2_client_hello(struct td_arena *arena, struct td_cursor body,
                                            struct td_client_hello *out)
{
    (void)arena;
    (void)body;
    out->sslv2_format = true;
    return TD_ANOM_NONE;
}

enum td_anomaly td_parse_server_hello(struct td_arena *arena, struct td_cursor body, uint16_t record_version,
                                      struct td_server_hello *out)
{
    (void)arena;
    (void)body;
    out->record_version = record_version;
    return TD_ANOM_NONE;
}
