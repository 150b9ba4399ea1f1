/* SPDX-License-Identifier: MIT */
/* Rank 0: the coordinator's context, its setup and teardown, the one
 * entry point of what the ranks say, and the event loop that wires the
 * modules together. */
#include "coordinator.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>

#include "backend_local.h"
#include "backend_mpi.h"
#include "cancel.h"
#include "claim.h"
#include "copies.h"
#include "dispatch.h"
#include "evloop.h"
#include "finalize.h"
#include "job.h"
#include "journal.h"
#include "metrics.h"
#include "runopts.h"
#include "queue.h"
#include "ranks.h"
#include "recovery.h"
#include "requests.h"
#include "results.h"
#include "status.h"
#include "statusfile.h"
#include "util.h"

static void on_hello(struct coordinator *co, int r, const struct wire_hello *m)
{
    struct rank_slot *rs = &co->ranks[r];
    rs->hello = true;
    rs->slots = m->slots;
    rs->mem_total = m->mem_total;
    rs->gpus = m->gpus;
    snprintf(rs->host, sizeof rs->host, "%s", m->host);
    co->status_dirty = true;
    check_drain(co, r);
}

void coordinator_on_message(void *arg, int r, const struct wire_msg *msg)
{
    struct coordinator *co = arg;
    struct rank_slot *rs = &co->ranks[r];
    switch (msg->type) {
    case WIRE_HELLO:
        on_hello(co, r, &msg->u.hello);
        break;
    case WIRE_OUTPUT:
        write_output(co, msg->u.output.dispatch, msg->u.output.stream,
                     msg->u.output.data, msg->u.output.len);
        break;
    case WIRE_RESULT: {
        struct dispatch *d = dispatch_find(co, msg->u.result.dispatch);
        if (d && d->r == r)
            queue_result(co, d, &msg->u.result);
        else
            logmsg("result for unknown task attempt %llu from rank %d",
                   (unsigned long long)msg->u.result.dispatch, rs->rank);
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
        if (rs->tasks)
            dispatch_rank_lost(co, r);
        break;
    default:
        logmsg("unexpected message type %d from rank %d", (int)msg->type,
               rs->rank);
        break;
    }
}

/* ---- timers ---- */

static void on_rescan(struct evloop *loop, struct evloop_timer *t, void *arg)
{
    (void)loop, (void)t;
    struct coordinator *co = arg;
    if (!co->sp || co->stopping)
        return;
    /* A coordinator that died while we serve: adopt its jobs. */
    if (dead_journal_exists(co))
        recover(co);
    scan_new(co, true);
    scan_cancel(co);
    scan_drain(co);
    co->check_deps = true;
}

static void on_status(struct evloop *loop, struct evloop_timer *t, void *arg)
{
    (void)loop, (void)t;
    struct coordinator *co = arg;
    if (co->sp && co->status_dirty)
        write_status(co, co->stopping ? "stopping" : "running");
}

static void on_metrics(struct evloop *loop, struct evloop_timer *t, void *arg)
{
    (void)loop, (void)t;
    struct coordinator *co = arg;
    if (co->sp && co->metrics_dirty)
        write_metrics(co);
}

/* Nothing to do itself: the turn after it hands out the retries and sets
 * up the jobs that are due. */
static void on_wake(struct evloop *loop, struct evloop_timer *t, void *arg)
{
    (void)loop, (void)t, (void)arg;
}

static int64_t due_in_us(int64_t last, int64_t interval, int64_t now)
{
    int64_t due = last + interval - now;
    return due < 0 ? 0 : due;
}

static int min_ms(int a, int b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static void on_copy_child(struct evloop *loop, int fd, short revents, void *arg)
{
    (void)loop;
    struct coordinator *co = arg;
    struct pollfd ready = {.fd = fd, .events = POLLIN, .revents = revents};
    copies_handle(co->copies, &ready, 1);
}

/* Before each poll: the copy children to watch, and the timers of what
 * became due while the turn ran. */
static void before_poll(struct evloop *loop, void *arg)
{
    struct coordinator *co = arg;
    if (!co->sp)
        return;
    struct pollfd children[COPIES_MAX_RUNNING];
    int n = copies_pollfds(co->copies, children, COPIES_MAX_RUNNING);
    evloop_fdset_sync(loop, &co->copy_children, children, n, on_copy_child, co);
    int64_t now = util_mono_us();
    if (co->status_dirty) {
        co->metrics_dirty = true;
        if (!evloop_timer_armed(co->status))
            evloop_timer_arm(
                loop, co->status,
                due_in_us(co->last_status, STATUS_INTERVAL_US, now), 0);
    }
    if (co->opt->metrics_file && co->metrics_dirty &&
        !evloop_timer_armed(co->metrics))
        evloop_timer_arm(loop, co->metrics,
                         due_in_us(co->last_metrics, METRICS_INTERVAL_US, now),
                         0);
    int ms = min_ms(retry_wait_ms(co, now), pending_wait_ms(co, now));
    /* Stopping: a copy gets as long as a task's kill grace. */
    if (co->stopping)
        ms = min_ms(ms, copies_expire(co->copies,
                                      (int64_t)(co->opt->kill_grace_s * 1e6)));
    if (ms < 0)
        evloop_timer_disarm(loop, co->wake);
    else
        evloop_timer_arm(loop, co->wake, (int64_t)ms * 1000, 0);
}

static void on_signal(struct evloop *loop, int fd, short revents, void *arg)
{
    (void)loop, (void)revents;
    struct coordinator *co = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
        begin_stop(co, strsignal((int)si.ssi_signo));
}

/* The signals that stop the run (main blocked them; SIGCHLD is the local
 * backend's). */
static int stop_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1); /* mpirun forwards it without aborting */
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* ---- setup ---- */

/* The status and journal files of this coordinator, HOST-PID; a journal
 * of that name is a dead predecessor's (same host, same pid after a
 * reboot), moved aside for recovery to adopt. */
static int open_journal(struct coordinator *co, struct mps_error *err)
{
    statusfile_coord_name(co->re->host, (int)getpid(), co->name,
                          sizeof co->name);
    co->status_path = statusfile_path(co->sp, co->name);
    char file[320];
    snprintf(file, sizeof file, "%s.log", co->name);
    char *journal_path = spool_file(co->sp, SPOOL_JOURNAL, file);
    if (journal_path && access(journal_path, F_OK) == 0) {
        char *aside = NULL;
        if (asprintf(&aside, "%s.%lld.log", journal_path,
                     (long long)util_now_us()) >= 0)
            rename(journal_path, aside);
        free(aside);
    }
    co->journal = journal_path ? journal_open(journal_path, err) : NULL;
    free(journal_path);
    if (!co->status_path || !co->journal)
        return -1;
    snprintf(file, sizeof file, "%s.reserve", co->name);
    co->reserve_path = spool_file(co->sp, SPOOL_JOURNAL, file);
    return 0;
}

static int setup(struct coordinator *co, struct mps_error *err)
{
    co->sp = spool_open(co->opt->spool, err);
    if (!co->sp || open_journal(co, err) < 0)
        return -1;
    co->outpath = spool_file(co->sp, SPOOL_OUT, NULL);
    if (!co->outpath)
        return errprintf(err, "out of memory");
    co->outfd =
        open(co->outpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (co->outfd < 0)
        return errprintf(err, "cannot open '%s': %s", co->outpath,
                         strerror(errno));
    hold_reserve(co);
    /* drain/ and ids/ may be missing in a spool made before they existed. */
    struct mps_error drain_err;
    if (spool_ensure_dir(co->sp, SPOOL_DRAIN, &drain_err) < 0 ||
        spool_ensure_dir(co->sp, SPOOL_IDS, &drain_err) < 0)
        logmsg("%s", drain_err.text);
    co->requests = requests_create(co->sp, &request_ops, co, err);
    if (!co->requests)
        return -1;
    claim_watch(co);
    co->copies = copies_create(on_copied, co);
    co->looks = intake_cache_create(INTAKE_LOOKS);
    if (!co->copies || !co->looks)
        return errprintf(err, "out of memory");
    return 0;
}

/* The context, its loop and timers, and the record of each rank; no
 * backend yet. NULL with err. */
struct coordinator *coordinator_create(const struct run_options *opt,
                                       const struct rank_env *re, int nranks,
                                       struct mps_error *err)
{
    struct coordinator *co = calloc(1, sizeof *co);
    if (!co) {
        errprintf(err, "out of memory");
        return NULL;
    }
    co->opt = opt;
    co->re = re;
    co->inotify_fd = co->sigfd = -1;
    co->new_wd = co->cancel_wd = co->drain_wd = -1;
    co->reserve_fd = co->outfd = -1;
    co->started_us = util_now_us();
    co->nranks = nranks;
    if (!(co->ranks = calloc((size_t)nranks, sizeof *co->ranks)) ||
        !(co->loop = evloop_create()) ||
        !(co->rescan = evloop_timer_create(co->loop, on_rescan, co)) ||
        !(co->status = evloop_timer_create(co->loop, on_status, co)) ||
        !(co->metrics = evloop_timer_create(co->loop, on_metrics, co)) ||
        !(co->wake = evloop_timer_create(co->loop, on_wake, co))) {
        coordinator_destroy(co);
        errprintf(err, "out of memory");
        return NULL;
    }
    evloop_set_before_poll(co->loop, before_poll, co);
    return co;
}

struct evloop *coordinator_loop(struct coordinator *co)
{
    return co->loop;
}

int coordinator_start(struct coordinator *co, struct backend *b,
                      struct mps_error *err)
{
    co->backend = b;
    for (int r = 0; r < co->nranks; r++)
        co->ranks[r].rank = backend_rank_number(b, r);
    co->sigfd = stop_signalfd();
    if (co->sigfd < 0)
        return errprintf(err, "cannot create a signalfd: %s", strerror(errno));
    if (evloop_fd_add(co->loop, co->sigfd, EVLOOP_IN, on_signal, co) < 0)
        return errprintf(err, "out of memory");
    if (setup(co, err) < 0) {
        co->stopping = true;
        journal_close(co->journal, false);
        co->journal = NULL;
        requests_destroy(co->requests);
        co->requests = NULL;
        spool_close(co->sp);
        co->sp = NULL;
        return -1;
    }
    logmsg("serving spool '%s' with %d rank%s (status: %s)", spool_path(co->sp),
           co->re->size, co->re->size == 1 ? "" : "s", co->status_path);
    recover(co);
    scan_new(co, false);
    scan_cancel(co);
    scan_drain(co);
    int64_t period = (int64_t)(co->opt->rescan_s * 1e6);
    evloop_timer_arm(co->loop, co->rescan, period, period);
    write_status(co, "running");
    return 0;
}

/* ---- the loop ---- */

static void shutdown_ranks(struct coordinator *co)
{
    co->shutdown_sent = true;
    co->backend->ops->shutdown(co->backend);
}

/* The work of a turn before its poll: hand out tasks, claim more, and see
 * whether the run is over. Returns false to poll no more this turn (look
 * again at once). */
static bool serve(struct coordinator *co)
{
    dispatch(co);
    retry_pending(co);
    /* Jobs left in new/ while we had enough, or a scan that ran out of
     * time: go on now. */
    if (!co->stopping && (co->scan_again || (co->claims_deferred &&
                                             jobs_waiting(co) < CLAIM_AHEAD))) {
        scan_new(co, false);
        dispatch(co);
    }
    bool quiet = !co->jobs && !attempts_out(co);
    if (!co->shutdown_sent && quiet &&
        (co->stopping || (co->opt->until_empty && all_ranks_said_hello(co)))) {
        if (!co->stopping) {
            scan_new(co, false);
            if (co->jobs)
                return false;
        }
        shutdown_ranks(co);
    }
    if (co->stopping && !co->shutdown_sent && !attempts_out(co)) {
        release_jobs(co);
        return false;
    }
    return true;
}

bool coordinator_turn(struct coordinator *co)
{
    if (!co->sp && !co->shutdown_sent)
        shutdown_ranks(co); /* setup failed: release the ranks and leave */
    if (co->sp && !serve(co))
        return true;
    if (co->shutdown_sent && all_ranks_said_bye(co))
        return false;
    copies_flush(co->copies); /* results of dispatch's send failures */
    int cap = co->backend->ops->poll_cap_ms(co->backend);
    if (co->sp && co->scan_again && !co->stopping)
        cap = 0;
    if (evloop_run_once(co->loop, cap) < 0) {
        logmsg("poll: %s", strerror(errno));
        return false;
    }
    co->backend->ops->progress(co->backend);
    copies_flush(co->copies);
    if (co->sp) {
        process_ended(co);
        finalize_ended_jobs(co);
    }
    return true;
}

/* ---- the end ---- */

int coordinator_finish(struct coordinator *co)
{
    if (co->sp) {
        release_jobs(co);
        write_status(co, "stopped");
        if (co->opt->metrics_file)
            write_metrics(co);
        logmsg("stopped: %lu job%s done, %lu failed, %lu rejected",
               co->jobs_done, co->jobs_done == 1 ? "" : "s", co->jobs_failed,
               co->jobs_rejected);
    }
    return 0;
}

void coordinator_destroy(struct coordinator *co)
{
    if (!co)
        return;
    if (co->backend)
        co->backend->ops->destroy(co->backend);
    evloop_fdset_clear(co->loop, &co->copy_children);
    copies_destroy(co->copies);
    results_drop(co);
    dispatch_free_all(co);
    /* Left by a run torn down without coordinator_finish (a test's crash):
     * their files stay where they are, for the next coordinator. */
    while (co->jobs) {
        struct job *job = co->jobs;
        co->jobs = job->next_job;
        job_free(job);
    }
    while (co->pending) {
        struct pending *p = co->pending;
        co->pending = p->next;
        pending_free(p);
    }
    intake_cache_destroy(co->looks);
    intake_announced_clear(&co->announced);
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
    if (co->inotify_fd >= 0)
        close(co->inotify_fd);
    if (co->sigfd >= 0)
        close(co->sigfd);
    evloop_destroy(co->loop); /* its timers with it */
    free(co);
}

int coordinator_main(const struct run_options *opt, const struct rank_env *re)
{
    struct mps_error err;
    bool alone = re->size == 1;
    struct coordinator *co =
        coordinator_create(opt, re, alone ? 1 : re->size - 1, &err);
    struct backend *b = NULL;
    if (co)
        b = alone ? backend_local_create(co->loop, opt, re,
                                         coordinator_on_message, co, &err)
                  : backend_mpi_create(co->loop, re->size - 1, re->bell_listen,
                                       coordinator_on_message, co, &err);
    if (!b) {
        fprintf(stderr, "mpispool-run: %s\n", err.text);
        coordinator_destroy(co);
        return 1;
    }
    int rc = 0;
    if (coordinator_start(co, b, &err) < 0) {
        fprintf(stderr, "mpispool-run: %s\n", err.text);
        rc = 1;
    }
    while (coordinator_turn(co))
        ;
    coordinator_finish(co);
    coordinator_destroy(co);
    return rc;
}
