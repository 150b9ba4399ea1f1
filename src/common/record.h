/* SPDX-License-Identifier: MIT */
/* Task records: the result of one task attempt, as JSON. */
#ifndef MPISPOOL_RECORD_H
#define MPISPOOL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* One step of a task with "steps" (see jobfile.h): how it ended. exit_code
 * -1 and signal 0 mean none; error is NULL or one line; the byte counts are
 * what the step wrote to the task's stdout and stderr. */
struct step_record {
    int64_t start_us;
    int64_t end_us;
    int exit_code;
    int signal;
    uint64_t stdout_bytes;
    uint64_t stderr_bytes;
    char *error;
};

/* One attempt of one task. Times are wall clock microseconds since the
 * epoch. exit_code is -1 when the task did not exit normally (JSON null);
 * signal is 0 when no signal ended it (JSON null); error is NULL or one
 * line ("cannot execute 'x': No such file or directory"). */
struct task_record {
    char *job;
    uint64_t task;
    unsigned attempt; /* 1 for the first */
    char *host;
    int rank;
    char *cores; /* core list, e.g. "0-3", or NULL */
    char *gpus;  /* GPUs given, as in CUDA_VISIBLE_DEVICES, or NULL */
    int64_t start_us;
    int64_t end_us;
    int exit_code;
    int signal;
    bool timed_out;
    char *error;
    char *stdout_path; /* absolute */
    char *stderr_path;
    uint64_t stdout_bytes;
    uint64_t stderr_bytes;
    long max_rss_kb;
    double user_s;
    double system_s;
    bool cancelled;   /* killed or dropped by mpispool cancel */
    bool interrupted; /* ended by a stop of mpispool-run: runs again */
    char *note;       /* NULL or one line, e.g. "stdout truncated at 1G" */
    /* A task with steps: those that ran, in order (record_to_json only;
     * record_from_json leaves them out). */
    const struct step_record *steps;
    size_t nsteps;
};

/* Whether the attempt succeeded: exit code 0, no signal, no error. */
bool record_ok(const struct task_record *rec);

/* The record as compact one-line JSON (malloc'd, no newline). Keys: job,
 * task, attempt, host, rank, cores, gpus, start, end (RFC 3339), elapsed (float
 * seconds), exit_code, signal, timed_out, error, stdout, stderr,
 * stdout_bytes, stderr_bytes, max_rss_kb, user_s, system_s; and only when
 * set: cancelled, interrupted (true), note, steps (an array of {step,
 * start, end, elapsed, exit_code, signal, stdout_bytes, stderr_bytes,
 * error}). */
char *record_to_json(const struct task_record *rec);

/* Parse what record_to_json wrote. Strings are malloc'd; free them with
 * record_clear. */
int record_from_json(const char *text, struct task_record *rec,
                     struct mps_error *err);

/* Free the strings of rec and zero it. */
void record_clear(struct task_record *rec);

#endif
