/* SPDX-License-Identifier: MIT */
/* A job's task attempt records as the CLI reads them (log, resume-failed). */
#ifndef MPISPOOL_JOBRECORDS_H
#define MPISPOOL_JOBRECORDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "record.h" /* record_ok_json: whether an attempt succeeded */
#include "spool.h"

/* One attempt of one task: its record (a JSON object, owned). */
struct job_attempt {
    long long task, attempt;
    json_t *rec;
};

/* Every attempt record of job id, sorted by task, then attempt. An ended
 * job (in done/ or failed/) is read from out/ID/report.json, any other
 * from out/ID/records.jsonl (a running job: a torn or unreadable line is
 * skipped; no file yet means no records). Returns 0 and sets *out (free
 * with jobrecords_free) and *n, or -1 with err. */
int jobrecords_load(const struct spool *sp, const char *id, bool ended,
                    struct job_attempt **out, size_t *n, struct mps_error *err);

void jobrecords_free(struct job_attempt *attempts, size_t n);

#endif
