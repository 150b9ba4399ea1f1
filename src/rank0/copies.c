/* SPDX-License-Identifier: MIT */
/* Rank 0's copies of task output to the paths of the "stdout" and
 * "stderr" job keys, each written by a child acting as the job's owner. */
#include "copies.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outpattern.h"
#include "util.h"

static const char *const stream_names[2] = {"stdout", "stderr"};

struct copy_job {
    const struct jobspec *spec;
    const char *job_id;
    struct asuser_id who;
    uint32_t *groups;
    char user[64]; /* %u */
};

/* One attempt's copies, queued or at work. */
struct copy_attempt {
    const struct copy_job *cj;
    uint64_t task;
    int sources[2]; /* the spool's files (borrowed); -1: nothing to copy */
    char *paths[2]; /* the expanded targets, once started */
    char *error;    /* why copies failed so far, or NULL */
    void *cookie;
    struct copy_attempt *next;
};

/* The attempts one child writes the copies of (all of one job). */
struct copy_batch {
    struct asuser_child *child;
    struct copy_attempt *attempts;
    size_t nattempts;
    /* The child's copy i is stream stream[i] of attempt attempt[i]. */
    struct copy_attempt *attempt[ASUSER_MAX_COPIES];
    int stream[ASUSER_MAX_COPIES];
    size_t n;
    int64_t started_us; /* monotonic */
    struct copy_batch *next;
};

struct copies {
    copies_done_fn *done;
    void *arg;
    /* MPISPOOL_TEST_STOP_COPIES: every child is stopped (SIGSTOP) as soon
     * as it starts, as a hung file system would hold it (for tests). */
    bool stop_children;
    struct copy_batch *running;
    size_t nrunning; /* batches */
    size_t nbusy;    /* attempts in them */
    struct copy_attempt *queued, **queued_tail;
    size_t nqueued;
};

/* The owner's name for %u: from the password database, else the uid. */
static void user_name(uid_t uid, char *buf, size_t len)
{
    char pwbuf[16384];
    struct passwd pw, *found = NULL;
    if (getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &found) == 0 && found)
        snprintf(buf, len, "%s", pw.pw_name);
    else
        snprintf(buf, len, "%u", (unsigned)uid);
}

int copy_job_create(const struct jobspec *spec, const char *job_id,
                    const struct asuser_id *who, struct copy_job **out,
                    struct mps_error *err)
{
    *out = NULL;
    if (!spec->stdout_path && !spec->stderr_path)
        return 0;
    struct copy_job *cj = calloc(1, sizeof *cj);
    if (!cj || (who->ngroups &&
                !(cj->groups = malloc(who->ngroups * sizeof *cj->groups)))) {
        free(cj);
        return errprintf(err, "out of memory");
    }
    cj->spec = spec;
    cj->job_id = job_id;
    cj->who = *who;
    if (who->ngroups)
        memcpy(cj->groups, who->groups, who->ngroups * sizeof *cj->groups);
    cj->who.groups = cj->groups;
    cj->who.umask = spec->submit_umask;
    user_name(who->switch_ids ? (uid_t)who->uid : geteuid(), cj->user,
              sizeof cj->user);
    *out = cj;
    return 0;
}

void copy_job_destroy(struct copy_job *cj)
{
    if (!cj)
        return;
    free(cj->groups);
    free(cj);
}

struct copies *copies_create(copies_done_fn *done, void *arg)
{
    struct copies *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->done = done;
    c->arg = arg;
    c->stop_children = getenv("MPISPOOL_TEST_STOP_COPIES") != NULL;
    c->queued_tail = &c->queued;
    return c;
}

static void attempt_free(struct copy_attempt *a)
{
    for (int s = 0; s < 2; s++)
        free(a->paths[s]);
    free(a->error);
    free(a);
}

/* Report an attempt's outcome and free it. */
static void attempt_done(struct copies *c, struct copy_attempt *a)
{
    void *cookie = a->cookie;
    char *error = a->error;
    a->error = NULL;
    attempt_free(a);
    c->done(c->arg, cookie, error);
    free(error);
}

/* Add "cannot copy STREAM to 'PATH': WHY" to the attempt's error, after
 * a "; " when it has one already. */
static void add_error(struct copy_attempt *a, int stream, const char *path,
                      const char *why)
{
    char *more;
    if (asprintf(&more, "%s%scannot copy %s to '%s': %s",
                 a->error ? a->error : "", a->error ? "; " : "",
                 stream_names[stream], path, why) < 0)
        more = NULL;
    if (!more && !a->error) /* it must not pass for a success */
        more = strdup("cannot copy the output: out of memory");
    if (more) {
        free(a->error);
        a->error = more;
    }
}

void copies_destroy(struct copies *c)
{
    if (!c)
        return;
    while (c->running) {
        struct copy_batch *b = c->running;
        c->running = b->next;
        struct asuser_result results[ASUSER_MAX_COPIES];
        asuser_child_signal(b->child, SIGKILL);
        asuser_child_finish(b->child, results);
        while (b->attempts) {
            struct copy_attempt *a = b->attempts;
            b->attempts = a->next;
            attempt_free(a);
        }
        free(b);
    }
    while (c->queued) {
        struct copy_attempt *a = c->queued;
        c->queued = a->next;
        attempt_free(a);
    }
    free(c);
}

size_t copies_pending(const struct copies *c)
{
    return c ? c->nbusy + c->nqueued : 0;
}

/* The target of stream s: the pattern expanded, under the job's working
 * directory when relative. NULL with errno set when it cannot be made. */
static char *target_path(const struct copy_job *cj, uint64_t task, int s)
{
    const struct jobspec *spec = cj->spec;
    const char *pattern = s == 0 ? spec->stdout_path : spec->stderr_path;
    const struct outpattern_vars vars = {cj->job_id, task, spec->name,
                                         cj->user};
    char name[PATH_MAX];
    if (outpattern_expand(pattern, &vars, name, sizeof name) < 0)
        return NULL;
    const char *base = spec->cwd ? spec->cwd : spec->submit_dir;
    char *path = NULL;
    if (name[0] == '/' || !base)
        path = strdup(name);
    else if (asprintf(&path, "%s%s%s", base,
                      base[strlen(base) - 1] == '/' ? "" : "/", name) < 0)
        path = NULL;
    if (path && strlen(path) >= PATH_MAX) {
        free(path);
        errno = ENAMETOOLONG;
        return NULL;
    }
    return path;
}

/* Add attempt a's copies to batch b: its targets and its sources. A
 * stream that cannot be copied goes into a's error instead. */
static void batch_add(struct copy_batch *b, struct copy_attempt *a,
                      struct asuser_copy *copies)
{
    for (int s = 0; s < 2; s++) {
        const char *pattern =
            s == 0 ? a->cj->spec->stdout_path : a->cj->spec->stderr_path;
        if (!pattern)
            continue;
        if (!(a->paths[s] = target_path(a->cj, a->task, s))) {
            add_error(a, s, pattern, strerror(errno));
            continue;
        }
        copies[b->n] = (struct asuser_copy){a->paths[s], a->sources[s]};
        b->attempt[b->n] = a;
        b->stream[b->n++] = s;
    }
}

/* Take the first queued attempt and the others of its job that fit into
 * one batch, and start the child that writes their copies. Attempts with
 * nothing left to copy are done at once. */
static void batch_start(struct copies *c)
{
    struct copy_batch *b = calloc(1, sizeof *b);
    if (!b)
        return; /* left queued: tried again at the next flush */
    const struct copy_job *cj = c->queued->cj;
    struct asuser_copy copies[ASUSER_MAX_COPIES];
    struct copy_attempt **link = &c->queued, **tail = &b->attempts;
    while (*link && b->n + 2 <= ASUSER_MAX_COPIES) {
        struct copy_attempt *a = *link;
        if (a->cj != cj) {
            link = &a->next;
            continue;
        }
        *link = a->next;
        c->nqueued--;
        a->next = NULL;
        *tail = a;
        tail = &a->next;
        b->nattempts++;
        batch_add(b, a, copies);
    }
    c->queued_tail = &c->queued;
    while (*c->queued_tail)
        c->queued_tail = &(*c->queued_tail)->next;
    struct mps_error err;
    if (b->n > 0) {
        b->child = asuser_copy_start(&cj->who, copies, b->n, &err);
        for (size_t i = 0; !b->child && i < b->n; i++)
            add_error(b->attempt[i], b->stream[i], copies[i].path, err.text);
    }
    if (!b->child) {
        while (b->attempts) {
            struct copy_attempt *a = b->attempts;
            b->attempts = a->next;
            attempt_done(c, a);
        }
        free(b);
        return;
    }
    if (c->stop_children)
        asuser_child_signal(b->child, SIGSTOP);
    b->started_us = util_mono_us();
    b->next = c->running;
    c->running = b;
    c->nrunning++;
    c->nbusy += b->nattempts;
}

void copies_flush(struct copies *c)
{
    while (c && c->queued && c->nrunning < COPIES_MAX_RUNNING) {
        size_t before = c->nqueued;
        batch_start(c);
        if (c->nqueued == before)
            break; /* out of memory */
    }
}

void copies_queue(struct copies *c, const struct copy_job *cj, uint64_t task,
                  int out_fd, int err_fd, void *cookie)
{
    struct copy_attempt *a = calloc(1, sizeof *a);
    if (!a) {
        c->done(c->arg, cookie, "cannot copy the output: out of memory");
        return;
    }
    a->cj = cj;
    a->task = task;
    a->cookie = cookie;
    a->sources[0] = out_fd;
    a->sources[1] = err_fd;
    *c->queued_tail = a;
    c->queued_tail = &a->next;
    c->nqueued++;
}

int copies_pollfds(const struct copies *c, struct pollfd *fds, int max)
{
    int n = 0;
    for (const struct copy_batch *b = c ? c->running : NULL; b && n < max;
         b = b->next)
        fds[n++] =
            (struct pollfd){.fd = asuser_child_fd(b->child), .events = POLLIN};
    return n;
}

/* The batch's child ended: what it says goes to each attempt. */
static void batch_finish(struct copies *c, struct copy_batch *b)
{
    struct asuser_result results[ASUSER_MAX_COPIES];
    asuser_child_finish(b->child, results);
    char why[300];
    for (size_t i = 0; i < b->n; i++)
        if (results[i].stage != ASUSER_OK) {
            struct copy_attempt *a = b->attempt[i];
            add_error(
                a, b->stream[i], a->paths[b->stream[i]],
                asuser_describe(&results[i], &a->cj->who, why, sizeof why));
        }
    c->nbusy -= b->nattempts;
    while (b->attempts) {
        struct copy_attempt *a = b->attempts;
        b->attempts = a->next;
        attempt_done(c, a);
    }
    free(b);
}

void copies_handle(struct copies *c, const struct pollfd *fds, int n)
{
    for (int i = 0; c && i < n; i++) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
            continue;
        struct copy_batch **link = &c->running;
        while (*link && asuser_child_fd((*link)->child) != fds[i].fd)
            link = &(*link)->next;
        if (!*link)
            continue;
        struct copy_batch *b = *link;
        *link = b->next;
        c->nrunning--;
        batch_finish(c, b);
    }
    copies_flush(c);
}

int copies_expire(struct copies *c, int64_t grace_us)
{
    int64_t now = util_mono_us(), next = -1;
    for (struct copy_batch *b = c ? c->running : NULL; b; b = b->next) {
        int64_t due = b->started_us + grace_us;
        if (due <= now)
            asuser_child_signal(b->child, SIGKILL);
        else if (next < 0 || due - now < next)
            next = due - now;
    }
    return next < 0 ? -1 : (int)(next / 1000) + 1;
}
