/* SPDX-License-Identifier: MIT */
/* Command policy: parse allow and deny lists, match canonical programs. */
#include "policy.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Rules of one list: as written and in their canonical forms. */
struct rules {
    char **v;
    size_t n, cap;
};

struct policy {
    bool has_allow;
    struct rules allow, deny;
};

static int rules_add(struct rules *r, const char *rule, size_t len)
{
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->v[i]) == len && memcmp(r->v[i], rule, len) == 0)
            return 0;
    char **grown = util_grow(r->v, r->n, &r->cap, sizeof *grown, 16);
    if (!grown)
        return -1;
    r->v = grown;
    if (!(r->v[r->n] = strndup(rule, len)))
        return -1;
    r->n++;
    return 0;
}

static void rules_free(struct rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i]);
    free(r->v);
}

/* Add rule and its canonical forms: realpath of the whole rule when it has
 * no wildcard, and realpath of its directories before the first wildcard
 * (or before its last component) followed by the rest. */
static int add_rule(struct rules *r, const char *rule)
{
    size_t len = strlen(rule);
    if (rules_add(r, rule, len) < 0)
        return -1;
    size_t wild = strcspn(rule, "*?[");
    char real[PATH_MAX];
    if (wild == len && realpath(rule, real) &&
        rules_add(r, real, strlen(real)) < 0)
        return -1;
    size_t slash = wild;
    while (slash > 0 && rule[slash] != '/')
        slash--;
    if (slash == 0)
        return 0; /* "/x*": nothing before it to resolve */
    char dir[PATH_MAX];
    if (slash >= sizeof dir)
        return 0;
    memcpy(dir, rule, slash);
    dir[slash] = '\0';
    if (!realpath(dir, real))
        return 0;
    char *canon;
    if (asprintf(&canon, "%s%s", strcmp(real, "/") == 0 ? "" : real,
                 rule + slash) < 0)
        return -1;
    int rc = rules_add(r, canon, strlen(canon));
    free(canon);
    return rc;
}

static int parse_list(struct rules *r, const char *text, const char *name,
                      struct mps_error *err)
{
    unsigned line_no = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        if (!end)
            end = p + strlen(p);
        line_no++;
        const char *b = p, *e = end;
        while (b < e && (*b == ' ' || *b == '\t' || *b == '\r'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        p = *end ? end + 1 : end;
        if (b == e || *b == '#')
            continue;
        char rule[PATH_MAX];
        size_t len = (size_t)(e - b);
        if (len >= sizeof rule)
            return errprintf(err, "%s line %u: rule is longer than %d bytes",
                             name, line_no, PATH_MAX - 1);
        memcpy(rule, b, len);
        rule[len] = '\0';
        if (rule[0] != '/')
            return errprintf(err,
                             "%s line %u: '%s' is not an absolute path or "
                             "glob",
                             name, line_no, rule);
        if (add_rule(r, rule) < 0)
            return errprintf(err, "out of memory");
    }
    return 0;
}

struct policy *policy_create(const char *allow, const char *allow_name,
                             const char *deny, const char *deny_name,
                             struct mps_error *err)
{
    struct policy *pol = calloc(1, sizeof *pol);
    if (!pol) {
        errprintf(err, "out of memory");
        return NULL;
    }
    pol->has_allow = allow != NULL;
    if ((allow && parse_list(&pol->allow, allow, allow_name, err) < 0) ||
        (deny && parse_list(&pol->deny, deny, deny_name, err) < 0)) {
        policy_destroy(pol);
        return NULL;
    }
    return pol;
}

void policy_destroy(struct policy *pol)
{
    if (!pol)
        return;
    rules_free(&pol->allow);
    rules_free(&pol->deny);
    free(pol);
}

static bool matches(const struct rules *r, const char *program)
{
    for (size_t i = 0; i < r->n; i++)
        if (fnmatch(r->v[i], program, 0) == 0)
            return true;
    return false;
}

bool policy_allows(const struct policy *pol, const char *program)
{
    if (!pol)
        return true;
    if (matches(&pol->deny, program))
        return false;
    return !pol->has_allow || matches(&pol->allow, program);
}

bool policy_active(const struct policy *pol)
{
    return pol && (pol->has_allow || pol->deny.n > 0);
}
