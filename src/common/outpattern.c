/* SPDX-License-Identifier: MIT */
/* Output file patterns of the "stdout"/"stderr" job keys: %j, %t, ... */
#include "outpattern.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The widest zero padding, as in Slurm. */
#define MAX_WIDTH 10

/* One "%..." of a pattern. */
struct spec {
    char letter; /* '\0' for a lone '%' at the end */
    int width;   /* the digits' value (capped), 0 without */
    bool digits; /* digits were given */
    size_t len;  /* characters from the '%' on */
};

/* The spec at p (p[0] is '%'). */
static struct spec scan_spec(const char *p)
{
    struct spec s = {0};
    const char *q = p + 1;
    while (*q >= '0' && *q <= '9') {
        if (s.width <= MAX_WIDTH)
            s.width = s.width * 10 + (*q - '0');
        s.digits = true;
        q++;
    }
    s.letter = *q;
    s.len = (size_t)(q - p) + (*q ? 1 : 0);
    return s;
}

/* The letter a spelling stands for: %A is %j, %a is %t. */
static char canonical(char letter)
{
    return letter == 'A' ? 'j' : letter == 'a' ? 't' : letter;
}

int outpattern_check(const char *key, const char *pattern,
                     struct mps_error *err)
{
    if (!*pattern)
        return errprintf(err, "'%s' must be a non-empty string", key);
    for (const char *p = strchr(pattern, '%'); p; p = strchr(p, '%')) {
        struct spec s = scan_spec(p);
        if (!s.letter)
            return errprintf(err,
                             "'%s': '%s' ends in a lone '%%' (write %%%% for "
                             "a '%%')",
                             key, pattern);
        bool known = s.letter == '%' ? !s.digits : !!strchr("jAtaxu", s.letter);
        if (!known)
            return errprintf(err,
                             "'%s': unknown pattern '%.*s' in '%s' (known: "
                             "%%j %%t %%x %%u %%A %%a %%%%)",
                             key, (int)s.len, p, pattern);
        if (s.width > MAX_WIDTH)
            return errprintf(err,
                             "'%s': the width in '%.*s' is more than %d "
                             "digits",
                             key, (int)s.len, p, MAX_WIDTH);
        p += s.len;
    }
    return 0;
}

bool outpattern_uses(const char *pattern, char letter)
{
    for (const char *p = strchr(pattern, '%'); p; p = strchr(p, '%')) {
        struct spec s = scan_spec(p);
        if (s.letter && s.letter != '%' &&
            canonical(s.letter) == canonical(letter))
            return true;
        p += s.len ? s.len : 1;
    }
    return false;
}

int outpattern_check_tasks(const char *key, const char *pattern,
                           uint64_t ntasks, struct mps_error *err)
{
    if (ntasks <= 1 || outpattern_uses(pattern, 't'))
        return 0;
    return errprintf(err,
                     "'%s' ('%s') would be one file for all %" PRIu64
                     " tasks: put %%t (the task number) in it",
                     key, pattern, ntasks);
}

/* Append n bytes of s to buf at *at (counting what does not fit). */
static void put(char *buf, size_t len, size_t *at, const char *s, size_t n)
{
    if (*at < len)
        memcpy(buf + *at, s, *at + n < len ? n : len - *at);
    *at += n;
}

int outpattern_expand(const char *pattern, const struct outpattern_vars *vars,
                      char *buf, size_t len)
{
    size_t at = 0;
    const char *p = pattern;
    while (*p) {
        const char *pct = strchr(p, '%');
        size_t plain = pct ? (size_t)(pct - p) : strlen(p);
        put(buf, len, &at, p, plain);
        p += plain;
        if (!pct)
            break;
        struct spec s = scan_spec(p);
        char number[32];
        const char *value = number;
        switch (canonical(s.letter)) {
        case 't':
            snprintf(number, sizeof number, "%0*" PRIu64,
                     s.width < MAX_WIDTH ? s.width : MAX_WIDTH, vars->task);
            break;
        case 'j':
            value = vars->job;
            break;
        case 'x':
            value = vars->name;
            break;
        case 'u':
            value = vars->user;
            break;
        case '%':
            value = "%";
            break;
        default:
            value = NULL;
        }
        if (!value) {
            errno = EINVAL;
            return -1;
        }
        put(buf, len, &at, value, strlen(value));
        p += s.len;
    }
    put(buf, len, &at, "", 1);
    if (at > len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return (int)(at - 1);
}
