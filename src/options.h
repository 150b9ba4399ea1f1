/* SPDX-License-Identifier: MIT */
/* Options of mpispool-run, shared by the coordinator and the workers. */
#ifndef MPISPOOL_OPTIONS_H
#define MPISPOOL_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "archive_safe.h"
struct policy;
struct idle_policy;
struct idle_monitor;

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

/* Rank 0: serve the spool; returns the process exit code. */
int coordinator_main(const struct run_options *opt, const struct rank_env *re);

/* Ranks 1..N-1: run what rank 0 sends; returns the process exit code. */
int worker_main(const struct run_options *opt, const struct rank_env *re);

struct exec_result;
struct wire_result;

/* The RESULT message for an attempt the executor reports ended (its
 * strings are borrowed from res). */
struct wire_result worker_result_message(uint64_t dispatch,
                                         const struct exec_result *res);

struct executor;

/* Bind ex's tasks to this rank's share of the node's cores (unless --slots
 * asked for plain slots); logs and carries on unbound if hwloc fails. */
void run_place_tasks(struct executor *ex, const struct run_options *opt,
                     const struct rank_env *re);

/* How often a rank with --idle-policy looks at input and load. */
#define IDLE_CHECK_US 1000000

/* --idle-policy on one rank: look at input and load, and when the owner
 * comes or goes act on ex's tasks (action suspend: SIGSTOP, SIGCONT when
 * idle again; requeue: end them as interrupted, with grace_s between
 * SIGTERM and SIGKILL) and log it. On a change, announce(arg) is called
 * (when not NULL) before the tasks are touched, so rank 0 hears of the
 * owner before their results. Returns true when the owner's state
 * changed. */
bool run_idle_check(const struct idle_policy *p, struct idle_monitor *m,
                    struct executor *ex, int rank, const char *host,
                    double grace_s, void (*announce)(void *), void *arg);

/* A signalfd for the signals main blocked (SIGCHLD, SIGTERM, SIGINT,
 * SIGHUP), or -1. */
int run_signalfd(void);

#endif
