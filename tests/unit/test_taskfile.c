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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),   cmocka_unit_test(test_line_after_end),
        cmocka_unit_test(test_errors),  cmocka_unit_test(test_not_regular),
        cmocka_unit_test(test_million), cmocka_unit_test(test_fdopen),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
