/* SPDX-License-Identifier: MIT */
/* submit's dependency options (--after, --after-any, --after-notok and
 * Slurm's --dependency) and the check that a job's dependencies are jobs
 * of the spool. */
#ifndef MPISPOOL_DEPENDS_H
#define MPISPOOL_DEPENDS_H

#include <jansson.h>

#include "spool.h"

/* Add the job ids of list ("ID[:ID...]", the argument of option opt) to
 * the array deps[key] (deps is an object of such arrays; key is "after",
 * "after_any" or "after_notok"). Returns 0, or 2 after a usage error. */
int depends_add_ids(json_t *deps, const char *key, const char *opt,
                    const char *list);

/* Add Slurm's --dependency spec "TYPE:ID[:ID...][,TYPE:ID[:ID...]...]"
 * to deps: afterok is "after", afterany "after_any", afternotok
 * "after_notok". Slurm's other types and its '?' (any of) are refused by
 * name. Returns 0, or 2 after a usage error. */
int depends_add_slurm(json_t *deps, const char *spec);

/* Append the ids of deps to the job's arrays of the same keys, each id
 * once (a key of the job that is no array is left for validation). */
void depends_apply(json_t *job, json_t *deps);

/* Whether every job the job's "after", "after_any" and "after_notok" name
 * is a job of the spool (in new/, cur/, done/, failed/ or rejected/).
 * Returns 0, or 1 after a message naming the first that is not. */
int depends_check(const struct spool *sp, json_t *job);

#endif
