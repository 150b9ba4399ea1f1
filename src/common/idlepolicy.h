/* SPDX-License-Identifier: MIT */
/* The idle-desktop policy as given (--idle-policy): what counts as the
 * owner being active and what a rank then does. Its use on a rank is
 * src/ranks/idle.h. No MPI. */
#ifndef MPISPOOL_IDLEPOLICY_H
#define MPISPOOL_IDLEPOLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* What a rank does with its running tasks when the owner comes back. */
enum idle_action {
    IDLE_SUSPEND, /* SIGSTOP them, SIGCONT when idle again */
    IDLE_REQUEUE, /* end them; they are recorded interrupted and run again */
};

/* Why the owner counts as active. */
enum idle_reason {
    IDLE_REASON_NONE = 0,
    IDLE_REASON_INPUT = 1, /* keyboard, mouse or terminal input */
    IDLE_REASON_LOAD = 2,  /* load average at or above the threshold */
};

/* Defaults of a SPEC that leaves a key out. */
#define IDLE_DEFAULT_LOAD 0.5
#define IDLE_DEFAULT_IDLE_S (15 * 60)
#define IDLE_DEFAULT_INPUT "/dev/input:/dev/pts:/dev/tty*"

struct idle_policy;

/* Parse SPEC: comma-separated key=value pairs, any subset of
 *   load=X        the owner is active while the 1-minute load average,
 *                 less the cpus of this rank's running tasks, is >= X
 *   idle=D        ... and until D passed with neither input nor such load
 *                 (D: seconds, or a number with s, m or h)
 *   input=P:P:... where input shows: glob patterns; a character device
 *                 counts by its access time, a regular file by its
 *                 modification time, a directory by its entries' (but
 *                 not one named ptmx; not recursively) ("" or
 *                 "none": no input source, load only)
 *   action=A      suspend or requeue
 *   loadfile=F    read the load from F's first number (as /proc/loadavg)
 *                 instead of getloadavg(3), e.g. to fake it in tests
 * An empty SPEC or "default" takes every default. Returns the policy, or
 * NULL with a message in err naming what is wrong. */
struct idle_policy *idle_policy_parse(const char *spec, struct mps_error *err);
void idle_policy_destroy(struct idle_policy *p);

double idle_policy_load(const struct idle_policy *p);
double idle_policy_idle_s(const struct idle_policy *p);
enum idle_action idle_policy_action(const struct idle_policy *p);
/* The input sources, colon-separated ("" when none). */
const char *idle_policy_input(const struct idle_policy *p);
/* The whole policy with defaults filled in, as a SPEC. */
const char *idle_policy_text(const struct idle_policy *p);

const char *idle_action_name(enum idle_action action);
/* "input", "load" or NULL. */
const char *idle_reason_name(enum idle_reason reason);

/* loadfile=F, or NULL. */
const char *idle_policy_loadfile(const struct idle_policy *p);

#endif
