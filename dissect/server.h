/* SPDX-License-Identifier: MIT */
/* server.h: facts about one server (IP address and TCP port), aggregated over the connections to it in one
 * input file: what it negotiated, whether it asks for client certificates, how its DHE handshakes fared.
 * Rules read them through the server.* fields (fields.h). */
#ifndef TD_DISSECT_SERVER_H
#define TD_DISSECT_SERVER_H

#include "../capture/flow.h"
#include "facts.h"

/* Distinct cipher suites and failure alerts kept per server (a server negotiates a handful). */
#define TD_SERVER_MAX_CIPHERS 8
#define TD_SERVER_MAX_ALERTS 8

struct td_server_count {
    int32_t value;
    uint32_t count;
};

struct td_server_facts {
    struct td_addr addr;
    uint16_t port;
    uint8_t transport;             /* TD_TRANSPORT_TCP or TD_TRANSPORT_UDP (DTLS) */
    char name[64];                 /* "192.0.2.1:443" / "[2001:db8::1]:443" */
    char sni[128];                 /* first SNI a client asked this server for, "" when none */
    uint32_t connections;          /* TCP connections (or DTLS flows) to it */
    uint32_t tls_connections;
    uint32_t established;          /* established or resumed */
    uint32_t failed;               /* failed_alert, reset or closed before the handshake completed */
    uint16_t max_version;          /* highest version it negotiated (0: none yet) */
    uint16_t min_version;          /* lowest version it negotiated (0: none yet) */
    uint32_t version_counts[5];    /* negotiated SSL 3.0, TLS 1.0, 1.1, 1.2, 1.3 */
    uint32_t cert_requests;        /* connections in which it sent a (plaintext) CertificateRequest */
    uint64_t first_cert_request_frame;
    uint32_t tls13_connections;    /* TLS 1.3 negotiated */
    uint32_t tls13_without_pha;    /* ... by a client that did not offer post_handshake_auth */
    uint64_t first_tls13_without_pha_frame; /* the ClientHello of the first of those */
    uint32_t dhe_handshakes;       /* DHE negotiated */
    uint32_t dhe_failed;           /* of which failed before the handshake completed */
    uint32_t dhe_short_key;        /* of which Ys or Yc was shorter than p */
    uint32_t dhe_failed_short_key; /* failed and had a short key: the 1-in-256 pattern */
    uint64_t first_dhe_failed_short_key_frame;
    uint32_t renegotiations;       /* connections with handshake records after completion */
    /* Cipher suites negotiated, by count; suites past TD_SERVER_MAX_CIPHERS distinct ones count in other. */
    struct td_server_count ciphers[TD_SERVER_MAX_CIPHERS];
    uint32_t num_ciphers;
    uint32_t ciphers_other;
    /* Failures by reason: outcome (failed_alert, reset, closed, incomplete) and, for failed_alert, the alert. */
    uint32_t failed_alert, failed_reset, failed_closed, incomplete;
    struct td_server_count alerts[TD_SERVER_MAX_ALERTS]; /* value: alert description; -1 encrypted */
    uint32_t num_alerts;
    uint32_t alerts_other;
    uint64_t first_frame;          /* first frame of its first connection */
};

struct td_server_table;

/* td_server_table_new returns an empty table (NULL on allocation failure); at most max_servers are tracked,
 * connections to further servers are not aggregated (counted in td_server_table_dropped). */
TD_MUST_USE struct td_server_table *td_server_table_new(uint32_t max_servers);
void td_server_table_free(struct td_server_table *t);
/* td_server_table_add folds one finished connection into its server's facts and returns them (valid until the
 * table is cleared or freed), or NULL when the table is full. Connections without TLS count only as connections. */
const struct td_server_facts *td_server_table_add(struct td_server_table *t, const struct td_flow_info *info,
                                                  const struct td_tls_facts *tls);
/* td_server_table_count / td_server_table_at enumerate the servers in order of their first connection. */
size_t td_server_table_count(const struct td_server_table *t);
const struct td_server_facts *td_server_table_at(const struct td_server_table *t, size_t i);
uint64_t td_server_table_dropped(const struct td_server_table *t);
/* td_server_table_clear forgets every server (at the start of a new input file). */
void td_server_table_clear(struct td_server_table *t);

#endif
