/* SPDX-License-Identifier: MIT */
/* clone3(2) with a stack of our own, which the C library (glibc 2.36)
 * does not offer: a child that shares our memory must not return through
 * the caller's frames, so it is started by a few instructions of
 * assembly, as glibc's internal __clone3 does: system call, and in the
 * child call fn(arg) on the new stack and exit with its result. */
#include "spawn.h"

#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#if defined(__x86_64__) && defined(SYS_clone3) && defined(CLONE_INTO_CGROUP)

#define MPS_STR2(x) #x
#define MPS_STR(x) MPS_STR2(x)

/* long mps_clone3(struct clone_args *args, size_t size,
 *                 int (*fn)(void *), void *arg)
 * rdi args, rsi size, rdx fn, rcx arg. The system call keeps rdx and r8
 * (it clobbers rcx and r11), and the child starts with the parent's
 * registers on the new stack. */
long mps_clone3(struct clone_args *args, size_t size, int (*fn)(void *),
                void *arg);
__asm__(".text\n"
        ".globl mps_clone3\n"
        ".hidden mps_clone3\n"
        ".type mps_clone3, @function\n"
        "mps_clone3:\n"
        "    .cfi_startproc\n"
        "    mov %rcx, %r8\n"
        "    mov $" MPS_STR(
            SYS_clone3) ", %eax\n"
                        "    syscall\n"
                        "    test %rax, %rax\n"
                        "    jz 1f\n"
                        "    ret\n"
                        "    .cfi_endproc\n"
                        "1:  xor %ebp, %ebp\n"
                        "    and $-16, %rsp\n"
                        "    mov %r8, %rdi\n"
                        "    call *%rdx\n"
                        "    mov %eax, %edi\n"
                        "    mov $" MPS_STR(
                            SYS_exit) ", %eax\n"
                                      "    syscall\n"
                                      "    hlt\n"
                                      ".size mps_clone3, .-mps_clone3\n");

pid_t spawn_into_cgroup(int (*fn)(void *), void *stack, size_t stack_size,
                        int cgroup_fd, void *arg)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = stack_size;
    args.cgroup = (uint64_t)cgroup_fd;
    long rc = mps_clone3(&args, sizeof args, fn, arg);
    return (pid_t)rc; /* the pid, or -errno from the kernel */
}

#else

pid_t spawn_into_cgroup(int (*fn)(void *), void *stack, size_t stack_size,
                        int cgroup_fd, void *arg)
{
    (void)fn, (void)stack, (void)stack_size, (void)cgroup_fd, (void)arg;
    return -ENOSYS;
}

#endif
