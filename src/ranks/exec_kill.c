/* SPDX-License-Identifier: MIT */
/* Ending tasks: signals to a task's processes (its process group, then
 * its tracking cgroup or the processes marked with its token), killing
 * what it leaves behind, stale cgroups, steps, its result, and cancel,
 * interrupt and suspend. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "executor_int.h"
#include "placement.h"
#include "util.h"

/* Take over path, a cgroup that could not be removed yet, to kill what is
 * in it and remove it later. Returns whether it did. */
static bool keep_stale(struct executor *ex, char *path)
{
    struct stale_cgroup *s = malloc(sizeof *s);
    if (!s)
        return false;
    s->path = path;
    s->next = ex->stale;
    ex->stale = s;
    if (!ex->stale_retry_at)
        ex->stale_retry_at = util_mono_us() + STALE_RETRY_US;
    return true;
}

/* Kill what is left in the stale cgroups and remove those now empty. */
void exec_retry_stale(struct executor *ex)
{
    struct stale_cgroup **link = &ex->stale;
    while (*link) {
        struct stale_cgroup *s = *link;
        cgroup_signal(s->path, SIGKILL, 0);
        if (rmdir(s->path) == 0 || errno == ENOENT) {
            *link = s->next;
            free(s->path);
            free(s);
        } else {
            link = &s->next;
        }
    }
    ex->stale_retry_at = ex->stale ? util_mono_us() + STALE_RETRY_US : 0;
}

/* Whether /proc/PID/environ holds the entry kv ("KEY=VALUE"); read in
 * chunks, as an environment may be large. */
static bool environ_has(pid_t pid, const char *kv)
{
    char path[64], buf[16384];
    char needle[128];
    int nlen = snprintf(needle, sizeof needle, "%c%s%c", '\0', kv, '\0');
    if (nlen <= 2 || (size_t)nlen >= sizeof needle)
        return false;
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    /* Entries are NUL-terminated; a NUL before the first one makes every
     * entry look the same. */
    size_t have = 1;
    buf[0] = '\0';
    bool found = false;
    for (;;) {
        ssize_t got = read(fd, buf + have, sizeof buf - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
        if (memmem(buf, have, needle, (size_t)nlen)) {
            found = true;
            break;
        }
        /* Keep what could be the start of an entry cut by the chunk. */
        size_t keep = (size_t)nlen - 1;
        if (have > keep) {
            memmove(buf, buf + have - keep, keep);
            have = keep;
        }
    }
    close(fd);
    return found;
}

/* A process and its parent, from /proc/PID/stat. */
struct proc_link {
    pid_t pid, ppid;
};

/* Every process of the system with its parent; *n gets how many. */
static struct proc_link *list_processes(size_t *n)
{
    *n = 0;
    DIR *dir = opendir("/proc");
    if (!dir)
        return NULL;
    size_t cap = 0;
    struct proc_link *links = NULL;
    struct dirent *de;
    while ((de = readdir(dir))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path[64], stat[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t got = read(fd, stat, sizeof stat - 1);
        close(fd);
        if (got <= 0)
            continue;
        stat[got] = '\0';
        /* "PID (COMM) STATE PPID ...": COMM may hold spaces and ')'. */
        char *paren = strrchr(stat, ')');
        char state;
        long ppid;
        if (!paren || sscanf(paren + 1, " %c %ld", &state, &ppid) != 2)
            continue;
        if (*n == cap) {
            size_t grown_cap = cap ? cap * 2 : 256;
            struct proc_link *grown = realloc(links, grown_cap * sizeof *grown);
            if (!grown)
                break;
            links = grown;
            cap = grown_cap;
        }
        links[(*n)++] = (struct proc_link){(pid_t)pid, (pid_t)ppid};
    }
    closedir(dir);
    return links;
}

/* Without a tracking cgroup: send sig to every process of t that we can
 * find. We are a subreaper, so what a task leaves behind is our child or a
 * descendant of one; among our children other than the other tasks, a
 * process is t's when its environment holds t's token, and so is every
 * descendant of such a process. A daemon that drops the token (exec with
 * a new environment) and has no marked ancestor left is not found.
 * Processes in process group skip_pgid (0: none) are left to the caller.
 * Returns how many processes were signalled. */
static int signal_marked(struct executor *ex, const struct xtask *t, int sig,
                         pid_t skip_pgid)
{
    size_t n;
    struct proc_link *links = list_processes(&n);
    if (!links)
        return 0;
    char kv[96];
    snprintf(kv, sizeof kv, "MPISPOOL_ATTEMPT_TOKEN=%s", t->token);
    /* Walk our subtree breadth first: queue holds indexes into links, and
     * marked whether an ancestor in the walk held the token. */
    size_t *queue = malloc(n * sizeof *queue);
    bool *marked = calloc(n, sizeof *marked);
    bool *seen = calloc(n, sizeof *seen);
    size_t head = 0, tail = 0;
    int count = 0;
    pid_t self = getpid();
    if (!queue || !marked || !seen)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (links[i].ppid != self)
            continue;
        bool other_task = false;
        for (struct xtask *o = ex->running; o; o = o->next)
            if (o != t && o->pid == links[i].pid && !o->exited)
                other_task = true;
        if (!other_task) {
            queue[tail++] = i;
            seen[i] = true;
        }
    }
    while (head < tail) {
        size_t i = queue[head++];
        if (!marked[i])
            marked[i] = environ_has(links[i].pid, kv);
        if (marked[i] && (!skip_pgid || getpgid(links[i].pid) != skip_pgid) &&
            kill(links[i].pid, sig) == 0)
            count++;
        for (size_t j = 0; j < n; j++) {
            if (!seen[j] && links[j].ppid == links[i].pid) {
                seen[j] = true;
                marked[j] = marked[i];
                queue[tail++] = j;
            }
        }
    }
out:
    free(queue);
    free(marked);
    free(seen);
    free(links);
    return count;
}

/* Send sig to all of t: its process group, and every other process of its
 * tracking cgroup or, without one, every process marked as its (once
 * each: a shell that traps TERM would run its trap twice). */
void exec_signal_task(struct executor *ex, struct xtask *t, int sig)
{
    kill(-t->pid, sig);
    if (t->track)
        cgroup_signal(t->track, sig, t->pid);
    else
        signal_marked(ex, t, sig, t->pid);
}

/* SIGTERM to all of t; a suspended t also gets SIGCONT, or the SIGTERM
 * would wait for it. */
void exec_terminate_task(struct executor *ex, struct xtask *t)
{
    exec_signal_task(ex, t, SIGTERM);
    if (t->suspended) {
        exec_signal_task(ex, t, SIGCONT);
        t->suspended = false;
    }
}

/* t's main process has exited (and its process group was killed): kill
 * what it left behind, so that no daemon outlives it and none holds its
 * output pipes open. Bounded in time. */
void exec_kill_leftovers(struct executor *ex, struct xtask *t)
{
    if (t->track) {
        cgroup_kill_all(t->track, ex->track_kind);
        return;
    }
    /* Killed processes are gone a moment later; until then they are found
     * again. Their children, once orphaned, come to us. */
    for (int round = 0; round < 50 && signal_marked(ex, t, SIGKILL, 0) > 0;
         round++) {
        struct timespec pause = {0, 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* Deliver the result of a finished task and forget it. */
static void finish_task(struct executor *ex, struct xtask *t)
{
    struct attempt_result res;
    memset(&res, 0, sizeof res);
    res.dispatch = t->a.dispatch;
    res.start_us = t->start_us;
    res.end_us = t->end_us;
    res.exit_code = -1;
    if (t->pid > 0) {
        if (WIFEXITED(t->status) && !t->error)
            res.exit_code = WEXITSTATUS(t->status);
        else if (WIFSIGNALED(t->status))
            res.signal = WTERMSIG(t->status);
        res.max_rss_kb = t->usage.ru_maxrss;
        res.user_s = (double)t->usage.ru_utime.tv_sec +
                     (double)t->usage.ru_utime.tv_usec / 1e6;
        res.system_s = (double)t->usage.ru_stime.tv_sec +
                       (double)t->usage.ru_stime.tv_usec / 1e6;
    }
    if (t->a.nsteps) {
        res.max_rss_kb = res.max_rss_kb > t->steps_max_rss_kb
                             ? res.max_rss_kb
                             : t->steps_max_rss_kb;
        res.user_s += t->steps_user_s;
        res.system_s += t->steps_system_s;
        /* The first step that failed speaks for the task. */
        for (size_t i = 0; i <= t->step; i++) {
            const struct step_record *st = &t->step_res[i];
            bool failed = st->exit_code != 0 || st->signal || st->error;
            if (failed || i == t->step) {
                res.exit_code = st->exit_code;
                res.signal = st->signal;
                break;
            }
        }
        if (t->first_error) {
            free(t->error);
            t->error = t->first_error;
            t->first_error = NULL;
        }
        res.steps = t->step_res;
        res.nsteps = (uint32_t)(t->step + 1);
    }
    res.timed_out = t->timed_out;
    res.interrupted = t->interrupted;
    /* Cut short by its timeout, a task fails even if it exits 0 on the
     * SIGTERM (as Slurm's TIMEOUT): the error says why. */
    if (res.timed_out && !t->error && res.exit_code == 0 && res.signal == 0 &&
        asprintf(&t->error, "timed out after %g s (exited 0 on SIGTERM)",
                 t->a.timeout) < 0)
        t->error = NULL;
    char limit_error[96];
    if (t->cgroup) {
        if (cgroup_oom_killed(t->cgroup, ex->cg_version) && !t->error) {
            char size[32];
            snprintf(limit_error, sizeof limit_error,
                     "memory limit of %s exceeded",
                     util_format_size(t->a.memory, size));
            t->error = strdup(limit_error);
        }
    }
    bool shared = t->track == t->cgroup;
    if (t->cgroup && cgroup_remove(t->cgroup) < 0 && keep_stale(ex, t->cgroup))
        t->cgroup = NULL;
    if (shared)
        t->track = t->cgroup;
    else if (t->track && cgroup_remove(t->track) < 0 &&
             keep_stale(ex, t->track))
        t->track = NULL;
    char gpus[260] = "";
    if (t->holds_gpus) {
        snprintf(gpus, sizeof gpus, "%s%s%s", t->gpu_cuda,
                 t->gpu_cuda[0] && t->gpu_rocr[0] ? "," : "", t->gpu_rocr);
        placement_release_gpus(ex->pl, t->gpu_cuda, t->gpu_rocr);
        res.gpus = gpus;
    }
    res.error = t->error;
    res.cores = t->cores;
    if (t->cores && ex->pl)
        placement_release(ex->pl, t->cores);
    res.stdout_bytes = t->out_bytes;
    res.stderr_bytes = t->err_bytes;

    struct xtask **link = &ex->running;
    while (*link && *link != t)
        link = &(*link)->next;
    if (*link)
        *link = t->next;
    ex->nrunning--;
    ex->busy -= t->a.cpus < ex->busy ? t->a.cpus : ex->busy;
    exec_remove_private_dir(ex, t);
    ex->cb.result(ex->cb.arg, &res);
    xtask_free(t);
    exec_start_queued(ex);
}

/* The current step of t ended (its output drained): note its outcome.
 * Returns whether it succeeded. */
static bool end_step(struct xtask *t)
{
    struct step_record *st = &t->step_res[t->step];
    st->start_us = t->step_start_us ? t->step_start_us : t->end_us;
    st->end_us = t->end_us;
    st->exit_code = -1;
    if (t->pid > 0 && WIFEXITED(t->status) && !t->error)
        st->exit_code = WEXITSTATUS(t->status);
    else if (t->pid > 0 && WIFSIGNALED(t->status))
        st->signal = WTERMSIG(t->status);
    st->stdout_bytes = t->out_bytes - t->step_out0;
    st->stderr_bytes = t->err_bytes - t->step_err0;
    st->error = t->error ? strdup(t->error) : NULL;
    bool ok = st->exit_code == 0 && !st->signal && !t->error;
    if (!ok && !t->first_error && t->error)
        t->first_error = strdup(t->error);
    return ok;
}

/* With steps: after one ended, start the next one unless it failed (and
 * continue_on_error is off), or the task was stopped. Returns whether a
 * step was started (or tried: its failure to start ends it at once). */
static bool next_step(struct executor *ex, struct xtask *t)
{
    bool ok = end_step(t);
    if (t->step + 1 >= t->a.nsteps || t->stopped || t->timed_out ||
        t->interrupted || (!ok && !t->a.continue_on_error))
        return false;
    if (t->pid > 0) {
        t->steps_user_s += (double)t->usage.ru_utime.tv_sec +
                           (double)t->usage.ru_utime.tv_usec / 1e6;
        t->steps_system_s += (double)t->usage.ru_stime.tv_sec +
                             (double)t->usage.ru_stime.tv_usec / 1e6;
        if (t->usage.ru_maxrss > t->steps_max_rss_kb)
            t->steps_max_rss_kb = t->usage.ru_maxrss;
    }
    free(t->error);
    t->error = NULL;
    t->step++;
    t->pid = 0;
    t->exited = false;
    t->status = 0;
    t->drain_until = 0;
    memset(&t->usage, 0, sizeof t->usage);
    exec_spawn_command(ex, t);
    /* Tasks are suspended (--idle-policy): so is this step. */
    if (ex->suspended && t->pid > 0) {
        exec_signal_task(ex, t, SIGSTOP);
        if (!t->suspended) {
            t->suspended = true;
            t->suspended_at = util_mono_us();
        }
    }
    return true;
}

void exec_maybe_finish(struct executor *ex, struct xtask *t)
{
    while (t->exited && t->out_fd < 0 && t->err_fd < 0) {
        if (t->a.nsteps && next_step(ex, t))
            continue;
        finish_task(ex, t);
        return;
    }
}

/* The result of a task that leaves the queue without having started. */
static void drop_queued(struct executor *ex, struct xtask *t, bool interrupted)
{
    struct attempt_result res = {
        .dispatch = t->a.dispatch,
        .exit_code = -1,
        .interrupted = interrupted,
        .error = interrupted ? "interrupted before it started"
                             : "cancelled before it started",
    };
    res.start_us = res.end_us = util_now_us();
    ex->cb.result(ex->cb.arg, &res);
    xtask_free(t);
}

void executor_cancel(struct executor *ex, uint64_t dispatch, double grace_s)
{
    /* Each attempt handed to us ends in one result, also one that never
     * started: the coordinator keeps it out until then. */
    struct xtask **link = &ex->queue_head;
    while (*link) {
        struct xtask *t = *link;
        if (dispatch == 0 || t->a.dispatch == dispatch) {
            *link = t->next;
            ex->nqueued--;
            drop_queued(ex, t, false);
        } else {
            link = &t->next;
        }
    }
    ex->queue_tail = NULL;
    for (struct xtask *t = ex->queue_head; t; t = t->next)
        ex->queue_tail = t;
    int64_t now = util_mono_us();
    for (struct xtask *t = ex->running; t; t = t->next) {
        if (dispatch == 0 || t->a.dispatch == dispatch)
            t->stopped = true;
        if ((dispatch == 0 || t->a.dispatch == dispatch) && !t->exited &&
            t->pid > 0) {
            exec_terminate_task(ex, t);
            t->timeout_at = 0;
            t->kill_at = now + (int64_t)(grace_s * 1e6);
        }
    }
}

void executor_interrupt(struct executor *ex, double grace_s)
{
    while (ex->queue_head) {
        struct xtask *t = ex->queue_head;
        ex->queue_head = t->next;
        ex->nqueued--;
        drop_queued(ex, t, true);
    }
    ex->queue_tail = NULL;
    for (struct xtask *t = ex->running; t; t = t->next)
        if (!t->exited)
            t->interrupted = true;
    executor_cancel(ex, 0, grace_s);
}

void executor_suspend(struct executor *ex, bool suspend)
{
    if (ex->suspended == suspend)
        return;
    ex->suspended = suspend;
    int64_t now = util_mono_us();
    for (struct xtask *t = ex->running; t; t = t->next) {
        if (t->exited || t->pid <= 0)
            continue;
        if (suspend && !t->suspended && !t->kill_at) {
            exec_signal_task(ex, t, SIGSTOP);
            t->suspended = true;
            t->suspended_at = now;
        } else if (!suspend && t->suspended) {
            exec_signal_task(ex, t, SIGCONT);
            t->suspended = false;
            if (t->timeout_at)
                t->timeout_at += now - t->suspended_at;
        }
    }
    if (!suspend)
        exec_start_queued(ex);
}
