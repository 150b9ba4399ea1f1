/* SPDX-License-Identifier: MIT */
/* What comes back of an attempt: its output into out/JOBID, its result, its
 * records; the disk reserve that keeps room for them. */
#ifndef MPISPOOL_RANK0_RESULTS_H
#define MPISPOOL_RANK0_RESULTS_H

#include "rank0.h"

/* Space on the spool's file system held back for records, reports and the
 * journal: given up when a write fails for lack of space, taken again when
 * there is room. */
void release_reserve(struct coordinator *co);

void hold_reserve(struct coordinator *co);

/* Write a chunk of a task's output, keeping at most --max-output of each
 * stream; after a write fails, the rest of that attempt's output is
 * dropped (its record says why). */
void write_output(struct coordinator *co, uint64_t id, int stream,
                  const char *data, size_t len);

/* ---- results ---- */
void queue_result(struct coordinator *co, struct dispatch *d,
                  const struct attempt_result *res);

void on_copied(void *arg, void *cookie, const char *error);

/* Make this turn's ends durable in the journal, then act on them. */
void process_ended(struct coordinator *co);

/* Free the results that came but were not recorded, with their attempts
 * (a run torn down mid-turn). */
void results_drop(struct coordinator *co);

#endif
