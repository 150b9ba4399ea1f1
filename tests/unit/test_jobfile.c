/* SPDX-License-Identifier: MIT */
/* Unit tests of job file validation: the corpora of valid and invalid job
 * files (each invalid one with its exact error line), and task access. */
#include <dirent.h>
#include <errno.h>
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

#include "jobfile.h"
#include "outpattern.h"
#include "util.h"

#define CORPUS MPISPOOL_TEST_DATA "/jobfiles"

/* Names of the *.json files in dir, sorted; returns how many. */
static int list_json(const char *dir, char ***names)
{
    struct dirent **entries;
    int n = scandir(dir, &entries, NULL, alphasort);
    assert_true(n >= 0);
    int count = 0;
    *names = calloc((size_t)n + 1, sizeof **names);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(entries[i]->d_name);
        if (len > 5 && strcmp(entries[i]->d_name + len - 5, ".json") == 0)
            (*names)[count++] = strdup(entries[i]->d_name);
        free(entries[i]);
    }
    free(entries);
    return count;
}

static void test_valid_corpus(void **state)
{
    (void)state;
    char **names;
    int n = list_json(CORPUS "/valid", &names);
    assert_true(n >= 12);
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct mps_error err;
        snprintf(path, sizeof path, "%s/valid/%s", CORPUS, names[i]);
        struct jobspec *job = jobfile_load(path, &err);
        if (!job)
            fail_msg("valid/%s rejected: %s", names[i], err.text);
        jobspec_destroy(job);
        free(names[i]);
    }
    free(names);
}

static void test_invalid_corpus(void **state)
{
    (void)state;
    char **names;
    int n = list_json(CORPUS "/invalid", &names);
    int mismatches = 0;
    assert_true(n >= 30);
    for (int i = 0; i < n; i++) {
        char path[4096], expect_path[4096];
        struct mps_error err;
        snprintf(path, sizeof path, "%s/invalid/%s", CORPUS, names[i]);
        snprintf(expect_path, sizeof expect_path, "%s/invalid/%.*s.expect",
                 CORPUS, (int)strlen(names[i]) - 5, names[i]);
        char *expect = util_read_file(expect_path, 4096, NULL, &err);
        if (!expect)
            fail_msg("invalid/%s has no .expect: %s", names[i], err.text);
        expect[strcspn(expect, "\n")] = '\0';
        struct jobspec *job = jobfile_load(path, &err);
        if (job) {
            print_error("invalid/%s was accepted\n", names[i]);
            jobspec_destroy(job);
            mismatches++;
        } else if (strcmp(err.text, expect) != 0) {
            print_error("invalid/%s:\n  expected: %s\n  got:      %s\n",
                        names[i], expect, err.text);
            mismatches++;
        }
        free(expect);
        free(names[i]);
    }
    free(names);
    assert_int_equal(mismatches, 0);
}

static struct jobspec *parse(const char *text)
{
    struct mps_error err;
    struct jobspec *job = jobfile_parse(text, strlen(text), &err);
    if (!job)
        fail_msg("'%s' rejected: %s", text, err.text);
    return job;
}

static void test_defaults(void **state)
{
    (void)state;
    struct jobspec *job = parse("{\"command\": [\"true\"]}");
    assert_int_equal(job->ntasks, 1);
    assert_int_equal(job->cpus, 1);
    assert_int_equal(job->gpus, 0);
    assert_int_equal(job->memory, 0);
    assert_true(job->timeout == 0);
    assert_int_equal(job->retries, 0);
    assert_true(job->retry_backoff == 10);
    assert_int_equal(job->priority, 0);
    assert_null(job->name);
    assert_null(job->cwd);
    assert_null(job->env);
    assert_null(job->task_file);
    assert_null(job->submit_env);
    assert_null(job->after_notok);
    assert_false(job->fail_fast);
    jobspec_destroy(job);
}

static void test_fields(void **state)
{
    (void)state;
    struct jobspec *job = parse(
        "{\"name\": \"n\", \"shell\": \"echo hi\", \"cwd\": \"/tmp\", "
        "\"env\": {\"A\": \"1\", \"B\": \"x=y\"}, \"cpus\": 3, \"memory\": "
        "\"2G\", \"timeout\": 1.5, \"retries\": 2, \"retry_backoff\": 0.25, "
        "\"priority\": -3, \"after\": [\"j1\", \"j2\"]}");
    assert_string_equal(job->name, "n");
    assert_string_equal(job->cwd, "/tmp");
    assert_string_equal(job->env[0], "A=1");
    assert_string_equal(job->env[1], "B=x=y");
    assert_null(job->env[2]);
    assert_int_equal(job->cpus, 3);
    assert_int_equal(job->memory, 2ULL << 30);
    assert_true(job->timeout == 1.5);
    assert_int_equal(job->retries, 2);
    assert_true(job->retry_backoff == 0.25);
    assert_int_equal(job->priority, -3);
    assert_string_equal(job->after[1], "j2");
    assert_null(job->after[2]);
    jobspec_destroy(job);
}

/* "after_notok" is a list of job ids like "after"; "fail_fast" a boolean. */
static void test_after_notok_fail_fast(void **state)
{
    (void)state;
    struct jobspec *job =
        parse("{\"command\": [\"true\"], \"after_notok\": [\"j1\", "
              "\"j.2\"], \"fail_fast\": true}");
    assert_string_equal(job->after_notok[0], "j1");
    assert_string_equal(job->after_notok[1], "j.2");
    assert_null(job->after_notok[2]);
    assert_null(job->after);
    assert_null(job->after_any);
    assert_true(job->fail_fast);
    jobspec_destroy(job);
    job = parse("{\"command\": [\"true\"], \"after_notok\": [], "
                "\"fail_fast\": false}");
    assert_non_null(job->after_notok);
    assert_null(job->after_notok[0]);
    assert_false(job->fail_fast);
    jobspec_destroy(job);
}

static void test_tasks(void **state)
{
    (void)state;
    struct mps_error err;
    struct taskcmd cmd;
    struct jobspec *job =
        parse("{\"tasks\": [[\"printf\", \"%s\", \"a b\"], \"echo $X | wc\"]}");
    assert_int_equal(job->ntasks, 2);
    assert_int_equal(jobspec_task(job, 0, &cmd, &err), 0);
    assert_false(cmd.shell);
    assert_int_equal(cmd.argc, 3);
    assert_string_equal(cmd.argv[2], "a b");
    assert_null(cmd.argv[3]);
    taskcmd_free(&cmd);
    assert_int_equal(jobspec_task(job, 1, &cmd, &err), 0);
    assert_true(cmd.shell);
    assert_int_equal(cmd.argc, 1);
    assert_string_equal(cmd.argv[0], "echo $X | wc");
    taskcmd_free(&cmd);
    assert_int_equal(jobspec_task(job, 2, &cmd, &err), -1);
    jobspec_destroy(job);

    job = parse("{\"command\": [\"echo\", \"\"]}");
    assert_int_equal(jobspec_task(job, 0, &cmd, &err), 0);
    assert_int_equal(cmd.argc, 2);
    assert_string_equal(cmd.argv[1], "");
    taskcmd_free(&cmd);
    jobspec_destroy(job);

    job = parse("{\"task_file\": \"x.tasks\"}");
    assert_int_equal(job->ntasks, 0);
    assert_string_equal(job->task_file, "x.tasks");
    assert_int_equal(jobspec_task(job, 0, &cmd, &err), -1);
    jobspec_destroy(job);
}

static void test_load_guards(void **state)
{
    (void)state;
    char dir[] = "/tmp/mpispool-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[4200], link[4200];
    snprintf(file, sizeof file, "%s/job.json", dir);
    snprintf(link, sizeof link, "%s/link.json", dir);
    struct mps_error err;
    assert_int_equal(
        util_write_file(file, "{\"shell\": \"true\"}", 17, 0, &err), 0);
    assert_int_equal(symlink(file, link), 0);
    assert_null(jobfile_load(link, &err));
    assert_string_equal(err.text, "job file is a symbolic link");
    assert_null(jobfile_load(dir, &err));
    assert_string_equal(err.text, "job file is not a regular file");
    /* Larger than 16 MiB. */
    FILE *f = fopen(file, "w");
    fputs("{\"shell\": \"", f);
    for (int i = 0; i < 17 * 1024; i++)
        for (int j = 0; j < 1024; j++)
            fputc('x', f);
    fputs("\"}", f);
    fclose(f);
    assert_null(jobfile_load(file, &err));
    assert_string_equal(err.text, "job file is larger than 16 MiB");
    unlink(link);
    unlink(file);
    rmdir(dir);
}

/* A FIFO in new/ is refused at once, without waiting for a writer. */
static void test_load_fifo(void **state)
{
    (void)state;
    char dir[] = "/tmp/mpispool-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/fifo.json", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(10); /* a blocking open would hang here */
    struct mps_error err;
    assert_null(jobfile_load(fifo, &err));
    alarm(0);
    assert_string_equal(err.text, "job file is not a regular file");
    unlink(fifo);
    rmdir(dir);
}

/* Nesting far past the parser's limit, of objects (the corpus has 10,000
 * arrays) and a million deep: an error line, not a stack overflow. */
static void test_deep_nesting(void **state)
{
    (void)state;
    const size_t depths[] = {10000, 1000000};
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++) {
        size_t depth = depths[d];
        size_t cap = 64 + depth * 7;
        char *text = malloc(cap);
        assert_non_null(text);
        size_t n = (size_t)sprintf(text, "{\"shell\": \"true\", \"env\": ");
        for (size_t i = 0; i < depth; i++)
            n += (size_t)sprintf(text + n, "{\"a\": ");
        text[n++] = '1';
        memset(text + n, '}', depth + 1);
        n += depth + 1;
        struct mps_error err;
        assert_null(jobfile_parse(text, n, &err));
        assert_non_null(strstr(err.text, "maximum parsing depth reached"));
        free(text);
    }
}

static void test_valid_id(void **state)
{
    (void)state;
    assert_true(jobfile_valid_id("20261124-0001"));
    assert_true(jobfile_valid_id("a.b_c-d"));
    assert_false(jobfile_valid_id(""));
    assert_false(jobfile_valid_id(".hidden"));
    assert_false(jobfile_valid_id("../x"));
    assert_false(jobfile_valid_id("a b"));
    assert_false(jobfile_valid_id(
        "x123456789012345678901234567890123456789012345678901234567890123"
        "4"));
}

static void test_steps(void **state)
{
    (void)state;
    struct jobspec *job = parse("{\"steps\": [\"echo a > f\", [\"cat\", "
                                "\"f\"]], \"continue_on_error\": true}");
    assert_int_equal(job->ntasks, 1);
    assert_int_equal(job->nsteps, 2);
    assert_true(job->continue_on_error);
    assert_true(job->steps[0].shell);
    assert_string_equal(job->steps[0].argv[0], "echo a > f");
    assert_false(job->steps[1].shell);
    assert_int_equal(job->steps[1].argc, 2);
    assert_string_equal(job->steps[1].argv[1], "f");
    assert_null(job->steps[1].argv[2]);
    struct taskcmd cmd;
    struct mps_error err;
    assert_int_equal(jobspec_task(job, 0, &cmd, &err), 0);
    assert_string_equal(cmd.argv[0], "echo a > f");
    taskcmd_free(&cmd);
    jobspec_destroy(job);
    job = parse("{\"steps\": [[\"true\"]]}");
    assert_false(job->continue_on_error);
    assert_int_equal(job->nsteps, 1);
    jobspec_destroy(job);
}

/* expand(pattern, task): the pattern expanded for job J-1, named "sweep",
 * owned by ana. */
static const char *expand(const char *pattern, uint64_t task)
{
    static char buf[256];
    const struct outpattern_vars vars = {"J-1", task, "sweep", "ana"};
    struct mps_error err;
    if (outpattern_check("stdout", pattern, &err) < 0)
        fail_msg("'%s' refused: %s", pattern, err.text);
    assert_true(outpattern_expand(pattern, &vars, buf, sizeof buf) >= 0);
    return buf;
}

static void test_output_patterns(void **state)
{
    (void)state;
    assert_string_equal(expand("/logs/%x-%j-%4t.out", 7),
                        "/logs/sweep-J-1-0007.out");
    assert_string_equal(expand("%A_%a", 12), "J-1_12");
    assert_string_equal(expand("%2t/%10t/%0t/%1t", 123),
                        "123/0000000123/123/123");
    assert_string_equal(expand("100%%-%%t-%t", 3), "100%-%t-3");
    assert_string_equal(expand("%u/%4j/%3x/%4u", 0), "ana/J-1/sweep/ana");
    assert_string_equal(expand("plain", 0), "plain");
    assert_string_equal(expand("%t", UINT64_MAX), "18446744073709551615");
    /* The length, and what does not fit. */
    const struct outpattern_vars vars = {"J-1", 5, NULL, "ana"};
    char small[8];
    assert_int_equal(outpattern_expand("a%tb", &vars, small, sizeof small), 3);
    assert_string_equal(small, "a5b");
    assert_int_equal(outpattern_expand("1234567", &vars, small, 8), 7);
    errno = 0;
    assert_int_equal(outpattern_expand("12345678", &vars, small, 8), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    assert_int_equal(outpattern_expand("%x", &vars, small, 8), -1);
    assert_int_equal(errno, EINVAL);
    /* Which letters a pattern uses, in either spelling. */
    assert_true(outpattern_uses("o.%a", 't'));
    assert_true(outpattern_uses("o.%4t", 't'));
    assert_true(outpattern_uses("%A.out", 'j'));
    assert_false(outpattern_uses("o.%%t", 't'));
    assert_false(outpattern_uses("o.%j", 't'));
    assert_true(outpattern_uses("%%%x", 'x'));
}

/* The key validation beyond the corpus: one task needs no %t, a task file
 * is counted where it is read, submit_umask. */
static void test_output_keys(void **state)
{
    (void)state;
    struct mps_error err;
    struct jobspec *job =
        parse("{\"shell\": \"true\", \"stdout\": \"o\", \"stderr\": "
              "\"o\", \"cwd\": \"/w\", \"submit_umask\": \"0077\"}");
    assert_string_equal(job->stdout_path, "o");
    assert_string_equal(job->stderr_path, "o");
    assert_int_equal(job->submit_umask, 077);
    jobspec_destroy(job);
    job = parse("{\"task_file\": \"t\", \"stdout\": \"/o\"}");
    assert_int_equal(job->submit_umask, 022);
    assert_int_equal(
        outpattern_check_tasks("stdout", job->stdout_path, 1, &err), 0);
    assert_int_equal(
        outpattern_check_tasks("stdout", job->stdout_path, 3, &err), -1);
    assert_string_equal(err.text, "'stdout' ('/o') would be one file for all "
                                  "3 tasks: put %t (the task number) in it");
    jobspec_destroy(job);
    job = parse("{\"tasks\": [\"a\", \"b\"], \"stdout\": \"/o%a\"}");
    assert_int_equal(job->ntasks, 2);
    jobspec_destroy(job);
}

/* A job file {"KEY": VALUE} where VALUE has a string of n 'x'. */
static struct jobspec *parse_sized(const char *before, size_t n,
                                   const char *after, struct mps_error *err)
{
    size_t len = strlen(before) + n + strlen(after);
    char *text = malloc(len + 1);
    assert_non_null(text);
    strcpy(text, before);
    memset(text + strlen(before), 'x', n);
    strcpy(text + strlen(before) + n, after);
    struct jobspec *job = jobfile_parse(text, len, err);
    free(text);
    return job;
}

/* Shell commands of up to 1 MiB are accepted (they run: the executor
 * hands long ones to the shell in pieces); an argv element a program
 * could not be given (over JOBFILE_MAX_ARG bytes) is refused, naming it. */
static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *before, *after;
        size_t n;
        const char *error; /* NULL: accepted */
    } cases[] = {
        {"{\"shell\": \"", "\"}", JOBFILE_MAX_COMMAND, NULL},
        {"{\"shell\": \"", "\"}", JOBFILE_MAX_COMMAND + 1,
         "'shell' is longer than 1048576 bytes"},
        {"{\"tasks\": [\"a\", \"", "\"]}", JOBFILE_MAX_COMMAND + 1,
         "'tasks[1]' is longer than 1048576 bytes"},
        {"{\"steps\": [\"", "\"]}", JOBFILE_MAX_COMMAND + 1,
         "'steps[0]' is longer than 1048576 bytes"},
        {"{\"command\": [\"echo\", \"", "\"]}", JOBFILE_MAX_ARG, NULL},
        {"{\"command\": [\"echo\", \"", "\"]}", JOBFILE_MAX_ARG + 1,
         "'command[1]' is 131072 bytes long: Linux runs no program with an "
         "argument longer than 131071 bytes (pass such data in a file)"},
        {"{\"tasks\": [\"a\", [\"echo\", \"b\", \"", "\"]]}",
         JOBFILE_MAX_ARG + 1, "'tasks[1][2]' is 131072 bytes long"},
        {"{\"steps\": [[\"", "\"]]}", JOBFILE_MAX_ARG + 1,
         "'steps[0][0]' is 131072 bytes long"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct mps_error err;
        struct jobspec *job =
            parse_sized(cases[i].before, cases[i].n, cases[i].after, &err);
        if (!cases[i].error) {
            assert_non_null(job);
            jobspec_destroy(job);
            continue;
        }
        assert_null(job);
        print_message("%s\n", err.text);
        assert_memory_equal(err.text, cases[i].error, strlen(cases[i].error));
    }
}

/* "interpreter", "task_file_name" and resumed_from.file_tasks reach the
 * jobspec. */
static void test_interpreter_keys(void **state)
{
    (void)state;
    const char text[] =
        "{\"task_file\": \"T.tasks\", \"task_file_name\": \"Tasks\", "
        "\"interpreter\": \"bash\", \"resumed_from\": {\"job\": \"j1\", "
        "\"tasks\": [0, 4], \"file_tasks\": [3, 40]}}";
    struct mps_error err;
    struct jobspec *job = jobfile_parse(text, strlen(text), &err);
    assert_non_null(job);
    assert_string_equal(job->interpreter, "bash");
    assert_string_equal(job->task_file_name, "Tasks");
    assert_int_equal(job->nfile_tasks, 2);
    assert_int_equal(job->file_tasks[0], 3);
    assert_int_equal(job->file_tasks[1], 40);
    assert_int_equal(jobspec_original_task(job, 1), 4);
    jobspec_destroy(job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_corpus),
        cmocka_unit_test(test_invalid_corpus),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_after_notok_fail_fast),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_tasks),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_load_guards),
        cmocka_unit_test(test_load_fifo),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_valid_id),
        cmocka_unit_test(test_output_patterns),
        cmocka_unit_test(test_output_keys),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_interpreter_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
