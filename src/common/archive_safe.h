/* SPDX-License-Identifier: MIT */
/* Job input archives (tar, zip): check them and extract them safely. */
#ifndef MPISPOOL_ARCHIVE_SAFE_H
#define MPISPOOL_ARCHIVE_SAFE_H

/* Not "archive.h": that name is libarchive's own header. */

#include <stdint.h>

#include "asuser.h"
#include "error.h"

#define ARCHIVE_DEFAULT_MAX_ENTRIES 100000ULL
#define ARCHIVE_DEFAULT_MAX_BYTES (1ULL << 30)
#define ARCHIVE_DEFAULT_MAX_RATIO 200.0
/* The ratio limit applies once this many bytes were extracted, so small
 * archives of very compressible text are fine. */
#define ARCHIVE_RATIO_AFTER (16ULL << 20)

/* What an archive may hold. A zero field means its default. */
struct archive_limits {
    uint64_t max_entries; /* entries of any kind */
    uint64_t max_bytes;   /* file data, once extracted */
    double max_ratio;     /* extracted bytes / compressed bytes read */
};

/* Read the whole archive at path (tar: plain, gzip, bzip2, xz, zstd, ...;
 * or zip) without writing anything, and refuse it with one line in err
 * when it cannot be read, or when an entry has an absolute path or a '..'
 * component, is a symlink whose target is absolute or leaves the
 * extraction directory, a hardlink to anything but an earlier file of the
 * archive, a device, FIFO or socket; or when the archive has more entries,
 * more bytes of data or a higher expansion ratio than limits (NULL: the
 * defaults) allow. Data is counted as it is decompressed (and a file whose
 * header announces too much is refused at its header), so a compression
 * bomb is refused after a bounded amount of work. Returns 0 or -1. */
int archive_check(const char *path, const struct archive_limits *limits,
                  struct mps_error *err);

/* archive_check of the archive open at fd (read by offset, from its
 * start, leaving fd's position alone; name is the archive in messages). */
int archive_check_fd(int fd, const char *name,
                     const struct archive_limits *limits,
                     struct mps_error *err);

/* Extract the archive at path into the existing directory dir, refusing
 * what archive_check refuses (with the same lines) and enforcing the same
 * limits while writing; libarchive's secure-symlink, no-'..' and
 * no-absolute-path guards are on as well. Owners, ACLs and extended
 * attributes are not restored; permissions are masked to at most 0755
 * (and at least u+rw, u+rwx for directories); modification times are kept.
 * On failure what was extracted so far stays in dir (the caller removes
 * dir). Returns 0 or -1. */
int archive_extract(const char *path, const char *dir,
                    const struct archive_limits *limits, struct mps_error *err);

/* archive_extract of the archive open at fd (a regular file, read by
 * offset: fd's position is left alone and fd may be shared; name is the
 * archive in messages) into the directory dirfd, acting as who for
 * everything it writes (asuser_enter: the files are who's, and who's
 * permission checks apply, whatever links are there; NULL: as this
 * process). The archive itself is read through fd, opened by the caller
 * with whatever rights fit: what is checked is what is extracted, nothing
 * is opened again by name. The process's working directory is dirfd's
 * meanwhile (and restored), so no other thread may depend on it. */
int archive_extract_fd(int fd, const char *name, int dirfd,
                       const struct asuser_id *who,
                       const struct archive_limits *limits,
                       struct mps_error *err);

#endif
