/* SPDX-License-Identifier: MIT */
/* status --watch: the status drawn again every SECONDS. */
#ifndef MPISPOOL_WATCH_H
#define MPISPOOL_WATCH_H

#include "cli.h"

/* status --watch [SECONDS] [--until-idle], the command line cl scanned;
 * returns the exit code. */
int status_watch(struct cli_cmdline *cl, const struct cli_more *more);

#endif
