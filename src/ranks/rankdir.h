/* SPDX-License-Identifier: MIT */
/* A rank's private directory: made with mkdtemp where only this process
 * may write, it holds the rank's task work directories and archive copies. */
#ifndef MPISPOOL_RANKDIR_H
#define MPISPOOL_RANKDIR_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Where a root rank makes its directory when no --workdir is given. */
#define RANKDIR_RUN "/run/mpispool"

struct rankdir {
    char *path; /* for messages and MPISPOOL_WORKDIR */
    int fd;     /* the directory, opened when it was made */
};

/* Whether dir is a directory of uid's that no one else may write (not a
 * symbolic link): a place where uid alone decides what is made. */
bool rankdir_private(const char *dir, uid_t uid);

/* Make rank `rank`'s directory, "mpispool-rankRANK-XXXXXX" made by mkdtemp
 * (so never a name someone could have made first) in: workdir when given
 * (--workdir: created 0711 when missing); else, as root, RANKDIR_RUN
 * (created 0711 and owned by root; refused when it is anything else);
 * else $XDG_RUNTIME_DIR when rankdir_private; else $TMPDIR, else /tmp.
 * Mode 0711 as root (a task run as its user passes through to its own
 * work directory, but cannot list the others), else 0700. Returns 0, or
 * -1 with err set. */
int rankdir_create(const char *workdir, int rank, struct rankdir *rd,
                   struct mps_error *err);

/* Remove the directory (empty by now: what is left is left) and free rd. */
void rankdir_remove(struct rankdir *rd);

#endif
