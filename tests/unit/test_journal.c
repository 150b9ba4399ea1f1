/* SPDX-License-Identifier: MIT */
/* Unit tests of the journal's line format and batched syncs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"
#include "util.h"

static void test_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/mpispool-journal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct mps_error err;
    struct journal *jr = journal_open(path, &err);
    assert_non_null(jr);
    assert_int_equal(journal_start(jr, "j1", 0, 1, 2), 0);
    assert_int_equal(journal_end(jr, "j1", 0, 1, 1, 0), 0);
    assert_int_equal(journal_start(jr, "j1", 1, 1, 3), 0);
    assert_int_equal(journal_end(jr, "j1", 1, 1, 0, 1), 0);
    assert_int_equal(journal_job(jr, "j1", "failed"), 0);
    assert_int_equal(journal_sync(jr, &err), 0);
    assert_int_equal(journal_sync(jr, &err), 0); /* nothing new: no-op */
    journal_close(jr, false);
    /* Appends survive a reopen. */
    jr = journal_open(path, &err);
    assert_int_equal(journal_start(jr, "j2", 5, 2, 1), 0);
    journal_close(jr, false);

    FILE *f = fopen(path, "r");
    char line[256];
    const char *prefix[] = {"S j1 0 1 2 ", "E j1 0 1 1 ",  "S j1 1 1 3 ",
                            "E j1 1 1 0 ", "J j1 failed ", "S j2 5 2 1 "};
    /* After an E line's time: the task's failed attempts so far. */
    const char *failures[] = {NULL, " 0\n", NULL, " 1\n", NULL, NULL};
    for (int i = 0; i < 6; i++) {
        assert_non_null(fgets(line, sizeof line, f));
        assert_int_equal(strncmp(line, prefix[i], strlen(prefix[i])), 0);
        /* A time stamp in microseconds follows (and ends all but E). */
        char *end;
        long long t = strtoll(line + strlen(prefix[i]), &end, 10);
        assert_true(t > 1700000000LL * 1000000);
        assert_string_equal(end, failures[i] ? failures[i] : "\n");
    }
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    unlink(path);
    assert_null(journal_open("/nonexistent/dir/j.log", &err));
}

/* A new journal is never seen in the directory without its lock: another
 * coordinator starting at the same moment would take it for a dead one's,
 * adopt it and unlink it, and the live one would go on journaling to a
 * file nobody can find (a CI run lost coordinator A's journal this way).
 * One process creates and removes the journal again and again; another
 * tries to take it over the whole time and must never succeed. */
static void test_open_is_locked_at_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/mpispool-journal-race-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[96];
    snprintf(path, sizeof path, "%s/host-1.log", dir);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(pipefd[0]);
        struct mps_error err;
        for (int i = 0; i < 20000; i++) {
            struct journal *jr = journal_open(path, &err);
            if (jr)
                journal_close(jr, true);
        }
        _exit(0);
    }
    close(pipefd[1]);
    int stolen = 0, tries = 0;
    for (;;) {
        bool alive;
        struct mps_error err;
        int fd = journal_take_over(path, &alive, &err);
        if (fd >= 0) {
            stolen++;
            unlink(path); /* what recovery does with a dead journal */
            close(fd);
        }
        tries++;
        int status;
        if (waitpid(child, &status, WNOHANG) == child)
            break;
    }
    close(pipefd[0]);
    unlink(path);
    rmdir(dir);
    print_message("%d take-over attempts, %d succeeded\n", tries, stolen);
    assert_int_equal(stolen, 0);
}

static char *temp_path(void)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/mpispool-journal-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return path;
}

/* What the next coordinator learns from a dead one's journal: open claims,
 * each task's latest attempt and how it ended, cancelled and ended jobs. */
static void test_replay(void **state)
{
    (void)state;
    char *path = temp_path();
    struct mps_error err;
    struct journal *jr = journal_open(path, &err);
    assert_non_null(jr);
    journal_claim(jr, "a");
    journal_start(jr, "a", 0, 1, 1);
    journal_start(jr, "a", 1, 1, 2);
    journal_end(jr, "a", 0, 1, JOURNAL_OK, 0);
    journal_end(jr, "a", 1, 1, JOURNAL_FAILED, 1);
    journal_start(jr, "a", 1, 2, 2); /* a retry, running at the crash */
    journal_start(jr, "a", 2, 1, 1);
    journal_end(jr, "a", 2, 1, JOURNAL_INTERRUPTED, 0);
    journal_claim(jr, "b");
    journal_release(jr, "b"); /* given back to new/ */
    journal_claim(jr, "c");
    journal_job(jr, "c", "done");
    journal_claim(jr, "d");
    journal_cancel(jr, "d");
    journal_close(jr, false);
    /* A torn last line (the crash came mid-write, its time cut short) is
     * ignored, although what it holds would parse. */
    FILE *f = fopen(path, "a");
    fputs("E a 1 2 1 17", f);
    fclose(f);

    struct replay rp = {0};
    assert_int_equal(journal_replay(&rp, -1, path, &err), 0);
    journal_replay_finish(&rp);
    assert_int_equal(rp.njobs, 4);
    struct replay_job *a = journal_replay_find(&rp, "a");
    assert_non_null(a);
    assert_true(a->claimed);
    assert_int_equal(a->ntasks, 3);
    assert_int_equal(a->tasks[0].task, 0);
    assert_int_equal(a->tasks[0].state, JOURNAL_OK);
    assert_int_equal(a->tasks[1].task, 1);
    assert_int_equal(a->tasks[1].attempt, 2);
    assert_int_equal(a->tasks[1].state, JOURNAL_RUNNING);
    assert_int_equal(a->tasks[2].state, JOURNAL_INTERRUPTED);
    assert_false(journal_replay_find(&rp, "b")->claimed);
    assert_string_equal(journal_replay_find(&rp, "c")->ended, "done");
    assert_false(journal_replay_find(&rp, "c")->claimed);
    assert_true(journal_replay_find(&rp, "d")->cancelled);
    assert_null(journal_replay_find(&rp, "zz"));
    journal_replay_free(&rp);
    unlink(path);
}

/* fail_fast: the first F line names the task that stopped the job; ends
 * of attempts it stopped replay as JOURNAL_STOPPED; an end state the
 * journal does not know is skipped. */
static void test_replay_fail_fast(void **state)
{
    (void)state;
    char *path = temp_path();
    struct mps_error err;
    struct journal *jr = journal_open(path, &err);
    assert_non_null(jr);
    journal_claim(jr, "ff");
    journal_start(jr, "ff", 0, 1, 1);
    journal_start(jr, "ff", 1, 1, 2);
    journal_start(jr, "ff", 2, 1, 2);
    journal_end(jr, "ff", 2, 1, JOURNAL_FAILED, 1);
    journal_fail_fast(jr, "ff", 2);
    journal_end(jr, "ff", 1, 1, JOURNAL_STOPPED, 0);
    journal_fail_fast(jr, "ff", 0); /* a later one does not name it */
    journal_claim(jr, "plain");
    journal_close(jr, false);
    FILE *f = fopen(path, "a");
    fputs("E ff 0 1 9 1700000000000000\n", f); /* no such state */
    fputs("E ff 0 1 4 1700000000000000\n", f); /* RUNNING is no end */
    fclose(f);

    struct replay rp = {0};
    assert_int_equal(journal_replay(&rp, -1, path, &err), 0);
    journal_replay_finish(&rp);
    struct replay_job *ff = journal_replay_find(&rp, "ff");
    assert_non_null(ff);
    assert_true(ff->fail_fast);
    assert_int_equal(ff->fail_fast_task, 2);
    assert_int_equal(ff->ntasks, 3);
    assert_int_equal(ff->tasks[0].state, JOURNAL_RUNNING);
    assert_int_equal(ff->tasks[1].state, JOURNAL_STOPPED);
    assert_int_equal(ff->tasks[2].state, JOURNAL_FAILED);
    assert_false(journal_replay_find(&rp, "plain")->fail_fast);
    journal_replay_free(&rp);
    unlink(path);
}

/* A task's failed attempts, which "retries" counts: the most its E lines
 * give (an interrupted attempt adds none), carried to a later start still
 * running at the crash; a task with no such count (lines of an older
 * mpispool) counts each attempt before its latest as failed. */
static void test_replay_failures(void **state)
{
    (void)state;
    char *path = temp_path();
    struct mps_error err;
    struct journal *jr = journal_open(path, &err);
    assert_non_null(jr);
    journal_claim(jr, "r");
    journal_start(jr, "r", 0, 1, 1);
    journal_end(jr, "r", 0, 1, JOURNAL_INTERRUPTED, 0);
    journal_start(jr, "r", 0, 2, 1);
    journal_end(jr, "r", 0, 2, JOURNAL_FAILED, 1);
    journal_start(jr, "r", 1, 1, 1);
    journal_end(jr, "r", 1, 1, JOURNAL_FAILED, 1);
    journal_start(jr, "r", 1, 2, 1); /* running at the crash */
    journal_start(jr, "r", 2, 1, 1);
    journal_end(jr, "r", 2, 1, JOURNAL_INTERRUPTED, 0);
    journal_start(jr, "r", 2, 2, 2);
    journal_end(jr, "r", 2, 2, JOURNAL_INTERRUPTED, 0);
    journal_start(jr, "r", 2, 3, 1); /* running at the crash */
    journal_close(jr, false);
    FILE *f = fopen(path, "a");
    fputs("E old 0 3 0 1700000000000000\n", f);
    fputs("S old 1 2 1 1700000000000000\n", f);
    fputs("E old 2 2 2 1700000000000000\n", f);
    fclose(f);

    struct replay rp = {0};
    assert_int_equal(journal_replay(&rp, -1, path, &err), 0);
    journal_replay_finish(&rp);
    struct replay_job *r = journal_replay_find(&rp, "r");
    assert_non_null(r);
    assert_int_equal(r->ntasks, 3);
    assert_int_equal(r->tasks[0].attempt, 2);
    assert_int_equal(r->tasks[0].state, JOURNAL_FAILED);
    assert_int_equal(r->tasks[0].failures, 1);
    assert_int_equal(r->tasks[1].attempt, 2);
    assert_int_equal(r->tasks[1].state, JOURNAL_RUNNING);
    assert_int_equal(r->tasks[1].failures, 1);
    assert_int_equal(r->tasks[2].attempt, 3);
    assert_int_equal(r->tasks[2].state, JOURNAL_RUNNING);
    assert_int_equal(r->tasks[2].failures, 0);
    struct replay_job *old = journal_replay_find(&rp, "old");
    assert_non_null(old);
    assert_int_equal(old->ntasks, 3);
    assert_int_equal(old->tasks[0].failures, 3);
    assert_int_equal(old->tasks[1].failures, 1);
    assert_int_equal(old->tasks[2].failures, 1);
    journal_replay_free(&rp);
    unlink(path);
}

/* Many jobs: the index finds every one. */
static void test_replay_many_jobs(void **state)
{
    (void)state;
    char *path = temp_path();
    struct mps_error err;
    struct journal *jr = journal_open(path, &err);
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "job-%d", i);
        journal_claim(jr, id);
        journal_end(jr, id, (uint64_t)i, 1, JOURNAL_OK, 0);
    }
    journal_close(jr, false);
    struct replay rp = {0};
    assert_int_equal(journal_replay(&rp, -1, path, &err), 0);
    journal_replay_finish(&rp);
    assert_int_equal(rp.njobs, 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "job-%d", i);
        struct replay_job *j = journal_replay_find(&rp, id);
        assert_non_null(j);
        assert_int_equal(j->ntasks, 1);
        assert_int_equal(j->tasks[0].task, (uint64_t)i);
    }
    journal_replay_free(&rp);
    unlink(path);
}

/* A live coordinator's journal cannot be taken over; a dead one's can. */
static void test_take_over(void **state)
{
    (void)state;
    char *path = temp_path();
    struct mps_error err;
    struct journal *jr = journal_open(path, &err);
    assert_non_null(jr);
    bool alive;
    assert_int_equal(journal_take_over(path, &alive, &err), -1);
    assert_true(alive);
    /* A second coordinator cannot open it as its own either. */
    assert_null(journal_open(path, &err));
    journal_claim(jr, "x");
    journal_close(jr, false);
    int fd = journal_take_over(path, &alive, &err);
    assert_true(fd >= 0);
    struct replay rp = {0};
    assert_int_equal(journal_replay(&rp, fd, path, &err), 0);
    assert_true(journal_replay_find(&rp, "x")->claimed);
    journal_replay_free(&rp);
    close(fd);
    unlink(path);
    assert_int_equal(journal_take_over(path, &alive, &err), -1);
}

static bool keep_live(void *arg, const char *job)
{
    (void)arg;
    return strcmp(job, "live") == 0;
}

/* Compaction keeps the live jobs' lines, stays locked, and appends go on. */
static void test_compact(void **state)
{
    (void)state;
    char *path = temp_path();
    struct mps_error err;
    struct journal *jr = journal_open(path, &err);
    for (int i = 0; i < 100; i++) {
        journal_claim(jr, "old");
        journal_end(jr, "old", (uint64_t)i, 1, JOURNAL_OK, 0);
        journal_job(jr, "old", "done");
    }
    journal_claim(jr, "live");
    journal_end(jr, "live", 7, 1, JOURNAL_OK, 0);
    uint64_t before = journal_size(jr);
    assert_int_equal(journal_compact(jr, keep_live, NULL, &err), 0);
    assert_true(journal_size(jr) < before / 50);
    journal_end(jr, "live", 8, 1, JOURNAL_FAILED, 1);
    bool alive;
    assert_int_equal(journal_take_over(path, &alive, &err), -1);
    assert_true(alive);
    journal_close(jr, false);

    struct replay rp = {0};
    assert_int_equal(journal_replay(&rp, -1, path, &err), 0);
    journal_replay_finish(&rp);
    assert_int_equal(rp.njobs, 1);
    struct replay_job *j = journal_replay_find(&rp, "live");
    assert_true(j->claimed);
    assert_int_equal(j->ntasks, 2);
    journal_replay_free(&rp);
    /* Closing with remove deletes it. */
    jr = journal_open(path, &err);
    journal_close(jr, true);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_replay_fail_fast),
        cmocka_unit_test(test_replay_failures),
        cmocka_unit_test(test_replay_many_jobs),
        cmocka_unit_test(test_take_over),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_open_is_locked_at_once)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
