/* SPDX-License-Identifier: MIT */
/* mpispool submit -- COMMAND ::: ARGS: a job's task file made of the
 * command lines GNU parallel would run (see argsubst.h). */
#ifndef MPISPOOL_ARGTASKS_H
#define MPISPOOL_ARGTASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The most bytes of arguments read from argument files (all together),
 * and of the command lines made from them. */
#define ARGTASKS_MAX_ARG_BYTES (256ULL << 20)
#define ARGTASKS_MAX_TASK_BYTES (1ULL << 30)

struct argtasks;

/* Whether the words after "--" hold ::: :::+ :::: or ::::+. */
bool argtasks_wanted(char *const *words, size_t nwords);

/* Parse the words after "--": the command and its argument sources.
 * Returns NULL after a usage error message (exit code 2). */
struct argtasks *argtasks_parse(char *const *words, size_t nwords);

/* Read the argument files, make the command lines and write them, one a
 * line, to a new file in dir (which is unlinked at once). Returns that
 * file open for reading at its start, and sets *nlines; NULL after a
 * message (exit code 1). */
FILE *argtasks_write(struct argtasks *at, const char *dir, uint64_t *nlines);

void argtasks_free(struct argtasks *at);

#endif
