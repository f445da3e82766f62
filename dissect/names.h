/* SPDX-License-Identifier: MIT */
/* names.h: code-to-name tables generated from the dissect/tables .def files (IANA registries). Unknown values never
 * fail: the *_name functions return NULL and td_name_fmt formats "unknown(0x1a1a)". */
#ifndef TD_DISSECT_NAMES_H
#define TD_DISSECT_NAMES_H

#include "../capture/base.h"

/* Handshake type name as Wireshark spells it in tls.handshake.type ("Client Hello") and our snake_case id
 * ("client_hello"). Pseudo types of facts.h are included. NULL when unknown. */
const char *td_name_handshake(int type);
const char *td_name_handshake_display(int type);
/* Alert description ("illegal_parameter"), level ("fatal"). */
const char *td_name_alert(int description);
const char *td_name_alert_level(int level);
/* Content type ("handshake"). */
const char *td_name_content_type(int type);
/* Extension ("supported_versions"). */
const char *td_name_extension(uint16_t type);
/* Named group ("x25519"). */
const char *td_name_group(uint16_t group);
/* Signature scheme ("rsa_pss_rsae_sha256"). */
const char *td_name_sig_alg(uint16_t scheme);
/* Version: "SSL 2.0", "SSL 3.0", "TLS 1.0".."TLS 1.3", "TLS 1.3 draft-22" (0x7f16), "DTLS 1.2"; NULL when unknown. */
const char *td_name_version(uint16_t version, char *buf, size_t buf_len);

/* td_version_is_dtls: a DTLS version (0xfeff DTLS 1.0, 0xfefd DTLS 1.2, 0xfefc DTLS 1.3, any other 0xfexx, and
 * OpenSSL's pre-RFC DTLS 1.0, 0x0100). */
bool td_version_is_dtls(uint16_t version);
/* td_version_tls_equivalent: the TLS version a DTLS version is based on, so that versions can be ordered and
 * compared (DTLS numbers go down as versions go up): DTLS 1.0 and 0x0100 -> TLS 1.1 (0x0302), DTLS 1.2 -> TLS 1.2
 * (0x0303), DTLS 1.3 -> TLS 1.3 (0x0304) (RFC 6347 §1, RFC 9147 §1); other 0xfexx values -> 0 (unknown).
 * Any version that is no DTLS version is returned unchanged. */
uint16_t td_version_tls_equivalent(uint16_t version);

/* A cipher suite from the IANA TLS Cipher Suites registry. */
struct td_cipher_suite {
    uint16_t code;
    const char *name;   /* IANA name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" */
    const char *kx;     /* "RSA", "DHE", "ECDHE", "DH", "ECDH", "PSK", "DHE_PSK", "ECDHE_PSK", "RSA_PSK", "SRP", "KRB5", "NULL", "TLS13", "SCSV" */
    const char *auth;   /* "RSA", "DSS", "ECDSA", "PSK", "anon", "NULL", "TLS13", ... */
    const char *cipher; /* "AES_128_GCM", "CHACHA20_POLY1305", "3DES_EDE_CBC", "RC4_128", "NULL", ... */
    const char *mac;    /* "SHA256", "SHA", "MD5", "AEAD", ... */
    bool is_cbc;        /* block cipher in CBC mode (the TLS 1.0 1/n-1 split applies) */
    bool is_export;
};
/* td_cipher_suite_find returns the registry entry, or NULL when the code is not assigned (GREASE too). */
const struct td_cipher_suite *td_cipher_suite_find(uint16_t code);

/* td_is_grease: RFC 8701 GREASE values (0x?a?a with equal bytes). */
bool td_is_grease(uint16_t v);

/* td_name_fmt returns name when non-NULL (it is not copied: the reports format every code of every hello), else
 * writes "unknown(0x%04x)" into buf and returns buf. */
const char *td_name_fmt(const char *name, unsigned value, char *buf, size_t buf_len);

#endif
