/* SPDX-License-Identifier: MIT */
/* The mpispool CLI's commands, one function each, called by main.c. */
#ifndef MPISPOOL_COMMANDS_H
#define MPISPOOL_COMMANDS_H

/* Each command gets its own argv (argv[0] is the command's name, e.g.
 * "submit") and the spool given before the command (--spool DIR), or NULL.
 * A --spool after the command overrides it; without either the spool is
 * $MPISPOOL_SPOOL. Each prints its usage for -h/--help and returns the
 * process exit code: 0 success, 1 runtime failure, 2 usage error. */
int cmd_init(int argc, char **argv, const char *spool);
int cmd_submit(int argc, char **argv, const char *spool);
int cmd_status(int argc, char **argv, const char *spool);
int cmd_wait(int argc, char **argv, const char *spool);
int cmd_report(int argc, char **argv, const char *spool);
int cmd_cancel(int argc, char **argv, const char *spool);
int cmd_drain(int argc, char **argv, const char *spool);
/* start.c: mpispool start (forks and execs mpirun). */
int cmd_start(int argc, char **argv, const char *spool);
int cmd_log(int argc, char **argv, const char *spool); /* log.c */

#endif
