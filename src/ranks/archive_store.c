/* SPDX-License-Identifier: MIT */
/* Job archives received by a worker: one file per job, written in order. */
#include "archive_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct stored {
    char *job;
    char *name; /* JOBID.archive */
    char *path;
    int fd; /* while chunks are coming */
    uint64_t total, received;
    char *failure; /* why it is unusable, or NULL */
    struct stored *next;
};

struct archive_store {
    int dirfd;
    char *dir;
    struct stored *list;
};

struct archive_store *archive_store_create(int dirfd, const char *dir)
{
    struct archive_store *st = calloc(1, sizeof *st);
    if (!st || !(st->dir = strdup(dir))) {
        free(st);
        return NULL;
    }
    st->dirfd = dirfd;
    return st;
}

static struct stored *find(struct archive_store *st, const char *job)
{
    for (struct stored *s = st->list; s; s = s->next)
        if (strcmp(s->job, job) == 0)
            return s;
    return NULL;
}

static int set_failure(struct stored *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int set_failure(struct stored *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(s->failure);
    if (vasprintf(&s->failure, fmt, ap) < 0)
        s->failure = NULL;
    va_end(ap);
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    return -1;
}

int archive_store_chunk(struct archive_store *st, const char *job,
                        uint64_t total, uint64_t offset, const void *data,
                        size_t len)
{
    if (!*job || job[0] == '.' || strchr(job, '/')) {
        errno = EINVAL; /* not a job id: no file name */
        return -1;
    }
    struct stored *s = find(st, job);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return -1;
        s->fd = -1;
        if (!(s->job = strdup(job)) ||
            asprintf(&s->name, "%s.archive", job) < 0 ||
            asprintf(&s->path, "%s/%s", st->dir, s->name) < 0) {
            free(s->job);
            free(s->name);
            free(s);
            return -1;
        }
        s->next = st->list;
        st->list = s;
    }
    if (offset == 0) {
        /* (Again) from the start. */
        if (s->fd >= 0)
            close(s->fd);
        free(s->failure);
        s->failure = NULL;
        s->total = total;
        s->received = 0;
        /* A new file each time: what was at the name is never written
         * through. */
        unlinkat(st->dirfd, s->name, 0);
        s->fd =
            openat(st->dirfd, s->name,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (s->fd < 0)
            return set_failure(s, "cannot create '%s': %s", s->path,
                               strerror(errno));
    }
    if (s->failure)
        return -1;
    if (s->fd < 0 || offset != s->received || total != s->total ||
        len > total - offset)
        return set_failure(s, "archive chunks for '%s' came out of order",
                           s->path);
    if (util_write_all(s->fd, data, len) < 0)
        return set_failure(s, "cannot write '%s': %s", s->path,
                           strerror(errno));
    s->received += len;
    if (s->received == s->total) {
        int rc = close(s->fd);
        s->fd = -1;
        if (rc < 0)
            return set_failure(s, "cannot write '%s': %s", s->path,
                               strerror(errno));
    }
    return 0;
}

const char *archive_store_path(struct archive_store *st, const char *job,
                               struct mps_error *err)
{
    struct stored *s = find(st, job);
    if (!s) {
        errprintf(err, "the archive of job %s did not reach this rank", job);
        return NULL;
    }
    if (s->failure) {
        errprintf(err, "%s", s->failure);
        return NULL;
    }
    if (s->received != s->total || s->fd >= 0) {
        errprintf(err, "the archive of job %s reached this rank incomplete",
                  job);
        return NULL;
    }
    return s->path;
}

void archive_store_destroy(struct archive_store *st)
{
    if (!st)
        return;
    while (st->list) {
        struct stored *s = st->list;
        st->list = s->next;
        if (s->fd >= 0)
            close(s->fd);
        unlinkat(st->dirfd, s->name, 0);
        free(s->job);
        free(s->name);
        free(s->path);
        free(s->failure);
        free(s);
    }
    free(st->dir);
    free(st);
}
