/* SPDX-License-Identifier: MIT */
/* A worker's copies of job archives, written from WIRE_ARCHIVE chunks. */
#ifndef MPISPOOL_ARCHIVE_STORE_H
#define MPISPOOL_ARCHIVE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct archive_store;

/* Archives go to JOBID.archive in the directory dirfd (named dir in
 * messages and paths), the rank's private directory (rankdir.h): each is
 * created afresh there (O_EXCL, never through a link). dirfd is borrowed:
 * it must stay open while the store is used. */
struct archive_store *archive_store_create(int dirfd, const char *dir);

/* Write one chunk (len bytes at offset of an archive of total bytes) of
 * job's archive. A chunk at offset 0 starts the job's archive afresh;
 * chunks must come in order. A failure is remembered and reported by
 * archive_store_path for that job; returns 0 or -1. */
int archive_store_chunk(struct archive_store *st, const char *job,
                        uint64_t total, uint64_t offset, const void *data,
                        size_t len);

/* The path of job's complete archive, or NULL with the reason in err
 * (never received, incomplete, or a write failed). */
const char *archive_store_path(struct archive_store *st, const char *job,
                               struct mps_error *err);

/* Remove every archive file and free the store. */
void archive_store_destroy(struct archive_store *st);

#endif
