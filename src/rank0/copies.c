/* SPDX-License-Identifier: MIT */
/* Rank 0's copies of task output to the paths of the "stdout" and
 * "stderr" job keys, each written by a child acting as the job's owner. */
#include "copies.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
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
    char *sources[2]; /* NULL: nothing to copy */
    void *cookie;
    struct asuser_child *child; /* NULL while queued */
    int fds[2];                 /* the sources, open while it works */
    char *paths[2];             /* the expanded targets (NULL: no key) */
    int streams[2];             /* the child's copies: of these streams */
    size_t nstreams;
    char *early_error;  /* why a stream failed before the child, or NULL */
    int64_t started_us; /* monotonic */
    struct copy_attempt *next;
};

struct copies {
    copies_done_fn *done;
    void *arg;
    struct copy_attempt *running, *queued, **queued_tail;
    size_t nrunning, nqueued;
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

struct copy_job *copy_job_create(const struct jobspec *spec, const char *job_id,
                                 const struct asuser_id *who,
                                 struct mps_error *err)
{
    if (!spec->stdout_path && !spec->stderr_path)
        return NULL;
    struct copy_job *cj = calloc(1, sizeof *cj);
    if (!cj || (who->ngroups &&
                !(cj->groups = malloc(who->ngroups * sizeof *cj->groups)))) {
        free(cj);
        errprintf(err, "out of memory");
        return NULL;
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
    return cj;
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
    c->queued_tail = &c->queued;
    return c;
}

static void attempt_free(struct copy_attempt *a)
{
    for (int s = 0; s < 2; s++) {
        if (a->fds[s] >= 0)
            close(a->fds[s]);
        free(a->sources[s]);
        free(a->paths[s]);
    }
    free(a->early_error);
    free(a);
}

void copies_destroy(struct copies *c)
{
    if (!c)
        return;
    while (c->running) {
        struct copy_attempt *a = c->running;
        c->running = a->next;
        struct asuser_result results[2];
        asuser_child_kill(a->child);
        asuser_child_finish(a->child, results);
        attempt_free(a);
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
    return c ? c->nrunning + c->nqueued : 0;
}

/* Add "cannot copy STREAM to 'PATH': WHY" to error (len bytes), after a
 * "; " when it holds one already. */
static void add_error(char *error, size_t len, int stream, const char *path,
                      const char *why)
{
    size_t used = strlen(error);
    snprintf(error + used, len - used, "%scannot copy %s to '%s': %s",
             used ? "; " : "", stream_names[stream], path, why);
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

/* Start the attempt's child for the streams that can be copied; error
 * gets why the others cannot. Returns -1 when no child was started. */
static int attempt_start(struct copy_attempt *a, char *error, size_t len)
{
    struct asuser_copy copies[2];
    size_t n = 0;
    for (int s = 0; s < 2; s++) {
        const char *pattern =
            s == 0 ? a->cj->spec->stdout_path : a->cj->spec->stderr_path;
        if (!pattern)
            continue;
        if (!(a->paths[s] = target_path(a->cj, a->task, s))) {
            add_error(error, len, s, pattern, strerror(errno));
            continue;
        }
        if (a->sources[s] &&
            (a->fds[s] = open(a->sources[s], O_RDONLY | O_CLOEXEC)) < 0) {
            add_error(error, len, s, a->paths[s], strerror(errno));
            continue;
        }
        a->streams[n] = s;
        copies[n++] = (struct asuser_copy){a->paths[s], a->fds[s]};
    }
    if (n == 0)
        return -1;
    struct mps_error err;
    a->child = asuser_copy_start(&a->cj->who, copies, n, &err);
    if (!a->child) {
        snprintf(error, len, "%s", err.text);
        return -1;
    }
    a->nstreams = n;
    a->started_us = util_mono_us();
    return 0;
}

/* Report an attempt's outcome and free it. */
static void attempt_done(struct copies *c, struct copy_attempt *a,
                         const char *error)
{
    void *cookie = a->cookie;
    attempt_free(a);
    c->done(c->arg, cookie, error && *error ? error : NULL);
}

/* Start queued attempts while there is room. */
static void start_queued(struct copies *c)
{
    while (c->queued && c->nrunning < COPIES_MAX_RUNNING) {
        struct copy_attempt *a = c->queued;
        if (!(c->queued = a->next))
            c->queued_tail = &c->queued;
        c->nqueued--;
        char error[2 * PATH_MAX + 200] = "";
        if (attempt_start(a, error, sizeof error) < 0) {
            attempt_done(c, a, error);
            continue;
        }
        if (error[0] && !(a->early_error = strdup(error))) {
            asuser_child_kill(a->child); /* its report could not be told */
        }
        a->next = c->running;
        c->running = a;
        c->nrunning++;
    }
}

void copies_queue(struct copies *c, const struct copy_job *cj, uint64_t task,
                  const char *out, const char *err, void *cookie)
{
    struct copy_attempt *a = calloc(1, sizeof *a);
    if (a) {
        a->cj = cj;
        a->task = task;
        a->cookie = cookie;
        a->fds[0] = a->fds[1] = -1;
        a->sources[0] = out ? strdup(out) : NULL;
        a->sources[1] = err ? strdup(err) : NULL;
    }
    if (!a || (out && !a->sources[0]) || (err && !a->sources[1])) {
        if (a)
            attempt_free(a);
        c->done(c->arg, cookie, "cannot copy the output: out of memory");
        return;
    }
    *c->queued_tail = a;
    c->queued_tail = &a->next;
    c->nqueued++;
    start_queued(c);
}

int copies_pollfds(const struct copies *c, struct pollfd *fds, int max)
{
    int n = 0;
    for (const struct copy_attempt *a = c ? c->running : NULL; a && n < max;
         a = a->next)
        fds[n++] =
            (struct pollfd){.fd = asuser_child_fd(a->child), .events = POLLIN};
    return n;
}

/* The attempt's child ended: collect what it says. */
static void attempt_finish(struct copies *c, struct copy_attempt *a)
{
    struct asuser_result results[2];
    asuser_child_finish(a->child, results);
    a->child = NULL;
    char error[2 * PATH_MAX + 200] = "", why[300];
    snprintf(error, sizeof error, "%s", a->early_error ? a->early_error : "");
    for (size_t i = 0; i < a->nstreams; i++) {
        int s = a->streams[i];
        if (results[i].stage != ASUSER_OK)
            add_error(
                error, sizeof error, s, a->paths[s],
                asuser_describe(&results[i], &a->cj->who, why, sizeof why));
    }
    attempt_done(c, a, error);
}

void copies_handle(struct copies *c, const struct pollfd *fds, int n)
{
    for (int i = 0; c && i < n; i++) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
            continue;
        struct copy_attempt **link = &c->running;
        while (*link && asuser_child_fd((*link)->child) != fds[i].fd)
            link = &(*link)->next;
        if (!*link)
            continue;
        struct copy_attempt *a = *link;
        *link = a->next;
        c->nrunning--;
        attempt_finish(c, a);
    }
    if (c)
        start_queued(c);
}

int copies_expire(struct copies *c, int64_t grace_us)
{
    int64_t now = util_mono_us(), next = -1;
    for (struct copy_attempt *a = c ? c->running : NULL; a; a = a->next) {
        int64_t due = a->started_us + grace_us;
        if (due <= now)
            asuser_child_kill(a->child);
        else if (next < 0 || due - now < next)
            next = due - now;
    }
    return next < 0 ? -1 : (int)(next / 1000) + 1;
}
