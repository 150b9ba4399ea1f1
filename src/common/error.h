/* SPDX-License-Identifier: MIT */
/* A caller-supplied error holder: functions fill it with one human line. */
#ifndef MPISPOOL_ERROR_H
#define MPISPOOL_ERROR_H

/* Filled by a failing function; the text reads like git's messages, without
 * the program name: "cannot open spool '/x': Permission denied". */
struct mps_error {
    char text[512];
};

/* Format into err (if err is not NULL). Always returns -1, so a failing
 * function can `return errprintf(err, ...)`. errno is preserved. */
int errprintf(struct mps_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
