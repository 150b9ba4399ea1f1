/* SPDX-License-Identifier: MIT */
/* Intake of new/: inotify, the fair scan, claims into cur/, rejections. */
#ifndef MPISPOOL_RANK0_CLAIM_H
#define MPISPOOL_RANK0_CLAIM_H

#include "spool.h"
#include "rank0.h"

/* The job id of a job file name: NAME.json -> NAME (id holds 72 bytes). */
void job_id_of(const char *name, char *id);

void reject(struct coordinator *co, const char *name, const char *reason);

/* Move a file that may not have its name out of from/ (new/, or cur/
 * after our claim) into rejected/ under a fresh name, with its reason:
 * the job that has that id, or the user it is reserved for, is left
 * alone, its files and journal lines too. */
void refuse(struct coordinator *co, enum spool_dir from, const char *name,
            const char *reason);

/* Set up the job file cur/NAME and queue it (or reject it, refuse it,
 * keep it for later). rj is what a dead coordinator's journal knew of it
 * when it is adopted, else NULL; again its entry when it is tried again
 * (taken over). */
void take_job(struct coordinator *co, const char *name, struct replay_job *rj,
              struct pending *again);

/* What new/NAME holds, looked at without claiming it (opened as
 * asuser_openat does, cached by device, inode, size and mtime: a file
 * left in new/ is read once, however often it is looked at). */
enum look { LOOK_GONE, LOOK_INVALID, LOOK_VALID };

/* Take in what new/ holds: round-robin between the files' owners (one
 * file of each per round, each one's in name order, which is submission
 * order for ids from mpispool submit), for at most INTAKE_SCAN_US, the
 * rest in the next loop turn (scan_again). What is no job file at all is
 * rejected without a claim. With settle, files changed within the last
 * two seconds are left for later unless inotify announced them, in case a
 * writer is still filling them. So one user's flood of files, however
 * many or large, delays another user's file by one scan at most: it comes
 * in the first round of the next one. */
void scan_new(struct coordinator *co, bool settle);

/* The names in directory path (one of rank 0's own) but dot files,
 * sorted. NULL (and *count 0) when it cannot be read. */
char **list_dir(const char *path, size_t *count);

void free_names(char **names, size_t n);

/* What inotify says: names that came to new/ (taken in by one scan, which
 * is fair between their owners, whatever order they came in), cancel
 * requests, drains. At most a few buffers a turn, so a flood of events
 * keeps nothing else waiting. */
void read_inotify(struct coordinator *co);

/* Watch new/, cancel/ and drain/ with inotify on the coordinator's loop
 * (read_inotify takes the events); a failed watch of new/ leaves the
 * periodic scan (--rescan). */
void claim_watch(struct coordinator *co);

#endif
