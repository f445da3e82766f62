/* SPDX-License-Identifier: MIT */
/* reassembly.h: private interface between the flow table (flow.c) and one direction's TCP stream
 * reassembly (reassembly.c). Sequence numbers follow RFC 9293 §3.4 (32-bit, wrapping; SYN and FIN each
 * consume one) and are compared with serial arithmetic (RFC 1982 §3.2); stream offsets are 64-bit. */
#ifndef TD_CAPTURE_REASSEMBLY_H
#define TD_CAPTURE_REASSEMBLY_H

#include "flow.h"

struct reasm_node; /* one buffered out-of-order piece (reassembly.c) */

/* One direction's reassembly state, embedded in the flow. 48 bytes when idle: the out-of-order
 * list is empty and owns no memory unless a hole is open. */
struct td_reasm {
    struct reasm_node *head, *tail; /* buffered pieces sorted by offset, none overlapping */
    uint64_t next_off;              /* next stream offset to deliver */
    uint64_t fin_off;               /* stream offset of the FIN (valid when has_fin) */
    uint32_t base_seq;              /* sequence number of stream offset 0 (valid when has_base) */
    uint32_t ooo_bytes;             /* captured bytes buffered in the list */
    uint16_t num_nodes;             /* pieces in the list */
    bool has_base;
    bool has_fin;
};

/* Where a direction's deliveries go, and the frame/time that made them deliverable. */
struct td_reasm_sink {
    const struct td_flow_callbacks *cb;
    void *user;
    struct td_flow_info *info; /* counters: retransmissions, out_of_order, gaps, gap_bytes, reasm_cap_hits */
    int dir;
    uint64_t frame;
    int64_t ts_ns;
    uint32_t max_reasm_bytes;
};

void td_reasm_init(struct td_reasm *r);
/* td_reasm_cleanup frees buffered pieces without delivering them. */
void td_reasm_cleanup(struct td_reasm *r);

/* td_reasm_syn anchors the stream at a SYN: offset 0 is the byte after isn. Ignored once anchored. */
void td_reasm_syn(struct td_reasm *r, uint32_t isn);

/* td_reasm_add feeds one segment's payload: seq is the sequence number of its first payload byte (after
 * the SYN's own number for a SYN with data), cap_len bytes at payload were captured out of wire_len sent.
 * fin: the segment carries FIN (which follows the payload in sequence space). In-order bytes are
 * delivered from payload without copying; out-of-order bytes are copied into the direction's buffer. */
void td_reasm_add(struct td_reasm *r, const struct td_reasm_sink *s, uint32_t seq, const uint8_t *payload,
                  uint32_t cap_len, uint32_t wire_len, bool fin);

/* td_reasm_ack applies the peer's acknowledgement number: bytes the peer acknowledged that are missing
 * while later data is buffered (or the FIN is known) were lost by the capture, not the network, so they
 * become a gap and the buffered continuation is delivered. */
void td_reasm_ack(struct td_reasm *r, const struct td_reasm_sink *s, uint32_t ack);

/* td_reasm_finish delivers everything still buffered at flow end, with gaps for the holes (and for the
 * bytes before a known FIN that never arrived), then frees the buffer. */
void td_reasm_finish(struct td_reasm *r, const struct td_reasm_sink *s);

/* td_reasm_is_complete: the FIN was seen and every byte before it was delivered (or gapped). */
bool td_reasm_is_complete(const struct td_reasm *r);

#endif
