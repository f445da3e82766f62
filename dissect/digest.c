/* SPDX-License-Identifier: MIT */
/* digest.c: MD5 and SHA-256 digests through libcrypto's EVP interface (OpenSSL 3 default provider), with
 * the algorithms fetched once per thread (OpenSSL 3.0 crypto(7), "Explicit fetching": EVP_md5() and
 * friends make every EVP_DigestInit search the provider store, which took most of a digest's time). */
#include "digest.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One thread's digest state. The context is reused: EVP_DigestInit_ex2 with the digest it already holds
 * only resets it. */
struct digest_state {
    EVP_MD *md5;
    EVP_MD *sha256;
    EVP_MD_CTX *ctx;
};

static _Thread_local struct digest_state *tls_state;
static pthread_key_t state_key;
static pthread_once_t state_key_once = PTHREAD_ONCE_INIT;
static bool state_key_ok;

static void state_free(struct digest_state *s)
{
    if (s == NULL) {
        return;
    }
    EVP_MD_CTX_free(s->ctx);
    EVP_MD_free(s->md5);
    EVP_MD_free(s->sha256);
    free(s);
}

/* The key exists only for its destructor, which frees a worker thread's state when the thread exits. */
static void state_destroy(void *p)
{
    state_free(p);
}

static void state_key_create(void)
{
    state_key_ok = pthread_key_create(&state_key, state_destroy) == 0;
}

/* thread_state returns the calling thread's state, creating it on first use; NULL when libcrypto or
 * malloc fails (the caller reports an empty digest and the next call tries again). */
static struct digest_state *thread_state(void)
{
    if (tls_state != NULL) {
        return tls_state;
    }
    struct digest_state *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    s->ctx = EVP_MD_CTX_new();
    if (s->md5 == NULL || s->sha256 == NULL || s->ctx == NULL) {
        state_free(s);
        return NULL;
    }
    (void)pthread_once(&state_key_once, state_key_create);
    if (state_key_ok) {
        (void)pthread_setspecific(state_key, s);
    }
    tls_state = s;
    return s;
}

void td_digest_free_thread(void)
{
    if (tls_state == NULL) {
        return;
    }
    if (state_key_ok) {
        (void)pthread_setspecific(state_key, NULL);
    }
    state_free(tls_state);
    tls_state = NULL;
}

/* digest runs md (chosen from the thread state by want_md5) over data; false on a libcrypto failure. */
static bool digest(bool want_md5, const void *data, size_t len, unsigned char *out, unsigned int *out_len)
{
    struct digest_state *s = thread_state();
    if (s == NULL) {
        return false;
    }
    const EVP_MD *md = want_md5 ? s->md5 : s->sha256;
    if (EVP_DigestInit_ex2(s->ctx, md, NULL) != 1 || EVP_DigestUpdate(s->ctx, data, len) != 1 ||
        EVP_DigestFinal_ex(s->ctx, out, out_len) != 1) {
        return false;
    }
    return true;
}

void td_digest_hex(const uint8_t *d, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

/* hex_digest writes the lowercase hex digest into out (want_len * 2 + 1 bytes), or "" on failure. */
static void hex_digest(bool want_md5, const void *data, size_t len, char *out, unsigned int want_len)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int d_len = 0;
    out[0] = '\0';
    if (!digest(want_md5, data, len, d, &d_len) || d_len != want_len) {
        return;
    }
    td_digest_hex(d, d_len, out);
}

void td_digest_md5_hex(const void *data, size_t len, char out[33])
{
    hex_digest(true, data, len, out, 16);
}

void td_digest_sha256_hex(const void *data, size_t len, char out[65])
{
    hex_digest(false, data, len, out, TD_SHA256_LEN);
}

bool td_digest_sha256(const void *data, size_t len, uint8_t out[TD_SHA256_LEN])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int d_len = 0;
    if (!digest(false, data, len, d, &d_len) || d_len != TD_SHA256_LEN) {
        memset(out, 0, TD_SHA256_LEN);
        return false;
    }
    memcpy(out, d, TD_SHA256_LEN);
    return true;
}
