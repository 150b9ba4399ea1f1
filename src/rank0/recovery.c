/* SPDX-License-Identifier: MIT */
/* Adopting the jobs of coordinators that died: their journals, replayed
 * attempts, repaired records. */
#include "recovery.h"

#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "claim.h"
#include "job.h"
#include "journal.h"
#include "runopts.h"
#include "outdir.h"
#include "queue.h"
#include "statusfile.h"
#include "util.h"

void fail_fast_mark(struct coordinator *co, struct job *job, uint64_t task)
{
    job->ff_stopped = true;
    job->ff_task = task;
    free(job->reason);
    if (asprintf(&job->reason, "stopped by fail_fast: task %llu failed",
                 (unsigned long long)task) < 0)
        job->reason = NULL;
    journal_fail_fast(co->journal, job->id, task);
    job->next = job->ntasks;
    co->status_dirty = true;
}

/* Whether an adopted job had been stopped by "fail_fast", and at which
 * task: its F line in the journal, else (a crash between a task's end and
 * that line) the first task whose last allowed attempt failed. */
static bool replay_fail_fast(const struct job *job, const struct replay_job *rj,
                             uint64_t *task)
{
    if (rj->fail_fast) {
        *task = rj->fail_fast_task;
        return true;
    }
    for (size_t i = 0; job->spec->fail_fast && i < job->nreplay; i++) {
        const struct replay_task *rt = &job->replay[i];
        if (rt->state == JOURNAL_FAILED && !retries_left(job, rt->failures)) {
            *task = rt->task;
            return true;
        }
    }
    return false;
}

void adopt_replay(struct coordinator *co, struct job *job,
                  struct replay_job *rj)
{
    job->cancel_all = job->cancelled = rj->cancelled;
    if (rj->cancelled)
        journal_cancel(co->journal, job->id);
    job->replay = rj->tasks;
    job->nreplay = rj->ntasks;
    rj->tasks = NULL;
    rj->ntasks = rj->cap = 0;
    uint64_t ff_task = 0;
    bool stopped = replay_fail_fast(job, rj, &ff_task);
    for (size_t i = 0; i < job->nreplay; i++) {
        struct replay_task *rt = &job->replay[i];
        if (rt->task >= job->ntasks)
            continue;
        if (rt->state == JOURNAL_RUNNING)
            rt->state = JOURNAL_INTERRUPTED;
        journal_end(co->journal, job->id, rt->task, rt->attempt,
                    (enum journal_state)rt->state, rt->failures);
        if (rt->state == JOURNAL_OK) {
            job->succeeded++;
            co->tasks_succeeded++;
        } else if (rt->state == JOURNAL_CANCELLED) {
            job->cancelled = true;
        } else if (rt->state == JOURNAL_FAILED &&
                   (!retries_left(job, rt->failures) || stopped)) {
            job->failed++;
            co->tasks_failed++;
        }
    }
    if (job->nreplay)
        job->started_us = util_now_us();
    if (stopped) {
        fail_fast_mark(co, job, ff_task);
        job->ended = true; /* nothing of it runs here */
        logmsg("job %s: stopped by fail_fast before (task %llu failed): "
               "none of its tasks runs again",
               job->id, (unsigned long long)ff_task);
    }
}

static struct replay_task *replay_lookup(const struct job *job, uint64_t task)
{
    size_t lo = 0, hi = job->nreplay;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (job->replay[mid].task < task)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < job->nreplay && job->replay[lo].task == task ? &job->replay[lo]
                                                             : NULL;
}

/* repair_records' look at one line: the replayed attempt it records. */
struct records_seen {
    const struct job *job;
    bool *found; /* by replay entry */
};

static void record_seen(void *arg, const char *line)
{
    static const char *const keys[] = {"task", "attempt"};
    struct records_seen *rs = arg;
    struct record_token tok[2];
    struct task_record rec;
    struct mps_error err;
    uint64_t task;
    unsigned long attempt;
    if (record_scan(line, strlen(line), keys, 2, tok) == 0) {
        if (!tok[0].text || !tok[1].text)
            return;
        task = strtoull(tok[0].text, NULL, 10);
        attempt = strtoul(tok[1].text, NULL, 10);
    } else if (record_from_json(line, &rec, &err) == 0) {
        task = rec.task; /* a record with steps */
        attempt = rec.attempt;
        record_clear(&rec);
    } else {
        return;
    }
    struct replay_task *rt = replay_lookup(rs->job, task);
    if (rt && rt->attempt == attempt)
        rs->found[rt - rs->job->replay] = true;
}

void repair_records(struct coordinator *co, struct job *job)
{
    struct records_seen rs = {
        job, calloc(job->nreplay ? job->nreplay : 1, sizeof *rs.found)};
    if (!rs.found)
        return;
    outdir_scan_records(job->out, record_seen, &rs);
    unsigned long rebuilt = 0;
    for (size_t i = 0; i < job->nreplay; i++) {
        const struct replay_task *rt = &job->replay[i];
        if (rs.found[i] || rt->task >= job->ntasks ||
            (rt->state != JOURNAL_OK && rt->state != JOURNAL_FAILED))
            continue;
        struct task_record rec = {
            .job = job->id,
            .task = rt->task,
            .attempt = rt->attempt,
            .host = (char *)co->re->host,
            .rank = -1,
            .start_us = util_now_us(),
            .end_us = util_now_us(),
            .exit_code = rt->state == JOURNAL_OK ? 0 : -1,
            .error = rt->state == JOURNAL_OK
                         ? NULL
                         : (char *)"failed (its record was lost in a crash)",
            .note =
                (char *)"rebuilt from the journal after a coordinator crash: "
                        "the attempt's details were lost",
        };
        char *json = record_to_json(&rec);
        if (json && outdir_append_record(job->out, json) < 0)
            logmsg("job %s: cannot repair records.jsonl: %s", job->id,
                   strerror(errno));
        free(json);
        rebuilt++;
    }
    free(rs.found);
    if (rebuilt)
        logmsg("job %s: %lu record%s rebuilt from the journal", job->id,
               rebuilt, rebuilt == 1 ? "" : "s");
}

static bool journal_name(const char *name, char *base, size_t len)
{
    size_t n = strlen(name);
    if (name[0] == '.' || n <= 4 || strcmp(name + n - 4, ".log") != 0 ||
        n - 4 >= len)
        return false;
    snprintf(base, len, "%.*s", (int)(n - 4), name);
    return true;
}

void recover(struct coordinator *co)
{
    struct mps_error err;
    char *lock_path = spool_file(co->sp, SPOOL_JOURNAL, ".recover.lock");
    int lock =
        lock_path ? open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    free(lock_path);
    if (lock >= 0 && flock(lock, LOCK_EX) < 0)
        logmsg("cannot lock for recovery: %s", strerror(errno));
    char *cur_dir = spool_file(co->sp, SPOOL_CUR, NULL);
    char *journal_dir = spool_file(co->sp, SPOOL_JOURNAL, NULL);
    size_t ncur = 0, njournals = 0, ntaken = 0, adopted = 0;
    char **cur = cur_dir ? list_dir(cur_dir, &ncur) : NULL;
    char **journals = journal_dir ? list_dir(journal_dir, &njournals) : NULL;
    struct taken *taken = calloc(njournals ? njournals : 1, sizeof *taken);
    struct replay dead = {0}, live = {0};
    for (size_t i = 0; taken && i < njournals; i++) {
        char base[300];
        if (!journal_name(journals[i], base, sizeof base) ||
            strcmp(base, co->name) == 0)
            continue;
        char *path = spool_file(co->sp, SPOOL_JOURNAL, journals[i]);
        bool alive;
        int fd = path ? journal_take_over(path, &alive, &err) : -1;
        if (fd >= 0) {
            if (journal_replay(&dead, fd, path, &err) < 0)
                logmsg("%s", err.text);
            taken[ntaken].fd = fd;
            taken[ntaken].path = path;
            snprintf(taken[ntaken].base, sizeof taken[ntaken].base, "%s", base);
            ntaken++;
            continue;
        }
        if (alive && journal_replay(&live, -1, path, &err) < 0 &&
            errno != ENOENT)
            logmsg("%s", err.text);
        else if (!alive)
            logmsg("%s", err.text);
        free(path);
    }
    journal_replay_finish(&dead);
    struct replay_job orphan = {0};
    for (size_t i = 0; i < ncur; i++) {
        char id[72];
        size_t len = strlen(cur[i]);
        if (len <= 5 || strcmp(cur[i] + len - 5, ".json") != 0)
            continue;
        job_id_of(cur[i], id);
        struct replay_job *lj = journal_replay_find(&live, id);
        struct replay_job *dj = journal_replay_find(&dead, id);
        if ((lj && lj->claimed) || (lj && !dj) || holds_job(co, id))
            continue; /* a live coordinator's, or on its way */
        if (dj && dj->ended[0] && strcmp(dj->ended, "rejected") != 0) {
            /* It ended; the crash came before its file moved. */
            enum spool_dir to =
                strcmp(dj->ended, "done") ? SPOOL_FAILED : SPOOL_DONE;
            if (spool_move(co->sp, id, SPOOL_CUR, to, &err) < 0)
                logmsg("job %s: %s", id, err.text);
            continue;
        }
        journal_claim(co->journal, id);
        memset(&orphan, 0, sizeof orphan);
        take_job(co, cur[i], dj && !dj->ended[0] ? dj : &orphan, NULL);
        adopted++;
    }
    if (journal_sync(co->journal, &err) < 0)
        logmsg("journal: %s", err.text);
    /* Everything the dead journals held is in ours now. */
    for (size_t i = 0; i < ntaken; i++) {
        char *status = statusfile_path(co->sp, taken[i].base);
        char file[320];
        snprintf(file, sizeof file, "%s.reserve", taken[i].base);
        char *reserve = spool_file(co->sp, SPOOL_JOURNAL, file);
        if (status)
            unlink(status);
        if (reserve)
            unlink(reserve);
        free(status);
        free(reserve);
        unlink(taken[i].path);
        close(taken[i].fd);
        free(taken[i].path);
    }
    if (ntaken || adopted)
        logmsg("recovered %zu job%s from %zu coordinator%s that stopped "
               "without finishing",
               adopted, adopted == 1 ? "" : "s", ntaken,
               ntaken == 1 ? "" : "s");
    journal_replay_free(&dead);
    journal_replay_free(&live);
    free_names(cur, ncur);
    free_names(journals, njournals);
    free(taken);
    free(cur_dir);
    free(journal_dir);
    if (lock >= 0)
        close(lock);
}

bool dead_journal_exists(struct coordinator *co)
{
    char *journal_dir = spool_file(co->sp, SPOOL_JOURNAL, NULL);
    size_t n = 0;
    char **names = journal_dir ? list_dir(journal_dir, &n) : NULL;
    bool dead = false;
    for (size_t i = 0; i < n; i++) {
        char base[300];
        if (!dead && journal_name(names[i], base, sizeof base) &&
            strcmp(base, co->name) != 0) {
            char *path = spool_file(co->sp, SPOOL_JOURNAL, names[i]);
            int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
            if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
                dead = true;
            if (fd >= 0)
                close(fd);
            free(path);
        }
    }
    free_names(names, n);
    free(journal_dir);
    return dead;
}
