/* SPDX-License-Identifier: MIT */
/* Progress display: the bar of wait and status --watch, and the
 * status --watch loop. */
#include "progress.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "cli.h"
#include "spool.h"
#include "util.h"

#define PLAIN_INTERVAL_US 1000000
#define SAMPLE_GAP_US 250000

void pbar_init(struct pbar *p, FILE *out, bool tty)
{
    *p = (struct pbar){.out = out, .fd = fileno(out), .tty = tty};
}

void pbar_term_size(int fd, int *cols, int *rows)
{
    struct winsize ws;
    *cols = 0;
    *rows = 0;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
    const char *env;
    if (*cols <= 0 && (env = getenv("COLUMNS")))
        *cols = atoi(env);
    if (*rows <= 0 && (env = getenv("LINES")))
        *rows = atoi(env);
    if (*cols <= 0)
        *cols = 80;
    if (*rows <= 0)
        *rows = 24;
}

/* Note the count for the rate: one sample every SAMPLE_GAP_US at most. */
static void add_sample(struct pbar *p, long long n, int64_t now)
{
    if (p->nsamples > 0) {
        size_t last = (p->next + PBAR_SAMPLES - 1) % PBAR_SAMPLES;
        if (now - p->samples[last].t < SAMPLE_GAP_US) {
            if (n < p->samples[last].n) /* a count went back: start over */
                p->nsamples = 0;
            else
                return;
        }
    }
    p->samples[p->next].t = now;
    p->samples[p->next].n = n;
    p->next = (p->next + 1) % PBAR_SAMPLES;
    if (p->nsamples < PBAR_SAMPLES)
        p->nsamples++;
}

/* Tasks a second over the samples kept (the last 16 s or more), or -1
 * while less than a second has been seen. */
static double rate(const struct pbar *p)
{
    if (p->nsamples < 2)
        return -1;
    size_t oldest = (p->next + PBAR_SAMPLES - p->nsamples) % PBAR_SAMPLES;
    size_t last = (p->next + PBAR_SAMPLES - 1) % PBAR_SAMPLES;
    double dt = (double)(p->samples[last].t - p->samples[oldest].t) / 1e6;
    if (dt < 1)
        return -1;
    return (double)(p->samples[last].n - p->samples[oldest].n) / dt;
}

static const char *eta_text(double secs, char *buf, size_t len)
{
    unsigned long long s = (unsigned long long)(secs + 0.5);
    if (s < 60)
        snprintf(buf, len, "%llus", s);
    else if (s < 3600)
        snprintf(buf, len, "%llum %02llus", s / 60, s % 60);
    else if (s < 100 * 3600)
        snprintf(buf, len, "%lluh %02llum", s / 3600, s / 60 % 60);
    else
        snprintf(buf, len, "%llud", s / 86400);
    return buf;
}

const char *pbar_format(struct pbar *p, const struct pbar_counts *c, int width,
                        bool bar, char *buf, size_t len)
{
    int64_t now = util_mono_us();
    add_sample(p, c->completed >= 0 ? c->completed : c->done, now);
    double r = rate(p);
    char rtext[32], etext[40], jtext[48] = "", eta[24];
    if (r < 0)
        snprintf(rtext, sizeof rtext, "-- tasks/s");
    else
        snprintf(rtext, sizeof rtext, r < 10 ? "%.1f tasks/s" : "%.0f tasks/s",
                 r);
    long long left = c->tasks - c->done;
    /* wait: the tasks are known once every job is claimed (or has
     * ended); status (jobs 0): they are those of the claimed jobs */
    bool known = c->tasks > 0 || c->jobs == c->jobs_ended;
    char ttext[32];
    if (known)
        snprintf(ttext, sizeof ttext, "%lld", c->tasks);
    else
        snprintf(ttext, sizeof ttext, "?");
    if (known && left <= 0)
        snprintf(etext, sizeof etext, "ETA 0s");
    else if (r > 0 && known)
        snprintf(etext, sizeof etext, "ETA %s",
                 eta_text(ceil((double)left / r), eta, sizeof eta));
    else
        snprintf(etext, sizeof etext, "ETA --");
    if (c->jobs > 1)
        snprintf(jtext, sizeof jtext, "%zu/%zu jobs, ", c->jobs_ended, c->jobs);
    char text[256];
    int n = snprintf(
        text, sizeof text, "%s%lld/%s tasks, %lld failed, %lld running, %s, %s",
        jtext, c->done, ttext, c->failed, c->running, rtext, etext);
    if (n < 0)
        n = 0;
    /* the bar: a third of the width, 10 to 40 characters, less when the
     * text needs the room (so it keeps its width while the text grows) */
    int bw = (width - 1) / 3;
    if (bw > 40)
        bw = 40;
    if (bw > width - 1 - n - 3)
        bw = width - 1 - n - 3;
    if (!bar || bw < 10) {
        snprintf(buf, len, "%.*s", width > 1 ? width - 1 : 0, text);
        return buf;
    }
    int filled = c->tasks > 0
                     ? (int)((double)bw * (double)c->done / (double)c->tasks)
                     : 0;
    if (filled > bw)
        filled = bw;
    char barbuf[48];
    for (int i = 0; i < bw; i++)
        barbuf[i] = i < filled ? '#' : '.';
    barbuf[bw] = '\0';
    snprintf(buf, len, "[%s] %s", barbuf, text);
    return buf;
}

static void draw(struct pbar *p, const struct pbar_counts *c)
{
    int cols, rows;
    pbar_term_size(p->fd, &cols, &rows);
    char line[512];
    pbar_format(p, c, cols, true, line, sizeof line);
    /* one write: carriage return, the line, erase to the end */
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
    p->shown = true;
}

static bool same(const struct pbar_counts *a, const struct pbar_counts *b)
{
    return a->tasks == b->tasks && a->done == b->done &&
           a->failed == b->failed && a->running == b->running &&
           a->jobs == b->jobs && a->jobs_ended == b->jobs_ended;
}

static void print_plain(struct pbar *p, const struct pbar_counts *c)
{
    char line[512];
    pbar_format(p, c, 400, false, line, sizeof line);
    fprintf(p->out, "progress: %s\n", line);
    fflush(p->out);
    p->last = *c;
    p->printed_any = true;
    p->last_print_us = util_mono_us();
}

void pbar_update(struct pbar *p, const struct pbar_counts *c)
{
    if (p->tty) {
        draw(p, c);
        return;
    }
    if (p->printed_any && same(c, &p->last)) {
        add_sample(p, c->completed >= 0 ? c->completed : c->done,
                   util_mono_us());
        return;
    }
    if (p->printed_any &&
        util_mono_us() - p->last_print_us < PLAIN_INTERVAL_US) {
        add_sample(p, c->completed >= 0 ? c->completed : c->done,
                   util_mono_us());
        return;
    }
    print_plain(p, c);
}

void pbar_clear(struct pbar *p)
{
    if (p->tty && p->shown) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
        p->shown = false;
    }
}

void pbar_finish(struct pbar *p, const struct pbar_counts *c)
{
    if (p->tty) {
        draw(p, c);
        fputc('\n', p->out);
        fflush(p->out);
        p->shown = false;
        return;
    }
    if (!p->printed_any || !same(c, &p->last))
        print_plain(p, c);
}

/* ------------------------------------------------------------ status */

static volatile sig_atomic_t watch_stop;

static void on_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

/* The claimed jobs of every coordinator, summed; completed: the tasks
 * the coordinators have ended so far (for the rate). */
static void status_counts(json_t *coords, struct pbar_counts *c)
{
    *c = (struct pbar_counts){0};
    size_t i, j;
    json_t *st, *job;
    json_array_foreach(coords, i, st)
    {
        json_t *totals = json_object_get(st, "totals");
        c->completed += member_int(totals, "tasks_succeeded") +
                        member_int(totals, "tasks_failed");
        json_array_foreach(json_object_get(st, "jobs"), j, job)
        {
            c->tasks += member_int(job, "tasks");
            c->failed += member_int(job, "failed");
            c->done += member_int(job, "succeeded") + member_int(job, "failed");
            c->running += member_int(job, "running");
        }
    }
}

/* The text of `mpispool status` for the spool at path (malloc'd). It is
 * cmd_status itself, with stdout pointed at a memory stream. */
static char *status_text(const char *path, size_t *len)
{
    char *text = NULL;
    FILE *mem = open_memstream(&text, len);
    if (!mem)
        return NULL;
    char a0[] = "status", a1[] = "--spool";
    char *a2 = strdup(path);
    char *argv[] = {a0, a1, a2, NULL};
    if (a2) {
        fflush(stdout);
        FILE *saved = stdout;
        stdout = mem;
        cmd_status(3, argv, NULL);
        stdout = saved;
    }
    free(a2);
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

int status_watch(struct cmdline *cl, const struct more_opts *more)
{
    double secs = 2;
    const char *arg = more->watch_arg;
    int extra = 0;
    if (!arg && cl->noperands >= 1)
        arg = cl->operands[extra++];
    if (cl->noperands > extra)
        return usage_error("status", "unexpected argument '%s'",
                           cl->operands[extra]);
    if (arg && (parse_seconds(arg, &secs) < 0 || secs < 0.1 || secs > 86400))
        return usage_error(
            "status", "--watch takes seconds (0.1 to 86400), not '%s'", arg);
    struct spool *sp = NULL;
    int rc = open_spool(cl, &sp);
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
        long nnew = more->until_idle ? count_json(sp, SPOOL_NEW) : 1;
        long ncur = more->until_idle ? count_json(sp, SPOOL_CUR) : 1;
        json_t *coords = load_status_files(sp);
        struct pbar_counts c;
        status_counts(coords, &c);
        json_decref(coords);
        size_t len = 0;
        char *text = status_text(spool_path(sp), &len);
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
