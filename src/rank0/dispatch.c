/* SPDX-License-Identifier: MIT */
/* Handing task attempts out: the table of attempts out on ranks, the task
 * variables, sending an attempt through the backend, the dispatch turn. */
#include "dispatch.h"

#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "claim.h"
#include "copies.h"
#include "deps.h"
#include "job.h"
#include "journal.h"
#include "queue.h"
#include "ranks.h"
#include "results.h"
#include "util.h"

/* ---- dispatch table ---- */

static struct dispatch **dispatch_slot(struct coordinator *co, uint64_t id)
{
    struct dispatch **link = &co->table[id % DISPATCH_BUCKETS];
    while (*link && (*link)->id != id)
        link = &(*link)->next;
    return link;
}

struct dispatch *dispatch_find(struct coordinator *co, uint64_t id)
{
    return *dispatch_slot(co, id);
}

void dispatch_remove(struct coordinator *co, struct dispatch *d)
{
    struct dispatch **link = dispatch_slot(co, d->id);
    if (*link)
        *link = d->next;
    co->ndispatched--;
}

void dispatch_free(struct dispatch *d)
{
    if (d->out_fd >= 0)
        close(d->out_fd);
    if (d->err_fd >= 0)
        close(d->err_fd);
    taskcmd_free(&d->cmd);
    free(d);
}

bool attempts_out(const struct coordinator *co)
{
    return co->ndispatched || co->ended_head || copies_pending(co->copies);
}

/* Variables of one task beyond its job's env: MPISPOOL_ORIGINAL_TASK in
 * a job of submit --resume-failed; disBatch's DISBATCH_* for a task of a
 * disBatch task file (DISBATCH_TASKID is its number in the task file,
 * which a resumed disBatch job keeps whole). */
#define TASK_VARS 9

struct task_vars {
    char kv[TASK_VARS][96];
    char *name_kv; /* DISBATCH_NAMETASKS=..., malloc'd */
    char *list[TASK_VARS + 1];
    size_t n;
};

static void task_vars_add(struct task_vars *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void task_vars_add(struct task_vars *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->kv[v->n], sizeof v->kv[v->n], fmt, ap);
    va_end(ap);
    v->list[v->n] = v->kv[v->n];
    v->n++;
}

static void task_vars_make(const struct job *job, uint64_t task,
                           const struct task_place *pl, struct task_vars *v)
{
    v->n = 0;
    v->name_kv = NULL;
    long long original = jobspec_original_task(job->spec, task);
    if (original >= 0)
        task_vars_add(v, "MPISPOOL_ORIGINAL_TASK=%lld", original);
    if (!job->disbatch)
        return;
    unsigned long long number = pl->number, line = pl->line;
    long long repeat = pl->repeat;
    task_vars_add(v, "DISBATCH_TASKID=%llu", number);
    task_vars_add(v, "DISBATCH_TASKID_ZP=%06llu", number);
    task_vars_add(v, "DISBATCH_STREAM_INDEX=%llu", line);
    task_vars_add(v, "DISBATCH_STREAM_INDEX_ZP=%06llu", line);
    task_vars_add(v, "DISBATCH_REPEAT_INDEX=%lld", repeat);
    task_vars_add(v, "DISBATCH_REPEAT_INDEX_ZP=%06lld", repeat);
    task_vars_add(v, "DISBATCH_JOBID=%s", job->id);
    if (asprintf(&v->name_kv, "DISBATCH_NAMETASKS=%s", job->nametasks) < 0)
        v->name_kv = NULL;
    else
        v->list[v->n++] = v->name_kv;
}

/* The environment of one task: the job's, or a copy with the task's own
 * variables added (*task_env, which the caller frees). */
static char **task_env_make(const struct job *job, const struct task_vars *v,
                            char ***task_env, uint32_t *envc)
{
    *task_env = NULL;
    *envc = job->envc;
    if (v->n == 0 ||
        !(*task_env = calloc(job->envc + v->n + 1, sizeof **task_env)))
        return job->env;
    memcpy(*task_env, job->env, job->envc * sizeof **task_env);
    memcpy(*task_env + job->envc, v->list, v->n * sizeof **task_env);
    *envc += (uint32_t)v->n;
    return *task_env;
}

/* Send one task attempt to rank index r (failures: the task's failed
 * attempts before it). */
static void send_task(struct coordinator *co, struct job *job, int r,
                      uint64_t task, unsigned attempt, unsigned failures,
                      struct taskcmd *cmd, const struct task_place *place)
{
    struct dispatch *d = calloc(1, sizeof *d);
    if (!d) {
        taskcmd_free(cmd);
        return;
    }
    d->id = ++co->next_dispatch;
    d->failures = failures;
    d->job = job;
    d->task = task;
    d->attempt = attempt;
    d->r = r;
    d->rank = co->ranks[r].rank;
    d->cmd = *cmd;
    d->place = *place;
    d->out_fd = d->err_fd = -1;
    struct dispatch **link = dispatch_slot(co, d->id);
    *link = d;
    co->ndispatched++;
    job->running++;
    if (!job->started_us)
        job->started_us = util_now_us();
    co->ranks[r].busy += (unsigned)job->spec->cpus;
    co->ranks[r].mem_reserved += job->spec->memory;
    co->ranks[r].gpus_busy += (unsigned)job->spec->gpus;
    co->ranks[r].tasks++;
    co->status_dirty = true;
    journal_start(co->journal, job->id, task, attempt, d->rank);

    const struct jobspec *s = job->spec;
    struct task_vars vars;
    task_vars_make(job, task, place, &vars);
    char **task_env;
    uint32_t envc;
    char **env = task_env_make(job, &vars, &task_env, &envc);
    const char *interpreter =
        job->interpreter ? job->interpreter : s->interpreter;
    struct attempt m = {
        .dispatch = d->id,
        .job = job->id,
        .task = task,
        .attempt = attempt,
        .cpus = (uint32_t)s->cpus,
        .memory = s->memory,
        .gpus = (uint32_t)s->gpus,
        .timeout = s->timeout,
        .shell = d->cmd.shell,
        .inherit = job->inherit,
        .argc = (uint32_t)d->cmd.argc,
        .argv = d->cmd.argv,
        .cwd = s->cwd,
        .submit_dir = s->submit_dir,
        .envc = envc,
        .env = env,
        .archive = job->archive != NULL,
        .as_user = job->as_user,
        .uid = job->uid,
        .gid = job->gid,
        .ngroups = job->ngroups,
        .groups = job->groups,
        .nsteps = (uint32_t)s->nsteps,
        .steps = s->steps,
        .continue_on_error = s->continue_on_error,
        .interpreter = (char *)interpreter,
        .ntasks = job->ntasks,
        .line = place->line,
    };
    struct mps_error err;
    if (co->backend->ops->send(co->backend, r, &m, job->archive, &err) < 0)
        queue_result(co, d,
                     &(struct attempt_result){.dispatch = d->id,
                                              .exit_code = -1,
                                              .error = err.text});
    free(task_env);
    free(vars.name_kv);
}

/* The most slots and the most memory any live rank has. */
static unsigned max_rank_slots(const struct coordinator *co, bool *all_known,
                               uint64_t *most_memory, unsigned *most_gpus)
{
    unsigned best = 0;
    *all_known = true;
    *most_memory = 0;
    *most_gpus = 0;
    for (int r = 0; r < co->nranks; r++) {
        const struct rank_slot *rs = &co->ranks[r];
        if (!rs->hello) {
            *all_known = false;
        } else if (!rs->bye) {
            if (rs->slots > best)
                best = rs->slots;
            if (rs->mem_total > *most_memory)
                *most_memory = rs->mem_total;
            if (rs->gpus > *most_gpus)
                *most_gpus = rs->gpus;
        }
    }
    return best;
}

/* Reject jobs whose tasks need more cpus than any rank has, once every
 * rank has said how many it has: they would wait forever. */
static void reject_impossible(struct coordinator *co)
{
    bool all_known;
    uint64_t most_memory;
    unsigned most_gpus;
    unsigned widest = max_rank_slots(co, &all_known, &most_memory, &most_gpus);
    if (!all_known)
        return;
    struct job **link = &co->jobs;
    while (*link) {
        struct job *job = *link;
        unsigned cpus = (unsigned)job->spec->cpus;
        uint64_t memory = job->spec->memory;
        unsigned gpus = (unsigned)job->spec->gpus;
        if ((cpus <= widest && memory <= most_memory && gpus <= most_gpus) ||
            job->started_us) {
            link = &job->next_job;
            continue;
        }
        *link = job->next_job;
        char reason[200], name[80], need[32], have[32];
        if (cpus > widest)
            snprintf(reason, sizeof reason,
                     "a task needs %u cpus but the largest rank has %u", cpus,
                     widest);
        else if (gpus > most_gpus && most_gpus == 0)
            snprintf(reason, sizeof reason,
                     "a task needs %u GPU%s but no rank has a GPU", gpus,
                     gpus == 1 ? "" : "s");
        else if (gpus > most_gpus)
            snprintf(reason, sizeof reason,
                     "a task needs %u GPUs but the largest rank has %u", gpus,
                     most_gpus);
        else
            snprintf(reason, sizeof reason,
                     "a task needs %s of memory but the largest rank has %s",
                     util_human_size(memory, need, sizeof need),
                     util_human_size(most_memory, have, sizeof have));
        snprintf(name, sizeof name, "%s.json", job->id);
        reject(co, name, reason);
        job_free(job);
    }
}

void end_unrun(struct coordinator *co, struct job *job, const char *reason,
               bool cancel)
{
    free(job->reason);
    job->reason = strdup(reason);
    job->cancelled = job->cancelled || cancel;
    job->deps_pending = false;
    job->waiting[0] = '\0';
    job->next = job->ntasks;
    if (job->running == 0 && !job->retries)
        job->ended = true;
    logmsg("job %s %s: %s", job->id, cancel ? "is cancelled" : "fails", reason);
    co->status_dirty = true;
}

void dispatch(struct coordinator *co)
{
    if (co->stopping)
        return;
    check_dependencies(co);
    reject_impossible(co);
    hold_back_jobs(co);
    int64_t now = util_mono_us();
    struct job *job;
    while ((job = next_turn(co, now))) {
        int r = pick_rank(co, (unsigned)job->spec->cpus, job->spec->memory,
                          (unsigned)job->spec->gpus);
        if (r < 0)
            return;
        uint64_t task = 0;
        unsigned attempt = 1, failures = 0;
        struct taskcmd cmd;
        struct task_place place;
        struct mps_error err;
        int rc = next_task(co, job, now, &task, &attempt, &failures, &cmd,
                           &place, &err);
        if (rc == 1) {
            /* The rest was skipped: ended before a crash, or cancelled. */
            if (job->running == 0 && !job->retries)
                job->ended = true;
            continue;
        }
        if (rc < 0) {
            logmsg("job %s: cannot read task %llu: %s", job->id,
                   (unsigned long long)job->next, err.text);
            /* Count the unreadable rest as never run: the job fails. */
            job->failed += job->ntasks - job->next;
            co->tasks_failed += job->ntasks - job->next;
            job->next = job->ntasks;
            if (job->running == 0 && !job->retries)
                job->ended = true;
            continue;
        }
        send_task(co, job, r, task, attempt, failures, &cmd, &place);
        co->last_served = job->seq;
    }
}

void end_dispatch(struct coordinator *co, struct dispatch *d, double grace)
{
    if (d->cancelled)
        return;
    d->cancelled = true;
    co->backend->ops->cancel(co->backend, d->r, d->id, grace);
}

void dispatch_rank_lost(struct coordinator *co, int r)
{
    struct rank_slot *rs = &co->ranks[r];
    for (int b = 0; b < DISPATCH_BUCKETS; b++) {
        for (struct dispatch *d = co->table[b], *next; d; d = next) {
            next = d->next;
            if (d->r != r)
                continue;
            if (!rs->lost)
                logmsg("rank %d on %s was lost with tasks running: they run "
                       "again elsewhere",
                       rs->rank, rs->host);
            rs->lost = true;
            struct attempt_result res = {.dispatch = d->id,
                                         .exit_code = -1,
                                         .interrupted = true,
                                         .error = "its rank was lost"};
            queue_result(co, d, &res);
        }
    }
}

void dispatch_free_all(struct coordinator *co)
{
    for (int b = 0; b < DISPATCH_BUCKETS; b++) {
        while (co->table[b]) {
            struct dispatch *d = co->table[b];
            co->table[b] = d->next;
            dispatch_free(d);
        }
    }
    co->ndispatched = 0;
}
