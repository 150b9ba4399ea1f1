/* SPDX-License-Identifier: MIT */
/* How the CLI shows values: durations, local times, JSON members and a
 * task attempt's result. */
#ifndef MPISPOOL_FORMAT_H
#define MPISPOOL_FORMAT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A duration: "4.20s", "3m 07s", "2h 05m 09s", "3d 04h 05m". */
const char *fmt_duration(double secs, char *buf, size_t len);
/* An RFC 3339 time in local time, "2026-11-24 10:00:01 UTC", or the text
 * as it is ("-" for NULL). */
const char *fmt_local_time(const char *text, char *buf, size_t len);
/* A member as text ("-" when absent or not a scalar). */
const char *fmt_member_text(json_t *obj, const char *key, char *buf,
                            size_t len);
/* An integer member, 0 when absent. */
json_int_t fmt_member_int(json_t *obj, const char *key);
/* "exit 3", "signal 9 (Killed), timed out", "error: ..." (malloc'd). */
char *fmt_record_result(json_t *rec);
/* The name of user uid ("uid N" without a password entry). */
const char *fmt_user_name(uint32_t uid, char *buf, size_t len);

#endif
