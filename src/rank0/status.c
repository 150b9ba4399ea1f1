/* SPDX-License-Identifier: MIT */
/* The status file: rank 0's view of its ranks and jobs, rewritten while it
 * runs. */
#include "status.h"

#include <string.h>
#include <unistd.h>

#include "deps.h"
#include "idlepolicy.h"
#include "runopts.h"
#include "ranks.h"
#include "util.h"

void write_status(struct coordinator *co, const char *state)
{
    char started[UTIL_TIME_LEN], updated[UTIL_TIME_LEN], t[UTIL_TIME_LEN];
    unsigned total = 0, busy = 0;
    json_t *ranks = json_array();
    for (int r = 0; r < co->nranks; r++) {
        struct rank_slot *rs = &co->ranks[r];
        total += rs->slots;
        busy += rs->busy < rs->slots ? rs->busy : rs->slots;
        json_t *entry = json_pack(
            "{s:i, s:s, s:i, s:i, s:i, s:s, s:I, s:I, s:i, s:i, "
            "s:f}",
            "rank", rs->rank, "host", rs->host, "slots", (int)rs->slots, "busy",
            (int)rs->busy, "tasks", (int)rs->tasks, "state", rank_state(rs),
            "memory", (json_int_t)rs->mem_total, "memory_reserved",
            (json_int_t)rs->mem_reserved, "gpus", (int)rs->gpus, "gpus_busy",
            (int)rs->gpus_busy, "load", rs->load);
        if (entry && co->opt->idle)
            json_object_set_new(entry, "idle_policy", owner_json(co, rs));
        json_array_append_new(ranks, entry);
    }
    json_t *jobs = json_array();
    for (struct job *job = co->jobs; job; job = job->next_job) {
        uint64_t retrying = 0;
        for (struct retry *r = job->retries; r; r = r->next)
            retrying++;
        const char *running = job->ff_stopped ? "stopping" : "running";
        json_t *entry = json_pack(
            "{s:s, s:s?, s:s, s:i, s:I, s:I, s:I, s:I, s:I}", "job", job->id,
            "name", job->spec->name, "state",
            job->started_us ? running : "queued", "priority",
            job->spec->priority, "tasks", (json_int_t)job->ntasks, "pending",
            (json_int_t)(job->ntasks - job->next + retrying), "running",
            (json_int_t)job->running, "succeeded", (json_int_t)job->succeeded,
            "failed", (json_int_t)job->failed);
        if (entry && job->started_us)
            json_object_set_new(
                entry, "started",
                json_string(util_format_time(job->started_us, t)));
        char why[160];
        const char *waiting = waiting_reason(co, job, why, sizeof why);
        if (entry)
            json_object_set_new(entry, "waiting",
                                waiting ? json_string(waiting) : json_null());
        if (entry && job->ff_stopped && job->reason)
            json_object_set_new(entry, "reason", json_string(job->reason));
        json_array_append_new(jobs, entry);
    }
    int64_t now_mono = util_mono_us();
    for (const struct pending *p = co->pending; p; p = p->next) {
        char why[400];
        int64_t left = (p->next_try - now_mono + 999999) / 1000000;
        snprintf(why, sizeof why, "waiting to be set up, again in %lld s: %s",
                 (long long)(left > 0 ? left : 0), p->reason);
        json_array_append_new(
            jobs, json_pack("{s:s, s:n, s:s, s:i, s:i, s:i, s:i, s:i, s:i, "
                            "s:s}",
                            "job", p->id, "name", "state", "queued", "priority",
                            0, "tasks", 0, "pending", 0, "running", 0,
                            "succeeded", 0, "failed", 0, "waiting", why));
    }
    json_t *root = json_pack(
        "{s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:{s:i, s:i, s:i}, s:o, s:o, "
        "s:{s:i, s:i, s:i, s:I, s:I}}",
        "coordinator", co->name, "host", co->re->host, "pid", (int)getpid(),
        "started", util_format_time(co->started_us, started), "updated",
        util_format_time(util_now_us(), updated), "state", state, "until_empty",
        co->opt->until_empty, "slots", "total", (int)total, "busy", (int)busy,
        "free", (int)(total - busy), "ranks", ranks, "jobs", jobs, "totals",
        "jobs_done", (int)co->jobs_done, "jobs_failed", (int)co->jobs_failed,
        "jobs_rejected", (int)co->jobs_rejected, "tasks_succeeded",
        (json_int_t)co->tasks_succeeded, "tasks_failed",
        (json_int_t)co->tasks_failed);
    if (root && co->opt->idle)
        json_object_set_new(root, "idle_policy",
                            json_string(idle_policy_text(co->opt->idle)));
    char *text =
        root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    struct mps_error err;
    if (!text ||
        util_write_file(co->status_path, text, strlen(text), 0, &err) < 0)
        logmsg("cannot write status: %s", text ? err.text : "out of memory");
    free(text);
    co->status_dirty = false;
    co->last_status = util_mono_us();
}
