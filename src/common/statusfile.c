/* SPDX-License-Identifier: MIT */
/* The status file SPOOL/status/COORD.json (doc/formats.md): its name, its
 * writer and its loader. */
#include "statusfile.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"
#include "util.h"

char *statusfile_coord_name(const char *host, int pid, char *buf, size_t size)
{
    snprintf(buf, size, "%s-%d", host, pid);
    return buf;
}

char *statusfile_path(const struct spool *sp, const char *coord)
{
    char *file = NULL;
    if (asprintf(&file, "%s.json", coord) < 0)
        return NULL;
    char *path = spool_file(sp, SPOOL_STATUS, file);
    free(file);
    return path;
}

/* Set key of o to v (which it takes); false when o or v is NULL. */
static bool put(json_t *o, const char *key, json_t *v)
{
    if (!o || !v || json_object_set_new(o, key, v) < 0) {
        json_decref(v);
        return false;
    }
    return true;
}

static json_t *time_or_null(int64_t us)
{
    char t[UTIL_TIME_LEN];
    return us ? json_string(util_format_time(us, t)) : json_null();
}

static json_t *time_string(int64_t us)
{
    char t[UTIL_TIME_LEN];
    return json_string(util_format_time(us, t));
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *rank_json(const struct statusfile_rank *r)
{
    json_t *o = json_object();
    bool ok = put(o, SF_RANK, json_integer(r->rank)) &&
              put(o, SF_RANK_HOST, json_string(r->host)) &&
              put(o, SF_RANK_SLOTS, json_integer((int)r->slots)) &&
              put(o, SF_RANK_BUSY, json_integer((int)r->busy)) &&
              put(o, SF_RANK_TASKS, json_integer((int)r->tasks)) &&
              put(o, SF_RANK_STATE, json_string(r->state)) &&
              put(o, SF_MEMORY, json_integer((json_int_t)r->memory)) &&
              put(o, SF_MEMORY_RESERVED,
                  json_integer((json_int_t)r->memory_reserved)) &&
              put(o, SF_GPUS, json_integer((int)r->gpus)) &&
              put(o, SF_GPUS_BUSY, json_integer((int)r->gpus_busy)) &&
              put(o, SF_LOAD, json_real(r->load));
    if (ok && r->idle_action) {
        json_t *idle = json_object();
        ok = put(idle, SF_OWNER_ACTIVE, json_boolean(r->owner_active)) &&
             put(idle, SF_OWNER_ACTION, json_string(r->idle_action));
        if (ok && r->owner_active)
            ok = put(idle, SF_OWNER_REASON, string_or_null(r->owner_reason)) &&
                 put(idle, SF_OWNER_SINCE, time_or_null(r->owner_since_us));
        ok = ok && put(o, SF_IDLE_POLICY, json_incref(idle));
        json_decref(idle);
    }
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

static json_t *job_json(const struct statusfile_job *j)
{
    json_t *o = json_object();
    bool ok =
        put(o, SF_JOB, json_string(j->job)) &&
        put(o, SF_JOB_NAME, string_or_null(j->name)) &&
        put(o, SF_JOB_STATE, json_string(j->state)) &&
        put(o, SF_JOB_PRIORITY, json_integer(j->priority)) &&
        put(o, SF_JOB_TASKS, json_integer((json_int_t)j->tasks)) &&
        put(o, SF_JOB_PENDING, json_integer((json_int_t)j->pending)) &&
        put(o, SF_JOB_RUNNING, json_integer((json_int_t)j->running)) &&
        put(o, SF_JOB_SUCCEEDED, json_integer((json_int_t)j->succeeded)) &&
        put(o, SF_JOB_FAILED, json_integer((json_int_t)j->failed));
    if (ok && j->started_us)
        ok = put(o, SF_JOB_STARTED, time_string(j->started_us));
    ok = ok && put(o, SF_JOB_WAITING, string_or_null(j->waiting));
    if (ok && j->reason)
        ok = put(o, SF_JOB_REASON, json_string(j->reason));
    if (!ok)
        json_decref(o);
    return ok ? o : NULL;
}

/* slots and totals. */
static bool put_counts(json_t *root, const struct statusfile *sf)
{
    json_t *slots = json_object(), *totals = json_object();
    bool ok =
        put(slots, SF_SLOTS_TOTAL, json_integer((int)sf->slots_total)) &&
        put(slots, SF_SLOTS_BUSY, json_integer((int)sf->slots_busy)) &&
        put(slots, SF_SLOTS_FREE,
            json_integer((int)(sf->slots_total - sf->slots_busy))) &&
        put(totals, SF_JOBS_DONE, json_integer((int)sf->jobs_done)) &&
        put(totals, SF_JOBS_FAILED, json_integer((int)sf->jobs_failed)) &&
        put(totals, SF_JOBS_REJECTED, json_integer((int)sf->jobs_rejected)) &&
        put(totals, SF_TASKS_SUCCEEDED,
            json_integer((json_int_t)sf->tasks_succeeded)) &&
        put(totals, SF_TASKS_FAILED,
            json_integer((json_int_t)sf->tasks_failed));
    /* slots comes before ranks and jobs, totals after them. */
    ok = ok && put(root, SF_SLOTS, json_incref(slots));
    json_t *ranks = json_array(), *jobs = json_array();
    for (size_t i = 0; ok && i < sf->nranks; i++)
        ok = json_array_append_new(ranks, rank_json(&sf->ranks[i])) == 0;
    for (size_t i = 0; ok && i < sf->njobs; i++)
        ok = json_array_append_new(jobs, job_json(&sf->jobs[i])) == 0;
    ok = ok && put(root, SF_RANKS, json_incref(ranks)) &&
         put(root, SF_JOBS, json_incref(jobs)) &&
         put(root, SF_TOTALS, json_incref(totals));
    json_decref(slots);
    json_decref(totals);
    json_decref(ranks);
    json_decref(jobs);
    return ok;
}

char *statusfile_text(const struct statusfile *sf)
{
    json_t *root = json_object();
    bool ok = put(root, SF_COORDINATOR, json_string(sf->coordinator)) &&
              put(root, SF_HOST, json_string(sf->host)) &&
              put(root, SF_PID, json_integer(sf->pid)) &&
              put(root, SF_STARTED, time_string(sf->started_us)) &&
              put(root, SF_UPDATED, time_string(sf->updated_us)) &&
              put(root, SF_STATE, json_string(sf->state)) &&
              put(root, SF_UNTIL_EMPTY, json_boolean(sf->until_empty)) &&
              put_counts(root, sf);
    if (ok && sf->idle_policy)
        ok = put(root, SF_IDLE_POLICY, json_string(sf->idle_policy));
    char *text =
        ok ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return text;
}

int statusfile_write(const char *path, const struct statusfile *sf,
                     struct mps_error *err)
{
    char *text = statusfile_text(sf);
    if (!text)
        return errprintf(err, "out of memory");
    int rc = util_write_file(path, text, strlen(text), 0, err);
    free(text);
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

json_t *statusfile_load_all(const struct spool *sp)
{
    json_t *all = json_array();
    char *dir = spool_file(sp, SPOOL_STATUS, NULL);
    if (!all || !dir) {
        free(dir);
        json_decref(all);
        return NULL;
    }
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] != '.' && ends_with(name, ".json")) {
            char *path = spool_file(sp, SPOOL_STATUS, name);
            json_error_t jerr;
            json_t *st = path ? json_load_file(path, 0, &jerr) : NULL;
            if (json_is_object(st))
                json_array_append(all, st);
            json_decref(st);
            free(path);
        }
        free(names[i]);
    }
    free(names);
    free(dir);
    return all;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_int_t num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static int64_t time_of(json_t *o, const char *key)
{
    int64_t us = 0;
    const char *text = str(o, key);
    if (!text || util_parse_time(text, &us) < 0)
        return 0;
    return us;
}

static void decode_rank(json_t *o, struct statusfile_rank *r)
{
    r->rank = (int)num(o, SF_RANK);
    r->host = str(o, SF_RANK_HOST);
    r->slots = (unsigned)num(o, SF_RANK_SLOTS);
    r->busy = (unsigned)num(o, SF_RANK_BUSY);
    r->tasks = (unsigned)num(o, SF_RANK_TASKS);
    r->state = str(o, SF_RANK_STATE);
    r->memory = (uint64_t)num(o, SF_MEMORY);
    r->memory_reserved = (uint64_t)num(o, SF_MEMORY_RESERVED);
    r->gpus = (unsigned)num(o, SF_GPUS);
    r->gpus_busy = (unsigned)num(o, SF_GPUS_BUSY);
    r->load = json_number_value(json_object_get(o, SF_LOAD));
    json_t *idle = json_object_get(o, SF_IDLE_POLICY);
    r->idle_action = str(idle, SF_OWNER_ACTION);
    r->owner_active = json_is_true(json_object_get(idle, SF_OWNER_ACTIVE));
    r->owner_reason = str(idle, SF_OWNER_REASON);
    r->owner_since_us = time_of(idle, SF_OWNER_SINCE);
}

static void decode_job(json_t *o, struct statusfile_job *j)
{
    j->job = str(o, SF_JOB);
    j->name = str(o, SF_JOB_NAME);
    j->state = str(o, SF_JOB_STATE);
    j->priority = (int)num(o, SF_JOB_PRIORITY);
    j->tasks = (uint64_t)num(o, SF_JOB_TASKS);
    j->pending = (uint64_t)num(o, SF_JOB_PENDING);
    j->running = (uint64_t)num(o, SF_JOB_RUNNING);
    j->succeeded = (uint64_t)num(o, SF_JOB_SUCCEEDED);
    j->failed = (uint64_t)num(o, SF_JOB_FAILED);
    j->started_us = time_of(o, SF_JOB_STARTED);
    j->waiting = str(o, SF_JOB_WAITING);
    j->reason = str(o, SF_JOB_REASON);
}

int statusfile_decode(json_t *st, struct statusfile *sf)
{
    *sf = (struct statusfile){0};
    sf->coordinator = str(st, SF_COORDINATOR);
    sf->host = str(st, SF_HOST);
    sf->pid = (int)num(st, SF_PID);
    sf->started_us = time_of(st, SF_STARTED);
    sf->updated_us = time_of(st, SF_UPDATED);
    sf->state = str(st, SF_STATE);
    sf->until_empty = json_is_true(json_object_get(st, SF_UNTIL_EMPTY));
    json_t *slots = json_object_get(st, SF_SLOTS);
    sf->slots_total = (unsigned)num(slots, SF_SLOTS_TOTAL);
    sf->slots_busy = (unsigned)num(slots, SF_SLOTS_BUSY);
    json_t *ranks = json_object_get(st, SF_RANKS);
    json_t *jobs = json_object_get(st, SF_JOBS);
    size_t nranks = json_array_size(ranks), njobs = json_array_size(jobs);
    sf->ranks = calloc(nranks ? nranks : 1, sizeof *sf->ranks);
    sf->jobs = calloc(njobs ? njobs : 1, sizeof *sf->jobs);
    if (!sf->ranks || !sf->jobs) {
        statusfile_free(sf);
        return -1;
    }
    for (sf->nranks = 0; sf->nranks < nranks; sf->nranks++)
        decode_rank(json_array_get(ranks, sf->nranks), &sf->ranks[sf->nranks]);
    for (sf->njobs = 0; sf->njobs < njobs; sf->njobs++)
        decode_job(json_array_get(jobs, sf->njobs), &sf->jobs[sf->njobs]);
    json_t *totals = json_object_get(st, SF_TOTALS);
    sf->jobs_done = (unsigned long)num(totals, SF_JOBS_DONE);
    sf->jobs_failed = (unsigned long)num(totals, SF_JOBS_FAILED);
    sf->jobs_rejected = (unsigned long)num(totals, SF_JOBS_REJECTED);
    sf->tasks_succeeded = (unsigned long long)num(totals, SF_TASKS_SUCCEEDED);
    sf->tasks_failed = (unsigned long long)num(totals, SF_TASKS_FAILED);
    sf->idle_policy = str(st, SF_IDLE_POLICY);
    return 0;
}

void statusfile_free(struct statusfile *sf)
{
    free(sf->ranks);
    free(sf->jobs);
    *sf = (struct statusfile){0};
}

bool statusfile_stale(const char *state, double age_s)
{
    return age_s > STATUSFILE_STALE_S && strcmp(state, "stopped") != 0;
}
