/* SPDX-License-Identifier: MIT */
/* mpispool submit --resume-failed: a new job of an ended job's failed tasks. */
#include "resume.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobfile.h"
#include "jobrecords.h"
#include "taskfile.h"

static void resume_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void resume_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mpispool: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The keys a resumed job takes from the earlier one unless it sets them. */
static const char *const inherited_keys[] = {
    "name",   "cwd",     "env",       "cpus",          "gpus",
    "memory", "timeout", "retries",   "retry_backoff", "priority",
    "stdout", "stderr",  "fail_fast",
};

/* The command keys of a job file, other than task_file. */
static const char *const array_keys[] = {"tasks", "command", "shell"};

/* A job's tasks as an array when it has tasks, command or shell. */
static json_t *task_array(json_t *job)
{
    json_t *v;
    if ((v = json_object_get(job, "tasks")) && json_is_array(v))
        return json_incref(v);
    if ((v = json_object_get(job, "command")) ||
        (v = json_object_get(job, "shell")))
        return json_pack("[O]", v);
    return NULL;
}

/* A path relative to a directory: dir_of's directory (NULL or no '/':
 * the current one). */
static char *beside(const char *dir_of, const char *path)
{
    char *out;
    const char *slash = dir_of ? strrchr(dir_of, '/') : NULL;
    if (path[0] == '/' || !slash || strcmp(dir_of, "-") == 0)
        return strdup(path);
    if (asprintf(&out, "%.*s/%s", (int)(slash - dir_of), dir_of, path) < 0)
        return NULL;
    return out;
}

/* A path of a spooled job: absolute as it is, else in data/. */
static char *spooled(const struct spool *sp, const char *path)
{
    return path[0] == '/' ? strdup(path) : spool_file(sp, SPOOL_DATA, path);
}

/* Count the tasks of a task file (-1 after a message). */
static long long count_tasks(const char *path)
{
    struct mps_error err;
    struct taskfile *tf = taskfile_open(path, &err);
    if (!tf) {
        resume_error("%s", err.text);
        return -1;
    }
    const char *line;
    int got;
    while ((got = taskfile_next(tf, &line, &err)) == 1)
        ;
    long long n = got < 0 ? -1 : (long long)taskfile_count(tf);
    if (got < 0)
        resume_error("%s", err.text);
    taskfile_close(tf);
    return n;
}

/* Write the lines of task file src whose task is chosen into a temporary
 * file (plan->tasks_path). When old is given (the earlier job's own copy),
 * a chosen line that differs from it is noted on stderr. */
static int filter_task_file(const char *src, const char *old,
                            const bool *chosen, long long ntasks,
                            const char *old_id, struct resume_plan *plan)
{
    struct mps_error err;
    struct taskfile *in =
        strcmp(src, "-") == 0
            ? taskfile_fdopen(dup(STDIN_FILENO), "standard input", &err)
            : taskfile_open(src, &err);
    struct taskfile *orig = old ? taskfile_open(old, &err) : NULL;
    const char *tmpdir = getenv("TMPDIR");
    FILE *out = NULL;
    int rc = 1;
    if (!in) {
        resume_error("%s", err.text);
        goto out;
    }
    if (asprintf(&plan->tasks_path, "%s/mpispool-resume-XXXXXX",
                 tmpdir && *tmpdir ? tmpdir : "/tmp") < 0) {
        plan->tasks_path = NULL;
        resume_error("out of memory");
        goto out;
    }
    int fd = mkstemp(plan->tasks_path);
    if (fd < 0 || !(out = fdopen(fd, "w"))) {
        resume_error("cannot create '%s': %s", plan->tasks_path,
                     strerror(errno));
        if (fd >= 0)
            close(fd);
        free(plan->tasks_path);
        plan->tasks_path = NULL;
        goto out;
    }
    const char *line, *old_line = NULL;
    int got;
    long long task = 0, differ = 0;
    while ((got = taskfile_next(in, &line, &err)) == 1) {
        if (orig && taskfile_next(orig, &old_line, &err) != 1)
            old_line = NULL;
        if (task < ntasks && chosen[task]) {
            fprintf(out, "%s\n", line);
            if (orig && old_line && strcmp(line, old_line) != 0 &&
                differ++ < 10)
                fprintf(stderr,
                        "mpispool: note: task %lld of '%s' differs from job "
                        "%s's; the line of '%s' is used\n",
                        task, src, old_id, src);
        }
        task++;
    }
    if (got < 0) {
        resume_error("%s", err.text);
        goto out;
    }
    if (task != ntasks) {
        resume_error("'%s' has %lld tasks, job %s had %lld: give the same "
                     "task file (or leave --tasks out to use job %s's copy)",
                     strcmp(src, "-") == 0 ? "standard input" : src, task,
                     old_id, ntasks, old_id);
        goto out;
    }
    if (fflush(out) != 0 || ferror(out)) {
        resume_error("cannot write '%s': %s", plan->tasks_path,
                     strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (out)
        fclose(out);
    if (in)
        taskfile_close(in);
    if (orig)
        taskfile_close(orig);
    return rc;
}

int resume_failed_prepare(struct spool *sp, const char *old_id, json_t *job,
                          const char *job_path, const char **tasks_src,
                          const char **archive_src, struct resume_plan *plan)
{
    *plan = (struct resume_plan){0};
    int where = jobfile_valid_id(old_id) ? spool_locate(sp, old_id) : -1;
    if (where < 0) {
        resume_error("--resume-failed: no job '%s' in spool '%s'", old_id,
                     spool_path(sp));
        return 1;
    }
    if (where == SPOOL_NEW || where == SPOOL_CUR) {
        resume_error("--resume-failed: job '%s' has not ended yet (wait for "
                     "it: mpispool wait %s)",
                     old_id, old_id);
        return 1;
    }
    if (where == SPOOL_REJECTED) {
        resume_error("--resume-failed: job '%s' was rejected: it ran nothing",
                     old_id);
        return 1;
    }
    int rc = 1;
    struct mps_error err;
    struct job_attempt *attempts = NULL;
    size_t nattempts = 0;
    bool *chosen = NULL;
    json_t *old = NULL, *old_array = NULL, *source = NULL, *picked = NULL;
    json_t *numbers = NULL;
    char *old_tasks = NULL, *src_path = NULL;
    char name[160];
    snprintf(name, sizeof name, "%s.json", old_id);
    char *old_path = spool_file(sp, (enum spool_dir)where, name);
    json_error_t jerr;
    if (!old_path || !(old = json_load_file(old_path, 0, &jerr)) ||
        !json_is_object(old)) {
        resume_error("--resume-failed: cannot read job '%s': %s", old_id,
                     old_path ? jerr.text : "out of memory");
        goto out;
    }
    /* How many tasks the earlier job had. */
    long long ntasks;
    json_t *old_tf = json_object_get(old, "task_file");
    old_array = task_array(old);
    if (json_is_string(old_tf)) {
        if (!(old_tasks = spooled(sp, json_string_value(old_tf)))) {
            resume_error("out of memory");
            goto out;
        }
        if ((ntasks = count_tasks(old_tasks)) < 0)
            goto out;
    } else if (old_array) {
        ntasks = (long long)json_array_size(old_array);
    } else {
        resume_error("--resume-failed: job '%s' has no tasks", old_id);
        goto out;
    }
    /* Which did not succeed: no record, or a last attempt that failed. */
    if (jobrecords_load(sp, old_id, true, &attempts, &nattempts, &err) < 0) {
        resume_error("--resume-failed: %s", err.text);
        goto out;
    }
    if (!(chosen = malloc((size_t)(ntasks ? ntasks : 1) * sizeof *chosen))) {
        resume_error("out of memory");
        goto out;
    }
    for (long long i = 0; i < ntasks; i++)
        chosen[i] = true;
    for (size_t i = 0; i < nattempts; i++) {
        bool last =
            i + 1 == nattempts || attempts[i + 1].task != attempts[i].task;
        long long t = attempts[i].task;
        if (last && t >= 0 && t < ntasks)
            chosen[t] = !jobrecords_ok(attempts[i].rec);
    }
    numbers = json_array();
    for (long long i = 0; i < ntasks; i++)
        if (chosen[i])
            json_array_append_new(numbers, json_integer(i));
    if (json_array_size(numbers) == 0) {
        resume_error("--resume-failed: every task of job '%s' succeeded: "
                     "nothing to submit",
                     old_id);
        goto out;
    }

    /* Where the tasks come from. */
    json_t *job_tf = json_object_get(job, "task_file");
    bool own = false;
    for (size_t k = 0; k < sizeof array_keys / sizeof *array_keys; k++)
        own = own || json_object_get(job, array_keys[k]);
    if (*tasks_src || json_is_string(job_tf)) {
        src_path = *tasks_src ? strdup(*tasks_src)
                              : beside(job_path, json_string_value(job_tf));
    } else if (own) {
        source = task_array(job);
    } else {
        /* Only --resume-failed: the earlier job, its settings included. */
        for (size_t k = 0; k < sizeof inherited_keys / sizeof *inherited_keys;
             k++) {
            json_t *v = json_object_get(old, inherited_keys[k]);
            if (v && !json_object_get(job, inherited_keys[k]))
                json_object_set(job, inherited_keys[k], v);
        }
        json_t *ar = json_object_get(old, "archive");
        if (json_is_string(ar) && !*archive_src &&
            !json_object_get(job, "archive")) {
            if (!(plan->archive_path = spooled(sp, json_string_value(ar)))) {
                resume_error("out of memory");
                goto out;
            }
            *archive_src = plan->archive_path;
        }
        if (old_tasks)
            src_path = strdup(old_tasks);
        else
            source = json_incref(old_array);
    }
    if (src_path) {
        if (filter_task_file(src_path, old_tasks, chosen, ntasks, old_id,
                             plan) != 0)
            goto out;
        json_object_del(job, "task_file");
        *tasks_src = plan->tasks_path;
    } else {
        if (!source) {
            resume_error("out of memory");
            goto out;
        }
        if ((long long)json_array_size(source) != ntasks) {
            resume_error("--resume-failed: the job has %zu tasks, job %s "
                         "had %lld: give the same tasks",
                         json_array_size(source), old_id, ntasks);
            goto out;
        }
        picked = json_array();
        size_t i;
        json_t *n;
        json_array_foreach(numbers, i, n)
        {
            json_array_append(
                picked, json_array_get(source, (size_t)json_integer_value(n)));
        }
        for (size_t k = 0; k < sizeof array_keys / sizeof *array_keys; k++)
            json_object_del(job, array_keys[k]);
        json_object_set(job, "tasks", picked);
    }
    json_object_set_new(
        job, "resumed_from",
        json_pack("{s:s, s:O}", "job", old_id, "tasks", numbers));
    fprintf(stderr, "resuming %zu of job %s's %lld tasks\n",
            json_array_size(numbers), old_id, ntasks);
    rc = 0;
out:
    if (rc != 0)
        resume_plan_free(plan);
    jobrecords_free(attempts, nattempts);
    free(chosen);
    free(old_path);
    free(old_tasks);
    free(src_path);
    json_decref(old_array);
    json_decref(old);
    json_decref(source);
    json_decref(picked);
    json_decref(numbers);
    return rc;
}

void resume_plan_free(struct resume_plan *plan)
{
    if (plan->tasks_path)
        unlink(plan->tasks_path);
    free(plan->tasks_path);
    free(plan->archive_path);
    *plan = (struct resume_plan){0};
}
