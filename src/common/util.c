/* SPDX-License-Identifier: MIT */
/* Small system helpers: time stamps, EINTR-safe I/O, atomic files, sizes. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t util_now_us(void)
{
    return clock_us(CLOCK_REALTIME);
}

int64_t util_mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

char *util_format_time(int64_t us, char *buf)
{
    time_t secs = (time_t)(us / 1000000);
    int frac = (int)(us % 1000000);
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, UTIL_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, UTIL_TIME_LEN - n, ".%06dZ", frac);
    return buf;
}

int util_parse_time(const char *text, int64_t *us)
{
    struct tm tm = {0};
    int consumed = 0;
    if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
                        &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                        &tm.tm_sec, &consumed) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = text + consumed;
    int64_t frac = 0, scale = 1000000;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
    if (*p != 'Z' && *p != 'z')
        return -1;
    time_t secs = timegm(&tm);
    if (secs == (time_t)-1)
        return -1;
    *us = (int64_t)secs * 1000000 + frac;
    return 0;
}

int util_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t util_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

char *util_read_file(const char *path, size_t max, size_t *len,
                     struct mps_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errprintf(err, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        errprintf(err, "'%s' is not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((uint64_t)st.st_size > max) {
        errno = EFBIG;
        errprintf(err, "'%s' is larger than %zu bytes", path, max);
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        errprintf(err, "out of memory reading '%s'", path);
        close(fd);
        return NULL;
    }
    ssize_t got = util_read_all(fd, buf, (size_t)st.st_size);
    int saved = errno;
    close(fd);
    if (got < 0) {
        errprintf(err, "cannot read '%s': %s", path, strerror(saved));
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    if (len)
        *len = (size_t)got;
    return buf;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int util_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int util_write_file(const char *path, const void *buf, size_t len, int flags,
                    struct mps_error *err)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >=
        sizeof tmp)
        return errprintf(err, "path too long: '%s'", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errprintf(err, "cannot create '%s': %s", tmp, strerror(errno));
    if (util_write_all(fd, buf, len) < 0 ||
        ((flags & UTIL_FSYNC) && fsync(fd) < 0)) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        return errprintf(err, "cannot write '%s': %s", tmp, strerror(saved));
    }
    if (close(fd) < 0) {
        int saved = errno;
        unlink(tmp);
        return errprintf(err, "cannot write '%s': %s", tmp, strerror(saved));
    }
    if (rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        return errprintf(err, "cannot rename '%s' to '%s': %s", tmp, path,
                         strerror(saved));
    }
    if (flags & UTIL_FSYNC) {
        char *dir = dir_of(path);
        int rc = dir ? util_fsync_dir(dir) : -1;
        free(dir);
        if (rc < 0)
            return errprintf(err, "cannot sync the directory of '%s': %s", path,
                             strerror(errno));
    }
    return 0;
}

int util_rename_noreplace(int from_dirfd, const char *from, int to_dirfd,
                          const char *to)
{
    if (renameat2(from_dirfd, from, to_dirfd, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    struct stat st;
    if (fstatat(to_dirfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
        return -1;
    }
    return renameat(from_dirfd, from, to_dirfd, to);
}

int util_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = len ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0) {
        struct stat st;
        if (errno != EEXIST)
            return -1;
        if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
    }
    return 0;
}

int util_parse_size(const char *text, uint64_t *bytes)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno == ERANGE)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    case 't':
    case 'T':
        shift = 40;
        break;
    case '\0':
        break;
    default:
        if (*end != 'B' && *end != 'b')
            return -1;
    }
    if (shift)
        end++;
    if (*end == 'i' && shift)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0')
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *bytes = (uint64_t)v << shift;
    return 0;
}

char *util_format_size(uint64_t bytes, char *buf)
{
    static const char units[] = "KMGT";
    int unit = -1;
    while (unit < 3 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        unit++;
    }
    if (unit < 0)
        snprintf(buf, 32, "%llu", (unsigned long long)bytes);
    else
        snprintf(buf, 32, "%llu%c", (unsigned long long)bytes, units[unit]);
    return buf;
}

char *util_human_size(uint64_t bytes, char *buf, size_t len)
{
    static const char units[] = "KMGT";
    double v = (double)bytes;
    int unit = -1;
    while (unit < 3 && v >= 1024) {
        v /= 1024;
        unit++;
    }
    if (unit < 0)
        snprintf(buf, len, "%llu", (unsigned long long)bytes);
    else if (v - (double)(long long)v < 0.05)
        snprintf(buf, len, "%.0f%c", v, units[unit]);
    else
        snprintf(buf, len, "%.1f%c", v, units[unit]);
    return buf;
}

void *util_grow(void *items, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return items;
    size_t want = *cap ? *cap * 2 : first;
    if (want <= n || want > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    void *grown = realloc(items, want * size);
    if (grown)
        *cap = want;
    return grown;
}

char **util_strv_dup(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **copy = calloc(n + 1, sizeof *copy);
    if (!copy)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(copy[i] = strdup(v[i]))) {
            util_strv_free(copy);
            return NULL;
        }
    }
    return copy;
}

void util_strv_free(char **v)
{
    if (!v)
        return;
    for (char **s = v; *s; s++)
        free(*s);
    free(v);
}

char *util_hostname(char *buf, size_t len)
{
    if (gethostname(buf, len) < 0 || !buf[0])
        snprintf(buf, len, "localhost");
    buf[len - 1] = '\0';
    char *dot = strchr(buf, '.');
    if (dot)
        *dot = '\0';
    return buf;
}

void util_log(const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", who);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
