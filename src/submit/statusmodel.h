/* SPDX-License-Identifier: MIT */
/* The spool's status as status shows it: the coordinators' status files,
 * the queue sizes and the drained hosts, loaded once and rendered as text
 * or JSON to any stream. */
#ifndef MPISPOOL_STATUSMODEL_H
#define MPISPOOL_STATUSMODEL_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "spool.h"

/* new/ cur/ done/ failed/ rejected/, counted in this order. */
#define STATUS_NCOUNTED 5

struct status_model {
    const char *path;             /* the spool's (owned by the spool) */
    json_t *coords;               /* status files, sorted by name */
    long counts[STATUS_NCOUNTED]; /* job files; -1: cannot be listed */
    json_t *drained;              /* hosts; NULL: cannot be listed */
};

/* Load the model of the spool sp (which must outlive it); 0, or -1 when
 * out of memory. Free it with status_model_free. */
int status_model_load(const struct spool *sp, struct status_model *m);
void status_model_free(struct status_model *m);
/* The text of `mpispool status` at the time now (microseconds since the
 * epoch: ages and "(stale)" are measured from it), to out. */
void status_render_text(const struct status_model *m, int64_t now, FILE *out);
/* The text of `mpispool status --json`, without its final newline
 * (malloc'd; NULL: out of memory). */
char *status_render_json(const struct status_model *m);

/* The number of *.json files in a spool directory, or -1 when it cannot
 * be listed (new/ is mode 1733: only its owner and root may list it). */
long status_count_json(const struct spool *sp, enum spool_dir dir);
/* The hosts drained (drain/HOST made by root or the spool's
 * administrator), sorted, as a JSON array; NULL when drain/ cannot be
 * listed. A spool without drain/ has none. */
json_t *status_drained_hosts(const struct spool *sp);

#endif
