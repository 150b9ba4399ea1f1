/* SPDX-License-Identifier: MIT */
/* Rank 0: the coordinator's context, its setup and teardown, and the event loop that wires the modules together. */
#ifndef MPISPOOL_RANK0_COORDINATOR_H
#define MPISPOOL_RANK0_COORDINATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archives.h"
#include "doorbell.h"
#include "executor.h"
#include "options.h"
#include "outdir.h"
#include "requests.h"
#include "transport.h"
#include "util.h"
#include "rank0.h"

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- messages ---- */
void handle_message(struct coordinator *co, struct wire_msg *msg);

#endif
