/* SPDX-License-Identifier: MIT */
/* Dependencies between jobs ("after", "after_any", "after_notok"): cycles,
 * verdicts, what a job waits for. */
#ifndef MPISPOOL_RANK0_DEPS_H
#define MPISPOOL_RANK0_DEPS_H

#include "rank0.h"

bool has_dependencies(const struct jobspec *s);

/* A dependency on a job the spool does not know, on itself, or one that
 * waits (through others) for this job, is refused at claim: one line in
 * err. A cycle is complete by the time its last job is claimed, since a
 * job naming an id the spool does not know yet is refused. */
int check_dependency_ids(const struct coordinator *co, const struct job *job,
                         struct mps_error *err);

/* Start the jobs whose dependencies ended as needed; end unrun those whose
 * dependencies never will. The spool is the truth (as for several
 * coordinators and after a crash): looked at when a job ended or came, and
 * at every rescan. */
void check_dependencies(struct coordinator *co);

/* Why a job that has tasks to start has not started them, for the status
 * file and `mpispool status`; NULL when it is not waiting. */
const char *waiting_reason(struct coordinator *co, const struct job *job,
                           char *buf, size_t len);

#endif
