/* SPDX-License-Identifier: MIT */
/* digest.h: MD5/SHA-256 hex digests through libcrypto (for JA3, JA4 and certificate fingerprints). */
#ifndef TD_DISSECT_DIGEST_H
#define TD_DISSECT_DIGEST_H

#include "../capture/base.h"

/* Write the lowercase hex digest of data into out (33 bytes for MD5, 65 for SHA-256). */
void td_digest_md5_hex(const void *data, size_t len, char out[33]);
void td_digest_sha256_hex(const void *data, size_t len, char out[65]);

#endif
