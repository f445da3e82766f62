/* SPDX-License-Identifier: MIT */
/* tds.c: strips SQL Server's TDS packet headers from a direction while the TLS handshake travels inside PRELOGIN
 * packets, and notices where raw TLS records take over; names the plaintext phase before TLS and refines it
 * with nDPI's classification. [MS-TDS] §2.2.3.1 (packet header), §2.2.6.5 (PRELOGIN), §3.2.5.2 and §3.3.5.2
 * (TLS exchange in PRELOGIN, then TLS over the raw stream). */
#include "tds.h"

#include <string.h>

/* TDS packet types ([MS-TDS] §2.2.3.1.1): 1 SQL batch, 2 pre-TDS7 login, 3 RPC, 4 tabular result,
 * 6 attention, 7 bulk load, 8 federated auth token, 0x0E transaction manager, 0x10 LOGIN7, 0x11 SSPI,
 * 0x12 PRELOGIN. */
static bool is_tds_type(uint8_t type)
{
    return (type >= 1 && type <= 4) || (type >= 6 && type <= 8) || type == 0x0e || (type >= 0x10 && type <= 0x12);
}

static bool is_tls_content_type(uint8_t b) { return b >= TD_CT_CHANGE_CIPHER_SPEC && b <= TD_CT_HEARTBEAT; }

/* PacketHeader: Type (1), Status (1), Length (2, big-endian, header included), SPID (2), PacketID (1),
 * Window (1, always 0)  ([MS-TDS] §2.2.3.1) */
bool td_tds_header_plausible(const struct td_cursor *in, bool server_answer)
{
    struct td_cursor h = *in;
    uint8_t type, status, packet_id, window;
    uint16_t len, spid;
    if (!td_cursor_get_u8(&h, &type) || !td_cursor_get_u8(&h, &status) || !td_cursor_get_u16(&h, &len) ||
        !td_cursor_get_u16(&h, &spid) || !td_cursor_get_u8(&h, &packet_id) || !td_cursor_get_u8(&h, &window)) {
        return false;
    }
    uint8_t want = server_answer ? TD_TDS_TABULAR_RESULT : TD_TDS_PRELOGIN;
    // Status bits above 0x1f are unassigned; a PRELOGIN holds at least its option terminator (0xFF).
    return type == want && (status & 0xe0u) == 0 && len > TD_TDS_HEADER_LEN && len <= TD_TDS_MAX_PACKET_LEN &&
           window == 0;
}

void td_tds_unwrap_start(struct td_tds_unwrap *u)
{
    memset(u, 0, sizeof(*u));
    u->state = TD_TDS_HEADER;
}

enum td_tds_step td_tds_unwrap_next(struct td_tds_unwrap *u, struct td_cursor *in, struct td_cursor *payload,
                                    bool *packet_end, uint8_t *packet_type)
{
    *packet_end = false;
    *packet_type = u->type;
    if (u->state == TD_TDS_HEADER && u->hdr_len == 0) {
        uint8_t b;
        if (!td_cursor_peek_u8(in, &b)) {
            return TD_TDS_STEP_NEED_MORE;
        }
        if (is_tls_content_type(b)) {
            // Handshake done: [MS-TDS] §3.3.5.2 "all subsequent traffic ... is TLS", without TDS framing.
            u->state = TD_TDS_RAW;
            return TD_TDS_STEP_RAW;
        }
    }
    if (u->state == TD_TDS_HEADER) {
        size_t n = TD_TDS_HEADER_LEN - u->hdr_len;
        if (n > td_cursor_len(in)) {
            n = td_cursor_len(in);
        }
        if (!td_cursor_copy(in, &u->hdr[u->hdr_len], n)) {
            return TD_TDS_STEP_NEED_MORE;
        }
        u->hdr_len = (uint8_t)(u->hdr_len + n);
        if (u->hdr_len < TD_TDS_HEADER_LEN) {
            return TD_TDS_STEP_NEED_MORE;
        }
        struct td_cursor h;
        td_cursor_init(&h, u->hdr, sizeof(u->hdr), 0);
        uint8_t type, status;
        uint16_t len;
        u->hdr_len = 0;
        if (!td_cursor_get_u8(&h, &type) || !td_cursor_get_u8(&h, &status) || !td_cursor_get_u16(&h, &len) ||
            len < TD_TDS_HEADER_LEN || !is_tds_type(type)) {
            u->state = TD_TDS_OFF;
            return TD_TDS_STEP_MALFORMED;
        }
        u->type = type;
        *packet_type = type;
        u->left = (uint16_t)(len - TD_TDS_HEADER_LEN);
        if (u->left == 0) {
            // An empty packet (legal for a final EOM packet): nothing to hand on.
            td_cursor_init(payload, NULL, 0, td_cursor_off(in));
            *packet_end = true;
            return TD_TDS_STEP_PAYLOAD;
        }
        u->state = TD_TDS_PAYLOAD;
    }
    if (u->state != TD_TDS_PAYLOAD || td_cursor_len(in) == 0) {
        return TD_TDS_STEP_NEED_MORE;
    }
    size_t n = td_cursor_len(in) < u->left ? td_cursor_len(in) : u->left;
    if (!td_cursor_get_bytes(in, payload, n)) {
        return TD_TDS_STEP_NEED_MORE;
    }
    u->left = (uint16_t)(u->left - n);
    if (u->left == 0) {
        u->state = TD_TDS_HEADER;
        *packet_end = true;
    }
    return TD_TDS_STEP_PAYLOAD;
}

bool td_tds_unwrap_gap(struct td_tds_unwrap *u, uint64_t len)
{
    if (u->state == TD_TDS_PAYLOAD && len < u->left) {
        u->left = (uint16_t)(u->left - len);
        return true;
    }
    if (u->state == TD_TDS_PAYLOAD && len == u->left) {
        u->left = 0;
        u->state = TD_TDS_HEADER;
        return true;
    }
    if (u->state == TD_TDS_RAW || u->state == TD_TDS_OFF) {
        return u->state == TD_TDS_RAW;
    }
    u->state = TD_TDS_OFF;
    return false;
}

/* ---- the plaintext phase ---- */

static const char *const proto_names[] = {
    [TD_PLAINTEXT_NONE] = NULL,         [TD_PLAINTEXT_UNKNOWN] = "unknown", [TD_PLAINTEXT_SMTP] = "smtp",
    [TD_PLAINTEXT_IMAP] = "imap",       [TD_PLAINTEXT_POP3] = "pop3",       [TD_PLAINTEXT_FTP] = "ftp",
    [TD_PLAINTEXT_LDAP] = "ldap",       [TD_PLAINTEXT_XMPP] = "xmpp",       [TD_PLAINTEXT_POSTGRES] = "postgres",
    [TD_PLAINTEXT_RDP] = "rdp",         [TD_PLAINTEXT_TDS] = "tds",         [TD_PLAINTEXT_MYSQL] = "mysql",
    [TD_PLAINTEXT_IRC] = "irc",
};

const char *td_plaintext_proto_name(enum td_plaintext_proto p)
{
    if ((size_t)p >= sizeof(proto_names) / sizeof(proto_names[0])) {
        return "unknown";
    }
    return proto_names[p];
}

const char *td_plaintext_source_name(enum td_plaintext_source s)
{
    switch (s) {
    case TD_PLAINTEXT_FROM_GREETING:
        return "greeting";
    case TD_PLAINTEXT_FROM_REQUEST:
        return "request";
    case TD_PLAINTEXT_FROM_NDPI:
        return "ndpi";
    case TD_PLAINTEXT_FROM_NONE:
        break;
    }
    return NULL;
}

/* nDPI 4.2's protocol names (ndpi_main.c, ndpi_init_protocol_defaults) for the protocols that start TLS after
 * plaintext; the implicit-TLS names (SMTPS, IMAPS, ...) are there because nDPI gives them to a STARTTLS flow once
 * it has seen the TLS that followed. */
static const struct {
    const char *ndpi;
    enum td_plaintext_proto proto;
} ndpi_names[] = {
    {"SMTP", TD_PLAINTEXT_SMTP},         {"SMTPS", TD_PLAINTEXT_SMTP},   {"IMAP", TD_PLAINTEXT_IMAP},
    {"IMAPS", TD_PLAINTEXT_IMAP},        {"POP3", TD_PLAINTEXT_POP3},    {"POPS", TD_PLAINTEXT_POP3},
    {"FTP_CONTROL", TD_PLAINTEXT_FTP},   {"FTPS", TD_PLAINTEXT_FTP},     {"LDAP", TD_PLAINTEXT_LDAP},
    {"Jabber", TD_PLAINTEXT_XMPP},       {"PostgreSQL", TD_PLAINTEXT_POSTGRES}, {"RDP", TD_PLAINTEXT_RDP},
    {"MsSQL-TDS", TD_PLAINTEXT_TDS},     {"MySQL", TD_PLAINTEXT_MYSQL},  {"IRC", TD_PLAINTEXT_IRC},
};

struct td_plaintext_start td_plaintext_start_resolve(const struct td_plaintext_start *ps, const char *ndpi_app)
{
    struct td_plaintext_start out = *ps;
    if (ps->protocol == TD_PLAINTEXT_NONE || ps->source == TD_PLAINTEXT_FROM_REQUEST || ndpi_app == NULL) {
        return out;
    }
    for (size_t i = 0; i < sizeof(ndpi_names) / sizeof(ndpi_names[0]); i++) {
        if (strcmp(ndpi_app, ndpi_names[i].ndpi) == 0) {
            if (out.protocol == (uint8_t)ndpi_names[i].proto) {
                return out; // nDPI agrees with the greeting: the greeting stays the evidence
            }
            out.protocol = (uint8_t)ndpi_names[i].proto;
            out.source = TD_PLAINTEXT_FROM_NDPI;
            return out;
        }
    }
    return out;
}
