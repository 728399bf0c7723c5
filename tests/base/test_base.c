/* SPDX-License-Identifier: MIT */
/* Tests of base: errors, allocation faults, buffers, readers, hex, parsing. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"

static void test_errors(void **state)
{
    (void)state;
    assert_string_equal(base_strerror(BASE_ENOMEM), "out of memory");
    assert_string_equal(base_errname(BASE_EREPLAY), "EREPLAY");
    assert_string_equal(base_strerror(-9999), "unknown error");
    char msg[BASE_ERRMSG_SIZE];
    assert_int_equal(base_errf(msg, BASE_EINVAL, "bad %d", 7), BASE_EINVAL);
    assert_string_equal(msg, "bad 7");
}

static void test_alloc_fault(void **state)
{
    (void)state;
    base_alloc_fault(1, 1);
    void *a = base_malloc(8);
    void *b = base_malloc(8);
    void *c = base_malloc(8);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    base_free(a);
    base_free(c);
    base_alloc_fault(-1, 0);
}

static void test_buf(void **state)
{
    (void)state;
    struct base_buf b;
    base_buf_init(&b, 16);
    assert_int_equal(base_buf_add_u32(&b, 0x01020304), 0);
    assert_int_equal(base_buf_add_u64(&b, 0x05060708090a0b0cull), 0);
    assert_int_equal(b.len, 12);
    assert_int_equal(b.data[0], 1);
    assert_int_equal(b.data[11], 0x0c);
    /* 12 + 8 > 16: refused, contents unchanged. */
    assert_int_equal(base_buf_add_u64(&b, 1), BASE_ETOOBIG);
    assert_int_equal(b.len, 12);

    struct base_rd r;
    base_rd_init(&r, b.data, b.len);
    assert_int_equal(base_rd_u32(&r), 0x01020304);
    assert_true(base_rd_u64(&r) == 0x05060708090a0b0cull);
    assert_int_equal(base_rd_error(&r), 0);
    assert_int_equal(base_rd_u8(&r), 0);
    assert_int_equal(base_rd_error(&r), BASE_EPARSE);
    base_buf_release(&b);

    base_buf_init(&b, 0);
    assert_int_equal(base_buf_printf(&b, "%s-%d", "x", 42), 0);
    assert_int_equal(base_buf_terminate(&b), 0);
    assert_string_equal((char *)b.data, "x-42");
    base_buf_release(&b);
}

static void test_buf_oom(void **state)
{
    (void)state;
    struct base_buf b;
    base_buf_init(&b, 0);
    base_alloc_fault(0, 1);
    assert_int_equal(base_buf_add_str(&b, "hello"), BASE_ENOMEM);
    assert_int_equal(b.len, 0);
    assert_int_equal(base_buf_add_str(&b, "hello"), 0);
    base_buf_release(&b);
}

static void test_hex_parse(void **state)
{
    (void)state;
    uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
    char hex[7];
    base_hex_encode(hex, in, 3);
    assert_string_equal(hex, "00abff");
    assert_int_equal(base_hex_decode(out, 3, "00ABff"), 0);
    assert_memory_equal(in, out, 3);
    assert_int_equal(base_hex_decode(out, 3, "00abf"), BASE_EPARSE);
    assert_int_equal(base_hex_decode(out, 3, "00abfg"), BASE_EPARSE);

    int64_t i;
    uint64_t u;
    double d;
    assert_int_equal(base_parse_i64("-12", &i), 0);
    assert_int_equal(i, -12);
    assert_int_equal(base_parse_i64("12x", &i), BASE_EPARSE);
    assert_int_equal(base_parse_u64("-1", &u), BASE_EPARSE);
    assert_int_equal(base_parse_double("1e3", &d), 0);
    assert_true(d == 1000.0);
    assert_int_equal(base_parse_double("nan", &d), BASE_EPARSE);
}

static void test_files(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 32], sub[PATH_MAX + 32];
    tl_tmpdir(dir, "base");
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    assert_int_equal(base_mkdirs(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/f", sub);
    assert_int_equal(base_write_file(path, "abc", 3), 0);
    char *data;
    size_t len;
    assert_int_equal(base_read_file(path, 0, &data, &len), 0);
    assert_int_equal(len, 3);
    assert_string_equal(data, "abc");
    base_free(data);
    assert_int_equal(base_read_file(path, 2, &data, &len), BASE_ETOOBIG);
    assert_int_equal(base_read_file(path, 3, &data, &len), 0);
    base_free(data);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(base_read_file(path, 0, &data, &len), BASE_ENOTFOUND);
    tl_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),    cmocka_unit_test(test_alloc_fault),
        cmocka_unit_test(test_buf),       cmocka_unit_test(test_buf_oom),
        cmocka_unit_test(test_hex_parse), cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
