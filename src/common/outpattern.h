/* SPDX-License-Identifier: MIT */
/* Output file patterns of the "stdout"/"stderr" job keys: %j, %t, ... */
#ifndef MPISPOOL_OUTPATTERN_H
#define MPISPOOL_OUTPATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* A pattern is a path in which these stand for values, as in sbatch -o:
 *   %j, %A   the job id              %t, %a   the task number (from 0)
 *   %x       the job's name          %u       the job owner's user name
 *   %%       a '%'
 * A width of 1 to 10 digits between '%' and the letter zero-pads a task
 * number ("%4t": 0007); it is accepted and ignored before the others (a job
 * id is not a number). Anything else after a '%' is an error. */

/* What the letters stand for in one expansion. */
struct outpattern_vars {
    const char *job;  /* %j, %A */
    uint64_t task;    /* %t, %a */
    const char *name; /* %x; NULL when the job has none */
    const char *user; /* %u */
};

/* Check a pattern, the value of job key `key` ("stdout"): not empty, no
 * unknown letter or lone '%', widths up to 10. Returns 0, or -1 with one
 * line in err ("'stdout': unknown pattern '%q' (known: ...)"). */
int outpattern_check(const char *key, const char *pattern,
                     struct mps_error *err);

/* Whether a checked pattern uses letter ('t', 'x', ...) in any spelling:
 * outpattern_uses(p, 't') is also true for %a, 'j' for %A. */
bool outpattern_uses(const char *pattern, char letter);

/* A job of ntasks tasks may only copy to a pattern with a task number in
 * it: otherwise every task would write the same file. Returns 0, or -1
 * with the reason in err. */
int outpattern_check_tasks(const char *key, const char *pattern,
                           uint64_t ntasks, struct mps_error *err);

/* Expand a checked pattern into buf (len bytes). Returns the length of the
 * expansion, or -1 when it does not fit (errno ENAMETOOLONG) or uses %x
 * without a name (EINVAL). */
int outpattern_expand(const char *pattern, const struct outpattern_vars *vars,
                      char *buf, size_t len);

#endif
