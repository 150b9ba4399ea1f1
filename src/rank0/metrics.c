/* SPDX-License-Identifier: MIT */
/* --metrics-file: the Prometheus text exposition of rank 0's counters. */
#include "metrics.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "runopts.h"
#include "ranks.h"
#include "util.h"

const double duration_buckets[] = {0.1, 0.5, 1,   5,    10,    30,
                                   60,  300, 900, 3600, 14400, 86400};

/* A label value for the text format: backslash, double quote and newline
 * escaped. */
static void put_label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void metric_head(FILE *f, const char *name, const char *type,
                        const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One metric without labels: its head and its value. */
static void metric(FILE *f, const char *name, const char *type,
                   const char *help, unsigned long long value)
{
    metric_head(f, name, type, help);
    fprintf(f, "%s %llu\n", name, value);
}

void write_metrics(struct coordinator *co)
{
    const char *path = co->opt->metrics_file;
    co->metrics_dirty = false;
    co->last_metrics = util_mono_us();
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return;
    FILE *f = fopen(tmp, "we");
    if (!f) {
        logmsg("cannot write metrics '%s': %s", tmp, strerror(errno));
        free(tmp);
        return;
    }
    uint64_t jobs_waiting = 0, tasks_pending = 0;
    for (struct job *job = co->jobs; job; job = job->next_job) {
        if (job->deps_pending)
            jobs_waiting++;
        tasks_pending += job->ntasks - job->next;
        for (struct retry *r = job->retries; r; r = r->next)
            tasks_pending++;
    }
    uint64_t njobs = 0;
    for (struct job *job = co->jobs; job; job = job->next_job)
        njobs++;
    metric(f, "mpispool_queue_jobs", "gauge",
           "Jobs claimed by this coordinator and not ended.", njobs);
    metric(f, "mpispool_queue_jobs_waiting", "gauge",
           "Claimed jobs waiting for their dependencies.", jobs_waiting);
    metric(f, "mpispool_queue_tasks_pending", "gauge",
           "Task attempts of claimed jobs not started yet.", tasks_pending);
    metric(f, "mpispool_output_received_bytes_total", "counter",
           "Bytes of task output that reached this coordinator.",
           co->output_received);
    metric(f, "mpispool_tasks_running", "gauge",
           "Task attempts running on the ranks.", co->ndispatched);
    metric(f, "mpispool_tasks_succeeded_total", "counter",
           "Tasks that succeeded since this coordinator started.",
           co->tasks_succeeded);
    metric(f, "mpispool_tasks_failed_total", "counter",
           "Tasks that failed (after their retries) since this "
           "coordinator started.",
           co->tasks_failed);
    metric(f, "mpispool_jobs_done_total", "counter",
           "Jobs moved to done/ since this coordinator started.",
           co->jobs_done);
    metric(f, "mpispool_jobs_failed_total", "counter",
           "Jobs moved to failed/ since this coordinator started.",
           co->jobs_failed);
    metric(f, "mpispool_jobs_rejected_total", "counter",
           "Job files rejected since this coordinator started.",
           co->jobs_rejected);
    metric_head(f, "mpispool_task_duration_seconds", "histogram",
                "Wall time of ended task attempts.");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cumulative += co->duration_count[i];
        fprintf(f, "mpispool_task_duration_seconds_bucket{le=\"%g\"} %llu\n",
                duration_buckets[i], (unsigned long long)cumulative);
    }
    fprintf(f, "mpispool_task_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)co->duration_total);
    fprintf(f, "mpispool_task_duration_seconds_sum %.6f\n", co->duration_sum);
    fprintf(f, "mpispool_task_duration_seconds_count %llu\n",
            (unsigned long long)co->duration_total);
    metric_head(f, "mpispool_rank_slots", "gauge",
                "Task slots (cores) of each rank that runs tasks.");
    for (int r = 0; r < co->nranks; r++) {
        fputs("mpispool_rank_slots{host=\"", f);
        put_label(f, co->ranks[r].host);
        fprintf(f, "\",rank=\"%d\"} %u\n", co->ranks[r].rank,
                co->ranks[r].slots);
    }
    metric_head(f, "mpispool_rank_busy_slots", "gauge",
                "Task slots (cores) of each rank held by running tasks.");
    for (int r = 0; r < co->nranks; r++) {
        const struct rank_slot *rs = &co->ranks[r];
        fputs("mpispool_rank_busy_slots{host=\"", f);
        put_label(f, rs->host);
        fprintf(f, "\",rank=\"%d\"} %u\n", co->ranks[r].rank,
                rs->busy < rs->slots ? rs->busy : rs->slots);
    }
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed || rename(tmp, path) < 0) {
        logmsg("cannot write metrics '%s': %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
}
