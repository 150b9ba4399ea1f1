/* SPDX-License-Identifier: MIT */
/* What a rank does about its node before and while it runs tasks (see
 * node.h). */
#include "node.h"

#include <hwloc.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cgroup.h"
#include "executor.h"
#include "idle.h"
#include "placement.h"
#include "policy.h"
#include "runopts.h"
#include "util.h"

void node_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1); /* mpirun forwards it without aborting */
}

int node_signalfd(void)
{
    sigset_t set;
    node_signals(&set);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Cores of this node that this process may use (its cgroup's, not the
 * binding mpirun gave the rank). */
static unsigned node_cores(void)
{
    hwloc_topology_t topo;
    unsigned n = 0;
    if (hwloc_topology_init(&topo) == 0 && hwloc_topology_load(topo) == 0) {
        int cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
        if (cores <= 0)
            cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
        n = cores > 0 ? (unsigned)cores : 0;
        hwloc_topology_destroy(topo);
    }
    if (n == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? (unsigned)online : 1;
    }
    return n;
}

/* The node's memory in bytes: MemTotal from /proc/meminfo (hwloc's figure
 * is wrong inside containers), or this process's cgroup limit if that is
 * lower. */
static unsigned long long node_memory(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    unsigned long long kb = 0;
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
                break;
        fclose(f);
    }
    unsigned long long bytes = kb * 1024;
    char base[4096], path[4200];
    int version = cgroup_detect(base, sizeof base);
    if (version) {
        snprintf(path, sizeof path, "%s/%s", base,
                 version == 2 ? "memory.max" : "memory.limit_in_bytes");
        unsigned long long limit = 0;
        f = fopen(path, "re");
        if (f) {
            if (fscanf(f, "%llu", &limit) == 1 && limit > 0 && limit < bytes)
                bytes = limit; /* "max" (v2) does not scan: no limit */
            fclose(f);
        }
    }
    return bytes;
}

void node_place_tasks(struct executor *ex, const struct run_options *opt,
                      const struct rank_env *re)
{
    if (opt->slots)
        return;
    struct mps_error err;
    struct placement *pl = placement_create(opt->topology, re->local_index,
                                            re->local_workers, &err);
    if (!pl) {
        fprintf(stderr,
                "mpispool-run: rank %d: %s; running tasks without binding\n",
                re->rank, err.text);
        return;
    }
    executor_set_placement(ex, pl);
}

/* Largest --allow-commands or --deny-commands file. */
#define POLICY_MAX_BYTES (1 << 20)

int node_share_policy(const struct run_options *opt, int rank,
                      struct policy **out)
{
    const char *files[2] = {opt->allow_commands, opt->deny_commands};
    const char *options[2] = {"--allow-commands", "--deny-commands"};
    char *texts[2] = {NULL, NULL};
    long long header[3] = {0, -1, -1}; /* status, text lengths (-1: none) */
    struct mps_error err;
    *out = NULL;
    for (int i = 0; rank == 0 && i < 2 && !header[0]; i++) {
        if (!files[i])
            continue;
        size_t len = 0;
        texts[i] = util_read_file(files[i], POLICY_MAX_BYTES, &len, &err);
        if (texts[i] && memchr(texts[i], '\0', len))
            errprintf(&err, "'%s' is not a text file (it holds a NUL byte)",
                      files[i]);
        if (!texts[i] || memchr(texts[i], '\0', len)) {
            fprintf(stderr, "mpispool-run: %s: %s\n", options[i], err.text);
            header[0] = 1;
        }
        header[i + 1] = (long long)len;
    }
    MPI_Bcast(header, 3, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    int status = (int)header[0];
    for (int i = 0; i < 2 && !status; i++) {
        if (header[i + 1] < 0)
            continue;
        if (rank != 0 && !(texts[i] = malloc((size_t)header[i + 1] + 1))) {
            status = 1;
            fprintf(stderr, "mpispool-run: rank %d: out of memory\n", rank);
            break;
        }
        MPI_Bcast(texts[i], (int)header[i + 1], MPI_CHAR, 0, MPI_COMM_WORLD);
        texts[i][header[i + 1]] = '\0';
    }
    if (!status && (texts[0] || texts[1])) {
        char names[2][PATH_MAX + 32];
        for (int i = 0; i < 2; i++)
            snprintf(names[i], sizeof names[i], "%s '%s'", options[i],
                     files[i] ? files[i] : "");
        *out = policy_create(texts[0], names[0], texts[1], names[1], &err);
        if (!*out) {
            if (rank == 0)
                fprintf(stderr, "mpispool-run: %s\n", err.text);
            status = 1;
        }
    }
    free(texts[0]);
    free(texts[1]);
    int any_failed = status;
    if (header[0] == 0)
        MPI_Allreduce(&status, &any_failed, 1, MPI_INT, MPI_MAX,
                      MPI_COMM_WORLD);
    if (any_failed) {
        policy_destroy(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

void node_share(struct rank_env *re, unsigned slots)
{
    util_hostname(re->host, sizeof re->host);
    re->mem_total = node_memory();

    /* Ranks on one node share its cores; rank 0 takes none when there are
     * workers. */
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, re->rank,
                        MPI_INFO_NULL, &local);
    int local_size = 1;
    MPI_Comm_rank(local, &re->local_rank);
    MPI_Comm_size(local, &local_size);
    int *world = calloc((size_t)local_size, sizeof *world);
    MPI_Allgather(&re->rank, 1, MPI_INT, world, 1, MPI_INT, local);
    unsigned workers = 0, index = 0;
    for (int i = 0; i < local_size; i++) {
        if (re->size > 1 && world[i] == 0)
            continue;
        if (world[i] == re->rank)
            index = workers;
        workers++;
    }
    free(world);
    MPI_Comm_free(&local);
    re->local_index = index;
    re->local_workers = workers ? workers : 1;
    /* Ranks sharing a node share its memory too. */
    re->mem_total /= re->local_workers;
    unsigned cores = node_cores();
    if (slots) {
        re->slots = slots;
    } else if (workers > 0) {
        re->slots = cores / workers + (index < cores % workers ? 1 : 0);
        if (re->slots == 0)
            re->slots = 1;
    }
}

bool node_idle_check(const struct idle_policy *p, struct idle_monitor *m,
                     struct executor *ex, int rank, const char *host,
                     double grace_s, void (*announce)(void *), void *arg)
{
    double load = idle_read_load(p);
    /* The owner's load: ours (the running tasks' cpus) taken out. */
    double own = ex && !executor_suspended(ex) ? executor_busy(ex) : 0;
    double owner_load = load < 0 ? -1 : load > own ? load - own : 0;
    if (!idle_monitor_update(m, p, util_now_us(), idle_last_input_us(p),
                             owner_load))
        return false;
    if (announce)
        announce(arg);
    bool requeue = idle_policy_action(p) == IDLE_REQUEUE;
    unsigned running = ex ? executor_running(ex) : 0;
    if (m->owner_active) {
        fprintf(stderr,
                "mpispool-run: rank %d (%s): the owner is active (%s); "
                "taking no tasks%s\n",
                rank, host, idle_reason_name(m->reason),
                !running  ? ""
                : requeue ? ", ending the running ones to run them again"
                          : ", suspending the running ones");
        if (ex && requeue)
            executor_interrupt(ex, grace_s);
        else if (ex)
            executor_suspend(ex, true);
    } else {
        fprintf(stderr,
                "mpispool-run: rank %d (%s): idle again; taking tasks%s\n",
                rank, host,
                ex && executor_suspended(ex) && running
                    ? ", resuming the suspended ones"
                    : "");
        if (ex)
            executor_suspend(ex, false);
    }
    return true;
}
