/* SPDX-License-Identifier: MIT */
/* tds.h: SQL Server's TDS framing around the TLS handshake ([MS-TDS] §2.2.3.1 packet header, §2.2.6.5 PRELOGIN,
 * §3.2.5.2 / §3.3.5.2 the TLS exchange in PRELOGIN packets), and the plaintext phase before TLS in general:
 * turning nDPI's classification into a protocol where the plaintext alone was not enough.
 *
 * A TDS client opens with a PRELOGIN packet (type 0x12) that carries the ENCRYPTION option; the server answers
 * with a tabular result packet (type 0x04). When encryption was agreed, the TLS handshake travels as the payload
 * of PRELOGIN packets (8-byte header: type, status, length incl. header (big-endian), SPID, PacketID, Window), a
 * record possibly split over two packets. Once the handshake is complete, TLS records follow on the stream as
 * they are: at a packet boundary the next byte is then a TLS content type (20..24), never a TDS type (1..0x12). */
#ifndef TD_DISSECT_TDS_H
#define TD_DISSECT_TDS_H

#include "../capture/cursor.h"
#include "facts.h"

#define TD_TDS_HEADER_LEN 8u

/* The unwrapper's state for one TCP direction (kept in the record layer's per-direction state). */
struct td_tds_unwrap {
    uint8_t state;           /* enum td_tds_state */
    uint8_t hdr[8];
    uint8_t hdr_len;
    uint8_t type;            /* of the packet being read */
    uint16_t left;           /* payload bytes of that packet still to come */
};
#define TD_TDS_PRELOGIN 0x12
#define TD_TDS_TABULAR_RESULT 0x04
/* Largest packet a peer may negotiate (LOGIN7 PacketSize, [MS-TDS] §2.2.6.4: 512..32767). */
#define TD_TDS_MAX_PACKET_LEN 32767u

enum td_tds_state {
    TD_TDS_OFF = 0,   /* not TDS, or unwrapping stopped: bytes go to the record layer as they are */
    TD_TDS_HEADER,    /* reading a packet header (or deciding that raw TLS records begin) */
    TD_TDS_PAYLOAD,   /* inside a packet's payload */
    TD_TDS_RAW,       /* the handshake is over: records follow without TDS framing */
};

enum td_tds_step {
    TD_TDS_STEP_NEED_MORE, /* in is consumed: a partial header is kept in the unwrapper */
    TD_TDS_STEP_PAYLOAD,   /* *payload holds the next piece of a packet's payload */
    TD_TDS_STEP_RAW,       /* the next byte of in begins a TLS record outside TDS: in is untouched, state is RAW */
    TD_TDS_STEP_MALFORMED, /* a header with a length below 8 or an unknown type was taken from in: state is OFF */
};

/* td_tds_header_plausible: whether in starts with a TDS packet header that opens a connection: a PRELOGIN (0x12)
 * from the client, or (server_answer) the tabular result (0x04) answering one; status EOM or not, a length of
 * 9..32767 with a 0 window. Reads without advancing. */
bool td_tds_header_plausible(const struct td_cursor *in, bool server_answer);

/* td_tds_unwrap_start arms u at the start of a direction whose first bytes are a TDS header. */
void td_tds_unwrap_start(struct td_tds_unwrap *u);

/* td_tds_unwrap_next takes the next step from in (state TD_TDS_HEADER or TD_TDS_PAYLOAD). On
 * TD_TDS_STEP_PAYLOAD, *payload views in's memory (valid as long as in's) and *packet_end says whether it ends
 * the packet; *packet_type is that packet's type. Hostile lengths are never trusted beyond the bytes present:
 * nothing is allocated, a packet's payload is handed on piece by piece. */
TD_MUST_USE enum td_tds_step td_tds_unwrap_next(struct td_tds_unwrap *u, struct td_cursor *in,
                                                struct td_cursor *payload, bool *packet_end, uint8_t *packet_type);

/* td_tds_unwrap_gap: len bytes of the direction were lost. Inside a payload the packet boundary is kept; anywhere
 * else it is lost and unwrapping stops (returns false: state is OFF). */
bool td_tds_unwrap_gap(struct td_tds_unwrap *u, uint64_t len);

/* td_plaintext_proto_name: "smtp", "imap", ..., "tds", "unknown"; NULL for TD_PLAINTEXT_NONE. */
const char *td_plaintext_proto_name(enum td_plaintext_proto p);
/* td_plaintext_source_name: "greeting", "request", "ndpi"; NULL for TD_PLAINTEXT_FROM_NONE. */
const char *td_plaintext_source_name(enum td_plaintext_source s);

/* td_plaintext_start_resolve returns ps, with nDPI's application protocol name (td_flow_info.app_protocol, e.g.
 * "SMTP", "MsSQL-TDS", "MySQL"; may be NULL) used where the plaintext was not enough: when the protocol is
 * unknown, or known from a greeting alone that nDPI names otherwise (a "220" banner is SMTP or FTP). A protocol
 * recognised from the request that started TLS is kept. */
struct td_plaintext_start td_plaintext_start_resolve(const struct td_plaintext_start *ps, const char *ndpi_app);

#endif
