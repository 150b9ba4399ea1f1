/* SPDX-License-Identifier: MIT */
/* Small system helpers: time stamps, EINTR-safe I/O, atomic files, sizes. */
#ifndef MPISPOOL_UTIL_H
#define MPISPOOL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* One line on stderr: "WHO: message". */
void util_log(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Wall clock (CLOCK_REALTIME) and monotonic clock, in microseconds. */
int64_t util_now_us(void);
int64_t util_mono_us(void);

/* RFC 3339 UTC with microseconds: "2026-11-23T16:50:06.123456Z".
 * buf must hold UTIL_TIME_LEN bytes. Returns buf. */
#define UTIL_TIME_LEN 32
char *util_format_time(int64_t us, char *buf);
/* Parse such a time (any number of fraction digits, "Z" required) into
 * microseconds since the epoch. Returns 0, or -1 if text is not one. */
int util_parse_time(const char *text, int64_t *us);

/* Write/read all of buf, retrying on EINTR and short transfers.
 * util_write_all returns 0 or -1 (errno set); util_read_all returns the
 * number of bytes read (less than len only at end of file) or -1. */
int util_write_all(int fd, const void *buf, size_t len);
ssize_t util_read_all(int fd, void *buf, size_t len);

/* Read a whole regular file of at most max bytes into a NUL-terminated
 * malloc'd buffer; *len gets its length (without the NUL). A larger file
 * fails with EFBIG. Returns NULL and sets err on failure. */
char *util_read_file(const char *path, size_t max, size_t *len,
                     struct mps_error *err);

/* Replace path atomically: write path.tmp.PID, optionally fsync it, rename
 * over path. flags: UTIL_FSYNC also fsyncs the file and its directory. */
#define UTIL_FSYNC 1
int util_write_file(const char *path, const void *buf, size_t len, int flags,
                    struct mps_error *err);

/* renameat(2) that never replaces a file: renameat2 RENAME_NOREPLACE, or
 * where the file system has no such thing, a look first (use it where
 * only the caller, or the sticky bit, keeps names from appearing). -1
 * with errno EEXIST when to exists. */
int util_rename_noreplace(int from_dirfd, const char *from, int to_dirfd,
                          const char *to);

/* fsync a directory by path. */
int util_fsync_dir(const char *path);

/* Create a directory and its parents (mode for each new one); an existing
 * directory is fine. */
int util_mkdir_p(const char *path, mode_t mode);

/* Parse a size with an optional K, M, G or T suffix (powers of 1024,
 * optional trailing 'B' or 'iB'): "512M", "8G", "1024". */
int util_parse_size(const char *text, uint64_t *bytes);

/* Format bytes as the shortest exact K/M/G/T form ("2G", "1536M"). buf must
 * hold 32 bytes. */
char *util_format_size(uint64_t bytes, char *buf);

/* A size for people: "0", "512M", "23.5G" (one decimal, dropped when it
 * is 0). Returns buf. */
char *util_human_size(uint64_t bytes, char *buf, size_t len);

/* NULL-terminated string vectors: a deep copy (NULL on ENOMEM; a NULL v
 * gives an empty vector), and freeing one (NULL is fine). */
/* Room for one more element in an array that doubles: when n == *cap,
 * items (of size bytes each) is reallocated to twice *cap, or to first
 * when empty, and *cap set. Returns the array (items itself while there is
 * room), or NULL when out of memory (items and *cap as they were). */
void *util_grow(void *items, size_t n, size_t *cap, size_t size, size_t first);

char **util_strv_dup(char *const *v);
void util_strv_free(char **v);

/* The short host name (up to the first dot). buf holds at least 256 bytes. */
char *util_hostname(char *buf, size_t len);

#endif
