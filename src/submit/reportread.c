/* SPDX-License-Identifier: MIT */
/* Reading out/JOBID/report.json as a stream: its head, its task records
 * one at a time, and the summary report and wait show. */
#include "reportread.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "outpaths.h"
#include "record.h"
#include "util.h"

/* ------------------------------------------------------------ reports */

/* report.json is read as a stream: its task records (one per attempt, a
 * million for a million tasks) never sit in memory together. */

/* Growing text, always NUL-terminated. */
struct textbuf {
    char *text;
    size_t len, cap;
};

void report_clear(struct report *rep)
{
    json_decref(rep->head);
    for (size_t i = 0; i < rep->nrows; i++) {
        free(rep->rows[i].result);
        free(rep->rows[i].stderr_path);
    }
    *rep = (struct report){0};
}

static int textbuf_add(struct textbuf *b, int c)
{
    if (b->len + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        char *text = realloc(b->text, cap);
        if (!text)
            return -1;
        b->text = text;
        b->cap = cap;
    }
    b->text[b->len++] = (char)c;
    b->text[b->len] = '\0';
    return 0;
}

static bool textbuf_blank(const struct textbuf *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (!strchr(" \t\r\n", b->text[i]))
            return false;
    return true;
}

static int skip_space(FILE *in)
{
    int c;
    do
        c = getc_unlocked(in);
    while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
    return c;
}

/* Read one JSON value's text (into b unless b is NULL) up to the ',' '}'
 * or ']' that ends it, which is returned (EOF when the text ends). */
static int scan_value(FILE *in, struct textbuf *b)
{
    int depth = 0, c;
    bool in_string = false, escaped = false;
    if (b)
        b->len = 0;
    while ((c = getc_unlocked(in)) != EOF) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']' || c == ',') {
            if (depth == 0)
                return c;
            if (c != ',')
                depth--;
        }
        if (b && textbuf_add(b, c) < 0)
            return EOF;
    }
    return EOF;
}

/* The members of a task record that a report sums up, in the order of
 * their tokens (record_scan). */
static const char *const summed_keys[] = {
    "task", "exit_code", "signal", "error", "max_rss_kb", "user_s", "system_s"};
enum { K_TASK, K_EXIT, K_SIGNAL, K_ERROR, K_RSS, K_USER, K_SYSTEM, NSUMMED };

/* Add one task record (the text of a JSON object) to the report. */
static int report_add_record(struct report *rep, const char *text, size_t len)
{
    /* The fast path: a flat record's tokens read in place (a million
     * records a second; jansson takes ten). Both paths decide "succeeded"
     * by record.h's one rule. */
    struct record_token f[NSUMMED];
    json_t *rec = NULL;
    if (record_scan(text, len, summed_keys, NSUMMED, f) < 0) {
        /* not a flat object: let jansson read it (or refuse it) */
        rec = json_loadb(text, len, 0, NULL);
        if (!json_is_object(rec)) {
            json_decref(rec);
            return -1;
        }
    }
    rep->nrecords++;
    double user_s, system_s;
    long long rss, task;
    bool ok;
    if (rec) {
        user_s = json_number_value(json_object_get(rec, "user_s"));
        system_s = json_number_value(json_object_get(rec, "system_s"));
        rss = fmt_member_int(rec, "max_rss_kb");
        task = fmt_member_int(rec, "task");
        ok = record_ok_json(rec);
    } else {
        user_s = f[K_USER].text ? strtod(f[K_USER].text, NULL) : 0;
        system_s = f[K_SYSTEM].text ? strtod(f[K_SYSTEM].text, NULL) : 0;
        rss = f[K_RSS].text ? strtoll(f[K_RSS].text, NULL, 10) : 0;
        task = f[K_TASK].text ? strtoll(f[K_TASK].text, NULL, 10) : 0;
        ok = record_ok_tokens(&f[K_EXIT], &f[K_SIGNAL], &f[K_ERROR]);
    }
    rep->user_s += isfinite(user_s) ? user_s : 0;
    rep->system_s += isfinite(system_s) ? system_s : 0;
    if (rss > rep->max_rss_kb) {
        rep->max_rss_kb = rss;
        rep->max_rss_task = task;
    }
    if (!ok) {
        rep->nfailed++;
        if (rep->nrows < REPORT_MAX_ROWS && !rec)
            rec = json_loadb(text, len, 0, NULL);
    }
    if (!ok && rep->nrows < REPORT_MAX_ROWS && json_is_object(rec)) {
        struct report_row *row = &rep->rows[rep->nrows];
        row->task = fmt_member_int(rec, "task");
        row->attempt = fmt_member_int(rec, "attempt");
        row->result = fmt_record_result(rec);
        const char *err_path =
            json_string_value(json_object_get(rec, "stderr"));
        row->stderr_path = strdup(err_path ? err_path : "-");
        if (row->result && row->stderr_path) {
            rep->nrows++;
        } else {
            free(row->result);
            free(row->stderr_path);
        }
    }
    json_decref(rec);
    return 0;
}

int report_stream(const char *path, json_t *head,
                  int (*record)(void *arg, char *text, size_t len), void *arg,
                  struct mps_error *err)
{
    FILE *in = fopen(path, "re");
    if (!in)
        return errprintf(err, "cannot open '%s': %s", path, strerror(errno));
    static char buf[1 << 16];
    setvbuf(in, buf, _IOFBF, sizeof buf);
    struct textbuf b = {0};
    int rc = -1;
    if (!head || skip_space(in) != '{')
        goto bad;
    for (;;) {
        int c = skip_space(in);
        if (c == '}')
            break;
        if (c != '"')
            goto bad;
        /* the key */
        b.len = 0;
        if (textbuf_add(&b, '"') < 0)
            goto bad;
        bool escaped = false;
        while ((c = getc_unlocked(in)) != EOF) {
            if (textbuf_add(&b, c) < 0)
                goto bad;
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                break;
        }
        json_t *key = json_loadb(b.text, b.len, JSON_DECODE_ANY, NULL);
        if (!json_is_string(key) || skip_space(in) != ':') {
            json_decref(key);
            goto bad;
        }
        char *name = strdup(json_string_value(key));
        json_decref(key);
        if (!name)
            goto bad;
        bool is_tasks = strcmp(name, "tasks") == 0;
        if (is_tasks && !record && json_object_get(head, "counts")) {
            free(name);
            rc = 0;
            goto out;
        }
        if (is_tasks) {
            free(name);
            if (skip_space(in) != '[')
                goto bad;
            int end;
            do {
                end = scan_value(in, record ? &b : NULL);
                if (end == EOF)
                    goto bad;
                if (!record || (end == ']' && textbuf_blank(&b)))
                    continue;
                if (record(arg, b.text, b.len) < 0)
                    goto bad;
            } while (end == ',');
            if (end != ']')
                goto bad;
            c = skip_space(in);
        } else {
            c = scan_value(in, &b);
            json_t *value =
                c == EOF ? NULL
                         : json_loadb(b.text, b.len, JSON_DECODE_ANY, NULL);
            if (!value) {
                free(name);
                goto bad;
            }
            json_object_set_new(head, name, value);
            free(name);
        }
        if (c == '}')
            break;
        if (c != ',')
            goto bad;
    }
    rc = 0;
    goto out;
bad:
    if (ferror(in))
        errprintf(err, "cannot read '%s': %s", path, strerror(errno));
    else
        errprintf(err, "'%s' is not a valid report", path);
out:
    free(b.text);
    fclose(in);
    return rc;
}

static int report_record(void *arg, char *text, size_t len)
{
    return report_add_record(arg, text, len);
}

/* Read out/JOBID/report.json. Without with_tasks, stop at the task
 * records once the counts are known. Returns 0 or -1 with err. */
int report_load(const char *path, bool with_tasks, struct report *rep,
                struct mps_error *err)
{
    *rep = (struct report){.head = json_object()};
    int rc = report_stream(path, rep->head, with_tasks ? report_record : NULL,
                           rep, err);
    if (rc < 0)
        report_clear(rep);
    return rc;
}

char *report_path(const struct spool *sp, const char *jobid)
{
    return out_file(sp, jobid, OUT_REPORT);
}

/* The first line of rejected/JOBID.error (malloc'd), or NULL. */
char *report_rejected_reason(const struct spool *sp, const char *jobid)
{
    char name[160];
    snprintf(name, sizeof name, "%s.error", jobid);
    char *path = spool_file(sp, SPOOL_REJECTED, name);
    FILE *in = path ? fopen(path, "re") : NULL;
    free(path);
    if (!in)
        return NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got = getline(&line, &cap, in);
    fclose(in);
    if (got <= 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}
