/* SPDX-License-Identifier: MIT */
/* Rank 0's copies of task output to the paths of the "stdout" and
 * "stderr" job keys, each written by a child acting as the job's owner. */
#ifndef MPISPOOL_COPIES_H
#define MPISPOOL_COPIES_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asuser.h"
#include "jobfile.h"

/* At most this many children write copies at once; more attempts wait.
 * One child writes the copies of up to ASUSER_MAX_COPIES / 2 attempts of
 * one job: those queued when it starts. */
#define COPIES_MAX_RUNNING 16

/* What one job's copies need: made when the job is claimed. */
struct copy_job;

/* Make *out, what the job's copies need, or NULL when it has neither key.
 * spec and job_id must outlive it. who says as whom the job's tasks run
 * (switch_ids false: as this process); its groups are copied. Returns 0,
 * or -1 with err set. */
int copy_job_create(const struct jobspec *spec, const char *job_id,
                    const struct asuser_id *who, struct copy_job **out,
                    struct mps_error *err);
void copy_job_destroy(struct copy_job *cj);

/* Called when an attempt's copies are written: error is NULL, or one line
 * ("cannot copy stdout to '/x/3.out': Permission denied"). */
typedef void copies_done_fn(void *arg, void *cookie, const char *error);

struct copies;

struct copies *copies_create(copies_done_fn *done, void *arg);
/* Kills the children still at work and waits for them (no callbacks). */
void copies_destroy(struct copies *c);

/* Copy the output of attempt `task` of job cj: out_fd and err_fd hold
 * the spool's files of the attempt's stdout and stderr, open for reading
 * (they are read by offset), -1 when it wrote nothing on that stream.
 * They are borrowed: they must stay open until done(arg, cookie, ...) was
 * called. done may be called from here (out of memory), copies_flush and
 * copies_handle. */
void copies_queue(struct copies *c, const struct copy_job *cj, uint64_t task,
                  int out_fd, int err_fd, void *cookie);

/* Start children for the queued attempts, as many as may run: those of
 * one job that were queued by then share one child (call it once per
 * turn of the event loop, after the results of the turn came). */
void copies_flush(struct copies *c);

/* Attempts whose copies are queued or being written. */
size_t copies_pending(const struct copies *c);

/* The children's descriptors to poll (at most max); then copies_handle
 * with what poll said, which calls done for each attempt whose copies
 * ended and starts queued ones. */
int copies_pollfds(const struct copies *c, struct pollfd *fds, int max);
void copies_handle(struct copies *c, const struct pollfd *fds, int n);

/* Kill the children that started more than grace_us ago (a stop that
 * must not wait for ever on a hung file system); their attempts' copies
 * then fail. Returns the milliseconds until the next one is due, or -1. */
int copies_expire(struct copies *c, int64_t grace_us);

#endif
