/* SPDX-License-Identifier: MIT */
/* Unit tests of the whole rank 0 (src/rank0/) through the scripted
 * backend (backend_script.c) on a temporary spool: jobs are submitted as
 * `mpispool submit` files them, the ranks say what the test scripts, and
 * the test reads what the coordinator sent, cancelled and shut down, and
 * what it wrote in the spool. No process runs; the loop never sleeps. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#include "backend_script.h"
#include "coordinator.h"
#include "runopts.h"
#include "spool.h"
#include "util.h"

#define GiB (1024ULL * 1024 * 1024)

/* Turns a wait may take before the test gives up (each turn is quick). */
#define MAX_TURNS 2000

/* The fixture of the test running, freed by teardown even when it fails. */
static struct fx *current;

struct fx {
    char dir[64];
    char spool[128];
    struct run_options opt;
    struct rank_env re;
    struct coordinator *co;
    struct backend *b;
    struct spool *sp; /* the test's own handle, as the CLI's */
    bool over;        /* coordinator_turn returned false */
    bool started;     /* the coordinator took over the backend */
};

/* A coordinator for nranks ranks on the scripted backend, not started. */
static void fx_coordinator(struct fx *f, int nranks)
{
    struct mps_error err;
    f->co = coordinator_create(&f->opt, &f->re, nranks, &err);
    assert_non_null(f->co);
    f->b = backend_script_create(coordinator_loop(f->co), nranks,
                                 coordinator_on_message, f->co);
    assert_non_null(f->b);
    f->over = f->started = false;
}

/* A spool in a fresh temporary directory, a coordinator for nranks ranks
 * on the scripted backend, not started. */
static struct fx *fx_new(int nranks, bool until_empty)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_coordinator.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
    struct mps_error err;
    assert_int_equal(spool_init(f->spool, &err), 0);
    f->sp = spool_open(f->spool, &err);
    assert_non_null(f->sp);
    f->opt = (struct run_options){.spool = f->spool,
                                  .until_empty = until_empty,
                                  .rescan_s = 1,
                                  .workdir = f->dir,
                                  .kill_grace_s = 5,
                                  .max_output = GiB};
    f->re = (struct rank_env){.rank = 0,
                              .size = nranks + 1,
                              .slots = 1,
                              .mem_total = 8 * GiB,
                              .bell_listen = -1,
                              .bell = -1};
    snprintf(f->re.host, sizeof f->re.host, "testhost");
    current = f;
    fx_coordinator(f, nranks);
    return f;
}

/* The coordinator dies (a crash) and a new one for nranks ranks starts
 * on the spool. A crash leaves its journal unlocked, its jobs in cur/ and
 * their output as they are; tearing it down here leaves the same but for
 * the journal, which it removes: the journal is read first and put back
 * under another coordinator's name (the new one, in this process, would
 * take the dead one's name for its own). */
static void fx_crash_restart(struct fx *f, int nranks)
{
    char path[400], *text = NULL;
    snprintf(path, sizeof path, "%s/journal", f->spool);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cat '%s'/*.log", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0)
        fwrite(buf, 1, got, mem);
    fclose(mem);
    assert_int_equal(pclose(p), 0);
    assert_true(len > 0);
    coordinator_destroy(f->co);
    f->co = NULL;
    snprintf(path, sizeof path, "%s/journal/deadhost-1.log", f->spool);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    assert_int_equal(fwrite(text, 1, len, out), len);
    assert_int_equal(fclose(out), 0);
    free(text);
    fx_coordinator(f, nranks);
}

static void fx_start(struct fx *f)
{
    struct mps_error err;
    f->started = true;
    assert_int_equal(coordinator_start(f->co, f->b, &err), 0);
}

static void fx_free(struct fx *f)
{
    if (!f)
        return;
    current = NULL;
    if (f->co) {
        coordinator_finish(f->co);
        coordinator_destroy(f->co);
    }
    if (!f->started && f->b)
        f->b->ops->destroy(f->b);
    spool_close(f->sp);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

/* Mint a job id as mpispool submit does. */
static void new_id(struct fx *f, char id[64])
{
    struct mps_error err;
    assert_int_equal(spool_new_jobid(f->sp, id, 64, &err), 0);
}

/* File job text under id into new/, as mpispool submit does. */
static void submit_as(struct fx *f, const char *id, const char *text)
{
    struct mps_error err;
    assert_int_equal(spool_submit(f->sp, id, text, strlen(text),
                                  spool_private_mode(f->sp), &err),
                     0);
}

static void submit(struct fx *f, const char *text, char id[64])
{
    new_id(f, id);
    submit_as(f, id, text);
}

static void turn(struct fx *f)
{
    if (!f->over && !coordinator_turn(f->co))
        f->over = true;
}

static void turns(struct fx *f, int n)
{
    while (n-- > 0)
        turn(f);
}

/* Turn until there were n sends (fails after MAX_TURNS). */
static void turn_until_sends(struct fx *f, int n)
{
    for (int i = 0; i < MAX_TURNS; i++) {
        if (backend_script_count(f->b, SCRIPT_SEND) >= n)
            return;
        turn(f);
    }
    fail_msg("expected %d sends, saw %d", n,
             backend_script_count(f->b, SCRIPT_SEND));
}

/* Turn until job id's file is in dir (fails after MAX_TURNS). */
static void turn_until_in(struct fx *f, const char *id, enum spool_dir dir)
{
    for (int i = 0; i < MAX_TURNS; i++) {
        if (spool_locate(f->sp, id) == (int)dir)
            return;
        turn(f);
    }
    fail_msg("job %s is in %d, not %d", id, spool_locate(f->sp, id), (int)dir);
}

/* Both ranks say HELLO: slots each, 8 GiB, no GPU. */
static void hello_all(struct fx *f, int nranks, unsigned slots)
{
    for (int r = 0; r < nranks; r++)
        backend_script_hello(f->b, r, slots, 8 * GiB, 0, "testhost");
}

/* The JSON file out/ID/NAME. */
static json_t *out_json(struct fx *f, const char *id, const char *name)
{
    char path[400];
    snprintf(path, sizeof path, "%s/out/%s/%s", f->spool, id, name);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        fail_msg("%s: %s", path, jerr.text);
    return j;
}

/* Every line of out/ID/records.jsonl, as an array. */
static json_t *out_records(struct fx *f, const char *id)
{
    char path[400];
    snprintf(path, sizeof path, "%s/out/%s/records.jsonl", f->spool, id);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    json_t *all = json_array();
    char line[8192];
    while (fgets(line, sizeof line, fp)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        json_array_append_new(all, j);
    }
    fclose(fp);
    return all;
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_string_value(v);
}

static double mono_s(void)
{
    return (double)util_mono_us() / 1e6;
}

/* A job of three tasks on two ranks of one slot: the first two go out
 * at once, one to each rank; the third when a slot frees; every result
 * makes a record; the job ends in done/. */
static void test_three_tasks_two_ranks(void **state)
{
    (void)state;
    struct fx *f = fx_new(2, false);
    char id[64];
    submit(f, "{\"tasks\": [\"echo 0\", \"echo 1\", \"echo 2\"]}", id);
    fx_start(f);
    hello_all(f, 2, 1);
    turn_until_sends(f, 2);
    turns(f, 5);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 2);
    const struct script_call *s0 = backend_script_find_send(f->b, id, 0, 1);
    const struct script_call *s1 = backend_script_find_send(f->b, id, 1, 1);
    assert_non_null(s0);
    assert_non_null(s1);
    assert_int_not_equal(s0->r, s1->r);
    assert_int_equal(s0->cpus, 1);
    assert_string_equal(s0->argv0, "echo 0");
    assert_string_equal(s1->argv0, "echo 1");
    int r0 = s0->r;
    uint64_t d0 = s0->dispatch, d1 = s1->dispatch;

    backend_script_output(f->b, r0, d0, 1, "zero\n");
    backend_script_result(f->b, r0, d0, 0, 0, NULL, false);
    turn_until_sends(f, 3);
    const struct script_call *s2 = backend_script_find_send(f->b, id, 2, 1);
    assert_non_null(s2);
    assert_int_equal(s2->r, r0); /* the slot that freed */
    uint64_t d2 = s2->dispatch;
    int r1 = 1 - r0;
    backend_script_result(f->b, r1, d1, 0, 0, NULL, false);
    backend_script_result(f->b, r0, d2, 3, 0, NULL, false);
    turn_until_in(f, id, SPOOL_FAILED); /* task 2 exited 3, no retries */

    for (int t = 0; t < 3; t++) {
        char name[32];
        snprintf(name, sizeof name, "%d.json", t);
        json_t *rec = out_json(f, id, name);
        assert_string_equal(jstr(rec, "job"), id);
        assert_int_equal(jint(rec, "task"), t);
        assert_int_equal(jint(rec, "attempt"), 1);
        assert_string_equal(jstr(rec, "host"), "testhost");
        assert_int_equal(jint(rec, "rank"), (t == 1 ? r1 : r0) + 1);
        assert_int_equal(jint(rec, "exit_code"), t == 2 ? 3 : 0);
        json_decref(rec);
    }
    char path[400];
    snprintf(path, sizeof path, "%s/out/%s/0.out", f->spool, id);
    char buf[32] = "";
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    assert_string_equal(buf, "zero\n");
    json_t *report = out_json(f, id, "report.json");
    assert_string_equal(jstr(report, "state"), "failed");
    json_t *counts = json_object_get(report, "counts");
    assert_int_equal(jint(counts, "succeeded"), 2);
    assert_int_equal(jint(counts, "failed"), 1);
    json_decref(report);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 3);
}

/* All succeed: done/. */
static void test_job_done(void **state)
{
    (void)state;
    struct fx *f = fx_new(2, false);
    char id[64];
    submit(f, "{\"tasks\": [\"true\", \"true\", \"true\"]}", id);
    fx_start(f);
    hello_all(f, 2, 1);
    for (int n = 1; n <= 3; n++) {
        turn_until_sends(f, n == 1 ? 2 : n);
        const struct script_call *s =
            backend_script_find_send(f->b, id, n - 1, 1);
        assert_non_null(s);
        backend_script_result(f->b, s->r, s->dispatch, 0, 0, NULL, false);
    }
    turn_until_in(f, id, SPOOL_DONE);
    json_t *report = out_json(f, id, "report.json");
    assert_string_equal(jstr(report, "state"), "done");
    assert_int_equal(jint(json_object_get(report, "counts"), "succeeded"), 3);
    json_decref(report);
}

/* Turn until attempt `attempt` of task 0 is sent; the seconds it took
 * from since. */
static double wait_attempt(struct fx *f, const char *id, unsigned attempt,
                           double since)
{
    for (int i = 0; i < 100000; i++) {
        if (backend_script_find_send(f->b, id, 0, attempt))
            return mono_s() - since;
        turn(f);
        if (mono_s() - since > 5)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("attempt %u never sent", attempt);
    return 0;
}

/* A failed task with retries runs again only after its backoff, doubled
 * for the next attempt: attempt 2 after retry_backoff, attempt 3 after
 * twice that. */
static void test_retry_after_backoff(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, false);
    char id[64];
    submit(f, "{\"shell\": \"false\", \"retries\": 2, \"retry_backoff\": 0.2}",
           id);
    fx_start(f);
    hello_all(f, 1, 1);
    turn_until_sends(f, 1);
    const struct script_call *s = backend_script_find_send(f->b, id, 0, 1);
    assert_non_null(s);
    double t0 = mono_s();
    backend_script_result(f->b, 0, s->dispatch, 1, 0, NULL, false);
    double waited = wait_attempt(f, id, 2, t0);
    assert_true(waited >= 0.2);
    assert_true(waited < 0.4 + 1); /* not a full doubling more, give or take */

    s = backend_script_find_send(f->b, id, 0, 2);
    assert_int_equal(s->r, 0);
    t0 = mono_s();
    backend_script_result(f->b, 0, s->dispatch, 1, 0, NULL, false);
    waited = wait_attempt(f, id, 3, t0);
    assert_true(waited >= 0.4); /* doubled */

    s = backend_script_find_send(f->b, id, 0, 3);
    backend_script_result(f->b, 0, s->dispatch, 0, 0, NULL, false);
    turn_until_in(f, id, SPOOL_DONE);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 3);
    json_t *recs = out_records(f, id);
    assert_int_equal(json_array_size(recs), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *rec = json_array_get(recs, i);
        assert_int_equal(jint(rec, "attempt"), (json_int_t)i + 1);
        assert_int_equal(jint(rec, "exit_code"), i < 2 ? 1 : 0);
    }
    json_decref(recs);
    json_t *rec = out_json(f, id, "0.json");
    assert_int_equal(jint(rec, "attempt"), 3);
    json_decref(rec);
}

/* Drop a cancel request in cancel/ as mpispool cancel does (a dot name,
 * then renamed): the tasks, or the whole job when none. */
static void request_cancel(struct fx *f, const char *id, const char *tasks)
{
    char name[128], tmpname[140];
    snprintf(name, sizeof name, "%s+%d-%lld", id, (int)getpid(),
             (long long)util_now_us());
    snprintf(tmpname, sizeof tmpname, ".%s.tmp", name);
    char *tmp = spool_file(f->sp, SPOOL_CANCEL, tmpname);
    char *dst = spool_file(f->sp, SPOOL_CANCEL, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(util_write_all(fd, tasks, strlen(tasks)), 0);
    close(fd);
    assert_int_equal(rename(tmp, dst), 0);
    free(tmp);
    free(dst);
}

/* mpispool cancel ID 0 2 while task 0 runs on the one slot: the running
 * one gets a backend cancel (grace at most 0.5 s), the queued one is
 * never sent, task 1 still runs, and the job ends cancelled (failed/). */
static void test_cancel_queued_and_running(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, false);
    char id[64];
    submit(f, "{\"tasks\": [\"sleep 9\", \"true\", \"true\"]}", id);
    fx_start(f);
    hello_all(f, 1, 1);
    turn_until_sends(f, 1);
    const struct script_call *s0 = backend_script_find_send(f->b, id, 0, 1);
    assert_non_null(s0);
    uint64_t d0 = s0->dispatch;
    request_cancel(f, id, "0\n2\n");
    for (int i = 0;
         i < MAX_TURNS && backend_script_count(f->b, SCRIPT_CANCEL) == 0; i++)
        turn(f);
    assert_int_equal(backend_script_count(f->b, SCRIPT_CANCEL), 1);
    const struct script_call *c =
        backend_script_call(f->b, backend_script_ncalls(f->b) - 1);
    assert_int_equal(c->type, SCRIPT_CANCEL);
    assert_int_equal(c->r, 0);
    assert_int_equal(c->dispatch, d0);
    assert_true(c->grace > 0 && c->grace <= 0.5);
    /* the rank ends it: SIGTERM */
    backend_script_result(f->b, 0, d0, -1, 15, NULL, false);
    turn_until_sends(f, 2);
    const struct script_call *s1 = backend_script_find_send(f->b, id, 1, 1);
    assert_non_null(s1);
    backend_script_result(f->b, 0, s1->dispatch, 0, 0, NULL, false);
    turn_until_in(f, id, SPOOL_FAILED);
    turns(f, 5);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 2);
    assert_null(backend_script_find_send(f->b, id, 2, 1));
    assert_int_equal(backend_script_count(f->b, SCRIPT_CANCEL), 1);

    json_t *rec = out_json(f, id, "0.json");
    assert_true(json_is_true(json_object_get(rec, "cancelled")));
    assert_string_equal(jstr(rec, "error"), "cancelled by mpispool cancel");
    json_decref(rec);
    json_t *report = out_json(f, id, "report.json");
    assert_string_equal(jstr(report, "state"), "cancelled");
    json_t *counts = json_object_get(report, "counts");
    assert_int_equal(jint(counts, "succeeded"), 1);
    assert_int_equal(jint(counts, "cancelled"), 2);
    json_decref(report);
}

/* A rank says BYE while its attempt is out: the attempt ends interrupted
 * ("was lost"), without counting against retries, and runs again at once
 * on the other rank as attempt 2; the lost rank gets nothing more. */
static void test_rank_lost(void **state)
{
    (void)state;
    struct fx *f = fx_new(2, false);
    char id[64];
    submit(f, "{\"tasks\": [\"work 0\", \"work 1\"]}", id);
    fx_start(f);
    hello_all(f, 2, 1);
    turn_until_sends(f, 2);
    const struct script_call *s0 = backend_script_find_send(f->b, id, 0, 1);
    assert_non_null(s0);
    int lost = s0->r, other = 1 - lost;
    uint64_t d1 = backend_script_find_send(f->b, id, 1, 1)->dispatch;
    backend_script_bye(f->b, lost);
    turns(f, 10);
    /* no free slot yet: task 1 holds the other rank */
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 2);
    const struct script_call *again;
    backend_script_result(f->b, other, d1, 0, 0, NULL, false);
    turn_until_sends(f, 3);
    again = backend_script_find_send(f->b, id, 0, 2);
    assert_non_null(again);
    assert_int_equal(again->r, other);
    assert_string_equal(again->argv0, "work 0");
    backend_script_result(f->b, other, again->dispatch, 0, 0, NULL, false);
    turn_until_in(f, id, SPOOL_DONE);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 3);

    json_t *recs = out_records(f, id);
    json_t *first = NULL;
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec)
    {
        if (jint(rec, "task") == 0 && jint(rec, "attempt") == 1)
            first = rec;
    }
    assert_non_null(first);
    assert_true(json_is_true(json_object_get(first, "interrupted")));
    assert_non_null(strstr(jstr(first, "error"), "was lost"));
    assert_int_equal(jint(first, "rank"), lost + 1);
    json_decref(recs);
    json_t *last = out_json(f, id, "0.json");
    assert_int_equal(jint(last, "attempt"), 2);
    assert_int_equal(jint(last, "rank"), other + 1);
    json_decref(last);
    json_t *report = out_json(f, id, "report.json");
    assert_string_equal(jstr(report, "state"), "done");
    json_decref(report);
}

/* "retries" counts failures, not interruptions: with "retries": 1, an
 * attempt lost with its rank and then a failed one still leave the task
 * its one retry (attempt 3), after the first backoff (not a doubled one). */
static void test_lost_attempt_keeps_retries(void **state)
{
    (void)state;
    struct fx *f = fx_new(2, false);
    char id[64];
    submit(f,
           "{\"tasks\": [\"work 0\"], \"retries\": 1, "
           "\"retry_backoff\": 0.5}",
           id);
    fx_start(f);
    hello_all(f, 2, 1);
    turn_until_sends(f, 1);
    const struct script_call *s1 = backend_script_find_send(f->b, id, 0, 1);
    assert_non_null(s1);
    int lost = s1->r, other = 1 - lost;
    backend_script_bye(f->b, lost);
    turn_until_sends(f, 2);
    const struct script_call *s2 = backend_script_find_send(f->b, id, 0, 2);
    assert_non_null(s2);
    assert_int_equal(s2->r, other);
    double t0 = mono_s();
    backend_script_result(f->b, other, s2->dispatch, 1, 0, NULL, false);
    double waited = wait_attempt(f, id, 3, t0);
    const struct script_call *s3 = backend_script_find_send(f->b, id, 0, 3);
    assert_non_null(s3);
    assert_true(waited >= 0.5);
    assert_true(waited < 0.95); /* the first backoff, not twice it */
    backend_script_result(f->b, other, s3->dispatch, 0, 0, NULL, false);
    turn_until_in(f, id, SPOOL_DONE);
    json_t *report = out_json(f, id, "report.json");
    assert_string_equal(jstr(report, "state"), "done");
    json_decref(report);
}

/* After a crash the next coordinator still counts failures, not
 * attempts: with "retries": 1, attempt 1 lost with its rank and attempt 2
 * failed leave the task its retry; the coordinator dies before it runs,
 * and the one that adopts the job runs attempt 3 (it used to take attempt
 * 2's failure for the last allowed one and fail the job). */
static void test_adopted_keeps_retries(void **state)
{
    (void)state;
    struct fx *f = fx_new(2, false);
    char id[64];
    submit(f,
           "{\"tasks\": [\"work 0\"], \"retries\": 1, "
           "\"retry_backoff\": 600}",
           id);
    fx_start(f);
    hello_all(f, 2, 1);
    turn_until_sends(f, 1);
    const struct script_call *s1 = backend_script_find_send(f->b, id, 0, 1);
    assert_non_null(s1);
    int lost = s1->r, other = 1 - lost;
    backend_script_bye(f->b, lost);
    turn_until_sends(f, 2);
    const struct script_call *s2 = backend_script_find_send(f->b, id, 0, 2);
    assert_non_null(s2);
    backend_script_result(f->b, other, s2->dispatch, 1, 0, NULL, false);
    turns(f, 10); /* attempt 2's end journaled; attempt 3 waits 600 s */
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 2);

    fx_crash_restart(f, 1);
    fx_start(f);
    hello_all(f, 1, 1);
    turn_until_sends(f, 1);
    const struct script_call *s3 = backend_script_find_send(f->b, id, 0, 3);
    assert_non_null(s3);
    backend_script_result(f->b, 0, s3->dispatch, 0, 0, NULL, false);
    turn_until_in(f, id, SPOOL_DONE);
    json_t *report = out_json(f, id, "report.json");
    assert_string_equal(jstr(report, "state"), "done");
    json_decref(report);
}

/* Job A after B and B after A: the job claimed first (A, the lower id)
 * closes the cycle and is rejected, the reason naming it; B then waits on
 * a rejected job and fails. Nothing is sent. */
static void test_dependency_cycle(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, false);
    char a[64], b[64], text[256];
    new_id(f, a);
    new_id(f, b);
    snprintf(text, sizeof text, "{\"shell\": \"true\", \"after\": [\"%s\"]}",
             b);
    submit_as(f, a, text);
    snprintf(text, sizeof text, "{\"shell\": \"true\", \"after\": [\"%s\"]}",
             a);
    submit_as(f, b, text);
    fx_start(f);
    hello_all(f, 1, 1);
    turn_until_in(f, a, SPOOL_REJECTED);
    turn_until_in(f, b, SPOOL_FAILED);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 0);

    char path[400], line[512] = "", want[300];
    snprintf(path, sizeof path, "%s/rejected/%s.error", f->spool, a);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    fclose(fp);
    snprintf(want, sizeof want, "dependency cycle: %s -> %s -> %s", a, b, a);
    assert_non_null(strstr(line, want));
    json_t *report = out_json(f, b, "report.json");
    assert_string_equal(jstr(report, "state"), "failed");
    snprintf(want, sizeof want, "dependency %s was rejected", a);
    assert_string_equal(jstr(report, "reason"), want);
    json_decref(report);
}

/* --until-empty: once every job ended and nothing is out, the backend is
 * told to shut down, once; every rank says BYE and the run is over. */
static void test_until_empty_shutdown(void **state)
{
    (void)state;
    struct fx *f = fx_new(2, true);
    char id[64];
    submit(f, "{\"tasks\": [\"true\", \"true\"]}", id);
    fx_start(f);
    hello_all(f, 2, 1);
    turn_until_sends(f, 2);
    turns(f, 5);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SHUTDOWN), 0);
    for (int t = 0; t < 2; t++) {
        const struct script_call *s = backend_script_find_send(f->b, id, t, 1);
        backend_script_result(f->b, s->r, s->dispatch, 0, 0, NULL, false);
        turns(f, 3);
        if (t == 0)
            assert_int_equal(backend_script_count(f->b, SCRIPT_SHUTDOWN), 0);
    }
    for (int i = 0; i < MAX_TURNS && !f->over; i++)
        turn(f);
    assert_true(f->over);
    assert_int_equal(spool_locate(f->sp, id), SPOOL_DONE);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SHUTDOWN), 1);
    const struct script_call *c =
        backend_script_call(f->b, backend_script_ncalls(f->b) - 1);
    assert_int_equal(c->type, SCRIPT_SHUTDOWN);
    assert_int_equal(backend_script_count(f->b, SCRIPT_STOP), 0);
}

/* Through the real dispatch: a job of 2-cpu tasks claimed after a job of
 * 1-cpu tasks, on one rank of 2 slots. Its turn comes after one narrow
 * task; it does not fit, so nothing else starts (the free slot is kept
 * for it, though narrow tasks wait) until the narrow one ends; then it
 * runs, and the narrow job goes on after it. */
static void test_wide_not_starved(void **state)
{
    (void)state;
    struct fx *f = fx_new(1, false);
    char narrow[64], wide[64];
    submit(f,
           "{\"tasks\": [\"n\", \"n\", \"n\", \"n\", \"n\", \"n\", \"n\", "
           "\"n\"]}",
           narrow);
    submit(f, "{\"shell\": \"w\", \"cpus\": 2}", wide);
    fx_start(f);
    hello_all(f, 1, 2);
    turn_until_sends(f, 1);
    turns(f, 10);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 1);
    const struct script_call *s = backend_script_find_send(f->b, narrow, 0, 1);
    assert_non_null(s);
    backend_script_result(f->b, 0, s->dispatch, 0, 0, NULL, false);
    turn_until_sends(f, 2);
    turns(f, 5);
    assert_int_equal(backend_script_count(f->b, SCRIPT_SEND), 2);
    s = backend_script_call(f->b, backend_script_ncalls(f->b) - 1);
    assert_int_equal(s->type, SCRIPT_SEND);
    assert_string_equal(s->job, wide);
    assert_int_equal(s->cpus, 2);
    backend_script_result(f->b, 0, s->dispatch, 0, 0, NULL, false);
    turn_until_sends(f, 4);
    assert_non_null(backend_script_find_send(f->b, narrow, 1, 1));
    assert_non_null(backend_script_find_send(f->b, narrow, 2, 1));
}

static int teardown(void **state)
{
    (void)state;
    fx_free(current);
    return 0;
}

#define T(name) cmocka_unit_test_teardown(name, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_three_tasks_two_ranks),
        T(test_job_done),
        T(test_retry_after_backoff),
        T(test_cancel_queued_and_running),
        T(test_rank_lost),
        T(test_lost_attempt_keeps_retries),
        T(test_adopted_keeps_retries),
        T(test_dependency_cycle),
        T(test_until_empty_shutdown),
        T(test_wide_not_starved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
