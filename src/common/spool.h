/* SPDX-License-Identifier: MIT */
/* The spool directory: layout, job ids, and every state change by rename. */
#ifndef MPISPOOL_SPOOL_H
#define MPISPOOL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

/* SPOOL/ subdirectories (see DESIGN.md). data/ holds what submit copies
 * into the spool beside a job file: data/JOBID.tasks (a task file) and
 * data/JOBID.archive (the job's input archive). drain/HOST (an empty file
 * of mpispool drain, made by root or the spool's administrator) asks every
 * coordinator to send no new task to the ranks on HOST. cancel/ holds
 * cancel requests (cancel/JOBID+ANYTHING) and the job files of queued jobs
 * their owners withdrew (cancel/JOBID.json). ids/JOBID reserves a job id
 * for the user who owns it (spool_reserve). Spools made before drain/ or
 * ids/ existed get them on demand (spool_ensure_dir). */
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
 * 0755; a file "seq" (0666) holds a hint for the next job id. */
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

/* A descriptor of SPOOL/DIR, opened once and held until spool_close (for
 * reading where this process may list it, else O_PATH): names beneath it
 * are resolved from it, never through a path again. -1 with errno when
 * it cannot be opened (e.g. a directory an older spool lacks). */
int spool_dirfd(struct spool *sp, enum spool_dir dir);

/* Mint a new job id "YYYYMMDD-NNNN" (UTC date, then a number) and reserve
 * it for the calling user: ids/JOBID is created with O_EXCL, so the id is
 * this user's and nobody else's; an id already reserved, or used by a job
 * in any state (a job file in new/ cur/ done/ failed/ rejected/, out/ID)
 * is skipped. SPOOL/seq is only a hint where to start (read and written
 * without a lock: whatever anyone writes there, or holds locked, costs at
 * most a few more tries, since ids are tried further and further apart).
 * Where ids/ is missing (an older spool) or full, the id is returned
 * unreserved: the coordinator reserves it when it claims the job. buf
 * holds 64 bytes. */
int spool_new_jobid(struct spool *sp, char *buf, size_t len,
                    struct mps_error *err);

/* Reserve id for owner: make ids/ID with this thread's identity (a
 * coordinator calls it as the job's owner, asuser_enter) unless it
 * exists. *holder gets the uid that holds the reservation. Returns 0 when
 * it is owner's (made now, or before), 1 when it is another user's (err
 * says so), -1 on error (err and errno). */
int spool_reserve(struct spool *sp, const char *id, uid_t owner, uid_t *holder,
                  struct mps_error *err);

/* Where a job with this id is, apart from new/ and cur/: SPOOL_DONE,
 * SPOOL_FAILED, SPOOL_REJECTED (its job file), SPOOL_OUT (only its output
 * directory is left), or -1 when none. */
int spool_id_used(struct spool *sp, const char *id);

/* Submit: write text to a fresh file in tmp/ (mode mode), fsync, and
 * rename it into new/JOBID.json unless that exists; then fsync new/. A
 * rename, so a coordinator's inotify sees the file only when it is
 * complete. On a full file system (ENOSPC, EDQUOT), the caller's own
 * reservation ids/JOBID is dropped to make room for the job file (its
 * coordinator reserves the id at claim). Returns 0, 1 when new/JOBID.json
 * exists (err says so: mint another id), -1 on error. */
int spool_submit(struct spool *sp, const char *jobid, const char *text,
                 size_t len, mode_t mode, struct mps_error *err);

/* The mode for the files a user writes into the spool (job file, data/
 * copies): 0600, unless the spool belongs to another user than root and
 * the caller (its coordinator runs as that account and must read them):
 * then 0644. */
mode_t spool_private_mode(const struct spool *sp);

/* Claim new/NAME (a file name, e.g. "JOBID.json") by renaming it into
 * cur/ (between the held descriptors, following no link, never replacing
 * a file). Returns 0 when claimed, 1 when it is gone (another coordinator
 * took it), 2 when cur/NAME exists (a job of that id is claimed), -1 on
 * error (errno). */
int spool_claim(struct spool *sp, const char *name, struct mps_error *err);

/* Move the job file JOBID.json from one state directory to another,
 * never replacing a file there. */
int spool_move(struct spool *sp, const char *jobid, enum spool_dir from,
               enum spool_dir to, struct mps_error *err);

/* Move FROM/NAME (cur/, or new/ for what is not a job file at all) to
 * rejected/NAME and write rejected/STEM.error beside it holding reason and
 * a newline; STEM is NAME without ".json". When rejected/NAME is taken (a
 * job of that id was rejected before), or with fresh, the file goes to a
 * new name STEM.refused-N(.json) instead, so no job's files are ever
 * replaced. */
int spool_reject(struct spool *sp, enum spool_dir from, const char *name,
                 const char *reason, bool fresh, struct mps_error *err);

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
