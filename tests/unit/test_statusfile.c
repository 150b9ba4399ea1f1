/* SPDX-License-Identifier: MIT */
/* Unit tests of the status file (src/common/statusfile.c): a status
 * written through the writer and loaded back through the loader has every
 * field; a file the writer made before it was one module (tests/data/
 * status/) is written again byte for byte; the loader's choice of files;
 * the names; staleness. */
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

#include "asuser.h"
#include "spool.h"
#include "statusfile.h"
#include "util.h"

static char root[] = "/tmp/mpispool-test-statusfile.XXXXXX";
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

/* Remove every file of status/. */
static void empty_status_dir(void)
{
    char *cmd = NULL;
    assert_true(asprintf(&cmd, "rm -f %s/status/* %s/status/.[!.]*", spool_dir,
                         spool_dir) >= 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void put_file(const char *name, const char *text)
{
    char *path = spool_file(sp, SPOOL_STATUS, name);
    assert_non_null(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    free(path);
}

/* ------------------------------------------------------------ a status */

static struct statusfile_rank sample_ranks[] = {
    {.rank = 1,
     .host = "pc12",
     .slots = 4,
     .busy = 3,
     .tasks = 2,
     .state = "owner-active",
     .memory = 12615684096ULL,
     .memory_reserved = 1073741824ULL,
     .gpus = 2,
     .gpus_busy = 1,
     .load = 0.5,
     .idle_action = "suspend",
     .owner_active = true,
     .owner_reason = "input",
     .owner_since_us = 1764700000123456LL},
    {.rank = 2,
     .host = "pc13",
     .slots = 2,
     .busy = 0,
     .tasks = 0,
     .state = "idle",
     .memory = 8000000000ULL,
     .memory_reserved = 0,
     .gpus = 0,
     .gpus_busy = 0,
     .load = 1.25,
     .idle_action = "requeue",
     .owner_active = false},
};

static struct statusfile_job sample_jobs[] = {
    {.job = "20261124-0001",
     .name = "demo \"één\"",
     .state = "stopping",
     .priority = -3,
     .tasks = 10,
     .pending = 6,
     .running = 1,
     .succeeded = 2,
     .failed = 1,
     .started_us = 1764700001000001LL,
     .waiting = NULL,
     .reason = "stopped by fail_fast: task 3 failed"},
    {.job = "20261124-0002",
     .name = NULL,
     .state = "queued",
     .priority = 0,
     .waiting = "waiting to be set up, again in 5 s: no room"},
};

static const struct statusfile sample = {
    .coordinator = "pc12-4711",
    .host = "pc12",
    .pid = 4711,
    .started_us = 1764699999000000LL,
    .updated_us = 1764700002500000LL,
    .state = "running",
    .until_empty = true,
    .slots_total = 6,
    .slots_busy = 3,
    .ranks = sample_ranks,
    .nranks = 2,
    .jobs = sample_jobs,
    .njobs = 2,
    .jobs_done = 3,
    .jobs_failed = 1,
    .jobs_rejected = 2,
    .tasks_succeeded = 40,
    .tasks_failed = 5000000000ULL,
    .idle_policy = "load=0.5,idle=15m,input=/dev/input,action=suspend",
};

static void check_rank(const struct statusfile_rank *a,
                       const struct statusfile_rank *b)
{
    assert_int_equal(a->rank, b->rank);
    assert_string_equal(a->host, b->host);
    assert_int_equal(a->slots, b->slots);
    assert_int_equal(a->busy, b->busy);
    assert_int_equal(a->tasks, b->tasks);
    assert_string_equal(a->state, b->state);
    assert_int_equal(a->memory, b->memory);
    assert_int_equal(a->memory_reserved, b->memory_reserved);
    assert_int_equal(a->gpus, b->gpus);
    assert_int_equal(a->gpus_busy, b->gpus_busy);
    assert_true(a->load == b->load);
    assert_string_equal(a->idle_action, b->idle_action);
    assert_int_equal(a->owner_active, b->owner_active);
    if (b->owner_reason)
        assert_string_equal(a->owner_reason, b->owner_reason);
    else
        assert_null(a->owner_reason);
    assert_int_equal(a->owner_since_us, b->owner_since_us);
}

static void check_opt_string(const char *a, const char *b)
{
    if (b)
        assert_string_equal(a, b);
    else
        assert_null(a);
}

static void check_job(const struct statusfile_job *a,
                      const struct statusfile_job *b)
{
    assert_string_equal(a->job, b->job);
    check_opt_string(a->name, b->name);
    assert_string_equal(a->state, b->state);
    assert_int_equal(a->priority, b->priority);
    assert_int_equal(a->tasks, b->tasks);
    assert_int_equal(a->pending, b->pending);
    assert_int_equal(a->running, b->running);
    assert_int_equal(a->succeeded, b->succeeded);
    assert_int_equal(a->failed, b->failed);
    assert_int_equal(a->started_us, b->started_us);
    check_opt_string(a->waiting, b->waiting);
    check_opt_string(a->reason, b->reason);
}

/* Written through the writer, loaded back through the loader: every
 * field as given. */
static void test_write_load(void **state)
{
    (void)state;
    empty_status_dir();
    char name[64];
    statusfile_coord_name(sample.host, sample.pid, name, sizeof name);
    assert_string_equal(name, "pc12-4711");
    char *path = statusfile_path(sp, name);
    assert_non_null(path);
    struct mps_error err;
    assert_int_equal(statusfile_write(path, &sample, &err), 0);

    json_t *all = statusfile_load_all(sp);
    assert_non_null(all);
    assert_int_equal(json_array_size(all), 1);
    json_t *st = json_array_get(all, 0);
    struct statusfile sf;
    assert_int_equal(statusfile_decode(st, &sf), 0);
    assert_string_equal(sf.coordinator, "pc12-4711");
    assert_string_equal(sf.host, "pc12");
    assert_int_equal(sf.pid, 4711);
    assert_int_equal(sf.started_us, sample.started_us);
    assert_int_equal(sf.updated_us, sample.updated_us);
    assert_string_equal(sf.state, "running");
    assert_true(sf.until_empty);
    assert_int_equal(sf.slots_total, 6);
    assert_int_equal(sf.slots_busy, 3);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(st, SF_SLOTS), SF_SLOTS_FREE)),
                     3);
    assert_int_equal(sf.nranks, 2);
    for (size_t i = 0; i < sf.nranks; i++)
        check_rank(&sf.ranks[i], &sample.ranks[i]);
    /* reason and since only while the owner is active */
    json_t *idle = json_object_get(
        json_array_get(json_object_get(st, SF_RANKS), 1), SF_IDLE_POLICY);
    assert_int_equal(json_object_size(idle), 2);
    assert_int_equal(sf.njobs, 2);
    for (size_t i = 0; i < sf.njobs; i++)
        check_job(&sf.jobs[i], &sample.jobs[i]);
    json_t *queued = json_array_get(json_object_get(st, SF_JOBS), 1);
    assert_null(json_object_get(queued, SF_JOB_STARTED));
    assert_null(json_object_get(queued, SF_JOB_REASON));
    assert_true(json_is_null(json_object_get(queued, SF_JOB_NAME)));
    assert_int_equal(sf.jobs_done, 3);
    assert_int_equal(sf.jobs_failed, 1);
    assert_int_equal(sf.jobs_rejected, 2);
    assert_int_equal(sf.tasks_succeeded, 40);
    assert_int_equal(sf.tasks_failed, 5000000000ULL);
    assert_string_equal(sf.idle_policy, sample.idle_policy);

    /* ... and written again, the same text. */
    size_t len;
    char *text = util_read_file(path, 1 << 20, &len, &err);
    assert_non_null(text);
    char *again = statusfile_text(&sf);
    assert_string_equal(again, text);
    free(again);
    free(text);
    statusfile_free(&sf);
    json_decref(all);
    free(path);
}

/* Without --idle-policy: no idle_policy, top level or per rank. */
static void test_no_idle_policy(void **state)
{
    (void)state;
    struct statusfile_rank rank = sample_ranks[1];
    rank.idle_action = NULL;
    struct statusfile plain = sample;
    plain.ranks = &rank;
    plain.nranks = 1;
    plain.njobs = 0;
    plain.idle_policy = NULL;
    char *text = statusfile_text(&plain);
    assert_non_null(text);
    assert_null(strstr(text, "idle_policy"));
    assert_non_null(strstr(text, "\"jobs\": [],\n"));
    free(text);
}

/* A file the writer made before it was this module (rank 0's status.c),
 * decoded and written again: byte for byte the same. */
static void test_same_bytes(void **state)
{
    (void)state;
    size_t len;
    struct mps_error err;
    char *orig = util_read_file(MPISPOOL_TEST_DATA "/status/pc12-4711.json",
                                1 << 20, &len, &err);
    assert_non_null(orig);
    json_error_t jerr;
    json_t *st = json_loads(orig, 0, &jerr);
    assert_non_null(st);
    struct statusfile sf;
    assert_int_equal(statusfile_decode(st, &sf), 0);
    assert_int_equal(sf.nranks, 2);
    assert_int_equal(sf.njobs, 3);
    char *text = statusfile_text(&sf);
    assert_string_equal(text, orig);
    free(text);
    statusfile_free(&sf);
    json_decref(st);
    free(orig);
}

/* The loader: *.json but dot files, sorted, what is not a JSON object
 * left out. */
static void test_load_choice(void **state)
{
    (void)state;
    empty_status_dir();
    put_file("b-2.json", "{\"coordinator\": \"b-2\"}");
    put_file("a-1.json", "{\"coordinator\": \"a-1\"}");
    put_file(".c-3.json", "{\"coordinator\": \"c-3\"}");
    put_file("d-4.json.tmp.99", "{\"coordinator\": \"d-4\"}");
    put_file("e-5.json", "{\"coordinator\": ");
    put_file("f-6.json", "[1, 2]");
    json_t *all = statusfile_load_all(sp);
    assert_non_null(all);
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(all, 0), SF_COORDINATOR)),
                        "a-1");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(all, 1), SF_COORDINATOR)),
                        "b-2");
    json_decref(all);
    empty_status_dir();
    all = statusfile_load_all(sp);
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
}

static void test_names_stale(void **state)
{
    (void)state;
    char *path = statusfile_path(sp, "pc12-4711");
    char *want = NULL;
    assert_true(asprintf(&want, "%s/status/pc12-4711.json", spool_dir) >= 0);
    assert_string_equal(path, want);
    free(want);
    free(path);
    assert_false(statusfile_stale("running", 10));
    assert_true(statusfile_stale("running", 10.5));
    assert_true(statusfile_stale("stopping", 3600));
    assert_false(statusfile_stale("stopped", 3600));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_load),
        cmocka_unit_test(test_no_idle_policy),
        cmocka_unit_test(test_same_bytes),
        cmocka_unit_test(test_load_choice),
        cmocka_unit_test(test_names_stale),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
