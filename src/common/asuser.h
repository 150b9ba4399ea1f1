/* SPDX-License-Identifier: MIT */
/* The privilege boundary: every access to a path a user controls, made as
 * that user (this thread's file system identity, or a short-lived child
 * that becomes the user) and opened without following links. */
#ifndef MPISPOOL_ASUSER_H
#define MPISPOOL_ASUSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

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

/* Make this thread's file system accesses who's until asuser_leave: its
 * supplementary groups, file system gid and uid (raw system calls, so the
 * process's other threads keep theirs). Files the thread then creates are
 * who's (owner, group; the mode is the caller's to give), and every
 * permission check on a path is who's: root's power over files is set
 * aside, whatever links a user planted. Processes the thread starts must
 * set their own identity (asuser_become). Does nothing without switch_ids.
 * Calls do not nest. Returns 0, or -1 with err set and the thread as it
 * was. */
int asuser_enter(const struct asuser_id *who, struct mps_error *err);

/* Give this thread back the process's own file system identity. */
void asuser_leave(void);

/* What an opened file must be (asuser_openat). */
struct asuser_want {
    mode_t type;       /* S_IFREG or S_IFDIR; 0: either of them */
    bool any_owner;    /* else st_uid must be owner */
    uint32_t owner;    /* the uid that must own it */
    bool one_link;     /* a regular file must have one link (no hard link) */
    uint64_t max_size; /* a regular file's largest size; 0: any */
};

/* Open path (relative, one or more names) beneath the directory dirfd:
 * never through a symbolic link, "..", a mount of /proc's magic links or
 * an absolute name (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS; where the kernel has no openat2, one name at a
 * time with O_NOFOLLOW), adding O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
 * O_NOCTTY to flags, so no FIFO or device blocks the caller; then checks
 * with fstat what want asks (the file it holds, not the name). A regular
 * file is left in blocking mode. *st (if not NULL) gets its fstat. Returns
 * the descriptor, or -1 with err set ("'new/x.json' is a symbolic link",
 * "... is not a regular file", "... belongs to uid 1002, not 1001", "...
 * has 2 links", "... is 20000000 bytes, more than 16777216"; name is the
 * path in messages) and errno: ELOOP or EXDEV for a link or a name that
 * leaves dirfd, EINVAL for a file that is not what want asks, else the
 * system call's (asuser_transient tells which of those may pass). */
int asuser_openat(int dirfd, const char *path, int flags, mode_t mode,
                  const struct asuser_want *want, struct stat *st,
                  const char *name, struct mps_error *err);

/* Whether a request made by uid requester (the owner of the request file
 * rank 0 holds open, or the user running mpispool) may act on something
 * owner owns, e.g. cancel owner's job: requester is owner, root or admin
 * (the spool's administrator: rank 0's own uid, the owner of the spool
 * directory). A drain concerns everyone's jobs: owner is admin. */
bool asuser_may_act(uint32_t requester, uint32_t owner, uint32_t admin);

/* Whether errno value e, from a failed open, read or write of a user's
 * file or directory, may pass by itself (no permission, a read-only or
 * full file system, over quota, out of descriptors or memory, I/O error):
 * the job should wait and try again rather than be rejected. */
bool asuser_transient(int e);

/* Open a path the user named (absolute, or relative to the current
 * directory) for reading as who: links are followed with who's rights
 * only, so nothing who may not read is opened. Then as asuser_openat. */
int asuser_open_path(const struct asuser_id *who, const char *path,
                     const struct asuser_want *want, struct stat *st,
                     struct mps_error *err);

/* Read the open regular file fd whole, at most max bytes, into a malloc'd
 * NUL-terminated buffer (*len its length): a file that is or grows longer
 * is refused without reading more than max + 1 bytes. NULL with err set
 * on failure. */
char *asuser_read(int fd, size_t max, size_t *len, const char *name,
                  struct mps_error *err);

/* Remove name beneath dirfd and, for a directory, all it holds, without
 * following a link (a link is removed, not its target), with this thread's
 * identity (so as the user after asuser_enter). 0, or -1 with errno. */
int asuser_remove_tree(int dirfd, const char *name);

/* Remove everything the directory dirfd holds, as asuser_remove_tree does
 * (so as the user after asuser_enter), leaving the directory itself: for
 * a user's directory in one only root may write, which the user may
 * empty but root then removes. The directory is made 0700 first (its
 * owner's to do), so one its user made unreadable can be emptied. 0, or
 * -1 with errno. */
int asuser_remove_contents(int dirfd);

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
