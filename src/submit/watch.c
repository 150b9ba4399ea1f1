/* SPDX-License-Identifier: MIT */
/* status --watch: the status model and a progress bar, drawn again every
 * SECONDS until interrupted (or, with --until-idle, until the spool is
 * idle). */
#include "watch.h"

#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "progress.h"
#include "spool.h"
#include "statusfile.h"
#include "statusmodel.h"
#include "util.h"

static volatile sig_atomic_t watch_stop;

static void on_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

/* The claimed jobs of every coordinator, summed; completed: the tasks
 * the coordinators have ended so far (for the rate). */
static void watch_counts(json_t *coords, struct pbar_counts *c)
{
    *c = (struct pbar_counts){0};
    size_t i, j;
    json_t *st, *job;
    json_array_foreach(coords, i, st)
    {
        json_t *totals = json_object_get(st, SF_TOTALS);
        c->completed += fmt_member_int(totals, SF_TASKS_SUCCEEDED) +
                        fmt_member_int(totals, SF_TASKS_FAILED);
        json_array_foreach(json_object_get(st, SF_JOBS), j, job)
        {
            c->tasks += fmt_member_int(job, SF_JOB_TASKS);
            c->failed += fmt_member_int(job, SF_JOB_FAILED);
            c->done += fmt_member_int(job, SF_JOB_SUCCEEDED) +
                       fmt_member_int(job, SF_JOB_FAILED);
            c->running += fmt_member_int(job, SF_JOB_RUNNING);
        }
    }
}

/* The text of `mpispool status` for the spool sp (malloc'd): its model
 * rendered to a memory stream. */
static char *status_text(const struct spool *sp, size_t *len)
{
    char *text = NULL;
    FILE *mem = open_memstream(&text, len);
    if (!mem)
        return NULL;
    struct status_model model;
    if (status_model_load(sp, &model) < 0)
        cli_error("out of memory");
    else
        status_render_text(&model, util_now_us(), mem);
    status_model_free(&model);
    if (fclose(mem) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Text lines cut to cols - 1 characters (counted in UTF-8), each ending
 * in "erase to the end of the line", at most max_lines of them. */
static void put_frame_lines(FILE *out, const char *text, int cols,
                            int max_lines)
{
    int lines = 0;
    for (const char *p = text; *p && lines < max_lines; lines++) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        int chars = 0;
        size_t cut = 0;
        for (; cut < n; cut++) {
            if (((unsigned char)p[cut] & 0xc0) != 0x80 && ++chars >= cols)
                break;
        }
        fwrite(p, 1, cut, out);
        fputs("\033[K\n", out);
        p += n + (nl ? 1 : 0);
    }
}

int status_watch(struct cli_cmdline *cl, const struct cli_more *more)
{
    double secs = 2;
    const char *arg = more->watch_arg;
    int extra = 0;
    if (!arg && cl->noperands >= 1)
        arg = cl->operands[extra++];
    if (cl->noperands > extra)
        return cli_usage_error("status", "unexpected argument '%s'",
                               cl->operands[extra]);
    if (arg &&
        (cli_parse_seconds(arg, &secs) < 0 || secs < 0.1 || secs > 86400))
        return cli_usage_error(
            "status", "--watch takes seconds (0.1 to 86400), not '%s'", arg);
    struct spool *sp = NULL;
    int rc = cli_open_spool(cl, &sp);
    if (rc != 0)
        return rc;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    watch_stop = 0;
    bool tty = isatty(STDOUT_FILENO);
    struct pbar bar;
    pbar_init(&bar, stdout, tty);
    bool first = true;
    while (!watch_stop) {
        /* Counted before the frame is made, so that the frame shown last
         * by --until-idle is an idle one (counted after, a job could move
         * to done/ in between and the last frame show it still running). */
        long nnew = more->until_idle ? status_count_json(sp, SPOOL_NEW) : 1;
        long ncur = more->until_idle ? status_count_json(sp, SPOOL_CUR) : 1;
        json_t *coords = statusfile_load_all(sp);
        struct pbar_counts c;
        watch_counts(coords, &c);
        json_decref(coords);
        size_t len = 0;
        char *text = status_text(sp, &len);
        char line[512], when[64];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm);
        if (tty) {
            int cols, rows;
            pbar_term_size(STDOUT_FILENO, &cols, &rows);
            /* one frame: home (clear once), lines that erase what was
             * there, erase below: no flicker */
            fputs(first ? "\033[H\033[2J" : "\033[H", stdout);
            fprintf(stdout, "%s  (every %gs; Ctrl-C to stop)\033[K\n", when,
                    secs);
            fprintf(stdout, "%s\033[K\n",
                    pbar_format(&bar, &c, cols, true, line, sizeof line));
            fputs("\033[K\n", stdout);
            put_frame_lines(stdout, text ? text : "", cols, rows - 4);
            fputs("\033[J", stdout);
        } else {
            printf("--- %s\nprogress: %s\n%s\n", when,
                   pbar_format(&bar, &c, 400, false, line, sizeof line),
                   text ? text : "");
        }
        fflush(stdout);
        free(text);
        first = false;
        if (more->until_idle && nnew <= 0 && ncur == 0 &&
            (nnew == 0 || c.tasks == 0))
            break;
        /* sleep, waking at once on a signal */
        int64_t until = util_mono_us() + (int64_t)(secs * 1e6);
        while (!watch_stop) {
            int64_t left = until - util_mono_us();
            if (left <= 0)
                break;
            poll(NULL, 0, (int)(left / 1000 + 1));
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    spool_close(sp);
    return 0;
}
