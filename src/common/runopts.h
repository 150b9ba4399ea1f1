/* SPDX-License-Identifier: MIT */
/* Options of mpispool-run and what a rank found about its node, shared by
 * main, the coordinator and the workers. No MPI. */
#ifndef MPISPOOL_RUNOPTS_H
#define MPISPOOL_RUNOPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "archive_safe.h"
struct policy;
struct idle_policy;

struct run_options {
    const char *spool;    /* --spool DIR, or $MPISPOOL_SPOOL */
    bool until_empty;     /* --until-empty */
    unsigned slots;       /* --slots N: per worker rank, 0 = its cores */
    double rescan_s;      /* --rescan SECONDS: full scan of new/ */
    const char *workdir;  /* --workdir DIR: private task work dirs */
    double kill_grace_s;  /* --kill-grace SECONDS */
    uint64_t max_output;  /* --max-output SIZE: per task and stream */
    const char *topology; /* --topology SPEC: hwloc XML file or synthetic */
    const char *dry_run;  /* --dry-run K,K,...: print placements, no MPI */
    /* --archive-max-entries, --archive-max-bytes, --archive-max-ratio */
    struct archive_limits archive_limits;
    const char *allow_commands;  /* --allow-commands FILE (read by rank 0) */
    const char *deny_commands;   /* --deny-commands FILE (read by rank 0) */
    const struct policy *policy; /* parsed from rank 0's lists, or NULL */
    /* --end-time EPOCH, else $SLURM_JOB_END_TIME: when the allocation
     * ends (seconds since the epoch), 0 = never. A task whose "timeout"
     * would outlive it is not started. */
    double end_time;
    const struct idle_policy *idle; /* --idle-policy SPEC, or NULL */
    const char *metrics_file;       /* --metrics-file FILE (rank 0), or NULL */
};

/* What main found about this rank's node before handing over. */
struct rank_env {
    int rank;
    int size;
    unsigned slots;               /* task slots of this rank */
    unsigned long long mem_total; /* bytes of memory on the node */
    int local_rank;
    char host[256];
    unsigned local_index;   /* among the task-running ranks of its node */
    unsigned local_workers; /* how many of those the node has */
    int bell_listen;        /* rank 0: doorbell listening socket, or -1 */
    int bell;               /* workers: doorbell to rank 0, or -1 */
};

#endif
