/* SPDX-License-Identifier: MIT */
/* The spool directory: layout, job ids, and every state change by rename. */
#ifndef MPISPOOL_SPOOL_H
#define MPISPOOL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"

/* SPOOL/ subdirectories (see DESIGN.md). data/ holds what submit copies
 * into the spool beside a job file: data/JOBID.tasks (a task file) and
 * data/JOBID.archive (the job's input archive). drain/HOST (an empty file
 * of mpispool drain, made by root or the spool's administrator) asks every
 * coordinator to send no new task to the ranks on HOST. cancel/ holds
 * cancel requests (cancel/JOBID+ANYTHING) and the job files of queued jobs
 * their owners withdrew (cancel/JOBID.json). ids/JOBID reserves a job id
 * for the user who owns it. Spools made before drain/ or ids/ existed get
 * them on demand (spool_ensure_dir). */
enum spool_dir {
    SPOOL_TMP,
    SPOOL_NEW,
    SPOOL_CUR,
    SPOOL_DONE,
    SPOOL_FAILED,
    SPOOL_REJECTED,
    SPOOL_CANCEL,
    SPOOL_OUT,
    SPOOL_JOURNAL,
    SPOOL_STATUS,
    SPOOL_DATA,
    SPOOL_DRAIN,
    SPOOL_IDS,
    SPOOL_NDIRS
};

/* "tmp", "new", ... */
const char *spool_dir_name(enum spool_dir dir);

struct spool;

/* Create the spool tree at path (and path itself); existing parts are kept,
 * so it is idempotent. tmp/, new/, cancel/, data/ and ids/ get mode 1733
 * (anyone may drop a file, nobody may list, only a file's owner may rename
 * or remove it), the rest (drain/ too: only the administrator drains)
 * 0755; a counter file "seq" (0666) numbers job ids. */
int spool_init(const char *path, struct mps_error *err);

/* Open an existing spool; fails with a clear message if path is not a
 * spool ("'/x' is not a spool (no new/): run 'mpispool init /x'"). */
struct spool *spool_open(const char *path, struct mps_error *err);
void spool_close(struct spool *sp);

/* Create SPOOL/DIR when it is missing (a spool made by an older
 * mpispool), with the mode spool_init gives it; 0 when it exists. */
int spool_ensure_dir(const struct spool *sp, enum spool_dir dir,
                     struct mps_error *err);

/* The absolute path of the spool. */
const char *spool_path(const struct spool *sp);

/* The spool's administrator: the owner of the spool directory (who ran
 * mpispool init; root for a shared spool). */
uint32_t spool_admin(const struct spool *sp);

/* malloc'd "SPOOL/DIR/name" (name may be NULL for the directory itself). */
char *spool_file(const struct spool *sp, enum spool_dir dir, const char *name);

/* Allocate a new unique job id "YYYYMMDD-NNNN" (UTC date, a spool-wide
 * counter kept in SPOOL/seq under an fcntl lock). buf holds 64 bytes. */
int spool_new_jobid(struct spool *sp, char *buf, size_t len,
                    struct mps_error *err);

/* Submit: write text to tmp/JOBID.json, fsync, and rename it into
 * new/JOBID.json (failing if that exists); then fsync new/. A rename, so a
 * coordinator's inotify sees the file only when it is complete. */
int spool_submit(struct spool *sp, const char *jobid, const char *text,
                 size_t len, struct mps_error *err);

/* Claim new/NAME (a file name, e.g. "JOBID.json") by renaming it into
 * cur/. Returns 0 when claimed, 1 when it is gone (another coordinator took
 * it), -1 on error. */
int spool_claim(struct spool *sp, const char *name, struct mps_error *err);

/* Move the job file JOBID.json from one state directory to another. */
int spool_move(struct spool *sp, const char *jobid, enum spool_dir from,
               enum spool_dir to, struct mps_error *err);

/* Move cur/NAME to rejected/NAME and write rejected/JOBID.error holding
 * reason and a newline; JOBID is NAME without ".json". */
int spool_reject(struct spool *sp, const char *name, const char *reason,
                 struct mps_error *err);

/* Where the job file JOBID.json is now: SPOOL_NEW, SPOOL_CUR, SPOOL_DONE,
 * SPOOL_FAILED or SPOOL_REJECTED; SPOOL_CANCEL when its owner withdrew it
 * while it was queued (it is then cancelled: see spool_withdrawn); -1 if
 * nowhere. Looked for in the order jobs move (new/, cancel/, cur/, done/,
 * failed/, rejected/), so a job is found even while it moves. */
int spool_locate(const struct spool *sp, const char *jobid);

/* Whether where (from spool_locate) is a state a job never leaves: done,
 * failed, rejected or withdrawn. */
bool spool_ended(int where);

/* A job's state as users are told it, for where (from spool_locate):
 * "queued", "running", "done", "failed", "rejected", "cancelled" (a
 * withdrawn job), or "gone". */
const char *spool_state_name(int where);

/* Whether cancel/JOBID.json, as lstat saw it (file), withdraws the queued
 * job JOBID whose reservation ids/JOBID lstat saw as reservation (NULL:
 * there is none): a regular file with one link, owned by the user who
 * reserved the id. (The job must also be in no other state: see
 * spool_withdrawn.) */
bool spool_is_withdrawal(const struct stat *file,
                         const struct stat *reservation);

/* Whether cancel/JOBID.json withdraws job JOBID now: spool_is_withdrawal,
 * and JOBID.json in no other state directory. *st (if not NULL) gets the
 * lstat of the file in cancel/. */
bool spool_withdrawn(const struct spool *sp, const char *jobid,
                     struct stat *st);

/* The owner (uid) of the job file of a job waiting in new/ or held in
 * cur/: the user the job is run for. -1 when it is in neither. */
int spool_job_owner(const struct spool *sp, const char *jobid, uint32_t *owner);

/* Whether drain/NAME, as lstat saw it, is a drain to honour: a regular
 * file made by root or by admin (spool_admin, or rank 0's own uid). */
bool spool_drain_honoured(const struct stat *st, uint32_t admin);

#endif
