/* SPDX-License-Identifier: MIT */
/* mpispool-run: MPI setup, then rank 0 coordinates and the others work. */
#include <errno.h>
#include <getopt.h>
#include <hwloc.h>
#include <limits.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "doorbell.h"
#include "cgroup.h"
#include "executor.h"
#include "idle.h"
#include "options.h"
#include "placement.h"
#include "policy.h"
#include "transport.h"
#include "util.h"

/* clang-format off */
static const char usage_text[] =
    "Usage: mpirun -np N mpispool-run [OPTIONS] --spool DIR\n"
    "       mpispool-run [OPTIONS] --spool DIR\n"
    "\n"
    "Serve an mpispool spool directory: rank 0 claims the job files users\n"
    "submit (mpispool submit) and sends their tasks over MPI to ranks\n"
    "1..N-1, which run them and send back output, exit status and resource\n"
    "use. Rank 0 writes each task's output and record under SPOOL/out/, a\n"
    "report per job, and SPOOL/status/HOST-PID.json. Started with one rank\n"
    "(or without mpirun), the single rank also runs the tasks.\n"
    "\n"
    "Options:\n"
    "  -s, --spool DIR        the spool (default: $MPISPOOL_SPOOL)\n"
    "  -u, --until-empty      exit 0 once nothing is queued or running;\n"
    "                         otherwise serve until stopped (see Stopping)\n"
    "  -n, --slots N          tasks each worker rank runs at once (default:\n"
    "                         its share of the node's cores)\n"
    "      --rescan SECONDS   full rescan of SPOOL/new/ and SPOOL/cancel/ for\n"
    "                         file systems where inotify sees nothing, e.g.\n"
    "                         NFS (default 5)\n"
    "      --workdir DIR      where each rank makes its private directory\n"
    "                         (mkdtemp), which holds its tasks' work\n"
    "                         directories (default: /run/mpispool as root,\n"
    "                         else $XDG_RUNTIME_DIR, else $TMPDIR or /tmp)\n"
    "      --kill-grace SECONDS\n"
    "                         between SIGTERM and SIGKILL when a task times\n"
    "                         out, is stopped or is ended by its job's\n"
    "                         fail_fast (default 10)\n"
    "      --max-output SIZE  keep at most SIZE of each task's stdout and of\n"
    "                         its stderr (default 1G); the rest is discarded\n"
    "                         on the rank that ran the task and the record's\n"
    "                         \"note\" says so\n"
    "      --topology SPEC    place tasks on this hwloc topology instead of\n"
    "                         the node's: an XML file (*.xml) or a synthetic\n"
    "                         description such as \"pack:2 l3:2 core:8 pu:2\"\n"
    "                         (tasks are then not bound: the cores are not\n"
    "                         real)\n"
    "      --allow-commands FILE\n"
    "                         run only the programs FILE lists (see Command\n"
    "                         policy)\n"
    "      --deny-commands FILE\n"
    "                         never run the programs FILE lists\n"
    "      --end-time EPOCH   the allocation ends then (seconds since the\n"
    "                         epoch; default: $SLURM_JOB_END_TIME when set,\n"
    "                         else never): see Time limit\n"
    "      --idle-policy SPEC run tasks on a PC only while its owner leaves it\n"
    "                         idle (see Idle desktops); SPEC \"default\" or\n"
    "                         key=value,...: load=0.5,idle=15m,\n"
    "                         input=/dev/input:/dev/pts:/dev/tty*,\n"
    "                         action=suspend|requeue[,loadfile=FILE]\n"
    "      --metrics-file FILE\n"
    "                         write Prometheus text-format metrics to FILE\n"
    "                         (FILE.tmp, then renamed: node_exporter's\n"
    "                         textfile collector), at most every 2 s and at\n"
    "                         exit\n"
    "      --dry-run K[,K...] without MPI: place tasks of K cpus one after\n"
    "                         another on one rank owning every core of the\n"
    "                         topology, print the cores each gets, exit\n"
    "      --archive-max-entries N\n"
    "                         refuse a job whose \"archive\" has more entries\n"
    "                         (default 100000)\n"
    "      --archive-max-bytes SIZE\n"
    "                         refuse an archive that extracts to more\n"
    "                         (default 1G; K, M, G, T suffixes)\n"
    "      --archive-max-ratio R\n"
    "                         refuse an archive that expands more than R\n"
    "                         times its compressed size, checked past 16M\n"
    "                         extracted (default 200)\n"
    "  -h, --help             show this help and exit\n"
    "      --version          show the version and exit\n"
    "\n"
    "Examples:\n"
    "  mpispool init ~/spool && mpispool --spool ~/spool submit -- hostname\n"
    "  mpirun -np 4 --bind-to none mpispool-run --spool ~/spool --until-empty\n"
    "  mpispool-run --spool ~/spool --until-empty     # one PC, no mpirun\n"
    "\n"
    "Placement: ranks on one node split its cores; each task of k cpus\n"
    "(job key \"cpus\") is bound to k whole cores of its rank, chosen\n"
    "compactly (the smallest core, cache, NUMA node or package with k free\n"
    "cores; best fit, then first fit) and named in MPISPOOL_CPUS and the\n"
    "record's \"cores\". --slots N runs N tasks at once without binding.\n"
    "Pass --bind-to none to mpirun.\n"
    "\n"
    "Stopping: SIGTERM, SIGINT or SIGUSR1 stop dispatching, end the running\n"
    "tasks (SIGTERM, --kill-grace, SIGKILL), record them as interrupted and\n"
    "exit 0; the next run on the spool runs them again. Open MPI's mpirun\n"
    "forwards SIGUSR1 and exits 0; on SIGTERM or SIGINT it exits 1 whatever\n"
    "its ranks do, and kills them after odls_base_sigkill_timeout (1 s by\n"
    "default: export OMPI_MCA_odls_base_sigkill_timeout=30 for a longer\n"
    "grace). After a crash (kill -9, a lost node), the next run adopts the\n"
    "dead coordinator's jobs from its journal: tasks that ended are not run\n"
    "again, tasks that were running run again with attempt + 1.\n"
    "\n"

    "Time limit: with an end time, a task whose job has a \"timeout\" is\n"
    "started only if it would end by then (now + timeout <= end); a job\n"
    "without a timeout is not restricted. A job held back this way is left\n"
    "for the next allocation: with --until-empty, once nothing else can run,\n"
    "mpispool-run stops and exits 0 (a job never started goes back to\n"
    "SPOOL/new/, a started one stays in SPOOL/cur/ for the next run). At\n"
    "the end time itself it stops as on SIGTERM.\n"
    "\n"
    "Command policy: FILE holds one absolute program path or glob a line\n"
    "(fnmatch without flags: '*' also matches '/'); blank lines and lines\n"
    "starting with '#' are ignored. Rank 0 reads the files and every rank\n"
    "applies them. Before a task starts, its argv[0] is looked up on the\n"
    "task's PATH and canonicalized with realpath (links and '..' resolved;\n"
    "rules are canonicalized the same way), and that path is matched; a\n"
    "shell task's program is /bin/sh. Deny wins over allow; with an allow\n"
    "list, a program it does not match is refused. A refused task fails\n"
    "with the error \"command 'PATH' is not allowed on this cluster\".\n"
    "\n"
    "Idle desktops (--idle-policy): each rank takes tasks only while its\n"
    "PC is idle: the load average, less its own running tasks' cpus, is\n"
    "below load, and nobody typed or moved the mouse (the access times of\n"
    "/dev/input/*, /dev/pts/*, /dev/tty*: input=, glob patterns separated\n"
    "by ':'; a character device counts by its access time, a regular file\n"
    "by its modification time, a directory by its entries') for idle\n"
    "(a duration: 90s, 15m, 1h). It looks every second. When the owner\n"
    "comes back the rank is \"owner-active\" in mpispool status, gets no\n"
    "new tasks and, with action=suspend (the default), stops its running\n"
    "tasks (SIGSTOP; SIGCONT when idle again: suspended time does not count\n"
    "against a task's timeout); with action=requeue it ends them (SIGTERM,\n"
    "--kill-grace, SIGKILL) and they are recorded interrupted and run\n"
    "again (attempt + 1) elsewhere or later. Tasks resume only after a\n"
    "whole idle period without input or load. loadfile=FILE reads the load\n"
    "from FILE's first number instead (for tests).\n"
    "\n"
    "Users: run as root, mpispool-run runs each job's tasks as the owner of\n"
    "its job file (uid, primary group and supplementary groups). A job file\n"
    "that is a symbolic link or has more than one hard link is rejected.\n";
/* clang-format on */

static int parse_options(int argc, char **argv, struct run_options *opt)
{
    enum {
        OPT_RESCAN = 256,
        OPT_WORKDIR,
        OPT_GRACE,
        OPT_VERSION,
        OPT_TOPOLOGY,
        OPT_DRY_RUN,
        OPT_MAX_OUTPUT,
        OPT_ARCHIVE_ENTRIES,
        OPT_ARCHIVE_BYTES,
        OPT_ARCHIVE_RATIO,
        OPT_ALLOW,
        OPT_DENY,
        OPT_END_TIME,
        OPT_IDLE,
        OPT_METRICS
    };
    static const struct option longopts[] = {
        {"spool", required_argument, NULL, 's'},
        {"until-empty", no_argument, NULL, 'u'},
        {"slots", required_argument, NULL, 'n'},
        {"rescan", required_argument, NULL, OPT_RESCAN},
        {"workdir", required_argument, NULL, OPT_WORKDIR},
        {"kill-grace", required_argument, NULL, OPT_GRACE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"topology", required_argument, NULL, OPT_TOPOLOGY},
        {"dry-run", required_argument, NULL, OPT_DRY_RUN},
        {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
        {"archive-max-entries", required_argument, NULL, OPT_ARCHIVE_ENTRIES},
        {"archive-max-bytes", required_argument, NULL, OPT_ARCHIVE_BYTES},
        {"archive-max-ratio", required_argument, NULL, OPT_ARCHIVE_RATIO},
        {"allow-commands", required_argument, NULL, OPT_ALLOW},
        {"deny-commands", required_argument, NULL, OPT_DENY},
        {"end-time", required_argument, NULL, OPT_END_TIME},
        {"idle-policy", required_argument, NULL, OPT_IDLE},
        {"metrics-file", required_argument, NULL, OPT_METRICS},
        {NULL, 0, NULL, 0},
    };
    opt->spool = getenv("MPISPOOL_SPOOL");
    opt->rescan_s = 5;
    opt->kill_grace_s = 10;
    opt->max_output = 1ULL << 30;
    int c;
    char *end;
    /* Slurm (23.02 and later) sets it in the job's environment; the
     * sbatch template passes --end-time for older ones. */
    const char *slurm_end = getenv("SLURM_JOB_END_TIME");
    if (slurm_end && *slurm_end) {
        double v = strtod(slurm_end, &end);
        if (!*end && v > 0)
            opt->end_time = v;
    }
    while ((c = getopt_long(argc, argv, "s:un:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            opt->spool = optarg;
            break;
        case 'u':
            opt->until_empty = true;
            break;
        case 'n': {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 1 || v > 65536) {
                fprintf(stderr,
                        "mpispool-run: --slots takes a number from "
                        "1 to 65536, not '%s'\n",
                        optarg);
                return 2;
            }
            opt->slots = (unsigned)v;
            break;
        }
        case OPT_RESCAN:
        case OPT_GRACE: {
            double v = strtod(optarg, &end);
            if (*end || !(v >= 0.1 && v <= 86400)) {
                fprintf(stderr,
                        "mpispool-run: --%s takes seconds from 0.1 "
                        "to 86400, not '%s'\n",
                        c == OPT_RESCAN ? "rescan" : "kill-grace", optarg);
                return 2;
            }
            if (c == OPT_RESCAN)
                opt->rescan_s = v;
            else
                opt->kill_grace_s = v;
            break;
        }
        case OPT_WORKDIR:
            opt->workdir = optarg;
            break;
        case OPT_METRICS:
            opt->metrics_file = optarg;
            break;
        case OPT_TOPOLOGY:
            opt->topology = optarg;
            break;
        case OPT_DRY_RUN:
            opt->dry_run = optarg;
            break;
        case OPT_MAX_OUTPUT:
            if (util_parse_size(optarg, &opt->max_output) < 0) {
                fprintf(stderr,
                        "mpispool-run: --max-output takes a size such as "
                        "512M or 2G, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_ARCHIVE_ENTRIES: {
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*end || !*optarg || optarg[0] == '-' || v < 1) {
                fprintf(stderr,
                        "mpispool-run: --archive-max-entries takes a "
                        "positive number, not '%s'\n",
                        optarg);
                return 2;
            }
            opt->archive_limits.max_entries = v;
            break;
        }
        case OPT_ARCHIVE_BYTES: {
            uint64_t v;
            if (util_parse_size(optarg, &v) < 0 || v < 1) {
                fprintf(stderr,
                        "mpispool-run: --archive-max-bytes takes a size "
                        "such as 512M or 4G, not '%s'\n",
                        optarg);
                return 2;
            }
            opt->archive_limits.max_bytes = v;
            break;
        }
        case OPT_ARCHIVE_RATIO: {
            double v = strtod(optarg, &end);
            if (*end || !(v >= 1 && v <= 1e9)) {
                fprintf(stderr,
                        "mpispool-run: --archive-max-ratio takes a number "
                        "from 1 to 1e9, not '%s'\n",
                        optarg);
                return 2;
            }
            opt->archive_limits.max_ratio = v;
            break;
        }
        case OPT_ALLOW:
            opt->allow_commands = optarg;
            break;
        case OPT_DENY:
            opt->deny_commands = optarg;
            break;
        case OPT_END_TIME: {
            double v = strtod(optarg, &end);
            if (*end || !*optarg || !(v >= 0 && v < 1e12)) {
                fprintf(stderr,
                        "mpispool-run: --end-time takes seconds since the "
                        "epoch (0: no end), not '%s'\n",
                        optarg);
                return 2;
            }
            opt->end_time = v;
            break;
        }
        case OPT_IDLE: {
            struct mps_error err;
            struct idle_policy *idle = idle_policy_parse(optarg, &err);
            if (!idle) {
                fprintf(stderr, "mpispool-run: --idle-policy: %s\n", err.text);
                return 2;
            }
            idle_policy_destroy((struct idle_policy *)opt->idle);
            opt->idle = idle;
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case OPT_VERSION:
            printf("mpispool-run %s\n", MPISPOOL_VERSION);
            return 0;
        default:
            fputs("Try 'mpispool-run --help'.\n", stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr,
                "mpispool-run: unexpected argument '%s'\n"
                "Try 'mpispool-run --help'.\n",
                argv[optind]);
        return 2;
    }
    if (opt->dry_run)
        return -1;
    if (!opt->spool || !*opt->spool) {
        fputs("mpispool-run: no spool given: use --spool DIR or set "
              "MPISPOOL_SPOOL\n",
              stderr);
        return 2;
    }
    return -1;
}

/* The signals every rank reads from a signalfd instead of handling. */
static void run_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1); /* mpirun forwards it without aborting */
}

int run_signalfd(void)
{
    sigset_t set;
    run_signals(&set);
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

/* --dry-run: where tasks of the listed sizes would go, none released. */
static int dry_run(const struct run_options *opt)
{
    struct mps_error err;
    struct placement *pl = placement_create(opt->topology, 0, 1, &err);
    if (!pl) {
        fprintf(stderr, "mpispool-run: %s\n", err.text);
        return 1;
    }
    const char *p = opt->dry_run;
    for (unsigned task = 0; *p; task++) {
        char *end;
        unsigned long k = strtoul(p, &end, 10);
        if (end == p || k == 0 || k > 65536 || (*end && *end != ',')) {
            fprintf(stderr,
                    "mpispool-run: --dry-run takes cpu counts "
                    "separated by commas, not '%s'\n",
                    opt->dry_run);
            placement_destroy(pl);
            return 2;
        }
        char list[1024];
        if (placement_take(pl, (unsigned)k, list, sizeof list, NULL) == 0)
            printf("task %u: %lu cpus -> %s\n", task, k, list);
        else
            printf("task %u: %lu cpus -> does not fit\n", task, k);
        p = *end ? end + 1 : end;
    }
    placement_destroy(pl);
    return 0;
}

void run_place_tasks(struct executor *ex, const struct run_options *opt,
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

/* Rank 0 reads the command lists and checks them; every rank gets their
 * text by MPI_Bcast and parses it, so all apply one policy. Returns 0 with
 * *out set (NULL without lists), or 1 on every rank after the rank that
 * failed said why. */
static int share_policy(const struct run_options *opt, int rank,
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

int main(int argc, char **argv)
{
    struct run_options opt = {0};
    int rc = parse_options(argc, argv, &opt);
    if (rc >= 0) {
        idle_policy_destroy((struct idle_policy *)opt.idle);
        return rc;
    }
    if (opt.dry_run)
        return dry_run(&opt);

    /* Block the signals we read from a signalfd before MPI starts its
     * threads, so that every thread inherits the mask. */
    sigset_t set;
    run_signals(&set);
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
    if (share_policy(&opt, re.rank, &policy) != 0) {
        MPI_Finalize();
        return 1;
    }
    opt.policy = policy;
    util_hostname(re.host, sizeof re.host);
    re.mem_total = node_memory();

    /* Ranks on one node share its cores; rank 0 takes none when there are
     * workers. */
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, re.rank,
                        MPI_INFO_NULL, &local);
    int local_size = 1;
    MPI_Comm_rank(local, &re.local_rank);
    MPI_Comm_size(local, &local_size);
    int *world = calloc((size_t)local_size, sizeof *world);
    MPI_Allgather(&re.rank, 1, MPI_INT, world, 1, MPI_INT, local);
    unsigned workers = 0, index = 0;
    for (int i = 0; i < local_size; i++) {
        if (re.size > 1 && world[i] == 0)
            continue;
        if (world[i] == re.rank)
            index = workers;
        workers++;
    }
    free(world);
    MPI_Comm_free(&local);
    re.local_index = index;
    re.local_workers = workers ? workers : 1;
    /* Ranks sharing a node share its memory too. */
    re.mem_total /= re.local_workers;
    unsigned cores = node_cores();
    if (opt.slots) {
        re.slots = opt.slots;
    } else if (workers > 0) {
        re.slots = cores / workers + (index < cores % workers ? 1 : 0);
        if (re.slots == 0)
            re.slots = 1;
    }

    /* Doorbells: rank 0 listens and tells everyone where; workers ring it
     * after each message and it rings them. */
    re.bell_listen = re.bell = -1;
    char bell_addr[4096] = "";
    if (re.size > 1) {
        if (re.rank == 0) {
            int port;
            struct mps_error err;
            re.bell_listen = doorbell_listen(&port, &err);
            if (re.bell_listen < 0 ||
                doorbell_addresses(port, bell_addr, sizeof bell_addr) < 0)
                bell_addr[0] = '\0';
        }
        wire_broadcast_text(bell_addr, (int)sizeof bell_addr);
        if (re.rank != 0 && bell_addr[0])
            re.bell = doorbell_connect(bell_addr, re.rank, 2000);
        if (re.rank != 0 && re.bell < 0)
            fprintf(stderr,
                    "mpispool-run: rank %d: no doorbell to rank 0; checking "
                    "MPI every %d ms instead\n",
                    re.rank, 8);
    }

    if (re.rank == 0)
        rc = coordinator_main(&opt, &re);
    else
        rc = worker_main(&opt, &re);
    MPI_Finalize();
    policy_destroy(policy);
    idle_policy_destroy((struct idle_policy *)opt.idle);
    return rc;
}
