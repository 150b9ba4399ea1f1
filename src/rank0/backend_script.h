/* SPDX-License-Identifier: MIT */
/* The scripted backend (backend.h), for unit tests: no rank runs
 * anything. It records each call the coordinator makes, in order, for the
 * test to read, and says what the test scripts the ranks to say. */
#ifndef MPISPOOL_RANK0_BACKEND_SCRIPT_H
#define MPISPOOL_RANK0_BACKEND_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"

struct evloop;

enum script_call_type {
    SCRIPT_SEND,
    SCRIPT_CANCEL,
    SCRIPT_STOP,
    SCRIPT_SHUTDOWN
};

/* One call of the coordinator: send (r, dispatch, job, task, attempt,
 * cpus, argv0), cancel (r, dispatch, grace), stop (grace) or shutdown. */
struct script_call {
    enum script_call_type type;
    int r; /* rank index; -1 for stop and shutdown */
    uint64_t dispatch;
    char job[72];
    uint64_t task;
    unsigned attempt;
    unsigned cpus;
    char argv0[128]; /* the first argument (a shell task's command) */
    double grace;
};

/* nranks ranks, indices 0..nranks-1, numbered 1..nranks as MPI workers
 * are. deliver and arg: as for any backend (coordinator_on_message and
 * the coordinator). loop is not used: nothing is watched. NULL when out
 * of memory. */
struct backend *backend_script_create(struct evloop *loop, int nranks,
                                      backend_deliver_fn deliver, void *arg);

/* The calls so far, in order: how many, and call i (0-based; valid until
 * the next call of the coordinator). */
int backend_script_ncalls(const struct backend *b);
const struct script_call *backend_script_call(const struct backend *b, int i);
/* How many calls of this type there were. */
int backend_script_count(const struct backend *b, enum script_call_type type);
/* The last send of attempt `attempt` of task `task` of job, or NULL. */
const struct script_call *backend_script_find_send(const struct backend *b,
                                                   const char *job,
                                                   uint64_t task,
                                                   unsigned attempt);

/* What rank index r says, queued; progress() delivers the queue in order
 * after the next poll, as real messages arrive. Strings are copied. */
void backend_script_hello(struct backend *b, int r, unsigned slots,
                          uint64_t mem_total, unsigned gpus, const char *host);
void backend_script_output(struct backend *b, int r, uint64_t dispatch,
                           int stream, const char *text);
/* error may be NULL; interrupted: ended because its owner came back. */
void backend_script_result(struct backend *b, int r, uint64_t dispatch,
                           int exit_code, int signal, const char *error,
                           bool interrupted);
void backend_script_heartbeat(struct backend *b, int r, bool owner_active);
void backend_script_bye(struct backend *b, int r);

#endif
