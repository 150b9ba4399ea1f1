/* SPDX-License-Identifier: MIT */
/* Unit tests of the idle-desktop policy: --idle-policy parsing, input
 * times from files and directories, the load file, and the owner state
 * with its hysteresis. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "idle.h"

#define SEC 1000000LL

static struct idle_policy *parse_ok(const char *spec)
{
    struct mps_error err;
    struct idle_policy *p = idle_policy_parse(spec, &err);
    if (!p)
        fail_msg("'%s': %s", spec, err.text);
    return p;
}

static void test_defaults(void **state)
{
    (void)state;
    const char *specs[] = {"", "default", NULL};
    for (size_t i = 0; i < 3; i++) {
        struct idle_policy *p = parse_ok(specs[i]);
        assert_true(idle_policy_load(p) == IDLE_DEFAULT_LOAD);
        assert_true(idle_policy_idle_s(p) == IDLE_DEFAULT_IDLE_S);
        assert_int_equal(idle_policy_action(p), IDLE_SUSPEND);
        assert_string_equal(idle_policy_input(p), IDLE_DEFAULT_INPUT);
        assert_string_equal(idle_policy_text(p),
                            "load=0.5,idle=15m,input=/dev/input:/dev/pts:"
                            "/dev/tty*,action=suspend");
        idle_policy_destroy(p);
    }
}

static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        double load, idle_s;
        enum idle_action action;
        const char *input, *text;
    } cases[] = {
        {"load=0.25,idle=90s,input=/tmp/a:/tmp/b*,action=requeue", 0.25, 90,
         IDLE_REQUEUE, "/tmp/a:/tmp/b*",
         "load=0.25,idle=90s,input=/tmp/a:/tmp/b*,action=requeue"},
        {"idle=2", 0.5, 2, IDLE_SUSPEND, IDLE_DEFAULT_INPUT, NULL},
        {"idle=1.5h", 0.5, 5400, IDLE_SUSPEND, IDLE_DEFAULT_INPUT, NULL},
        {"idle=0.5s,action=suspend", 0.5, 0.5, IDLE_SUSPEND, IDLE_DEFAULT_INPUT,
         NULL},
        {"input=none,load=4", 4, 900, IDLE_SUSPEND, "",
         "load=4,idle=15m,input=none,action=suspend"},
        {"input=,loadfile=/tmp/l", 0.5, 900, IDLE_SUSPEND, "",
         "load=0.5,idle=15m,input=none,action=suspend,loadfile=/tmp/l"},
        /* The last of a repeated key wins. */
        {"action=requeue,action=suspend", 0.5, 900, IDLE_SUSPEND,
         IDLE_DEFAULT_INPUT, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct idle_policy *p = parse_ok(cases[i].spec);
        assert_true(idle_policy_load(p) == cases[i].load);
        assert_true(idle_policy_idle_s(p) == cases[i].idle_s);
        assert_int_equal(idle_policy_action(p), cases[i].action);
        assert_string_equal(idle_policy_input(p), cases[i].input);
        if (cases[i].text)
            assert_string_equal(idle_policy_text(p), cases[i].text);
        /* The text parses back to the same policy. */
        struct idle_policy *again = parse_ok(idle_policy_text(p));
        assert_string_equal(idle_policy_text(again), idle_policy_text(p));
        idle_policy_destroy(again);
        idle_policy_destroy(p);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *message;
    } cases[] = {
        {"load", "'load' is not key=value"},
        {"load=", "load takes a positive number, not ''"},
        {"load=-1", "load takes a positive number, not '-1'"},
        {"load=0", "load takes a positive number, not '0'"},
        {"load=nan", "load takes a positive number, not 'nan'"},
        {"load=1x", "load takes a positive number, not '1x'"},
        {"idle=15d", "idle takes a duration such as 90s, 15m or 1h (at most "
                     "a week), not '15d'"},
        {"idle=-5", "not '-5'"},
        {"idle=200h", "not '200h'"},
        {"idle=m", "not 'm'"},
        {"action=kill", "action takes suspend or requeue, not 'kill'"},
        {"loadfile=", "loadfile takes a file name"},
        {"keyboard=1", "unknown key 'keyboard' (known: load, idle, input, "
                       "action, loadfile)"},
        {"load=1,,idle=2", "'load=1,,idle=2' has an empty item"},
        {",load=1", "has an empty item"},
        {"load=1,", "has an empty item"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct mps_error err;
        struct idle_policy *p = idle_policy_parse(cases[i].spec, &err);
        if (p)
            fail_msg("'%s' parsed", cases[i].spec);
        if (!strstr(err.text, cases[i].message))
            fail_msg("'%s': got '%s', want '%s'", cases[i].spec, err.text,
                     cases[i].message);
    }
}

/* Set path's access and modification times (seconds since the epoch). */
static void set_times(const char *path, time_t atime, time_t mtime)
{
    struct timespec ts[2] = {{atime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_input_times(void **state)
{
    (void)state;
    char dir[] = "/tmp/mpispool-test-idle.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[256], sub[256], entry1[300], entry2[300], spec[1200];
    snprintf(file, sizeof file, "%s/activity", dir);
    snprintf(sub, sizeof sub, "%s/devices", dir);
    snprintf(entry1, sizeof entry1, "%s/event0", sub);
    snprintf(entry2, sizeof entry2, "%s/event1", sub);
    write_text(file, "");
    assert_int_equal(mkdir(sub, 0755), 0);
    write_text(entry1, "");
    write_text(entry2, "");
    /* A regular file counts by its modification time, not its access
     * time. */
    set_times(file, 2000000000, 1700000000);
    set_times(entry1, 1, 1600000000);
    set_times(entry2, 1, 1650000000);
    /* A directory counts by its entries, not its own times, and not by an
     * entry named ptmx (terminals read it for output). */
    char ptmx[300];
    snprintf(ptmx, sizeof ptmx, "%s/ptmx", sub);
    write_text(ptmx, "");
    set_times(ptmx, 1950000000, 1950000000);
    set_times(sub, 1900000000, 1900000000);

    snprintf(spec, sizeof spec, "input=%s", file);
    struct idle_policy *p = parse_ok(spec);
    assert_int_equal(idle_last_input_us(p), 1700000000 * SEC);
    idle_policy_destroy(p);

    snprintf(spec, sizeof spec, "input=%s", sub);
    p = parse_ok(spec);
    assert_int_equal(idle_last_input_us(p), 1650000000 * SEC);
    idle_policy_destroy(p);

    /* Globs, several sources, missing ones: the newest of what exists. */
    snprintf(spec, sizeof spec, "input=%s/nothing:%s/event[0]:%s/act*", dir,
             sub, dir);
    p = parse_ok(spec);
    assert_int_equal(idle_last_input_us(p), 1700000000 * SEC);
    idle_policy_destroy(p);

    snprintf(spec, sizeof spec, "input=%s/nothing", dir);
    p = parse_ok(spec);
    assert_int_equal(idle_last_input_us(p), 0);
    idle_policy_destroy(p);

    p = parse_ok("input=none");
    assert_int_equal(idle_last_input_us(p), 0);
    idle_policy_destroy(p);

    /* Touching the file is activity now. */
    snprintf(spec, sizeof spec, "input=%s:%s", file, sub);
    p = parse_ok(spec);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    assert_int_equal(utimensat(AT_FDCWD, file, NULL, 0), 0);
    assert_true(idle_last_input_us(p) >= (int64_t)now.tv_sec * SEC);
    idle_policy_destroy(p);

    unlink(entry1);
    unlink(entry2);
    unlink(ptmx);
    rmdir(sub);
    unlink(file);
    rmdir(dir);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/mpispool-test-load.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char spec[200];
    snprintf(spec, sizeof spec, "loadfile=%s", path);
    struct idle_policy *p = parse_ok(spec);
    write_text(path, "0.75 0.50 0.25 1/123 4567\n");
    assert_true(idle_read_load(p) == 0.75);
    write_text(path, "12\n");
    assert_true(idle_read_load(p) == 12);
    write_text(path, "busy\n");
    assert_true(idle_read_load(p) == -1);
    write_text(path, "-3\n");
    assert_true(idle_read_load(p) == -1);
    unlink(path);
    assert_true(idle_read_load(p) == -1);
    idle_policy_destroy(p);

    p = parse_ok("default");
    assert_true(idle_read_load(p) >= 0);
    idle_policy_destroy(p);
}

static void test_monitor(void **state)
{
    (void)state;
    struct idle_policy *p = parse_ok("load=1,idle=10s");
    struct idle_monitor m = {0};
    int64_t t0 = 1800000000 * SEC;

    /* No input ever, low load: idle, no change. */
    assert_false(idle_monitor_update(&m, p, t0, 0, 0.2));
    assert_false(m.owner_active);

    /* Input 3 s ago: the owner is active since then. */
    assert_true(idle_monitor_update(&m, p, t0, t0 - 3 * SEC, 0.2));
    assert_true(m.owner_active);
    assert_int_equal(m.reason, IDLE_REASON_INPUT);
    assert_int_equal(m.since_us, t0 - 3 * SEC);
    assert_string_equal(idle_reason_name(m.reason), "input");

    /* Still active until the input is 10 s old. */
    assert_false(idle_monitor_update(&m, p, t0 + 6 * SEC, t0 - 3 * SEC, 0));
    assert_true(m.owner_active);
    assert_true(idle_monitor_update(&m, p, t0 + 7 * SEC, t0 - 3 * SEC, 0));
    assert_false(m.owner_active);
    assert_int_equal(m.reason, IDLE_REASON_NONE);
    assert_int_equal(m.since_us, 0);

    /* Load at the threshold: active at once, and the load must stay low for
     * the whole period (hysteresis) before the PC counts as idle. */
    int64_t t1 = t0 + 20 * SEC;
    assert_true(idle_monitor_update(&m, p, t1, t0 - 3 * SEC, 1.0));
    assert_int_equal(m.reason, IDLE_REASON_LOAD);
    assert_int_equal(m.since_us, t1);
    assert_false(idle_monitor_update(&m, p, t1 + 1 * SEC, 0, 0.1));
    assert_false(idle_monitor_update(&m, p, t1 + 5 * SEC, 0, 2.0));
    assert_false(idle_monitor_update(&m, p, t1 + 14 * SEC, 0, 0.1));
    assert_true(m.owner_active);
    /* Input during the quiet period restarts it too. */
    assert_false(idle_monitor_update(&m, p, t1 + 15 * SEC, t1 + 12 * SEC, 0.1));
    assert_false(idle_monitor_update(&m, p, t1 + 21 * SEC, t1 + 12 * SEC, 0.1));
    assert_true(m.owner_active);
    assert_true(idle_monitor_update(&m, p, t1 + 22 * SEC, t1 + 12 * SEC, 0.1));
    assert_false(m.owner_active);

    /* An older input time than one seen before changes nothing; an unknown
     * load (-1) is ignored. */
    assert_false(idle_monitor_update(&m, p, t1 + 23 * SEC, t0, -1));
    assert_false(m.owner_active);

    /* Input stamped in the future counts as now. */
    assert_true(idle_monitor_update(&m, p, t1 + 30 * SEC, t1 + 60 * SEC, 0));
    assert_int_equal(m.since_us, t1 + 30 * SEC);
    idle_policy_destroy(p);

    assert_string_equal(idle_action_name(IDLE_REQUEUE), "requeue");
    assert_string_equal(idle_action_name(IDLE_SUSPEND), "suspend");
    assert_null(idle_reason_name(IDLE_REASON_NONE));
    assert_string_equal(idle_reason_name(IDLE_REASON_LOAD), "load");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_input_times),
        cmocka_unit_test(test_load_file),    cmocka_unit_test(test_monitor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
