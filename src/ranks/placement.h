/* SPDX-License-Identifier: MIT */
/* CPU placement of tasks on a rank's cores with hwloc (no MPI). */
#ifndef MPISPOOL_PLACEMENT_H
#define MPISPOOL_PLACEMENT_H

#include <sched.h>
#include <stdbool.h>

#include "error.h"

/* A rank's share of its node's cores and which of them are busy.
 *
 * Placement is compact: a task asking for k cores gets them inside the
 * smallest topology object (core, L2, L3, NUMA node, package, machine)
 * that has k free cores of this rank; among objects of equal size the one
 * with the fewest free cores wins (best fit, which keeps larger holes for
 * larger tasks), then the first in topology order (first fit). Inside that
 * object the first k free cores in topology order are taken. A task gets
 * every PU (hardware thread) of its cores. */
struct placement;

/* Load a topology: source NULL is this machine; a path to an hwloc XML
 * file (ending in ".xml"); anything else is a synthetic description such
 * as "pack:2 l3:2 core:8 pu:2". The node's cores are split into nparts
 * contiguous blocks (in topology order) and this rank gets block part, so
 * ranks sharing a node never share a core (with more ranks than cores,
 * the last ranks get no core and run no tasks). */
struct placement *placement_create(const char *source, unsigned part,
                                   unsigned nparts, struct mps_error *err);
void placement_destroy(struct placement *pl);

/* Whether the topology is this machine's (so binding is meaningful). */
bool placement_is_this_system(const struct placement *pl);

/* This rank's cores, and how many of them are free. */
unsigned placement_cores(const struct placement *pl);
unsigned placement_free(const struct placement *pl);

/* Choose k free cores, mark them busy, and describe them: list gets the
 * PUs' OS indexes in Linux list form ("0-3,8-11"), mask (if not NULL) the
 * same as a cpu_set_t for sched_setaffinity. Returns 0, or -1 when fewer
 * than k cores are free (nothing is changed). */
int placement_take(struct placement *pl, unsigned k, char *list,
                   size_t list_len, cpu_set_t *mask);

/* Free the cores of a list placement_take returned. */
void placement_release(struct placement *pl, const char *list);

/* GPUs: hwloc's CUDA, NVML or ROCm SMI OS devices of the node, split among
 * its ranks like the cores. placement_gpus counts this rank's. */
unsigned placement_gpus(const struct placement *pl);

/* Take n free GPUs; cuda and rocr get the device indexes for
 * CUDA_VISIBLE_DEVICES and ROCR_VISIBLE_DEVICES ("0,1"; "" when none of
 * that kind). Returns 0, or -1 when fewer than n are free. */
int placement_take_gpus(struct placement *pl, unsigned n, char *cuda,
                        char *rocr, size_t len);

/* Free the GPUs whose CUDA and ROCm lists placement_take_gpus gave. */
void placement_release_gpus(struct placement *pl, const char *cuda,
                            const char *rocr);

#endif
