/* SPDX-License-Identifier: MIT */
/* What the CLI's command files share: the helpers of commands.c that
 * html.c and progress.c use too, and their entry points. */
#ifndef MPISPOOL_CLI_H
#define MPISPOOL_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "spool.h"

/* "mpispool: MESSAGE" on stderr. */
void error_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error of command cmd: message, hint, returns exit code 2. */
int usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A command line scanned with getopt_long: options may come before or
 * after the operands; "--" ends the options. */
struct cmdline {
    const char *cmd; /* the command's name, for messages */
    int argc;
    char **argv;
    const char *shortopts;
    const struct option *longopts;
    const char *spool; /* --spool, starting with the one before the cmd */
    char **operands;   /* in order; those after "--" from dashdash on */
    int noperands;
    int dashdash; /* index in operands of the first after "--", or -1 */
    int current;  /* index in argv of the option just returned */
};

int cmdline_init(struct cmdline *cl, const char *cmd, int argc, char **argv,
                 const char *shortopts, const struct option *longopts,
                 const char *spool);
void cmdline_free(struct cmdline *cl);
/* The next option (as getopt_long returns it), or -1 at the end. */
int cmdline_next(struct cmdline *cl);
/* A usage error for what getopt_long returned ('?' or ':'). */
int cmdline_error(const struct cmdline *cl, int c);
/* Open the spool of cl; returns an exit code (0, 1 or 2). */
int open_spool(const struct cmdline *cl, struct spool **sp);

/* Seconds (an integer or a decimal number); 0 or -1. */
int parse_seconds(const char *text, double *out);
/* An RFC 3339 UTC time in microseconds since the epoch; 0 or -1. */
/* A duration: "4.20s", "3m 07s", "2h 05m 09s", "3d 04h 05m". */
const char *format_duration(double secs, char *buf, size_t len);
/* A member as text ("-" when absent or not a scalar). */
const char *member_text(json_t *obj, const char *key, char *buf, size_t len);
/* An integer member, 0 when absent. */
json_int_t member_int(json_t *obj, const char *key);
/* "exit 3", "signal 9 (Killed), timed out", "error: ..." (malloc'd). */
char *record_result(json_t *rec);

/* The number of *.json files in a spool directory, or -1
 * when it cannot be listed. */
long count_json(const struct spool *sp, enum spool_dir dir);
/* The spool's status files as an array of objects (NULL: no memory). */
json_t *load_status_files(const struct spool *sp);
/* The hosts drained (drain/HOST made by root or the spool's
 * administrator), sorted, as a JSON array; NULL when drain/ cannot be
 * listed. A spool without drain/ has none. */
json_t *drained_hosts(const struct spool *sp);
/* SPOOL/out/JOBID/report.json (malloc'd). */
char *report_path(const struct spool *sp, const char *jobid);

/* Growing text, always NUL-terminated. */
struct textbuf {
    char *text;
    size_t len, cap;
};

int textbuf_add(struct textbuf *b, int c);
/* Whether b holds nothing but white space. */
bool blank(const struct textbuf *b);
/* The next character of in that is not white space. */
int skip_space(FILE *in);
/* Read one JSON value's text (into b unless b is NULL) up to the ',' '}'
 * or ']' that ends it, which is returned (EOF when the text ends). */
int scan_value(FILE *in, struct textbuf *b);

/* Stream out/JOBID/report.json: every member but "tasks" into head; each
 * task record's text to record(arg, ...) (which may change it in place);
 * with record NULL, stop at the records once "counts" is known. Returns 0,
 * or -1 with err ("'PATH' is not a valid report", or the read error). */
int report_stream(const char *path, json_t *head,
                  int (*record)(void *arg, char *text, size_t len), void *arg,
                  struct mps_error *err);

/* Options that only some commands of parse_json_options take. */
enum { MORE_HTML = 1, MORE_WATCH = 2 };

struct more_opts {
    unsigned allow;        /* MORE_* */
    const char *html;      /* report --html FILE */
    bool watch;            /* status --watch [SECONDS] */
    const char *watch_arg; /* --watch=SECONDS, or NULL */
    bool until_idle;       /* status --watch --until-idle */
};

/* report --html FILE: write the HTML page of job id (its report.json is
 * at path) to FILE ("-": stdout). Returns the exit code. (html.c) */
int report_html(struct spool *sp, const char *id, const char *path,
                const char *file);

/* status --watch: redraw the status every SECONDS. (progress.c) */
int status_watch(struct cmdline *cl, const struct more_opts *more);

#endif
