/* SPDX-License-Identifier: MIT */
/* Unit tests of the executor: every task handed to it ends in exactly one
 * result, also one that never started; a task runs in a tracking cgroup of
 * its own, a cgroup2 one wherever cgroup2 is usable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"
#include "executor.h"
#include "util.h"

#define MAX_RESULTS 8

struct seen {
    char out[4096];
    size_t outlen;
    int n;
    uint64_t dispatch[MAX_RESULTS];
    char error[MAX_RESULTS][128];
    bool interrupted[MAX_RESULTS];
    bool timed_out[MAX_RESULTS];
    int exit_code[MAX_RESULTS];
};

static void on_output(void *arg, uint64_t dispatch, int stream,
                      const char *data, size_t len)
{
    (void)dispatch;
    struct seen *s = arg;
    if (stream == 1 && s->outlen + len < sizeof s->out) {
        memcpy(s->out + s->outlen, data, len);
        s->outlen += len;
        s->out[s->outlen] = '\0';
    }
}

static void on_result(void *arg, const struct attempt_result *res)
{
    struct seen *s = arg;
    assert_true(s->n < MAX_RESULTS);
    s->dispatch[s->n] = res->dispatch;
    snprintf(s->error[s->n], sizeof s->error[s->n], "%s",
             res->error ? res->error : "");
    s->interrupted[s->n] = res->interrupted;
    s->timed_out[s->n] = res->timed_out;
    s->exit_code[s->n] = res->exit_code;
    s->n++;
}

/* Drive the executor until want results came (or 10 s passed). */
static void run_until(struct executor *ex, struct seen *s, int want)
{
    int64_t deadline = util_mono_us() + 10 * 1000000;
    while (s->n < want && util_mono_us() < deadline) {
        struct pollfd fds[64];
        int n = executor_pollfds(ex, fds, 64);
        poll(fds, (nfds_t)n, 20);
        executor_handle(ex, fds, n);
        executor_reap(ex);
        executor_timers(ex);
    }
}

static struct executor *make(struct seen *s, char *dir)
{
    struct exec_callbacks cb = {on_output, on_result, s};
    struct mps_error err;
    assert_non_null(mkdtemp(dir));
    struct executor *ex = executor_create(1, dir, &cb, &err);
    assert_non_null(ex);
    return ex;
}

static struct attempt sleeper(uint64_t dispatch, char **argv)
{
    static char *env[] = {NULL};
    static char job[] = "j", cwd[] = "/";
    struct attempt a = {.dispatch = dispatch,
                        .job = job,
                        .task = dispatch,
                        .attempt = 1,
                        .cpus = 1,
                        .shell = true,
                        .argc = 1,
                        .argv = argv,
                        .cwd = cwd,
                        .env = env};
    return a;
}

/* One slot, two long tasks: dispatch 1 runs, dispatch 2 waits. */
static struct executor *one_running_one_queued(struct seen *s, char *dir)
{
    struct executor *ex = make(s, dir);
    static char *argv[] = {"sleep 30", NULL};
    struct attempt a = sleeper(1, argv), b = sleeper(2, argv);
    assert_int_equal(executor_submit(ex, &(struct exec_task){.a = &a}), 0);
    assert_int_equal(executor_submit(ex, &(struct exec_task){.a = &b}), 0);
    return ex;
}

/* One slot, two tasks: the second waits in the queue. Cancelling it must
 * still answer with a result (the coordinator keeps the attempt out until
 * one comes): before, it was dropped in silence and its job never ended. */
static void test_cancel_queued(void **state)
{
    (void)state;
    struct seen s = {0};
    char dir[] = "/tmp/mpispool-exec-XXXXXX";
    struct executor *ex = one_running_one_queued(&s, dir);
    executor_cancel(ex, 2, 0.5);
    run_until(ex, &s, 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.dispatch[0], 2);
    assert_string_equal(s.error[0], "cancelled before it started");
    /* The running one ends too when cancelled, with its own result. */
    executor_cancel(ex, 1, 0.5);
    run_until(ex, &s, 2);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.dispatch[1], 1);
    executor_destroy(ex);
    rmdir(dir);
}

/* Interrupting (a stop) answers for queued tasks as interrupted. */
static void test_interrupt_queued(void **state)
{
    (void)state;
    struct seen s = {0};
    char dir[] = "/tmp/mpispool-exec-XXXXXX";
    struct executor *ex = one_running_one_queued(&s, dir);
    executor_interrupt(ex, 0.5);
    run_until(ex, &s, 2);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.dispatch[0], 2);
    assert_true(s.interrupted[0]);
    assert_int_equal(s.dispatch[1], 1);
    assert_true(s.interrupted[1]);
    executor_destroy(ex);
    rmdir(dir);
}

/* Our own directory in the cgroup2 hierarchy, found independently of the
 * executor's own detection (mountinfo and /proc/self/cgroup), when we may
 * make cgroups there and move processes into them; else false. */
static bool cgroup2_usable(char *dir, size_t len)
{
    char own[4096] = "", line[8192];
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return false;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0)
            snprintf(own, sizeof own, "%.*s", (int)strcspn(line + 3, "\n"),
                     line + 3);
    fclose(f);
    f = fopen("/proc/self/mountinfo", "re");
    if (!*own || !f) {
        if (f)
            fclose(f);
        return false;
    }
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char root[4096], mount[4096];
        const char *dash = strstr(line, " - cgroup2 ");
        if (!dash ||
            sscanf(line, "%*s %*s %*s %4095s %4095s", root, mount) != 2)
            continue;
        size_t rlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
        if (rlen && strncmp(own, root, rlen) != 0)
            continue;
        snprintf(dir, len, "%s%s", mount,
                 strcmp(own + rlen, "/") == 0 ? "" : own + rlen);
        found = true;
    }
    fclose(f);
    char procs[4200];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    return found && access(dir, W_OK) == 0 && access(procs, W_OK) == 0;
}

/* As root, a task starts in its own tracking cgroup (born there through
 * clone3 where the kernel allows, else moved there by its child): in the
 * cgroup2 hierarchy wherever that one is usable, the best kind. */
static void test_task_in_own_cgroup(void **state)
{
    (void)state;
    struct seen s = {0};
    char dir[] = "/tmp/mpispool-exec-XXXXXX";
    struct executor *ex = make(&s, dir);
    char *argv[] = {"cat /proc/self/cgroup", NULL};
    struct attempt a = sleeper(7, argv);
    assert_int_equal(executor_submit(ex, &(struct exec_task){.a = &a}), 0);
    run_until(ex, &s, 1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.error[0], "");
    char want[64], v2dir[4096];
    snprintf(want, sizeof want, "/mpispool-%d-7\n", (int)getpid());
    print_message("%s", s.out);
    assert_non_null(strstr(s.out, want));
    if (cgroup2_usable(v2dir, sizeof v2dir)) {
        print_message("cgroup2 is usable at %s\n", v2dir);
        char *v2 = strstr(s.out, "\n0::");
        assert_non_null(v2);
        assert_non_null(strstr(v2, want));
    }
    executor_destroy(ex);
    rmdir(dir);
}

/* Run one shell command (by interpreter; NULL: /bin/sh) as task 4 of a
 * job of 10 tasks, made by line 3 of its task file. */
static void run_shell(struct seen *s, const char *interpreter, char *command)
{
    char dir[] = "/tmp/mpispool-exec-XXXXXX";
    struct executor *ex = make(s, dir);
    char *argv[] = {command, NULL};
    struct attempt a = sleeper(4, argv);
    a.interpreter = (char *)interpreter;
    a.ntasks = 10;
    a.line = 3;
    assert_int_equal(executor_submit(ex, &(struct exec_task){.a = &a}), 0);
    run_until(ex, s, 1);
    assert_int_equal(s->n, 1);
    executor_destroy(ex);
    rmdir(dir);
}

/* A task that exits 0 on the SIGTERM of its timeout was cut short all the
 * same: an error says so, and the attempt fails (it counted as success). */
static void test_timeout_exit_zero(void **state)
{
    (void)state;
    struct seen s = {0};
    char dir[] = "/tmp/mpispool-exec-XXXXXX";
    struct executor *ex = make(&s, dir);
    char *argv[] = {"trap 'exit 0' TERM; sleep 30 & wait", NULL};
    struct attempt a = sleeper(5, argv);
    a.timeout = 0.2;
    assert_int_equal(executor_submit(ex, &(struct exec_task){.a = &a}), 0);
    run_until(ex, &s, 1);
    assert_int_equal(s.n, 1);
    assert_true(s.timed_out[0]);
    assert_int_equal(s.exit_code[0], 0);
    assert_string_equal(s.error[0],
                        "timed out after 0.2 s (exited 0 on SIGTERM)");
    executor_destroy(ex);
    rmdir(dir);
}

/* ": xxx...; TAIL", len bytes long (pad after ": " with fill, a string
 * of bytes repeated). */
static char *padded(size_t len, const char *fill, const char *tail)
{
    char *cmd = malloc(len + 1);
    assert_non_null(cmd);
    size_t tlen = strlen(tail), flen = strlen(fill), at = 2;
    assert_true(len > tlen + 4);
    memcpy(cmd, ": ", 2);
    while (at < len - tlen - 2) {
        size_t n = len - tlen - 2 - at < flen ? len - tlen - 2 - at : flen;
        memcpy(cmd + at, fill, n);
        at += n;
    }
    memcpy(cmd + at, "; ", 2);
    memcpy(cmd + at + 2, tail, tlen + 1);
    assert_int_equal(strlen(cmd), len);
    return cmd;
}

/* A command that fits in one argument runs as "/bin/sh -c COMMAND" (3
 * arguments); one byte more and it goes in pieces (sh -c SCRIPT sh P1 P2:
 * 6), with $0 still the shell and no positional parameter. */
static void test_long_command(void **state)
{
    (void)state;
    const char *tail = "tr '\\0' '\\n' </proc/$$/cmdline | wc -l; "
                       "echo \"$0 $# ${1-unset}\"";
    size_t lens[] = {JOBFILE_MAX_ARG, JOBFILE_MAX_ARG + 1};
    const char *want[] = {"3\n/bin/sh 0 unset\n", "6\n/bin/sh 0 unset\n"};
    for (int i = 0; i < 2; i++) {
        struct seen s = {0};
        char *cmd = padded(lens[i], "x", tail);
        run_shell(&s, NULL, cmd);
        assert_string_equal(s.error[0], "");
        assert_string_equal(s.out, want[i]);
        free(cmd);
    }
    /* Pieces end between UTF-8 characters: here "é" (2 bytes) would be
     * cut at byte JOBFILE_MAX_ARG, so the first piece is one byte short. */
    struct seen s = {0};
    char *cmd = padded(JOBFILE_MAX_ARG + 100, "\xc3\xa9",
                       "tr '\\0' '\\n' </proc/$$/cmdline | sed -n 5p | wc -c");
    run_shell(&s, NULL, cmd);
    char want_len[32];
    /* The piece's bytes and the newline sed adds. */
    snprintf(want_len, sizeof want_len, "%d\n", (JOBFILE_MAX_ARG - 1) + 1);
    assert_string_equal(s.out, want_len);
    free(cmd);
}

/* The interpreter runs the command; the task sees its numbers. A missing
 * interpreter fails like any program that cannot be executed. */
static void test_interpreter(void **state)
{
    (void)state;
    struct seen s = {0};
    char cmd[] =
        "[[ -n $BASH_VERSION ]] && echo \"$0 $MPISPOOL_TASK_ID "
        "$MPISPOOL_TASK_SEQ $MPISPOOL_TASK_COUNT $MPISPOOL_TASK_LINE\"";
    run_shell(&s, "bash", cmd);
    assert_string_equal(s.error[0], "");
    assert_string_equal(s.out, "bash 4 5 10 3\n");
    struct seen missing = {0};
    run_shell(&missing, "nosuch-shell", cmd);
    assert_string_equal(missing.error[0],
                        "cannot execute 'nosuch-shell': No such file or "
                        "directory");
}

/* Without arguments: the tests that run anywhere. With "cgroup": the
 * tracking cgroup test alone, which needs root and a cgroup hierarchy it
 * may use; exit 77 (skipped) where there is none, with the reason. */
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "cgroup") == 0) {
        char base[4096];
        if (geteuid() != 0) {
            printf("test_executor cgroup: SKIP: needs root\n");
            return 77;
        }
        if (cgroup_track_detect(base, sizeof base, NULL) == CGROUP_TRACK_NONE &&
            !cgroup2_usable(base, sizeof base)) {
            printf("test_executor cgroup: SKIP: no cgroup hierarchy to track "
                   "tasks in\n");
            return 77;
        }
        const struct CMUnitTest cgroup_tests[] = {
            cmocka_unit_test(test_task_in_own_cgroup)};
        return cmocka_run_group_tests(cgroup_tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_queued),
        cmocka_unit_test(test_interrupt_queued),
        cmocka_unit_test(test_long_command), cmocka_unit_test(test_interpreter),
        cmocka_unit_test(test_timeout_exit_zero)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
