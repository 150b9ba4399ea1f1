/* SPDX-License-Identifier: MIT */
/* Rank 0, the coordinator: its context, setup and teardown, the one entry
 * point of what the ranks say, and the event loop that wires the modules
 * of src/rank0/ together (doc/design.md). */
#ifndef MPISPOOL_RANK0_COORDINATOR_H
#define MPISPOOL_RANK0_COORDINATOR_H

#include "codec.h"

struct backend;
struct coordinator;
struct evloop;
struct rank_env;
struct run_options;

/* Rank 0: serve the spool with the MPI backend (re->size > 1) or the
 * local one (alone); returns the process exit code. */
int coordinator_main(const struct run_options *opt, const struct rank_env *re);

/* The pieces of coordinator_main, for tests that bring their own backend
 * (backend_script.c):
 *
 * coordinator_create: the context for nranks ranks and its event loop
 * (coordinator_loop, where the backend registers what it watches); NULL
 * with err. coordinator_start: take over b, set up on opt->spool, adopt
 * dead coordinators' jobs and scan new/; -1 with err when setup failed
 * (the run then only tells the ranks to finish). coordinator_turn: one
 * turn of the loop (hand out tasks, poll, take in what came, end what
 * ended); false once the run is over. coordinator_finish: release what
 * is still claimed and write the last status; coordinator_destroy frees
 * everything, the backend included. */
struct coordinator *coordinator_create(const struct run_options *opt,
                                       const struct rank_env *re, int nranks,
                                       struct mps_error *err);
struct evloop *coordinator_loop(struct coordinator *co);
int coordinator_start(struct coordinator *co, struct backend *b,
                      struct mps_error *err);
bool coordinator_turn(struct coordinator *co);
int coordinator_finish(struct coordinator *co);
void coordinator_destroy(struct coordinator *co);

/* What rank index r said (backend_deliver_fn; arg is the coordinator):
 * HELLO, OUTPUT, RESULT, HEARTBEAT or BYE, from any backend alike. */
void coordinator_on_message(void *arg, int r, const struct wire_msg *msg);

#endif
