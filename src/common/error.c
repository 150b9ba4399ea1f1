/* SPDX-License-Identifier: MIT */
/* Formatting of the caller-supplied error holder. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

int errprintf(struct mps_error *err, const char *fmt, ...)
{
    int saved = errno;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    errno = saved;
    return -1;
}
