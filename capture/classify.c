/* SPDX-License-Identifier: MIT */
/* classify.c: nDPI protocol classification of a flow's first packets, the only nDPI includer; coded
 * against Debian 12's nDPI 4.2 (NDPI_API_VERSION 8668): init(prefs), process_packet without input_info,
 * giveup(..., enable_guess, &guessed). */
#include "classify.h"

#include <ndpi/ndpi_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Packets of one flow given to nDPI at most. A TLS flow is named from its ClientHello; the extra
 * dissection nDPI asks for (certificate, server names) ends with the server's first flight, which fits
 * well inside 32 packets of a normal handshake. ndpiReader allows 80 TCP packets; we need the name only. */
#define CLASSIFY_MAX_PACKETS 32u

struct td_classifier {
    struct ndpi_detection_module_struct *ndpi;
};

struct td_classify_flow {
    struct ndpi_flow_struct *ndpi_flow;
    ndpi_protocol proto;
    uint32_t packets;
    bool detected;
};

struct td_classifier *td_classifier_new(void)
{
    struct td_classifier *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (c->ndpi == NULL) {
        free(c);
        return NULL;
    }
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(c->ndpi, &all);
    ndpi_finalize_initialization(c->ndpi);
    return c;
}

void td_classifier_free(struct td_classifier *c)
{
    if (c == NULL) {
        return;
    }
    ndpi_exit_detection_module(c->ndpi);
    free(c);
}

static void flow_free(struct td_classify_flow *f)
{
    if (f == NULL) {
        return;
    }
    /* ndpi_free_flow releases the flow's own allocations and the struct (ndpi_flow_free would too,
     * through the same call, so calling both frees twice). */
    ndpi_free_flow(f->ndpi_flow);
    free(f);
}

static struct td_classify_flow *flow_new(void)
{
    struct td_classify_flow *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    f->ndpi_flow = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
    if (f->ndpi_flow == NULL) {
        free(f);
        return NULL;
    }
    memset(f->ndpi_flow, 0, SIZEOF_FLOW_STRUCT);
    return f;
}

/* extra_dissection_over: nDPI will not change this flow's answer again. Once the application protocol
 * (detected_protocol_stack[0]) is known, ndpi_detection_process_packet only runs the flow's extra
 * dissection function, and only while check_extra_packets is set and the function is still there (nDPI
 * drops it after max_extra_packets_to_check packets); otherwise it returns the stack unchanged.
 * ndpi_extra_dissection_possible in 4.2 asks protocol facts instead (for TLS, certificate_processed, which
 * a TLS 1.3 or resumed handshake never sets), so on its own it kept us feeding such flows up to
 * CLASSIFY_MAX_PACKETS packets that nDPI no longer looked at: one call in five on a handshake capture. */
static bool extra_dissection_over(const struct td_classify_flow *f)
{
    const struct ndpi_flow_struct *nf = f->ndpi_flow;
    bool extra_pending = nf->check_extra_packets && nf->extra_packets_func != NULL;
    return f->proto.app_protocol != NDPI_PROTOCOL_UNKNOWN && !extra_pending;
}

bool td_classify_packet(struct td_classifier *c, struct td_classify_flow **flow, const uint8_t *ip, uint32_t ip_len,
                        int64_t ts_ns)
{
    if (*flow == NULL) {
        *flow = flow_new();
        if (*flow == NULL) {
            return true; /* no memory: stop trying, the result is "Unknown" */
        }
    }
    struct td_classify_flow *f = *flow;
    if (ip != NULL && ip_len > 0) {
        /* nDPI takes an unsigned short length; an IP packet is at most 65535 bytes anyway. */
        unsigned short len = ip_len > 65535u ? 65535u : (unsigned short)ip_len;
        uint64_t ts_ms = ts_ns > 0 ? (uint64_t)ts_ns / 1000000u : 0;
        ndpi_protocol p = ndpi_detection_process_packet(c->ndpi, f->ndpi_flow, ip, len, ts_ms);
        if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN) {
            f->proto = p;
            f->detected = true;
        }
    }
    f->packets++;
    if (f->detected && (!ndpi_extra_dissection_possible(c->ndpi, f->ndpi_flow) || extra_dissection_over(f))) {
        return true;
    }
    return f->packets >= CLASSIFY_MAX_PACKETS;
}

void td_classify_result(struct td_classifier *c, struct td_classify_flow **flow, const char **app,
                        const char **master)
{
    struct td_classify_flow *f = *flow;
    *app = "Unknown";
    *master = "";
    if (f == NULL) {
        return;
    }
    ndpi_protocol p = f->proto;
    if (!f->detected) {
        u_int8_t guessed = 0;
        p = ndpi_detection_giveup(c->ndpi, f->ndpi_flow, 1, &guessed);
    }
    /* nDPI names a sub-protocol in app_protocol (IMAPS over TLS, or a service such as Google with TLS as
     * master); with no sub-protocol the protocol itself is in master_protocol or app_protocol. */
    uint16_t app_id = p.app_protocol != NDPI_PROTOCOL_UNKNOWN ? p.app_protocol : p.master_protocol;
    uint16_t master_id = p.app_protocol != NDPI_PROTOCOL_UNKNOWN ? p.master_protocol : NDPI_PROTOCOL_UNKNOWN;
    const char *name = app_id != NDPI_PROTOCOL_UNKNOWN ? ndpi_get_proto_name(c->ndpi, app_id) : NULL;
    if (name != NULL) {
        *app = name;
    }
    name = master_id != NDPI_PROTOCOL_UNKNOWN && master_id != app_id ? ndpi_get_proto_name(c->ndpi, master_id) : NULL;
    if (name != NULL) {
        *master = name;
    }
    flow_free(f);
    *flow = NULL;
}
