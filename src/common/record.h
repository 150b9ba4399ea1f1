/* SPDX-License-Identifier: MIT */
/* Task records: the result of one task attempt, as JSON. */
#ifndef MPISPOOL_RECORD_H
#define MPISPOOL_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* The one rule for "succeeded", whoever decides it (rank 0 on a result,
 * the CLI on a record, a fast scanner on a record's text): the attempt
 * exited with code 0, no signal ended it, and it has no error. exit_code
 * -1: it did not exit; signal 0: none (-1: a value that is not a number);
 * error: whether it has one. In a record's JSON that is: "exit_code" the
 * integer 0, "signal" absent, null or 0, "error" absent or null; the
 * functions below read a record that way and decide with this one. */
bool record_succeeded(int exit_code, int signal, bool error);

/* record_succeeded of a record. */
bool record_ok(const struct task_record *rec);

/* record_succeeded of a record as jansson holds it (a JSON object). */
bool record_ok_json(const json_t *rec);

/* A member's value in a record's JSON text, as written (a string with its
 * quotes); text NULL: the member is absent. */
struct record_token {
    const char *text;
    size_t len;
};

/* record_succeeded of the tokens of "exit_code", "signal" and "error" of
 * a record's text (record_scan), read as record_ok_json reads them. */
bool record_ok_tokens(const struct record_token *exit_code,
                      const struct record_token *signal,
                      const struct record_token *error);

/* Scan len bytes of text, a flat JSON object (scalar values only, keys
 * without escapes: every record rank 0 writes without "steps"), for the
 * members named keys[0..n-1]: their tokens into tok[0..n-1] ({NULL, 0}
 * for one not there; the last one counts). Builds nothing: a million
 * records scan in about a second, against ten with jansson. Returns 0, or
 * -1 for any other text (then read it with jansson, which decides). Only
 * the shape is checked: a token may still be invalid JSON. */
int record_scan(const char *text, size_t len, const char *const *keys, size_t n,
                struct record_token *tok);

/* records.jsonl, the records of a job in the order they were written,
 * one a line. Read f from where it is, at most limit bytes: fn(arg,
 * line) (fn may be NULL) for each whole line, without its newline (an
 * empty one is counted, not passed). A line without its newline (torn by
 * a crash, or still being written), one longer than RECORD_MAX_LINE, or
 * one with a NUL ends the reading. Sets *nlines to the number of lines
 * read, and returns the number of bytes they take. */
#define RECORD_MAX_LINE (4 << 20)
uint64_t record_each_line(FILE *f, uint64_t limit,
                          void (*fn)(void *arg, const char *line), void *arg,
                          size_t *nlines);

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
/* The same, for a reader that lists records by task: text without a
 * non-negative integer "task" is no task record (-1 with err). */
int record_from_json_task(const char *text, struct task_record *rec,
                          struct mps_error *err);

/* Free the strings of rec and zero it. */
void record_clear(struct task_record *rec);

#endif
