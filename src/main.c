/* SPDX-License-Identifier: MIT */
/* mpispool-run: MPI start-up, then the choice of role: rank 0 coordinates
 * and the others work. The command line is in runargs.c, what a rank does
 * about its node in ranks/node.c. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "coordinator.h"
#include "doorbell.h"
#include "idle.h"
#include "node.h"
#include "policy.h"
#include "runargs.h"
#include "runopts.h"
#include "transport.h"
#include "worker.h"

/* Doorbells: rank 0 listens and tells everyone where; workers ring it
 * after each message and it rings them. */
static void connect_doorbells(struct rank_env *re)
{
    re->bell_listen = re->bell = -1;
    char bell_addr[4096] = "";
    if (re->size <= 1)
        return;
    if (re->rank == 0) {
        int port;
        struct mps_error err;
        re->bell_listen = doorbell_listen(&port, &err);
        if (re->bell_listen < 0 ||
            doorbell_addresses(port, bell_addr, sizeof bell_addr) < 0)
            bell_addr[0] = '\0';
    }
    wire_broadcast_text(bell_addr, (int)sizeof bell_addr);
    if (re->rank != 0 && bell_addr[0])
        re->bell = doorbell_connect(bell_addr, re->rank, 2000);
    if (re->rank != 0 && re->bell < 0)
        fprintf(stderr,
                "mpispool-run: rank %d: no doorbell to rank 0; checking "
                "MPI every %d ms instead\n",
                re->rank, 8);
}

int main(int argc, char **argv)
{
    struct run_options opt = {0};
    int rc = runargs_parse(argc, argv, &opt);
    if (rc >= 0) {
        idle_policy_destroy((struct idle_policy *)opt.idle);
        return rc;
    }
    if (opt.dry_run)
        return runargs_dry_run(&opt);

    /* Block the signals we read from a signalfd before MPI starts its
     * threads, so that every thread inherits the mask. */
    sigset_t set;
    node_signals(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        fputs("mpispool-run: MPI_Init failed\n", stderr);
        return 1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    struct rank_env re;
    memset(&re, 0, sizeof re);
    MPI_Comm_rank(MPI_COMM_WORLD, &re.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &re.size);
    struct policy *policy;
    if (node_share_policy(&opt, re.rank, &policy) != 0) {
        MPI_Finalize();
        return 1;
    }
    opt.policy = policy;
    node_share(&re, opt.slots);
    connect_doorbells(&re);

    if (re.rank == 0)
        rc = coordinator_main(&opt, &re);
    else
        rc = worker_main(&opt, &re);
    MPI_Finalize();
    policy_destroy(policy);
    idle_policy_destroy((struct idle_policy *)opt.idle);
    return rc;
}
