/* SPDX-License-Identifier: MIT */
/* Task records: the result of one task attempt, as JSON. */
#include "record.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

bool record_succeeded(int exit_code, int signal, bool error)
{
    return exit_code == 0 && signal == 0 && !error;
}

bool record_ok(const struct task_record *rec)
{
    return record_succeeded(rec->exit_code, rec->signal, rec->error != NULL);
}

/* How a record's JSON values read: "exit_code" an int, else -1 (null: it
 * did not exit); "signal" an int, 0 when absent or null, else -1; "error"
 * whether there is one (absent or null: none). */
static int json_exit_code(const json_t *v)
{
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    return n >= INT_MIN && n <= INT_MAX ? (int)n : -1;
}

static int json_signal(const json_t *v)
{
    if (!v || json_is_null(v))
        return 0;
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    return n >= INT_MIN && n <= INT_MAX ? (int)n : -1;
}

static bool json_has_error(const json_t *v)
{
    return v && !json_is_null(v);
}

bool record_ok_json(const json_t *rec)
{
    return json_is_object(rec) &&
           record_succeeded(json_exit_code(json_object_get(rec, "exit_code")),
                            json_signal(json_object_get(rec, "signal")),
                            json_has_error(json_object_get(rec, "error")));
}

/* The same of tokens: what jansson would make of them. */
static bool token_null(const struct record_token *t)
{
    return !t->text || (t->len == 4 && memcmp(t->text, "null", 4) == 0);
}

/* A JSON integer (no fraction, no exponent) in int range, else -1. */
static int token_int(const struct record_token *t)
{
    char buf[24], *end;
    if (!t->text || t->len == 0 || t->len >= sizeof buf)
        return -1;
    memcpy(buf, t->text, t->len);
    buf[t->len] = '\0';
    const char *digits = buf[0] == '-' ? buf + 1 : buf;
    if (*digits < '0' || *digits > '9')
        return -1;
    long long n = strtoll(buf, &end, 10);
    return *end == '\0' && n >= INT_MIN && n <= INT_MAX ? (int)n : -1;
}

bool record_ok_tokens(const struct record_token *exit_code,
                      const struct record_token *signal,
                      const struct record_token *error)
{
    return record_succeeded(token_int(exit_code),
                            token_null(signal) ? 0 : token_int(signal),
                            !token_null(error));
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int record_scan(const char *p, size_t len, const char *const *keys, size_t n,
                struct record_token *tok)
{
    const char *end = p + len;
    memset(tok, 0, n * sizeof *tok);
    while (p < end && blank(*p))
        p++;
    if (p == end || *p++ != '{')
        return -1;
    for (;;) {
        while (p < end && blank(*p))
            p++;
        if (p < end && *p == '}')
            return 0;
        if (p == end || *p++ != '"')
            return -1;
        const char *key = p;
        while (p < end && *p != '"' && *p != '\\')
            p++;
        if (p == end || *p != '"')
            return -1;
        size_t klen = (size_t)(p++ - key);
        while (p < end && blank(*p))
            p++;
        if (p == end || *p++ != ':')
            return -1;
        while (p < end && blank(*p))
            p++;
        const char *value = p;
        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            if (p >= end)
                return -1;
            p++;
        } else {
            while (p < end && *p != ',' && *p != '}' && !blank(*p)) {
                if (*p == '{' || *p == '[' || *p == '"')
                    return -1;
                p++;
            }
        }
        size_t vlen = (size_t)(p - value);
        for (size_t i = 0; i < n; i++)
            if (keys[i][0] == key[0] && strncmp(keys[i], key, klen) == 0 &&
                keys[i][klen] == '\0')
                tok[i] = (struct record_token){value, vlen};
        while (p < end && blank(*p))
            p++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}')
            return 0;
        return -1;
    }
}

uint64_t record_each_line(FILE *f, uint64_t limit,
                          void (*fn)(void *arg, const char *line), void *arg,
                          size_t *nlines)
{
    uint64_t good = 0;
    *nlines = 0;
    char *line = malloc(RECORD_MAX_LINE + 2);
    if (!line)
        return 0;
    while (good < limit && fgets(line, RECORD_MAX_LINE + 2, f)) {
        size_t len = strlen(line);
        /* Torn, over-long, or with a NUL: not a whole line of records. */
        if (len == 0 || line[len - 1] != '\n' || good + len > limit)
            break;
        good += len;
        line[len - 1] = '\0';
        if (fn && len > 1)
            fn(arg, line);
        (*nlines)++;
    }
    free(line);
    return good;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

char *record_to_json(const struct task_record *rec)
{
    char start[UTIL_TIME_LEN], end[UTIL_TIME_LEN];
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "job", string_or_null(rec->job));
    json_object_set_new(o, "task", json_integer((json_int_t)rec->task));
    json_object_set_new(o, "attempt", json_integer(rec->attempt));
    json_object_set_new(o, "host", string_or_null(rec->host));
    json_object_set_new(o, "rank", json_integer(rec->rank));
    json_object_set_new(o, "cores", string_or_null(rec->cores));
    json_object_set_new(o, "gpus", string_or_null(rec->gpus));
    json_object_set_new(o, "start",
                        json_string(util_format_time(rec->start_us, start)));
    json_object_set_new(o, "end",
                        json_string(util_format_time(rec->end_us, end)));
    json_object_set_new(o, "elapsed",
                        json_real((double)(rec->end_us - rec->start_us) / 1e6));
    json_object_set_new(o, "exit_code",
                        rec->exit_code >= 0 ? json_integer(rec->exit_code)
                                            : json_null());
    json_object_set_new(o, "signal",
                        rec->signal ? json_integer(rec->signal) : json_null());
    json_object_set_new(o, "timed_out", json_boolean(rec->timed_out));
    json_object_set_new(o, "error", string_or_null(rec->error));
    json_object_set_new(o, "stdout", string_or_null(rec->stdout_path));
    json_object_set_new(o, "stderr", string_or_null(rec->stderr_path));
    json_object_set_new(o, "stdout_bytes",
                        json_integer((json_int_t)rec->stdout_bytes));
    json_object_set_new(o, "stderr_bytes",
                        json_integer((json_int_t)rec->stderr_bytes));
    json_object_set_new(o, "max_rss_kb", json_integer(rec->max_rss_kb));
    json_object_set_new(o, "user_s", json_real(rec->user_s));
    json_object_set_new(o, "system_s", json_real(rec->system_s));
    if (rec->cancelled)
        json_object_set_new(o, "cancelled", json_true());
    if (rec->interrupted)
        json_object_set_new(o, "interrupted", json_true());
    if (rec->note)
        json_object_set_new(o, "note", json_string(rec->note));
    if (rec->nsteps) {
        json_t *steps = json_array();
        for (size_t i = 0; steps && i < rec->nsteps; i++) {
            const struct step_record *st = &rec->steps[i];
            char t1[UTIL_TIME_LEN], t2[UTIL_TIME_LEN];
            json_t *so = json_object();
            json_object_set_new(so, "step", json_integer((json_int_t)i));
            json_object_set_new(
                so, "start", json_string(util_format_time(st->start_us, t1)));
            json_object_set_new(so, "end",
                                json_string(util_format_time(st->end_us, t2)));
            json_object_set_new(
                so, "elapsed",
                json_real((double)(st->end_us - st->start_us) / 1e6));
            json_object_set_new(so, "exit_code",
                                st->exit_code >= 0 ? json_integer(st->exit_code)
                                                   : json_null());
            json_object_set_new(so, "signal",
                                st->signal ? json_integer(st->signal)
                                           : json_null());
            json_object_set_new(so, "stdout_bytes",
                                json_integer((json_int_t)st->stdout_bytes));
            json_object_set_new(so, "stderr_bytes",
                                json_integer((json_int_t)st->stderr_bytes));
            json_object_set_new(so, "error", string_or_null(st->error));
            json_array_append_new(steps, so);
        }
        json_object_set_new(o, "steps", steps);
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

static char *dup_string(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

/* A record's time, or 0 when it has none. */
static int64_t parse_time(const char *s)
{
    int64_t us;
    return util_parse_time(s, &us) == 0 ? us : 0;
}

/* record_from_json and record_from_json_task: with need_task, a record
 * without a task number is none. */
static int from_json(const char *text, struct task_record *rec, bool need_task,
                     struct mps_error *err)
{
    memset(rec, 0, sizeof *rec);
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return errprintf(err, "invalid task record: %s",
                         o ? "not an object" : jerr.text);
    }
    json_t *task = json_object_get(o, "task");
    if (need_task && (!json_is_integer(task) || json_integer_value(task) < 0)) {
        json_decref(o);
        return errprintf(err, "invalid task record: no task number");
    }
    rec->job = dup_string(o, "job");
    rec->task = (uint64_t)json_integer_value(json_object_get(o, "task"));
    rec->attempt = (unsigned)json_integer_value(json_object_get(o, "attempt"));
    rec->host = dup_string(o, "host");
    rec->rank = (int)json_integer_value(json_object_get(o, "rank"));
    rec->cores = dup_string(o, "cores");
    rec->gpus = dup_string(o, "gpus");
    rec->start_us = parse_time(json_string_value(json_object_get(o, "start")));
    rec->end_us = parse_time(json_string_value(json_object_get(o, "end")));
    /* As record_ok_json reads them, so that record_ok agrees with it. */
    rec->exit_code = json_exit_code(json_object_get(o, "exit_code"));
    rec->signal = json_signal(json_object_get(o, "signal"));
    rec->timed_out = json_is_true(json_object_get(o, "timed_out"));
    json_t *v = json_object_get(o, "error");
    rec->error = json_is_string(v)   ? strdup(json_string_value(v))
                 : json_has_error(v) ? json_dumps(v, JSON_ENCODE_ANY)
                                     : NULL;
    rec->stdout_path = dup_string(o, "stdout");
    rec->stderr_path = dup_string(o, "stderr");
    rec->stdout_bytes =
        (uint64_t)json_integer_value(json_object_get(o, "stdout_bytes"));
    rec->stderr_bytes =
        (uint64_t)json_integer_value(json_object_get(o, "stderr_bytes"));
    rec->max_rss_kb =
        (long)json_integer_value(json_object_get(o, "max_rss_kb"));
    rec->user_s = json_number_value(json_object_get(o, "user_s"));
    rec->system_s = json_number_value(json_object_get(o, "system_s"));
    rec->cancelled = json_is_true(json_object_get(o, "cancelled"));
    rec->interrupted = json_is_true(json_object_get(o, "interrupted"));
    rec->note = dup_string(o, "note");
    json_decref(o);
    return 0;
}

int record_from_json(const char *text, struct task_record *rec,
                     struct mps_error *err)
{
    return from_json(text, rec, false, err);
}

int record_from_json_task(const char *text, struct task_record *rec,
                          struct mps_error *err)
{
    return from_json(text, rec, true, err);
}

void record_clear(struct task_record *rec)
{
    free(rec->job);
    free(rec->host);
    free(rec->cores);
    free(rec->gpus);
    free(rec->error);
    free(rec->stdout_path);
    free(rec->stderr_path);
    free(rec->note);
    memset(rec, 0, sizeof *rec);
}
