/* SPDX-License-Identifier: MIT */
/* The executor's internals, shared by its files (not part of its API):
 * executor.c (queue, slots, output pipes, reaping, timers), exec_env.c
 * (a task's environment), exec_start.c (a task's work directory, archive,
 * cores, GPUs and cgroups), exec_child.c (the child that execs a command)
 * and exec_kill.c (signals, leftovers, results, cancel and suspend). */
#ifndef MPISPOOL_EXECUTOR_INT_H
#define MPISPOOL_EXECUTOR_INT_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "cgroup.h"
#include "executor.h"

/* How often the executor tries again to remove a cgroup it could not. */
#define STALE_RETRY_US (1000 * 1000)

/* A task's cgroup that still held a process when the task ended (one in
 * uninterruptible sleep ignores SIGKILL for a while). */
struct stale_cgroup {
    char *path;
    struct stale_cgroup *next;
};

/* A task waiting for slots or running: a deep copy of the attempt that was
 * submitted (a.cpus is at least 1; a.ngroups and a.groups are 0 and NULL
 * without a.as_user) and what this node adds to it. */
struct xtask {
    struct attempt a;
    char *archive;     /* to extract into private_dir first, or NULL */
    bool archive_copy; /* archive is this rank's own copy (exec_task) */
    int archive_fd;    /* the archive open (rank 0's), or -1: by path */
    struct archive_limits archive_limits;

    /* Set once started. */
    pid_t pid;
    int out_fd, err_fd;
    bool exited;
    int status;
    struct rusage usage;
    int64_t start_us, end_us;
    int64_t timeout_at;  /* monotonic us, 0 = none */
    int64_t kill_at;     /* monotonic us of the SIGKILL, 0 = none */
    int64_t drain_until; /* monotonic us, 0 until the task exited */
    bool timed_out;
    bool interrupted;     /* by executor_interrupt */
    bool suspended;       /* SIGSTOPped by executor_suspend */
    int64_t suspended_at; /* monotonic us */
    char *error;
    char *private_dir; /* its work directory in the executor's, or NULL */
    int private_fd;    /* the same, opened when made; -1 with none */
    char *first_error; /* with steps: the first failed step's error */
    char *cores;       /* PU list it was given, or NULL */
    char *cgroup;      /* its memory cgroup, or NULL */
    char *track;       /* the cgroup holding all its processes, or NULL */
    char token[64];    /* MPISPOOL_ATTEMPT_TOKEN: marks its processes */
    char gpu_cuda[128], gpu_rocr[128]; /* GPUs it holds */
    bool holds_gpus;
    cpu_set_t mask; /* the same, for sched_setaffinity */
    bool bind;      /* apply mask in the child */
    uint64_t out_bytes, err_bytes;
    /* a.steps: run one after another in run_dir; step is the current one,
     * step_res what the ended ones did. */
    size_t step;
    bool stopped; /* cancelled or interrupted: start no further step */
    char *run_dir;
    struct step_record *step_res;
    int64_t step_start_us;
    uint64_t step_out0, step_err0;       /* out_bytes, err_bytes at its start */
    double steps_user_s, steps_system_s; /* rusage of the ended steps */
    long steps_max_rss_kb;
    struct xtask *next;
};

struct executor {
    unsigned slots;
    unsigned busy; /* cpus of running tasks */
    char *workdir; /* the rank's private directory */
    int workdir_fd;
    struct exec_callbacks cb;
    int devnull;
    bool paused;
    struct xtask *running;
    struct xtask *queue_head, *queue_tail;
    unsigned nrunning, nqueued;
    double kill_grace_s;
    uint64_t max_forward;        /* output passed on per stream, 0: all of it */
    bool starting;               /* inside start_queued: no re-entry */
    bool suspended;              /* executor_suspend: start nothing */
    struct placement *pl;        /* cores to bind tasks to, or NULL */
    const struct policy *policy; /* programs tasks may run, or NULL */
    int cg_version;              /* memory cgroups: 1, 2, or 0 for RLIMIT_AS */
    char cg_base[4096];
    enum cgroup_track track_kind; /* tracking cgroups, or none */
    char track_base[4096];
    bool no_clone3; /* clone3 into a cgroup failed: join by cgroup.procs */
    char token_prefix[48];      /* this executor's part of every task's token */
    struct stale_cgroup *stale; /* cgroups to kill and remove later */
    int64_t stale_retry_at;     /* monotonic us */
    char *buf;
};

/* executor.c */

/* Free t and the copies it holds (its output pipes are the caller's). */
void xtask_free(struct xtask *t);

/* Start queued tasks while their cpus fit in the free slots (not while
 * suspended, nor from inside itself). */
void exec_start_queued(struct executor *ex);

/* exec_env.c */

/* The task's environment: the base (this process's, less launcher
 * variables, when inherit; never for a task that runs as another user,
 * which gets login variables instead), the task's env over it, then
 * MPISPOOL_*. NULL when out of memory. */
char **exec_build_env(const struct xtask *t);

/* The value of key in envp, or NULL. */
const char *exec_env_get(char *const *envp, const char *key);

/* exec_start.c */

/* Set t->error to fmt with what and strerror(errnum). */
void exec_set_error(struct xtask *t, const char *fmt, const char *what,
                    int errnum);

/* Start t. On failure before fork, t->error says why and t ends at once. */
void exec_start_task(struct executor *ex, struct xtask *t);

/* Remove t's private work directory, if it has one. */
void exec_remove_private_dir(struct executor *ex, struct xtask *t);

/* exec_child.c */

/* Start t's command (its current step's, with steps) in t->run_dir, in its
 * cgroups. On failure t->error says why and the command ends at once. */
void exec_spawn_command(struct executor *ex, struct xtask *t);

/* exec_kill.c */

/* Send sig to all of t: its process group, and every other process of its
 * tracking cgroup or, without one, every process marked as its. */
void exec_signal_task(struct executor *ex, struct xtask *t, int sig);

/* SIGTERM to all of t (and SIGCONT when it is suspended). */
void exec_terminate_task(struct executor *ex, struct xtask *t);

/* t's main process has exited: kill what it left behind. */
void exec_kill_leftovers(struct executor *ex, struct xtask *t);

/* Kill what is left in the stale cgroups and remove those now empty. */
void exec_retry_stale(struct executor *ex);

/* Once t exited and its output is drained: start its next step, or
 * deliver its result and forget it. */
void exec_maybe_finish(struct executor *ex, struct xtask *t);

#endif
