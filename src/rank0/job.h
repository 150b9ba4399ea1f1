/* SPDX-License-Identifier: MIT */
/* A claimed job set up from its file: owner, environment, task file, archive,
 * output directory; setups that failed for a passing reason, tried again with
 * backoff. */
#ifndef MPISPOOL_RANK0_JOB_H
#define MPISPOOL_RANK0_JOB_H

#include "rank0.h"

/* ---- jobs ---- */
void job_free(struct job *job);

/* Where job file id is; looks twice, so a job that moved back from cur/
 * to new/ (a coordinator's stop) in between is still found. */
int locate_job(const struct coordinator *co, const char *id);

void job_insert(struct coordinator *co, struct job *job);

struct job *find_job(struct coordinator *co, const char *id);

/* Who job's tasks run as: the owner of its job file (st, the fstat of
 * the file taken out of new/). Run as root, tasks of a file not owned by
 * root run as its owner: uid, the primary group of the password entry and
 * its supplementary groups (getgrouplist), or, for a uid without an entry,
 * the file's gid and no supplementary groups. Otherwise tasks run as this
 * process. Returns 0 or -1 with err set (the user database could not be
 * read: it may pass). */
int job_owner(struct job *job, const struct stat *st, struct mps_error *err);

/* How setting a claimed job up went (job_setup). */
enum setup {
    SETUP_OK,
    SETUP_INVALID,   /* the job itself is not valid: it is rejected */
    SETUP_REFUSED,   /* its id is another job's or another user's */
    SETUP_TRANSIENT, /* a failure that may pass: tried again later */
    SETUP_GONE,      /* its file is no longer in cur/ */
};

/* Set up the claimed job file cur/NAME as job: its file, owner, id,
 * dependencies, archive, task file, copies, output. adopted: taken over
 * from a coordinator that stopped (its id was checked then). *id_checked
 * tells whether its id was found its own. */
enum setup job_setup(struct coordinator *co, struct job *job, const char *name,
                     bool check_used, bool adopted, bool *id_checked,
                     struct mps_error *err);

struct pending *pending_find(struct coordinator *co, const char *id);

/* Whether we hold a job of this id (set up, or waiting to be). */
bool holds_job(struct coordinator *co, const char *id);

void pending_free(struct pending *p);

/* Keep cur/NAME claimed and try to set it up again later (p: the entry of
 * the attempt that failed again, or NULL for a first failure, rj what a
 * dead journal knew of it): after 1 s, then twice as long each time, at
 * most SETUP_RETRY_MAX_US. */
void pending_add(struct coordinator *co, const char *name, const char *id,
                 struct replay_job *rj, struct pending *p, bool id_checked,
                 const char *reason);

/* Remove the output directory made for job, which never started (set up
 * and then returned to new/, or not set up after all): out/ID would make
 * the next claim of its job file refuse the id as used. */
void job_drop_output(struct coordinator *co, struct job *job);

/* Try again the jobs kept for later whose time has come. */
void retry_pending(struct coordinator *co);

/* Milliseconds until the next job kept for later is tried again, or -1. */
int pending_wait_ms(const struct coordinator *co, int64_t now);

#endif
