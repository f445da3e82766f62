/* SPDX-License-Identifier: MIT */
/* testlib.h: shared helpers for the CUnit unit-test runners (one executable per source file under test).
 * A runner defines `static CU_TestInfo tests[] = {{"name", fn}, ..., CU_TEST_INFO_NULL};` and ends with
 * TD_TEST_MAIN("suite", tests). It fails when any assertion or suite setup failed, or when no test ran. */
#ifndef TD_TESTS_TESTLIB_H
#define TD_TESTS_TESTLIB_H

#include <CUnit/Basic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Absolute paths given by CMake. TD_CORPUS_DIR may not exist: tests that need it skip cleanly. */
#ifndef TD_SOURCE_DIR
#error "TD_SOURCE_DIR must be defined by the build"
#endif
#define TD_SAMPLES_DIR TD_SOURCE_DIR "/samples"
#define TD_CORPUS_DIR TD_SOURCE_DIR "/../shared/corpus"

/* td_test_hex decodes a hex string (whitespace ignored) into a malloc'd buffer; *len gets its length.
 * Aborts the test program on odd or invalid input (test data is ours). Free with free(). */
uint8_t *td_test_hex(const char *hex, size_t *len);
/* td_test_read_file reads a whole file into a malloc'd buffer, or returns NULL if it cannot. */
uint8_t *td_test_read_file(const char *path, size_t *len);
/* td_test_run registers one suite and runs it; returns the process exit status. */
int td_test_run(const char *suite, CU_TestInfo *tests);

#define TD_TEST_MAIN(suite, tests)                                                                  \
    int main(void) { return td_test_run((suite), (tests)); }

#endif
