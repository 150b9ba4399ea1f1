/* SPDX-License-Identifier: MIT */
/* mpispool log: a job's attempts as a GNU parallel --joblog TSV. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "cli.h"
#include "error.h"
#include "jobfile.h"
#include "jobrecords.h"
#include "spool.h"
#include "taskfile.h"
#include "util.h"

static const char log_usage[] =
    "Usage: mpispool log [OPTIONS] JOBID\n"
    "\n"
    "Print a job's task attempts as a GNU parallel --joblog file: a\n"
    "header line, then one tab-separated line per task, in task order:\n"
    "\n"
    "  Seq         the task's line number in its task file (comments and\n"
    "              blank lines count, as when parallel reads the file);\n"
    "              for a job file's \"tasks\", \"command\" or \"shell\",\n"
    "              the task number + 1 (tasks count from 0 in mpispool)\n"
    "  Host        the host that ran the attempt\n"
    "  Starttime   its start, seconds since the epoch, 3 decimals\n"
    "  JobRuntime  its run time in seconds, 3 decimals (\"%10.3f\")\n"
    "  Send        0 (mpispool transfers no files)\n"
    "  Receive     bytes of the task's stdout (as parallel counts)\n"
    "  Exitval     its exit code; 0 when killed by a signal (as in\n"
    "              parallel); -1 when it timed out (as parallel\n"
    "              --timeout), never ran or could not run\n"
    "  Signal      the signal that ended it, else 0\n"
    "  Command     the task's command line (an argv array shell-quoted;\n"
    "              a newline is written as a NUL byte, as parallel does)\n"
    "\n"
    "By default each task's last attempt; tasks without a record yet (not\n"
    "started, or dropped by cancel) have no line. An ended job is read\n"
    "from SPOOL/out/JOBID/report.json, a running one from records.jsonl.\n"
    "parallel reads the output: 'mpispool log -o LOG JOBID; parallel\n"
    "--resume-failed --joblog LOG < TASKFILE' runs the task file's failed\n"
    "lines again (and its comment and blank lines, which do nothing), and\n"
    "'parallel --retry-failed --joblog LOG' the failed Commands.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE     write to FILE instead of standard output\n"
    "      --all-attempts    one line per attempt (by task, then attempt)\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL)\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 written; 1 no such job, or its records or job file\n"
    "cannot be read; 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool log 20261124-0007\n"
    "  mpispool log -o sweep.joblog 20261124-0007\n"
    "  mpispool log 20261124-0007 | awk -F'\\t' 'NR > 1 && $7 != 0'\n";

/* ------------------------------------------------------------ commands */

/* The job's tasks' commands, read in task order. */
struct task_commands {
    struct jobspec *spec;
    struct taskfile *tf;
    uint64_t next;  /* task number of the next line of tf */
    long long task; /* the task last asked for, -1 before */
    char *text;     /* its command */
    long long seq;  /* its Seq: its line in the task file, else task + 1 */
};

static int commands_open(struct task_commands *tc, const struct spool *sp,
                         const char *job_path, struct mps_error *err)
{
    *tc = (struct task_commands){.task = -1};
    if (!(tc->spec = jobfile_load(job_path, err)))
        return -1;
    if (tc->spec->task_file) {
        char *path = tc->spec->task_file[0] == '/'
                         ? strdup(tc->spec->task_file)
                         : spool_file(sp, SPOOL_DATA, tc->spec->task_file);
        tc->tf = path ? taskfile_open(path, err) : NULL;
        free(path);
        if (!tc->tf)
            return -1;
        if (tc->spec->file_tasks &&
            taskfile_select(tc->tf, tc->spec->file_tasks, tc->spec->nfile_tasks,
                            err) < 0)
            return -1;
    }
    return 0;
}

static void commands_close(struct task_commands *tc)
{
    if (tc->tf)
        taskfile_close(tc->tf);
    jobspec_destroy(tc->spec);
    free(tc->text);
    *tc = (struct task_commands){0};
}

/* Append s to *buf, shell-quoted when it needs to be. */
static int append_quoted(char **buf, size_t *len, const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789_@%+=:,./-",
                       *p) != NULL;
    size_t need = *len + 4 * strlen(s) + 4;
    char *grown = realloc(*buf, need);
    if (!grown)
        return -1;
    *buf = grown;
    char *o = *buf + *len;
    if (plain) {
        o += sprintf(o, "%s", s);
    } else {
        *o++ = '\'';
        for (const char *p = s; *p; p++) {
            if (*p == '\'') {
                memcpy(o, "'\\''", 4);
                o += 4;
            } else {
                *o++ = *p;
            }
        }
        *o++ = '\'';
        *o = '\0';
    }
    *len = (size_t)(o - *buf);
    return 0;
}

/* Read task file lines up to task's: its command and line number. */
static void commands_from_file(struct task_commands *tc, long long task)
{
    struct mps_error err;
    const char *line = NULL;
    while (tc->next <= (uint64_t)task) {
        if (taskfile_next(tc->tf, &line, &err) != 1)
            return;
        if (tc->next++ == (uint64_t)task) {
            tc->text = strdup(line);
            tc->seq = (long long)taskfile_line(tc->tf);
        }
    }
}

/* Task task's command of a job file, an argv array shell-quoted. */
static void commands_from_spec(struct task_commands *tc, long long task)
{
    struct mps_error err;
    struct taskcmd cmd;
    if (!tc->spec || (uint64_t)task >= tc->spec->ntasks ||
        jobspec_task(tc->spec, (uint64_t)task, &cmd, &err) < 0)
        return;
    size_t len = 0;
    tc->text = calloc(1, 1);
    for (size_t i = 0; tc->text && i < cmd.argc; i++) {
        if (cmd.shell) {
            free(tc->text);
            tc->text = strdup(cmd.argv[0]);
            break;
        }
        if (i > 0)
            tc->text[len++] = ' ';
        if (append_quoted(&tc->text, &len, cmd.argv[i]) < 0) {
            free(tc->text);
            tc->text = NULL;
        }
    }
    taskcmd_free(&cmd);
}

/* Look up task task: tc->text becomes its command line ("" when it cannot
 * be known) and tc->seq its Seq, as GNU parallel numbers the same input:
 * the task's line number in a task file (comments and blank lines
 * counted), else task + 1. Tasks must be asked for in increasing order. */
static void commands_get(struct task_commands *tc, long long task)
{
    if (task == tc->task)
        return;
    free(tc->text);
    tc->text = NULL;
    tc->task = task;
    tc->seq = task + 1;
    if (task >= 0 && tc->tf)
        commands_from_file(tc, task);
    else if (task >= 0)
        commands_from_spec(tc, task);
    if (!tc->text)
        tc->text = strdup("");
}

/* ------------------------------------------------------------ output */

static void print_line(FILE *out, const struct task_record *rec, long long seq,
                       const char *command)
{
    const char *host = rec->host;
    int64_t start = rec->start_us;
    double runtime =
        start && rec->end_us ? (double)(rec->end_us - rec->start_us) / 1e6 : 0;
    if (runtime < 0)
        runtime = 0;
    /* parallel: int(runtime * 1000) / 1000, i.e. cut to milliseconds */
    long long runtime_ms = (long long)(runtime * 1000 + 1e-6);
    long long signal = rec->signal > 0 ? rec->signal : 0;
    long long exitval = rec->exit_code >= 0 ? rec->exit_code
                        : signal != 0       ? 0
                                            : -1;
    /* parallel --timeout: -1 unless the task still exited non-zero */
    if (rec->timed_out && exitval == 0)
        exitval = -1;
    fprintf(out, "%lld\t%s\t%lld.%03lld\t%10.3f\t0\t%lld\t%lld\t%lld\t", seq,
            host && *host ? host : "-",
            (long long)((start + 500) / 1000) / 1000,
            (long long)((start + 500) / 1000) % 1000, (double)runtime_ms / 1000,
            (long long)rec->stdout_bytes, exitval, signal);
    for (const char *p = command; *p; p++) {
        if (*p == '\n')
            putc('\0', out);
        else if (*p != '\r' || p[1] != '\0')
            putc(*p, out);
    }
    putc('\n', out);
}

int cmd_log(int argc, char **argv, const char *spool)
{
    enum { OPT_SPOOL = 256, OPT_ALL };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"output", required_argument, NULL, 'o'},
        {"all-attempts", no_argument, NULL, OPT_ALL},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    bool all = false;
    int c;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(log_usage, stdout);
            return 0;
        case 'o':
            output = optarg;
            break;
        case OPT_ALL:
            all = true;
            break;
        case OPT_SPOOL:
            spool = optarg;
            break;
        case ':':
            return cli_usage_error("log", "option '%s' needs a value",
                                   argv[optind - 1]);
        default: {
            const char *arg = argv[optind - 1];
            char shortopt[3] = {'-', (char)optopt, '\0'};
            return cli_usage_error("log", "unknown option '%s'",
                                   strncmp(arg, "--", 2) == 0 ? arg : shortopt);
        }
        }
    }
    if (optind >= argc)
        return cli_usage_error("log", "%s", "no job given: mpispool log JOBID");
    if (argc - optind > 1)
        return cli_usage_error("log", "%s", "give one job id");
    const char *id = argv[optind];
    if (!spool || !*spool)
        spool = getenv("MPISPOOL_SPOOL");
    if (!spool || !*spool) {
        cli_error("no spool given: use --spool DIR or set MPISPOOL_SPOOL");
        return 2;
    }
    struct mps_error err;
    struct spool *sp = spool_open(spool, &err);
    if (!sp) {
        cli_error("%s", err.text);
        return 1;
    }
    int rc = 1;
    struct task_record *attempts = NULL;
    size_t n = 0;
    struct task_commands tc = {0};
    char *job_path = NULL;
    FILE *out = stdout;
    int where = cli_locate_job(sp, id);
    if (where < 0)
        goto done;
    if (where == SPOOL_REJECTED) {
        cli_error("job '%s' was rejected: it has no tasks", id);
        goto done;
    }
    bool ended = where == SPOOL_DONE || where == SPOOL_FAILED;
    if (jobrecords_load(sp, id, ended, &attempts, &n, &err) < 0) {
        cli_error("%s", err.text);
        goto done;
    }
    char name[160];
    snprintf(name, sizeof name, "%s.json", id);
    if (!(job_path = spool_file(sp, (enum spool_dir)where, name)) ||
        commands_open(&tc, sp, job_path, &err) < 0) {
        cli_error("cannot read the commands of job '%s': %s", id,
                  job_path ? err.text : "out of memory");
        goto done;
    }
    if (output && !(out = fopen(output, "we"))) {
        cli_error("cannot create '%s': %s", output, strerror(errno));
        out = stdout;
        goto done;
    }
    fputs("Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\t"
          "Command\n",
          out);
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n || attempts[i + 1].task != attempts[i].task;
        if (!all && !last)
            continue;
        commands_get(&tc, attempts[i].task);
        print_line(out, &attempts[i], tc.seq, tc.text ? tc.text : "");
    }
    if (fflush(out) != 0 || ferror(out)) {
        cli_error("cannot write '%s': %s", output ? output : "standard output",
                  strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (out != stdout && fclose(out) != 0 && rc == 0) {
        cli_error("cannot write '%s': %s", output, strerror(errno));
        rc = 1;
    }
    commands_close(&tc);
    free(job_path);
    jobrecords_free(attempts, n);
    spool_close(sp);
    return rc;
}
