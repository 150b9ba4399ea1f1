/* SPDX-License-Identifier: MIT */
/* A worker rank: runs the tasks rank 0 sends and reports back. */
#ifndef MPISPOOL_WORKER_H
#define MPISPOOL_WORKER_H

#include <stdint.h>

#include "codec.h"
struct exec_result;
struct run_options;
struct rank_env;

/* Ranks 1..N-1: run what rank 0 sends; returns the process exit code. */
int worker_main(const struct run_options *opt, const struct rank_env *re);

/* The RESULT message for an attempt the executor reports ended (its
 * strings are borrowed from res). */
struct attempt_result worker_result_message(uint64_t dispatch,
                                            const struct exec_result *res);

#endif
