/* SPDX-License-Identifier: MIT */
/* The privilege boundary: every access to a path a user controls, made as
 * that user and opened without following links. */
#include "asuser.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The identity system calls: on 32-bit x86 and ARM the plain numbers take
 * 16-bit ids. */
#ifdef SYS_setgroups32
#define ASUSER_SYS_SETGROUPS SYS_setgroups32
#define ASUSER_SYS_SETRESGID SYS_setresgid32
#define ASUSER_SYS_SETRESUID SYS_setresuid32
#else
#define ASUSER_SYS_SETGROUPS SYS_setgroups
#define ASUSER_SYS_SETRESGID SYS_setresgid
#define ASUSER_SYS_SETRESUID SYS_setresuid
#endif
_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
/* The child's report is one write, which a pipe takes whole. */
_Static_assert(ASUSER_MAX_COPIES * sizeof(struct asuser_result) <= PIPE_BUF,
               "the report fits in a pipe");

int asuser_become(const struct asuser_id *who)
{
    if (!who->switch_ids)
        return 0;
    if (syscall(ASUSER_SYS_SETGROUPS, (size_t)who->ngroups, who->groups) < 0 ||
        syscall(ASUSER_SYS_SETRESGID, who->gid, who->gid, who->gid) < 0 ||
        syscall(ASUSER_SYS_SETRESUID, who->uid, who->uid, who->uid) < 0)
        return -errno;
    return 0;
}

/* ---- this thread's file system identity ---- */

#ifdef SYS_setfsuid32
#define ASUSER_SYS_SETFSUID SYS_setfsuid32
#define ASUSER_SYS_SETFSGID SYS_setfsgid32
#else
#define ASUSER_SYS_SETFSUID SYS_setfsuid
#define ASUSER_SYS_SETFSGID SYS_setfsgid
#endif

/* The process's own supplementary groups, read once (they never change:
 * only the threads' are switched). */
static gid_t own_groups[NGROUPS_MAX];
static int own_ngroups = -1;
static pthread_once_t own_groups_once = PTHREAD_ONCE_INIT;
static _Thread_local bool entered;

static void read_own_groups(void)
{
    own_ngroups = getgroups(NGROUPS_MAX, own_groups);
}

/* Set this thread's file system ids; the kernel says no only by leaving
 * them, so ask it back (an id of -1 changes nothing and answers). */
static int set_fs_ids(uid_t uid, gid_t gid)
{
    syscall(ASUSER_SYS_SETFSGID, gid);
    syscall(ASUSER_SYS_SETFSUID, uid);
    if ((uid_t)syscall(ASUSER_SYS_SETFSUID, (uid_t)-1) != uid ||
        (gid_t)syscall(ASUSER_SYS_SETFSGID, (gid_t)-1) != gid)
        return -1;
    return 0;
}

int asuser_enter(const struct asuser_id *who, struct mps_error *err)
{
    if (!who->switch_ids)
        return 0;
    if (entered)
        return errprintf(err, "already acting as a user");
    pthread_once(&own_groups_once, read_own_groups);
    if (own_ngroups < 0)
        return errprintf(err, "cannot read this process's groups: %s",
                         strerror(errno));
    if (syscall(ASUSER_SYS_SETGROUPS, (size_t)who->ngroups, who->groups) < 0)
        return errprintf(err, "cannot take the groups of user %u: %s",
                         (unsigned)who->uid, strerror(errno));
    entered = true;
    if (set_fs_ids(who->uid, who->gid) < 0) {
        asuser_leave();
        errno = EPERM;
        return errprintf(err, "cannot act as user %u", (unsigned)who->uid);
    }
    return 0;
}

void asuser_leave(void)
{
    if (!entered)
        return;
    /* The uid first: with it the capabilities to set the rest come back. */
    set_fs_ids(geteuid(), getegid());
    syscall(ASUSER_SYS_SETGROUPS, (size_t)own_ngroups, own_groups);
    entered = false;
}

/* ---- opening what a user controls ---- */

bool asuser_may_act(uint32_t requester, uint32_t owner, uint32_t admin)
{
    return requester == 0 || requester == owner || requester == admin;
}

bool asuser_transient(int e)
{
    switch (e) {
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EIO:
    case EINTR:
    case EAGAIN:
    case ETXTBSY:
    case ESTALE:
    case ETIMEDOUT:
        return true;
    default:
        return false;
    }
}

/* openat(dirfd, path) one name at a time, never following a link: the
 * way of kernels without openat2. */
static int open_walk(int dirfd, const char *path, int flags, mode_t mode)
{
    char name[NAME_MAX + 1];
    int at = dirfd, fd = -1;
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len > NAME_MAX || (len == 1 && p[0] == '.') ||
            (len == 2 && p[0] == '.' && p[1] == '.')) {
            errno = EXDEV;
            break;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        fd = slash ? openat(at, name,
                            O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                   : openat(at, name, flags, mode);
        if (at != dirfd) {
            int saved = errno;
            close(at);
            errno = saved;
        }
        if (fd < 0 || !slash)
            return fd;
        at = fd;
        fd = -1;
        p = slash + 1;
    }
    if (at != dirfd)
        close(at);
    return -1;
}

/* Whether st is what want asks; else err and errno EINVAL. */
static int check_wanted(const struct stat *st, const struct asuser_want *want,
                        const char *name, struct mps_error *err)
{
    const char *type = want->type == S_IFDIR ? "a directory" : "a regular file";
    bool type_ok = want->type ? (st->st_mode & S_IFMT) == want->type
                              : S_ISREG(st->st_mode) || S_ISDIR(st->st_mode);
    if (!type_ok)
        errprintf(err, "'%s' is not %s", name,
                  want->type ? type : "a regular file or directory");
    else if (!want->any_owner && st->st_uid != (uid_t)want->owner)
        errprintf(err, "'%s' belongs to uid %u, not %u", name,
                  (unsigned)st->st_uid, (unsigned)want->owner);
    else if (S_ISREG(st->st_mode) && want->one_link && st->st_nlink != 1)
        errprintf(err, "'%s' has %lu links (a hard link is refused)", name,
                  (unsigned long)st->st_nlink);
    else if (S_ISREG(st->st_mode) && want->max_size &&
             (uint64_t)st->st_size > want->max_size)
        errprintf(err, "'%s' is %lld bytes, more than %llu", name,
                  (long long)st->st_size, (unsigned long long)want->max_size);
    else
        return 0;
    errno = EINVAL;
    return -1;
}

/* The checks after open, and blocking mode for a regular file. */
static int opened(int fd, const struct asuser_want *want, struct stat *st,
                  const char *name, struct mps_error *err)
{
    struct stat own;
    if (!st)
        st = &own;
    if (fstat(fd, st) < 0) {
        errprintf(err, "cannot stat '%s': %s", name, strerror(errno));
    } else if (check_wanted(st, want, name, err) == 0) {
        int fl = fcntl(fd, F_GETFL);
        if (!S_ISREG(st->st_mode) ||
            (fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0))
            return fd;
        errprintf(err, "cannot open '%s': %s", name, strerror(errno));
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int asuser_openat(int dirfd, const char *path, int flags, mode_t mode,
                  const struct asuser_want *want, struct stat *st,
                  const char *name, struct mps_error *err)
{
    flags |= O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
    struct open_how how = {
        .flags = (uint64_t)flags,
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve =
            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    int fd;
    do
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 && (errno == ENOSYS || errno == EPERM) && path[0] != '/')
        fd = open_walk(dirfd, path, flags, mode); /* seccomp may say EPERM */
    if (fd < 0) {
        int saved = errno;
        if (saved == ELOOP)
            errprintf(err, "'%s' is a symbolic link", name);
        else if (saved == EXDEV)
            errprintf(err, "'%s' leaves its directory", name);
        else
            errprintf(err, "cannot open '%s': %s", name, strerror(saved));
        errno = saved;
        return -1;
    }
    return opened(fd, want, st, name, err);
}

int asuser_open_path(const struct asuser_id *who, const char *path,
                     const struct asuser_want *want, struct stat *st,
                     struct mps_error *err)
{
    if (asuser_enter(who, err) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    int saved = errno;
    asuser_leave();
    if (fd < 0) {
        errprintf(err, "cannot open '%s': %s", path, strerror(saved));
        errno = saved;
        return -1;
    }
    return opened(fd, want, st, path, err);
}

char *asuser_read(int fd, size_t max, size_t *len, const char *name,
                  struct mps_error *err)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap > max)
                break;
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown)
                break;
            buf = grown;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            errprintf(err, "cannot read '%s': %s", name, strerror(errno));
            free(buf);
            return NULL;
        }
        if (got == 0) {
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        n += (size_t)got;
        if (n > max) {
            free(buf);
            errno = EINVAL;
            errprintf(err, "'%s' is longer than %zu bytes", name, max);
            return NULL;
        }
    }
    free(buf);
    errno = ENOMEM;
    errprintf(err, "cannot read '%s': out of memory", name);
    return NULL;
}

/* Deeper than this, a tree is left (a hostile one could exhaust the
 * stack or the descriptors). */
#define ASUSER_MAX_DEPTH 256

static int remove_at(int dirfd, const char *name, int depth);

/* Empty the directory dfd (which this takes over), depth first. */
static int remove_contents(int dfd, int depth)
{
    DIR *dir = fdopendir(dfd);
    if (!dir) {
        close(dfd);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (remove_at(dirfd(dir), de->d_name, depth) < 0 && errno != ENOENT)
            rc = -1;
    }
    int saved = errno;
    closedir(dir);
    errno = saved;
    return rc;
}

static int remove_at(int dirfd, const char *name, int depth)
{
    if (unlinkat(dirfd, name, 0) == 0)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -1;
    if (depth >= ASUSER_MAX_DEPTH) {
        errno = ELOOP;
        return -1;
    }
    int dfd =
        openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    /* A read-only directory of the user's can still be emptied. */
    fchmod(dfd, 0700);
    if (remove_contents(dfd, depth + 1) < 0)
        return -1;
    return unlinkat(dirfd, name, AT_REMOVEDIR);
}

int asuser_remove_tree(int dirfd, const char *name)
{
    return remove_at(dirfd, name, 0);
}

int asuser_remove_contents(int dirfd)
{
    fchmod(dirfd, 0700);
    /* A description of its own: readdir's position is not the caller's. */
    int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    return remove_contents(dfd, 1);
}

const char *asuser_describe(const struct asuser_result *r,
                            const struct asuser_id *who, char *buf, size_t len)
{
    switch (r->stage) {
    case ASUSER_OK:
        snprintf(buf, len, "done");
        break;
    case ASUSER_SWITCH:
        snprintf(buf, len, "cannot switch to user %u: %s", (unsigned)who->uid,
                 strerror(r->err));
        break;
    case ASUSER_NOT_FILE:
        snprintf(buf, len, "not a regular file");
        break;
    case ASUSER_SAME:
        snprintf(buf, len, "it is the file being copied");
        break;
    case ASUSER_READ:
        snprintf(buf, len, "cannot read the output: %s", strerror(r->err));
        break;
    case ASUSER_DIED:
        if (r->err)
            snprintf(buf, len, "the copying process was killed (%s)",
                     strsignal(r->err));
        else
            snprintf(buf, len, "the copying process ended without a report");
        break;
    default: /* ASUSER_OPEN, ASUSER_WRITE */
        snprintf(buf, len, "%s", strerror(r->err));
    }
    return buf;
}

/* ---- the child ---- */

/* What the child needs; it has its own copy of our memory. */
struct child_args {
    const struct asuser_id *who;
    const struct asuser_copy *copies;
    size_t n;
    int report_fd; /* the write end of the report pipe */
    pid_t parent;
};

/* The child's stack and copy buffer: each child has its own copy of them
 * (no CLONE_VM), so one of each serves every child. */
static char child_stack[64 * 1024] __attribute__((aligned(64)));
static char copy_buf[256 * 1024];

/* Close the descriptors from lo to hi (inclusive). */
static void close_span(unsigned lo, unsigned hi)
{
    if (lo > hi || close_range(lo, hi, 0) == 0)
        return;
    for (unsigned fd = lo; fd <= hi && fd < 65536; fd++)
        close((int)fd);
}

/* Keep stdin, stdout, stderr and the descriptors in keep; close the rest
 * (the parent's sockets, journal, spool directories). */
static void close_others(int *keep, size_t nkeep)
{
    for (size_t i = 1; i < nkeep; i++)
        for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned lo = 3;
    for (size_t i = 0; i < nkeep; i++) {
        if (keep[i] < (int)lo)
            continue;
        close_span(lo, (unsigned)keep[i] - 1);
        lo = (unsigned)keep[i] + 1;
    }
    close_span(lo, ~0U);
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t put = write(fd, p, len);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return -1;
        p += put;
        len -= (size_t)put;
    }
    return 0;
}

/* Append the bytes of src to dst. */
static void copy_bytes(int src, int dst, struct asuser_result *r)
{
    off_t off = 0;
    for (;;) {
        ssize_t got = pread(src, copy_buf, sizeof copy_buf, off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            *r = (struct asuser_result){ASUSER_READ, errno};
            return;
        }
        if (got == 0)
            return;
        if (write_all(dst, copy_buf, (size_t)got) < 0) {
            *r = (struct asuser_result){ASUSER_WRITE, errno ? errno : EIO};
            return;
        }
        off += got;
    }
}

static bool same_file(const struct stat *st, int fd)
{
    struct stat other;
    return fd >= 0 && fstat(fd, &other) == 0 && other.st_dev == st->st_dev &&
           other.st_ino == st->st_ino;
}

/* Open the target of copies[first..last] (one path) and make it empty:
 * the descriptor, or -1 with *r set. Never blocks on a FIFO or device. */
static int open_target(const struct asuser_copy *copies, size_t first,
                       size_t last, struct asuser_result *r)
{
    int fd = open(copies[first].path,
                  O_WRONLY | O_CREAT | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0) {
        *r = (struct asuser_result){ASUSER_OPEN, errno};
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        *r = (struct asuser_result){ASUSER_OPEN, errno};
    } else if (S_ISCHR(st.st_mode)) {
        return fd;
    } else if (!S_ISREG(st.st_mode)) {
        *r = (struct asuser_result){ASUSER_NOT_FILE, 0};
    } else {
        for (size_t i = first; i <= last; i++)
            if (same_file(&st, copies[i].src_fd))
                *r = (struct asuser_result){ASUSER_SAME, 0};
        if (r->stage == ASUSER_OK && ftruncate(fd, 0) < 0)
            *r = (struct asuser_result){ASUSER_WRITE, errno};
        if (r->stage == ASUSER_OK)
            return fd;
    }
    close(fd);
    return -1;
}

/* Write every copy; consecutive copies to one path share the file. */
static void write_copies(const struct asuser_copy *copies, size_t n,
                         struct asuser_result *results)
{
    size_t first = 0;
    while (first < n) {
        size_t last = first;
        while (last + 1 < n &&
               strcmp(copies[last + 1].path, copies[first].path) == 0)
            last++;
        struct asuser_result r = {ASUSER_OK, 0};
        int fd = open_target(copies, first, last, &r);
        for (size_t i = first; fd >= 0 && i <= last; i++)
            if (copies[i].src_fd >= 0 && r.stage == ASUSER_OK)
                copy_bytes(copies[i].src_fd, fd, &r);
        /* A network file system may report a failed write only here. */
        if (fd >= 0 && close(fd) < 0 && r.stage == ASUSER_OK)
            r = (struct asuser_result){ASUSER_WRITE, errno};
        for (size_t i = first; i <= last; i++)
            results[i] = r;
        first = last + 1;
    }
}

/* The child: made by clone() without CLONE_VM in a process that may have
 * other threads, so it makes system calls only (no malloc, no stdio, no
 * locks another thread might have held). Signals stay blocked; SIGKILL
 * and SIGSTOP from the user are the user's own business. */
static int child_main(void *arg)
{
    const struct child_args *a = arg;
    struct asuser_result results[ASUSER_MAX_COPIES];
    memset(results, 0, sizeof results);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    int keep[ASUSER_MAX_COPIES + 1];
    size_t nkeep = 0;
    keep[nkeep++] = a->report_fd;
    for (size_t i = 0; i < a->n; i++)
        if (a->copies[i].src_fd >= 0)
            keep[nkeep++] = a->copies[i].src_fd;
    close_others(keep, nkeep);
    int rc = asuser_become(a->who);
    if (rc < 0) {
        for (size_t i = 0; i < a->n; i++)
            results[i] = (struct asuser_result){ASUSER_SWITCH, -rc};
    } else {
        /* Neither ptrace nor /proc/PID/fd for the user, whatever
         * fs.suid_dumpable says; and no copying on for a dead parent.
         * Both after the switch, which resets them. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != a->parent)
            _exit(1);
        umask((mode_t)a->who->umask & 0777);
        write_copies(a->copies, a->n, results);
    }
    write_all(a->report_fd, (const char *)results, a->n * sizeof *results);
    _exit(0);
}

/* ---- the parent ---- */

struct asuser_child {
    pid_t pid;
    int pidfd;
    int report_fd; /* the read end of the report pipe */
    size_t n;
};

struct asuser_child *asuser_copy_start(const struct asuser_id *who,
                                       const struct asuser_copy *copies,
                                       size_t n, struct mps_error *err)
{
    if (n == 0 || n > ASUSER_MAX_COPIES) {
        errprintf(err, "cannot copy %zu files at once", n);
        return NULL;
    }
    struct asuser_child *child = calloc(1, sizeof *child);
    int report[2];
    if (!child || pipe2(report, O_CLOEXEC) < 0) {
        errprintf(err, "cannot start a process to write as the user: %s",
                  strerror(errno));
        free(child);
        return NULL;
    }
    struct child_args args = {who, copies, n, report[1], getpid()};
    child->pidfd = -1;
    child->n = n;
    child->report_fd = report[0];
    /* Exit signal 0: no SIGCHLD, invisible to waits without __WALL. */
    child->pid = clone(child_main, child_stack + sizeof child_stack,
                       CLONE_PIDFD, &args, &child->pidfd);
    int saved = errno;
    close(report[1]);
    if (child->pid < 0) {
        errprintf(err, "cannot start a process to write as the user: %s",
                  strerror(saved));
        close(report[0]);
        free(child);
        return NULL;
    }
    return child;
}

int asuser_child_fd(const struct asuser_child *child)
{
    return child->pidfd;
}

void asuser_child_signal(struct asuser_child *child, int sig)
{
    if (syscall(SYS_pidfd_send_signal, child->pidfd, sig, NULL, 0) < 0)
        kill(child->pid, sig); /* not reaped yet: still ours */
}

void asuser_child_finish(struct asuser_child *child,
                         struct asuser_result *results)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    do
        rc = waitid(P_PIDFD, (id_t)child->pidfd, &info, WEXITED | __WALL);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) /* a kernel without P_PIDFD */
        while (waitpid(child->pid, NULL, __WALL) < 0 && errno == EINTR)
            ;
    size_t want = child->n * sizeof *results;
    ssize_t got;
    do
        got = read(child->report_fd, results, want);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)want) {
        int sig = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED
                      ? info.si_status
                      : 0;
        for (size_t i = 0; i < child->n; i++)
            results[i] = (struct asuser_result){ASUSER_DIED, sig};
    }
    close(child->report_fd);
    close(child->pidfd);
    free(child);
}

int asuser_copy(const struct asuser_id *who, const struct asuser_copy *copies,
                size_t n, struct asuser_result *results, struct mps_error *err)
{
    struct asuser_child *child = asuser_copy_start(who, copies, n, err);
    if (!child)
        return -1;
    asuser_child_finish(child, results);
    return 0;
}
