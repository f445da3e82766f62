/* SPDX-License-Identifier: MIT */
/* fuzz_cert.c: the certificate path (dissect/cert.h, RFC 5280 through libcrypto) on arbitrary bytes: the input
 * as one DER certificate, then as a Certificate handshake message body in the TLS 1.2 form (RFC 5246 §7.4.2)
 * and the TLS 1.3 form (RFC 8446 §4.4.2). Small arenas, so running out of arena space is exercised too. */
#include "../../capture/arena.h"
#include "../../capture/cursor.h"
#include "../../dissect/cert.h"
#include "../../dissect/internal.h"
#include "fuzz.h"

/* Small enough that a chain of a few certificates fills it, large enough for one certificate's facts. */
#define FUZZ_ARENA_BYTES (16u * 1024u)

static volatile uint64_t sink;

static void parse_chain(const uint8_t *data, size_t size, bool tls13)
{
    struct td_arena arena;
    td_arena_init(&arena, FUZZ_ARENA_BYTES);
    struct td_cursor body;
    td_cursor_init(&body, data, size, 0);
    struct td_cert_chain chain = {0};
    enum td_anomaly anomaly = td_parse_certificate(&arena, body, tls13, &chain);
    sink += (uint64_t)anomaly;
    if (chain.num_certs > 0 && chain.certs == NULL) {
        __builtin_trap(); // a count with nothing behind it
    }
    for (uint32_t i = 0; i < chain.num_certs; i++) {
        sink += td_fuzz_touch_cert(&chain.certs[i]);
    }
    td_arena_cleanup(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct td_arena arena;
    td_arena_init(&arena, FUZZ_ARENA_BYTES);
    struct td_cursor der;
    td_cursor_init(&der, data, size, 0);
    struct td_cert cert = {0};
    sink += td_cert_parse(&arena, der, &cert) ? 1 : 0;
    sink += td_fuzz_touch_cert(&cert);
    td_arena_cleanup(&arena);

    parse_chain(data, size, false);
    parse_chain(data, size, true);
    return 0;
}
