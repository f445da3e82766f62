/* SPDX-License-Identifier: MIT */
/* cert.h: X.509 certificate facts through libcrypto (the only libcrypto includer besides digest.c).
 * Parses a DER certificate once per thread and copies out what the report needs into the connection
 * arena; later sightings of the same certificate are copied from a per-thread cache. */
#ifndef TD_DISSECT_CERT_H
#define TD_DISSECT_CERT_H

#include "../capture/arena.h"
#include "../capture/cursor.h"
#include "facts.h"

/* td_cert_parse fills *out from the DER bytes viewed by der (consumed whole). Strings are allocated in
 * arena. Returns true on success; false when the DER does not parse (out->parse_error set, sha256 and
 * der_len still filled) or the arena is full (fields may be partly empty).
 * Certificates are cached per thread, keyed on the SHA-256 of the DER and its length (the key is trusted
 * as the certificate's identity: the DER is not kept or compared). A hit gives the same *out, the same
 * arena allocations and the same return value as a fresh parse, so the cache never changes a result. */
TD_MUST_USE bool td_cert_parse(struct td_arena *arena, struct td_cursor der, struct td_cert *out);

/* The calling thread's cache counters. */
struct td_cert_cache_stats {
    uint64_t hits;
    uint64_t misses;     /* parses (each then inserted, unless it does not fit the limits) */
    uint64_t evictions;  /* entries dropped, least recently used first, to respect the limits */
    uint32_t entries;
    size_t mem_len;      /* accounted bytes of the cached entries */
};

/* td_cert_cache_get_stats copies the calling thread's counters (all zero before its first parse). */
void td_cert_cache_get_stats(struct td_cert_cache_stats *out);

/* td_cert_cache_set_limits bounds the calling thread's cache (defaults: 1024 entries, 16 MiB) and evicts
 * down to the new bounds at once; max_entries 0 turns caching off for the thread. */
void td_cert_cache_set_limits(uint32_t max_entries, size_t max_mem_len);

/* td_cert_cache_free_thread frees the calling thread's cache (idempotent; a later parse starts a new one
 * with the default limits). Worker threads need not call it: their cache is freed when they exit
 * (pthread key destructor). The main thread should call it, with td_digest_free_thread, before exit. */
void td_cert_cache_free_thread(void);

#endif
