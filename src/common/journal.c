/* SPDX-License-Identifier: MIT */
/* The coordinator's append-only journal, made durable once per batch. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct journal {
    int fd;
    bool dirty;
    char *path;
};

struct journal *journal_open(const char *path, struct mps_error *err)
{
    struct journal *jr = calloc(1, sizeof *jr);
    if (!jr || !(jr->path = strdup(path))) {
        free(jr);
        errprintf(err, "out of memory");
        return NULL;
    }
    jr->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (jr->fd < 0) {
        errprintf(err, "cannot open journal '%s': %s", path, strerror(errno));
        free(jr->path);
        free(jr);
        return NULL;
    }
    return jr;
}

void journal_close(struct journal *jr)
{
    if (!jr)
        return;
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
    return 0;
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
                unsigned attempt, int ok)
{
    char line[256];
    int len = snprintf(line, sizeof line, "E %s %llu %u %d %lld\n", job,
                       (unsigned long long)task, attempt, ok ? 1 : 0,
                       (long long)util_now_us());
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
