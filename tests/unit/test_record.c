/* SPDX-License-Identifier: MIT */
/* Unit tests of task records as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

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
    assert_int_equal(record_from_json("[1]", &back, &err), -1);
    assert_string_equal(err.text, "invalid task record: not an object");
    /* Listed by task: a record needs its task number. */
    assert_int_equal(record_from_json_task(json, &back, &err), 0);
    assert_int_equal(back.task, rec.task);
    record_clear(&back);
    assert_int_equal(record_from_json_task("{\"task\": -1}", &back, &err), -1);
    assert_string_equal(err.text, "invalid task record: no task number");
    assert_int_equal(record_from_json_task("{\"task\": \"3\"}", &back, &err),
                     -1);
    assert_int_equal(record_from_json_task("{\"exit_code\": 0}", &back, &err),
                     -1);
    assert_int_equal(record_from_json("{\"exit_code\": 0}", &back, &err), 0);
    record_clear(&back);
    free(json);
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

/* One rule for "succeeded": the struct (record_from_json, record_ok), the
 * JSON object (record_ok_json) and the fast scanner's tokens (record_scan,
 * record_ok_tokens) agree on every record, odd ones too. */
static void test_one_succeeded_rule(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"{\"exit_code\":0,\"signal\":null,\"error\":null}", true},
        {"{\"exit_code\":0}", true},
        {"{\"exit_code\":0,\"signal\":0}", true},
        {"{\"exit_code\":-0,\"signal\":null}", true},
        {"{ \"task\" : 3 , \"exit_code\" : 0 , \"error\" : null }", true},
        {"{\"exit_code\":1,\"signal\":null,\"error\":null}", false},
        {"{\"exit_code\":null,\"signal\":9,\"error\":null}", false},
        {"{\"exit_code\":0,\"signal\":9}", false},
        {"{\"exit_code\":0,\"signal\":\"9\"}", false},
        {"{\"exit_code\":0,\"error\":\"cannot execute\"}", false},
        {"{\"exit_code\":0,\"error\":\"\"}", false},
        {"{\"exit_code\":0,\"error\":false}", false},
        {"{\"exit_code\":0,\"error\":3}", false},
        {"{\"exit_code\":0.0}", false},
        {"{\"exit_code\":\"0\"}", false},
        {"{\"exit_code\":4294967296}", false},
        {"{\"signal\":null}", false},
        {"{}", false},
    };
    static const char *const keys[] = {"exit_code", "signal", "error"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *text = cases[i].text;
        print_message("%s\n", text);
        json_t *o = json_loads(text, 0, NULL);
        assert_non_null(o);
        assert_int_equal(record_ok_json(o), cases[i].ok);
        json_decref(o);
        struct task_record rec;
        struct mps_error err;
        assert_int_equal(record_from_json(text, &rec, &err), 0);
        assert_int_equal(record_ok(&rec), cases[i].ok);
        record_clear(&rec);
        struct record_token tok[3];
        assert_int_equal(record_scan(text, strlen(text), keys, 3, tok), 0);
        assert_int_equal(record_ok_tokens(&tok[0], &tok[1], &tok[2]),
                         cases[i].ok);
    }
    /* What rank 0 writes reads back as it decided. */
    struct task_record ok = {.job = "j", .exit_code = 0},
                       bad = {.job = "j", .exit_code = -1, .signal = 15};
    for (int i = 0; i < 2; i++) {
        struct task_record *r = i ? &bad : &ok;
        char *json = record_to_json(r);
        json_t *o = json_loads(json, 0, NULL);
        assert_int_equal(record_ok_json(o), record_ok(r));
        json_decref(o);
        struct record_token tok[3];
        assert_int_equal(record_scan(json, strlen(json), keys, 3, tok), 0);
        assert_int_equal(record_ok_tokens(&tok[0], &tok[1], &tok[2]),
                         record_ok(r));
        free(json);
    }
    assert_true(record_succeeded(0, 0, false));
    assert_false(record_succeeded(0, 0, true));
    assert_false(record_succeeded(-1, 0, false));
    assert_false(record_succeeded(0, 9, false));
}

/* record_scan: tokens as written; anything but a flat object is refused. */
static void test_scan(void **state)
{
    (void)state;
    static const char *const keys[] = {"task", "host", "note"};
    struct record_token tok[3];
    const char *text = "{\"job\":\"a\\\"b\",\"task\":12,\"host\":\"n1\"}";
    assert_int_equal(record_scan(text, strlen(text), keys, 3, tok), 0);
    assert_int_equal(tok[0].len, 2);
    assert_memory_equal(tok[0].text, "12", 2);
    assert_int_equal(tok[1].len, 4);
    assert_memory_equal(tok[1].text, "\"n1\"", 4);
    assert_null(tok[2].text);
    static const char *const refused[] = {
        "[1]",          "{\"steps\":[{}]}", "{\"a\":{}}", "{\"a\":1",
        "{\"a\\n\":1}", "{\"a\" 1}",        "{\"a\":\"x}"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        assert_int_equal(
            record_scan(refused[i], strlen(refused[i]), keys, 3, tok), -1);
}

static void seen_line(void *arg, const char *line)
{
    char *all = arg;
    strcat(all, line);
    strcat(all, "|");
}

/* records.jsonl: whole lines only, within the limit. */
static void test_each_line(void **state)
{
    (void)state;
    char text[] = "{\"task\":0}\n\n{\"task\":1}\n{\"task\":2}";
    FILE *f = fmemopen(text, strlen(text), "r");
    assert_non_null(f);
    char all[200] = "";
    size_t n;
    uint64_t good = record_each_line(f, UINT64_MAX, seen_line, all, &n);
    assert_string_equal(all, "{\"task\":0}|{\"task\":1}|");
    assert_int_equal(n, 3);
    assert_int_equal(good, 23);
    rewind(f);
    all[0] = '\0';
    good = record_each_line(f, 12, seen_line, all, &n);
    assert_string_equal(all, "{\"task\":0}|");
    assert_int_equal(good, 12);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_success_and_nulls),
        cmocka_unit_test(test_unicode_error),
        cmocka_unit_test(test_flags_and_note),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_one_succeeded_rule),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_each_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
