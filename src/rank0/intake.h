/* SPDX-License-Identifier: MIT */
/* Rank 0's intake of new/: what a scan lists, what is no job file at all,
 * the order files are taken in (round-robin between their owners), and
 * the cache of what a job file looked like (device, inode, size, mtime). */
#ifndef MPISPOOL_RANK0_INTAKE_H
#define MPISPOOL_RANK0_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* A name in new/ as a scan saw it: fstatat without following a link, so
 * st_uid is the owner of the name itself (of a link, not its target). */
struct intake_entry {
    char *name;
    struct stat st;
};

struct intake_list {
    struct intake_entry *v;
    size_t n, cap;
};

/* Names announced complete by inotify since the last full scan (taken at
 * once, without the settling delay). Bounded: past INTAKE_ANNOUNCED, all
 * names count as announced. */
#define INTAKE_ANNOUNCED 4096
struct intake_announced {
    char **names; /* sorted after intake_announced_sort */
    size_t n;
    bool all;
};

/* Remember name (copied). */
void intake_announce(struct intake_announced *a, const char *name);
/* Whether name was announced (a sorted set: call after the last announce
 * of a batch; intake_list_dir sorts it). */
bool intake_announced_has(struct intake_announced *a, const char *name);
void intake_announced_clear(struct intake_announced *a);

/* List the directory open at dirfd (not changing its position for other
 * users: a duplicate is read), leaving out dot files and, with settle,
 * names changed within the last two seconds (a writer may still fill
 * them) that a was not told of. Returns 0, or -1 with errno (out keeps
 * what was read). */
int intake_list_dir(int dirfd, struct intake_announced *a, bool settle,
                    time_t now, struct intake_list *out);
void intake_list_free(struct intake_list *l);

/* Why the name and stat of a file in new/ make it no job file at all,
 * whatever it holds ("job file is a symbolic link: refused", "job file
 * name must end in '.json'", a FIFO, a directory, a device, a hard link,
 * too large, empty): a one-line reason, in buf. NULL for a candidate job
 * file, which must be read to tell. */
const char *intake_junk(const char *name, const struct stat *st, char *buf,
                        size_t len);

/* The order in which to take the files of l: round-robin between their
 * owners (one file of each owner per round), each owner's files in name
 * order (submission order for submitted ids), starting with the first
 * owner after `after` (the uid served last; owners in uid order, wrapping
 * round). order gets l->n indexes into l->v. */
void intake_order(const struct intake_list *l, uid_t after, size_t *order);

/* What reading a job file showed: whether it is a valid job, and its
 * priority. */
struct intake_look {
    bool valid;
    int priority;
};

/* Looks at job files by (device, inode, size, mtime): a file that did not
 * change is not read again. At most max entries; when it is full, the
 * entries of files not seen (marked or looked up) since the last sweep,
 * gone from new/, make room. */
struct intake_cache;

struct intake_cache *intake_cache_create(size_t max);
void intake_cache_destroy(struct intake_cache *c);

/* The look cached for the file st describes, or NULL. */
const struct intake_look *intake_cache_get(struct intake_cache *c,
                                           const struct stat *st);
/* Cache a look (replacing one of an older state of the same file). */
void intake_cache_put(struct intake_cache *c, const struct stat *st,
                      const struct intake_look *look);
/* The file st describes is still in new/: keep its entry at the next
 * sweep. */
void intake_cache_mark(struct intake_cache *c, const struct stat *st);
/* Drop the entries not marked since the last sweep (done by
 * intake_cache_put when full). */
void intake_cache_sweep(struct intake_cache *c);
/* How many looks are cached. */
size_t intake_cache_size(const struct intake_cache *c);

#endif
