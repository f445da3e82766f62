/* SPDX-License-Identifier: MIT */
/* fingerprint.c: JA3 and JA4 ClientHello fingerprints (stub; being written). */
#include "internal.h"

void td_fingerprint_client_hello(struct td_client_hello *ch)
{
    ch->ja3[0] = '\0';
    ch->ja3_hash[0] = '\0';
    ch->ja4[0] = '\0';
}
