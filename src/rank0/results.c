/* SPDX-License-Identifier: MIT */
/* What comes back of an attempt: its output into out/JOBID, its result, its
 * records; the disk reserve that keeps room for them. */
#include "results.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cancel.h"
#include "copies.h"
#include "dispatch.h"
#include "journal.h"
#include "metrics.h"
#include "runopts.h"
#include "outdir.h"
#include "outpaths.h"
#include "queue.h"
#include "util.h"

/* ---- output files ---- */

/* A task's files are named by outpaths.h. */

static int open_output(struct dispatch *d, int stream)
{
    int *fd = stream == 1 ? &d->out_fd : &d->err_fd;
    if (*fd >= 0)
        return *fd;
    char name[OUT_NAME_LEN];
    /* A new file, as the job's owner: never written through the name,
     * which may be a link to the job's shared empty file (outdir_empty)
     * from an earlier attempt. Readable too, for the stdout/stderr
     * copies. */
    *fd = outdir_create(d->job->out,
                        out_task_name(d->task,
                                      stream == 1 ? OUT_STDOUT : OUT_STDERR,
                                      name, sizeof name));
    if (*fd < 0 && !d->write_errno)
        d->write_errno = errno;
    return *fd;
}

void release_reserve(struct coordinator *co)
{
    if (!co->reserve_held)
        return;
    /* Through the descriptor: this may run while acting as a job's owner
     * (outdir_enter), who may not touch journal/. */
    if (ftruncate(co->reserve_fd, 0) < 0)
        return;
    co->reserve_held = false;
    logmsg("the spool's file system is full: released the %d MiB reserve "
           "so records, reports and the journal can still be written",
           RESERVE_BYTES >> 20);
}

void hold_reserve(struct coordinator *co)
{
    if (co->reserve_held || !co->reserve_path)
        return;
    if (co->reserve_fd < 0)
        co->reserve_fd =
            open(co->reserve_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (co->reserve_fd < 0)
        return;
    if (posix_fallocate(co->reserve_fd, 0, RESERVE_BYTES) == 0)
        co->reserve_held = true;
    else if (ftruncate(co->reserve_fd, 0) < 0)
        logmsg("cannot give back '%s': %s", co->reserve_path, strerror(errno));
}

void write_output(struct coordinator *co, uint64_t id, int stream,
                  const char *data, size_t len)
{
    struct dispatch *d = dispatch_find(co, id);
    if (!d || stream < 1 || stream > 2)
        return;
    co->output_received += len;
    co->metrics_dirty = true;
    uint64_t *bytes = &d->bytes[stream - 1];
    uint64_t room = co->opt->max_output - *bytes;
    if (len > room) {
        len = (size_t)room;
        d->truncated[stream - 1] = true;
    }
    if (len == 0 || d->write_errno)
        return;
    *bytes += len;
    int fd = open_output(d, stream);
    if (fd >= 0 && util_write_all(fd, data, len) < 0 && !d->write_errno)
        d->write_errno = errno;
    if (d->write_errno == ENOSPC)
        release_reserve(co);
}

static void end_attempt(struct coordinator *co, struct ended *e);

static void copy_output(struct coordinator *co, struct ended *e);

void queue_result(struct coordinator *co, struct dispatch *d,
                  const struct attempt_result *res)
{
    struct ended *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->d = d;
    /* Out of memory, a string or the steps are left out (NULL). */
    (void)attempt_result_copy(&e->res, res);
    dispatch_remove(co, d);
    int r = d->r;
    if (r >= 0 && r < co->nranks) {
        struct rank_slot *rs = &co->ranks[r];
        unsigned cpus = (unsigned)d->job->spec->cpus;
        rs->busy -= cpus < rs->busy ? cpus : rs->busy;
        uint64_t mem = d->job->spec->memory;
        rs->mem_reserved -= mem < rs->mem_reserved ? mem : rs->mem_reserved;
        unsigned gpus = (unsigned)d->job->spec->gpus;
        rs->gpus_busy -= gpus < rs->gpus_busy ? gpus : rs->gpus_busy;
        if (rs->tasks)
            rs->tasks--;
    }
    if (d->job->copy)
        copy_output(co, e);
    else
        end_attempt(co, e);
}

/* The attempt ended, its copies too: journal how, and queue its record
 * for this turn. */
static void end_attempt(struct coordinator *co, struct ended *e)
{
    const struct dispatch *d = e->d;
    const struct attempt_result *res = &e->res;
    bool ok =
        record_succeeded(res->exit_code, res->signal, res->error != NULL) &&
        !d->write_errno && !e->copy_error;
    enum journal_state state = ok             ? JOURNAL_OK
                               : d->fail_fast ? JOURNAL_STOPPED
                               : d->cancelled ? JOURNAL_CANCELLED
                               : co->stopping || res->interrupted
                                   ? JOURNAL_INTERRUPTED
                                   : JOURNAL_FAILED;
    journal_end(co->journal, d->job->id, d->task, d->attempt, state,
                d->failures + (state == JOURNAL_FAILED));
    /* Before this turn dispatches again (process_ended): the failure of
     * a fail_fast job's task that will not be retried stops the job. */
    if (state == JOURNAL_FAILED && d->job->spec->fail_fast &&
        !retries_left(d->job, d->failures + 1))
        fail_fast_stop(co, d->job, d->task);
    if (co->ended_tail)
        co->ended_tail->next = e;
    else
        co->ended_head = e;
    co->ended_tail = e;
}

/* Copy what the attempt wrote (the spool's files, complete now that its
 * result came) to the paths of the job's "stdout" and "stderr", as the
 * job's owner; every attempt writes them again, so the last one's stay.
 * end_attempt follows when they are written (on_copied). */
static void copy_output(struct coordinator *co, struct ended *e)
{
    struct dispatch *d = e->d;
    /* From the files rank 0 holds: the names are in the owner's
     * directory, where anything may be at them by now. */
    copies_queue(co->copies, d->job->copy, d->task, d->out_fd, d->err_fd, e);
}

void on_copied(void *arg, void *cookie, const char *error)
{
    struct ended *e = cookie;
    e->copy_error = error ? strdup(error) : NULL;
    end_attempt(arg, e);
}

/* The size of the output file fd holds, or 0 (none: an empty one). */
static uint64_t output_bytes(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Make the files of a stream the attempt wrote nothing on (they always
 * exist, empty then); a failure is the attempt's write error. */
static void empty_outputs(struct dispatch *d)
{
    char name[OUT_NAME_LEN];
    for (int stream = 1; stream <= 2; stream++) {
        enum out_task_file which = stream == 1 ? OUT_STDOUT : OUT_STDERR;
        if ((stream == 1 ? d->out_fd : d->err_fd) < 0 &&
            outdir_empty(d->job->out, out_task_name(d->task, which, name,
                                                    sizeof name)) < 0 &&
            !d->write_errno)
            d->write_errno = errno;
    }
}

/* The record of one ended attempt, as far as the result, the output
 * files and the copies tell (rec's paths are malloc'd). */
static void fill_record(struct coordinator *co, struct ended *e,
                        struct task_record *rec)
{
    struct dispatch *d = e->d;
    struct job *job = d->job;
    const struct attempt_result *res = &e->res;
    memset(rec, 0, sizeof *rec);
    rec->job = job->id;
    rec->task = d->task;
    rec->attempt = d->attempt;
    rec->host = co->ranks[d->r].host;
    rec->rank = d->rank;
    rec->cores = res->cores;
    rec->gpus = res->gpus;
    rec->start_us = res->start_us ? res->start_us : util_now_us();
    rec->end_us = res->end_us ? res->end_us : rec->start_us;
    rec->exit_code = res->exit_code;
    rec->signal = res->signal;
    rec->timed_out = res->timed_out;
    rec->max_rss_kb = (long)res->max_rss_kb;
    rec->user_s = res->user_s;
    rec->system_s = res->system_s;
    rec->steps = res->steps;
    rec->nsteps = res->nsteps;
    rec->stdout_path =
        out_task_path(outdir_path(job->out), d->task, OUT_STDOUT);
    rec->stderr_path =
        out_task_path(outdir_path(job->out), d->task, OUT_STDERR);
    empty_outputs(d);
    rec->stdout_bytes = output_bytes(d->out_fd);
    rec->stderr_bytes = output_bytes(d->err_fd);
    rec->error = res->error;
}

/* The task duration histogram of --metrics-file. */
static void count_duration(struct coordinator *co,
                           const struct task_record *rec)
{
    double elapsed = (double)(rec->end_us - rec->start_us) / 1e6;
    if (elapsed < 0)
        elapsed = 0;
    size_t bucket = 0;
    while (bucket < NBUCKETS && elapsed > duration_buckets[bucket])
        bucket++;
    co->duration_count[bucket]++;
    co->duration_sum += elapsed;
    co->duration_total++;
    co->metrics_dirty = true;
}

/* Room for the texts record_verdict may make. */
struct record_texts {
    char write_error[PATH_MAX + 100];
    char interrupted[400];
    char stopped[100];
    char note[160];
};

/* How the attempt ended for its record: the error that says why it
 * failed, cancelled or interrupted, and the note of truncated output.
 * Returns whether it succeeded; *again: it runs again at once (its rank's
 * owner came back, or its rank was lost). */
static bool record_verdict(struct coordinator *co, const struct ended *e,
                           struct task_record *rec, struct record_texts *t,
                           bool *again)
{
    const struct dispatch *d = e->d;
    const struct attempt_result *res = &e->res;
    if (!rec->error && d->write_errno) {
        snprintf(t->write_error, sizeof t->write_error,
                 "cannot write the task's output in '%s': %s",
                 outdir_path(d->job->out), strerror(d->write_errno));
        rec->error = t->write_error;
    }
    if (!rec->error)
        rec->error = e->copy_error;
    bool ok = record_ok(rec);
    rec->cancelled = !ok && d->cancelled;
    rec->interrupted = !ok && !d->cancelled && co->stopping;
    /* --idle-policy action=requeue: the owner of its PC came back; or the
     * rank is gone. */
    *again = !ok && !d->cancelled && !co->stopping && res->interrupted;
    if (*again) {
        rec->interrupted = true;
        if (co->ranks[d->r].lost)
            snprintf(t->interrupted, sizeof t->interrupted,
                     "interrupted: rank %d on %s was lost; the task runs "
                     "again",
                     d->rank, rec->host);
        else
            snprintf(t->interrupted, sizeof t->interrupted,
                     "interrupted: the owner of %s came back (--idle-policy); "
                     "the task runs again%s%s",
                     rec->host, res->error ? ": " : "",
                     res->error ? res->error : "");
        rec->error = t->interrupted;
    }
    if (!rec->error && rec->cancelled && d->fail_fast) {
        snprintf(t->stopped, sizeof t->stopped,
                 "cancelled by fail_fast: task %llu failed",
                 (unsigned long long)d->job->ff_task);
        rec->error = t->stopped;
    }
    if (!rec->error && rec->cancelled)
        rec->error = "cancelled by mpispool cancel";
    if (!rec->error && rec->interrupted)
        rec->error = "interrupted: mpispool-run was stopped (the task runs "
                     "again in the next run)";
    char limit[32];
    if (d->truncated[0] || d->truncated[1]) {
        snprintf(t->note, sizeof t->note, "%s truncated at %s (--max-output)",
                 d->truncated[0] && d->truncated[1] ? "stdout and stderr"
                 : d->truncated[0]                  ? "stdout"
                                                    : "stderr",
                 util_format_size(co->opt->max_output, limit));
        rec->note = t->note;
    }
    return ok;
}

/* TASK.json and its line of records.jsonl, as the job's owner; a full
 * disk first gives up the reserve. */
static void write_record(struct coordinator *co, struct job *job, uint64_t task,
                         const struct task_record *rec)
{
    char *json = record_to_json(rec);
    char json_name[OUT_NAME_LEN];
    out_task_name(task, OUT_RECORD, json_name, sizeof json_name);
    struct mps_error err;
    int rc = json ? outdir_write(job->out, json_name, json, strlen(json), &err)
                  : errprintf(&err, "out of memory");
    if (rc < 0 && errno == ENOSPC && co->reserve_held) {
        release_reserve(co);
        rc = outdir_write(job->out, json_name, json, strlen(json), &err);
    }
    if (rc < 0)
        logmsg("job %s task %llu: cannot write its record: %s", job->id,
               (unsigned long long)task, err.text);
    if (json && outdir_append_record(job->out, json) < 0) {
        int failed = errno;
        logmsg("job %s: cannot write records.jsonl: %s", job->id,
               strerror(failed));
        if (failed == ENOSPC)
            release_reserve(co);
    }
    free(json);
}

/* What comes after an attempt: a retry, or the task's count as succeeded
 * or failed; the job ends when nothing of it is left. */
static void after_attempt(struct coordinator *co, struct dispatch *d,
                          const struct task_record *rec, bool ok, bool again)
{
    struct job *job = d->job;
    job->running--;
    if (rec->cancelled) {
        /* Counted as cancelled when the job ends. */
    } else if (!ok && co->stopping) {
        /* Ended because we are stopping: not the task's failure, and not
         * retried here. The job stays unfinished (see release_jobs). */
    } else if (!job->ff_stopped &&
               (again || (!ok && retries_left(job, d->failures + 1)))) {
        unsigned failures = d->failures + (again ? 0 : 1);
        if (queue_retry(job, d->task, d->attempt, failures, &d->cmd, &d->place,
                        util_mono_us(), again) < 0) {
            job->failed++;
            co->tasks_failed++;
        }
    } else if (ok) {
        job->succeeded++;
        co->tasks_succeeded++;
    } else if (!again) {
        /* Also the failed attempt of a job that fail_fast stopped meanwhile
         * (its retry would not start). */
        job->failed++;
        co->tasks_failed++;
    }
    if (job->next >= job->ntasks && !job->retries && job->running == 0 &&
        !co->stopping)
        job->ended = true;
    co->status_dirty = true;
}

/* Write the record of one ended attempt and decide what comes next. */
static void record_result(struct coordinator *co, struct ended *e)
{
    struct dispatch *d = e->d;
    struct task_record rec;
    struct record_texts texts;
    bool again;
    fill_record(co, e, &rec);
    bool ok = record_verdict(co, e, &rec, &texts, &again);
    count_duration(co, &rec);
    write_record(co, d->job, d->task, &rec);
    free(rec.stdout_path);
    free(rec.stderr_path);
    after_attempt(co, d, &rec, ok, again);
    dispatch_free(d);
}

static void ended_free(struct ended *e)
{
    free(e->copy_error);
    attempt_result_clear(&e->res);
    free(e);
}

void process_ended(struct coordinator *co)
{
    if (!co->ended_head)
        return;
    /* The ended attempts freed their slots (queue_result): fill them
     * first, so the ranks run the next tasks while we write records (the
     * new starts' journal lines share this sync). Retries and jobs that
     * these ends release are dispatched by the next turn. */
    dispatch(co);
    struct mps_error err;
    if (journal_sync(co->journal, &err) < 0)
        logmsg("journal: %s", err.text);
    while (co->ended_head) {
        /* A job's records of this turn are written in one stretch as its
         * owner: one identity switch for all its files. */
        struct job *job = co->ended_head->d->job;
        bool entered = outdir_enter(job->out) == 0;
        struct ended **link = &co->ended_head;
        while (*link) {
            struct ended *e = *link;
            if (e->d->job != job) {
                link = &e->next;
                continue;
            }
            *link = e->next;
            record_result(co, e);
            ended_free(e);
        }
        if (entered)
            outdir_leave(job->out);
    }
    co->ended_tail = NULL;
}

void results_drop(struct coordinator *co)
{
    while (co->ended_head) {
        struct ended *e = co->ended_head;
        co->ended_head = e->next;
        dispatch_free(e->d);
        ended_free(e);
    }
    co->ended_tail = NULL;
}
