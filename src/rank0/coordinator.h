/* SPDX-License-Identifier: MIT */
/* Rank 0: claims job files from the spool and hands their tasks out. */
#ifndef MPISPOOL_COORDINATOR_H
#define MPISPOOL_COORDINATOR_H

struct run_options;
struct rank_env;

/* Rank 0: serve the spool; returns the process exit code. */
int coordinator_main(const struct run_options *opt, const struct rank_env *re);

#endif
