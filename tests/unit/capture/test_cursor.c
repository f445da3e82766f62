/* SPDX-License-Identifier: MIT */
/* test_cursor.c: the bounds-checked cursor: every read either succeeds and advances or fails and leaves
 * the cursor unchanged. */
#include "../../../capture/cursor.h"
#include "../testlib.h"

static void test_integers(void)
{
    const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
    struct td_cursor c;
    td_cursor_init(&c, b, sizeof(b), 100);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    CU_ASSERT_TRUE(td_cursor_get_u8(&c, &u8));
    CU_ASSERT_EQUAL(u8, 0x01);
    CU_ASSERT_TRUE(td_cursor_get_u16(&c, &u16));
    CU_ASSERT_EQUAL(u16, 0x0203);
    CU_ASSERT_TRUE(td_cursor_get_u24(&c, &u32));
    CU_ASSERT_EQUAL(u32, 0x040506);
    CU_ASSERT_EQUAL(td_cursor_off(&c), 106);
    CU_ASSERT_FALSE(td_cursor_get_u32(&c, &u32)); /* 3 left */
    CU_ASSERT_EQUAL(td_cursor_len(&c), 3);
    CU_ASSERT_EQUAL(td_cursor_off(&c), 106);
    CU_ASSERT_TRUE(td_cursor_get_u16_le(&c, &u16));
    CU_ASSERT_EQUAL(u16, 0x0807);
    td_cursor_init(&c, b, 8, 0);
    CU_ASSERT_TRUE(td_cursor_get_u64(&c, &u64));
    CU_ASSERT_EQUAL(u64, 0x0102030405060708ull);
    td_cursor_init(&c, b, 8, 0);
    CU_ASSERT_TRUE(td_cursor_get_u64_le(&c, &u64));
    CU_ASSERT_EQUAL(u64, 0x0807060504030201ull);
    td_cursor_init(&c, b, 4, 0);
    CU_ASSERT_TRUE(td_cursor_get_u32_le(&c, &u32));
    CU_ASSERT_EQUAL(u32, 0x04030201u);
    CU_ASSERT_FALSE(td_cursor_get_u8(&c, &u8));
}

static void test_prefixed(void)
{
    /* u16 length 3, then "abc", then one more byte */
    const uint8_t b[] = {0x00, 0x03, 'a', 'b', 'c', 0xff};
    struct td_cursor c, sub;
    td_cursor_init(&c, b, sizeof(b), 0);
    CU_ASSERT_TRUE(td_cursor_get_u16_prefixed(&c, &sub));
    CU_ASSERT_EQUAL(td_cursor_len(&sub), 3);
    CU_ASSERT_EQUAL(td_cursor_off(&sub), 2);
    CU_ASSERT_EQUAL(td_cursor_len(&c), 1);
    uint8_t tmp[3];
    CU_ASSERT_TRUE(td_cursor_copy(&sub, tmp, 3));
    CU_ASSERT_EQUAL(tmp[2], 'c');
    CU_ASSERT_FALSE(td_cursor_copy(&sub, tmp, 1));
}

static void test_prefix_overrun_leaves_cursor(void)
{
    /* every prefix claims one byte more than is there: nothing may move */
    const uint8_t b8[] = {0x03, 'a', 'b'};
    const uint8_t b16[] = {0x00, 0x03, 'a', 'b'};
    const uint8_t b24[] = {0x00, 0x00, 0x03, 'a', 'b'};
    struct td_cursor c, sub;
    td_cursor_init(&c, b8, sizeof(b8), 7);
    CU_ASSERT_FALSE(td_cursor_get_u8_prefixed(&c, &sub));
    CU_ASSERT_EQUAL(td_cursor_len(&c), sizeof(b8));
    CU_ASSERT_EQUAL(td_cursor_off(&c), 7);
    td_cursor_init(&c, b16, sizeof(b16), 0);
    CU_ASSERT_FALSE(td_cursor_get_u16_prefixed(&c, &sub));
    CU_ASSERT_EQUAL(td_cursor_len(&c), sizeof(b16));
    td_cursor_init(&c, b24, sizeof(b24), 0);
    CU_ASSERT_FALSE(td_cursor_get_u24_prefixed(&c, &sub));
    CU_ASSERT_EQUAL(td_cursor_len(&c), sizeof(b24));
    /* a prefix that is itself cut short */
    td_cursor_init(&c, b16, 1, 0);
    CU_ASSERT_FALSE(td_cursor_get_u16_prefixed(&c, &sub));
    CU_ASSERT_EQUAL(td_cursor_len(&c), 1);
}

static void test_peek_skip_truncate(void)
{
    const uint8_t b[] = {0x16, 0x03, 0x01};
    struct td_cursor c;
    td_cursor_init(&c, b, sizeof(b), 0);
    uint8_t u8;
    uint16_t u16;
    CU_ASSERT_TRUE(td_cursor_peek_u8(&c, &u8));
    CU_ASSERT_EQUAL(u8, 0x16);
    CU_ASSERT_TRUE(td_cursor_peek_at_u8(&c, 2, &u8));
    CU_ASSERT_EQUAL(u8, 0x01);
    CU_ASSERT_FALSE(td_cursor_peek_at_u8(&c, 3, &u8));
    CU_ASSERT_EQUAL(td_cursor_len(&c), 3);
    CU_ASSERT_FALSE(td_cursor_skip(&c, 4));
    CU_ASSERT_TRUE(td_cursor_skip(&c, 1));
    CU_ASSERT_TRUE(td_cursor_peek_u16(&c, &u16));
    CU_ASSERT_EQUAL(u16, 0x0301);
    td_cursor_truncate(&c, 1);
    CU_ASSERT_EQUAL(td_cursor_len(&c), 1);
    td_cursor_truncate(&c, 5);
    CU_ASSERT_EQUAL(td_cursor_len(&c), 1);
    CU_ASSERT_TRUE(td_cursor_skip(&c, 0));
}

static void test_empty(void)
{
    struct td_cursor c, sub;
    td_cursor_init(&c, NULL, 0, 0);
    uint8_t u8;
    CU_ASSERT_FALSE(td_cursor_get_u8(&c, &u8));
    CU_ASSERT_TRUE(td_cursor_get_bytes(&c, &sub, 0));
    CU_ASSERT_EQUAL(td_cursor_len(&sub), 0);
    const uint8_t zero_len[] = {0x00};
    td_cursor_init(&c, zero_len, 1, 0);
    CU_ASSERT_TRUE(td_cursor_get_u8_prefixed(&c, &sub));
    CU_ASSERT_EQUAL(td_cursor_len(&sub), 0);
    CU_ASSERT_EQUAL(td_cursor_len(&c), 0);
}

static CU_TestInfo tests[] = {
    {"integers", test_integers},
    {"prefixed", test_prefixed},
    {"prefix overrun leaves cursor", test_prefix_overrun_leaves_cursor},
    {"peek, skip, truncate", test_peek_skip_truncate},
    {"empty", test_empty},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("cursor", tests)
