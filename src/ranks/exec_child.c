/* SPDX-License-Identifier: MIT */
/* What runs in the child: a task's command cloned (CLONE_VM | CLONE_VFORK,
 * into its cgroup where the kernel can) with a CLOEXEC error pipe and
 * output pipes, its program checked against the command policy, and a
 * long shell command passed in pieces. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asuser.h"
#include "cgroup.h"
#include "executor_int.h"
#include "policy.h"
#include "spawn.h"
#include "util.h"

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

/* The long form of a shell command (see exec_task, executor.h): pieces
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

/* The command of t's current step (t's own, without steps) and whether it
 * is a shell command; a step's start is noted. */
static char **current_command(struct xtask *t, bool *shell)
{
    if (!t->a.nsteps) {
        *shell = t->a.shell;
        return t->a.argv;
    }
    *shell = t->a.steps[t->step].shell;
    t->step_start_us = util_now_us();
    t->step_out0 = t->out_bytes;
    t->step_err0 = t->err_bytes;
    return t->a.steps[t->step].argv;
}

/* With a command policy: find argv[0] on path (from dir) into program
 * (PATH_MAX bytes) and check that the policy allows it. shell_prog is the
 * interpreter of a shell command, or NULL. Returns 0, or -1 with t->error
 * set. */
static int check_program(const struct executor *ex, struct xtask *t,
                         char *const *argv, const char *path, const char *dir,
                         const char *shell_prog, char *program)
{
    int rc = resolve_program(argv[0], path, dir, program);
    if (rc) {
        exec_set_error(t, "cannot execute '%s': %s", argv[0], rc);
        return -1;
    }
    if (!policy_allows(ex->policy, program)) {
        char line[PATH_MAX + 64];
        snprintf(line, sizeof line,
                 "command '%s' is not allowed on this cluster",
                 shell_prog && strchr(shell_prog, '/') ? shell_prog : program);
        free(t->error);
        t->error = strdup(line);
        return -1;
    }
    return 0;
}

/* Wait for the child's exec: the error pipe (fd, closed here) ends empty
 * when it worked, else holds the stage that failed, which becomes
 * t->error. */
static void read_child_failure(struct xtask *t, int fd, const char *dir,
                               const char *prog)
{
    struct child_failure failure;
    ssize_t got;
    do {
        got = read(fd, &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    close(fd);
    if (got != (ssize_t)sizeof failure)
        return;
    if (failure.stage == 1) {
        exec_set_error(t, "cannot change directory to '%s': %s", dir,
                       failure.errnum);
    } else if (failure.stage == 3) {
        exec_set_error(t, "cannot bind to cores '%s': %s", t->cores,
                       failure.errnum);
    } else if (failure.stage == 4) {
        exec_set_error(t, "cannot limit memory%s: %s", "", failure.errnum);
    } else if (failure.stage == 5) {
        char uid[16];
        snprintf(uid, sizeof uid, "%u", (unsigned)t->a.uid);
        exec_set_error(t, "cannot switch to user %s: %s", uid, failure.errnum);
    } else {
        exec_set_error(t, "cannot execute '%s': %s", prog, failure.errnum);
    }
}

/* The child is running as pid (or failed to exec): put it in its own
 * process group, give up a tracking cgroup it could not join, and keep
 * the read ends of its output pipes. */
static void child_started(struct xtask *t, pid_t pid, bool join_track,
                          const struct child_args *ca, int out_r, int err_r)
{
    t->pid = pid;
    /* Also from the parent, so a kill of the group cannot race the child's
     * own setpgid. */
    setpgid(pid, pid);
    if (join_track && !ca->tracked) {
        cgroup_remove(t->track);
        free(t->track);
        t->track = NULL;
    }
    close(ca->out_w);
    close(ca->err_w);
    close(ca->fail_w);
    t->out_fd = out_r;
    t->err_fd = err_r;
    fcntl(t->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(t->err_fd, F_SETFL, O_NONBLOCK);
}

static void close_pipe(int p[2])
{
    for (int i = 0; i < 2; i++)
        if (p[i] >= 0)
            close(p[i]);
}

/* Start t's command (its current step's, with steps) in t->run_dir, in its
 * cgroups. On failure t->error says why and the command ends at once. */
void exec_spawn_command(struct executor *ex, struct xtask *t)
{
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, fail_p[2] = {-1, -1};
    char **envp = NULL;
    struct shell_argv sa = {{NULL}, NULL};
    const char *dir = t->run_dir;
    bool shell;
    char **task_argv = current_command(t, &shell);
    char procs[4200], track_procs[4200];
    if (t->cgroup)
        snprintf(procs, sizeof procs, "%s/cgroup.procs", t->cgroup);
    uint64_t rlimit_as = t->a.memory && !t->cgroup ? t->a.memory : 0;
    bool join_track = t->track && t->track != t->cgroup;
    if (join_track)
        snprintf(track_procs, sizeof track_procs, "%s/cgroup.procs", t->track);
    snprintf(t->token, sizeof t->token, "%s.%llu", ex->token_prefix,
             (unsigned long long)t->a.dispatch);
    envp = exec_build_env(t);
    if (!envp || pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 ||
        pipe2(fail_p, O_CLOEXEC) < 0) {
        exec_set_error(t, "cannot start task%s: %s", "",
                       errno ? errno : ENOMEM);
        goto failed;
    }
    const char *interpreter = t->a.interpreter ? t->a.interpreter : "/bin/sh";
    char *const *argv =
        shell ? shell_argv_make(&sa, interpreter, task_argv[0]) : task_argv;
    if (!argv) {
        exec_set_error(t, "cannot start task%s: %s", "", ENOMEM);
        goto failed;
    }
    const char *path = exec_env_get(envp, "PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char program[PATH_MAX];
    const char *exec_path = NULL;
    if (policy_active(ex->policy)) {
        if (check_program(ex, t, argv, path, dir, shell ? interpreter : NULL,
                          program) < 0)
            goto failed;
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
                            t->a.as_user,
                            t->a.uid,
                            t->a.gid,
                            t->a.ngroups,
                            t->a.groups,
                            join_track ? track_procs : NULL,
                            0,
                            getpid()};
    pid_t pid = spawn_child(ex, t, join_track, &ca);
    if (pid < 0) {
        exec_set_error(t, "cannot start task%s: %s", "", -pid);
        goto failed;
    }
    child_started(t, pid, join_track, &ca, out_p[0], err_p[0]);
    read_child_failure(t, fail_p[0], dir, argv[0]);
    util_strv_free(envp);
    free(sa.pieces);
    return;

failed:
    close_pipe(out_p);
    close_pipe(err_p);
    close_pipe(fail_p);
    util_strv_free(envp);
    free(sa.pieces);
    t->pid = 0;
    t->exited = true;
    t->end_us = util_now_us();
}
