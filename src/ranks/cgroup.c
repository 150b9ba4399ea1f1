/* SPDX-License-Identifier: MIT */
/* Per-task cgroups: memory limits (create, limit, detect an OOM kill,
 * remove) and tracking cgroups that find and kill all of a task's
 * processes. */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static int write_text(const char *dir, const char *file, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = util_write_all(fd, text, strlen(text));
    if (close(fd) < 0)
        rc = -1;
    return rc;
}

/* The value after key in a "key value" file, or -1. */
static long long read_key(const char *dir, const char *file, const char *key)
{
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long long value = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            value = atoll(line + klen + 1);
    fclose(f);
    return value;
}

int cgroup_detect(char *base, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return 0;
    char line[4096], v1[4096] = "", v2[4096] = "";
    bool have_v1 = false, have_v2 = false;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *first = strchr(line, ':');
        char *second = first ? strchr(first + 1, ':') : NULL;
        if (!second)
            continue;
        *second = '\0';
        const char *controllers = first + 1, *path = second + 1;
        if (strcmp(line, "0") == 0 && !*controllers) {
            snprintf(v2, sizeof v2, "%s", path);
            have_v2 = true;
        }
        for (char *save, *c = strtok_r((char *)controllers, ",", &save); c;
             c = strtok_r(NULL, ",", &save))
            if (strcmp(c, "memory") == 0) {
                snprintf(v1, sizeof v1, "%s", path);
                have_v1 = true;
            }
    }
    fclose(f);
    struct stat st;
    if (have_v1) {
        snprintf(base, len, "/sys/fs/cgroup/memory%s", v1);
        if (stat(base, &st) == 0 && access(base, W_OK) == 0)
            return 1;
    }
    if (have_v2 && stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
        snprintf(base, len, "/sys/fs/cgroup%s", v2);
        if (access(base, W_OK) == 0)
            return 2;
    }
    return 0;
}

int cgroup_create(const char *base, int version, const char *name,
                  uint64_t limit, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", base, name);
    if (mkdir(path, 0755) < 0)
        return -1;
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)limit);
    int rc = version == 2 ? write_text(path, "memory.max", text)
                          : write_text(path, "memory.limit_in_bytes", text);
    /* Without swap accounting the limit would let a task swap instead. */
    if (rc == 0 && version == 2)
        write_text(path, "memory.swap.max", "0");
    if (rc < 0) {
        int saved = errno;
        rmdir(path);
        errno = saved;
    }
    return rc;
}

int cgroup_oom_killed(const char *path, int version)
{
    long long kills = version == 2
                          ? read_key(path, "memory.events", "oom_kill")
                          : read_key(path, "memory.oom_control", "oom_kill");
    return kills > 0;
}

uint64_t cgroup_peak(const char *path, int version)
{
    char file[4096];
    snprintf(file, sizeof file, "%s/%s", path,
             version == 2 ? "memory.peak" : "memory.max_usage_in_bytes");
    FILE *f = fopen(file, "re");
    unsigned long long peak = 0;
    if (f) {
        if (fscanf(f, "%llu", &peak) != 1)
            peak = 0;
        fclose(f);
    }
    return peak;
}

int cgroup_remove(const char *path)
{
    /* The task's processes were killed with its group; the kernel may
     * take a moment to let go of the last one. */
    for (int i = 0; i < 50; i++) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return -1;
        usleep(2000);
    }
    return -1;
}

/* How long cgroup_kill_all waits for the killed processes to be gone. */
#define KILL_WAIT_US (1000 * 1000)
/* How long it waits for a v1 freezer to report FROZEN before it kills
 * anyway. */
#define FREEZE_WAIT_US (100 * 1000)

/* This process's cgroup path in the v1 hierarchy of controller, or in the
 * cgroup2 hierarchy when controller is NULL (/proc/self/cgroup). */
static int own_cgroup_path(const char *controller, char *path, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -1;
    char line[4096];
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *first = strchr(line, ':');
        char *second = first ? strchr(first + 1, ':') : NULL;
        if (!second)
            continue;
        *second = '\0';
        char *controllers = first + 1;
        if (!controller) {
            if (strncmp(line, "0:", 2) == 0 && !*controllers) {
                snprintf(path, len, "%s", second + 1);
                rc = 0;
            }
            continue;
        }
        for (char *save, *c = strtok_r(controllers, ",", &save); c;
             c = strtok_r(NULL, ",", &save))
            if (strcmp(c, controller) == 0) {
                snprintf(path, len, "%s", second + 1);
                rc = 0;
            }
    }
    fclose(f);
    return rc;
}

/* Whether the comma-separated list has word. */
static bool list_has(const char *list, const char *word)
{
    size_t wlen = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == wlen && strncmp(p, word, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/* The directory of this process's cgroup in the hierarchy of controller
 * (NULL: cgroup2), found through /proc/self/mountinfo wherever it is
 * mounted ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", ...). */
static int own_cgroup_dir(const char *controller, char *dir, size_t len)
{
    char path[4096];
    if (own_cgroup_path(controller, path, sizeof path) < 0)
        return -1;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -1;
    char line[8192];
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - TYPE SRC SUPER */
        char *field[64];
        int n = 0, sep = -1;
        for (char *save, *w = strtok_r(line, " ", &save); w && n < 64;
             w = strtok_r(NULL, " ", &save)) {
            if (sep < 0 && n >= 6 && strcmp(w, "-") == 0)
                sep = n;
            field[n++] = w;
        }
        if (sep < 0 || n < sep + 4)
            continue;
        const char *root = field[3], *mount = field[4];
        const char *type = field[sep + 1], *super = field[sep + 3];
        if (controller
                ? strcmp(type, "cgroup") != 0 || !list_has(super, controller)
                : strcmp(type, "cgroup2") != 0)
            continue;
        /* A mount of a subtree (ROOT not "/") shows paths below it. */
        const char *rel = path;
        size_t rlen = strlen(root);
        if (strcmp(root, "/") != 0) {
            if (strncmp(path, root, rlen) != 0 ||
                (path[rlen] != '/' && path[rlen] != '\0'))
                continue;
            rel = path + rlen;
        }
        snprintf(dir, len, "%s%s", mount, strcmp(rel, "/") == 0 ? "" : rel);
        rc = 0;
    }
    fclose(f);
    return rc;
}

/* Whether we may make cgroups in dir and move processes into them. */
static bool may_create_in(const char *dir)
{
    char procs[4200];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    return access(dir, W_OK) == 0 && access(procs, W_OK) == 0;
}

enum cgroup_track cgroup_track_detect(char *base, size_t len, const char *only)
{
    static const struct {
        const char *name, *controller;
        enum cgroup_track kind;
    } order[] = {{"cgroup2", NULL, CGROUP_TRACK_V2},
                 {"freezer", "freezer", CGROUP_TRACK_FREEZER},
                 {"pids", "pids", CGROUP_TRACK_V1},
                 {"memory", "memory", CGROUP_TRACK_V1}};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if ((!only || strcmp(only, order[i].name) == 0) &&
            own_cgroup_dir(order[i].controller, base, len) == 0 &&
            may_create_in(base))
            return order[i].kind;
    return CGROUP_TRACK_NONE;
}

int cgroup_track_create(const char *base, const char *name, char *path,
                        size_t len)
{
    snprintf(path, len, "%s/%s", base, name);
    return mkdir(path, 0755);
}

int cgroup_signal(const char *path, int sig, pid_t skip_pgid)
{
    char file[4200];
    snprintf(file, sizeof file, "%s/cgroup.procs", path);
    FILE *f = fopen(file, "re");
    if (!f)
        return 0;
    int count = 0;
    long pid;
    while (fscanf(f, "%ld", &pid) == 1) {
        if (pid <= 0 || (skip_pgid && getpgid((pid_t)pid) == skip_pgid))
            continue;
        if (kill((pid_t)pid, sig) == 0)
            count++;
    }
    fclose(f);
    return count;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Whether a v1 freezer cgroup reports FROZEN. */
static bool is_frozen(const char *path)
{
    char file[4200], state[32] = "";
    snprintf(file, sizeof file, "%s/freezer.state", path);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t got = read(fd, state, sizeof state - 1);
    close(fd);
    return got > 0 && strncmp(state, "FROZEN", 6) == 0;
}

/* Wait until the cgroup2 group at path has no process left or until
 * deadline: its cgroup.events reports "populated 0", and poll() says
 * when that file changes. */
static int wait_unpopulated(const char *path, int64_t deadline)
{
    char file[4200];
    snprintf(file, sizeof file, "%s/cgroup.events", path);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = -1;
    for (;;) {
        char text[256];
        ssize_t got = pread(fd, text, sizeof text - 1, 0);
        if (got < 0)
            break;
        text[got] = '\0';
        if (strstr(text, "populated 0")) {
            rc = 0;
            break;
        }
        int64_t left = deadline - util_mono_us();
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLPRI};
        if (poll(&pfd, 1, (int)((left + 999) / 1000)) < 0 && errno != EINTR)
            break;
    }
    close(fd);
    return rc;
}

int cgroup_kill_all(const char *path, enum cgroup_track kind)
{
    /* Most tasks leave nothing behind. */
    if (cgroup_signal(path, 0, 0) == 0)
        return 0;
    int64_t deadline = util_mono_us() + KILL_WAIT_US;
    if (kind == CGROUP_TRACK_V2 && write_text(path, "cgroup.kill", "1") == 0)
        return wait_unpopulated(path, deadline) == 0 ||
                       cgroup_signal(path, SIGKILL, 0) == 0
                   ? 0
                   : -1;
    if (kind == CGROUP_TRACK_FREEZER &&
        write_text(path, "freezer.state", "FROZEN") == 0) {
        /* The v1 freezer announces nothing: look every millisecond, for
         * a bounded time (a process in uninterruptible sleep may never
         * freeze; it is killed all the same). */
        int64_t until = util_mono_us() + FREEZE_WAIT_US;
        while (!is_frozen(path) && util_mono_us() < until)
            sleep_us(1000);
        cgroup_signal(path, SIGKILL, 0);
        write_text(path, "freezer.state", "THAWED");
    }
    /* Without cgroup.kill or a freezer, a process may fork while we kill:
     * kill again until nothing is left. v1 says nothing when a cgroup
     * empties, so look again every millisecond, for a bounded time. */
    while (cgroup_signal(path, SIGKILL, 0) > 0) {
        if (util_mono_us() >= deadline)
            return -1;
        sleep_us(1000);
    }
    return 0;
}

int cgroup_remove_stale(const char *base, enum cgroup_track kind)
{
    DIR *dir = opendir(base);
    if (!dir)
        return 0;
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        int pid;
        unsigned long long n;
        char tail;
        if (sscanf(de->d_name, "mpispool-%d-%llu%c", &pid, &n, &tail) != 2 ||
            pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", base, de->d_name) >=
            sizeof path)
            continue;
        /* What a task of the dead rank left running dies now. */
        cgroup_kill_all(path, kind ? kind : CGROUP_TRACK_V1);
        if (cgroup_remove(path) == 0)
            removed++;
    }
    closedir(dir);
    return removed;
}
