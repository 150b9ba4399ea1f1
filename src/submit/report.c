/* SPDX-License-Identifier: MIT */
/* mpispool report: an ended job's summary, report.json or its HTML page. */
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asuser.h"
#include "cli.h"
#include "error.h"
#include "format.h"
#include "html.h"
#include "jobfile.h"
#include "jobreport.h"
#include "reportread.h"
#include "spool.h"
#include "table.h"
#include "util.h"

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
        cli_error("cannot open '%s': %s", path, strerror(errno));
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
            cli_error("cannot read '%s': %s", path, strerror(errno));
            rc = 1;
            break;
        }
        if (n == 0)
            break;
        if (util_write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
            cli_error("cannot write to standard output: %s", strerror(errno));
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
    printf("job %s\n", fmt_member_text(h, "job", b1, sizeof b1));
    printf("name %s\n", fmt_member_text(h, "name", b1, sizeof b1));
    printf("state %s\n", fmt_member_text(h, "state", b1, sizeof b1));
    /* Written by the coordinator from job ids: nothing to escape. */
    if (json_is_string(json_object_get(h, "reason")))
        printf("reason %s\n", fmt_member_text(h, "reason", b1, sizeof b1));
    printf("tasks %s: %s succeeded, %s failed",
           fmt_member_text(counts, "tasks", b1, sizeof b1),
           fmt_member_text(counts, "succeeded", b2, sizeof b2),
           fmt_member_text(counts, "failed", b3, sizeof b3));
    /* Dropped or ended by mpispool cancel or fail_fast, or never run. */
    if (fmt_member_int(counts, "cancelled") > 0)
        printf(", %lld cancelled",
               (long long)fmt_member_int(counts, "cancelled"));
    putchar('\n');
    const char *submitted = json_string_value(json_object_get(h, "submitted"));
    const char *started = json_string_value(json_object_get(h, "started"));
    const char *ended = json_string_value(json_object_get(h, "ended"));
    if (submitted)
        printf("submitted %s\n", fmt_local_time(submitted, b1, sizeof b1));
    printf("started %s\n", fmt_local_time(started, b1, sizeof b1));
    printf("ended %s\n", fmt_local_time(ended, b1, sizeof b1));
    int64_t s_us, e_us;
    if (util_parse_time(started, &s_us) == 0 &&
        util_parse_time(ended, &e_us) == 0)
        printf("wall time %s\n",
               fmt_duration((double)(e_us - s_us) / 1e6, b1, sizeof b1));
    printf("cpu time %s (user %.2fs + system %.2fs, %llu attempt%s)\n",
           fmt_duration(rep->user_s + rep->system_s, b1, sizeof b1),
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
        const struct report_row *row = &rep->rows[i];
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
    struct cli_cmdline cl;
    bool as_json = false;
    struct cli_more more = {.allow = CLI_MORE_HTML};
    int rc = cli_parse_json_options(&cl, "report", report_usage, argc, argv,
                                    spool, &as_json, &more);
    if (rc >= 0)
        return rc;
    rc = 0;
    struct spool *sp = NULL;
    char *path = NULL, *reason = NULL;
    if (cl.noperands != 1) {
        rc = cli_usage_error("report", cl.noperands ? "give one job id"
                                                    : "no job given: mpispool "
                                                      "report JOBID");
        goto out;
    }
    if ((rc = cli_open_spool(&cl, &sp)) != 0)
        goto out;
    rc = 1;
    const char *id = cl.operands[0];
    int where = cli_locate_job(sp, id);
    switch (where) {
    case SPOOL_NEW:
    case SPOOL_CUR:
        cli_error("job '%s' has not ended yet (it is %s)", id,
                  where == SPOOL_NEW ? "queued" : "running");
        goto out;
    case SPOOL_REJECTED:
        reason = report_rejected_reason(sp, id);
        cli_error("job '%s' was rejected: %s", id,
                  reason ? reason : "(no reason given)");
        goto out;
    case SPOOL_DONE:
    case SPOOL_FAILED:
    case SPOOL_CANCEL:
        break;
    default: /* said by cli_locate_job */
        goto out;
    }
    if (!(path = where == SPOOL_CANCEL ? withdrawn_report(sp, id)
                                       : report_path(sp, id))) {
        cli_error("cannot make the report of job '%s': %s", id,
                  strerror(errno));
        goto out;
    }
    if (as_json && more.html) {
        rc = cli_usage_error("report", "give --json or --html, not both");
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
        cli_error("%s", err.text);
        goto out;
    }
    print_report(&rep);
    report_clear(&rep);
    rc = 0;
out:
    free(path);
    free(reason);
    spool_close(sp);
    cli_cmdline_free(&cl);
    return rc;
}
