/* SPDX-License-Identifier: MIT */
/* Per-task cgroups: memory limits (v2 memory.max, else the v1 memory
 * controller) and tracking every process a task starts, to kill them. */
#ifndef MPISPOOL_CGROUP_H
#define MPISPOOL_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Find the memory controller of this process's own cgroup: fills base
 * with its directory and returns 2 (unified hierarchy) or 1 (v1 memory
 * controller), or 0 when there is none we may create cgroups under. */
int cgroup_detect(char *base, size_t len);

/* Make base/name with a memory limit of limit bytes; path gets its
 * directory. Returns 0, or -1 (nothing is left behind). */
int cgroup_create(const char *base, int version, const char *name,
                  uint64_t limit, char *path, size_t len);

/* Whether the kernel killed a process of the cgroup for exceeding its
 * limit (memory.events or memory.oom_control, "oom_kill N"). */
int cgroup_oom_killed(const char *path, int version);

/* The cgroup's peak memory use in bytes (v1 memory.max_usage_in_bytes, v2
 * memory.peak), or 0 when the kernel does not say. */
uint64_t cgroup_peak(const char *path, int version);

/* Remove the (empty) cgroup, waiting up to 0.1 s for the kernel to let go
 * of processes that just died. Returns 0 (also when it is gone), or -1. */
int cgroup_remove(const char *path);

/* Tracking cgroups hold every process of one task, wherever it goes (a
 * daemon that double forks and calls setsid leaves the task's process
 * group and session, never its cgroup), so that what the task leaves
 * behind can be found and killed. Kinds, best first: */
enum cgroup_track {
    CGROUP_TRACK_NONE = 0,
    CGROUP_TRACK_V2 = 1,      /* cgroup2: cgroup.kill, cgroup.events */
    CGROUP_TRACK_FREEZER = 2, /* v1 freezer: freeze, kill, thaw */
    CGROUP_TRACK_V1 = 3,      /* v1 pids or memory: kill until empty */
};

/* Find a hierarchy in which this process may make cgroups and move tasks
 * into them (from /proc/self/mountinfo and /proc/self/cgroup): fills base
 * with this process's own cgroup directory in it and returns its kind, or
 * CGROUP_TRACK_NONE. only: NULL for the best one, or "cgroup2", "freezer",
 * "pids" or "memory" for that one alone. */
enum cgroup_track cgroup_track_detect(char *base, size_t len, const char *only);

/* Make the empty cgroup base/name; path gets its directory. 0 or -1. */
int cgroup_track_create(const char *base, const char *name, char *path,
                        size_t len);

/* Send sig to every process in the cgroup but those in process group
 * skip_pgid (0: none), which the caller signals itself; returns how many
 * processes it signalled. */
int cgroup_signal(const char *path, int sig, pid_t skip_pgid);

/* SIGKILL every process in the cgroup (frozen first where the kind allows,
 * so a forking process cannot outrun the kill) and wait until it is empty,
 * at most about a second. Returns 0 when empty, -1 when not. */
int cgroup_kill_all(const char *path, enum cgroup_track kind);

/* Remove the task cgroups (mpispool-RANKPID-N) under base that a rank
 * killed outright left behind (its pid is gone), killing what still runs
 * in them. Returns how many were removed. */
int cgroup_remove_stale(const char *base, enum cgroup_track kind);

#endif
