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
#include "rankdir.h"
#include "doorbell.h"
#include "executor.h"
#include "idle.h"
#include "options.h"
#include "transport.h"
#include "util.h"

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
    struct archive_store *archives; /* job archives rank 0 sent */
    int bell;                       /* doorbell to rank 0, or -1 */
    bool failed_send;
    struct idle_monitor idle; /* with --idle-policy */
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

struct wire_result worker_result_message(uint64_t dispatch,
                                         const struct exec_result *res)
{
    return (struct wire_result){
        .dispatch = dispatch,
        .start_us = res->start_us,
        .end_us = res->end_us,
        .exit_code = res->exit_code,
        .signal = res->signal,
        .timed_out = res->timed_out,
        .interrupted = res->interrupted,
        .error = (char *)res->error,
        .cores = (char *)res->cores,
        .gpus = (char *)res->gpus,
        .max_rss_kb = res->max_rss_kb,
        .user_s = res->user_s,
        .system_s = res->system_s,
        .stdout_bytes = res->stdout_bytes,
        .stderr_bytes = res->stderr_bytes,
        .nsteps = (uint32_t)res->nsteps,
        .steps = (struct step_record *)res->steps,
    };
}

static void on_result(void *arg, uint64_t dispatch,
                      const struct exec_result *res)
{
    struct wire_result m = worker_result_message(dispatch, res);
    struct wire_buf buf = {0};
    int rc = wire_encode_result(&buf, &m);
    send_or_note(arg, WIRE_RESULT, &buf, rc);
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

bool run_idle_check(const struct idle_policy *p, struct idle_monitor *m,
                    struct executor *ex, int rank, const char *host,
                    double grace_s, void (*announce)(void *), void *arg)
{
    double load = idle_read_load(p);
    /* The owner's load: ours (the running tasks' cpus) taken out. */
    double own = ex && !executor_suspended(ex) ? executor_busy(ex) : 0;
    double owner_load = load < 0 ? -1 : load > own ? load - own : 0;
    if (!idle_monitor_update(m, p, util_now_us(), idle_last_input_us(p),
                             owner_load))
        return false;
    if (announce)
        announce(arg);
    bool requeue = idle_policy_action(p) == IDLE_REQUEUE;
    unsigned running = ex ? executor_running(ex) : 0;
    if (m->owner_active) {
        fprintf(stderr,
                "mpispool-run: rank %d (%s): the owner is active (%s); "
                "taking no tasks%s\n",
                rank, host, idle_reason_name(m->reason),
                !running  ? ""
                : requeue ? ", ending the running ones to run them again"
                          : ", suspending the running ones");
        if (ex && requeue)
            executor_interrupt(ex, grace_s);
        else if (ex)
            executor_suspend(ex, true);
    } else {
        fprintf(stderr,
                "mpispool-run: rank %d (%s): idle again; taking tasks%s\n",
                rank, host,
                ex && executor_suspended(ex) && running
                    ? ", resuming the suspended ones"
                    : "");
        if (ex)
            executor_suspend(ex, false);
    }
    return true;
}

static void run_task(struct worker *w, const struct wire_task *m)
{
    if (w->idle.owner_active) {
        /* Sent before rank 0 heard that the owner came back. */
        struct exec_result res = {
            .exit_code = -1,
            .interrupted = true,
            .error = "not started: the owner of the PC is active"};
        res.start_us = res.end_us = util_now_us();
        on_result(w, m->dispatch, &res);
        return;
    }
    struct exec_task t = {
        .dispatch = m->dispatch,
        .job = m->job,
        .task = m->task,
        .attempt = m->attempt,
        .cpus = m->cpus,
        .memory = m->memory,
        .gpus = m->gpus,
        .timeout = m->timeout,
        .shell = m->shell,
        .inherit = m->inherit,
        .argv = m->argv,
        .cwd = m->cwd,
        .submit_dir = m->submit_dir,
        .env = m->env,
        .archive_limits = &w->opt->archive_limits,
        .as_user = m->as_user,
        .uid = m->uid,
        .gid = m->gid,
        .ngroups = m->ngroups,
        .groups = m->groups,
        .steps = m->steps,
        .nsteps = m->nsteps,
        .continue_on_error = m->continue_on_error,
        .interpreter = m->interpreter,
        .ntasks = m->ntasks,
        .line = m->line,
    };
    struct mps_error err;
    t.archive_copy = true;
    if (m->archive &&
        !(t.archive = archive_store_path(w->archives, m->job, &err))) {
        struct exec_result res = {.exit_code = -1, .error = err.text};
        res.start_us = res.end_us = util_now_us();
        on_result(w, m->dispatch, &res);
        return;
    }
    if (executor_submit(w->ex, &t) < 0) {
        struct exec_result res = {.exit_code = -1,
                                  .error = "out of memory on the worker"};
        res.start_us = res.end_us = 0;
        on_result(w, m->dispatch, &res);
    }
}

int worker_main(const struct run_options *opt, const struct rank_env *re)
{
    struct worker w = {.bell = re->bell, .opt = opt};
    struct mps_error err;
    /* Its tasks' work directories and its copies of job archives. */
    struct rankdir rd;
    struct exec_callbacks cb = {on_output, on_result, &w};
    if (rankdir_create(opt->workdir, re->rank, &rd, &err) < 0)
        ; /* err says why */
    else if (!(w.archives = archive_store_create(rd.fd, rd.path)))
        errprintf(&err, "out of memory");
    else
        w.ex = executor_create(re->slots, rd.path, &cb, &err);
    if (w.ex) {
        executor_set_policy(w.ex, opt->policy);
        executor_set_kill_grace(w.ex, opt->kill_grace_s);
        executor_set_max_output(w.ex, opt->max_output);
        run_place_tasks(w.ex, opt, re);
    }
    int sigfd = run_signalfd();
    if (!w.ex || sigfd < 0) {
        fprintf(stderr, "mpispool-run: rank %d: %s\n", re->rank,
                w.ex ? "cannot create a signalfd" : err.text);
        /* Still take part: rank 0 waits for every rank's HELLO and BYE. */
    }

    struct wire_hello hello = {
        .host = (char *)re->host,
        .slots = w.ex ? executor_slots(w.ex) : 0,
        .gpus = w.ex ? executor_gpus(w.ex) : 0,
        .mem_total = re->mem_total,
        .local_rank = (uint32_t)re->local_rank,
        .pid = (uint32_t)getpid(),
    };
    struct wire_buf buf = {0};
    send_or_note(&w, WIRE_HELLO, &buf, wire_encode_hello(&buf, &hello));
    /* Test hook (tests/mpi/malformed.sh): messages rank 0 must log and
     * drop: bad magic, unknown version, a tag of no type, a length that
     * disagrees with the payload. */
    if (getenv("MPISPOOL_TEST_SEND_GARBAGE")) {
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
    /* Tell rank 0 at once whether the owner is here. */
    int64_t next_idle_check = util_mono_us() + IDLE_CHECK_US;
    if (opt->idle) {
        if (!run_idle_check(opt->idle, &w.idle, w.ex, re->rank, re->host,
                            opt->kill_grace_s, send_heartbeat, &w))
            send_heartbeat(&w);
    }

    bool shutting_down = false, terminating = false;
    int64_t last_activity = util_mono_us();
    int64_t next_heartbeat = util_mono_us() + HEARTBEAT_US;
    struct pollfd fds[1 + 512];
    for (;;) {
        int n = 0;
        if (sigfd >= 0)
            fds[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        int bell_i = -1;
        if (w.bell >= 0) {
            bell_i = n;
            fds[n++] = (struct pollfd){.fd = w.bell, .events = POLLIN};
        }
        int nfixed = n;
        if (w.ex)
            n += executor_pollfds(w.ex, fds + n,
                                  (int)(sizeof fds / sizeof *fds) - n);
        /* Suspended tasks (--idle-policy) make no output: while the
         * owner uses the PC the rank stays as quiet as an idle one. */
        bool busy = w.ex && !executor_suspended(w.ex) &&
                    (executor_running(w.ex) || executor_queued(w.ex));
        if (busy || wire_pending_bytes())
            last_activity = util_mono_us();
        int timeout = util_mono_us() - last_activity < LINGER_US ? BUSY_POLL_MS
                      : w.bell >= 0 ? BELL_IDLE_POLL_MS
                                    : IDLE_POLL_MS;
        int timer = w.ex ? executor_timers(w.ex) : -1;
        if (timer >= 0 && timer < timeout)
            timeout = timer;
        if (opt->idle) {
            int64_t due = (next_idle_check - util_mono_us()) / 1000;
            if (due < timeout)
                timeout = due < 0 ? 0 : (int)due;
        }
        if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        if (bell_i >= 0 && fds[bell_i].revents) {
            last_activity = util_mono_us();
            if (doorbell_drain(w.bell) < 0) {
                close(w.bell);
                w.bell = -1;
            }
        }
        if (sigfd >= 0 && (fds[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    if (w.ex)
                        executor_reap(w.ex);
                } else if (!terminating && w.ex) {
                    /* mpirun passes on SIGTERM/SIGINT: end our tasks and
                     * let rank 0 decide what they mean. mpirun kills us
                     * soon after, so the grace is at most 2 s here. */
                    terminating = true;
                    executor_cancel(w.ex, 0, opt->kill_grace_s);
                }
            }
        }
        if (w.ex) {
            executor_handle(w.ex, fds + nfixed, n - nfixed);
            executor_timers(w.ex);
        }
        wire_progress();
        if (w.ex) {
            size_t pending = wire_pending_bytes();
            if (pending > OUTPUT_HIGH_WATER)
                executor_pause_output(w.ex, true);
            else if (pending < OUTPUT_LOW_WATER)
                executor_pause_output(w.ex, false);
        }
        if (opt->idle && !terminating && util_mono_us() >= next_idle_check) {
            /* A change is announced at once (send_heartbeat). */
            if (run_idle_check(opt->idle, &w.idle, w.ex, re->rank, re->host,
                               opt->kill_grace_s, send_heartbeat, &w))
                next_heartbeat = util_mono_us() + HEARTBEAT_US;
            next_idle_check = util_mono_us() + IDLE_CHECK_US;
        }
        if (util_mono_us() >= next_heartbeat) {
            send_heartbeat(&w);
            next_heartbeat = util_mono_us() + HEARTBEAT_US;
        }
        struct wire_msg msg;
        while (wire_recv(&msg) == 1) {
            last_activity = util_mono_us();
            if (msg.type == WIRE_TASK && w.ex && !terminating)
                run_task(&w, &msg.u.task);
            else if (msg.type == WIRE_TASK)
                on_result(&w, msg.u.task.dispatch,
                          &(struct exec_result){
                              .exit_code = -1,
                              .error = "the worker is shutting down"});
            else if (msg.type == WIRE_ARCHIVE && w.archives)
                archive_store_chunk(w.archives, msg.u.archive.job,
                                    msg.u.archive.total, msg.u.archive.offset,
                                    msg.u.archive.data, msg.u.archive.len);
            else if (msg.type == WIRE_CANCEL && w.ex)
                executor_cancel(w.ex, msg.u.cancel.dispatch,
                                msg.u.cancel.grace);
            else if (msg.type == WIRE_SHUTDOWN)
                shutting_down = true;
            wire_msg_clear(&msg);
        }
        if (shutting_down &&
            (!w.ex || (!executor_running(w.ex) && !executor_queued(w.ex))))
            break;
    }
    buf = (struct wire_buf){0};
    send_or_note(&w, WIRE_BYE, &buf, wire_encode_empty(&buf, WIRE_BYE));
    wire_flush();
    archive_store_destroy(w.archives);
    executor_destroy(w.ex);
    rankdir_remove(&rd);
    if (sigfd >= 0)
        close(sigfd);
    if (w.bell >= 0)
        close(w.bell);
    return 0;
}
