/* SPDX-License-Identifier: MIT */
/* The idle-desktop policy at work on a rank: reading input times and the
 * load, and deciding whether the owner is active (with hysteresis). */
#include "idle.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h> /* isfinite: a macro, no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t timespec_us(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

/* A terminal or input device shows input by its access time (its
 * modification time changes with output too); anything else by its
 * modification time. */
static int64_t activity_us(const struct stat *st)
{
    return S_ISCHR(st->st_mode) ? timespec_us(&st->st_atim)
                                : timespec_us(&st->st_mtim);
}

static int64_t newest_entry_us(const char *dir_path)
{
    int64_t newest = 0;
    DIR *dir = opendir(dir_path);
    if (!dir)
        return 0;
    struct dirent *de;
    struct stat st;
    while ((de = readdir(dir))) {
        /* /dev/pts/ptmx is read by terminals for output, not input. */
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, "ptmx") == 0)
            continue;
        if (fstatat(dirfd(dir), de->d_name, &st, 0) == 0 &&
            activity_us(&st) > newest)
            newest = activity_us(&st);
    }
    closedir(dir);
    return newest;
}

int64_t idle_last_input_us(const struct idle_policy *p)
{
    int64_t newest = 0;
    const char *s = idle_policy_input(p);
    while (*s) {
        size_t len = strcspn(s, ":");
        char pattern[4096];
        if (len > 0 && len < sizeof pattern) {
            memcpy(pattern, s, len);
            pattern[len] = '\0';
            glob_t g;
            if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++) {
                    struct stat st;
                    int64_t t = 0;
                    if (stat(g.gl_pathv[i], &st) < 0)
                        continue;
                    t = S_ISDIR(st.st_mode) ? newest_entry_us(g.gl_pathv[i])
                                            : activity_us(&st);
                    if (t > newest)
                        newest = t;
                }
                globfree(&g);
            }
        }
        s += len;
        if (*s == ':')
            s++;
    }
    return newest;
}

double idle_read_load(const struct idle_policy *p)
{
    const char *loadfile = idle_policy_loadfile(p);
    if (!loadfile) {
        double load;
        return getloadavg(&load, 1) == 1 ? load : -1;
    }
    FILE *f = fopen(loadfile, "re");
    if (!f)
        return -1;
    double load;
    int n = fscanf(f, "%lf", &load);
    fclose(f);
    return n == 1 && load >= 0 ? load : -1;
}

bool idle_monitor_update(struct idle_monitor *m, const struct idle_policy *p,
                         int64_t now_us, int64_t last_input_us,
                         double owner_load)
{
    if (last_input_us > m->last_input_us)
        m->last_input_us = last_input_us;
    bool load_high = owner_load >= idle_policy_load(p);
    if (load_high)
        m->last_load_us = now_us;
    int64_t period = (int64_t)(idle_policy_idle_s(p) * 1e6);
    /* Input stamped in the future (another clock) counts as now. */
    bool input_recent =
        m->last_input_us > 0 && now_us - m->last_input_us < period;
    bool load_recent = m->last_load_us > 0 && now_us - m->last_load_us < period;
    bool active = input_recent || load_recent || load_high;
    if (active == m->owner_active)
        return false;
    m->owner_active = active;
    if (active) {
        if (input_recent && !load_high) {
            m->reason = IDLE_REASON_INPUT;
            m->since_us = m->last_input_us < now_us ? m->last_input_us : now_us;
        } else {
            m->reason = IDLE_REASON_LOAD;
            m->since_us = now_us;
        }
    } else {
        m->reason = IDLE_REASON_NONE;
        m->since_us = 0;
    }
    return true;
}
