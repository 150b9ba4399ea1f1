/* SPDX-License-Identifier: MIT */
/* The status file SPOOL/status/COORD.json (doc/formats.md): the one owner
 * of its schema, its name, its writer (rank 0) and its loader (the CLI).
 * No MPI. */
#ifndef MPISPOOL_STATUSFILE_H
#define MPISPOOL_STATUSFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct spool;

/* The keys of the schema, in the order the writer writes them. */
#define SF_COORDINATOR "coordinator"
#define SF_HOST "host"
#define SF_PID "pid"
#define SF_STARTED "started"
#define SF_UPDATED "updated"
#define SF_STATE "state"
#define SF_UNTIL_EMPTY "until_empty"
#define SF_SLOTS "slots" /* {"total", "busy", "free"} */
#define SF_SLOTS_TOTAL "total"
#define SF_SLOTS_BUSY "busy"
#define SF_SLOTS_FREE "free"
#define SF_RANKS "ranks"
#define SF_JOBS "jobs"
#define SF_TOTALS "totals"
#define SF_IDLE_POLICY "idle_policy" /* top level and per rank */
/* ranks[] */
#define SF_RANK "rank"
#define SF_RANK_HOST "host"
#define SF_RANK_SLOTS "slots"
#define SF_RANK_BUSY "busy"
#define SF_RANK_TASKS "tasks"
#define SF_RANK_STATE "state"
#define SF_MEMORY "memory"
#define SF_MEMORY_RESERVED "memory_reserved"
#define SF_GPUS "gpus"
#define SF_GPUS_BUSY "gpus_busy"
#define SF_LOAD "load"
/* ranks[].idle_policy */
#define SF_OWNER_ACTIVE "owner_active"
#define SF_OWNER_ACTION "action"
#define SF_OWNER_REASON "reason"
#define SF_OWNER_SINCE "since"
/* jobs[] */
#define SF_JOB "job"
#define SF_JOB_NAME "name"
#define SF_JOB_STATE "state"
#define SF_JOB_PRIORITY "priority"
#define SF_JOB_TASKS "tasks"
#define SF_JOB_PENDING "pending"
#define SF_JOB_RUNNING "running"
#define SF_JOB_SUCCEEDED "succeeded"
#define SF_JOB_FAILED "failed"
#define SF_JOB_STARTED "started"
#define SF_JOB_WAITING "waiting"
#define SF_JOB_REASON "reason"
/* totals */
#define SF_JOBS_DONE "jobs_done"
#define SF_JOBS_FAILED "jobs_failed"
#define SF_JOBS_REJECTED "jobs_rejected"
#define SF_TASKS_SUCCEEDED "tasks_succeeded"
#define SF_TASKS_FAILED "tasks_failed"

/* A status file older than this (updated) whose state is not "stopped" is
 * shown "(stale)": its coordinator may have died. */
#define STATUSFILE_STALE_S 10

/* One rank (ranks[]). */
struct statusfile_rank {
    int rank;
    const char *host;
    unsigned slots, busy, tasks;
    const char *state; /* starting | idle | busy | owner-active | ... */
    uint64_t memory, memory_reserved; /* bytes */
    unsigned gpus, gpus_busy;
    double load;
    /* "idle_policy" (--idle-policy only): written when idle_action is not
     * NULL; reason (NULL: null) and since (0: null) only while
     * owner_active. */
    const char *idle_action;
    bool owner_active;
    const char *owner_reason;
    int64_t owner_since_us;
};

/* One job (jobs[]). */
struct statusfile_job {
    const char *job;
    const char *name;  /* NULL: null */
    const char *state; /* queued | running | stopping */
    int priority;
    uint64_t tasks, pending, running, succeeded, failed;
    int64_t started_us;  /* 0: no "started" */
    const char *waiting; /* NULL: null */
    const char *reason;  /* NULL: no "reason" */
};

/* The whole file. Strings are the caller's (the writer's) or the loaded
 * object's (statusfile_decode); ranks and jobs are arrays. */
struct statusfile {
    const char *coordinator, *host;
    int pid;
    int64_t started_us, updated_us;
    const char *state; /* running | stopping | stopped */
    bool until_empty;
    unsigned slots_total, slots_busy; /* "free" is total - busy */
    struct statusfile_rank *ranks;
    size_t nranks;
    struct statusfile_job *jobs;
    size_t njobs;
    unsigned long jobs_done, jobs_failed, jobs_rejected;
    unsigned long long tasks_succeeded, tasks_failed;
    const char *idle_policy; /* NULL: no "idle_policy" */
};

/* The coordinator's name HOST-PID into buf (size bytes); buf. */
char *statusfile_coord_name(const char *host, int pid, char *buf, size_t size);
/* The path of coordinator coord's status file, SPOOL/status/COORD.json
 * (malloc'd; NULL: no memory). */
char *statusfile_path(const struct spool *sp, const char *coord);

/* The file's text: JSON indented by 2, members in the schema's order,
 * without a final newline (malloc'd; NULL: no memory). */
char *statusfile_text(const struct statusfile *sf);
/* Write sf to path atomically (a temporary file renamed over it). 0, or
 * -1 with err. */
int statusfile_write(const char *path, const struct statusfile *sf,
                     struct mps_error *err);

/* The status files of the spool (SPOOL/status/ *.json but dot files),
 * sorted by name, each that parses as a JSON object; those that do not
 * (being replaced, damaged) are left out. An array; NULL: no memory. */
json_t *statusfile_load_all(const struct spool *sp);
/* Decode a loaded status object into *sf: its strings point into st,
 * missing members are 0 or NULL; free it with statusfile_free. 0, or -1
 * when out of memory. */
int statusfile_decode(json_t *st, struct statusfile *sf);
void statusfile_free(struct statusfile *sf);
/* Whether a status whose state is state, updated age_s seconds ago, is
 * stale (shown "(stale)"). */
bool statusfile_stale(const char *state, double age_s);

#endif
