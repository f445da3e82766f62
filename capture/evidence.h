/* SPDX-License-Identifier: MIT */
/* evidence.h: `--evidence DIR` (issue #6): keeps a copy of the frames of every TCP 5-tuple and, when a
 * connection ends in a failure, writes exactly its frames to a small pcap (nanosecond timestamps, the
 * original link type) so that an engineer opens the failing handshake alone in Wireshark.
 * Specifications: pcap-savefile(5), pcap-linktype(7).
 *
 * Call order (the driver's loop, per input):
 *   for each frame decoded as TCP or UDP: td_evidence_packet(ev, frame, seg, transport); (BEFORE the flow table)
 *                                   td_flow_table_add(table, seg, ...);   (its on_close calls td_evidence_close)
 *                                   td_evidence_expire(ev, frame->ts_ns); (AFTER td_flow_table_add)
 *   at the end of the input:        td_flow_table_flush(table);           (closes the rest: td_evidence_close)
 *                                   td_evidence_clear(ev);                (frame numbers restart in the next input)
 *
 * Memory: one allocation per stored frame (header + caplen bytes, the only copy of packet data made) and
 * one per 5-tuple entry; bounded by max_packets_per_flow / max_bytes_per_flow per entry, max_total_bytes
 * overall and max_entries entries (the least recently touched entry is evicted). Every refusal is counted
 * in struct td_evidence_stats. Time is packet time, never the wall clock. */
#ifndef TD_CAPTURE_EVIDENCE_H
#define TD_CAPTURE_EVIDENCE_H

#include "flow.h"
#include "reader.h"

/* Frames kept per connection. A failed handshake (SYN..alert..FIN) is 10-30 frames; 64 leaves room for
 * a large certificate chain in small segments and retransmissions. Later frames are counted, not kept. */
#define TD_EVIDENCE_DEFAULT_MAX_PACKETS_PER_FLOW 64u
/* Captured bytes kept per connection: the same budget as one direction's reassembly buffer
 * (TD_DEFAULT_MAX_REASM_BYTES), enough for a 64 KB certificate chain several times over. */
#define TD_EVIDENCE_DEFAULT_MAX_BYTES_PER_FLOW (256u * 1024u)
/* Captured bytes held for all connections together: 256 entries at the per-connection cap. */
#define TD_EVIDENCE_DEFAULT_MAX_TOTAL_BYTES (64ull * 1024ull * 1024ull)
/* Entries (5-tuples) tracked: the flow table's default, so every tracked flow can have its entry. An entry
 * without its frames costs about 130 bytes. */
#define TD_EVIDENCE_DEFAULT_MAX_ENTRIES TD_DEFAULT_MAX_FLOWS
/* Idle time after which an entry is dropped: twice the flow table's idle timeout, so that the flow table
 * (which closes idle flows at its own timeout, in bounded batches) always closes a flow before its frames
 * are dropped here. What is left after a close is stragglers (the ACK of the last FIN, late retransmissions). */
#define TD_EVIDENCE_DEFAULT_IDLE_NS (2u * TD_DEFAULT_IDLE_TIMEOUT_NS)
/* A path buffer that always fits: path_out of td_evidence_close should be at least this long. */
#define TD_EVIDENCE_PATH_LEN 4096u

/* Every field left 0 takes its default (TD_EVIDENCE_DEFAULT_*). */
struct td_evidence_options {
    const char *dir;               /* existing, writable directory; copied */
    uint32_t max_packets_per_flow; /* frames stored per entry */
    uint32_t max_bytes_per_flow;   /* captured bytes stored per entry */
    uint64_t max_total_bytes;      /* captured bytes stored in all entries */
    uint64_t idle_ns;              /* entries untouched this long (packet time) are dropped by td_evidence_expire */
    uint32_t max_entries;          /* 5-tuples tracked at once */
};

struct td_evidence_stats {
    uint64_t files_written;
    uint64_t packets_written;
    uint64_t packets_over_flow_cap;    /* refused: the entry reached a per-flow cap */
    uint64_t packets_over_total_cap;   /* refused: max_total_bytes reached (or no memory for the copy) */
    uint64_t packets_linktype_skipped; /* not written: a link type other than the connection's first frame's */
    uint64_t packets_unclaimed;        /* dropped without being claimed by a closed flow: stale frames before a
                                        * flow's first frame, and frames of expired, evicted or cleared entries */
    uint64_t closes_without_packets;   /* td_evidence_close(keep) found no frame of the flow (evicted, caps) */
    uint64_t entries_evicted;          /* max_entries reached: the least recently touched entry was dropped */
    uint64_t entries_expired;          /* dropped by td_evidence_expire */
    uint64_t bytes_held;               /* captured bytes stored now */
    uint64_t bytes_held_max;           /* high-water mark of bytes_held */
};

struct td_evidence;

/* td_evidence_new checks that o->dir exists, is a directory and is writable, and returns a collector in
 * *out (free with td_evidence_free). On failure *out is NULL and it returns TD_ERR_USAGE (no such
 * directory, not a directory, not writable: err->msg names the directory and what to do) or
 * TD_ERR_RESOURCE (out of memory). */
TD_MUST_USE enum td_err td_evidence_new(const struct td_evidence_options *o, struct td_evidence **out,
                                        struct td_error *err);

/* td_evidence_packet copies frame (caplen bytes, with its number, time, lengths and link type) into the
 * entry of seg's 5-tuple (both directions share one entry), creating the entry if needed. A frame over a
 * per-flow cap or over max_total_bytes is counted, not stored; once an entry has refused a frame it
 * refuses the rest until a close takes its frames (so what is written is a gap-free prefix). Frames must
 * come in frame order. seg must be frame's decoded segment (transport: TD_TRANSPORT_TCP or TD_TRANSPORT_UDP, as
 * the decoder said); neither pointer is kept. */
void td_evidence_packet(struct td_evidence *ev, const struct td_frame *frame, const struct td_segment *seg,
                        uint8_t transport);

/* td_evidence_close: the flow `info` ended (call it from the flow table's on_close). The entry's frames
 * numbered info->first_frame..info->last_frame belong to it; frames before first_frame are stale
 * (an earlier connection's stragglers) and dropped; frames after last_frame (a new connection reusing
 * the tuple) stay in the entry. With keep, the flow's frames are written to
 *   DIR/<input-stem>-<first_frame>-<client>.<cport>-<server>.<sport>.pcap
 * (input_name's basename without its extension, ".gz" and one more removed; an interface name when
 * live; NULL gives "capture"; characters other than [A-Za-z0-9._+-] become '_', IPv6 ':' becomes '-'),
 * through a temporary name in DIR renamed into place, and the path is copied to path_out (path_len >=
 * TD_EVIDENCE_PATH_LEN always fits; path_out may be NULL). Frames whose link type differs from the
 * flow's first frame's are skipped and counted. When no frame of the flow is held nothing is written,
 * path_out is "" and TD_OK is returned. Returns TD_ERR_IO (cannot create, write or rename the file;
 * err->msg says which path) or TD_ERR_USAGE (path_out too short). In every case the flow's frames are
 * freed; without keep nothing is written. */
TD_MUST_USE enum td_err td_evidence_close(struct td_evidence *ev, const struct td_flow_info *info, bool keep,
                                          const char *input_name, char *path_out, size_t path_len,
                                          struct td_error *err);

/* td_evidence_expire drops the entries not touched for more than idle_ns before now_ns (packet time):
 * live, a bare ACK after a close opens no flow, so no close ever claims it. */
void td_evidence_expire(struct td_evidence *ev, int64_t now_ns);

/* td_evidence_clear drops every entry: call it at the end of each input, after td_flow_table_flush,
 * because frame numbers restart with the next input. */
void td_evidence_clear(struct td_evidence *ev);

/* td_evidence_stats: counters, valid as long as ev. */
const struct td_evidence_stats *td_evidence_stats(const struct td_evidence *ev);

/* td_evidence_free frees ev and every frame it holds (writes nothing); NULL is a no-op. */
void td_evidence_free(struct td_evidence *ev);

#endif
