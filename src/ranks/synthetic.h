/* SPDX-License-Identifier: MIT */
/* Plain hwloc synthetic descriptions, whose shape is read without hwloc. */
#ifndef MPISPOOL_RANKS_SYNTHETIC_H
#define MPISPOOL_RANKS_SYNTHETIC_H

#include <stdbool.h>

#define SYNTHETIC_MAX_LEVELS 16

/* A plain topology: below the machine, levels of objects that each split
 * every object of the level above into arity[i] parts; the last level is
 * the PUs. PU OS indexes are 0, 1, ... in tree order, as hwloc numbers
 * them. */
struct synthetic_shape {
    unsigned nlevels;
    unsigned arity[SYNTHETIC_MAX_LEVELS];
    int core_level; /* index of the core level, -1 when there is none */
};

/* Whether desc is a plain description: only TYPE:N tokens, of types hwloc
 * keeps whole by default (package, die, data or unified caches above the
 * core level, one core level, and the PU level last), with at most max_pus
 * PUs; if so, fill shape. Anything else (attributes, NUMA or group levels,
 * instruction caches, bare numbers) is not plain: hwloc must build it.
 * desc must already be valid for hwloc_topology_set_synthetic. */
bool synthetic_plain(const char *desc, unsigned long max_pus,
                     struct synthetic_shape *shape);

#endif
