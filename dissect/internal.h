/* SPDX-License-Identifier: MIT */
/* internal.h: the dissector's private interface between the record layer / state machine (record.c,
 * conn.c) and the message parsers (hello.c, extensions.c, certificate.c, kx.c, cert_request.c,
 * fingerprint.c). Message parsers see only complete handshake message bodies (the 4-byte header removed)
 * and never wait for more bytes. Each returns TD_ANOM_NONE or the first anomaly met; a parser fills as much of
 * *out as it could read before the anomaly. Not for use outside dissect/. */
#ifndef TD_DISSECT_INTERNAL_H
#define TD_DISSECT_INTERNAL_H

#include "../capture/arena.h"
#include "../capture/spill.h"
#include "../capture/cursor.h"
#include "facts.h"

/* ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2). Computes JA3/JA4 too. */
TD_MUST_USE enum td_anomaly td_parse_client_hello(struct td_arena *arena, struct td_cursor body,
                                                  uint16_t record_version, struct td_client_hello *out);
/* SSLv2-compatible CLIENT-HELLO (RFC 5246 Appendix E.2): body is the record after its 2-byte length
 * header, starting at msg_type (1). */
TD_MUST_USE enum td_anomaly td_parse_sslv2_client_hello(struct td_arena *arena, struct td_cursor body,
                                                        struct td_client_hello *out);
/* ServerHello or HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4); sets out->is_hrr from the magic random. */
TD_MUST_USE enum td_anomaly td_parse_server_hello(struct td_arena *arena, struct td_cursor body,
                                                  uint16_t record_version, struct td_server_hello *out);
/* Certificate (RFC 5246 §7.4.2; RFC 8446 §4.4.2 when tls13): each certificate parsed by td_cert_parse. */
TD_MUST_USE enum td_anomaly td_parse_certificate(struct td_arena *arena, struct td_cursor body, bool tls13,
                                                 struct td_cert_chain *out);
/* ServerKeyExchange for the key exchange kind of the negotiated suite (RFC 5246 §7.4.3, RFC 8422 §5.4).
 * version decides whether a signature algorithm precedes the signature (TLS 1.2). */
TD_MUST_USE enum td_anomaly td_parse_server_key_exchange(struct td_cursor body, enum td_kx_kind kind,
                                                         uint16_t version, struct td_kx_facts *out);
/* ClientKeyExchange (RFC 5246 §7.4.7): DHE Yc, ECDHE point, RSA encrypted premaster (SSL 3.0 has no
 * length prefix on the RSA value). */
TD_MUST_USE enum td_anomaly td_parse_client_key_exchange(struct td_cursor body, enum td_kx_kind kind,
                                                         uint16_t version, struct td_kx_facts *out);
/* CertificateRequest (RFC 5246 §7.4.4 (TLS 1.2 adds signature algorithms); RFC 4346/2246 without them;
 * RFC 8446 §4.3.2 when tls13). A certificate_authorities list whose names overrun it is recorded as
 * ca_list_well_formed = false (the Schannel truncation signature, KB 2801679) and the anomaly returned. */
TD_MUST_USE enum td_anomaly td_parse_certificate_request(struct td_arena *arena, struct td_cursor body,
                                                         uint16_t version, bool tls13, struct td_cert_request *out);
/* td_kx_from_cipher: the key exchange kind of a suite (TLS 1.3 suites: TD_KX_TLS13). */
enum td_kx_kind td_kx_from_cipher(uint16_t cipher);

/* td_escape_string copies n wire bytes into the arena as printable ASCII: bytes outside 0x20..0x7e and the
 * backslash become \xNN. Only TD_ESCAPE_MAX_IN input bytes are escaped (longer strings end in "...", so one
 * hostile name cannot fill the connection arena); it asks the arena for min(n, TD_ESCAPE_MAX_IN) * 4 + 4
 * bytes. Returns NULL when the arena is full. */
#define TD_ESCAPE_MAX_IN 1024u
char *td_escape_string(struct td_arena *arena, struct td_cursor bytes);

#endif
