/* SPDX-License-Identifier: MIT */
/* disBatch's "#DISBATCH" task file directives, parsed as disBatch does. */
#ifndef MPISPOOL_DISBATCH_H
#define MPISPOOL_DISBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The directive a line starts with (disBatch tests the upper-case prefix
 * before anything else, so "#disbatch ..." and " #DISBATCH ..." are
 * comments). */
#define DISBATCH_MARK "#DISBATCH"

enum disbatch_kind { DISBATCH_PREFIX, DISBATCH_SUFFIX, DISBATCH_REPEAT };

/* One directive. text points into the parsed line: the PREFIX or SUFFIX
 * text, or the REPEAT command (NULL when the REPEAT has none). */
struct disbatch_directive {
    enum disbatch_kind kind;
    const char *text;
    size_t len;
    uint64_t count; /* REPEAT: how many tasks */
    int64_t start;  /* REPEAT: the first index (default 0) */
    int64_t step;   /* REPEAT: between indexes (default 1) */
};

/* Parse a line (len bytes, no newline) that starts with DISBATCH_MARK the
 * way disBatch's regular expressions match it (re.I, Python's
 * backtracking):
 *   ^#DISBATCH PREFIX (.*)$
 *   ^#DISBATCH SUFFIX (.*)$
 *   ^#DISBATCH REPEAT\s+(N)(?:\s+start\s+(S))?(?:\s+step\s+(K))?(?:
 * (CMD.+))?\s*$ Every other such line is refused: BARRIER and PERENGINE (which
 * mpispool does not do), and lines disBatch would log as unknown and skip
 * (or, for "#DISBATCHX", run as a task). REPEAT's numbers must keep every
 * index below 2^63. Returns 0, or -1 with err saying what is wrong and what
 * to write instead (without the file and line). */
int disbatch_parse(const char *line, size_t len, struct disbatch_directive *d,
                   struct mps_error *err);

#endif
