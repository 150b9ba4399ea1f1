/* SPDX-License-Identifier: MIT */
/* disBatch's "#DISBATCH" task file directives, parsed as disBatch does. */
#include "disbatch.h"

#include <stdbool.h>
#include <string.h>

/* Python's \s on bytes. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static const char *skip_spaces(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p;
}

/* Whether p starts with word (upper case) in any case of its ASCII
 * letters, as re.I matches bytes. */
static bool starts_ci(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(end - p) < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != word[i])
            return false;
    }
    return true;
}

/* [0-9]+ at p: the end of the digits, or NULL when there is none. *v is
 * the value, UINT64_MAX when it does not fit. */
static const char *number(const char *p, const char *end, uint64_t *v)
{
    const char *q = p;
    *v = 0;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        unsigned digit = (unsigned)(*q - '0');
        *v = *v > (UINT64_MAX - digit) / 10 ? UINT64_MAX : *v * 10 + digit;
    }
    return q == p ? NULL : q;
}

/* (?:\s+WORD\s+([0-9]+)) at p: the end of the match, or NULL. Greedy
 * \s+ and [0-9]+ never give anything back here (what may follow needs a
 * space or the end), so the first way to match is the only one. */
static const char *option(const char *p, const char *end, const char *word,
                          uint64_t *v)
{
    const char *q = skip_spaces(p, end);
    if (q == p || !starts_ci(q, end, word))
        return NULL;
    q += strlen(word);
    const char *r = skip_spaces(q, end);
    return r == q ? NULL : number(r, end, v);
}

/* (?: (?P<command>.+))?\s*$ at p: whether it matches, the command (NULL:
 * none) in *cmd. The optional group is tried first, as Python does. */
static bool tail(const char *p, const char *end, const char **cmd)
{
    if (end - p >= 2 && *p == ' ') {
        *cmd = p + 1;
        return true;
    }
    *cmd = NULL;
    return skip_spaces(p, end) == end;
}

/* REPEAT's arguments at p (after "#DISBATCH REPEAT"): the alternatives of
 * the two optional groups in the order Python's backtracking tries them.
 * Returns whether the line matches. */
static bool match_repeat(const char *p, const char *end,
                         struct disbatch_directive *d, uint64_t *start,
                         uint64_t *step)
{
    const char *q = skip_spaces(p, end);
    if (q == p || !(q = number(q, end, &d->count)))
        return false;
    uint64_t s1 = 0, k1 = 1, k2 = 1;
    const char *after_start = option(q, end, "START", &s1);
    const char *after_both =
        after_start ? option(after_start, end, "STEP", &k1) : NULL;
    const char *after_step = option(q, end, "STEP", &k2);
    *start = 0;
    *step = 1;
    if (after_both && tail(after_both, end, &d->text)) {
        *start = s1;
        *step = k1;
    } else if (after_start && tail(after_start, end, &d->text)) {
        *start = s1;
    } else if (after_step && tail(after_step, end, &d->text)) {
        *step = k2;
    } else if (!tail(q, end, &d->text)) {
        return false;
    }
    d->len = d->text ? (size_t)(end - d->text) : 0;
    return true;
}

static int check_repeat(struct disbatch_directive *d, uint64_t start,
                        uint64_t step, struct mps_error *err)
{
    const uint64_t max = INT64_MAX;
    if (d->count > max || start > max || step > max ||
        (d->count > 1 && step > 0 && (d->count - 1) > (max - start) / step))
        return errprintf(err, "#DISBATCH REPEAT's tasks and indexes must "
                              "stay below 2^63");
    d->start = (int64_t)start;
    d->step = (int64_t)step;
    return 0;
}

/* Why a #DISBATCH line is no directive mpispool reads. */
static int refuse(const char *line, size_t len, struct mps_error *err)
{
    const char *end = line + len;
    const char *word = line + strlen(DISBATCH_MARK) + 1;
    if (len <= strlen(DISBATCH_MARK) || line[strlen(DISBATCH_MARK)] != ' ' ||
        word == end || is_space(*word))
        return errprintf(err,
                         "unknown directive '%.60s' (write '#DISBATCH' in "
                         "upper case, one space, then PREFIX, SUFFIX or "
                         "REPEAT; '#disbatch' or ' #DISBATCH' is a comment)",
                         line);
    if (starts_ci(word, end, "BARRIER"))
        return errprintf(err, "#DISBATCH BARRIER is not supported: split "
                              "the tasks at the barrier into two jobs, the "
                              "second submitted with \"after\": [the first "
                              "job's id]");
    if (starts_ci(word, end, "PERENGINE"))
        return errprintf(err, "#DISBATCH PERENGINE is not supported: "
                              "mpispool has no engines; put the command "
                              "into each task (a #DISBATCH PREFIX) or into "
                              "a job that runs first");
    if (starts_ci(word, end, "REPEAT"))
        return errprintf(err, "malformed #DISBATCH REPEAT: write '#DISBATCH "
                              "REPEAT N [start S] [step K] [COMMAND]'");
    if (starts_ci(word, end, "PREFIX") || starts_ci(word, end, "SUFFIX"))
        return errprintf(err,
                         "'%.16s' needs one space after %.6s, then the "
                         "text ('%.16s ' alone sets it empty)",
                         line, word, line);
    return errprintf(err,
                     "unknown directive '%.60s' (mpispool reads #DISBATCH "
                     "PREFIX, SUFFIX and REPEAT)",
                     line);
}

int disbatch_parse(const char *line, size_t len, struct disbatch_directive *d,
                   struct mps_error *err)
{
    static const char *const texts[] = {"#DISBATCH PREFIX ",
                                        "#DISBATCH SUFFIX "};
    const char *end = line + len;
    memset(d, 0, sizeof *d);
    if (len < strlen(DISBATCH_MARK) ||
        memcmp(line, DISBATCH_MARK, strlen(DISBATCH_MARK)) != 0)
        return refuse(line, len, err);
    for (int kind = DISBATCH_PREFIX; kind <= DISBATCH_SUFFIX; kind++) {
        if (starts_ci(line, end, texts[kind])) {
            d->kind = (enum disbatch_kind)kind;
            d->text = line + strlen(texts[kind]);
            d->len = (size_t)(end - d->text);
            return 0;
        }
    }
    static const char repeat[] = "#DISBATCH REPEAT";
    uint64_t start, step;
    if (starts_ci(line, end, repeat) &&
        match_repeat(line + strlen(repeat), end, d, &start, &step)) {
        d->kind = DISBATCH_REPEAT;
        return check_repeat(d, start, step, err);
    }
    return refuse(line, len, err);
}
