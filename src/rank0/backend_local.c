/* SPDX-License-Identifier: MIT */
/* The local backend: rank 0 alone runs its tasks with its own executor,
 * in a private directory of its own, and says what a worker rank would:
 * HELLO first, OUTPUT and RESULT of each attempt, a HEARTBEAT with the
 * load and (--idle-policy) the owner's activity, BYE at the end. The only
 * file of src/rank0/ that reaches src/ranks/. */
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "archives.h"
#include "backend_local.h"
#include "evloop.h"
#include "exec_watch.h"
#include "executor.h"
#include "idle.h"
#include "node.h"
#include "runopts.h"
#include "rankdir.h"

/* The load in HEARTBEATs is refreshed this often (as a worker does). */
#define HEARTBEAT_US 5000000

struct backend_local {
    struct backend b;
    struct evloop *loop;
    const struct run_options *opt;
    const struct rank_env *re;
    struct rankdir rankdir;
    struct executor *ex;
    struct exec_watch *watch;
    int sigchld; /* a signalfd for SIGCHLD, or -1 */
    struct idle_monitor idle;
    struct evloop_timer *idle_check; /* --idle-policy: every IDLE_CHECK_US */
    struct evloop_timer *heartbeat;
    bool hello_sent, stopping;
};

static void say(struct backend_local *l, struct wire_msg *msg)
{
    msg->source = 0;
    l->b.deliver(l->b.arg, 0, msg);
}

static void on_output(void *arg, uint64_t id, int stream, const char *data,
                      size_t len)
{
    struct wire_msg msg = {.type = WIRE_OUTPUT};
    msg.u.output =
        (struct wire_output){id, (uint8_t)stream, (uint32_t)len, data};
    say(arg, &msg);
}

static void on_result(void *arg, const struct attempt_result *res)
{
    struct wire_msg msg = {.type = WIRE_RESULT};
    msg.u.result = *res;
    say(arg, &msg);
}

static void send_heartbeat(struct backend_local *l)
{
    struct wire_msg msg = {.type = WIRE_HEARTBEAT};
    msg.u.heartbeat = (struct wire_heartbeat){
        .owner_active = l->idle.owner_active,
        .reason = (uint8_t)l->idle.reason,
        .since_us = l->idle.since_us,
    };
    getloadavg(&msg.u.heartbeat.load, 1);
    say(l, &msg);
}

static void announce_owner(void *arg)
{
    send_heartbeat(arg);
}

static void on_heartbeat(struct evloop *loop, struct evloop_timer *t, void *arg)
{
    (void)loop, (void)t;
    send_heartbeat(arg);
}

static void on_idle_check(struct evloop *loop, struct evloop_timer *t,
                          void *arg)
{
    (void)loop, (void)t;
    struct backend_local *l = arg;
    if (!l->stopping)
        node_idle_check(l->opt->idle, &l->idle, l->ex, 0, l->re->host,
                        l->opt->kill_grace_s, announce_owner, l);
}

static void on_sigchld(struct evloop *loop, int fd, short revents, void *arg)
{
    (void)loop, (void)revents;
    struct backend_local *l = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
        ;
    executor_reap(l->ex);
}

static int local_send(struct backend *b, int r, const struct attempt *m,
                      struct job_archive *archive, struct mps_error *err)
{
    (void)r;
    struct backend_local *l = (struct backend_local *)b;
    struct exec_task t = {
        .a = m,
        .archive = archive ? job_archive_path(archive) : NULL,
        .archive_by_fd = archive != NULL,
        .archive_fd = archive ? job_archive_fd(archive) : -1,
        .archive_limits = &l->opt->archive_limits,
    };
    if (executor_submit(l->ex, &t) < 0)
        return errprintf(err, "out of memory");
    return 0;
}

static void local_cancel(struct backend *b, int r, uint64_t dispatch,
                         double grace_s)
{
    (void)r;
    executor_cancel(((struct backend_local *)b)->ex, dispatch, grace_s);
}

static void local_stop(struct backend *b, double grace_s)
{
    struct backend_local *l = (struct backend_local *)b;
    l->stopping = true;
    evloop_timer_disarm(l->loop, l->idle_check);
    executor_cancel(l->ex, 0, grace_s);
}

static void local_shutdown(struct backend *b)
{
    struct wire_msg msg = {.type = WIRE_BYE};
    say((struct backend_local *)b, &msg);
}

static int local_progress(struct backend *b)
{
    struct backend_local *l = (struct backend_local *)b;
    if (l->hello_sent)
        return 0;
    l->hello_sent = true;
    struct wire_msg msg = {.type = WIRE_HELLO};
    msg.u.hello = (struct wire_hello){
        .host = (char *)l->re->host,
        .slots = executor_slots(l->ex),
        .gpus = executor_gpus(l->ex),
        .mem_total = l->re->mem_total,
        .pid = (uint32_t)getpid(),
    };
    say(l, &msg);
    send_heartbeat(l);
    return 2;
}

static int local_poll_cap_ms(struct backend *b)
{
    struct backend_local *l = (struct backend_local *)b;
    exec_watch_before_poll(l->watch);
    return l->hello_sent ? -1 : 0;
}

static void local_destroy(struct backend *b)
{
    struct backend_local *l = (struct backend_local *)b;
    if (!l)
        return;
    exec_watch_destroy(l->watch);
    executor_destroy(l->ex);
    rankdir_remove(&l->rankdir);
    if (l->sigchld >= 0) {
        evloop_fd_remove(l->loop, l->sigchld);
        close(l->sigchld);
    }
    evloop_timer_destroy(l->loop, l->idle_check);
    evloop_timer_destroy(l->loop, l->heartbeat);
    free(l);
}

static const struct backend_ops local_ops = {
    .send = local_send,
    .cancel = local_cancel,
    .stop = local_stop,
    .shutdown = local_shutdown,
    .progress = local_progress,
    .poll_cap_ms = local_poll_cap_ms,
    .destroy = local_destroy,
};

/* SIGCHLD is blocked by main; this descriptor is where it is read. */
static int sigchld_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int local_start(struct backend_local *l, struct mps_error *err)
{
    const struct run_options *opt = l->opt;
    struct exec_callbacks cb = {on_output, on_result, l};
    if (rankdir_create(opt->workdir, 0, &l->rankdir, err) < 0)
        return -1;
    if (!(l->ex = executor_create(l->re->slots, l->rankdir.path, &cb, err)))
        return -1;
    executor_set_policy(l->ex, opt->policy);
    executor_set_kill_grace(l->ex, opt->kill_grace_s);
    executor_set_max_output(l->ex, opt->max_output);
    node_place_tasks(l->ex, opt, l->re);
    if ((l->sigchld = sigchld_fd()) < 0)
        return errprintf(err, "cannot create a signalfd: %s", strerror(errno));
    if (!(l->watch = exec_watch_create(l->loop, l->ex)) ||
        !(l->heartbeat = evloop_timer_create(l->loop, on_heartbeat, l)) ||
        !(l->idle_check = evloop_timer_create(l->loop, on_idle_check, l)) ||
        evloop_fd_add(l->loop, l->sigchld, EVLOOP_IN, on_sigchld, l) < 0 ||
        evloop_timer_arm(l->loop, l->heartbeat, HEARTBEAT_US, HEARTBEAT_US) <
            0 ||
        (opt->idle &&
         evloop_timer_arm(l->loop, l->idle_check, 0, IDLE_CHECK_US) < 0))
        return errprintf(err, "out of memory");
    return 0;
}

struct backend *backend_local_create(struct evloop *loop,
                                     const struct run_options *opt,
                                     const struct rank_env *re,
                                     backend_deliver_fn deliver, void *arg,
                                     struct mps_error *err)
{
    struct backend_local *l = calloc(1, sizeof *l);
    if (!l) {
        errprintf(err, "out of memory");
        return NULL;
    }
    l->b = (struct backend){&local_ops, 1, 0, deliver, arg};
    l->loop = loop;
    l->opt = opt;
    l->re = re;
    l->rankdir.fd = -1;
    l->sigchld = -1;
    if (local_start(l, err) < 0) {
        local_destroy(&l->b);
        return NULL;
    }
    return &l->b;
}
