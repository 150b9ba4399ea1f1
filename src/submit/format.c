/* SPDX-License-Identifier: MIT */
/* How the CLI shows values: durations, local times, JSON members and a
 * task attempt's result. */
#include "format.h"

#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

const char *fmt_local_time(const char *text, char *buf, size_t len)
{
    int64_t us;
    if (util_parse_time(text, &us) < 0)
        return text ? text : "-";
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    localtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm);
    return buf;
}

/* A duration: "4.2s", "3m 07s", "2h 05m 09s", "3d 04h 05m". */
const char *fmt_duration(double secs, char *buf, size_t len)
{
    if (secs < 0)
        secs = 0;
    if (secs < 60) {
        snprintf(buf, len, "%.2fs", secs);
        return buf;
    }
    unsigned long long s = (unsigned long long)(secs + 0.5);
    if (s < 3600)
        snprintf(buf, len, "%llum %02llus", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, len, "%lluh %02llum %02llus", s / 3600, s / 60 % 60,
                 s % 60);
    else
        snprintf(buf, len, "%llud %02lluh %02llum", s / 86400, s / 3600 % 24,
                 s / 60 % 60);
    return buf;
}

/* A JSON object's member as text: strings as they are, integers in
 * decimal, anything else (or absent) as "-". */
const char *fmt_member_text(json_t *obj, const char *key, char *buf, size_t len)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        snprintf(buf, len, "%g", json_real_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return "-";
}

json_int_t fmt_member_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

char *fmt_record_result(json_t *rec)
{
    char *out = NULL;
    json_t *error = json_object_get(rec, "error");
    json_t *sig = json_object_get(rec, "signal");
    json_t *code = json_object_get(rec, "exit_code");
    bool timed_out = json_is_true(json_object_get(rec, "timed_out"));
    int rc;
    if (json_is_string(error)) {
        rc = asprintf(&out, "error: %s", json_string_value(error));
    } else if (json_is_integer(sig) && json_integer_value(sig) != 0) {
        int s = (int)json_integer_value(sig);
        rc = asprintf(&out, "signal %d (%s)%s", s, strsignal(s),
                      timed_out ? ", timed out" : "");
    } else if (json_is_integer(code)) {
        rc = asprintf(&out, "exit %lld%s", (long long)json_integer_value(code),
                      timed_out ? ", timed out" : "");
    } else {
        rc = asprintf(&out, "%s", timed_out ? "timed out" : "did not run");
    }
    return rc < 0 ? NULL : out;
}

/* The name of user uid ("uid N" without a password entry). */
const char *fmt_user_name(uint32_t uid, char *buf, size_t len)
{
    char pwbuf[4096];
    struct passwd pw, *found = NULL;
    if (getpwuid_r((uid_t)uid, &pw, pwbuf, sizeof pwbuf, &found) == 0 && found)
        snprintf(buf, len, "%s", pw.pw_name);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
    return buf;
}
