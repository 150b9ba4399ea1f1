/* SPDX-License-Identifier: MIT */
/* The spool directory: layout, job ids, and every state change by rename. */
#ifndef MPISPOOL_SPOOL_H
#define MPISPOOL_SPOOL_H

#include <stddef.h>

#include "error.h"

/* SPOOL/ subdirectories (see DESIGN.md). data/ holds what submit copies
 * into the spool beside a job file: data/JOBID.tasks (a task file) and
 * data/JOBID.archive (the job's input archive). drain/HOST (an empty file
 * of mpispool drain) asks every coordinator to send no new task to the
 * ranks on HOST; spools made before drain/ existed get it on demand
 * (spool_ensure_dir). */
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
    SPOOL_NDIRS
};

/* "tmp", "new", ... */
const char *spool_dir_name(enum spool_dir dir);

struct spool;

/* Create the spool tree at path (and path itself); existing parts are kept,
 * so it is idempotent. tmp/, new/, cancel/, data/ and drain/ get mode 1733
 * (anyone may drop a file, nobody may list), the rest 0755; a counter file
 * "seq" (0666) numbers job ids. */
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
 * SPOOL_FAILED or SPOOL_REJECTED; -1 if nowhere. */
int spool_locate(const struct spool *sp, const char *jobid);

#endif
