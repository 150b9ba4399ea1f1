/* SPDX-License-Identifier: MIT */
/* Unit tests of rank 0's queue policy (src/rank0/queue.c) on in-memory
 * structs, no spool, no backend: turn order by priority and claim order,
 * pick_rank, retries with backoff, claim-ahead (jobs_waiting), and the
 * turn a wide task keeps while it does not fit. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "job.h"
#include "queue.h"
#include "rank0.h"
#include "runopts.h"

#define GiB (1024ULL * 1024 * 1024)

static struct run_options opt; /* end_time 0: nothing is held back */

static struct coordinator *co_new(int nranks)
{
    struct coordinator *co = calloc(1, sizeof *co);
    assert_non_null(co);
    co->opt = &opt;
    co->nranks = nranks;
    co->ranks = calloc((size_t)nranks, sizeof *co->ranks);
    assert_non_null(co->ranks);
    return co;
}

/* Rank r said HELLO with slots, memory and GPUs. */
static void rank_hello(struct coordinator *co, int r, unsigned slots,
                       uint64_t mem, unsigned gpus)
{
    struct rank_slot *rs = &co->ranks[r];
    rs->hello = true;
    rs->rank = r + 1;
    rs->slots = slots;
    rs->mem_total = mem;
    rs->gpus = gpus;
}

/* A claimed job of ntasks tasks (claimed after every other), queued as
 * job_insert queues it. */
static struct job *job_new(struct coordinator *co, const char *id, int priority,
                           uint64_t ntasks, int cpus)
{
    struct job *job = calloc(1, sizeof *job);
    assert_non_null(job);
    job->spec = calloc(1, sizeof *job->spec);
    assert_non_null(job->spec);
    snprintf(job->id, sizeof job->id, "%s", id);
    job->spec->priority = priority;
    job->spec->cpus = cpus;
    job->spec->retry_backoff = 10;
    job->ntasks = ntasks;
    job->seq = ++co->claim_seq;
    job_insert(co, job);
    return job;
}

static void co_free(struct coordinator *co)
{
    for (struct job *job = co->jobs, *next; job; job = next) {
        next = job->next_job;
        for (struct retry *r = job->retries, *rn; r; r = rn) {
            rn = r->next;
            taskcmd_free(&r->cmd);
            free(r);
        }
        free(job->spec);
        free(job);
    }
    free(co->ranks);
    free(co);
}

/* What dispatch() does with the policy, without a backend: while the job
 * whose turn it is fits somewhere, take its next task (a due retry
 * first) onto the rank pick_rank gives; stop when it does not fit. Each
 * job served is appended to order (its id's first letter). Returns how
 * many tasks went out. */
static int serve(struct coordinator *co, int64_t now, char *order, size_t len)
{
    int n = 0;
    struct job *job;
    while ((job = next_turn(co, now))) {
        int r = pick_rank(co, (unsigned)job->spec->cpus, job->spec->memory,
                          (unsigned)job->spec->gpus);
        if (r < 0)
            break;
        if (job->retries && job->retries->not_before <= now) {
            struct retry *rt = job->retries;
            job->retries = rt->next;
            free(rt);
        } else {
            job->next++;
        }
        co->ranks[r].busy += (unsigned)job->spec->cpus;
        job->running++;
        co->last_served = job->seq;
        size_t at = strlen(order);
        if (at + 1 < len) {
            order[at] = job->id[0];
            order[at + 1] = '\0';
        }
        n++;
    }
    return n;
}

/* Jobs of equal priority take turns, one task each, in claim order,
 * wrapping round; a job with nothing left drops out of the round. */
static void test_turns_equal_priority(void **state)
{
    (void)state;
    struct coordinator *co = co_new(1);
    rank_hello(co, 0, 100, 0, 0);
    job_new(co, "A", 0, 3, 1);
    job_new(co, "B", 0, 1, 1);
    job_new(co, "C", 0, 2, 1);
    char order[32] = "";
    assert_int_equal(serve(co, 0, order, sizeof order), 6);
    assert_string_equal(order, "ABCACA");
    co_free(co);
}

/* The round goes on from the job served last, not from the first job:
 * tasks handed out one per turn (one free slot each time) still take
 * turns. */
static void test_turns_resume_after_last_served(void **state)
{
    (void)state;
    struct coordinator *co = co_new(1);
    rank_hello(co, 0, 1, 0, 0);
    job_new(co, "A", 0, 5, 1);
    job_new(co, "B", 0, 5, 1);
    job_new(co, "C", 0, 5, 1);
    char order[32] = "";
    for (int i = 0; i < 7; i++) {
        assert_int_equal(serve(co, 0, order, sizeof order), 1);
        co->ranks[0].busy = 0; /* the task ended */
    }
    assert_string_equal(order, "ABCABCA");
    co_free(co);
}

/* Higher priority first, whatever the claim order: lower priorities wait
 * until the higher ones have nothing ready. Within a priority the round
 * starts after the job served last, whatever its priority (H, seq 3:
 * N, seq 4, before M, seq 2). */
static void test_priority_first(void **state)
{
    (void)state;
    struct coordinator *co = co_new(1);
    rank_hello(co, 0, 100, 0, 0);
    job_new(co, "L", 0, 2, 1);
    job_new(co, "M", 5, 1, 1);
    job_new(co, "H", 10, 2, 1);
    job_new(co, "N", 5, 2, 1);
    /* job_insert keeps the list sorted by priority, then claim order */
    assert_string_equal(co->jobs->id, "H");
    char order[32] = "";
    assert_int_equal(serve(co, 0, order, sizeof order), 7);
    assert_string_equal(order, "HHNMNLL");
    co_free(co);
}

/* Held back, waiting on dependencies, or only a retry not yet due: not
 * ready, skipped by next_turn; a due retry is ready. */
static void test_not_ready_skipped(void **state)
{
    (void)state;
    struct coordinator *co = co_new(1);
    rank_hello(co, 0, 100, 0, 0);
    struct job *held = job_new(co, "held", 9, 1, 1);
    held->held_back = true;
    struct job *deps = job_new(co, "deps", 9, 1, 1);
    deps->deps_pending = true;
    struct job *retry = job_new(co, "retry", 9, 1, 1);
    struct taskcmd cmd = {0};
    struct task_place place = {0, 0, -1};
    retry->next = retry->ntasks; /* all handed out, one failed: */
    assert_int_equal(queue_retry(retry, 0, 1, 1, &cmd, &place, 1000, false), 0);
    struct job *low = job_new(co, "low", 0, 1, 1);
    assert_false(job_has_ready(held, 0));
    assert_false(job_has_ready(deps, 0));
    assert_false(job_has_ready(retry, 1000));
    assert_ptr_equal(next_turn(co, 1000), low);
    int64_t due = 1000 + 10 * 1000000LL;
    assert_false(job_has_ready(retry, due - 1));
    assert_true(job_has_ready(retry, due));
    assert_ptr_equal(next_turn(co, due), retry);
    co_free(co);
}

/* pick_rank: the rank with the most free slots that fit; ranks not
 * hello'd, gone, draining, owner-active or without slots get nothing;
 * memory and GPUs must fit too. */
static void test_pick_rank(void **state)
{
    (void)state;
    struct coordinator *co = co_new(8);
    /* 0: no HELLO yet */
    co->ranks[0].slots = 64;
    rank_hello(co, 1, 64, 64 * GiB, 8);
    co->ranks[1].bye = true;
    rank_hello(co, 2, 64, 64 * GiB, 8);
    co->ranks[2].draining = true;
    rank_hello(co, 3, 64, 64 * GiB, 8);
    co->ranks[3].owner_active = true;
    rank_hello(co, 4, 0, 64 * GiB, 8);
    rank_hello(co, 5, 4, 4 * GiB, 0);
    co->ranks[5].busy = 1;
    rank_hello(co, 6, 8, 1 * GiB, 2);
    co->ranks[6].busy = 2;
    rank_hello(co, 7, 2, 8 * GiB, 0);

    assert_int_equal(pick_rank(co, 1, 0, 0), 6); /* 6 free */
    assert_int_equal(pick_rank(co, 6, 0, 0), 6);
    /* None has 7 free; 7 (2 slots) is idle, but the task waits for room
     * on a rank as wide as it (6, 8 slots) rather than overload 7. */
    assert_int_equal(pick_rank(co, 7, 0, 0), -1);
    co->ranks[6].busy = 1;
    assert_int_equal(pick_rank(co, 7, 0, 0), 6);
    co->ranks[6].busy = 2;
    co->ranks[6].busy = 6; /* 2 free: 5 has 3 */
    assert_int_equal(pick_rank(co, 1, 0, 0), 5);
    assert_int_equal(pick_rank(co, 3, 0, 0), 5);
    co->ranks[6].busy = 2;
    /* memory: 6 has 1G, reserved 512M */
    co->ranks[6].mem_reserved = GiB / 2;
    assert_int_equal(pick_rank(co, 1, GiB / 2, 0), 6);
    assert_int_equal(pick_rank(co, 1, GiB / 2 + 1, 0), 5);
    assert_int_equal(pick_rank(co, 1, 5 * GiB, 0), 7);
    assert_int_equal(pick_rank(co, 1, 9 * GiB, 0), -1);
    /* GPUs: only 6 has any, one of its two busy */
    co->ranks[6].gpus_busy = 1;
    assert_int_equal(pick_rank(co, 1, 0, 1), 6);
    assert_int_equal(pick_rank(co, 1, 0, 2), -1);
    co_free(co);
}

/* A task wider than every rank (its job started before the wider ranks
 * left) runs alone on the widest idle rank; while a rank has not said
 * HELLO it waits (that rank may be wide enough). */
static void test_pick_rank_wider_than_rank(void **state)
{
    (void)state;
    struct coordinator *co = co_new(3);
    rank_hello(co, 0, 4, 0, 0);
    rank_hello(co, 1, 2, 0, 0);
    assert_int_equal(pick_rank(co, 8, 0, 0), -1); /* rank 2 not known */
    rank_hello(co, 2, 16, 0, 0);
    co->ranks[2].busy = 16;
    assert_int_equal(pick_rank(co, 8, 0, 0), -1); /* 2 fits it: wait */
    co->ranks[2].bye = true;                      /* the wide rank left */
    assert_int_equal(pick_rank(co, 8, 0, 0), 0);  /* the widest idle */
    co->ranks[0].busy = 1;
    assert_int_equal(pick_rank(co, 8, 0, 0), 1);
    co->ranks[1].busy = 1;
    assert_int_equal(pick_rank(co, 8, 0, 0), -1);
    co_free(co);
    /* A wide rank without the task's memory does not make it wait: the
     * narrow rank with the memory takes it alone (it would wait forever,
     * as no rank has both). */
    co = co_new(2);
    rank_hello(co, 0, 8, 16 * GiB, 0);
    rank_hello(co, 1, 2, 64 * GiB, 0);
    assert_int_equal(pick_rank(co, 8, 32 * GiB, 0), 1);
    assert_int_equal(pick_rank(co, 8, 8 * GiB, 0), 0);
    co->ranks[0].busy = 1;
    assert_int_equal(pick_rank(co, 8, 8 * GiB, 0), -1);
    co_free(co);
}

/* The backoff doubles per attempt after the first; an interrupted
 * attempt runs again at once. */
static void test_retry_delay(void **state)
{
    (void)state;
    assert_float_equal(queue_retry_delay(10, 1, false), 10, 1e-9);
    assert_float_equal(queue_retry_delay(10, 2, false), 20, 1e-9);
    assert_float_equal(queue_retry_delay(10, 3, false), 40, 1e-9);
    assert_float_equal(queue_retry_delay(0.5, 5, false), 8, 1e-9);
    assert_float_equal(queue_retry_delay(0, 3, false), 0, 1e-9);
    assert_float_equal(queue_retry_delay(10, 1, true), 0, 1e-9);
    assert_float_equal(queue_retry_delay(10, 4, true), 0, 1e-9);
}

/* queue_retry: attempt + 1, due after the delay, the command taken over,
 * the retries ordered by due time (equal ones in the order queued). */
static void test_queue_retry_order(void **state)
{
    (void)state;
    struct coordinator *co = co_new(1);
    struct job *job = job_new(co, "J", 0, 10, 1);
    const int64_t now = 5000000;
    struct task_place place = {0, 0, -1};
    struct {
        uint64_t task;
        unsigned attempt;
        bool again;
    } q[] = {
        {1, 3, false}, /* due now + 40 s */
        {2, 1, false}, /* now + 10 s */
        {3, 2, true},  /* now */
        {4, 2, false}, /* now + 20 s */
        {5, 1, false}, /* now + 10 s, after task 2 */
        {6, 1, true},  /* now, after task 3 */
    };
    for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
        struct taskcmd cmd = {.shell = true, .argc = 1};
        cmd.argv = calloc(2, sizeof *cmd.argv);
        assert_non_null(cmd.argv);
        cmd.argv[0] = strdup("true");
        assert_int_equal(queue_retry(job, q[i].task, q[i].attempt, q[i].attempt,
                                     &cmd, &place, now, q[i].again),
                         0);
        assert_null(cmd.argv); /* taken over */
    }
    static const uint64_t tasks[] = {3, 6, 2, 5, 4, 1};
    static const unsigned attempts[] = {3, 2, 2, 2, 3, 4};
    static const int64_t due_s[] = {0, 0, 10, 10, 20, 40};
    const struct retry *r = job->retries;
    for (size_t i = 0; i < 6; i++, r = r->next) {
        assert_non_null(r);
        assert_int_equal(r->task, tasks[i]);
        assert_int_equal(r->attempt, attempts[i]);
        assert_int_equal(r->not_before, now + due_s[i] * 1000000);
        assert_string_equal(r->cmd.argv[0], "true");
    }
    assert_null(r);
    assert_int_equal(retry_wait_ms(co, now), 0);
    co_free(co);
}

/* Claim-ahead: only jobs with fresh tasks left count, not those held
 * back, waiting on dependencies, or with only retries or running tasks
 * left. */
static void test_jobs_waiting(void **state)
{
    (void)state;
    struct coordinator *co = co_new(1);
    assert_int_equal(jobs_waiting(co), 0);
    assert_int_equal(lowest_waiting_priority(co), INT_MAX);
    job_new(co, "fresh", 3, 2, 1);
    struct job *started = job_new(co, "started", 1, 2, 1);
    started->next = 1;
    struct job *out = job_new(co, "out", -5, 2, 1);
    out->next = 2;
    out->running = 2;
    struct job *held = job_new(co, "held", -7, 2, 1);
    held->held_back = true;
    struct job *deps = job_new(co, "deps", -9, 2, 1);
    deps->deps_pending = true;
    assert_int_equal(jobs_waiting(co), 2);
    assert_int_equal(jobs_waiting(co) < CLAIM_AHEAD, false);
    assert_int_equal(lowest_waiting_priority(co), 1);
    started->next = 2;
    assert_int_equal(jobs_waiting(co), 1);
    assert_true(jobs_waiting(co) < CLAIM_AHEAD);
    assert_int_equal(lowest_waiting_priority(co), 3);
    co_free(co);
}

/* Reservation: when the task whose turn it is does not fit, dispatch
 * stops, so the job keeps its turn (last_served does not move on) and
 * narrow jobs that keep coming do not overtake it: as the narrow tasks
 * end, the wide one starts. */
static void test_wide_job_not_starved(void **state)
{
    (void)state;
    struct coordinator *co = co_new(1);
    rank_hello(co, 0, 4, 0, 0);
    job_new(co, "a", 0, 1000, 1);
    char order[64] = "";
    assert_int_equal(serve(co, 0, order, sizeof order), 4); /* rank full */
    struct job *wide = job_new(co, "W", 0, 1, 4);
    int rounds = 0;
    char id[16];
    while (wide->next == 0) {
        assert_true(++rounds < 10);
        /* one narrow task ends, another narrow job comes */
        co->ranks[0].busy--;
        snprintf(id, sizeof id, "n%d", rounds);
        job_new(co, id, 0, 1000, 1);
        serve(co, 0, order, sizeof order);
        if (wide->next == 0)
            assert_ptr_equal(next_turn(co, 0), wide); /* keeps its turn */
    }
    /* it started once the four narrow tasks had ended, not before */
    assert_int_equal(rounds, 4);
    assert_int_equal(co->ranks[0].busy, 4);
    assert_string_equal(order, "aaaaW");
    co_free(co);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_turns_equal_priority),
        cmocka_unit_test(test_turns_resume_after_last_served),
        cmocka_unit_test(test_priority_first),
        cmocka_unit_test(test_not_ready_skipped),
        cmocka_unit_test(test_pick_rank),
        cmocka_unit_test(test_pick_rank_wider_than_rank),
        cmocka_unit_test(test_retry_delay),
        cmocka_unit_test(test_queue_retry_order),
        cmocka_unit_test(test_jobs_waiting),
        cmocka_unit_test(test_wide_job_not_starved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
