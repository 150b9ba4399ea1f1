/* SPDX-License-Identifier: MIT */
/* The report of a job cancelled before it ran, and a job's report written
 * into out/JOBID/ as the job's owner. */
#include "jobreport.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asuser.h"
#include "jobfile.h"
#include "outpaths.h"
#include "spool.h"
#include "taskfile.h"
#include "util.h"

/* Who the job file's owner is, to act as: the uid and the primary group
 * of its password entry (gid without one). Supplementary groups are not
 * needed to read one's own files or write in one's own directory. */
static void owner_id(uint32_t uid, uint32_t gid, struct asuser_id *who)
{
    *who = (struct asuser_id){
        .switch_ids = geteuid() == 0 && uid != 0, .uid = uid, .gid = gid};
    char buf[16384];
    struct passwd pw, *found = NULL;
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &found) == 0 && found)
        who->gid = (uint32_t)pw.pw_gid;
}

/* The job file open at fd, parsed; NULL when it is not a valid job. */
static struct jobspec *load_spec(int fd)
{
    struct mps_error err;
    size_t len;
    if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return NULL;
    char *text = asuser_read(fd, JOBFILE_MAX_BYTES, &len, "job file", &err);
    struct jobspec *spec = text ? jobfile_parse(text, len, &err) : NULL;
    free(text);
    return spec;
}

/* Open the job's task file as who may (a name in data/, or an absolute
 * path): a regular file, who's own when ids are switched. */
static int open_task_file(const struct spool *sp, const char *task_file,
                          const struct asuser_id *who, struct mps_error *err)
{
    const struct asuser_want want = {
        .type = S_IFREG, .any_owner = !who->switch_ids, .owner = who->uid};
    if (task_file[0] == '/')
        return asuser_open_path(who, task_file, &want, NULL, err);
    char *data = spool_file(sp, SPOOL_DATA, NULL);
    int dirfd = data ? open(data, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    free(data);
    if (dirfd < 0)
        return errprintf(err, "cannot open data/: %s", strerror(errno));
    int fd = -1;
    if (asuser_enter(who, err) == 0) {
        fd = asuser_openat(dirfd, task_file, O_RDONLY, 0, &want, NULL,
                           task_file, err);
        asuser_leave();
    }
    close(dirfd);
    return fd;
}

/* How many tasks the job has, counted the way a coordinator counts them
 * (a task file as far as who may read it); 0 when unknown. */
static uint64_t count_tasks(const struct spool *sp, const struct jobspec *spec,
                            const struct asuser_id *who)
{
    if (!spec->task_file)
        return spec->ntasks;
    struct mps_error err;
    int fd = open_task_file(sp, spec->task_file, who, &err);
    struct taskfile *tf =
        fd >= 0 ? taskfile_fdopen(fd, "task file", &err) : NULL;
    uint64_t n = 0;
    if (tf &&
        (!spec->file_tasks ||
         taskfile_select(tf, spec->file_tasks, spec->nfile_tasks, &err) == 0)) {
        taskfile_finish(tf, &err); /* as far as it can be read */
        n = taskfile_count(tf);
    }
    if (tf)
        taskfile_close(tf);
    return n;
}

json_t *jobreport_head(const struct job_report *rep)
{
    char t1[UTIL_TIME_LEN], t2[UTIL_TIME_LEN];
    return json_pack(
        "{s:s, s:s?, s:s, s:s?, s:s?, s:s, s:{s:I, s:I, s:I, s:I}, s:s?}",
        "job", rep->job, "name", rep->name, "state", rep->state, "submitted",
        rep->submitted, "started",
        rep->started_us ? util_format_time(rep->started_us, t1) : NULL, "ended",
        util_format_time(rep->ended_us, t2), "counts", "tasks",
        (json_int_t)rep->tasks, "succeeded", (json_int_t)rep->succeeded,
        "failed", (json_int_t)rep->failed, "cancelled",
        (json_int_t)rep->cancelled, "reason", rep->reason);
}

/* Print one record: a comma before all but the first. */
struct printing {
    FILE *out;
    bool first;
};

static void print_record(void *arg, const char *line)
{
    struct printing *p = arg;
    if (!p->first)
        fputc(',', p->out);
    fputs(line, p->out);
    p->first = false;
}

int jobreport_print(FILE *out, const struct job_report *rep,
                    jobreport_records *each, void *arg)
{
    json_t *head = jobreport_head(rep);
    if (!head)
        return -1;
    /* Member by member, as json_dumps(JSON_COMPACT) would print the
     * object, so that "tasks" can be streamed after them. */
    const char *key;
    json_t *value;
    int rc = 0;
    fputc('{', out);
    json_object_foreach(head, key, value)
    {
        json_t *name = json_string(key);
        char *k = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
        char *v = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT |
                                        JSON_PRESERVE_ORDER);
        json_decref(name);
        if (k && v)
            fprintf(out, "%s:%s,", k, v);
        else
            rc = -1;
        free(k);
        free(v);
    }
    json_decref(head);
    fputs("\"tasks\":[", out);
    struct printing p = {out, true};
    if (each)
        each(arg, print_record, &p);
    fputs("]}\n", out);
    return rc;
}

/* The report of a job cancelled before it ran, of spec (NULL: unknown). */
static json_t *cancelled_report(const struct spool *sp, const char *jobid,
                                const struct jobspec *spec,
                                const struct stat *st)
{
    struct asuser_id who;
    owner_id((uint32_t)st->st_uid, (uint32_t)st->st_gid, &who);
    uint64_t ntasks = spec ? count_tasks(sp, spec, &who) : 0;
    const struct job_report rep = {
        .job = jobid,
        .name = spec ? spec->name : NULL,
        .state = "cancelled",
        .submitted = spec ? spec->submit_time : NULL,
        .ended_us =
            (int64_t)st->st_ctim.tv_sec * 1000000 + st->st_ctim.tv_nsec / 1000,
        .tasks = ntasks,
        .cancelled = ntasks,
        .reason = "cancelled before it started",
    };
    json_t *head = jobreport_head(&rep);
    if (head && json_object_set_new(head, "tasks", json_array()) < 0) {
        json_decref(head);
        return NULL;
    }
    return head;
}

json_t *jobreport_cancelled(const struct spool *sp, const char *jobid, int fd,
                            const struct stat *st)
{
    struct jobspec *spec = load_spec(fd);
    json_t *rep = cancelled_report(sp, jobid, spec, st);
    jobspec_destroy(spec);
    return rep;
}

/* out/JOBID, made if missing and given to who (mode 0777 & ~mask), open
 * as a directory beneath out. Returns the descriptor or -1 with err. */
static int job_dir(int out, const char *jobid, const struct asuser_id *who,
                   unsigned mask, struct mps_error *err)
{
    bool made = mkdirat(out, jobid, 0700) == 0;
    if (!made && errno != EEXIST)
        return errprintf(err, "cannot create 'out/%s': %s", jobid,
                         strerror(errno));
    int dir =
        openat(out, jobid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (dir < 0 || fstat(dir, &st) < 0) {
        int saved = errno;
        if (dir >= 0)
            close(dir);
        errno = saved;
        return errprintf(err, "cannot open 'out/%s': %s", jobid,
                         strerror(saved));
    }
    uid_t me = geteuid();
    bool give = who->switch_ids && st.st_uid == me;
    if ((give && fchown(dir, who->uid, who->gid) < 0) ||
        ((made || give) && fchmod(dir, 0777 & ~mask) < 0)) {
        int saved = errno;
        close(dir);
        errno = saved;
        return errprintf(err, "cannot give 'out/%s' to uid %u: %s", jobid,
                         (unsigned)who->uid, strerror(saved));
    }
    return dir;
}

/* Write report.json in dir (as whoever this thread is now). */
static int write_in(int dir, const char *jobid, unsigned mask, const char *text,
                    size_t len, struct mps_error *err)
{
    static const char tmp[] = "." OUT_REPORT ".tmp";
    unlinkat(dir, tmp, 0);
    int fd = openat(dir, tmp,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0666 & ~mask) < 0 ||
        util_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
        int saved = errno;
        if (fd >= 0) {
            close(fd);
            unlinkat(dir, tmp, 0);
        }
        errno = saved;
        return errprintf(err, "cannot write 'out/%s/" OUT_REPORT "': %s", jobid,
                         strerror(saved));
    }
    close(fd);
    if (renameat(dir, tmp, dir, OUT_REPORT) < 0) {
        int saved = errno;
        unlinkat(dir, tmp, 0);
        errno = saved;
        return errprintf(err, "cannot write 'out/%s/" OUT_REPORT "': %s", jobid,
                         strerror(saved));
    }
    return 0;
}

int jobreport_write(const struct spool *sp, const char *jobid, uint32_t owner,
                    unsigned mask, const char *text, size_t len,
                    struct mps_error *err)
{
    struct asuser_id who;
    owner_id(owner, owner, &who);
    char *path = spool_file(sp, SPOOL_OUT, NULL);
    int out =
        path ? open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    free(path);
    if (out < 0)
        return errprintf(err, "cannot open out/: %s", strerror(errno));
    int dir = job_dir(out, jobid, &who, mask, err);
    close(out);
    if (dir < 0)
        return -1;
    int rc = asuser_enter(&who, err);
    if (rc == 0) {
        rc = write_in(dir, jobid, mask, text, len, err);
        int saved = errno;
        asuser_leave();
        errno = saved;
    }
    int saved = errno;
    close(dir);
    errno = saved;
    return rc;
}

int jobreport_write_cancelled(const struct spool *sp, const char *jobid, int fd,
                              const struct stat *st, struct mps_error *err)
{
    struct jobspec *spec = load_spec(fd);
    unsigned mask = spec ? spec->submit_umask : 077;
    json_t *rep = cancelled_report(sp, jobid, spec, st);
    jobspec_destroy(spec);
    char *body =
        rep ? json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(rep);
    char *text = NULL;
    int len = body ? asprintf(&text, "%s\n", body) : -1;
    free(body);
    if (len < 0) {
        errno = ENOMEM;
        return errprintf(err, "out of memory");
    }
    int rc = jobreport_write(sp, jobid, (uint32_t)st->st_uid, mask, text,
                             (size_t)len, err);
    free(text);
    return rc;
}
