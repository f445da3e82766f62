/* SPDX-License-Identifier: MIT */
/* fingerprint.h: the JA3 and JA4 fingerprints of a parsed ClientHello. They are computed from the hello's facts
 * when a report needs them, not kept per connection: the JA3 text alone was 1 KB of every tracked hello, and a
 * run that reports nothing never pays for the digests. */
#ifndef TD_DISSECT_FINGERPRINT_H
#define TD_DISSECT_FINGERPRINT_H

#include "facts.h"

struct td_fingerprints {
    char ja3[1024];    /* JA3 string (GREASE removed); a longer one keeps its start and ends in "..."; "" none */
    char ja3_hash[33]; /* MD5 hex of the whole JA3 string; "" none (or beyond the scratch space) */
    char ja4[40];      /* JA4 (FoxIO spec), e.g. t13d1516h2_8daaf6152771_e5627efa2ab1; "" none */
};

/* td_fingerprint_client_hello fills *out from ch (all empty when ch->fingerprint_lost: a fingerprint of lists the
 * arena could not hold whole would be wrong). JA4's transport is 'd' for a DTLS hello, 't' otherwise. */
void td_fingerprint_client_hello(const struct td_client_hello *ch, struct td_fingerprints *out);

#endif
