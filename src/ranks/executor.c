/* SPDX-License-Identifier: MIT */
/* Task execution on one node: the queue and its slots, output pipes,
 * reaping with rusage, timeouts, and the public setters. A task's
 * environment is built in exec_env.c, its start prepared in exec_start.c,
 * its command cloned and exec'd in exec_child.c, and it is killed and
 * finished in exec_kill.c (executor_int.h holds what they share). */
#include "executor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "executor_int.h"
#include "placement.h"
#include "util.h"

/* How long output pipes may stay open after the task's process group was
 * ended (a descendant that escaped with setsid may hold them). */
#define DRAIN_GRACE_US (2 * 1000 * 1000)
#define READ_CHUNK (64 * 1024)

static char *strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void xtask_free(struct xtask *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->step_res && i < t->a.nsteps; i++)
        free(t->step_res[i].error);
    free(t->step_res);
    attempt_clear(&t->a);
    free(t->run_dir);
    free(t->first_error);
    free(t->archive);
    if (t->archive_fd >= 0)
        close(t->archive_fd);
    free(t->error);
    free(t->private_dir);
    if (t->private_fd >= 0)
        close(t->private_fd);
    free(t->cores);
    if (t->track != t->cgroup)
        free(t->track);
    free(t->cgroup);
    free(t);
}

struct executor *executor_create(unsigned slots, const char *workdir,
                                 const struct exec_callbacks *cb,
                                 struct mps_error *err)
{
    struct executor *ex = calloc(1, sizeof *ex);
    if (!ex) {
        errprintf(err, "out of memory");
        return NULL;
    }
    ex->slots = slots ? slots : 1;
    ex->workdir_fd = -1;
    ex->cb = *cb;
    ex->kill_grace_s = 10;
    ex->devnull = -1;
    ex->workdir = strdup(workdir);
    ex->buf = malloc(READ_CHUNK);
    if (!ex->workdir || !ex->buf) {
        errprintf(err, "out of memory");
        goto error;
    }
    ex->workdir_fd =
        open(workdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (ex->workdir_fd < 0) {
        errprintf(err, "cannot open work directory '%s': %s", workdir,
                  strerror(errno));
        goto error;
    }
    /* Orphans of our tasks (a daemon's double fork) become our children
     * rather than init's, so that they can be found, killed and reaped. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    snprintf(ex->token_prefix, sizeof ex->token_prefix, "%d.%lld",
             (int)getpid(), (long long)util_now_us());
    const char *no_cgroups = getenv("MPISPOOL_NO_CGROUPS");
    if (!no_cgroups || !*no_cgroups || strcmp(no_cgroups, "0") == 0) {
        ex->cg_version = cgroup_detect(ex->cg_base, sizeof ex->cg_base);
        /* MPISPOOL_TRACK_CGROUP picks one hierarchy (for tests). */
        const char *only = getenv("MPISPOOL_TRACK_CGROUP");
        ex->track_kind = cgroup_track_detect(
            ex->track_base, sizeof ex->track_base, only && *only ? only : NULL);
        if (ex->cg_version)
            cgroup_remove_stale(ex->cg_base, CGROUP_TRACK_V1);
        if (ex->track_kind)
            cgroup_remove_stale(ex->track_base, ex->track_kind);
    }
    ex->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (ex->devnull < 0) {
        errprintf(err, "cannot open /dev/null: %s", strerror(errno));
        goto error;
    }
    return ex;
error:
    executor_destroy(ex);
    return NULL;
}

void executor_destroy(struct executor *ex)
{
    if (!ex)
        return;
    struct xtask *t = ex->queue_head;
    while (t) {
        struct xtask *next = t->next;
        xtask_free(t);
        t = next;
    }
    for (t = ex->running; t;) {
        struct xtask *next = t->next;
        if (t->out_fd >= 0)
            close(t->out_fd);
        if (t->err_fd >= 0)
            close(t->err_fd);
        xtask_free(t);
        t = next;
    }
    while (ex->stale) {
        struct stale_cgroup *s = ex->stale;
        ex->stale = s->next;
        cgroup_kill_all(s->path, CGROUP_TRACK_V1);
        cgroup_remove(s->path);
        free(s->path);
        free(s);
    }
    if (ex->devnull >= 0)
        close(ex->devnull);
    if (ex->workdir_fd >= 0)
        close(ex->workdir_fd);
    placement_destroy(ex->pl);
    free(ex->workdir);
    free(ex->buf);
    free(ex);
}

void exec_start_queued(struct executor *ex)
{
    if (ex->starting || ex->suspended)
        return;
    ex->starting = true;
    while (ex->queue_head) {
        struct xtask *t = ex->queue_head;
        /* A task larger than the whole rank runs alone rather than never. */
        bool fits = ex->busy + t->a.cpus <= ex->slots ||
                    (ex->busy == 0 && t->a.cpus > ex->slots);
        if (!fits)
            break;
        ex->queue_head = t->next;
        if (!ex->queue_head)
            ex->queue_tail = NULL;
        ex->nqueued--;
        t->next = ex->running;
        ex->running = t;
        ex->nrunning++;
        ex->busy += t->a.cpus;
        exec_start_task(ex, t);
        exec_maybe_finish(ex, t);
    }
    ex->starting = false;
}

/* t's own copy of the attempt, with the defaults the executor applies:
 * at least 1 cpu, an environment (maybe empty), groups only with as_user.
 * Returns 0, or -1 (ENOMEM). */
static int copy_attempt(struct xtask *t, const struct attempt *src)
{
    if (attempt_copy(&t->a, src) < 0)
        return -1;
    if (!t->a.cpus)
        t->a.cpus = 1;
    if (!t->a.as_user) {
        free(t->a.groups);
        t->a.groups = NULL;
        t->a.ngroups = 0;
    }
    if (!t->a.env)
        t->a.env = calloc(1, sizeof *t->a.env);
    bool steps_ok = true;
    for (uint32_t i = 0; i < t->a.nsteps; i++)
        steps_ok = steps_ok && t->a.steps[i].argv && t->a.steps[i].argv[0];
    if (!t->a.job || !t->a.argv || !t->a.argv[0] || !t->a.env || !steps_ok ||
        (t->a.nsteps &&
         !(t->step_res = calloc(t->a.nsteps, sizeof *t->step_res)))) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int executor_submit(struct executor *ex, const struct exec_task *task)
{
    struct xtask *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->private_fd = -1;
    t->out_fd = t->err_fd = -1;
    t->archive = strdup_or_null(task->archive);
    t->archive_copy = task->archive_copy;
    t->archive_fd = task->archive && task->archive_by_fd
                        ? fcntl(task->archive_fd, F_DUPFD_CLOEXEC, 3)
                        : -1;
    if (task->archive_limits)
        t->archive_limits = *task->archive_limits;
    if (copy_attempt(t, task->a) < 0 || (task->archive && !t->archive) ||
        (task->archive && task->archive_by_fd && t->archive_fd < 0)) {
        xtask_free(t);
        errno = ENOMEM;
        return -1;
    }
    if (ex->queue_tail)
        ex->queue_tail->next = t;
    else
        ex->queue_head = t;
    ex->queue_tail = t;
    ex->nqueued++;
    exec_start_queued(ex);
    return 0;
}

int executor_pollfds(struct executor *ex, struct pollfd *fds, int max)
{
    int n = 0;
    if (ex->paused)
        return 0;
    for (struct xtask *t = ex->running; t && n < max; t = t->next) {
        if (t->out_fd >= 0 && n < max)
            fds[n++] = (struct pollfd){.fd = t->out_fd, .events = POLLIN};
        if (t->err_fd >= 0 && n < max)
            fds[n++] = (struct pollfd){.fd = t->err_fd, .events = POLLIN};
    }
    return n;
}

/* Read one chunk from a task's pipe; close it at end of file. */
static void read_pipe(struct executor *ex, struct xtask *t, int stream)
{
    int *fd = stream == 1 ? &t->out_fd : &t->err_fd;
    ssize_t got = read(*fd, ex->buf, READ_CHUNK);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (got <= 0) {
        close(*fd);
        *fd = -1;
        return;
    }
    uint64_t *bytes = stream == 1 ? &t->out_bytes : &t->err_bytes;
    uint64_t before = *bytes;
    *bytes += (uint64_t)got;
    /* Beyond the limit the pipe is still drained (the task must not block
     * on it), but nothing more is passed on. */
    size_t pass = (size_t)got;
    if (ex->max_forward) {
        uint64_t room = before < ex->max_forward ? ex->max_forward - before : 0;
        if (pass > room)
            pass = (size_t)room;
    }
    if (pass)
        ex->cb.output(ex->cb.arg, t->a.dispatch, stream, ex->buf, pass);
}

void executor_handle(struct executor *ex, const struct pollfd *fds, int n)
{
    for (int i = 0; i < n; i++) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        for (struct xtask *t = ex->running; t; t = t->next) {
            if (t->out_fd == fds[i].fd || t->err_fd == fds[i].fd) {
                read_pipe(ex, t, t->out_fd == fds[i].fd ? 1 : 2);
                exec_maybe_finish(ex, t);
                break;
            }
        }
    }
}

void executor_reap(struct executor *ex)
{
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        /* Look before reaping: while the task is a zombie its process
         * group id cannot be reused, so the kill below hits only what the
         * task left behind. */
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 ||
            info.si_pid == 0)
            return;
        pid_t pid = info.si_pid;
        struct xtask *t = ex->running;
        while (t && t->pid != pid)
            t = t->next;
        if (t)
            kill(-pid, SIGKILL);
        int status = 0;
        struct rusage usage;
        if (wait4(pid, &status, 0, &usage) < 0)
            continue;
        if (!t)
            continue; /* an orphan of a task, adopted as a subreaper */
        exec_kill_leftovers(ex, t);
        t->exited = true;
        t->status = status;
        t->usage = usage;
        t->end_us = util_now_us();
        t->drain_until = util_mono_us() + DRAIN_GRACE_US;
        exec_maybe_finish(ex, t);
    }
}

int executor_timers(struct executor *ex)
{
    int64_t now = util_mono_us();
    int64_t next = -1;
    struct xtask *t = ex->running;
    while (t) {
        struct xtask *following = t->next;
        if (!t->exited && !t->suspended && t->timeout_at &&
            now >= t->timeout_at) {
            t->timeout_at = 0;
            t->timed_out = true;
            exec_terminate_task(ex, t);
            t->kill_at = now + (int64_t)(ex->kill_grace_s * 1e6);
        }
        if (!t->exited && t->kill_at && now >= t->kill_at) {
            t->kill_at = 0;
            exec_signal_task(ex, t, SIGKILL);
        }
        if (t->exited && t->drain_until && now >= t->drain_until) {
            /* Something outside the task's group holds its pipes. */
            if (t->out_fd >= 0)
                close(t->out_fd);
            if (t->err_fd >= 0)
                close(t->err_fd);
            t->out_fd = t->err_fd = -1;
            exec_maybe_finish(ex, t);
            t = following;
            continue;
        }
        int64_t due[] = {t->exited || t->suspended ? 0 : t->timeout_at,
                         t->exited ? 0 : t->kill_at, t->drain_until};
        for (size_t i = 0; i < 3; i++)
            if (due[i] && (next < 0 || due[i] < next))
                next = due[i];
        t = following;
    }
    if (ex->stale_retry_at && now >= ex->stale_retry_at)
        exec_retry_stale(ex);
    if (ex->stale_retry_at && (next < 0 || ex->stale_retry_at < next))
        next = ex->stale_retry_at;
    if (next < 0)
        return -1;
    int64_t ms = (next - now + 999) / 1000;
    return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

bool executor_suspended(const struct executor *ex)
{
    return ex->suspended;
}

unsigned executor_busy(const struct executor *ex)
{
    return ex->busy;
}

void executor_set_max_output(struct executor *ex, uint64_t bytes)
{
    /* One byte more than is kept, so the receiver sees the limit passed. */
    ex->max_forward = bytes ? bytes + 1 : 0;
}

void executor_set_kill_grace(struct executor *ex, double grace_s)
{
    ex->kill_grace_s = grace_s;
}

void executor_pause_output(struct executor *ex, bool pause)
{
    ex->paused = pause;
}

void executor_set_policy(struct executor *ex, const struct policy *pol)
{
    ex->policy = pol;
}

void executor_set_placement(struct executor *ex, struct placement *pl)
{
    placement_destroy(ex->pl);
    ex->pl = pl;
    if (pl)
        ex->slots = placement_cores(pl);
}

unsigned executor_gpus(const struct executor *ex)
{
    return ex->pl ? placement_gpus(ex->pl) : 0;
}

unsigned executor_slots(const struct executor *ex)
{
    return ex->slots;
}

unsigned executor_free_slots(const struct executor *ex)
{
    return ex->busy >= ex->slots ? 0 : ex->slots - ex->busy;
}

unsigned executor_running(const struct executor *ex)
{
    return ex->nrunning;
}

unsigned executor_queued(const struct executor *ex)
{
    return ex->nqueued;
}
