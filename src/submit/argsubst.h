/* SPDX-License-Identifier: MIT */
/* GNU parallel's replacement strings over ::: argument lists: a command
 * template and argument sources in, shell command lines out. */
#ifndef MPISPOOL_ARGSUBST_H
#define MPISPOOL_ARGSUBST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The most command lines one submit may generate. */
#define ARGSUBST_MAX_LINES 10000000ULL

/* ------------------------------------------------------------ command line */

/* Whether word is one of parallel's separators ::: :::+ :::: ::::+. */
bool argsubst_is_separator(const char *word);

/* Where one argument source comes from. */
struct argsubst_origin {
    bool linked;        /* :::+ or ::::+: paired with the previous source */
    const char *file;   /* :::: FILE ("-": standard input), or NULL */
    char *const *words; /* ::: WORD...: the words (file == NULL) */
    size_t nwords;
};

/* The words after `mpispool submit --`, split at the separators: the
 * command template, then one origin per source in order (":::" and its
 * words make one source; each file after "::::" makes one, as in
 * parallel). The pointers point into the words given. */
struct argsubst_cmdline {
    char *const *command;
    size_t ncommand;
    struct argsubst_origin *origins;
    size_t norigins;
};

/* Split words (which contain a separator) into cl. Returns 0, or -1 with
 * err for a separator followed by nothing or standard input named twice.
 * Free cl with argsubst_cmdline_free. */
int argsubst_cmdline_parse(char *const *words, size_t nwords,
                           struct argsubst_cmdline *cl, struct mps_error *err);
void argsubst_cmdline_free(struct argsubst_cmdline *cl);

/* ------------------------------------------------------------ sources */

/* One argument source: its arguments, in order, each a NUL-terminated
 * string (an argument never holds a newline or a NUL byte). */
struct argsubst_source {
    char *text;      /* the arguments, each followed by a NUL */
    size_t len, cap; /* bytes used and allocated in text */
    size_t *offsets; /* where argument i starts in text */
    size_t nargs, capargs;
    bool linked; /* :::+ or ::::+: paired with the previous source */
};

/* Append one argument of len bytes (no newline, no NUL). 0 or -1 (no
 * memory) with err. */
int argsubst_source_add(struct argsubst_source *src, const char *arg,
                        size_t len, struct mps_error *err);
/* Append a word given after ":::". parallel writes each word and a
 * newline to a file and reads it back line by line, so a word with n
 * newlines is n + 1 arguments ("a\nb" is "a" and "b", "c\n" is "c" and
 * ""). */
int argsubst_source_add_word(struct argsubst_source *src, const char *word,
                             struct mps_error *err);
/* Argument i of src. */
const char *argsubst_source_arg(const struct argsubst_source *src, size_t i);
void argsubst_source_free(struct argsubst_source *src);

/* ------------------------------------------------------------ template */

struct argsubst_template;

/* Parse the command words into a template for nsources (>= 1) sources, as
 * parallel reads them: the words joined by spaces, with the replacement
 * strings {} {.} {/} {//} {/.} {#} and, for the N-th source, {N} {N.}
 * {N/} {N//} {N/.} ({-N}: the N-th from the end). Without any of them
 * " {}" is appended. The arguments are shell-quoted (argsubst_quote)
 * unless a replacement string is part of the first word, the command
 * itself (`parallel {} ::: 'echo a'`), as in parallel. A replacement
 * string that mpispool does not support ({%}, {= perl =}, parallel --plus
 * strings such as {..} or {##}), and a position that names no source ({0},
 * {3} of two sources), is an error. Returns NULL with err. */
struct argsubst_template *argsubst_template_parse(char *const *words,
                                                  size_t nwords,
                                                  size_t nsources,
                                                  struct mps_error *err);
void argsubst_template_free(struct argsubst_template *t);

/* ------------------------------------------------------------ lines */

struct argsubst_gen;

/* Start generating the command lines of t over sources, in parallel's
 * order: every combination of the sources' arguments, the last source
 * changing fastest; a linked source is paired with the previous one
 * argument by argument, and such a group stops at its shortest source.
 * More than max_lines lines, or none (an empty source), is an error:
 * NULL with err. t and sources must outlive the generator. */
struct argsubst_gen *argsubst_start(const struct argsubst_template *t,
                                    const struct argsubst_source *sources,
                                    size_t nsources, uint64_t max_lines,
                                    struct mps_error *err);
/* How many lines the generator makes in all. */
uint64_t argsubst_total(const struct argsubst_gen *gen);
/* The next command line, without a newline: returns 1 and sets *line
 * (valid until the next call) and *len; 0 after the last; -1 with err
 * when the line could not be read back from a task file as the one task
 * it is (it would be blank, a comment, or hold a newline, end in a
 * carriage return, or be longer than a task file line may be). */
int argsubst_next(struct argsubst_gen *gen, const char **line, size_t *len,
                  struct mps_error *err);
void argsubst_end(struct argsubst_gen *gen);

/* ------------------------------------------------------------ pieces */

/* parallel's shell_quote_scalar_default: s as is when it holds only
 * letters, digits and - _ . + /; "''" when empty; else in single quotes,
 * each ' written '"'"' (and a leading or trailing '' dropped). Appends
 * to *buf (grown with realloc); 0 or -1 (no memory). */
int argsubst_quote(const char *s, size_t len, char **buf, size_t *buflen,
                   size_t *bufcap);
/* parallel's {//}: Perl's File::Basename::dirname of s, as *out and
 * *outlen (a part of s, or "."). */
void argsubst_dirname(const char *s, size_t len, const char **out,
                      size_t *outlen);

#endif
