/* SPDX-License-Identifier: MIT */
/* test_digest.c: dissect/digest.c's hex digests against known vectors and against libcrypto's one-shot
 * EVP_Digest, for texts of every length around the remembered results' limit, each asked for several times
 * and in orders that make them share and take over slots, with MD5 and SHA-256 of the same text alternating;
 * and per thread. */
#include "../testlib.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../../dissect/digest.h"

static void oracle_hex(const EVP_MD *md, const void *data, size_t len, char *out)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    CU_ASSERT_EQUAL_FATAL(EVP_Digest(data, len, d, &n, md, NULL), 1);
    td_digest_hex(d, n, out);
}

static void test_vectors(void)
{
    char out[65];
    // RFC 1321 §A.5 and FIPS 180-2 test vectors for "abc", and the empty string.
    for (int round = 0; round < 3; round++) { /* the second and third answers come from the memo */
        td_digest_md5_hex("", 0, out);
        CU_ASSERT_STRING_EQUAL(out, "d41d8cd98f00b204e9800998ecf8427e");
        td_digest_md5_hex("abc", 3, out);
        CU_ASSERT_STRING_EQUAL(out, "900150983cd24fb0d6963f7d28e17f72");
        td_digest_sha256_hex("abc", 3, out);
        CU_ASSERT_STRING_EQUAL(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        td_digest_sha256_hex("", 0, out);
        CU_ASSERT_STRING_EQUAL(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}

/* text_of fills buf with a JA3-like text that depends on seed and has length len. */
static void text_of(char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (char)('0' + (seed * 31u + (unsigned)i * 7u + (unsigned)(i / 5)) % 10u);
        if (i % 6 == 5) {
            buf[i] = '-';
        }
    }
}

static int mismatches;

static void check_texts(unsigned seed0, int count)
{
    static char buf[1100];
    char got[65], want[65];
    for (int k = 0; k < count; k++) {
        unsigned seed = seed0 + (unsigned)k;
        size_t len = (size_t)(seed * 37u % 1100u); /* 0..1099: on both sides of the 1024-byte limit */
        text_of(buf, len, seed);
        td_digest_md5_hex(buf, len, got);
        oracle_hex(EVP_md5(), buf, len, want);
        mismatches += strcmp(got, want) != 0;
        td_digest_sha256_hex(buf, len, got);
        oracle_hex(EVP_sha256(), buf, len, want);
        mismatches += strcmp(got, want) != 0;
    }
}

static void test_against_libcrypto(void)
{
    mismatches = 0;
    check_texts(0, 400);   /* every slot used, most taken over several times */
    check_texts(0, 400);   /* again, same order */
    check_texts(390, 20);  /* the last ones: answers from the memo */
    check_texts(200, 300); /* and back through the middle */
    /* Texts that differ in one byte only (same length, mostly the same key input). */
    char a[64], got[65], want[65];
    memset(a, 'x', sizeof(a));
    for (int i = 0; i < 64; i++) {
        a[i] = 'y';
        td_digest_md5_hex(a, sizeof(a), got);
        oracle_hex(EVP_md5(), a, sizeof(a), want);
        mismatches += strcmp(got, want) != 0;
        a[i] = 'x';
        td_digest_md5_hex(a, sizeof(a), got);
        oracle_hex(EVP_md5(), a, sizeof(a), want);
        mismatches += strcmp(got, want) != 0;
    }
    CU_ASSERT_EQUAL(mismatches, 0);
}

static void *thread_checks(void *arg)
{
    int *bad = arg;
    char got[65], want[65], text[300];
    for (int k = 0; k < 300; k++) {
        text_of(text, (size_t)(k % 300), (unsigned)k * 3u);
        td_digest_sha256_hex(text, (size_t)(k % 300), got);
        oracle_hex(EVP_sha256(), text, (size_t)(k % 300), want);
        *bad += strcmp(got, want) != 0;
        td_digest_sha256_hex(text, (size_t)(k % 300), got);
        *bad += strcmp(got, want) != 0;
    }
    td_digest_free_thread();
    return NULL;
}

static void test_threads(void)
{
    int bad[3] = {0, 0, 0};
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, thread_checks, &bad[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(bad[i], 0);
    }
    td_digest_free_thread();
}

static CU_TestInfo tests[] = {
    {"known vectors, asked three times", test_vectors},
    {"as libcrypto, through the remembered results", test_against_libcrypto},
    {"threads", test_threads},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("digest", tests)
