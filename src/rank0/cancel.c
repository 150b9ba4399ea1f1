/* SPDX-License-Identifier: MIT */
/* mpispool cancel and withdraw, fail_fast, and the stop of the whole run. */
#include "cancel.h"

#include "backend.h"
#include "dispatch.h"
#include "job.h"
#include "journal.h"
#include "runopts.h"
#include "queue.h"
#include "ranks.h"
#include "recovery.h"
#include "requests.h"
#include "util.h"

/* Kill one attempt quickly, for mpispool cancel. */
static void cancel_dispatch(struct coordinator *co, struct dispatch *d)
{
    end_dispatch(co, d,
                 co->opt->kill_grace_s < CANCEL_GRACE_S ? co->opt->kill_grace_s
                                                        : CANCEL_GRACE_S);
}

/* Drop the retries job has waiting; returns how many. */
static uint64_t drop_retries(struct job *job)
{
    uint64_t n = 0;
    while (job->retries) {
        struct retry *r = job->retries;
        job->retries = r->next;
        taskcmd_free(&r->cmd);
        free(r);
        n++;
    }
    return n;
}

void fail_fast_stop(struct coordinator *co, struct job *job, uint64_t task)
{
    if (job->ff_stopped)
        return;
    uint64_t not_started = job->ntasks - job->next;
    fail_fast_mark(co, job, task);
    uint64_t dropped = drop_retries(job);
    job->failed += dropped;
    co->tasks_failed += dropped;
    unsigned long ended = 0;
    for (size_t b = 0; b < DISPATCH_BUCKETS; b++) {
        for (struct dispatch *d = co->table[b], *next; d; d = next) {
            next = d->next; /* a local attempt may end at once */
            if (d->job != job || d->cancelled)
                continue;
            d->fail_fast = true;
            end_dispatch(co, d, co->opt->kill_grace_s);
            ended++;
        }
    }
    logmsg("job %s: task %llu failed and the job has fail_fast: %lu running "
           "task%s ended, %llu never started, %llu retr%s dropped",
           job->id, (unsigned long long)task, ended, ended == 1 ? "" : "s",
           (unsigned long long)not_started, (unsigned long long)dropped,
           dropped == 1 ? "y" : "ies");
    co->status_dirty = true;
}

/* The attempt a task not yet started would run as, and its failed
 * attempts so far (an adopted journal's). */
static unsigned next_attempt(const struct job *job, uint64_t task,
                             unsigned *failures)
{
    *failures = 0;
    for (size_t i = job->replay_pos; i < job->nreplay; i++)
        if (job->replay[i].task == task) {
            *failures = job->replay[i].failures;
            return job->replay[i].attempt + 1;
        }
    return 1;
}

/* Cancel one task of job: kill it if running, drop it if waiting. */
static void cancel_task(struct coordinator *co, struct job *job, uint64_t task)
{
    if (task >= job->ntasks || task_cancelled(job, task))
        return;
    for (size_t b = 0; b < DISPATCH_BUCKETS; b++)
        for (struct dispatch *d = co->table[b]; d; d = d->next)
            if (d->job == job && d->task == task) {
                cancel_dispatch(co, d);
                return;
            }
    for (struct retry **link = &job->retries; *link; link = &(*link)->next) {
        struct retry *r = *link;
        if (r->task == task) {
            journal_end(co->journal, job->id, task, r->attempt,
                        JOURNAL_CANCELLED, r->failures);
            *link = r->next;
            taskcmd_free(&r->cmd);
            free(r);
            return;
        }
    }
    if (task < job->next)
        return; /* ended already */
    uint64_t *grown =
        realloc(job->cancel_tasks, (job->ncancel_tasks + 1) * sizeof *grown);
    if (!grown)
        return;
    job->cancel_tasks = grown;
    size_t i = job->ncancel_tasks++;
    while (i > 0 && grown[i - 1] > task) {
        grown[i] = grown[i - 1];
        i--;
    }
    grown[i] = task;
    unsigned failures, attempt = next_attempt(job, task, &failures);
    journal_end(co->journal, job->id, task, attempt, JOURNAL_CANCELLED,
                failures);
}

/* mpispool cancel JOBID [TASK...]: tasks not started are dropped, running
 * ones killed (SIGTERM, then SIGKILL within CANCEL_GRACE_S); the job ends
 * as "cancelled", in failed/. */
static void cancel_job(struct coordinator *co, struct job *job,
                       const uint64_t *tasks, size_t n)
{
    job->cancelled = true;
    co->status_dirty = true;
    if (n == 0) {
        if (!job->cancel_all)
            journal_cancel(co->journal, job->id);
        job->cancel_all = true;
        job->next = job->ntasks;
        drop_retries(job);
        for (size_t b = 0; b < DISPATCH_BUCKETS; b++)
            for (struct dispatch *d = co->table[b]; d; d = d->next)
                if (d->job == job)
                    cancel_dispatch(co, d);
        logmsg("job %s cancelled", job->id);
    } else {
        for (size_t i = 0; i < n; i++)
            cancel_task(co, job, tasks[i]);
        logmsg("job %s: %zu task%s cancelled", job->id, n, n == 1 ? "" : "s");
    }
    if (job->running == 0 && job->next >= job->ntasks && !job->retries)
        job->ended = true;
}

/* requests_ops: whether we hold job id. */
static bool request_held(void *arg, const char *id)
{
    return find_job(arg, id) != NULL;
}

/* requests_ops: mpispool cancel of a job we hold. */
static void request_cancel(void *arg, const char *id, const uint64_t *tasks,
                           size_t n)
{
    struct coordinator *co = arg;
    struct job *job = find_job(co, id);
    if (!job)
        return;
    cancel_job(co, job, tasks, n);
    struct mps_error err;
    if (journal_sync(co->journal, &err) < 0)
        logmsg("journal: %s", err.text);
}

static void request_log(void *arg, const char *line)
{
    (void)arg;
    logmsg("%s", line);
}

const struct requests_ops request_ops = {request_held, request_cancel,
                                         request_log};

void scan_cancel(struct coordinator *co)
{
    if (co->requests)
        requests_scan_cancel(co->requests);
}

void begin_stop(struct coordinator *co, const char *why)
{
    if (co->stopping)
        return;
    co->stopping = true;
    co->status_dirty = true;
    logmsg("%s: stopping; running tasks are ended", why);
    co->backend->ops->stop(co->backend, co->opt->kill_grace_s);
}
