/* SPDX-License-Identifier: MIT */
/* mpispool submit --resume-failed: a new job of an ended job's failed tasks. */
#ifndef MPISPOOL_RESUME_H
#define MPISPOOL_RESUME_H

#include <jansson.h>

#include "spool.h"

/* What resume_failed_prepare made for the submit to use. */
struct resume_plan {
    char *tasks_path;   /* a temporary task file of the chosen lines */
    char *archive_path; /* the earlier job's archive, when inherited */
};

/* Turn job into the job that runs again the tasks of the ended job old_id
 * whose last attempt did not succeed, or that never ran (dropped by a
 * cancel, or the coordinator stopped first). The tasks come from
 * *tasks_src (submit --tasks FILE: must have as many tasks as old_id), or
 * job's own task_file, tasks, command or shell, or, when job has none of
 * them, old_id's spooled copy; then job also inherits old_id's keys it
 * does not set (name, cwd, env, cpus, gpus, memory, timeout, retries,
 * retry_backoff, priority, stdout, stderr, archive). A task file source
 * becomes a temporary file of the chosen lines: *tasks_src points to it
 * afterwards, and job's task_file is removed; an array source becomes
 * job's "tasks". job gets "resumed_from": {"job": old_id, "tasks": [the
 * old numbers, in order]}. Returns 0, or an exit code after a message.
 * Free plan with resume_plan_free (it removes the temporary file). */
int resume_failed_prepare(struct spool *sp, const char *old_id, json_t *job,
                          const char *job_path, const char **tasks_src,
                          const char **archive_src, struct resume_plan *plan);

void resume_plan_free(struct resume_plan *plan);

#endif
