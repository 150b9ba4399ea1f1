/* SPDX-License-Identifier: MIT */
/* Unit tests of task records as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"

static void test_json_fields(void **state)
{
    (void)state;
    struct task_record rec = {
        .job = "20261124-0001",
        .task = 7,
        .attempt = 2,
        .host = "pc12",
        .rank = 3,
        .cores = "0-3",
        .start_us = 1795482606123456LL,
        .end_us = 1795482607623456LL,
        .exit_code = -1,
        .signal = 9,
        .timed_out = true,
        .error = "cannot execute 'nosuchcmd': No such file or directory",
        .stdout_path = "/s/out/j/7.out",
        .stderr_path = "/s/out/j/7.err",
        .stdout_bytes = 200000000,
        .stderr_bytes = 0,
        .max_rss_kb = 1234,
        .user_s = 0.5,
        .system_s = 0.25,
    };
    char *json = record_to_json(&rec);
    assert_non_null(json);
    assert_string_equal(
        json,
        "{\"job\":\"20261124-0001\",\"task\":7,\"attempt\":2,\"host\":"
        "\"pc12\",\"rank\":3,\"cores\":\"0-3\",\"gpus\":null,\"start\":\"2026-"
        "11-24T01:10:"
        "06.123456Z\",\"end\":\"2026-11-24T01:10:07.623456Z\",\"elapsed\":1."
        "5,\"exit_code\":null,\"signal\":9,\"timed_out\":true,\"error\":"
        "\"cannot execute 'nosuchcmd': No such file or directory\",\"stdout\":"
        "\"/s/out/j/7.out\",\"stderr\":\"/s/out/j/7.err\",\"stdout_bytes\":"
        "200000000,\"stderr_bytes\":0,\"max_rss_kb\":1234,\"user_s\":0.5,"
        "\"system_s\":0.25}");
    struct task_record back;
    struct mps_error err;
    assert_int_equal(record_from_json(json, &back, &err), 0);
    assert_string_equal(back.job, rec.job);
    assert_int_equal(back.task, 7);
    assert_int_equal(back.attempt, 2);
    assert_int_equal(back.start_us, rec.start_us);
    assert_int_equal(back.end_us, rec.end_us);
    assert_int_equal(back.exit_code, -1);
    assert_int_equal(back.signal, 9);
    assert_true(back.timed_out);
    assert_string_equal(back.error, rec.error);
    assert_int_equal(back.stdout_bytes, 200000000);
    assert_false(record_ok(&back));
    record_clear(&back);
    free(json);
}

static void test_success_and_nulls(void **state)
{
    (void)state;
    struct task_record rec = {
        .job = "j", .host = "h", .exit_code = 0, .start_us = 0, .end_us = 1};
    assert_true(record_ok(&rec));
    char *json = record_to_json(&rec);
    assert_non_null(strstr(json, "\"exit_code\":0,\"signal\":null"));
    assert_non_null(strstr(json, "\"cores\":null"));
    assert_non_null(strstr(json, "\"error\":null"));
    assert_non_null(strstr(json, "\"start\":\"1970-01-01T00:00:00.000000Z\""));
    free(json);
    rec.exit_code = 3;
    assert_false(record_ok(&rec));
    rec.exit_code = 0;
    rec.error = "x";
    assert_false(record_ok(&rec));
}

static void test_unicode_error(void **state)
{
    (void)state;
    struct task_record rec = {.job = "j",
                              .host = "h",
                              .exit_code = -1,
                              .error = "cannot execute 'prög': ✗ \"quoted\""};
    char *json = record_to_json(&rec);
    struct task_record back;
    struct mps_error err;
    assert_int_equal(record_from_json(json, &back, &err), 0);
    assert_string_equal(back.error, rec.error);
    record_clear(&back);
    free(json);
    assert_int_equal(record_from_json("[1]", &back, &err), -1);
    assert_string_equal(err.text, "invalid task record: not an object");
    /* A time written by another tool with fewer fraction digits: ".5" is
     * half a second, not 5 microseconds. */
    assert_int_equal(
        record_from_json("{\"job\":\"j\",\"start\":\"2026-11-24T01:10:06.5Z\"}",
                         &back, &err),
        0);
    assert_int_equal(back.start_us, 1795482606500000LL);
    record_clear(&back);
}

/* The outcome flags and the note appear only when set, and read back. */
static void test_flags_and_note(void **state)
{
    (void)state;
    struct task_record rec = {.job = "j", .attempt = 1, .exit_code = 0};
    char *plain = record_to_json(&rec);
    assert_null(strstr(plain, "cancelled"));
    assert_null(strstr(plain, "note"));
    free(plain);
    rec.cancelled = true;
    rec.interrupted = true;
    rec.note = "stdout truncated at 1K";
    char *json = record_to_json(&rec);
    assert_non_null(strstr(json, "\"cancelled\":true,\"interrupted\":true,"
                                 "\"note\":\"stdout truncated at 1K\""));
    struct task_record back;
    struct mps_error err;
    assert_int_equal(record_from_json(json, &back, &err), 0);
    assert_true(back.cancelled);
    assert_true(back.interrupted);
    assert_string_equal(back.note, "stdout truncated at 1K");
    record_clear(&back);
    free(json);
}

/* A task with steps lists them; one without has no "steps" key. */
static void test_steps(void **state)
{
    (void)state;
    struct task_record rec = {.job = "j", .attempt = 1, .exit_code = 3};
    char *plain = record_to_json(&rec);
    assert_null(strstr(plain, "steps"));
    free(plain);
    struct step_record steps[] = {
        {1795482606000000LL, 1795482606500000LL, 0, 0, 4, 0, NULL},
        {1795482606500000LL, 1795482607000000LL, -1, 9, 0, 2, "oops"}};
    rec.steps = steps;
    rec.nsteps = 2;
    char *json = record_to_json(&rec);
    assert_non_null(strstr(
        json, "\"steps\":[{\"step\":0,\"start\":\"2026-11-24T01:10:06."
              "000000Z\",\"end\":\"2026-11-24T01:10:06.500000Z\",\"elapsed\":"
              "0.5,\"exit_code\":0,\"signal\":null,\"stdout_bytes\":4,"
              "\"stderr_bytes\":0,\"error\":null},{\"step\":1,"));
    assert_non_null(strstr(json, "\"exit_code\":null,\"signal\":9,"
                                 "\"stdout_bytes\":0,\"stderr_bytes\":2,"
                                 "\"error\":\"oops\"}]"));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_success_and_nulls),
        cmocka_unit_test(test_unicode_error),
        cmocka_unit_test(test_flags_and_note),
        cmocka_unit_test(test_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
