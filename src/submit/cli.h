/* SPDX-License-Identifier: MIT */
/* The CLI core: the program's one error printer, usage output, the command
 * line scanner, and option values that commands parse alike. */
#ifndef MPISPOOL_CLI_H
#define MPISPOOL_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "spool.h"

/* Print an error as mpispool prints every error: "mpispool: MESSAGE\n",
 * then, when hint is not NULL, "Try 'mpispool HINT --help'.\n" (hint ""
 * for the program's own help: "Try 'mpispool --help'.\n"). */
void cli_format_error(FILE *out, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "mpispool: MESSAGE" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error of command cmd (NULL: of the program): message and hint
 * on stderr; returns the exit code 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Print a usage text on stdout; returns the exit code 0. */
int cli_print_usage(const char *text);

/* Long options without a short form, shared by the commands. */
enum {
    CLI_OPT_SPOOL = 256,
    CLI_OPT_NAME,
    CLI_OPT_CPUS,
    CLI_OPT_TIMEOUT,
    CLI_OPT_RETRIES,
    CLI_OPT_PRIORITY,
    CLI_OPT_ENV,
    CLI_OPT_CWD,
    CLI_OPT_TASKS,
    CLI_OPT_ARCHIVE,
    CLI_OPT_JSON,
    CLI_OPT_QUIET,
};

/* A command line scanned with getopt_long: options may come before or
 * after the operands; "--" ends the options. */
struct cli_cmdline {
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

/* Start scanning argv (argv[0] is the command's name); 0, or -1 after a
 * message. Free cl with cli_cmdline_free. */
int cli_cmdline_init(struct cli_cmdline *cl, const char *cmd, int argc,
                     char **argv, const char *shortopts,
                     const struct option *longopts, const char *spool);
void cli_cmdline_free(struct cli_cmdline *cl);
/* The next option (as getopt_long returns it), or -1 at the end. */
int cli_cmdline_next(struct cli_cmdline *cl);
/* A usage error for what getopt_long returned ('?' or ':'); returns 2. */
int cli_cmdline_error(const struct cli_cmdline *cl, int c);
/* The spool's path: --spool, else $MPISPOOL_SPOOL, else NULL. */
const char *cli_spool_arg(const struct cli_cmdline *cl);
/* Open the spool of cl; returns an exit code (0, 1 or 2). */
int cli_open_spool(const struct cli_cmdline *cl, struct spool **sp);
/* Where job id is in sp (enum spool_dir), or -1 after the error "no job
 * ID in spool DIR" (also for a malformed id). */
int cli_locate_job(struct spool *sp, const char *id);

/* An int option value (opt names it in the message); 0, or 2 after a
 * usage error of cmd. */
int cli_parse_int(const char *cmd, const char *opt, const char *text,
                  json_int_t *out);
/* Seconds (an integer or a decimal number); 0 or -1. */
int cli_parse_seconds(const char *text, double *out);

/* Scan the options of a command that takes -h/--help, --spool DIR and
 * at most one flag (flag_opt, which sets *flag; 0: none). Returns -1 to go
 * on with cl filled, else the exit code (cl freed). */
int cli_scan_options(struct cli_cmdline *cl, const char *usage, int flag_opt,
                     bool *flag);

/* Options that only some commands of cli_parse_json_options take. */
enum { CLI_MORE_HTML = 1, CLI_MORE_WATCH = 2 };

struct cli_more {
    unsigned allow;        /* CLI_MORE_* */
    const char *html;      /* report --html FILE */
    bool watch;            /* status --watch [SECONDS] */
    const char *watch_arg; /* --watch=SECONDS, or NULL */
    bool until_idle;       /* status --watch --until-idle */
};

/* The options of status and report: --help, --spool DIR, --json, and
 * those of more->allow. Returns -1 to go on with cl filled (and *as_json,
 * *more), else the exit code (cl freed). */
int cli_parse_json_options(struct cli_cmdline *cl, const char *command,
                           const char *usage, int argc, char **argv,
                           const char *spool, bool *as_json,
                           struct cli_more *more);

#endif
