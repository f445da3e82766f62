/* SPDX-License-Identifier: MIT */
/* digest.c: MD5 and SHA-256 digests through libcrypto's EVP interface (OpenSSL 3 default provider), with
 * the algorithms fetched once per thread (OpenSSL 3.0 crypto(7), "Explicit fetching": EVP_md5() and
 * friends make every EVP_DigestInit search the provider store, which took most of a digest's time). */
#include "digest.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The hex digests are JA3's and JA4's, of texts that a capture's ClientHellos repeat over and over (one per
 * client stack): the last results are remembered per thread, keyed on the whole text (compared, not only
 * hashed), so a repeated text costs a hash and a compare instead of a digest. Longer texts are not kept. */
#define MEMO_SLOTS 64u
#define MEMO_TEXT_MAX 1024u

struct memo {
    uint64_t key;          /* text_key of the text and the algorithm; 0: empty */
    uint32_t len;
    bool md5;
    char hex[65];
    char text[MEMO_TEXT_MAX];
};

/* One thread's digest state. The context is reused: EVP_DigestInit_ex2 with the digest it already holds
 * only resets it. */
struct digest_state {
    EVP_MD *md5;
    EVP_MD *sha256;
    EVP_MD_CTX *ctx;
    struct memo memo[MEMO_SLOTS];
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

/* text_key: a 64-bit mix of the text, eight bytes at a time, and of the algorithm; never 0. */
static uint64_t text_key(const unsigned char *p, size_t len, bool md5)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)len ^ (md5 ? 0x5bd1e995ull : 0);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof(w));
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t tail = 0;
    if (len > i) {
        memcpy(&tail, p + i, len - i);
    }
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h != 0 ? h : 1;
}

/* hex_digest writes the lowercase hex digest into out (want_len * 2 + 1 bytes), or "" on failure. */
static void hex_digest(bool want_md5, const void *data, size_t len, char *out, unsigned int want_len)
{
    out[0] = '\0';
    struct digest_state *s = thread_state();
    if (s == NULL) {
        return;
    }
    uint64_t key = 0;
    struct memo *m = NULL;
    if (len <= MEMO_TEXT_MAX) {
        key = text_key(data, len, want_md5);
        m = &s->memo[key % MEMO_SLOTS];
        if (m->key == key && m->md5 == want_md5 && m->len == len && memcmp(m->text, data, len) == 0) {
            memcpy(out, m->hex, (size_t)want_len * 2 + 1);
            return;
        }
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int d_len = 0;
    if (!digest(want_md5, data, len, d, &d_len) || d_len != want_len) {
        return;
    }
    td_digest_hex(d, d_len, out);
    if (m != NULL) {
        *m = (struct memo){.key = key, .len = (uint32_t)len, .md5 = want_md5};
        memcpy(m->text, data, len);
        memcpy(m->hex, out, (size_t)want_len * 2 + 1);
    }
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
