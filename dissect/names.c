/* SPDX-License-Identifier: MIT */
/* names.c: code-to-name lookups over the X-macro tables in dissect/tables (IANA TLS registries: cipher suites,
 * alerts, handshake types, content types, extensions, supported groups, signature schemes; RFC 8701 GREASE). */
#include "names.h"

#include "facts.h"

#include <stdio.h>

const char *td_name_handshake(int type)
{
    switch (type) {
#define TD_HS(code, id, display)                                                                   \
    case code:                                                                                     \
        return id;
#include "tables/handshake_types.def"
#undef TD_HS
    default:
        return NULL;
    }
}

const char *td_name_handshake_display(int type)
{
    switch (type) {
#define TD_HS(code, id, display)                                                                   \
    case code:                                                                                     \
        return display;
#include "tables/handshake_types.def"
#undef TD_HS
    default:
        return NULL;
    }
}

const char *td_name_alert(int description)
{
    switch (description) {
#define TD_ALERT(code, name, display)                                                              \
    case code:                                                                                     \
        return name;
#include "tables/alerts.def"
#undef TD_ALERT
    default:
        return NULL;
    }
}

const char *td_name_alert_level(int level)
{
    switch (level) {
    case 1:
        return "warning";
    case 2:
        return "fatal";
    default:
        return NULL;
    }
}

const char *td_name_content_type(int type)
{
    switch (type) {
#define TD_CT(code, name)                                                                          \
    case code:                                                                                     \
        return name;
#include "tables/content_types.def"
#undef TD_CT
    default:
        return NULL;
    }
}

const char *td_name_extension(uint16_t type)
{
    switch (type) {
#define TD_EXT(code, name)                                                                         \
    case code:                                                                                     \
        return name;
#include "tables/extensions.def"
#undef TD_EXT
    default:
        return NULL;
    }
}

const char *td_name_group(uint16_t group)
{
    switch (group) {
#define TD_GROUP(code, name)                                                                       \
    case code:                                                                                     \
        return name;
#include "tables/groups.def"
#undef TD_GROUP
    default:
        return NULL;
    }
}

const char *td_name_sig_alg(uint16_t scheme)
{
    switch (scheme) {
#define TD_SIG(code, name)                                                                         \
    case code:                                                                                     \
        return name;
#include "tables/sig_algs.def"
#undef TD_SIG
    default:
        return NULL;
    }
}

const char *td_name_version(uint16_t version, char *buf, size_t buf_len)
{
    switch (version) {
#define TD_VERSION(code, name)                                                                     \
    case code:                                                                                     \
        return name;
#include "tables/versions.def"
#undef TD_VERSION
    default:
        break;
    }
    // TLS 1.3 drafts used 0x7f00 | draft number (draft-ietf-tls-tls13 §4.2.1 in each draft), Facebook's
    // Fizz 0xfb00 | draft number. Wireshark names drafts 14..28; any 0x7fNN is formatted the same way.
    const char *prefix = NULL;
    if ((version >> 8) == 0x7f) {
        prefix = "";
    } else if (version == 0xfb17 || version == 0xfb1a) {
        prefix = "Facebook ";
    }
    if (prefix == NULL || buf == NULL || buf_len == 0) {
        return NULL;
    }
    int n = snprintf(buf, buf_len, "TLS 1.3 %sdraft-%u", prefix, (unsigned)(version & 0xffu));
    if (n < 0 || (size_t)n >= buf_len) {
        return NULL;
    }
    return buf;
}

bool td_version_is_dtls(uint16_t version)
{
    return (version >> 8) == 0xfe || version == TD_VERSION_DTLS10_OPENSSL_PRE;
}

uint16_t td_version_tls_equivalent(uint16_t version)
{
    switch (version) {
    case TD_VERSION_DTLS10:
    case TD_VERSION_DTLS10_OPENSSL_PRE:
        return TD_VERSION_TLS11;
    case TD_VERSION_DTLS12:
        return TD_VERSION_TLS12;
    case TD_VERSION_DTLS13:
        return TD_VERSION_TLS13;
    default:
        return td_version_is_dtls(version) ? 0 : version;
    }
}

/* Sorted by code (the generator sorts), so td_cipher_suite_find can binary-search. */
static const struct td_cipher_suite cipher_suites[] = {
#define TD_CIPHER(code, name, kx, auth, cipher, mac, is_cbc, is_export)                            \
    {code, name, kx, auth, cipher, mac, is_cbc, is_export},
#include "tables/cipher_suites.def"
#undef TD_CIPHER
};

const struct td_cipher_suite *td_cipher_suite_find(uint16_t code)
{
    size_t lo = 0;
    size_t hi = sizeof(cipher_suites) / sizeof(cipher_suites[0]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cipher_suites[mid].code == code) {
            return &cipher_suites[mid];
        }
        if (cipher_suites[mid].code < code) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

bool td_is_grease(uint16_t v)
{
    // RFC 8701 §2: {0x0A,0x0A}, {0x1A,0x1A} ... {0xFA,0xFA}: both bytes equal, low nibble 0xA.
    return (v & 0x0f0fu) == 0x0a0au && (v >> 8) == (v & 0xffu);
}

const char *td_name_fmt(const char *name, unsigned value, char *buf, size_t buf_len)
{
    if (name != NULL || buf == NULL || buf_len == 0) {
        return name; /* a table's name (static) or one td_name_version wrote into buf: nothing to copy */
    }
    int n = snprintf(buf, buf_len, "unknown(0x%04x)", value);
    if (n < 0) {
        buf[0] = '\0';
    }
    return buf;
}
