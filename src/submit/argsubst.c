/* SPDX-License-Identifier: MIT */
/* GNU parallel's replacement strings over ::: argument lists: a command
 * template and argument sources in, shell command lines out. */
#include "argsubst.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskfile.h"
#include "util.h"

/* ------------------------------------------------------------ command line */

bool argsubst_is_separator(const char *word)
{
    return strcmp(word, ":::") == 0 || strcmp(word, ":::+") == 0 ||
           strcmp(word, "::::") == 0 || strcmp(word, "::::+") == 0;
}

int argsubst_cmdline_parse(char *const *words, size_t nwords,
                           struct argsubst_cmdline *cl, struct mps_error *err)
{
    size_t first = 0;
    while (first < nwords && !argsubst_is_separator(words[first]))
        first++;
    *cl = (struct argsubst_cmdline){.command = words, .ncommand = first};
    if (first == nwords)
        return errprintf(err, "no ':::' or '::::' in the command");
    /* At most one source per word after the first separator. */
    cl->origins = calloc(nwords - first, sizeof *cl->origins);
    if (!cl->origins)
        return errprintf(err, "out of memory");
    bool stdin_named = false;
    for (size_t i = first; i < nwords;) {
        const char *sep = words[i];
        bool linked = sep[strlen(sep) - 1] == '+';
        bool files = strncmp(sep, "::::", 4) == 0;
        size_t end = i + 1;
        while (end < nwords && !argsubst_is_separator(words[end]))
            end++;
        if (end == i + 1) {
            errprintf(err, "'%s' must be followed by %s", sep,
                      files ? "argument files" : "arguments");
            goto error;
        }
        if (!files) {
            cl->origins[cl->norigins++] =
                (struct argsubst_origin){.linked = linked,
                                         .words = words + i + 1,
                                         .nwords = end - i - 1};
        }
        for (size_t k = i + 1; files && k < end; k++) {
            if (strcmp(words[k], "-") == 0) {
                if (stdin_named) {
                    errprintf(err, "'::::' names standard input ('-') twice");
                    goto error;
                }
                stdin_named = true;
            }
            cl->origins[cl->norigins++] =
                (struct argsubst_origin){.linked = linked, .file = words[k]};
        }
        i = end;
    }
    return 0;
error:
    argsubst_cmdline_free(cl);
    return -1;
}

void argsubst_cmdline_free(struct argsubst_cmdline *cl)
{
    free(cl->origins);
    cl->origins = NULL;
    cl->norigins = 0;
}

/* ------------------------------------------------------------ sources */

int argsubst_source_add(struct argsubst_source *src, const char *arg,
                        size_t len, struct mps_error *err)
{
    size_t *offsets =
        util_grow(src->offsets, src->nargs, &src->capargs, sizeof *offsets, 64);
    if (!offsets)
        return errprintf(err, "out of memory");
    src->offsets = offsets;
    if (src->cap - src->len < len + 1) {
        size_t cap = src->cap ? src->cap : 4096;
        while (cap - src->len < len + 1)
            cap *= 2;
        char *bigger = realloc(src->text, cap);
        if (!bigger)
            return errprintf(err, "out of memory");
        src->text = bigger;
        src->cap = cap;
    }
    src->offsets[src->nargs++] = src->len;
    memcpy(src->text + src->len, arg, len);
    src->len += len;
    src->text[src->len++] = '\0';
    return 0;
}

int argsubst_source_add_word(struct argsubst_source *src, const char *word,
                             struct mps_error *err)
{
    for (;;) {
        const char *nl = strchr(word, '\n');
        size_t len = nl ? (size_t)(nl - word) : strlen(word);
        if (argsubst_source_add(src, word, len, err) < 0)
            return -1;
        if (!nl)
            return 0;
        word = nl + 1;
    }
}

const char *argsubst_source_arg(const struct argsubst_source *src, size_t i)
{
    return src->text + src->offsets[i];
}

/* The length of argument i of src. */
static size_t source_arg_len(const struct argsubst_source *src, size_t i)
{
    size_t end = i + 1 < src->nargs ? src->offsets[i + 1] : src->len;
    return end - src->offsets[i] - 1;
}

void argsubst_source_free(struct argsubst_source *src)
{
    free(src->text);
    free(src->offsets);
    *src = (struct argsubst_source){0};
}

/* ------------------------------------------------------------ template */

/* What a replacement string makes of an argument. */
enum edit {
    EDIT_NONE,       /* {}   the argument */
    EDIT_NOEXT,      /* {.}  without its extension */
    EDIT_BASE,       /* {/}  its base name */
    EDIT_DIR,        /* {//} its directory */
    EDIT_BASE_NOEXT, /* {/.} its base name without its extension */
};

enum seg_kind {
    SEG_TEXT, /* text of the command, as it is */
    SEG_ALL,  /* {}, {.}, ...: every argument of the line, space-separated */
    SEG_ONE,  /* {N}, {N.}, ...: the argument of source N */
    SEG_SEQ,  /* {#}: the line's number, from 1 */
};

struct segment {
    enum seg_kind kind;
    size_t start, len; /* SEG_TEXT: where in the template's text */
    size_t source;     /* SEG_ONE */
    enum edit edit;
};

struct argsubst_template {
    char *text; /* the command's words joined by spaces */
    struct segment *segs;
    size_t nsegs, capsegs;
    bool quote;
    bool first_rpl_seen;
};

static const struct {
    const char *suffix;
    enum edit edit;
} edits[] = {
    {"", EDIT_NONE},  {".", EDIT_NOEXT},       {"/", EDIT_BASE},
    {"//", EDIT_DIR}, {"/.", EDIT_BASE_NOEXT},
};

/* The replacement strings of parallel --plus, without their braces ({0%}
 * and {0#} are read as positions): known to parallel, not to mpispool. */
static const char *const refused_names[] = {
    "##",   "+/",   "+.",       "+..",  "+...", "..",       "...",  "/..",
    "/...", "uniq", "choose_k", "slot", "host", "sshlogin", "hgrp", "agrp",
};

static const char supported_list[] =
    "mpispool supports {} {.} {/} {//} {/.} {#} and, for the N-th source, "
    "{N} {N.} {N/} {N//} {N/.}";

/* Whether s (n bytes) starts with a '/' that parallel --plus reads as
 * {/a/b}, {/#a/b}, {/%a/b} or {//a/b} (bash's ${x/a/b} and kin). */
static bool plus_slash_form(const char *s, size_t n)
{
    if (n < 3 || s[0] != '/')
        return false;
    const char *second = memchr(s + 1, '/', n - 1);
    if (s[1] == '#' || s[1] == '%' || s[1] == '/') {
        const char *third = memchr(s + 2, '/', n - 2);
        return third && third - s >= 3;
    }
    if (!second || second - s < 2)
        return false;
    for (const char *p = s + 1; p < second; p++)
        if (*p == '#' || *p == '%')
            return false;
    return true;
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Whether s (n bytes) is one or more digits. */
static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!digit(s[i]))
            return false;
    return n > 0;
}

/* Whether s (n bytes, what is between the braces after any position) is
 * one of parallel --plus's bash-like replacement strings: {:-x} {:2}
 * {:2:3} {#x} {##x} {%x} {%%x} {/a/b} {^x} {^^x} {,x} {,,x}. */
static bool plus_bash_form(const char *s, size_t n)
{
    if (n >= 3 && s[0] == ':' && s[1] == '-')
        return true;
    if (n >= 2 && s[0] == ':') {
        const char *colon = memchr(s + 1, ':', n - 1);
        if (!colon)
            return all_digits(s + 1, n - 1);
        return all_digits(s + 1, (size_t)(colon - s) - 1) &&
               all_digits(colon + 1, n - (size_t)(colon - s) - 1);
    }
    if (n >= 2 && s[0] == '#')
        return s[1] != '#' || (n >= 3 && s[2] != '#');
    if (n >= 2 && (s[0] == '%' || s[0] == '^' || s[0] == ','))
        return true;
    return plus_slash_form(s, n);
}

/* Whether name (n bytes) is a replacement string mpispool refuses. */
static bool refused_name(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof refused_names / sizeof *refused_names; i++)
        if (strlen(refused_names[i]) == n &&
            memcmp(refused_names[i], name, n) == 0)
            return true;
    return plus_bash_form(name, n);
}

/* The edit that name (n bytes) stands for, or -1. */
static int edit_of(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++)
        if (strlen(edits[i].suffix) == n &&
            memcmp(edits[i].suffix, name, n) == 0)
            return (int)edits[i].edit;
    return -1;
}

static int add_segment(struct argsubst_template *t, struct segment seg,
                       struct mps_error *err)
{
    if (seg.kind == SEG_TEXT && seg.len == 0)
        return 0;
    struct segment *segs =
        util_grow(t->segs, t->nsegs, &t->capsegs, sizeof *segs, 16);
    if (!segs)
        return errprintf(err, "out of memory");
    t->segs = segs;
    if (seg.kind != SEG_TEXT && !t->first_rpl_seen) {
        /* parallel quotes no argument when a replacement string is part
         * of the command itself: in the first word, before any '='. */
        t->first_rpl_seen = true;
        t->quote = strcspn(t->text, " \t\n=") < seg.start;
    }
    t->segs[t->nsegs++] = seg;
    return 0;
}

/* The position of a {N...} replacement string (digits, n bytes, after an
 * optional '-'), as a source index; -1 with err when it names no source. */
static long source_of(const char *rpl, int rpl_len, bool minus,
                      const char *digits, size_t n, size_t nsources,
                      struct mps_error *err)
{
    unsigned long long pos = 0;
    for (size_t i = 0; i < n && pos <= nsources; i++)
        pos = pos * 10 + (unsigned long long)(digits[i] - '0');
    if (pos == 0)
        return errprintf(err, "'%.*s': argument positions count from 1",
                         rpl_len, rpl);
    if (pos > nsources)
        return errprintf(err,
                         "'%.*s': there %s only %zu argument source%s "
                         "(':::' or '::::')",
                         rpl_len, rpl, nsources == 1 ? "is" : "are", nsources,
                         nsources == 1 ? "" : "s");
    return minus ? (long)(nsources - pos) : (long)(pos - 1);
}

/* Read the replacement string between the braces at text[open] and
 * text[close] into *seg: returns 1 when it is one, 0 when it is plain
 * text, -1 with err when mpispool does not support it. */
static int read_rpl(const struct argsubst_template *t, size_t open,
                    size_t close, size_t nsources, struct segment *seg,
                    struct mps_error *err)
{
    const char *rpl = t->text + open, *in = rpl + 1;
    int rpl_len = (int)(close - open + 1);
    size_t n = close - open - 1;
    *seg = (struct segment){.start = open, .len = close - open + 1};
    bool minus = n > 1 && in[0] == '-' && digit(in[1]);
    size_t ndigits = 0;
    while (minus + ndigits < n && digit(in[minus + ndigits]))
        ndigits++;
    const char *name = in;
    size_t namelen = n;
    if (ndigits > 0) {
        name = in + minus + ndigits;
        while (name < in + n && strchr(" \t\n\r\f\v", *name))
            name++;
        namelen = n - (size_t)(name - in);
    }
    int edit = edit_of(name, namelen);
    if (ndigits == 0 && namelen == 1 && name[0] == '#') {
        seg->kind = SEG_SEQ;
        return 1;
    }
    bool slot = namelen == 1 && name[0] == '%';
    if (edit < 0 && (slot || (ndigits > 0 && namelen == 1 && name[0] == '#')))
        return errprintf(err, "'%.*s' is not supported%s; %s", rpl_len, rpl,
                         slot ? " (GNU parallel's job slot: mpispool has no "
                                "job slots)"
                              : "",
                         supported_list);
    if (edit < 0 && refused_name(name, namelen))
        return errprintf(err,
                         "'%.*s' is not supported (a replacement string of "
                         "GNU parallel --plus); %s",
                         rpl_len, rpl, supported_list);
    if (edit < 0)
        return 0;
    seg->edit = (enum edit)edit;
    seg->kind = ndigits > 0 ? SEG_ONE : SEG_ALL;
    if (ndigits > 0) {
        long source =
            source_of(rpl, rpl_len, minus, in + minus, ndigits, nsources, err);
        if (source < 0)
            return -1;
        seg->source = (size_t)source;
    }
    return 1;
}

/* Find the replacement strings in text[from, to) (one word). */
static int scan_word(struct argsubst_template *t, size_t from, size_t to,
                     size_t nsources, size_t *text_start, struct mps_error *err)
{
    for (size_t open = from; open < to; open++) {
        if (t->text[open] != '{')
            continue;
        size_t close = open + 1;
        while (close < to && t->text[close] != '}' && t->text[close] != '{')
            close++;
        if (close == to || t->text[close] != '}')
            continue;
        struct segment seg;
        int rc = read_rpl(t, open, close, nsources, &seg, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            continue;
        struct segment text = {
            .kind = SEG_TEXT, .start = *text_start, .len = open - *text_start};
        if (add_segment(t, text, err) < 0 || add_segment(t, seg, err) < 0)
            return -1;
        *text_start = close + 1;
        open = close;
    }
    return 0;
}

/* Join words with spaces into t->text; -1 with err. */
static int join_words(struct argsubst_template *t, char *const *words,
                      size_t nwords, struct mps_error *err)
{
    size_t len = 0;
    for (size_t i = 0; i < nwords; i++)
        len += strlen(words[i]) + 1;
    if (!(t->text = malloc(len + 1)))
        return errprintf(err, "out of memory");
    char *p = t->text;
    for (size_t i = 0; i < nwords; i++) {
        if (i > 0)
            *p++ = ' ';
        size_t n = strlen(words[i]);
        memcpy(p, words[i], n);
        p += n;
    }
    *p = '\0';
    /* {= perl expression =}, even across words, as parallel merges them. */
    const char *perl = memmem(t->text, (size_t)(p - t->text), "{=", 2);
    if (perl && memmem(perl + 2, (size_t)(p - perl - 2), "=}", 2))
        return errprintf(err,
                         "'{= perl expression =}' is not supported (GNU "
                         "parallel's Perl replacement strings); %s",
                         supported_list);
    return 0;
}

struct argsubst_template *argsubst_template_parse(char *const *words,
                                                  size_t nwords,
                                                  size_t nsources,
                                                  struct mps_error *err)
{
    struct argsubst_template *t = calloc(1, sizeof *t);
    if (!t) {
        errprintf(err, "out of memory");
        return NULL;
    }
    t->quote = true;
    if (join_words(t, words, nwords, err) < 0)
        goto error;
    size_t text_start = 0, word_start = 0;
    for (size_t i = 0; i < nwords; i++) {
        size_t word_end = word_start + strlen(words[i]);
        if (scan_word(t, word_start, word_end, nsources, &text_start, err) < 0)
            goto error;
        word_start = word_end + 1;
    }
    size_t end = strlen(t->text);
    struct segment rest = {
        .kind = SEG_TEXT, .start = text_start, .len = end - text_start};
    if (add_segment(t, rest, err) < 0)
        goto error;
    if (!t->first_rpl_seen) {
        /* No replacement string: the arguments go at the end, as "{}"
         * would (with no command, each line is the arguments). */
        struct segment space = {.kind = SEG_TEXT, .start = end, .len = 0};
        struct segment all = {.kind = SEG_ALL, .start = end};
        if (nwords > 0) {
            /* text has room for the space: join_words counted one per
             * word. */
            t->text[end] = ' ';
            t->text[end + 1] = '\0';
            space.len = 1;
            all.start = end + 1;
        }
        if (add_segment(t, space, err) < 0 || add_segment(t, all, err) < 0)
            goto error;
    }
    return t;
error:
    argsubst_template_free(t);
    return NULL;
}

void argsubst_template_free(struct argsubst_template *t)
{
    if (!t)
        return;
    free(t->text);
    free(t->segs);
    free(t);
}

/* ------------------------------------------------------------ pieces */

/* Make room for need more bytes (and a NUL) in *buf. */
static int reserve(char **buf, size_t len, size_t *cap, size_t need)
{
    if (*cap - len > need)
        return 0;
    size_t bigger = *cap ? *cap : 256;
    while (bigger - len <= need)
        bigger *= 2;
    char *grown = realloc(*buf, bigger);
    if (!grown)
        return -1;
    *buf = grown;
    *cap = bigger;
    return 0;
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (reserve(buf, *len, cap, n) < 0)
        return -1;
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* Whether c needs no quoting: parallel's [-_.+a-z0-9/] with /i. */
static bool quote_free(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '+' || c == '/';
}

int argsubst_quote(const char *s, size_t len, char **buf, size_t *buflen,
                   size_t *bufcap)
{
    if (len == 0)
        return append(buf, buflen, bufcap, "''", 2);
    size_t i = 0;
    while (i < len && quote_free((unsigned char)s[i]))
        i++;
    if (i == len)
        return append(buf, buflen, bufcap, s, len);
    size_t start = *buflen;
    if (append(buf, buflen, bufcap, "'", 1) < 0)
        return -1;
    for (i = 0; i < len; i++) {
        int rc = s[i] == '\'' ? append(buf, buflen, bufcap, "'\"'\"'", 5)
                              : append(buf, buflen, bufcap, s + i, 1);
        if (rc < 0)
            return -1;
    }
    if (append(buf, buflen, bufcap, "'", 1) < 0)
        return -1;
    char *q = *buf + start;
    size_t qlen = *buflen - start;
    if (qlen >= 2 && q[0] == '\'' && q[1] == '\'') {
        memmove(q, q + 2, qlen - 2);
        qlen -= 2;
    }
    if (qlen >= 2 && q[qlen - 1] == '\'' && q[qlen - 2] == '\'')
        qlen -= 2;
    *buflen = start + qlen;
    (*buf)[*buflen] = '\0';
    return 0;
}

/* File::Basename::fileparse on Unix: the directory part of s, up to and
 * with its last '/', or "./"; sets *base_empty when nothing follows it. */
static void fileparse_dir(const char *s, size_t len, const char **dir,
                          size_t *dirlen, bool *base_empty)
{
    const char *slash = len ? memrchr(s, '/', len) : NULL;
    if (slash) {
        *dir = s;
        *dirlen = (size_t)(slash - s) + 1;
    } else {
        *dir = "./";
        *dirlen = 2;
    }
    *base_empty = slash ? *dirlen == len : len == 0;
}

/* Perl s{(.)/+\z}{$1}s: drop trailing slashes, but not the first
 * character. */
static void strip_trailing_slashes(const char *s, size_t *len)
{
    while (*len > 1 && s[*len - 1] == '/')
        (*len)--;
}

void argsubst_dirname(const char *s, size_t len, const char **out,
                      size_t *outlen)
{
    bool base_empty;
    fileparse_dir(s, len, out, outlen, &base_empty);
    strip_trailing_slashes(*out, outlen);
    if (base_empty) {
        fileparse_dir(*out, *outlen, out, outlen, &base_empty);
        strip_trailing_slashes(*out, outlen);
    }
}

/* s{\.[^/.]*$}{}: s without its last extension. */
static size_t without_extension(const char *s, size_t len)
{
    const char *dot = len ? memrchr(s, '.', len) : NULL;
    if (!dot || memchr(dot, '/', len - (size_t)(dot - s)))
        return len;
    return (size_t)(dot - s);
}

/* The edited argument s, as *out and *outlen. */
static void apply_edit(enum edit edit, const char *s, size_t len,
                       const char **out, size_t *outlen)
{
    if (edit == EDIT_DIR) {
        argsubst_dirname(s, len, out, outlen);
        return;
    }
    if (edit == EDIT_BASE || edit == EDIT_BASE_NOEXT) {
        const char *slash = len ? memrchr(s, '/', len) : NULL;
        if (slash) {
            len -= (size_t)(slash + 1 - s);
            s = slash + 1;
        }
    }
    if (edit == EDIT_NOEXT || edit == EDIT_BASE_NOEXT)
        len = without_extension(s, len);
    *out = s;
    *outlen = len;
}

/* ------------------------------------------------------------ lines */

struct argsubst_gen {
    const struct argsubst_template *t;
    const struct argsubst_source *sources;
    size_t nsources;
    size_t *group_of; /* the group of each source */
    uint64_t *group_len;
    uint64_t *index; /* of each group's current arguments */
    size_t ngroups;
    uint64_t total, done;
    char *line;
    size_t len, cap;
};

struct argsubst_gen *argsubst_start(const struct argsubst_template *t,
                                    const struct argsubst_source *sources,
                                    size_t nsources, uint64_t max_lines,
                                    struct mps_error *err)
{
    struct argsubst_gen *gen = calloc(1, sizeof *gen);
    if (!gen || !(gen->group_of = calloc(nsources, sizeof *gen->group_of)) ||
        !(gen->group_len = calloc(nsources, sizeof *gen->group_len)) ||
        !(gen->index = calloc(nsources, sizeof *gen->index))) {
        errprintf(err, "out of memory");
        goto error;
    }
    gen->t = t;
    gen->sources = sources;
    gen->nsources = nsources;
    for (size_t i = 0; i < nsources; i++) {
        if (sources[i].nargs == 0) {
            errprintf(err, "argument source %zu is empty", i + 1);
            goto error;
        }
        /* The first source has no previous one to be linked to. */
        if (i == 0 || !sources[i].linked)
            gen->group_len[gen->ngroups++] = sources[i].nargs;
        size_t g = gen->ngroups - 1;
        gen->group_of[i] = g;
        if (sources[i].nargs < gen->group_len[g])
            gen->group_len[g] = sources[i].nargs;
    }
    gen->total = 1;
    for (size_t g = 0; g < gen->ngroups; g++) {
        if (__builtin_mul_overflow(gen->total, gen->group_len[g],
                                   &gen->total) ||
            gen->total > max_lines) {
            errprintf(err,
                      "the argument sources make more than %" PRIu64
                      " command lines, the most one submit makes: split "
                      "them into several jobs",
                      max_lines);
            goto error;
        }
    }
    return gen;
error:
    argsubst_end(gen);
    return NULL;
}

uint64_t argsubst_total(const struct argsubst_gen *gen)
{
    return gen->total;
}

/* Append the (edited, quoted) argument of source i to the line. */
static int add_argument(struct argsubst_gen *gen, size_t i, enum edit edit)
{
    const struct argsubst_source *src = &gen->sources[i];
    size_t which = (size_t)gen->index[gen->group_of[i]];
    const char *value;
    size_t len;
    apply_edit(edit, argsubst_source_arg(src, which),
               source_arg_len(src, which), &value, &len);
    if (gen->t->quote)
        return argsubst_quote(value, len, &gen->line, &gen->len, &gen->cap);
    return append(&gen->line, &gen->len, &gen->cap, value, len);
}

static int add_segment_text(struct argsubst_gen *gen, const struct segment *seg)
{
    char number[24];
    switch (seg->kind) {
    case SEG_TEXT:
        return append(&gen->line, &gen->len, &gen->cap,
                      gen->t->text + seg->start, seg->len);
    case SEG_SEQ:
        snprintf(number, sizeof number, "%" PRIu64, gen->done + 1);
        return append(&gen->line, &gen->len, &gen->cap, number, strlen(number));
    case SEG_ONE:
        return add_argument(gen, seg->source, seg->edit);
    case SEG_ALL:
        for (size_t i = 0; i < gen->nsources; i++) {
            if ((i > 0 && append(&gen->line, &gen->len, &gen->cap, " ", 1)) ||
                add_argument(gen, i, seg->edit) < 0)
                return -1;
        }
        return 0;
    }
    return 0;
}

/* Up to 60 bytes of line for a message, control characters as '?'. */
static void excerpt(const char *line, size_t len, char *out, size_t size)
{
    size_t n = len < size - 4 ? len : size - 4;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)line[i] < 0x20 ? '?' : line[i];
    strcpy(out + n, n < len ? "..." : "");
}

/* 0 when a task file reads line back as the one task it is, else -1 with
 * err saying why not. */
static int check_one_task(const char *line, size_t len, uint64_t number,
                          struct mps_error *err)
{
    const char *why = NULL;
    size_t i = 0;
    while (i < len && strchr(" \t\r\f\v", line[i]))
        i++;
    if (memchr(line, '\n', len))
        why = "holds a newline, and a task is one line of a task file";
    else if (len > 0 && line[len - 1] == '\r')
        why = "ends in a carriage return, which a task file drops";
    else if (i == len)
        why = "is empty or white space, which a task file skips";
    else if (line[i] == '#')
        why = "starts with '#', which a task file reads as a comment";
    else if (len > TASKFILE_MAX_LINE)
        return errprintf(err,
                         "command line %" PRIu64 " is longer than %d bytes, "
                         "the longest line of a task file",
                         number, TASKFILE_MAX_LINE);
    if (!why)
        return 0;
    char text[64];
    excerpt(line, len, text, sizeof text);
    return errprintf(err, "command line %" PRIu64 " ('%s') %s", number, text,
                     why);
}

int argsubst_next(struct argsubst_gen *gen, const char **line, size_t *len,
                  struct mps_error *err)
{
    if (gen->done == gen->total)
        return 0;
    gen->len = 0;
    if (append(&gen->line, &gen->len, &gen->cap, "", 0) < 0)
        return errprintf(err, "out of memory");
    for (size_t s = 0; s < gen->t->nsegs; s++)
        if (add_segment_text(gen, &gen->t->segs[s]) < 0)
            return errprintf(err, "out of memory");
    if (check_one_task(gen->line, gen->len, gen->done + 1, err) < 0)
        return -1;
    gen->done++;
    /* The next combination: the last group changes fastest. */
    for (size_t g = gen->ngroups; g-- > 0;) {
        if (++gen->index[g] < gen->group_len[g])
            break;
        gen->index[g] = 0;
    }
    *line = gen->line;
    *len = gen->len;
    return 1;
}

void argsubst_end(struct argsubst_gen *gen)
{
    if (!gen)
        return;
    free(gen->group_of);
    free(gen->group_len);
    free(gen->index);
    free(gen->line);
    free(gen);
}
