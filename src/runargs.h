/* SPDX-License-Identifier: MIT */
/* mpispool-run's command line (no MPI). */
#ifndef MPISPOOL_RUNARGS_H
#define MPISPOOL_RUNARGS_H

struct run_options;

/* Fill in opt from the environment and argv. Returns -1 to go on, else
 * the exit code: 0 after --help or --version, 2 after saying what is
 * wrong. opt->idle, when set, is the caller's to free. */
int runargs_parse(int argc, char **argv, struct run_options *opt);

/* --dry-run: print where tasks of the listed sizes would go on one rank
 * owning every core of the topology, none released. Returns the exit
 * code. */
int runargs_dry_run(const struct run_options *opt);

#endif
