/* SPDX-License-Identifier: MIT */
/* facts.h: what the TLS dissector knows about one connection, as plain data. This is the contract between
 * dissect/ (which fills it) and rules/ and reports/ (which only read it).
 *
 * Roles: index 0 / TD_ROLE_CLIENT is the TLS client, 1 / TD_ROLE_SERVER the TLS server. The TCP roles of the
 * flow table usually agree; when the first ClientHello came from the TCP server side, roles_swapped is set.
 * Every fact taken from a packet carries a struct td_evidence: the frame (1-based, Wireshark's numbering)
 * that completed the record it came from, and that frame's time.
 * All pointers point into the connection's arena and stay valid until td_tls_conn_free. */
#ifndef TD_DISSECT_FACTS_H
#define TD_DISSECT_FACTS_H

#include "../capture/base.h"
#include "anomaly.h"

#define TD_ROLE_CLIENT 0
#define TD_ROLE_SERVER 1

/* Record content types (RFC 8446 §5.1, RFC 6520). */
#define TD_CT_CHANGE_CIPHER_SPEC 20
#define TD_CT_ALERT 21
#define TD_CT_HANDSHAKE 22
#define TD_CT_APPLICATION_DATA 23
#define TD_CT_HEARTBEAT 24

/* Handshake types (IANA TLS HandshakeType). */
#define TD_HS_HELLO_REQUEST 0
#define TD_HS_CLIENT_HELLO 1
#define TD_HS_SERVER_HELLO 2
#define TD_HS_HELLO_VERIFY_REQUEST 3 /* DTLS only (RFC 6347 §4.2.1) */
#define TD_HS_NEW_SESSION_TICKET 4
#define TD_HS_END_OF_EARLY_DATA 5
#define TD_HS_ENCRYPTED_EXTENSIONS 8
#define TD_HS_CERTIFICATE 11
#define TD_HS_SERVER_KEY_EXCHANGE 12
#define TD_HS_CERTIFICATE_REQUEST 13
#define TD_HS_SERVER_HELLO_DONE 14
#define TD_HS_CERTIFICATE_VERIFY 15
#define TD_HS_CLIENT_KEY_EXCHANGE 16
#define TD_HS_FINISHED 20
#define TD_HS_CERTIFICATE_STATUS 22
#define TD_HS_KEY_UPDATE 24
#define TD_HS_MESSAGE_HASH 254
/* Pseudo types for the timeline (not on the wire). */
#define TD_HS_HELLO_RETRY_REQUEST 256 /* a ServerHello carrying the HRR random (RFC 8446 §4.1.3) */
#define TD_HS_SSLV2_CLIENT_HELLO 257  /* SSLv2-format ClientHello (RFC 5246 Appendix E.2) */
#define TD_HS_ENCRYPTED 258           /* a handshake record after ChangeCipherSpec: type unknown */

/* Protocol versions. */
#define TD_VERSION_SSL2 0x0002
#define TD_VERSION_SSL3 0x0300
#define TD_VERSION_TLS10 0x0301
#define TD_VERSION_TLS11 0x0302
#define TD_VERSION_TLS12 0x0303
#define TD_VERSION_TLS13 0x0304
/* DTLS (RFC 4347, RFC 6347, RFC 9147): version numbers go down as versions go up (one's complement of the TLS
 * version they are based on: DTLS 1.0 is TLS 1.1, DTLS 1.2 is TLS 1.2, DTLS 1.3 is TLS 1.3). 0x0100 is OpenSSL's
 * DTLS 1.0 before 0.9.8f (DTLS1_BAD_VER, still spoken by Cisco AnyConnect). */
#define TD_VERSION_DTLS10 0xfeff
#define TD_VERSION_DTLS12 0xfefd
#define TD_VERSION_DTLS13 0xfefc
#define TD_VERSION_DTLS10_OPENSSL_PRE 0x0100

/* Alert descriptions used by name in code (the full table is in tables/alerts.def). */
#define TD_ALERT_LEVEL_WARNING 1
#define TD_ALERT_LEVEL_FATAL 2

struct td_evidence {
    uint64_t frame; /* 0 = none */
    int64_t ts_ns;
};

struct td_u16_list {
    uint16_t *v;
    uint32_t num;
};

struct td_key_share_entry {
    uint16_t group;
    uint16_t key_len;
};

/* One ClientHello (TLS or SSLv2-compatible). */
struct td_client_hello {
    struct td_evidence ev;
    bool sslv2_format;          /* SSLv2-compatible CLIENT-HELLO record */
    uint16_t record_version;    /* version in the record header */
    uint16_t legacy_version;    /* client_version */
    uint8_t session_id_len;
    bool dtls;                  /* a DTLS ClientHello: it has a cookie after the session id (RFC 6347 §4.2.1) */
    uint8_t cookie_len;         /* DTLS: bytes of the cookie (0 in the first ClientHello, RFC 6347 §4.2.1) */
    struct td_u16_list ciphers;       /* in offer order, GREASE included as sent */
    struct td_u16_list extensions;    /* extension types in order */
    struct td_u16_list supported_versions;
    struct td_u16_list groups;        /* supported_groups */
    struct td_u16_list sig_algs;      /* signature_algorithms */
    struct td_u16_list ec_point_formats; /* u8 values widened */
    struct td_key_share_entry *key_shares;
    uint32_t num_key_shares;
    char *sni;                  /* first host_name, escaped to printable ASCII; NULL if absent */
    char **alpn;                /* protocol names, escaped */
    uint32_t num_alpn;
    uint32_t compression_methods_len;
    bool has_renegotiation_info; /* extension 0xff01 */
    bool has_scsv_renegotiation; /* cipher 0x00ff TLS_EMPTY_RENEGOTIATION_INFO_SCSV */
    bool has_fallback_scsv;      /* cipher 0x5600 TLS_FALLBACK_SCSV */
    bool has_post_handshake_auth;
    bool has_extended_master_secret;
    bool has_session_ticket;
    bool has_pre_shared_key;
    bool has_early_data;
    bool fingerprint_lost;       /* a list was cut at the arena cap: no JA3/JA4 (fingerprint.h computes them) */
    enum td_anomaly anomaly;     /* first anomaly met while parsing it (TD_ANOM_NONE when well formed) */
};

struct td_server_hello {
    struct td_evidence ev;
    bool is_hrr;                /* HelloRetryRequest */
    uint16_t record_version;
    uint16_t legacy_version;
    uint16_t selected_version;  /* from supported_versions, 0 if absent */
    uint16_t cipher;
    uint8_t compression;
    uint8_t session_id_len;
    struct td_u16_list extensions;
    uint16_t key_share_group;   /* 0 if absent */
    uint16_t key_share_len;
    char *alpn;                 /* selected, escaped; NULL if absent */
    bool has_renegotiation_info;
    bool has_extended_master_secret;
    bool has_session_ticket;
    bool has_pre_shared_key;
    enum td_anomaly anomaly;
};

enum td_kx_kind {
    TD_KX_UNKNOWN = 0,
    TD_KX_RSA,
    TD_KX_DHE,
    TD_KX_ECDHE,
    TD_KX_PSK,
    TD_KX_TLS13, /* key exchange in the hellos' key_share */
    TD_KX_OTHER,
};

/* Key exchange sizes (RFC 5246 §7.4.3, §7.4.7; RFC 8422 §5.4). Lengths are bytes as sent on the wire. */
struct td_kx_facts {
    enum td_kx_kind kind;       /* from the negotiated cipher suite */
    struct td_evidence ske_ev;  /* ServerKeyExchange */
    struct td_evidence cke_ev;  /* ClientKeyExchange */
    /* DHE */
    uint16_t dh_p_len, dh_g_len, dh_ys_len, dh_yc_len;
    uint8_t dh_p_first, dh_ys_first, dh_yc_first; /* first byte of each value */
    bool has_dh_yc;
    /* ECDHE */
    uint8_t ec_curve_type;      /* 3 = named_curve */
    uint16_t ec_group;
    uint16_t ec_server_point_len, ec_client_point_len;
    /* signature in ServerKeyExchange (TLS 1.2: scheme; 0 when absent/earlier) */
    uint16_t ske_sig_alg;
    uint16_t ske_sig_len;
    /* RSA */
    uint16_t rsa_epms_len;      /* encrypted premaster secret */
    bool has_ske, has_cke;
};

struct td_cert {
    uint32_t der_len;
    char sha256[65];
    char *subject, *issuer;    /* RFC 2253 one-line form, escaped */
    char *serial;              /* hex */
    int64_t not_before, not_after; /* Unix seconds */
    char **sans;               /* DNS names and IP addresses ("IP:192.0.2.1") */
    uint32_t num_sans;
    char **ekus;               /* short names ("serverAuth") or dotted OIDs */
    uint32_t num_ekus;
    bool has_eku_ext;          /* false: no EKU extension at all (any use allowed) */
    char key_type[16];         /* "RSA", "EC", "Ed25519", "DSA", ... */
    uint32_t key_bits;
    char *sig_alg;             /* signature algorithm name */
    bool self_signed;          /* issuer == subject and the signature verifies with its own key */
    bool is_ca;                /* basicConstraints CA:TRUE */
    bool parse_error;          /* libcrypto could not parse it (the other fields are empty) */
};

struct td_cert_chain {
    struct td_evidence ev;
    struct td_cert *certs;     /* leaf first, as sent */
    uint32_t num_certs;        /* kept (may be fewer than sent when the arena is full) */
    uint32_t num_sent;         /* as sent */
    uint32_t total_len;        /* bytes of the certificate_list */
};

/* CertificateRequest (RFC 5246 §7.4.4; RFC 8446 §4.3.2). */
struct td_cert_request {
    struct td_evidence ev;
    bool tls13;                /* TLS 1.3 form (context + extensions), seen only if plaintext */
    struct td_u16_list cert_types; /* u8 values widened */
    struct td_u16_list sig_algs;
    uint32_t ca_list_len;      /* bytes of certificate_authorities as declared */
    uint32_t num_ca_names;     /* DistinguishedNames parsed */
    bool ca_list_well_formed;  /* every name's length fits and the list ends exactly */
    uint32_t msg_len;          /* declared handshake body length */
};

struct td_alert {
    struct td_evidence ev;
    uint8_t role;              /* TD_ROLE_* of the sender */
    bool encrypted;            /* level/description unknown: reported as encrypted, never guessed */
    bool inferred;             /* a protected TLS 1.3 record taken for an alert by its length (19 bytes: a 2-byte
                                  alert, its content type and a 16-byte AEAD tag), not read as one */
    uint8_t level;
    uint8_t description;
    int32_t after_msg;         /* last handshake message type seen in the connection before it (-1 none) */
};

/* Timeline entry kinds. */
enum td_event_kind {
    TD_EV_TCP_SYN,
    TD_EV_TCP_SYNACK,
    TD_EV_TCP_FIN,
    TD_EV_TCP_RST,
    TD_EV_HANDSHAKE,           /* detail = handshake type (TD_HS_*, pseudo types included) */
    TD_EV_CHANGE_CIPHER_SPEC,
    TD_EV_ALERT,               /* detail = index into alerts */
    TD_EV_APPLICATION_DATA,    /* first application data record per direction only */
    TD_EV_HEARTBEAT,
    TD_EV_GAP,                 /* detail = bytes missing (capped at INT32_MAX) */
    TD_EV_ANOMALY,             /* detail = enum td_anomaly */
};

struct td_event {
    struct td_evidence ev;
    uint8_t role;              /* sender (TD_ROLE_*) */
    uint8_t kind;              /* enum td_event_kind */
    bool is_protected;         /* handshake events: the record was encrypted; its type is inferred or unknown */
    int32_t detail;
    uint32_t len;              /* message or record length when it applies */
};

struct td_anomaly_entry {
    struct td_evidence ev;
    uint8_t role;
    enum td_anomaly code;
};

enum td_outcome {
    TD_OUTCOME_NOT_TLS = 0,    /* no TLS seen in either direction */
    TD_OUTCOME_ESTABLISHED,    /* handshake completed */
    TD_OUTCOME_FAILED_ALERT,   /* a fatal alert (or any alert) ended the handshake */
    TD_OUTCOME_RESET,          /* TCP RST before the handshake completed */
    TD_OUTCOME_CLOSED,         /* FIN before the handshake completed */
    TD_OUTCOME_INCOMPLETE,     /* the capture ended (or the flow idled/was evicted) mid-handshake */
    TD_OUTCOME_RESUMED,        /* abbreviated handshake completed (session resumption) */
};

struct td_record_counts {
    uint64_t records[5];       /* by content type: 20 ccs, 21 alert, 22 handshake, 23 app data, 24 heartbeat */
    uint64_t bytes[5];         /* record payload bytes */
    uint64_t other_records;    /* unknown content types */
};

/* The plaintext phase before TLS began (STARTTLS and its kin), recognised from the plaintext itself. */
enum td_plaintext_proto {
    TD_PLAINTEXT_NONE = 0,   /* TLS from the first byte (no plaintext phase) */
    TD_PLAINTEXT_UNKNOWN,    /* plaintext before TLS, protocol not recognised */
    TD_PLAINTEXT_SMTP,       /* STARTTLS (RFC 3207) */
    TD_PLAINTEXT_IMAP,       /* STARTTLS (RFC 9051 §6.2.1) */
    TD_PLAINTEXT_POP3,       /* STLS (RFC 2595 §4) */
    TD_PLAINTEXT_FTP,        /* AUTH TLS (RFC 4217 §4) */
    TD_PLAINTEXT_LDAP,       /* StartTLS extended operation 1.3.6.1.4.1.1466.20037 (RFC 4511 §4.14) */
    TD_PLAINTEXT_XMPP,       /* <starttls/> (RFC 6120 §5.4) */
    TD_PLAINTEXT_POSTGRES,   /* SSLRequest, code 80877103 (PostgreSQL protocol §55.2.10) */
    TD_PLAINTEXT_RDP,        /* X.224 Connection Request with RDP_NEG_REQ ([MS-RDPBCGR] §2.2.1.1) */
    TD_PLAINTEXT_TDS,        /* SQL Server PRELOGIN, handshake inside TDS packets ([MS-TDS] §2.2.6.5) */
    TD_PLAINTEXT_MYSQL,      /* server greeting, then SSLRequest (MySQL client/server protocol) */
    TD_PLAINTEXT_IRC,        /* STARTTLS (IRCv3 tls extension) */
};

/* What the protocol was recognised from; later, stronger evidence replaces weaker. */
enum td_plaintext_source {
    TD_PLAINTEXT_FROM_NONE = 0,
    TD_PLAINTEXT_FROM_GREETING, /* the first bytes only (a "220" banner is SMTP or FTP) */
    TD_PLAINTEXT_FROM_REQUEST,  /* the request that starts TLS (STARTTLS, STLS, AUTH TLS, SSLRequest, ...) */
    TD_PLAINTEXT_FROM_NDPI,     /* nDPI's classification of the flow (td_plaintext_start_resolve) */
};

struct td_plaintext_start {
    uint8_t protocol;              /* enum td_plaintext_proto */
    uint8_t source;                /* enum td_plaintext_source */
    uint64_t skipped_len[2];       /* by TCP direction (0 = from the TCP client): stream bytes before its first
                                      TLS record (plaintext dialogue, TDS packet headers) */
    struct td_evidence tls_ev;     /* the first TLS record of the connection (plaintext came first in at least
                                      one direction) */
    /* TDS ([MS-TDS] §2.2.6.5, §3.2.5.2): the handshake travels in PRELOGIN packets, then records go raw. */
    uint32_t tds_packets[2];       /* by TCP direction: PRELOGIN packets that carried TLS bytes */
    struct td_evidence tds_raw_ev; /* first TLS record sent outside TDS packets (0 = none) */
    uint32_t tds_malformed;        /* TDS headers that could not be TDS (length below 8): unwrapping stopped */
};

#define TD_MAX_HELLOS 4
#define TD_FIRST_APP_DATA_LENS 4

struct td_tls_facts {
    bool is_tls;               /* at least one TLS/SSL record parsed */
    bool roles_swapped;        /* the TLS client is the TCP server side */
    bool dtls;                 /* DTLS over UDP (RFC 6347, RFC 9147): versions are DTLS wire versions */

    struct td_client_hello *client_hellos[TD_MAX_HELLOS]; /* in order: first, after HRR, renegotiation ... */
    uint32_t num_client_hellos;  /* kept */
    uint32_t client_hellos_seen; /* all, including those not kept */
    struct td_server_hello *server_hellos[TD_MAX_HELLOS];
    uint32_t num_server_hellos;
    uint32_t server_hellos_seen;

    uint16_t version;          /* negotiated: selected_version, else ServerHello legacy_version; 0 if none */
    uint16_t cipher;           /* negotiated suite; 0 if none */
    bool cipher_known;

    struct td_cert_chain *server_certs; /* NULL if not seen (TLS 1.3: encrypted) */
    struct td_cert_chain *client_certs;
    struct td_cert_request *cert_request; /* first plaintext CertificateRequest, NULL if none */
    uint32_t cert_requests_seen;
    struct td_kx_facts kx;

    struct td_alert *alerts;
    uint32_t num_alerts;
    uint32_t alerts_seen;

    /* Phases. */
    struct td_evidence ccs[2];             /* first ChangeCipherSpec per role */
    struct td_evidence encrypted_from[2];  /* first record protected in that direction */
    struct td_evidence finished[2];        /* Finished per role (encrypted: the record after CCS in TLS <= 1.2;
                                              TLS 1.3: inferred as the last encrypted handshake record of the flight) */
    struct td_evidence handshake_done;     /* handshake completed (TLS 1.2: both Finished; TLS 1.3: client Finished
                                              inferred from the first client application data or its encrypted flight;
                                              cleared when the server answers that flight with an alert-sized
                                              record, i.e. refused it) */
    struct td_evidence first_app_data[2];
    bool resumed;                          /* abbreviated handshake (session id echoed / PSK accepted) */
    bool false_start;                      /* client application data before the server's Finished */
    uint32_t hs_records_after_done[2];     /* handshake records after handshake_done, per role (renegotiation, post-
                                              handshake messages) */
    struct td_evidence first_hs_after_done[2];
    uint32_t plaintext_hs_after_done[2];   /* of which plaintext (a ClientHello/HelloRequest in the clear) */
    uint32_t hello_requests;               /* plaintext HelloRequest messages */
    int32_t last_hs_msg;                   /* last plaintext/identified handshake type before the end (-1 none) */
    uint8_t last_hs_role;

    struct td_record_counts counts[2];
    uint64_t app_data_bytes[2];

    struct td_event *timeline;
    uint32_t num_events;
    uint32_t events_seen;                  /* > num_events when max_timeline was hit */

    struct td_anomaly_entry *anomalies;
    uint32_t num_anomalies;
    uint32_t anomalies_seen;

    /* Outcome. */
    enum td_outcome outcome;
    struct td_evidence outcome_ev;         /* the frame that decided it (alert, RST, FIN, last frame) */
    uint8_t outcome_role;                  /* who sent the alert/RST/FIN */
    int32_t outcome_alert;                 /* alert description for FAILED_ALERT (-1 encrypted/unknown) */
    int32_t outcome_after_msg;             /* last handshake message before the outcome (-1 none) */

    bool arena_full;                       /* some details were dropped at max_conn_arena_bytes */

    /* Body lengths (ciphertext) of the first TD_FIRST_APP_DATA_LENS application-data records per role, in
     * order: enough to recognise a TLS 1.0 CBC 1/n-1 or 0/n record split (fields.c, tls.cbc_split). */
    uint32_t first_app_data_lens[2][TD_FIRST_APP_DATA_LENS];
    uint8_t num_first_app_data_lens[2];

    struct td_plaintext_start plaintext_start; /* protocol NONE when TLS began at the first byte */

    /* DTLS only (all zero for TLS over TCP). */
    uint32_t dtls_retransmitted[2];        /* per role: handshake fragments, ChangeCipherSpec and protected
                                              Finished records resent for a flight already seen (RFC 6347 §4.2.4):
                                              counted, not parsed again */
    uint32_t dtls_hello_verify_requests;   /* HelloVerifyRequest messages (RFC 6347 §4.2.1) */
    struct td_evidence dtls_hello_verify_request; /* the first one */
    uint16_t dtls_cookie_len;              /* cookie length of the first HelloVerifyRequest */
    uint32_t dtls_unified_records[2];      /* per role: DTLS 1.3 records with the unified header (RFC 9147 §4),
                                              always protected (also counted as application_data records) */
};

#endif
