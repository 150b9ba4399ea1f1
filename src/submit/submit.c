/* SPDX-License-Identifier: MIT */
/* mpispool submit: options, the job built from them, and its queueing. */
#include "commands.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argtasks.h"
#include "cli.h"
#include "depends.h"
#include "error.h"
#include "outpattern.h"
#include "resume.h"
#include "spool.h"
#include "submitjob.h"

/* ------------------------------------------------------------ submit */

static const char submit_usage[] =
    "Usage: mpispool submit [OPTIONS] JOB.json\n"
    "       mpispool submit [OPTIONS] --tasks FILE\n"
    "       mpispool submit [OPTIONS] -- COMMAND [ARG...]\n"
    "       mpispool submit [OPTIONS] -- [COMMAND...] ::: ARG... "
    "[:::[+] ARG...]\n"
    "                       [::::[+] FILE...]\n"
    "       mpispool submit [OPTIONS] [--tasks FILE] --resume-failed JOBID\n"
    "\n"
    "Submit one job to the spool and print its id (alone, on stdout).\n"
    "\n"
    "JOB.json is a job file ('-' reads it from standard input), a JSON\n"
    "object (keys below). --tasks FILE submits a task file: one shell\n"
    "command per line (up to 1 MiB), each one task; empty lines and lines\n"
    "starting with '#' are skipped ('-' reads standard input). A first line\n"
    "'#!/bin/bash' (or '#!/usr/bin/env bash') runs the lines with bash;\n"
    "disBatch's '#DISBATCH PREFIX', 'SUFFIX' and 'REPEAT' lines work as in\n"
    "disBatch (such a file runs under /bin/bash, its tasks get disBatch's\n"
    "DISBATCH_* variables; BARRIER and PERENGINE are refused). With '--',\n"
    "COMMAND and its arguments are the job's one task, run directly (not\n"
    "by a shell).\n"
    "A job file may be combined with --tasks: its keys, the file's tasks.\n"
    "\n"
    "With ':::' or '::::' after '--', as in GNU parallel, the words before\n"
    "them are a command template and the job's tasks are the command lines\n"
    "parallel would run: one for every combination of the argument lists\n"
    "(::: ARG...) and files (:::: FILE..., one argument per line; '-':\n"
    "standard input), the last changing fastest; ':::+' and '::::+' pair a\n"
    "source with the previous one instead. In the template, {} is the\n"
    "arguments, {.} without extension, {/} base name, {//} directory, {/.}\n"
    "base name without extension, {#} the task number from 1, and {1} {2}\n"
    "... ({-1}: the last) one source's argument, with the same edits ({1.}\n"
    "{2/} ...); without any, the arguments are appended. The words are\n"
    "joined by spaces into a shell command line and each argument is\n"
    "quoted as parallel quotes it. {%}, {= perl =} and parallel --plus\n"
    "strings are refused, as is a line a task file cannot hold as one task\n"
    "(a comment, blank, a newline); at most 10000000 lines.\n"
    "\n"
    "submit records the current directory (the tasks' default working\n"
    "directory), the whole environment (the tasks' base environment), the\n"
    "host and the time in the job. Task files and archives, also a job\n"
    "file's \"task_file\" and \"archive\", are copied into the spool:\n"
    "changing them afterwards changes nothing. The job is validated\n"
    "before it is queued; an invalid job is refused with the reason.\n"
    "\n"
    "Options (each sets the job key of the same name, over the job file's):\n"
    "      --name NAME       a name shown by status and report\n"
    "      --cpus N          cores per task (default 1)\n"
    "      --timeout SECONDS time limit of each task attempt\n"
    "      --retries N       attempts after a failure (default 0)\n"
    "      --priority N      higher runs first (default 0)\n"
    "      --env KEY=VALUE   add to the tasks' environment (repeatable)\n"
    "      --cwd DIR         the tasks' working directory (made absolute)\n"
    "      --tasks FILE      submit the task file FILE\n"
    "      --interpreter PROG\n"
    "                        run the shell commands as 'PROG -c COMMAND' "
    "(e.g.\n"
    "                        bash; default /bin/sh)\n"
    "      --resume-failed JOBID\n"
    "                        only the tasks of the ended job JOBID that did "
    "not\n"
    "                        succeed or never ran; alone, JOBID's own tasks "
    "and\n"
    "                        settings; the job's \"resumed_from\" maps them\n"
    "      --archive FILE    a zip or tar (.tar.gz, .tar.xz, ...) extracted "
    "into\n"
    "                        each task's work directory\n"
    "  -o, --stdout PATTERN  also copy each task's stdout to PATTERN (below)\n"
    "  -e, --stderr PATTERN  also copy each task's stderr to PATTERN\n"
    "      --fail-fast       stop the job when a task has failed for good "
    "(its\n"
    "                        retries used up): no other task of it starts, "
    "its\n"
    "                        running tasks are ended, the job fails\n"
    "      --after JOBID     start only once JOBID succeeded; if it fails, "
    "this\n"
    "                        job fails unrun\n"
    "      --after-any JOBID start only once JOBID ended, in any state\n"
    "      --after-notok JOBID\n"
    "                        start only once JOBID failed or was cancelled; "
    "if it\n"
    "                        succeeds, this job is cancelled unrun\n"
    "      --dependency LIST Slurm's spelling of the three above:\n"
    "                        afterok:ID[:ID...],afterany:ID,afternotok:ID\n"
    "                        (dependency options take ID[:ID...], repeat, and "
    "add\n"
    "                        to the job file's lists; each ID must be a job "
    "of\n"
    "                        the spool)\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL)\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Job file keys (exactly one of command, shell, tasks, task_file, steps):\n"
    "  command               [\"prog\", \"arg\", ...]: one task, run directly\n"
    "  shell                 \"cmd | cmd\": one task, run by /bin/sh -c\n"
    "  interpreter           runs the shell commands instead of /bin/sh: "
    "a name\n"
    "                        on PATH or an absolute path\n"
    "  tasks                 [argv array or shell string, ...]: many tasks\n"
    "  task_file             a task file (relative to the job file's "
    "directory)\n"
    "  name, cwd             string; absolute path\n"
    "  env                   {\"KEY\": \"VALUE\", ...} added to the "
    "environment\n"
    "  cpus, gpus            per task (default 1, 0); memory: \"512M\", "
    "\"8G\"\n"
    "  timeout               seconds per attempt; retries, retry_backoff "
    "(seconds)\n"
    "  priority              integer, higher runs first\n"
    "  after                 [job ids] that must succeed first; after_any: "
    "end;\n"
    "                        after_notok: fail or be cancelled (see "
    "--after-notok)\n"
    "  fail_fast             true: a task that failed for good stops the job\n"
    "  steps                 [argv array or shell string, ...]: one task that\n"
    "                        runs them in turn in one work directory, "
    "stopping\n"
    "                        at a failure unless \"continue_on_error\": true\n"
    "  archive               zip or tar extracted into each task's work "
    "directory\n"
    "                        (relative to the job file's directory); the task "
    "runs\n"
    "                        there (unless cwd), MPISPOOL_WORKDIR names it\n"
    "  stdout, stderr        PATTERN: also copy each task's stdout, stderr "
    "there,\n"
    "                        as the job's owner, after each attempt (the last\n"
    "                        attempt's stays); relative to cwd or the submit\n"
    "                        directory. %j job id, %t task number (%4t: "
    "0007),\n"
    "                        %x name, %u user, %A and %a as %j and %t, %% "
    "'%';\n"
    "                        several tasks need %t. A copy that cannot be\n"
    "                        written fails the task (the spool keeps the "
    "output)\n"
    "Each task also gets MPISPOOL_JOB_ID, MPISPOOL_TASK_ID (from 0),\n"
    "MPISPOOL_TASK_SEQ (from 1: GNU parallel's {#}, the TACC launcher's\n"
    "LAUNCHER_JID), MPISPOOL_TASK_COUNT (the job's tasks: Slurm's\n"
    "SLURM_ARRAY_TASK_COUNT), MPISPOOL_TASK_LINE (a task file's tasks: the\n"
    "line that made it, disBatch's DISBATCH_STREAM_INDEX), MPISPOOL_CPUS\n"
    "(its cores) and OMP_NUM_THREADS.\n"
    "\n"
    "Exit status: 0 submitted, 1 refused or failed, 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool submit --cpus 4 --timeout 3600 -- bwa mem ref.fa s7.fq\n"
    "  mpispool submit --name sweep --tasks runs.txt\n"
    "  mpispool submit --tasks runs.txt -o 'logs/%j-%4t.out' -e "
    "'logs/%j-%4t.err'\n"
    "  mpispool submit --interpreter bash --tasks runs.sh  # lines in bash\n"
    "  seq 100 | sed 's/^/.\\/simulate --seed /' | mpispool submit --tasks -\n"
    "  mpispool submit -- gzip -9 {} ::: *.txt\n"
    "  mpispool submit --name conv -- convert {} {.}.png ::: *.jpg\n"
    "  mpispool submit -- ./sim --a {1} --b {2} ::: 1 2 3 ::: x y\n"
    "  mpispool submit -- ./fit {1} {2} ::: a b c :::+ 1 2 3\n"
    "  mpispool submit -- ./run {} :::: inputs.txt\n"
    "  id=$(mpispool submit align.json) && mpispool wait \"$id\"\n";

struct submit_args {
    json_t *overrides;   /* keys set by options */
    json_t *env;         /* --env KEY=VALUE, or NULL */
    const char *tasks;   /* --tasks FILE */
    const char *archive; /* --archive FILE */
    const char *resume;  /* --resume-failed JOBID */
    struct argtasks *at; /* -- COMMAND ::: ARGS: the tasks to make */
    json_t *deps;        /* --after, --after-any, --after-notok, --dependency */
};

/* Seconds as a JSON number: an integer when it is one. */
static json_t *seconds_json(double secs)
{
    if (secs == floor(secs) && fabs(secs) < 1e15)
        return json_integer((json_int_t)secs);
    return json_real(secs);
}

/* Apply the options to the job: overrides replace keys, --env adds to
 * the job's env. */
static int apply_overrides(json_t *job, const struct submit_args *args)
{
    if (json_object_update(job, args->overrides) < 0)
        return -1;
    if (!args->env)
        return 0;
    json_t *env = json_object_get(job, "env");
    if (json_is_object(env))
        return json_object_update(env, args->env);
    return json_object_set(job, "env", args->env);
}

/* Clean an absolute path in place without looking at the file system
 * (symbolic links may differ between nodes): "//" and "/./" become "/",
 * "x/.." goes away, no trailing "/". */
static void normalize_path(char *path)
{
    char *out = path; /* path[0] is '/' */
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = p + strcspn(p, "/");
        size_t len = (size_t)(end - p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* nothing */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (out > path && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, p, len);
            out += len;
        }
        p = end;
    }
    if (out == path)
        *out++ = '/';
    *out = '\0';
}

/* --stdout/-o or --stderr/-e PATTERN (optarg): the job key of that name.
 * Returns 0, or -1 after a usage error. */
static int output_option(struct submit_args *args, const char *key)
{
    char opt[16];
    struct mps_error err;
    snprintf(opt, sizeof opt, "--%s", key);
    json_t *v = json_string(optarg);
    if (!v) {
        cli_usage_error("submit", "%s is not valid UTF-8", opt);
        return -1;
    }
    if (outpattern_check(opt, optarg, &err) < 0) {
        json_decref(v);
        cli_usage_error("submit", "%s", err.text);
        return -1;
    }
    json_object_set_new(args->overrides, key, v);
    return 0;
}

/* --env KEY=VALUE (optarg): added to the job's env; 0 or an exit code. */
static int env_option(struct submit_args *args)
{
    const char *eq = strchr(optarg, '=');
    if (!eq || eq == optarg)
        return cli_usage_error("submit", "--env needs KEY=VALUE, not '%s'",
                               optarg);
    if (!submitjob_valid_env_name(optarg, (size_t)(eq - optarg)))
        return cli_usage_error("submit",
                               "--env: '%.*s' is not a valid variable "
                               "name",
                               (int)(eq - optarg), optarg);
    json_t *v = json_string(eq + 1);
    char *name = strndup(optarg, (size_t)(eq - optarg));
    if (!v || !name) {
        json_decref(v);
        free(name);
        return cli_usage_error("submit",
                               "--env: the value of '%.*s' is not valid "
                               "UTF-8",
                               (int)(eq - optarg), optarg);
    }
    if (!args->env)
        args->env = json_object();
    json_object_set_new(args->env, name, v);
    free(name);
    return 0;
}

/* --cwd DIR (optarg), made absolute; 0 or an exit code. */
static int cwd_option(struct submit_args *args)
{
    char *abs = NULL;
    if (!*optarg)
        return cli_usage_error("submit", "--cwd needs a directory");
    if (optarg[0] == '/') {
        abs = strdup(optarg);
    } else {
        char *here = getcwd(NULL, 0);
        if (!here) {
            cli_error("cannot get the current directory: %s", strerror(errno));
            return 1;
        }
        if (asprintf(&abs, "%s/%s", here, optarg) < 0)
            abs = NULL;
        free(here);
    }
    if (abs)
        normalize_path(abs);
    json_t *v = abs ? json_string(abs) : NULL;
    free(abs);
    if (!v)
        return cli_usage_error("submit", "--cwd is not valid UTF-8");
    json_object_set_new(args->overrides, "cwd", v);
    return 0;
}

/* The dependency options of submit. */
enum {
    OPT_FAIL_FAST = 1200,
    OPT_AFTER,
    OPT_AFTER_ANY,
    OPT_AFTER_NOTOK,
    OPT_DEPENDENCY,
};

/* --fail-fast and the dependency options; returns 0 or an exit code. */
static int dependency_option(int c, const char *arg, struct submit_args *args)
{
    switch (c) {
    case OPT_FAIL_FAST:
        json_object_set_new(args->overrides, "fail_fast", json_true());
        return 0;
    case OPT_AFTER:
        return depends_add_ids(args->deps, "after", "--after", arg);
    case OPT_AFTER_ANY:
        return depends_add_ids(args->deps, "after_any", "--after-any", arg);
    case OPT_AFTER_NOTOK:
        return depends_add_ids(args->deps, "after_notok", "--after-notok", arg);
    default:
        return depends_add_slurm(args->deps, arg);
    }
}

/* Parse submit's options into args; returns -1 to go on, else an exit
 * code. */
static int submit_options(struct cli_cmdline *cl, struct submit_args *args)
{
    enum { OPT_RESUME_FAILED = 1100, OPT_INTERPRETER = 1130 };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, CLI_OPT_SPOOL},
        {"name", required_argument, NULL, CLI_OPT_NAME},
        {"cpus", required_argument, NULL, CLI_OPT_CPUS},
        {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},
        {"retries", required_argument, NULL, CLI_OPT_RETRIES},
        {"priority", required_argument, NULL, CLI_OPT_PRIORITY},
        {"env", required_argument, NULL, CLI_OPT_ENV},
        {"cwd", required_argument, NULL, CLI_OPT_CWD},
        {"tasks", required_argument, NULL, CLI_OPT_TASKS},
        {"archive", required_argument, NULL, CLI_OPT_ARCHIVE},
        {"resume-failed", required_argument, NULL, OPT_RESUME_FAILED},
        {"stdout", required_argument, NULL, 'o'},
        {"stderr", required_argument, NULL, 'e'},
        {"fail-fast", no_argument, NULL, OPT_FAIL_FAST},
        {"after", required_argument, NULL, OPT_AFTER},
        {"after-any", required_argument, NULL, OPT_AFTER_ANY},
        {"after-notok", required_argument, NULL, OPT_AFTER_NOTOK},
        {"dependency", required_argument, NULL, OPT_DEPENDENCY},
        {"interpreter", required_argument, NULL, OPT_INTERPRETER},
        {NULL, 0, NULL, 0},
    };
    cl->longopts = longopts;
    int c;
    while ((c = cli_cmdline_next(cl)) != -1) {
        json_int_t n = 0;
        double secs = 0;
        const char *key = NULL;
        switch (c) {
        case 'h':
            return cli_print_usage(submit_usage);
        case CLI_OPT_SPOOL:
            cl->spool = optarg;
            break;
        case CLI_OPT_NAME: {
            json_t *v = json_string(optarg);
            if (!v)
                return cli_usage_error("submit", "--name is not valid UTF-8");
            json_object_set_new(args->overrides, "name", v);
            break;
        }
        case CLI_OPT_CPUS:
            key = "cpus";
            /* fall through */
        case CLI_OPT_RETRIES:
            key = key ? key : "retries";
            /* fall through */
        case CLI_OPT_PRIORITY: {
            key = key ? key : "priority";
            char opt[32];
            snprintf(opt, sizeof opt, "--%s", key);
            if (cli_parse_int("submit", opt, optarg, &n))
                return 2;
            json_object_set_new(args->overrides, key, json_integer(n));
            break;
        }
        case CLI_OPT_TIMEOUT:
            if (cli_parse_seconds(optarg, &secs) < 0)
                return cli_usage_error("submit",
                                       "--timeout needs a number of seconds, "
                                       "not '%s'",
                                       optarg);
            json_object_set_new(args->overrides, "timeout", seconds_json(secs));
            break;
        case CLI_OPT_ENV:
        case CLI_OPT_CWD: {
            int rc = c == CLI_OPT_ENV ? env_option(args) : cwd_option(args);
            if (rc)
                return rc;
            break;
        }
        case CLI_OPT_TASKS:
            if (!*optarg)
                return cli_usage_error("submit", "--tasks needs a file");
            args->tasks = optarg;
            break;
        case CLI_OPT_ARCHIVE:
            if (!*optarg)
                return cli_usage_error("submit", "--archive needs a file");
            args->archive = optarg;
            break;
        case OPT_RESUME_FAILED:
            args->resume = optarg;
            break;
        case 'o':
        case 'e':
            if (output_option(args, c == 'o' ? "stdout" : "stderr") < 0)
                return 2;
            break;
        case OPT_FAIL_FAST:
        case OPT_AFTER:
        case OPT_AFTER_ANY:
        case OPT_AFTER_NOTOK:
        case OPT_DEPENDENCY: {
            int rc = dependency_option(c, optarg, args);
            if (rc)
                return rc;
            break;
        }
        case OPT_INTERPRETER: {
            json_t *v = *optarg ? json_string(optarg) : NULL;
            if (!v)
                return cli_usage_error(
                    "submit", "--interpreter needs a program (a name or "
                              "an absolute path)");
            json_object_set_new(args->overrides, "interpreter", v);
            break;
        }
        default:
            return cli_cmdline_error(cl, c);
        }
    }
    return -1;
}

/* Build the job from its source and the options; NULL after a message.
 * *job_path is the job file given, or NULL. */
static json_t *submit_build(struct cli_cmdline *cl, struct submit_args *args,
                            const char **job_path, int *rc)
{
    int before = cl->dashdash >= 0 ? cl->dashdash : cl->noperands;
    int after = cl->noperands - before;
    *job_path = NULL;
    *rc = 2;
    if (cl->dashdash >= 0 && after == 0) {
        cli_usage_error("submit", "'--' must be followed by a command");
        return NULL;
    }
    if (after > 0 && (before > 0 || args->tasks)) {
        cli_usage_error("submit", "give only one of JOB.json, --tasks FILE or "
                                  "-- COMMAND");
        return NULL;
    }
    if (before > 1) {
        cli_usage_error("submit",
                        "give one job file; to submit a command, put '--' "
                        "before it: mpispool submit -- %s ...",
                        cl->operands[0]);
        return NULL;
    }
    if (before == 0 && after == 0 && !args->tasks && !args->resume) {
        cli_usage_error("submit", "nothing to submit: give JOB.json, --tasks "
                                  "FILE or -- COMMAND [ARG...]");
        return NULL;
    }
    if (before == 1 && args->tasks && strcmp(cl->operands[0], "-") == 0 &&
        strcmp(args->tasks, "-") == 0) {
        cli_usage_error("submit", "the job file and the task file cannot both "
                                  "be standard input");
        return NULL;
    }
    if (after > 0 && argtasks_wanted(cl->operands + before, (size_t)after)) {
        if (args->resume) {
            cli_usage_error("submit",
                            "':::' cannot be combined with "
                            "--resume-failed: 'mpispool submit "
                            "--resume-failed JOBID' runs JOBID's failed "
                            "command lines again");
            return NULL;
        }
        if (!(args->at = argtasks_parse(cl->operands + before, (size_t)after)))
            return NULL;
        after = 0; /* no "command": the task file made from them */
    }
    *rc = 1;
    json_t *job;
    if (before == 1) {
        *job_path = cl->operands[0];
        if (!(job = submitjob_load(*job_path)))
            return NULL;
    } else {
        job = json_object();
        if (after > 0) {
            json_t *command = json_array();
            for (int i = before; i < cl->noperands; i++) {
                json_t *arg = json_string(cl->operands[i]);
                if (!arg) {
                    cli_error("argument '%s' is not valid UTF-8 (a job is "
                              "JSON text)",
                              cl->operands[i]);
                    json_decref(command);
                    json_decref(job);
                    return NULL;
                }
                json_array_append_new(command, arg);
            }
            json_object_set_new(job, "command", command);
        }
    }
    if (apply_overrides(job, args) < 0 || submitjob_add_keys(job) < 0) {
        json_decref(job);
        return NULL;
    }
    depends_apply(job, args->deps);
    return job;
}

/* Put the job file text into new/ under jobid; when someone took that
 * name first (the id was reserved, but anyone may drop a file in new/),
 * under a new id (jobid, len bytes, gets it). 0, or -1 after a message. */
static int submit_text(struct spool *sp, char *jobid, size_t len,
                       const char *text, size_t text_len)
{
    struct mps_error err;
    for (int tries = 0; tries < 16; tries++) {
        int rc = spool_submit(sp, jobid, text, text_len, spool_private_mode(sp),
                              &err);
        if (rc == 0)
            return 0;
        if (rc < 0 || spool_new_jobid(sp, jobid, len, &err) < 0)
            break;
    }
    cli_error("%s", err.text);
    return -1;
}

/* One submission on its way into the spool: what cmd_submit opens and
 * makes, freed in one place (submission_free). */
struct submission {
    struct submit_args args;
    struct spool *sp;
    json_t *job;
    const char *job_path;             /* the job file given, or NULL */
    FILE *tasks_in;                   /* the task file to copy, or NULL */
    char *tasks_src;                  /* its name for messages */
    uint64_t made;                    /* lines made from ':::' */
    char *data_path;                  /* the task file's copy in data/ */
    char *archive_src, *archive_path; /* the archive and its copy */
    int archive_fd;
    json_t *tasks_name;
    struct resume_plan resume;
};

/* A task file: from --tasks, the command lines made from ':::', or the
 * job file's task_file; validated with a stand-in first (refuse a bad
 * job before copying a large task file), then opened. 0 or -1. */
static int open_task_source(struct submission *s)
{
    json_t *job = s->job;
    json_t *tf = json_object_get(job, "task_file");
    bool has_tasks = s->args.tasks || s->args.at ||
                     (json_is_string(tf) && json_string_length(tf) > 0);
    if (s->args.at)
        s->tasks_src = strdup("the command lines made from ':::'");
    else if (s->args.tasks)
        s->tasks_src = strdup(s->args.tasks);
    else if (has_tasks)
        s->tasks_src = submitjob_relpath(s->job_path, json_string_value(tf));
    if (has_tasks && !s->tasks_src) {
        cli_error("out of memory");
        return -1;
    }
    if (s->tasks_src && s->tasks_name &&
        !json_object_get(job, "task_file_name"))
        json_object_set(job, "task_file_name", s->tasks_name);
    if (!s->tasks_src)
        return 0;
    json_object_set_new(job, "task_file", json_string("JOBID.tasks"));
    if (submitjob_validate(job, s->job_path) < 0)
        return -1;
    if (s->args.at) {
        char *dir = spool_file(s->sp, SPOOL_DATA, NULL);
        s->tasks_in = dir ? argtasks_write(s->args.at, dir, &s->made) : NULL;
        free(dir);
        return s->tasks_in ? 0 : -1;
    }
    if (strcmp(s->tasks_src, "-") == 0) {
        s->tasks_in = stdin;
    } else if (!(s->tasks_in = fopen(s->tasks_src, "re"))) {
        cli_error("cannot open task file '%s': %s", s->tasks_src,
                  strerror(errno));
        return -1;
    }
    return 0;
}

/* An archive: from --archive (relative to the current directory), or the
 * job file's archive (relative to the job file's directory, like
 * task_file); validated with a stand-in, then opened. 0 or -1. */
static int open_archive_source(struct submission *s)
{
    json_t *ar = json_object_get(s->job, "archive");
    bool in_job = json_is_string(ar) && json_string_length(ar) > 0;
    if (s->args.archive)
        s->archive_src = strdup(s->args.archive);
    else if (in_job)
        s->archive_src = submitjob_relpath(s->job_path ? s->job_path : "-",
                                           json_string_value(ar));
    if ((s->args.archive || in_job) && !s->archive_src) {
        cli_error("out of memory");
        return -1;
    }
    if (!s->archive_src)
        return 0;
    json_object_set_new(s->job, "archive", json_string("JOBID.archive"));
    if (submitjob_validate(s->job, s->job_path) < 0 ||
        (s->archive_fd = submitjob_open_archive(s->archive_src)) < 0)
        return -1;
    return 0;
}

/* Copy the task file and the archive into data/ under jobid and name the
 * copies in the job. 0 or -1. */
static int copy_inputs(struct submission *s, const char *jobid)
{
    if (s->tasks_src) {
        static char inbuf[1 << 20];
        uint64_t copied = 0;
        setvbuf(s->tasks_in, inbuf, _IOFBF, sizeof inbuf);
        if (submitjob_copy_tasks(s->sp, jobid, s->tasks_in, s->tasks_src,
                                 &s->data_path, &copied) < 0 ||
            submitjob_check_outputs(s->job, copied) < 0)
            return -1;
        if (s->args.at && copied != s->made) {
            cli_error("%" PRIu64 " command lines were made, but their task "
                      "file reads as %" PRIu64 " tasks",
                      s->made, copied);
            return -1;
        }
        json_object_set_new(s->job, "task_file",
                            json_string(strrchr(s->data_path, '/') + 1));
        if (submitjob_validate(s->job, s->job_path) < 0)
            return -1;
    }
    if (s->archive_src) {
        if (submitjob_copy_archive(s->sp, jobid, s->archive_fd, s->archive_src,
                                   &s->archive_path) < 0)
            return -1;
        json_object_set_new(s->job, "archive",
                            json_string(strrchr(s->archive_path, '/') + 1));
    }
    return 0;
}

/* Validate, copy the inputs, queue the job and print its id. 0 or -1. */
static int submit_queue(struct submission *s)
{
    struct mps_error err;
    char jobid[64];
    if (submitjob_validate(s->job, s->job_path) < 0 ||
        depends_check(s->sp, s->job) != 0)
        return -1;
    if (spool_new_jobid(s->sp, jobid, sizeof jobid, &err) < 0) {
        cli_error("%s", err.text);
        return -1;
    }
    if (copy_inputs(s, jobid) < 0)
        return -1;
    size_t len;
    char *text = submitjob_text(s->job, &len);
    if (!text) {
        cli_error("out of memory");
        return -1;
    }
    int rc = submit_text(s->sp, jobid, sizeof jobid, text, len);
    free(text);
    if (rc < 0)
        return -1;
    free(s->data_path); /* submitted: the copies stay */
    s->data_path = NULL;
    free(s->archive_path);
    s->archive_path = NULL;
    printf("%s\n", jobid);
    return 0;
}

/* Free what s holds; copies in data/ that were not submitted go. */
static void submission_free(struct submission *s)
{
    if (s->data_path)
        unlink(s->data_path);
    if (s->archive_path)
        unlink(s->archive_path);
    free(s->archive_path);
    free(s->archive_src);
    if (s->archive_fd >= 0)
        close(s->archive_fd);
    if (s->tasks_in && s->tasks_in != stdin)
        fclose(s->tasks_in);
    free(s->data_path);
    free(s->tasks_src);
    json_decref(s->job);
    json_decref(s->tasks_name);
    json_decref(s->args.overrides);
    json_decref(s->args.deps);
    json_decref(s->args.env);
    argtasks_free(s->args.at);
    resume_plan_free(&s->resume);
    spool_close(s->sp);
}

int cmd_submit(int argc, char **argv, const char *spool)
{
    struct cli_cmdline cl;
    if (cli_cmdline_init(&cl, "submit", argc, argv, "+:ho:e:", NULL, spool) < 0)
        return 1;
    struct submission s = {
        .args = {.overrides = json_object(), .deps = json_object()},
        .archive_fd = -1};
    int rc = submit_options(&cl, &s.args);
    if (rc >= 0)
        goto out;
    if ((rc = cli_open_spool(&cl, &s.sp)) != 0)
        goto out;
    if (!(s.job = submit_build(&cl, &s.args, &s.job_path, &rc)))
        goto out;
    rc = 1;
    s.tasks_name = submitjob_task_file_name(s.args.tasks, s.job);
    if (s.args.resume &&
        (rc = resume_failed_prepare(s.sp, s.args.resume, s.job, s.job_path,
                                    &s.args.tasks, &s.args.archive, &s.resume)))
        goto out;
    rc = 1;
    if (open_task_source(&s) < 0 || open_archive_source(&s) < 0 ||
        submit_queue(&s) < 0)
        goto out;
    rc = 0;
out:
    submission_free(&s);
    cli_cmdline_free(&cl);
    return rc;
}
