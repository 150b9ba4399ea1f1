/* SPDX-License-Identifier: MIT */
/* Queue policy: which task goes next and where (priority, turns, a wide
 * task's turn kept until it fits, retries with backoff, hold-back before
 * the allocation ends, claim-ahead). Touches no file but the task file
 * next_task reads its next line from. */
#include "queue.h"

#include <limits.h>
#include <string.h>

#include "cancel.h"
#include "dispatch.h"
#include "journal.h"
#include "runopts.h"
#include "ranks.h"
#include "taskfile.h"
#include "util.h"

size_t jobs_waiting(const struct coordinator *co)
{
    size_t n = 0;
    for (const struct job *job = co->jobs; job; job = job->next_job)
        if (!job->held_back && !job->deps_pending && job->next < job->ntasks)
            n++;
    return n;
}

int lowest_waiting_priority(const struct coordinator *co)
{
    int lowest = INT_MAX;
    for (const struct job *job = co->jobs; job; job = job->next_job)
        if (!job->held_back && !job->deps_pending && job->next < job->ntasks &&
            job->spec->priority < lowest)
            lowest = job->spec->priority;
    return lowest;
}

/* ---- dispatching ---- */

static bool retry_ready(const struct job *job, int64_t now)
{
    return job->retries && job->retries->not_before <= now;
}

bool job_has_ready(const struct job *job, int64_t now)
{
    return !job->held_back && !job->deps_pending &&
           (job->next < job->ntasks || retry_ready(job, now));
}

int pick_rank(struct coordinator *co, unsigned cpus, uint64_t memory,
              unsigned gpus)
{
    int best = -1, alone = -1;
    unsigned best_free = 0, widest = 0;
    bool all_known = true;
    for (int r = 0; r < co->nranks; r++) {
        struct rank_slot *rs = &co->ranks[r];
        if (!rs->hello)
            all_known = false;
        else if (!rs->bye && rs->slots > widest && rs->mem_total >= memory &&
                 rs->gpus >= gpus)
            widest = rs->slots; /* could host it, when free */
        if (!rs->hello || rs->bye || rs->slots == 0 || rs->owner_active ||
            rs->draining || rs->mem_reserved + memory > rs->mem_total ||
            rs->gpus_busy + gpus > rs->gpus)
            continue;
        unsigned free_slots = rs->busy >= rs->slots ? 0 : rs->slots - rs->busy;
        if (free_slots >= cpus && (best < 0 || free_slots > best_free)) {
            best = r;
            best_free = free_slots;
        }
        if (rs->busy == 0 && (alone < 0 || rs->slots > co->ranks[alone].slots))
            alone = r;
    }
    /* A task as wide as some rank that has its memory and GPUs waits for
     * room there, rather than overload a narrower one; one wider than
     * every such rank still here (its job started before the wider ranks
     * left, or they lack the memory or GPUs: reject_impossible looks at
     * each need alone) runs alone on the widest idle rank that fits. */
    if (best >= 0 || cpus <= widest || !all_known)
        return best;
    return alone;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

bool task_cancelled(const struct job *job, uint64_t task)
{
    return job->cancel_all ||
           (job->ncancel_tasks &&
            bsearch(&task, job->cancel_tasks, job->ncancel_tasks, sizeof task,
                    compare_u64));
}

/* Whether fresh task index `task` runs, and as which attempt: a task an
 * adopted journal saw end (or fail its last retry) or that was cancelled
 * is skipped; one that was running, interrupted or due a retry runs
 * again with the next attempt number. */
static bool fresh_task_runs(struct job *job, uint64_t task, unsigned *attempt,
                            unsigned *failures)
{
    *attempt = 1;
    *failures = 0;
    if (task_cancelled(job, task) || job->ff_stopped)
        return false;
    while (job->replay_pos < job->nreplay &&
           job->replay[job->replay_pos].task < task)
        job->replay_pos++;
    if (job->replay_pos == job->nreplay ||
        job->replay[job->replay_pos].task != task)
        return true;
    const struct replay_task *rt = &job->replay[job->replay_pos];
    switch (rt->state) {
    case JOURNAL_OK:
    case JOURNAL_CANCELLED:
    case JOURNAL_STOPPED:
        return false;
    case JOURNAL_FAILED:
        if (!retries_left(job, rt->failures))
            return false;
        break;
    default:
        break;
    }
    *attempt = rt->attempt + 1;
    *failures = rt->failures;
    return true;
}

int next_task(struct coordinator *co, struct job *job, int64_t now,
              uint64_t *task, unsigned *attempt, unsigned *failures,
              struct taskcmd *cmd, struct task_place *place,
              struct mps_error *err)
{
    *place = (struct task_place){0, 0, -1};
    if (retry_ready(job, now)) {
        struct retry *r = job->retries;
        job->retries = r->next;
        *task = r->task;
        *attempt = r->attempt;
        *failures = r->failures;
        *cmd = r->cmd;
        *place = r->place;
        free(r);
        return 0;
    }
    while (job->next < job->ntasks) {
        uint64_t i = job->next;
        bool runs = fresh_task_runs(job, i, attempt, failures);
        if (!job->tasks) {
            if (!runs) {
                job->next++;
                continue;
            }
            if (jobspec_task(job->spec, i, cmd, err) < 0)
                return -1;
            job->next++;
            *task = i;
            return 0;
        }
        const char *line;
        int rc = taskfile_next(job->tasks, &line, err);
        if (rc <= 0) {
            if (rc == 0)
                errprintf(err, "task file ended early");
            return -1;
        }
        job->next++;
        if (!runs)
            continue;
        memset(cmd, 0, sizeof *cmd);
        cmd->shell = true;
        cmd->argc = 1;
        cmd->argv = calloc(2, sizeof *cmd->argv);
        if (!cmd->argv || !(cmd->argv[0] = strdup(line))) {
            taskcmd_free(cmd);
            return errprintf(err, "out of memory");
        }
        place->line = taskfile_line(job->tasks);
        place->number = taskfile_number(job->tasks);
        place->repeat = taskfile_repeat_index(job->tasks);
        *task = i;
        return 0;
    }
    return 1;
}

struct job *next_turn(struct coordinator *co, int64_t now)
{
    struct job *first = NULL, *after = NULL;
    for (struct job *job = co->jobs; job; job = job->next_job) {
        if (!job_has_ready(job, now))
            continue;
        if (!first)
            first = job;
        else if (job->spec->priority != first->spec->priority)
            break; /* the list is sorted by priority */
        if (!after && job->seq > co->last_served)
            after = job;
    }
    return after ? after : first;
}

void hold_back_jobs(struct coordinator *co)
{
    if (co->opt->end_time <= 0)
        return;
    double left = co->opt->end_time - (double)util_now_us() / 1e6;
    if (left <= 0) {
        begin_stop(co, "the allocation's end time has come");
        return;
    }
    bool only_held = co->jobs != NULL;
    for (struct job *job = co->jobs; job; job = job->next_job) {
        double timeout = job->spec->timeout;
        bool to_start = job->next < job->ntasks || job->retries;
        if (!job->held_back && to_start && timeout > 0 && timeout > left) {
            job->held_back = true;
            logmsg("job %s: its tasks' timeout of %g s would outlive the "
                   "allocation (ends in %lld s): left for the next "
                   "allocation",
                   job->id, timeout, left > 0 ? (long long)left : 0LL);
        }
        only_held = only_held && job->held_back;
    }
    if (only_held && co->opt->until_empty && !attempts_out(co))
        begin_stop(co, "only jobs that would outlive the allocation are left");
}

int retry_wait_ms(const struct coordinator *co, int64_t now)
{
    int64_t next = -1;
    for (const struct job *job = co->jobs; job; job = job->next_job)
        if (job->retries && !job->held_back &&
            (next < 0 || job->retries->not_before < next))
            next = job->retries->not_before;
    if (next < 0)
        return -1;
    int64_t ms = (next - now + 999) / 1000;
    return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

bool retries_left(const struct job *job, unsigned failures)
{
    return (long long)failures <= (long long)job->spec->retries;
}

double queue_retry_delay(double backoff, unsigned failures, bool again)
{
    if (again)
        return 0;
    double delay = backoff;
    for (unsigned i = 1; i < failures; i++)
        delay *= 2;
    return delay;
}

int queue_retry(struct job *job, uint64_t task, unsigned attempt,
                unsigned failures, struct taskcmd *cmd,
                const struct task_place *place, int64_t now, bool again)
{
    struct retry *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    double delay = queue_retry_delay(job->spec->retry_backoff, failures, again);
    r->task = task;
    r->attempt = attempt + 1;
    r->failures = failures;
    r->cmd = *cmd;
    r->place = *place;
    memset(cmd, 0, sizeof *cmd);
    r->not_before = now + (int64_t)(delay * 1e6);
    struct retry **link = &job->retries;
    while (*link && (*link)->not_before <= r->not_before)
        link = &(*link)->next;
    r->next = *link;
    *link = r;
    return 0;
}
