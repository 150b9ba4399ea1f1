/* SPDX-License-Identifier: MIT */
/* Task files: one shell command per line, read as a stream. */
#include "taskfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct taskfile {
    FILE *in;
    char *path;
    char *line;
    size_t cap;
    uint64_t lineno;
    uint64_t count;
    uint64_t task_line; /* line number of the last task returned */
};

struct taskfile *taskfile_open(const char *path, struct mps_error *err)
{
    struct taskfile *tf = calloc(1, sizeof *tf);
    if (!tf || !(tf->path = strdup(path))) {
        free(tf);
        errprintf(err, "out of memory");
        return NULL;
    }
    /* O_NONBLOCK: opening a FIFO nobody writes to would block for ever. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        errprintf(err, "cannot open task file '%s': %s", path, strerror(errno));
        goto error;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        errprintf(err, "task file '%s' is not a regular file", path);
        goto error;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
        !(tf->in = fdopen(fd, "r"))) {
        errprintf(err, "cannot open task file '%s': %s", path, strerror(errno));
        goto error;
    }
    return tf;
error:
    if (fd >= 0)
        close(fd);
    free(tf->path);
    free(tf);
    return NULL;
}

struct taskfile *taskfile_fdopen(int fd, const char *name,
                                 struct mps_error *err)
{
    struct taskfile *tf = calloc(1, sizeof *tf);
    if (!tf || !(tf->path = strdup(name)) || !(tf->in = fdopen(fd, "r"))) {
        errprintf(err, "cannot read task file '%s': %s", name,
                  strerror(tf && tf->path ? errno : ENOMEM));
        if (tf)
            free(tf->path);
        free(tf);
        close(fd);
        return NULL;
    }
    return tf;
}

void taskfile_close(struct taskfile *tf)
{
    if (!tf)
        return;
    if (tf->in)
        fclose(tf->in);
    free(tf->path);
    free(tf->line);
    free(tf);
}

/* Whether a line (without its newline) is a task, or an error. */
static int classify(const char *line, size_t len, const char *name,
                    uint64_t lineno, struct mps_error *err)
{
    if (memchr(line, '\0', len))
        return errprintf(err, "%s: line %llu: NUL byte in task file", name,
                         (unsigned long long)lineno);
    if (len > TASKFILE_MAX_LINE)
        return errprintf(err, "%s: line %llu: longer than %d bytes", name,
                         (unsigned long long)lineno, TASKFILE_MAX_LINE);
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' ||
                       line[i] == '\f' || line[i] == '\v'))
        i++;
    return i < len && line[i] != '#';
}

/* Read one line without its \n or trailing \r; -1 at end of file. */
static ssize_t read_line(FILE *in, char **line, size_t *cap)
{
    ssize_t got = getline(line, cap, in);
    if (got <= 0)
        return -1;
    if ((*line)[got - 1] == '\n')
        (*line)[--got] = '\0';
    if (got > 0 && (*line)[got - 1] == '\r')
        (*line)[--got] = '\0';
    return got;
}

int taskfile_next(struct taskfile *tf, const char **line, struct mps_error *err)
{
    for (;;) {
        errno = 0;
        ssize_t got = read_line(tf->in, &tf->line, &tf->cap);
        if (got < 0) {
            if (ferror(tf->in))
                return errprintf(err, "cannot read task file '%s': %s",
                                 tf->path, strerror(errno ? errno : EIO));
            return 0;
        }
        tf->lineno++;
        int rc = classify(tf->line, (size_t)got, tf->path, tf->lineno, err);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            tf->count++;
            tf->task_line = tf->lineno;
            *line = tf->line;
            return 1;
        }
    }
}

uint64_t taskfile_count(const struct taskfile *tf)
{
    return tf->count;
}

uint64_t taskfile_line(const struct taskfile *tf)
{
    return tf->task_line;
}

int taskfile_copy_count(FILE *in, FILE *out, const char *name, uint64_t *ntasks,
                        struct mps_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    uint64_t lineno = 0, count = 0;
    int rc = 0;
    for (;;) {
        errno = 0;
        ssize_t got = getline(&line, &cap, in);
        if (got <= 0) {
            if (ferror(in))
                rc = errprintf(err, "cannot read '%s': %s", name,
                               strerror(errno ? errno : EIO));
            break;
        }
        lineno++;
        size_t len = (size_t)got;
        if (out && fwrite(line, 1, len, out) != len) {
            rc = errprintf(err, "cannot copy '%s': %s", name,
                           strerror(errno ? errno : EIO));
            break;
        }
        if (line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        int kind = classify(line, len, name, lineno, err);
        if (kind < 0) {
            rc = -1;
            break;
        }
        count += (uint64_t)kind;
    }
    free(line);
    if (rc == 0)
        *ntasks = count;
    return rc;
}
