/* SPDX-License-Identifier: MIT */
/* digest.h: MD5/SHA-256 digests through libcrypto (for JA3, JA4 and certificate fingerprints).
 * Thread model: each thread fetches the two EVP_MDs and one EVP_MD_CTX once, on its first digest, and
 * reuses them (OpenSSL 3 otherwise looks the implementation up in the provider store, under a lock, on
 * every call). A thread's state is freed when the thread exits (a pthread key destructor) or by
 * td_digest_free_thread; the main thread should call that before it exits so valgrind sees no leak. */
#ifndef TD_DISSECT_DIGEST_H
#define TD_DISSECT_DIGEST_H

#include "../capture/base.h"

#define TD_SHA256_LEN 32

/* Write the lowercase hex digest of data into out (33 bytes for MD5, 65 for SHA-256); the empty string if
 * libcrypto fails (it does not with the default provider). */
void td_digest_md5_hex(const void *data, size_t len, char out[33]);
void td_digest_sha256_hex(const void *data, size_t len, char out[65]);

/* td_digest_sha256 writes the raw SHA-256 of data into out. False (out zeroed) if libcrypto fails. */
TD_MUST_USE bool td_digest_sha256(const void *data, size_t len, uint8_t out[TD_SHA256_LEN]);

/* td_digest_hex writes the lowercase hex of the len bytes of d into out (2 * len + 1 bytes). */
void td_digest_hex(const uint8_t *d, size_t len, char *out);

/* td_digest_free_thread releases the calling thread's fetched digests and context. Idempotent; the next
 * digest on the thread fetches them again. */
void td_digest_free_thread(void);

#endif
