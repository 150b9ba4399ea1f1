/* SPDX-License-Identifier: MIT */
/* A job's task attempt records as the CLI reads them (log, resume-failed). */
#ifndef MPISPOOL_JOBRECORDS_H
#define MPISPOOL_JOBRECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "record.h"
#include "spool.h"

/* Every attempt record of job id (read by record.h's record_from_json_task),
 * sorted by task, then attempt. An ended job (in done/ or failed/) is read
 * from out/ID/report.json by reportread.h's streaming reader, any other
 * from out/ID/records.jsonl (a running job: a torn or unreadable line is
 * skipped; no file yet means no records); what is no task record is
 * skipped. Returns 0 and sets *out (free with jobrecords_free) and *n, or
 * -1 with err. */
int jobrecords_load(const struct spool *sp, const char *id, bool ended,
                    struct task_record **out, size_t *n, struct mps_error *err);

void jobrecords_free(struct task_record *records, size_t n);

#endif
