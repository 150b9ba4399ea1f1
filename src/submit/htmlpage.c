/* SPDX-License-Identifier: MIT */
/* The model of report --html's page: a report's task attempts read as a
 * stream, each record in place when it is flat, else by jansson. */
#include "htmlpage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "record.h"
#include "reportread.h"
#include "util.h"

void page_clear(struct page *pg)
{
    json_decref(pg->head);
    for (size_t i = 0; i < pg->nrows; i++)
        free(pg->rows[i].host);
    for (size_t i = 0; i < pg->nerrors; i++)
        free(pg->errors[i]);
    free(pg->rows);
    free(pg->errors);
    free(pg->a);
    memset(pg, 0, sizeof *pg);
}

static unsigned row_hash(const char *host, long long rank)
{
    unsigned h = 2166136261u;
    for (const char *p = host; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ (unsigned)rank) * 16777619u;
    return h % PAGE_ROW_BUCKETS;
}

/* The row of host:rank, added when new; -1 when out of memory. */
static int row_of(struct page *pg, const char *host, long long rank)
{
    unsigned b = row_hash(host, rank);
    for (int i = pg->bucket[b] - 1; i >= 0; i = pg->rows[i].next)
        if (pg->rows[i].rank == rank && strcmp(pg->rows[i].host, host) == 0)
            return i;
    struct page_row *rows =
        util_grow(pg->rows, pg->nrows, &pg->rcap, sizeof *rows, 16);
    if (!rows)
        return -1;
    pg->rows = rows;
    char *copy = strdup(host);
    if (!copy)
        return -1;
    int i = (int)pg->nrows++;
    pg->rows[i] = (struct page_row){
        .host = copy, .rank = rank, .next = pg->bucket[b] - 1};
    pg->bucket[b] = i + 1;
    return i;
}

static bool is_true(json_t *rec, const char *key)
{
    return json_is_true(json_object_get(rec, key));
}

/* The members of a task record the page uses. */
struct rec_view {
    long long task, attempt, rank, max_rss_kb;
    const char *host, *start, *end, *error; /* NULL: absent or null */
    double elapsed;                         /* NAN: absent */
    double user_s, system_s;
    bool has_exit, has_error, timed_out, cancelled, interrupted;
    bool ok; /* succeeded, by record.h's one rule */
    int exit_code, signal;
};

/* A record as jansson reads it (any valid JSON object). */
static int view_from_json(json_t *rec, struct rec_view *v)
{
    if (!json_is_object(rec))
        return -1;
    json_t *code = json_object_get(rec, "exit_code");
    json_t *sig = json_object_get(rec, "signal");
    json_t *error = json_object_get(rec, "error");
    json_t *elapsed = json_object_get(rec, "elapsed");
    *v = (struct rec_view){
        .task = fmt_member_int(rec, "task"),
        .attempt = fmt_member_int(rec, "attempt"),
        .rank = fmt_member_int(rec, "rank"),
        .max_rss_kb = fmt_member_int(rec, "max_rss_kb"),
        .host = json_string_value(json_object_get(rec, "host")),
        .start = json_string_value(json_object_get(rec, "start")),
        .end = json_string_value(json_object_get(rec, "end")),
        .error = json_string_value(error),
        .elapsed = json_is_number(elapsed) ? json_number_value(elapsed) : NAN,
        .user_s = json_number_value(json_object_get(rec, "user_s")),
        .system_s = json_number_value(json_object_get(rec, "system_s")),
        .has_exit = json_is_integer(code),
        .has_error = error && !json_is_null(error),
        .timed_out = is_true(rec, "timed_out"),
        .cancelled = is_true(rec, "cancelled"),
        .interrupted = is_true(rec, "interrupted"),
        .exit_code = json_is_integer(code) ? (int)json_integer_value(code) : 0,
        .signal = json_is_integer(sig) ? (int)json_integer_value(sig) : 0,
        .ok = record_ok_json(rec),
    };
    return 0;
}

/* The same from a flat JSON object (scalar values, strings without
 * escapes), read in place: once the whole object is read, its values get
 * their NUL in text. A million records take a second this way, ten with
 * jansson. Returns -1 (text unchanged) for anything else; then jansson
 * reads the record. */
static const char *const view_keys[] = {
    "host",      "start",      "end",         "error",
    "timed_out", "cancelled",  "interrupted", "elapsed",
    "user_s",    "system_s",   "task",        "attempt",
    "rank",      "max_rss_kb", "exit_code",   "signal"};
enum { NKEYS = sizeof view_keys / sizeof *view_keys };

/* A value of a flat record: its text in place, and whether a string. */
struct view_token {
    char *text;
    size_t len;
    bool str;
};

/* The values of view_keys in a flat JSON object (record_scan), strings
 * without their quotes; -1 for anything else, or a string with an escape
 * or a control character (jansson decodes it). */
static int scan_view_tokens(char *p, char *end, struct view_token *tok)
{
    struct record_token raw[NKEYS];
    if (record_scan(p, (size_t)(end - p), view_keys, NKEYS, raw) < 0)
        return -1;
    for (size_t k = 0; k < NKEYS; k++) {
        tok[k] = (struct view_token){0};
        if (!raw[k].text)
            continue;
        char *value = p + (raw[k].text - p);
        tok[k].str = *value == '"';
        tok[k].text = tok[k].str ? value + 1 : value;
        tok[k].len = tok[k].str ? raw[k].len - 2 : raw[k].len;
        for (size_t i = 0; tok[k].str && i < tok[k].len; i++)
            if (tok[k].text[i] == '\\' || (unsigned char)tok[k].text[i] < 0x20)
                return -1;
    }
    return 0;
}

/* Whether the numbers of tok are numbers (checked before anything is
 * changed); 0 or -1. */
static int check_view_numbers(const struct view_token *tok)
{
    /* Check the numbers before changing anything. */
    for (size_t k = 0; k < NKEYS; k++) {
        if (!tok[k].text || tok[k].str)
            continue;
        char buf[64], *num_end;
        if (tok[k].len >= sizeof buf)
            return -1;
        memcpy(buf, tok[k].text, tok[k].len);
        buf[tok[k].len] = '\0';
        if (strcmp(buf, "null") == 0 || strcmp(buf, "true") == 0 ||
            strcmp(buf, "false") == 0)
            continue;
        if (k >= 4 && k <= 6)
            return -1; /* a flag that is not a boolean */
        if (k >= 10)
            (void)strtoll(buf, &num_end, 10);
        else
            (void)strtod(buf, &num_end);
        if (num_end == buf || *num_end)
            return -1; /* 3.0 as an integer, or worse: jansson decides */
    }
    return 0;
}

/* The view of the tokens; each value gets its NUL in place. */
static void set_view(struct rec_view *v, struct view_token *tok)
{
    *v = (struct rec_view){.elapsed = NAN};
    for (size_t k = 0; k < NKEYS; k++) {
        if (!tok[k].text)
            continue;
        char *t = tok[k].text;
        t[tok[k].len] = '\0'; /* a closing quote, separator or blank */
        bool null = !tok[k].str && strcmp(t, "null") == 0;
        bool yes = !tok[k].str && strcmp(t, "true") == 0;
        bool number = !tok[k].str && !null && !yes && strcmp(t, "false");
        switch (k) {
        case 0:
            v->host = tok[k].str ? t : NULL;
            break;
        case 1:
            v->start = tok[k].str ? t : NULL;
            break;
        case 2:
            v->end = tok[k].str ? t : NULL;
            break;
        case 3:
            v->error = tok[k].str ? t : NULL;
            v->has_error = !null;
            break;
        case 4:
            v->timed_out = yes;
            break;
        case 5:
            v->cancelled = yes;
            break;
        case 6:
            v->interrupted = yes;
            break;
        case 7:
            v->elapsed = number ? strtod(t, NULL) : NAN;
            break;
        case 8:
            v->user_s = number ? strtod(t, NULL) : 0;
            break;
        case 9:
            v->system_s = number ? strtod(t, NULL) : 0;
            break;
        default: {
            long long n = number ? strtoll(t, NULL, 10) : 0;
            if (k == 10)
                v->task = n;
            else if (k == 11)
                v->attempt = n;
            else if (k == 12)
                v->rank = n;
            else if (k == 13)
                v->max_rss_kb = n;
            else if (k == 14) {
                v->has_exit = number;
                v->exit_code = (int)n;
            } else {
                v->signal = (int)n;
            }
        }
        }
    }
}

/* A string token's text with its quotes, as record_scan gave it. */
static struct record_token raw_token(const struct view_token *t)
{
    return t->str ? (struct record_token){t->text - 1, t->len + 2}
                  : (struct record_token){t->text, t->len};
}

static int view_from_text(char *p, char *end, struct rec_view *v)
{
    struct view_token tok[NKEYS] = {{0}};
    if (scan_view_tokens(p, end, tok) < 0 || check_view_numbers(tok) < 0)
        return -1;
    /* Before set_view puts NULs in the text. */
    struct record_token code = raw_token(&tok[14]), sig = raw_token(&tok[15]),
                        error = raw_token(&tok[3]);
    bool ok = record_ok_tokens(&code, &sig, &error);
    set_view(v, tok);
    v->ok = ok;
    return 0;
}

/* Add one task record (JSON text, changed in place) to the page. */
static int page_add_record(struct page *pg, char *text, size_t len)
{
    struct rec_view v;
    json_t *rec = NULL;
    if (!pg->slow && view_from_text(text, text + len, &v) == 0) {
        /* read in place */
    } else {
        rec = json_loadb(text, len, 0, NULL);
        if (view_from_json(rec, &v) < 0) {
            json_decref(rec);
            return -1;
        }
    }
    int rc = -1;
    struct page_attempt *a = util_grow(pg->a, pg->n, &pg->cap, sizeof *a, 1024);
    if (!a)
        goto out;
    pg->a = a;
    struct page_attempt *at = &pg->a[pg->n];
    memset(at, 0, sizeof *at);
    at->row = row_of(pg, v.host ? v.host : "?", v.rank);
    if (at->row < 0)
        goto out;
    at->task = v.task;
    at->number = (int)v.attempt;
    if (util_parse_time(v.start, &at->start_us) < 0)
        at->start_us = INT64_MIN;
    if (util_parse_time(v.end, &at->end_us) < 0)
        at->end_us = at->start_us;
    if (at->start_us == INT64_MIN)
        at->start_us = at->end_us;
    at->elapsed = !isnan(v.elapsed) ? v.elapsed
                                    : (double)(at->end_us - at->start_us) / 1e6;
    if (!isfinite(at->elapsed) || at->elapsed < 0)
        at->elapsed = 0;
    at->has_exit = v.has_exit;
    at->exit_code = v.exit_code;
    at->signal = v.signal;
    at->timed_out = v.timed_out;
    if (v.error && pg->nerrors < PAGE_MAX_ERRORS) {
        char **errors =
            util_grow(pg->errors, pg->nerrors, &pg->ecap, sizeof *errors, 64);
        if (!errors)
            goto out;
        pg->errors = errors;
        if (!(pg->errors[pg->nerrors] = strdup(v.error)))
            goto out;
        at->error = (unsigned)++pg->nerrors;
    }
    bool ok = v.ok;
    if (v.interrupted)
        at->outcome = PAGE_INTERRUPTED;
    else if (v.cancelled)
        at->outcome = PAGE_CANCELLED;
    else if (ok)
        at->outcome = PAGE_OK;
    else if (at->timed_out)
        at->outcome = PAGE_TIMEOUT;
    else
        at->outcome = PAGE_FAILED;
    pg->count[at->outcome]++;
    pg->user_s += isfinite(v.user_s) ? v.user_s : 0;
    pg->system_s += isfinite(v.system_s) ? v.system_s : 0;
    if (v.max_rss_kb > pg->max_rss_kb)
        pg->max_rss_kb = v.max_rss_kb;
    pg->n++;
    rc = 0;
out:
    json_decref(rec);
    return rc;
}

static int page_record(void *arg, char *text, size_t len)
{
    return page_add_record(arg, text, len);
}

/* Read report.json as a stream (its records never sit in memory as JSON
 * all at once). Returns 0 or -1 with err. */
int page_load(struct page *pg, const char *path, struct mps_error *err)
{
    memset(pg, 0, sizeof *pg);
    pg->head = json_object();
    pg->slow = getenv("MPISPOOL_HTML_SLOW_PARSE") != NULL;
    int rc = report_stream(path, pg->head, page_record, pg, err);
    if (rc < 0)
        page_clear(pg);
    return rc;
}
