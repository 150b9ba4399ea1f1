/* SPDX-License-Identifier: MIT */
/* An executor on an event loop (see exec_watch.h). */
#include "exec_watch.h"

#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>

#include "evloop.h"
#include "executor.h"

/* Most task pipes watched at once (two per running task). */
#define MAX_TASK_PIPES 512

struct exec_watch {
    struct evloop *loop;
    struct executor *ex;
    struct evloop_timer *due; /* the executor's next deadline */
    struct evloop_fdset pipes;
};

static void on_pipe(struct evloop *loop, int fd, short revents, void *arg)
{
    (void)loop;
    struct exec_watch *w = arg;
    struct pollfd ready = {.fd = fd, .events = POLLIN, .revents = revents};
    executor_handle(w->ex, &ready, 1);
}

static void on_due(struct evloop *loop, struct evloop_timer *t, void *arg)
{
    (void)loop, (void)t;
    struct exec_watch *w = arg;
    executor_timers(w->ex);
}

void exec_watch_before_poll(struct exec_watch *w)
{
    struct pollfd now[MAX_TASK_PIPES];
    int n = executor_pollfds(w->ex, now, MAX_TASK_PIPES);
    evloop_fdset_sync(w->loop, &w->pipes, now, n, on_pipe, w);
    int ms = executor_timers(w->ex);
    if (ms < 0)
        evloop_timer_disarm(w->loop, w->due);
    else
        evloop_timer_arm(w->loop, w->due, (int64_t)ms * 1000, 0);
}

struct exec_watch *exec_watch_create(struct evloop *loop, struct executor *ex)
{
    struct exec_watch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->loop = loop;
    w->ex = ex;
    if (!(w->due = evloop_timer_create(loop, on_due, w))) {
        free(w);
        return NULL;
    }
    return w;
}

void exec_watch_destroy(struct exec_watch *w)
{
    if (!w)
        return;
    evloop_fdset_clear(w->loop, &w->pipes);
    evloop_timer_destroy(w->loop, w->due);
    free(w);
}
