/* SPDX-License-Identifier: MIT */
/* server.c: per-server facts (IP address and TCP port of the TLS server) aggregated over the connections of one
 * input file, in a bounded open-addressing hash table enumerated in order of first connection. */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct td_server_table {
    struct td_server_facts *servers; /* insertion order */
    uint32_t num_servers;
    uint32_t cap_servers;            /* allocated entries of servers */
    uint32_t *slots;                 /* hash index: 0 = empty, else 1 + index into servers */
    uint32_t num_slots;              /* a power of two, at least twice cap_servers */
    uint32_t max_servers;
    uint64_t dropped;
};

struct td_server_table *td_server_table_new(uint32_t max_servers)
{
    struct td_server_table *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->max_servers = max_servers;
    return t;
}

void td_server_table_free(struct td_server_table *t)
{
    if (t == NULL) {
        return;
    }
    free(t->servers);
    free(t->slots);
    free(t);
}

// FNV-1a over the transport, address and port: the key is small and the table bounded, no need for keyed hashing.
// A DTLS service on UDP 443 is another server than TLS on TCP 443 of the same host.
static uint32_t key_hash(const struct td_addr *a, uint16_t port, uint8_t transport)
{
    uint32_t h = 2166136261u;
    h = (h ^ transport) * 16777619u;
    h = (h ^ a->family) * 16777619u;
    for (size_t i = 0; i < sizeof(a->bytes); i++) {
        h = (h ^ a->bytes[i]) * 16777619u;
    }
    h = (h ^ (uint32_t)(port >> 8)) * 16777619u;
    h = (h ^ (uint32_t)(port & 0xff)) * 16777619u;
    return h;
}

static bool key_equal(const struct td_server_facts *s, const struct td_addr *a, uint16_t port, uint8_t transport)
{
    return s->port == port && s->transport == transport && s->addr.family == a->family && memcmp(s->addr.bytes, a->bytes, sizeof(a->bytes)) == 0;
}

// find_slot: the slot holding (a, port), or the empty slot where it would go.
static uint32_t find_slot(const struct td_server_table *t, const struct td_addr *a, uint16_t port, uint8_t transport)
{
    uint32_t mask = t->num_slots - 1;
    uint32_t i = key_hash(a, port, transport) & mask;
    while (t->slots[i] != 0 && !key_equal(&t->servers[t->slots[i] - 1], a, port, transport)) {
        i = (i + 1) & mask;
    }
    return i;
}

// grow: double the entry array (up to max_servers) and rebuild the index at twice its size.
static bool grow(struct td_server_table *t)
{
    uint32_t cap = t->cap_servers == 0 ? 16 : t->cap_servers * 2;
    if (cap > t->max_servers || cap < t->cap_servers) {
        cap = t->max_servers;
    }
    if (cap <= t->cap_servers || cap > UINT32_MAX / 4) {
        return false;
    }
    struct td_server_facts *servers = realloc(t->servers, (size_t)cap * sizeof(*servers));
    if (servers == NULL) {
        return false;
    }
    t->servers = servers;
    uint32_t num_slots = 32;
    while (num_slots < cap * 2) {
        num_slots *= 2;
    }
    uint32_t *slots = calloc(num_slots, sizeof(*slots));
    if (slots == NULL) {
        return false;
    }
    // Only now is the larger capacity usable: the index must stay at most half full or probing could not end.
    free(t->slots);
    t->slots = slots;
    t->num_slots = num_slots;
    t->cap_servers = cap;
    for (uint32_t k = 0; k < t->num_servers; k++) {
        t->slots[find_slot(t, &t->servers[k].addr, t->servers[k].port, t->servers[k].transport)] = k + 1;
    }
    return true;
}

static void format_name(struct td_server_facts *s)
{
    char addr[48];
    td_addr_format(&s->addr, addr, sizeof(addr));
    if (s->addr.family == 6) {
        snprintf(s->name, sizeof(s->name), "[%s]:%u", addr, (unsigned)s->port);
        return;
    }
    snprintf(s->name, sizeof(s->name), "%s:%u", addr, (unsigned)s->port);
}

static struct td_server_facts *find_or_add(struct td_server_table *t, const struct td_addr *a, uint16_t port,
                                           uint8_t transport, uint64_t first_frame)
{
    if (t->num_slots != 0) {
        uint32_t slot = find_slot(t, a, port, transport);
        if (t->slots[slot] != 0) {
            return &t->servers[t->slots[slot] - 1];
        }
    }
    if (t->num_servers >= t->max_servers) {
        return NULL;
    }
    if (t->num_servers == t->cap_servers && !grow(t)) {
        return NULL;
    }
    struct td_server_facts *s = &t->servers[t->num_servers];
    memset(s, 0, sizeof(*s));
    s->addr = *a;
    s->port = port;
    s->transport = transport;
    s->first_frame = first_frame;
    format_name(s);
    t->num_servers++;
    t->slots[find_slot(t, a, port, transport)] = t->num_servers;
    return s;
}

// TLS 1.3 drafts (0x7fxx) count as TLS 1.3; anything but SSL 2.0 .. TLS 1.3 is not a version a server negotiated.
static uint16_t normalize_version(uint16_t v)
{
    if ((v & 0xff00) == 0x7f00) {
        return TD_VERSION_TLS13;
    }
    if (v == TD_VERSION_SSL2 || (v >= TD_VERSION_SSL3 && v <= TD_VERSION_TLS13)) {
        return v;
    }
    return 0;
}

static void add_version(struct td_server_facts *s, uint16_t negotiated)
{
    uint16_t v = normalize_version(negotiated);
    if (v == 0) {
        return;
    }
    if (s->max_version == 0 || v > s->max_version) {
        s->max_version = v;
    }
    if (s->min_version == 0 || v < s->min_version) {
        s->min_version = v;
    }
    if (v >= TD_VERSION_SSL3) {
        s->version_counts[v - TD_VERSION_SSL3]++;
    }
}

// keep_first: connections are added as they end, not as they start, so "first" is the lowest frame seen.
static void keep_first(uint64_t *first, uint64_t frame)
{
    if (frame != 0 && (*first == 0 || frame < *first)) {
        *first = frame;
    }
}

static bool is_failed(enum td_outcome o)
{
    return o == TD_OUTCOME_FAILED_ALERT || o == TD_OUTCOME_RESET || o == TD_OUTCOME_CLOSED;
}

/* count_value adds one to value's entry of a small table, or to *other when the table is full. */
static void count_value(struct td_server_count *table, uint32_t *num, uint32_t max, uint32_t *other, int32_t value)
{
    for (uint32_t i = 0; i < *num; i++) {
        if (table[i].value == value) {
            table[i].count++;
            return;
        }
    }
    if (*num < max) {
        table[*num].value = value;
        table[*num].count = 1;
        (*num)++;
        return;
    }
    (*other)++;
}

static void add_outcome(struct td_server_facts *s, const struct td_tls_facts *tls)
{
    switch (tls->outcome) {
    case TD_OUTCOME_FAILED_ALERT:
        s->failed_alert++;
        count_value(s->alerts, &s->num_alerts, TD_SERVER_MAX_ALERTS, &s->alerts_other, tls->outcome_alert);
        break;
    case TD_OUTCOME_RESET:
        s->failed_reset++;
        break;
    case TD_OUTCOME_CLOSED:
        s->failed_closed++;
        break;
    case TD_OUTCOME_INCOMPLETE:
        s->incomplete++;
        break;
    default:
        break;
    }
    if (tls->cipher != 0) {
        count_value(s->ciphers, &s->num_ciphers, TD_SERVER_MAX_CIPHERS, &s->ciphers_other, tls->cipher);
    }
}

static void add_dhe(struct td_server_facts *s, const struct td_tls_facts *tls)
{
    const struct td_kx_facts *kx = &tls->kx;
    if (kx->kind != TD_KX_DHE || !kx->has_ske) {
        return;
    }
    bool ys_short = kx->dh_ys_len < kx->dh_p_len;
    bool yc_short = kx->has_dh_yc && kx->dh_yc_len < kx->dh_p_len;
    bool failed = is_failed(tls->outcome);
    s->dhe_handshakes++;
    s->dhe_failed += failed ? 1u : 0u;
    s->dhe_short_key += ys_short || yc_short ? 1u : 0u;
    if (!failed || !(ys_short || yc_short)) {
        return;
    }
    s->dhe_failed_short_key++;
    // The frame that carried the short value: the ClientKeyExchange when Yc is short, else the SKE.
    keep_first(&s->first_dhe_failed_short_key_frame, yc_short ? kx->cke_ev.frame : kx->ske_ev.frame);
}

const struct td_server_facts *td_server_table_add(struct td_server_table *t, const struct td_flow_info *info,
                                                  const struct td_tls_facts *tls)
{
    if (t == NULL || info == NULL) {
        return NULL;
    }
    bool swapped = tls != NULL && tls->roles_swapped;
    const struct td_addr *addr = swapped ? &info->client : &info->server;
    uint16_t port = swapped ? info->client_port : info->server_port;
    struct td_server_facts *s = find_or_add(t, addr, port, info->transport, info->first_frame);
    if (s == NULL) {
        t->dropped++;
        return NULL;
    }
    s->connections++;
    keep_first(&s->first_frame, info->first_frame);
    if (tls == NULL || !tls->is_tls) {
        return s;
    }
    s->tls_connections++;
    const struct td_client_hello *ch = tls->num_client_hellos > 0 ? tls->client_hellos[0] : NULL;
    if (s->sni[0] == '\0' && ch != NULL && ch->sni != NULL) {
        snprintf(s->sni, sizeof(s->sni), "%s", ch->sni);
    }
    if (tls->outcome == TD_OUTCOME_ESTABLISHED || tls->outcome == TD_OUTCOME_RESUMED) {
        s->established++;
    }
    s->failed += is_failed(tls->outcome) ? 1u : 0u;
    add_version(s, tls->version);
    if (tls->cert_request != NULL) {
        s->cert_requests++;
        keep_first(&s->first_cert_request_frame, tls->cert_request->ev.frame);
    }
    if (normalize_version(tls->version) == TD_VERSION_TLS13) {
        s->tls13_connections++;
        // Without the first ClientHello (arena full) whether the client offered post_handshake_auth is unknown.
        if (ch != NULL && !ch->has_post_handshake_auth) {
            s->tls13_without_pha++;
            keep_first(&s->first_tls13_without_pha_frame, ch->ev.frame);
        }
    }
    add_dhe(s, tls);
    add_outcome(s, tls);
    if (tls->hs_records_after_done[TD_ROLE_CLIENT] + (uint64_t)tls->hs_records_after_done[TD_ROLE_SERVER] > 0) {
        s->renegotiations++;
    }
    return s;
}

size_t td_server_table_count(const struct td_server_table *t)
{
    return t == NULL ? 0 : t->num_servers;
}

const struct td_server_facts *td_server_table_at(const struct td_server_table *t, size_t i)
{
    if (t == NULL || i >= t->num_servers) {
        return NULL;
    }
    return &t->servers[i];
}

uint64_t td_server_table_dropped(const struct td_server_table *t)
{
    return t == NULL ? 0 : t->dropped;
}

void td_server_table_clear(struct td_server_table *t)
{
    if (t == NULL) {
        return;
    }
    t->num_servers = 0;
    t->dropped = 0;
    if (t->slots != NULL) {
        memset(t->slots, 0, (size_t)t->num_slots * sizeof(*t->slots));
    }
}
