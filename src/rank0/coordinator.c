/* SPDX-License-Identifier: MIT */
/* Rank 0: claims job files from the spool, hands their tasks to worker
 * ranks, writes output, records, reports, the journal and the status file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archives.h"
#include "asuser.h"
#include "copies.h"
#include "doorbell.h"
#include "executor.h"
#include "idle.h"
#include "intake.h"
#include "jobfile.h"
#include "journal.h"
#include "coordinator.h"
#include "node.h"
#include "runopts.h"
#include "worker.h"
#include "outdir.h"
#include "outpattern.h"
#include "rankdir.h"
#include "record.h"
#include "requests.h"
#include "spool.h"
#include "taskfile.h"
#include "transport.h"
#include "util.h"

/* MPI checks: while tasks are out, every millisecond (at once again when a
 * message just arrived); while idle only this often, since nothing arrives
 * that needs a quick answer and inotify wakes us for new jobs. */
#define IDLE_POLL_MS 100
/* When every worker has a doorbell, messages wake us: MPI is looked at
 * only this often as a safety net. */
#define BELL_IDLE_POLL_MS 1000
/* A ring can come before MPI shows the message it announces: after one,
 * look at MPI every millisecond for this long. */
#define RING_LINGER_US 200000
#define MAX_TASK_FDS 512
#define BUSY_POLL_MS 1
#define STATUS_INTERVAL_US 250000
/* --metrics-file is rewritten at most this often (and at exit). */
#define METRICS_INTERVAL_US 2000000

/* Upper bounds (seconds) of the task duration histogram's buckets; +Inf
 * follows. */
static const double duration_buckets[] = {0.1, 0.5, 1,   5,    10,    30,
                                          60,  300, 900, 3600, 14400, 86400};
#define NBUCKETS (sizeof duration_buckets / sizeof *duration_buckets)
#define DISPATCH_BUCKETS 4096
/* A coordinator claims more jobs only while fewer than this many of its
 * jobs have tasks not yet handed out, so that several coordinators on one
 * spool share its queue instead of the first one hoarding it. */
#define CLAIM_AHEAD 2
/* A scan of new/ works on files (takes, looks at, rejects them) for at
 * most this long, then lets the loop turn and goes on in the next turn:
 * a flood of files keeps nothing else waiting. */
#define INTAKE_SCAN_US 200000
/* Claims journaled with one sync. */
#define INTAKE_BATCH 16
/* Looks at job files left in new/ remembered (intake_cache). */
#define INTAKE_LOOKS (1 << 14)
/* A job that could not be set up for a passing reason is tried again
 * after 1 s, then after twice as long each time, up to this. */
#define SETUP_RETRY_MAX_US (30 * 1000000LL)
/* At most this many messages per loop turn, so files and signals are
 * looked at while a flood of output arrives. */
#define RECV_BATCH 256
/* A cancelled task gets this long between SIGTERM and SIGKILL (at most
 * --kill-grace): mpispool cancel promises an end within a second. */
#define CANCEL_GRACE_S 0.5
/* Space held back on the spool's file system: freed when a write there
 * fails for lack of space, so records, reports and the journal still fit. */
#define RESERVE_BYTES (4 << 20)
/* The journal is compacted (only live jobs' lines kept) past this size. */
#define JOURNAL_COMPACT_BYTES (8 << 20)

/* Where a task of a task file came from (all 0 for other tasks). */
struct task_place {
    uint64_t line;   /* 1-based line of the task file */
    uint64_t number; /* its number in the whole task file */
    int64_t repeat;  /* its disBatch REPEAT index, -1 outside a REPEAT */
};

/* A task attempt waiting to be retried. */
struct retry {
    uint64_t task;
    unsigned attempt;
    struct taskcmd cmd;
    struct task_place place;
    int64_t not_before; /* monotonic us */
    struct retry *next;
};

struct job {
    char id[72];
    struct jobspec *spec;
    struct outdir *out; /* out/JOBID, its files made as the job's owner */
    uint64_t seq;       /* claim order */
    uint64_t ntasks;
    uint64_t next; /* next task never dispatched */
    struct taskfile *tasks;
    /* Runs its shell tasks: "interpreter", else its task file's "#!"
     * line, else /bin/bash for a disBatch task file; NULL: /bin/sh. */
    char *interpreter;
    /* A disBatch task file: its tasks get DISBATCH_* (nametasks is
     * DISBATCH_NAMETASKS). */
    bool disbatch;
    char *nametasks;
    struct job_archive *archive; /* its checked "archive", or NULL */
    struct retry *retries;
    uint64_t running, succeeded, failed;
    int64_t claimed_us, started_us;
    char **env; /* prepared once for every task */
    uint32_t envc;
    bool inherit;
    bool ended; /* every task ended: finalize this turn */
    /* Its tasks' timeout outlives the allocation: see hold_back_jobs. */
    bool held_back;
    /* Adopted from a dead coordinator's journal: how each task it knew
     * of stands (sorted by task); fresh tasks are checked against it. */
    struct replay_task *replay;
    size_t nreplay, replay_pos;
    /* mpispool cancel: the whole job, or these tasks (sorted) not yet
     * started; either makes the job's state "cancelled". */
    bool cancelled, cancel_all;
    uint64_t *cancel_tasks;
    size_t ncancel_tasks;
    struct job *next_job;
    /* "after"/"after_any"/"after_notok": not all of those jobs ended as
     * needed yet (see check_dependencies); waiting says on what, for the
     * status file (waiting_notok: for it to end without success). */
    bool deps_pending;
    char waiting[72]; /* the job id it waits for first, or "" */
    bool waiting_notok;
    /* Why the job ended before all its tasks ran, for its report:
     * "dependency X failed", "stopped by fail_fast: task N failed". */
    char *reason;
    /* "fail_fast": task ff_task failed for good, so no task of the job
     * starts any more and its running ones are being ended. */
    bool ff_stopped;
    uint64_t ff_task;
    /* Who its tasks run as (see job_owner). */
    bool as_user;
    uint32_t uid, gid, ngroups;
    uint32_t *groups;
    struct copy_job *copy; /* "stdout"/"stderr" copies, or NULL */
};

/* A task attempt out on a rank. */
struct dispatch {
    uint64_t id;
    struct job *job;
    uint64_t task;
    unsigned attempt;
    int rank;
    struct taskcmd cmd;
    struct task_place place;
    int out_fd, err_fd;
    int write_errno; /* first output write failure */
    bool cancelled;  /* killed by mpispool cancel or by fail_fast */
    bool fail_fast;  /* by fail_fast: another task of its job failed */
    uint64_t bytes[2];
    bool truncated[2]; /* output beyond --max-output was discarded */
    struct dispatch *next;
};

/* A result that arrived and waits for the journal sync of this turn (and
 * before that, for the attempt's stdout/stderr copies). */
struct ended {
    struct dispatch *d;
    struct wire_result res;
    char *copy_error; /* why a copy failed, or NULL */
    struct ended *next;
};

struct rank_slot {
    bool hello, bye;
    char host[256];
    unsigned slots;
    unsigned busy;
    unsigned tasks;
    uint64_t mem_total; /* bytes of memory the rank may hand out */
    unsigned gpus, gpus_busy;
    double load;           /* 1-minute load average of its node */
    uint64_t mem_reserved; /* by its running tasks' "memory" */
    /* --idle-policy: its PC's owner is active (from its HEARTBEATs, or
     * rank 0's own monitor when alone): it gets no tasks. */
    bool owner_active;
    uint8_t owner_reason;   /* enum idle_reason */
    int64_t owner_since_us; /* wall us */
    bool draining;          /* SPOOL/drain/HOST: no new tasks (scan_drain) */
};

/* A claimed job (in cur/) that could not be set up for a passing reason
 * (asuser_transient: a read-only or full file system, a quota, out of
 * descriptors): tried again with backoff, never rejected for it. */
struct pending {
    char name[80]; /* in cur/ */
    char id[72];
    bool id_checked;       /* its id was found free: out/ID may be ours now */
    struct replay_job *rj; /* adopted: what a dead journal knew, or NULL */
    unsigned attempts;
    int64_t next_try; /* monotonic us */
    char reason[256];
    struct pending *next;
};

struct coordinator {
    const struct run_options *opt;
    const struct rank_env *re;
    struct spool *sp;
    struct journal *journal;
    char name[300];
    char *status_path;
    int inotify_fd, new_wd, cancel_wd, drain_wd;
    struct requests *requests; /* cancel/ and drain/ */
    char *reserve_path;        /* journal/COORD.reserve, or NULL */
    int reserve_fd;            /* it, open once held */
    bool reserve_held;
    int sigfd;
    struct executor *local; /* the lone rank 0 runs tasks itself */
    struct rankdir rankdir; /* its private directory, with local */
    int outfd;              /* SPOOL/out/ */
    char *outpath;
    int bell_listen;     /* doorbell listening socket, or -1 */
    int *bells;          /* per worker index: its doorbell, or -1 */
    struct pollfd *pfds; /* poll set, room for everything */
    int64_t last_ring;   /* monotonic us of the last doorbell ring */
    struct rank_slot *ranks;
    int nranks; /* ranks that run tasks: 1 alone, else size - 1 workers */
    struct job *jobs;
    uint64_t claim_seq;
    uint64_t last_served; /* claim seq of the job that got the last task */
    struct dispatch *table[DISPATCH_BUCKETS];
    uint64_t next_dispatch;
    uint64_t ndispatched;
    struct ended *ended_head, *ended_tail;
    struct copies *copies; /* attempts' stdout/stderr copies at work */
    bool stopping;
    unsigned long kept_jobs; /* left claimed in cur/ by a stop */
    bool claims_deferred;    /* new/ has jobs we left for later */
    bool scan_again;         /* a scan of new/ stopped at its time budget */
    uid_t intake_after;      /* the owner whose file a scan took last */
    struct intake_announced announced; /* names inotify told of */
    struct intake_cache *looks;        /* what job files left in new/ hold */
    struct pending *pending;           /* claimed jobs waiting to be set up */
    int64_t started_us;
    int64_t next_rescan, last_status;
    bool status_dirty;
    unsigned long jobs_done, jobs_failed, jobs_rejected;
    unsigned long long tasks_succeeded, tasks_failed;
    struct idle_monitor idle; /* --idle-policy for the lone rank 0 */
    int64_t next_idle_check;  /* monotonic us */
    bool check_deps; /* a job ended or came: look at dependencies again */
    /* --metrics-file: task attempts' durations (cumulative buckets are
     * summed when written), and when the file was last written. */
    uint64_t duration_count[NBUCKETS + 1];
    double duration_sum;
    uint64_t duration_total;
    bool metrics_dirty;
    uint64_t output_received; /* bytes of task output, for the metrics */
    int64_t last_metrics;     /* monotonic us */
};

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mpispool-run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- dispatch table ---- */

static struct dispatch **dispatch_slot(struct coordinator *co, uint64_t id)
{
    struct dispatch **link = &co->table[id % DISPATCH_BUCKETS];
    while (*link && (*link)->id != id)
        link = &(*link)->next;
    return link;
}

static struct dispatch *dispatch_find(struct coordinator *co, uint64_t id)
{
    return *dispatch_slot(co, id);
}

static void dispatch_remove(struct coordinator *co, struct dispatch *d)
{
    struct dispatch **link = dispatch_slot(co, d->id);
    if (*link)
        *link = d->next;
    co->ndispatched--;
}

static void dispatch_free(struct dispatch *d)
{
    if (d->out_fd >= 0)
        close(d->out_fd);
    if (d->err_fd >= 0)
        close(d->err_fd);
    taskcmd_free(&d->cmd);
    free(d);
}

/* Whether task attempts are out: running, or ended with their copies or
 * records still to write. */
static bool attempts_out(const struct coordinator *co)
{
    return co->ndispatched || co->ended_head || copies_pending(co->copies);
}

/* ---- output files ---- */

static char *task_path(const struct job *job, uint64_t task, const char *ext)
{
    char *path;
    if (asprintf(&path, "%s/%llu.%s", outdir_path(job->out),
                 (unsigned long long)task, ext) < 0)
        return NULL;
    return path;
}

/* "TASK.EXT", a file's name in out/JOBID. */
static const char *task_name(uint64_t task, const char *ext, char *buf,
                             size_t len)
{
    snprintf(buf, len, "%llu.%s", (unsigned long long)task, ext);
    return buf;
}

static int open_output(struct dispatch *d, int stream)
{
    int *fd = stream == 1 ? &d->out_fd : &d->err_fd;
    if (*fd >= 0)
        return *fd;
    char name[40];
    /* A new file, as the job's owner: never written through the name,
     * which may be a link to the job's shared empty file (outdir_empty)
     * from an earlier attempt. Readable too, for the stdout/stderr
     * copies. */
    *fd = outdir_create(
        d->job->out,
        task_name(d->task, stream == 1 ? "out" : "err", name, sizeof name));
    if (*fd < 0 && !d->write_errno)
        d->write_errno = errno;
    return *fd;
}

/* Space on the spool's file system held back for records, reports and the
 * journal: given up when a write fails for lack of space, taken again when
 * there is room. */
static void release_reserve(struct coordinator *co)
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

static void hold_reserve(struct coordinator *co)
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

/* Write a chunk of a task's output, keeping at most --max-output of each
 * stream; after a write fails, the rest of that attempt's output is
 * dropped (its record says why). */
static void write_output(struct coordinator *co, uint64_t id, int stream,
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

/* ---- jobs ---- */

static void job_free(struct job *job)
{
    if (!job)
        return;
    jobspec_destroy(job->spec);
    outdir_close(job->out);
    job_archive_destroy(job->archive);
    if (job->tasks)
        taskfile_close(job->tasks);
    free(job->interpreter);
    free(job->nametasks);
    while (job->retries) {
        struct retry *r = job->retries;
        job->retries = r->next;
        taskcmd_free(&r->cmd);
        free(r);
    }
    for (uint32_t i = 0; i < job->envc; i++)
        free(job->env[i]);
    free(job->env);
    free(job->groups);
    copy_job_destroy(job->copy);
    free(job->replay);
    free(job->cancel_tasks);
    free(job->reason);
    free(job);
}

static bool env_has(char **env, const char *key)
{
    size_t klen = strlen(key);
    for (; env && *env; env++)
        if (strncmp(*env, key, klen) == 0 && (*env)[klen] == '=')
            return true;
    return false;
}

/* The environment sent with each task: the submitter's (when submit
 * captured it) with the job's env over it, and OMP_NUM_THREADS. Variables
 * of the job's env replace the submitter's with the same name. */
static int job_prepare_env(struct job *job)
{
    const struct jobspec *s = job->spec;
    size_t n = 0;
    for (char **e = s->submit_env; e && *e; e++)
        n++;
    for (char **e = s->env; e && *e; e++)
        n++;
    job->env = calloc(n + 2, sizeof *job->env);
    if (!job->env)
        return -1;
    for (char **e = s->submit_env; e && *e; e++) {
        size_t klen = strcspn(*e, "=");
        bool replaced = false;
        for (char **o = s->env; o && *o; o++)
            if (strncmp(*o, *e, klen) == 0 && (*o)[klen] == '=')
                replaced = true;
        if (!replaced && !(job->env[job->envc++] = strdup(*e)))
            return -1;
    }
    for (char **e = s->env; e && *e; e++)
        if (!(job->env[job->envc++] = strdup(*e)))
            return -1;
    if (!env_has(s->env, "OMP_NUM_THREADS") &&
        asprintf(&job->env[job->envc++], "OMP_NUM_THREADS=%d", s->cpus) < 0)
        return -1;
    job->inherit = s->submit_env == NULL;
    return 0;
}

/* Where job file id is; looks twice, so a job that moved back from cur/
 * to new/ (a coordinator's stop) in between is still found. */
static int locate_job(const struct coordinator *co, const char *id)
{
    int where = spool_locate(co->sp, id);
    return where >= 0 ? where : spool_locate(co->sp, id);
}

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

static bool has_dependencies(const struct jobspec *s)
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

/* A dependency on a job the spool does not know, on itself, or one that
 * waits (through others) for this job, is refused at claim: one line in
 * err. A cycle is complete by the time its last job is claimed, since a
 * job naming an id the spool does not know yet is refused. */
static int check_dependency_ids(const struct coordinator *co,
                                const struct job *job, struct mps_error *err)
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

/* The job id of a job file name: NAME.json -> NAME (id holds 72 bytes). */
static void job_id_of(const char *name, char *id)
{
    size_t len = strlen(name);
    if (len > 5 && strcmp(name + len - 5, ".json") == 0)
        len -= 5;
    snprintf(id, 72, "%.*s", (int)len, name);
}

static void reject(struct coordinator *co, const char *name, const char *reason)
{
    struct mps_error err;
    char id[72];
    job_id_of(name, id);
    journal_job(co->journal, id, "rejected");
    if (spool_reject(co->sp, SPOOL_CUR, name, reason, false, &err) < 0)
        logmsg("cannot reject '%s' (%s): %s", name, reason, err.text);
    else
        logmsg("rejected job file '%s': %s", name, reason);
    co->jobs_rejected++;
    co->status_dirty = true;
}

/* Move a file that may not have its name out of from/ (new/, or cur/
 * after our claim) into rejected/ under a fresh name, with its reason:
 * the job that has that id, or the user it is reserved for, is left
 * alone, its files and journal lines too. */
static void refuse(struct coordinator *co, enum spool_dir from,
                   const char *name, const char *reason)
{
    struct mps_error err;
    if (spool_reject(co->sp, from, name, reason, true, &err) < 0)
        logmsg("cannot refuse '%s' (%s): %s", name, reason, err.text);
    else
        logmsg("refused job file '%s': %s", name, reason);
    co->jobs_rejected++;
    co->status_dirty = true;
}

/* What is in new/ but is no job file at all (a link, a directory, a
 * device, an empty file, a bad name): moved to rejected/ with its reason
 * as it is, without a claim. */
static void dispose(struct coordinator *co, const char *name,
                    const char *reason)
{
    struct mps_error err;
    if (spool_reject(co->sp, SPOOL_NEW, name, reason, false, &err) < 0) {
        if (errno != ENOENT) /* else another coordinator took it */
            logmsg("cannot reject '%s' (%s): %s", name, reason, err.text);
        return;
    }
    logmsg("rejected job file '%s': %s", name, reason);
    co->jobs_rejected++;
    co->status_dirty = true;
}

static void job_insert(struct coordinator *co, struct job *job)
{
    struct job **link = &co->jobs;
    while (*link && ((*link)->spec->priority > job->spec->priority ||
                     ((*link)->spec->priority == job->spec->priority &&
                      (*link)->seq < job->seq)))
        link = &(*link)->next_job;
    job->next_job = *link;
    *link = job;
}

/* Who the job's files are opened and made as, and its tasks run as (see
 * job_owner); its files get the umask it was submitted with. */
static struct asuser_id job_who(const struct job *job)
{
    return (struct asuser_id){
        .switch_ids = job->as_user,
        .uid = job->uid,
        .gid = job->gid,
        .ngroups = job->ngroups,
        .groups = job->groups,
        .umask = job->spec ? job->spec->submit_umask : 022,
    };
}

/* Open one of the job's inputs (what: "task file" or "archive"), named
 * name in its job file, as the job's owner: a relative name beneath data/
 * (no link, no "..", one link, the owner's), an absolute path with the
 * owner's rights (with owned, only a file the owner owns). Never a FIFO
 * or device. *path gets its path for messages. Returns the descriptor,
 * or -1 with err and errno: EINVAL for a file that is not what it must
 * be, else the open's (job_input_failure tells what that means). */
static int job_open_input(struct coordinator *co, const struct job *job,
                          const char *what, const char *name, bool owned,
                          char **path, struct mps_error *err)
{
    struct asuser_id who = job_who(job);
    struct asuser_want want = {.type = S_IFREG, .any_owner = true};
    struct stat st;
    struct mps_error why;
    int fd;
    *path =
        name[0] == '/' ? strdup(name) : spool_file(co->sp, SPOOL_DATA, name);
    if (!*path) {
        errno = ENOMEM;
        return errprintf(err, "out of memory");
    }
    if (name[0] == '/') {
        fd = asuser_open_path(&who, name, &want, &st, &why);
    } else if (asuser_enter(&who, &why) < 0) {
        fd = -1;
    } else {
        fd = asuser_openat(spool_dirfd(co->sp, SPOOL_DATA), name, O_RDONLY, 0,
                           &want, &st, *path, &why);
        int saved = errno;
        asuser_leave();
        errno = saved;
    }
    int e = errno;
    if (fd < 0 && e == ENOENT && strcmp(what, "archive") == 0)
        errprintf(err, "archive '%s' not found", *path);
    else if (fd < 0 && (e == ELOOP || e == EINVAL))
        errprintf(err, "%s %s", what, why.text); /* "'x' is not ..." */
    else if (fd < 0 && e == EXDEV)
        errprintf(err, "%s '%s' is not in '%s/data'", what, name,
                  spool_path(co->sp));
    else if (fd < 0)
        errprintf(err, "cannot open %s '%s': %s", what, *path, strerror(e));
    else if ((owned || name[0] != '/') && job->as_user &&
             st.st_uid != (uid_t)job->uid)
        e = EINVAL, errprintf(err, "%s '%s' does not belong to the job's owner",
                              what, *path);
    else if (name[0] != '/' && st.st_nlink != 1)
        e = EINVAL, errprintf(err,
                              "%s '%s' has %lu links (a hard link is "
                              "refused)",
                              what, *path, (unsigned long)st.st_nlink);
    else
        return fd;
    if (fd >= 0)
        close(fd);
    errno = e;
    return -1;
}

/* Whether the failure errno e of opening or reading a job's input may
 * pass by itself. A file its owner may not read (EACCES, EPERM) is the
 * job's mistake, not the system's: the job is invalid. */
static bool job_input_transient(int e)
{
    return asuser_transient(e) && e != EACCES && e != EPERM;
}

static struct job *find_job(struct coordinator *co, const char *id)
{
    for (struct job *job = co->jobs; job; job = job->next_job)
        if (strcmp(job->id, id) == 0)
            return job;
    return NULL;
}

/* How job's task file runs, from what its count pass tf read: its
 * interpreter, and whether it is a disBatch task file. */
static int job_task_file_kind(struct job *job, const struct taskfile *tf,
                              struct mps_error *err)
{
    const struct jobspec *s = job->spec;
    job->disbatch = taskfile_disbatch(tf);
    const char *interpreter =
        s->interpreter ? s->interpreter : taskfile_interpreter(tf);
    if (!interpreter && job->disbatch)
        interpreter = "/bin/bash"; /* as disBatch runs its tasks */
    if (interpreter && !(job->interpreter = strdup(interpreter)))
        return errprintf(err, "out of memory");
    if (job->disbatch) {
        const char *name = s->task_file_name ? s->task_file_name : s->task_file;
        const char *slash = strrchr(name, '/');
        if (!(job->nametasks = strdup(slash ? slash + 1 : name)))
            return errprintf(err, "out of memory");
    }
    return 0;
}

/* A reader of the job's task file open at fd, of the tasks it runs. */
static struct taskfile *job_task_reader(const struct job *job, int fd,
                                        const char *path, struct mps_error *err)
{
    struct taskfile *tf = taskfile_fdopen(fd, path, err);
    const struct jobspec *s = job->spec;
    if (tf && s->file_tasks &&
        taskfile_select(tf, s->file_tasks, s->nfile_tasks, err) < 0) {
        taskfile_close(tf);
        return NULL;
    }
    return tf;
}

/* Open the job's task file (as its owner, job_open_input: it is held
 * open from now on, never opened by name again) and count its tasks (it
 * is streamed again as tasks are dispatched, never held whole). -1 with
 * err and errno (EINVAL: the task file is not valid). */
static int job_open_tasks(struct coordinator *co, struct job *job,
                          struct mps_error *err)
{
    char *path;
    int fd = job_open_input(co, job, "task file", job->spec->task_file, true,
                            &path, err);
    int again = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd >= 0 && again < 0)
        errprintf(err, "cannot open task file '%s': %s", path, strerror(errno));
    struct taskfile *tf =
        again >= 0 ? job_task_reader(job, fd, path, err) : NULL;
    if (!tf) {
        int saved = fd >= 0 ? EINVAL : errno;
        if (fd >= 0 && again < 0)
            close(fd);
        if (again >= 0)
            close(again);
        free(path);
        errno = saved;
        return -1;
    }
    int rc = taskfile_finish(tf, err);
    uint64_t count = taskfile_count(tf);
    if (rc == 0)
        rc = job_task_file_kind(job, tf, err);
    taskfile_close(tf);
    if (rc < 0 || count == 0) {
        close(again);
        free(path);
        if (rc == 0)
            errprintf(err, "task file '%s' has no tasks", job->spec->task_file);
        errno = EINVAL;
        return -1;
    }
    /* The same file again, from its start. */
    if (lseek(again, 0, SEEK_SET) < 0) {
        errprintf(err, "cannot read task file '%s': %s", path, strerror(errno));
        close(again);
        free(path);
        return -1;
    }
    job->tasks = job_task_reader(job, again, path, err);
    free(path);
    if (!job->tasks) {
        errno = ENOMEM;
        return -1;
    }
    job->ntasks = count;
    return 0;
}

/* Who job's tasks run as: the owner of its job file (st, the fstat of
 * the file taken out of new/). Run as root, tasks of a file not owned by
 * root run as its owner: uid, the primary group of the password entry and
 * its supplementary groups (getgrouplist), or, for a uid without an entry,
 * the file's gid and no supplementary groups. Otherwise tasks run as this
 * process. Returns 0 or -1 with err set (the user database could not be
 * read: it may pass). */
static int job_owner(struct job *job, const struct stat *st,
                     struct mps_error *err)
{
    if (geteuid() != 0 || st->st_uid == 0)
        return 0;
    job->as_user = true;
    job->uid = (uint32_t)st->st_uid;
    job->gid = (uint32_t)st->st_gid;
    char buf[16384];
    struct passwd pw, *found = NULL;
    if (getpwuid_r(st->st_uid, &pw, buf, sizeof buf, &found) != 0 || !found)
        return 0;
    job->gid = (uint32_t)pw.pw_gid;
    int n = 64;
    for (int tries = 0; tries < 4; tries++) {
        gid_t *groups = malloc((size_t)n * sizeof *groups);
        if (!groups)
            return errprintf(err, "out of memory");
        int got = n;
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &got) >= 0) {
            job->groups = (uint32_t *)groups;
            job->ngroups = (uint32_t)got;
            return 0;
        }
        free(groups);
        if (got <= n)
            break;
        n = got;
    }
    errno = EAGAIN;
    return errprintf(err, "cannot find the groups of user '%s'", pw.pw_name);
}

static void scan_cancel(struct coordinator *co);

/* Mark job as stopped by "fail_fast" at task (see fail_fast_stop): no
 * fresh task of it starts, and the journal says so. */
static void fail_fast_mark(struct coordinator *co, struct job *job,
                           uint64_t task)
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
        if (rt->state == JOURNAL_FAILED &&
            (int)rt->attempt > job->spec->retries) {
            *task = rt->task;
            return true;
        }
    }
    return false;
}

/* Take over what an adopted journal knew of the job: the ends it recorded
 * go into our journal (so a crash of ours loses nothing either) and into
 * the job's counts; its tasks are skipped or run again as they stood. */
static void adopt_replay(struct coordinator *co, struct job *job,
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
                    (enum journal_state)rt->state);
        if (rt->state == JOURNAL_OK) {
            job->succeeded++;
            co->tasks_succeeded++;
        } else if (rt->state == JOURNAL_CANCELLED) {
            job->cancelled = true;
        } else if (rt->state == JOURNAL_FAILED &&
                   ((int)rt->attempt > job->spec->retries || stopped)) {
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
    struct records_seen *rs = arg;
    const char *t = strstr(line, "\"task\":");
    const char *a = strstr(line, "\"attempt\":");
    if (!t || !a)
        return;
    struct replay_task *rt = replay_lookup(rs->job, strtoull(t + 7, NULL, 10));
    if (rt && rt->attempt == strtoul(a + 10, NULL, 10))
        rs->found[rt - rs->job->replay] = true;
}

/* After a crash, records.jsonl may end in a torn line, and the record of
 * an attempt whose end was journaled may never have been written (the
 * journal is synced first). Cut the torn line, and add a record rebuilt
 * from the journal for each missing one, so the report has every task.
 * The file is the owner's: read through rank 0's descriptor, bounded. */
static void repair_records(struct coordinator *co, struct job *job)
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

/* The job's stdout/stderr copies, once its tasks are counted: a pattern
 * without a task number cannot serve a task file of several tasks (a job
 * file's own tasks were checked when it was parsed). */
static int job_prepare_copies(struct job *job, struct mps_error *err)
{
    const struct jobspec *s = job->spec;
    if ((s->stdout_path && outpattern_check_tasks("stdout", s->stdout_path,
                                                  job->ntasks, err) < 0) ||
        (s->stderr_path && outpattern_check_tasks("stderr", s->stderr_path,
                                                  job->ntasks, err) < 0))
        return -1;
    const struct asuser_id who = job_who(job);
    return copy_job_create(s, job->id, &who, &job->copy, err);
}

/* How setting a claimed job up went (job_setup). */
enum setup {
    SETUP_OK,
    SETUP_INVALID,   /* the job itself is not valid: it is rejected */
    SETUP_REFUSED,   /* its id is another job's or another user's */
    SETUP_TRANSIENT, /* a failure that may pass: tried again later */
    SETUP_GONE,      /* its file is no longer in cur/ */
};

/* Open the job file cur/NAME (no link; a regular file with one link, at
 * most JOBFILE_MAX_BYTES, checked on the descriptor before a byte is
 * read), take its owner from that descriptor (job_owner; *owner), read and
 * parse it. */
static enum setup job_read(struct coordinator *co, struct job *job,
                           const char *name, uid_t *owner,
                           struct mps_error *err)
{
    /* Either type: a directory is refused below in the words for it. */
    struct asuser_want want = {.any_owner = true};
    struct stat st;
    struct mps_error why;
    int fd = asuser_openat(spool_dirfd(co->sp, SPOOL_CUR), name, O_RDONLY, 0,
                           &want, &st, name, &why);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP || e == EINVAL) {
            errprintf(err, "job file is %s: refused",
                      e == ELOOP ? "a symbolic link" : "not a regular file");
            return SETUP_INVALID;
        }
        errprintf(err, "cannot open job file: %s", strerror(e));
        return e == ENOENT           ? SETUP_GONE
               : asuser_transient(e) ? SETUP_TRANSIENT
                                     : SETUP_INVALID;
    }
    enum setup rc = SETUP_INVALID;
    *owner = st.st_uid;
    if (!S_ISREG(st.st_mode)) {
        errprintf(err, "job file is not a regular file: refused");
    } else if (st.st_nlink != 1) {
        errprintf(err, "job file is a hard link: refused");
    } else if (st.st_size > JOBFILE_MAX_BYTES) {
        errprintf(err, "job file is larger than 16 MiB");
    } else if (job_owner(job, &st, err) < 0) {
        rc = SETUP_TRANSIENT;
    } else {
        size_t len;
        char *text = asuser_read(fd, JOBFILE_MAX_BYTES, &len, name, &why);
        if (!text) {
            bool passing = errno != EINVAL && asuser_transient(errno);
            errprintf(err, "%s",
                      errno == EINVAL ? "job file is larger than 16 MiB"
                                      : why.text);
            rc = passing ? SETUP_TRANSIENT : SETUP_INVALID;
        } else {
            job->spec = jobfile_parse(text, len, err);
            rc = job->spec ? SETUP_OK : SETUP_INVALID;
            free(text);
        }
    }
    close(fd);
    return rc;
}

/* Make sure the job's id is its own: reserved for nobody else (ids/),
 * and on a fresh claim (check_used) the id of no job in any state (its
 * files are not touched). A job file made by hand has its reservation
 * made now, as its owner. */
static enum setup job_check_id(struct coordinator *co, struct job *job,
                               uid_t owner, bool check_used,
                               struct mps_error *err)
{
    int where = check_used ? spool_id_used(co->sp, job->id) : -1;
    if (where == SPOOL_OUT) {
        errprintf(err, "job id '%s' is already used (out/%s exists): refused",
                  job->id, job->id);
        return SETUP_REFUSED;
    }
    if (where >= 0) {
        errprintf(err, "job id '%s' is already used by a job in %s/: refused",
                  job->id, spool_dir_name((enum spool_dir)where));
        return SETUP_REFUSED;
    }
    struct asuser_id who = job_who(job);
    uid_t holder = owner;
    if (asuser_enter(&who, err) < 0)
        return SETUP_TRANSIENT;
    int rc = spool_reserve(co->sp, job->id, owner, &holder, err);
    int saved = errno;
    asuser_leave();
    /* A rank 0 that cannot act as others made the reservations of their
     * hand-made job files itself; a spool without ids/ has none. */
    if ((rc > 0 && !job->as_user && holder == geteuid()) ||
        (rc < 0 && saved == ENOENT))
        return SETUP_OK;
    if (rc > 0)
        return SETUP_REFUSED;
    errno = saved;
    return rc < 0 ? SETUP_TRANSIENT : SETUP_OK;
}

/* Open and check the job's archive (as its owner), held open from now on:
 * what is checked is what is shipped and extracted. */
static enum setup job_open_archive(struct coordinator *co, struct job *job,
                                   struct mps_error *err)
{
    char *path;
    int fd = job_open_input(co, job, "archive", job->spec->archive, false,
                            &path, err);
    if (fd >= 0)
        job->archive = job_archive_claim(fd, path, &co->opt->archive_limits,
                                         co->nranks, err);
    int e = errno;
    free(path);
    if (job->archive)
        return SETUP_OK;
    return job_input_transient(e) ? SETUP_TRANSIENT : SETUP_INVALID;
}

/* The job's output directory out/ID, made for the job's owner (an
 * adopted job keeps the records of the attempts that ended). -1 with err
 * and errno. */
static int job_setup_output(struct coordinator *co, struct job *job,
                            bool adopted, struct mps_error *err)
{
    const struct asuser_id who = job_who(job);
    if (!(job->out =
              outdir_open(co->outfd, co->outpath, job->id, &who, adopted, err)))
        return -1;
    if (job->as_user && !outdir_as_owner(job->out))
        logmsg("job %s: cannot act as user %u: its output directory is "
               "made as this process's",
               job->id, (unsigned)job->uid);
    return 0;
}

/* Set up the claimed job file cur/NAME as job: its file, owner, id,
 * dependencies, archive, task file, copies, output. adopted: taken over
 * from a coordinator that stopped (its id was checked then). *id_checked
 * tells whether its id was found its own. */
static enum setup job_setup(struct coordinator *co, struct job *job,
                            const char *name, bool check_used, bool adopted,
                            bool *id_checked, struct mps_error *err)
{
    size_t len = strlen(name);
    if (len <= 5 || strcmp(name + len - 5, ".json") != 0) {
        errprintf(err, "job file name must end in '.json'");
        return SETUP_INVALID;
    }
    snprintf(job->id, sizeof job->id, "%.*s", (int)(len - 5), name);
    if (!jobfile_valid_id(job->id)) {
        errprintf(err, "job id must be 1 to 64 characters of "
                       "A-Z a-z 0-9 . _ - (not starting with '.')");
        return SETUP_INVALID;
    }
    uid_t owner = 0;
    enum setup rc = job_read(co, job, name, &owner, err);
    if (rc == SETUP_OK)
        rc = job_check_id(co, job, owner, check_used, err);
    if (rc != SETUP_OK)
        return rc;
    *id_checked = true;
    if (has_dependencies(job->spec) && check_dependency_ids(co, job, err) < 0)
        return SETUP_INVALID;
    job->deps_pending = has_dependencies(job->spec);
    if (job->spec->archive && (rc = job_open_archive(co, job, err)) != SETUP_OK)
        return rc;
    if (!job->spec->task_file)
        job->ntasks = job->spec->ntasks;
    else if (job_open_tasks(co, job, err) < 0)
        return job_input_transient(errno) ? SETUP_TRANSIENT : SETUP_INVALID;
    if (job_prepare_copies(job, err) < 0)
        return SETUP_INVALID;
    if (job_setup_output(co, job, adopted, err) < 0)
        return asuser_transient(errno) ? SETUP_TRANSIENT : SETUP_INVALID;
    if (job_prepare_env(job) < 0) {
        errprintf(err, "out of memory");
        return SETUP_TRANSIENT;
    }
    return SETUP_OK;
}

static struct pending *pending_find(struct coordinator *co, const char *id)
{
    for (struct pending *p = co->pending; p; p = p->next)
        if (strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

/* Whether we hold a job of this id (set up, or waiting to be). */
static bool holds_job(struct coordinator *co, const char *id)
{
    return find_job(co, id) || pending_find(co, id);
}

static void pending_free(struct pending *p)
{
    if (p->rj)
        free(p->rj->tasks);
    free(p->rj);
    free(p);
}

/* Keep cur/NAME claimed and try to set it up again later (p: the entry of
 * the attempt that failed again, or NULL for a first failure, rj what a
 * dead journal knew of it): after 1 s, then twice as long each time, at
 * most SETUP_RETRY_MAX_US. */
static void pending_add(struct coordinator *co, const char *name,
                        const char *id, struct replay_job *rj,
                        struct pending *p, bool id_checked, const char *reason)
{
    if (!p && (p = calloc(1, sizeof *p))) {
        snprintf(p->name, sizeof p->name, "%s", name);
        snprintf(p->id, sizeof p->id, "%s", id);
        if (rj && (p->rj = malloc(sizeof *p->rj))) {
            *p->rj = *rj; /* its tasks are ours now */
            rj->tasks = NULL;
            rj->ntasks = rj->cap = 0;
        }
    }
    if (!p) {
        logmsg("job %s cannot be set up (%s), nor kept for later: out of "
               "memory; it stays in cur/ until the next coordinator",
               id, reason);
        return;
    }
    p->id_checked = p->id_checked || id_checked;
    int64_t delay = 1000000LL << (p->attempts < 5 ? p->attempts : 5);
    if (delay > SETUP_RETRY_MAX_US)
        delay = SETUP_RETRY_MAX_US;
    p->attempts++;
    p->next_try = util_mono_us() + delay;
    size_t n = 0;
    for (const char *c = reason; *c && n < sizeof p->reason - 1; c++)
        p->reason[n++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
    p->reason[n] = '\0';
    p->next = co->pending;
    co->pending = p;
    co->status_dirty = true;
    logmsg("job %s cannot be set up yet (%s): trying again in %lld s", id,
           p->reason, (long long)(delay / 1000000));
}

/* Remove the output directory made for job, which never started (set up
 * and then returned to new/, or not set up after all): out/ID would make
 * the next claim of its job file refuse the id as used. */
static void job_drop_output(struct coordinator *co, struct job *job)
{
    if (job->out && outdir_discard(job->out, co->outfd, job->id) < 0)
        logmsg("job %s: cannot remove its output directory: %s", job->id,
               strerror(errno));
    job->out = NULL;
}

/* Set up the job file cur/NAME and queue it (or reject it, refuse it,
 * keep it for later). rj is what a dead coordinator's journal knew of it
 * when it is adopted, else NULL; again its entry when it is tried again
 * (taken over). */
static void take_job(struct coordinator *co, const char *name,
                     struct replay_job *rj, struct pending *again)
{
    struct mps_error err = {"out of memory"};
    char id[72];
    job_id_of(name, id);
    bool id_checked = again && again->id_checked;
    if (again)
        rj = again->rj;
    struct job *job = calloc(1, sizeof *job);
    enum setup rc = job ? job_setup(co, job, name, !rj && !id_checked,
                                    rj != NULL, &id_checked, &err)
                        : SETUP_TRANSIENT;
    if (rc == SETUP_INVALID) {
        reject(co, name, err.text);
    } else if (rc == SETUP_REFUSED || rc == SETUP_GONE) {
        journal_release(co->journal, id);
        if (rc == SETUP_REFUSED)
            refuse(co, SPOOL_CUR, name, err.text);
        else
            logmsg("job %s is gone from cur/: %s", id, err.text);
    } else if (rc == SETUP_TRANSIENT) {
        pending_add(co, name, id, rj, again, id_checked, err.text);
        again = NULL; /* kept */
    }
    if (rc != SETUP_OK) {
        if (job && !rj)
            job_drop_output(co, job);
        job_free(job);
        if (again)
            pending_free(again);
        return;
    }
    co->check_deps = true;
    job->seq = ++co->claim_seq;
    job->claimed_us = util_now_us();
    if (rj) {
        adopt_replay(co, job, rj);
        repair_records(co, job);
    }
    if (again)
        pending_free(again);
    job_insert(co, job);
    co->status_dirty = true;
    if (rj)
        logmsg("adopted job %s (%llu task%s, %llu ended before)", job->id,
               (unsigned long long)job->ntasks, job->ntasks == 1 ? "" : "s",
               (unsigned long long)(job->succeeded + job->failed));
    else
        logmsg("claimed job %s (%llu task%s)", job->id,
               (unsigned long long)job->ntasks, job->ntasks == 1 ? "" : "s");
}

/* Try again the jobs kept for later whose time has come. */
static void retry_pending(struct coordinator *co)
{
    int64_t now = util_mono_us();
    struct pending *list = co->pending;
    co->pending = NULL;
    while (list) {
        struct pending *p = list;
        list = p->next;
        if (p->next_try <= now && !co->stopping) {
            take_job(co, p->name, NULL, p);
            continue;
        }
        p->next = co->pending;
        co->pending = p;
    }
}

/* Milliseconds until the next job kept for later is tried again, or -1. */
static int pending_wait_ms(const struct coordinator *co, int64_t now)
{
    int64_t next = -1;
    for (const struct pending *p = co->pending; p; p = p->next)
        if (next < 0 || p->next_try < next)
            next = p->next_try;
    if (next < 0)
        return -1;
    int64_t ms = (next - now + 999) / 1000;
    return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Claimed jobs with tasks not yet handed out, but for those held back
 * (allocation end) or waiting for their dependencies: these must not keep
 * us from claiming the jobs they wait for. */
static size_t jobs_waiting(const struct coordinator *co)
{
    size_t n = 0;
    for (const struct job *job = co->jobs; job; job = job->next_job)
        if (!job->held_back && !job->deps_pending && job->next < job->ntasks)
            n++;
    return n;
}

/* The lowest priority among the claimed jobs waiting to hand out tasks. */
static int lowest_waiting_priority(const struct coordinator *co)
{
    int lowest = INT_MAX;
    for (const struct job *job = co->jobs; job; job = job->next_job)
        if (!job->held_back && !job->deps_pending && job->next < job->ntasks &&
            job->spec->priority < lowest)
            lowest = job->spec->priority;
    return lowest;
}

/* What new/NAME holds, looked at without claiming it (opened as
 * asuser_openat does, cached by device, inode, size and mtime: a file
 * left in new/ is read once, however often it is looked at). */
enum look { LOOK_GONE, LOOK_INVALID, LOOK_VALID };

static enum look look_at(struct coordinator *co, const char *name,
                         int *priority)
{
    struct asuser_want want = {.type = S_IFREG,
                               .any_owner = true,
                               .one_link = true,
                               .max_size = JOBFILE_MAX_BYTES};
    struct stat st;
    struct mps_error err;
    int fd = asuser_openat(spool_dirfd(co->sp, SPOOL_NEW), name, O_RDONLY, 0,
                           &want, &st, name, &err);
    if (fd < 0) /* swapped for what is no job file: claimed, rejected */
        return errno == ENOENT ? LOOK_GONE : LOOK_INVALID;
    const struct intake_look *seen = intake_cache_get(co->looks, &st);
    struct intake_look look = {false, 0};
    if (seen) {
        look = *seen;
    } else {
        size_t len;
        char *text = asuser_read(fd, JOBFILE_MAX_BYTES, &len, name, &err);
        struct jobspec *spec = text ? jobfile_parse(text, len, &err) : NULL;
        look = (struct intake_look){spec != NULL, spec ? spec->priority : 0};
        if (text)
            intake_cache_put(co->looks, &st, &look);
        jobspec_destroy(spec);
        free(text);
    }
    close(fd);
    *priority = look.priority;
    return look.valid ? LOOK_VALID : LOOK_INVALID;
}

/* Journal the claims of names (one sync for all), then rename each into
 * cur/ and take it; a name lost to another coordinator is released, one
 * whose id another coordinator holds in cur/ is refused. */
static void claim_batch(struct coordinator *co, char **names, size_t n)
{
    struct mps_error err;
    char id[72];
    for (size_t i = 0; i < n; i++) {
        job_id_of(names[i], id);
        journal_claim(co->journal, id);
    }
    if (n && journal_sync(co->journal, &err) < 0)
        logmsg("journal: %s", err.text);
    for (size_t i = 0; i < n; i++) {
        int rc = spool_claim(co->sp, names[i], &err);
        if (rc == 0) {
            take_job(co, names[i], NULL, NULL);
            continue;
        }
        job_id_of(names[i], id);
        journal_release(co->journal, id);
        if (rc == 2) {
            char why[160];
            snprintf(why, sizeof why,
                     "job id '%s' is already used by a claimed job: refused",
                     id);
            refuse(co, SPOOL_NEW, names[i], why);
        } else if (rc < 0) {
            logmsg("cannot claim '%s': %s", names[i], err.text);
        }
    }
}

/* Decide on new/NAME (e, as listed): true to claim it now; else it was
 * dealt with, or left for later. Only *room jobs are claimed ahead of
 * what can be handed out; of the rest, those that outrank a job in hand
 * (or are not valid job files) are claimed too, the others are left in
 * new/ for later or for another coordinator. */
static bool take_entry(struct coordinator *co, const struct intake_entry *e,
                       size_t *room)
{
    char buf[256], id[72];
    const char *junk = intake_junk(e->name, &e->st, buf, sizeof buf);
    if (junk) {
        dispose(co, e->name, junk);
        return false;
    }
    job_id_of(e->name, id);
    if (holds_job(co, id)) {
        snprintf(buf, sizeof buf,
                 "job id '%s' is already used by a claimed job: refused", id);
        refuse(co, SPOOL_NEW, e->name, buf);
        return false;
    }
    if (*room > 0) {
        (*room)--;
        return true;
    }
    int priority = 0;
    enum look look = look_at(co, e->name, &priority);
    if (look == LOOK_INVALID ||
        (look == LOOK_VALID && priority > lowest_waiting_priority(co)))
        return true;
    if (look == LOOK_VALID)
        co->claims_deferred = true;
    return false;
}

/* Take in what new/ holds: round-robin between the files' owners (one
 * file of each per round, each one's in name order, which is submission
 * order for ids from mpispool submit), for at most INTAKE_SCAN_US, the
 * rest in the next loop turn (scan_again). What is no job file at all is
 * rejected without a claim. With settle, files changed within the last
 * two seconds are left for later unless inotify announced them, in case a
 * writer is still filling them. So one user's flood of files, however
 * many or large, delays another user's file by one scan at most: it comes
 * in the first round of the next one. */
static void scan_new(struct coordinator *co, bool settle)
{
    co->claims_deferred = false;
    co->scan_again = false;
    int newfd = spool_dirfd(co->sp, SPOOL_NEW);
    struct intake_list l = {0};
    if (newfd < 0 ||
        intake_list_dir(newfd, &co->announced, settle, time(NULL), &l) < 0)
        logmsg("cannot scan '%s/new': %s", spool_path(co->sp), strerror(errno));
    size_t *order = malloc((l.n ? l.n : 1) * sizeof *order);
    if (!order) {
        intake_list_free(&l);
        co->scan_again = true;
        return;
    }
    intake_order(&l, co->intake_after, order);
    for (size_t i = 0; i < l.n; i++)
        intake_cache_mark(co->looks, &l.v[i].st);
    size_t waiting = jobs_waiting(co);
    size_t room = waiting < CLAIM_AHEAD ? CLAIM_AHEAD - waiting : 0;
    char *batch[INTAKE_BATCH];
    size_t nbatch = 0, i = 0;
    int64_t deadline = util_mono_us() + INTAKE_SCAN_US;
    for (; i < l.n && !co->stopping && util_mono_us() < deadline; i++) {
        const struct intake_entry *e = &l.v[order[i]];
        co->intake_after = e->st.st_uid;
        bool had_room = room > 0;
        if (take_entry(co, e, &room))
            batch[nbatch++] = e->name;
        /* The jobs claimed ahead are held before the rest is looked at:
         * what outranks them is claimed too. */
        if (nbatch == INTAKE_BATCH || (had_room && room == 0)) {
            claim_batch(co, batch, nbatch);
            nbatch = 0;
        }
    }
    claim_batch(co, batch, nbatch);
    if (i < l.n && !co->stopping)
        co->scan_again = true;
    else
        intake_announced_clear(&co->announced);
    intake_list_free(&l);
    free(order);
    /* A cancel may have come while the job waited in new/. */
    scan_cancel(co);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory path (one of rank 0's own) but dot files,
 * sorted. NULL (and *count 0) when it cannot be read. */
static char **list_dir(const char *path, size_t *count)
{
    DIR *dir = opendir(path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while (dir && (de = readdir(dir))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    if (dir)
        closedir(dir);
    if (names)
        qsort(names, n, sizeof *names, compare_names);
    *count = n;
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* ---- drain ---- */

/* Mark rank index r draining or not, as drain/ says now; pick_rank skips
 * a draining rank. */
static void check_drain(struct coordinator *co, int r)
{
    struct rank_slot *rs = &co->ranks[r];
    /* mpispool drain HOST (SPOOL/drain/HOST, made by root or the spool's
     * administrator): the ranks on HOST get no new tasks, their running
     * ones finish, until it is removed. */
    bool drained = rs->hello && co->requests &&
                   requests_host_drained(co->requests, rs->host);
    if (drained == rs->draining)
        return;
    rs->draining = drained;
    co->status_dirty = true;
    logmsg("rank %d on %s: %s", co->local ? 0 : r + 1, rs->host,
           drained ? "draining (no new tasks)" : "no longer draining");
}

/* Look at drain/ again for every rank (inotify, the rescan). */
static void scan_drain(struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++)
        check_drain(co, r);
}

/* What inotify says: names that came to new/ (taken in by one scan, which
 * is fair between their owners, whatever order they came in), cancel
 * requests, drains. At most a few buffers a turn, so a flood of events
 * keeps nothing else waiting. */
static void read_inotify(struct coordinator *co)
{
    char buf[64 * 1024] __attribute__((aligned(8)));
    bool arrived = false, overflow = false, cancels = false, drains = false;
    for (int reads = 0; reads < 16; reads++) {
        ssize_t got = read(co->inotify_fd, buf, sizeof buf);
        if (got <= 0)
            break;
        for (char *p = buf; p < buf + got;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->mask & IN_Q_OVERFLOW)
                overflow = true;
            else if (ev->len > 0 && ev->wd == co->cancel_wd)
                cancels = true;
            else if (ev->wd == co->drain_wd)
                drains = true;
            else if (ev->len > 0 && ev->wd == co->new_wd)
                intake_announce(&co->announced, ev->name);
            arrived = arrived || (ev->len > 0 && ev->wd == co->new_wd);
            p += sizeof *ev + ev->len;
        }
    }
    if (overflow)
        co->announced.all = true;
    if ((arrived || overflow) && !co->stopping)
        scan_new(co, true);
    if (cancels || overflow)
        scan_cancel(co);
    if (drains || overflow)
        scan_drain(co);
}

/* ---- dispatching ---- */

static bool retry_ready(const struct job *job, int64_t now)
{
    return job->retries && job->retries->not_before <= now;
}

static bool job_has_ready(const struct job *job, int64_t now)
{
    return !job->held_back && !job->deps_pending &&
           (job->next < job->ntasks || retry_ready(job, now));
}

/* The rank with the most free slots that fit cpus, or -1. */
static int pick_rank(struct coordinator *co, unsigned cpus, uint64_t memory,
                     unsigned gpus)
{
    int best = -1;
    unsigned best_free = 0;
    for (int r = 0; r < co->nranks; r++) {
        struct rank_slot *rs = &co->ranks[r];
        if (!rs->hello || rs->bye || rs->slots == 0 || rs->owner_active ||
            rs->draining || rs->mem_reserved + memory > rs->mem_total ||
            rs->gpus_busy + gpus > rs->gpus)
            continue;
        unsigned free_slots = rs->busy >= rs->slots ? 0 : rs->slots - rs->busy;
        /* A task wider than the rank runs there alone. */
        bool fits = free_slots >= cpus || (rs->busy == 0 && cpus > rs->slots);
        if (fits && (best < 0 || free_slots > best_free)) {
            best = r;
            best_free = free_slots;
        }
    }
    return best;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool task_cancelled(const struct job *job, uint64_t task)
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
static bool fresh_task_runs(struct job *job, uint64_t task, unsigned *attempt)
{
    *attempt = 1;
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
        if ((int)rt->attempt > job->spec->retries)
            return false;
        break;
    default:
        break;
    }
    *attempt = rt->attempt + 1;
    return true;
}

/* The next task of job: a due retry first, else the next fresh one that
 * still has to run. Returns 0, 1 when none is left, or -1. */
static int next_task(struct coordinator *co, struct job *job, int64_t now,
                     uint64_t *task, unsigned *attempt, struct taskcmd *cmd,
                     struct task_place *place, struct mps_error *err)
{
    *place = (struct task_place){0, 0, -1};
    if (retry_ready(job, now)) {
        struct retry *r = job->retries;
        job->retries = r->next;
        *task = r->task;
        *attempt = r->attempt;
        *cmd = r->cmd;
        *place = r->place;
        free(r);
        return 0;
    }
    while (job->next < job->ntasks) {
        uint64_t i = job->next;
        bool runs = fresh_task_runs(job, i, attempt);
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

static void queue_result(struct coordinator *co, struct dispatch *d,
                         const struct wire_result *res);
static void end_attempt(struct coordinator *co, struct ended *e);
static void copy_output(struct coordinator *co, struct ended *e);

/* Send to worker index r (rank r + 1) and ring its doorbell. */
static int send_to(struct coordinator *co, int r, enum wire_type type,
                   struct wire_buf *buf)
{
    if (wire_send(r + 1, type, buf) < 0)
        return -1;
    doorbell_ring(co->bells[r]);
    return 0;
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

/* Send one task attempt to rank index r (0 is rank 0 itself when alone). */
static void send_task(struct coordinator *co, struct job *job, int r,
                      uint64_t task, unsigned attempt, struct taskcmd *cmd,
                      const struct task_place *place)
{
    struct dispatch *d = calloc(1, sizeof *d);
    if (!d) {
        taskcmd_free(cmd);
        return;
    }
    d->id = ++co->next_dispatch;
    d->job = job;
    d->task = task;
    d->attempt = attempt;
    d->rank = co->local ? 0 : r + 1;
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
    if (co->local) {
        struct exec_task t = {
            .dispatch = d->id,
            .job = job->id,
            .task = task,
            .attempt = attempt,
            .cpus = (unsigned)s->cpus,
            .memory = s->memory,
            .gpus = (unsigned)s->gpus,
            .timeout = s->timeout,
            .shell = d->cmd.shell,
            .inherit = job->inherit,
            .argv = d->cmd.argv,
            .cwd = s->cwd,
            .submit_dir = s->submit_dir,
            .env = env,
            .archive = job->archive ? job_archive_path(job->archive) : NULL,
            .archive_by_fd = job->archive != NULL,
            .archive_fd = job->archive ? job_archive_fd(job->archive) : -1,
            .archive_limits = &co->opt->archive_limits,
            .as_user = job->as_user,
            .uid = job->uid,
            .gid = job->gid,
            .ngroups = job->ngroups,
            .groups = job->groups,
            .steps = s->steps,
            .nsteps = s->nsteps,
            .continue_on_error = s->continue_on_error,
            .interpreter = interpreter,
            .ntasks = job->ntasks,
            .line = place->line,
        };
        if (executor_submit(co->local, &t) < 0)
            queue_result(co, d,
                         &(struct wire_result){.dispatch = d->id,
                                               .exit_code = -1,
                                               .error = "out of memory"});
        free(task_env);
        free(vars.name_kv);
        return;
    }
    struct wire_task m = {
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
    struct wire_buf buf = {0};
    struct mps_error err;
    if (job->archive &&
        job_archive_ship(job->archive, d->rank, job->id, &err) < 0) {
        queue_result(co, d,
                     &(struct wire_result){.dispatch = d->id,
                                           .exit_code = -1,
                                           .error = err.text});
        free(task_env);
        free(vars.name_kv);
        return;
    }
    if (wire_encode_task(&buf, &m) < 0 ||
        send_to(co, d->rank - 1, WIRE_TASK, &buf) < 0) {
        char line[160];
        snprintf(line, sizeof line, "cannot send the task to rank %d: %s",
                 d->rank, strerror(errno));
        struct wire_result res = {
            .dispatch = d->id, .exit_code = -1, .error = line};
        queue_result(co, d, &res);
    }
    wire_buf_free(&buf);
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

/* The job whose turn it is: among the jobs of the highest priority that
 * have a task ready, the first claimed after the one served last (jobs
 * take turns, one task each), wrapping round. */
static struct job *next_turn(struct coordinator *co, int64_t now)
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

static void begin_stop(struct coordinator *co, const char *why);

/* The allocation's end (--end-time, $SLURM_JOB_END_TIME): a job whose
 * tasks' "timeout" would outlive it starts no more tasks here (see
 * job_has_ready) and is left for the next allocation; time only moves on,
 * so it stays held back. A job without a timeout is not restricted. With
 * --until-empty, once only such jobs are left and nothing runs, stop as
 * on SIGTERM: release_jobs() returns those never started to new/ and
 * leaves the others in cur/ for the next coordinator to adopt. At the end
 * itself, stop in any case (the poll timeout, at most --rescan, bounds how
 * late), before Slurm kills everything. */
static void hold_back_jobs(struct coordinator *co)
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

/* The job ends without running: a dependency failed (state "failed"),
 * or, with cancel, an "after_notok" dependency succeeded ("cancelled"). */
static void end_unrun(struct coordinator *co, struct job *job,
                      const char *reason, bool cancel)
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

/* Start the jobs whose dependencies ended as needed; end unrun those whose
 * dependencies never will. The spool is the truth (as for several
 * coordinators and after a crash): looked at when a job ended or came, and
 * at every rescan. */
static void check_dependencies(struct coordinator *co)
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

/* Why a job that has tasks to start has not started them, for the status
 * file and `mpispool status`; NULL when it is not waiting. */
static const char *waiting_reason(struct coordinator *co, const struct job *job,
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

/* Hand out tasks while they fit. Jobs of the highest priority take turns;
 * when the task whose turn it is does not fit, nothing else starts until
 * it does (its cores are reserved as they free up), so a wide task is not
 * starved by a stream of narrow ones. Lower priorities wait. */
static void dispatch(struct coordinator *co)
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
        unsigned attempt = 1;
        struct taskcmd cmd;
        struct task_place place;
        struct mps_error err;
        int rc = next_task(co, job, now, &task, &attempt, &cmd, &place, &err);
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
        send_task(co, job, r, task, attempt, &cmd, &place);
        co->last_served = job->seq;
    }
}

/* ---- cancel ---- */

/* Kill one attempt out on a rank (or on ourselves): SIGTERM to its
 * processes, SIGKILL grace seconds later. */
static void end_dispatch(struct coordinator *co, struct dispatch *d,
                         double grace)
{
    if (d->cancelled)
        return;
    d->cancelled = true;
    if (co->local) {
        executor_cancel(co->local, d->id, grace);
        return;
    }
    struct wire_buf buf = {0};
    if (wire_encode_cancel(&buf, d->id, grace) == 0)
        send_to(co, d->rank - 1, WIRE_CANCEL, &buf);
    wire_buf_free(&buf);
}

/* Kill one attempt quickly, for mpispool cancel. */
static void cancel_dispatch(struct coordinator *co, struct dispatch *d)
{
    end_dispatch(co, d,
                 co->opt->kill_grace_s < CANCEL_GRACE_S ? co->opt->kill_grace_s
                                                        : CANCEL_GRACE_S);
}

/* Drop the retries job has waiting; returns how many. */
static uint64_t drop_retries(struct job *job)
{
    uint64_t n = 0;
    while (job->retries) {
        struct retry *r = job->retries;
        job->retries = r->next;
        taskcmd_free(&r->cmd);
        free(r);
        n++;
    }
    return n;
}

/* "fail_fast": task of job failed for good (its last allowed attempt
 * failed). No task or retry of the job starts any more: the retries that
 * were waiting are dropped (their tasks count as failed, as their last
 * attempt did), the tasks never started count as cancelled; its running
 * attempts are ended as mpispool-run ends attempts (SIGTERM, SIGKILL
 * after --kill-grace) and recorded as cancelled, with the reason. The job
 * then ends failed, its report saying why. The F line in the journal
 * keeps a coordinator that adopts the job after a crash from starting
 * its tasks again. */
static void fail_fast_stop(struct coordinator *co, struct job *job,
                           uint64_t task)
{
    if (job->ff_stopped)
        return;
    uint64_t not_started = job->ntasks - job->next;
    fail_fast_mark(co, job, task);
    uint64_t dropped = drop_retries(job);
    job->failed += dropped;
    co->tasks_failed += dropped;
    unsigned long ended = 0;
    for (size_t b = 0; b < DISPATCH_BUCKETS; b++) {
        for (struct dispatch *d = co->table[b], *next; d; d = next) {
            next = d->next; /* a local attempt may end at once */
            if (d->job != job || d->cancelled)
                continue;
            d->fail_fast = true;
            end_dispatch(co, d, co->opt->kill_grace_s);
            ended++;
        }
    }
    logmsg("job %s: task %llu failed and the job has fail_fast: %lu running "
           "task%s ended, %llu never started, %llu retr%s dropped",
           job->id, (unsigned long long)task, ended, ended == 1 ? "" : "s",
           (unsigned long long)not_started, (unsigned long long)dropped,
           dropped == 1 ? "y" : "ies");
    co->status_dirty = true;
}

/* The attempt a task not yet started would run as. */
static unsigned next_attempt(const struct job *job, uint64_t task)
{
    for (size_t i = job->replay_pos; i < job->nreplay; i++)
        if (job->replay[i].task == task)
            return job->replay[i].attempt + 1;
    return 1;
}

/* Cancel one task of job: kill it if running, drop it if waiting. */
static void cancel_task(struct coordinator *co, struct job *job, uint64_t task)
{
    if (task >= job->ntasks || task_cancelled(job, task))
        return;
    for (size_t b = 0; b < DISPATCH_BUCKETS; b++)
        for (struct dispatch *d = co->table[b]; d; d = d->next)
            if (d->job == job && d->task == task) {
                cancel_dispatch(co, d);
                return;
            }
    for (struct retry **link = &job->retries; *link; link = &(*link)->next) {
        struct retry *r = *link;
        if (r->task == task) {
            journal_end(co->journal, job->id, task, r->attempt,
                        JOURNAL_CANCELLED);
            *link = r->next;
            taskcmd_free(&r->cmd);
            free(r);
            return;
        }
    }
    if (task < job->next)
        return; /* ended already */
    uint64_t *grown =
        realloc(job->cancel_tasks, (job->ncancel_tasks + 1) * sizeof *grown);
    if (!grown)
        return;
    job->cancel_tasks = grown;
    size_t i = job->ncancel_tasks++;
    while (i > 0 && grown[i - 1] > task) {
        grown[i] = grown[i - 1];
        i--;
    }
    grown[i] = task;
    journal_end(co->journal, job->id, task, next_attempt(job, task),
                JOURNAL_CANCELLED);
}

/* mpispool cancel JOBID [TASK...]: tasks not started are dropped, running
 * ones killed (SIGTERM, then SIGKILL within CANCEL_GRACE_S); the job ends
 * as "cancelled", in failed/. */
static void cancel_job(struct coordinator *co, struct job *job,
                       const uint64_t *tasks, size_t n)
{
    job->cancelled = true;
    co->status_dirty = true;
    if (n == 0) {
        if (!job->cancel_all)
            journal_cancel(co->journal, job->id);
        job->cancel_all = true;
        job->next = job->ntasks;
        drop_retries(job);
        for (size_t b = 0; b < DISPATCH_BUCKETS; b++)
            for (struct dispatch *d = co->table[b]; d; d = d->next)
                if (d->job == job)
                    cancel_dispatch(co, d);
        logmsg("job %s cancelled", job->id);
    } else {
        for (size_t i = 0; i < n; i++)
            cancel_task(co, job, tasks[i]);
        logmsg("job %s: %zu task%s cancelled", job->id, n, n == 1 ? "" : "s");
    }
    if (job->running == 0 && job->next >= job->ntasks && !job->retries)
        job->ended = true;
}

/* requests_ops: whether we hold job id. */
static bool request_held(void *arg, const char *id)
{
    return find_job(arg, id) != NULL;
}

/* requests_ops: mpispool cancel of a job we hold. */
static void request_cancel(void *arg, const char *id, const uint64_t *tasks,
                           size_t n)
{
    struct coordinator *co = arg;
    struct job *job = find_job(co, id);
    if (!job)
        return;
    cancel_job(co, job, tasks, n);
    struct mps_error err;
    if (journal_sync(co->journal, &err) < 0)
        logmsg("journal: %s", err.text);
}

static void request_log(void *arg, const char *line)
{
    (void)arg;
    logmsg("%s", line);
}

static const struct requests_ops request_ops = {request_held, request_cancel,
                                                request_log};

/* Act on the cancel requests and withdrawn jobs in cancel/. */
static void scan_cancel(struct coordinator *co)
{
    if (co->requests)
        requests_scan_cancel(co->requests);
}

/* ---- results ---- */

static void queue_result(struct coordinator *co, struct dispatch *d,
                         const struct wire_result *res)
{
    struct ended *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->d = d;
    e->res = *res;
    e->res.error = res->error ? strdup(res->error) : NULL;
    e->res.cores = res->cores ? strdup(res->cores) : NULL;
    e->res.gpus = res->gpus ? strdup(res->gpus) : NULL;
    e->res.steps = NULL;
    e->res.nsteps = 0;
    if (res->nsteps &&
        (e->res.steps = calloc(res->nsteps, sizeof *res->steps))) {
        e->res.nsteps = res->nsteps;
        for (uint32_t i = 0; i < res->nsteps; i++) {
            e->res.steps[i] = res->steps[i];
            e->res.steps[i].error =
                res->steps[i].error ? strdup(res->steps[i].error) : NULL;
        }
    }
    dispatch_remove(co, d);
    int r = co->local ? 0 : d->rank - 1;
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
    const struct wire_result *res = &e->res;
    bool ok = res->exit_code == 0 && res->signal == 0 && !res->error &&
              !d->write_errno && !e->copy_error;
    enum journal_state state = ok             ? JOURNAL_OK
                               : d->fail_fast ? JOURNAL_STOPPED
                               : d->cancelled ? JOURNAL_CANCELLED
                               : co->stopping || res->interrupted
                                   ? JOURNAL_INTERRUPTED
                                   : JOURNAL_FAILED;
    journal_end(co->journal, d->job->id, d->task, d->attempt, state);
    /* Before this turn dispatches again (process_ended): the failure of
     * a fail_fast job's task that will not be retried stops the job. */
    if (state == JOURNAL_FAILED && d->job->spec->fail_fast &&
        (int)d->attempt > d->job->spec->retries)
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

static void on_copied(void *arg, void *cookie, const char *error)
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
    char name[40];
    for (int stream = 1; stream <= 2; stream++) {
        const char *ext = stream == 1 ? "out" : "err";
        if ((stream == 1 ? d->out_fd : d->err_fd) < 0 &&
            outdir_empty(d->job->out,
                         task_name(d->task, ext, name, sizeof name)) < 0 &&
            !d->write_errno)
            d->write_errno = errno;
    }
}

/* Write the record of one ended attempt and decide what comes next. */
static void record_result(struct coordinator *co, struct ended *e)
{
    struct dispatch *d = e->d;
    struct job *job = d->job;
    const struct wire_result *res = &e->res;
    struct task_record rec;
    memset(&rec, 0, sizeof rec);
    rec.job = job->id;
    rec.task = d->task;
    rec.attempt = d->attempt;
    rec.host = co->ranks[co->local ? 0 : d->rank - 1].host;
    rec.rank = d->rank;
    rec.cores = res->cores;
    rec.gpus = res->gpus;
    rec.start_us = res->start_us ? res->start_us : util_now_us();
    rec.end_us = res->end_us ? res->end_us : rec.start_us;
    rec.exit_code = res->exit_code;
    rec.signal = res->signal;
    rec.timed_out = res->timed_out;
    rec.max_rss_kb = (long)res->max_rss_kb;
    rec.user_s = res->user_s;
    rec.system_s = res->system_s;
    rec.steps = res->steps;
    rec.nsteps = res->nsteps;
    rec.stdout_path = task_path(job, d->task, "out");
    rec.stderr_path = task_path(job, d->task, "err");
    empty_outputs(d);
    rec.stdout_bytes = output_bytes(d->out_fd);
    rec.stderr_bytes = output_bytes(d->err_fd);
    char write_error[PATH_MAX + 100];
    rec.error = res->error;
    if (!rec.error && d->write_errno) {
        snprintf(write_error, sizeof write_error,
                 "cannot write the task's output in '%s': %s",
                 outdir_path(job->out), strerror(d->write_errno));
        rec.error = write_error;
    }
    if (!rec.error)
        rec.error = e->copy_error;
    bool ok = record_ok(&rec);
    double elapsed = (double)(rec.end_us - rec.start_us) / 1e6;
    if (elapsed < 0)
        elapsed = 0;
    size_t bucket = 0;
    while (bucket < NBUCKETS && elapsed > duration_buckets[bucket])
        bucket++;
    co->duration_count[bucket]++;
    co->duration_sum += elapsed;
    co->duration_total++;
    co->metrics_dirty = true;
    rec.cancelled = !ok && d->cancelled;
    rec.interrupted = !ok && !d->cancelled && co->stopping;
    /* --idle-policy action=requeue: the owner of its PC came back. */
    bool owner_back = !ok && !d->cancelled && !co->stopping && res->interrupted;
    char owner_error[400];
    if (owner_back) {
        rec.interrupted = true;
        snprintf(owner_error, sizeof owner_error,
                 "interrupted: the owner of %s came back (--idle-policy); "
                 "the task runs again%s%s",
                 rec.host, res->error ? ": " : "",
                 res->error ? res->error : "");
        rec.error = owner_error;
    }
    char stopped_error[100];
    if (!rec.error && rec.cancelled && d->fail_fast) {
        snprintf(stopped_error, sizeof stopped_error,
                 "cancelled by fail_fast: task %llu failed",
                 (unsigned long long)job->ff_task);
        rec.error = stopped_error;
    }
    if (!rec.error && rec.cancelled)
        rec.error = "cancelled by mpispool cancel";
    if (!rec.error && rec.interrupted)
        rec.error = "interrupted: mpispool-run was stopped (the task runs "
                    "again in the next run)";
    char note[160], limit[32];
    if (d->truncated[0] || d->truncated[1]) {
        snprintf(note, sizeof note, "%s truncated at %s (--max-output)",
                 d->truncated[0] && d->truncated[1] ? "stdout and stderr"
                 : d->truncated[0]                  ? "stdout"
                                                    : "stderr",
                 util_format_size(co->opt->max_output, limit));
        rec.note = note;
    }

    char *json = record_to_json(&rec);
    char json_name[40];
    task_name(d->task, "json", json_name, sizeof json_name);
    struct mps_error err;
    int rc = json ? outdir_write(job->out, json_name, json, strlen(json), &err)
                  : errprintf(&err, "out of memory");
    if (rc < 0 && errno == ENOSPC && co->reserve_held) {
        release_reserve(co);
        rc = outdir_write(job->out, json_name, json, strlen(json), &err);
    }
    if (rc < 0)
        logmsg("job %s task %llu: cannot write its record: %s", job->id,
               (unsigned long long)d->task, err.text);
    if (json && outdir_append_record(job->out, json) < 0) {
        int failed = errno;
        logmsg("job %s: cannot write records.jsonl: %s", job->id,
               strerror(failed));
        if (failed == ENOSPC)
            release_reserve(co);
    }
    free(json);
    free(rec.stdout_path);
    free(rec.stderr_path);

    job->running--;
    if (rec.cancelled) {
        /* Counted as cancelled when the job ends. */
    } else if (!ok && co->stopping) {
        /* Ended because we are stopping: not the task's failure, and not
         * retried here. The job stays unfinished (see release_jobs). */
    } else if (!job->ff_stopped &&
               (owner_back || (!ok && (int)d->attempt <= job->spec->retries))) {
        struct retry *r = calloc(1, sizeof *r);
        if (r) {
            /* An attempt the owner interrupted runs again at once. */
            double delay = owner_back ? 0 : job->spec->retry_backoff;
            for (unsigned i = 1; i < d->attempt; i++)
                delay *= 2;
            r->task = d->task;
            r->attempt = d->attempt + 1;
            r->cmd = d->cmd;
            r->place = d->place;
            memset(&d->cmd, 0, sizeof d->cmd);
            r->not_before = util_mono_us() + (int64_t)(delay * 1e6);
            struct retry **link = &job->retries;
            while (*link && (*link)->not_before <= r->not_before)
                link = &(*link)->next;
            r->next = *link;
            *link = r;
        } else {
            job->failed++;
            co->tasks_failed++;
        }
    } else if (ok) {
        job->succeeded++;
        co->tasks_succeeded++;
    } else if (!owner_back) {
        /* Also the failed attempt of a job that fail_fast stopped meanwhile
         * (its retry would not start). */
        job->failed++;
        co->tasks_failed++;
    }
    if (job->next >= job->ntasks && !job->retries && job->running == 0 &&
        !co->stopping)
        job->ended = true;
    co->status_dirty = true;
    dispatch_free(d);
}

/* report.json: the job's summary and every attempt's record, streamed
 * from records.jsonl so a million tasks never sit in memory. */
static int write_report(struct coordinator *co, struct job *job,
                        const char *state, int64_t ended_us)
{
    char t1[UTIL_TIME_LEN], t2[UTIL_TIME_LEN];
    uint64_t ended = job->succeeded + job->failed;
    json_t *head = json_pack(
        "{s:s, s:s?, s:s, s:s?, s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:s?}", "job",
        job->id, "name", job->spec->name, "state", state, "submitted",
        job->spec->submit_time, "started",
        util_format_time(job->started_us ? job->started_us : job->claimed_us,
                         t1),
        "ended", util_format_time(ended_us, t2), "counts", "tasks",
        (json_int_t)job->ntasks, "succeeded", (json_int_t)job->succeeded,
        "failed", (json_int_t)job->failed, "cancelled",
        (json_int_t)(job->ntasks > ended ? job->ntasks - ended : 0), "reason",
        job->reason);
    char *head_text =
        head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(head);
    struct mps_error err;
    int rc = head_text ? outdir_write_report(job->out, head_text, &err)
                       : errprintf(&err, "out of memory");
    if (rc < 0) {
        int failed = errno;
        logmsg("job %s: %s", job->id, err.text);
        errno = failed;
    }
    free(head_text);
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

/* Jobs whose last task ended this turn: their records and reports go to
 * disk with one syncfs for all of them (durability paid per batch, not per
 * file), then each job file moves to done/ or failed/. */
static void finalize_ended_jobs(struct coordinator *co)
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

static void ended_free(struct ended *e)
{
    free(e->copy_error);
    free(e->res.error);
    free(e->res.cores);
    free(e->res.gpus);
    for (uint32_t i = 0; i < e->res.nsteps; i++)
        free(e->res.steps[i].error);
    free(e->res.steps);
    free(e);
}

/* Make this turn's ends durable in the journal, then act on them. */
static void process_ended(struct coordinator *co)
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

static void on_local_output(void *arg, uint64_t id, int stream,
                            const char *data, size_t len)
{
    write_output(arg, id, stream, data, len);
}

static void on_local_result(void *arg, uint64_t id,
                            const struct exec_result *res)
{
    struct coordinator *co = arg;
    struct dispatch *d = dispatch_find(co, id);
    if (!d)
        return;
    struct wire_result m = worker_result_message(id, res);
    queue_result(co, d, &m);
}

/* ---- idle desktops (--idle-policy) ---- */

/* Rank index r says whether its PC's owner is active; pick_rank skips it
 * while so. */
static void note_owner(struct coordinator *co, int r, bool active,
                       uint8_t reason, int64_t since_us)
{
    struct rank_slot *rs = &co->ranks[r];
    if (active != rs->owner_active)
        co->status_dirty = true;
    rs->owner_active = active;
    rs->owner_reason = active ? reason : 0;
    rs->owner_since_us = active ? since_us : 0;
}

static void announce_local_owner(void *arg)
{
    struct coordinator *co = arg;
    note_owner(co, 0, co->idle.owner_active, (uint8_t)co->idle.reason,
               co->idle.since_us);
}

/* Rank 0 alone applies the policy to itself, every IDLE_CHECK_US. */
static void check_local_idle(struct coordinator *co)
{
    if (!co->local || !co->opt->idle || co->stopping ||
        util_mono_us() < co->next_idle_check)
        return;
    co->next_idle_check = util_mono_us() + IDLE_CHECK_US;
    node_idle_check(co->opt->idle, &co->idle, co->local, 0, co->re->host,
                    co->opt->kill_grace_s, announce_local_owner, co);
}

/* The rank's "idle_policy" in the status file. */
static json_t *owner_json(const struct coordinator *co,
                          const struct rank_slot *rs)
{
    char since[UTIL_TIME_LEN];
    json_t *o =
        json_pack("{s:b, s:s}", "owner_active", rs->owner_active, "action",
                  idle_action_name(idle_policy_action(co->opt->idle)));
    if (o && rs->owner_active) {
        const char *why = idle_reason_name(rs->owner_reason);
        json_object_set_new(o, "reason", why ? json_string(why) : json_null());
        json_object_set_new(o, "since",
                            rs->owner_since_us ? json_string(util_format_time(
                                                     rs->owner_since_us, since))
                                               : json_null());
    }
    return o;
}

/* ---- messages ---- */

static void handle_message(struct coordinator *co, struct wire_msg *msg)
{
    int r = msg->source - 1;
    if (r < 0 || r >= co->nranks) {
        logmsg("message from unexpected rank %d dropped", msg->source);
        return;
    }
    struct rank_slot *rs = &co->ranks[r];
    switch (msg->type) {
    case WIRE_HELLO:
        rs->hello = true;
        rs->slots = msg->u.hello.slots;
        rs->mem_total = msg->u.hello.mem_total;
        rs->gpus = msg->u.hello.gpus;
        snprintf(rs->host, sizeof rs->host, "%s", msg->u.hello.host);
        co->status_dirty = true;
        check_drain(co, r);
        break;
    case WIRE_OUTPUT:
        write_output(co, msg->u.output.dispatch, msg->u.output.stream,
                     msg->u.output.data, msg->u.output.len);
        break;
    case WIRE_RESULT: {
        struct dispatch *d = dispatch_find(co, msg->u.result.dispatch);
        if (d && d->rank == msg->source)
            queue_result(co, d, &msg->u.result);
        else
            logmsg("result for unknown task attempt %llu from rank %d",
                   (unsigned long long)msg->u.result.dispatch, msg->source);
        break;
    }
    case WIRE_HEARTBEAT:
        rs->load = msg->u.heartbeat.load;
        note_owner(co, r, msg->u.heartbeat.owner_active,
                   msg->u.heartbeat.reason, msg->u.heartbeat.since_us);
        co->status_dirty = true;
        break;
    case WIRE_BYE:
        rs->bye = true;
        co->status_dirty = true;
        break;
    default:
        logmsg("unexpected message type %d from rank %d", (int)msg->type,
               msg->source);
        break;
    }
}

static int receive_messages(struct coordinator *co)
{
    int handled = 0;
    struct wire_msg msg;
    while (handled < RECV_BATCH && wire_recv(&msg) == 1) {
        handle_message(co, &msg);
        wire_msg_clear(&msg);
        handled++;
    }
    return handled;
}

/* ---- status ---- */

static const char *rank_state(const struct rank_slot *rs)
{
    if (rs->bye)
        return "gone";
    if (!rs->hello)
        return "starting";
    if (rs->owner_active)
        return "owner-active";
    if (rs->draining)
        return "draining";
    return rs->busy ? "busy" : "idle";
}

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

/* --metrics-file: Prometheus text format (0.0.4), written to FILE.tmp and
 * renamed over FILE, as node_exporter's textfile collector wants. */
static void write_metrics(struct coordinator *co)
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
    metric_head(f, "mpispool_queue_jobs", "gauge",
                "Jobs claimed by this coordinator and not ended.");
    fprintf(f, "mpispool_queue_jobs %llu\n", (unsigned long long)njobs);
    metric_head(f, "mpispool_queue_jobs_waiting", "gauge",
                "Claimed jobs waiting for their dependencies.");
    fprintf(f, "mpispool_queue_jobs_waiting %llu\n",
            (unsigned long long)jobs_waiting);
    metric_head(f, "mpispool_queue_tasks_pending", "gauge",
                "Task attempts of claimed jobs not started yet.");
    fprintf(f, "mpispool_queue_tasks_pending %llu\n",
            (unsigned long long)tasks_pending);
    metric_head(f, "mpispool_output_received_bytes_total", "counter",
                "Bytes of task output that reached this coordinator.");
    fprintf(f, "mpispool_output_received_bytes_total %llu\n",
            (unsigned long long)co->output_received);
    metric_head(f, "mpispool_tasks_running", "gauge",
                "Task attempts running on the ranks.");
    fprintf(f, "mpispool_tasks_running %llu\n",
            (unsigned long long)co->ndispatched);
    metric_head(f, "mpispool_tasks_succeeded_total", "counter",
                "Tasks that succeeded since this coordinator started.");
    fprintf(f, "mpispool_tasks_succeeded_total %llu\n", co->tasks_succeeded);
    metric_head(f, "mpispool_tasks_failed_total", "counter",
                "Tasks that failed (after their retries) since this "
                "coordinator started.");
    fprintf(f, "mpispool_tasks_failed_total %llu\n", co->tasks_failed);
    metric_head(f, "mpispool_jobs_done_total", "counter",
                "Jobs moved to done/ since this coordinator started.");
    fprintf(f, "mpispool_jobs_done_total %lu\n", co->jobs_done);
    metric_head(f, "mpispool_jobs_failed_total", "counter",
                "Jobs moved to failed/ since this coordinator started.");
    fprintf(f, "mpispool_jobs_failed_total %lu\n", co->jobs_failed);
    metric_head(f, "mpispool_jobs_rejected_total", "counter",
                "Job files rejected since this coordinator started.");
    fprintf(f, "mpispool_jobs_rejected_total %lu\n", co->jobs_rejected);
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
        fprintf(f, "\",rank=\"%d\"} %u\n", co->local ? 0 : r + 1,
                co->ranks[r].slots);
    }
    metric_head(f, "mpispool_rank_busy_slots", "gauge",
                "Task slots (cores) of each rank held by running tasks.");
    for (int r = 0; r < co->nranks; r++) {
        const struct rank_slot *rs = &co->ranks[r];
        fputs("mpispool_rank_busy_slots{host=\"", f);
        put_label(f, rs->host);
        fprintf(f, "\",rank=\"%d\"} %u\n", co->local ? 0 : r + 1,
                rs->busy < rs->slots ? rs->busy : rs->slots);
    }
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed || rename(tmp, path) < 0) {
        logmsg("cannot write metrics '%s': %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
}

static void write_status(struct coordinator *co, const char *state)
{
    char started[UTIL_TIME_LEN], updated[UTIL_TIME_LEN], t[UTIL_TIME_LEN];
    unsigned total = 0, busy = 0;
    json_t *ranks = json_array();
    for (int r = 0; r < co->nranks; r++) {
        struct rank_slot *rs = &co->ranks[r];
        if (co->local)
            getloadavg(&rs->load, 1);
        total += rs->slots;
        busy += rs->busy < rs->slots ? rs->busy : rs->slots;
        json_t *entry = json_pack(
            "{s:i, s:s, s:i, s:i, s:i, s:s, s:I, s:I, s:i, s:i, "
            "s:f}",
            "rank", co->local ? 0 : r + 1, "host", rs->host, "slots",
            (int)rs->slots, "busy", (int)rs->busy, "tasks", (int)rs->tasks,
            "state", rank_state(rs), "memory", (json_int_t)rs->mem_total,
            "memory_reserved", (json_int_t)rs->mem_reserved, "gpus",
            (int)rs->gpus, "gpus_busy", (int)rs->gpus_busy, "load", rs->load);
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

/* ---- main loop ---- */

static bool all_ranks_said_hello(const struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++)
        if (!co->ranks[r].hello)
            return false;
    return true;
}

static bool all_ranks_have_bells(const struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++)
        if (co->bells[r] < 0 && !co->ranks[r].bye)
            return false;
    return true;
}

static void accept_bells(struct coordinator *co)
{
    int fd, rank;
    while ((fd = doorbell_accept(co->bell_listen, &rank)) >= 0) {
        if (rank < 1 || rank > co->nranks || co->bells[rank - 1] >= 0) {
            close(fd);
            continue;
        }
        co->bells[rank - 1] = fd;
    }
}

/* A ring: the MPI receive after poll picks up what it announced. A closed
 * doorbell (its rank died or finished) is dropped. */
static void drain_bell(struct coordinator *co, int fd)
{
    co->last_ring = util_mono_us();
    if (doorbell_drain(fd) == 0)
        return;
    for (int r = 0; r < co->nranks; r++) {
        if (co->bells[r] == fd) {
            close(fd);
            co->bells[r] = -1;
        }
    }
}

static bool all_ranks_said_bye(const struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++)
        if (!co->ranks[r].bye)
            return false;
    return true;
}

/* Milliseconds until the earliest due retry, or -1. */
static int retry_wait_ms(const struct coordinator *co, int64_t now)
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

static int min_timeout(int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static void begin_stop(struct coordinator *co, const char *why)
{
    if (co->stopping)
        return;
    co->stopping = true;
    co->status_dirty = true;
    logmsg("%s: stopping; running tasks are ended", why);
    if (co->local) {
        executor_cancel(co->local, 0, co->opt->kill_grace_s);
        return;
    }
    for (int r = 0; r < co->nranks; r++) {
        if (co->ranks[r].bye)
            continue;
        struct wire_buf buf = {0};
        if (wire_encode_cancel(&buf, 0, co->opt->kill_grace_s) == 0)
            send_to(co, r, WIRE_CANCEL, &buf);
        wire_buf_free(&buf);
    }
}

static void send_shutdown(struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++) {
        struct wire_buf buf = {0};
        if (wire_encode_empty(&buf, WIRE_SHUTDOWN) == 0)
            send_to(co, r, WIRE_SHUTDOWN, &buf);
        wire_buf_free(&buf);
    }
}

/* Jobs still claimed when we stop: one that never started goes back to
 * new/ for any coordinator; the others stay in cur/, claimed in our
 * journal, which the next coordinator on the spool adopts (our lock on it
 * ends with us). */
static void release_jobs(struct coordinator *co)
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

/* ---- crash recovery ---- */

struct taken {
    int fd;
    char *path;
    char base[300]; /* HOST-PID of the dead coordinator */
};

static bool journal_name(const char *name, char *base, size_t len)
{
    size_t n = strlen(name);
    if (name[0] == '.' || n <= 4 || strcmp(name + n - 4, ".log") != 0 ||
        n - 4 >= len)
        return false;
    snprintf(base, len, "%.*s", (int)(n - 4), name);
    return true;
}

/* Before serving: adopt the jobs of coordinators that died. A journal
 * nobody holds locked is a dead coordinator's; its jobs still in cur/ are
 * taken over with what it recorded (ended tasks are not run again). A job
 * in cur/ that no journal claims is an orphan and is adopted too; a job
 * claimed by a live coordinator is left alone. cur/ is listed before the
 * journals are read, and claims are journaled before the rename into
 * cur/, so a job that a live coordinator is claiming right now is never
 * mistaken for an orphan. One coordinator recovers at a time. */
static void recover(struct coordinator *co)
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
        char file[320];
        snprintf(file, sizeof file, "%s.json", taken[i].base);
        char *status = spool_file(co->sp, SPOOL_STATUS, file);
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

/* Whether another coordinator's journal is unlocked: it died, and its
 * jobs wait for adoption. A probe only (the lock is let go at once). */
static bool dead_journal_exists(struct coordinator *co)
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

static int setup(struct coordinator *co, struct mps_error *err)
{
    co->sp = spool_open(co->opt->spool, err);
    if (!co->sp)
        return -1;
    snprintf(co->name, sizeof co->name, "%s-%d", co->re->host, (int)getpid());
    char file[320];
    snprintf(file, sizeof file, "%s.json", co->name);
    co->status_path = spool_file(co->sp, SPOOL_STATUS, file);
    snprintf(file, sizeof file, "%s.log", co->name);
    char *journal_path = spool_file(co->sp, SPOOL_JOURNAL, file);
    /* A journal with our name is a dead predecessor's (same host, same
     * pid after a reboot): move it aside for recovery to adopt. */
    if (journal_path && access(journal_path, F_OK) == 0) {
        char *aside = NULL;
        if (asprintf(&aside, "%s.%lld.log", journal_path,
                     (long long)util_now_us()) >= 0)
            rename(journal_path, aside);
        free(aside);
    }
    co->journal = journal_path ? journal_open(journal_path, err) : NULL;
    free(journal_path);
    if (!co->status_path || !co->journal)
        return -1;
    snprintf(file, sizeof file, "%s.reserve", co->name);
    co->reserve_path = spool_file(co->sp, SPOOL_JOURNAL, file);
    co->outpath = spool_file(co->sp, SPOOL_OUT, NULL);
    if (!co->outpath)
        return errprintf(err, "out of memory");
    co->outfd =
        open(co->outpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (co->outfd < 0)
        return errprintf(err, "cannot open '%s': %s", co->outpath,
                         strerror(errno));
    hold_reserve(co);
    co->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    char *newdir = spool_file(co->sp, SPOOL_NEW, NULL);
    co->new_wd = co->inotify_fd >= 0 && newdir
                     ? inotify_add_watch(co->inotify_fd, newdir,
                                         IN_MOVED_TO | IN_CLOSE_WRITE)
                     : -1;
    if (co->new_wd < 0)
        logmsg("cannot watch '%s' (%s): scanning it every %g s instead",
               newdir ? newdir : "new/", strerror(errno), co->opt->rescan_s);
    free(newdir);
    char *canceldir = spool_file(co->sp, SPOOL_CANCEL, NULL);
    co->cancel_wd = co->inotify_fd >= 0 && canceldir
                        ? inotify_add_watch(co->inotify_fd, canceldir,
                                            IN_MOVED_TO | IN_CLOSE_WRITE)
                        : -1;
    free(canceldir);
    /* drain/ and ids/ may be missing in a spool made before they existed. */
    struct mps_error drain_err;
    char *draindir = spool_file(co->sp, SPOOL_DRAIN, NULL);
    if (spool_ensure_dir(co->sp, SPOOL_DRAIN, &drain_err) < 0 ||
        spool_ensure_dir(co->sp, SPOOL_IDS, &drain_err) < 0)
        logmsg("%s", drain_err.text);
    co->requests = requests_create(co->sp, &request_ops, co, err);
    if (!co->requests) {
        free(draindir);
        return -1;
    }
    co->drain_wd = co->inotify_fd >= 0 && draindir
                       ? inotify_add_watch(co->inotify_fd, draindir,
                                           IN_CREATE | IN_DELETE | IN_MOVED_TO |
                                               IN_MOVED_FROM)
                       : -1;
    free(draindir);
    co->sigfd = node_signalfd();
    if (co->sigfd < 0)
        return errprintf(err, "cannot create a signalfd: %s", strerror(errno));
    co->nranks = co->re->size > 1 ? co->re->size - 1 : 1;
    co->bells = malloc((size_t)co->nranks * sizeof *co->bells);
    co->pfds =
        calloc((size_t)(3 + co->nranks + MAX_TASK_FDS + COPIES_MAX_RUNNING),
               sizeof *co->pfds);
    co->copies = copies_create(on_copied, co);
    co->looks = intake_cache_create(INTAKE_LOOKS);
    if (!co->bells || !co->pfds || !co->copies || !co->looks)
        return errprintf(err, "out of memory");
    for (int r = 0; r < co->nranks; r++)
        co->bells[r] = -1;
    co->ranks = calloc((size_t)co->nranks, sizeof *co->ranks);
    if (!co->ranks)
        return errprintf(err, "out of memory");
    if (co->re->size == 1) {
        struct exec_callbacks cb = {on_local_output, on_local_result, co};
        if (rankdir_create(co->opt->workdir, 0, &co->rankdir, err) < 0)
            return -1;
        co->local = executor_create(co->re->slots, co->rankdir.path, &cb, err);
        if (!co->local)
            return -1;
        executor_set_policy(co->local, co->opt->policy);
        executor_set_kill_grace(co->local, co->opt->kill_grace_s);
        executor_set_max_output(co->local, co->opt->max_output);
        node_place_tasks(co->local, co->opt, co->re);
        co->ranks[0].hello = true;
        co->ranks[0].slots = executor_slots(co->local);
        co->ranks[0].mem_total = co->re->mem_total;
        co->ranks[0].gpus = executor_gpus(co->local);
        snprintf(co->ranks[0].host, sizeof co->ranks[0].host, "%s",
                 co->re->host);
    }
    return 0;
}

int coordinator_main(const struct run_options *opt, const struct rank_env *re)
{
    struct coordinator co_storage;
    struct coordinator *co = &co_storage;
    memset(co, 0, sizeof *co);
    co->opt = opt;
    co->re = re;
    co->inotify_fd = co->sigfd = -1;
    co->rankdir.fd = -1;
    co->reserve_fd = co->outfd = -1;
    co->bell_listen = re->bell_listen;
    co->started_us = util_now_us();
    struct mps_error err;
    int rc = 0;
    if (setup(co, &err) < 0) {
        fprintf(stderr, "mpispool-run: %s\n", err.text);
        rc = 1;
        co->stopping = true;
        journal_close(co->journal, false);
        co->journal = NULL;
        requests_destroy(co->requests);
        co->requests = NULL;
        spool_close(co->sp);
        co->sp = NULL;
    } else {
        logmsg("serving spool '%s' with %d rank%s (status: %s)",
               spool_path(co->sp), re->size, re->size == 1 ? "" : "s",
               co->status_path);
        recover(co);
        scan_new(co, false);
        scan_cancel(co);
        scan_drain(co);
        co->next_rescan = util_mono_us() + (int64_t)(opt->rescan_s * 1e6);
        write_status(co, "running");
    }

    bool busy_turn = false;
    bool shutdown_sent = false;
    while (co->sp || !shutdown_sent || !all_ranks_said_bye(co)) {
        if (!co->sp && !shutdown_sent) {
            /* Setup failed: release the workers and leave. */
            if (!co->local)
                send_shutdown(co);
            shutdown_sent = true;
            if (co->local)
                break;
        }
        if (co->sp) {
            check_local_idle(co);
            dispatch(co);
            retry_pending(co);
            /* Jobs left in new/ while we had enough, or a scan that ran
             * out of time: go on now. */
            if (!co->stopping &&
                (co->scan_again ||
                 (co->claims_deferred && jobs_waiting(co) < CLAIM_AHEAD))) {
                scan_new(co, false);
                dispatch(co);
            }
            int64_t now = util_mono_us();
            if (co->status_dirty) {
                co->metrics_dirty = true;
                if (now - co->last_status >= STATUS_INTERVAL_US)
                    write_status(co, co->stopping ? "stopping" : "running");
            }
            if (opt->metrics_file && co->metrics_dirty &&
                now - co->last_metrics >= METRICS_INTERVAL_US)
                write_metrics(co);
            bool quiet = !co->jobs && !attempts_out(co);
            if (!shutdown_sent && quiet &&
                (co->stopping ||
                 (opt->until_empty && all_ranks_said_hello(co)))) {
                if (!co->stopping) {
                    scan_new(co, false);
                    if (co->jobs)
                        continue;
                }
                if (co->local)
                    break;
                send_shutdown(co);
                shutdown_sent = true;
            }
            if (co->stopping && !shutdown_sent && !attempts_out(co)) {
                release_jobs(co);
                continue;
            }
            if (shutdown_sent && all_ranks_said_bye(co))
                break;
        }

        copies_flush(co->copies); /* results of dispatch's send failures */
        int64_t now = util_mono_us();
        int timeout;
        /* Workers ring their doorbell after each message; one without a
         * doorbell, or a send still in progress, makes us look at MPI. */
        bool all_bells = all_ranks_have_bells(co);
        bool remote_active =
            !co->local &&
            (!all_ranks_said_hello(co) ||
             (!all_bells && (co->ndispatched > 0 || shutdown_sent)));
        if (busy_turn)
            timeout = 0;
        else if (remote_active || wire_pending_bytes() ||
                 now - co->last_ring < RING_LINGER_US)
            timeout = BUSY_POLL_MS;
        else
            timeout =
                all_bells && !co->local ? BELL_IDLE_POLL_MS : IDLE_POLL_MS;
        if (co->sp) {
            int rescan = (int)((co->next_rescan - now) / 1000);
            timeout = min_timeout(timeout, rescan < 0 ? 0 : rescan);
            timeout = min_timeout(timeout, retry_wait_ms(co, now));
            timeout = min_timeout(timeout, pending_wait_ms(co, now));
            if (co->scan_again && !co->stopping)
                timeout = 0;
            if (co->status_dirty) {
                int64_t due = co->last_status + STATUS_INTERVAL_US - now;
                timeout = min_timeout(timeout, due < 0 ? 0 : (int)(due / 1000));
            }
            if (opt->metrics_file && co->metrics_dirty) {
                int64_t due = co->last_metrics + METRICS_INTERVAL_US - now;
                timeout = min_timeout(timeout, due < 0 ? 0 : (int)(due / 1000));
            }
        }
        if (co->local)
            timeout = min_timeout(timeout, executor_timers(co->local));
        if (co->local && co->opt->idle && !co->stopping) {
            int64_t due = (co->next_idle_check - now) / 1000;
            timeout = min_timeout(timeout, due < 0 ? 0 : (int)due);
        }
        /* Stopping: a copy gets as long as a task's kill grace. */
        if (co->stopping)
            timeout = min_timeout(
                timeout, copies_expire(co->copies,
                                       (int64_t)(co->opt->kill_grace_s * 1e6)));

        struct pollfd *fds = co->pfds;
        int n = 0;
        int sig_i = -1, ino_i = -1, listen_i = -1, bells_i = 0;
        if (co->sigfd >= 0) {
            sig_i = n;
            fds[n++] = (struct pollfd){.fd = co->sigfd, .events = POLLIN};
        }
        if (co->inotify_fd >= 0) {
            ino_i = n;
            fds[n++] = (struct pollfd){.fd = co->inotify_fd, .events = POLLIN};
        }
        if (co->bell_listen >= 0) {
            listen_i = n;
            fds[n++] = (struct pollfd){.fd = co->bell_listen, .events = POLLIN};
        }
        bells_i = n;
        for (int r = 0; r < co->nranks; r++)
            if (co->bells[r] >= 0)
                fds[n++] =
                    (struct pollfd){.fd = co->bells[r], .events = POLLIN};
        int nfixed = n;
        if (co->local)
            n += executor_pollfds(co->local, fds + n, MAX_TASK_FDS);
        int copies_i = n;
        n += copies_pollfds(co->copies, fds + n, COPIES_MAX_RUNNING);
        if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
            logmsg("poll: %s", strerror(errno));
            break;
        }
        if (sig_i >= 0 && (fds[sig_i].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(co->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    if (co->local)
                        executor_reap(co->local);
                } else {
                    begin_stop(co, strsignal((int)si.ssi_signo));
                }
            }
        }
        if (ino_i >= 0 && (fds[ino_i].revents & POLLIN))
            read_inotify(co);
        if (listen_i >= 0 && (fds[listen_i].revents & POLLIN))
            accept_bells(co);
        for (int i = bells_i; i < nfixed; i++)
            if (fds[i].revents)
                drain_bell(co, fds[i].fd);
        if (co->local) {
            executor_handle(co->local, fds + nfixed, copies_i - nfixed);
            executor_timers(co->local);
        }
        copies_handle(co->copies, fds + copies_i, n - copies_i);
        if (co->sp && util_mono_us() >= co->next_rescan) {
            if (!co->stopping) {
                /* A coordinator that died while we serve: adopt its jobs. */
                if (dead_journal_exists(co))
                    recover(co);
                scan_new(co, true);
                scan_cancel(co);
                scan_drain(co);
                co->check_deps = true;
            }
            co->next_rescan = util_mono_us() + (int64_t)(opt->rescan_s * 1e6);
        }
        wire_progress();
        busy_turn = !co->local && receive_messages(co) > 0;
        copies_flush(co->copies);
        if (co->sp) {
            process_ended(co);
            finalize_ended_jobs(co);
        }
    }

    if (co->sp) {
        release_jobs(co);
        write_status(co, "stopped");
        if (opt->metrics_file)
            write_metrics(co);
        logmsg("stopped: %lu job%s done, %lu failed, %lu rejected",
               co->jobs_done, co->jobs_done == 1 ? "" : "s", co->jobs_failed,
               co->jobs_rejected);
    }
    wire_flush();
    copies_destroy(co->copies);
    intake_cache_destroy(co->looks);
    intake_announced_clear(&co->announced);
    executor_destroy(co->local);
    rankdir_remove(&co->rankdir);
    /* Nothing left claimed: the journal has no more use. */
    journal_close(co->journal, co->journal && co->kept_jobs == 0);
    if (co->reserve_path)
        unlink(co->reserve_path);
    if (co->reserve_fd >= 0)
        close(co->reserve_fd);
    free(co->reserve_path);
    if (co->outfd >= 0)
        close(co->outfd);
    free(co->outpath);
    requests_destroy(co->requests);
    spool_close(co->sp);
    free(co->status_path);
    free(co->ranks);
    for (int r = 0; co->bells && r < co->nranks; r++)
        if (co->bells[r] >= 0)
            close(co->bells[r]);
    free(co->bells);
    free(co->pfds);
    if (co->bell_listen >= 0)
        close(co->bell_listen);
    if (co->inotify_fd >= 0)
        close(co->inotify_fd);
    if (co->sigfd >= 0)
        close(co->sigfd);
    return rc;
}
