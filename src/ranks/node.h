/* SPDX-License-Identifier: MIT */
/* What a rank does about its node: the signals it reads, its share of the
 * node's cores and memory, the binding of its tasks, the command policy
 * all ranks apply, and --idle-policy. */
#ifndef MPISPOOL_NODE_H
#define MPISPOOL_NODE_H

#include <signal.h>
#include <stdbool.h>

struct executor;
struct idle_policy;
struct idle_monitor;
struct policy;
struct rank_env;
struct run_options;

/* The signals every rank reads from a signalfd instead of handling
 * (SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1): main blocks them before MPI
 * starts its threads. */
void node_signals(sigset_t *set);

/* A signalfd for the signals of node_signals, or -1. */
int node_signalfd(void);

/* Rank 0 reads the command lists and checks them; every rank gets their
 * text by MPI_Bcast and parses it, so all apply one policy. Returns 0 with
 * *out set (NULL without lists), or 1 on every rank after the rank that
 * failed said why. Collective. */
int node_share_policy(const struct run_options *opt, int rank,
                      struct policy **out);

/* Fill in re's host, memory, local rank, index among the task-running
 * ranks of its node and slots: ranks on one node share its cores and
 * memory, and rank 0 takes no cores when there are workers. slots is
 * --slots (0: a share of the cores). Collective. */
void node_share(struct rank_env *re, unsigned slots);

/* Bind ex's tasks to this rank's share of the node's cores (unless --slots
 * asked for plain slots); logs and carries on unbound if hwloc fails. */
void node_place_tasks(struct executor *ex, const struct run_options *opt,
                      const struct rank_env *re);

/* How often a rank with --idle-policy looks at input and load. */
#define IDLE_CHECK_US 1000000

/* --idle-policy on one rank: look at input and load, and when the owner
 * comes or goes act on ex's tasks (action suspend: SIGSTOP, SIGCONT when
 * idle again; requeue: end them as interrupted, with grace_s between
 * SIGTERM and SIGKILL) and log it. On a change, announce(arg) is called
 * (when not NULL) before the tasks are touched, so rank 0 hears of the
 * owner before their results. Returns true when the owner's state
 * changed. */
bool node_idle_check(const struct idle_policy *p, struct idle_monitor *m,
                     struct executor *ex, int rank, const char *host,
                     double grace_s, void (*announce)(void *), void *arg);

#endif
