/* SPDX-License-Identifier: MIT */
/* Unit tests of the small helpers: times, sizes, atomic files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"

static void test_time(void **state)
{
    (void)state;
    char buf[UTIL_TIME_LEN];
    assert_string_equal(util_format_time(1795482606123456LL, buf),
                        "2026-11-24T01:10:06.123456Z");
    assert_string_equal(util_format_time(0, buf),
                        "1970-01-01T00:00:00.000000Z");
    int64_t us = -1;
    assert_int_equal(util_parse_time("2026-11-24T01:10:06.123456Z", &us), 0);
    assert_int_equal(us, 1795482606123456LL);
    /* Fewer fraction digits are tenths, hundredths, ...; more are cut. */
    assert_int_equal(util_parse_time("2026-11-24T01:10:06.12Z", &us), 0);
    assert_int_equal(us, 1795482606120000LL);
    assert_int_equal(util_parse_time("2026-11-24T01:10:06.1234567Z", &us), 0);
    assert_int_equal(us, 1795482606123456LL);
    assert_int_equal(util_parse_time("2026-11-24T01:10:06Z", &us), 0);
    assert_int_equal(us, 1795482606000000LL);
    assert_int_equal(util_parse_time("2026-11-24T01:10:06", &us), -1);
    assert_int_equal(util_parse_time("yesterday", &us), -1);
    assert_int_equal(util_parse_time(NULL, &us), -1);
    assert_true(util_mono_us() > 0);
    assert_true(util_now_us() > 1700000000LL * 1000000);
}

static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t bytes;
    } good[] = {
        {"0", 0},
        {"1024", 1024},
        {"512M", 512ULL << 20},
        {"8G", 8ULL << 30},
        {"8g", 8ULL << 30},
        {"2GB", 2ULL << 30},
        {"2GiB", 2ULL << 30},
        {"1T", 1ULL << 40},
        {"3k", 3072},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        uint64_t v = 1;
        if (util_parse_size(good[i].text, &v) != 0 || v != good[i].bytes)
            fail_msg("'%s' parsed to %llu", good[i].text,
                     (unsigned long long)v);
    }
    static const char *const bad[] = {
        "",         "G", "-1", "8Q", "1.5G", "8 G", "99999999999999999999",
        "20000000T"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v;
        if (util_parse_size(bad[i], &v) == 0)
            fail_msg("'%s' accepted", bad[i]);
    }
    char buf[32];
    assert_string_equal(util_format_size(2ULL << 30, buf), "2G");
    assert_string_equal(util_format_size(1536ULL << 20, buf), "1536M");
    assert_string_equal(util_format_size(1000, buf), "1000");
    assert_string_equal(util_human_size(0, buf, sizeof buf), "0");
    assert_string_equal(util_human_size(512ULL << 20, buf, sizeof buf), "512M");
    assert_string_equal(util_human_size(25275387904ULL, buf, sizeof buf),
                        "23.5G");
    assert_string_equal(util_human_size(100ULL << 40, buf, sizeof buf), "100T");
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/mpispool-util-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], deep[256];
    snprintf(path, sizeof path, "%s/f", dir);
    snprintf(deep, sizeof deep, "%s/a/b/c", dir);
    struct mps_error err;
    assert_int_equal(util_write_file(path, "one", 3, UTIL_FSYNC, &err), 0);
    assert_int_equal(util_write_file(path, "two!", 4, 0, &err), 0);
    size_t len;
    char *text = util_read_file(path, 100, &len, &err);
    assert_string_equal(text, "two!");
    assert_int_equal(len, 4);
    free(text);
    assert_null(util_read_file(path, 2, &len, &err));
    assert_int_equal(util_mkdir_p(deep, 0755), 0);
    assert_int_equal(util_mkdir_p(deep, 0755), 0);
    assert_int_equal(util_mkdir_p(path, 0755), -1); /* a file in the way */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls %s | grep tmp)\" && rm -rf %s",
             dir, dir);
    assert_int_equal(system(cmd), 0); /* no temporary files left behind */
}

/* util_grow: the first size when empty, then doubling, the same array
 * while there is room; an impossible size fails and changes nothing. */
static void test_grow(void **state)
{
    (void)state;
    size_t cap = 0, n = 0;
    int *v = NULL;
    for (int i = 0; i < 100; i++) {
        int *grown = util_grow(v, n, &cap, sizeof *v, 4);
        assert_non_null(grown);
        if (n < 4)
            assert_int_equal(cap, 4);
        v = grown;
        v[n++] = i;
    }
    assert_int_equal(cap, 128); /* 4, 8, 16, 32, 64, 128 */
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], i);
    assert_ptr_equal(util_grow(v, n, &cap, sizeof *v, 4), v);
    assert_int_equal(cap, 128);
    size_t huge = SIZE_MAX / 2 + 1;
    assert_null(util_grow(v, huge, &huge, 1, 4)); /* twice it overflows */
    assert_int_equal(huge, SIZE_MAX / 2 + 1);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
