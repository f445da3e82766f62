/* SPDX-License-Identifier: MIT */
/* filter.h: which connections a report lists: by server or client address (IPv4/IPv6, CIDR prefix, port),
 * by TLS server name (SNI glob), by finding severity, or failures only. Addresses follow RFC 4291 §2.2/§2.3
 * (text form and prefixes, parsed by inet_pton) and RFC 3986 §3.2.2 (brackets around an IPv6 address
 * followed by a port); SNI is the host_name of RFC 6066 §3.
 *
 * Semantics: several rules of one kind are alternatives (OR), different kinds must all hold (AND). An empty
 * filter matches every connection. Endpoints are taken in TLS roles, as the report shows them: when the TLS
 * client is the TCP server (facts->roles_swapped), the flow's server address is matched by client rules. */
#ifndef TD_REPORTS_FILTER_H
#define TD_REPORTS_FILTER_H

#include <stdbool.h>

#include "../capture/flow.h"
#include "../dissect/facts.h"
#include "../rules/rules.h"

struct td_filter;

/* td_filter_new stores a new empty filter (matches everything) in *out, owned by the caller (td_filter_free).
 * Returns TD_OK, or TD_ERR_RESOURCE (and *out = NULL) when out of memory. */
TD_MUST_USE enum td_err td_filter_new(struct td_filter **out);
/* td_filter_free releases f and everything it holds; NULL is a no-op. */
void td_filter_free(struct td_filter *f);

/* td_filter_add_server adds an alternative for the TLS server endpoint; td_filter_add_client the same for the
 * TLS client. spec is one of:
 *   192.0.2.1   192.0.2.1:443   192.0.2.0/24   192.0.2.0/24:443   :443 (any address, that port)
 *   2001:db8::1   [2001:db8::1]:443   2001:db8::/32   [2001:db8::/32]:443
 * Addresses are read by inet_pton (no DNS): a host name is refused with a message pointing to --sni. Host bits
 * below the prefix are ignored (192.0.2.7/24 means 192.0.2.0/24). A port after an IPv6 address needs the
 * brackets: 2001:db8::1:443 is the address 2001:db8::1:443. Ports are 1..65535. spec is copied.
 * Returns TD_OK; TD_ERR_USAGE with err->msg naming the value and listing the accepted forms; TD_ERR_RESOURCE. */
TD_MUST_USE enum td_err td_filter_add_server(struct td_filter *f, const char *spec, struct td_error *err);
TD_MUST_USE enum td_err td_filter_add_client(struct td_filter *f, const char *spec, struct td_error *err);

/* td_filter_add_sni adds a shell glob (fnmatch: *, ?, [...]; no special meaning for '.' or '/') matched without
 * regard to ASCII case against the SNI of every ClientHello kept for the connection; a connection whose hellos
 * carry no SNI never matches. "*.example.com" matches "www.example.com" and "a.b.example.com" but not
 * "example.com". pattern is copied. Returns TD_OK, TD_ERR_USAGE (empty pattern), TD_ERR_RESOURCE. */
TD_MUST_USE enum td_err td_filter_add_sni(struct td_filter *f, const char *pattern, struct td_error *err);

/* td_filter_set_min_severity keeps only connections with at least one finding of severity >= s. */
void td_filter_set_min_severity(struct td_filter *f, enum td_severity s);
/* td_filter_set_failures_only keeps only failed connections: TLS was seen and the outcome is neither
 * established nor resumed (so reset, closed, failed_alert, incomplete), or a finding of severity error was
 * raised. Connections that carried no TLS (outcome not_tls, or no facts) are not failures by themselves. */
void td_filter_set_failures_only(struct td_filter *f, bool on);

/* td_filter_is_empty is true when f has no rule at all (it then matches every connection). */
bool td_filter_is_empty(const struct td_filter *f);

/* td_filter_match decides whether a finished connection is listed. facts may be NULL (no TLS dissected);
 * max_finding_severity is the highest enum td_severity among the connection's findings, or -1 when it has none.
 * A NULL f matches everything. Pointers are only read during the call. */
bool td_filter_match(const struct td_filter *f, const struct td_flow_info *info, const struct td_tls_facts *facts,
                     int max_finding_severity);

/* td_severity_parse reads "info", "warning" or "error" (ASCII case ignored) into *out. Returns false, leaving
 * *out unchanged, for anything else. (rules/ has only td_severity_name; this is its inverse.) */
TD_MUST_USE bool td_severity_parse(const char *s, enum td_severity *out);

#endif
