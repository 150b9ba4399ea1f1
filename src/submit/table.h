/* SPDX-License-Identifier: MIT */
/* Columns of text aligned on output: the tables of status and report. */
#ifndef MPISPOOL_TABLE_H
#define MPISPOOL_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define TABLE_MAX_COLS 10

/* Columns of text, aligned on output (width counted in UTF-8 characters). */
struct table {
    size_t ncols;
    const char *heads[TABLE_MAX_COLS];
    unsigned right; /* bit i: column i is right-aligned (numbers) */
    size_t limit[TABLE_MAX_COLS]; /* cut longer cells; 0: no limit */
    char **cells;                 /* nrows * ncols */
    size_t nrows, cap;
};

void table_init(struct table *t, size_t ncols, const char *const *heads,
                unsigned right);
/* Add a row of ncols strings (copied; NULL shows as "-"); 0 or -1. */
int table_add(struct table *t, const char *const *row);
/* The heads and rows, each line starting with indent. */
void table_print(const struct table *t, FILE *out, const char *indent);
void table_free(struct table *t);

#endif
