/* SPDX-License-Identifier: MIT */
/* A worker rank: runs the tasks rank 0 sends and reports back. */
#ifndef MPISPOOL_WORKER_H
#define MPISPOOL_WORKER_H

struct run_options;
struct rank_env;

/* Ranks 1..N-1: run what rank 0 sends; returns the process exit code. */
int worker_main(const struct run_options *opt, const struct rank_env *re);

#endif
