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
    int dirfd[SPOOL_NDIRS]; /* held descriptors (spool_dirfd), or -1 */
    uint32_t admin;         /* the owner of the spool directory */
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
    for (int d = 0; d < SPOOL_NDIRS; d++)
        sp->dirfd[d] = -1;
    sp->admin = (uint32_t)top.st_uid;
    return sp;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    for (int d = 0; d < SPOOL_NDIRS; d++)
        if (sp->dirfd[d] >= 0)
            close(sp->dirfd[d]);
    free(sp->path);
    free(sp);
}

int spool_dirfd(struct spool *sp, enum spool_dir dir)
{
    if (dir < 0 || dir >= SPOOL_NDIRS) {
        errno = EINVAL;
        return -1;
    }
    if (sp->dirfd[dir] >= 0)
        return sp->dirfd[dir];
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", sp->path, dir_names[dir]);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) /* a drop box: no listing, names only */
        fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        sp->dirfd[dir] = fd;
    return fd;
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

/* Whether name exists beneath dirfd (not following a link). */
static bool exists_at(int dirfd, const char *name)
{
    struct stat st;
    return dirfd >= 0 && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int spool_id_used(struct spool *sp, const char *id)
{
    static const enum spool_dir states[] = {SPOOL_DONE, SPOOL_FAILED,
                                            SPOOL_REJECTED};
    char name[128];
    snprintf(name, sizeof name, "%s.json", id);
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        if (exists_at(spool_dirfd(sp, states[i]), name))
            return (int)states[i];
    return exists_at(spool_dirfd(sp, SPOOL_OUT), id) ? SPOOL_OUT : -1;
}

/* Make ids/ID with O_EXCL: 0 made, 1 it exists, -1 error (errno). */
static int reserve_new(struct spool *sp, const char *id)
{
    int dirfd = spool_dirfd(sp, SPOOL_IDS);
    int fd = dirfd < 0 ? -1
                       : openat(dirfd, id,
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                                    O_NONBLOCK | O_CLOEXEC,
                                0644);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno == EEXIST ? 1 : -1;
}

int spool_reserve(struct spool *sp, const char *id, uid_t owner, uid_t *holder,
                  struct mps_error *err)
{
    for (int tries = 0; tries < 3; tries++) {
        struct stat st;
        int dirfd = spool_dirfd(sp, SPOOL_IDS);
        if (dirfd >= 0 && fstatat(dirfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            *holder = st.st_uid;
            if (st.st_uid == owner)
                return 0;
            errprintf(err, "job id '%s' is reserved by another user (uid %u)",
                      id, (unsigned)st.st_uid);
            return 1;
        }
        int rc = dirfd >= 0 && errno == ENOENT ? reserve_new(sp, id) : -1;
        if (rc == 0) {
            *holder = geteuid();
            return 0;
        }
        if (rc < 0)
            break;
    }
    int saved = errno;
    errprintf(err, "cannot reserve job id '%s' in '%s/ids': %s", id, sp->path,
              strerror(saved));
    errno = saved;
    return -1;
}

/* The number SPOOL/seq suggests for the next id (0 for none): read without
 * a lock, so nobody can make us wait. */
static unsigned long long seq_hint(const struct spool *sp)
{
    char path[PATH_MAX], text[32] = "";
    snprintf(path, sizeof path, "%s/seq", sp->path);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return 0;
    ssize_t got = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
                      ? pread(fd, text, sizeof text - 1, 0)
                      : -1;
    close(fd);
    unsigned long long seq = got > 0 ? strtoull(text, NULL, 10) : 0;
    /* Absurd hints (anyone may write the file) are not followed. */
    return seq < 1000000000000ULL ? seq : 0;
}

/* Leave n in SPOOL/seq for the next submit (a hint: failures are
 * ignored). */
static void seq_note(const struct spool *sp, unsigned long long n)
{
    char path[PATH_MAX], text[32];
    snprintf(path, sizeof path, "%s/seq", sp->path);
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    int len = snprintf(text, sizeof text, "%llu\n", n);
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        pwrite(fd, text, (size_t)len, 0) == len)
        (void)!ftruncate(fd, len);
    close(fd);
}

/* Try to make id this user's: 0 reserved (or, with no ids/ to reserve in,
 * free), 1 taken, -1 on error. */
static int try_jobid(struct spool *sp, const char *id, struct mps_error *err)
{
    int rc = reserve_new(sp, id);
    if (rc > 0)
        return 1;
    if (rc < 0 && errno != ENOENT && errno != ENOSPC && errno != EDQUOT)
        return errprintf(err, "cannot reserve job id '%s' in '%s/ids': %s", id,
                         sp->path, strerror(errno));
    /* else no ids/ (an older spool), or it is full: unreserved */
    if (spool_locate(sp, id) < 0 && spool_id_used(sp, id) < 0)
        return 0;
    /* A job of that id exists (made by hand, or before ids/ existed):
     * the id is its owner's, not ours. */
    if (rc == 0)
        unlinkat(spool_dirfd(sp, SPOOL_IDS), id, 0);
    return 1;
}

int spool_new_jobid(struct spool *sp, char *buf, size_t len,
                    struct mps_error *err)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[16];
    strftime(date, sizeof date, "%Y%m%d", &tm);
    /* From the hint on, try n, n+1, n+3, n+7, ...: ids squatted or used
     * however far ahead cost a few tries only. */
    unsigned long long n = seq_hint(sp) + 1, step = 1;
    for (int tries = 0; tries < 64; tries++) {
        snprintf(buf, len, "%s-%04llu", date, n);
        int rc = try_jobid(sp, buf, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            seq_note(sp, n);
            return 0;
        }
        n += step;
        step *= 2;
    }
    return errprintf(err, "cannot find a free job id in '%s'", sp->path);
}

mode_t spool_private_mode(const struct spool *sp)
{
    struct stat st;
    if (stat(sp->path, &st) == 0 && st.st_uid != 0 && st.st_uid != geteuid())
        return 0644;
    return 0600;
}

/* On a full file system, the job file matters more than the id's
 * reservation, which took the last inode or block: drop our own (empty)
 * ids/ID so the job file can be made; the coordinator reserves the id
 * when it claims the job. Whether it was dropped. */
static bool release_reservation(struct spool *sp, const char *jobid)
{
    int dirfd = spool_dirfd(sp, SPOOL_IDS);
    struct stat st;
    if (dirfd < 0 || fstatat(dirfd, jobid, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_size != 0)
        return false;
    return unlinkat(dirfd, jobid, 0) == 0;
}

int spool_submit(struct spool *sp, const char *jobid, const char *text,
                 size_t len, mode_t mode, struct mps_error *err)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    /* A fresh name in tmp/: names there can be taken by anyone. */
    snprintf(tmp, sizeof tmp, "%s/tmp/.%s.json.XXXXXX", sp->path, jobid);
    snprintf(dst, sizeof dst, "%s/new/%s.json", sp->path, jobid);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0 && (errno == ENOSPC || errno == EDQUOT) &&
        release_reservation(sp, jobid)) {
        snprintf(tmp, sizeof tmp, "%s/tmp/.%s.json.XXXXXX", sp->path, jobid);
        fd = mkostemp(tmp, O_CLOEXEC);
    }
    if (fd < 0)
        return errprintf(err, "cannot create a file in '%s/tmp': %s", sp->path,
                         strerror(errno));
    if (fchmod(fd, mode) < 0 || util_write_all(fd, text, len) < 0 ||
        fsync(fd) < 0) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        return errprintf(err, "cannot write '%s': %s", tmp, strerror(saved));
    }
    close(fd);
    /* rename, not link: the coordinator's inotify sees IN_MOVED_TO only
     * once the file is complete; and never over a file someone put under
     * this name meanwhile. */
    if (util_rename_noreplace(AT_FDCWD, tmp, AT_FDCWD, dst) < 0) {
        int saved = errno;
        unlink(tmp);
        if (saved == EEXIST) {
            errprintf(err, "job '%s' already exists", jobid);
            return 1;
        }
        return errprintf(err, "cannot submit '%s': %s", dst, strerror(saved));
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/new", sp->path);
    util_fsync_dir(dir);
    return 0;
}

int spool_claim(struct spool *sp, const char *name, struct mps_error *err)
{
    int from = spool_dirfd(sp, SPOOL_NEW), to = spool_dirfd(sp, SPOOL_CUR);
    if (from >= 0 && to >= 0 &&
        util_rename_noreplace(from, name, to, name) == 0)
        return 0;
    if (errno == ENOENT && from >= 0 && to >= 0)
        return 1;
    if (errno == EEXIST)
        return 2;
    int saved = errno;
    errprintf(err, "cannot claim '%s/new/%s': %s", sp->path, name,
              strerror(saved));
    errno = saved;
    return -1;
}

int spool_move(struct spool *sp, const char *jobid, enum spool_dir from,
               enum spool_dir to, struct mps_error *err)
{
    char name[128];
    snprintf(name, sizeof name, "%s.json", jobid);
    int from_fd = spool_dirfd(sp, from), to_fd = spool_dirfd(sp, to);
    if (from_fd < 0 || to_fd < 0 ||
        util_rename_noreplace(from_fd, name, to_fd, name) < 0)
        return errprintf(err, "cannot move '%s/%s/%s' to %s/: %s", sp->path,
                         dir_names[from], name, dir_names[to], strerror(errno));
    return 0;
}

/* reason as one line: newlines would break it, and other control
 * characters (a key name may hold a terminal escape) are shown as '?'. */
static size_t one_line(const char *reason, char *line, size_t size)
{
    size_t n = 0;
    for (const char *p = reason; *p && n < size - 2; p++)
        line[n++] = (*p == '\n' || *p == '\r')                 ? ' '
                    : ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?'
                                                               : *p;
    line[n++] = '\n';
    return n;
}

int spool_reject(struct spool *sp, enum spool_dir from, const char *name,
                 const char *reason, bool fresh, struct mps_error *err)
{
    size_t len = strlen(name);
    bool json = len > 5 && strcmp(name + len - 5, ".json") == 0;
    int stem = json ? (int)(len - 5) : (int)len;
    int from_fd = spool_dirfd(sp, from);
    int to_fd = spool_dirfd(sp, SPOOL_REJECTED);
    char target[PATH_MAX];
    snprintf(target, sizeof target, "%s", name);
    int rc = -1;
    for (int tries = 0; from_fd >= 0 && to_fd >= 0 && tries < 16; tries++) {
        if (fresh || tries > 0)
            snprintf(target, sizeof target, "%.*s.refused-%lld%s", stem, name,
                     (long long)util_now_us() + tries, json ? ".json" : "");
        if ((rc = util_rename_noreplace(from_fd, name, to_fd, target)) == 0 ||
            errno != EEXIST)
            break;
    }
    if (rc < 0)
        return errprintf(err, "cannot move '%s/%s/%s' to rejected/: %s",
                         sp->path, dir_names[from], name, strerror(errno));
    size_t tlen = strlen(target);
    char errpath[PATH_MAX], line[1024];
    snprintf(errpath, sizeof errpath, "%s/rejected/%.*s.error", sp->path,
             (int)(json ? tlen - 5 : tlen), target);
    size_t n = one_line(reason, line, sizeof line);
    return util_write_file(errpath, line, n, 0, err);
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
