/* SPDX-License-Identifier: MIT */
/* The coordinator's append-only journal: claims, task starts and ends, job
 * ends; replayed by the next coordinator after a crash. */
#ifndef MPISPOOL_JOURNAL_H
#define MPISPOOL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* One text line per event, appended to journal/COORD.log:
 *   C JOBID TIME_US                        about to claim the job (new/->cur/)
 *   R JOBID TIME_US                        gave it back (or lost the race)
 *   S JOBID TASK ATTEMPT RANK TIME_US      a task attempt was dispatched
 *   E JOBID TASK ATTEMPT STATE TIME_US FAILURES
 *                                          it ended (enum journal_state);
 *                                          FAILURES: the task's failed
 *                                          attempts, this one included
 *                                          (absent in older journals)
 *   K JOBID TIME_US                        the whole job was cancelled
 *   F JOBID TASK TIME_US                   fail_fast: TASK failed for good,
 *                                          no task of the job starts again
 *   J JOBID STATE TIME_US                  the job ended (done/failed/...)
 * Appends go to the kernel at once; journal_sync makes them durable with one
 * fdatasync for everything appended since the last sync, so the cost of
 * durability is paid once per batch, not per task. The coordinator syncs
 * before it acts on an end (writes records, moves job files) and before it
 * renames a claimed job file into cur/.
 *
 * The coordinator holds an exclusive flock on its journal while it lives:
 * a journal nobody holds belongs to a coordinator that died, and the next
 * one adopts its claimed jobs (journal_take_over, journal_replay). */
struct journal;

enum journal_state {
    JOURNAL_FAILED = 0,
    JOURNAL_OK = 1,
    JOURNAL_INTERRUPTED = 2, /* ended by a stop or crash: run it again */
    JOURNAL_CANCELLED = 3,
    JOURNAL_RUNNING = 4, /* replay only: started, no end recorded */
    JOURNAL_STOPPED = 5, /* ended by the job's fail_fast: never run again */
};

/* Open (create) path for appending and lock it (fails if another process
 * holds it). */
struct journal *journal_open(const char *path, struct mps_error *err);
/* Close; with remove, unlink the file first (nothing in it is needed). */
void journal_close(struct journal *jr, bool remove);

int journal_claim(struct journal *jr, const char *job);
int journal_release(struct journal *jr, const char *job);
int journal_cancel(struct journal *jr, const char *job);
int journal_fail_fast(struct journal *jr, const char *job, uint64_t task);
int journal_start(struct journal *jr, const char *job, uint64_t task,
                  unsigned attempt, int rank);
int journal_end(struct journal *jr, const char *job, uint64_t task,
                unsigned attempt, enum journal_state state, unsigned failures);
int journal_job(struct journal *jr, const char *job, const char *state);

/* fdatasync if anything was appended since the last sync. */
int journal_sync(struct journal *jr, struct mps_error *err);

/* Bytes in the journal file now. */
uint64_t journal_size(const struct journal *jr);

/* Rewrite the journal keeping only the lines of jobs for which keep()
 * returns true (the live ones), atomically (a new locked file renamed over
 * the old one). */
int journal_compact(struct journal *jr,
                    bool (*keep)(void *arg, const char *job), void *arg,
                    struct mps_error *err);

/* Try to take over another coordinator's journal at path: returns a
 * descriptor holding its lock when its owner is gone (the caller replays it,
 * then unlinks and closes it), or -1 with *alive set when a live
 * coordinator holds it (or with *alive false on an error, logged in err). */
int journal_take_over(const char *path, bool *alive, struct mps_error *err);

/* What a replay knows about one task: its latest attempt, how it ended and
 * how many of its attempts failed ("retries" counts these, not attempts:
 * an interrupted attempt is not a failure). */
struct replay_task {
    uint64_t task;
    uint32_t attempt;
    uint32_t failures;
    uint8_t state; /* enum journal_state */
};

struct replay_job {
    char id[72];
    bool claimed;   /* an open claim: C not followed by R or J */
    bool cancelled; /* K */
    bool fail_fast; /* F: stopped by fail_fast at fail_fast_task */
    uint64_t fail_fast_task;
    char ended[16]; /* the J state, "" when the job did not end */
    /* After journal_replay_finish: one entry per task seen, sorted. */
    struct replay_task *tasks;
    size_t ntasks, cap;
};

struct replay {
    struct replay_job *jobs;
    size_t njobs, cap;
    size_t *index; /* open-addressing hash of jobs by id: njobs slots + 1 */
    size_t index_cap;
};

/* Add the events of one journal (read from fd, or path when fd < 0) to rp;
 * lines that do not parse (a torn last line) are skipped. */
int journal_replay(struct replay *rp, int fd, const char *path,
                   struct mps_error *err);
/* Reduce each job's events to one entry per task (its latest attempt).
 * Its failures are the most an E line of the task gave; a task none of
 * whose lines gives them (a journal of an older mpispool) counts each
 * attempt before the latest as failed, and the latest if it failed. */
void journal_replay_finish(struct replay *rp);
struct replay_job *journal_replay_find(const struct replay *rp,
                                       const char *job);
void journal_replay_free(struct replay *rp);

#endif
