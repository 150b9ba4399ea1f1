/* SPDX-License-Identifier: MIT */
/* Rank 0's side of job archives: find and check a job's archive at claim,
 * ship it to each worker rank once before that rank's first task. */
#ifndef MPISPOOL_RANK0_ARCHIVES_H
#define MPISPOOL_RANK0_ARCHIVES_H

#include "archive_safe.h"
#include "error.h"

struct spool;
struct job_archive;

/* Resolve a job's "archive" (a bare name or relative path is in
 * SPOOL/data/, an absolute path is used as it is) and check it with
 * archive_check and limits. nranks: how many ranks it may be shipped to.
 * Returns the job's archive, or NULL with the one line that rejects the
 * job in err. */
struct job_archive *job_archive_claim(const struct spool *sp,
                                      const char *archive,
                                      const struct archive_limits *limits,
                                      int nranks, struct mps_error *err);

/* The archive's path on rank 0's file system. */
const char *job_archive_path(const struct job_archive *ja);

/* Send the archive to MPI rank `rank` (1..nranks) in WIRE_ARCHIVE chunks,
 * unless it was sent there already; call before sending the rank a TASK
 * of the job, so the chunks arrive first. Returns 0, or -1 with a message
 * (the task then fails with it). */
int job_archive_ship(struct job_archive *ja, int rank, const char *job,
                     struct mps_error *err);

void job_archive_destroy(struct job_archive *ja);

#endif
