/* SPDX-License-Identifier: MIT */
/* Acting as a job's owner: a short-lived child becomes the user before it
 * touches any path the user named. */
#ifndef MPISPOOL_ASUSER_H
#define MPISPOOL_ASUSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Who to act as. switch_ids is false when there is nobody to switch to
 * (this process is not root): then the child acts as this process. */
struct asuser_id {
    bool switch_ids;
    uint32_t uid, gid; /* all three of real, effective and saved */
    uint32_t ngroups;  /* supplementary groups, 0 for none */
    const uint32_t *groups;
    unsigned umask; /* for the files the child creates */
};

/* Become who in this process for good: setgroups, setresgid and setresuid
 * in that order, as raw system calls, so that it is also safe in the child
 * of a clone(CLONE_VM | CLONE_VFORK) of a multithreaded process (the C
 * library's wrappers would make every thread of the parent change too).
 * Does nothing without switch_ids. Returns 0 or -errno. */
int asuser_become(const struct asuser_id *who);

/* At most this many copies per child: their report fits in one pipe
 * write. */
#define ASUSER_MAX_COPIES 64

/* One file to write: the bytes of src_fd (from offset 0, read by offset so
 * that a shared file position is left alone; -1 for no bytes) to path. The
 * file is created with mode 0666 & ~umask, or truncated. A copy whose path
 * is the same string as the one before it goes on in the same file, after
 * it. path must be a regular file or a character device (/dev/null). */
struct asuser_copy {
    const char *path;
    int src_fd;
};

/* How one copy ended. */
enum asuser_stage {
    ASUSER_OK,
    ASUSER_SWITCH,   /* the child could not become the user: err */
    ASUSER_OPEN,     /* open(path) failed: err */
    ASUSER_NOT_FILE, /* path is not a regular file or character device */
    ASUSER_SAME,     /* path is the source file itself */
    ASUSER_READ,     /* reading the source failed: err */
    ASUSER_WRITE,    /* writing (or truncating, closing) path failed: err */
    ASUSER_DIED,     /* the child ended without a report: err is the signal
                        that killed it, or 0 */
};

struct asuser_result {
    enum asuser_stage stage;
    int err;
};

/* The cause in words, for a message: "Permission denied", "not a regular
 * file", "cannot switch to user 1001: Operation not permitted". Returns
 * buf. */
const char *asuser_describe(const struct asuser_result *r,
                            const struct asuser_id *who, char *buf, size_t len);

/* A child at work. It is made with clone() and no exit signal, so it never
 * raises SIGCHLD and waitpid(-1) or waitid(P_ALL) without __WALL do not see
 * it: only asuser_child_finish reaps it. */
struct asuser_child;

/* Start a child that becomes who (asuser_become), then closes every file
 * descriptor it does not need, makes itself not dumpable, and writes the n
 * copies (1 to ASUSER_MAX_COPIES). The child shares no memory with this
 * process; copies and their sources must stay valid until this returns.
 * Returns NULL with err set when no child could be made. */
struct asuser_child *asuser_copy_start(const struct asuser_id *who,
                                       const struct asuser_copy *copies,
                                       size_t n, struct mps_error *err);

/* A descriptor that polls readable (POLLIN) once the child has ended. */
int asuser_child_fd(const struct asuser_child *child);

/* Send it signal sig: SIGKILL ends it now (asuser_child_finish then
 * reports ASUSER_DIED for every copy); SIGSTOP and SIGCONT hold and
 * release it. */
void asuser_child_signal(struct asuser_child *child, int sig);

/* Wait for the child to end (at once once asuser_child_fd polled
 * readable), reap it, fill results[0..n-1] and free child. */
void asuser_child_finish(struct asuser_child *child,
                         struct asuser_result *results);

/* asuser_copy_start, then asuser_child_finish: write the copies and wait.
 * Returns 0 (each copy's outcome in results) or -1 with err set. */
int asuser_copy(const struct asuser_id *who, const struct asuser_copy *copies,
                size_t n, struct asuser_result *results, struct mps_error *err);

#endif
