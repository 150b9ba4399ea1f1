/* SPDX-License-Identifier: MIT */
/* The local backend (backend.h): rank 0 alone runs the tasks itself. */
#ifndef MPISPOOL_RANK0_BACKEND_LOCAL_H
#define MPISPOOL_RANK0_BACKEND_LOCAL_H

#include "backend.h"

struct evloop;
struct run_options;
struct rank_env;

/* One rank, index 0, number 0: an executor of re->slots slots in a private
 * directory under opt->workdir, bound to this rank's cores, with opt's
 * policy, kill grace, output limit and idle policy. Its pipes, deadlines,
 * SIGCHLD and idle checks are watched on loop. NULL with err. */
struct backend *backend_local_create(struct evloop *loop,
                                     const struct run_options *opt,
                                     const struct rank_env *re,
                                     backend_deliver_fn deliver, void *arg,
                                     struct mps_error *err);

#endif
