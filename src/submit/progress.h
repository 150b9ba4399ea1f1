/* SPDX-License-Identifier: MIT */
/* A progress bar for wait and status --watch: redrawn in place on a
 * terminal, plain lines (at most one a second) elsewhere. */
#ifndef MPISPOOL_PROGRESS_H
#define MPISPOOL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What the bar shows. */
struct pbar_counts {
    long long tasks;     /* of the jobs followed, as far as known */
    long long done;      /* ended: succeeded or failed */
    long long failed;    /* of done */
    long long running;   /* now */
    long long completed; /* ever-growing count for the rate; -1: done */
    size_t jobs;         /* jobs followed (0: not shown) */
    size_t jobs_ended;
};

#define PBAR_SAMPLES 64

struct pbar {
    FILE *out;
    int fd;
    bool tty;
    bool shown; /* a redrawn line is on the terminal */
    bool printed_any;
    int64_t last_print_us;   /* plain: when the last line was printed */
    struct pbar_counts last; /* plain: what it said */
    struct {
        int64_t t;
        long long n;
    } samples[PBAR_SAMPLES];
    size_t nsamples, next;
};

/* Draw on out (a terminal when tty: in place, else plain lines). */
void pbar_init(struct pbar *p, FILE *out, bool tty);

/* New counts: on a terminal redraw the line; else print a line when they
 * changed and the last line is a second old (call again within a second
 * to get a change out that had to wait). */
void pbar_update(struct pbar *p, const struct pbar_counts *c);

/* Erase the line on a terminal, so that other output can follow. */
void pbar_clear(struct pbar *p);

/* The end: draw the final counts and end the line (terminal), or print
 * them unless the last line said the same. */
void pbar_finish(struct pbar *p, const struct pbar_counts *c);

/* The line for c, at most width characters: "[####....] 12/40 tasks, 1
 * failed, 4 running, 2.0/s, ETA 14s" (bar: with the bar). Records c for
 * the rate. Returns buf. */
const char *pbar_format(struct pbar *p, const struct pbar_counts *c, int width,
                        bool bar, char *buf, size_t len);

/* The terminal's size (TIOCGWINSZ on fd, else $COLUMNS and $LINES, else
 * 80x24). */
void pbar_term_size(int fd, int *cols, int *rows);

#endif
