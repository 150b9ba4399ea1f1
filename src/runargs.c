/* SPDX-License-Identifier: MIT */
/* mpispool-run's command line: its usage text, its options, and --dry-run
 * (placement without MPI). */
#include "runargs.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "idle.h"
#include "placement.h"
#include "runopts.h"
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

/* The defaults, and the end time Slurm gives. */
static void set_defaults(struct run_options *opt)
{
    opt->spool = getenv("MPISPOOL_SPOOL");
    opt->rescan_s = 5;
    opt->kill_grace_s = 10;
    opt->max_output = 1ULL << 30;
    /* Slurm (23.02 and later) sets it in the job's environment; the
     * sbatch template passes --end-time for older ones. */
    const char *slurm_end = getenv("SLURM_JOB_END_TIME");
    if (slurm_end && *slurm_end) {
        char *end;
        double v = strtod(slurm_end, &end);
        if (!*end && v > 0)
            opt->end_time = v;
    }
}

/* --slots, --rescan, --kill-grace, --end-time. Returns -1, or 2 after
 * saying what is wrong with arg. */
static int take_number(int c, const char *arg, struct run_options *opt)
{
    char *end;
    if (c == 'n') {
        unsigned long v = strtoul(arg, &end, 10);
        if (*end || v < 1 || v > 65536) {
            fprintf(stderr,
                    "mpispool-run: --slots takes a number from "
                    "1 to 65536, not '%s'\n",
                    arg);
            return 2;
        }
        opt->slots = (unsigned)v;
    } else if (c == OPT_RESCAN || c == OPT_GRACE) {
        double v = strtod(arg, &end);
        if (*end || !(v >= 0.1 && v <= 86400)) {
            fprintf(stderr,
                    "mpispool-run: --%s takes seconds from 0.1 "
                    "to 86400, not '%s'\n",
                    c == OPT_RESCAN ? "rescan" : "kill-grace", arg);
            return 2;
        }
        if (c == OPT_RESCAN)
            opt->rescan_s = v;
        else
            opt->kill_grace_s = v;
    } else {
        double v = strtod(arg, &end);
        if (*end || !*arg || !(v >= 0 && v < 1e12)) {
            fprintf(stderr,
                    "mpispool-run: --end-time takes seconds since the "
                    "epoch (0: no end), not '%s'\n",
                    arg);
            return 2;
        }
        opt->end_time = v;
    }
    return -1;
}

/* --max-output and the --archive-max-* limits. Returns -1, or 2 after
 * saying what is wrong with arg. */
static int take_limit(int c, const char *arg, struct run_options *opt)
{
    char *end;
    if (c == OPT_MAX_OUTPUT) {
        if (util_parse_size(arg, &opt->max_output) < 0) {
            fprintf(stderr,
                    "mpispool-run: --max-output takes a size such as "
                    "512M or 2G, not '%s'\n",
                    arg);
            return 2;
        }
    } else if (c == OPT_ARCHIVE_ENTRIES) {
        unsigned long long v = strtoull(arg, &end, 10);
        if (*end || !*arg || arg[0] == '-' || v < 1) {
            fprintf(stderr,
                    "mpispool-run: --archive-max-entries takes a "
                    "positive number, not '%s'\n",
                    arg);
            return 2;
        }
        opt->archive_limits.max_entries = v;
    } else if (c == OPT_ARCHIVE_BYTES) {
        uint64_t v;
        if (util_parse_size(arg, &v) < 0 || v < 1) {
            fprintf(stderr,
                    "mpispool-run: --archive-max-bytes takes a size "
                    "such as 512M or 4G, not '%s'\n",
                    arg);
            return 2;
        }
        opt->archive_limits.max_bytes = v;
    } else {
        double v = strtod(arg, &end);
        if (*end || !(v >= 1 && v <= 1e9)) {
            fprintf(stderr,
                    "mpispool-run: --archive-max-ratio takes a number "
                    "from 1 to 1e9, not '%s'\n",
                    arg);
            return 2;
        }
        opt->archive_limits.max_ratio = v;
    }
    return -1;
}

/* One option c with its argument arg (or NULL). Returns -1 to go on, or
 * the exit code. */
static int take_option(int c, const char *arg, struct run_options *opt)
{
    switch (c) {
    case 's':
        opt->spool = arg;
        break;
    case 'u':
        opt->until_empty = true;
        break;
    case 'n':
    case OPT_RESCAN:
    case OPT_GRACE:
    case OPT_END_TIME:
        return take_number(c, arg, opt);
    case OPT_MAX_OUTPUT:
    case OPT_ARCHIVE_ENTRIES:
    case OPT_ARCHIVE_BYTES:
    case OPT_ARCHIVE_RATIO:
        return take_limit(c, arg, opt);
    case OPT_WORKDIR:
        opt->workdir = arg;
        break;
    case OPT_METRICS:
        opt->metrics_file = arg;
        break;
    case OPT_TOPOLOGY:
        opt->topology = arg;
        break;
    case OPT_DRY_RUN:
        opt->dry_run = arg;
        break;
    case OPT_ALLOW:
        opt->allow_commands = arg;
        break;
    case OPT_DENY:
        opt->deny_commands = arg;
        break;
    case OPT_IDLE: {
        struct mps_error err;
        struct idle_policy *idle = idle_policy_parse(arg, &err);
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
    return -1;
}

int runargs_parse(int argc, char **argv, struct run_options *opt)
{
    set_defaults(opt);
    int c;
    while ((c = getopt_long(argc, argv, "s:un:h", longopts, NULL)) != -1) {
        int rc = take_option(c, optarg, opt);
        if (rc >= 0)
            return rc;
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

/* --dry-run: where tasks of the listed sizes would go, none released. */
int runargs_dry_run(const struct run_options *opt)
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
