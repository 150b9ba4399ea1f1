/* SPDX-License-Identifier: MIT */
/* mpispool cancel and withdraw, fail_fast, and the stop of the whole run. */
#ifndef MPISPOOL_RANK0_CANCEL_H
#define MPISPOOL_RANK0_CANCEL_H

#include "rank0.h"

/* "fail_fast": task of job failed for good (its last allowed attempt
 * failed). No task or retry of the job starts any more: the retries that
 * were waiting are dropped (their tasks count as failed, as their last
 * attempt did), the tasks never started count as cancelled; its running
 * attempts are ended as mpispool-run ends attempts (SIGTERM, SIGKILL
 * after --kill-grace) and recorded as cancelled, with the reason. The job
 * then ends failed, its report saying why. The F line in the journal
 * keeps a coordinator that adopts the job after a crash from starting
 * its tasks again. */
void fail_fast_stop(struct coordinator *co, struct job *job, uint64_t task);

extern const struct requests_ops request_ops;

/* Act on the cancel requests and withdrawn jobs in cancel/. */
void scan_cancel(struct coordinator *co);

void begin_stop(struct coordinator *co, const char *why);

#endif
