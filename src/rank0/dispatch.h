/* SPDX-License-Identifier: MIT */
/* Handing task attempts out: the table of attempts out on ranks, the task
 * variables, sending an attempt through the backend, the dispatch turn. */
#ifndef MPISPOOL_RANK0_DISPATCH_H
#define MPISPOOL_RANK0_DISPATCH_H

#include "rank0.h"

struct dispatch *dispatch_find(struct coordinator *co, uint64_t id);

void dispatch_remove(struct coordinator *co, struct dispatch *d);

void dispatch_free(struct dispatch *d);

/* Whether task attempts are out: running, or ended with their copies or
 * records still to write. */
bool attempts_out(const struct coordinator *co);

/* The job ends without running: a dependency failed (state "failed"),
 * or, with cancel, an "after_notok" dependency succeeded ("cancelled"). */
void end_unrun(struct coordinator *co, struct job *job, const char *reason,
               bool cancel);

/* Hand out tasks while they fit. Jobs of the highest priority take turns;
 * when the task whose turn it is does not fit, nothing else starts until
 * it does (its cores are reserved as they free up), so a wide task is not
 * starved by a stream of narrow ones. Lower priorities wait. */
void dispatch(struct coordinator *co);

/* ---- cancel ---- */

/* Kill one attempt out on a rank (or on ourselves): SIGTERM to its
 * processes, SIGKILL grace seconds later. */
void end_dispatch(struct coordinator *co, struct dispatch *d, double grace);

/* Rank index r said BYE while attempts were still out on it: it is gone
 * (a lost PC). Each of those attempts ends as interrupted and runs again
 * at once on another rank, without counting as a failed attempt. */
void dispatch_rank_lost(struct coordinator *co, int r);

/* Free every attempt still out (a run torn down before their results
 * came: a test's, or a loop that failed). */
void dispatch_free_all(struct coordinator *co);

#endif
