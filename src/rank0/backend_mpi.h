/* SPDX-License-Identifier: MIT */
/* The MPI backend (backend.h): worker ranks 1..nworkers over wire
 * messages and doorbells. */
#ifndef MPISPOOL_RANK0_BACKEND_MPI_H
#define MPISPOOL_RANK0_BACKEND_MPI_H

#include "backend.h"

struct evloop;

/* Rank index r is MPI rank r + 1. bell_listen (taken over; -1: none) is
 * where workers connect their doorbells; it and the doorbells are
 * watched on loop. NULL with err when out of memory. */
struct backend *backend_mpi_create(struct evloop *loop, int nworkers,
                                   int bell_listen, backend_deliver_fn deliver,
                                   void *arg, struct mps_error *err);

#endif
