/* SPDX-License-Identifier: MIT */
/* extensions.h: private interface between hello.c and extensions.c: the hello parse context and the
 * extension-block parsers for ClientHello and ServerHello (RFC 8446 §4.2, RFC 5246 §7.4.1.4). */
#ifndef TD_DISSECT_EXTENSIONS_H
#define TD_DISSECT_EXTENSIONS_H

#include "internal.h"

/* Extension types the hello parsers look into (IANA TLS ExtensionType Values). */
#define TD_EXT_SERVER_NAME 0
#define TD_EXT_SUPPORTED_GROUPS 10
#define TD_EXT_EC_POINT_FORMATS 11
#define TD_EXT_SIGNATURE_ALGORITHMS 13
#define TD_EXT_ALPN 16
#define TD_EXT_EXTENDED_MASTER_SECRET 23
#define TD_EXT_SESSION_TICKET 35
#define TD_EXT_KEY_SHARE_DRAFT 40 /* key_share in TLS 1.3 drafts up to -22 */
#define TD_EXT_PRE_SHARED_KEY 41
#define TD_EXT_EARLY_DATA 42
#define TD_EXT_SUPPORTED_VERSIONS 43
#define TD_EXT_POST_HANDSHAKE_AUTH 49
#define TD_EXT_KEY_SHARE 51
#define TD_EXT_RENEGOTIATION_INFO 0xff01

/* One hello being parsed: where to allocate, the first protocol anomaly met, and whether the arena
 * refused an allocation (details were dropped). */
struct td_hello_parse {
    struct td_arena *arena;
    enum td_anomaly anomaly;
    bool lost;
};

/* td_hello_note records a as the hello's anomaly unless one was already recorded. */
void td_hello_note(struct td_hello_parse *hp, enum td_anomaly a);
/* td_hello_result: the anomaly to return: the first protocol anomaly, else ARENA_FULL when details were
 * dropped, else NONE. */
enum td_anomaly td_hello_result(const struct td_hello_parse *hp);

/* td_hello_get_u16_list reads every whole u16 of vec into an arena array (out is left empty when the arena
 * is full: hp->lost is set). Returns false when vec has an odd length (the last byte is ignored). */
TD_MUST_USE bool td_hello_get_u16_list(struct td_hello_parse *hp, struct td_cursor vec, struct td_u16_list *out);

/* td_extensions_parse_client parses the body of ClientHello.extensions (the u16 length already removed):
 * every type goes to ch->extensions in order; known bodies fill ch. A malformed extension is noted
 * (EXTENSION_MALFORMED) and the next one is still parsed; a repeated type notes EXTENSION_DUPLICATE. */
void td_extensions_parse_client(struct td_hello_parse *hp, struct td_cursor block, struct td_client_hello *ch);
/* td_extensions_parse_server: the same for ServerHello/HelloRetryRequest (sh->is_hrr must already be set,
 * key_share differs). */
void td_extensions_parse_server(struct td_hello_parse *hp, struct td_cursor block, struct td_server_hello *sh);

#endif
