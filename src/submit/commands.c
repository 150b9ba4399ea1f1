/* SPDX-License-Identifier: MIT */
/* The mpispool CLI's commands: init, submit, status, wait and report. */
#include "commands.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argtasks.h"
#include "asuser.h"
#include "error.h"
#include "jobfile.h"
#include "jobreport.h"
#include "outpattern.h"
#include "resume.h"
#include "progress.h"
#include "depends.h"
#include "spool.h"
#include "taskfile.h"
#include "util.h"

extern char **environ;

/* Long options without a short form. */
enum {
    OPT_SPOOL = 256,
    OPT_NAME,
    OPT_CPUS,
    OPT_TIMEOUT,
    OPT_RETRIES,
    OPT_PRIORITY,
    OPT_ENV,
    OPT_CWD,
    OPT_TASKS,
    OPT_ARCHIVE,
    OPT_JSON,
    OPT_QUIET,
};

/* ------------------------------------------------------------ messages */

void error_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "mpispool: MESSAGE" on stderr. */
void error_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mpispool: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A usage error of command cmd: message, hint, exit code 2. */
int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mpispool: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'mpispool %s --help'.\n", cmd);
    va_end(ap);
    return 2;
}

static int print_usage(const char *text)
{
    fputs(text, stdout);
    return 0;
}

/* ------------------------------------------------------------ arguments */

int cmdline_init(struct cmdline *cl, const char *cmd, int argc, char **argv,
                 const char *shortopts, const struct option *longopts,
                 const char *spool)
{
    *cl = (struct cmdline){.cmd = cmd,
                           .argc = argc,
                           .argv = argv,
                           .shortopts = shortopts,
                           .longopts = longopts,
                           .spool = spool,
                           .dashdash = -1};
    cl->operands = calloc((size_t)argc + 1, sizeof *cl->operands);
    if (!cl->operands) {
        error_msg("out of memory");
        return -1;
    }
    opterr = 0;
    optind = 0;
    return 0;
}

void cmdline_free(struct cmdline *cl)
{
    free(cl->operands);
    cl->operands = NULL;
}

/* The next option (as getopt_long returns it), or -1 when all arguments
 * are scanned; operands are collected on the way. */
int cmdline_next(struct cmdline *cl)
{
    for (;;) {
        int before = optind == 0 ? 1 : optind;
        if (before >= cl->argc)
            return -1;
        cl->current = before;
        int c =
            getopt_long(cl->argc, cl->argv, cl->shortopts, cl->longopts, NULL);
        if (c != -1)
            return c;
        if (optind == before + 1 && strcmp(cl->argv[before], "--") == 0) {
            cl->dashdash = cl->noperands;
            while (optind < cl->argc)
                cl->operands[cl->noperands++] = cl->argv[optind++];
            return -1;
        }
        if (optind >= cl->argc)
            return -1;
        cl->operands[cl->noperands++] = cl->argv[optind++];
    }
}

/* A usage error for what getopt_long returned ('?' or ':'). */
int cmdline_error(const struct cmdline *cl, int c)
{
    const char *arg = cl->current < cl->argc ? cl->argv[cl->current] : "";
    char name[64];
    if (strncmp(arg, "--", 2) == 0)
        snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
    else
        snprintf(name, sizeof name, "-%c", optopt ? optopt : '?');
    if (c == ':')
        return usage_error(cl->cmd, "option '%s' needs a value", name);
    if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') && optopt)
        return usage_error(cl->cmd, "option '%s' takes no value", name);
    return usage_error(cl->cmd, "unknown option '%s'", name);
}

/* The spool's path: --spool, else $MPISPOOL_SPOOL, else a usage error. */
static const char *spool_arg(const struct cmdline *cl)
{
    if (cl->spool && *cl->spool)
        return cl->spool;
    const char *env = getenv("MPISPOOL_SPOOL");
    if (env && *env)
        return env;
    return NULL;
}

/* Open the spool; returns an exit code (0, 1 or 2). */
int open_spool(const struct cmdline *cl, struct spool **sp)
{
    const char *path = spool_arg(cl);
    if (!path) {
        error_msg("no spool given: use --spool DIR or set MPISPOOL_SPOOL");
        return 2;
    }
    struct mps_error err;
    *sp = spool_open(path, &err);
    if (!*sp) {
        error_msg("%s", err.text);
        return 1;
    }
    return 0;
}

/* Parse an int option value; a usage error unless it is one. */
static int parse_int_opt(const char *cmd, const char *opt, const char *text,
                         json_int_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < INT_MIN || v > INT_MAX)
        return usage_error(cmd, "%s needs an integer, not '%s'", opt, text);
    *out = (json_int_t)v;
    return 0;
}

/* Parse seconds (an integer or a decimal number). */
int parse_seconds(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Seconds as a JSON number: an integer when it is one. */
static json_t *seconds_json(double secs)
{
    if (secs == floor(secs) && fabs(secs) < 1e15)
        return json_integer((json_int_t)secs);
    return json_real(secs);
}

/* ------------------------------------------------------------ helpers */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool valid_env_name(const char *s, size_t len)
{
    if (len == 0 || !((s[0] >= 'A' && s[0] <= 'Z') ||
                      (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* The number of *.json files in a spool directory, or -1 if it cannot be
 * listed (new/ is mode 1733: only its owner and root may list it). */
long count_json(const struct spool *sp, enum spool_dir dir)
{
    char *path = spool_file(sp, dir, NULL);
    DIR *d = path ? opendir(path) : NULL;
    free(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && ends_with(de->d_name, ".json"))
            n++;
    closedir(d);
    return n;
}

/* A time in local time, "2026-11-24 10:00:01", or the text as is. */
static const char *local_time(const char *text, char *buf, size_t len)
{
    int64_t us;
    if (util_parse_time(text, &us) < 0)
        return text ? text : "-";
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    localtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm);
    return buf;
}

/* A duration: "4.2s", "3m 07s", "2h 05m 09s", "3d 04h 05m". */
const char *format_duration(double secs, char *buf, size_t len)
{
    if (secs < 0)
        secs = 0;
    if (secs < 60) {
        snprintf(buf, len, "%.2fs", secs);
        return buf;
    }
    unsigned long long s = (unsigned long long)(secs + 0.5);
    if (s < 3600)
        snprintf(buf, len, "%llum %02llus", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%lluh %02llum %02llus", s / 3600, s / 60 % 60,
                 s % 60);
    else
        snprintf(buf, len, "%llud %02lluh %02llum", s / 86400, s / 3600 % 24,
                 s / 60 % 60);
    return buf;
}

/* A JSON object's member as text: strings as they are, integers in
 * decimal, anything else (or absent) as "-". */
const char *member_text(json_t *obj, const char *key, char *buf, size_t len)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        snprintf(buf, len, "%g", json_real_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return "-";
}

json_int_t member_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* ------------------------------------------------------------ tables */

/* Columns of text, aligned on output (width counted in UTF-8 characters). */
#define TABLE_MAX_COLS 10

struct table {
    size_t ncols;
    const char *heads[TABLE_MAX_COLS];
    unsigned right; /* bit i: column i is right-aligned (numbers) */
    size_t limit[TABLE_MAX_COLS]; /* cut longer cells; 0: no limit */
    char **cells;                 /* nrows * ncols */
    size_t nrows, cap;
};

static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* Copy s for a table cell: control characters become '?', and text
 * longer than max characters is cut, ending in "...". */
static char *cell_text(const char *s, size_t max)
{
    size_t len = strlen(s);
    size_t keep = text_width(s) <= max ? SIZE_MAX : (max > 3 ? max - 3 : 0);
    char *out = malloc(len + 4);
    if (!out)
        return NULL;
    size_t n = 0, chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80 && chars++ == keep) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[n] = '\0';
    return out;
}

static void table_init(struct table *t, size_t ncols, const char *const *heads,
                       unsigned right)
{
    *t = (struct table){.ncols = ncols, .right = right};
    for (size_t i = 0; i < ncols && i < TABLE_MAX_COLS; i++)
        t->heads[i] = heads[i];
}

/* Add a row of ncols strings (copied). */
static int table_add(struct table *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, cap * t->ncols * sizeof *cells);
        if (!cells)
            return -1;
        t->cells = cells;
        t->cap = cap;
    }
    char **cells = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        cells[i] = cell_text(row[i] ? row[i] : "-",
                             t->limit[i] ? t->limit[i] : SIZE_MAX);
        if (!cells[i]) {
            while (i-- > 0)
                free(cells[i]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

static void print_cell(FILE *out, const char *s, size_t width, bool right,
                       bool last)
{
    size_t pad = width - text_width(s);
    if (right)
        fprintf(out, "%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, out);
    else
        fprintf(out, "%s%*s", s, (int)pad, "");
}

static void table_print(const struct table *t, FILE *out, const char *indent)
{
    size_t width[TABLE_MAX_COLS];
    for (size_t c = 0; c < t->ncols; c++) {
        width[c] = text_width(t->heads[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        fputs(indent, out);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s =
                r == 0 ? t->heads[c] : t->cells[(r - 1) * t->ncols + c];
            if (c > 0)
                fputs(" ", out);
            print_cell(out, s, width[c], (t->right >> c) & 1,
                       c + 1 == t->ncols);
        }
        fputc('\n', out);
    }
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* ------------------------------------------------------------ init */

static const char init_usage[] =
    "Usage: mpispool init [DIR]\n"
    "\n"
    "Create a spool directory: DIR (or --spool DIR, or $MPISPOOL_SPOOL) and\n"
    "its subdirectories tmp/ new/ cur/ done/ failed/ rejected/ cancel/ out/\n"
    "journal/ status/ data/ drain/ ids/, owned by you (the spool's\n"
    "administrator; root for a spool shared by a lab). Parents are created\n"
    "as needed. tmp/, new/, cancel/, data/ and ids/ get mode 1733 (anyone\n"
    "may drop a file in, nobody may list them, only a file's owner may\n"
    "rename or remove it), like cron's spool; the others, drain/ too (only\n"
    "the administrator drains), 0755. Running init on an existing spool is\n"
    "safe: what is there is kept, missing parts are added and modes set.\n"
    "\n"
    "Options:\n"
    "      --spool DIR       the spool, when DIR is not given\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 the spool is ready, 1 it cannot be created, 2 usage "
    "error.\n"
    "\n"
    "Examples:\n"
    "  mpispool init ~/spool\n"
    "  MPISPOOL_SPOOL=/scratch/$USER/spool mpispool init\n";

int cmd_init(int argc, char **argv, const char *spool)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {NULL, 0, NULL, 0},
    };
    struct cmdline cl;
    if (cmdline_init(&cl, "init", argc, argv, "+:h", longopts, spool) < 0)
        return 1;
    int c, rc = 0;
    while ((c = cmdline_next(&cl)) != -1) {
        switch (c) {
        case 'h':
            cmdline_free(&cl);
            return print_usage(init_usage);
        case OPT_SPOOL:
            cl.spool = optarg;
            break;
        default:
            rc = cmdline_error(&cl, c);
            cmdline_free(&cl);
            return rc;
        }
    }
    const char *path = NULL;
    if (cl.noperands > 1) {
        rc = usage_error("init", "too many arguments: give one directory");
        goto out;
    }
    if (cl.noperands == 1) {
        path = cl.operands[0];
        if (!*path) {
            rc = usage_error("init", "the spool directory is an empty string");
            goto out;
        }
    } else if (!(path = spool_arg(&cl))) {
        rc = usage_error("init", "no spool given: use 'mpispool init DIR', "
                                 "--spool DIR or set MPISPOOL_SPOOL");
        goto out;
    }
    struct mps_error err;
    if (spool_init(path, &err) < 0) {
        error_msg("%s", err.text);
        rc = 1;
        goto out;
    }
    char real[PATH_MAX];
    if (!realpath(path, real))
        snprintf(real, sizeof real, "%s", path);
    fprintf(stderr, "initialized spool '%s'\n", real);
out:
    cmdline_free(&cl);
    return rc;
}

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

/* The submitter's environment as an object; entries that are not valid
 * UTF-8 or whose names are no valid variable names are left out. */
static json_t *environment_json(void)
{
    json_t *env = json_object();
    if (!env)
        return NULL;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || !valid_env_name(*e, (size_t)(eq - *e)))
            continue;
        char *name = strndup(*e, (size_t)(eq - *e));
        if (!name) {
            json_decref(env);
            return NULL;
        }
        json_t *value = json_string(eq + 1); /* NULL unless UTF-8 */
        if (value && !json_object_get(env, name))
            json_object_set_new(env, name, value);
        else
            json_decref(value);
        free(name);
    }
    return env;
}

/* Read all of a stream (a job file from stdin), at most max bytes. */
static char *read_stream(FILE *in, size_t max, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return NULL;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(buf);
                errno = EFBIG;
                return NULL;
            }
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, in);
        n += got;
        if (got == 0) {
            if (ferror(in)) {
                int saved = errno ? errno : EIO;
                free(buf);
                errno = saved;
                return NULL;
            }
            break;
        }
    }
    if (n > max) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Load a job file (path or "-") as a JSON object. */
static json_t *load_job_file(const char *path)
{
    size_t len = 0;
    char *text;
    struct mps_error err;
    if (strcmp(path, "-") == 0) {
        text = read_stream(stdin, JOBFILE_MAX_BYTES, &len);
        if (!text) {
            error_msg("cannot read the job file from standard input: %s",
                      strerror(errno));
            return NULL;
        }
    } else {
        text = util_read_file(path, JOBFILE_MAX_BYTES, &len, &err);
        if (!text) {
            error_msg("%s", err.text);
            return NULL;
        }
    }
    json_error_t jerr;
    json_t *job = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!job) {
        error_msg("invalid job file '%s': invalid JSON at line %d, column "
                  "%d: %s",
                  path, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(job)) {
        error_msg("invalid job file '%s': a job file must be a JSON object",
                  path);
        json_decref(job);
        return NULL;
    }
    return job;
}

/* The job's JSON text, as it goes into the spool. */
static char *job_text(json_t *job, size_t *len)
{
    char *text = json_dumps(job, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *out = realloc(text, n + 2);
    if (!out) {
        free(text);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    *len = n + 1;
    return out;
}

/* Validate the job as a coordinator will; 0 or -1 with a message naming
 * the job file (job_path, or NULL for a job made from the options). */
static int validate_job(json_t *job, const char *job_path)
{
    size_t len;
    char *text = job_text(job, &len);
    if (!text) {
        error_msg("out of memory");
        return -1;
    }
    struct mps_error err;
    struct jobspec *spec = jobfile_parse(text, len, &err);
    free(text);
    if (!spec) {
        if (!job_path)
            error_msg("invalid job: %s", err.text);
        else if (strcmp(job_path, "-") == 0)
            error_msg("invalid job file (standard input): %s", err.text);
        else
            error_msg("invalid job file '%s': %s", job_path, err.text);
        return -1;
    }
    jobspec_destroy(spec);
    return 0;
}

/* Where a job file's relative task_file is: beside the job file. */
static char *task_file_path(const char *job_path, const char *task_file)
{
    char *out;
    if (task_file[0] == '/' || strcmp(job_path, "-") == 0 ||
        !strchr(job_path, '/'))
        return strdup(task_file);
    const char *slash = strrchr(job_path, '/');
    if (asprintf(&out, "%.*s/%s", (int)(slash - job_path), job_path,
                 task_file) < 0)
        return NULL;
    return out;
}

/* The base name of the task file the user gave (--tasks FILE, else the
 * job file's task_file), as disBatch names it in DISBATCH_NAMETASKS:
 * "stdin" for standard input. NULL when none was given. */
static json_t *task_file_name(const char *tasks_opt, json_t *job)
{
    json_t *tf = json_object_get(job, "task_file");
    const char *given = tasks_opt ? tasks_opt : json_string_value(tf);
    if (!given || !*given)
        return NULL;
    if (strcmp(given, "-") == 0)
        return json_string("stdin");
    const char *slash = strrchr(given, '/');
    return json_string(slash && slash[1] ? slash + 1 : given);
}

/* Start a copy for data/JOBID.EXT: a fresh file data/JOBID.EXT.XXXXXX of
 * mode (spool_private_mode: the copies hold the submitter's inputs),
 * whose name goes to *tmp. The descriptor, or -1 after a message. */
static int data_copy_start(struct spool *sp, const char *jobid, const char *ext,
                           char **tmp)
{
    char name[160];
    snprintf(name, sizeof name, "%s.%s.XXXXXX", jobid, ext);
    *tmp = spool_file(sp, SPOOL_DATA, name);
    if (!*tmp) {
        error_msg("out of memory");
        return -1;
    }
    int fd = mkostemp(*tmp, O_CLOEXEC);
    if (fd < 0 || fchmod(fd, spool_private_mode(sp)) < 0) {
        error_msg("cannot create '%s': %s", *tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(*tmp);
        }
        free(*tmp);
        *tmp = NULL;
        return -1;
    }
    return fd;
}

/* The copy at tmp is complete: name it data/JOBID.EXT, or where someone
 * took that name, keep tmp's (the job file names the copy, whatever its
 * name). *data_path gets the path; tmp is taken over. 0, or -1 after a
 * message. */
static int data_copy_finish(struct spool *sp, const char *jobid,
                            const char *ext, char *tmp, char **data_path)
{
    char stem[128];
    snprintf(stem, sizeof stem, "%s.%s", jobid, ext);
    char *dst = spool_file(sp, SPOOL_DATA, stem);
    char *dir = spool_file(sp, SPOOL_DATA, NULL);
    int rc = 0;
    if (!dst || !dir) {
        error_msg("out of memory");
        rc = -1;
    } else if (util_rename_noreplace(AT_FDCWD, tmp, AT_FDCWD, dst) == 0) {
        *data_path = dst;
        dst = NULL;
    } else if (errno == EEXIST) {
        *data_path = tmp;
        tmp = NULL;
    } else {
        error_msg("cannot rename '%s' to '%s': %s", tmp, dst, strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        util_fsync_dir(dir);
    if (tmp)
        unlink(tmp);
    free(tmp);
    free(dst);
    free(dir);
    return rc;
}

/* Copy the task file src ("-": stdin) to data/JOBID.tasks; *data_path
 * gets the copy's path, *ntasks its number of tasks. Returns 0 or -1 with
 * a message. */
static int copy_task_file(struct spool *sp, const char *jobid, FILE *in,
                          const char *src, char **data_path, uint64_t *ntasks)
{
    const char *name = strcmp(src, "-") == 0 ? "standard input" : src;
    char *tmp = NULL;
    char *outbuf = NULL;
    int fd = data_copy_start(sp, jobid, "tasks", &tmp);
    if (fd < 0)
        return -1;
    FILE *out = fdopen(fd, "w");
    if (!out) {
        error_msg("cannot create '%s': %s", tmp, strerror(errno));
        close(fd);
        goto fail;
    }
    outbuf = malloc(1 << 20);
    if (outbuf)
        setvbuf(out, outbuf, _IOFBF, 1 << 20);
    struct mps_error err;
    if (taskfile_copy_count(in, out, name, ntasks, &err) < 0) {
        error_msg("%s", err.text);
        goto fail;
    }
    if (*ntasks == 0) {
        error_msg("no tasks in '%s'", name);
        goto fail;
    }
    if (fflush(out) != 0 || fsync(fileno(out)) < 0) {
        error_msg("cannot write '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    int closed = fclose(out);
    out = NULL;
    free(outbuf);
    if (closed != 0) {
        error_msg("cannot write '%s': %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    return data_copy_finish(sp, jobid, "tasks", tmp, data_path);
fail:
    if (out)
        fclose(out);
    free(outbuf);
    unlink(tmp);
    free(tmp);
    return -1;
}

/* A task file of ntasks tasks cannot copy every task's output to one
 * file: a "stdout"/"stderr" pattern needs %t. 0, or -1 after a message. */
static int check_output_tasks(json_t *job, uint64_t ntasks)
{
    const char *keys[] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        const char *pattern = json_string_value(json_object_get(job, keys[i]));
        struct mps_error err;
        if (pattern &&
            outpattern_check_tasks(keys[i], pattern, ntasks, &err) < 0) {
            error_msg("invalid job: %s", err.text);
            return -1;
        }
    }
    return 0;
}

/* Copy the archive open at in_fd (named src) to data/JOBID.archive,
 * fsync'd; *data_path gets the copy's path. Returns 0 or -1 with a
 * message. */
static int copy_archive(struct spool *sp, const char *jobid, int in_fd,
                        const char *src, char **data_path)
{
    char *tmp = NULL;
    char *buf = malloc(1 << 20);
    int fd = buf ? data_copy_start(sp, jobid, "archive", &tmp) : -1;
    if (!buf)
        error_msg("out of memory");
    if (fd < 0) {
        free(buf);
        return -1;
    }
    for (;;) {
        ssize_t got = util_read_all(in_fd, buf, 1 << 20);
        if (got < 0) {
            error_msg("cannot read archive '%s': %s", src, strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        if (util_write_all(fd, buf, (size_t)got) < 0) {
            error_msg("cannot write '%s': %s", tmp, strerror(errno));
            goto fail;
        }
    }
    free(buf);
    buf = NULL;
    if (fsync(fd) < 0) {
        error_msg("cannot write '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    int closed = close(fd);
    fd = -1;
    if (closed < 0) {
        error_msg("cannot write '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    return data_copy_finish(sp, jobid, "archive", tmp, data_path);
fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    unlink(tmp);
    free(tmp);
    return -1;
}

/* Open an archive to submit; a missing one is a clear error. Returns the
 * descriptor or -1 after a message. */
static int open_archive(const char *src)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        if (errno == ENOENT)
            error_msg("archive '%s' not found", src);
        else
            error_msg("cannot open archive '%s': %s", src, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        error_msg("archive '%s' is not a regular file", src);
        close(fd);
        return -1;
    }
    return fd;
}

/* Add the submit_* keys that the job does not have yet. */
static int add_submit_keys(json_t *job)
{
    if (!json_object_get(job, "submit_dir")) {
        char *cwd = getcwd(NULL, 0);
        if (!cwd) {
            error_msg("cannot get the current directory: %s", strerror(errno));
            return -1;
        }
        json_t *v = json_string(cwd);
        free(cwd);
        if (!v) {
            error_msg("the current directory is not valid UTF-8");
            return -1;
        }
        json_object_set_new(job, "submit_dir", v);
    }
    if (!json_object_get(job, "submit_env")) {
        json_t *env = environment_json();
        if (!env) {
            error_msg("out of memory");
            return -1;
        }
        json_object_set_new(job, "submit_env", env);
    }
    if (!json_object_get(job, "submit_host")) {
        char host[256];
        json_t *v = json_string(util_hostname(host, sizeof host));
        json_object_set_new(job, "submit_host",
                            v ? v : json_string("localhost"));
    }
    if (!json_object_get(job, "submit_time")) {
        char now[UTIL_TIME_LEN];
        json_object_set_new(job, "submit_time",
                            json_string(util_format_time(util_now_us(), now)));
    }
    if (!json_object_get(job, "submit_umask")) {
        /* For the stdout/stderr copies (umask can only be read by setting
         * it). */
        mode_t mask = umask(022);
        umask(mask);
        char text[8];
        snprintf(text, sizeof text, "%04o", (unsigned)mask & 0777);
        json_object_set_new(job, "submit_umask", json_string(text));
    }
    return 0;
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
        usage_error("submit", "%s is not valid UTF-8", opt);
        return -1;
    }
    if (outpattern_check(opt, optarg, &err) < 0) {
        json_decref(v);
        usage_error("submit", "%s", err.text);
        return -1;
    }
    json_object_set_new(args->overrides, key, v);
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
static int submit_options(struct cmdline *cl, struct submit_args *args)
{
    enum { OPT_RESUME_FAILED = 1100, OPT_INTERPRETER = 1130 };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"name", required_argument, NULL, OPT_NAME},
        {"cpus", required_argument, NULL, OPT_CPUS},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"priority", required_argument, NULL, OPT_PRIORITY},
        {"env", required_argument, NULL, OPT_ENV},
        {"cwd", required_argument, NULL, OPT_CWD},
        {"tasks", required_argument, NULL, OPT_TASKS},
        {"archive", required_argument, NULL, OPT_ARCHIVE},
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
    while ((c = cmdline_next(cl)) != -1) {
        json_int_t n = 0;
        double secs = 0;
        const char *key = NULL;
        switch (c) {
        case 'h':
            return print_usage(submit_usage);
        case OPT_SPOOL:
            cl->spool = optarg;
            break;
        case OPT_NAME: {
            json_t *v = json_string(optarg);
            if (!v)
                return usage_error("submit", "--name is not valid UTF-8");
            json_object_set_new(args->overrides, "name", v);
            break;
        }
        case OPT_CPUS:
            key = "cpus";
            /* fall through */
        case OPT_RETRIES:
            key = key ? key : "retries";
            /* fall through */
        case OPT_PRIORITY: {
            key = key ? key : "priority";
            char opt[32];
            snprintf(opt, sizeof opt, "--%s", key);
            if (parse_int_opt("submit", opt, optarg, &n))
                return 2;
            json_object_set_new(args->overrides, key, json_integer(n));
            break;
        }
        case OPT_TIMEOUT:
            if (parse_seconds(optarg, &secs) < 0)
                return usage_error("submit",
                                   "--timeout needs a number of seconds, "
                                   "not '%s'",
                                   optarg);
            json_object_set_new(args->overrides, "timeout", seconds_json(secs));
            break;
        case OPT_ENV: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                return usage_error("submit", "--env needs KEY=VALUE, not '%s'",
                                   optarg);
            if (!valid_env_name(optarg, (size_t)(eq - optarg)))
                return usage_error("submit",
                                   "--env: '%.*s' is not a valid variable "
                                   "name",
                                   (int)(eq - optarg), optarg);
            json_t *v = json_string(eq + 1);
            char *name = strndup(optarg, (size_t)(eq - optarg));
            if (!v || !name) {
                json_decref(v);
                free(name);
                return usage_error("submit",
                                   "--env: the value of '%.*s' is not valid "
                                   "UTF-8",
                                   (int)(eq - optarg), optarg);
            }
            if (!args->env)
                args->env = json_object();
            json_object_set_new(args->env, name, v);
            free(name);
            break;
        }
        case OPT_CWD: {
            char *abs = NULL;
            if (!*optarg)
                return usage_error("submit", "--cwd needs a directory");
            if (optarg[0] == '/') {
                abs = strdup(optarg);
            } else {
                char *here = getcwd(NULL, 0);
                if (!here) {
                    error_msg("cannot get the current directory: %s",
                              strerror(errno));
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
                return usage_error("submit", "--cwd is not valid UTF-8");
            json_object_set_new(args->overrides, "cwd", v);
            break;
        }
        case OPT_TASKS:
            if (!*optarg)
                return usage_error("submit", "--tasks needs a file");
            args->tasks = optarg;
            break;
        case OPT_ARCHIVE:
            if (!*optarg)
                return usage_error("submit", "--archive needs a file");
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
                return usage_error("submit",
                                   "--interpreter needs a program (a name or "
                                   "an absolute path)");
            json_object_set_new(args->overrides, "interpreter", v);
            break;
        }
        default:
            return cmdline_error(cl, c);
        }
    }
    return -1;
}

/* Build the job from its source and the options; NULL after a message.
 * *job_path is the job file given, or NULL. */
static json_t *submit_build(struct cmdline *cl, struct submit_args *args,
                            const char **job_path, int *rc)
{
    int before = cl->dashdash >= 0 ? cl->dashdash : cl->noperands;
    int after = cl->noperands - before;
    *job_path = NULL;
    *rc = 2;
    if (cl->dashdash >= 0 && after == 0) {
        usage_error("submit", "'--' must be followed by a command");
        return NULL;
    }
    if (after > 0 && (before > 0 || args->tasks)) {
        usage_error("submit", "give only one of JOB.json, --tasks FILE or "
                              "-- COMMAND");
        return NULL;
    }
    if (before > 1) {
        usage_error("submit",
                    "give one job file; to submit a command, put '--' "
                    "before it: mpispool submit -- %s ...",
                    cl->operands[0]);
        return NULL;
    }
    if (before == 0 && after == 0 && !args->tasks && !args->resume) {
        usage_error("submit", "nothing to submit: give JOB.json, --tasks "
                              "FILE or -- COMMAND [ARG...]");
        return NULL;
    }
    if (before == 1 && args->tasks && strcmp(cl->operands[0], "-") == 0 &&
        strcmp(args->tasks, "-") == 0) {
        usage_error("submit", "the job file and the task file cannot both "
                              "be standard input");
        return NULL;
    }
    if (after > 0 && argtasks_wanted(cl->operands + before, (size_t)after)) {
        if (args->resume) {
            usage_error("submit", "':::' cannot be combined with "
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
        if (!(job = load_job_file(*job_path)))
            return NULL;
    } else {
        job = json_object();
        if (after > 0) {
            json_t *command = json_array();
            for (int i = before; i < cl->noperands; i++) {
                json_t *arg = json_string(cl->operands[i]);
                if (!arg) {
                    error_msg("argument '%s' is not valid UTF-8 (a job is "
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
    if (apply_overrides(job, args) < 0 || add_submit_keys(job) < 0) {
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
    error_msg("%s", err.text);
    return -1;
}

int cmd_submit(int argc, char **argv, const char *spool)
{
    struct cmdline cl;
    if (cmdline_init(&cl, "submit", argc, argv, "+:ho:e:", NULL, spool) < 0)
        return 1;
    struct submit_args args = {.overrides = json_object(),
                               .deps = json_object()};
    struct spool *sp = NULL;
    json_t *job = NULL;
    FILE *tasks_in = NULL;
    char *tasks_src = NULL, *data_path = NULL, *text = NULL;
    char *archive_src = NULL, *archive_path = NULL;
    int archive_fd = -1;
    const char *job_path = NULL;
    json_t *tasks_name = NULL;
    struct resume_plan resume = {0};
    int rc = submit_options(&cl, &args);
    if (rc >= 0)
        goto out;
    if ((rc = open_spool(&cl, &sp)) != 0)
        goto out;
    if (!(job = submit_build(&cl, &args, &job_path, &rc)))
        goto out;
    rc = 1;
    tasks_name = task_file_name(args.tasks, job);
    if (args.resume &&
        (rc = resume_failed_prepare(sp, args.resume, job, job_path, &args.tasks,
                                    &args.archive, &resume)))
        goto out;
    rc = 1;

    /* A task file: from --tasks, or the job file's task_file. */
    json_t *tf = json_object_get(job, "task_file");
    bool has_tasks = args.tasks || args.at ||
                     (json_is_string(tf) && json_string_length(tf) > 0);
    uint64_t made = 0, copied = 0;
    if (args.at)
        tasks_src = strdup("the command lines made from ':::'");
    else if (args.tasks)
        tasks_src = strdup(args.tasks);
    else if (has_tasks)
        tasks_src = task_file_path(job_path, json_string_value(tf));
    if (has_tasks && !tasks_src) {
        error_msg("out of memory");
        goto out;
    }
    if (tasks_src && tasks_name && !json_object_get(job, "task_file_name"))
        json_object_set(job, "task_file_name", tasks_name);
    if (tasks_src) {
        /* Validate with a stand-in first: refuse a bad job before copying
         * a large task file. */
        json_object_set_new(job, "task_file", json_string("JOBID.tasks"));
        if (validate_job(job, job_path) < 0)
            goto out;
        if (args.at) {
            char *dir = spool_file(sp, SPOOL_DATA, NULL);
            tasks_in = dir ? argtasks_write(args.at, dir, &made) : NULL;
            free(dir);
            if (!tasks_in)
                goto out;
        } else if (strcmp(tasks_src, "-") == 0) {
            tasks_in = stdin;
        } else if (!(tasks_in = fopen(tasks_src, "re"))) {
            error_msg("cannot open task file '%s': %s", tasks_src,
                      strerror(errno));
            goto out;
        }
    }

    /* An archive: from --archive (relative to the current directory), or
     * the job file's archive (relative to the job file's directory, like
     * task_file). */
    json_t *ar = json_object_get(job, "archive");
    if (args.archive)
        archive_src = strdup(args.archive);
    else if (json_is_string(ar) && json_string_length(ar) > 0)
        archive_src =
            task_file_path(job_path ? job_path : "-", json_string_value(ar));
    if ((args.archive || (json_is_string(ar) && json_string_length(ar))) &&
        !archive_src) {
        error_msg("out of memory");
        goto out;
    }
    if (archive_src) {
        json_object_set_new(job, "archive", json_string("JOBID.archive"));
        if (validate_job(job, job_path) < 0 ||
            (archive_fd = open_archive(archive_src)) < 0)
            goto out;
    }

    struct mps_error err;
    char jobid[64];
    if (validate_job(job, job_path) < 0 || depends_check(sp, job) != 0)
        goto out;
    if (spool_new_jobid(sp, jobid, sizeof jobid, &err) < 0) {
        error_msg("%s", err.text);
        goto out;
    }
    if (tasks_src) {
        static char inbuf[1 << 20];
        setvbuf(tasks_in, inbuf, _IOFBF, sizeof inbuf);
        if (copy_task_file(sp, jobid, tasks_in, tasks_src, &data_path,
                           &copied) < 0 ||
            check_output_tasks(job, copied) < 0)
            goto out;
        if (args.at && copied != made) {
            error_msg("%" PRIu64 " command lines were made, but their task "
                      "file reads as %" PRIu64 " tasks",
                      made, copied);
            goto out;
        }
        json_object_set_new(job, "task_file",
                            json_string(strrchr(data_path, '/') + 1));
        if (validate_job(job, job_path) < 0)
            goto out;
    }
    if (archive_src) {
        if (copy_archive(sp, jobid, archive_fd, archive_src, &archive_path) < 0)
            goto out;
        json_object_set_new(job, "archive",
                            json_string(strrchr(archive_path, '/') + 1));
    }
    size_t len;
    if (!(text = job_text(job, &len))) {
        error_msg("out of memory");
        goto out;
    }
    if (submit_text(sp, jobid, sizeof jobid, text, len) < 0)
        goto out;
    free(data_path); /* submitted: the copies stay */
    data_path = NULL;
    free(archive_path);
    archive_path = NULL;
    printf("%s\n", jobid);
    rc = 0;
out:
    if (data_path)
        unlink(data_path);
    if (archive_path)
        unlink(archive_path);
    free(archive_path);
    free(archive_src);
    if (archive_fd >= 0)
        close(archive_fd);
    if (tasks_in && tasks_in != stdin)
        fclose(tasks_in);
    free(data_path);
    free(tasks_src);
    free(text);
    json_decref(job);
    json_decref(tasks_name);
    json_decref(args.overrides);
    json_decref(args.deps);
    json_decref(args.env);
    argtasks_free(args.at);
    resume_plan_free(&resume);
    spool_close(sp);
    cmdline_free(&cl);
    return rc;
}

/* ------------------------------------------------------------ status */

static const char status_usage[] =
    "Usage: mpispool status [--json | --watch [SECONDS] [--until-idle]]\n"
    "\n"
    "Show what the spool's coordinators report (SPOOL/status/*.json): for\n"
    "each coordinator its host, state, busy and total slots and the time of\n"
    "its last update (\"(stale)\" when it is over 10 s old and the\n"
    "coordinator has not stopped: it may have died), a table of its worker\n"
    "ranks and a table of the jobs it has claimed (state, tasks and their\n"
    "outcomes so far, priority), with a line for each job that waits (what\n"
    "for) or that fail_fast is stopping (why). Then the number of job files\n"
    "in new/ (waiting to be claimed; \"?\" when you may not list it), cur/,\n"
    "done/, failed/ and rejected/, and the hosts drained with\n"
    "'mpispool drain'.\n"
    "\n"
    "With mpispool-run --idle-policy, a rank whose PC's owner is using it\n"
    "shows the state owner-active (it gets no tasks), with a line saying\n"
    "since when and why.\n"
    "\n"
    "Options:\n"
    "      --json            print one JSON object instead: {\"coordinators\": "
    "[the\n"
    "                        status files], \"spool\": {\"path\": ..., "
    "\"new\": N, ...,\n"
    "                        \"drained\": [HOST...]}} (a count, or drained, is "
    "null\n"
    "                        when the directory cannot be listed)\n"
    "      --watch [SECONDS] show it again every SECONDS (2) until "
    "interrupted,\n"
    "                        with a progress bar of the claimed jobs' tasks "
    "(done,\n"
    "                        failed, running, tasks/s, ETA); redrawn in place "
    "on a\n"
    "                        terminal, else printed again each time\n"
    "      --until-idle      with --watch: stop once no job is queued or "
    "running\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL)\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 shown, 1 the spool cannot be read, 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool status\n"
    "  mpispool status --json | jq '.coordinators[].slots'\n"
    "  mpispool status --watch 5\n";

/* The status files, sorted by name, as an array of objects. */
json_t *load_status_files(const struct spool *sp)
{
    json_t *all = json_array();
    char *dir = spool_file(sp, SPOOL_STATUS, NULL);
    if (!all || !dir) {
        free(dir);
        json_decref(all);
        return NULL;
    }
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] != '.' && ends_with(name, ".json")) {
            char *path = spool_file(sp, SPOOL_STATUS, name);
            json_error_t jerr;
            json_t *st = path ? json_load_file(path, 0, &jerr) : NULL;
            if (json_is_object(st))
                json_array_append(all, st);
            json_decref(st);
            free(path);
        }
        free(names[i]);
    }
    free(names);
    free(dir);
    return all;
}

static const enum spool_dir counted_dirs[] = {
    SPOOL_NEW, SPOOL_CUR, SPOOL_DONE, SPOOL_FAILED, SPOOL_REJECTED,
};

#define NCOUNTED (sizeof counted_dirs / sizeof *counted_dirs)

/* --idle-policy: the policy, and a line for each rank whose owner is
 * active: "rank 1 (pc12): owner active since 16:50:06 UTC (4m ago, input);
 * its tasks are suspended". */
static void print_idle_policy(json_t *st, int64_t now)
{
    const char *policy = json_string_value(json_object_get(st, "idle_policy"));
    if (!policy)
        return;
    printf(" idle policy: %s\n", policy);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(st, "ranks"), i, r)
    {
        json_t *idle = json_object_get(r, "idle_policy");
        if (!json_is_true(json_object_get(idle, "owner_active")))
            continue;
        char b1[32], b2[64], b3[32];
        printf(" rank %s (%s): owner active",
               member_text(r, "rank", b1, sizeof b1),
               member_text(r, "host", b2, sizeof b2));
        const char *since = json_string_value(json_object_get(idle, "since"));
        int64_t since_us;
        if (since && util_parse_time(since, &since_us) == 0)
            printf(
                " since %s (%s ago)", since,
                format_duration((double)(now - since_us) / 1e6, b3, sizeof b3));
        const char *why = json_string_value(json_object_get(idle, "reason"));
        if (why)
            printf(", %s", strcmp(why, "input") == 0
                               ? "keyboard, mouse or terminal input"
                               : why);
        const char *action = json_string_value(json_object_get(idle, "action"));
        if (member_int(r, "tasks") > 0 && action)
            printf("; its tasks are %s", strcmp(action, "requeue") == 0
                                             ? "being ended to run again"
                                             : "suspended");
        fputc('\n', stdout);
    }
}

static void print_coordinator(json_t *st, int64_t now)
{
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32], b8[32];
    const char *state = member_text(st, "state", b1, sizeof b1);
    json_t *slots = json_object_get(st, "slots");
    printf("coordinator %s on %s: %s, %s/%s slots busy",
           member_text(st, "coordinator", b2, sizeof b2),
           member_text(st, "host", b3, sizeof b3), state,
           member_text(slots, "busy", b4, sizeof b4),
           member_text(slots, "total", b5, sizeof b5));
    int64_t updated;
    const char *text = json_string_value(json_object_get(st, "updated"));
    if (util_parse_time(text, &updated) == 0) {
        double age = (double)(now - updated) / 1e6;
        printf(", updated %s ago", format_duration(age, b6, sizeof b6));
        if (age > 10 && strcmp(state, "stopped") != 0)
            fputs(" (stale)", stdout);
    } else {
        fputs(", updated ?", stdout);
    }
    fputc('\n', stdout);

    static const char *const rank_heads[] = {
        "RANK", "HOST", "STATE", "CORES", "MEMORY", "GPUS", "LOAD", "TASKS"};
    json_t *ranks = json_object_get(st, "ranks");
    struct table t;
    size_t i;
    json_t *r;
    if (json_array_size(ranks) > 0) {
        table_init(&t, 8, rank_heads, 0xf9);
        json_array_foreach(ranks, i, r)
        {
            /* Used of total: cores (slots), memory reserved, GPUs. */
            char mem_used[16], mem_total[16];
            snprintf(b3, sizeof b3, "%lld/%lld",
                     (long long)member_int(r, "busy"),
                     (long long)member_int(r, "slots"));
            snprintf(b4, sizeof b4, "%s/%s",
                     util_human_size((uint64_t)member_int(r, "memory_reserved"),
                                     mem_used, sizeof mem_used),
                     util_human_size((uint64_t)member_int(r, "memory"),
                                     mem_total, sizeof mem_total));
            snprintf(b5, sizeof b5, "%lld/%lld",
                     (long long)member_int(r, "gpus_busy"),
                     (long long)member_int(r, "gpus"));
            json_t *load = json_object_get(r, "load");
            if (json_is_number(load))
                snprintf(b7, sizeof b7, "%.2f", json_number_value(load));
            else
                snprintf(b7, sizeof b7, "-");
            const char *row[] = {member_text(r, "rank", b1, sizeof b1),
                                 member_text(r, "host", b2, sizeof b2),
                                 member_text(r, "state", b6, sizeof b6),
                                 b3,
                                 b4,
                                 b5,
                                 b7,
                                 member_text(r, "tasks", b8, sizeof b8)};
            table_add(&t, row);
        }
        table_print(&t, stdout, " ");
        table_free(&t);
    }
    print_idle_policy(st, now);
    static const char *const job_heads[] = {"JOB",     "NAME",      "STATE",
                                            "TASKS",   "SUCCEEDED", "FAILED",
                                            "RUNNING", "PENDING",   "PRIORITY"};
    json_t *jobs = json_object_get(st, "jobs");
    if (json_array_size(jobs) == 0) {
        puts(" no jobs");
        return;
    }
    table_init(&t, 9, job_heads, 0x1f8);
    t.limit[1] = 32; /* names may be 256 characters long */
    json_array_foreach(jobs, i, r)
    {
        char b9[32];
        const char *row[] = {member_text(r, "job", b1, sizeof b1),
                             member_text(r, "name", b2, sizeof b2),
                             member_text(r, "state", b3, sizeof b3),
                             member_text(r, "tasks", b4, sizeof b4),
                             member_text(r, "succeeded", b5, sizeof b5),
                             member_text(r, "failed", b6, sizeof b6),
                             member_text(r, "running", b7, sizeof b7),
                             member_text(r, "pending", b8, sizeof b8),
                             member_text(r, "priority", b9, sizeof b9)};
        table_add(&t, row);
    }
    table_print(&t, stdout, " ");
    table_free(&t);
    /* Why a job has not started, or is stopping (written from job ids and
     * numbers: nothing to escape). */
    json_array_foreach(jobs, i, r)
    {
        const char *why = json_string_value(json_object_get(r, "waiting"));
        if (!why)
            why = json_string_value(json_object_get(r, "reason"));
        const char *id = json_string_value(json_object_get(r, "job"));
        if (why && id)
            printf(" %s: %s\n", id, why);
    }
}

json_t *drained_hosts(const struct spool *sp)
{
    char *dir = spool_file(sp, SPOOL_DRAIN, NULL);
    struct dirent **names = NULL;
    int n = dir ? scandir(dir, &names, NULL, alphasort) : -1;
    bool missing = n < 0 && errno == ENOENT;
    if (n < 0) {
        free(dir);
        return missing ? json_array() : NULL;
    }
    json_t *hosts = json_array();
    for (int i = 0; i < n; i++) {
        char *path = NULL;
        struct stat st;
        if (hosts && names[i]->d_name[0] != '.' &&
            asprintf(&path, "%s/%s", dir, names[i]->d_name) >= 0 &&
            lstat(path, &st) == 0 && spool_drain_honoured(&st, spool_admin(sp)))
            json_array_append_new(hosts, json_string(names[i]->d_name));
        free(path);
        free(names[i]);
    }
    free(names);
    free(dir);
    return hosts;
}

/* The options of status and report: --help, --spool DIR, --json, and
 * those of more->allow (--html FILE; --watch[=SECONDS], --until-idle).
 * Returns -1 to go on with cl filled (and *as_json, *more), else the exit
 * code. */
static int parse_json_options(struct cmdline *cl, const char *command,
                              const char *usage, int argc, char **argv,
                              const char *spool, bool *as_json,
                              struct more_opts *more)
{
    enum { OPT_HTML = 1000, OPT_WATCH, OPT_UNTIL_IDLE };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"json", no_argument, NULL, OPT_JSON},
        {"html", required_argument, NULL, OPT_HTML},
        {"watch", optional_argument, NULL, OPT_WATCH},
        {"until-idle", no_argument, NULL, OPT_UNTIL_IDLE},
        {NULL, 0, NULL, 0},
    };
    unsigned allow = more ? more->allow : 0;
    if (cmdline_init(cl, command, argc, argv, "+:h", longopts, spool) < 0)
        return 1;
    int c, rc;
    while ((c = cmdline_next(cl)) != -1) {
        switch (c) {
        case 'h':
            cmdline_free(cl);
            return print_usage(usage);
        case OPT_SPOOL:
            cl->spool = optarg;
            break;
        case OPT_JSON:
            *as_json = true;
            break;
        case OPT_HTML:
            if (!(allow & MORE_HTML))
                goto unknown;
            more->html = optarg;
            break;
        case OPT_WATCH:
            if (!(allow & MORE_WATCH))
                goto unknown;
            more->watch = true;
            more->watch_arg = optarg;
            break;
        case OPT_UNTIL_IDLE:
            if (!(allow & MORE_WATCH))
                goto unknown;
            more->until_idle = true;
            break;
        unknown:
            optopt = 0;
            c = '?';
            /* fall through */
        default:
            rc = cmdline_error(cl, c);
            cmdline_free(cl);
            return rc;
        }
    }
    return -1;
}

int cmd_status(int argc, char **argv, const char *spool)
{
    struct cmdline cl;
    bool as_json = false;
    struct more_opts more = {.allow = MORE_WATCH};
    int rc = parse_json_options(&cl, "status", status_usage, argc, argv, spool,
                                &as_json, &more);
    if (rc >= 0)
        return rc;
    rc = 0;
    struct spool *sp = NULL;
    json_t *coords = NULL;
    if (more.watch || more.until_idle) {
        rc = as_json ? usage_error("status", "--watch shows text, not --json")
                     : status_watch(&cl, &more);
        goto out;
    }
    if (cl.noperands > 0) {
        rc = usage_error("status", "unexpected argument '%s'", cl.operands[0]);
        goto out;
    }
    if ((rc = open_spool(&cl, &sp)) != 0)
        goto out;
    if (!(coords = load_status_files(sp))) {
        error_msg("out of memory");
        rc = 1;
        goto out;
    }
    long counts[NCOUNTED];
    for (size_t i = 0; i < NCOUNTED; i++)
        counts[i] = count_json(sp, counted_dirs[i]);
    if (as_json) {
        json_t *counted = json_object();
        json_object_set_new(counted, "path", json_string(spool_path(sp)));
        for (size_t i = 0; i < NCOUNTED; i++)
            json_object_set_new(counted, spool_dir_name(counted_dirs[i]),
                                counts[i] < 0 ? json_null()
                                              : json_integer(counts[i]));
        json_t *drained = drained_hosts(sp);
        json_object_set_new(counted, "drained",
                            drained ? drained : json_null());
        json_t *root = json_object();
        json_object_set(root, "coordinators", coords);
        json_object_set_new(root, "spool", counted);
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!text) {
            error_msg("out of memory");
            rc = 1;
            goto out;
        }
        puts(text);
        free(text);
        goto out;
    }
    int64_t now = util_now_us();
    size_t i;
    json_t *st;
    if (json_array_size(coords) == 0)
        puts("no coordinator has run on this spool");
    json_array_foreach(coords, i, st)
    {
        if (i > 0)
            fputc('\n', stdout);
        print_coordinator(st, now);
    }
    printf("\nspool %s:", spool_path(sp));
    for (size_t d = 0; d < NCOUNTED; d++) {
        if (counts[d] < 0)
            printf("%s ? %s", d ? "," : "", spool_dir_name(counted_dirs[d]));
        else
            printf("%s %ld %s", d ? "," : "", counts[d],
                   spool_dir_name(counted_dirs[d]));
    }
    fputc('\n', stdout);
    json_t *drained = drained_hosts(sp);
    if (json_array_size(drained) > 0) {
        fputs("drained hosts (mpispool drain):", stdout);
        json_t *host;
        json_array_foreach(drained, i, host)
            printf(" %s", json_string_value(host));
        fputc('\n', stdout);
    }
    json_decref(drained);
out:
    json_decref(coords);
    spool_close(sp);
    cmdline_free(&cl);
    return rc;
}

/* ------------------------------------------------------------ reports */

/* report.json is read as a stream: its task records (one per attempt, a
 * million for a million tasks) never sit in memory together. */

#define REPORT_MAX_ROWS 20

struct failed_row {
    long long task, attempt;
    char *result; /* "exit 3", "signal 9 (Killed), timed out", "error: ..." */
    char *stderr_path;
};

struct report {
    json_t *head; /* every member but "tasks" */
    uint64_t nrecords;
    double user_s, system_s;
    long long max_rss_kb, max_rss_task;
    struct failed_row rows[REPORT_MAX_ROWS];
    size_t nrows;
    uint64_t nfailed; /* failed attempts, rows or not */
};

static void report_clear(struct report *rep)
{
    json_decref(rep->head);
    for (size_t i = 0; i < rep->nrows; i++) {
        free(rep->rows[i].result);
        free(rep->rows[i].stderr_path);
    }
    *rep = (struct report){0};
}

int textbuf_add(struct textbuf *b, int c)
{
    if (b->len + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        char *text = realloc(b->text, cap);
        if (!text)
            return -1;
        b->text = text;
        b->cap = cap;
    }
    b->text[b->len++] = (char)c;
    b->text[b->len] = '\0';
    return 0;
}

bool blank(const struct textbuf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (!strchr(" \t\r\n", b->text[i]))
            return false;
    return true;
}

int skip_space(FILE *in)
{
    int c;
    do
        c = getc_unlocked(in);
    while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
    return c;
}

/* Read one JSON value's text (into b unless b is NULL) up to the ',' '}'
 * or ']' that ends it, which is returned (EOF when the text ends). */
int scan_value(FILE *in, struct textbuf *b)
{
    int depth = 0, c;
    bool in_string = false, escaped = false;
    if (b)
        b->len = 0;
    while ((c = getc_unlocked(in)) != EOF) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']' || c == ',') {
            if (depth == 0)
                return c;
            if (c != ',')
                depth--;
        }
        if (b && textbuf_add(b, c) < 0)
            return EOF;
    }
    return EOF;
}

char *record_result(json_t *rec)
{
    char *out = NULL;
    json_t *error = json_object_get(rec, "error");
    json_t *sig = json_object_get(rec, "signal");
    json_t *code = json_object_get(rec, "exit_code");
    bool timed_out = json_is_true(json_object_get(rec, "timed_out"));
    int rc;
    if (json_is_string(error)) {
        rc = asprintf(&out, "error: %s", json_string_value(error));
    } else if (json_is_integer(sig) && json_integer_value(sig) != 0) {
        int s = (int)json_integer_value(sig);
        rc = asprintf(&out, "signal %d (%s)%s", s, strsignal(s),
                      timed_out ? ", timed out" : "");
    } else if (json_is_integer(code)) {
        rc = asprintf(&out, "exit %lld%s", (long long)json_integer_value(code),
                      timed_out ? ", timed out" : "");
    } else {
        rc = asprintf(&out, "%s", timed_out ? "timed out" : "did not run");
    }
    return rc < 0 ? NULL : out;
}

/* One token of a record: a value's raw JSON text. */
struct token {
    const char *text;
    size_t len;
};

/* The fields of a task record that a report sums up. */
struct record_fields {
    struct token task, exit_code, signal, error, max_rss_kb, user_s, system_s;
};

static bool token_is(const struct token *t, const char *text)
{
    return t->len == strlen(text) && memcmp(t->text, text, t->len) == 0;
}

static const char *skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Scan a flat JSON object (scalar values only) for the fields a report
 * needs, without building it: a million records parse in about a second
 * instead of ten. Returns -1 for anything else (then jansson decides). */
static int scan_record(const char *p, const char *end, struct record_fields *r)
{
    static const struct {
        const char *key;
        size_t offset;
    } wanted[] = {
        {"task", offsetof(struct record_fields, task)},
        {"exit_code", offsetof(struct record_fields, exit_code)},
        {"signal", offsetof(struct record_fields, signal)},
        {"error", offsetof(struct record_fields, error)},
        {"max_rss_kb", offsetof(struct record_fields, max_rss_kb)},
        {"user_s", offsetof(struct record_fields, user_s)},
        {"system_s", offsetof(struct record_fields, system_s)},
    };
    memset(r, 0, sizeof *r);
    p = skip_blank(p, end);
    if (p == end || *p++ != '{')
        return -1;
    for (;;) {
        p = skip_blank(p, end);
        if (p < end && *p == '}')
            return 0;
        if (p == end || *p++ != '"')
            return -1;
        const char *key = p;
        while (p < end && *p != '"' && *p != '\\')
            p++;
        if (p == end || *p != '"')
            return -1;
        size_t klen = (size_t)(p++ - key);
        p = skip_blank(p, end);
        if (p == end || *p++ != ':')
            return -1;
        p = skip_blank(p, end);
        const char *value = p;
        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            if (p >= end)
                return -1;
            p++;
        } else {
            while (p < end && *p != ',' && *p != '}' && *p != ' ' &&
                   *p != '\n' && *p != '\t' && *p != '\r') {
                if (*p == '{' || *p == '[' || *p == '"')
                    return -1;
                p++;
            }
        }
        for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++)
            if (strlen(wanted[i].key) == klen &&
                memcmp(wanted[i].key, key, klen) == 0)
                *(struct token *)((char *)r + wanted[i].offset) =
                    (struct token){value, (size_t)(p - value)};
        p = skip_blank(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}')
            return 0;
        return -1;
    }
}

/* Add one task record (the text of a JSON object) to the report. */
static int report_add_record(struct report *rep, const char *text, size_t len)
{
    struct record_fields f;
    json_t *rec = NULL;
    if (scan_record(text, text + len, &f) < 0) {
        /* not a flat object: let jansson read it (or refuse it) */
        rec = json_loadb(text, len, 0, NULL);
        if (!json_is_object(rec)) {
            json_decref(rec);
            return -1;
        }
        memset(&f, 0, sizeof f);
    }
    rep->nrecords++;
    double user_s, system_s;
    long long rss, task;
    bool ok;
    if (rec) {
        json_t *code = json_object_get(rec, "exit_code");
        json_t *sig = json_object_get(rec, "signal");
        json_t *error = json_object_get(rec, "error");
        user_s = json_number_value(json_object_get(rec, "user_s"));
        system_s = json_number_value(json_object_get(rec, "system_s"));
        rss = member_int(rec, "max_rss_kb");
        task = member_int(rec, "task");
        ok = json_is_integer(code) && json_integer_value(code) == 0 &&
             (!sig || json_is_null(sig) ||
              (json_is_integer(sig) && json_integer_value(sig) == 0)) &&
             (!error || json_is_null(error));
    } else {
        user_s = f.user_s.text ? strtod(f.user_s.text, NULL) : 0;
        system_s = f.system_s.text ? strtod(f.system_s.text, NULL) : 0;
        rss = f.max_rss_kb.text ? strtoll(f.max_rss_kb.text, NULL, 10) : 0;
        task = f.task.text ? strtoll(f.task.text, NULL, 10) : 0;
        ok = token_is(&f.exit_code, "0") &&
             (!f.signal.text || token_is(&f.signal, "null") ||
              token_is(&f.signal, "0")) &&
             (!f.error.text || token_is(&f.error, "null"));
    }
    rep->user_s += isfinite(user_s) ? user_s : 0;
    rep->system_s += isfinite(system_s) ? system_s : 0;
    if (rss > rep->max_rss_kb) {
        rep->max_rss_kb = rss;
        rep->max_rss_task = task;
    }
    if (!ok) {
        rep->nfailed++;
        if (rep->nrows < REPORT_MAX_ROWS && !rec)
            rec = json_loadb(text, len, 0, NULL);
    }
    if (!ok && rep->nrows < REPORT_MAX_ROWS && json_is_object(rec)) {
        struct failed_row *row = &rep->rows[rep->nrows];
        row->task = member_int(rec, "task");
        row->attempt = member_int(rec, "attempt");
        row->result = record_result(rec);
        const char *err_path =
            json_string_value(json_object_get(rec, "stderr"));
        row->stderr_path = strdup(err_path ? err_path : "-");
        if (row->result && row->stderr_path) {
            rep->nrows++;
        } else {
            free(row->result);
            free(row->stderr_path);
        }
    }
    json_decref(rec);
    return 0;
}

int report_stream(const char *path, json_t *head,
                  int (*record)(void *arg, char *text, size_t len), void *arg,
                  struct mps_error *err)
{
    FILE *in = fopen(path, "re");
    if (!in)
        return errprintf(err, "cannot open '%s': %s", path, strerror(errno));
    static char buf[1 << 16];
    setvbuf(in, buf, _IOFBF, sizeof buf);
    struct textbuf b = {0};
    int rc = -1;
    if (!head || skip_space(in) != '{')
        goto bad;
    for (;;) {
        int c = skip_space(in);
        if (c == '}')
            break;
        if (c != '"')
            goto bad;
        /* the key */
        b.len = 0;
        if (textbuf_add(&b, '"') < 0)
            goto bad;
        bool escaped = false;
        while ((c = getc_unlocked(in)) != EOF) {
            if (textbuf_add(&b, c) < 0)
                goto bad;
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                break;
        }
        json_t *key = json_loadb(b.text, b.len, JSON_DECODE_ANY, NULL);
        if (!json_is_string(key) || skip_space(in) != ':') {
            json_decref(key);
            goto bad;
        }
        char *name = strdup(json_string_value(key));
        json_decref(key);
        if (!name)
            goto bad;
        bool is_tasks = strcmp(name, "tasks") == 0;
        if (is_tasks && !record && json_object_get(head, "counts")) {
            free(name);
            rc = 0;
            goto out;
        }
        if (is_tasks) {
            free(name);
            if (skip_space(in) != '[')
                goto bad;
            int end;
            do {
                end = scan_value(in, record ? &b : NULL);
                if (end == EOF)
                    goto bad;
                if (!record || (end == ']' && blank(&b)))
                    continue;
                if (record(arg, b.text, b.len) < 0)
                    goto bad;
            } while (end == ',');
            if (end != ']')
                goto bad;
            c = skip_space(in);
        } else {
            c = scan_value(in, &b);
            json_t *value =
                c == EOF ? NULL
                         : json_loadb(b.text, b.len, JSON_DECODE_ANY, NULL);
            if (!value) {
                free(name);
                goto bad;
            }
            json_object_set_new(head, name, value);
            free(name);
        }
        if (c == '}')
            break;
        if (c != ',')
            goto bad;
    }
    rc = 0;
    goto out;
bad:
    if (ferror(in))
        errprintf(err, "cannot read '%s': %s", path, strerror(errno));
    else
        errprintf(err, "'%s' is not a valid report", path);
out:
    free(b.text);
    fclose(in);
    return rc;
}

static int report_record(void *arg, char *text, size_t len)
{
    return report_add_record(arg, text, len);
}

/* Read out/JOBID/report.json. Without with_tasks, stop at the task
 * records once the counts are known. Returns 0 or -1 with err. */
static int report_load(const char *path, bool with_tasks, struct report *rep,
                       struct mps_error *err)
{
    *rep = (struct report){.head = json_object()};
    int rc = report_stream(path, rep->head, with_tasks ? report_record : NULL,
                           rep, err);
    if (rc < 0)
        report_clear(rep);
    return rc;
}

char *report_path(const struct spool *sp, const char *jobid)
{
    char name[160];
    snprintf(name, sizeof name, "%s/report.json", jobid);
    return spool_file(sp, SPOOL_OUT, name);
}

/* The first line of rejected/JOBID.error (malloc'd), or NULL. */
static char *rejected_reason(const struct spool *sp, const char *jobid)
{
    char name[160];
    snprintf(name, sizeof name, "%s.error", jobid);
    char *path = spool_file(sp, SPOOL_REJECTED, name);
    FILE *in = path ? fopen(path, "re") : NULL;
    free(path);
    if (!in)
        return NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = getline(&line, &cap, in);
    fclose(in);
    if (got <= 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

/* ------------------------------------------------------------ wait */

static const char wait_usage[] =
    "Usage: mpispool wait [--timeout SECONDS] [--quiet] JOBID...\n"
    "\n"
    "Block until every JOBID has ended: its job file is in done/, failed/\n"
    "or rejected/, or its owner withdrew it while it was queued (it is\n"
    "then cancelled). wait sleeps on inotify events of the spool and\n"
    "rescans every 2 seconds (for NFS, where inotify sees no other host's\n"
    "changes).\n"
    "\n"
    "A progress bar on stderr shows the tasks done (succeeded or failed),\n"
    "failed and running, the jobs ended (of several), tasks per second\n"
    "and the time left (ETA): redrawn in place on a terminal, else a plain\n"
    "line 'progress: 12/40 tasks, 1 failed, 4 running, 2.0 tasks/s, ETA\n"
    "14s' when the counts change, at most one a second, and one at the\n"
    "end. Each job that ends gets a line on\n"
    "stderr: 'JOBID done', 'JOBID failed: 3 of 10 tasks failed',\n"
    "'JOBID cancelled before it started' or 'JOBID rejected: REASON'.\n"
    "\n"
    "Options:\n"
    "      --timeout SECONDS give up after SECONDS (exit 1)\n"
    "  -q, --quiet           print nothing but errors\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL)\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 every job succeeded (is in done/); 1 a job failed, was\n"
    "cancelled or rejected, a job is unknown, or the timeout passed; 2\n"
    "usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool wait 20261124-0007\n"
    "  id=$(mpispool submit job.json) && mpispool wait --timeout 600 \"$id\" "
    "&&\n"
    "      mpispool report \"$id\"\n";

#define WAIT_RESCAN_MS 2000

struct waited {
    const char *id;
    int where;  /* enum spool_dir, or -1 */
    bool ended; /* in done/, failed/ or rejected/ */
    bool counted;
    long long tasks, done, failed; /* from report.json, once ended */
};

struct waiter {
    struct spool *sp;
    struct waited *jobs;
    size_t njobs, nended;
    bool quiet, progress;
    struct pbar bar; /* progress.c */
    json_t *status;  /* status files, for the progress line */
};

/* Erase the progress line before printing a line of our own. */
static void progress_clear(struct waiter *w)
{
    pbar_clear(&w->bar);
}

/* Show the progress: at the end (final) the last counts. */
static void progress_show(struct waiter *w, bool final)
{
    long long tasks = 0, done = 0, failed = 0, running = 0;
    for (size_t i = 0; i < w->njobs; i++) {
        struct waited *job = &w->jobs[i];
        if (job->ended) {
            tasks += job->tasks;
            done += job->done;
            failed += job->failed;
            continue;
        }
        size_t c, j;
        json_t *st, *entry;
        json_array_foreach(w->status, c, st)
        {
            json_array_foreach(json_object_get(st, "jobs"), j, entry)
            {
                const char *id =
                    json_string_value(json_object_get(entry, "job"));
                if (!id || strcmp(id, job->id) != 0)
                    continue;
                tasks += member_int(entry, "tasks");
                done += member_int(entry, "succeeded") +
                        member_int(entry, "failed");
                failed += member_int(entry, "failed");
                running += member_int(entry, "running");
            }
        }
    }
    struct pbar_counts c = {.tasks = tasks,
                            .done = done,
                            .failed = failed,
                            .running = running,
                            .completed = -1,
                            .jobs = w->njobs,
                            .jobs_ended = w->nended};
    if (final)
        pbar_finish(&w->bar, &c);
    else
        pbar_update(&w->bar, &c);
}

/* A job has ended: note its counts and say how it went. */
static void job_ended(struct waiter *w, struct waited *job)
{
    job->ended = true;
    w->nended++;
    char *reason = NULL;
    if (job->where == SPOOL_CANCEL) {
        /* withdrawn by its owner before it started: no report yet */
    } else if (job->where != SPOOL_REJECTED) {
        char *path = report_path(w->sp, job->id);
        struct report rep;
        struct mps_error err;
        if (path && report_load(path, false, &rep, &err) == 0) {
            json_t *counts = json_object_get(rep.head, "counts");
            job->tasks = member_int(counts, "tasks");
            job->failed = member_int(counts, "failed");
            job->done = member_int(counts, "succeeded") + job->failed;
            job->counted = true;
            report_clear(&rep);
        }
        free(path);
    } else {
        reason = rejected_reason(w->sp, job->id);
    }
    if (!w->quiet) {
        progress_clear(w);
        if (job->where == SPOOL_DONE)
            fprintf(stderr, "%s done\n", job->id);
        else if (job->where == SPOOL_REJECTED)
            fprintf(stderr, "%s rejected: %s\n", job->id,
                    reason ? reason : "(no reason given)");
        else if (job->where == SPOOL_CANCEL)
            fprintf(stderr, "%s cancelled before it started\n", job->id);
        else if (job->counted)
            fprintf(stderr, "%s failed: %lld of %lld tasks failed\n", job->id,
                    job->failed, job->tasks);
        else
            fprintf(stderr, "%s failed\n", job->id);
    }
    free(reason);
}

/* Look where each job is; returns -1 when a job has vanished. */
static int wait_scan(struct waiter *w)
{
    for (size_t i = 0; i < w->njobs; i++) {
        struct waited *job = &w->jobs[i];
        if (job->ended)
            continue;
        /* spool_locate looks in the order jobs move, so a job is found
         * even while it moves; a coordinator that stops puts its jobs
         * back from cur/ into new/, so look again before giving up. */
        job->where = spool_locate(w->sp, job->id);
        for (int again = 0; job->where < 0 && again < 3; again++)
            job->where = spool_locate(w->sp, job->id);
        if (spool_ended(job->where)) {
            job_ended(w, job);
        } else if (job->where < 0) {
            progress_clear(w);
            error_msg("job '%s' disappeared from spool '%s'", job->id,
                      spool_path(w->sp));
            return -1;
        }
    }
    return 0;
}

/* Read (and discard) the pending inotify events; returns whether one was
 * about status/ (wd status_wd). */
static bool drain_events(int fd, int status_wd)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool status = false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->wd == status_wd || (ev->mask & IN_Q_OVERFLOW))
                status = true;
            p += sizeof *ev + ev->len;
        }
    }
    return status;
}

static void print_timeout(const struct waiter *w, double timeout)
{
    fprintf(stderr, "mpispool: timed out after %g s waiting for ", timeout);
    size_t shown = 0, left = 0;
    for (size_t i = 0; i < w->njobs; i++) {
        if (w->jobs[i].ended)
            continue;
        if (shown < 5)
            fprintf(stderr, "%s%s", shown ? ", " : "", w->jobs[i].id);
        else
            left++;
        shown++;
    }
    if (left)
        fprintf(stderr, " and %zu more", left);
    fputc('\n', stderr);
}

int cmd_wait(int argc, char **argv, const char *spool)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    struct cmdline cl;
    if (cmdline_init(&cl, "wait", argc, argv, "+:hq", longopts, spool) < 0)
        return 1;
    struct waiter w = {0};
    double timeout = -1;
    int c, rc = 0, ifd = -1, status_wd = -1;
    while ((c = cmdline_next(&cl)) != -1) {
        switch (c) {
        case 'h':
            cmdline_free(&cl);
            return print_usage(wait_usage);
        case OPT_SPOOL:
            cl.spool = optarg;
            break;
        case OPT_TIMEOUT:
            if (parse_seconds(optarg, &timeout) < 0 || timeout < 0) {
                rc = usage_error("wait",
                                 "--timeout needs a number of seconds, not "
                                 "'%s'",
                                 optarg);
                cmdline_free(&cl);
                return rc;
            }
            break;
        case 'q':
            w.quiet = true;
            break;
        default:
            rc = cmdline_error(&cl, c);
            cmdline_free(&cl);
            return rc;
        }
    }
    if (cl.noperands == 0) {
        rc = usage_error("wait", "no job given: mpispool wait JOBID...");
        goto out;
    }
    if ((rc = open_spool(&cl, &w.sp)) != 0)
        goto out;
    rc = 1;
    if (!(w.jobs = calloc((size_t)cl.noperands, sizeof *w.jobs))) {
        error_msg("out of memory");
        goto out;
    }
    for (int i = 0; i < cl.noperands; i++) {
        const char *id = cl.operands[i];
        bool seen = false;
        for (size_t j = 0; j < w.njobs && !seen; j++)
            seen = strcmp(w.jobs[j].id, id) == 0;
        if (seen)
            continue;
        int where = jobfile_valid_id(id) ? spool_locate(w.sp, id) : -1;
        if (where < 0) {
            error_msg("no job '%s' in spool '%s'", id, spool_path(w.sp));
            goto out;
        }
        w.jobs[w.njobs++] = (struct waited){.id = id, .where = where};
    }
    w.progress = !w.quiet;
    pbar_init(&w.bar, stderr, isatty(STDERR_FILENO));

    /* Watch before the first scan, so no change slips in between. */
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd >= 0) {
        /* cancel/: a queued job its owner withdraws ends there (a user
         * who may not read cancel/ sees it at the next rescan). */
        static const enum spool_dir watched[] = {SPOOL_DONE, SPOOL_FAILED,
                                                 SPOOL_REJECTED, SPOOL_CANCEL,
                                                 SPOOL_STATUS};
        for (size_t i = 0; i < sizeof watched / sizeof *watched; i++) {
            char *dir = spool_file(w.sp, watched[i], NULL);
            int wd =
                dir ? inotify_add_watch(
                          ifd, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE)
                    : -1;
            if (watched[i] == SPOOL_STATUS)
                status_wd = wd;
            free(dir);
        }
    }
    int64_t deadline =
        timeout >= 0 ? util_mono_us() + (int64_t)(timeout * 1e6) : -1;
    bool status_changed = true;
    for (;;) {
        if (wait_scan(&w) < 0)
            goto out;
        if (w.nended == w.njobs)
            break;
        if (w.progress) {
            if (status_changed || !w.status) {
                json_decref(w.status);
                w.status = load_status_files(w.sp);
            }
            progress_show(&w, false);
        }
        /* redraw (rate, ETA) or print a held-back line within a second */
        int wait_ms = w.progress ? 1000 : WAIT_RESCAN_MS;
        if (deadline >= 0) {
            int64_t left = deadline - util_mono_us();
            if (left <= 0) {
                progress_clear(&w);
                print_timeout(&w, timeout);
                goto out;
            }
            if (left / 1000 + 1 < wait_ms)
                wait_ms = (int)(left / 1000 + 1);
        }
        status_changed = false;
        if (ifd < 0) {
            poll(NULL, 0, wait_ms);
            status_changed = true;
            continue;
        }
        struct pollfd pfd = {.fd = ifd, .events = POLLIN};
        int n = poll(&pfd, 1, wait_ms);
        if (n < 0 && errno != EINTR) {
            error_msg("cannot wait for the spool: %s", strerror(errno));
            goto out;
        }
        if (n > 0)
            status_changed = drain_events(ifd, status_wd);
        else
            status_changed = n == 0; /* rescan: NFS shows no events */
    }
    if (w.progress) {
        json_decref(w.status);
        w.status = json_array();
        progress_show(&w, true);
    }
    rc = 0;
    for (size_t i = 0; i < w.njobs; i++)
        if (w.jobs[i].where != SPOOL_DONE)
            rc = 1;
out:
    progress_clear(&w);
    if (ifd >= 0)
        close(ifd);
    json_decref(w.status);
    free(w.jobs);
    spool_close(w.sp);
    cmdline_free(&cl);
    return rc;
}

/* ------------------------------------------------------------ report */

static const char report_usage[] =
    "Usage: mpispool report [--json | --html FILE] JOBID\n"
    "\n"
    "Summarize an ended job from SPOOL/out/JOBID/report.json: its name and\n"
    "state, how many tasks succeeded and failed, when it started and ended,\n"
    "its wall time, the CPU time (user + system) of all task attempts, the\n"
    "largest maximum resident set size, and a table of the failed task\n"
    "attempts (exit code, signal or error, and the file holding the task's\n"
    "stderr), at most 20 rows. Each task's output is in\n"
    "SPOOL/out/JOBID/TASK.out and TASK.err, its record in TASK.json.\n"
    "A job its owner cancelled while it was queued has, until a coordinator\n"
    "files it, a report made from its job file in SPOOL/cancel/: state\n"
    "\"cancelled\", no task run.\n"
    "\n"
    "Options:\n"
    "      --json            copy report.json to stdout, byte for byte\n"
    "      --html FILE       write one self-contained HTML page ('-': stdout): "
    "the\n"
    "                        summary, a timeline of every rank's task "
    "attempts, a\n"
    "                        histogram of their durations and the failed tasks "
    "with\n"
    "                        the end of their stderr; no network needed to "
    "view it\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL)\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 shown; 1 the job is unknown, has not ended or was\n"
    "rejected, or its report cannot be read; 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool report 20261124-0007\n"
    "  mpispool report --html job7.html 20261124-0007\n"
    "  mpispool report --json 20261124-0007 |\n"
    "      jq '.tasks[] | select(.exit_code != 0) | .task'\n";

/* Copy a file to stdout byte for byte. */
static int copy_to_stdout(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error_msg("cannot open '%s': %s", path, strerror(errno));
        return 1;
    }
    fflush(stdout);
    static char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error_msg("cannot read '%s': %s", path, strerror(errno));
            rc = 1;
            break;
        }
        if (n == 0)
            break;
        if (util_write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
            error_msg("cannot write to standard output: %s", strerror(errno));
            rc = 1;
            break;
        }
    }
    close(fd);
    return rc;
}

static void print_report(const struct report *rep)
{
    char b1[64], b2[64], b3[64];
    json_t *h = rep->head;
    json_t *counts = json_object_get(h, "counts");
    printf("job %s\n", member_text(h, "job", b1, sizeof b1));
    printf("name %s\n", member_text(h, "name", b1, sizeof b1));
    printf("state %s\n", member_text(h, "state", b1, sizeof b1));
    /* Written by the coordinator from job ids: nothing to escape. */
    if (json_is_string(json_object_get(h, "reason")))
        printf("reason %s\n", member_text(h, "reason", b1, sizeof b1));
    printf("tasks %s: %s succeeded, %s failed",
           member_text(counts, "tasks", b1, sizeof b1),
           member_text(counts, "succeeded", b2, sizeof b2),
           member_text(counts, "failed", b3, sizeof b3));
    /* Dropped or ended by mpispool cancel or fail_fast, or never run. */
    if (member_int(counts, "cancelled") > 0)
        printf(", %lld cancelled", (long long)member_int(counts, "cancelled"));
    putchar('\n');
    const char *submitted = json_string_value(json_object_get(h, "submitted"));
    const char *started = json_string_value(json_object_get(h, "started"));
    const char *ended = json_string_value(json_object_get(h, "ended"));
    if (submitted)
        printf("submitted %s\n", local_time(submitted, b1, sizeof b1));
    printf("started %s\n", local_time(started, b1, sizeof b1));
    printf("ended %s\n", local_time(ended, b1, sizeof b1));
    int64_t s_us, e_us;
    if (util_parse_time(started, &s_us) == 0 &&
        util_parse_time(ended, &e_us) == 0)
        printf("wall time %s\n",
               format_duration((double)(e_us - s_us) / 1e6, b1, sizeof b1));
    printf("cpu time %s (user %.2fs + system %.2fs, %llu attempt%s)\n",
           format_duration(rep->user_s + rep->system_s, b1, sizeof b1),
           rep->user_s, rep->system_s, (unsigned long long)rep->nrecords,
           rep->nrecords == 1 ? "" : "s");
    if (rep->nrecords > 0) {
        uint64_t bytes = (uint64_t)rep->max_rss_kb * 1024;
        if (bytes >= 10ull << 30)
            snprintf(b1, sizeof b1, "%.1f GiB", (double)bytes / (1 << 30));
        else if (bytes >= 10ull << 20)
            snprintf(b1, sizeof b1, "%.1f MiB", (double)bytes / (1 << 20));
        else
            snprintf(b1, sizeof b1, "%lld KiB", rep->max_rss_kb);
        printf("max rss %s (task %lld)\n", b1, rep->max_rss_task);
    }
    if (rep->nfailed == 0)
        return;
    printf("\nfailed attempts:\n");
    static const char *const heads[] = {"TASK", "ATTEMPT", "RESULT", "STDERR"};
    struct table t;
    table_init(&t, 4, heads, 0x3);
    for (size_t i = 0; i < rep->nrows; i++) {
        const struct failed_row *row = &rep->rows[i];
        snprintf(b1, sizeof b1, "%lld", row->task);
        snprintf(b2, sizeof b2, "%lld", row->attempt);
        const char *cells[] = {b1, b2, row->result, row->stderr_path};
        table_add(&t, cells);
    }
    table_print(&t, stdout, " ");
    table_free(&t);
    if (rep->nfailed > rep->nrows)
        printf(" ... and %llu more\n",
               (unsigned long long)(rep->nfailed - rep->nrows));
}

/* The report of job id, which its owner withdrew while it was queued
 * (cancel/JOBID.json), made from its job file (as far as this user may
 * read it) and held in memory: a malloc'd path to read it from. */
static char *withdrawn_report(const struct spool *sp, const char *id)
{
    char name[80];
    snprintf(name, sizeof name, "%s.json", id);
    char *dir = spool_file(sp, SPOOL_CANCEL, NULL);
    int dirfd = dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    free(dir);
    const struct asuser_want want = {.type = S_IFREG,
                                     .any_owner = true,
                                     .one_link = true,
                                     .max_size = JOBFILE_MAX_BYTES};
    struct mps_error err;
    struct stat st;
    int fd = dirfd >= 0 ? asuser_openat(dirfd, name, O_RDONLY, 0, &want, &st,
                                        name, &err)
                        : -1;
    if (dirfd >= 0)
        close(dirfd);
    if (fd < 0 && !spool_withdrawn(sp, id, &st))
        return NULL;
    json_t *rep = jobreport_cancelled(sp, id, fd, &st);
    if (fd >= 0)
        close(fd);
    int mem = memfd_create("report.json", MFD_CLOEXEC);
    bool ok =
        rep && mem >= 0 &&
        json_dumpfd(rep, mem, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
        write(mem, "\n", 1) == 1;
    json_decref(rep);
    char *path = NULL;
    if (!ok || asprintf(&path, "/proc/self/fd/%d", mem) < 0) {
        if (mem >= 0)
            close(mem);
        return NULL;
    }
    return path; /* mem stays open until the command ends */
}

int cmd_report(int argc, char **argv, const char *spool)
{
    struct cmdline cl;
    bool as_json = false;
    struct more_opts more = {.allow = MORE_HTML};
    int rc = parse_json_options(&cl, "report", report_usage, argc, argv, spool,
                                &as_json, &more);
    if (rc >= 0)
        return rc;
    rc = 0;
    struct spool *sp = NULL;
    char *path = NULL, *reason = NULL;
    if (cl.noperands != 1) {
        rc = usage_error("report", cl.noperands ? "give one job id"
                                                : "no job given: mpispool "
                                                  "report JOBID");
        goto out;
    }
    if ((rc = open_spool(&cl, &sp)) != 0)
        goto out;
    rc = 1;
    const char *id = cl.operands[0];
    int where = jobfile_valid_id(id) ? spool_locate(sp, id) : -1;
    switch (where) {
    case SPOOL_NEW:
    case SPOOL_CUR:
        error_msg("job '%s' has not ended yet (it is %s)", id,
                  where == SPOOL_NEW ? "queued" : "running");
        goto out;
    case SPOOL_REJECTED:
        reason = rejected_reason(sp, id);
        error_msg("job '%s' was rejected: %s", id,
                  reason ? reason : "(no reason given)");
        goto out;
    case SPOOL_DONE:
    case SPOOL_FAILED:
    case SPOOL_CANCEL:
        break;
    default:
        error_msg("no job '%s' in spool '%s'", id, spool_path(sp));
        goto out;
    }
    if (!(path = where == SPOOL_CANCEL ? withdrawn_report(sp, id)
                                       : report_path(sp, id))) {
        error_msg("cannot make the report of job '%s': %s", id,
                  strerror(errno));
        goto out;
    }
    if (as_json && more.html) {
        rc = usage_error("report", "give --json or --html, not both");
        goto out;
    }
    if (more.html) {
        rc = report_html(sp, id, path, more.html);
        goto out;
    }
    if (as_json) {
        rc = copy_to_stdout(path);
        goto out;
    }
    struct report rep;
    struct mps_error err;
    if (report_load(path, true, &rep, &err) < 0) {
        error_msg("%s", err.text);
        goto out;
    }
    print_report(&rep);
    report_clear(&rep);
    rc = 0;
out:
    free(path);
    free(reason);
    spool_close(sp);
    cmdline_free(&cl);
    return rc;
}
