/* SPDX-License-Identifier: MIT */
/* fields.h: the field registry: every fact a rule condition, an evidence list or a text template can name.
 * One table (fields.c), one row per fact: dotted name, type, scope, description, accessor. Derived facts
 * (a Ys shorter than p, the highest version a client offered, a certificate expired at capture time, ...)
 * are computed here, once, by their accessors. Names follow Wireshark's display filters where it has the
 * field (tls.handshake.version, tls.alert.*) and docs/RULES.md describes the language that uses them. */
#ifndef TD_DISSECT_FIELDS_H
#define TD_DISSECT_FIELDS_H

#include "../capture/flow.h"
#include "facts.h"
#include "server.h"

enum td_field_type {
    TD_FIELD_INT,    /* int64 */
    TD_FIELD_FRAME,  /* a frame number (int64 >= 1): usable as evidence */
    TD_FIELD_BOOL,
    TD_FIELD_STRING, /* printable ASCII */
};

enum td_field_scope {
    TD_SCOPE_ALERT,      /* one alert of a connection (tls.alert.*) */
    TD_SCOPE_CONNECTION, /* one connection */
    TD_SCOPE_SERVER,     /* one server, aggregated over its connections (server.*) */
};

/* What an evaluation sees. Pointers may be NULL where the scope does not apply (no alert outside alert
 * evaluation; no flow/tls in server evaluation). All are borrowed for the duration of the evaluation. */
struct td_fact_ctx {
    const struct td_flow_info *flow;
    const struct td_tls_facts *tls;
    const struct td_alert *alert;
    const struct td_server_facts *server;
};

struct td_value {
    enum td_field_type type;
    int64_t i;     /* INT, FRAME, BOOL (0/1) */
    const char *s; /* STRING: borrowed from the facts or a static table, valid during the evaluation */
};

struct td_field {
    const char *name;
    enum td_field_type type;
    enum td_field_scope scope;
    const char *description;
    /* get: true and *out filled when the fact is present in ctx; false when absent. Never fails otherwise. */
    bool (*get)(const struct td_fact_ctx *ctx, struct td_value *out);
};

/* td_field_find returns the registry row for name, or NULL when no such field exists. Anomaly fields
 * ("tls.anomaly.trailing_bytes", one per row of anomalies.def, boolean, connection scope) are included. */
const struct td_field *td_field_find(const char *name);
/* td_field_count / td_field_at enumerate the registry in a stable order (for `tlsdiag rules fields`). */
size_t td_field_count(void);
const struct td_field *td_field_at(size_t i);

#endif
