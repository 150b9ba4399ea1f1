/* SPDX-License-Identifier: MIT */
/* Checking and extracting job input archives with libarchive, refusing
 * path tricks, special files and compression bombs. */
#include "archive_safe.h"
#include "asuser.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* The regular files seen so far (normalized paths), for hardlinks: an
 * open-addressing hash set. */
struct name_set {
    char **slots;
    size_t cap, n;
};

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static bool name_set_has(const struct name_set *set, const char *name)
{
    if (!set->cap)
        return false;
    for (size_t i = name_hash(name) & (set->cap - 1); set->slots[i];
         i = (i + 1) & (set->cap - 1))
        if (strcmp(set->slots[i], name) == 0)
            return true;
    return false;
}

/* Add name (the set takes it over; freed on failure). */
static int name_set_add(struct name_set *set, char *name)
{
    if (name_set_has(set, name)) {
        free(name);
        return 0;
    }
    if ((set->n + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        char **slots = calloc(cap, sizeof *slots);
        if (!slots) {
            free(name);
            return -1;
        }
        for (size_t j = 0; j < set->cap; j++) {
            if (!set->slots[j])
                continue;
            size_t i = name_hash(set->slots[j]) & (cap - 1);
            while (slots[i])
                i = (i + 1) & (cap - 1);
            slots[i] = set->slots[j];
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t i = name_hash(name) & (set->cap - 1);
    while (set->slots[i])
        i = (i + 1) & (set->cap - 1);
    set->slots[i] = name;
    set->n++;
    return 0;
}

static void name_set_free(struct name_set *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free(set->slots[i]);
    free(set->slots);
}

/* A name fit for a one-line message: control characters become '?' and
 * long names are cut. */
static const char *shown(const char *name, char *buf, size_t len)
{
    size_t i = 0;
    for (; name && name[i] && i + 4 < len; i++)
        buf[i] =
            (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    if (name && name[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* Whether path has a ".." component. */
static bool has_dotdot(const char *path)
{
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        while (*p == '/')
            p++;
    }
    return false;
}

/* path without "." components and repeated or trailing slashes: the key
 * hardlinks are looked up by. path has no ".." (checked before). */
static char *normalize(const char *path)
{
    char *out = malloc(strlen(path) + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n && !(n == 1 && p[0] == '.')) {
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        while (*p == '/')
            p++;
    }
    out[o] = '\0';
    return out;
}

/* Whether a symlink at link_path (relative, normalized) with the relative
 * target stays inside the extraction directory, resolved by its names. A
 * '..' right after a name that is itself a symlink (in links) counts as
 * leaving: where it goes depends on that link, not on the name. */
static bool target_inside(const char *link_path, const char *target,
                          const struct name_set *links)
{
    char *path = malloc(strlen(link_path) + strlen(target) + 2);
    if (!path)
        return false;
    const char *slash = strrchr(link_path, '/');
    size_t len = slash ? (size_t)(slash - link_path) : 0;
    memcpy(path, link_path, len); /* the link's directory */
    path[len] = '\0';
    bool inside = true;
    for (const char *p = target; *p && inside;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (len == 0 || name_set_has(links, path)) {
                inside = false;
            } else {
                char *up = strrchr(path, '/');
                len = up ? (size_t)(up - path) : 0;
                path[len] = '\0';
            }
        } else if (n && !(n == 1 && p[0] == '.')) {
            if (len)
                path[len++] = '/';
            memcpy(path + len, p, n);
            len += n;
            path[len] = '\0';
        }
        p += n;
        while (*p == '/')
            p++;
    }
    free(path);
    return inside;
}

/* The length of the longest leading part of path (normalized) that is a
 * symlink of links, or 0. */
static size_t symlink_prefix(const struct name_set *links, char *path)
{
    size_t found = 0;
    for (char *p = path; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (name_set_has(links, path))
            found = (size_t)(p - path);
        *p = '/';
        if (found)
            break;
    }
    return found;
}

static const char *special_kind(mode_t type)
{
    switch (type) {
    case AE_IFCHR:
        return "a character device";
    case AE_IFBLK:
        return "a block device";
    case AE_IFIFO:
        return "a FIFO";
    case AE_IFSOCK:
        return "a socket";
    default:
        return "of an unsupported type";
    }
}

/* Bytes read from the archive's descriptor at a time. */
#define WALK_CHUNK (64 * 1024)

struct walk {
    const char *path; /* the archive, as named in messages */
    int fd;           /* the archive, read by offset (pread) */
    int64_t pos, size;
    char *chunk;
    struct archive *in;
    struct archive *out; /* NULL: only check */
    uint64_t max_entries, max_bytes;
    double max_ratio;
    uint64_t entries, bytes;
    struct name_set files; /* regular files so far */
    struct name_set links; /* symlinks so far */
    /* Every symlink and its target, checked again once all are known. */
    char **link_names, **link_targets;
    size_t nlinks, cap_links;
    struct mps_error *err;
};

/* Keep the symlink name (taken over) and a copy of its target. */
static int remember_link(struct walk *w, char *norm, const char *target)
{
    if (w->nlinks == w->cap_links) {
        size_t cap = w->cap_links ? 2 * w->cap_links : 64;
        char **names = realloc(w->link_names, cap * sizeof *names);
        if (names)
            w->link_names = names;
        char **targets = realloc(w->link_targets, cap * sizeof *targets);
        if (targets)
            w->link_targets = targets;
        if (!names || !targets) {
            free(norm);
            return -1;
        }
        w->cap_links = cap;
    }
    char *name_copy = strdup(norm);
    char *target_copy = strdup(target);
    if (!name_copy || !target_copy) {
        free(name_copy);
        free(target_copy);
        free(norm);
        return -1;
    }
    w->link_names[w->nlinks] = name_copy;
    w->link_targets[w->nlinks++] = target_copy;
    return name_set_add(&w->links, norm);
}

/* Once every symlink is known: none leaves through one defined after it. */
static int recheck_links(struct walk *w)
{
    char name_buf[256], target_buf[256];
    for (size_t i = 0; i < w->nlinks; i++)
        if (!target_inside(w->link_names[i], w->link_targets[i], &w->links))
            return errprintf(
                w->err,
                "archive '%s': symlink '%s' points outside the extraction "
                "directory ('%s')",
                w->path, shown(w->link_names[i], name_buf, sizeof name_buf),
                shown(w->link_targets[i], target_buf, sizeof target_buf));
    return 0;
}

/* Refuse entry e unless it is a safe directory, file, symlink or hardlink
 * to an earlier file. */
static int check_entry(struct walk *w, struct archive_entry *e)
{
    char name_buf[256], target_buf[256];
    const char *name = archive_entry_pathname(e);
    if (!name || !*name)
        return errprintf(w->err, "archive '%s' has an entry without a name",
                         w->path);
    const char *nm = shown(name, name_buf, sizeof name_buf);
    if (name[0] == '/')
        return errprintf(w->err,
                         "archive '%s': entry '%s' has an absolute path",
                         w->path, nm);
    if (has_dotdot(name))
        return errprintf(w->err,
                         "archive '%s': entry '%s' has a '..' component",
                         w->path, nm);
    char *norm = normalize(name);
    if (!norm)
        return errprintf(w->err, "out of memory");
    size_t via = symlink_prefix(&w->links, norm);
    if (via) {
        errprintf(w->err, "archive '%s': entry '%s' is inside symlink '%.*s'",
                  w->path, nm, (int)(via < 200 ? via : 200), norm);
        free(norm);
        return -1;
    }
    const char *hardlink = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    int rc = 0;
    if (hardlink) {
        const char *tg = shown(hardlink, target_buf, sizeof target_buf);
        char *target = NULL;
        if (hardlink[0] == '/' || has_dotdot(hardlink))
            rc = errprintf(w->err,
                           "archive '%s': hardlink '%s' points outside the "
                           "extraction directory ('%s')",
                           w->path, nm, tg);
        else if (!(target = normalize(hardlink)))
            rc = errprintf(w->err, "out of memory");
        else if (!name_set_has(&w->files, target))
            rc = errprintf(w->err,
                           "archive '%s': hardlink '%s' points to '%s', which "
                           "is not an earlier file of the archive",
                           w->path, nm, tg);
        free(target);
    } else if (type == AE_IFLNK) {
        const char *link = archive_entry_symlink(e);
        const char *tg = shown(link, target_buf, sizeof target_buf);
        if (!link || !*link)
            rc = errprintf(w->err, "archive '%s': symlink '%s' has no target",
                           w->path, nm);
        else if (link[0] == '/')
            rc = errprintf(w->err,
                           "archive '%s': symlink '%s' has an absolute target "
                           "('%s')",
                           w->path, nm, tg);
        else if (!target_inside(norm, link, &w->links))
            rc = errprintf(w->err,
                           "archive '%s': symlink '%s' points outside the "
                           "extraction directory ('%s')",
                           w->path, nm, tg);
        else if (remember_link(w, norm, link) < 0)
            return errprintf(w->err, "out of memory");
        else
            return 0; /* remembered norm */
    } else if (type == AE_IFREG) {
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
            (uint64_t)archive_entry_size(e) > w->max_bytes - w->bytes) {
            char limit[32];
            rc = errprintf(w->err,
                           "archive '%s' extracts to more than %s: entry '%s' "
                           "alone is %lld bytes",
                           w->path, util_format_size(w->max_bytes, limit), nm,
                           (long long)archive_entry_size(e));
        } else if (name_set_add(&w->files, norm) < 0) {
            return errprintf(w->err, "out of memory");
        } else {
            return 0; /* the set took norm */
        }
    } else if (type != AE_IFDIR) {
        rc = errprintf(w->err, "archive '%s': entry '%s' is %s", w->path, nm,
                       special_kind(type));
    }
    free(norm);
    return rc;
}

/* Count n more bytes of data; refuse past the size or ratio limits. */
static int count_bytes(struct walk *w, size_t n)
{
    char limit[32];
    w->bytes += n;
    if (w->bytes > w->max_bytes)
        return errprintf(w->err, "archive '%s' extracts to more than %s",
                         w->path, util_format_size(w->max_bytes, limit));
    if (w->bytes > ARCHIVE_RATIO_AFTER) {
        int64_t read = archive_filter_bytes(w->in, -1);
        if (read > 0 && (double)w->bytes / (double)read > w->max_ratio)
            return errprintf(w->err,
                             "archive '%s' expands more than %g times "
                             "(%llu bytes from %lld): a compression bomb?",
                             w->path, w->max_ratio,
                             (unsigned long long)w->bytes, (long long)read);
    }
    return 0;
}

static int read_failed(struct walk *w)
{
    const char *why = archive_error_string(w->in);
    return errprintf(w->err, "cannot read archive '%s': %s", w->path,
                     why ? why : "unknown error");
}

static int write_failed(struct walk *w, struct archive_entry *e)
{
    char name_buf[256];
    const char *why = archive_error_string(w->out);
    return errprintf(
        w->err, "cannot extract '%s' from archive '%s': %s",
        shown(archive_entry_pathname(e), name_buf, sizeof name_buf), w->path,
        why ? why : "unknown error");
}

/* Copy (or, without w->out, just read) the data of the current entry. */
static int entry_data(struct walk *w, struct archive_entry *e)
{
    for (;;) {
        const void *block;
        size_t size;
        la_int64_t offset;
        int rc = archive_read_data_block(w->in, &block, &size, &offset);
        if (rc == ARCHIVE_EOF)
            return 0;
        if (rc < ARCHIVE_WARN)
            return read_failed(w);
        if (count_bytes(w, size) < 0)
            return -1;
        if (w->out && archive_write_data_block(w->out, block, size, offset) <
                          ARCHIVE_WARN)
            return write_failed(w, e);
    }
}

/* Masked permissions: nothing above 0755, and the owner may always read
 * (and enter) what was extracted, so it can be removed. */
static void mask_perm(struct archive_entry *e)
{
    mode_t perm = archive_entry_perm(e) & 0755;
    perm |= archive_entry_filetype(e) == AE_IFDIR ? 0700 : 0600;
    archive_entry_set_perm(e, perm);
}

/* libarchive's callbacks: the archive is read from w->fd by offset, so
 * that a descriptor shared with others (dup, fork) keeps its position and
 * nothing is opened again by name. */
static la_ssize_t walk_read(struct archive *a, void *arg, const void **buf)
{
    struct walk *w = arg;
    for (;;) {
        ssize_t got = pread(w->fd, w->chunk, WALK_CHUNK, (off_t)w->pos);
        if (got >= 0) {
            w->pos += got;
            *buf = w->chunk;
            return got;
        }
        if (errno != EINTR) {
            archive_set_error(a, errno, "%s", strerror(errno));
            return -1;
        }
    }
}

static la_int64_t walk_seek(struct archive *a, void *arg, la_int64_t offset,
                            int whence)
{
    struct walk *w = arg;
    int64_t base = whence == SEEK_SET   ? 0
                   : whence == SEEK_CUR ? w->pos
                                        : w->size;
    if (base + offset < 0) {
        archive_set_error(a, EINVAL, "seek before the start");
        return ARCHIVE_FATAL;
    }
    w->pos = base + offset;
    return w->pos;
}

static la_int64_t walk_skip(struct archive *a, void *arg, la_int64_t request)
{
    struct walk *w = arg;
    (void)a;
    if (request > w->size - w->pos)
        request = w->size > w->pos ? w->size - w->pos : 0;
    w->pos += request;
    return request;
}

static int walk_archive(struct walk *w)
{
    struct stat st;
    if (fstat(w->fd, &st) < 0)
        return errprintf(w->err, "cannot read archive '%s': %s", w->path,
                         strerror(errno));
    if (!S_ISREG(st.st_mode))
        return errprintf(w->err, "archive '%s' is not a regular file", w->path);
    w->size = st.st_size;
    w->in = archive_read_new();
    w->chunk = malloc(WALK_CHUNK);
    if (!w->in || !w->chunk)
        return errprintf(w->err, "out of memory");
    archive_read_support_filter_all(w->in);
    archive_read_support_format_tar(w->in);
    archive_read_support_format_zip(w->in);
    archive_read_set_callback_data(w->in, w);
    archive_read_set_read_callback(w->in, walk_read);
    archive_read_set_seek_callback(w->in, walk_seek);
    archive_read_set_skip_callback(w->in, walk_skip);
    if (archive_read_open1(w->in) != ARCHIVE_OK)
        return read_failed(w);
    for (;;) {
        struct archive_entry *e;
        int rc = archive_read_next_header(w->in, &e);
        if (rc == ARCHIVE_EOF)
            return recheck_links(w);
        if (rc < ARCHIVE_WARN)
            return read_failed(w);
        if (++w->entries > w->max_entries)
            return errprintf(w->err, "archive '%s' has more than %llu entries",
                             w->path, (unsigned long long)w->max_entries);
        if (check_entry(w, e) < 0)
            return -1;
        if (w->out) {
            mask_perm(e);
            if (archive_write_header(w->out, e) < ARCHIVE_WARN)
                return write_failed(w, e);
        }
        if (entry_data(w, e) < 0)
            return -1;
        if (w->out && archive_write_finish_entry(w->out) < ARCHIVE_WARN)
            return write_failed(w, e);
    }
}

static void walk_init(struct walk *w, int fd, const char *path,
                      const struct archive_limits *limits,
                      struct mps_error *err)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->path = path;
    w->err = err;
    w->max_entries = limits && limits->max_entries
                         ? limits->max_entries
                         : ARCHIVE_DEFAULT_MAX_ENTRIES;
    w->max_bytes = limits && limits->max_bytes ? limits->max_bytes
                                               : ARCHIVE_DEFAULT_MAX_BYTES;
    w->max_ratio = limits && limits->max_ratio > 0 ? limits->max_ratio
                                                   : ARCHIVE_DEFAULT_MAX_RATIO;
}

static void walk_done(struct walk *w)
{
    if (w->in)
        archive_read_free(w->in);
    if (w->out)
        archive_write_free(w->out);
    free(w->chunk);
    name_set_free(&w->files);
    name_set_free(&w->links);
    for (size_t i = 0; i < w->nlinks; i++) {
        free(w->link_names[i]);
        free(w->link_targets[i]);
    }
    free(w->link_names);
    free(w->link_targets);
}

int archive_check_fd(int fd, const char *name,
                     const struct archive_limits *limits, struct mps_error *err)
{
    struct walk w;
    walk_init(&w, fd, name, limits, err);
    int rc = walk_archive(&w);
    walk_done(&w);
    return rc;
}

/* Extract w's archive into the current directory, as who (NULL: as this
 * process): everything libarchive writes, and the fix-ups of directory
 * modes and times it makes when closed. */
static int extract_here(struct walk *w, const struct asuser_id *who)
{
    w->out = archive_write_disk_new();
    if (!w->out)
        return errprintf(w->err, "out of memory");
    archive_write_disk_set_options(
        w->out, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
                    ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM);
    struct mps_error enter_err;
    if (who && asuser_enter(who, &enter_err) < 0)
        return errprintf(w->err, "cannot extract archive '%s': %s", w->path,
                         enter_err.text);
    int rc = walk_archive(w);
    /* Closed here also after a failure (else archive_write_free would
     * close it later, as this process): closing makes the deferred
     * changes to directories. */
    int closed = archive_write_close(w->out);
    if (rc == 0 && closed != ARCHIVE_OK) {
        const char *why = archive_error_string(w->out);
        rc = errprintf(w->err, "cannot extract archive '%s': %s", w->path,
                       why ? why : "unknown error");
    }
    if (who)
        asuser_leave();
    return rc;
}

int archive_extract_fd(int fd, const char *name, int dirfd,
                       const struct asuser_id *who,
                       const struct archive_limits *limits,
                       struct mps_error *err)
{
    /* libarchive extracts by relative names (the secure flags refuse
     * absolute ones) from the current directory: dirfd's for the while,
     * entered and left with this process's own rights (the way back may be
     * closed to the user). */
    int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (here < 0)
        return errprintf(err, "cannot open the current directory: %s",
                         strerror(errno));
    if (fchdir(dirfd) < 0) {
        errprintf(err, "cannot extract archive '%s': %s", name,
                  strerror(errno));
        close(here);
        return -1;
    }
    struct walk w;
    walk_init(&w, fd, name, limits, err);
    int rc = extract_here(&w, who);
    walk_done(&w);
    if (fchdir(here) < 0 && rc == 0)
        rc = errprintf(err, "cannot return to the working directory: %s",
                       strerror(errno));
    close(here);
    return rc;
}

/* Open the archive at path for reading, without blocking on a FIFO or
 * device: the descriptor, or -1 with err set. */
static int open_archive_path(const char *path, struct mps_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return errprintf(err, "archive '%s' not found", path);
        return errprintf(err, "cannot read archive '%s': %s", path,
                         strerror(errno));
    }
    return fd;
}

int archive_check(const char *path, const struct archive_limits *limits,
                  struct mps_error *err)
{
    int fd = open_archive_path(path, err);
    if (fd < 0)
        return -1;
    int rc = archive_check_fd(fd, path, limits, err);
    close(fd);
    return rc;
}

int archive_extract(const char *path, const char *dir,
                    const struct archive_limits *limits, struct mps_error *err)
{
    int fd = open_archive_path(path, err);
    if (fd < 0)
        return -1;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = -1;
    if (dirfd < 0)
        errprintf(err, "cannot extract archive '%s' into '%s': %s", path, dir,
                  strerror(errno));
    else
        rc = archive_extract_fd(fd, path, dirfd, NULL, limits, err);
    if (dirfd >= 0)
        close(dirfd);
    close(fd);
    return rc;
}
