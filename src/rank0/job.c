/* SPDX-License-Identifier: MIT */
/* A claimed job set up from its file: owner, environment, task file, archive,
 * output directory; setups that failed for a passing reason, tried again with
 * backoff. */
#include "job.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "archives.h"
#include "claim.h"
#include "copies.h"
#include "deps.h"
#include "journal.h"
#include "runopts.h"
#include "outdir.h"
#include "outpattern.h"
#include "ranks.h"
#include "taskfile.h"
#include "util.h"

void job_free(struct job *job)
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

int locate_job(const struct coordinator *co, const char *id)
{
    int where = spool_locate(co->sp, id);
    return where >= 0 ? where : spool_locate(co->sp, id);
}

void job_insert(struct coordinator *co, struct job *job)
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

struct job *find_job(struct coordinator *co, const char *id)
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

int job_owner(struct job *job, const struct stat *st, struct mps_error *err)
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

enum setup job_setup(struct coordinator *co, struct job *job, const char *name,
                     bool check_used, bool adopted, bool *id_checked,
                     struct mps_error *err)
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

struct pending *pending_find(struct coordinator *co, const char *id)
{
    for (struct pending *p = co->pending; p; p = p->next)
        if (strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

bool holds_job(struct coordinator *co, const char *id)
{
    return find_job(co, id) || pending_find(co, id);
}

void pending_free(struct pending *p)
{
    if (p->rj)
        free(p->rj->tasks);
    free(p->rj);
    free(p);
}

void pending_add(struct coordinator *co, const char *name, const char *id,
                 struct replay_job *rj, struct pending *p, bool id_checked,
                 const char *reason)
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

void job_drop_output(struct coordinator *co, struct job *job)
{
    if (job->out && outdir_discard(job->out, co->outfd, job->id) < 0)
        logmsg("job %s: cannot remove its output directory: %s", job->id,
               strerror(errno));
    job->out = NULL;
}

void retry_pending(struct coordinator *co)
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

int pending_wait_ms(const struct coordinator *co, int64_t now)
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
