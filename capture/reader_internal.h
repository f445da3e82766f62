/* SPDX-License-Identifier: MIT */
/* reader_internal.h: private interface between reader.c (format detection, libpcap, gzip) and our own
 * block readers pcapng.c (pcapng, draft-ietf-opsawg-pcapng) and netmon.c (Microsoft Network Monitor 1.x/2.x).
 * Not installed, not included outside capture/reader*.c, pcapng.c and netmon.c. */
#ifndef TD_CAPTURE_READER_INTERNAL_H
#define TD_CAPTURE_READER_INTERNAL_H

#include "reader.h"

#include <stdio.h>

/* Largest block we accept in pcapng (the spec does not cap it; libpcap and Wireshark refuse far less than
 * this). A larger claim means a corrupt file, never an allocation. */
#define TD_PCAPNG_MAX_BLOCK_LEN (64u * 1024u * 1024u)
/* Largest single packet any of our readers will buffer. */
#define TD_READER_MAX_PACKET_LEN (256u * 1024u * 1024u)

/* A growable byte buffer that the readers reuse for every record (no per-frame malloc). */
struct td_readbuf {
    uint8_t *p;
    size_t cap;
};

/* td_readbuf_fill reads up to n bytes from f into b (replacing its contents), growing b only as bytes
 * actually arrive, so a length claimed by the file is never allocated up front. *got receives the number
 * of bytes read (< n at end of file). Returns TD_OK, TD_ERR_IO (read error: errno-based message left to
 * the caller) or TD_ERR_RESOURCE (out of memory). */
TD_MUST_USE enum td_err td_readbuf_fill(struct td_readbuf *b, FILE *f, size_t n, size_t *got);
void td_readbuf_cleanup(struct td_readbuf *b);

/* Own pcapng reader. Borrows f (the caller closes it) and name (for messages) for its lifetime.
 * td_pcapng_new never fails on content: the first td_pcapng_next reports any problem. */
struct td_pcapng;
TD_MUST_USE enum td_err td_pcapng_new(FILE *f, const char *name, struct td_pcapng **out, struct td_error *err);
/* td_pcapng_next: as td_reader_next; out->frame is left to the caller, out->interface/linktype are set. */
TD_MUST_USE enum td_reader_status td_pcapng_next(struct td_pcapng *p, struct td_frame *out, struct td_error *err);
uint64_t td_pcapng_offset(const struct td_pcapng *p);
void td_pcapng_free(struct td_pcapng *p);

/* Own NetMon reader (1.x and 2.x), reading frames through the frame table. Borrows f and name.
 * td_netmon_new reads and checks the file header: TD_ERR_FORMAT when it is not a NetMon file we support. */
struct td_netmon;
TD_MUST_USE enum td_err td_netmon_new(FILE *f, const char *name, struct td_netmon **out, struct td_error *err);
TD_MUST_USE enum td_reader_status td_netmon_next(struct td_netmon *n, struct td_frame *out, struct td_error *err);
uint64_t td_netmon_offset(const struct td_netmon *n);
/* td_netmon_version_major: 1 or 2 (for td_reader_format_name). */
unsigned td_netmon_version_major(const struct td_netmon *n);
void td_netmon_free(struct td_netmon *n);

#endif
