/* SPDX-License-Identifier: MIT */
/* testlib.c: helpers shared by the unit-test runners. */
#include "testlib.h"

#include <ctype.h>
#include <stdio.h>

static int hex_value(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    return -1;
}

uint8_t *td_test_hex(const char *hex, size_t *len)
{
    size_t cap = 0;
    for (const char *s = hex; *s; s++) {
        cap += !isspace((unsigned char)*s);
    }
    uint8_t *out = malloc(cap / 2 + 1);
    if (out == NULL || cap % 2 != 0) {
        fprintf(stderr, "td_test_hex: bad test vector\n");
        exit(2);
    }
    size_t n = 0;
    int hi = -1;
    for (const char *s = hex; *s; s++) {
        if (isspace((unsigned char)*s)) {
            continue;
        }
        int v = hex_value((unsigned char)*s);
        if (v < 0) {
            fprintf(stderr, "td_test_hex: bad hex digit '%c'\n", *s);
            exit(2);
        }
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    *len = n;
    return out;
}

uint8_t *td_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            break;
        }
        cap *= 2;
        uint8_t *bigger = realloc(buf, cap);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
        }
        buf = bigger;
    }
    fclose(f);
    *len = n;
    return buf;
}

int td_test_run(const char *suite, CU_TestInfo *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 2;
    }
    CU_SuiteInfo suites[] = {{suite, NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failure_records();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (ran == 0) {
        fprintf(stderr, "%s: no test ran\n", suite);
        return 1;
    }
    return failures != 0;
}
