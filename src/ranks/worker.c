/* SPDX-License-Identifier: MIT */
/* A worker rank: says HELLO, runs the TASKs rank 0 sends, streams OUTPUT
 * and RESULTs back, and never spins while idle. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "archive_store.h"
#include "codec.h"
#include "rankdir.h"
#include "doorbell.h"
#include "evloop.h"
#include "exec_watch.h"
#include "executor.h"
#include "idle.h"
#include "node.h"
#include "runopts.h"
#include "transport.h"
#include "util.h"
#include "worker.h"

/* With a doorbell an idle worker sleeps until rank 0 rings it (with a
 * safety look at MPI once a second); without one it checks MPI every 8 ms.
 * While tasks run, and for a while after the last activity (a message may
 * still be in flight, or the next task on its way), every millisecond. */
#define IDLE_POLL_MS 8
#define BELL_IDLE_POLL_MS 1000
#define BUSY_POLL_MS 1
#define LINGER_US 200000
/* How often an idle or busy worker tells rank 0 its load average. */
#define HEARTBEAT_US 5000000
/* Backpressure: stop reading task output while this much is unsent. */
#define OUTPUT_HIGH_WATER (16u << 20)
#define OUTPUT_LOW_WATER (4u << 20)

struct worker {
    struct executor *ex;
    const struct run_options *opt;
    const struct rank_env *re;
    struct archive_store *archives; /* job archives rank 0 sent */
    int bell;                       /* doorbell to rank 0, or -1 */
    bool failed_send;
    struct idle_monitor idle; /* with --idle-policy */

    struct evloop *loop;
    struct evloop_timer *heartbeat;  /* every HEARTBEAT_US */
    struct evloop_timer *idle_check; /* every IDLE_CHECK_US */
    struct exec_watch *watch;        /* the executor on the loop */
    int64_t last_activity;           /* monotonic: a message, a task, a ring */
    bool shutting_down;              /* rank 0 said SHUTDOWN */
    bool terminating; /* SIGTERM/SIGINT: tasks ended, none taken */
};

static void send_or_note(struct worker *w, enum wire_type type,
                         struct wire_buf *buf, int encoded)
{
    if (encoded == 0 && wire_send(0, type, buf) == 0) {
        doorbell_ring(w->bell);
    } else {
        if (!w->failed_send)
            fprintf(stderr,
                    "mpispool-run: cannot send a message to rank 0: "
                    "%s\n",
                    strerror(errno));
        w->failed_send = true;
    }
    wire_buf_free(buf);
}

static void on_output(void *arg, uint64_t dispatch, int stream,
                      const char *data, size_t len)
{
    struct wire_buf buf = {0};
    int rc = wire_encode_output(&buf, dispatch, stream, data, len);
    send_or_note(arg, WIRE_OUTPUT, &buf, rc);
}

static void on_result(void *arg, const struct attempt_result *res)
{
    struct wire_buf buf = {0};
    int rc = wire_encode_result(&buf, res);
    send_or_note(arg, WIRE_RESULT, &buf, rc);
}

/* The result of an attempt that never started: exit code -1 and why. */
static void refuse(struct worker *w, uint64_t dispatch, int64_t when_us,
                   bool interrupted, const char *why)
{
    struct attempt_result res = {.dispatch = dispatch,
                                 .start_us = when_us,
                                 .end_us = when_us,
                                 .exit_code = -1,
                                 .interrupted = interrupted,
                                 .error = (char *)why};
    on_result(w, &res);
}

static void send_heartbeat(void *arg)
{
    struct worker *w = arg;
    struct wire_heartbeat hb = {
        .owner_active = w->idle.owner_active,
        .reason = (uint8_t)w->idle.reason,
        .since_us = w->idle.since_us,
    };
    getloadavg(&hb.load, 1);
    struct wire_buf buf = {0};
    send_or_note(w, WIRE_HEARTBEAT, &buf, wire_encode_heartbeat(&buf, &hb));
}

static void run_task(struct worker *w, const struct attempt *m)
{
    if (w->idle.owner_active) {
        /* Sent before rank 0 heard that the owner came back. */
        refuse(w, m->dispatch, util_now_us(), true,
               "not started: the owner of the PC is active");
        return;
    }
    struct exec_task t = {
        .a = m,
        .archive_limits = &w->opt->archive_limits,
        .archive_copy = true,
    };
    struct mps_error err;
    if (m->archive &&
        !(t.archive = archive_store_path(w->archives, m->job, &err))) {
        refuse(w, m->dispatch, util_now_us(), false, err.text);
        return;
    }
    if (executor_submit(w->ex, &t) < 0)
        refuse(w, m->dispatch, 0, false, "out of memory on the worker");
}

/* Before each poll: the executor's pipes and its next deadline (a task's
 * timeout, kill grace or drain) on the loop. */
static void before_poll(struct evloop *loop, void *arg)
{
    (void)loop;
    struct worker *w = arg;
    if (w->watch)
        exec_watch_before_poll(w->watch);
}

static void on_bell(struct evloop *loop, int fd, short revents, void *arg)
{
    (void)revents;
    struct worker *w = arg;
    w->last_activity = util_mono_us();
    if (doorbell_drain(fd) < 0) {
        evloop_fd_remove(loop, fd);
        close(fd);
        w->bell = -1;
    }
}

static void on_signal(struct evloop *loop, int fd, short revents, void *arg)
{
    (void)revents;
    struct worker *w = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
            if (w->ex)
                executor_reap(w->ex);
        } else if (!w->terminating && w->ex) {
            /* mpirun passes on SIGTERM/SIGINT: end our tasks and let rank
             * 0 decide what they mean. mpirun kills us soon after, so the
             * grace is at most 2 s here. No more idle checks. */
            w->terminating = true;
            evloop_timer_disarm(loop, w->idle_check);
            executor_cancel(w->ex, 0, w->opt->kill_grace_s);
        }
    }
}

static void on_heartbeat(struct evloop *loop, struct evloop_timer *t, void *arg)
{
    (void)loop, (void)t;
    send_heartbeat(arg);
}

/* A change of the owner's state is announced at once (send_heartbeat), and
 * the next heartbeat counts from then. */
static void idle_check(struct worker *w)
{
    if (node_idle_check(w->opt->idle, &w->idle, w->ex, w->re->rank, w->re->host,
                        w->opt->kill_grace_s, send_heartbeat, w))
        evloop_timer_arm(w->loop, w->heartbeat, HEARTBEAT_US, HEARTBEAT_US);
}

static void on_idle_check(struct evloop *loop, struct evloop_timer *t,
                          void *arg)
{
    (void)loop, (void)t;
    idle_check(arg);
}

/* The loop, its watchers and its timers: the doorbell, the signalfd, the
 * heartbeat every HEARTBEAT_US, with --idle-policy an idle check every
 * IDLE_CHECK_US (the first one now), and the executor's deadlines. */
static int worker_loop_create(struct worker *w, int sigfd)
{
    struct evloop *loop = w->loop = evloop_create();
    if (!loop || !(w->heartbeat = evloop_timer_create(loop, on_heartbeat, w)) ||
        !(w->idle_check = evloop_timer_create(loop, on_idle_check, w)) ||
        (w->ex && !(w->watch = exec_watch_create(loop, w->ex))) ||
        (w->bell >= 0 && evloop_fd_add(loop, w->bell, EVLOOP_IN, on_bell, w)) ||
        (sigfd >= 0 && evloop_fd_add(loop, sigfd, EVLOOP_IN, on_signal, w)))
        return -1;
    evloop_set_before_poll(loop, before_poll, w);
    if (w->opt->idle &&
        evloop_timer_arm(loop, w->idle_check, IDLE_CHECK_US, IDLE_CHECK_US))
        return -1;
    /* Tell rank 0 at once whether the owner is here. */
    if (w->opt->idle) {
        if (!node_idle_check(w->opt->idle, &w->idle, w->ex, w->re->rank,
                             w->re->host, w->opt->kill_grace_s, send_heartbeat,
                             w))
            send_heartbeat(w);
    }
    return evloop_timer_arm(loop, w->heartbeat, HEARTBEAT_US, HEARTBEAT_US);
}

/* How long a turn may wait without looking at MPI: rank 0's messages ring
 * no descriptor without a doorbell, and one may be in flight shortly after
 * any activity. */
static int poll_cap_ms(struct worker *w)
{
    /* Suspended tasks (--idle-policy) make no output: while the owner
     * uses the PC the rank stays as quiet as an idle one. */
    bool busy = w->ex && !executor_suspended(w->ex) &&
                (executor_running(w->ex) || executor_queued(w->ex));
    if (busy || wire_pending_bytes())
        w->last_activity = util_mono_us();
    return util_mono_us() - w->last_activity < LINGER_US ? BUSY_POLL_MS
           : w->bell >= 0                                ? BELL_IDLE_POLL_MS
                                                         : IDLE_POLL_MS;
}

static void receive_messages(struct worker *w)
{
    struct wire_msg msg;
    while (wire_recv(&msg) == 1) {
        w->last_activity = util_mono_us();
        if (msg.type == WIRE_TASK && w->ex && !w->terminating)
            run_task(w, &msg.u.task);
        else if (msg.type == WIRE_TASK)
            refuse(w, msg.u.task.dispatch, 0, false,
                   "the worker is shutting down");
        else if (msg.type == WIRE_ARCHIVE && w->archives)
            archive_store_chunk(w->archives, msg.u.archive.job,
                                msg.u.archive.total, msg.u.archive.offset,
                                msg.u.archive.data, msg.u.archive.len);
        else if (msg.type == WIRE_CANCEL && w->ex)
            executor_cancel(w->ex, msg.u.cancel.dispatch, msg.u.cancel.grace);
        else if (msg.type == WIRE_SHUTDOWN)
            w->shutting_down = true;
        wire_msg_clear(&msg);
    }
}

/* Turns until rank 0 said SHUTDOWN and no task is left. */
static void worker_run(struct worker *w)
{
    w->last_activity = util_mono_us();
    for (;;) {
        if (evloop_run_once(w->loop, poll_cap_ms(w)) < 0)
            break;
        wire_progress();
        if (w->ex) {
            size_t pending = wire_pending_bytes();
            if (pending > OUTPUT_HIGH_WATER)
                executor_pause_output(w->ex, true);
            else if (pending < OUTPUT_LOW_WATER)
                executor_pause_output(w->ex, false);
        }
        receive_messages(w);
        if (w->shutting_down &&
            (!w->ex || (!executor_running(w->ex) && !executor_queued(w->ex))))
            break;
    }
}

/* Test hook (tests/mpi/malformed.sh): messages rank 0 must log and drop:
 * bad magic, unknown version, a tag of no type, a length that disagrees
 * with the payload. */
static void send_garbage(void)
{
    char bad_magic[8] = "XX", bad_version[8] = "MS\x7f\1";
    char no_type[8] = "MS", bad_length[11] = "MS";
    bad_magic[2] = no_type[2] = bad_length[2] = WIRE_VERSION;
    bad_magic[3] = (char)WIRE_HELLO;
    no_type[3] = 0x63;
    bad_length[3] = (char)WIRE_HEARTBEAT;
    bad_length[4] = (char)0xff;
    wire_send_raw(0, WIRE_TAG_BASE + WIRE_HELLO, bad_magic, 8);
    wire_send_raw(0, WIRE_TAG_BASE + WIRE_HEARTBEAT, bad_version, 8);
    wire_send_raw(0, 999, no_type, 8);
    wire_send_raw(0, WIRE_TAG_BASE + WIRE_HEARTBEAT, bad_length, 11);
}

static void send_hello(struct worker *w)
{
    struct wire_hello hello = {
        .host = (char *)w->re->host,
        .slots = w->ex ? executor_slots(w->ex) : 0,
        .gpus = w->ex ? executor_gpus(w->ex) : 0,
        .mem_total = w->re->mem_total,
        .local_rank = (uint32_t)w->re->local_rank,
        .pid = (uint32_t)getpid(),
    };
    struct wire_buf buf = {0};
    send_or_note(w, WIRE_HELLO, &buf, wire_encode_hello(&buf, &hello));
    if (getenv("MPISPOOL_TEST_SEND_GARBAGE"))
        send_garbage();
}

/* Its tasks' work directories, its copies of job archives, its executor.
 * On failure w->ex stays NULL and err says why. */
static void worker_setup(struct worker *w, struct rankdir *rd,
                         struct mps_error *err)
{
    struct exec_callbacks cb = {on_output, on_result, w}; /* copied */
    if (rankdir_create(w->opt->workdir, w->re->rank, rd, err) < 0)
        return;
    if (!(w->archives = archive_store_create(rd->fd, rd->path))) {
        errprintf(err, "out of memory");
        return;
    }
    w->ex = executor_create(w->re->slots, rd->path, &cb, err);
    if (w->ex) {
        executor_set_policy(w->ex, w->opt->policy);
        executor_set_kill_grace(w->ex, w->opt->kill_grace_s);
        executor_set_max_output(w->ex, w->opt->max_output);
        node_place_tasks(w->ex, w->opt, w->re);
    }
}

int worker_main(const struct run_options *opt, const struct rank_env *re)
{
    struct worker w = {.bell = re->bell, .opt = opt, .re = re};
    struct mps_error err;
    struct rankdir rd = {.fd = -1};
    worker_setup(&w, &rd, &err);
    int sigfd = node_signalfd();
    if (!w.ex || sigfd < 0) {
        fprintf(stderr, "mpispool-run: rank %d: %s\n", re->rank,
                w.ex ? "cannot create a signalfd" : err.text);
        /* Still take part: rank 0 waits for every rank's HELLO and BYE. */
    }
    send_hello(&w);
    if (worker_loop_create(&w, sigfd) < 0)
        fprintf(stderr, "mpispool-run: rank %d: cannot set up its loop: %s\n",
                re->rank, strerror(errno));
    else
        worker_run(&w);
    struct wire_buf buf = {0};
    send_or_note(&w, WIRE_BYE, &buf, wire_encode_empty(&buf, WIRE_BYE));
    wire_flush();
    exec_watch_destroy(w.watch);
    evloop_destroy(w.loop);
    archive_store_destroy(w.archives);
    executor_destroy(w.ex);
    rankdir_remove(&rd);
    if (sigfd >= 0)
        close(sigfd);
    if (w.bell >= 0)
        close(w.bell);
    return 0;
}
