/* SPDX-License-Identifier: MIT */
/* A job's task attempt records as the CLI reads them (log, resume-failed). */
#include "jobrecords.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outpaths.h"
#include "util.h"

static int attempt_cmp(const void *a, const void *b)
{
    const struct job_attempt *x = a, *y = b;
    if (x->task != y->task)
        return x->task < y->task ? -1 : 1;
    if (x->attempt != y->attempt)
        return x->attempt < y->attempt ? -1 : 1;
    return 0;
}

/* Append rec (taken over) to the list. */
static int add_attempt(struct job_attempt **list, size_t *n, size_t *cap,
                       json_t *rec)
{
    json_t *task = json_object_get(rec, "task");
    json_t *attempt = json_object_get(rec, "attempt");
    if (!json_is_object(rec) || !json_is_integer(task)) {
        json_decref(rec);
        return 0; /* not a task record: skipped */
    }
    struct job_attempt *grown = util_grow(*list, *n, cap, sizeof **list, 64);
    if (!grown) {
        json_decref(rec);
        return -1;
    }
    *list = grown;
    (*list)[(*n)++] = (struct job_attempt){
        .task = json_integer_value(task),
        .attempt = json_is_integer(attempt) ? json_integer_value(attempt) : 1,
        .rec = rec};
    return 0;
}

/* Where record_each_line's lines go: parsed, into the list. */
struct lines {
    struct job_attempt **list;
    size_t *n, *cap;
    bool failed; /* out of memory */
};

static void add_line(void *arg, const char *line)
{
    struct lines *l = arg;
    json_t *rec = json_loads(line, 0, NULL);
    if (rec && !l->failed && add_attempt(l->list, l->n, l->cap, rec) < 0)
        l->failed = true;
    else if (l->failed)
        json_decref(rec);
}

int jobrecords_load(const struct spool *sp, const char *id, bool ended,
                    struct job_attempt **out, size_t *n, struct mps_error *err)
{
    char *path = out_file(sp, id, ended ? OUT_REPORT : OUT_RECORDS);
    struct job_attempt *list = NULL;
    size_t count = 0, cap = 0;
    *out = NULL;
    *n = 0;
    if (!path)
        return errprintf(err, "out of memory");
    if (ended) {
        json_error_t jerr;
        json_t *report = json_load_file(path, 0, &jerr);
        json_t *tasks = json_object_get(report, "tasks");
        if (!json_is_array(tasks)) {
            errprintf(err, "cannot read the report '%s': %s", path,
                      report ? "no \"tasks\" array" : jerr.text);
            json_decref(report);
            free(path);
            return -1;
        }
        size_t i;
        json_t *rec;
        json_array_foreach(tasks, i, rec)
        {
            if (add_attempt(&list, &count, &cap, json_incref(rec)) < 0) {
                json_decref(report);
                free(path);
                jobrecords_free(list, count);
                return errprintf(err, "out of memory");
            }
        }
        json_decref(report);
    } else {
        FILE *in = fopen(path, "re");
        if (!in && errno != ENOENT) {
            errprintf(err, "cannot open '%s': %s", path, strerror(errno));
            free(path);
            return -1;
        }
        /* record.h's reader of records.jsonl: whole lines only (the last
         * one may still be being written). */
        struct lines lines = {&list, &count, &cap, 0};
        size_t nlines;
        if (in) {
            record_each_line(in, UINT64_MAX, add_line, &lines, &nlines);
            fclose(in);
        }
        if (lines.failed) {
            free(path);
            jobrecords_free(list, count);
            return errprintf(err, "out of memory");
        }
    }
    free(path);
    if (count > 1)
        qsort(list, count, sizeof *list, attempt_cmp);
    *out = list;
    *n = count;
    return 0;
}

void jobrecords_free(struct job_attempt *attempts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(attempts[i].rec);
    free(attempts);
}
