/* SPDX-License-Identifier: MIT */
/* Ending jobs: report.json, done/ or failed/, and the release of claimed jobs
 * on stop. */
#ifndef MPISPOOL_RANK0_FINALIZE_H
#define MPISPOOL_RANK0_FINALIZE_H

#include "rank0.h"

/* Jobs whose last task ended this turn: their records and reports go to
 * disk with one syncfs for all of them (durability paid per batch, not per
 * file), then each job file moves to done/ or failed/. */
void finalize_ended_jobs(struct coordinator *co);

/* Jobs still claimed when we stop: one that never started goes back to
 * new/ for any coordinator; the others stay in cur/, claimed in our
 * journal, which the next coordinator on the spool adopts (our lock on it
 * ends with us). */
void release_jobs(struct coordinator *co);

#endif
