/* SPDX-License-Identifier: MIT */
/* Task files: one shell command per line, read as a stream. */
#ifndef MPISPOOL_TASKFILE_H
#define MPISPOOL_TASKFILE_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"

/* A task file holds one shell command per line. Lines are separated by \n
 * (a trailing \r is removed). A line that is empty, only white space, or
 * whose first non-blank character is '#' is skipped; every other line is one
 * task, numbered from 0 in file order. A NUL byte or a line longer than
 * TASKFILE_MAX_LINE is an error naming the line number. The file is never
 * held in memory whole. */
#define TASKFILE_MAX_LINE (1024 * 1024)

struct taskfile;

/* Open path for reading tasks from the start. A path that is not a regular
 * file (a FIFO, a device, a directory) is refused without blocking. */
struct taskfile *taskfile_open(const char *path, struct mps_error *err);

/* Read tasks from fd (which the reader takes over, even on failure) from
 * its current offset; name is used in messages. */
struct taskfile *taskfile_fdopen(int fd, const char *name,
                                 struct mps_error *err);

/* Read the next task's command. Returns 1 and sets *line (owned by the
 * reader, valid until the next call), 0 at end of file, -1 on error. */
int taskfile_next(struct taskfile *tf, const char **line,
                  struct mps_error *err);

/* Number of tasks returned so far. */
uint64_t taskfile_count(const struct taskfile *tf);

/* The 1-based line number in the file of the task last returned by
 * taskfile_next (0 before the first): what GNU parallel numbers a job by
 * (its Seq) when it reads the same file. */
uint64_t taskfile_line(const struct taskfile *tf);

void taskfile_close(struct taskfile *tf);

/* Validate and count the tasks of the stream in, copying its bytes to out
 * when out is not NULL (used by `mpispool submit --tasks`). Returns 0 and
 * sets *ntasks, or -1 with err ("line 7: NUL byte in task file"). name is
 * used in messages. */
int taskfile_copy_count(FILE *in, FILE *out, const char *name, uint64_t *ntasks,
                        struct mps_error *err);

#endif
