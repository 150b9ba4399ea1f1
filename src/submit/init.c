/* SPDX-License-Identifier: MIT */
/* mpispool init: create a spool directory. */
#include "commands.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "error.h"
#include "spool.h"

/* ------------------------------------------------------------ init */

static const char init_usage[] =
    "Usage: mpispool init [DIR]\n"
    "\n"
    "Create a spool directory: DIR (or --spool DIR, or $MPISPOOL_SPOOL) and\n"
    "its subdirectories tmp/ new/ cur/ done/ failed/ rejected/ cancel/ out/\n"
    "journal/ status/ data/ drain/ ids/, owned by you (the spool's\n"
    "administrator; root for a spool shared by a lab). Parents are created\n"
    "as needed. tmp/, new/, cancel/, data/ and ids/ get mode 1733 (anyone\n"
    "may drop a file in, nobody may list them, only a file's owner may\n"
    "rename or remove it), like cron's spool; the others, drain/ too (only\n"
    "the administrator drains), 0755. Running init on an existing spool is\n"
    "safe: what is there is kept, missing parts are added and modes set.\n"
    "\n"
    "Options:\n"
    "      --spool DIR       the spool, when DIR is not given\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 the spool is ready, 1 it cannot be created, 2 usage "
    "error.\n"
    "\n"
    "Examples:\n"
    "  mpispool init ~/spool\n"
    "  MPISPOOL_SPOOL=/scratch/$USER/spool mpispool init\n";

int cmd_init(int argc, char **argv, const char *spool)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, CLI_OPT_SPOOL},
        {NULL, 0, NULL, 0},
    };
    struct cli_cmdline cl;
    if (cli_cmdline_init(&cl, "init", argc, argv, "+:h", longopts, spool) < 0)
        return 1;
    int rc;
    if ((rc = cli_scan_options(&cl, init_usage, 0, NULL)) >= 0)
        return rc;
    rc = 0;
    const char *path = NULL;
    if (cl.noperands > 1) {
        rc = cli_usage_error("init", "too many arguments: give one directory");
        goto out;
    }
    if (cl.noperands == 1) {
        path = cl.operands[0];
        if (!*path) {
            rc = cli_usage_error("init",
                                 "the spool directory is an empty string");
            goto out;
        }
    } else if (!(path = cli_spool_arg(&cl))) {
        rc = cli_usage_error("init", "no spool given: use 'mpispool init DIR', "
                                     "--spool DIR or set MPISPOOL_SPOOL");
        goto out;
    }
    struct mps_error err;
    if (spool_init(path, &err) < 0) {
        cli_error("%s", err.text);
        rc = 1;
        goto out;
    }
    char real[PATH_MAX];
    if (!realpath(path, real))
        snprintf(real, sizeof real, "%s", path);
    fprintf(stderr, "initialized spool '%s'\n", real);
out:
    cli_cmdline_free(&cl);
    return rc;
}
