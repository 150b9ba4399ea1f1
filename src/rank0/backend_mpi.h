/* SPDX-License-Identifier: MIT */
/* The MPI backend: tasks, cancels and shutdowns as wire messages, doorbells, messages received. */
#ifndef MPISPOOL_RANK0_BACKEND_MPI_H
#define MPISPOOL_RANK0_BACKEND_MPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "copies.h"
#include "doorbell.h"
#include "executor.h"
#include "intake.h"
#include "journal.h"
#include "options.h"
#include "outdir.h"
#include "outpattern.h"
#include "record.h"
#include "requests.h"
#include "spool.h"
#include "taskfile.h"
#include "transport.h"
#include "util.h"
#include "rank0.h"

/* Send to worker index r (rank r + 1) and ring its doorbell. */
int send_to(struct coordinator *co, int r, enum wire_type type,
                   struct wire_buf *buf);

int receive_messages(struct coordinator *co);

bool all_ranks_have_bells(const struct coordinator *co);

void accept_bells(struct coordinator *co);

/* A ring: the MPI receive after poll picks up what it announced. A closed
 * doorbell (its rank died or finished) is dropped. */
void drain_bell(struct coordinator *co, int fd);

void send_shutdown(struct coordinator *co);

#endif
