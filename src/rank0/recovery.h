/* SPDX-License-Identifier: MIT */
/* Adopting the jobs of coordinators that died: their journals, replayed
 * attempts, repaired records. */
#ifndef MPISPOOL_RANK0_RECOVERY_H
#define MPISPOOL_RANK0_RECOVERY_H

#include "rank0.h"

/* Mark job as stopped by "fail_fast" at task (see fail_fast_stop): no
 * fresh task of it starts, and the journal says so. */
void fail_fast_mark(struct coordinator *co, struct job *job, uint64_t task);

/* Take over what an adopted journal knew of the job: the ends it recorded
 * go into our journal (so a crash of ours loses nothing either) and into
 * the job's counts; its tasks are skipped or run again as they stood. */
void adopt_replay(struct coordinator *co, struct job *job,
                  struct replay_job *rj);

/* After a crash, records.jsonl may end in a torn line, and the record of
 * an attempt whose end was journaled may never have been written (the
 * journal is synced first). Cut the torn line, and add a record rebuilt
 * from the journal for each missing one, so the report has every task.
 * The file is the owner's: read through rank 0's descriptor, bounded. */
void repair_records(struct coordinator *co, struct job *job);

/* ---- crash recovery ---- */

struct taken {
    int fd;
    char *path;
    char base[300]; /* HOST-PID of the dead coordinator */
};

/* Before serving: adopt the jobs of coordinators that died. A journal
 * nobody holds locked is a dead coordinator's; its jobs still in cur/ are
 * taken over with what it recorded (ended tasks are not run again). A job
 * in cur/ that no journal claims is an orphan and is adopted too; a job
 * claimed by a live coordinator is left alone. cur/ is listed before the
 * journals are read, and claims are journaled before the rename into
 * cur/, so a job that a live coordinator is claiming right now is never
 * mistaken for an orphan. One coordinator recovers at a time. */
void recover(struct coordinator *co);

/* Whether another coordinator's journal is unlocked: it died, and its
 * jobs wait for adoption. A probe only (the lock is let go at once). */
bool dead_journal_exists(struct coordinator *co);

#endif
