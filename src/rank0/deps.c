/* SPDX-License-Identifier: MIT */
/* Dependencies between jobs ("after", "after_any", "after_notok"): cycles,
 * verdicts, what a job waits for. */
#include "deps.h"

#include <string.h>

#include "dispatch.h"
#include "job.h"
#include "queue.h"
#include "ranks.h"
#include "spool.h"
#include "util.h"

/* Dependency cycles: followed through the job files of unfinished jobs
 * (new/ or cur/), at most this many of them and this deep. */
#define CYCLE_FILES 512

#define CYCLE_DEPTH 64

/* The dependency keys of a job file, and its lists of them. */
static const char *const dependency_keys[] = {"after", "after_any",
                                              "after_notok"};

#define NDEPENDENCY_KEYS 3

static void dependency_lists(const struct jobspec *s,
                             char **lists[NDEPENDENCY_KEYS])
{
    lists[0] = s->after;
    lists[1] = s->after_any;
    lists[2] = s->after_notok;
}

bool has_dependencies(const struct jobspec *s)
{
    return s->after || s->after_any || s->after_notok;
}

/* Whether the dependency lists of unfinished jobs lead from id back to
 * target; if so, chain gets " -> id -> ... -> target". */
static bool dependency_loop(const struct coordinator *co, const char *id,
                            const char *target, int depth, unsigned *budget,
                            char *chain, size_t len)
{
    if (depth > CYCLE_DEPTH || *budget == 0)
        return false;
    int where = locate_job(co, id);
    if (where != SPOOL_NEW && where != SPOOL_CUR)
        return false; /* ended (or gone): no longer waits for anything */
    (*budget)--;
    char name[96];
    snprintf(name, sizeof name, "%s.json", id);
    char *path = spool_file(co->sp, where, name);
    struct stat st;
    json_t *root = NULL;
    if (path && stat(path, &st) == 0 && st.st_size < (1 << 20))
        root = json_load_file(path, 0, NULL);
    free(path);
    bool found = false;
    for (int k = 0; k < NDEPENDENCY_KEYS && !found; k++) {
        json_t *list = json_object_get(root, dependency_keys[k]);
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            const char *dep = json_string_value(v);
            if (!dep || strlen(dep) >= 72)
                continue;
            if (strcmp(dep, target) == 0 ||
                dependency_loop(co, dep, target, depth + 1, budget, chain,
                                len)) {
                char rest[400];
                snprintf(rest, sizeof rest, "%s", chain);
                if (snprintf(chain, len, " -> %s%s", dep, rest) >= (int)len)
                    snprintf(chain + len - 5, 5, " ..."); /* a long one */
                found = true;
                break;
            }
        }
    }
    json_decref(root);
    return found;
}

int check_dependency_ids(const struct coordinator *co, const struct job *job,
                         struct mps_error *err)
{
    char **lists[NDEPENDENCY_KEYS];
    dependency_lists(job->spec, lists);
    for (int l = 0; l < NDEPENDENCY_KEYS; l++) {
        for (size_t i = 0; lists[l] && lists[l][i]; i++) {
            const char *id = lists[l][i];
            if (strcmp(id, job->id) == 0)
                return errprintf(err, "'%s' names the job itself (%s)",
                                 dependency_keys[l], id);
            if (locate_job(co, id) < 0)
                return errprintf(err,
                                 "dependency %s ('%s') is not a job of this "
                                 "spool",
                                 id, dependency_keys[l]);
            char chain[400] = "";
            unsigned budget = CYCLE_FILES;
            if (dependency_loop(co, id, job->id, 0, &budget, chain,
                                sizeof chain))
                return errprintf(err, "dependency cycle: %s -> %s%s", job->id,
                                 id, chain);
        }
    }
    return 0;
}

/* How the job file of dependency id stands, for a "waiting for" line. */
static const char *dependency_state(struct coordinator *co, const char *id,
                                    int where)
{
    if (where == SPOOL_NEW)
        return "queued";
    struct job *dep = find_job(co, id);
    if (!dep)
        return pending_find(co, id) ? "queued" : "running elsewhere";
    if (dep->running || dep->started_us)
        return "running";
    return dep->deps_pending ? "waiting" : "queued";
}

/* How dependency id stands for an "after" list: 0 succeeded, 1 not
 * ended, -1 never will (reason says why). */
static int after_state(int where, const char *id, char *reason, size_t len)
{
    if (where == SPOOL_DONE)
        return 0;
    if (!spool_ended(where) && where >= 0)
        return 1;
    snprintf(reason, len, "dependency %s %s", id,
             where == SPOOL_FAILED     ? "failed"
             : where == SPOOL_REJECTED ? "was rejected"
             : where == SPOOL_CANCEL   ? "was cancelled"
                                       : "is gone from the spool");
    return -1;
}

/* Where job's dependencies stand: 0 all ended as needed, 1 it waits
 * (job->waiting names the first it waits for), -1 it never runs: reason
 * says why, and *cancel whether the job is cancelled (an "after_notok"
 * dependency succeeded) rather than failed. "after": each named job must
 * be in done/. "after_notok": each must be in failed/ (failed or
 * cancelled) or rejected/. "after_any": each must be in one of those. */
static int dependency_verdict(struct coordinator *co, struct job *job,
                              char *reason, size_t len, bool *cancel)
{
    const struct jobspec *s = job->spec;
    const char *blocker = NULL;
    bool notok = false;
    *cancel = false;
    for (size_t i = 0; s->after && s->after[i]; i++) {
        int rc =
            after_state(locate_job(co, s->after[i]), s->after[i], reason, len);
        if (rc < 0)
            return -1;
        if (rc > 0 && !blocker)
            blocker = s->after[i];
    }
    for (size_t i = 0; s->after_notok && s->after_notok[i]; i++) {
        const char *id = s->after_notok[i];
        int where = locate_job(co, id);
        if (where == SPOOL_DONE || where < 0) {
            *cancel = where == SPOOL_DONE;
            snprintf(reason, len, "dependency %s %s", id,
                     *cancel ? "succeeded (after_notok)"
                             : "is gone from the spool");
            return -1;
        }
        if ((where == SPOOL_NEW || where == SPOOL_CUR) && !blocker) {
            blocker = id;
            notok = true;
        }
    }
    for (size_t i = 0; !blocker && s->after_any && s->after_any[i]; i++) {
        int where = locate_job(co, s->after_any[i]);
        if (where == SPOOL_NEW || where == SPOOL_CUR)
            blocker = s->after_any[i];
    }
    if (!blocker)
        return 0;
    snprintf(job->waiting, sizeof job->waiting, "%s", blocker);
    job->waiting_notok = notok;
    return 1;
}

void check_dependencies(struct coordinator *co)
{
    if (!co->check_deps)
        return;
    co->check_deps = false;
    for (struct job *job = co->jobs; job; job = job->next_job) {
        if (!job->deps_pending || job->ended)
            continue;
        char reason[200] = "";
        bool cancel;
        int verdict =
            dependency_verdict(co, job, reason, sizeof reason, &cancel);
        if (verdict < 0) {
            end_unrun(co, job, reason, cancel);
        } else if (verdict == 0) {
            job->deps_pending = false;
            job->waiting[0] = '\0';
            co->status_dirty = true;
            logmsg("job %s: its dependencies ended; it may start", job->id);
        }
    }
}

const char *waiting_reason(struct coordinator *co, const struct job *job,
                           char *buf, size_t len)
{
    if (job->deps_pending) {
        if (!job->waiting[0])
            return "waiting for its dependencies";
        int where = locate_job(co, job->waiting);
        snprintf(buf, len, "waiting for %s%s (%s)", job->waiting,
                 job->waiting_notok ? " to end without success" : "",
                 where == SPOOL_NEW || where == SPOOL_CUR
                     ? dependency_state(co, job->waiting, where)
                     : "ended");
        return buf;
    }
    if (job->held_back)
        return "waiting: its timeout would outlive this allocation";
    int64_t now = util_mono_us();
    if (!job_has_ready(job, now))
        return job->retries ? "waiting to retry a failed task" : NULL;
    for (struct job *o = co->jobs; o && o != job; o = o->next_job) {
        if (o->spec->priority > job->spec->priority && job_has_ready(o, now)) {
            snprintf(buf, len, "waiting: priority %d jobs first",
                     o->spec->priority);
            return buf;
        }
    }
    snprintf(buf, len, "waiting for free slots (needs %d cpu%s)",
             job->spec->cpus, job->spec->cpus == 1 ? "" : "s");
    return buf;
}
