/* SPDX-License-Identifier: MIT */
/* Job files: parse and validate one job (JSON) into a jobspec. */
#ifndef MPISPOOL_JOBFILE_H
#define MPISPOOL_JOBFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Largest job file accepted (a task file is stored beside it, not in it). */
#define JOBFILE_MAX_BYTES (16 * 1024 * 1024)
/* Most "steps" a job may have (the wire carries at most 4096). */
#define JOBFILE_MAX_STEPS 1000
/* Longest shell command ("shell", "tasks" and "steps" strings; task file
 * lines have the same limit, TASKFILE_MAX_LINE). */
#define JOBFILE_MAX_COMMAND (1024 * 1024)
/* Longest argument of a program Linux runs: MAX_ARG_STRLEN (32 pages of
 * 4 KiB) less the terminating NUL. An argv element beyond it cannot run;
 * a longer shell command is handed to the shell in pieces. */
#define JOBFILE_MAX_ARG (32 * 4096 - 1)

/* One task's command. shell: argv[0] is a string for the job's interpreter
 * (/bin/sh unless "interpreter") and argc is 1; otherwise argv is exec'd
 * directly. argv is NULL-terminated. */
struct taskcmd {
    bool shell;
    size_t argc;
    char **argv;
};

void taskcmd_free(struct taskcmd *cmd);

/* A parsed, validated job. Strings are owned by the jobspec; absent optional
 * strings are NULL, absent numbers have the defaults noted. Lists of strings
 * are NULL-terminated arrays ("KEY=VALUE" for environments). */
struct jobspec {
    char *name;           /* "name" */
    uint64_t ntasks;      /* tasks in command/shell/tasks; 0 with task_file */
    char *task_file;      /* "task_file": one shell command per line */
    char *cwd;            /* "cwd" */
    char **env;           /* "env", added to the task environment */
    int cpus;             /* "cpus", default 1 */
    int gpus;             /* "gpus", default 0 */
    uint64_t memory;      /* "memory" in bytes, 0 = no limit */
    double timeout;       /* "timeout" seconds, 0 = none */
    int retries;          /* "retries", default 0 */
    double retry_backoff; /* "retry_backoff" seconds, default 10 */
    int priority;         /* "priority", default 0; higher runs first */
    char **after;         /* "after": job ids that must succeed first */
    char **after_any;     /* "after_any": job ids that must end first */
    char **after_notok;   /* "after_notok": job ids that must not succeed */
    bool fail_fast;       /* "fail_fast": a failed task stops the job */
    char *archive;        /* "archive" */
    char *stdout_path;    /* "stdout": a pattern (outpattern.h), or NULL */
    char *stderr_path;    /* "stderr": a pattern, or NULL */
    char *interpreter;    /* "interpreter": runs the shell tasks, or NULL */
    /* Written by `mpispool submit`, absent in hand-made files. */
    char *submit_dir;  /* "submit_dir": the submitter's working dir */
    char **submit_env; /* "submit_env": the submitter's environment */
    char *submit_host; /* "submit_host" */
    char *submit_time; /* "submit_time" (RFC 3339) */
    /* "submit_umask": the submitter's umask, given to the stdout/stderr
     * copies; 022 without. */
    unsigned submit_umask;
    /* "task_file_name": the task file's base name as it was given to
     * submit ("stdin" for standard input), or NULL */
    char *task_file_name;
    /* "resumed_from.file_tasks": the tasks of task_file that this job
     * runs (their numbers in the whole file, increasing), task i being
     * file_tasks[i]; NULL and 0 for a job that runs all of them. */
    uint64_t *file_tasks;
    size_t nfile_tasks;
    /* "steps": commands run one after another by one task (ntasks is 1),
     * in one work directory; NULL and 0 without. */
    struct taskcmd *steps;
    size_t nsteps;
    bool continue_on_error; /* "continue_on_error": run every step */
    void *internal;         /* the parsed document (tasks array) */
};

/* Parse and validate a job file's text. Unknown keys, wrong types, empty or
 * missing commands, out-of-range numbers and non-UTF-8 text are rejected
 * with one line naming the key ("unknown key 'comand'", "'cpus' must be an
 * integer from 1 to 4096"). Exactly one of command, shell, tasks, task_file
 * and steps must be given ('continue_on_error' only with steps). Returns NULL
 * and sets err on failure. */
struct jobspec *jobfile_parse(const char *text, size_t len,
                              struct mps_error *err);

/* Read (at most JOBFILE_MAX_BYTES) and parse a job file. A symlink or
 * non-regular file is rejected. */
struct jobspec *jobfile_load(const char *path, struct mps_error *err);

void jobspec_destroy(struct jobspec *job);

/* Task i (0 <= i < job->ntasks) of a job without a task file, as a fresh
 * taskcmd the caller frees with taskcmd_free. For a job with steps, the
 * first step. */
int jobspec_task(const struct jobspec *job, uint64_t i, struct taskcmd *out,
                 struct mps_error *err);

/* For a job of `mpispool submit --resume-failed` ("resumed_from"): task's
 * number in the earlier job; -1 for any other job or task. */
long long jobspec_original_task(const struct jobspec *job, uint64_t task);

/* Whether name is a usable job id / job file stem: 1 to 64 characters of
 * [A-Za-z0-9._-], not starting with '.'. */
bool jobfile_valid_id(const char *name);

#endif
