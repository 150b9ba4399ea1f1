/* SPDX-License-Identifier: MIT */
/* The status file: rank 0's view of its ranks and jobs, rewritten while it
 * runs. Its schema and writing are src/common/statusfile.c's; this gathers
 * the numbers. */
#include "status.h"

#include <stdlib.h>
#include <unistd.h>

#include "deps.h"
#include "idlepolicy.h"
#include "ranks.h"
#include "runopts.h"
#include "statusfile.h"
#include "util.h"

/* The room for one job's "waiting" text: a claimed job's is cut at
 * JOB_WHY_LEN bytes, one waiting to be set up at WHY_LEN. */
#define JOB_WHY_LEN 160
#define WHY_LEN 400

static void gather_ranks(const struct coordinator *co, struct statusfile *sf)
{
    const char *action =
        co->opt->idle ? idle_action_name(idle_policy_action(co->opt->idle))
                      : NULL;
    for (int r = 0; r < co->nranks; r++) {
        const struct rank_slot *rs = &co->ranks[r];
        sf->slots_total += rs->slots;
        sf->slots_busy += rs->busy < rs->slots ? rs->busy : rs->slots;
        sf->ranks[sf->nranks++] = (struct statusfile_rank){
            .rank = rs->rank,
            .host = rs->host,
            .slots = rs->slots,
            .busy = rs->busy,
            .tasks = rs->tasks,
            .state = rank_state(rs),
            .memory = rs->mem_total,
            .memory_reserved = rs->mem_reserved,
            .gpus = rs->gpus,
            .gpus_busy = rs->gpus_busy,
            .load = rs->load,
            .idle_action = action,
            .owner_active = rs->owner_active,
            .owner_reason = idle_reason_name(rs->owner_reason),
            .owner_since_us = rs->owner_since_us,
        };
    }
}

/* The claimed jobs, then those waiting to be set up; why[i] holds job i's
 * waiting text where it is not a constant. */
static void gather_jobs(struct coordinator *co, struct statusfile *sf,
                        char (*why)[WHY_LEN])
{
    for (struct job *job = co->jobs; job; job = job->next_job) {
        uint64_t retrying = 0;
        for (struct retry *r = job->retries; r; r = r->next)
            retrying++;
        const char *running = job->ff_stopped ? "stopping" : "running";
        size_t i = sf->njobs++;
        sf->jobs[i] = (struct statusfile_job){
            .job = job->id,
            .name = job->spec->name,
            .state = job->started_us ? running : "queued",
            .priority = job->spec->priority,
            .tasks = job->ntasks,
            .pending = job->ntasks - job->next + retrying,
            .running = job->running,
            .succeeded = job->succeeded,
            .failed = job->failed,
            .started_us = job->started_us,
            .waiting = waiting_reason(co, job, why[i], JOB_WHY_LEN),
            .reason = job->ff_stopped ? job->reason : NULL,
        };
    }
    int64_t now_mono = util_mono_us();
    for (const struct pending *p = co->pending; p; p = p->next) {
        size_t i = sf->njobs++;
        int64_t left = (p->next_try - now_mono + 999999) / 1000000;
        snprintf(why[i], WHY_LEN, "waiting to be set up, again in %lld s: %s",
                 (long long)(left > 0 ? left : 0), p->reason);
        sf->jobs[i] = (struct statusfile_job){
            .job = p->id, .state = "queued", .waiting = why[i]};
    }
}

void write_status(struct coordinator *co, const char *state)
{
    size_t njobs = 0;
    for (struct job *job = co->jobs; job; job = job->next_job)
        njobs++;
    for (const struct pending *p = co->pending; p; p = p->next)
        njobs++;
    struct statusfile sf = {
        .coordinator = co->name,
        .host = co->re->host,
        .pid = (int)getpid(),
        .started_us = co->started_us,
        .updated_us = util_now_us(),
        .state = state,
        .until_empty = co->opt->until_empty,
        .jobs_done = co->jobs_done,
        .jobs_failed = co->jobs_failed,
        .jobs_rejected = co->jobs_rejected,
        .tasks_succeeded = co->tasks_succeeded,
        .tasks_failed = co->tasks_failed,
        .idle_policy = co->opt->idle ? idle_policy_text(co->opt->idle) : NULL,
    };
    sf.ranks = calloc(co->nranks ? (size_t)co->nranks : 1, sizeof *sf.ranks);
    sf.jobs = calloc(njobs ? njobs : 1, sizeof *sf.jobs);
    char(*why)[WHY_LEN] = calloc(njobs ? njobs : 1, sizeof *why);
    struct mps_error err;
    if (!sf.ranks || !sf.jobs || !why) {
        logmsg("cannot write status: out of memory");
    } else {
        gather_ranks(co, &sf);
        gather_jobs(co, &sf, why);
        if (statusfile_write(co->status_path, &sf, &err) < 0)
            logmsg("cannot write status: %s", err.text);
    }
    free(why);
    free(sf.ranks);
    free(sf.jobs);
    co->status_dirty = false;
    co->last_status = util_mono_us();
}
