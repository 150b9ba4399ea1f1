/* SPDX-License-Identifier: MIT */
/* Rank 0's side of job archives: check a job's archive at claim, hold it
 * open, and ship it to each worker rank once before that rank's first
 * task. */
#ifndef MPISPOOL_RANK0_ARCHIVES_H
#define MPISPOOL_RANK0_ARCHIVES_H

#include <stdint.h>

#include "archive_safe.h"
#include "error.h"

struct job_archive;

/* Take over fd, a job's archive opened at claim (as its owner: see the
 * coordinator's job_open_input), and check it with archive_check_fd and
 * limits. path is its name in messages. nranks: how many ranks it may be
 * shipped to. The archive stays open: whatever later happens to its name
 * changes nothing. Returns the job's archive, or NULL (fd closed) with
 * the one line that refuses the job in err and errno EINVAL (ENOMEM when
 * out of memory). */
struct job_archive *job_archive_claim(int fd, const char *path,
                                      const struct archive_limits *limits,
                                      int nranks, struct mps_error *err);

/* The archive's name in messages (its path when it was opened). */
const char *job_archive_path(const struct job_archive *ja);

/* The archive, open for reading (a regular file): read it by offset
 * (pread, archive_extract_fd), as others share the descriptor. It stays
 * open until job_archive_destroy. */
int job_archive_fd(const struct job_archive *ja);

/* Send the archive to MPI rank `rank` (1..nranks) in WIRE_ARCHIVE chunks,
 * unless it was sent there already; call before sending the rank a TASK
 * of the job, so the chunks arrive first. Returns 0, or -1 with a message
 * (the task then fails with it). */
int job_archive_ship(struct job_archive *ja, int rank, const char *job,
                     struct mps_error *err);

void job_archive_destroy(struct job_archive *ja);

#endif
