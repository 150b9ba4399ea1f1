/* SPDX-License-Identifier: MIT */
/* The idle-desktop policy as given (--idle-policy): parsing it, its
 * settings and the names of its actions and reasons. */
#include "idlepolicy.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h> /* isfinite: a macro, no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct idle_policy {
    double load;
    double idle_s;
    enum idle_action action;
    char *input;    /* colon-separated patterns, "" for none */
    char *loadfile; /* or NULL */
    char *text;     /* the whole policy as a SPEC */
};

static const char *const action_names[] = {"suspend", "requeue"};

const char *idle_action_name(enum idle_action action)
{
    return action == IDLE_REQUEUE ? action_names[1] : action_names[0];
}

const char *idle_reason_name(enum idle_reason reason)
{
    return reason == IDLE_REASON_INPUT  ? "input"
           : reason == IDLE_REASON_LOAD ? "load"
                                        : NULL;
}

/* A duration: a number of seconds, or with an s, m or h suffix. */
static int parse_duration(const char *text, double *seconds)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || !(v >= 0) || !isfinite(v))
        return -1;
    double unit = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        unit = 60, end++;
    else if (*end == 'h')
        unit = 3600, end++;
    if (*end || v * unit > 7 * 86400.0)
        return -1;
    *seconds = v * unit;
    return 0;
}

static void format_duration(double s, char *buf, size_t len)
{
    long long whole = (long long)s;
    bool integral = (double)whole == s;
    if (integral && whole >= 3600 && whole % 3600 == 0)
        snprintf(buf, len, "%gh", s / 3600);
    else if (integral && whole >= 60 && whole % 60 == 0)
        snprintf(buf, len, "%gm", s / 60);
    else
        snprintf(buf, len, "%gs", s);
}

static int set_string(char **field, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* Apply one key=value pair (pair is modified). */
static int apply_pair(struct idle_policy *p, char *pair, struct mps_error *err)
{
    char *eq = strchr(pair, '=');
    if (!eq)
        return errprintf(err, "'%s' is not key=value", pair);
    *eq = '\0';
    const char *key = pair, *value = eq + 1;
    if (strcmp(key, "load") == 0) {
        char *end;
        double v = strtod(value, &end);
        if (end == value || *end || !(v > 0) || !isfinite(v))
            return errprintf(err, "load takes a positive number, not '%s'",
                             value);
        p->load = v;
    } else if (strcmp(key, "idle") == 0) {
        if (parse_duration(value, &p->idle_s) < 0)
            return errprintf(err,
                             "idle takes a duration such as 90s, 15m or 1h "
                             "(at most a week), not '%s'",
                             value);
    } else if (strcmp(key, "input") == 0) {
        if (set_string(&p->input, strcmp(value, "none") == 0 ? "" : value) < 0)
            return errprintf(err, "out of memory");
    } else if (strcmp(key, "action") == 0) {
        if (strcmp(value, "suspend") == 0)
            p->action = IDLE_SUSPEND;
        else if (strcmp(value, "requeue") == 0)
            p->action = IDLE_REQUEUE;
        else
            return errprintf(err, "action takes suspend or requeue, not '%s'",
                             value);
    } else if (strcmp(key, "loadfile") == 0) {
        if (!*value)
            return errprintf(err, "loadfile takes a file name");
        if (set_string(&p->loadfile, value) < 0)
            return errprintf(err, "out of memory");
    } else {
        return errprintf(err,
                         "unknown key '%s' (known: load, idle, input, "
                         "action, loadfile)",
                         key);
    }
    return 0;
}

struct idle_policy *idle_policy_parse(const char *spec, struct mps_error *err)
{
    struct idle_policy *p = calloc(1, sizeof *p);
    char *copy = spec ? strdup(spec) : strdup("");
    if (!p || !copy) {
        errprintf(err, "out of memory");
        goto error;
    }
    p->load = IDLE_DEFAULT_LOAD;
    p->idle_s = IDLE_DEFAULT_IDLE_S;
    p->action = IDLE_SUSPEND;
    if (set_string(&p->input, IDLE_DEFAULT_INPUT) < 0) {
        errprintf(err, "out of memory");
        goto error;
    }
    if (strcmp(copy, "default") != 0 && *copy) {
        char *save = NULL;
        size_t len = strlen(copy);
        if (copy[0] == ',' || copy[len - 1] == ',' || strstr(copy, ",,")) {
            errprintf(err, "'%s' has an empty item", spec);
            goto error;
        }
        for (char *pair = strtok_r(copy, ",", &save); pair;
             pair = strtok_r(NULL, ",", &save))
            if (apply_pair(p, pair, err) < 0)
                goto error;
    }
    char idle[32];
    format_duration(p->idle_s, idle, sizeof idle);
    if (asprintf(&p->text, "load=%g,idle=%s,input=%s,action=%s%s%s", p->load,
                 idle, *p->input ? p->input : "none",
                 idle_action_name(p->action), p->loadfile ? ",loadfile=" : "",
                 p->loadfile ? p->loadfile : "") < 0) {
        p->text = NULL;
        errprintf(err, "out of memory");
        goto error;
    }
    free(copy);
    return p;
error:
    free(copy);
    idle_policy_destroy(p);
    return NULL;
}

void idle_policy_destroy(struct idle_policy *p)
{
    if (!p)
        return;
    free(p->input);
    free(p->loadfile);
    free(p->text);
    free(p);
}

double idle_policy_load(const struct idle_policy *p)
{
    return p->load;
}

double idle_policy_idle_s(const struct idle_policy *p)
{
    return p->idle_s;
}

enum idle_action idle_policy_action(const struct idle_policy *p)
{
    return p->action;
}

const char *idle_policy_input(const struct idle_policy *p)
{
    return p->input;
}

const char *idle_policy_text(const struct idle_policy *p)
{
    return p->text;
}

const char *idle_policy_loadfile(const struct idle_policy *p)
{
    return p->loadfile;
}
