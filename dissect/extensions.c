/* SPDX-License-Identifier: MIT */
/* extensions.c: the extension blocks of ClientHello and ServerHello, each extension parsed inside its own
 * sub-cursor so one bad extension is recorded and the next one is still read.
 * Specification: RFC 8446 §4.2 (extension syntax, supported_versions §4.2.1, signature_algorithms §4.2.3,
 * supported_groups §4.2.7, key_share §4.2.8, pre_shared_key §4.2.11, early_data §4.2.10,
 * post_handshake_auth §4.2.6); RFC 6066 §3 (server_name); RFC 7301 §3.1 (ALPN); RFC 8422 §5.1.2
 * (ec_point_formats); RFC 5746 §3.2 (renegotiation_info); RFC 7627 §5.1 (extended_master_secret);
 * RFC 5077 §3.2 (session_ticket); draft-ietf-tls-tls13-16..22 (key_share was type 40). */
#include "extensions.h"

#include <string.h>

void td_hello_note(struct td_hello_parse *hp, enum td_anomaly a)
{
    if (hp->anomaly == TD_ANOM_NONE) {
        hp->anomaly = a;
    }
}

enum td_anomaly td_hello_result(const struct td_hello_parse *hp)
{
    if (hp->anomaly != TD_ANOM_NONE) {
        return hp->anomaly;
    }
    return hp->lost ? TD_ANOM_ARENA_FULL : TD_ANOM_NONE;
}

bool td_hello_get_u16_list(struct td_hello_parse *hp, struct td_cursor vec, struct td_u16_list *out)
{
    bool even = td_cursor_len(&vec) % 2 == 0;
    size_t num = td_cursor_len(&vec) / 2; // at most 2^23: the vector length is at most a u24
    out->v = NULL;
    out->num = 0;
    if (num == 0) {
        return even;
    }
    uint16_t *v = td_arena_alloc(hp->arena, num * sizeof *v);
    if (v == NULL) {
        hp->lost = true;
        return even;
    }
    uint32_t n = 0;
    while (n < num && td_cursor_get_u16(&vec, &v[n])) {
        n++;
    }
    out->v = v;
    out->num = n;
    return even;
}

/* escape: an escaped arena copy of bytes, or NULL (and hp->lost) when the arena is full. */
static char *escape(struct td_hello_parse *hp, struct td_cursor bytes)
{
    char *s = td_escape_string(hp->arena, bytes);
    if (s == NULL) {
        hp->lost = true;
    }
    return s;
}

/* u16 vector with a length prefix of prefix_len bytes (1 or 2), even and non-empty, into out. */
static bool get_u16_vector(struct td_hello_parse *hp, struct td_cursor *body, int prefix_len,
                           struct td_u16_list *out)
{
    struct td_cursor vec;
    bool got = prefix_len == 1 ? td_cursor_get_u8_prefixed(body, &vec) : td_cursor_get_u16_prefixed(body, &vec);
    if (!got || td_cursor_len(&vec) == 0) {
        return false;
    }
    return td_hello_get_u16_list(hp, vec, out);
}

/* Each handler parses one extension body. It returns false when the body does not match the syntax;
 * the caller also requires the body to be used up. Presence flags are set before any check, so a
 * malformed extension still counts as sent. */
typedef bool client_ext_fn(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch);
typedef bool server_ext_fn(struct td_hello_parse *hp, struct td_cursor *body, struct td_server_hello *sh);

/* struct { NameType name_type; select (name_type) { case host_name: HostName; } name; } ServerName;
 * opaque HostName<1..2^16-1>; struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
 * (RFC 6066 §3). Every name type seen in practice is u16-length-prefixed, so all are walked. */
static bool client_server_name(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    struct td_cursor list;
    if (!td_cursor_get_u16_prefixed(body, &list) || td_cursor_len(&list) == 0) {
        return false;
    }
    bool found = false;
    while (td_cursor_len(&list) > 0) {
        uint8_t name_type;
        struct td_cursor name;
        if (!td_cursor_get_u8(&list, &name_type) || !td_cursor_get_u16_prefixed(&list, &name) ||
            td_cursor_len(&name) == 0) {
            return false;
        }
        if (name_type == 0 && !found) {
            found = true;
            ch->sni = escape(hp, name);
        }
    }
    return true;
}

/* ProtocolVersion versions<2..254> (RFC 8446 §4.2.1, ClientHello form). */
static bool client_supported_versions(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    return get_u16_vector(hp, body, 1, &ch->supported_versions);
}

/* NamedGroup named_group_list<2..2^16-1> (RFC 8446 §4.2.7). */
static bool client_supported_groups(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    return get_u16_vector(hp, body, 2, &ch->groups);
}

/* SignatureScheme supported_signature_algorithms<2..2^16-2> (RFC 8446 §4.2.3). */
static bool client_signature_algorithms(struct td_hello_parse *hp, struct td_cursor *body,
                                        struct td_client_hello *ch)
{
    return get_u16_vector(hp, body, 2, &ch->sig_algs);
}

/* ECPointFormat ec_point_format_list<1..2^8-1> (RFC 8422 §5.1.2); u8 values widened to u16. */
static bool client_ec_point_formats(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    struct td_cursor vec;
    if (!td_cursor_get_u8_prefixed(body, &vec) || td_cursor_len(&vec) == 0) {
        return false;
    }
    size_t num = td_cursor_len(&vec);
    uint16_t *v = td_arena_alloc(hp->arena, num * sizeof *v);
    if (v == NULL) {
        hp->lost = true;
        return true;
    }
    uint32_t n = 0;
    uint8_t format;
    while (n < num && td_cursor_get_u8(&vec, &format)) {
        v[n++] = format;
    }
    ch->ec_point_formats.v = v;
    ch->ec_point_formats.num = n;
    return true;
}

/* struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry;
 * struct { KeyShareEntry client_shares<0..2^16-1>; } KeyShareClientHello; (RFC 8446 §4.2.8) */
static bool client_key_share(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    struct td_cursor shares;
    if (!td_cursor_get_u16_prefixed(body, &shares)) {
        return false;
    }
    // First pass: validate and count, so the array is sized by what is really there.
    struct td_cursor scan = shares;
    uint32_t num = 0;
    while (td_cursor_len(&scan) > 0) {
        uint16_t group;
        struct td_cursor key;
        if (!td_cursor_get_u16(&scan, &group) || !td_cursor_get_u16_prefixed(&scan, &key) ||
            td_cursor_len(&key) == 0) {
            return false;
        }
        num++;
    }
    ch->key_shares = NULL;
    ch->num_key_shares = 0;
    if (num == 0) {
        return true;
    }
    struct td_key_share_entry *e = td_arena_alloc(hp->arena, num * sizeof *e);
    if (e == NULL) {
        hp->lost = true;
        return true;
    }
    uint32_t n = 0;
    struct td_cursor key;
    while (n < num && td_cursor_get_u16(&shares, &e[n].group) && td_cursor_get_u16_prefixed(&shares, &key)) {
        e[n].key_len = (uint16_t)td_cursor_len(&key); // u16-prefixed: fits
        n++;
    }
    ch->key_shares = e;
    ch->num_key_shares = n;
    return true;
}

/* struct { opaque renegotiated_connection<0..255>; } RenegotiationInfo; (RFC 5746 §3.2) */
static bool client_renegotiation_info(struct td_hello_parse *hp, struct td_cursor *body,
                                      struct td_client_hello *ch)
{
    (void)hp;
    struct td_cursor verify_data;
    ch->has_renegotiation_info = true;
    return td_cursor_get_u8_prefixed(body, &verify_data);
}

/* opaque ProtocolName<1..2^8-1>; struct { ProtocolName protocol_name_list<2..2^16-1> }
 * ProtocolNameList; (RFC 7301 §3.1) */
static bool client_alpn(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    struct td_cursor list;
    if (!td_cursor_get_u16_prefixed(body, &list) || td_cursor_len(&list) < 2) {
        return false;
    }
    struct td_cursor scan = list;
    uint32_t num = 0;
    while (td_cursor_len(&scan) > 0) {
        struct td_cursor name;
        if (!td_cursor_get_u8_prefixed(&scan, &name) || td_cursor_len(&name) == 0) {
            return false;
        }
        num++;
    }
    char **names = td_arena_alloc(hp->arena, num * sizeof *names);
    if (names == NULL) {
        hp->lost = true;
        return true;
    }
    uint32_t n = 0;
    struct td_cursor name;
    while (n < num && td_cursor_get_u8_prefixed(&list, &name)) {
        names[n] = escape(hp, name);
        if (names[n] == NULL) {
            break; // keep the names that fit
        }
        n++;
    }
    ch->alpn = names;
    ch->num_alpn = n;
    return true;
}

/* The flag-only extensions. extended_master_secret, post_handshake_auth and the ClientHello early_data
 * have empty bodies (RFC 7627 §5.1, RFC 8446 §4.2.6, §4.2.10): the caller checks the body is used up. */
static bool client_extended_master_secret(struct td_hello_parse *hp, struct td_cursor *body,
                                          struct td_client_hello *ch)
{
    (void)hp;
    (void)body;
    ch->has_extended_master_secret = true;
    return true;
}

static bool client_post_handshake_auth(struct td_hello_parse *hp, struct td_cursor *body,
                                       struct td_client_hello *ch)
{
    (void)hp;
    (void)body;
    ch->has_post_handshake_auth = true;
    return true;
}

static bool client_early_data(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    (void)hp;
    (void)body;
    ch->has_early_data = true;
    return true;
}

/* SessionTicket: an opaque ticket, empty to ask for one (RFC 5077 §3.2). */
static bool client_session_ticket(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    (void)hp;
    ch->has_session_ticket = true;
    return td_cursor_skip(body, td_cursor_len(body));
}

/* struct { PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>; } OfferedPsks;
 * (RFC 8446 §4.2.11) */
static bool client_pre_shared_key(struct td_hello_parse *hp, struct td_cursor *body, struct td_client_hello *ch)
{
    (void)hp;
    struct td_cursor identities, binders;
    ch->has_pre_shared_key = true;
    return td_cursor_get_u16_prefixed(body, &identities) && td_cursor_len(&identities) >= 7 &&
           td_cursor_get_u16_prefixed(body, &binders) && td_cursor_len(&binders) >= 33;
}

struct client_ext_handler {
    uint16_t type;
    bool lenient; /* a failure is not reported: the type may mean something else today */
    client_ext_fn *parse;
};

static const struct client_ext_handler client_handlers[] = {
    {TD_EXT_SERVER_NAME, false, client_server_name},
    {TD_EXT_SUPPORTED_GROUPS, false, client_supported_groups},
    {TD_EXT_EC_POINT_FORMATS, false, client_ec_point_formats},
    {TD_EXT_SIGNATURE_ALGORITHMS, false, client_signature_algorithms},
    {TD_EXT_ALPN, false, client_alpn},
    {TD_EXT_EXTENDED_MASTER_SECRET, false, client_extended_master_secret},
    {TD_EXT_SESSION_TICKET, false, client_session_ticket},
    {TD_EXT_KEY_SHARE_DRAFT, true, client_key_share},
    {TD_EXT_PRE_SHARED_KEY, false, client_pre_shared_key},
    {TD_EXT_EARLY_DATA, false, client_early_data},
    {TD_EXT_SUPPORTED_VERSIONS, false, client_supported_versions},
    {TD_EXT_POST_HANDSHAKE_AUTH, false, client_post_handshake_auth},
    {TD_EXT_KEY_SHARE, false, client_key_share},
    {TD_EXT_RENEGOTIATION_INFO, false, client_renegotiation_info},
};

/* supported_versions in ServerHello/HRR: ProtocolVersion selected_version (RFC 8446 §4.2.1). */
static bool server_supported_versions(struct td_hello_parse *hp, struct td_cursor *body,
                                      struct td_server_hello *sh)
{
    (void)hp;
    return td_cursor_get_u16(body, &sh->selected_version);
}

/* struct { KeyShareEntry server_share; } KeyShareServerHello;
 * struct { NamedGroup selected_group; } KeyShareHelloRetryRequest; (RFC 8446 §4.2.8) */
static bool server_key_share(struct td_hello_parse *hp, struct td_cursor *body, struct td_server_hello *sh)
{
    (void)hp;
    uint16_t group;
    struct td_cursor key;
    if (!td_cursor_get_u16(body, &group)) {
        return false;
    }
    if (sh->is_hrr) {
        sh->key_share_group = group;
        return true;
    }
    if (!td_cursor_get_u16_prefixed(body, &key) || td_cursor_len(&key) == 0) {
        return false;
    }
    sh->key_share_group = group;
    sh->key_share_len = (uint16_t)td_cursor_len(&key); // u16-prefixed: fits
    return true;
}

static bool server_renegotiation_info(struct td_hello_parse *hp, struct td_cursor *body,
                                      struct td_server_hello *sh)
{
    (void)hp;
    struct td_cursor verify_data;
    sh->has_renegotiation_info = true;
    return td_cursor_get_u8_prefixed(body, &verify_data);
}

/* The server's ProtocolNameList holds exactly one name (RFC 7301 §3.1). */
static bool server_alpn(struct td_hello_parse *hp, struct td_cursor *body, struct td_server_hello *sh)
{
    struct td_cursor list, name;
    if (!td_cursor_get_u16_prefixed(body, &list) || !td_cursor_get_u8_prefixed(&list, &name) ||
        td_cursor_len(&name) == 0 || td_cursor_len(&list) != 0) {
        return false;
    }
    sh->alpn = escape(hp, name);
    return true;
}

static bool server_extended_master_secret(struct td_hello_parse *hp, struct td_cursor *body,
                                          struct td_server_hello *sh)
{
    (void)hp;
    (void)body;
    sh->has_extended_master_secret = true;
    return true;
}

/* The server sends session_ticket empty (RFC 5077 §3.2). */
static bool server_session_ticket(struct td_hello_parse *hp, struct td_cursor *body, struct td_server_hello *sh)
{
    (void)hp;
    (void)body;
    sh->has_session_ticket = true;
    return true;
}

/* ServerHello pre_shared_key: uint16 selected_identity (RFC 8446 §4.2.11). */
static bool server_pre_shared_key(struct td_hello_parse *hp, struct td_cursor *body, struct td_server_hello *sh)
{
    (void)hp;
    uint16_t selected_identity;
    sh->has_pre_shared_key = true;
    return td_cursor_get_u16(body, &selected_identity);
}

struct server_ext_handler {
    uint16_t type;
    bool lenient;
    server_ext_fn *parse;
};

static const struct server_ext_handler server_handlers[] = {
    {TD_EXT_ALPN, false, server_alpn},
    {TD_EXT_EXTENDED_MASTER_SECRET, false, server_extended_master_secret},
    {TD_EXT_SESSION_TICKET, false, server_session_ticket},
    {TD_EXT_KEY_SHARE_DRAFT, true, server_key_share},
    {TD_EXT_PRE_SHARED_KEY, false, server_pre_shared_key},
    {TD_EXT_SUPPORTED_VERSIONS, false, server_supported_versions},
    {TD_EXT_KEY_SHARE, false, server_key_share},
    {TD_EXT_RENEGOTIATION_INFO, false, server_renegotiation_info},
};

/* struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension; (RFC 8446 §4.2)
 * count_extensions walks the block once to size the type list by what is really there. */
static uint32_t count_extensions(struct td_cursor block)
{
    uint32_t num = 0;
    uint16_t type;
    struct td_cursor body;
    while (td_cursor_get_u16(&block, &type) && td_cursor_get_u16_prefixed(&block, &body)) {
        num++;
    }
    return num;
}

/* A walk over one extension block: the type list, and a bitmap of the types seen for duplicates
 * (one bit per possible type: 8 KiB, cheaper than comparing each type with all earlier ones). */
struct ext_walk {
    struct td_cursor block;
    struct td_u16_list *types;
    uint32_t cap;
    uint64_t seen[65536 / 64];
};

static void walk_init(struct td_hello_parse *hp, struct ext_walk *w, struct td_cursor block,
                      struct td_u16_list *types)
{
    w->block = block;
    w->types = types;
    memset(w->seen, 0, sizeof w->seen);
    types->v = NULL;
    types->num = 0;
    w->cap = count_extensions(block);
    if (w->cap == 0) {
        return;
    }
    types->v = td_arena_alloc(hp->arena, w->cap * sizeof *types->v);
    if (types->v == NULL) {
        hp->lost = true;
        w->cap = 0;
    }
}

/* walk_next reads the next extension header. Returns false at the end of the block, or when the header or
 * body overruns it (noted as EXTENSION_MALFORMED: nothing after it can be located). *is_dup tells the
 * caller to skip the body of a repeated type: the first occurrence is the one kept. */
static bool walk_next(struct td_hello_parse *hp, struct ext_walk *w, uint16_t *type, struct td_cursor *body,
                      bool *is_dup)
{
    if (td_cursor_len(&w->block) == 0) {
        return false;
    }
    if (!td_cursor_get_u16(&w->block, type) || !td_cursor_get_u16_prefixed(&w->block, body)) {
        td_hello_note(hp, TD_ANOM_EXTENSION_MALFORMED);
        return false;
    }
    if (w->types->num < w->cap) {
        w->types->v[w->types->num++] = *type;
    }
    uint64_t bit = UINT64_C(1) << (*type % 64);
    *is_dup = (w->seen[*type / 64] & bit) != 0;
    w->seen[*type / 64] |= bit;
    if (*is_dup) {
        td_hello_note(hp, TD_ANOM_EXTENSION_DUPLICATE);
    }
    return true;
}

/* finish_ext applies the per-extension verdict: the handler's result and an exhausted body. */
static void finish_ext(struct td_hello_parse *hp, bool ok, bool lenient, const struct td_cursor *body)
{
    if ((!ok || td_cursor_len(body) != 0) && !lenient) {
        td_hello_note(hp, TD_ANOM_EXTENSION_MALFORMED);
    }
}

void td_extensions_parse_client(struct td_hello_parse *hp, struct td_cursor block, struct td_client_hello *ch)
{
    struct ext_walk w;
    uint16_t type;
    struct td_cursor body;
    bool is_dup;
    walk_init(hp, &w, block, &ch->extensions);
    while (walk_next(hp, &w, &type, &body, &is_dup)) {
        if (is_dup) {
            continue;
        }
        for (size_t i = 0; i < sizeof client_handlers / sizeof client_handlers[0]; i++) {
            if (client_handlers[i].type == type) {
                bool ok = client_handlers[i].parse(hp, &body, ch);
                finish_ext(hp, ok, client_handlers[i].lenient, &body);
                break;
            }
        }
    }
}

void td_extensions_parse_server(struct td_hello_parse *hp, struct td_cursor block, struct td_server_hello *sh)
{
    struct ext_walk w;
    uint16_t type;
    struct td_cursor body;
    bool is_dup;
    walk_init(hp, &w, block, &sh->extensions);
    while (walk_next(hp, &w, &type, &body, &is_dup)) {
        if (is_dup) {
            continue;
        }
        for (size_t i = 0; i < sizeof server_handlers / sizeof server_handlers[0]; i++) {
            if (server_handlers[i].type == type) {
                bool ok = server_handlers[i].parse(hp, &body, sh);
                finish_ext(hp, ok, server_handlers[i].lenient, &body);
                break;
            }
        }
    }
}
