/* SPDX-License-Identifier: MIT */
/* The local backend: rank 0 alone runs its tasks with its own executor. */
#ifndef MPISPOOL_RANK0_BACKEND_LOCAL_H
#define MPISPOOL_RANK0_BACKEND_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asuser.h"
#include "executor.h"
#include "idle.h"
#include "intake.h"
#include "options.h"
#include "outdir.h"
#include "requests.h"
#include "rank0.h"

void on_local_output(void *arg, uint64_t id, int stream,
                            const char *data, size_t len);

void on_local_result(void *arg, uint64_t id,
                            const struct exec_result *res);

/* Rank 0 alone applies the policy to itself, every IDLE_CHECK_US. */
void check_local_idle(struct coordinator *co);

#endif
