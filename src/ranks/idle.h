/* SPDX-License-Identifier: MIT */
/* The idle-desktop policy (--idle-policy): whether a rank's PC is its
 * owner's right now (recent keyboard, mouse or terminal input, or load).
 * No MPI. */
#ifndef MPISPOOL_RANKS_IDLE_H
#define MPISPOOL_RANKS_IDLE_H

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

/* The newest activity time of p's input sources (wall clock, us since the
 * epoch), 0 when none exists. */
int64_t idle_last_input_us(const struct idle_policy *p);

/* The node's 1-minute load average (from loadfile when given), or -1 when
 * it cannot be read. */
double idle_read_load(const struct idle_policy *p);

/* The state of one rank's PC, fed observations by idle_monitor_update. */
struct idle_monitor {
    bool owner_active;
    enum idle_reason reason; /* why, while owner_active */
    int64_t since_us;        /* owner active since (wall us), or 0 */
    int64_t last_input_us;   /* newest input seen */
    int64_t last_load_us;    /* last time the load was at the threshold */
};

/* One observation at now_us (wall us): the newest input time and the
 * owner's load (the load average less this rank's own running tasks; a
 * negative value means unknown and is ignored). The owner is active while
 * input or load is less than p's idle period old: after the owner leaves,
 * the PC must stay quiet for the whole period. Returns true when
 * owner_active changed. A fresh monitor (all zero) starts idle. */
bool idle_monitor_update(struct idle_monitor *m, const struct idle_policy *p,
                         int64_t now_us, int64_t last_input_us,
                         double owner_load);

#endif
