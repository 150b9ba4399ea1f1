/* SPDX-License-Identifier: MIT */
/* The status file: rank 0's view of its ranks and jobs, rewritten while it
 * runs. */
#ifndef MPISPOOL_RANK0_STATUS_H
#define MPISPOOL_RANK0_STATUS_H

#include "rank0.h"

void write_status(struct coordinator *co, const char *state);

#endif
