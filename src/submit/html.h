/* SPDX-License-Identifier: MIT */
/* report --html: one self-contained HTML page of an ended job. */
#ifndef MPISPOOL_HTML_H
#define MPISPOOL_HTML_H

#include "spool.h"

/* Write the HTML page of job id (its report.json is at path) to file
 * ("-": stdout). Returns the exit code. */
int report_html(struct spool *sp, const char *id, const char *path,
                const char *file);

#endif
