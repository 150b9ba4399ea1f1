/* SPDX-License-Identifier: MIT */
/* The report of a job cancelled before any of its tasks ran (withdrawn by
 * its owner, or cancelled in new/ by root), and writing a job's report
 * into out/JOBID/ as the job's owner. */
#ifndef MPISPOOL_JOBREPORT_H
#define MPISPOOL_JOBREPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "error.h"

struct spool;

/* What report.json says of a job (doc/formats.md), but its records: its
 * members in this order. name, submitted and reason may be NULL (JSON
 * null); started_us 0: it never started (null). */
struct job_report {
    const char *job, *name, *state, *submitted;
    int64_t started_us, ended_us;
    uint64_t tasks, succeeded, failed, cancelled; /* "counts" */
    const char *reason;
};

/* The report's members but "tasks", as a JSON object; NULL when out of
 * memory. */
json_t *jobreport_head(const struct job_report *rep);

/* The records that follow the head: each(arg, emit, emit_arg) calls
 * emit(emit_arg, line) for each record, a line of records.jsonl. */
typedef void jobreport_records(void *arg,
                               void (*emit)(void *emit_arg, const char *line),
                               void *emit_arg);

/* Print report.json of rep to out, compact and one line: the head's
 * members, then "tasks": every record each gives (NULL: none), in order,
 * streamed (a million never sit in memory). The one writer of a running
 * job's report. 0, or -1 when out of memory (out's errors are the
 * caller's to check). */
int jobreport_print(FILE *out, const struct job_report *rep,
                    jobreport_records *each, void *arg);

/* The report (out/JOBID/report.json, doc/formats.md) of job jobid,
 * cancelled before it ran, from its job file open at fd (-1: it could not
 * be opened) whose fstat (or lstat) is st: state "cancelled", "ended" the
 * file's change time (the cancel renamed it), no task record, every task
 * counted cancelled. A job with a task file has it counted as the owner
 * of the job file (st_uid) may read it; a file that is not a valid job
 * gives no name and no tasks. NULL when out of memory. */
json_t *jobreport_cancelled(const struct spool *sp, const char *jobid, int fd,
                            const struct stat *st);

/* Write text (len bytes) as out/JOBID/report.json of a job owned by uid
 * owner, as that user: out/JOBID is made if missing (by this process, in
 * its own out/, then given to the owner with mode 0777 & ~mask), and the
 * report is written in it as the owner (asuser_enter) with mode 0666 &
 * ~mask, to a temporary name, fsync'd, then renamed. Owner root, or this
 * process not root: as this process. 0, or -1 with err and errno set
 * (asuser_transient(errno): worth trying again later). */
int jobreport_write(const struct spool *sp, const char *jobid, uint32_t owner,
                    unsigned mask, const char *text, size_t len,
                    struct mps_error *err);

/* jobreport_cancelled, then jobreport_write for the owner of the job file
 * (st_uid) with the umask its submitter had ("submit_umask"). */
int jobreport_write_cancelled(const struct spool *sp, const char *jobid, int fd,
                              const struct stat *st, struct mps_error *err);

#endif
