/* SPDX-License-Identifier: MIT */
/* test_tds.c: being written. */
#include "../testlib.h"

static void test_placeholder(void)
{
    CU_ASSERT_TRUE(1);
}

static CU_TestInfo tests[] = {
    {"placeholder", test_placeholder},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("dissect.tds", tests)
