/* SPDX-License-Identifier: MIT */
/* Unit tests of the report of a job cancelled before it ran (its counts,
 * from its job file and task file) and of writing a report into
 * out/JOBID/ with the submitter's umask; run with --root (a ctest entry of
 * its own, skipped unless root), the report is written as another user. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "asuser.h"
#include "jobreport.h"
#include "spool.h"
#include "util.h"

static char root[] = "/tmp/mpispool-jobreport-XXXXXX";
static char spool_dir[128];
static struct spool *sp;

static int setup(void **state)
{
    (void)state;
    struct mps_error err;
    if (!mkdtemp(root) || chmod(root, 0755) < 0)
        return -1;
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", root);
    if (spool_init(spool_dir, &err) < 0)
        return -1;
    sp = spool_open(spool_dir, &err);
    return sp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    spool_close(sp);
    int parent = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = asuser_remove_tree(parent, strrchr(root, '/') + 1);
    close(parent);
    return rc;
}

/* Write SPOOL/DIR/NAME holding text; its path in buf. */
static const char *put(char *buf, size_t len, const char *dir, const char *name,
                       const char *text)
{
    struct mps_error err;
    snprintf(buf, len, "%s/%s/%s", spool_dir, dir, name);
    assert_int_equal(util_write_file(buf, text, strlen(text), 0, &err), 0);
    return buf;
}

/* The cancelled report of the job file at path. */
static json_t *report_of(const char *jobid, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    json_t *rep = jobreport_cancelled(sp, jobid, fd, &st);
    close(fd);
    assert_non_null(rep);
    return rep;
}

static json_int_t count(json_t *rep, const char *key)
{
    return json_integer_value(
        json_object_get(json_object_get(rep, "counts"), key));
}

/* A job of three tasks: all of them cancelled, none run. */
static void test_inline_tasks(void **state)
{
    (void)state;
    char path[256];
    put(path, sizeof path, "cancel", "j-1.json",
        "{\"name\": \"three\", \"tasks\": [\"true\", \"true\", \"true\"], "
        "\"submit_time\": \"2026-01-02T03:04:05.000000Z\"}");
    json_t *rep = report_of("j-1", path);
    assert_string_equal(json_string_value(json_object_get(rep, "job")), "j-1");
    assert_string_equal(json_string_value(json_object_get(rep, "name")),
                        "three");
    assert_string_equal(json_string_value(json_object_get(rep, "state")),
                        "cancelled");
    assert_string_equal(json_string_value(json_object_get(rep, "submitted")),
                        "2026-01-02T03:04:05.000000Z");
    assert_true(json_is_null(json_object_get(rep, "started")));
    assert_true(json_is_string(json_object_get(rep, "ended")));
    assert_int_equal(count(rep, "tasks"), 3);
    assert_int_equal(count(rep, "cancelled"), 3);
    assert_int_equal(count(rep, "succeeded"), 0);
    assert_int_equal(count(rep, "failed"), 0);
    assert_int_equal(json_array_size(json_object_get(rep, "tasks")), 0);
    json_decref(rep);
}

/* A task file in data/ is counted (a "#" line is no task). */
static void test_task_file(void **state)
{
    (void)state;
    char path[256], tasks[256];
    put(tasks, sizeof tasks, "data", "j-2.tasks", "echo 1\n# note\necho 2\n");
    put(path, sizeof path, "cancel", "j-2.json",
        "{\"task_file\": \"j-2.tasks\"}");
    json_t *rep = report_of("j-2", path);
    assert_int_equal(count(rep, "tasks"), 2);
    assert_int_equal(count(rep, "cancelled"), 2);
    json_decref(rep);
    /* A task file that is gone: no tasks known. */
    assert_int_equal(unlink(tasks), 0);
    rep = report_of("j-2", path);
    assert_int_equal(count(rep, "tasks"), 0);
    json_decref(rep);
}

/* A file that is not a job, or none: cancelled, nothing known. */
static void test_not_a_job(void **state)
{
    (void)state;
    char path[256];
    put(path, sizeof path, "cancel", "j-3.json", "not json");
    json_t *rep = report_of("j-3", path);
    assert_null(json_string_value(json_object_get(rep, "name")));
    assert_string_equal(json_string_value(json_object_get(rep, "state")),
                        "cancelled");
    assert_int_equal(count(rep, "tasks"), 0);
    json_decref(rep);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    rep = jobreport_cancelled(sp, "j-3", -1, &st);
    assert_non_null(rep);
    assert_int_equal(count(rep, "tasks"), 0);
    json_decref(rep);
}

static mode_t mode_of(const char *path, struct stat *st)
{
    assert_int_equal(lstat(path, st), 0);
    return st->st_mode & 07777;
}

/* Write the cancelled report of job file text as jobid's; check its
 * modes (umask 027) and that it can be read back. */
static void write_and_check(const char *jobid, uid_t owner)
{
    char name[80], path[256], dir[256], report[300];
    snprintf(name, sizeof name, "%s.json", jobid);
    put(path, sizeof path, "cancel", name,
        "{\"command\": [\"true\"], \"submit_umask\": \"027\"}");
    assert_int_equal(chown(path, owner, owner), 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    struct mps_error err;
    for (int twice = 0; twice < 2; twice++)
        assert_int_equal(jobreport_write_cancelled(sp, jobid, fd, &st, &err),
                         0);
    close(fd);
    snprintf(dir, sizeof dir, "%s/out/%s", spool_dir, jobid);
    snprintf(report, sizeof report, "%s/report.json", dir);
    assert_int_equal(mode_of(dir, &st), 0750);
    assert_int_equal(st.st_uid, owner);
    assert_int_equal(mode_of(report, &st), 0640);
    assert_int_equal(st.st_uid, owner);
    json_error_t jerr;
    json_t *rep = json_load_file(report, 0, &jerr);
    assert_non_null(rep);
    assert_int_equal(count(rep, "cancelled"), 1);
    json_decref(rep);
}

static void test_write(void **state)
{
    (void)state;
    write_and_check("j-4", geteuid());
}

/* Root writes the report of another user's job as that user. */
static void test_write_as_owner(void **state)
{
    (void)state;
    write_and_check("j-5", 65534);
}

static void two_records(void *arg, void (*emit)(void *, const char *),
                        void *emit_arg)
{
    (void)arg;
    emit(emit_arg, "{\"task\":0,\"exit_code\":0}");
    emit(emit_arg, "{\"task\":1,\"exit_code\":3}");
}

/* jobreport_print, rank 0's writer: the schema's members in order, as
 * jansson prints the whole object compact, then the records. */
static void test_print(void **state)
{
    (void)state;
    const struct job_report rep = {.job = "j-9",
                                   .name = "na\"me",
                                   .state = "failed",
                                   .started_us = 1795482606123456LL,
                                   .ended_us = 1795482607623456LL,
                                   .tasks = 3,
                                   .succeeded = 1,
                                   .failed = 1,
                                   .cancelled = 1};
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(jobreport_print(out, &rep, two_records, NULL), 0);
    fclose(out);
    assert_string_equal(
        text, "{\"job\":\"j-9\",\"name\":\"na\\\"me\",\"state\":\"failed\","
              "\"submitted\":null,\"started\":\"2026-11-24T01:10:06.123456Z\","
              "\"ended\":\"2026-11-24T01:10:07.623456Z\",\"counts\":{\"tasks\":"
              "3,\"succeeded\":1,\"failed\":1,\"cancelled\":1},\"reason\":null,"
              "\"tasks\":[{\"task\":0,\"exit_code\":0},{\"task\":1,"
              "\"exit_code\":3}]}\n");
    json_t *head = jobreport_head(&rep);
    json_object_set_new(head, "tasks", json_array());
    char *whole = json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER);
    free(text);
    /* Without records, the same text jansson prints. */
    out = open_memstream(&text, &len);
    assert_int_equal(jobreport_print(out, &rep, NULL, NULL), 0);
    fclose(out);
    assert_memory_equal(text, whole, strlen(whole));
    free(whole);
    free(text);
    json_decref(head);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_print),     cmocka_unit_test(test_inline_tasks),
        cmocka_unit_test(test_task_file), cmocka_unit_test(test_not_a_job),
        cmocka_unit_test(test_write),
    };
    const struct CMUnitTest root_tests[] = {
        cmocka_unit_test(test_write_as_owner),
    };
    if (argc > 1 && strcmp(argv[1], "--root") == 0) {
        if (geteuid() != 0) {
            printf("SKIP: writing as another user needs root\n");
            return 77;
        }
        return cmocka_run_group_tests(root_tests, setup, teardown);
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
