/* SPDX-License-Identifier: MIT */
/* Task files: one shell command per line, read as a stream. */
#ifndef MPISPOOL_TASKFILE_H
#define MPISPOOL_TASKFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

/* A task file holds one shell command per line. Lines are separated by \n
 * (a trailing \r is removed). A line that is empty, only white space, or
 * whose first non-blank character is '#' is skipped; every other line is one
 * task, numbered from 0 in file order. A NUL byte or a line longer than
 * TASKFILE_MAX_LINE is an error naming the line number. The file is never
 * held in memory whole, nor a line longer than the limit: reading stops
 * a few bytes past it.
 *
 * A first line "#!PROG" (an absolute path) or "#!/usr/bin/env NAME" names
 * the program that runs the tasks (taskfile_interpreter); an interpreter
 * line with options ("#!/bin/bash -e") is an error.
 *
 * disBatch's directives, read as disBatch reads them: a line that starts
 * with "#DISBATCH" (upper case, first column) is a directive, of these:
 *   #DISBATCH PREFIX TEXT   TEXT goes before each later task's command
 *   #DISBATCH SUFFIX TEXT   TEXT goes after it (a later one replaces the
 *                           earlier; "PREFIX " alone sets an empty one)
 *   #DISBATCH REPEAT N [start S] [step K] [COMMAND]
 *                           N tasks of prefix + COMMAND + suffix, with the
 *                           repeat indexes S, S+K, ... (S 0, K 1 unless
 *                           given; N 0 makes none)
 * The keywords are matched in any case, with one space after "#DISBATCH"
 * and after PREFIX or SUFFIX (what follows that space is the text, spaces
 * included). Any other "#DISBATCH" line (BARRIER, PERENGINE, a misspelt
 * one) is an error naming its line and saying what to do instead. A task
 * made with a prefix or suffix is at most TASKFILE_MAX_LINE bytes too. */
#define TASKFILE_MAX_LINE (1024 * 1024)

struct taskfile;

/* Open path for reading tasks from the start. A path that is not a regular
 * file (a FIFO, a device, a directory) is refused without blocking. */
struct taskfile *taskfile_open(const char *path, struct mps_error *err);

/* Read tasks from fd (which the reader takes over, even on failure) from
 * its current offset; name is used in messages. */
struct taskfile *taskfile_fdopen(int fd, const char *name,
                                 struct mps_error *err);

/* Return only the tasks whose numbers in the whole file are numbers[0] <
 * numbers[1] < ... (n of them; the reader copies them). Call before the
 * first taskfile_next. A file that ends before the last of them is an
 * error. Returns 0, or -1 when out of memory. */
int taskfile_select(struct taskfile *tf, const uint64_t *numbers, size_t n,
                    struct mps_error *err);

/* Read the next task's command. Returns 1 and sets *line (owned by the
 * reader, valid until the next call), 0 at end of file (or after the last
 * selected task), -1 on error. */
int taskfile_next(struct taskfile *tf, const char **line,
                  struct mps_error *err);

/* Read and check the rest of the file, counting its (selected) tasks
 * without returning them; a REPEAT costs no more than one line. Returns 0
 * or -1 on error (also when a selected task is missing). */
int taskfile_finish(struct taskfile *tf, struct mps_error *err);

/* Number of tasks returned so far (and counted by taskfile_finish). */
uint64_t taskfile_count(const struct taskfile *tf);

/* The task last returned: the 1-based line number of the task file that
 * made it (for a REPEAT task, the REPEAT's line); its number in the whole
 * file (from 0; taskfile_count() - 1 unless tasks are selected); its
 * REPEAT index, or -1 when no REPEAT made it. */
uint64_t taskfile_line(const struct taskfile *tf);
uint64_t taskfile_number(const struct taskfile *tf);
int64_t taskfile_repeat_index(const struct taskfile *tf);

/* Whether a #DISBATCH directive was read so far (after taskfile_finish:
 * whether the file is a disBatch task file). */
bool taskfile_disbatch(const struct taskfile *tf);

/* The interpreter a first line "#!..." names (a path, or a name to look up
 * in PATH for "#!/usr/bin/env NAME"), or NULL. Known once the first task
 * was read. */
const char *taskfile_interpreter(const struct taskfile *tf);

void taskfile_close(struct taskfile *tf);

/* Validate and count the tasks of the stream in, copying its bytes to out
 * when out is not NULL (used by `mpispool submit --tasks`). Returns 0 and
 * sets *ntasks, or -1 with err ("line 7: NUL byte in task file"). name is
 * used in messages. */
int taskfile_copy_count(FILE *in, FILE *out, const char *name, uint64_t *ntasks,
                        struct mps_error *err);

#endif
