/* SPDX-License-Identifier: MIT */
/* What rank 0 knows of each rank: hello and bye, drain, the owner of an idle
 * desktop. */
#ifndef MPISPOOL_RANK0_RANKS_H
#define MPISPOOL_RANK0_RANKS_H

#include "rank0.h"

/* ---- drain ---- */

/* Mark rank index r draining or not, as drain/ says now; pick_rank skips
 * a draining rank. */
void check_drain(struct coordinator *co, int r);

/* Look at drain/ again for every rank (inotify, the rescan). */
void scan_drain(struct coordinator *co);

/* ---- idle desktops (--idle-policy) ---- */

/* Rank index r says whether its PC's owner is active; pick_rank skips it
 * while so. */
void note_owner(struct coordinator *co, int r, bool active, uint8_t reason,
                int64_t since_us);

/* ---- status ---- */
const char *rank_state(const struct rank_slot *rs);

/* ---- main loop ---- */
bool all_ranks_said_hello(const struct coordinator *co);

bool all_ranks_said_bye(const struct coordinator *co);

#endif
