/* SPDX-License-Identifier: MIT */
/* fuzz_dissector.c: the TLS dissector (dissect/tls.h) on arbitrary bytes in both directions, then every field
 * accessor of the registry (dissect/fields.h) and the built-in rules (rules/rules.h) over the facts.
 *
 * Input: a sequence of chunks, each a 3-byte header then its bytes:
 *   u8 op   bit 7: direction (0 client->server, 1 server->client); bits 0-1: 0 data, 1 gap, 2 TCP flags,
 *           3 UDP datagram. An input whose first chunk is a datagram is a DTLS flow: all its data chunks are
 *           datagrams (td_tls_conn_datagram) and gaps and flags are skipped, as the flow table never mixes them.
 *   u16 n   data: n payload bytes follow (fewer if the input ends first); gap: n bytes missing (nothing
 *           follows); flags: the low byte of n is the TD_TCP_* bits (nothing follows)
 * Every chunk is one frame; each direction's stream offset grows by its data and gaps, as the flow table
 * delivers them. tests/fuzz/make-seeds.sh writes real TLS streams in this form. */
#include <stdio.h>
#include <string.h>

#include "../../capture/cursor.h"
#include "../../capture/decode.h"
#include "../../capture/flow.h"
#include "../../dissect/fields.h"
#include "../../dissect/server.h"
#include "../../dissect/tls.h"
#include "../../rules/rules.h"
#include "fuzz.h"

#define OP_DIR 0x80u
#define OP_KIND 0x03u
#define OP_GAP 1u
#define OP_FLAGS 2u
#define OP_DATAGRAM 3u

static volatile uint64_t sink;

/* builtin_rules is compiled once per process: the same immutable rule set for every input, as in cli/. */
static const struct td_ruleset *builtin_rules(void)
{
    static struct td_ruleset *rs;
    if (rs != NULL) {
        return rs;
    }
    struct td_error err = {0};
    rs = td_ruleset_new();
    if (rs == NULL || td_ruleset_add_builtin(rs, &err) != TD_OK) {
        fprintf(stderr, "fuzz_dissector: built-in rules do not load: %s\n", err.msg);
        __builtin_trap();
    }
    return rs;
}

static void on_finding(void *ctx, const struct td_finding *f)
{
    (void)ctx;
    uint64_t sum = strlen(f->title) + strlen(f->explanation) + strlen(f->remedy) + strlen(f->rule->id);
    for (size_t i = 0; i < f->num_evidence; i++) {
        sum += f->evidence[i];
    }
    sink += sum;
}

/* get_every_field calls every accessor of scope `scope` on ctx and reads what it returns. */
static void get_every_field(const struct td_fact_ctx *ctx, enum td_field_scope scope)
{
    for (size_t i = 0; i < td_field_count(); i++) {
        const struct td_field *field = td_field_at(i);
        struct td_value v = {0};
        if (field->scope != scope || !field->get(ctx, &v)) {
            continue;
        }
        sink += (uint64_t)v.i + (v.type == TD_FIELD_STRING && v.s != NULL ? strlen(v.s) : 0);
    }
}

static void feed(struct td_tls_conn *conn, const uint8_t *data, size_t size, uint64_t *last_frame, int64_t *last_ts)
{
    struct td_cursor in;
    td_cursor_init(&in, data, size, 0);
    uint64_t off[2] = {0, 0};
    uint64_t frame = 0;
    int64_t ts_ns = 0;
    uint8_t op, first_op = 0;
    uint16_t n;
    bool udp = td_cursor_peek_at_u8(&in, 0, &first_op) && (first_op & OP_KIND) == OP_DATAGRAM;
    while (td_cursor_get_u8(&in, &op) && td_cursor_get_u16(&in, &n)) {
        int dir = (op & OP_DIR) != 0 ? TD_DIR_S2C : TD_DIR_C2S;
        frame++;
        ts_ns += 1000;
        if (udp && ((op & OP_KIND) == OP_GAP || (op & OP_KIND) == OP_FLAGS)) {
            continue;
        }
        if (udp) {
            struct td_cursor dgram;
            size_t len = n <= td_cursor_len(&in) ? n : td_cursor_len(&in);
            if (!td_cursor_get_bytes(&in, &dgram, len)) {
                break;
            }
            td_tls_conn_datagram(conn, dir, td_cursor_data(&dgram), len, frame, ts_ns);
        } else if ((op & OP_KIND) == OP_GAP) {
            td_tls_conn_gap(conn, dir, off[dir], n, frame, ts_ns);
            off[dir] += n;
        } else if ((op & OP_KIND) == OP_FLAGS) {
            td_tls_conn_tcp_flags(conn, dir, (uint8_t)(n & 0xffu), frame, ts_ns);
        } else {
            struct td_cursor chunk;
            size_t len = n <= td_cursor_len(&in) ? n : td_cursor_len(&in);
            if (!td_cursor_get_bytes(&in, &chunk, len)) {
                break;
            }
            td_tls_conn_data(conn, dir, td_cursor_data(&chunk), len, off[dir], frame, ts_ns);
            off[dir] += len;
        }
    }
    *last_frame = frame;
    *last_ts = ts_ns;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct td_ruleset *rules = builtin_rules();
    struct td_limits limits = td_limits_default();
    struct td_tls_conn *conn = td_tls_conn_new(&limits, NULL);
    struct td_server_table *servers = td_server_table_new(4);
    if (conn == NULL || servers == NULL) {
        __builtin_trap();
    }
    uint64_t last_frame;
    int64_t last_ts;
    feed(conn, data, size, &last_frame, &last_ts);
    td_tls_conn_finish(conn, last_frame, last_ts);
    const struct td_tls_facts *facts = td_tls_conn_facts(conn);
    sink += td_fuzz_touch_facts(facts);

    // A fixed flow around the bytes: the dissector never sees addresses, the server.* facts need some.
    struct td_flow_info info = {
        .id = 1,
        .client_port = 50000,
        .server_port = 443,
        .saw_syn = true,
        .first_frame = last_frame > 0 ? 1 : 0,
        .last_frame = last_frame,
        .last_ts_ns = last_ts,
        .end = TD_FLOW_END_CAPTURE_END,
    };
    info.client.family = 4;
    info.server.family = 4;
    memcpy(info.client.bytes, (const uint8_t[4]){192, 0, 2, 1}, 4);
    memcpy(info.server.bytes, (const uint8_t[4]){198, 51, 100, 1}, 4);
    const struct td_server_facts *server = td_server_table_add(servers, &info, facts);
    struct td_fact_ctx ctx = {.flow = &info, .tls = facts, .server = server};
    get_every_field(&ctx, TD_SCOPE_CONNECTION);
    td_ruleset_eval(rules, TD_EVAL_CONNECTION, &ctx, on_finding, NULL);
    for (uint32_t i = 0; facts->alerts != NULL && i < facts->num_alerts; i++) {
        ctx.alert = &facts->alerts[i];
        get_every_field(&ctx, TD_SCOPE_ALERT);
        td_ruleset_eval(rules, TD_EVAL_ALERT, &ctx, on_finding, NULL);
    }
    if (server != NULL) {
        struct td_fact_ctx sctx = {.server = server};
        get_every_field(&sctx, TD_SCOPE_SERVER);
        td_ruleset_eval(rules, TD_EVAL_SERVER, &sctx, on_finding, NULL);
    }
    td_server_table_free(servers);
    td_tls_conn_free(conn);
    return 0;
}
