/* SPDX-License-Identifier: MIT */
/* A job's output directory: made by rank 0 in its own out/, handed to the
 * job's owner; its files made as the owner, read back bounded and through
 * the descriptors rank 0 holds. */
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "jobreport.h"
#include "outpaths.h"
#include "util.h"

#define RECORDS OUT_RECORDS

struct outdir {
    char *path;
    int fd; /* out/ID */
    struct asuser_id who;
    uint32_t *groups; /* who's */
    bool as_owner;
    mode_t file_mode;
    unsigned empty_gen; /* .empty.N that empty outputs link to */
    int depth;          /* outdir_enter nesting */
    mode_t saved_umask;
    FILE *records;         /* records.jsonl, for appending and reading */
    uint64_t records_size; /* bytes of it rank 0 knows to be whole lines */
};

int outdir_enter(struct outdir *od)
{
    if (od->depth++ > 0 || !od->as_owner)
        return 0;
    struct mps_error err;
    od->saved_umask = umask(0);
    if (asuser_enter(&od->who, &err) < 0) {
        int saved = errno;
        umask(od->saved_umask);
        od->depth--;
        errno = saved ? saved : EPERM;
        return -1;
    }
    return 0;
}

void outdir_leave(struct outdir *od)
{
    if (--od->depth > 0 || !od->as_owner)
        return;
    asuser_leave();
    umask(od->saved_umask);
}

/* openat with what every file here is opened with: never through a link,
 * never blocking on a FIFO. */
static int open_here(struct outdir *od, const char *name, int flags)
{
    return openat(od->fd, name,
                  flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                  od->file_mode);
}

/* Remove whatever is at name (a directory too), as the caller acts. */
static int clear_name(struct outdir *od, const char *name)
{
    return asuser_remove_tree(od->fd, name) < 0 && errno != ENOENT ? -1 : 0;
}

/* Create name afresh with flags added (entered). */
static int create_entered(struct outdir *od, const char *name, int flags)
{
    int fd = -1;
    /* Another process of the owner's may make the name again between. */
    for (int tries = 0; tries < 3 && fd < 0; tries++) {
        if (clear_name(od, name) < 0)
            break;
        fd = open_here(od, name, O_RDWR | O_CREAT | O_EXCL | flags);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    return fd;
}

int outdir_create(struct outdir *od, const char *name)
{
    if (outdir_enter(od) < 0)
        return -1;
    int fd = create_entered(od, name, 0);
    int saved = errno;
    outdir_leave(od);
    errno = saved;
    return fd;
}

/* Link name to the shared empty file (entered); 0, or -1 when a file of
 * its own must do. */
static int link_empty(struct outdir *od, const char *name)
{
    for (int tries = 0; tries < 3; tries++) {
        char empty[32];
        snprintf(empty, sizeof empty, ".empty.%u", od->empty_gen);
        if (linkat(od->fd, empty, od->fd, name, 0) == 0)
            return 0;
        if (errno == ENOENT) {
            int fd = open_here(od, empty, O_WRONLY | O_CREAT | O_EXCL);
            if (fd >= 0)
                close(fd);
            else if (errno != EEXIST)
                return -1;
        } else if (errno == EMLINK) {
            od->empty_gen++;
        } else {
            return -1;
        }
    }
    return -1;
}

int outdir_empty(struct outdir *od, const char *name)
{
    if (outdir_enter(od) < 0)
        return -1;
    int rc = clear_name(od, name);
    if (rc == 0 && link_empty(od, name) < 0) {
        int fd = open_here(od, name, O_WRONLY | O_CREAT | O_EXCL);
        if (fd < 0)
            rc = -1;
        else
            close(fd);
    }
    int saved = errno;
    outdir_leave(od);
    errno = saved;
    return rc;
}

/* The temporary name name is written under before it is renamed. */
static void tmp_name(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, ".%s.tmp", name);
}

/* Rename tmp, written (ok) and closed, to name (entered); else remove
 * it. 0 or -1 with err. */
static int commit(struct outdir *od, bool ok, const char *tmp, const char *name,
                  struct mps_error *err)
{
    if (!ok || renameat(od->fd, tmp, od->fd, name) < 0) {
        int saved = errno;
        unlinkat(od->fd, tmp, 0);
        errno = saved;
        return errprintf(err, "cannot write '%s/%s': %s", od->path, name,
                         strerror(saved));
    }
    return 0;
}

/* Write out/ID/NAME whole or not at all: fill(fd, arg) writes a
 * temporary file in the directory and closes fd (true when all of it was
 * written, else errno set), which then replaces NAME (commit). */
static int write_whole(struct outdir *od, const char *name,
                       bool (*fill)(int fd, void *arg), void *arg,
                       struct mps_error *err)
{
    if (outdir_enter(od) < 0)
        return errprintf(err, "cannot write '%s/%s': %s", od->path, name,
                         strerror(errno));
    char tmp[300];
    tmp_name(name, tmp, sizeof tmp);
    int fd = create_entered(od, tmp, 0);
    int rc;
    if (fd < 0)
        rc = errprintf(err, "cannot create '%s/%s': %s", od->path, tmp,
                       strerror(errno));
    else
        rc = commit(od, fill(fd, arg), tmp, name, err);
    int saved = errno;
    outdir_leave(od);
    errno = saved;
    return rc;
}

struct text {
    const char *text;
    size_t len;
};

static bool fill_text(int fd, void *arg)
{
    const struct text *t = arg;
    bool ok = util_write_all(fd, t->text, t->len) == 0;
    int saved = errno;
    if (close(fd) < 0)
        return false;
    errno = saved;
    return ok;
}

int outdir_write(struct outdir *od, const char *name, const char *text,
                 size_t len, struct mps_error *err)
{
    struct text t = {text, len};
    return write_whole(od, name, fill_text, &t, err);
}

int outdir_append_record(struct outdir *od, const char *line)
{
    size_t len = strlen(line);
    if (fwrite(line, 1, len, od->records) != len ||
        fputc('\n', od->records) == EOF || fflush(od->records) != 0) {
        int saved = errno;
        clearerr(od->records);
        errno = saved;
        return -1;
    }
    od->records_size += len + 1;
    return 0;
}

/* Read records.jsonl from its start, at most limit bytes, by record.h's
 * one reader of it (see outdir_scan_records). Returns the offset after the
 * last whole line. */
static uint64_t read_lines(struct outdir *od, uint64_t limit,
                           void (*fn)(void *arg, const char *line), void *arg,
                           size_t *nlines)
{
    FILE *f = od->records;
    *nlines = 0;
    if (fflush(f) != 0 || fseeko(f, 0, SEEK_SET) < 0)
        return 0;
    uint64_t good = record_each_line(f, limit, fn, arg, nlines);
    clearerr(f);
    fseeko(f, 0, SEEK_END);
    return good;
}

size_t outdir_scan_records(struct outdir *od,
                           void (*fn)(void *arg, const char *line), void *arg)
{
    struct stat st;
    int fd = fileno(od->records);
    size_t n = 0;
    uint64_t good = 0;
    /* A file of holes (a sparse 1 TB file made by a task) would take for
     * ever to read: rank 0 never writes one. */
    if (fstat(fd, &st) == 0 &&
        (uint64_t)st.st_blocks * 512 + (1 << 20) >= (uint64_t)st.st_size)
        good = read_lines(od, (uint64_t)st.st_size, fn, arg, &n);
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > good)
        ftruncate(fd, (off_t)good);
    od->records_size = good;
    return n;
}

/* The report's records: what rank 0 wrote of records.jsonl. */
static void each_record(void *arg, void (*emit)(void *, const char *),
                        void *emit_arg)
{
    struct outdir *od = arg;
    size_t n;
    read_lines(od, od->records_size, emit, emit_arg, &n);
}

struct report_fill {
    struct outdir *od;
    const struct job_report *rep;
};

static bool fill_report(int fd, void *arg)
{
    const struct report_fill *rf = arg;
    FILE *out = fdopen(fd, "w");
    if (!out) {
        int saved = errno;
        close(fd);
        errno = saved;
        return false;
    }
    bool printed = jobreport_print(out, rf->rep, each_record, rf->od) == 0;
    bool ok = printed && !ferror(out) && fflush(out) == 0;
    if (!printed)
        errno = ENOMEM;
    if (fclose(out) != 0)
        ok = false;
    return ok;
}

int outdir_write_report(struct outdir *od, const struct job_report *rep,
                        struct mps_error *err)
{
    struct report_fill rf = {od, rep};
    return write_whole(od, OUT_REPORT, fill_report, &rf, err);
}

/* Open records.jsonl: as it was (adopt), else new. Entered. */
static int open_records(struct outdir *od, bool adopt)
{
    int fd = adopt ? open_here(od, RECORDS, O_RDWR | O_APPEND) : -1;
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        fd = create_entered(od, RECORDS, O_APPEND);
    return fd;
}

/* Make (or find again) out/ID and give it to its owner: the directory's
 * descriptor, or -1 with err. */
static int make_dir(struct outdir *od, int outfd, const char *id,
                    struct mps_error *err)
{
    if (mkdirat(outfd, id, 0700) < 0 && errno != EEXIST)
        return errprintf(err, "cannot create '%s': %s", od->path,
                         strerror(errno));
    int fd = openat(outfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        errprintf(err, "cannot open '%s': %s", od->path, strerror(errno));
    } else if (st.st_uid != geteuid() &&
               !(od->as_owner && st.st_uid == (uid_t)od->who.uid)) {
        errno = EEXIST;
        errprintf(err, "'%s' belongs to uid %u, not to the job's owner",
                  od->path, (unsigned)st.st_uid);
    } else {
        mode_t mode =
            od->as_owner ? (0777 & ~(mode_t)od->who.umask) | 0700 : 0755;
        if ((!od->as_owner ||
             fchown(fd, (uid_t)od->who.uid, (gid_t)od->who.gid) == 0) &&
            fchmod(fd, mode) == 0)
            return fd;
        errprintf(err, "cannot give '%s' to its owner: %s", od->path,
                  strerror(errno));
    }
    int saved = errno;
    if (fd >= 0)
        close(fd);
    errno = saved;
    return -1;
}

/* Keep a copy of who; decide whether files are made as the owner. */
static int take_who(struct outdir *od, const struct asuser_id *who)
{
    od->who = *who;
    if (who->ngroups) {
        od->groups = malloc(who->ngroups * sizeof *od->groups);
        if (!od->groups)
            return -1;
        memcpy(od->groups, who->groups, who->ngroups * sizeof *od->groups);
    }
    od->who.groups = od->groups;
    od->who.umask &= 0777;
    od->as_owner = who->switch_ids;
    struct mps_error err;
    if (od->as_owner && asuser_enter(&od->who, &err) < 0)
        od->as_owner = false; /* see outdir_open */
    else if (od->as_owner)
        asuser_leave();
    od->file_mode =
        od->as_owner ? (0666 & ~(mode_t)od->who.umask) | 0600 : 0644;
    return 0;
}

struct outdir *outdir_open(int outfd, const char *out_path, const char *id,
                           const struct asuser_id *who, bool adopt,
                           struct mps_error *err)
{
    struct outdir *od = calloc(1, sizeof *od);
    if (!od || asprintf(&od->path, "%s/%s", out_path, id) < 0 ||
        take_who(od, who) < 0) {
        if (od)
            od->fd = -1;
        outdir_close(od);
        errno = ENOMEM;
        errprintf(err, "out of memory");
        return NULL;
    }
    od->fd = make_dir(od, outfd, id, err);
    if (od->fd < 0)
        goto error;
    int fd = -1;
    if (outdir_enter(od) == 0) {
        fd = open_records(od, adopt);
        int saved = errno;
        outdir_leave(od);
        errno = saved;
    }
    if (fd < 0 || !(od->records = fdopen(fd, "a+"))) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        errno = saved;
        errprintf(err, "cannot create '%s/%s': %s", od->path, RECORDS,
                  strerror(errno));
        goto error;
    }
    return od;
error:;
    int saved = errno;
    outdir_close(od);
    errno = saved;
    return NULL;
}

void outdir_close(struct outdir *od)
{
    if (!od)
        return;
    if (od->records)
        fclose(od->records);
    if (od->fd >= 0)
        close(od->fd);
    free(od->groups);
    free(od->path);
    free(od);
}

int outdir_discard(struct outdir *od, int outfd, const char *id)
{
    if (!od)
        return 0;
    if (od->records) {
        fclose(od->records);
        od->records = NULL;
    }
    int rc = outdir_enter(od);
    if (rc == 0) {
        rc = asuser_remove_contents(od->fd);
        int saved = errno;
        outdir_leave(od);
        errno = saved;
    }
    if (rc == 0)
        rc = unlinkat(outfd, id, AT_REMOVEDIR);
    int saved = errno;
    outdir_close(od);
    errno = saved;
    return rc;
}

const char *outdir_path(const struct outdir *od)
{
    return od->path;
}

bool outdir_as_owner(const struct outdir *od)
{
    return od->as_owner;
}
