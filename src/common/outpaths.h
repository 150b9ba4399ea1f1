/* SPDX-License-Identifier: MIT */
/* The names of a job's files in SPOOL/out/JOBID/ (doc/formats.md), for
 * rank 0 that writes them and the CLI that reads them: TASK.out and
 * TASK.err (a task's output), TASK.json (its last attempt's record),
 * records.jsonl (every attempt's record, one a line) and report.json
 * (the job's report, once it ended). */
#ifndef MPISPOOL_OUTPATHS_H
#define MPISPOOL_OUTPATHS_H

#include <stddef.h>
#include <stdint.h>

struct spool;

#define OUT_RECORDS "records.jsonl"
#define OUT_REPORT "report.json"

/* A task's files. */
enum out_task_file { OUT_STDOUT, OUT_STDERR, OUT_RECORD };

/* Room for a task file's name. */
#define OUT_NAME_LEN 32

/* "TASK.out", "TASK.err" or "TASK.json" into buf (len bytes, at least
 * OUT_NAME_LEN); returns buf. */
const char *out_task_name(uint64_t task, enum out_task_file which, char *buf,
                          size_t len);

/* "JOBDIR/TASK.EXT" (malloc'd, NULL when out of memory) of jobdir, the
 * path of out/JOBID. */
char *out_task_path(const char *jobdir, uint64_t task,
                    enum out_task_file which);

/* "SPOOL/out/JOBID/NAME" (malloc'd; NULL when out of memory), name one of
 * the above (out_task_name, OUT_RECORDS, OUT_REPORT), or NULL for
 * "SPOOL/out/JOBID". */
char *out_file(const struct spool *sp, const char *jobid, const char *name);

/* out_file of task's file. */
char *out_task_file(const struct spool *sp, const char *jobid, uint64_t task,
                    enum out_task_file which);

#endif
