/* SPDX-License-Identifier: MIT */
/* Per-task memory cgroups: create, limit, detect an OOM kill, remove. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

void cgroup_remove(const char *path)
{
    /* The task's processes were killed with its group; the kernel may
     * take a moment to let go of the last one. */
    for (int i = 0; i < 50 && rmdir(path) < 0 && errno == EBUSY; i++)
        usleep(2000);
}
