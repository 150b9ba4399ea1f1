/* SPDX-License-Identifier: MIT */
/* Intake of new/: inotify, the fair scan, claims into cur/, rejections. */
#include "claim.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <stdlib.h>
#include <unistd.h>

#include "cancel.h"
#include "evloop.h"
#include "job.h"
#include "journal.h"
#include "outdir.h"
#include "queue.h"
#include "ranks.h"
#include "recovery.h"
#include "runopts.h"
#include "spool.h"
#include "util.h"

void job_id_of(const char *name, char *id)
{
    size_t len = strlen(name);
    if (len > 5 && strcmp(name + len - 5, ".json") == 0)
        len -= 5;
    snprintf(id, 72, "%.*s", (int)len, name);
}

void reject(struct coordinator *co, const char *name, const char *reason)
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

void refuse(struct coordinator *co, enum spool_dir from, const char *name,
            const char *reason)
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

void take_job(struct coordinator *co, const char *name, struct replay_job *rj,
              struct pending *again)
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

void scan_new(struct coordinator *co, bool settle)
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

char **list_dir(const char *path, size_t *count)
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

void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void read_inotify(struct coordinator *co)
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

static void on_inotify(struct evloop *loop, int fd, short revents, void *arg)
{
    (void)loop, (void)fd, (void)revents;
    read_inotify(arg);
}

static void watch_requests(struct coordinator *co)
{
    char *canceldir = spool_file(co->sp, SPOOL_CANCEL, NULL);
    co->cancel_wd = co->inotify_fd >= 0 && canceldir
                        ? inotify_add_watch(co->inotify_fd, canceldir,
                                            IN_MOVED_TO | IN_CLOSE_WRITE)
                        : -1;
    free(canceldir);
    char *draindir = spool_file(co->sp, SPOOL_DRAIN, NULL);
    co->drain_wd = co->inotify_fd >= 0 && draindir
                       ? inotify_add_watch(co->inotify_fd, draindir,
                                           IN_CREATE | IN_DELETE | IN_MOVED_TO |
                                               IN_MOVED_FROM)
                       : -1;
    free(draindir);
}

void claim_watch(struct coordinator *co)
{
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
    watch_requests(co);
    if (co->inotify_fd >= 0 &&
        evloop_fd_add(co->loop, co->inotify_fd, EVLOOP_IN, on_inotify, co) < 0)
        logmsg("cannot watch the spool: out of memory");
}
