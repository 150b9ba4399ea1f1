/* SPDX-License-Identifier: MIT */
/* Per-task memory cgroups (v2 memory.max, else the v1 memory controller). */
#ifndef MPISPOOL_CGROUP_H
#define MPISPOOL_CGROUP_H

#include <stddef.h>
#include <stdint.h>

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

/* Remove the (empty) cgroup. */
void cgroup_remove(const char *path);

#endif
