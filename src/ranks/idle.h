/* SPDX-License-Identifier: MIT */
/* The idle-desktop policy at work on a rank (--idle-policy): whether its
 * PC is its owner's right now (recent keyboard, mouse or terminal input,
 * or load). No MPI. */
#ifndef MPISPOOL_RANKS_IDLE_H
#define MPISPOOL_RANKS_IDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "idlepolicy.h"

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
