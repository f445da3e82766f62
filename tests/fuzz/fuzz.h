/* SPDX-License-Identifier: MIT */
/* fuzz.h: what the fuzz targets share: the libFuzzer entry point they define (libFuzzer's main, or
 * replay_main.c under gcc, calls it once per input) and helpers that read every fact the dissector kept, so a
 * dangling or overrun pointer in struct td_tls_facts is caught by AddressSanitizer. STYLE.md part 2 §8. */
#ifndef TD_TESTS_FUZZ_FUZZ_H
#define TD_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "../../dissect/facts.h"

/* LLVMFuzzerTestOneInput runs one input; returns 0 (libFuzzer reserves other values). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* td_fuzz_touch_facts reads every array element and string of f; returns a checksum (to keep the reads). */
uint64_t td_fuzz_touch_facts(const struct td_tls_facts *f);
/* td_fuzz_touch_cert reads every string and array of one parsed certificate. */
uint64_t td_fuzz_touch_cert(const struct td_cert *c);

#endif
