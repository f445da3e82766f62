/* SPDX-License-Identifier: MIT */
/* tls.h: the per-connection TLS dissector (RFC 5246, RFC 8446, RFC 6101, SSLv2-compatible hello RFC 5246 E.2).
 *
 * The caller (the pipeline driver) feeds each direction's in-order TCP bytes as the flow table delivers
 * them; the dissector finds records, reassembles handshake messages across records and segments (the only
 * place that waits for more bytes), parses them into struct td_tls_facts and runs the per-connection state
 * machine. Once a direction is encrypted only the 5-byte record headers are read: bodies are skipped by
 * length, never copied. TLS is recognised on any port by its record header. Directions passed in are TCP
 * directions (TD_DIR_C2S/S2C of flow.h); facts are in TLS roles (facts.h). */
#ifndef TD_DISSECT_TLS_H
#define TD_DISSECT_TLS_H

#include "../capture/limits.h"
#include "facts.h"

struct td_tls_conn;

struct td_spill;

/* td_tls_conn_new returns a dissector for one TCP connection, or NULL on allocation failure.
 * limits is copied. spill (NULL: none): where the connection's facts live, so that they leave memory a while
 * after its handshake (capture/spill.h); the connection must then be fed on the spill's thread until
 * td_tls_conn_finish. Free with td_tls_conn_free. */
TD_MUST_USE struct td_tls_conn *td_tls_conn_new(const struct td_limits *limits, struct td_spill *spill);
void td_tls_conn_free(struct td_tls_conn *c);

/* td_tls_conn_data feeds len in-order bytes of TCP direction dir starting at stream offset off, made
 * deliverable by frame (time ts_ns). data is read during the call only. */
void td_tls_conn_data(struct td_tls_conn *c, int dir, const uint8_t *data, size_t len, uint64_t off, uint64_t frame,
                      int64_t ts_ns);
/* td_tls_conn_gap: len bytes from off in direction dir were never captured. The dissector records the gap,
 * drops any partial record and resynchronises on the next plausible record header. */
void td_tls_conn_gap(struct td_tls_conn *c, int dir, uint64_t off, uint64_t len, uint64_t frame, int64_t ts_ns);
/* td_tls_conn_tcp_flags records SYN/FIN/RST (TD_TCP_* bits) in the timeline and the outcome logic. */
void td_tls_conn_tcp_flags(struct td_tls_conn *c, int dir, uint8_t flags, uint64_t frame, int64_t ts_ns);
/* td_tls_conn_datagram feeds one UDP datagram of direction dir (zero or more DTLS records, RFC 6347 §4.1,
 * RFC 9147 §4), made visible by frame (time ts_ns). data is read during the call only. */
void td_tls_conn_datagram(struct td_tls_conn *c, int dir, const uint8_t *data, size_t len, uint64_t frame,
                          int64_t ts_ns);
/* td_tls_conn_finish ends the connection: partial records become truncation anomalies and the outcome is
 * decided. last_frame/last_ts: the flow's last packet. Call once, before reading the facts; after it the
 * connection may be read and freed on any thread. */
void td_tls_conn_finish(struct td_tls_conn *c, uint64_t last_frame, int64_t last_ts_ns);

/* td_tls_conn_facts: the facts, valid until td_tls_conn_free (final after td_tls_conn_finish). */
const struct td_tls_facts *td_tls_conn_facts(const struct td_tls_conn *c);

/* td_tls_conn_is_tracking: false once the dissector has decided both directions carry no TLS (the driver
 * may stop feeding it). */
bool td_tls_conn_is_tracking(const struct td_tls_conn *c);

#endif
