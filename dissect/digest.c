/* SPDX-License-Identifier: MIT */
/* digest.c: MD5 and SHA-256 hex digests through libcrypto's EVP interface (OpenSSL 3 default provider). */
#include "digest.h"

#include <openssl/evp.h>

/* hex_digest writes the lowercase hex of the digest of data into out (2 * digest size + 1 bytes). On a
 * libcrypto failure (it should not happen with the default provider) out is the empty string. */
static void hex_digest(const EVP_MD *md, const void *data, size_t len, char *out, size_t out_len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int d_len = 0;

    out[0] = '\0';
    if (md == NULL || EVP_Digest(data, len, d, &d_len, md, NULL) != 1) {
        return;
    }
    if ((size_t)d_len * 2 + 1 > out_len) {
        return;
    }
    for (unsigned int i = 0; i < d_len; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 0x0f];
    }
    out[2 * d_len] = '\0';
}

void td_digest_md5_hex(const void *data, size_t len, char out[33])
{
    hex_digest(EVP_md5(), data, len, out, 33);
}

void td_digest_sha256_hex(const void *data, size_t len, char out[65])
{
    hex_digest(EVP_sha256(), data, len, out, 65);
}
