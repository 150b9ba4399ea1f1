/* SPDX-License-Identifier: MIT */
/* The spool directory: layout, job ids, and every state change by rename. */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct spool {
    char *path;
    uint32_t admin; /* the owner of the spool directory */
};

static const char *const dir_names[SPOOL_NDIRS] = {
    "tmp", "new",     "cur",    "done", "failed", "rejected", "cancel",
    "out", "journal", "status", "data", "drain",  "ids",
};

const char *spool_dir_name(enum spool_dir dir)
{
    return dir >= 0 && dir < SPOOL_NDIRS ? dir_names[dir] : "?";
}

/* Directories anyone may drop a file into, but not list (like cron's);
 * the sticky bit lets only a file's owner rename or remove it. */
static bool is_dropbox(enum spool_dir dir)
{
    return dir == SPOOL_TMP || dir == SPOOL_NEW || dir == SPOOL_CANCEL ||
           dir == SPOOL_DATA || dir == SPOOL_IDS;
}

int spool_init(const char *path, struct mps_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
        return errprintf(err, "cannot create spool '%s': %s", path,
                         strerror(ENOTDIR));
    if (util_mkdir_p(path, 0755) < 0)
        return errprintf(err, "cannot create spool '%s': %s", path,
                         strerror(errno));
    if (access(path, W_OK | X_OK) < 0)
        return errprintf(err, "cannot create spool '%s': %s", path,
                         strerror(errno));
    char sub[PATH_MAX];
    for (int d = 0; d < SPOOL_NDIRS; d++) {
        snprintf(sub, sizeof sub, "%s/%s", path, dir_names[d]);
        if (mkdir(sub, 0755) < 0 && errno != EEXIST)
            return errprintf(err, "cannot create '%s': %s", sub,
                             strerror(errno));
        if (stat(sub, &st) < 0 || !S_ISDIR(st.st_mode))
            return errprintf(err, "cannot create '%s': %s", sub,
                             strerror(errno ? errno : ENOTDIR));
        mode_t want = is_dropbox((enum spool_dir)d) ? 01733 : 0755;
        if ((st.st_mode & 07777) != want && chmod(sub, want) < 0)
            return errprintf(err, "cannot set the mode of '%s': %s", sub,
                             strerror(errno));
    }
    snprintf(sub, sizeof sub, "%s/seq", path);
    int fd = open(sub, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
        if (util_write_all(fd, "0\n", 2) < 0 || fchmod(fd, 0666) < 0) {
            int saved = errno;
            close(fd);
            return errprintf(err, "cannot write '%s': %s", sub,
                             strerror(saved));
        }
        close(fd);
    } else if (errno != EEXIST) {
        return errprintf(err, "cannot create '%s': %s", sub, strerror(errno));
    }
    return 0;
}

struct spool *spool_open(const char *path, struct mps_error *err)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        errprintf(err, "cannot open spool '%s': %s", path, strerror(errno));
        return NULL;
    }
    char sub[PATH_MAX + 8];
    struct stat st;
    snprintf(sub, sizeof sub, "%s/new", real);
    struct stat top;
    if (stat(real, &top) < 0 || stat(sub, &st) < 0 || !S_ISDIR(st.st_mode)) {
        errprintf(err,
                  "'%s' is not a spool (no new/): run 'mpispool init "
                  "%s'",
                  path, path);
        return NULL;
    }
    struct spool *sp = calloc(1, sizeof *sp);
    if (!sp || !(sp->path = strdup(real))) {
        free(sp);
        errprintf(err, "out of memory");
        return NULL;
    }
    sp->admin = (uint32_t)top.st_uid;
    return sp;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    free(sp->path);
    free(sp);
}

int spool_ensure_dir(const struct spool *sp, enum spool_dir dir,
                     struct mps_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", sp->path, spool_dir_name(dir));
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    mode_t want = is_dropbox(dir) ? 01733 : 0755;
    if (mkdir(path, want) < 0 && errno != EEXIST)
        return errprintf(err, "cannot create '%s': %s", path, strerror(errno));
    /* mkdir applies the umask (and never sets the sticky bit everywhere):
     * set the mode outright, unless another process made it first. */
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return errprintf(err, "cannot create '%s': %s", path,
                         strerror(errno ? errno : ENOTDIR));
    if ((st.st_mode & 07777) != want && st.st_uid == geteuid() &&
        chmod(path, want) < 0)
        return errprintf(err, "cannot set the mode of '%s': %s", path,
                         strerror(errno));
    return 0;
}

const char *spool_path(const struct spool *sp)
{
    return sp->path;
}

uint32_t spool_admin(const struct spool *sp)
{
    return sp->admin;
}

char *spool_file(const struct spool *sp, enum spool_dir dir, const char *name)
{
    char *out;
    int rc = name ? asprintf(&out, "%s/%s/%s", sp->path, dir_names[dir], name)
                  : asprintf(&out, "%s/%s", sp->path, dir_names[dir]);
    return rc < 0 ? NULL : out;
}

int spool_new_jobid(struct spool *sp, char *buf, size_t len,
                    struct mps_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/seq", sp->path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return errprintf(err, "cannot open '%s': %s", path, strerror(errno));
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    while (fcntl(fd, F_SETLKW, &lock) < 0) {
        if (errno != EINTR) {
            int saved = errno;
            close(fd);
            return errprintf(err, "cannot lock '%s': %s", path,
                             strerror(saved));
        }
    }
    char text[32] = "";
    ssize_t got = pread(fd, text, sizeof text - 1, 0);
    unsigned long long seq = got > 0 ? strtoull(text, NULL, 10) : 0;
    seq++;
    int n = snprintf(text, sizeof text, "%llu\n", seq);
    int rc = 0;
    if (pwrite(fd, text, (size_t)n, 0) != n || ftruncate(fd, n) < 0 ||
        fsync(fd) < 0)
        rc = errprintf(err, "cannot update '%s': %s", path, strerror(errno));
    close(fd); /* releases the lock */
    if (rc < 0)
        return rc;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[16];
    strftime(date, sizeof date, "%Y%m%d", &tm);
    snprintf(buf, len, "%s-%04llu", date, seq);
    return 0;
}

int spool_submit(struct spool *sp, const char *jobid, const char *text,
                 size_t len, struct mps_error *err)
{
    char name[128], tmp[PATH_MAX], dst[PATH_MAX];
    snprintf(name, sizeof name, "%s.json", jobid);
    snprintf(tmp, sizeof tmp, "%s/tmp/%s", sp->path, name);
    snprintf(dst, sizeof dst, "%s/new/%s", sp->path, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errprintf(err, "cannot create '%s': %s", tmp, strerror(errno));
    if (util_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        return errprintf(err, "cannot write '%s': %s", tmp, strerror(saved));
    }
    close(fd);
    /* rename, not link: the coordinator's inotify sees IN_MOVED_TO only
     * once the file is complete. The id came from the locked counter, so
     * nothing in new/ has this name. */
    struct stat st;
    if (lstat(dst, &st) == 0) {
        unlink(tmp);
        return errprintf(err, "job '%s' already exists", jobid);
    }
    if (rename(tmp, dst) < 0) {
        int saved = errno;
        unlink(tmp);
        return errprintf(err, "cannot submit '%s': %s", dst, strerror(saved));
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/new", sp->path);
    util_fsync_dir(dir);
    return 0;
}

int spool_claim(struct spool *sp, const char *name, struct mps_error *err)
{
    char src[PATH_MAX], dst[PATH_MAX];
    snprintf(src, sizeof src, "%s/new/%s", sp->path, name);
    snprintf(dst, sizeof dst, "%s/cur/%s", sp->path, name);
    if (rename(src, dst) < 0) {
        if (errno == ENOENT)
            return 1;
        return errprintf(err, "cannot claim '%s': %s", src, strerror(errno));
    }
    return 0;
}

int spool_move(struct spool *sp, const char *jobid, enum spool_dir from,
               enum spool_dir to, struct mps_error *err)
{
    char src[PATH_MAX], dst[PATH_MAX];
    snprintf(src, sizeof src, "%s/%s/%s.json", sp->path, dir_names[from],
             jobid);
    snprintf(dst, sizeof dst, "%s/%s/%s.json", sp->path, dir_names[to], jobid);
    if (rename(src, dst) < 0)
        return errprintf(err, "cannot move '%s' to %s/: %s", src, dir_names[to],
                         strerror(errno));
    return 0;
}

int spool_reject(struct spool *sp, const char *name, const char *reason,
                 struct mps_error *err)
{
    char src[PATH_MAX], dst[PATH_MAX], errpath[PATH_MAX];
    size_t len = strlen(name);
    int stem = len > 5 && strcmp(name + len - 5, ".json") == 0 ? (int)(len - 5)
                                                               : (int)len;
    snprintf(src, sizeof src, "%s/cur/%s", sp->path, name);
    snprintf(dst, sizeof dst, "%s/rejected/%s", sp->path, name);
    snprintf(errpath, sizeof errpath, "%s/rejected/%.*s.error", sp->path, stem,
             name);
    /* One line: newlines in the reason would break it, and other control
     * characters (a key name may hold a terminal escape) are shown as '?'. */
    char line[1024];
    size_t n = 0;
    for (const char *p = reason; *p && n < sizeof line - 2; p++)
        line[n++] = (*p == '\n' || *p == '\r')                 ? ' '
                    : ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?'
                                                               : *p;
    line[n++] = '\n';
    if (util_write_file(errpath, line, n, 0, err) < 0)
        return -1;
    if (rename(src, dst) < 0)
        return errprintf(err, "cannot move '%s' to rejected/: %s", src,
                         strerror(errno));
    return 0;
}

/* lstat SPOOL/DIR/NAME into *st: whether it is there. */
static bool lstat_in(const struct spool *sp, enum spool_dir dir,
                     const char *name, struct stat *st)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", sp->path, dir_names[dir], name);
    return lstat(path, st) == 0;
}

bool spool_is_withdrawal(const struct stat *file,
                         const struct stat *reservation)
{
    return S_ISREG(file->st_mode) && file->st_nlink == 1 && reservation &&
           file->st_uid == reservation->st_uid;
}

/* spool_locate; *cancel_st gets the lstat of cancel/JOBID.json when it is
 * a withdrawal. */
static int locate(const struct spool *sp, const char *jobid,
                  struct stat *cancel_st)
{
    static const enum spool_dir later[] = {SPOOL_CUR, SPOOL_DONE, SPOOL_FAILED,
                                           SPOOL_REJECTED};
    char name[128];
    snprintf(name, sizeof name, "%s.json", jobid);
    struct stat st, res;
    if (lstat_in(sp, SPOOL_NEW, name, &st))
        return SPOOL_NEW;
    bool in_cancel = lstat_in(sp, SPOOL_CANCEL, name, cancel_st);
    for (size_t i = 0; i < sizeof later / sizeof *later; i++)
        if (lstat_in(sp, later[i], name, &st))
            return (int)later[i];
    /* Only there: a withdrawal, unless someone else put it there. */
    bool reserved = lstat_in(sp, SPOOL_IDS, jobid, &res);
    if (in_cancel && spool_is_withdrawal(cancel_st, reserved ? &res : NULL))
        return SPOOL_CANCEL;
    return -1;
}

int spool_locate(const struct spool *sp, const char *jobid)
{
    struct stat st;
    return locate(sp, jobid, &st);
}

bool spool_withdrawn(const struct spool *sp, const char *jobid, struct stat *st)
{
    struct stat own;
    return locate(sp, jobid, st ? st : &own) == SPOOL_CANCEL;
}

bool spool_ended(int where)
{
    return where == SPOOL_DONE || where == SPOOL_FAILED ||
           where == SPOOL_REJECTED || where == SPOOL_CANCEL;
}

const char *spool_state_name(int where)
{
    switch (where) {
    case SPOOL_NEW:
        return "queued";
    case SPOOL_CUR:
        return "running";
    case SPOOL_DONE:
        return "done";
    case SPOOL_FAILED:
        return "failed";
    case SPOOL_REJECTED:
        return "rejected";
    case SPOOL_CANCEL:
        return "cancelled";
    default:
        return "gone";
    }
}

int spool_job_owner(const struct spool *sp, const char *jobid, uint32_t *owner)
{
    char name[128];
    snprintf(name, sizeof name, "%s.json", jobid);
    struct stat st;
    if (!lstat_in(sp, SPOOL_NEW, name, &st) &&
        !lstat_in(sp, SPOOL_CUR, name, &st))
        return -1;
    *owner = (uint32_t)st.st_uid;
    return 0;
}

bool spool_drain_honoured(const struct stat *st, uint32_t admin)
{
    return S_ISREG(st->st_mode) &&
           (st->st_uid == 0 || st->st_uid == (uid_t)admin);
}
