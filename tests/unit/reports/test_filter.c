/* SPDX-License-Identifier: MIT */
/* test_filter.c: the connection filter: every endpoint spec form (RFC 4291 §2.2/§2.3, RFC 3986 §3.2.2), prefix
 * edges, bad specs and their messages, SNI globs, failures-only per outcome, minimum severity, AND/OR. */
#include "../../../reports/filter.h"

#include <string.h>

#include "../testlib.h"

/* A connection: flow endpoints in TCP roles plus optional facts. Addresses are written out byte by byte. */
struct conn {
    struct td_flow_info info;
    struct td_tls_facts facts;
    struct td_client_hello hellos[TD_MAX_HELLOS];
};

static struct td_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct td_addr x = {.family = 4, .bytes = {a, b, c, d}};
    return x;
}

/* v6 from eight 16-bit groups, as the address is written. */
static struct td_addr v6(uint16_t g0, uint16_t g1, uint16_t g2, uint16_t g3, uint16_t g4, uint16_t g5, uint16_t g6,
                         uint16_t g7)
{
    uint16_t g[8] = {g0, g1, g2, g3, g4, g5, g6, g7};
    struct td_addr x = {.family = 6};
    for (int i = 0; i < 8; i++) {
        x.bytes[2 * i] = (uint8_t)(g[i] >> 8);
        x.bytes[2 * i + 1] = (uint8_t)(g[i] & 0xff);
    }
    return x;
}

static void conn_init(struct conn *c, struct td_addr client, uint16_t cport, struct td_addr server, uint16_t sport)
{
    memset(c, 0, sizeof(*c));
    c->info.id = 1;
    c->info.client = client;
    c->info.client_port = cport;
    c->info.server = server;
    c->info.server_port = sport;
    c->facts.is_tls = true;
    c->facts.outcome = TD_OUTCOME_ESTABLISHED;
    c->facts.outcome_alert = -1;
    c->facts.outcome_after_msg = -1;
    c->facts.last_hs_msg = -1;
}

static void conn_add_hello(struct conn *c, char *sni)
{
    uint32_t i = c->facts.num_client_hellos;
    CU_ASSERT_FATAL(i < TD_MAX_HELLOS);
    c->hellos[i].sni = sni;
    c->facts.client_hellos[i] = &c->hellos[i];
    c->facts.num_client_hellos = i + 1;
    c->facts.client_hellos_seen = i + 1;
}

static struct td_filter *new_filter(void)
{
    struct td_filter *f = NULL;
    CU_ASSERT_EQUAL_FATAL(td_filter_new(&f), TD_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    return f;
}

/* server_filter builds a filter with one server spec that must be accepted. */
static struct td_filter *server_filter(const char *spec)
{
    struct td_filter *f = new_filter();
    struct td_error err = {0};
    enum td_err e = td_filter_add_server(f, spec, &err);
    if (e != TD_OK) {
        fprintf(stderr, "spec %s: %s\n", spec, err.msg);
    }
    CU_ASSERT_EQUAL_FATAL(e, TD_OK);
    return f;
}

/* server_matches: does a one-spec server filter accept a connection to server:port? */
static bool server_matches(const char *spec, struct td_addr server, uint16_t port)
{
    struct td_filter *f = server_filter(spec);
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, server, port);
    bool m = td_filter_match(f, &c.info, &c.facts, -1);
    td_filter_free(f);
    return m;
}

static void test_empty_filter(void)
{
    struct td_filter *f = new_filter();
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 443);
    CU_ASSERT_TRUE(td_filter_is_empty(f));
    CU_ASSERT_TRUE(td_filter_is_empty(NULL));
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, NULL, -1));
    CU_ASSERT_TRUE(td_filter_match(NULL, &c.info, &c.facts, -1));
    c.facts.outcome = TD_OUTCOME_RESET;
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, 2));
    td_filter_free(f);
    td_filter_free(NULL);
}

static void test_is_empty_per_kind(void)
{
    struct td_error err = {0};
    struct td_filter *f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_server(f, ":443", &err), TD_OK);
    CU_ASSERT_FALSE(td_filter_is_empty(f));
    td_filter_free(f);
    f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_client(f, "192.0.2.1", &err), TD_OK);
    CU_ASSERT_FALSE(td_filter_is_empty(f));
    td_filter_free(f);
    f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_sni(f, "*", &err), TD_OK);
    CU_ASSERT_FALSE(td_filter_is_empty(f));
    td_filter_free(f);
    f = new_filter();
    td_filter_set_min_severity(f, TD_SEVERITY_INFO);
    CU_ASSERT_FALSE(td_filter_is_empty(f));
    td_filter_free(f);
    f = new_filter();
    td_filter_set_failures_only(f, true);
    CU_ASSERT_FALSE(td_filter_is_empty(f));
    td_filter_set_failures_only(f, false);
    CU_ASSERT_TRUE(td_filter_is_empty(f));
    td_filter_free(f);
}

static void test_v4_host(void)
{
    CU_ASSERT_TRUE(server_matches("192.0.2.1", v4(192, 0, 2, 1), 443));
    CU_ASSERT_TRUE(server_matches("192.0.2.1", v4(192, 0, 2, 1), 8443));
    CU_ASSERT_FALSE(server_matches("192.0.2.1", v4(192, 0, 2, 2), 443));
    CU_ASSERT_FALSE(server_matches("192.0.2.1", v4(1, 0, 2, 1), 443));
    // The same four bytes in an IPv6 address are another address.
    CU_ASSERT_FALSE(server_matches("192.0.2.1", v6(0xc000, 0x0201, 0, 0, 0, 0, 0, 0), 443));
    CU_ASSERT_FALSE(server_matches("192.0.2.1", v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201), 443));
}

static void test_v4_host_port(void)
{
    CU_ASSERT_TRUE(server_matches("192.0.2.1:443", v4(192, 0, 2, 1), 443));
    CU_ASSERT_FALSE(server_matches("192.0.2.1:443", v4(192, 0, 2, 1), 8443));
    CU_ASSERT_FALSE(server_matches("192.0.2.1:443", v4(192, 0, 2, 2), 443));
    CU_ASSERT_TRUE(server_matches("192.0.2.1:65535", v4(192, 0, 2, 1), 65535));
    CU_ASSERT_TRUE(server_matches("192.0.2.1:1", v4(192, 0, 2, 1), 1));
}

static void test_v4_prefix(void)
{
    CU_ASSERT_TRUE(server_matches("192.0.2.0/24", v4(192, 0, 2, 0), 443));
    CU_ASSERT_TRUE(server_matches("192.0.2.0/24", v4(192, 0, 2, 255), 8443));
    CU_ASSERT_FALSE(server_matches("192.0.2.0/24", v4(192, 0, 3, 0), 443));
    CU_ASSERT_FALSE(server_matches("192.0.2.0/24", v4(192, 0, 1, 255), 443));
    CU_ASSERT_TRUE(server_matches("192.0.2.0/24:443", v4(192, 0, 2, 77), 443));
    CU_ASSERT_FALSE(server_matches("192.0.2.0/24:443", v4(192, 0, 2, 77), 444));
    CU_ASSERT_FALSE(server_matches("192.0.2.0/24:443", v4(192, 0, 3, 77), 443));
}

/* /20 ends inside the third byte: 10.1.16.0/20 is 10.1.16.0 .. 10.1.31.255. */
static void test_v4_prefix_partial_byte(void)
{
    CU_ASSERT_TRUE(server_matches("10.1.16.0/20", v4(10, 1, 16, 0), 443));
    CU_ASSERT_TRUE(server_matches("10.1.16.0/20", v4(10, 1, 31, 255), 443));
    CU_ASSERT_FALSE(server_matches("10.1.16.0/20", v4(10, 1, 32, 0), 443));
    CU_ASSERT_FALSE(server_matches("10.1.16.0/20", v4(10, 1, 15, 255), 443));
    // Host bits below the prefix are ignored: 10.1.17.5/20 is the same network.
    CU_ASSERT_TRUE(server_matches("10.1.17.5/20", v4(10, 1, 16, 0), 443));
    CU_ASSERT_TRUE(server_matches("10.1.17.5/20", v4(10, 1, 31, 9), 443));
    CU_ASSERT_FALSE(server_matches("10.1.17.5/20", v4(10, 1, 32, 0), 443));
    // /1 and /31: single-bit edges.
    CU_ASSERT_TRUE(server_matches("128.0.0.0/1", v4(255, 1, 2, 3), 443));
    CU_ASSERT_FALSE(server_matches("128.0.0.0/1", v4(127, 255, 255, 255), 443));
    CU_ASSERT_TRUE(server_matches("192.0.2.4/31", v4(192, 0, 2, 5), 443));
    CU_ASSERT_FALSE(server_matches("192.0.2.4/31", v4(192, 0, 2, 6), 443));
}

static void test_v4_prefix_edges(void)
{
    CU_ASSERT_TRUE(server_matches("0.0.0.0/0", v4(203, 0, 113, 9), 443));
    CU_ASSERT_TRUE(server_matches("0.0.0.0/0", v4(0, 0, 0, 0), 1));
    CU_ASSERT_FALSE(server_matches("0.0.0.0/0", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 443));
    CU_ASSERT_TRUE(server_matches("192.0.2.1/32", v4(192, 0, 2, 1), 443));
    CU_ASSERT_FALSE(server_matches("192.0.2.1/32", v4(192, 0, 2, 0), 443));
}

static void test_port_only(void)
{
    CU_ASSERT_TRUE(server_matches(":443", v4(192, 0, 2, 1), 443));
    CU_ASSERT_TRUE(server_matches(":443", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 443));
    CU_ASSERT_FALSE(server_matches(":443", v4(192, 0, 2, 1), 8443));
    CU_ASSERT_FALSE(server_matches(":443", v4(192, 0, 2, 1), 44));
}

static void test_v6_forms(void)
{
    struct td_addr a = v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    CU_ASSERT_TRUE(server_matches("2001:db8::1", a, 443));
    CU_ASSERT_TRUE(server_matches("2001:DB8:0:0:0:0:0:1", a, 443));
    CU_ASSERT_FALSE(server_matches("2001:db8::1", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2), 443));
    CU_ASSERT_FALSE(server_matches("2001:db8::1", v4(32, 1, 13, 184), 443));
    CU_ASSERT_TRUE(server_matches("[2001:db8::1]:443", a, 443));
    CU_ASSERT_FALSE(server_matches("[2001:db8::1]:443", a, 853));
    CU_ASSERT_TRUE(server_matches("[2001:db8::1]", a, 853));
    CU_ASSERT_TRUE(server_matches("2001:db8::/32", v6(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 5), 443));
    CU_ASSERT_FALSE(server_matches("2001:db8::/32", v6(0x2001, 0xdb9, 0, 0, 0, 0, 0, 1), 443));
    CU_ASSERT_TRUE(server_matches("[2001:db8::/32]:443", v6(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6), 443));
    CU_ASSERT_FALSE(server_matches("[2001:db8::/32]:443", v6(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6), 80));
    CU_ASSERT_FALSE(server_matches("[2001:db8::/32]:443", v6(0x2001, 0xdb7, 1, 2, 3, 4, 5, 6), 443));
    // "::1" and "::" start with a colon but are addresses, not ports.
    CU_ASSERT_TRUE(server_matches("::1", v6(0, 0, 0, 0, 0, 0, 0, 1), 443));
    CU_ASSERT_FALSE(server_matches("::1", v6(0, 0, 0, 0, 0, 0, 0, 2), 443));
    CU_ASSERT_TRUE(server_matches("::", v6(0, 0, 0, 0, 0, 0, 0, 0), 443));
    CU_ASSERT_TRUE(server_matches("[::1]:8443", v6(0, 0, 0, 0, 0, 0, 0, 1), 8443));
    // Without brackets the last group is part of the address, not a port.
    CU_ASSERT_TRUE(server_matches("2001:db8::1:443", v6(0x2001, 0xdb8, 0, 0, 0, 0, 1, 0x443), 1));
    CU_ASSERT_FALSE(server_matches("2001:db8::1:443", a, 443));
    // An IPv4-mapped address is an IPv6 address.
    CU_ASSERT_TRUE(server_matches("::ffff:192.0.2.1", v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201), 443));
    CU_ASSERT_FALSE(server_matches("::ffff:192.0.2.1", v4(192, 0, 2, 1), 443));
}

static void test_v6_prefix_edges(void)
{
    CU_ASSERT_TRUE(server_matches("::/0", v6(0xfe80, 0, 0, 0, 1, 2, 3, 4), 443));
    CU_ASSERT_FALSE(server_matches("::/0", v4(192, 0, 2, 1), 443));
    CU_ASSERT_TRUE(server_matches("2001:db8::1/128", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 443));
    CU_ASSERT_FALSE(server_matches("2001:db8::1/128", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 3), 443));
    // /127: the last bit is free.
    CU_ASSERT_TRUE(server_matches("2001:db8::/127", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 443));
    CU_ASSERT_FALSE(server_matches("2001:db8::/127", v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2), 443));
    // /36 ends inside the fifth byte: 2001:db8:f000::/36 is 2001:db8:f000:: .. 2001:db8:ffff:ffff:...
    CU_ASSERT_TRUE(server_matches("2001:db8:f000::/36", v6(0x2001, 0xdb8, 0xffff, 0xffff, 0, 0, 0, 0), 443));
    CU_ASSERT_FALSE(server_matches("2001:db8:f000::/36", v6(0x2001, 0xdb8, 0xefff, 0, 0, 0, 0, 0), 443));
    // fe80::/10: the partial byte is the second one.
    CU_ASSERT_TRUE(server_matches("fe80::/10", v6(0xfebf, 1, 0, 0, 0, 0, 0, 1), 443));
    CU_ASSERT_FALSE(server_matches("fe80::/10", v6(0xfec0, 0, 0, 0, 0, 0, 0, 1), 443));
}

/* reject asserts that spec is refused as a usage error whose message names the value and lists the forms, and
 * contains `expect` (when not NULL). */
static void reject(const char *spec, const char *expect)
{
    struct td_filter *f = new_filter();
    struct td_error err = {0};
    enum td_err e = td_filter_add_server(f, spec, &err);
    CU_ASSERT_EQUAL(e, TD_ERR_USAGE);
    CU_ASSERT_EQUAL(err.code, TD_ERR_USAGE);
    if (e != TD_ERR_USAGE) {
        fprintf(stderr, "spec \"%s\" was accepted\n", spec != NULL ? spec : "(null)");
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--server"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "accepted forms: 192.0.2.1, 192.0.2.1:443, 192.0.2.0/24"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "[2001:db8::/32]:443"));
    if (spec != NULL && strlen(spec) < 60) {
        char quoted[80];
        (void)snprintf(quoted, sizeof(quoted), "\"%s\"", spec);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, quoted));
    }
    if (expect != NULL && strstr(err.msg, expect) == NULL) {
        fprintf(stderr, "spec \"%s\": message \"%s\" lacks \"%s\"\n", spec, err.msg, expect);
        CU_FAIL("message");
    }
    CU_ASSERT_TRUE(td_filter_is_empty(f)); // nothing half-added
    td_filter_free(f);
}

static void test_bad_specs(void)
{
    reject("", "empty");
    reject(NULL, "no value");
    reject("192.0.2.1/33", "0 to 32");
    reject("2001:db8::/129", "0 to 128");
    reject("192.0.2.0/", "prefix length");
    reject("192.0.2.0/-1", "prefix length");
    reject("192.0.2.0/+8", "prefix length");
    reject("192.0.2.0/ 8", "prefix length");
    reject("192.0.2.0/8x", "prefix length");
    reject("192.0.2.0/24/8", "prefix length");
    reject("192.0.2.256", "not a valid IPv4");
    reject("192.0.2", "not a valid IPv4");
    reject("192.0.2.1.5", "not a valid IPv4");
    reject(" 192.0.2.1", "not a valid IPv4");
    reject("2001:db8:::1", "not a valid IPv6");
    reject("2001:db8::g", "not a valid IPv6");
    reject("192.0.2.1:0", "1 to 65535");
    reject("192.0.2.1:65536", "1 to 65535");
    reject("192.0.2.1:-1", "1 to 65535");
    reject("192.0.2.1:https", "1 to 65535");
    reject("192.0.2.1:", "port after ':' is missing");
    reject(":", "port after ':' is missing");
    reject(":0", "1 to 65535");
    reject(":99999", "1 to 65535");
    reject("[2001:db8::1", "no matching ']'");
    reject("[2001:db8::1]x", "only ':PORT' may follow");
    reject("[2001:db8::1]:", "port after ':' is missing");
    reject("[]:443", "address is missing");
    reject("/24", "address is missing");
    reject("[2001:db8::1]:443:1", "1 to 65535");
    reject("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
           "xxxxxxxxxxxxxxxxxxxxxxxxx",
           "too long");
}

static void test_host_names_rejected(void)
{
    reject("example.com", "--sni");
    reject("example.com", "no DNS");
    reject("www.example.com:443", "--sni");
    reject("localhost", "--sni");
}

/* The client filter reads the client endpoint, and roles follow TLS: swapped flows are matched the other way. */
static void test_client_and_roles(void)
{
    struct td_error err = {0};
    struct td_filter *f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_client(f, "198.51.100.0/24", &err), TD_OK);
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 443);
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    conn_init(&c, v4(192, 0, 2, 1), 50000, v4(198, 51, 100, 7), 443);
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    c.facts.roles_swapped = true; // the TCP server 198.51.100.7 is the TLS client
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    td_filter_free(f);

    f = server_filter("192.0.2.1:443");
    conn_init(&c, v4(192, 0, 2, 1), 443, v4(198, 51, 100, 7), 50000);
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    c.facts.roles_swapped = true;
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    // Without facts there are no TLS roles: TCP roles are used.
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, NULL, -1));
    td_filter_free(f);
}

static void test_or_within_kind(void)
{
    struct td_error err = {0};
    struct td_filter *f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_server(f, "192.0.2.1", &err), TD_OK);
    CU_ASSERT_EQUAL(td_filter_add_server(f, "[2001:db8::/32]:443", &err), TD_OK);
    CU_ASSERT_EQUAL(td_filter_add_server(f, ":8443", &err), TD_OK);
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 25);
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    conn_init(&c, v4(198, 51, 100, 7), 50000, v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9), 443);
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(203, 0, 113, 1), 8443);
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(203, 0, 113, 1), 443);
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    conn_init(&c, v4(198, 51, 100, 7), 50000, v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9), 80);
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    // A rejected spec leaves the others in place.
    CU_ASSERT_EQUAL(td_filter_add_server(f, "bogus", &err), TD_ERR_USAGE);
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 25);
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    td_filter_free(f);
}

static void test_and_across_kinds(void)
{
    struct td_error err = {0};
    struct td_filter *f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_server(f, ":443", &err), TD_OK);
    CU_ASSERT_EQUAL(td_filter_add_client(f, "198.51.100.0/24", &err), TD_OK);
    CU_ASSERT_EQUAL(td_filter_add_sni(f, "*.example.com", &err), TD_OK);
    td_filter_set_failures_only(f, true);
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 443);
    conn_add_hello(&c, "www.example.com");
    c.facts.outcome = TD_OUTCOME_FAILED_ALERT;
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    c.info.server_port = 8443; // server rule fails
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    c.info.server_port = 443;
    c.info.client = v4(203, 0, 113, 1); // client rule fails
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    c.info.client = v4(198, 51, 100, 8);
    c.hellos[0].sni = "www.example.org"; // SNI rule fails
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    c.hellos[0].sni = "www.example.com";
    c.facts.outcome = TD_OUTCOME_ESTABLISHED; // failures-only fails
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, TD_SEVERITY_ERROR));
    td_filter_set_min_severity(f, TD_SEVERITY_ERROR);
    c.facts.outcome = TD_OUTCOME_RESET; // a failure, but no error finding
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, TD_SEVERITY_WARNING));
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, TD_SEVERITY_ERROR));
    td_filter_free(f);
}

static void test_sni_glob(void)
{
    struct td_error err = {0};
    struct td_filter *f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_sni(f, "*.Example.COM", &err), TD_OK);
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 443);
    conn_add_hello(&c, "www.example.com");
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    c.hellos[0].sni = "WWW.EXAMPLE.COM";
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    c.hellos[0].sni = "a.b.example.com";
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    c.hellos[0].sni = "example.com";
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    c.hellos[0].sni = "www.example.com.evil";
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    c.hellos[0].sni = NULL;
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    c.facts.num_client_hellos = 0;
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, NULL, -1));
    td_filter_free(f);

    f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_sni(f, "mail?.example.[a-z][a-z]", &err), TD_OK);
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 443);
    conn_add_hello(&c, "MAIL2.example.DE");
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    c.hellos[0].sni = "mail.example.de";
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    c.hellos[0].sni = "mail2.example.d1";
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    td_filter_free(f);

    f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_sni(f, "", &err), TD_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "empty"));
    CU_ASSERT_EQUAL(td_filter_add_sni(f, NULL, &err), TD_ERR_USAGE);
    CU_ASSERT_TRUE(td_filter_is_empty(f));
    td_filter_free(f);
}

/* Any kept ClientHello counts (after a HelloRetryRequest, a renegotiation), and any pattern (OR). */
static void test_sni_multiple_hellos_and_patterns(void)
{
    struct td_error err = {0};
    struct td_filter *f = new_filter();
    CU_ASSERT_EQUAL(td_filter_add_sni(f, "api.example.org", &err), TD_OK);
    CU_ASSERT_EQUAL(td_filter_add_sni(f, "*.internal", &err), TD_OK);
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 443);
    conn_add_hello(&c, NULL);
    conn_add_hello(&c, "www.example.com");
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    conn_add_hello(&c, "db.INTERNAL");
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    c.hellos[2].sni = "API.example.org";
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, -1));
    // Only the hellos counted in num_client_hellos are read.
    c.facts.num_client_hellos = 2;
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    td_filter_free(f);
}

static bool failure_kept(enum td_outcome o, bool is_tls, int max_sev)
{
    struct td_filter *f = new_filter();
    td_filter_set_failures_only(f, true);
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 443);
    c.facts.outcome = o;
    c.facts.is_tls = is_tls;
    bool m = td_filter_match(f, &c.info, &c.facts, max_sev);
    td_filter_free(f);
    return m;
}

static void test_failures_only(void)
{
    CU_ASSERT_FALSE(failure_kept(TD_OUTCOME_ESTABLISHED, true, -1));
    CU_ASSERT_FALSE(failure_kept(TD_OUTCOME_RESUMED, true, -1));
    CU_ASSERT_FALSE(failure_kept(TD_OUTCOME_NOT_TLS, false, -1));
    CU_ASSERT_TRUE(failure_kept(TD_OUTCOME_FAILED_ALERT, true, -1));
    CU_ASSERT_TRUE(failure_kept(TD_OUTCOME_RESET, true, -1));
    CU_ASSERT_TRUE(failure_kept(TD_OUTCOME_CLOSED, true, -1));
    CU_ASSERT_TRUE(failure_kept(TD_OUTCOME_INCOMPLETE, true, -1));
    // An error finding makes any connection a failure; a warning or info one does not.
    CU_ASSERT_TRUE(failure_kept(TD_OUTCOME_ESTABLISHED, true, TD_SEVERITY_ERROR));
    CU_ASSERT_TRUE(failure_kept(TD_OUTCOME_NOT_TLS, false, TD_SEVERITY_ERROR));
    CU_ASSERT_FALSE(failure_kept(TD_OUTCOME_ESTABLISHED, true, TD_SEVERITY_WARNING));
    CU_ASSERT_FALSE(failure_kept(TD_OUTCOME_RESUMED, true, TD_SEVERITY_INFO));
    CU_ASSERT_FALSE(failure_kept(TD_OUTCOME_NOT_TLS, false, TD_SEVERITY_WARNING));

    // No facts at all: not TLS, so not a failure unless an error finding says so.
    struct td_filter *f = new_filter();
    td_filter_set_failures_only(f, true);
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 443);
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, NULL, -1));
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, NULL, TD_SEVERITY_ERROR));
    td_filter_free(f);
}

static void test_min_severity(void)
{
    struct conn c;
    conn_init(&c, v4(198, 51, 100, 7), 50000, v4(192, 0, 2, 1), 443);
    struct td_filter *f = new_filter();
    td_filter_set_min_severity(f, TD_SEVERITY_WARNING);
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, TD_SEVERITY_INFO));
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, TD_SEVERITY_WARNING));
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, TD_SEVERITY_ERROR));
    td_filter_set_min_severity(f, TD_SEVERITY_INFO);
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, -1));
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, TD_SEVERITY_INFO));
    td_filter_set_min_severity(f, TD_SEVERITY_ERROR);
    CU_ASSERT_FALSE(td_filter_match(f, &c.info, &c.facts, TD_SEVERITY_WARNING));
    CU_ASSERT_TRUE(td_filter_match(f, &c.info, &c.facts, TD_SEVERITY_ERROR));
    td_filter_free(f);
}

static void test_severity_parse(void)
{
    enum td_severity s = TD_SEVERITY_ERROR;
    CU_ASSERT_TRUE(td_severity_parse("info", &s));
    CU_ASSERT_EQUAL(s, TD_SEVERITY_INFO);
    CU_ASSERT_TRUE(td_severity_parse("Warning", &s));
    CU_ASSERT_EQUAL(s, TD_SEVERITY_WARNING);
    CU_ASSERT_TRUE(td_severity_parse("ERROR", &s));
    CU_ASSERT_EQUAL(s, TD_SEVERITY_ERROR);
    CU_ASSERT_FALSE(td_severity_parse("warn", &s));
    CU_ASSERT_FALSE(td_severity_parse("", &s));
    CU_ASSERT_FALSE(td_severity_parse("errors", &s));
    CU_ASSERT_FALSE(td_severity_parse(NULL, &s));
    CU_ASSERT_EQUAL(s, TD_SEVERITY_ERROR); // unchanged by the failures
}

static CU_TestInfo tests[] = {
    {"empty filter matches all", test_empty_filter},
    {"is_empty per kind", test_is_empty_per_kind},
    {"IPv4 host", test_v4_host},
    {"IPv4 host:port", test_v4_host_port},
    {"IPv4 prefix", test_v4_prefix},
    {"IPv4 prefix in a byte (/20, /1, /31)", test_v4_prefix_partial_byte},
    {"IPv4 /0 and /32", test_v4_prefix_edges},
    {":port", test_port_only},
    {"IPv6 forms", test_v6_forms},
    {"IPv6 prefix edges", test_v6_prefix_edges},
    {"bad specs and messages", test_bad_specs},
    {"host names point to --sni", test_host_names_rejected},
    {"client filter and TLS roles", test_client_and_roles},
    {"OR within a kind", test_or_within_kind},
    {"AND across kinds", test_and_across_kinds},
    {"SNI glob, case-insensitive", test_sni_glob},
    {"SNI over several hellos and patterns", test_sni_multiple_hellos_and_patterns},
    {"failures only, per outcome", test_failures_only},
    {"minimum severity", test_min_severity},
    {"severity names", test_severity_parse},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("filter", tests)
