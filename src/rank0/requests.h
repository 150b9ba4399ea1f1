/* SPDX-License-Identifier: MIT */
/* Rank 0's side of the requests users make about jobs: cancel requests
 * and withdrawn jobs in cancel/, drains in drain/; each honoured only when
 * made by someone who may (asuser_may_act), read without blocking. */
#ifndef MPISPOOL_RANK0_REQUESTS_H
#define MPISPOOL_RANK0_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct spool;

/* What the coordinator does for the requests. */
struct requests_ops {
    /* Whether this coordinator holds job id (claimed, in cur/). */
    bool (*held)(void *arg, const char *id);
    /* Cancel job id, which this coordinator holds: all of it (n 0), or
     * its tasks tasks[0..n-1]. */
    void (*cancel)(void *arg, const char *id, const uint64_t *tasks, size_t n);
    /* One line for the log. */
    void (*log)(void *arg, const char *line);
};

struct requests;

/* Requests of spool sp (which must outlive them), for a coordinator whose
 * own uid is its administrator's. NULL with err set on failure. */
struct requests *requests_create(struct spool *sp,
                                 const struct requests_ops *ops, void *arg,
                                 struct mps_error *err);
void requests_destroy(struct requests *rq);

/* Act on what cancel/ holds:
 * - cancel/JOBID or cancel/JOBID+ANYTHING, a request (holding task
 *   numbers, or nothing for the whole job): refused (logged, removed)
 *   unless its owner is the job's owner, root or the administrator;
 *   applied (ops->cancel) and removed when the job is held here; left for
 *   later while the job waits in new/ or another coordinator holds it;
 *   removed when the job has ended or never was;
 * - cancel/JOBID.json, a queued job its owner withdrew (spool_withdrawn):
 *   filed as cancelled (its report written as its owner, then moved to
 *   failed/); such a file that withdraws nothing (another user's, or the
 *   job is elsewhere) is removed;
 * - anything that is not a regular file with one link (a FIFO, a device,
 *   a link, a directory) is removed, or left when it cannot be; nothing
 *   is opened that could block. */
void requests_scan_cancel(struct requests *rq);

/* Whether drain/ asks that the ranks on host get no new tasks: drain/HOST
 * or drain/SHORT (HOST up to its first '.') is a regular file made by root
 * or the administrator (spool_drain_honoured). */
bool requests_host_drained(const struct requests *rq, const char *host);

#endif
