/* SPDX-License-Identifier: MIT */
/* Seam A: how rank 0 reaches the ranks that run its tasks.
 *
 * The coordinator hands a backend task attempts, cancels and the end of
 * the run; everything that comes back (HELLO, OUTPUT, RESULT, HEARTBEAT,
 * BYE) arrives as the wire messages a remote rank sends, through the one
 * deliver function the coordinator gave (coordinator_on_message). Ranks
 * are known by index 0..nranks-1; each has a number for logs, records and
 * the status file (its MPI rank; 0 for rank 0 alone).
 *
 * Three backends: MPI (backend_mpi.c: wire messages, doorbells, archive
 * shipping), local (backend_local.c: rank 0 alone runs its tasks with its
 * own executor, and is the only file of src/rank0/ that reaches
 * src/ranks/) and a scripted one for unit tests (backend_script.c). A
 * backend registers its descriptors and timers with the coordinator's
 * event loop itself. */
#ifndef MPISPOOL_RANK0_BACKEND_H
#define MPISPOOL_RANK0_BACKEND_H

#include "codec.h"

struct backend;
struct job_archive;

/* A message from rank index r; msg and what it points to are borrowed for
 * the call. */
typedef void (*backend_deliver_fn)(void *arg, int r,
                                   const struct wire_msg *msg);

struct backend_ops {
    /* Start attempt t on rank index r; archive (NULL: none) is the job's,
     * needed first. Returns 0, or -1 with err: the attempt never started
     * and no RESULT comes for it. */
    int (*send)(struct backend *b, int r, const struct attempt *t,
                struct job_archive *archive, struct mps_error *err);
    /* End attempt `dispatch` on rank index r (SIGTERM, SIGKILL after
     * grace_s); its RESULT still comes. */
    void (*cancel)(struct backend *b, int r, uint64_t dispatch, double grace_s);
    /* The run stops: end every attempt on every rank (grace_s as above),
     * and act on no more changes of an idle desktop's owner. */
    void (*stop)(struct backend *b, double grace_s);
    /* Nothing more will be sent: each rank finishes and says BYE. */
    void (*shutdown)(struct backend *b);
    /* After each turn of the loop: take in what arrived (deliver). Returns
     * the number of messages delivered. */
    int (*progress)(struct backend *b);
    /* How long the loop may sleep before the backend must look again
     * (-1: as long as it likes). */
    int (*poll_cap_ms)(struct backend *b);
    void (*destroy)(struct backend *b);
};

struct backend {
    const struct backend_ops *ops;
    int nranks;
    int first_rank; /* the number of rank index 0 */
    backend_deliver_fn deliver;
    void *arg;
};

static inline int backend_rank_number(const struct backend *b, int r)
{
    return b->first_rank + r;
}

#endif
