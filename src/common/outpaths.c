/* SPDX-License-Identifier: MIT */
/* The names of a job's files in SPOOL/out/JOBID/. */
#include "outpaths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"

static const char *const task_ext[] = {"out", "err", "json"};

const char *out_task_name(uint64_t task, enum out_task_file which, char *buf,
                          size_t len)
{
    snprintf(buf, len, "%llu.%s", (unsigned long long)task, task_ext[which]);
    return buf;
}

char *out_task_path(const char *jobdir, uint64_t task, enum out_task_file which)
{
    char name[OUT_NAME_LEN], *path;
    out_task_name(task, which, name, sizeof name);
    return asprintf(&path, "%s/%s", jobdir, name) < 0 ? NULL : path;
}

char *out_file(const struct spool *sp, const char *jobid, const char *name)
{
    char *rel;
    if (name ? asprintf(&rel, "%s/%s", jobid, name) < 0
             : !(rel = strdup(jobid)))
        return NULL;
    char *path = spool_file(sp, SPOOL_OUT, rel);
    free(rel);
    return path;
}

char *out_task_file(const struct spool *sp, const char *jobid, uint64_t task,
                    enum out_task_file which)
{
    char name[OUT_NAME_LEN];
    return out_file(sp, jobid, out_task_name(task, which, name, sizeof name));
}
