/* SPDX-License-Identifier: MIT */
/* Job archives on rank 0: resolve and check at claim, ship to workers. */
#include "archives.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "transport.h"
#include "util.h"

struct job_archive {
    char *path;
    int nranks;
    bool *shipped; /* by MPI rank, 1..nranks */
};

void job_archive_destroy(struct job_archive *ja)
{
    if (!ja)
        return;
    free(ja->path);
    free(ja->shipped);
    free(ja);
}

struct job_archive *job_archive_claim(const struct spool *sp,
                                      const char *archive,
                                      const struct archive_limits *limits,
                                      int nranks, struct mps_error *err)
{
    struct job_archive *ja = calloc(1, sizeof *ja);
    if (!ja) {
        errprintf(err, "out of memory");
        return NULL;
    }
    ja->nranks = nranks;
    ja->shipped = calloc((size_t)nranks + 1, sizeof *ja->shipped);
    if (archive[0] == '/')
        ja->path = strdup(archive);
    else
        ja->path = spool_file(sp, SPOOL_DATA, archive);
    if (!ja->path || !ja->shipped) {
        errprintf(err, "out of memory");
        goto error;
    }
    if (archive_check(ja->path, limits, err) < 0)
        goto error;
    return ja;
error:
    job_archive_destroy(ja);
    return NULL;
}

const char *job_archive_path(const struct job_archive *ja)
{
    return ja->path;
}

int job_archive_ship(struct job_archive *ja, int rank, const char *job,
                     struct mps_error *err)
{
    if (rank < 1 || rank > ja->nranks)
        return errprintf(err, "no rank %d to send archive '%s' to", rank,
                         ja->path);
    if (ja->shipped[rank])
        return 0;
    int fd = open(ja->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        errprintf(err, "cannot read archive '%s': %s", ja->path,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char *chunk = malloc(WIRE_ARCHIVE_CHUNK);
    if (!chunk) {
        close(fd);
        return errprintf(err, "out of memory");
    }
    /* The size read now is what the worker expects: a file that changes
     * size meanwhile fails the send rather than arriving half. */
    uint64_t total = (uint64_t)st.st_size, offset = 0;
    int rc = 0;
    do {
        size_t want = total - offset < WIRE_ARCHIVE_CHUNK
                          ? (size_t)(total - offset)
                          : WIRE_ARCHIVE_CHUNK;
        ssize_t got = util_read_all(fd, chunk, want);
        if (got < 0 || (size_t)got != want) {
            rc = errprintf(err, "cannot read archive '%s': %s", ja->path,
                           got < 0 ? strerror(errno) : "it became shorter");
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
    close(fd);
    if (rc == 0)
        ja->shipped[rank] = true;
    return rc;
}
