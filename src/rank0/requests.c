/* SPDX-License-Identifier: MIT */
/* Rank 0's side of the requests about jobs: cancel/ and drain/. */
#include "requests.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asuser.h"
#include "jobfile.h"
#include "jobreport.h"
#include "spool.h"

/* A cancel request holds task numbers, one a line: this is plenty. */
#define REQUEST_MAX_BYTES (1 << 20)

struct requests {
    struct spool *sp;
    const struct requests_ops *ops;
    void *arg;
    uint32_t admin; /* this process's uid */
    int cancel_fd, cur_fd, failed_fd, drain_fd;
};

static void rq_log(const struct requests *rq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void rq_log(const struct requests *rq, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    rq->ops->log(rq->arg, line);
}

static int open_dir(const struct spool *sp, enum spool_dir dir)
{
    char *path = spool_file(sp, dir, NULL);
    int fd =
        path ? open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    free(path);
    return fd;
}

struct requests *requests_create(struct spool *sp,
                                 const struct requests_ops *ops, void *arg,
                                 struct mps_error *err)
{
    struct requests *rq = calloc(1, sizeof *rq);
    if (!rq) {
        errprintf(err, "out of memory");
        return NULL;
    }
    *rq = (struct requests){.sp = sp,
                            .ops = ops,
                            .arg = arg,
                            .admin = (uint32_t)geteuid(),
                            .cancel_fd = open_dir(sp, SPOOL_CANCEL),
                            .cur_fd = open_dir(sp, SPOOL_CUR),
                            .failed_fd = open_dir(sp, SPOOL_FAILED),
                            .drain_fd = open_dir(sp, SPOOL_DRAIN)};
    if (rq->cancel_fd < 0 || rq->cur_fd < 0 || rq->failed_fd < 0) {
        errprintf(err, "cannot open the spool's cancel/, cur/ or failed/: %s",
                  strerror(errno));
        requests_destroy(rq);
        return NULL;
    }
    return rq;
}

void requests_destroy(struct requests *rq)
{
    if (!rq)
        return;
    int fds[] = {rq->cancel_fd, rq->cur_fd, rq->failed_fd, rq->drain_fd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(rq);
}

/* Remove cancel/NAME (a directory only when empty); say why. */
static void drop(const struct requests *rq, const char *name,
                 const struct stat *st, const char *why)
{
    if (unlinkat(rq->cancel_fd, name, S_ISDIR(st->st_mode) ? AT_REMOVEDIR : 0) <
            0 &&
        errno != ENOENT) {
        if (!S_ISDIR(st->st_mode))
            rq_log(rq, "cannot remove 'cancel/%s': %s", name, strerror(errno));
        return; /* a directory with something in it is left */
    }
    rq_log(rq, "removed 'cancel/%s' (uid %u): %s", name, (unsigned)st->st_uid,
           why);
}

/* The owner of job id, held here (its file in cur/) or elsewhere (new/ or
 * another coordinator's cur/); -1 when it waits or runs nowhere. */
static int job_owner_of(const struct requests *rq, const char *id, bool held,
                        uint32_t *owner)
{
    if (!held)
        return spool_job_owner(rq->sp, id, owner);
    char name[96];
    snprintf(name, sizeof name, "%s.json", id);
    struct stat st;
    if (fstatat(rq->cur_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    *owner = (uint32_t)st.st_uid;
    return 0;
}

/* The task numbers of the request open at fd (none: the whole job). */
static uint64_t *read_tasks(int fd, const char *name, size_t *n,
                            struct mps_error *err)
{
    size_t len;
    char *text = asuser_read(fd, REQUEST_MAX_BYTES, &len, name, err);
    if (!text)
        return NULL;
    uint64_t *tasks = NULL;
    size_t cap = 0;
    *n = 0;
    for (char *p = text; *p;) {
        char *end;
        unsigned long long t = strtoull(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *grown = realloc(tasks, cap * sizeof *grown);
            if (!grown)
                break;
            tasks = grown;
        }
        tasks[(*n)++] = t;
        p = end;
    }
    free(text);
    if (!tasks)
        tasks = calloc(1, sizeof *tasks); /* not NULL: read */
    return tasks;
}

/* Apply the request cancel/NAME (st its lstat) to job id held here. */
static void apply(const struct requests *rq, const char *name, const char *id,
                  const struct stat *st)
{
    const struct asuser_want want = {.type = S_IFREG,
                                     .owner = (uint32_t)st->st_uid,
                                     .one_link = true,
                                     .max_size = REQUEST_MAX_BYTES};
    struct mps_error err;
    char label[300];
    snprintf(label, sizeof label, "cancel/%s", name);
    int fd = asuser_openat(rq->cancel_fd, name, O_RDONLY, 0, &want, NULL, label,
                           &err);
    size_t n = 0;
    uint64_t *tasks = fd >= 0 ? read_tasks(fd, label, &n, &err) : NULL;
    if (fd >= 0)
        close(fd);
    if (tasks)
        rq->ops->cancel(rq->arg, id, tasks, n);
    else
        rq_log(rq, "ignored cancel request: %s", err.text);
    free(tasks);
    unlinkat(rq->cancel_fd, name, 0);
}

/* cancel/NAME (st its lstat), a request about job JOBID (NAME is JOBID or
 * JOBID+ANYTHING). */
static void handle_request(const struct requests *rq, const char *name,
                           const struct stat *st)
{
    size_t len = strcspn(name, "+");
    char id[72];
    snprintf(id, sizeof id, "%.*s", (int)(len < sizeof id ? len : 0), name);
    if (!jobfile_valid_id(id)) {
        drop(rq, name, st, "not a request about a job id");
        return;
    }
    bool held = rq->ops->held(rq->arg, id);
    uint32_t owner;
    if (job_owner_of(rq, id, held, &owner) < 0) {
        unlinkat(rq->cancel_fd, name, 0); /* the job ended, or never was */
        return;
    }
    if (!asuser_may_act((uint32_t)st->st_uid, owner, rq->admin)) {
        char why[200];
        snprintf(why, sizeof why,
                 "refused: job %s belongs to uid %u, and only its owner, "
                 "root or uid %u may cancel it",
                 id, (unsigned)owner, (unsigned)rq->admin);
        drop(rq, name, st, why);
        return;
    }
    if (held)
        apply(rq, name, id, st);
    /* else: for the coordinator that claims or holds the job */
}

/* cancel/JOBID.json (st its lstat): a queued job its owner withdrew is
 * filed as cancelled, its report first (as its owner), then the job file
 * into failed/ (never over a file there). Anything else there is not a
 * withdrawal and is removed. A step that fails is tried again at the next
 * scan. */
static void handle_withdrawal(const struct requests *rq, const char *name,
                              const struct stat *st)
{
    char id[72];
    snprintf(id, sizeof id, "%.*s", (int)(strlen(name) - 5), name);
    struct stat was;
    if (!jobfile_valid_id(id) || !spool_withdrawn(rq->sp, id, &was)) {
        drop(rq, name, st, "not a withdrawal of a job its owner queued");
        return;
    }
    const struct asuser_want want = {.type = S_IFREG,
                                     .owner = (uint32_t)was.st_uid,
                                     .one_link = true,
                                     .max_size = JOBFILE_MAX_BYTES};
    struct mps_error err;
    struct stat fst;
    int fd = asuser_openat(rq->cancel_fd, name, O_RDONLY, 0, &want, &fst, name,
                           &err);
    if (fd < 0 || fst.st_ino != was.st_ino || fst.st_dev != was.st_dev) {
        if (fd >= 0)
            close(fd);
        else
            rq_log(rq, "job %s (withdrawn): %s", id, err.text);
        return; /* changed meanwhile: looked at again at the next scan */
    }
    int rc = jobreport_write_cancelled(rq->sp, id, fd, &fst, &err);
    close(fd);
    if (rc < 0) {
        rq_log(rq, "job %s (withdrawn): %s; trying again later", id, err.text);
        return;
    }
    if (renameat2(rq->cancel_fd, name, rq->failed_fd, name, RENAME_NOREPLACE) <
        0) {
        rq_log(rq, "job %s (withdrawn): cannot move it to failed/: %s", id,
               strerror(errno));
        return;
    }
    rq_log(rq, "job %s cancelled before it started (withdrawn by uid %u)", id,
           (unsigned)fst.st_uid);
}

/* Whether cancel/NAME is named like a withdrawn job file: JOBID.json. */
static bool withdrawal_name(const char *name)
{
    size_t len = strlen(name);
    return len > 5 && strcmp(name + len - 5, ".json") == 0 &&
           !strchr(name, '+');
}

void requests_scan_cancel(struct requests *rq)
{
    int fd = dup(rq->cancel_fd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        rq_log(rq, "cannot scan cancel/: %s", strerror(errno));
        return;
    }
    rewinddir(dir);
    struct dirent *de;
    while ((de = readdir(dir))) {
        const char *name = de->d_name;
        struct stat st;
        if (name[0] == '.' ||
            fstatat(rq->cancel_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
            drop(rq, name, &st, "not a regular file with one link");
        else if (withdrawal_name(name))
            handle_withdrawal(rq, name, &st);
        else
            handle_request(rq, name, &st);
    }
    closedir(dir);
}

bool requests_host_drained(const struct requests *rq, const char *host)
{
    if (rq->drain_fd < 0 || !host[0] || host[0] == '.' || strchr(host, '/'))
        return false;
    char name[256];
    snprintf(name, sizeof name, "%s", host);
    for (;;) {
        struct stat st;
        if (fstatat(rq->drain_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            spool_drain_honoured(&st, rq->admin))
            return true;
        char *dot = strchr(name, '.');
        if (!dot)
            return false;
        *dot = '\0';
    }
}
