/* SPDX-License-Identifier: MIT */
/* --metrics-file: the Prometheus text exposition of rank 0's counters. */
#ifndef MPISPOOL_RANK0_METRICS_H
#define MPISPOOL_RANK0_METRICS_H

#include "rank0.h"

/* Upper bounds (seconds) of the task duration histogram's buckets; +Inf
 * follows. */
extern const double duration_buckets[];

/* --metrics-file: Prometheus text format (0.0.4), written to FILE.tmp and
 * renamed over FILE, as node_exporter's textfile collector wants. */
void write_metrics(struct coordinator *co);

#endif
