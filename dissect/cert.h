/* SPDX-License-Identifier: MIT */
/* cert.h: X.509 certificate facts through libcrypto (the only libcrypto includer besides digest.c).
 * Parses a DER certificate once and copies out what the report needs into the connection arena. */
#ifndef TD_DISSECT_CERT_H
#define TD_DISSECT_CERT_H

#include "../capture/arena.h"
#include "../capture/cursor.h"
#include "facts.h"

/* td_cert_parse fills *out from the DER bytes viewed by der (consumed whole). Strings are allocated in
 * arena. Returns true on success; false when the DER does not parse (out->parse_error set, sha256 and
 * der_len still filled) or the arena is full (fields may be partly empty). */
TD_MUST_USE bool td_cert_parse(struct td_arena *arena, struct td_cursor der, struct td_cert *out);

#endif
