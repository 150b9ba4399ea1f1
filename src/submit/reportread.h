/* SPDX-License-Identifier: MIT */
/* Reading out/JOBID/report.json as a stream: its head, its task records
 * one at a time, and the summary report and wait show. */
#ifndef MPISPOOL_REPORTREAD_H
#define MPISPOOL_REPORTREAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "spool.h"

#define REPORT_MAX_ROWS 20

struct report_row {
    long long task, attempt;
    char *result; /* "exit 3", "signal 9 (Killed), timed out", "error: ..." */
    char *stderr_path;
};

/* What report shows of a job: its head and the sums of its records. */
struct report {
    json_t *head; /* every member but "tasks" */
    uint64_t nrecords;
    double user_s, system_s;
    long long max_rss_kb, max_rss_task;
    struct report_row rows[REPORT_MAX_ROWS];
    size_t nrows;
    uint64_t nfailed; /* failed attempts, rows or not */
};

/* Stream out/JOBID/report.json: every member but "tasks" into head; each
 * task record's text to record(arg, ...) (which may change it in place);
 * with record NULL, stop at the records once "counts" is known. Returns 0,
 * or -1 with err ("'PATH' is not a valid report", or the read error). */
int report_stream(const char *path, json_t *head,
                  int (*record)(void *arg, char *text, size_t len), void *arg,
                  struct mps_error *err);
/* Read the report at path into rep. Without with_tasks, stop at the task
 * records once the counts are known. Returns 0 or -1 with err; free rep
 * with report_clear. */
int report_load(const char *path, bool with_tasks, struct report *rep,
                struct mps_error *err);
void report_clear(struct report *rep);
/* SPOOL/out/JOBID/report.json (malloc'd). */
char *report_path(const struct spool *sp, const char *jobid);
/* The first line of rejected/JOBID.error (malloc'd), or NULL. */
char *report_rejected_reason(const struct spool *sp, const char *jobid);

#endif
