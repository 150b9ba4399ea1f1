/* SPDX-License-Identifier: MIT */
/* Task execution on one node: fork/exec with a CLOEXEC error pipe, output
 * pipes, reaping with rusage, timeouts and kills by process group, and
 * killing whatever a task leaves behind (tracking cgroup, else a marker in
 * the environment of its processes). */
#include "executor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "cgroup.h"
#include "placement.h"
#include "policy.h"
#include "spawn.h"
#include "util.h"

extern char **environ;

/* How long output pipes may stay open after the task's process group was
 * ended (a descendant that escaped with setsid may hold them). */
#define DRAIN_GRACE_US (2 * 1000 * 1000)
#define READ_CHUNK (64 * 1024)

/* How often the executor tries again to remove a cgroup it could not. */
#define STALE_RETRY_US (1000 * 1000)

/* A task's cgroup that still held a process when the task ended (one in
 * uninterruptible sleep ignores SIGKILL for a while). */
struct stale_cgroup {
    char *path;
    struct stale_cgroup *next;
};

/* A task waiting for slots or running: a deep copy of what was submitted. */
struct xtask {
    uint64_t dispatch;
    char *job;
    uint64_t task;
    unsigned attempt;
    unsigned cpus;
    uint64_t memory;
    unsigned gpus;
    double timeout;
    bool shell;
    bool inherit;
    char **argv;
    char *cwd;
    char *submit_dir;
    char **env;
    char *archive;     /* to extract into private_dir first, or NULL */
    bool archive_copy; /* archive is this rank's own copy (exec_task) */
    int archive_fd;    /* the archive open (rank 0's), or -1: by path */
    struct archive_limits archive_limits;
    bool as_user;
    uint32_t uid, gid, ngroups;
    uint32_t *groups;
    char *interpreter; /* NULL: /bin/sh */
    uint64_t ntasks, line;

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
    /* "steps": run one after another in run_dir; step is the current one,
     * step_res what the ended ones did. */
    struct taskcmd *steps;
    size_t nsteps, step;
    bool continue_on_error;
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

static char *strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void xtask_free(struct xtask *t)
{
    if (!t)
        return;
    free(t->job);
    free(t->interpreter);
    util_strv_free(t->argv);
    for (size_t i = 0; t->steps && i < t->nsteps; i++)
        taskcmd_free(&t->steps[i]);
    free(t->steps);
    for (size_t i = 0; t->step_res && i < t->nsteps; i++)
        free(t->step_res[i].error);
    free(t->step_res);
    free(t->run_dir);
    free(t->first_error);
    free(t->cwd);
    free(t->submit_dir);
    util_strv_free(t->env);
    free(t->archive);
    if (t->archive_fd >= 0)
        close(t->archive_fd);
    free(t->groups);
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

/* Names of variables that belong to the MPI job of mpispool-run itself: a
 * task that runs mpirun must not think it is already inside one. */
static bool is_launcher_var(const char *kv)
{
    static const char *const prefixes[] = {"OMPI_", "PMIX_",  "PRTE_",
                                           "OPAL_", "HYDRA_", "PMI_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static size_t key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Set kv in the environment array *envp of *n entries (capacity *cap). */
static int env_put(char ***envp, size_t *n, size_t *cap, const char *kv)
{
    size_t klen = key_len(kv);
    for (size_t i = 0; i < *n; i++) {
        if (key_len((*envp)[i]) == klen && strncmp((*envp)[i], kv, klen) == 0) {
            char *copy = strdup(kv);
            if (!copy)
                return -1;
            free((*envp)[i]);
            (*envp)[i] = copy;
            return 0;
        }
    }
    if (*n + 1 >= *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 64;
        char **grown = realloc(*envp, grown_cap * sizeof *grown);
        if (!grown)
            return -1;
        *envp = grown;
        *cap = grown_cap;
    }
    char *copy = strdup(kv);
    if (!copy)
        return -1;
    (*envp)[(*n)++] = copy;
    (*envp)[*n] = NULL;
    return 0;
}

/* The login variables of a task that runs as a user and brought no
 * environment of its own: from the password entry on this node, with a
 * plain PATH, where its env does not set them. */
static int put_login_env(const struct xtask *t, char ***envp, size_t *n,
                         size_t *cap)
{
    char buf[16384], kv[4200];
    struct passwd pw, *found = NULL;
    if (getpwuid_r((uid_t)t->uid, &pw, buf, sizeof buf, &found) != 0)
        found = NULL;
    const char *keys[] = {"PATH", "HOME", "USER", "LOGNAME", "SHELL"};
    const char *values[] = {
        "/usr/local/bin:/usr/bin:/bin", found ? found->pw_dir : NULL,
        found ? found->pw_name : NULL, found ? found->pw_name : NULL,
        found && found->pw_shell && *found->pw_shell ? found->pw_shell : NULL};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        bool given = false;
        for (char **e = *envp; e && *e; e++)
            if (strncmp(*e, keys[i], strlen(keys[i])) == 0 &&
                (*e)[strlen(keys[i])] == '=')
                given = true;
        if (given || !values[i])
            continue;
        snprintf(kv, sizeof kv, "%s=%s", keys[i], values[i]);
        if (env_put(envp, n, cap, kv) < 0)
            return -1;
    }
    return 0;
}

/* MPISPOOL_TASK_ID (from 0), MPISPOOL_TASK_SEQ (from 1), and where known
 * MPISPOOL_TASK_COUNT and MPISPOOL_TASK_LINE. */
static int put_task_numbers(const struct xtask *t, char ***envp, size_t *n,
                            size_t *cap)
{
    const char *keys[] = {"MPISPOOL_TASK_ID", "MPISPOOL_TASK_SEQ",
                          "MPISPOOL_TASK_COUNT", "MPISPOOL_TASK_LINE"};
    uint64_t values[] = {t->task, t->task + 1, t->ntasks, t->line};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char kv[64];
        if (i >= 2 && values[i] == 0)
            continue;
        snprintf(kv, sizeof kv, "%s=%llu", keys[i],
                 (unsigned long long)values[i]);
        if (env_put(envp, n, cap, kv) < 0)
            return -1;
    }
    return 0;
}

/* The task's environment: the base (this process's, less launcher
 * variables, when inherit; never for a task that runs as another user,
 * which gets login variables instead), the task's env over it, then
 * MPISPOOL_*. */
static char **build_env(const struct xtask *t)
{
    char **envp = NULL;
    size_t n = 0, cap = 0;
    char kv[128];
    if (t->inherit && !t->as_user) {
        for (char **e = environ; *e; e++)
            if (!is_launcher_var(*e) && env_put(&envp, &n, &cap, *e) < 0)
                goto error;
    }
    for (char **e = t->env; e && *e; e++)
        if (env_put(&envp, &n, &cap, *e) < 0)
            goto error;
    if (t->inherit && t->as_user && put_login_env(t, &envp, &n, &cap) < 0)
        goto error;
    snprintf(kv, sizeof kv, "MPISPOOL_JOB_ID=%s", t->job);
    if (env_put(&envp, &n, &cap, kv) < 0)
        goto error;
    if (put_task_numbers(t, &envp, &n, &cap) < 0)
        goto error;
    snprintf(kv, sizeof kv, "MPISPOOL_ATTEMPT=%u", t->attempt);
    if (env_put(&envp, &n, &cap, kv) < 0)
        goto error;
    snprintf(kv, sizeof kv, "MPISPOOL_ATTEMPT_TOKEN=%s", t->token);
    if (env_put(&envp, &n, &cap, kv) < 0)
        goto error;
    if (t->holds_gpus) {
        char kv_gpu[160];
        snprintf(kv_gpu, sizeof kv_gpu, "CUDA_VISIBLE_DEVICES=%s", t->gpu_cuda);
        if (t->gpu_cuda[0] && env_put(&envp, &n, &cap, kv_gpu) < 0)
            goto error;
        snprintf(kv_gpu, sizeof kv_gpu, "ROCR_VISIBLE_DEVICES=%s", t->gpu_rocr);
        if (t->gpu_rocr[0] && env_put(&envp, &n, &cap, kv_gpu) < 0)
            goto error;
    }
    if (t->private_dir) {
        char *workdir;
        if (asprintf(&workdir, "MPISPOOL_WORKDIR=%s", t->private_dir) < 0)
            goto error;
        int rc = env_put(&envp, &n, &cap, workdir);
        free(workdir);
        if (rc < 0)
            goto error;
    }
    if (t->cores) {
        char *cpus;
        if (asprintf(&cpus, "MPISPOOL_CPUS=%s", t->cores) < 0)
            goto error;
        int rc = env_put(&envp, &n, &cap, cpus);
        free(cpus);
        if (rc < 0)
            goto error;
    }
    if (!envp && env_put(&envp, &n, &cap, "MPISPOOL=1") < 0)
        goto error;
    return envp;
error:
    util_strv_free(envp);
    return NULL;
}

static const char *env_get(char *const *envp, const char *key)
{
    size_t klen = strlen(key);
    for (; envp && *envp; envp++)
        if (strncmp(*envp, key, klen) == 0 && (*envp)[klen] == '=')
            return *envp + klen + 1;
    return NULL;
}

/* What the child reports through the error pipe when it cannot exec. */
struct child_failure {
    int stage; /* 1: chdir, 2: exec, 3: binding, 4: memory limit, 5: user */
    int errnum;
};

static void child_fail(int fd, int stage, int errnum)
{
    struct child_failure f = {stage, errnum};
    ssize_t unused = write(fd, &f, sizeof f);
    (void)unused;
    _exit(127);
}

/* What the child needs, passed through clone. */
struct child_args {
    int devnull, out_w, err_w, fail_w;
    const char *dir;
    char *const *argv;
    char *const *envp;
    const char *path;
    const cpu_set_t *mask;    /* bind to these CPUs, or NULL */
    const char *cgroup_procs; /* join this cgroup, or NULL */
    uint64_t rlimit_as;       /* else limit the address space, or 0 */
    const char *exec_path;    /* argv[0] already found here, or NULL */
    bool as_user;             /* become uid, gid, groups */
    uint32_t uid, gid, ngroups;
    const uint32_t *groups;
    const char *track_procs; /* join this tracking cgroup, or NULL */
    volatile int tracked;    /* the child sets it once it joined */
    pid_t parent;            /* the rank */
};

/* Write n in decimal to fd, without the C library (the child's rule). */
static int write_number(int fd, long n)
{
    char digits[24];
    int i = (int)sizeof digits;
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0 && i > 0);
    return write(fd, digits + i, sizeof digits - (size_t)i) < 0 ? -1 : 0;
}

/* The child of clone(CLONE_VM | CLONE_VFORK): it shares our memory while
 * the parent waits for its exec, so from here to exec it only makes system
 * calls that change its own process (its own fd table, signal handlers and
 * cwd, since CLONE_FILES, CLONE_SIGHAND and CLONE_FS are not set) and
 * writes nothing but its own stack and ca->tracked (as posix_spawn passes
 * back its error). This is how posix_spawn works; fork
 * would copy the page tables of a process that maps all of Open MPI, which
 * costs 4.3 ms a task here against 1.8 ms. */
static int child_exec(void *arg)
{
    struct child_args *ca = arg;
    int out_w = ca->out_w, err_w = ca->err_w, fail_w = ca->fail_w;
    const char *dir = ca->dir;
    char *const *argv = ca->argv;
    char *const *envp = ca->envp;
    const char *path = ca->path;
    setpgid(0, 0);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (dup2(ca->devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        child_fail(fail_w, 2, errno);
    /* Close everything else at exec (MPI's sockets and shared memory
     * included); the failure pipe goes too, which tells the parent the
     * exec worked. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = 3; fd < 4096; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (ca->mask && sched_setaffinity(0, sizeof *ca->mask, ca->mask) < 0)
        child_fail(fail_w, 3, errno);
    if (ca->cgroup_procs) {
        int fd = open(ca->cgroup_procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write_number(fd, (long)getpid()) < 0)
            child_fail(fail_w, 4, errno);
        close(fd);
    }
    /* Not being tracked is no reason to fail a task: the parent then
     * finds its processes by the token in their environment. */
    if (ca->track_procs) {
        int fd = open(ca->track_procs, O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write_number(fd, (long)getpid()) == 0)
            ca->tracked = 1;
        if (fd >= 0)
            close(fd);
    }
    if (ca->rlimit_as) {
        struct rlimit lim = {ca->rlimit_as, ca->rlimit_as};
        if (setrlimit(RLIMIT_AS, &lim) < 0)
            child_fail(fail_w, 4, errno);
    }
    /* Become the task's user last, once what needs root (the cgroup) is
     * done, and before chdir and exec, which then run with the user's
     * rights. asuser_become makes raw system calls: the C library's setuid
     * family makes every thread of the process change, and this child
     * shares the memory (and the thread list bookkeeping) of the
     * multithreaded parent. */
    const struct asuser_id who = {.switch_ids = ca->as_user,
                                  .uid = ca->uid,
                                  .gid = ca->gid,
                                  .ngroups = ca->ngroups,
                                  .groups = ca->groups};
    int switched = asuser_become(&who);
    if (switched < 0)
        child_fail(fail_w, 5, -switched);
    /* A rank killed outright (kill -9, Open MPI ending a run after a lost
     * node) takes its tasks with it rather than leave them running
     * unwatched while the next run starts them again. Set after the
     * identity change, which would clear it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != ca->parent)
        _exit(127); /* the rank died already */
    if (chdir(dir) < 0)
        child_fail(fail_w, 1, errno);

    const char *prog = ca->exec_path ? ca->exec_path : argv[0];
    if (strchr(prog, '/')) {
        execve(prog, argv, envp);
        child_fail(fail_w, 2, errno);
    }
    /* Search the task's PATH, as execvp would, but in the task's
     * environment rather than ours. */
    char candidate[PATH_MAX];
    size_t plen = strlen(prog);
    int failure = ENOENT;
    const char *p = path;
    while (*p || p == path) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
        if (dlen == 0) {
            candidate[0] = '.';
            dlen = 1;
        } else if (dlen < sizeof candidate) {
            memcpy(candidate, p, dlen);
        }
        if (dlen + 1 + plen + 1 <= sizeof candidate) {
            candidate[dlen] = '/';
            memcpy(candidate + dlen + 1, prog, plen + 1);
            execve(candidate, argv, envp);
            /* EACCES also comes from a PATH directory we may not search;
             * only a file that is there but not executable makes the
             * answer "Permission denied" rather than "not found". */
            struct stat st;
            int err = errno;
            if (err == EACCES && stat(candidate, &st) == 0)
                failure = EACCES;
            else if (err != EACCES && err != ENOENT && err != ENOTDIR)
                child_fail(fail_w, 2, err);
        }
        if (!colon)
            break;
        p = colon + 1;
    }
    child_fail(fail_w, 2, failure);
    return 127;
}

/* The child runs on this stack while the parent is suspended (CLONE_VFORK),
 * so one stack serves every spawn. */
static char child_stack[64 * 1024] __attribute__((aligned(64)));

static bool is_directory(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Find the program a task runs the way the child's exec would (argv[0]
 * with a '/' as it is, else the first executable regular file on path;
 * relative names and PATH entries from dir) and canonicalize it into out
 * (PATH_MAX bytes). Returns 0 or an errno: ENOENT when nothing was found,
 * EACCES when only files that are not executable were. Runs in the
 * executor's process, with its rights. */
static int resolve_program(const char *prog, const char *path, const char *dir,
                           char *out)
{
    char candidate[PATH_MAX];
    if (strchr(prog, '/')) {
        if (prog[0] != '/') {
            if (snprintf(candidate, sizeof candidate, "%s/%s", dir, prog) >=
                (int)sizeof candidate)
                return ENAMETOOLONG;
            prog = candidate;
        }
        return realpath(prog, out) ? 0 : errno;
    }
    int failure = ENOENT;
    const char *p = path;
    while (*p || p == path) {
        const char *colon = strchr(p, ':');
        int dlen = (int)(colon ? (size_t)(colon - p) : strlen(p));
        int n;
        if (dlen == 0)
            n = snprintf(candidate, sizeof candidate, "%s/%s", dir, prog);
        else if (p[0] == '/')
            n = snprintf(candidate, sizeof candidate, "%.*s/%s", dlen, p, prog);
        else
            n = snprintf(candidate, sizeof candidate, "%s/%.*s/%s", dir, dlen,
                         p, prog);
        struct stat st;
        if (n < (int)sizeof candidate && stat(candidate, &st) == 0) {
            if (S_ISREG(st.st_mode) && (st.st_mode & 0111))
                return realpath(candidate, out) ? 0 : errno;
            failure = EACCES;
        }
        if (!colon)
            break;
        p = colon + 1;
    }
    return failure;
}

static void set_error(struct xtask *t, const char *fmt, const char *what,
                      int errnum)
{
    char line[PATH_MAX + 128];
    snprintf(line, sizeof line, fmt, what, strerror(errnum));
    free(t->error);
    t->error = strdup(line);
}

/* Who t runs as, for the privilege boundary (no switch without as_user). */
static struct asuser_id task_who(const struct xtask *t)
{
    return (struct asuser_id){.switch_ids = t->as_user,
                              .uid = t->uid,
                              .gid = t->gid,
                              .ngroups = t->ngroups,
                              .groups = t->groups,
                              .umask = 022};
}

/* Remove t's work directory, its contents as its user (the task owned
 * them and may have left links or anything), then the emptied directory,
 * which is in ours. */
static void remove_private_dir(struct executor *ex, struct xtask *t)
{
    if (t->private_fd < 0)
        return;
    const struct asuser_id who = task_who(t);
    struct mps_error err;
    if (asuser_enter(&who, &err) == 0) {
        asuser_remove_contents(t->private_fd);
        asuser_leave();
    }
    close(t->private_fd);
    t->private_fd = -1;
    unlinkat(ex->workdir_fd, strrchr(t->private_dir, '/') + 1, AT_REMOVEDIR);
}

/* Make t's private work directory JOB.TASK.ATTEMPT in ours and hand it to
 * t's user (mode 0700). One left by an earlier attempt of the same name
 * is emptied first. Returns 0, or -1 with t->error set. */
static int make_private_dir(struct executor *ex, struct xtask *t)
{
    char name[NAME_MAX + 1], path[PATH_MAX];
    snprintf(name, sizeof name, "%s.%llu.%u", t->job,
             (unsigned long long)t->task, t->attempt);
    snprintf(path, sizeof path, "%s/%s", ex->workdir, name);
    if (!(t->private_dir = strdup(path))) {
        set_error(t, "cannot start task%s: %s", "", ENOMEM);
        return -1;
    }
    bool existed = false;
    if (mkdirat(ex->workdir_fd, name, 0700) < 0) {
        if (errno != EEXIST) {
            set_error(t, "cannot create work directory '%s': %s", path, errno);
            return -1;
        }
        existed = true;
    }
    t->private_fd = openat(ex->workdir_fd, name,
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (t->private_fd < 0) {
        set_error(t, "cannot create work directory '%s': %s", path, errno);
        return -1;
    }
    struct stat st;
    if (existed && fstat(t->private_fd, &st) == 0) {
        /* Emptied as whoever it was given to. */
        const struct asuser_id before = {.switch_ids = st.st_uid != geteuid(),
                                         .uid = st.st_uid,
                                         .gid = st.st_gid,
                                         .umask = 022};
        struct mps_error err;
        if (asuser_enter(&before, &err) == 0) {
            asuser_remove_contents(t->private_fd);
            asuser_leave();
        }
    }
    if ((t->as_user && fchown(t->private_fd, t->uid, t->gid) < 0) ||
        fchmod(t->private_fd, 0700) < 0) {
        set_error(t, "cannot give work directory '%s' to its user: %s", path,
                  errno);
        return -1;
    }
    return 0;
}

/* Extract t's archive into its private work directory as its user. A
 * worker's own copy is opened with the rank's rights (it is in the rank's
 * directory, where the user may not read); a path from the job file with
 * the user's, so nothing the user may not read is extracted. Returns 0, or
 * -1 with t->error set. */
static int extract_archive(struct xtask *t)
{
    static const struct asuser_want regular = {.type = S_IFREG,
                                               .any_owner = true};
    const struct asuser_id who = task_who(t);
    struct mps_error err;
    /* Rank 0's descriptor (held since the claim, opened with the owner's
     * rights), this rank's own copy, or a path opened as the user. */
    int fd = t->archive_fd >= 0 ? t->archive_fd
             : t->archive_copy
                 ? open(t->archive, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                 : asuser_open_path(&who, t->archive, &regular, NULL, &err);
    if (fd < 0 && t->archive_copy)
        errprintf(&err, "cannot read archive '%s': %s", t->archive,
                  strerror(errno));
    int rc = fd < 0 ? -1
                    : archive_extract_fd(fd, t->archive, t->private_fd, &who,
                                         &t->archive_limits, &err);
    if (fd >= 0 && fd != t->archive_fd)
        close(fd);
    if (rc < 0) {
        free(t->error);
        t->error = strdup(err.text);
    }
    return rc;
}

/* Start t. On failure before fork, t->error says why and t ends at once. */
static void spawn_command(struct executor *ex, struct xtask *t);

static void start_task(struct executor *ex, struct xtask *t)
{
    t->out_fd = t->err_fd = -1;
    t->start_us = util_now_us();
    int64_t start_mono = util_mono_us();
    if (t->timeout > 0)
        t->timeout_at = start_mono + (int64_t)(t->timeout * 1e6);

    const char *dir = t->cwd;
    /* With an archive the task runs where it was extracted (unless cwd);
     * steps share the private work directory (unless cwd). */
    if (!dir && !t->archive && !t->nsteps && is_directory(t->submit_dir))
        dir = t->submit_dir;
    if (!dir || t->archive) {
        if (make_private_dir(ex, t) < 0)
            goto failed;
        if (!dir)
            dir = t->private_dir;
        if (t->archive && extract_archive(t) < 0)
            goto failed;
    }
    if (ex->pl) {
        unsigned total = placement_cores(ex->pl);
        char list[1024];
        if (placement_take(ex->pl, t->cpus < total ? t->cpus : total, list,
                           sizeof list, &t->mask) == 0) {
            t->cores = strdup(list);
            t->bind = t->cores && placement_is_this_system(ex->pl);
        }
    }
    if (t->gpus) {
        if (!ex->pl ||
            placement_take_gpus(ex->pl, t->gpus, t->gpu_cuda, t->gpu_rocr,
                                sizeof t->gpu_cuda) < 0) {
            free(t->error);
            t->error = strdup("not enough free GPUs on this rank");
            goto failed;
        }
        t->holds_gpus = true;
    }
    if (t->memory && ex->cg_version) {
        char name[128], path[4096];
        snprintf(name, sizeof name, "mpispool-%d-%llu", (int)getpid(),
                 (unsigned long long)t->dispatch);
        if (cgroup_create(ex->cg_base, ex->cg_version, name, t->memory, path,
                          sizeof path) == 0 &&
            !(t->cgroup = strdup(path)))
            cgroup_remove(path);
    }
    /* The tracking cgroup: the memory cgroup where that is in the same
     * hierarchy (a process is in one cgroup per hierarchy), else its own. */
    if (t->cgroup && ex->track_kind &&
        strncmp(t->cgroup, ex->track_base, strlen(ex->track_base)) == 0 &&
        t->cgroup[strlen(ex->track_base)] == '/') {
        t->track = t->cgroup;
    } else if (ex->track_kind) {
        char name[128], path[4096];
        snprintf(name, sizeof name, "mpispool-%d-%llu", (int)getpid(),
                 (unsigned long long)t->dispatch);
        if (cgroup_track_create(ex->track_base, name, path, sizeof path) == 0) {
            t->track = strdup(path);
            if (!t->track)
                rmdir(path);
        }
    }
    if (!(t->run_dir = strdup(dir))) {
        set_error(t, "cannot start task%s: %s", "", ENOMEM);
        goto failed;
    }
    spawn_command(ex, t);
    return;

failed:
    t->pid = 0;
    t->exited = true;
    t->end_us = util_now_us();
}

/* Clone the child that execs t's command. Where its cgroup (the memory
 * cgroup, else the tracking one) is a cgroup2 directory, the child is born
 * in it (spawn_into_cgroup) and need not move itself there; otherwise, or
 * where the kernel refuses clone3, it is cloned here and joins its cgroups
 * from cgroup.procs. Returns the pid or -errno. */
static pid_t spawn_child(struct executor *ex, struct xtask *t, bool join_track,
                         struct child_args *ca)
{
    const char *into = NULL;
    if (t->cgroup && ex->cg_version == 2)
        into = t->cgroup;
    else if (join_track && ex->track_kind == CGROUP_TRACK_V2)
        into = t->track;
    int fd = into && !ex->no_clone3
                 ? open(into, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                 : -1;
    if (fd >= 0) {
        const char *procs = ca->cgroup_procs, *track_procs = ca->track_procs;
        if (into == t->cgroup)
            ca->cgroup_procs = NULL;
        else
            ca->track_procs = NULL;
        pid_t pid = spawn_into_cgroup(child_exec, child_stack,
                                      sizeof child_stack, fd, ca);
        close(fd);
        if (pid > 0) {
            if (into == t->track)
                ca->tracked = 1;
            return pid;
        }
        if (pid == -EAGAIN || pid == -ENOMEM)
            return pid;
        /* No clone3 (old kernel, a seccomp filter) or no CLONE_INTO_CGROUP
         * for this cgroup: the old way from now on. */
        ex->no_clone3 = true;
        ca->cgroup_procs = procs;
        ca->track_procs = track_procs;
    }
    pid_t pid = clone(child_exec, child_stack + sizeof child_stack,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, ca);
    return pid < 0 ? -errno : pid;
}

/* The argv of a shell command: "PROG -c COMMAND", or the long form. */
struct shell_argv {
    char *small[4];
    char **pieces; /* the long form, one malloc'd block; or NULL */
};

/* Where the piece of a command that starts at pos ends: at most
 * JOBFILE_MAX_ARG bytes on, before a UTF-8 continuation byte if it can. */
static size_t piece_end(const char *command, size_t pos, size_t len)
{
    size_t end = len - pos > JOBFILE_MAX_ARG ? pos + JOBFILE_MAX_ARG : len;
    size_t cut = end;
    while (cut < len && cut > pos &&
           ((unsigned char)command[cut] & 0xC0) == 0x80)
        cut--;
    return cut > pos ? cut : end;
}

/* The long form of a shell command (see exec_task.interpreter): pieces
 * of at most JOBFILE_MAX_ARG bytes, which the shell joins again in an
 * eval. $0 is prog, as with "prog -c COMMAND". */
static char **shell_pieces(const char *prog, const char *command, size_t len)
{
    size_t n = 0;
    for (size_t pos = 0; pos < len; pos = piece_end(command, pos, len))
        n++;
    size_t vec = (n + 5) * sizeof(char *);
    size_t script_len = sizeof "eval \"set --; \"" + n * 24;
    char **argv = malloc(vec + script_len + len + n);
    if (!argv)
        return NULL;
    char *script = (char *)argv + vec, *piece = script + script_len;
    int at = sprintf(script, "eval \"set --; ");
    for (size_t i = 1; i <= n; i++)
        at += sprintf(script + at, "${%zu}", i);
    strcpy(script + at, "\"");
    argv[0] = argv[3] = (char *)prog;
    argv[1] = "-c";
    argv[2] = script;
    size_t i = 4;
    for (size_t pos = 0, end; pos < len; pos = end) {
        end = piece_end(command, pos, len);
        memcpy(piece, command + pos, end - pos);
        piece[end - pos] = '\0';
        argv[i++] = piece;
        piece += end - pos + 1;
    }
    argv[i] = NULL;
    return argv;
}

/* "prog -c command" as one argument when it fits, else in pieces. NULL
 * when out of memory. */
static char *const *shell_argv_make(struct shell_argv *sa, const char *prog,
                                    char *command)
{
    size_t len = strlen(command);
    if (len > JOBFILE_MAX_ARG)
        return sa->pieces = shell_pieces(prog, command, len);
    sa->small[0] = (char *)prog;
    sa->small[1] = "-c";
    sa->small[2] = command;
    sa->small[3] = NULL;
    return sa->small;
}

/* Start t's command (its current step's, with steps) in t->run_dir, in its
 * cgroups. On failure t->error says why and the command ends at once. */
static void spawn_command(struct executor *ex, struct xtask *t)
{
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, fail_p[2] = {-1, -1};
    char **envp = NULL;
    struct shell_argv sa = {{NULL}, NULL};
    const char *dir = t->run_dir;
    bool shell = t->shell;
    char **task_argv = t->argv;
    if (t->nsteps) {
        shell = t->steps[t->step].shell;
        task_argv = t->steps[t->step].argv;
        t->step_start_us = util_now_us();
        t->step_out0 = t->out_bytes;
        t->step_err0 = t->err_bytes;
    }
    char procs[4200], track_procs[4200];
    if (t->cgroup)
        snprintf(procs, sizeof procs, "%s/cgroup.procs", t->cgroup);
    uint64_t rlimit_as = t->memory && !t->cgroup ? t->memory : 0;
    bool join_track = t->track && t->track != t->cgroup;
    if (join_track)
        snprintf(track_procs, sizeof track_procs, "%s/cgroup.procs", t->track);
    snprintf(t->token, sizeof t->token, "%s.%llu", ex->token_prefix,
             (unsigned long long)t->dispatch);
    envp = build_env(t);
    if (!envp || pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 ||
        pipe2(fail_p, O_CLOEXEC) < 0) {
        set_error(t, "cannot start task%s: %s", "", errno ? errno : ENOMEM);
        goto failed;
    }
    const char *interpreter = t->interpreter ? t->interpreter : "/bin/sh";
    char *const *argv =
        shell ? shell_argv_make(&sa, interpreter, task_argv[0]) : task_argv;
    if (!argv) {
        set_error(t, "cannot start task%s: %s", "", ENOMEM);
        goto failed;
    }
    const char *path = env_get(envp, "PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char program[PATH_MAX];
    const char *exec_path = NULL;
    if (policy_active(ex->policy)) {
        int rc = resolve_program(argv[0], path, dir, program);
        if (rc) {
            set_error(t, "cannot execute '%s': %s", argv[0], rc);
            goto failed;
        }
        if (!policy_allows(ex->policy, program)) {
            char line[PATH_MAX + 64];
            snprintf(line, sizeof line,
                     "command '%s' is not allowed on this cluster",
                     shell && strchr(interpreter, '/') ? interpreter : program);
            free(t->error);
            t->error = strdup(line);
            goto failed;
        }
        exec_path = program;
    }

    struct child_args ca = {ex->devnull,
                            out_p[1],
                            err_p[1],
                            fail_p[1],
                            dir,
                            argv,
                            envp,
                            path,
                            t->bind ? &t->mask : NULL,
                            t->cgroup ? procs : NULL,
                            rlimit_as,
                            exec_path,
                            t->as_user,
                            t->uid,
                            t->gid,
                            t->ngroups,
                            t->groups,
                            join_track ? track_procs : NULL,
                            0,
                            getpid()};
    pid_t pid = spawn_child(ex, t, join_track, &ca);
    if (pid < 0) {
        set_error(t, "cannot start task%s: %s", "", -pid);
        goto failed;
    }

    t->pid = pid;
    /* Also from the parent, so a kill of the group cannot race the child's
     * own setpgid. */
    setpgid(pid, pid);
    if (join_track && !ca.tracked) {
        cgroup_remove(t->track);
        free(t->track);
        t->track = NULL;
    }
    close(out_p[1]);
    close(err_p[1]);
    close(fail_p[1]);
    struct child_failure failure;
    ssize_t got;
    do {
        got = read(fail_p[0], &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    close(fail_p[0]);
    if (got == (ssize_t)sizeof failure) {
        if (failure.stage == 1)
            set_error(t, "cannot change directory to '%s': %s", dir,
                      failure.errnum);
        else if (failure.stage == 3)
            set_error(t, "cannot bind to cores '%s': %s", t->cores,
                      failure.errnum);
        else if (failure.stage == 4)
            set_error(t, "cannot limit memory%s: %s", "", failure.errnum);
        else if (failure.stage == 5) {
            char uid[16];
            snprintf(uid, sizeof uid, "%u", (unsigned)t->uid);
            set_error(t, "cannot switch to user %s: %s", uid, failure.errnum);
        } else
            set_error(t, "cannot execute '%s': %s", argv[0], failure.errnum);
    }
    t->out_fd = out_p[0];
    t->err_fd = err_p[0];
    fcntl(t->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(t->err_fd, F_SETFL, O_NONBLOCK);
    util_strv_free(envp);
    free(sa.pieces);
    return;

failed:
    for (int i = 0; i < 2; i++) {
        if (out_p[i] >= 0)
            close(out_p[i]);
        if (err_p[i] >= 0)
            close(err_p[i]);
        if (fail_p[i] >= 0)
            close(fail_p[i]);
    }
    util_strv_free(envp);
    free(sa.pieces);
    t->pid = 0;
    t->exited = true;
    t->end_us = util_now_us();
}

static void start_queued(struct executor *ex);

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
static void retry_stale(struct executor *ex)
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
static void signal_task(struct executor *ex, struct xtask *t, int sig)
{
    kill(-t->pid, sig);
    if (t->track)
        cgroup_signal(t->track, sig, t->pid);
    else
        signal_marked(ex, t, sig, t->pid);
}

/* SIGTERM to all of t; a suspended t also gets SIGCONT, or the SIGTERM
 * would wait for it. */
static void terminate_task(struct executor *ex, struct xtask *t)
{
    signal_task(ex, t, SIGTERM);
    if (t->suspended) {
        signal_task(ex, t, SIGCONT);
        t->suspended = false;
    }
}

/* t's main process has exited (and its process group was killed): kill
 * what it left behind, so that no daemon outlives it and none holds its
 * output pipes open. Bounded in time. */
static void kill_leftovers(struct executor *ex, struct xtask *t)
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
    struct exec_result res;
    memset(&res, 0, sizeof res);
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
    if (t->nsteps) {
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
        res.nsteps = t->step + 1;
    }
    res.timed_out = t->timed_out;
    res.interrupted = t->interrupted;
    char limit_error[96];
    if (t->cgroup) {
        if (cgroup_oom_killed(t->cgroup, ex->cg_version) && !t->error) {
            char size[32];
            snprintf(limit_error, sizeof limit_error,
                     "memory limit of %s exceeded",
                     util_format_size(t->memory, size));
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
    ex->busy -= t->cpus < ex->busy ? t->cpus : ex->busy;
    remove_private_dir(ex, t);
    ex->cb.result(ex->cb.arg, t->dispatch, &res);
    xtask_free(t);
    start_queued(ex);
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
    if (t->step + 1 >= t->nsteps || t->stopped || t->timed_out ||
        t->interrupted || (!ok && !t->continue_on_error))
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
    spawn_command(ex, t);
    /* Tasks are suspended (--idle-policy): so is this step. */
    if (ex->suspended && t->pid > 0) {
        signal_task(ex, t, SIGSTOP);
        if (!t->suspended) {
            t->suspended = true;
            t->suspended_at = util_mono_us();
        }
    }
    return true;
}

static void maybe_finish(struct executor *ex, struct xtask *t)
{
    while (t->exited && t->out_fd < 0 && t->err_fd < 0) {
        if (t->nsteps && next_step(ex, t))
            continue;
        finish_task(ex, t);
        return;
    }
}

static void start_queued(struct executor *ex)
{
    if (ex->starting || ex->suspended)
        return;
    ex->starting = true;
    while (ex->queue_head) {
        struct xtask *t = ex->queue_head;
        /* A task larger than the whole rank runs alone rather than never. */
        bool fits = ex->busy + t->cpus <= ex->slots ||
                    (ex->busy == 0 && t->cpus > ex->slots);
        if (!fits)
            break;
        ex->queue_head = t->next;
        if (!ex->queue_head)
            ex->queue_tail = NULL;
        ex->nqueued--;
        t->next = ex->running;
        ex->running = t;
        ex->nrunning++;
        ex->busy += t->cpus;
        start_task(ex, t);
        maybe_finish(ex, t);
    }
    ex->starting = false;
}

int executor_submit(struct executor *ex, const struct exec_task *task)
{
    struct xtask *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->private_fd = -1;
    t->archive_fd = -1;
    t->dispatch = task->dispatch;
    t->job = strdup(task->job);
    t->task = task->task;
    t->attempt = task->attempt;
    t->cpus = task->cpus ? task->cpus : 1;
    t->memory = task->memory;
    t->gpus = task->gpus;
    t->timeout = task->timeout;
    t->shell = task->shell;
    t->inherit = task->inherit;
    t->argv = util_strv_dup(task->argv);
    t->cwd = strdup_or_null(task->cwd);
    t->submit_dir = strdup_or_null(task->submit_dir);
    t->env = util_strv_dup(task->env);
    t->archive = strdup_or_null(task->archive);
    t->archive_copy = task->archive_copy;
    t->archive_fd = task->archive && task->archive_by_fd
                        ? fcntl(task->archive_fd, F_DUPFD_CLOEXEC, 3)
                        : -1;
    if (task->archive_limits)
        t->archive_limits = *task->archive_limits;
    t->as_user = task->as_user;
    t->uid = task->uid;
    t->gid = task->gid;
    if (task->as_user && task->ngroups) {
        t->groups = malloc(task->ngroups * sizeof *t->groups);
        if (t->groups) {
            memcpy(t->groups, task->groups, task->ngroups * sizeof *t->groups);
            t->ngroups = task->ngroups;
        }
    }
    t->continue_on_error = task->continue_on_error;
    t->interpreter = strdup_or_null(task->interpreter);
    t->ntasks = task->ntasks;
    t->line = task->line;
    if (task->nsteps) {
        t->steps = calloc(task->nsteps, sizeof *t->steps);
        t->step_res = calloc(task->nsteps, sizeof *t->step_res);
        if (!t->steps || !t->step_res) {
            xtask_free(t);
            errno = ENOMEM;
            return -1;
        }
        t->nsteps = task->nsteps;
        for (size_t i = 0; i < task->nsteps; i++) {
            t->steps[i].shell = task->steps[i].shell;
            t->steps[i].argc = task->steps[i].argc;
            t->steps[i].argv = util_strv_dup(task->steps[i].argv);
            if (!t->steps[i].argv || !t->steps[i].argv[0]) {
                xtask_free(t);
                errno = ENOMEM;
                return -1;
            }
        }
    }
    t->out_fd = t->err_fd = -1;
    if (!t->job || !t->argv || !t->argv[0] || !t->env ||
        (task->archive && !t->archive) ||
        (task->archive && task->archive_by_fd && t->archive_fd < 0) ||
        (task->interpreter && !t->interpreter) ||
        (task->as_user && task->ngroups && !t->groups) ||
        (task->cwd && !t->cwd) || (task->submit_dir && !t->submit_dir)) {
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
    start_queued(ex);
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
        ex->cb.output(ex->cb.arg, t->dispatch, stream, ex->buf, pass);
}

void executor_handle(struct executor *ex, const struct pollfd *fds, int n)
{
    for (int i = 0; i < n; i++) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        for (struct xtask *t = ex->running; t; t = t->next) {
            if (t->out_fd == fds[i].fd || t->err_fd == fds[i].fd) {
                read_pipe(ex, t, t->out_fd == fds[i].fd ? 1 : 2);
                maybe_finish(ex, t);
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
        kill_leftovers(ex, t);
        t->exited = true;
        t->status = status;
        t->usage = usage;
        t->end_us = util_now_us();
        t->drain_until = util_mono_us() + DRAIN_GRACE_US;
        maybe_finish(ex, t);
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
            terminate_task(ex, t);
            t->kill_at = now + (int64_t)(ex->kill_grace_s * 1e6);
        }
        if (!t->exited && t->kill_at && now >= t->kill_at) {
            t->kill_at = 0;
            signal_task(ex, t, SIGKILL);
        }
        if (t->exited && t->drain_until && now >= t->drain_until) {
            /* Something outside the task's group holds its pipes. */
            if (t->out_fd >= 0)
                close(t->out_fd);
            if (t->err_fd >= 0)
                close(t->err_fd);
            t->out_fd = t->err_fd = -1;
            maybe_finish(ex, t);
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
        retry_stale(ex);
    if (ex->stale_retry_at && (next < 0 || ex->stale_retry_at < next))
        next = ex->stale_retry_at;
    if (next < 0)
        return -1;
    int64_t ms = (next - now + 999) / 1000;
    return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The result of a task that leaves the queue without having started. */
static void drop_queued(struct executor *ex, struct xtask *t, bool interrupted)
{
    struct exec_result res = {
        .exit_code = -1,
        .interrupted = interrupted,
        .error = interrupted ? "interrupted before it started"
                             : "cancelled before it started",
    };
    res.start_us = res.end_us = util_now_us();
    ex->cb.result(ex->cb.arg, t->dispatch, &res);
    xtask_free(t);
}

void executor_cancel(struct executor *ex, uint64_t dispatch, double grace_s)
{
    /* Each attempt handed to us ends in one result, also one that never
     * started: the coordinator keeps it out until then. */
    struct xtask **link = &ex->queue_head;
    while (*link) {
        struct xtask *t = *link;
        if (dispatch == 0 || t->dispatch == dispatch) {
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
        if (dispatch == 0 || t->dispatch == dispatch)
            t->stopped = true;
        if ((dispatch == 0 || t->dispatch == dispatch) && !t->exited &&
            t->pid > 0) {
            terminate_task(ex, t);
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
            signal_task(ex, t, SIGSTOP);
            t->suspended = true;
            t->suspended_at = now;
        } else if (!suspend && t->suspended) {
            signal_task(ex, t, SIGCONT);
            t->suspended = false;
            if (t->timeout_at)
                t->timeout_at += now - t->suspended_at;
        }
    }
    if (!suspend)
        start_queued(ex);
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
