/* SPDX-License-Identifier: MIT */
/* Unit tests of task files: which lines are tasks, errors, streaming. */
#include <fcntl.h>
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

#include "disbatch.h"
#include "taskfile.h"

static char path[] = "/tmp/mpispool-tasks-XXXXXX";

static void write_tasks(const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    fwrite(text, 1, len, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return unlink(path);
}

static void test_lines(void **state)
{
    (void)state;
    const char text[] = "echo a\n"
                        "\n"
                        "   \t\n"
                        "# a comment\n"
                        "  # indented comment\n"
                        "echo 'b # not a comment'\r\n"
                        "  echo c  \n"
                        "echo d"; /* no final newline */
    write_tasks(text, sizeof text - 1);
    struct mps_error err;
    struct taskfile *tf = taskfile_open(path, &err);
    assert_non_null(tf);
    const char *want[] = {"echo a", "echo 'b # not a comment'", "  echo c  ",
                          "echo d"};
    /* Each task's line number, blank and comment lines counted. */
    const uint64_t want_line[] = {1, 6, 7, 8};
    const char *line;
    assert_int_equal(taskfile_line(tf), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(taskfile_next(tf, &line, &err), 1);
        assert_string_equal(line, want[i]);
        assert_int_equal(taskfile_line(tf), want_line[i]);
    }
    assert_int_equal(taskfile_next(tf, &line, &err), 0);
    assert_int_equal(taskfile_count(tf), 4);
    assert_int_equal(taskfile_line(tf), 8);
    taskfile_close(tf);

    FILE *in = fopen(path, "r");
    char *copy = NULL;
    size_t copy_len = 0;
    FILE *out = open_memstream(&copy, &copy_len);
    uint64_t n = 0;
    assert_int_equal(taskfile_copy_count(in, out, "t", &n, &err), 0);
    fclose(in);
    fclose(out);
    assert_int_equal(n, 4);
    assert_int_equal(copy_len, sizeof text - 1);
    assert_memory_equal(copy, text, copy_len);
    free(copy);
}

/* taskfile_line stays on the last task's line past trailing comments. */
static void test_line_after_end(void **state)
{
    (void)state;
    const char text[] = "# head\n\necho a\n# mid\necho b\n# tail\n\n";
    write_tasks(text, sizeof text - 1);
    struct mps_error err;
    struct taskfile *tf = taskfile_open(path, &err);
    assert_non_null(tf);
    const char *line;
    assert_int_equal(taskfile_next(tf, &line, &err), 1);
    assert_int_equal(taskfile_line(tf), 3);
    assert_int_equal(taskfile_next(tf, &line, &err), 1);
    assert_int_equal(taskfile_line(tf), 5);
    assert_int_equal(taskfile_next(tf, &line, &err), 0);
    assert_int_equal(taskfile_line(tf), 5);
    taskfile_close(tf);
}

static void test_errors(void **state)
{
    (void)state;
    write_tasks("echo a\necho \0b\n", 15);
    struct mps_error err;
    FILE *in = fopen(path, "r");
    uint64_t n;
    assert_int_equal(taskfile_copy_count(in, NULL, "runs.txt", &n, &err), -1);
    fclose(in);
    assert_string_equal(err.text, "runs.txt: line 2: NUL byte in task file");
    struct taskfile *tf = taskfile_open(path, &err);
    const char *line;
    assert_int_equal(taskfile_next(tf, &line, &err), 1);
    assert_int_equal(taskfile_next(tf, &line, &err), -1);
    taskfile_close(tf);
    assert_null(taskfile_open("/nonexistent/tasks", &err));
    assert_string_equal(err.text, "cannot open task file '/nonexistent/tasks': "
                                  "No such file or directory");
}

/* A FIFO, a device or a directory named as a task file is refused at once:
 * opening a FIFO nobody writes to must not block the coordinator, and
 * /dev/zero must not be read as one endless line. */
static void test_not_regular(void **state)
{
    (void)state;
    char dir[] = "/tmp/mpispool-fifo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[sizeof dir + 8];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(10); /* before the fix, taskfile_open blocked here for ever */
    const char *paths[] = {fifo, "/dev/zero", dir};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        struct mps_error err;
        char want[128];
        assert_null(taskfile_open(paths[i], &err));
        snprintf(want, sizeof want, "task file '%s' is not a regular file",
                 paths[i]);
        assert_string_equal(err.text, want);
    }
    alarm(0);
    unlink(fifo);
    rmdir(dir);
}

/* A million lines stream through without being held in memory. */
static void test_million(void **state)
{
    (void)state;
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 1000000; i++)
        fprintf(f, "echo %d\n", i);
    fclose(f);
    struct mps_error err;
    struct taskfile *tf = taskfile_open(path, &err);
    const char *line = NULL;
    int rc;
    uint64_t seen = 0;
    while ((rc = taskfile_next(tf, &line, &err)) == 1) {
        if (seen == 999999)
            assert_string_equal(line, "echo 999999");
        seen++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(seen, 1000000);
    taskfile_close(tf);
}

/* taskfile_fdopen reads from the descriptor's offset and names the file
 * it was given in messages; it closes the descriptor even on failure. */
static void test_fdopen(void **state)
{
    (void)state;
    const char text[] = "echo one\necho two\n";
    write_tasks(text, sizeof text - 1);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 9, SEEK_SET), 9);
    struct mps_error err;
    struct taskfile *tf = taskfile_fdopen(fd, "named.tasks", &err);
    assert_non_null(tf);
    const char *line;
    assert_int_equal(taskfile_next(tf, &line, &err), 1);
    assert_string_equal(line, "echo two");
    assert_int_equal(taskfile_next(tf, &line, &err), 0);
    taskfile_close(tf);

    write_tasks("a\0b\n", 4);
    tf = taskfile_fdopen(open(path, O_RDONLY), "named.tasks", &err);
    assert_non_null(tf);
    assert_int_equal(taskfile_next(tf, &line, &err), -1);
    assert_string_equal(err.text, "named.tasks: line 1: NUL byte in task file");
    taskfile_close(tf);

    assert_null(taskfile_fdopen(-1, "bad.tasks", &err));
    assert_string_equal(
        err.text, "cannot read task file 'bad.tasks': Bad file descriptor");
}

/* Each task of text: its command, line, number and REPEAT index. */
struct want_task {
    const char *command;
    uint64_t line;
    uint64_t number;
    int64_t repeat;
};

static struct taskfile *open_text(const char *text)
{
    write_tasks(text, strlen(text));
    struct mps_error err;
    struct taskfile *tf = taskfile_open(path, &err);
    assert_non_null(tf);
    return tf;
}

static void check_tasks(struct taskfile *tf, const struct want_task *want,
                        size_t n)
{
    struct mps_error err;
    const char *line;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(taskfile_next(tf, &line, &err), 1);
        assert_string_equal(line, want[i].command);
        assert_int_equal(taskfile_line(tf), want[i].line);
        assert_int_equal(taskfile_number(tf), want[i].number);
        assert_int_equal(taskfile_repeat_index(tf), want[i].repeat);
    }
    assert_int_equal(taskfile_next(tf, &line, &err), 0);
    assert_int_equal(taskfile_count(tf), n);
}

/* PREFIX and SUFFIX wrap the later tasks (replaced by later ones, an
 * empty one with "PREFIX "); REPEAT makes N tasks with indexes S, S+K, ...
 * on the REPEAT's line; lines that only look like directives are
 * comments. The expectations follow disBatch's _task_generator. */
static void test_disbatch(void **state)
{
    (void)state;
    const char text[] =
        "# Note there is a space at the end of the next line.\n" /* 1 */
        "#DISBATCH PREFIX cd out ; \n"                           /* 2 */
        "#DISBATCH SUFFIX  &> log_${DISBATCH_TASKID}.txt\n"      /* 3 */
        "( echo 13 ; exit 13 )\n"                                /* 4 */
        "#disbatch prefix lower case is a comment\n"             /* 5 */
        " #DISBATCH PREFIX indented is a comment\n"              /* 6 */
        "#DISBATCH suffix  &> rx_${DISBATCH_REPEAT_INDEX}.log\n" /* 7 */
        "#DISBATCH REPEAT 3 start 50 step 2 echo $DISBATCH_REPEAT_INDEX\n"
        "#DISBATCH REPEAT 0 start 1\n"                /* 9 */
        "#DISBATCH Prefix \n"                         /* 10 */
        "#DISBATCH REPEAT 2\n"                        /* 11 */
        "#DISBATCH SUFFIX \r\n"                       /* 12 */
        "\n"                                          /* 13 */
        "#DISBATCH REPEAT 1 start 7  two  spaces \n"; /* 14 */
    struct taskfile *tf = open_text(text);
    const struct want_task want[] = {
        {"cd out ; ( echo 13 ; exit 13 ) &> log_${DISBATCH_TASKID}.txt", 4, 0,
         -1},
        {"cd out ; echo $DISBATCH_REPEAT_INDEX &> rx_${DISBATCH_REPEAT_INDEX}"
         ".log",
         8, 1, 50},
        {"cd out ; echo $DISBATCH_REPEAT_INDEX &> rx_${DISBATCH_REPEAT_INDEX}"
         ".log",
         8, 2, 52},
        {"cd out ; echo $DISBATCH_REPEAT_INDEX &> rx_${DISBATCH_REPEAT_INDEX}"
         ".log",
         8, 3, 54},
        {" &> rx_${DISBATCH_REPEAT_INDEX}.log", 11, 4, 0},
        {" &> rx_${DISBATCH_REPEAT_INDEX}.log", 11, 5, 1},
        {" two  spaces ", 14, 6, 7},
    };
    check_tasks(tf, want, sizeof want / sizeof *want);
    assert_true(taskfile_disbatch(tf));
    assert_null(taskfile_interpreter(tf));
    taskfile_close(tf);

    /* Without directives, nothing changes: lines as they are. */
    tf = open_text("echo a\n# c\necho b\n");
    const struct want_task plain[] = {{"echo a", 1, 0, -1},
                                      {"echo b", 3, 1, -1}};
    check_tasks(tf, plain, 2);
    assert_false(taskfile_disbatch(tf));
    taskfile_close(tf);
}

/* REPEAT as disBatch's regular expression matches it (re.I, Python's
 * backtracking); the expectations are what Python's re gives. */
static void test_repeat_syntax(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        uint64_t count;
        int64_t start, step;
        const char *command; /* NULL: none */
    } cases[] = {
        {"#DISBATCH REPEAT 5", 5, 0, 1, NULL},
        {"#DISBATCH REPEAT 5 ", 5, 0, 1, NULL},
        {"#DISBATCH REPEAT 5  ", 5, 0, 1, " "},
        {"#DISBATCH REPEAT 3 start 10 step 5 echo r", 3, 10, 5, "echo r"},
        {"#DISBATCH repeat\t4\tSTART\t2", 4, 2, 1, NULL},
        {"#DISBATCH REPEAT 5 start 10step 2", 5, 0, 1, "start 10step 2"},
        {"#DISBATCH REPEAT 2 step 3 start 4 x", 2, 0, 3, "start 4 x"},
        {"#DISBATCH REPEAT 2 Step 3", 2, 0, 3, NULL},
        {"#DISBATCH REPEAT 2 start x", 2, 0, 1, "start x"},
        {"#DISBATCH REPEAT 07 start 007", 7, 7, 1, NULL},
        {"#DISBATCH REPEAT 0 start 1", 0, 1, 1, NULL},
        {"#DISBATCH REPEAT 2 start 1 step 0 same", 2, 1, 0, "same"},
        {"#DISBATCH REPEAT 2 start 3\t", 2, 3, 1, NULL},
        {"#DISBATCH REPEAT 2 start 3 \t", 2, 3, 1, "\t"},
        {"#DISBATCH REPEAT 9223372036854775807 start 0 step 1", INT64_MAX, 0, 1,
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct disbatch_directive d;
        struct mps_error err;
        const char *line = cases[i].line;
        print_message("%s\n", line);
        assert_int_equal(disbatch_parse(line, strlen(line), &d, &err), 0);
        assert_int_equal(d.kind, DISBATCH_REPEAT);
        assert_int_equal(d.count, cases[i].count);
        assert_int_equal(d.start, cases[i].start);
        assert_int_equal(d.step, cases[i].step);
        if (cases[i].command) {
            assert_non_null(d.text);
            assert_int_equal(d.len, strlen(cases[i].command));
            assert_memory_equal(d.text, cases[i].command, d.len);
        } else {
            assert_null(d.text);
        }
    }
}

/* What mpispool does not read is refused, naming the line and what to do
 * instead; never skipped in silence. */
static void test_directive_errors(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *message; /* after "t: line 2: " */
    } cases[] = {
        {"#DISBATCH BARRIER", "#DISBATCH BARRIER is not supported: split the "
                              "tasks at the barrier into two jobs, the second "
                              "submitted with \"after\": [the first job's id]"},
        {"#DISBATCH BARRIER CHECK", "#DISBATCH BARRIER is not supported"},
        {"#DISBATCH PERENGINE START ( hostname )",
         "#DISBATCH PERENGINE is not supported"},
        {"#DISBATCH PREFIX", "'#DISBATCH PREFIX' needs one space after PREFIX, "
                             "then the text ('#DISBATCH PREFIX ' alone sets it "
                             "empty)"},
        {"#DISBATCH SUFFIX\tx", "'#DISBATCH SUFFIX' needs one space"},
        {"#DISBATCH REPEAT 2\tcmd", "malformed #DISBATCH REPEAT: write "
                                    "'#DISBATCH REPEAT N [start S] [step K] "
                                    "[COMMAND]'"},
        {"#DISBATCH REPEAT5", "malformed #DISBATCH REPEAT"},
        {"#DISBATCH REPEAT x", "malformed #DISBATCH REPEAT"},
        {"#DISBATCH REPEAT 99999999999999999999", "#DISBATCH REPEAT's tasks "
                                                  "and indexes must stay below "
                                                  "2^63"},
        {"#DISBATCH REPEAT 3 start 9223372036854775806",
         "#DISBATCH REPEAT's tasks and indexes must stay below 2^63"},
        {"#DISBATCH  PREFIX x", "unknown directive '#DISBATCH  PREFIX x'"},
        {"#DISBATCHX", "unknown directive '#DISBATCHX' (write '#DISBATCH' in "
                       "upper case"},
        {"#DISBATCH", "unknown directive '#DISBATCH'"},
        {"#DISBATCH SLEEP 10", "unknown directive '#DISBATCH SLEEP 10' "
                               "(mpispool reads #DISBATCH PREFIX, SUFFIX and "
                               "REPEAT)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256], want[512];
        snprintf(text, sizeof text, "echo ok\n%s\necho never\n", cases[i].line);
        write_tasks(text, strlen(text));
        snprintf(want, sizeof want, "t: line 2: %s", cases[i].message);
        struct mps_error err;
        FILE *in = fopen(path, "r");
        uint64_t n;
        assert_int_equal(taskfile_copy_count(in, NULL, "t", &n, &err), -1);
        fclose(in);
        print_message("%s\n", err.text);
        assert_memory_equal(err.text, want, strlen(want));
        struct taskfile *tf = taskfile_fdopen(open(path, O_RDONLY), "t", &err);
        const char *line;
        assert_int_equal(taskfile_next(tf, &line, &err), 1);
        assert_int_equal(taskfile_next(tf, &line, &err), -1);
        assert_memory_equal(err.text, want, strlen(want));
        taskfile_close(tf);
    }
    /* A task made longer than the limit by its prefix is refused too. */
    FILE *f = fopen(path, "w");
    fprintf(f, "#DISBATCH PREFIX %0*d\n", TASKFILE_MAX_LINE - 17, 0);
    fprintf(f, "#DISBATCH SUFFIX %0*d\n", 100, 0);
    fprintf(f, "echo\n");
    fclose(f);
    struct mps_error err;
    struct taskfile *tf = taskfile_open(path, &err);
    const char *line;
    assert_int_equal(taskfile_next(tf, &line, &err), -1);
    assert_string_equal(strchr(err.text, ':'),
                        ": line 3: the task with its #DISBATCH PREFIX and "
                        "SUFFIX is longer than 1048576 bytes");
    taskfile_close(tf);
}

/* A stream of 'a' bytes without a newline, counting what is read of it. */
struct endless {
    size_t given, limit;
};

static ssize_t endless_read(void *cookie, char *buf, size_t size)
{
    struct endless *e = cookie;
    size_t n = e->limit - e->given < size ? e->limit - e->given : size;
    memset(buf, 'a', n);
    e->given += n;
    return (ssize_t)n;
}

/* Lines at the limit pass (with a trailing \r too), one byte more is
 * refused; a line of any length is refused after reading a bounded
 * amount of it, never held whole. */
static void test_line_limit(void **state)
{
    (void)state;
    size_t max = TASKFILE_MAX_LINE;
    char *text = malloc(2 * max + 16);
    assert_non_null(text);
    memset(text, 'x', max);
    memcpy(text + max, "\r\n", 2);
    memset(text + max + 2, 'y', max + 1);
    text[2 * max + 3] = '\n';
    write_tasks(text, 2 * max + 4);
    struct mps_error err;
    struct taskfile *tf = taskfile_open(path, &err);
    const char *line;
    assert_int_equal(taskfile_next(tf, &line, &err), 1);
    assert_int_equal(strlen(line), max);
    assert_int_equal(line[max - 1], 'x');
    assert_int_equal(taskfile_next(tf, &line, &err), -1);
    assert_string_equal(strchr(err.text, ':'),
                        ": line 2: longer than 1048576 bytes");
    taskfile_close(tf);
    free(text);

    struct endless e = {0, (size_t)64 << 20};
    cookie_io_functions_t io = {.read = endless_read};
    FILE *in = fopencookie(&e, "r", io);
    assert_non_null(in);
    uint64_t n;
    assert_int_equal(taskfile_copy_count(in, NULL, "endless", &n, &err), -1);
    assert_string_equal(err.text, "endless: line 1: longer than 1048576 bytes");
    print_message("read %zu bytes of a %zu-byte line\n", e.given, e.limit);
    assert_true(e.given < max + (1 << 20));
    fclose(in);
}

/* A first line "#!PROG" names the interpreter; options are refused. */
static void test_interpreter_line(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *interpreter; /* NULL: an error, or none (ok) */
        bool ok;
    } cases[] = {
        {"#!/bin/bash\necho\n", "/bin/bash", true},
        {"#!/usr/bin/env bash\necho\n", "bash", true},
        {"#! /bin/sh \r\necho\n", "/bin/sh", true},
        {"echo\n#!/bin/bash\necho\n", NULL, true},
        {"#!/bin/bash -e\necho\n", NULL, false},
        {"#!/usr/bin/env -S bash -e\necho\n", NULL, false},
        {"#!/usr/bin/env\necho\n", NULL, false},
        {"#!bash\necho\n", NULL, false},
        {"#!\necho\n", NULL, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct taskfile *tf = open_text(cases[i].text);
        struct mps_error err;
        const char *line;
        print_message("%s", cases[i].text);
        assert_int_equal(taskfile_next(tf, &line, &err), cases[i].ok ? 1 : -1);
        if (cases[i].interpreter)
            assert_string_equal(taskfile_interpreter(tf), cases[i].interpreter);
        else
            assert_null(taskfile_interpreter(tf));
        if (!cases[i].ok)
            assert_non_null(strstr(err.text, ": line 1: "));
        taskfile_close(tf);
    }
}

/* taskfile_select returns the chosen tasks (numbers of the whole file)
 * with their own lines and indexes; taskfile_finish counts them, and a
 * REPEAT of a trillion tasks, without making them one by one. */
static void test_select_and_finish(void **state)
{
    (void)state;
    const char text[] = "echo zero\n"
                        "#DISBATCH REPEAT 1000000000000 start 5 step 3 r\n"
                        "echo last\n";
    struct taskfile *tf = open_text(text);
    struct mps_error err;
    const uint64_t numbers[] = {0, 2, 999999999999ULL, 1000000000001ULL};
    assert_int_equal(taskfile_select(tf, numbers, 4, &err), 0);
    const struct want_task want[] = {
        {"echo zero", 1, 0, -1},
        {"r", 2, 2, 8},
        {"r", 2, 999999999999ULL, 5 + 3 * 999999999998LL},
        {"echo last", 3, 1000000000001ULL, -1},
    };
    check_tasks(tf, want, 4);
    taskfile_close(tf);

    tf = open_text(text);
    assert_int_equal(taskfile_finish(tf, &err), 0);
    assert_int_equal(taskfile_count(tf), 1000000000002ULL);
    taskfile_close(tf);
    tf = open_text(text);
    assert_int_equal(taskfile_select(tf, numbers + 1, 3, &err), 0);
    assert_int_equal(taskfile_finish(tf, &err), 0);
    assert_int_equal(taskfile_count(tf), 3);
    taskfile_close(tf);

    FILE *in = fopen(path, "r");
    uint64_t n = 0;
    assert_int_equal(taskfile_copy_count(in, NULL, "t", &n, &err), 0);
    fclose(in);
    assert_int_equal(n, 1000000000002ULL);

    /* A selected task the file does not have is an error. */
    tf = open_text("echo a\necho b\n");
    const uint64_t beyond[] = {1, 2};
    assert_int_equal(taskfile_select(tf, beyond, 2, &err), 0);
    assert_int_equal(taskfile_finish(tf, &err), -1);
    assert_non_null(strstr(err.text, ": has 2 tasks, so it has no task 2"));
    taskfile_close(tf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_line_after_end),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_not_regular),
        cmocka_unit_test(test_million),
        cmocka_unit_test(test_fdopen),
        cmocka_unit_test(test_disbatch),
        cmocka_unit_test(test_repeat_syntax),
        cmocka_unit_test(test_directive_errors),
        cmocka_unit_test(test_interpreter_line),
        cmocka_unit_test(test_select_and_finish),
        cmocka_unit_test(test_line_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
