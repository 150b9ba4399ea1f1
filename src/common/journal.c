/* SPDX-License-Identifier: MIT */
/* The coordinator's append-only journal, made durable once per batch, and
 * its replay after a crash. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct journal {
    int fd;
    bool dirty;
    uint64_t size;
    char *path;
};

static int lock_fd(int fd)
{
    return flock(fd, LOCK_EX | LOCK_NB);
}

/* A new journal appears in the directory already locked: it is created
 * and locked under a hidden name (recovery skips dot files) and then
 * linked into place. Were it created under its own name first, a
 * coordinator recovering at that moment could lock it before its owner,
 * take it for a dead one's and unlink it. */
static int create_locked(const char *path)
{
    char *tmp = NULL;
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    if (asprintf(&tmp, "%.*s.%s.XXXXXX", dirlen, path,
                 slash ? slash + 1 : path) < 0)
        return -1;
    int fd = mkostemp(tmp, O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    int saved = 0;
    if (fchmod(fd, 0644) < 0 || lock_fd(fd) < 0 || link(tmp, path) < 0) {
        saved = errno;
        close(fd);
        fd = -1;
    }
    unlink(tmp); /* the journal's own name holds it now (or nothing does) */
    if (fd < 0)
        errno = saved;
    free(tmp);
    return fd;
}

struct journal *journal_open(const char *path, struct mps_error *err)
{
    struct journal *jr = calloc(1, sizeof *jr);
    if (!jr || !(jr->path = strdup(path))) {
        free(jr);
        errprintf(err, "out of memory");
        return NULL;
    }
    /* An existing journal is reopened (and must not be held); a missing
     * one is created locked. Two tries: it may appear or go in between. */
    jr->fd = -1;
    for (int attempt = 0; attempt < 2 && jr->fd < 0; attempt++) {
        jr->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (jr->fd >= 0) {
            if (lock_fd(jr->fd) < 0) {
                int saved = errno;
                close(jr->fd);
                jr->fd = -1;
                errno = saved;
                break;
            }
        } else if (errno == ENOENT) {
            jr->fd = create_locked(path);
            if (jr->fd < 0 && errno != EEXIST)
                break;
        } else {
            break;
        }
    }
    if (jr->fd < 0) {
        errprintf(err, "cannot open and lock journal '%s': %s", path,
                  strerror(errno));
        free(jr->path);
        free(jr);
        return NULL;
    }
    struct stat st;
    if (fstat(jr->fd, &st) == 0)
        jr->size = (uint64_t)st.st_size;
    return jr;
}

void journal_close(struct journal *jr, bool remove)
{
    if (!jr)
        return;
    if (remove)
        unlink(jr->path); /* before close: still ours while locked */
    else
        journal_sync(jr, NULL);
    close(jr->fd);
    free(jr->path);
    free(jr);
}

static int append(struct journal *jr, const char *line, int len)
{
    if (len < 0)
        return -1;
    if (util_write_all(jr->fd, line, (size_t)len) < 0)
        return -1;
    jr->dirty = true;
    jr->size += (uint64_t)len;
    return 0;
}

static int job_event(struct journal *jr, char type, const char *job)
{
    char line[256];
    int len = snprintf(line, sizeof line, "%c %s %lld\n", type, job,
                       (long long)util_now_us());
    return append(jr, line, len);
}

int journal_claim(struct journal *jr, const char *job)
{
    return job_event(jr, 'C', job);
}

int journal_release(struct journal *jr, const char *job)
{
    return job_event(jr, 'R', job);
}

int journal_cancel(struct journal *jr, const char *job)
{
    return job_event(jr, 'K', job);
}

int journal_fail_fast(struct journal *jr, const char *job, uint64_t task)
{
    char line[256];
    int len = snprintf(line, sizeof line, "F %s %llu %lld\n", job,
                       (unsigned long long)task, (long long)util_now_us());
    return append(jr, line, len);
}

int journal_start(struct journal *jr, const char *job, uint64_t task,
                  unsigned attempt, int rank)
{
    char line[256];
    int len = snprintf(line, sizeof line, "S %s %llu %u %d %lld\n", job,
                       (unsigned long long)task, attempt, rank,
                       (long long)util_now_us());
    return append(jr, line, len);
}

int journal_end(struct journal *jr, const char *job, uint64_t task,
                unsigned attempt, enum journal_state state, unsigned failures)
{
    char line[256];
    int len = snprintf(line, sizeof line, "E %s %llu %u %d %lld %u\n", job,
                       (unsigned long long)task, attempt, (int)state,
                       (long long)util_now_us(), failures);
    return append(jr, line, len);
}

int journal_job(struct journal *jr, const char *job, const char *state)
{
    char line[256];
    int len = snprintf(line, sizeof line, "J %s %s %lld\n", job, state,
                       (long long)util_now_us());
    return append(jr, line, len);
}

int journal_sync(struct journal *jr, struct mps_error *err)
{
    if (!jr->dirty)
        return 0;
    if (fdatasync(jr->fd) < 0)
        return errprintf(err, "cannot sync journal '%s': %s", jr->path,
                         strerror(errno));
    jr->dirty = false;
    return 0;
}

uint64_t journal_size(const struct journal *jr)
{
    return jr->size;
}

/* The job id of a journal line ("X JOBID ..."), copied into buf. */
static bool line_job(const char *line, char *buf, size_t len)
{
    if (!line[0] || line[1] != ' ')
        return false;
    size_t n = strcspn(line + 2, " \n");
    if (n == 0 || n >= len)
        return false;
    memcpy(buf, line + 2, n);
    buf[n] = '\0';
    return true;
}

int journal_compact(struct journal *jr,
                    bool (*keep)(void *arg, const char *job), void *arg,
                    struct mps_error *err)
{
    char *tmp = NULL;
    FILE *in = NULL;
    int out = -1, rc = -1;
    if (asprintf(&tmp, "%s.compact", jr->path) < 0) {
        tmp = NULL;
        errprintf(err, "out of memory");
        goto done;
    }
    in = fopen(jr->path, "re");
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
    if (!in || out < 0 || lock_fd(out) < 0) {
        errprintf(err, "cannot compact journal '%s': %s", jr->path,
                  strerror(errno));
        goto done;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint64_t size = 0;
    while ((got = getline(&line, &cap, in)) > 0) {
        char job[80];
        if (line[got - 1] != '\n' || !line_job(line, job, sizeof job) ||
            !keep(arg, job))
            continue;
        if (util_write_all(out, line, (size_t)got) < 0) {
            free(line);
            errprintf(err, "cannot compact journal '%s': %s", jr->path,
                      strerror(errno));
            goto done;
        }
        size += (uint64_t)got;
    }
    free(line);
    if (fdatasync(out) < 0 || rename(tmp, jr->path) < 0) {
        errprintf(err, "cannot compact journal '%s': %s", jr->path,
                  strerror(errno));
        goto done;
    }
    close(jr->fd); /* the old file, unlinked by the rename */
    jr->fd = out;
    out = -1;
    jr->size = size;
    jr->dirty = false;
    rc = 0;
done:
    if (out >= 0) {
        unlink(tmp);
        close(out);
    }
    if (in)
        fclose(in);
    free(tmp);
    return rc;
}

int journal_take_over(const char *path, bool *alive, struct mps_error *err)
{
    *alive = false;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) /* just compacted or removed by its owner */
            *alive = true;
        errprintf(err, "cannot open journal '%s': %s", path, strerror(errno));
        return -1;
    }
    if (lock_fd(fd) < 0) {
        if (errno == EWOULDBLOCK)
            *alive = true;
        errprintf(err, "journal '%s' is held: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* Compaction renames a new, locked file over the path: a lock on the
     * old one proves nothing. */
    struct stat a, b;
    if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev) {
        *alive = true;
        errprintf(err, "journal '%s' was replaced", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- replay ---- */

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int index_rebuild(struct replay *rp, size_t cap)
{
    size_t *index = malloc(cap * sizeof *index);
    if (!index)
        return -1;
    for (size_t i = 0; i < cap; i++)
        index[i] = SIZE_MAX;
    for (size_t j = 0; j < rp->njobs; j++) {
        size_t h = (size_t)(hash_id(rp->jobs[j].id) & (cap - 1));
        while (index[h] != SIZE_MAX)
            h = (h + 1) & (cap - 1);
        index[h] = j;
    }
    free(rp->index);
    rp->index = index;
    rp->index_cap = cap;
    return 0;
}

struct replay_job *journal_replay_find(const struct replay *rp, const char *job)
{
    if (!rp->index_cap)
        return NULL;
    size_t h = (size_t)(hash_id(job) & (rp->index_cap - 1));
    while (rp->index[h] != SIZE_MAX) {
        struct replay_job *j = &rp->jobs[rp->index[h]];
        if (strcmp(j->id, job) == 0)
            return j;
        h = (h + 1) & (rp->index_cap - 1);
    }
    return NULL;
}

static struct replay_job *replay_job(struct replay *rp, const char *job)
{
    struct replay_job *j = journal_replay_find(rp, job);
    if (j)
        return j;
    if (strlen(job) >= sizeof j->id)
        return NULL;
    struct replay_job *grown =
        util_grow(rp->jobs, rp->njobs, &rp->cap, sizeof *grown, 16);
    if (!grown)
        return NULL;
    rp->jobs = grown;
    j = &rp->jobs[rp->njobs++];
    memset(j, 0, sizeof *j);
    strcpy(j->id, job);
    if (rp->njobs * 2 > rp->index_cap) {
        if (index_rebuild(rp, rp->index_cap ? rp->index_cap * 2 : 64) < 0) {
            rp->njobs--;
            return NULL;
        }
        return j;
    }
    size_t h = (size_t)(hash_id(job) & (rp->index_cap - 1));
    while (rp->index[h] != SIZE_MAX)
        h = (h + 1) & (rp->index_cap - 1);
    rp->index[h] = rp->njobs - 1;
    return j;
}

/* An entry's failures before journal_replay_finish: none given. */
#define FAILURES_UNKNOWN UINT32_MAX

static int add_task(struct replay_job *j, uint64_t task, unsigned attempt,
                    int state, uint32_t failures)
{
    struct replay_task *grown =
        util_grow(j->tasks, j->ntasks, &j->cap, sizeof *grown, 64);
    if (!grown)
        return -1;
    j->tasks = grown;
    j->tasks[j->ntasks++] =
        (struct replay_task){task, (uint32_t)attempt, failures, (uint8_t)state};
    return 0;
}

static int replay_line(struct replay *rp, const char *line)
{
    char type, job[80], word[16];
    unsigned long long task, us;
    unsigned attempt, failures;
    int a, n = 0, got;
    if (sscanf(line, "%c %79s %n", &type, job, &n) < 2 || n == 0)
        return 0;
    const char *rest = line + n;
    struct replay_job *j;
    switch (type) {
    case 'C':
    case 'R':
    case 'K':
        if (sscanf(rest, "%llu", &us) != 1 || !(j = replay_job(rp, job)))
            return 0;
        if (type == 'C') {
            j->claimed = true;
            j->ended[0] = '\0';
        } else if (type == 'R') {
            j->claimed = false;
        } else {
            j->cancelled = true;
        }
        return 0;
    case 'F':
        if (sscanf(rest, "%llu %llu", &task, &us) != 2 ||
            !(j = replay_job(rp, job)))
            return 0;
        if (!j->fail_fast) { /* the first failure is the one that stopped */
            j->fail_fast = true;
            j->fail_fast_task = task;
        }
        return 0;
    case 'J':
        if (sscanf(rest, "%15s %llu", word, &us) != 2 ||
            !(j = replay_job(rp, job)))
            return 0;
        snprintf(j->ended, sizeof j->ended, "%s", word);
        j->claimed = false;
        return 0;
    case 'S':
    case 'E':
        got = sscanf(rest, "%llu %u %d %llu %u", &task, &attempt, &a, &us,
                     &failures);
        if (got < 4 || !(j = replay_job(rp, job)))
            return 0;
        if (type == 'S')
            return add_task(j, task, attempt, JOURNAL_RUNNING,
                            FAILURES_UNKNOWN);
        if (a < JOURNAL_FAILED || a > JOURNAL_STOPPED || a == JOURNAL_RUNNING)
            return 0;
        return add_task(j, task, attempt, a,
                        got == 5 ? failures : FAILURES_UNKNOWN);
    default:
        return 0;
    }
}

int journal_replay(struct replay *rp, int fd, const char *path,
                   struct mps_error *err)
{
    FILE *f = NULL;
    if (fd >= 0) {
        int copy = dup(fd);
        if (copy >= 0 && lseek(copy, 0, SEEK_SET) == 0)
            f = fdopen(copy, "r");
        if (!f && copy >= 0)
            close(copy);
    } else {
        f = fopen(path, "re");
    }
    if (!f)
        return errprintf(err, "cannot read journal '%s': %s", path,
                         strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        if (line[got - 1] != '\n')
            break; /* torn by a crash: never made durable as a whole */
        if (replay_line(rp, line) < 0) {
            rc = errprintf(err, "out of memory replaying '%s'", path);
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* Latest attempt first; within one attempt, an end before its start. */
static int compare_tasks(const void *pa, const void *pb)
{
    const struct replay_task *a = pa, *b = pb;
    if (a->task != b->task)
        return a->task < b->task ? -1 : 1;
    if (a->attempt != b->attempt)
        return a->attempt > b->attempt ? -1 : 1;
    bool ra = a->state == JOURNAL_RUNNING, rb = b->state == JOURNAL_RUNNING;
    return ra == rb ? 0 : ra ? 1 : -1;
}

void journal_replay_finish(struct replay *rp)
{
    for (size_t i = 0; i < rp->njobs; i++) {
        struct replay_job *j = &rp->jobs[i];
        if (j->ntasks == 0)
            continue;
        qsort(j->tasks, j->ntasks, sizeof *j->tasks, compare_tasks);
        size_t out = 0;
        for (size_t k = 0; k < j->ntasks; k++) {
            struct replay_task *t = &j->tasks[k];
            if (out == 0 || j->tasks[out - 1].task != t->task) {
                j->tasks[out++] = *t; /* its latest attempt */
                continue;
            }
            struct replay_task *latest = &j->tasks[out - 1];
            if (t->failures != FAILURES_UNKNOWN &&
                (latest->failures == FAILURES_UNKNOWN ||
                 t->failures > latest->failures))
                latest->failures = t->failures;
        }
        j->ntasks = out;
        for (size_t k = 0; k < out; k++) {
            struct replay_task *t = &j->tasks[k];
            if (t->failures == FAILURES_UNKNOWN)
                t->failures = t->state == JOURNAL_FAILED ? t->attempt
                              : t->attempt               ? t->attempt - 1
                                                         : 0;
        }
    }
}

void journal_replay_free(struct replay *rp)
{
    for (size_t i = 0; i < rp->njobs; i++)
        free(rp->jobs[i].tasks);
    free(rp->jobs);
    free(rp->index);
    memset(rp, 0, sizeof *rp);
}
