/* SPDX-License-Identifier: MIT */
/* mpispool: the user's command line; global options and command dispatch. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char usage_text[] =
    "Usage: mpispool [--spool DIR] COMMAND [OPTIONS] [ARGS...]\n"
    "       mpispool --help | --version\n"
    "\n"
    "Submit work to an mpispool spool directory and follow it. The jobs are\n"
    "run by 'mpirun -np N mpispool-run --spool DIR' (rank 0 coordinates, the\n"
    "other ranks execute), on idle lab PCs or inside a Slurm allocation.\n"
    "This program needs no MPI: use it on a login node or any PC that sees\n"
    "the spool.\n"
    "\n"
    "Commands:\n"
    "  init [DIR]            create a spool (idempotent)\n"
    "  submit JOB.json       submit a job file ('-': standard input)\n"
    "  submit --tasks FILE   submit a task file: one shell command per line\n"
    "  submit -- CMD [ARG...]\n"
    "                        submit one command\n"
    "  submit -- CMD {} ::: ARG...\n"
    "                        a task per argument, as GNU parallel makes them\n"
    "  status                coordinators, ranks, slots, jobs, queue sizes\n"
    "  wait JOBID...         block until jobs end; exit 0 if all succeeded\n"
    "  report JOBID          summary of an ended job (--json: report.json)\n"
    "  cancel JOBID [TASK...]\n"
    "                        cancel a job, or some of its tasks\n"
    "  drain [--undo] HOST   send no new tasks to HOST's ranks (--undo:\n"
    "                        send them tasks again)\n"
    "  start --hostfile FILE run the spool on the lab PCs of FILE that\n"
    "                        answer over ssh, restarting when one vanishes\n"
    "  log JOBID             a job's attempts as a GNU parallel --joblog TSV\n"
    "  help [COMMAND]        show this help, or a command's\n"
    "\n"
    "A command's options may come before or after its arguments; '--'\n"
    "ends the options.\n"
    "\n"
    "Options:\n"
    "  --spool DIR           the spool directory (default: $MPISPOOL_SPOOL);\n"
    "                        also accepted after the command\n"
    "  -h, --help            show this help and exit; 'mpispool COMMAND\n"
    "                        --help' shows a command's\n"
    "  --version             show the version and exit\n"
    "\n"
    "Environment:\n"
    "  MPISPOOL_SPOOL        the spool when --spool is not given\n"
    "  MPISPOOL_SSH          the ssh command of 'start' (default: ssh)\n"
    "\n"
    "Exit status:\n"
    "  0 success, 1 failure (for wait: a job did not succeed), 2 usage "
    "error.\n"
    "\n"
    "Examples:\n"
    "  export MPISPOOL_SPOOL=$HOME/spool\n"
    "  mpispool init\n"
    "  id=$(mpispool submit --name sweep --tasks runs.txt)\n"
    "  mpirun -np 4 mpispool-run --until-empty\n"
    "  mpispool wait \"$id\" && mpispool report \"$id\"\n";

enum { OPT_VERSION = 300 };

struct command {
    const char *name;
    int (*run)(int argc, char **argv, const char *spool);
};

static const struct command commands[] = {
    {"init", cmd_init},   {"submit", cmd_submit}, {"status", cmd_status},
    {"wait", cmd_wait},   {"report", cmd_report}, {"cancel", cmd_cancel},
    {"drain", cmd_drain}, {"start", cmd_start},   {"log", cmd_log},
};

/* Run a command, then make sure what it printed reached stdout. */
static int run_command(const struct command *cmd, int argc, char **argv,
                       const char *spool)
{
    optind = 0; /* the command parses its own options from argv[1] */
    int rc = cmd->run(argc, argv, spool);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output: %s", strerror(errno));
        return 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"spool", required_argument, NULL, CLI_OPT_SPOOL},
        {NULL, 0, NULL, 0},
    };
    const char *spool = NULL;
    opterr = 0;
    for (;;) {
        int before = optind;
        int c = getopt_long(argc, argv, "+:h", longopts, NULL);
        if (c == -1)
            break;
        const char *arg = before < argc ? argv[before] : "";
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            return fflush(stdout) == 0 ? 0 : 1;
        case OPT_VERSION:
            printf("mpispool %s\n", MPISPOOL_VERSION);
            return fflush(stdout) == 0 ? 0 : 1;
        case CLI_OPT_SPOOL:
            spool = optarg;
            break;
        case ':':
            return cli_usage_error(NULL, "option '%s' needs a value", arg);
        default:
            if (strncmp(arg, "--", 2) != 0) {
                char shortopt[3] = {'-', (char)optopt, '\0'};
                return cli_usage_error(NULL, "unknown option '%s'", shortopt);
            }
            return cli_usage_error(NULL, "unknown option '%s'", arg);
        }
    }
    if (optind >= argc) {
        cli_error("no command given");
        fputc('\n', stderr);
        fputs(usage_text, stderr);
        return 2;
    }
    const char *name = argv[optind];
    int cargc = argc - optind;
    char **cargv = argv + optind;
    if (strcmp(name, "help") == 0) {
        if (cargc < 2) {
            fputs(usage_text, stdout);
            return fflush(stdout) == 0 ? 0 : 1;
        }
        name = cargv[1];
        static char help_opt[] = "--help";
        char *help_argv[] = {cargv[1], help_opt, NULL};
        for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
            if (strcmp(name, commands[i].name) == 0)
                return run_command(&commands[i], 2, help_argv, spool);
        return cli_usage_error(NULL, "'%s' is not a command", name);
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0)
            return run_command(&commands[i], cargc, cargv, spool);
    return cli_usage_error(NULL, "'%s' is not a command", name);
}
