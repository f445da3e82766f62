/* SPDX-License-Identifier: MIT */
/* conn_internal.h: the connection object shared by the record layer (record.c: finding, buffering and
 * reassembling records and handshake messages) and the state machine (conn.c: facts, roles, phases, outcome).
 * RFC 5246 §6.2, RFC 8446 §5.1, RFC 5246 Appendix E.2. Also shared with dtls.c, the DTLS record layer over UDP
 * datagrams (RFC 6347 §4.1, §4.2.2; RFC 9147 §4), which hands complete messages to the same state machine. Not for
 * use outside those files. */
#ifndef TD_DISSECT_CONN_INTERNAL_H
#define TD_DISSECT_CONN_INTERNAL_H

#include "internal.h"
#include "tds.h"
#include "tls.h"

/* Largest record body accepted: 2^14 plaintext plus 2048 bytes of expansion (RFC 5246 §6.2.3; TLS 1.3 allows
 * only 2^14 + 256, so this bound covers every version). */
#define TD_RECORD_MAX_BODY (16384u + 2048u)
#define TD_RECORD_HEADER_LEN 5u
/* Plaintext scanned per direction for the first TLS record (STARTTLS dialogue, MySQL greeting, LDAP
 * ExtendedRequest ...) before the direction is declared not TLS. Every real pre-TLS dialogue in the corpus is
 * far below 4 KB; 64 KB leaves room for long SMTP EHLO/banner exchanges. */
#define TD_SCAN_WINDOW_LEN (64u * 1024u)
/* Bytes the scanner looks at to accept a position: record header (5) + handshake header (4) + version (2). */
#define TD_SCAN_LOOKAHEAD_LEN 11u

enum td_dir_mode {
    TD_DIR_MODE_START,   /* nothing seen yet: the first bytes say TLS record, SSLv2 hello or plaintext */
    TD_DIR_MODE_SCAN,    /* plaintext before TLS (STARTTLS): looking for the first hello record */
    TD_DIR_MODE_RECORDS, /* in step with the record stream */
    TD_DIR_MODE_RESYNC,  /* record boundary lost (gap, bad header): looking for the next plausible header */
    TD_DIR_MODE_NOT_TLS, /* no TLS found within the scan window: bytes are ignored */
};

/* Handshake message reassembly for one direction (RFC 5246 §7.4, RFC 8446 §4: messages span records). */
struct td_hs_reasm {
    uint8_t hdr[4];          /* msg_type + uint24 length, possibly split across records */
    uint8_t hdr_len;
    uint8_t type;
    uint32_t msg_len;        /* declared body length (valid once hdr_len == 4) */
    uint32_t have_len;       /* body bytes gathered into buf */
    uint8_t *buf;            /* malloc'd, grows with the message, never past limits.max_hs_msg_bytes */
    size_t buf_cap;
    uint32_t skip_len;       /* body bytes of an oversized message still to skip by counting */
    uint16_t record_version; /* version of the record the message started in */
};

/* Per TCP direction: record layer position and the per-direction part of the state machine. */
struct td_tls_dir {
    enum td_dir_mode mode;
    struct td_tds_unwrap tds;  /* SQL Server: TDS framing around the handshake (tds.h) */
    bool off_known;
    uint64_t next_off;        /* stream offset expected next */
    bool has_data;
    struct td_evidence first_data_ev;

    /* Record being read. */
    uint8_t hdr[TD_RECORD_HEADER_LEN];
    uint8_t hdr_len;
    uint8_t hdr_need;         /* 5 (TLS), 2 or 3 (SSLv2) */
    bool in_body;
    bool sslv2_rec;           /* the current record has an SSLv2 header */
    uint8_t type;
    uint16_t version;
    uint32_t rec_len;
    uint32_t body_len;        /* body bytes seen so far */
    bool opaque;              /* body skipped by counting (protected, application data, oversized) */
    bool is_protected;        /* encrypted under the direction's keys */
    bool dropping;            /* part of the body was lost in a gap: the record is counted, not parsed */
    uint8_t *rec_buf;         /* TD_RECORD_MAX_BODY bytes, malloc'd when a plaintext record spans deliveries */
    struct td_hs_reasm hs;

    /* Scanner (START/SCAN/RESYNC): undecided bytes carried over from the previous delivery. */
    uint8_t carry[16];
    uint8_t carry_len;
    uint64_t scanned_len;     /* bytes scanned without finding a record */
    uint16_t last_version;    /* record version of the last good header (resync prefers it) */
    bool sslv2_ok;            /* SSLv2-format records may appear in this direction */
    bool sslv2_hello_pending; /* the next SSLv2 record is this direction's hello (buffered and parsed) */
    bool hs_trusted;          /* plaintext handshake records of this direction are real (see conn.c) */

    /* State machine, per TCP direction. */
    bool keys_on;             /* TLS <= 1.2: ChangeCipherSpec sent, later records are protected */
    bool expect_finished;     /* the next protected handshake record is Finished */
    bool fin_seen, rst_seen;
    struct td_evidence first_fin, first_rst;
};

/* What the record layer tells the state machine about a completed record. */
struct td_record_info {
    uint8_t type;             /* content type; for SSLv2 records 0 */
    uint16_t version;
    uint32_t len;             /* body length */
    bool is_protected;        /* encrypted: the body was not read */
    bool lost;                /* bytes of the body were never seen (gap), or too long to keep: count only */
    bool retransmitted;       /* DTLS: a resent record of a flight already seen: counted only */
};

/* A close (FIN/RST) or alert remembered for the outcome. */
struct td_outcome_mark {
    bool set;
    uint8_t role;
    struct td_evidence ev;
    int32_t alert;            /* description, -1 encrypted/none */
    int32_t after_msg;
    bool is_rst;
};

struct td_dtls; /* dtls.c: per-direction DTLS handshake reassembly, allocated with the first datagram */

struct td_tls_conn {
    struct td_limits limits;
    struct td_arena arena;
    struct td_tls_facts facts;
    struct td_tls_dir dir[2];    /* by TCP direction (TD_DIR_*) */

    uint32_t timeline_cap, anomalies_cap, alerts_cap;
    bool timeline_full_noted;
    bool finished;

    bool roles_decided;          /* the first hello fixed which TCP side is the TLS client */
    bool saw_client_hello;
    int ch_dir;                  /* TCP direction of the first ClientHello */
    bool hello_ok;               /* a ClientHello or a well-formed ServerHello was accepted */
    bool sh_seen;                /* a ServerHello that is not an HRR */
    bool tls13;                  /* TLS 1.3 (or a draft) negotiated, or announced by an HRR */
    bool client_offered_tls13;
    bool sslv2_client, sslv2_server;
    uint8_t client_sid[32];
    uint8_t client_sid_len;
    uint32_t server_flight_event; /* timeline index of the last TLS 1.3 server flight record, UINT32_MAX none */
    uint32_t client_flight_event; /* timeline index of the TLS 1.3 client's Finished, UINT32_MAX none */
    uint64_t client_flight_frame; /* frame of the TLS 1.3 client's protected flight (Certificate.. Finished) */
    bool server_spoke_after_done; /* the TLS 1.3 server sent a record after the client's Finished flight */
    struct td_outcome_mark rejected_after_finished; /* TLS 1.3: the server's answer to the client's Finished
                                                        was an alert-sized record (e.g. certificate_required) */
    int32_t done_after_msg;

    struct td_outcome_mark failing_alert; /* first fatal or encrypted alert before handshake_done */
    struct td_outcome_mark warning_alert; /* last other alert before handshake_done */
    bool progress_after_warning;          /* handshake went on after warning_alert */
    struct td_outcome_mark close;         /* first FIN/RST before handshake_done */

    struct td_dtls *dtls;                 /* NULL until the first datagram */
};

/* --- record.c --- */

/* td_tls_record_feed runs the record layer of TCP direction dir over in (in-order bytes). */
void td_tls_record_feed(struct td_tls_conn *c, int dir, struct td_cursor in, struct td_evidence ev);
/* td_tls_record_gap: len bytes of direction dir were never seen; keep step when the gap falls inside a
 * record body, otherwise drop the partial record and resynchronise. */
void td_tls_record_gap(struct td_tls_conn *c, int dir, uint64_t len, struct td_evidence ev);
/* td_tls_record_finish records truncation anomalies for partial records and messages at the end. */
void td_tls_record_finish(struct td_tls_conn *c, int dir, struct td_evidence ev);
/* td_tls_record_hs_reset drops a partially reassembled handshake message (handshake_truncated when one was
 * pending and truncated is set). */
void td_tls_record_hs_reset(struct td_tls_conn *c, int dir, bool truncated, struct td_evidence ev);
/* td_tls_record_cleanup frees the direction's buffers. */
void td_tls_record_cleanup(struct td_tls_dir *d);

/* --- dtls.c --- */

/* td_dtls_finish records handshake messages that could not be completed (and hands over those held back behind
 * a missing one) at the end of the connection. */
void td_dtls_finish(struct td_tls_conn *c, struct td_evidence ev);
/* td_dtls_cleanup frees the DTLS reassembly state (c->dtls becomes NULL). */
void td_dtls_cleanup(struct td_tls_conn *c);

/* --- conn.c (called by record.c and dtls.c) --- */

/* td_tls_conn_is_protected: whether a record of this type in direction dir is encrypted (decided at its header). */
bool td_tls_conn_is_protected(const struct td_tls_conn *c, int dir, uint8_t type);
/* td_tls_conn_on_record: a complete TLS record. body is NULL when the body was not read. Returns true when body
 * is a plaintext handshake fragment the caller must pass to the handshake reassembler. hs_idle: no message is
 * pending in the reassembler (the record starts with a message header). */
TD_MUST_USE bool td_tls_conn_on_record(struct td_tls_conn *c, int dir, const struct td_record_info *r,
                                       const struct td_cursor *body, bool hs_idle, struct td_evidence ev);
/* td_tls_conn_on_handshake: a complete handshake message body (too_large: only claimed, body empty). */
void td_tls_conn_on_handshake(struct td_tls_conn *c, int dir, uint8_t type, struct td_cursor body, uint32_t msg_len,
                              uint16_t record_version, bool too_large, struct td_evidence ev);
/* td_tls_conn_on_sslv2: a complete SSLv2-format record; body is NULL when it was skipped. */
void td_tls_conn_on_sslv2(struct td_tls_conn *c, int dir, const struct td_cursor *body, uint32_t len,
                          struct td_evidence ev);
/* td_tls_conn_anomaly records an anomaly from TCP direction dir. */
void td_tls_conn_anomaly(struct td_tls_conn *c, int dir, enum td_anomaly code, struct td_evidence ev);

#endif
