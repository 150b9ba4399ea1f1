/* SPDX-License-Identifier: MIT */
/* Runs tasks on this node: fork, exec, capture output, reap, kill. No MPI. */
#ifndef MPISPOOL_EXECUTOR_H
#define MPISPOOL_EXECUTOR_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive_safe.h"
#include "attempt.h"
#include "error.h"

/* A task attempt to run (a; its dispatch is echoed in callbacks) and what
 * only this node knows about it. The executor copies what it keeps.
 *
 * Its fields as the executor reads them: cpus 0 counts as 1; memory is
 * the bytes the task may use; gpus the GPUs to hand it; with inherit the
 * environment starts from this process's (filtered); cwd must exist;
 * submit_dir is used when it exists; env is applied over the base; the
 * archive flag is not read (archive below is); as_user (needs root) runs
 * it as uid, gid and groups. "steps" run one after another instead of
 * argv, in one work directory (the private one unless cwd is given), with
 * the same limits, cgroup and cores; the timeout covers all of them.
 * Shell commands (argv[0] with shell, and shell steps) run as
 * "interpreter -c COMMAND": a program looked up in the task's PATH, or an
 * absolute path; NULL is /bin/sh. A command longer than one argument may
 * be (JOBFILE_MAX_ARG) is handed over in pieces:
 * "interpreter -c 'eval "set --; ${1}...${N}"' interpreter PIECE...",
 * which leaves the command no positional parameter and no variable.
 * ntasks and line become MPISPOOL_TASK_COUNT and MPISPOOL_TASK_LINE (0:
 * not set). */
struct exec_task {
    const struct attempt *a;
    /* An archive to extract into the task's private work directory before
     * it starts (the task then runs there unless cwd is given), or NULL;
     * extracted within archive_limits (NULL: the defaults). */
    const char *archive;
    /* With archive_by_fd, the archive is read from archive_fd (rank 0's
     * descriptor, held since the job was claimed; the executor keeps a
     * duplicate) and archive is only its name in messages. */
    bool archive_by_fd;
    int archive_fd;
    const struct archive_limits *archive_limits;
    /* archive is this rank's own copy of the job's archive (a worker's,
     * in its private directory): opened with this process's rights,
     * never through a link. Otherwise it is a path of the job file's,
     * opened with the rights of the task's user (as_user), so that no
     * file the user may not read is extracted. Either way the archive is
     * extracted as the task's user: the files are the user's. */
    bool archive_copy;
};

struct exec_callbacks {
    /* A chunk of output (stream 1 stdout, 2 stderr), at most 64 KiB. */
    void (*output)(void *arg, uint64_t dispatch, int stream, const char *data,
                   size_t len);
    /* The attempt ended; every output chunk of it came before. res and
     * its strings live until the callback returns. interrupted: ended or
     * dropped by executor_interrupt. */
    void (*result)(void *arg, const struct attempt_result *res);
    void *arg;
};

struct executor;

/* slots: how many cpus' worth of tasks may run at once. workdir: the
 * rank's private directory (rankdir.h), where each task that needs one
 * gets its private work directory JOB.TASK.ATTEMPT, made by this process,
 * handed to the task's user and removed as that user when the task ends.
 * workdir must exist and stay; it is the caller's to remove. SIGCHLD must be
 * blocked by the caller and delivered to executor_reap (e.g. via a
 * signalfd).
 *
 * No process of a task outlives it: the calling process becomes a child
 * subreaper (PR_SET_CHILD_SUBREAPER), so orphans of tasks become its
 * children, and executor_reap reaps every child, not only tasks. Each task
 * runs in a tracking cgroup of its own where one can be made (cgroup2,
 * else the v1 freezer, pids or memory hierarchy; only the one that
 * MPISPOOL_TRACK_CGROUP names when set, and none, not even for memory
 * limits, when the environment has MPISPOOL_NO_CGROUPS=1) and carries
 * MPISPOOL_ATTEMPT_TOKEN in its environment. When its main process exits, or is
 * killed, everything left in its cgroup (else every descendant of ours marked
 * by its token) is killed too. */
struct executor *executor_create(unsigned slots, const char *workdir,
                                 const struct exec_callbacks *cb,
                                 struct mps_error *err);
void executor_destroy(struct executor *ex);

struct placement;

/* Bind every task to cores chosen by pl (which the executor takes over):
 * slots become pl's cores, a task of k cpus gets k whole cores, and its
 * result's cores, its MPISPOOL_CPUS and its affinity name them. */
void executor_set_placement(struct executor *ex, struct placement *pl);

struct policy;

/* Check each task's program against pol (borrowed; NULL: no policy) before
 * it starts: argv[0] is found on the task's PATH here, in the executor's
 * process, and canonicalized with realpath(3) (a shell task's program is
 * its interpreter, /bin/sh by default); the task then executes that
 * canonical path. A refused task ends at once with exit code -1 and the
 * error "command 'PATH' is not allowed on this cluster" (for a shell task
 * PATH is the interpreter as given when that is a path, e.g. '/bin/sh'). */
void executor_set_policy(struct executor *ex, const struct policy *pol);

/* Start the task now if its cpus fit in the free slots, else queue it (in
 * order) until they do. Returns 0 or -1. */
int executor_submit(struct executor *ex, const struct exec_task *task);

/* Fill up to max pollfds with the descriptors to watch; returns how many. */
int executor_pollfds(struct executor *ex, struct pollfd *fds, int max);

/* Handle what poll reported on the descriptors executor_pollfds gave. */
void executor_handle(struct executor *ex, const struct pollfd *fds, int n);

/* Reap exited children (call on SIGCHLD). */
void executor_reap(struct executor *ex);

/* Act on timeouts and kill grace periods that are due; returns the number
 * of milliseconds until the next one (-1: none). */
int executor_timers(struct executor *ex);

/* Kill one attempt (queued ones are dropped without a result), or all with
 * dispatch 0: SIGTERM to its process group, SIGKILL after grace_s. A
 * killed attempt still reports its result. */
void executor_cancel(struct executor *ex, uint64_t dispatch, double grace_s);

/* Like executor_cancel(ex, 0, grace_s), but each attempt's result says
 * interrupted: running ones when they end, queued ones at once (exit code
 * -1, never started). For --idle-policy action=requeue. */
void executor_interrupt(struct executor *ex, double grace_s);

/* Suspend every running task (SIGSTOP to all its processes) and start no
 * queued one, or resume them (SIGCONT). Time spent suspended does not count
 * against a task's timeout. A suspended task that is cancelled, interrupted
 * or timed out gets SIGCONT after its SIGTERM. */
void executor_suspend(struct executor *ex, bool suspend);

/* Whether tasks are suspended; cpus of the running tasks. */
bool executor_suspended(const struct executor *ex);
unsigned executor_busy(const struct executor *ex);

/* Seconds between SIGTERM and SIGKILL when a task times out (default
 * 10). */
void executor_set_kill_grace(struct executor *ex, double grace_s);

/* Pass on at most bytes + 1 of each stream of a task attempt (0: all):
 * the receiver keeps bytes (--max-output) and notes the truncation, and
 * the rest never crosses the network. */
void executor_set_max_output(struct executor *ex, uint64_t bytes);

/* Stop reading task output (backpressure) or start again. */
void executor_pause_output(struct executor *ex, bool pause);

unsigned executor_slots(const struct executor *ex);
unsigned executor_gpus(const struct executor *ex);
unsigned executor_free_slots(const struct executor *ex);
unsigned executor_running(const struct executor *ex);
unsigned executor_queued(const struct executor *ex);

#endif
