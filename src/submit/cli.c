/* SPDX-License-Identifier: MIT */
/* The CLI core: the one error printer, usage output, the command line
 * scanner and the option values every command parses the same way. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jobfile.h"

/* ------------------------------------------------------------ messages */

static void vformat_error(FILE *out, const char *hint, const char *fmt,
                          va_list ap)
{
    fputs("mpispool: ", out);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    if (hint)
        fprintf(out, "Try 'mpispool %s%s--help'.\n", hint, *hint ? " " : "");
}

void cli_format_error(FILE *out, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat_error(out, hint, fmt, ap);
    va_end(ap);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat_error(stderr, NULL, fmt, ap);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat_error(stderr, cmd ? cmd : "", fmt, ap);
    va_end(ap);
    return 2;
}

int cli_print_usage(const char *text)
{
    fputs(text, stdout);
    return 0;
}

/* ------------------------------------------------------------ arguments */

int cli_cmdline_init(struct cli_cmdline *cl, const char *cmd, int argc,
                     char **argv, const char *shortopts,
                     const struct option *longopts, const char *spool)
{
    *cl = (struct cli_cmdline){.cmd = cmd,
                               .argc = argc,
                               .argv = argv,
                               .shortopts = shortopts,
                               .longopts = longopts,
                               .spool = spool,
                               .dashdash = -1};
    cl->operands = calloc((size_t)argc + 1, sizeof *cl->operands);
    if (!cl->operands) {
        cli_error("out of memory");
        return -1;
    }
    opterr = 0;
    optind = 0;
    return 0;
}

void cli_cmdline_free(struct cli_cmdline *cl)
{
    free(cl->operands);
    cl->operands = NULL;
}

/* The next option (as getopt_long returns it), or -1 when all arguments
 * are scanned; operands are collected on the way. */
int cli_cmdline_next(struct cli_cmdline *cl)
{
    for (;;) {
        int before = optind == 0 ? 1 : optind;
        if (before >= cl->argc)
            return -1;
        cl->current = before;
        int c =
            getopt_long(cl->argc, cl->argv, cl->shortopts, cl->longopts, NULL);
        if (c != -1)
            return c;
        if (optind == before + 1 && strcmp(cl->argv[before], "--") == 0) {
            cl->dashdash = cl->noperands;
            while (optind < cl->argc)
                cl->operands[cl->noperands++] = cl->argv[optind++];
            return -1;
        }
        if (optind >= cl->argc)
            return -1;
        cl->operands[cl->noperands++] = cl->argv[optind++];
    }
}

/* A usage error for what getopt_long returned ('?' or ':'). */
int cli_cmdline_error(const struct cli_cmdline *cl, int c)
{
    const char *arg = cl->current < cl->argc ? cl->argv[cl->current] : "";
    char name[64];
    if (strncmp(arg, "--", 2) == 0)
        snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
    else
        snprintf(name, sizeof name, "-%c", optopt ? optopt : '?');
    if (c == ':')
        return cli_usage_error(cl->cmd, "option '%s' needs a value", name);
    if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') && optopt)
        return cli_usage_error(cl->cmd, "option '%s' takes no value", name);
    return cli_usage_error(cl->cmd, "unknown option '%s'", name);
}

/* The spool's path: --spool, else $MPISPOOL_SPOOL, else a usage error. */
const char *cli_spool_arg(const struct cli_cmdline *cl)
{
    if (cl->spool && *cl->spool)
        return cl->spool;
    const char *env = getenv("MPISPOOL_SPOOL");
    if (env && *env)
        return env;
    return NULL;
}

/* Open the spool; returns an exit code (0, 1 or 2). */
int cli_open_spool(const struct cli_cmdline *cl, struct spool **sp)
{
    const char *path = cli_spool_arg(cl);
    if (!path) {
        cli_error("no spool given: use --spool DIR or set MPISPOOL_SPOOL");
        return 2;
    }
    struct mps_error err;
    *sp = spool_open(path, &err);
    if (!*sp) {
        cli_error("%s", err.text);
        return 1;
    }
    return 0;
}

int cli_locate_job(struct spool *sp, const char *id)
{
    int where = jobfile_valid_id(id) ? spool_locate(sp, id) : -1;
    if (where < 0)
        cli_error("no job '%s' in spool '%s'", id, spool_path(sp));
    return where;
}

/* Parse an int option value; a usage error unless it is one. */
int cli_parse_int(const char *cmd, const char *opt, const char *text,
                  json_int_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < INT_MIN || v > INT_MAX)
        return cli_usage_error(cmd, "%s needs an integer, not '%s'", opt, text);
    *out = (json_int_t)v;
    return 0;
}

/* Parse seconds (an integer or a decimal number). */
int cli_parse_seconds(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_scan_options(struct cli_cmdline *cl, const char *usage, int flag_opt,
                     bool *flag)
{
    int c, rc;
    while ((c = cli_cmdline_next(cl)) != -1) {
        if (c == 'h') {
            cli_cmdline_free(cl);
            return cli_print_usage(usage);
        }
        if (c == CLI_OPT_SPOOL) {
            cl->spool = optarg;
        } else if (flag_opt && c == flag_opt) {
            *flag = true;
        } else {
            rc = cli_cmdline_error(cl, c);
            cli_cmdline_free(cl);
            return rc;
        }
    }
    return -1;
}

/* The options of status and report: --help, --spool DIR, --json, and
 * those of more->allow (--html FILE; --watch[=SECONDS], --until-idle).
 * Returns -1 to go on with cl filled (and *as_json, *more), else the exit
 * code. */
int cli_parse_json_options(struct cli_cmdline *cl, const char *command,
                           const char *usage, int argc, char **argv,
                           const char *spool, bool *as_json,
                           struct cli_more *more)
{
    enum { OPT_HTML = 1000, OPT_WATCH, OPT_UNTIL_IDLE };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, CLI_OPT_SPOOL},
        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"html", required_argument, NULL, OPT_HTML},
        {"watch", optional_argument, NULL, OPT_WATCH},
        {"until-idle", no_argument, NULL, OPT_UNTIL_IDLE},
        {NULL, 0, NULL, 0},
    };
    unsigned allow = more ? more->allow : 0;
    if (cli_cmdline_init(cl, command, argc, argv, "+:h", longopts, spool) < 0)
        return 1;
    int c, rc;
    while ((c = cli_cmdline_next(cl)) != -1) {
        switch (c) {
        case 'h':
            cli_cmdline_free(cl);
            return cli_print_usage(usage);
        case CLI_OPT_SPOOL:
            cl->spool = optarg;
            break;
        case CLI_OPT_JSON:
            *as_json = true;
            break;
        case OPT_HTML:
            if (!(allow & CLI_MORE_HTML))
                goto unknown;
            more->html = optarg;
            break;
        case OPT_WATCH:
            if (!(allow & CLI_MORE_WATCH))
                goto unknown;
            more->watch = true;
            more->watch_arg = optarg;
            break;
        case OPT_UNTIL_IDLE:
            if (!(allow & CLI_MORE_WATCH))
                goto unknown;
            more->until_idle = true;
            break;
        unknown:
            optopt = 0;
            c = '?';
            /* fall through */
        default:
            rc = cli_cmdline_error(cl, c);
            cli_cmdline_free(cl);
            return rc;
        }
    }
    return -1;
}
