/* SPDX-License-Identifier: MIT */
/* mpispool wait: block until jobs end, with a progress bar. */
#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "format.h"
#include "progress.h"
#include "reportread.h"
#include "spool.h"
#include "statusfile.h"
#include "statusmodel.h"
#include "util.h"

/* ------------------------------------------------------------ wait */

static const char wait_usage[] =
    "Usage: mpispool wait [--timeout SECONDS] [--quiet] JOBID...\n"
    "\n"
    "Block until every JOBID has ended: its job file is in done/, failed/\n"
    "or rejected/, or its owner withdrew it while it was queued (it is\n"
    "then cancelled). wait sleeps on inotify events of the spool and\n"
    "rescans every 2 seconds (for NFS, where inotify sees no other host's\n"
    "changes).\n"
    "\n"
    "A progress bar on stderr shows the tasks done (succeeded or failed),\n"
    "failed and running, the jobs ended (of several), tasks per second\n"
    "and the time left (ETA): redrawn in place on a terminal, else a plain\n"
    "line 'progress: 12/40 tasks, 1 failed, 4 running, 2.0 tasks/s, ETA\n"
    "14s' when the counts change, at most one a second, and one at the\n"
    "end. Each job that ends gets a line on\n"
    "stderr: 'JOBID done', 'JOBID failed: 3 of 10 tasks failed',\n"
    "'JOBID cancelled before it started' or 'JOBID rejected: REASON'.\n"
    "\n"
    "Options:\n"
    "      --timeout SECONDS give up after SECONDS (exit 1)\n"
    "  -q, --quiet           print nothing but errors\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL)\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 every job succeeded (is in done/); 1 a job failed, was\n"
    "cancelled or rejected, a job is unknown, or the timeout passed; 2\n"
    "usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool wait 20261124-0007\n"
    "  id=$(mpispool submit job.json) && mpispool wait --timeout 600 \"$id\" "
    "&&\n"
    "      mpispool report \"$id\"\n";

#define WAIT_RESCAN_MS 2000

struct waited {
    const char *id;
    int where;  /* enum spool_dir, or -1 */
    bool ended; /* in done/, failed/ or rejected/ */
    bool counted;
    long long tasks, done, failed; /* from report.json, once ended */
};

struct waiter {
    struct spool *sp;
    struct waited *jobs;
    size_t njobs, nended;
    bool quiet, progress;
    struct pbar bar; /* progress.c */
    json_t *status;  /* status files, for the progress line */
};

/* Erase the progress line before printing a line of our own. */
static void progress_clear(struct waiter *w)
{
    pbar_clear(&w->bar);
}

/* Show the progress: at the end (final) the last counts. */
static void progress_show(struct waiter *w, bool final)
{
    long long tasks = 0, done = 0, failed = 0, running = 0;
    for (size_t i = 0; i < w->njobs; i++) {
        struct waited *job = &w->jobs[i];
        if (job->ended) {
            tasks += job->tasks;
            done += job->done;
            failed += job->failed;
            continue;
        }
        size_t c, j;
        json_t *st, *entry;
        json_array_foreach(w->status, c, st)
        {
            json_array_foreach(json_object_get(st, SF_JOBS), j, entry)
            {
                const char *id =
                    json_string_value(json_object_get(entry, SF_JOB));
                if (!id || strcmp(id, job->id) != 0)
                    continue;
                tasks += fmt_member_int(entry, SF_JOB_TASKS);
                done += fmt_member_int(entry, SF_JOB_SUCCEEDED) +
                        fmt_member_int(entry, SF_JOB_FAILED);
                failed += fmt_member_int(entry, SF_JOB_FAILED);
                running += fmt_member_int(entry, SF_JOB_RUNNING);
            }
        }
    }
    struct pbar_counts c = {.tasks = tasks,
                            .done = done,
                            .failed = failed,
                            .running = running,
                            .completed = -1,
                            .jobs = w->njobs,
                            .jobs_ended = w->nended};
    if (final)
        pbar_finish(&w->bar, &c);
    else
        pbar_update(&w->bar, &c);
}

/* A job has ended: note its counts and say how it went. */
static void job_ended(struct waiter *w, struct waited *job)
{
    job->ended = true;
    w->nended++;
    char *reason = NULL;
    if (job->where == SPOOL_CANCEL) {
        /* withdrawn by its owner before it started: no report yet */
    } else if (job->where != SPOOL_REJECTED) {
        char *path = report_path(w->sp, job->id);
        struct report rep;
        struct mps_error err;
        if (path && report_load(path, false, &rep, &err) == 0) {
            json_t *counts = json_object_get(rep.head, "counts");
            job->tasks = fmt_member_int(counts, "tasks");
            job->failed = fmt_member_int(counts, "failed");
            job->done = fmt_member_int(counts, "succeeded") + job->failed;
            job->counted = true;
            report_clear(&rep);
        }
        free(path);
    } else {
        reason = report_rejected_reason(w->sp, job->id);
    }
    if (!w->quiet) {
        progress_clear(w);
        if (job->where == SPOOL_DONE)
            fprintf(stderr, "%s done\n", job->id);
        else if (job->where == SPOOL_REJECTED)
            fprintf(stderr, "%s rejected: %s\n", job->id,
                    reason ? reason : "(no reason given)");
        else if (job->where == SPOOL_CANCEL)
            fprintf(stderr, "%s cancelled before it started\n", job->id);
        else if (job->counted)
            fprintf(stderr, "%s failed: %lld of %lld tasks failed\n", job->id,
                    job->failed, job->tasks);
        else
            fprintf(stderr, "%s failed\n", job->id);
    }
    free(reason);
}

/* Look where each job is; returns -1 when a job has vanished. */
static int wait_scan(struct waiter *w)
{
    for (size_t i = 0; i < w->njobs; i++) {
        struct waited *job = &w->jobs[i];
        if (job->ended)
            continue;
        /* spool_locate looks in the order jobs move, so a job is found
         * even while it moves; a coordinator that stops puts its jobs
         * back from cur/ into new/, so look again before giving up. */
        job->where = spool_locate(w->sp, job->id);
        for (int again = 0; job->where < 0 && again < 3; again++)
            job->where = spool_locate(w->sp, job->id);
        if (spool_ended(job->where)) {
            job_ended(w, job);
        } else if (job->where < 0) {
            progress_clear(w);
            cli_error("job '%s' disappeared from spool '%s'", job->id,
                      spool_path(w->sp));
            return -1;
        }
    }
    return 0;
}

/* Read (and discard) the pending inotify events; returns whether one was
 * about status/ (wd status_wd). */
static bool drain_events(int fd, int status_wd)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool status = false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->wd == status_wd || (ev->mask & IN_Q_OVERFLOW))
                status = true;
            p += sizeof *ev + ev->len;
        }
    }
    return status;
}

static void print_timeout(const struct waiter *w, double timeout)
{
    fprintf(stderr, "mpispool: timed out after %g s waiting for ", timeout);
    size_t shown = 0, left = 0;
    for (size_t i = 0; i < w->njobs; i++) {
        if (w->jobs[i].ended)
            continue;
        if (shown < 5)
            fprintf(stderr, "%s%s", shown ? ", " : "", w->jobs[i].id);
        else
            left++;
        shown++;
    }
    if (left)
        fprintf(stderr, " and %zu more", left);
    fputc('\n', stderr);
}

/* wait's options into cl, *quiet and *timeout (-1: none); -1 to go on,
 * else the exit code (cl freed). */
static int wait_options(struct cli_cmdline *cl, bool *quiet, double *timeout)
{
    int c, rc;
    while ((c = cli_cmdline_next(cl)) != -1) {
        switch (c) {
        case 'h':
            cli_cmdline_free(cl);
            return cli_print_usage(wait_usage);
        case CLI_OPT_SPOOL:
            cl->spool = optarg;
            break;
        case CLI_OPT_TIMEOUT:
            if (cli_parse_seconds(optarg, timeout) < 0 || *timeout < 0) {
                rc = cli_usage_error("wait",
                                     "--timeout needs a number of seconds, "
                                     "not '%s'",
                                     optarg);
                cli_cmdline_free(cl);
                return rc;
            }
            break;
        case 'q':
            *quiet = true;
            break;
        default:
            rc = cli_cmdline_error(cl, c);
            cli_cmdline_free(cl);
            return rc;
        }
    }
    return -1;
}

/* The jobs of the operands (each once); 0, or -1 after a message. */
static int wait_add_jobs(struct waiter *w, const struct cli_cmdline *cl)
{
    if (!(w->jobs = calloc((size_t)cl->noperands, sizeof *w->jobs))) {
        cli_error("out of memory");
        return -1;
    }
    for (int i = 0; i < cl->noperands; i++) {
        const char *id = cl->operands[i];
        bool seen = false;
        for (size_t j = 0; j < w->njobs && !seen; j++)
            seen = strcmp(w->jobs[j].id, id) == 0;
        if (seen)
            continue;
        int where = cli_locate_job(w->sp, id);
        if (where < 0)
            return -1;
        w->jobs[w->njobs++] = (struct waited){.id = id, .where = where};
    }
    return 0;
}

/* An inotify descriptor watching where jobs end (and status/, whose
 * watch goes to *status_wd), or -1: then wait rescans. */
static int wait_watch(struct waiter *w, int *status_wd)
{
    int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd < 0)
        return -1;
    /* cancel/: a queued job its owner withdraws ends there (a user who
     * may not read cancel/ sees it at the next rescan). */
    static const enum spool_dir watched[] = {
        SPOOL_DONE, SPOOL_FAILED, SPOOL_REJECTED, SPOOL_CANCEL, SPOOL_STATUS};
    for (size_t i = 0; i < sizeof watched / sizeof *watched; i++) {
        char *dir = spool_file(w->sp, watched[i], NULL);
        int wd = dir ? inotify_add_watch(
                           ifd, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)
                     : -1;
        if (watched[i] == SPOOL_STATUS)
            *status_wd = wd;
        free(dir);
    }
    return ifd;
}

/* Wait until every job has ended (0) or the timeout passed or a job
 * vanished (-1, after a message). */
static int wait_loop(struct waiter *w, double timeout, int ifd, int status_wd)
{
    int64_t deadline =
        timeout >= 0 ? util_mono_us() + (int64_t)(timeout * 1e6) : -1;
    bool status_changed = true;
    for (;;) {
        if (wait_scan(w) < 0)
            return -1;
        if (w->nended == w->njobs)
            return 0;
        if (w->progress) {
            if (status_changed || !w->status) {
                json_decref(w->status);
                w->status = statusfile_load_all(w->sp);
            }
            progress_show(w, false);
        }
        /* redraw (rate, ETA) or print a held-back line within a second */
        int wait_ms = w->progress ? 1000 : WAIT_RESCAN_MS;
        if (deadline >= 0) {
            int64_t left = deadline - util_mono_us();
            if (left <= 0) {
                progress_clear(w);
                print_timeout(w, timeout);
                return -1;
            }
            if (left / 1000 + 1 < wait_ms)
                wait_ms = (int)(left / 1000 + 1);
        }
        status_changed = false;
        if (ifd < 0) {
            poll(NULL, 0, wait_ms);
            status_changed = true;
            continue;
        }
        struct pollfd pfd = {.fd = ifd, .events = POLLIN};
        int n = poll(&pfd, 1, wait_ms);
        if (n < 0 && errno != EINTR) {
            cli_error("cannot wait for the spool: %s", strerror(errno));
            return -1;
        }
        if (n > 0)
            status_changed = drain_events(ifd, status_wd);
        else
            status_changed = n == 0; /* rescan: NFS shows no events */
    }
}

int cmd_wait(int argc, char **argv, const char *spool)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, CLI_OPT_SPOOL},
        {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    struct cli_cmdline cl;
    if (cli_cmdline_init(&cl, "wait", argc, argv, "+:hq", longopts, spool) < 0)
        return 1;
    struct waiter w = {0};
    double timeout = -1;
    int rc = wait_options(&cl, &w.quiet, &timeout);
    if (rc >= 0)
        return rc;
    int ifd = -1, status_wd = -1;
    if (cl.noperands == 0) {
        rc = cli_usage_error("wait", "no job given: mpispool wait JOBID...");
        goto out;
    }
    if ((rc = cli_open_spool(&cl, &w.sp)) != 0)
        goto out;
    rc = 1;
    if (wait_add_jobs(&w, &cl) < 0)
        goto out;
    w.progress = !w.quiet;
    pbar_init(&w.bar, stderr, isatty(STDERR_FILENO));
    /* Watch before the first scan, so no change slips in between. */
    ifd = wait_watch(&w, &status_wd);
    if (wait_loop(&w, timeout, ifd, status_wd) < 0)
        goto out;
    if (w.progress) {
        json_decref(w.status);
        w.status = json_array();
        progress_show(&w, true);
    }
    rc = 0;
    for (size_t i = 0; i < w.njobs; i++)
        if (w.jobs[i].where != SPOOL_DONE)
            rc = 1;
out:
    progress_clear(&w);
    if (ifd >= 0)
        close(ifd);
    json_decref(w.status);
    free(w.jobs);
    spool_close(w.sp);
    cli_cmdline_free(&cl);
    return rc;
}
