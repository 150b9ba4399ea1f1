/* SPDX-License-Identifier: MIT */
/* Job archives on rank 0: open and check at claim, ship to workers. */
#include "archives.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport.h"

struct job_archive {
    char *path;    /* its name in messages */
    int fd;        /* open since the claim */
    uint64_t size; /* as checked */
    int nranks;
    bool *shipped; /* by MPI rank, 1..nranks */
};

void job_archive_destroy(struct job_archive *ja)
{
    if (!ja)
        return;
    if (ja->fd >= 0)
        close(ja->fd);
    free(ja->path);
    free(ja->shipped);
    free(ja);
}

struct job_archive *job_archive_claim(int fd, const char *path,
                                      const struct archive_limits *limits,
                                      int nranks, struct mps_error *err)
{
    struct job_archive *ja = calloc(1, sizeof *ja);
    struct stat st;
    if (ja)
        ja->fd = -1;
    if (!ja || !(ja->path = strdup(path)) ||
        !(ja->shipped = calloc((size_t)nranks + 1, sizeof *ja->shipped))) {
        errprintf(err, "out of memory");
        errno = ENOMEM;
        goto error;
    }
    ja->fd = fd;
    fd = -1;
    ja->nranks = nranks;
    if (fstat(ja->fd, &st) < 0) {
        errprintf(err, "cannot read archive '%s': %s", path, strerror(errno));
        goto error;
    }
    if (archive_check_fd(ja->fd, path, limits, err) < 0) {
        errno = EINVAL;
        goto error;
    }
    ja->size = (uint64_t)st.st_size;
    return ja;
error:;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    job_archive_destroy(ja);
    errno = saved;
    return NULL;
}

const char *job_archive_path(const struct job_archive *ja)
{
    return ja->path;
}

int job_archive_fd(const struct job_archive *ja)
{
    return ja->fd;
}

/* Read len bytes at offset of the archive into buf; -1 with errno (0 for
 * an archive that became shorter). */
static int read_at(const struct job_archive *ja, char *buf, size_t len,
                   uint64_t offset)
{
    while (len > 0) {
        ssize_t got = pread(ja->fd, buf, len, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = 0;
            return -1;
        }
        buf += got;
        len -= (size_t)got;
        offset += (uint64_t)got;
    }
    return 0;
}

int job_archive_ship(struct job_archive *ja, int rank, const char *job,
                     struct mps_error *err)
{
    if (rank < 1 || rank > ja->nranks)
        return errprintf(err, "no rank %d to send archive '%s' to", rank,
                         ja->path);
    if (ja->shipped[rank])
        return 0;
    char *chunk = malloc(WIRE_ARCHIVE_CHUNK);
    if (!chunk)
        return errprintf(err, "out of memory");
    /* The size checked at claim is what the worker expects: a file that
     * changed size since fails the send rather than arriving half. */
    uint64_t total = ja->size, offset = 0;
    int rc = 0;
    do {
        size_t want = total - offset < WIRE_ARCHIVE_CHUNK
                          ? (size_t)(total - offset)
                          : WIRE_ARCHIVE_CHUNK;
        if (read_at(ja, chunk, want, offset) < 0) {
            rc = errprintf(err, "cannot read archive '%s': %s", ja->path,
                           errno ? strerror(errno) : "it became shorter");
            break;
        }
        struct wire_buf buf = {0};
        if (wire_encode_archive(&buf, job, total, offset, chunk, want) < 0 ||
            wire_send(rank, WIRE_ARCHIVE, &buf) < 0) {
            rc = errprintf(err, "cannot send archive '%s' to rank %d: %s",
                           ja->path, rank, strerror(errno));
            wire_buf_free(&buf);
            break;
        }
        wire_buf_free(&buf);
        offset += want;
    } while (offset < total);
    free(chunk);
    if (rc == 0)
        ja->shipped[rank] = true;
    return rc;
}
