/* SPDX-License-Identifier: MIT */
/* limits.h: every resource cap in one place (YARA's limits.h). Each has a default with its reason,
 * a CLI override (cli/) and a counter in the report when it is hit. */
#ifndef TD_CAPTURE_LIMITS_H
#define TD_CAPTURE_LIMITS_H

#include "base.h"

/* Flows tracked at once. A tracked flow costs about 3.3 KB even when it carries nothing (flow entry,
 * dissector state, its arena's first block, nDPI's flow while classifying): measured 46 MB peak RSS at
 * 10000 and 338 MB at 100000 under a SYN flood (docs/SECURITY.md). 50000 keeps that worst case near
 * 180 MB, under the 200 MB target, and is far more than a diagnostic capture holds open at once.
 * The least recently active flow is evicted first. */
#define TD_DEFAULT_MAX_FLOWS 50000u
/* Out-of-order bytes buffered per direction while waiting for a hole to fill. Two full-size
 * TLS records (2 x 16 KB + headers) plus slack for a burst of segments. */
#define TD_DEFAULT_MAX_REASM_BYTES (256u * 1024u)
/* Largest handshake message kept whole. Must stay well above 16384 so that a CertificateRequest
 * CA list past Schannel's 16 KB limit (KB 2801679) is measured; also fits the 340 KB Certificate
 * of zeek's fragmented-handshake capture. Larger claims are recorded, never allocated. */
#define TD_DEFAULT_MAX_HS_MSG_BYTES (1024u * 1024u)
/* Timeline entries kept per connection; later events are counted, not stored. */
#define TD_DEFAULT_MAX_TIMELINE 256u
/* Bytes of dissected facts kept per connection (certificate names, lists, timeline). */
#define TD_DEFAULT_MAX_CONN_ARENA_BYTES (512u * 1024u)
/* Records parsed from one delivered chunk before yielding (Suricata's loop bound). */
#define TD_DEFAULT_MAX_RECORDS_PER_CHUNK 4096u
/* A flow with no packet for this long (capture time) is finished and reported. */
#define TD_DEFAULT_IDLE_TIMEOUT_NS (300ull * 1000000000ull)

struct td_limits {
    uint32_t max_flows;
    uint32_t max_reasm_bytes;
    uint32_t max_hs_msg_bytes;
    uint32_t max_timeline;
    uint32_t max_conn_arena_bytes;
    uint32_t max_records_per_chunk;
    uint64_t idle_timeout_ns;
};

static inline struct td_limits td_limits_default(void)
{
    struct td_limits l = {
        .max_flows = TD_DEFAULT_MAX_FLOWS,
        .max_reasm_bytes = TD_DEFAULT_MAX_REASM_BYTES,
        .max_hs_msg_bytes = TD_DEFAULT_MAX_HS_MSG_BYTES,
        .max_timeline = TD_DEFAULT_MAX_TIMELINE,
        .max_conn_arena_bytes = TD_DEFAULT_MAX_CONN_ARENA_BYTES,
        .max_records_per_chunk = TD_DEFAULT_MAX_RECORDS_PER_CHUNK,
        .idle_timeout_ns = TD_DEFAULT_IDLE_TIMEOUT_NS,
    };
    return l;
}

#endif
