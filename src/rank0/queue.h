/* SPDX-License-Identifier: MIT */
/* Queue policy: which task goes next and where (priority, turns, a wide
 * task's turn kept until it fits, retries with backoff, hold-back before
 * the allocation ends, claim-ahead). Touches no file but the task file
 * next_task reads its next line from. */
#ifndef MPISPOOL_RANK0_QUEUE_H
#define MPISPOOL_RANK0_QUEUE_H

#include "rank0.h"

/* Claimed jobs with tasks not yet handed out, but for those held back
 * (allocation end) or waiting for their dependencies: these must not keep
 * us from claiming the jobs they wait for. */
size_t jobs_waiting(const struct coordinator *co);

/* The lowest priority among the claimed jobs waiting to hand out tasks. */
int lowest_waiting_priority(const struct coordinator *co);

bool job_has_ready(const struct job *job, int64_t now);

/* The rank with the most free slots that fit cpus (and whose memory and
 * GPUs fit), or -1 to wait. A task wider than a rank's slots never goes
 * there while some rank that said HELLO is wide enough and has the
 * task's memory and GPUs, or some rank has not said it yet; wider than
 * every such rank, it runs alone on an idle one. */
int pick_rank(struct coordinator *co, unsigned cpus, uint64_t memory,
              unsigned gpus);

bool task_cancelled(const struct job *job, uint64_t task);

/* The next task of job: a due retry first, else the next fresh one that
 * still has to run. Returns 0, 1 when none is left, or -1. */
int next_task(struct coordinator *co, struct job *job, int64_t now,
              uint64_t *task, unsigned *attempt, unsigned *failures,
              struct taskcmd *cmd, struct task_place *place,
              struct mps_error *err);

/* The job whose turn it is: among the jobs of the highest priority that
 * have a task ready, the first claimed after the one served last (jobs
 * take turns, one task each), wrapping round. */
struct job *next_turn(struct coordinator *co, int64_t now);

/* The allocation's end (--end-time, $SLURM_JOB_END_TIME): a job whose
 * tasks' "timeout" would outlive it starts no more tasks here (see
 * job_has_ready) and is left for the next allocation; time only moves on,
 * so it stays held back. A job without a timeout is not restricted. With
 * --until-empty, once only such jobs are left and nothing runs, stop as
 * on SIGTERM: release_jobs() returns those never started to new/ and
 * leaves the others in cur/ for the next coordinator to adopt. At the end
 * itself, stop in any case (the poll timeout, at most --rescan, bounds how
 * late), before Slurm kills everything. */
void hold_back_jobs(struct coordinator *co);

/* Milliseconds until the earliest due retry, or -1. */
int retry_wait_ms(const struct coordinator *co, int64_t now);

/* The one "retries" rule: a task that has failed `failures` times
 * (interrupted attempts are no failures) runs again while failures is at
 * most the job's "retries". */
bool retries_left(const struct job *job, unsigned failures);

/* Seconds before the next attempt of a task that failed `failures` times
 * (1 first; interrupted attempts do not count): the job's retry_backoff,
 * doubled for each failure after the first; 0 with again (it was
 * interrupted: its rank's owner came back or its rank was lost). */
double queue_retry_delay(double backoff, unsigned failures, bool again);

/* Queue attempt + 1 of task in job's retries (ordered by due time; cmd is
 * taken over and zeroed), due queue_retry_delay(failures) seconds after
 * now (monotonic us); failures (the failed attempts so far) goes with it,
 * so that "retries" counts failures, not interruptions. Returns 0, or -1
 * when out of memory. */
int queue_retry(struct job *job, uint64_t task, unsigned attempt,
                unsigned failures, struct taskcmd *cmd,
                const struct task_place *place, int64_t now, bool again);

#endif
