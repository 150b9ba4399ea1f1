/* SPDX-License-Identifier: MIT */
/* Rank 0's context: the coordinator, its jobs, the attempts out on ranks
 * and what it knows of each rank; shared by the modules of src/rank0/. */
#ifndef MPISPOOL_RANK0_H
#define MPISPOOL_RANK0_H

#include "codec.h"
#include "evloop.h"
#include "intake.h"

/* The status file is rewritten at most this often while something changed
 * (and at exit). */
#define STATUS_INTERVAL_US 250000

/* --metrics-file is rewritten at most this often (and at exit). */
#define METRICS_INTERVAL_US 2000000

/* Buckets of the task duration histogram of --metrics-file (metrics.c),
 * +Inf besides. */
#define NBUCKETS 12

/* A line on stderr, "mpispool-run: ...". */
#define logmsg(...) util_log("mpispool-run", __VA_ARGS__)

struct backend;
struct evloop;
struct evloop_timer;

#define DISPATCH_BUCKETS 4096

/* A coordinator claims more jobs only while fewer than this many of its
 * jobs have tasks not yet handed out, so that several coordinators on one
 * spool share its queue instead of the first one hoarding it. */
#define CLAIM_AHEAD 2

/* A scan of new/ works on files (takes, looks at, rejects them) for at
 * most this long, then lets the loop turn and goes on in the next turn:
 * a flood of files keeps nothing else waiting. */
#define INTAKE_SCAN_US 200000

/* Claims journaled with one sync. */
#define INTAKE_BATCH 16

/* Looks at job files left in new/ remembered (intake_cache). */
#define INTAKE_LOOKS (1 << 14)

/* A job that could not be set up for a passing reason is tried again
 * after 1 s, then after twice as long each time, up to this. */
#define SETUP_RETRY_MAX_US (30 * 1000000LL)

/* A cancelled task gets this long between SIGTERM and SIGKILL (at most
 * --kill-grace): mpispool cancel promises an end within a second. */
#define CANCEL_GRACE_S 0.5

/* Space held back on the spool's file system: freed when a write there
 * fails for lack of space, so records, reports and the journal still fit. */
#define RESERVE_BYTES (4 << 20)

/* The journal is compacted (only live jobs' lines kept) past this size. */
#define JOURNAL_COMPACT_BYTES (8 << 20)

/* Where a task of a task file came from (all 0 for other tasks). */
struct task_place {
    uint64_t line;   /* 1-based line of the task file */
    uint64_t number; /* its number in the whole task file */
    int64_t repeat;  /* its disBatch REPEAT index, -1 outside a REPEAT */
};

/* A task attempt waiting to be retried. */
struct retry {
    uint64_t task;
    unsigned attempt;
    unsigned failures; /* failed attempts so far (not interrupted ones) */
    struct taskcmd cmd;
    struct task_place place;
    int64_t not_before; /* monotonic us */
    struct retry *next;
};

struct job {
    char id[72];
    struct jobspec *spec;
    struct outdir *out; /* out/JOBID, its files made as the job's owner */
    uint64_t seq;       /* claim order */
    uint64_t ntasks;
    uint64_t next; /* next task never dispatched */
    struct taskfile *tasks;
    /* Runs its shell tasks: "interpreter", else its task file's "#!"
     * line, else /bin/bash for a disBatch task file; NULL: /bin/sh. */
    char *interpreter;
    /* A disBatch task file: its tasks get DISBATCH_* (nametasks is
     * DISBATCH_NAMETASKS). */
    bool disbatch;
    char *nametasks;
    struct job_archive *archive; /* its checked "archive", or NULL */
    struct retry *retries;
    uint64_t running, succeeded, failed;
    int64_t claimed_us, started_us;
    char **env; /* prepared once for every task */
    uint32_t envc;
    bool inherit;
    bool ended; /* every task ended: finalize this turn */
    /* Its tasks' timeout outlives the allocation: see hold_back_jobs. */
    bool held_back;
    /* Adopted from a dead coordinator's journal: how each task it knew
     * of stands (sorted by task); fresh tasks are checked against it. */
    struct replay_task *replay;
    size_t nreplay, replay_pos;
    /* mpispool cancel: the whole job, or these tasks (sorted) not yet
     * started; either makes the job's state "cancelled". */
    bool cancelled, cancel_all;
    uint64_t *cancel_tasks;
    size_t ncancel_tasks;
    struct job *next_job;
    /* "after"/"after_any"/"after_notok": not all of those jobs ended as
     * needed yet (see check_dependencies); waiting says on what, for the
     * status file (waiting_notok: for it to end without success). */
    bool deps_pending;
    char waiting[72]; /* the job id it waits for first, or "" */
    bool waiting_notok;
    /* Why the job ended before all its tasks ran, for its report:
     * "dependency X failed", "stopped by fail_fast: task N failed". */
    char *reason;
    /* "fail_fast": task ff_task failed for good, so no task of the job
     * starts any more and its running ones are being ended. */
    bool ff_stopped;
    uint64_t ff_task;
    /* Who its tasks run as (see job_owner). */
    bool as_user;
    uint32_t uid, gid, ngroups;
    uint32_t *groups;
    struct copy_job *copy; /* "stdout"/"stderr" copies, or NULL */
};

/* A task attempt out on a rank. */
struct dispatch {
    uint64_t id;
    struct job *job;
    uint64_t task;
    unsigned attempt;
    unsigned failures; /* failed attempts of the task before this one */
    int r;             /* the rank's index */
    int rank;          /* and its number */
    struct taskcmd cmd;
    struct task_place place;
    int out_fd, err_fd;
    int write_errno; /* first output write failure */
    bool cancelled;  /* killed by mpispool cancel or by fail_fast */
    bool fail_fast;  /* by fail_fast: another task of its job failed */
    uint64_t bytes[2];
    bool truncated[2]; /* output beyond --max-output was discarded */
    struct dispatch *next;
};

/* A result that arrived and waits for the journal sync of this turn (and
 * before that, for the attempt's stdout/stderr copies). */
struct ended {
    struct dispatch *d;
    struct attempt_result res;
    char *copy_error; /* why a copy failed, or NULL */
    struct ended *next;
};

struct rank_slot {
    int rank; /* its number in logs, records and the status file */
    bool hello, bye;
    bool lost; /* said BYE with attempts still out (rank_lost) */
    char host[256];
    unsigned slots;
    unsigned busy;
    unsigned tasks;
    uint64_t mem_total; /* bytes of memory the rank may hand out */
    unsigned gpus, gpus_busy;
    double load;           /* 1-minute load average of its node */
    uint64_t mem_reserved; /* by its running tasks' "memory" */
    /* --idle-policy: its PC's owner is active (from its HEARTBEATs, or
     * rank 0's own monitor when alone): it gets no tasks. */
    bool owner_active;
    uint8_t owner_reason;   /* enum idle_reason */
    int64_t owner_since_us; /* wall us */
    bool draining;          /* SPOOL/drain/HOST: no new tasks (scan_drain) */
};

/* A claimed job (in cur/) that could not be set up for a passing reason
 * (asuser_transient: a read-only or full file system, a quota, out of
 * descriptors): tried again with backoff, never rejected for it. */
struct pending {
    char name[80]; /* in cur/ */
    char id[72];
    bool id_checked;       /* its id was found free: out/ID may be ours now */
    struct replay_job *rj; /* adopted: what a dead journal knew, or NULL */
    unsigned attempts;
    int64_t next_try; /* monotonic us */
    char reason[256];
    struct pending *next;
};

struct coordinator {
    const struct run_options *opt;
    const struct rank_env *re;
    struct evloop *loop;
    struct backend *backend; /* the ranks that run tasks (backend.h) */
    int sigfd;               /* SIGTERM, SIGINT, SIGHUP, SIGUSR1 */
    /* Periodic duties: the full scan of new/ (--rescan), the status file
     * and the metrics file when changed, and a wake-up for the earliest
     * due retry or setup retry. */
    struct evloop_timer *rescan, *status, *metrics, *wake;
    struct evloop_fdset copy_children; /* copies' children, watched */
    bool shutdown_sent; /* the backend was told: every rank says BYE */
    bool ended;         /* the run is over */
    struct spool *sp;
    struct journal *journal;
    char name[300];
    char *status_path;
    int inotify_fd, new_wd, cancel_wd, drain_wd;
    struct requests *requests; /* cancel/ and drain/ */
    char *reserve_path;        /* journal/COORD.reserve, or NULL */
    int reserve_fd;            /* it, open once held */
    bool reserve_held;
    int outfd; /* SPOOL/out/ */
    char *outpath;
    struct rank_slot *ranks;
    int nranks; /* ranks that run tasks: 1 alone, else size - 1 workers */
    struct job *jobs;
    uint64_t claim_seq;
    uint64_t last_served; /* claim seq of the job that got the last task */
    struct dispatch *table[DISPATCH_BUCKETS];
    uint64_t next_dispatch;
    uint64_t ndispatched;
    struct ended *ended_head, *ended_tail;
    struct copies *copies; /* attempts' stdout/stderr copies at work */
    bool stopping;
    unsigned long kept_jobs; /* left claimed in cur/ by a stop */
    bool claims_deferred;    /* new/ has jobs we left for later */
    bool scan_again;         /* a scan of new/ stopped at its time budget */
    uid_t intake_after;      /* the owner whose file a scan took last */
    struct intake_announced announced; /* names inotify told of */
    struct intake_cache *looks;        /* what job files left in new/ hold */
    struct pending *pending;           /* claimed jobs waiting to be set up */
    int64_t started_us;
    int64_t last_status;
    bool status_dirty;
    unsigned long jobs_done, jobs_failed, jobs_rejected;
    unsigned long long tasks_succeeded, tasks_failed;
    bool check_deps; /* a job ended or came: look at dependencies again */
    /* --metrics-file: task attempts' durations (cumulative buckets are
     * summed when written), and when the file was last written. */
    uint64_t duration_count[NBUCKETS + 1];
    double duration_sum;
    uint64_t duration_total;
    bool metrics_dirty;
    uint64_t output_received; /* bytes of task output, for the metrics */
    int64_t last_metrics;     /* monotonic us */
};

#endif
