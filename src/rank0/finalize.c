/* SPDX-License-Identifier: MIT */
/* Ending jobs: report.json, done/ or failed/, and the release of claimed jobs
 * on stop. */
#include "finalize.h"

#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "job.h"
#include "jobreport.h"
#include "journal.h"
#include "outdir.h"
#include "results.h"
#include "spool.h"
#include "util.h"

/* report.json: the job's summary and every attempt's record, streamed
 * from records.jsonl so a million tasks never sit in memory. */
static int write_report(struct coordinator *co, struct job *job,
                        const char *state, int64_t ended_us)
{
    uint64_t ended = job->succeeded + job->failed;
    const struct job_report rep = {
        .job = job->id,
        .name = job->spec->name,
        .state = state,
        .submitted = job->spec->submit_time,
        .started_us = job->started_us ? job->started_us : job->claimed_us,
        .ended_us = ended_us,
        .tasks = job->ntasks,
        .succeeded = job->succeeded,
        .failed = job->failed,
        .cancelled = job->ntasks > ended ? job->ntasks - ended : 0,
        .reason = job->reason,
    };
    struct mps_error err;
    int rc = outdir_write_report(job->out, &rep, &err);
    if (rc < 0) {
        int failed = errno;
        logmsg("job %s: %s", job->id, err.text);
        errno = failed;
    }
    return rc;
}

/* Compaction keeps the lines of the jobs this coordinator still holds. */
static bool job_is_live(void *arg, const char *id)
{
    return find_job(arg, id) != NULL;
}

/* done, failed or cancelled. */
static const char *job_state(const struct job *job)
{
    return job->cancelled               ? "cancelled"
           : job->failed || job->reason ? "failed"
                                        : "done";
}

void finalize_ended_jobs(struct coordinator *co)
{
    struct job *finished = NULL;
    struct job **link = &co->jobs;
    while (*link) {
        struct job *job = *link;
        if (job->ended) {
            *link = job->next_job;
            job->next_job = finished;
            finished = job;
        } else {
            link = &job->next_job;
        }
    }
    if (!finished)
        return;
    int64_t now = util_now_us();
    for (struct job *job = finished; job; job = job->next_job) {
        if (write_report(co, job, job_state(job), now) < 0 && errno == ENOSPC &&
            co->reserve_held) {
            release_reserve(co);
            write_report(co, job, job_state(job), now);
        }
        journal_job(co->journal, job->id, job_state(job));
    }
    struct mps_error err;
    int dirfd = open(spool_path(co->sp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd >= 0) {
        syncfs(dirfd);
        close(dirfd);
    }
    if (journal_sync(co->journal, &err) < 0)
        logmsg("journal: %s", err.text);
    while (finished) {
        struct job *job = finished;
        finished = job->next_job;
        const char *state = job_state(job);
        enum spool_dir to = strcmp(state, "done") ? SPOOL_FAILED : SPOOL_DONE;
        if (spool_move(co->sp, job->id, SPOOL_CUR, to, &err) < 0)
            logmsg("job %s: %s", job->id, err.text);
        else
            logmsg("job %s %s: %llu succeeded, %llu failed", job->id, state,
                   (unsigned long long)job->succeeded,
                   (unsigned long long)job->failed);
        if (to == SPOOL_FAILED)
            co->jobs_failed++;
        else
            co->jobs_done++;
        job_free(job);
    }
    co->status_dirty = true;
    co->check_deps = true;
    hold_reserve(co);
    if (journal_size(co->journal) > JOURNAL_COMPACT_BYTES) {
        if (journal_compact(co->journal, job_is_live, co, &err) < 0)
            logmsg("%s", err.text);
    }
}

void release_jobs(struct coordinator *co)
{
    struct mps_error err;
    while (co->pending) {
        struct pending *p = co->pending;
        co->pending = p->next;
        bool ran = p->rj && p->rj->ntasks;
        if (!ran &&
            spool_move(co->sp, p->id, SPOOL_CUR, SPOOL_NEW, &err) == 0) {
            journal_release(co->journal, p->id);
            logmsg("job %s returned to new/", p->id);
        } else {
            co->kept_jobs++;
            logmsg("job %s stays in cur/; the next run on this spool tries to "
                   "set it up again",
                   p->id);
        }
        pending_free(p);
    }
    while (co->jobs) {
        struct job *job = co->jobs;
        co->jobs = job->next_job;
        if (!job->started_us && !job->nreplay && !job->cancelled &&
            spool_move(co->sp, job->id, SPOOL_CUR, SPOOL_NEW, &err) == 0) {
            journal_release(co->journal, job->id);
            job_drop_output(co, job);
            logmsg("job %s returned to new/", job->id);
        } else {
            co->kept_jobs++;
            logmsg("job %s stays in cur/ with %llu of %llu tasks ended; the "
                   "next run on this spool resumes it",
                   job->id, (unsigned long long)(job->succeeded + job->failed),
                   (unsigned long long)job->ntasks);
        }
        job_free(job);
    }
}
