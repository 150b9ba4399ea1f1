/* SPDX-License-Identifier: MIT */
/* Start a task's child born inside its cgroup. */
#ifndef MPISPOOL_SPAWN_H
#define MPISPOOL_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/* Like clone(fn, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, arg), but
 * with clone3(2)'s CLONE_INTO_CGROUP: the child starts life in the cgroup2
 * directory cgroup_fd. Moving a process afterwards (a write of its pid to
 * cgroup.procs) takes the kernel's threadgroup lock for writing, which
 * waits for an RCU grace period: 13 ms a task on this project's test
 * machine, more than a short task runs. Returns the child's pid, or
 * -errno: -ENOSYS where clone3 or this architecture is not supported
 * (the caller then clones and moves the child the old way). */
pid_t spawn_into_cgroup(int (*fn)(void *), void *stack, size_t stack_size,
                        int cgroup_fd, void *arg);

#endif
