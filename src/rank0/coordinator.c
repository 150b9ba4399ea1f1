/* SPDX-License-Identifier: MIT */
/* Rank 0: the coordinator's context, its setup and teardown, and the event loop that wires the modules together. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archives.h"
#include "asuser.h"
#include "backend_local.h"
#include "backend_mpi.h"
#include "cancel.h"
#include "claim.h"
#include "coordinator.h"
#include "copies.h"
#include "dispatch.h"
#include "doorbell.h"
#include "executor.h"
#include "finalize.h"
#include "idle.h"
#include "intake.h"
#include "job.h"
#include "jobfile.h"
#include "journal.h"
#include "metrics.h"
#include "options.h"
#include "outdir.h"
#include "outpattern.h"
#include "queue.h"
#include "rank0.h"
#include "rankdir.h"
#include "ranks.h"
#include "recovery.h"
#include "requests.h"
#include "results.h"
#include "spool.h"
#include "status.h"
#include "taskfile.h"
#include "transport.h"
#include "util.h"

void logmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mpispool-run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void handle_message(struct coordinator *co, struct wire_msg *msg)
{
    int r = msg->source - 1;
    if (r < 0 || r >= co->nranks) {
        logmsg("message from unexpected rank %d dropped", msg->source);
        return;
    }
    struct rank_slot *rs = &co->ranks[r];
    switch (msg->type) {
    case WIRE_HELLO:
        rs->hello = true;
        rs->slots = msg->u.hello.slots;
        rs->mem_total = msg->u.hello.mem_total;
        rs->gpus = msg->u.hello.gpus;
        snprintf(rs->host, sizeof rs->host, "%s", msg->u.hello.host);
        co->status_dirty = true;
        check_drain(co, r);
        break;
    case WIRE_OUTPUT:
        write_output(co, msg->u.output.dispatch, msg->u.output.stream,
                     msg->u.output.data, msg->u.output.len);
        break;
    case WIRE_RESULT: {
        struct dispatch *d = dispatch_find(co, msg->u.result.dispatch);
        if (d && d->rank == msg->source)
            queue_result(co, d, &msg->u.result);
        else
            logmsg("result for unknown task attempt %llu from rank %d",
                   (unsigned long long)msg->u.result.dispatch, msg->source);
        break;
    }
    case WIRE_HEARTBEAT:
        rs->load = msg->u.heartbeat.load;
        note_owner(co, r, msg->u.heartbeat.owner_active,
                   msg->u.heartbeat.reason, msg->u.heartbeat.since_us);
        co->status_dirty = true;
        break;
    case WIRE_BYE:
        rs->bye = true;
        co->status_dirty = true;
        break;
    default:
        logmsg("unexpected message type %d from rank %d", (int)msg->type,
               msg->source);
        break;
    }
}

static int min_timeout(int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

int coordinator_main(const struct run_options *opt, const struct rank_env *re)
{
    struct coordinator co_storage;
    struct coordinator *co = &co_storage;
    memset(co, 0, sizeof *co);
    co->opt = opt;
    co->re = re;
    co->inotify_fd = co->sigfd = -1;
    co->rankdir.fd = -1;
    co->reserve_fd = co->outfd = -1;
    co->bell_listen = re->bell_listen;
    co->started_us = util_now_us();
    struct mps_error err;
    int rc = 0;
    if (setup(co, &err) < 0) {
        fprintf(stderr, "mpispool-run: %s\n", err.text);
        rc = 1;
        co->stopping = true;
        journal_close(co->journal, false);
        co->journal = NULL;
        requests_destroy(co->requests);
        co->requests = NULL;
        spool_close(co->sp);
        co->sp = NULL;
    } else {
        logmsg("serving spool '%s' with %d rank%s (status: %s)",
               spool_path(co->sp), re->size, re->size == 1 ? "" : "s",
               co->status_path);
        recover(co);
        scan_new(co, false);
        scan_cancel(co);
        scan_drain(co);
        co->next_rescan = util_mono_us() + (int64_t)(opt->rescan_s * 1e6);
        write_status(co, "running");
    }

    bool busy_turn = false;
    bool shutdown_sent = false;
    while (co->sp || !shutdown_sent || !all_ranks_said_bye(co)) {
        if (!co->sp && !shutdown_sent) {
            /* Setup failed: release the workers and leave. */
            if (!co->local)
                send_shutdown(co);
            shutdown_sent = true;
            if (co->local)
                break;
        }
        if (co->sp) {
            check_local_idle(co);
            dispatch(co);
            retry_pending(co);
            /* Jobs left in new/ while we had enough, or a scan that ran
             * out of time: go on now. */
            if (!co->stopping &&
                (co->scan_again ||
                 (co->claims_deferred && jobs_waiting(co) < CLAIM_AHEAD))) {
                scan_new(co, false);
                dispatch(co);
            }
            int64_t now = util_mono_us();
            if (co->status_dirty) {
                co->metrics_dirty = true;
                if (now - co->last_status >= STATUS_INTERVAL_US)
                    write_status(co, co->stopping ? "stopping" : "running");
            }
            if (opt->metrics_file && co->metrics_dirty &&
                now - co->last_metrics >= METRICS_INTERVAL_US)
                write_metrics(co);
            bool quiet = !co->jobs && !attempts_out(co);
            if (!shutdown_sent && quiet &&
                (co->stopping ||
                 (opt->until_empty && all_ranks_said_hello(co)))) {
                if (!co->stopping) {
                    scan_new(co, false);
                    if (co->jobs)
                        continue;
                }
                if (co->local)
                    break;
                send_shutdown(co);
                shutdown_sent = true;
            }
            if (co->stopping && !shutdown_sent && !attempts_out(co)) {
                release_jobs(co);
                continue;
            }
            if (shutdown_sent && all_ranks_said_bye(co))
                break;
        }

        copies_flush(co->copies); /* results of dispatch's send failures */
        int64_t now = util_mono_us();
        int timeout;
        /* Workers ring their doorbell after each message; one without a
         * doorbell, or a send still in progress, makes us look at MPI. */
        bool all_bells = all_ranks_have_bells(co);
        bool remote_active =
            !co->local &&
            (!all_ranks_said_hello(co) ||
             (!all_bells && (co->ndispatched > 0 || shutdown_sent)));
        if (busy_turn)
            timeout = 0;
        else if (remote_active || wire_pending_bytes() ||
                 now - co->last_ring < RING_LINGER_US)
            timeout = BUSY_POLL_MS;
        else
            timeout =
                all_bells && !co->local ? BELL_IDLE_POLL_MS : IDLE_POLL_MS;
        if (co->sp) {
            int rescan = (int)((co->next_rescan - now) / 1000);
            timeout = min_timeout(timeout, rescan < 0 ? 0 : rescan);
            timeout = min_timeout(timeout, retry_wait_ms(co, now));
            timeout = min_timeout(timeout, pending_wait_ms(co, now));
            if (co->scan_again && !co->stopping)
                timeout = 0;
            if (co->status_dirty) {
                int64_t due = co->last_status + STATUS_INTERVAL_US - now;
                timeout = min_timeout(timeout, due < 0 ? 0 : (int)(due / 1000));
            }
            if (opt->metrics_file && co->metrics_dirty) {
                int64_t due = co->last_metrics + METRICS_INTERVAL_US - now;
                timeout = min_timeout(timeout, due < 0 ? 0 : (int)(due / 1000));
            }
        }
        if (co->local)
            timeout = min_timeout(timeout, executor_timers(co->local));
        if (co->local && co->opt->idle && !co->stopping) {
            int64_t due = (co->next_idle_check - now) / 1000;
            timeout = min_timeout(timeout, due < 0 ? 0 : (int)due);
        }
        /* Stopping: a copy gets as long as a task's kill grace. */
        if (co->stopping)
            timeout = min_timeout(
                timeout, copies_expire(co->copies,
                                       (int64_t)(co->opt->kill_grace_s * 1e6)));

        struct pollfd *fds = co->pfds;
        int n = 0;
        int sig_i = -1, ino_i = -1, listen_i = -1, bells_i = 0;
        if (co->sigfd >= 0) {
            sig_i = n;
            fds[n++] = (struct pollfd){.fd = co->sigfd, .events = POLLIN};
        }
        if (co->inotify_fd >= 0) {
            ino_i = n;
            fds[n++] = (struct pollfd){.fd = co->inotify_fd, .events = POLLIN};
        }
        if (co->bell_listen >= 0) {
            listen_i = n;
            fds[n++] = (struct pollfd){.fd = co->bell_listen, .events = POLLIN};
        }
        bells_i = n;
        for (int r = 0; r < co->nranks; r++)
            if (co->bells[r] >= 0)
                fds[n++] =
                    (struct pollfd){.fd = co->bells[r], .events = POLLIN};
        int nfixed = n;
        if (co->local)
            n += executor_pollfds(co->local, fds + n, MAX_TASK_FDS);
        int copies_i = n;
        n += copies_pollfds(co->copies, fds + n, COPIES_MAX_RUNNING);
        if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
            logmsg("poll: %s", strerror(errno));
            break;
        }
        if (sig_i >= 0 && (fds[sig_i].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(co->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    if (co->local)
                        executor_reap(co->local);
                } else {
                    begin_stop(co, strsignal((int)si.ssi_signo));
                }
            }
        }
        if (ino_i >= 0 && (fds[ino_i].revents & POLLIN))
            read_inotify(co);
        if (listen_i >= 0 && (fds[listen_i].revents & POLLIN))
            accept_bells(co);
        for (int i = bells_i; i < nfixed; i++)
            if (fds[i].revents)
                drain_bell(co, fds[i].fd);
        if (co->local) {
            executor_handle(co->local, fds + nfixed, copies_i - nfixed);
            executor_timers(co->local);
        }
        copies_handle(co->copies, fds + copies_i, n - copies_i);
        if (co->sp && util_mono_us() >= co->next_rescan) {
            if (!co->stopping) {
                /* A coordinator that died while we serve: adopt its jobs. */
                if (dead_journal_exists(co))
                    recover(co);
                scan_new(co, true);
                scan_cancel(co);
                scan_drain(co);
                co->check_deps = true;
            }
            co->next_rescan = util_mono_us() + (int64_t)(opt->rescan_s * 1e6);
        }
        wire_progress();
        busy_turn = !co->local && receive_messages(co) > 0;
        copies_flush(co->copies);
        if (co->sp) {
            process_ended(co);
            finalize_ended_jobs(co);
        }
    }

    if (co->sp) {
        release_jobs(co);
        write_status(co, "stopped");
        if (opt->metrics_file)
            write_metrics(co);
        logmsg("stopped: %lu job%s done, %lu failed, %lu rejected",
               co->jobs_done, co->jobs_done == 1 ? "" : "s", co->jobs_failed,
               co->jobs_rejected);
    }
    wire_flush();
    copies_destroy(co->copies);
    intake_cache_destroy(co->looks);
    intake_announced_clear(&co->announced);
    executor_destroy(co->local);
    rankdir_remove(&co->rankdir);
    /* Nothing left claimed: the journal has no more use. */
    journal_close(co->journal, co->journal && co->kept_jobs == 0);
    if (co->reserve_path)
        unlink(co->reserve_path);
    if (co->reserve_fd >= 0)
        close(co->reserve_fd);
    free(co->reserve_path);
    if (co->outfd >= 0)
        close(co->outfd);
    free(co->outpath);
    requests_destroy(co->requests);
    spool_close(co->sp);
    free(co->status_path);
    free(co->ranks);
    for (int r = 0; co->bells && r < co->nranks; r++)
        if (co->bells[r] >= 0)
            close(co->bells[r]);
    free(co->bells);
    free(co->pfds);
    if (co->bell_listen >= 0)
        close(co->bell_listen);
    if (co->inotify_fd >= 0)
        close(co->inotify_fd);
    if (co->sigfd >= 0)
        close(co->sigfd);
    return rc;
}
