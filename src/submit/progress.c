/* SPDX-License-Identifier: MIT */
/* Progress display: the bar of wait and status --watch. */
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
