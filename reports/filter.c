/* SPDX-License-Identifier: MIT */
/* filter.c: the connection filter: endpoint specs (RFC 4291 §2.2/§2.3 text and prefixes via inet_pton,
 * RFC 3986 §3.2.2 brackets before a port), SNI globs (RFC 6066 §3 host_name) and outcome/severity selection. */
#define _GNU_SOURCE /* FNM_CASEFOLD: glibc hides it under _DEFAULT_SOURCE's _POSIX_C_SOURCE */
#include "filter.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One address rule. family 0 means any address (the ":443" form); port 0 means any port. */
struct net_rule {
    uint8_t family; /* 0, 4 or 6, as struct td_addr */
    uint8_t bytes[16];
    uint8_t prefix_bits;
    uint16_t port;
};

struct net_rules {
    struct net_rule *v;
    size_t num, cap;
};

struct td_filter {
    struct net_rules servers, clients;
    char **snis;
    size_t num_snis, cap_snis;
    int min_severity; /* -1: not set */
    bool failures_only;
};

/* The longest spec that can be valid is "[" + 45-char IPv6 text + "/128]:65535" (57); anything far longer is
 * refused before it is copied. */
#define SPEC_MAX 96

static const char accepted_forms[] =
    "accepted forms: 192.0.2.1, 192.0.2.1:443, 192.0.2.0/24, 192.0.2.0/24:443, :443 (any address), "
    "2001:db8::1, [2001:db8::1]:443, 2001:db8::/32, [2001:db8::/32]:443";

enum td_err td_filter_new(struct td_filter **out)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        return TD_ERR_RESOURCE;
    }
    (*out)->min_severity = -1;
    return TD_OK;
}

void td_filter_free(struct td_filter *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->num_snis; i++) {
        free(f->snis[i]);
    }
    free(f->snis);
    free(f->servers.v);
    free(f->clients.v);
    free(f);
}

/* parse_decimal reads a whole string of 1..5 ASCII digits (no sign, space or other text) not above max. */
static bool parse_decimal(const char *s, unsigned long max, unsigned long *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || strspn(s, "0123456789") != n) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == NULL || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_port(const char *s, struct net_rule *r, const char **why)
{
    unsigned long v;
    if (*s == '\0') {
        *why = "the port after ':' is missing";
        return false;
    }
    if (!parse_decimal(s, 65535, &v) || v == 0) {
        *why = "the port must be a number from 1 to 65535";
        return false;
    }
    r->port = (uint16_t)v;
    return true;
}

static bool looks_like_host_name(const char *s)
{
    for (; *s != '\0'; s++) {
        if (isalpha((unsigned char)*s)) {
            return true;
        }
    }
    return false;
}

/* clear_host_bits zeroes every bit after the first prefix_bits, so matching compares whole bytes. */
static void clear_host_bits(struct net_rule *r)
{
    size_t full = r->prefix_bits / 8u;
    unsigned rem = r->prefix_bits % 8u;
    if (full >= sizeof(r->bytes)) {
        return;
    }
    if (rem != 0) {
        r->bytes[full] &= (uint8_t)(0xffu << (8u - rem));
        full++;
    }
    memset(r->bytes + full, 0, sizeof(r->bytes) - full);
}

/* parse_address reads "ADDR" or "ADDR/PREFIX" (addr is modified). *host_name is set when it failed on what looks
 * like a name rather than a mistyped address. */
static bool parse_address(char *addr, struct net_rule *r, const char **why, bool *host_name)
{
    char *slash = strchr(addr, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    if (*addr == '\0') {
        *why = "the address is missing";
        return false;
    }
    bool v6 = strchr(addr, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, r->bytes) != 1) {
        *host_name = !v6 && looks_like_host_name(addr);
        *why = v6 ? "it is not a valid IPv6 address" : "it is not a valid IPv4 address";
        return false;
    }
    r->family = v6 ? 6 : 4;
    unsigned long max_bits = v6 ? 128 : 32;
    r->prefix_bits = (uint8_t)max_bits;
    if (slash == NULL) {
        return true;
    }
    unsigned long bits;
    if (!parse_decimal(slash + 1, max_bits, &bits)) {
        *why = v6 ? "the prefix length after '/' must be a number from 0 to 128"
                  : "the prefix length after '/' must be a number from 0 to 32";
        return false;
    }
    r->prefix_bits = (uint8_t)bits;
    clear_host_bits(r);
    return true;
}

/* parse_spec turns one endpoint spec into a rule; buf is a writable copy of it. */
static bool parse_spec(char *buf, struct net_rule *r, const char **why, bool *host_name)
{
    if (*buf == '\0') {
        *why = "it is empty";
        return false;
    }
    // ":443" is a port alone; "::1" and "::" are IPv6 addresses.
    if (buf[0] == ':' && buf[1] != ':') {
        return parse_port(buf + 1, r, why);
    }
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close == NULL) {
            *why = "the '[' has no matching ']'";
            return false;
        }
        *close = '\0';
        char *rest = close + 1;
        if (*rest != '\0' && *rest != ':') {
            *why = "only ':PORT' may follow ']'";
            return false;
        }
        TD_TRY(parse_address(buf + 1, r, why, host_name));
        return *rest == '\0' || parse_port(rest + 1, r, why);
    }
    // One colon is IPv4 (or a name) with a port; two or more make an IPv6 address, which needs brackets for a port.
    char *colon = strchr(buf, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL) {
        *colon = '\0';
        TD_TRY(parse_address(buf, r, why, host_name));
        return parse_port(colon + 1, r, why);
    }
    return parse_address(buf, r, why, host_name);
}

static enum td_err add_endpoint(struct net_rules *rules, const char *kind, const char *spec, struct td_error *err)
{
    if (spec == NULL) {
        return td_error_set(err, TD_ERR_USAGE, "--%s: no value given; %s", kind, accepted_forms);
    }
    size_t len = strnlen(spec, SPEC_MAX + 1);
    if (len > SPEC_MAX) {
        return td_error_set(err, TD_ERR_USAGE, "--%s \"%.40s...\": too long to be an address; %s", kind, spec,
                            accepted_forms);
    }
    char buf[SPEC_MAX + 1];
    memcpy(buf, spec, len);
    buf[len] = '\0';
    struct net_rule r = {0};
    const char *why = "it is not an address";
    bool host_name = false;
    if (!parse_spec(buf, &r, &why, &host_name)) {
        if (host_name) {
            return td_error_set(err, TD_ERR_USAGE,
                                "--%s \"%s\": host names are not looked up (no DNS), give an address or "
                                "prefix; to select connections by TLS server name use --sni instead; %s",
                                kind, spec, accepted_forms);
        }
        return td_error_set(err, TD_ERR_USAGE, "--%s \"%s\": %s; %s", kind, spec, why, accepted_forms);
    }
    if (rules->num == rules->cap) {
        size_t cap = rules->cap != 0 ? rules->cap * 2 : 4;
        struct net_rule *v = realloc(rules->v, cap * sizeof(*v));
        if (v == NULL) {
            return td_error_set(err, TD_ERR_RESOURCE, "out of memory adding the %s filter \"%s\"", kind, spec);
        }
        rules->v = v;
        rules->cap = cap;
    }
    rules->v[rules->num++] = r;
    return TD_OK;
}

enum td_err td_filter_add_server(struct td_filter *f, const char *spec, struct td_error *err)
{
    return add_endpoint(&f->servers, "server", spec, err);
}

enum td_err td_filter_add_client(struct td_filter *f, const char *spec, struct td_error *err)
{
    return add_endpoint(&f->clients, "client", spec, err);
}

enum td_err td_filter_add_sni(struct td_filter *f, const char *pattern, struct td_error *err)
{
    if (pattern == NULL || *pattern == '\0') {
        return td_error_set(err, TD_ERR_USAGE,
                            "SNI filter: the pattern is empty; give a server name or a glob such as *.example.com");
    }
    if (f->num_snis == f->cap_snis) {
        size_t cap = f->cap_snis != 0 ? f->cap_snis * 2 : 4;
        char **v = realloc(f->snis, cap * sizeof(*v));
        if (v == NULL) {
            return td_error_set(err, TD_ERR_RESOURCE, "out of memory adding the SNI filter \"%s\"", pattern);
        }
        f->snis = v;
        f->cap_snis = cap;
    }
    char *copy = strdup(pattern);
    if (copy == NULL) {
        return td_error_set(err, TD_ERR_RESOURCE, "out of memory adding the SNI filter \"%s\"", pattern);
    }
    f->snis[f->num_snis++] = copy;
    return TD_OK;
}

void td_filter_set_min_severity(struct td_filter *f, enum td_severity s)
{
    f->min_severity = (int)s;
}

void td_filter_set_failures_only(struct td_filter *f, bool on)
{
    f->failures_only = on;
}

bool td_filter_is_empty(const struct td_filter *f)
{
    return f == NULL || (f->servers.num == 0 && f->clients.num == 0 && f->num_snis == 0 && f->min_severity < 0 &&
                         !f->failures_only);
}

static bool addr_in(const struct net_rule *r, const struct td_addr *a)
{
    if (r->family == 0) {
        return true;
    }
    if (a->family != r->family) {
        return false;
    }
    size_t full = r->prefix_bits / 8u;
    unsigned rem = r->prefix_bits % 8u;
    if (memcmp(r->bytes, a->bytes, full) != 0) {
        return false;
    }
    if (rem == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xffu << (8u - rem));
    return (a->bytes[full] & mask) == r->bytes[full];
}

/* endpoint_matches: true when there are no rules, or any rule holds for (addr, port). */
static bool endpoint_matches(const struct net_rules *rules, const struct td_addr *addr, uint16_t port)
{
    if (rules->num == 0) {
        return true;
    }
    for (size_t i = 0; i < rules->num; i++) {
        const struct net_rule *r = &rules->v[i];
        if ((r->port == 0 || r->port == port) && addr_in(r, addr)) {
            return true;
        }
    }
    return false;
}

static bool sni_matches(const struct td_filter *f, const struct td_tls_facts *facts)
{
    if (f->num_snis == 0) {
        return true;
    }
    if (facts == NULL) {
        return false;
    }
    uint32_t n = facts->num_client_hellos < TD_MAX_HELLOS ? facts->num_client_hellos : TD_MAX_HELLOS;
    for (uint32_t h = 0; h < n; h++) {
        const struct td_client_hello *ch = facts->client_hellos[h];
        if (ch == NULL || ch->sni == NULL) {
            continue;
        }
        for (size_t i = 0; i < f->num_snis; i++) {
            if (fnmatch(f->snis[i], ch->sni, FNM_CASEFOLD) == 0) {
                return true;
            }
        }
    }
    return false;
}

static bool is_failure(const struct td_tls_facts *facts, int max_finding_severity)
{
    if (max_finding_severity >= (int)TD_SEVERITY_ERROR) {
        return true;
    }
    if (facts == NULL) {
        return false;
    }
    switch (facts->outcome) {
    case TD_OUTCOME_NOT_TLS:
    case TD_OUTCOME_ESTABLISHED:
    case TD_OUTCOME_RESUMED:
        return false;
    case TD_OUTCOME_FAILED_ALERT:
    case TD_OUTCOME_RESET:
    case TD_OUTCOME_CLOSED:
    case TD_OUTCOME_INCOMPLETE:
        return true;
    }
    return false;
}

bool td_filter_match(const struct td_filter *f, const struct td_flow_info *info, const struct td_tls_facts *facts,
                     int max_finding_severity)
{
    if (f == NULL) {
        return true;
    }
    if (f->failures_only && !is_failure(facts, max_finding_severity)) {
        return false;
    }
    if (f->min_severity >= 0 && max_finding_severity < f->min_severity) {
        return false;
    }
    TD_TRY(sni_matches(f, facts));
    if (f->servers.num == 0 && f->clients.num == 0) {
        return true;
    }
    if (info == NULL) {
        return false;
    }
    // TLS roles, as the report prints them: a swapped connection's TLS client is the flow's TCP server.
    bool sw = facts != NULL && facts->roles_swapped;
    const struct td_addr *client = sw ? &info->server : &info->client;
    const struct td_addr *server = sw ? &info->client : &info->server;
    uint16_t client_port = sw ? info->server_port : info->client_port;
    uint16_t server_port = sw ? info->client_port : info->server_port;
    return endpoint_matches(&f->servers, server, server_port) && endpoint_matches(&f->clients, client, client_port);
}

bool td_severity_parse(const char *s, enum td_severity *out)
{
    static const struct {
        const char *name;
        enum td_severity sev;
    } names[] = {{"info", TD_SEVERITY_INFO}, {"warning", TD_SEVERITY_WARNING}, {"error", TD_SEVERITY_ERROR}};
    if (s == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].sev;
            return true;
        }
    }
    return false;
}
