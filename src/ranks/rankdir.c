/* SPDX-License-Identifier: MIT */
/* A rank's private directory, made with mkdtemp where only this process may
 * write: never at a name another user could have made first. */
#include "rankdir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

bool rankdir_private(const char *dir, uid_t uid)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid &&
              !(st.st_mode & 022);
    close(fd);
    return ok;
}

/* RANKDIR_RUN, made when missing: a directory of root's that nobody else
 * may write, 0711. Returns 0 or -1 with err set. */
static int run_dir(struct mps_error *err)
{
    if (mkdir(RANKDIR_RUN, 0711) < 0 && errno != EEXIST)
        return errprintf(err, "cannot create '%s': %s", RANKDIR_RUN,
                         strerror(errno));
    int fd = open(RANKDIR_RUN, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    int rc = -1;
    if (fd < 0 || fstat(fd, &st) < 0)
        errprintf(err, "cannot open '%s': %s", RANKDIR_RUN, strerror(errno));
    else if (st.st_uid != 0 || (st.st_mode & 022))
        errprintf(err, "'%s' is not root's own directory: not used",
                  RANKDIR_RUN);
    else if ((st.st_mode & 07777) != 0711 && fchmod(fd, 0711) < 0)
        errprintf(err, "cannot change the mode of '%s': %s", RANKDIR_RUN,
                  strerror(errno));
    else
        rc = 0;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The directory to make the rank's in (see rankdir_create). */
static const char *choose_base(const char *workdir, bool root,
                               struct mps_error *err)
{
    if (workdir) {
        if (util_mkdir_p(workdir, root ? 0711 : 0700) < 0 && errno != EEXIST) {
            errprintf(err, "cannot create work directory '%s': %s", workdir,
                      strerror(errno));
            return NULL;
        }
        return workdir;
    }
    struct mps_error run_err;
    if (root && run_dir(&run_err) == 0)
        return RANKDIR_RUN;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && xdg[0] == '/' && rankdir_private(xdg, geteuid()))
        return xdg;
    const char *tmp = getenv("TMPDIR");
    return tmp && tmp[0] == '/' ? tmp : "/tmp";
}

int rankdir_create(const char *workdir, int rank, struct rankdir *rd,
                   struct mps_error *err)
{
    rd->path = NULL;
    rd->fd = -1;
    bool root = geteuid() == 0;
    const char *base = choose_base(workdir, root, err);
    if (!base)
        return -1;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/mpispool-rank%d-XXXXXX", base, rank) >=
        (int)sizeof path)
        return errprintf(err, "work directory name too long: '%s'", base);
    if (!mkdtemp(path))
        return errprintf(err, "cannot create a work directory in '%s': %s",
                         base, strerror(errno));
    rd->fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rd->fd < 0 || (root && fchmod(rd->fd, 0711) < 0) ||
        !(rd->path = strdup(path))) {
        errprintf(err, "cannot set up work directory '%s': %s", path,
                  strerror(errno));
        rankdir_remove(rd);
        rmdir(path);
        return -1;
    }
    return 0;
}

void rankdir_remove(struct rankdir *rd)
{
    if (rd->path)
        rmdir(rd->path);
    if (rd->fd >= 0)
        close(rd->fd);
    free(rd->path);
    rd->path = NULL;
    rd->fd = -1;
}
