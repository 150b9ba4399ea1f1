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

#include "cli.h"
#include "jobfile.h"
#include "jobrecords.h"
#include "taskfile.h"

/* The keys a resumed job takes from the earlier one unless it sets them. */
static const char *const inherited_keys[] = {
    "name",   "cwd",     "env",       "cpus",          "gpus",
    "memory", "timeout", "retries",   "retry_backoff", "priority",
    "stdout", "stderr",  "fail_fast", "interpreter",   "task_file_name",
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
        cli_error("%s", err.text);
        return -1;
    }
    int got = taskfile_finish(tf, &err);
    long long n = got < 0 ? -1 : (long long)taskfile_count(tf);
    if (got < 0)
        cli_error("%s", err.text);
    taskfile_close(tf);
    return n;
}

/* A new temporary file in $TMPDIR (or /tmp); *path gets its name. NULL
 * after a message. */
static FILE *temp_file(char **path)
{
    const char *tmpdir = getenv("TMPDIR");
    if (asprintf(path, "%s/mpispool-resume-XXXXXX",
                 tmpdir && *tmpdir ? tmpdir : "/tmp") < 0) {
        *path = NULL;
        cli_error("out of memory");
        return NULL;
    }
    int fd = mkstemp(*path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        cli_error("cannot create '%s': %s", *path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(*path);
        }
        free(*path);
        *path = NULL;
    }
    return f;
}

/* Close a temporary file written in full; 0, or -1 after a message. */
static int temp_close(FILE *f, const char *path)
{
    bool bad = fflush(f) != 0 || ferror(f);
    if (fclose(f) != 0 || bad) {
        cli_error("cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Copy task file src ("-": standard input) whole into the temporary file
 * *copy_path, checking that it has ntasks tasks. 0 or -1 after a message. */
static int copy_source(const char *src, long long ntasks, const char *old_id,
                       char **copy_path)
{
    const char *name = strcmp(src, "-") == 0 ? "standard input" : src;
    FILE *in = strcmp(src, "-") == 0 ? stdin : fopen(src, "re");
    if (!in) {
        cli_error("cannot open task file '%s': %s", src, strerror(errno));
        return -1;
    }
    FILE *out = temp_file(copy_path);
    struct mps_error err;
    uint64_t n = 0;
    int rc = out ? taskfile_copy_count(in, out, name, &n, &err) : -1;
    if (out && rc < 0)
        cli_error("%s", err.text);
    if (out && temp_close(out, *copy_path) < 0)
        rc = -1;
    if (in != stdin)
        fclose(in);
    if (rc == 0 && (long long)n != ntasks) {
        cli_error("'%s' has %llu tasks, job %s had %lld: give the same "
                  "task file (or leave --tasks out to use job %s's copy)",
                  name, (unsigned long long)n, old_id, ntasks, old_id);
        rc = -1;
    }
    return rc;
}

/* Write the chosen tasks of the task file at path, one a line, to out
 * (after its "#!" line, if it has one). When old is given (the earlier
 * job's own copy), a chosen task that differs from it is noted on stderr.
 * *disbatch: whether path is a disBatch task file. 0 or -1 after a
 * message. */
static int write_chosen(const char *path, const char *src, const char *old,
                        const bool *chosen, const char *old_id, FILE *out,
                        bool *disbatch)
{
    struct mps_error err;
    struct taskfile *in = taskfile_open(path, &err);
    struct taskfile *orig = in && old ? taskfile_open(old, &err) : NULL;
    if (!in || (old && !orig)) {
        cli_error("%s", err.text);
        taskfile_close(in);
        return -1;
    }
    const char *line, *old_line = NULL;
    int got;
    long long task = 0, differ = 0, written = 0;
    while ((got = taskfile_next(in, &line, &err)) == 1) {
        if (orig && taskfile_next(orig, &old_line, &err) != 1)
            old_line = NULL;
        if (chosen[task]) {
            const char *interpreter = taskfile_interpreter(in);
            if (written++ == 0 && interpreter)
                fprintf(out,
                        interpreter[0] == '/' ? "#!%s\n"
                                              : "#!/usr/bin/env %s\n",
                        interpreter);
            fprintf(out, "%s\n", line);
            if (orig && old_line && strcmp(line, old_line) != 0 &&
                differ++ < 10)
                cli_error("note: task %lld of '%s' differs from job "
                          "%s's; the line of '%s' is used",
                          task, src, old_id, src);
        }
        task++;
    }
    if (got < 0)
        cli_error("%s", err.text);
    *disbatch = taskfile_disbatch(in);
    taskfile_close(in);
    taskfile_close(orig);
    return got < 0 ? -1 : 0;
}

/* The chosen tasks of task file src (which must have ntasks tasks) as a
 * temporary task file (plan->tasks_path): the lines of the chosen tasks,
 * or for a disBatch task file (whose directives make its tasks) the whole
 * file, *whole then set. When old is given (the earlier job's own copy),
 * a chosen task that differs from it is noted on stderr. */
static int filter_task_file(const char *src, const char *old,
                            const bool *chosen, long long ntasks,
                            const char *old_id, struct resume_plan *plan,
                            bool *whole)
{
    char *copy_path = NULL, *lines_path = NULL;
    FILE *lines = NULL;
    int rc = -1;
    if (copy_source(src, ntasks, old_id, &copy_path) < 0 ||
        !(lines = temp_file(&lines_path)))
        goto out;
    rc = write_chosen(copy_path, src, old, chosen, old_id, lines, whole);
    if (temp_close(lines, lines_path) < 0)
        rc = -1;
    if (rc == 0) {
        char **kept = *whole ? &copy_path : &lines_path;
        plan->tasks_path = *kept;
        *kept = NULL;
    }
out:
    if (copy_path)
        unlink(copy_path);
    if (lines_path)
        unlink(lines_path);
    free(copy_path);
    free(lines_path);
    return rc < 0 ? 1 : 0;
}

/* The numbers in the task file of the earlier job's tasks: its
 * resumed_from.file_tasks, else 0, 1, ... *nfile: the tasks of its file.
 * NULL after a message. */
static uint64_t *file_numbers(json_t *old, const char *old_tasks,
                              long long *ntasks, long long *nfile)
{
    json_t *files =
        json_object_get(json_object_get(old, "resumed_from"), "file_tasks");
    if ((*nfile = count_tasks(old_tasks)) < 0)
        return NULL;
    *ntasks = json_is_array(files) ? (long long)json_array_size(files) : *nfile;
    uint64_t *numbers =
        malloc((size_t)(*ntasks > 0 ? *ntasks : 1) * sizeof *numbers);
    if (!numbers) {
        cli_error("out of memory");
        return NULL;
    }
    for (long long i = 0; i < *ntasks; i++) {
        json_t *n = json_array_get(files, (size_t)i);
        numbers[i] = n ? (uint64_t)json_integer_value(n) : (uint64_t)i;
        if ((long long)numbers[i] >= *nfile) {
            cli_error("'%s' has %lld tasks, fewer than its job says", old_tasks,
                      *nfile);
            free(numbers);
            return NULL;
        }
    }
    return numbers;
}

/* The resumed job's tasks from task file src_path: a temporary task file
 * of the chosen ones (see filter_task_file). For a disBatch task file,
 * kept whole, *file_tasks gets their numbers in it (else NULL). file_of:
 * the earlier job's tasks' numbers in its file (NULL: the same), nfile the
 * tasks of that file. Returns 0 or 1 after a message. */
static int resume_from_file(const char *src_path, const char *old_tasks,
                            const bool *chosen, long long ntasks,
                            const uint64_t *file_of, long long nfile,
                            const char *old_id, struct resume_plan *plan,
                            json_t **file_tasks)
{
    bool *in_file = calloc((size_t)(nfile > 0 ? nfile : 1), sizeof *in_file);
    *file_tasks = json_array();
    if (!in_file || !*file_tasks) {
        free(in_file);
        cli_error("out of memory");
        return 1;
    }
    for (long long t = 0; t < ntasks; t++) {
        uint64_t f = file_of ? file_of[t] : (uint64_t)t;
        if (chosen[t]) {
            in_file[f] = true;
            json_array_append_new(*file_tasks, json_integer((json_int_t)f));
        }
    }
    bool whole = false;
    int rc = filter_task_file(src_path, old_tasks, in_file, nfile, old_id, plan,
                              &whole);
    free(in_file);
    if (rc || !whole) {
        json_decref(*file_tasks);
        *file_tasks = NULL;
    }
    return rc;
}

/* Only --resume-failed: the earlier job's settings the job does not set.
 * A task file's name (DISBATCH_NAMETASKS) stays what it was. */
static void inherit_keys(json_t *job, json_t *old)
{
    for (size_t k = 0; k < sizeof inherited_keys / sizeof *inherited_keys;
         k++) {
        json_t *v = json_object_get(old, inherited_keys[k]);
        if (v && !json_object_get(job, inherited_keys[k]))
            json_object_set(job, inherited_keys[k], v);
    }
    const char *tf = json_string_value(json_object_get(old, "task_file"));
    if (tf && !json_object_get(job, "task_file_name")) {
        const char *slash = strrchr(tf, '/');
        json_object_set_new(job, "task_file_name",
                            json_string(slash ? slash + 1 : tf));
    }
}

/* Where the ended job old_id is, or -1 after a message. */
static int ended_job_dir(struct spool *sp, const char *old_id)
{
    int where = jobfile_valid_id(old_id) ? spool_locate(sp, old_id) : -1;
    if (where < 0) {
        cli_error("--resume-failed: no job '%s' in spool '%s'", old_id,
                  spool_path(sp));
        return -1;
    }
    if (where == SPOOL_NEW || where == SPOOL_CUR) {
        cli_error("--resume-failed: job '%s' has not ended yet (wait for "
                  "it: mpispool wait %s)",
                  old_id, old_id);
        return -1;
    }
    if (where == SPOOL_REJECTED) {
        cli_error("--resume-failed: job '%s' was rejected: it ran nothing",
                  old_id);
        return -1;
    }
    if (where == SPOOL_CANCEL) {
        cli_error("--resume-failed: job '%s' was cancelled before it "
                  "started, and no coordinator has filed it yet: try again "
                  "once one has (mpispool wait %s)",
                  old_id, old_id);
        return -1;
    }
    return where;
}

/* The tasks of job old_id (ntasks of them) that did not succeed: no
 * record, or a last attempt that failed; *chosen (malloc'd) gets a flag
 * per task. Their numbers as a JSON array, or NULL after a message. */
static json_t *unsucceeded(struct spool *sp, const char *old_id,
                           long long ntasks, bool **chosen)
{
    struct mps_error err;
    struct task_record *attempts = NULL;
    size_t nattempts = 0;
    json_t *numbers = NULL;
    if (jobrecords_load(sp, old_id, true, &attempts, &nattempts, &err) < 0) {
        cli_error("--resume-failed: %s", err.text);
        return NULL;
    }
    if (!(*chosen =
              malloc((size_t)(ntasks > 0 ? ntasks : 1) * sizeof **chosen))) {
        cli_error("out of memory");
        goto out;
    }
    for (long long i = 0; i < ntasks; i++)
        (*chosen)[i] = true;
    for (size_t i = 0; i < nattempts; i++) {
        bool last =
            i + 1 == nattempts || attempts[i + 1].task != attempts[i].task;
        uint64_t t = attempts[i].task;
        if (last && ntasks > 0 && t < (uint64_t)ntasks)
            (*chosen)[t] = !record_ok(&attempts[i]);
    }
    numbers = json_array();
    for (long long i = 0; i < ntasks; i++)
        if ((*chosen)[i])
            json_array_append_new(numbers, json_integer(i));
    if (json_array_size(numbers) == 0) {
        cli_error("--resume-failed: every task of job '%s' succeeded: "
                  "nothing to submit",
                  old_id);
        json_decref(numbers);
        numbers = NULL;
    }
out:
    jobrecords_free(attempts, nattempts);
    return numbers;
}

/* The job's tasks become those of source (the job's own, or the earlier
 * job's) whose numbers are in numbers; 0, or -1 after a message. */
static int pick_tasks(json_t *job, json_t *source, json_t *numbers,
                      long long ntasks, const char *old_id)
{
    if (!source) {
        cli_error("out of memory");
        return -1;
    }
    if ((long long)json_array_size(source) != ntasks) {
        cli_error("--resume-failed: the job has %zu tasks, job %s "
                  "had %lld: give the same tasks",
                  json_array_size(source), old_id, ntasks);
        return -1;
    }
    json_t *picked = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(numbers, i, n)
    {
        json_array_append(
            picked, json_array_get(source, (size_t)json_integer_value(n)));
    }
    for (size_t k = 0; k < sizeof array_keys / sizeof *array_keys; k++)
        json_object_del(job, array_keys[k]);
    json_object_set_new(job, "tasks", picked);
    return 0;
}

int resume_failed_prepare(struct spool *sp, const char *old_id, json_t *job,
                          const char *job_path, const char **tasks_src,
                          const char **archive_src, struct resume_plan *plan)
{
    *plan = (struct resume_plan){0};
    int where = ended_job_dir(sp, old_id);
    if (where < 0)
        return 1;
    int rc = 1;
    bool *chosen = NULL;
    json_t *old = NULL, *old_array = NULL, *source = NULL;
    json_t *numbers = NULL, *file_tasks = NULL;
    uint64_t *file_of = NULL;
    char *old_tasks = NULL, *src_path = NULL;
    char name[160];
    snprintf(name, sizeof name, "%s.json", old_id);
    char *old_path = spool_file(sp, (enum spool_dir)where, name);
    json_error_t jerr;
    if (!old_path || !(old = json_load_file(old_path, 0, &jerr)) ||
        !json_is_object(old)) {
        cli_error("--resume-failed: cannot read job '%s': %s", old_id,
                  old_path ? jerr.text : "out of memory");
        goto out;
    }
    /* How many tasks the earlier job had (and its task file). */
    long long ntasks, nfile;
    json_t *old_tf = json_object_get(old, "task_file");
    old_array = task_array(old);
    if (json_is_string(old_tf)) {
        if (!(old_tasks = spooled(sp, json_string_value(old_tf)))) {
            cli_error("out of memory");
            goto out;
        }
        if (!(file_of = file_numbers(old, old_tasks, &ntasks, &nfile)))
            goto out;
    } else if (old_array) {
        ntasks = nfile = (long long)json_array_size(old_array);
    } else {
        cli_error("--resume-failed: job '%s' has no tasks", old_id);
        goto out;
    }
    if (!(numbers = unsucceeded(sp, old_id, ntasks, &chosen)))
        goto out;

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
        inherit_keys(job, old);
        json_t *ar = json_object_get(old, "archive");
        if (json_is_string(ar) && !*archive_src &&
            !json_object_get(job, "archive")) {
            if (!(plan->archive_path = spooled(sp, json_string_value(ar)))) {
                cli_error("out of memory");
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
        if (resume_from_file(src_path, old_tasks, chosen, ntasks, file_of,
                             nfile, old_id, plan, &file_tasks) != 0)
            goto out;
        json_object_del(job, "task_file");
        *tasks_src = plan->tasks_path;
    } else {
        if (pick_tasks(job, source, numbers, ntasks, old_id) < 0)
            goto out;
    }
    json_t *from = json_pack("{s:s, s:O}", "job", old_id, "tasks", numbers);
    if (from && file_tasks)
        json_object_set(from, "file_tasks", file_tasks);
    json_object_set_new(job, "resumed_from", from);
    fprintf(stderr, "resuming %zu of job %s's %lld tasks\n",
            json_array_size(numbers), old_id, ntasks);
    rc = 0;
out:
    if (rc != 0)
        resume_plan_free(plan);
    free(chosen);
    free(file_of);
    json_decref(file_tasks);
    free(old_path);
    free(old_tasks);
    free(src_path);
    json_decref(old_array);
    json_decref(old);
    json_decref(source);
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
