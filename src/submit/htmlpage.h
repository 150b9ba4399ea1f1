/* SPDX-License-Identifier: MIT */
/* The model of report --html's page: a report's task attempts, read as a
 * stream and kept compact (a million attempts fit), with their rows
 * (rank on host), outcomes and sums. */
#ifndef MPISPOOL_HTMLPAGE_H
#define MPISPOOL_HTMLPAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Error texts kept (a failed attempt beyond them shows exit or signal). */
#define PAGE_MAX_ERRORS 10000

enum page_outcome {
    PAGE_OK,
    PAGE_FAILED,
    PAGE_TIMEOUT,
    PAGE_CANCELLED,
    PAGE_INTERRUPTED,
    PAGE_N
};

/* One task attempt, as much of its record as the page shows. */
struct page_attempt {
    int64_t start_us, end_us;
    double elapsed;
    long long task;
    int number; /* attempt number */
    int row;    /* index in page.rows */
    int exit_code;
    int signal;
    unsigned error; /* 1 + index in page.errors, 0: none */
    unsigned char outcome;
    bool has_exit, timed_out;
};

/* One row of the timeline: a rank on a host. */
struct page_row {
    char *host;
    long long rank;
    int next; /* hash chain */
};

#define PAGE_ROW_BUCKETS 1024

struct page {
    json_t *head; /* every member of report.json but "tasks" */
    struct page_attempt *a;
    size_t n, cap;
    struct page_row *rows;
    size_t nrows, rcap;
    int bucket[PAGE_ROW_BUCKETS]; /* 1 + row index, 0: empty */
    char **errors;
    size_t nerrors, ecap;
    double user_s, system_s;
    long long max_rss_kb;
    size_t count[PAGE_N];
    bool slow; /* MPISPOOL_HTML_SLOW_PARSE: jansson for every record */
};

/* Read the report.json at path into pg as a stream (its records never
 * sit in memory as JSON all at once). Returns 0 or -1 with err; free pg
 * with page_clear. */
int page_load(struct page *pg, const char *path, struct mps_error *err);
void page_clear(struct page *pg);

#endif
