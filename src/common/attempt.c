/* SPDX-License-Identifier: MIT */
/* Copying and freeing attempts and their results as a whole. */
#include "attempt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *dup_or_null(const char *s, bool *failed)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *failed = true;
    return d;
}

static struct taskcmd *steps_copy(const struct taskcmd *src, uint32_t n)
{
    struct taskcmd *steps = calloc(n, sizeof *steps);
    if (!steps)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        steps[i].shell = src[i].shell;
        steps[i].argc = src[i].argc;
        steps[i].argv = util_strv_dup(src[i].argv);
        if (!steps[i].argv) {
            for (uint32_t j = 0; j < i; j++)
                taskcmd_free(&steps[j]);
            free(steps);
            return NULL;
        }
    }
    return steps;
}

int attempt_copy(struct attempt *dst, const struct attempt *src)
{
    bool failed = false;
    *dst = *src;
    dst->job = dup_or_null(src->job, &failed);
    dst->cwd = dup_or_null(src->cwd, &failed);
    dst->submit_dir = dup_or_null(src->submit_dir, &failed);
    dst->interpreter = dup_or_null(src->interpreter, &failed);
    dst->argv = src->argv ? util_strv_dup(src->argv) : NULL;
    dst->env = src->env ? util_strv_dup(src->env) : NULL;
    dst->groups = NULL;
    if (src->ngroups && src->groups &&
        (dst->groups = malloc(src->ngroups * sizeof *dst->groups)))
        memcpy(dst->groups, src->groups, src->ngroups * sizeof *dst->groups);
    dst->steps = NULL;
    if (src->nsteps && src->steps)
        dst->steps = steps_copy(src->steps, src->nsteps);
    if (failed || (src->argv && !dst->argv) || (src->env && !dst->env) ||
        (src->ngroups && src->groups && !dst->groups) ||
        (src->nsteps && src->steps && !dst->steps)) {
        attempt_clear(dst);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void attempt_clear(struct attempt *a)
{
    free(a->job);
    util_strv_free(a->argv);
    free(a->cwd);
    free(a->submit_dir);
    util_strv_free(a->env);
    free(a->groups);
    for (uint32_t i = 0; a->steps && i < a->nsteps; i++)
        taskcmd_free(&a->steps[i]);
    free(a->steps);
    free(a->interpreter);
    memset(a, 0, sizeof *a);
}

int attempt_result_copy(struct attempt_result *dst,
                        const struct attempt_result *src)
{
    bool failed = false;
    *dst = *src;
    dst->error = dup_or_null(src->error, &failed);
    dst->cores = dup_or_null(src->cores, &failed);
    dst->gpus = dup_or_null(src->gpus, &failed);
    dst->steps = NULL;
    dst->nsteps = 0;
    if (src->nsteps && (dst->steps = calloc(src->nsteps, sizeof *src->steps))) {
        dst->nsteps = src->nsteps;
        for (uint32_t i = 0; i < src->nsteps; i++) {
            dst->steps[i] = src->steps[i];
            dst->steps[i].error = dup_or_null(src->steps[i].error, &failed);
        }
    } else if (src->nsteps) {
        failed = true;
    }
    return failed ? -1 : 0;
}

void attempt_result_clear(struct attempt_result *r)
{
    free(r->error);
    free(r->cores);
    free(r->gpus);
    for (uint32_t i = 0; r->steps && i < r->nsteps; i++)
        free(r->steps[i].error);
    free(r->steps);
    memset(r, 0, sizeof *r);
}
