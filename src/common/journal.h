/* SPDX-License-Identifier: MIT */
/* The coordinator's append-only journal of task starts and ends. */
#ifndef MPISPOOL_JOURNAL_H
#define MPISPOOL_JOURNAL_H

#include <stdint.h>

#include "error.h"

/* One text line per event, appended to journal/COORD.log:
 *   S JOBID TASK ATTEMPT RANK TIME_US      a task attempt was dispatched
 *   E JOBID TASK ATTEMPT OK TIME_US        it ended (OK: 1 succeeded, 0 not)
 *   J JOBID STATE TIME_US                  the job ended (done/failed)
 * Appends go to the kernel at once; journal_sync makes them durable with one
 * fdatasync for everything appended since the last sync, so the cost of
 * durability is paid once per batch, not per task. The coordinator syncs
 * before it acts on an end (writes records, moves job files). */
struct journal;

struct journal *journal_open(const char *path, struct mps_error *err);
void journal_close(struct journal *jr);

int journal_start(struct journal *jr, const char *job, uint64_t task,
                  unsigned attempt, int rank);
int journal_end(struct journal *jr, const char *job, uint64_t task,
                unsigned attempt, int ok);
int journal_job(struct journal *jr, const char *job, const char *state);

/* fdatasync if anything was appended since the last sync. */
int journal_sync(struct journal *jr, struct mps_error *err);

#endif
