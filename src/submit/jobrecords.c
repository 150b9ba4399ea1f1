/* SPDX-License-Identifier: MIT */
/* A job's task attempt records as the CLI reads them (log, resume-failed). */
#include "jobrecords.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outpaths.h"
#include "reportread.h"
#include "util.h"

static int record_cmp(const void *a, const void *b)
{
    const struct task_record *x = a, *y = b;
    if (x->task != y->task)
        return x->task < y->task ? -1 : 1;
    if (x->attempt != y->attempt)
        return x->attempt < y->attempt ? -1 : 1;
    return 0;
}

/* The records read so far. */
struct records {
    struct task_record *v;
    size_t n, cap;
    bool failed; /* out of memory */
};

/* Add the record whose text is line; one that is none is skipped. */
static void add_line(void *arg, const char *line)
{
    struct records *r = arg;
    struct task_record rec;
    struct mps_error err;
    if (r->failed || record_from_json_task(line, &rec, &err) < 0)
        return;
    struct task_record *grown = util_grow(r->v, r->n, &r->cap, sizeof rec, 64);
    if (!grown) {
        record_clear(&rec);
        r->failed = true;
        return;
    }
    r->v = grown;
    r->v[r->n++] = rec;
}

static int add_text(void *arg, char *text, size_t len)
{
    (void)len;
    add_line(arg, text);
    return 0;
}

/* Read records.jsonl by record.h's one reader of it: whole lines only (the
 * last one may still be being written). */
static int read_records(const char *path, struct records *r,
                        struct mps_error *err)
{
    FILE *in = fopen(path, "re");
    if (!in)
        return errno == ENOENT ? 0
                               : errprintf(err, "cannot open '%s': %s", path,
                                           strerror(errno));
    size_t nlines;
    record_each_line(in, UINT64_MAX, add_line, r, &nlines);
    fclose(in);
    return 0;
}

/* Stream report.json's task records. */
static int read_report(const char *path, struct records *r,
                       struct mps_error *err)
{
    json_t *head = json_object();
    if (!head)
        return errprintf(err, "out of memory");
    int rc = report_stream(path, head, add_text, r, err);
    json_decref(head);
    return rc;
}

int jobrecords_load(const struct spool *sp, const char *id, bool ended,
                    struct task_record **out, size_t *n, struct mps_error *err)
{
    char *path = out_file(sp, id, ended ? OUT_REPORT : OUT_RECORDS);
    struct records r = {0};
    *out = NULL;
    *n = 0;
    if (!path)
        return errprintf(err, "out of memory");
    int rc = ended ? read_report(path, &r, err) : read_records(path, &r, err);
    free(path);
    if (rc == 0 && r.failed)
        rc = errprintf(err, "out of memory");
    if (rc < 0) {
        jobrecords_free(r.v, r.n);
        return -1;
    }
    if (r.n > 1)
        qsort(r.v, r.n, sizeof *r.v, record_cmp);
    *out = r.v;
    *n = r.n;
    return 0;
}

void jobrecords_free(struct task_record *records, size_t n)
{
    for (size_t i = 0; i < n; i++)
        record_clear(&records[i]);
    free(records);
}
