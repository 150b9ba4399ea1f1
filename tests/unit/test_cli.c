/* SPDX-License-Identifier: MIT */
/* Unit tests of the CLI core (error printer, command line scanner, option
 * values), its tables and formats, and the status model rendered to a
 * memory stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "format.h"
#include "statusmodel.h"
#include "table.h"
#include "util.h"

/* ------------------------------------------------------------ helpers */

/* What stderr receives while a call runs: begin, call, end. */
struct capture {
    FILE *file;
    int saved;
};

static void capture_begin(struct capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* The text captured (malloc'd). */
static char *capture_end(struct capture *c)
{
    fflush(stderr);
    assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
    close(c->saved);
    long len = ftell(c->file);
    assert_true(len >= 0);
    char *text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    rewind(c->file);
    assert_int_equal(fread(text, 1, (size_t)len, c->file), (size_t)len);
    fclose(c->file);
    return text;
}

/* What fn(out) writes to a memory stream (malloc'd). */
#define RENDER(text, call)                                                     \
    do {                                                                       \
        size_t len_ = 0;                                                       \
        FILE *out = open_memstream(&(text), &len_);                            \
        assert_non_null(out);                                                  \
        call;                                                                  \
        assert_int_equal(fclose(out), 0);                                      \
    } while (0)

/* ------------------------------------------------------------ errors */

static void test_error_format(void **state)
{
    (void)state;
    char *text = NULL;
    RENDER(text, cli_format_error(out, NULL, "cannot open '%s': %s", "/x",
                                  "No such file or directory"));
    assert_string_equal(text, "mpispool: cannot open '/x': No such file or "
                              "directory\n");
    free(text);
    RENDER(text, cli_format_error(out, "submit", "unknown option '%s'", "-z"));
    assert_string_equal(text, "mpispool: unknown option '-z'\n"
                              "Try 'mpispool submit --help'.\n");
    free(text);
    RENDER(text, cli_format_error(out, "", "'%s' is not a command", "frob"));
    assert_string_equal(text, "mpispool: 'frob' is not a command\n"
                              "Try 'mpispool --help'.\n");
    free(text);
}

static void test_error_stderr(void **state)
{
    (void)state;
    struct capture c;
    capture_begin(&c);
    cli_error("no job '%s'", "x");
    int rc = cli_usage_error("wait", "no job given");
    int rc_top = cli_usage_error(NULL, "no command given");
    char *text = capture_end(&c);
    assert_int_equal(rc, 2);
    assert_int_equal(rc_top, 2);
    assert_string_equal(text, "mpispool: no job 'x'\n"
                              "mpispool: no job given\n"
                              "Try 'mpispool wait --help'.\n"
                              "mpispool: no command given\n"
                              "Try 'mpispool --help'.\n");
    free(text);
}

/* Locating a job: its directory, or -1 with one message for a job the
 * spool does not hold and for an id that is no job id (never a path). */
static void test_locate_job(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_cli.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/spool", dir);
    struct mps_error err;
    assert_int_equal(spool_init(path, &err), 0);
    struct spool *sp = spool_open(path, &err);
    assert_non_null(sp);
    char id[64];
    assert_int_equal(spool_new_jobid(sp, id, sizeof id, &err), 0);
    assert_int_equal(spool_submit(sp, id, "{}", 2, 0644, &err), 0);
    struct capture c;
    capture_begin(&c);
    int found = cli_locate_job(sp, id);
    int missing = cli_locate_job(sp, "20000101-9999");
    int bad = cli_locate_job(sp, "../new/x");
    char *text = capture_end(&c);
    assert_int_equal(found, SPOOL_NEW);
    assert_int_equal(missing, -1);
    assert_int_equal(bad, -1);
    char want[400];
    snprintf(want, sizeof want,
             "mpispool: no job '20000101-9999' in spool '%s'\n"
             "mpispool: no job '../new/x' in spool '%s'\n",
             spool_path(sp), spool_path(sp));
    assert_string_equal(text, want);
    free(text);
    spool_close(sp);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------ cmdline */

static const struct option test_longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"spool", required_argument, NULL, CLI_OPT_SPOOL},
    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},
    {"quiet", no_argument, NULL, 'q'},
    {NULL, 0, NULL, 0},
};

static void test_cmdline_operands(void **state)
{
    (void)state;
    char *argv[] = {"wait", "a",  "--timeout", "5",       "-q",
                    "b",    "--", "-c",        "--quiet", NULL};
    struct cli_cmdline cl;
    assert_int_equal(cli_cmdline_init(&cl, "wait", 9, argv, "+:hq",
                                      test_longopts, "/before"),
                     0);
    int c, seen_timeout = 0, seen_quiet = 0;
    while ((c = cli_cmdline_next(&cl)) != -1) {
        if (c == CLI_OPT_TIMEOUT) {
            assert_string_equal(optarg, "5");
            seen_timeout++;
        } else if (c == 'q') {
            seen_quiet++;
        } else {
            fail_msg("unexpected option %d", c);
        }
    }
    assert_int_equal(seen_timeout, 1);
    assert_int_equal(seen_quiet, 1); /* "--quiet" after "--" is an operand */
    assert_int_equal(cl.noperands, 4);
    assert_string_equal(cl.operands[0], "a");
    assert_string_equal(cl.operands[1], "b");
    assert_string_equal(cl.operands[2], "-c");
    assert_string_equal(cl.operands[3], "--quiet");
    assert_int_equal(cl.dashdash, 2);
    assert_string_equal(cli_spool_arg(&cl), "/before");
    cli_cmdline_free(&cl);
}

/* The usage error for the first option of argv. */
static char *first_option_error(char **argv, int argc, int *rc)
{
    struct cli_cmdline cl;
    assert_int_equal(
        cli_cmdline_init(&cl, "wait", argc, argv, "+:hq", test_longopts, NULL),
        0);
    struct capture cap;
    capture_begin(&cap);
    int c = cli_cmdline_next(&cl);
    *rc = cli_cmdline_error(&cl, c);
    cli_cmdline_free(&cl);
    return capture_end(&cap);
}

static void test_cmdline_errors(void **state)
{
    (void)state;
    static const struct {
        const char *arg, *message;
    } cases[] = {
        {"--frob", "mpispool: unknown option '--frob'\n"},
        {"-z", "mpispool: unknown option '-z'\n"},
        {"--timeout", "mpispool: option '--timeout' needs a value\n"},
        {"--quiet=yes", "mpispool: option '--quiet' takes no value\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[] = {"wait", (char *)cases[i].arg, NULL};
        int rc;
        char *text = first_option_error(argv, 2, &rc);
        char want[128];
        snprintf(want, sizeof want, "%sTry 'mpispool wait --help'.\n",
                 cases[i].message);
        assert_int_equal(rc, 2);
        assert_string_equal(text, want);
        free(text);
    }
}

static void test_spool_arg_env(void **state)
{
    (void)state;
    char *argv[] = {"status", NULL};
    struct cli_cmdline cl;
    assert_int_equal(
        cli_cmdline_init(&cl, "status", 1, argv, "+:h", test_longopts, NULL),
        0);
    setenv("MPISPOOL_SPOOL", "/from/env", 1);
    assert_string_equal(cli_spool_arg(&cl), "/from/env");
    cl.spool = "/given";
    assert_string_equal(cli_spool_arg(&cl), "/given");
    unsetenv("MPISPOOL_SPOOL");
    cl.spool = NULL;
    assert_null(cli_spool_arg(&cl));
    struct spool *sp = NULL;
    struct capture cap;
    capture_begin(&cap);
    int rc = cli_open_spool(&cl, &sp);
    char *text = capture_end(&cap);
    assert_int_equal(rc, 2);
    assert_string_equal(text, "mpispool: no spool given: use --spool DIR or "
                              "set MPISPOOL_SPOOL\n");
    free(text);
    cli_cmdline_free(&cl);
}

static void test_option_values(void **state)
{
    (void)state;
    double secs = 0;
    assert_int_equal(cli_parse_seconds("2.5", &secs), 0);
    assert_true(secs == 2.5);
    assert_int_equal(cli_parse_seconds("10", &secs), 0);
    assert_true(secs == 10);
    assert_int_equal(cli_parse_seconds("2s", &secs), -1);
    assert_int_equal(cli_parse_seconds("", &secs), -1);
    assert_int_equal(cli_parse_seconds("inf", &secs), -1);
    json_int_t n = 0;
    assert_int_equal(cli_parse_int("submit", "--cpus", "4", &n), 0);
    assert_int_equal(n, 4);
    struct capture cap;
    capture_begin(&cap);
    int rc = cli_parse_int("submit", "--cpus", "four", &n);
    int rc_big = cli_parse_int("submit", "--cpus", "99999999999", &n);
    char *text = capture_end(&cap);
    assert_int_equal(rc, 2);
    assert_int_equal(rc_big, 2);
    assert_string_equal(text, "mpispool: --cpus needs an integer, not 'four'\n"
                              "Try 'mpispool submit --help'.\n"
                              "mpispool: --cpus needs an integer, not "
                              "'99999999999'\n"
                              "Try 'mpispool submit --help'.\n");
    free(text);
}

/* --watch is an option of status only: report refuses it as unknown. */
static void test_json_options(void **state)
{
    (void)state;
    char *status_argv[] = {"status", "--watch=5", "--until-idle", NULL};
    struct cli_cmdline cl;
    bool as_json = false;
    struct cli_more more = {.allow = CLI_MORE_WATCH};
    assert_int_equal(cli_parse_json_options(&cl, "status", "usage\n", 3,
                                            status_argv, NULL, &as_json, &more),
                     -1);
    assert_true(more.watch);
    assert_string_equal(more.watch_arg, "5");
    assert_true(more.until_idle);
    assert_false(as_json);
    cli_cmdline_free(&cl);

    char *report_argv[] = {"report", "--watch", "J", NULL};
    struct cli_more report_more = {.allow = CLI_MORE_HTML};
    struct capture cap;
    capture_begin(&cap);
    int rc = cli_parse_json_options(&cl, "report", "usage\n", 3, report_argv,
                                    NULL, &as_json, &report_more);
    char *text = capture_end(&cap);
    assert_int_equal(rc, 2);
    assert_string_equal(text, "mpispool: unknown option '--watch'\n"
                              "Try 'mpispool report --help'.\n");
    free(text);
}

/* ------------------------------------------------------------ formats */

static void test_formats(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(fmt_duration(4.2, buf, sizeof buf), "4.20s");
    assert_string_equal(fmt_duration(187, buf, sizeof buf), "3m 07s");
    assert_string_equal(fmt_duration(7509, buf, sizeof buf), "2h 05m 09s");
    assert_string_equal(fmt_duration(273900, buf, sizeof buf), "3d 04h 05m");
    assert_string_equal(fmt_duration(-1, buf, sizeof buf), "0.00s");
    json_t *obj = json_pack("{s:s, s:i, s:b, s:o}", "name", "sweep", "n", 7,
                            "yes", 1, "list", json_array());
    assert_string_equal(fmt_member_text(obj, "name", buf, sizeof buf), "sweep");
    assert_string_equal(fmt_member_text(obj, "n", buf, sizeof buf), "7");
    assert_string_equal(fmt_member_text(obj, "yes", buf, sizeof buf), "true");
    assert_string_equal(fmt_member_text(obj, "list", buf, sizeof buf), "-");
    assert_string_equal(fmt_member_text(obj, "none", buf, sizeof buf), "-");
    assert_int_equal(fmt_member_int(obj, "n"), 7);
    assert_int_equal(fmt_member_int(obj, "name"), 0);
    json_decref(obj);

    json_t *rec = json_pack("{s:i, s:b}", "exit_code", 3, "timed_out", 1);
    char *result = fmt_record_result(rec);
    assert_string_equal(result, "exit 3, timed out");
    free(result);
    json_decref(rec);
    rec = json_pack("{s:s}", "error", "cannot exec");
    result = fmt_record_result(rec);
    assert_string_equal(result, "error: cannot exec");
    free(result);
    json_decref(rec);
}

static void test_table(void **state)
{
    (void)state;
    static const char *const heads[] = {"ID", "NAME", "N"};
    struct table t;
    table_init(&t, 3, heads, 0x5); /* ID and N right-aligned */
    t.limit[1] = 8;
    const char *row1[] = {"7", "a\tb", "12"};
    const char *row2[] = {"123", "a-long-name", NULL};
    assert_int_equal(table_add(&t, row1), 0);
    assert_int_equal(table_add(&t, row2), 0);
    char *text = NULL;
    RENDER(text, table_print(&t, out, " "));
    assert_string_equal(text, "  ID NAME      N\n"
                              "   7 a?b      12\n"
                              " 123 a-lon...  -\n");
    free(text);
    table_free(&t);
}

/* ------------------------------------------------------------ status */

static const char coordinator_json[] =
    "{\"coordinator\": \"20261124-1\", \"host\": \"pc1\", \"state\": "
    "\"running\", \"slots\": {\"busy\": 1, \"total\": 2}, \"updated\": "
    "\"2026-11-24T10:00:00Z\", \"ranks\": [{\"rank\": 1, \"host\": \"pc1\", "
    "\"state\": \"up\", \"busy\": 1, \"slots\": 2, \"memory_reserved\": 0, "
    "\"memory\": 1073741824, \"gpus_busy\": 0, \"gpus\": 0, \"load\": 0.5, "
    "\"tasks\": 1}], \"jobs\": [{\"job\": \"20261124-0001\", \"name\": "
    "\"sweep\", \"state\": \"running\", \"tasks\": 4, \"succeeded\": 1, "
    "\"failed\": 0, \"running\": 1, \"pending\": 2, \"priority\": 0}, "
    "{\"job\": \"20261124-0002\", \"state\": \"waiting\", \"tasks\": 1, "
    "\"succeeded\": 0, \"failed\": 0, \"running\": 0, \"pending\": 1, "
    "\"priority\": 5, \"waiting\": \"waits for 20261124-0001\"}]}";

static void make_model(struct status_model *m, const char *coords)
{
    json_error_t jerr;
    *m = (struct status_model){
        .path = "/x/spool",
        .coords = json_loads(coords, 0, &jerr),
        .counts = {1, 2, 0, -1, 3},
        .drained = json_pack("[s]", "pc7"),
    };
    assert_non_null(m->coords);
}

static void test_status_text(void **state)
{
    (void)state;
    char coords[sizeof coordinator_json + 2];
    snprintf(coords, sizeof coords, "[%s]", coordinator_json);
    struct status_model m;
    make_model(&m, coords);
    int64_t updated;
    assert_int_equal(util_parse_time("2026-11-24T10:00:00Z", &updated), 0);
    char *text = NULL;
    RENDER(text, status_render_text(&m, updated + 3000000, out));
    assert_string_equal(
        text, "coordinator 20261124-1 on pc1: running, 1/2 slots busy, "
              "updated 3.00s ago\n"
              " RANK HOST STATE CORES MEMORY GPUS LOAD TASKS\n"
              "    1 pc1  up      1/2   0/1G  0/0 0.50     1\n"
              " JOB           NAME  STATE   TASKS SUCCEEDED FAILED RUNNING "
              "PENDING PRIORITY\n"
              " 20261124-0001 sweep running     4         1      0       1 "
              "      2        0\n"
              " 20261124-0002 -     waiting     1         0      0       0 "
              "      1        5\n"
              " 20261124-0002: waits for 20261124-0001\n"
              "\n"
              "spool /x/spool: 1 new, 2 cur, 0 done, ? failed, 3 rejected\n"
              "drained hosts (mpispool drain): pc7\n");
    free(text);
    /* Twenty seconds later and still running: it may have died. */
    RENDER(text, status_render_text(&m, updated + 20000000, out));
    assert_non_null(strstr(text, "updated 20.00s ago (stale)\n"));
    free(text);
    status_model_free(&m);
}

static void test_status_empty(void **state)
{
    (void)state;
    struct status_model m;
    make_model(&m, "[]");
    json_decref(m.drained);
    m.drained = NULL; /* drain/ cannot be listed */
    char *text = NULL;
    RENDER(text, status_render_text(&m, 0, out));
    assert_string_equal(text, "no coordinator has run on this spool\n"
                              "\n"
                              "spool /x/spool: 1 new, 2 cur, 0 done, ? "
                              "failed, 3 rejected\n");
    free(text);
    char *json = status_render_json(&m);
    assert_non_null(json);
    json_t *root = json_loads(json, 0, NULL);
    free(json);
    assert_non_null(root);
    json_t *spool = json_object_get(root, "spool");
    assert_string_equal(json_string_value(json_object_get(spool, "path")),
                        "/x/spool");
    assert_int_equal(json_integer_value(json_object_get(spool, "new")), 1);
    assert_true(json_is_null(json_object_get(spool, "failed")));
    assert_true(json_is_null(json_object_get(spool, "drained")));
    assert_int_equal(json_array_size(json_object_get(root, "coordinators")), 0);
    json_decref(root);
    status_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_format),
        cmocka_unit_test(test_error_stderr),
        cmocka_unit_test(test_locate_job),
        cmocka_unit_test(test_cmdline_operands),
        cmocka_unit_test(test_cmdline_errors),
        cmocka_unit_test(test_spool_arg_env),
        cmocka_unit_test(test_option_values),
        cmocka_unit_test(test_json_options),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_status_text),
        cmocka_unit_test(test_status_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
