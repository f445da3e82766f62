/* SPDX-License-Identifier: MIT */
/* classify.h: nDPI protocol classification of a flow. The only file that includes nDPI (Debian's 4.2 API).
 * A classifier is called with a flow's first packets (the IP header onward) until it has an answer or
 * nDPI says nothing more can be learned, then it frees nDPI's per-flow state. */
#ifndef TD_CAPTURE_CLASSIFY_H
#define TD_CAPTURE_CLASSIFY_H

#include "base.h"

struct td_classifier;      /* one per table: nDPI's detection module */
struct td_classify_flow;   /* one per flow while classification is running */

TD_MUST_USE struct td_classifier *td_classifier_new(void);
void td_classifier_free(struct td_classifier *c);

/* td_classify_packet feeds one packet of a flow (ip points at its IP header, ip_len captured bytes).
 * *flow is allocated on first use. Returns true once the flow is classified for good: the caller then
 * reads the result with td_classify_result and stops calling (the state is freed by td_classify_result). */
bool td_classify_packet(struct td_classifier *c, struct td_classify_flow **flow, const uint8_t *ip, uint32_t ip_len,
                        int64_t ts_ns);
/* td_classify_result sets the application and master protocol names (giving up detection if it is still
 * undecided; nDPI's own strings, valid until td_classifier_free, or literals) and frees *flow (sets it to NULL).
 * Safe with *flow == NULL ("Unknown"). */
void td_classify_result(struct td_classifier *c, struct td_classify_flow **flow, const char **app,
                        const char **master);

#endif
