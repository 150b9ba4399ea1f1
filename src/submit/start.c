/* SPDX-License-Identifier: MIT */
/* mpispool start: run a spool on the lab PCs that answer over ssh, again
 * and again until it is empty (mpirun is forked and exec'd, never linked). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "cli.h"
#include "error.h"
#include "spool.h"
#include "util.h"

static const char start_usage[] =
    "Usage: mpispool start --hostfile FILE [OPTIONS] [-- MPIRUN-ARGS...]\n"
    "\n"
    "Run the spool on the lab PCs listed in FILE, the one command a lab\n"
    "needs (from a terminal, cron or a systemd timer). It\n"
    "\n"
    "  1. asks every PC of FILE, all at once, whether it answers over ssh\n"
    "     ($MPISPOOL_SSH -o BatchMode=yes -o ConnectTimeout=5 HOST true);\n"
    "  2. writes an Open MPI hostfile of those that do, this PC first,\n"
    "     and runs\n"
    "       mpirun --hostfile H --bind-to none --map-by node -np K\n"
    "              --mca plm_rsh_agent \"$MPISPOOL_SSH\" [MPIRUN-ARGS...]\n"
    "              mpispool-run --spool DIR --until-empty\n"
    "     rank 0 (the coordinator) runs on this PC, beside the spool, and\n"
    "     N worker ranks on every PC that answered (this one included);\n"
    "  3. when mpirun ends with work left in the spool (a PC switched off\n"
    "     or unplugged makes Open MPI end the whole run), waits --pause\n"
    "     seconds and starts again on the PCs that still answer. The new\n"
    "     coordinator adopts the jobs of the old one: tasks that ended are\n"
    "     never run again, tasks that were cut short run again;\n"
    "  4. exits 0 once new/ and cur/ of the spool are empty.\n"
    "\n"
    "Workers need no shared file system: output travels over MPI to rank\n"
    "0. Each PC needs mpispool-run at the same path as here, Open MPI, and\n"
    "an ssh key that lets this PC log in without a password. Progress\n"
    "lines go to standard error; mpirun's output passes through.\n"
    "\n"
    "FILE lists one PC a line, as an Open MPI hostfile does: a host name\n"
    "or address, optionally followed by slots=N (the worker ranks for that\n"
    "PC; default --np-per-host; 0: none). '#' starts a comment. The first\n"
    "PC is the one where rank 0 runs and must be this PC (or 'localhost');\n"
    "it is not asked over ssh, and slots=0 there keeps it for rank 0 alone.\n"
    "Give each PC one rank unless you know better: a rank runs as many\n"
    "tasks at once as its PC has cores.\n"
    "\n"
    "Stopping: SIGTERM or SIGINT (Ctrl-C) is passed to mpirun as SIGUSR1,\n"
    "which stops every rank cleanly: running tasks are ended and recorded\n"
    "as interrupted, the next start resumes them, and this command exits\n"
    "0. Another SIGTERM or SIGINT, a second later or more, is passed on as\n"
    "SIGTERM (Open MPI then kills the ranks after a second). Under systemd\n"
    "use KillMode=mixed, so that only this command gets the SIGTERM.\n"
    "\n"
    "Options:\n"
    "      --hostfile FILE   the lab's PCs (required)\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL); it lives\n"
    "                        on this PC's disk or on a shared file system\n"
    "      --np-per-host N   worker ranks per PC without slots= (default 1)\n"
    "      --serve           keep serving the spool when it is empty (no\n"
    "                        --until-empty); restart whenever mpirun ends\n"
    "      --retries N       give up after N restarts in a row of runs that\n"
    "                        ended within a minute and finished no job\n"
    "                        (default 10)\n"
    "      --pause SECONDS   wait this long before starting again (default\n"
    "                        30)\n"
    "      --run PATH        mpispool-run on every PC (default: the one\n"
    "                        beside this mpispool, else from PATH)\n"
    "      --run-option OPT  pass OPT to mpispool-run (repeatable), e.g.\n"
    "                        --run-option=--idle-policy=default to run\n"
    "                        tasks only while the PCs' owners are away\n"
    "  -h, --help            show this help and exit\n"
    "  -- MPIRUN-ARGS        passed to mpirun before the program, e.g.\n"
    "                        -- --mca btl_tcp_if_include 192.168.1.0/24\n"
    "\n"
    "Environment:\n"
    "  MPISPOOL_SSH          the ssh command, split at blanks (default\n"
    "                        'ssh'), e.g. 'ssh -F /etc/mpispool/ssh_config';\n"
    "                        used for the check and given to mpirun as\n"
    "                        plm_rsh_agent\n"
    "  MPISPOOL_MPIRUN       the mpirun program (default 'mpirun')\n"
    "  MPISPOOL_SPOOL        the spool when --spool is not given\n"
    "\n"
    "Exit status: 0 the spool is empty, or stopped by a signal; 1 gave up\n"
    "(see --retries) or mpirun could not be started; 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool start --hostfile ~/lab-hosts --spool /srv/spool\n"
    "  MPISPOOL_SSH='ssh -i ~/.ssh/lab_ed25519' mpispool start \\\n"
    "      --hostfile lab-hosts --serve -- --mca btl_tcp_if_include eth0\n"
    "\n"
    "lab/ in the source tree has a systemd timer and a crontab line that\n"
    "start it at night.\n";

/* How long the ssh check of all hosts may take before the stragglers are
 * killed (ConnectTimeout=5 bounds a connect; this bounds the rest). */
#define CHECK_DEADLINE_S 20

/* A run this long counts as progress even when no job ended in it. */
#define PROGRESS_RUN_US (60 * 1000000LL)

enum {
    OPT_SPOOL = 256,
    OPT_HOSTFILE,
    OPT_NP,
    OPT_SERVE,
    OPT_RETRIES,
    OPT_PAUSE,
    OPT_RUN,
    OPT_RUN_OPTION,
};

struct host {
    char *name;
    int slots; /* worker ranks; -1: --np-per-host */
    bool local;
    bool answers;
    pid_t check_pid;
    int check_err; /* read end of the check's stderr, or -1 */
    char why[200]; /* why it does not answer */
};

struct start {
    const char *hostfile;
    const char *spool;
    int np_per_host;
    bool serve;
    int retries;
    double pause_s;
    const char *run;
    char **mpirun_args; /* after "--" */
    int nmpirun_args;
    char **run_options; /* --run-option: for mpispool-run */
    int nrun_options;
    char **ssh_argv; /* MPISPOOL_SSH split at blanks, */
    char *ssh_words; /* pointing into this */
    const char *ssh_text;
    struct host *hosts;
    int nhosts;
    sigset_t sigs;  /* blocked, taken with sigtimedwait */
    int stop_count; /* SIGTERM/SIGINT/SIGHUP received */
    int64_t last_stop_us;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A progress line: "mpispool start: ..." on stderr. */
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mpispool start: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ------------------------------------------------------------ hosts */

static bool is_local_host(const char *name)
{
    char self[256] = "";
    if (gethostname(self, sizeof self - 1) < 0)
        self[0] = '\0';
    size_t short_len = strcspn(self, ".");
    return strcmp(name, "localhost") == 0 || strncmp(name, "127.", 4) == 0 ||
           strcmp(name, self) == 0 ||
           (strlen(name) == short_len && strncmp(name, self, short_len) == 0);
}

/* Read FILE: "HOST [slots=N] [...]" a line, '#' comments. */
static int read_hostfile(struct start *st)
{
    FILE *in = fopen(st->hostfile, "re");
    if (!in) {
        cli_error("cannot open hostfile '%s': %s", st->hostfile,
                  strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, in) >= 0) {
        lineno++;
        line[strcspn(line, "#\n")] = '\0';
        char *save = NULL;
        char *name = strtok_r(line, " \t\r", &save);
        if (!name)
            continue;
        if (name[0] == '-') { /* ssh would take it for an option */
            cli_error("hostfile '%s' line %d: bad host name '%s'", st->hostfile,
                      lineno, name);
            rc = -1;
            continue;
        }
        int slots = -1;
        for (char *word; (word = strtok_r(NULL, " \t\r", &save));) {
            if (strncmp(word, "slots=", 6) == 0) {
                char *end;
                long n = strtol(word + 6, &end, 10);
                if (*end || end == word + 6 || n < 0 || n > 4096) {
                    cli_error("hostfile '%s' line %d: bad '%s'", st->hostfile,
                              lineno, word);
                    rc = -1;
                }
                slots = (int)n;
            }
            /* other Open MPI keywords (max_slots=...) are ignored */
        }
        struct host *grown =
            realloc(st->hosts, (size_t)(st->nhosts + 1) * sizeof *grown);
        if (!grown || !(name = strdup(name))) {
            cli_error("out of memory");
            rc = -1;
            break;
        }
        st->hosts = grown;
        st->hosts[st->nhosts++] = (struct host){
            .name = name, .slots = slots, .check_pid = -1, .check_err = -1};
    }
    free(line);
    fclose(in);
    if (rc == 0 && st->nhosts == 0) {
        cli_error("hostfile '%s' lists no host", st->hostfile);
        rc = -1;
    }
    if (rc < 0)
        return rc;
    st->hosts[0].local = is_local_host(st->hosts[0].name);
    if (!st->hosts[0].local)
        say("note: the first host '%s' is not this PC: rank 0 runs there "
            "and needs the spool at the same path",
            st->hosts[0].name);
    return 0;
}

/* Split text at blanks into a NULL-terminated argv; its words point into
 * *words (free both). NULL when text has no word. */
static char **split_words(const char *text, char **words)
{
    char *copy = strdup(text);
    size_t n = 0;
    char **argv = calloc(strlen(text) + 2, sizeof *argv);
    if (!copy || !argv) {
        free(copy);
        free(argv);
        return NULL;
    }
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t\n", &save); w;
         w = strtok_r(NULL, " \t\n", &save))
        argv[n++] = w;
    if (n == 0) {
        free(copy);
        free(argv);
        return NULL;
    }
    *words = copy;
    return argv;
}

/* In a child: default signal handling, nothing blocked, stdin from
 * /dev/null; die with the parent. */
static void child_setup(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0)
        dup2(null, STDIN_FILENO);
}

/* Start "SSH -o BatchMode=yes -o ConnectTimeout=5 HOST true" for h. */
static void check_start(struct start *st, struct host *h)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(h->why, sizeof h->why, "pipe: %s", strerror(errno));
        return;
    }
    int n = 0;
    while (st->ssh_argv[n])
        n++;
    char *argv[n + 8];
    memcpy(argv, st->ssh_argv, (size_t)n * sizeof *argv);
    argv[n++] = "-o";
    argv[n++] = "BatchMode=yes";
    argv[n++] = "-o";
    argv[n++] = "ConnectTimeout=5";
    argv[n++] = h->name;
    argv[n++] = "true";
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        child_setup();
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "cannot execute '%s': %s\n", argv[0],
                strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        snprintf(h->why, sizeof h->why, "fork: %s", strerror(errno));
        return;
    }
    h->check_pid = pid;
    h->check_err = pipefd[0];
}

/* The check of h ended with wait status: note whether it answered and,
 * if not, the last line ssh wrote. */
static void check_end(struct host *h, int status)
{
    h->check_pid = -1;
    h->answers = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    char buf[4096];
    ssize_t got = 0, n;
    fcntl(h->check_err, F_SETFL, O_NONBLOCK);
    while (got < (ssize_t)sizeof buf - 1 &&
           (n = read(h->check_err, buf + got, sizeof buf - 1 - (size_t)got)) >
               0)
        got += n;
    close(h->check_err);
    h->check_err = -1;
    buf[got] = '\0';
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
        buf[--got] = '\0';
    char *last = strrchr(buf, '\n');
    last = last ? last + 1 : buf;
    if (h->answers)
        h->why[0] = '\0';
    else if (*last)
        snprintf(h->why, sizeof h->why, "%.*s", (int)sizeof h->why - 1, last);
    else if (WIFEXITED(status))
        snprintf(h->why, sizeof h->why, "ssh exited %d", WEXITSTATUS(status));
    else
        snprintf(h->why, sizeof h->why, "ssh killed by signal %d",
                 WTERMSIG(status));
}

/* Take one pending signal or child exit; returns the signal number, 0 on
 * timeout. timeout_ms < 0 waits for ever. SIGTERM/SIGINT/SIGHUP are
 * counted in st->stop_count. */
static int next_signal(struct start *st, long timeout_ms)
{
    siginfo_t si;
    int sig;
    if (timeout_ms < 0) {
        do
            sig = sigwaitinfo(&st->sigs, &si);
        while (sig < 0 && errno == EINTR);
    } else {
        struct timespec ts = {.tv_sec = timeout_ms / 1000,
                              .tv_nsec = (timeout_ms % 1000) * 1000000L};
        do
            sig = sigtimedwait(&st->sigs, &si, &ts);
        while (sig < 0 && errno == EINTR);
    }
    if (sig < 0)
        return 0;
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
        /* A signal sent to the whole process group (timeout(1), a
         * terminal) may reach us twice at once: only one that comes a
         * second after the last counts again. */
        int64_t now = util_mono_us();
        if (st->stop_count == 0 || now - st->last_stop_us > 1000000)
            st->stop_count++;
        st->last_stop_us = now;
    }
    return sig;
}

/* Ask every host but the local one, in parallel; returns how many answer
 * (the local one included). */
static int check_hosts(struct start *st)
{
    int pending = 0;
    for (int i = 0; i < st->nhosts; i++) {
        struct host *h = &st->hosts[i];
        h->answers = h->local;
        h->why[0] = '\0';
        if (!h->local) {
            check_start(st, h);
            if (h->check_pid > 0)
                pending++;
        }
    }
    int64_t deadline = util_mono_us() + CHECK_DEADLINE_S * 1000000LL;
    while (pending > 0) {
        int status;
        pid_t pid;
        while (pending > 0 && (pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < st->nhosts; i++)
                if (st->hosts[i].check_pid == pid) {
                    check_end(&st->hosts[i], status);
                    pending--;
                }
        }
        int64_t left = deadline - util_mono_us();
        if (pending == 0 || left <= 0 || st->stop_count > 0)
            break;
        next_signal(st, (long)(left / 1000) + 1);
    }
    for (int i = 0; i < st->nhosts; i++) {
        struct host *h = &st->hosts[i];
        if (h->check_pid > 0) {
            kill(h->check_pid, SIGKILL);
            int status;
            waitpid(h->check_pid, &status, 0);
            check_end(h, status);
            snprintf(h->why, sizeof h->why, "no answer within %d s",
                     CHECK_DEADLINE_S);
        }
    }
    int answering = 0;
    for (int i = 0; i < st->nhosts; i++)
        answering += st->hosts[i].answers;
    return answering;
}

/* ------------------------------------------------------------ spool */

/* Job files in SPOOL/dir, or -1 when it cannot be listed. */
static long count_jobs(const char *spool, const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", spool, dir);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] != '.' && len > 5 &&
            strcmp(de->d_name + len - 5, ".json") == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Jobs that have ended (done, failed, rejected): progress between runs. */
static long ended_jobs(const char *spool)
{
    long total = 0;
    static const char *const dirs[] = {"done", "failed", "rejected"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        long n = count_jobs(spool, dirs[i]);
        if (n > 0)
            total += n;
    }
    return total;
}

/* ------------------------------------------------------------ mpirun */

/* The mpispool-run beside this program, else "mpispool-run" (PATH). */
static const char *default_run(void)
{
    static char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n > 0) {
        path[n] = '\0';
        char *slash = strrchr(path, '/');
        if (slash) {
            strcpy(slash + 1, "mpispool-run");
            if (access(path, X_OK) == 0)
                return path;
        }
    }
    return "mpispool-run";
}

/* Write the Open MPI hostfile of the answering hosts; returns the number
 * of ranks it makes room for, or -1. */
static int write_mpi_hostfile(const struct start *st, const char *path)
{
    FILE *out = fopen(path, "we");
    if (!out)
        return -1;
    int ranks = 0;
    bool first = true;
    for (int i = 0; i < st->nhosts; i++) {
        const struct host *h = &st->hosts[i];
        if (!h->answers)
            continue;
        int slots = h->slots >= 0 ? h->slots : st->np_per_host;
        if (first)
            slots++; /* rank 0, the coordinator: it takes no cores */
        first = false;
        if (slots == 0)
            continue;
        fprintf(out, "%s slots=%d\n", h->name, slots);
        ranks += slots;
    }
    if (fclose(out) != 0)
        return -1;
    return ranks;
}

/* Run mpirun once on the answering hosts; relay stop signals. Returns its
 * wait status, or -1 when it could not be started. */
static int run_mpirun(struct start *st, const char *hostfile, int np,
                      int run_no)
{
    const char *mpirun = getenv("MPISPOOL_MPIRUN");
    if (!mpirun || !*mpirun)
        mpirun = "mpirun";
    char npbuf[16];
    snprintf(npbuf, sizeof npbuf, "%d", np);
    /* 17 of ours, with the NULL */
    int max = 24 + st->nmpirun_args + st->nrun_options;
    char **argv = calloc((size_t)max, sizeof *argv);
    if (!argv)
        return -1;
    int n = 0;
    argv[n++] = (char *)mpirun;
    argv[n++] = "--hostfile";
    argv[n++] = (char *)hostfile;
    argv[n++] = "--bind-to";
    argv[n++] = "none";
    argv[n++] = "--map-by";
    argv[n++] = "node";
    argv[n++] = "-np";
    argv[n++] = npbuf;
    argv[n++] = "--mca";
    argv[n++] = "plm_rsh_agent";
    argv[n++] = (char *)st->ssh_text;
    for (int i = 0; i < st->nmpirun_args; i++)
        argv[n++] = st->mpirun_args[i];
    argv[n++] = (char *)st->run;
    argv[n++] = "--spool";
    argv[n++] = (char *)st->spool;
    if (!st->serve)
        argv[n++] = "--until-empty";
    for (int i = 0; i < st->nrun_options; i++)
        argv[n++] = st->run_options[i];
    argv[n] = NULL;

    char hosts[1024] = "";
    size_t used = 0;
    for (int i = 0; i < st->nhosts && used < sizeof hosts - 1; i++)
        if (st->hosts[i].answers)
            used += (size_t)snprintf(hosts + used, sizeof hosts - used, "%s%s",
                                     used ? " " : "", st->hosts[i].name);
    say("run %d: %d rank%s on %s", run_no, np, np == 1 ? "" : "s", hosts);

    pid_t pid = fork();
    if (pid == 0) {
        child_setup();
        /* Its own process group: a Ctrl-C in the terminal reaches only
         * us, and we ask mpirun for a clean stop. */
        setpgid(0, 0);
        execvp(argv[0], argv);
        cli_error("cannot execute '%s': %s", argv[0], strerror(errno));
        _exit(127);
    }
    free(argv);
    if (pid < 0) {
        cli_error("cannot start mpirun: %s", strerror(errno));
        return -1;
    }
    int relayed = 0;
    for (;;) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return status;
        if (got < 0 && errno != EINTR)
            return -1;
        next_signal(st, -1);
        while (relayed < st->stop_count) {
            /* SIGUSR1: Open MPI forwards it, every rank stops cleanly and
             * mpirun exits 0. Again: SIGTERM, mpirun kills its ranks. */
            int sig = relayed == 0 ? SIGUSR1 : SIGTERM;
            say("stopping: %s to mpirun (pid %d)",
                sig == SIGUSR1 ? "SIGUSR1 (a clean stop)" : "SIGTERM",
                (int)pid);
            kill(pid, sig);
            relayed++;
        }
    }
}

static void describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "status %d", status);
}

/* ------------------------------------------------------------ command */

static int parse_start(struct start *st, int argc, char **argv,
                       const char *spool)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"hostfile", required_argument, NULL, OPT_HOSTFILE},
        {"np-per-host", required_argument, NULL, OPT_NP},
        {"serve", no_argument, NULL, OPT_SERVE},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"pause", required_argument, NULL, OPT_PAUSE},
        {"run", required_argument, NULL, OPT_RUN},
        {"run-option", required_argument, NULL, OPT_RUN_OPTION},
        {NULL, 0, NULL, 0},
    };
    *st = (struct start){
        .spool = spool, .np_per_host = 1, .retries = 10, .pause_s = 30};
    opterr = 0;
    optind = 0; /* glibc: start afresh, from argv[1] */
    for (;;) {
        int before = optind ? optind : 1;
        int c = getopt_long(argc, argv, "+:h", longopts, NULL);
        if (c == -1)
            break;
        const char *arg = before < argc ? argv[before] : "";
        char *end;
        long n;
        switch (c) {
        case 'h':
            fputs(start_usage, stdout);
            return 0;
        case OPT_SPOOL:
            st->spool = optarg;
            break;
        case OPT_HOSTFILE:
            st->hostfile = optarg;
            break;
        case OPT_NP:
        case OPT_RETRIES:
            n = strtol(optarg, &end, 10);
            if (*end || end == optarg || n < (c == OPT_NP) || n > 4096)
                return cli_usage_error("start",
                                       c == OPT_NP ? "bad --np-per-host "
                                                     "'%s'"
                                                   : "bad --retries '%s'",
                                       optarg);
            if (c == OPT_NP)
                st->np_per_host = (int)n;
            else
                st->retries = (int)n;
            break;
        case OPT_PAUSE:
            st->pause_s = strtod(optarg, &end);
            if (*end || end == optarg || !(st->pause_s >= 0) ||
                st->pause_s > 86400)
                return cli_usage_error("start", "bad --pause '%s'", optarg);
            break;
        case OPT_RUN_OPTION: {
            char **grown =
                realloc(st->run_options,
                        (size_t)(st->nrun_options + 1) * sizeof *grown);
            if (!grown) {
                cli_error("out of memory");
                return 1;
            }
            st->run_options = grown;
            st->run_options[st->nrun_options++] = optarg;
            break;
        }
        case OPT_RUN:
            st->run = optarg;
            break;
        case OPT_SERVE:
            st->serve = true;
            break;
        case ':':
            return cli_usage_error("start", "option '%s' needs a value", arg);
        default:
            return cli_usage_error("start", "unknown option '%s'", arg);
        }
    }
    if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
        return cli_usage_error("start",
                               "unexpected argument '%s' (mpirun's "
                               "options go after '--')",
                               argv[optind]);
    st->mpirun_args = argv + optind;
    st->nmpirun_args = argc - optind;
    if (!st->hostfile)
        return cli_usage_error("start", "%s",
                               "no hostfile given: mpispool start "
                               "--hostfile FILE");
    if (!st->spool || !*st->spool)
        st->spool = getenv("MPISPOOL_SPOOL");
    if (!st->spool || !*st->spool) {
        cli_error("no spool given: use --spool DIR or set "
                  "MPISPOOL_SPOOL");
        return 2;
    }
    return -1;
}

/* Run mpirun on the hosts that answer, again and again while work is
 * left and runs make progress, until a stop signal; the exit code. */
static int supervise(struct start *st, const char *hostfile)
{
    int failures = 0, run_no = 0, rc = 1;
    for (;;) {
        long queued = count_jobs(st->spool, "new");
        long claimed = count_jobs(st->spool, "cur");
        if (!st->serve && queued == 0 && claimed == 0) {
            say(run_no ? "the spool is empty: done"
                       : "the spool is empty: nothing to do");
            rc = 0;
            return rc;
        }
        int answering = check_hosts(st);
        if (st->stop_count > 0) {
            say("stopped before a run");
            rc = 0;
            return rc;
        }
        for (int i = 0; i < st->nhosts; i++)
            if (!st->hosts[i].answers)
                say("%s does not answer: %s", st->hosts[i].name,
                    st->hosts[i].why);
        say("%d of %d hosts answer", answering, st->nhosts);
        int np = answering ? write_mpi_hostfile(st, hostfile) : 0;
        if (answering && np < 0) {
            cli_error("cannot write '%s': %s", hostfile, strerror(errno));
            return rc;
        }
        long ended_before = ended_jobs(st->spool);
        int64_t t0 = util_mono_us();
        int status = np > 0 ? run_mpirun(st, hostfile, np, ++run_no) : -1;
        if (np > 0 && status < 0)
            return rc;
        if (np > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127) {
            cli_error("mpirun could not be executed (set "
                      "MPISPOOL_MPIRUN?)");
            return rc;
        }
        char how[64] = "not run";
        if (np > 0)
            describe_status(status, how, sizeof how);
        if (st->stop_count > 0) {
            say("run %d stopped (mpirun: %s)", run_no, how);
            rc = np > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                         st->stop_count == 1
                     ? 0
                     : 1;
            return rc;
        }
        long ended = ended_jobs(st->spool) - ended_before;
        queued = count_jobs(st->spool, "new");
        claimed = count_jobs(st->spool, "cur");
        if (np > 0)
            say("run %d ended after %.0f s (mpirun: %s): %ld job%s ended, "
                "%ld waiting in new/, %ld claimed in cur/",
                run_no, (double)(util_mono_us() - t0) / 1e6, how, ended,
                ended == 1 ? "" : "s", queued, claimed);
        if (!st->serve && queued == 0 && claimed == 0) {
            say("the spool is empty: done");
            rc = 0;
            return rc;
        }
        /* A run that ended a job, or lasted a while (a big job can run for
         * hours before a PC vanishes), made progress. */
        bool progress = ended > 0 || util_mono_us() - t0 >= PROGRESS_RUN_US;
        failures = progress ? 0 : failures + 1;
        if (failures > st->retries) {
            say("giving up: %d run%s in a row finished no job within a "
                "minute",
                failures, failures == 1 ? "" : "s");
            return rc;
        }
        say("work is left: starting again in %g s on the hosts that "
            "answer (%d of at most %d restarts without progress)",
            st->pause_s, failures, st->retries);
        /* Pause, but a stop signal ends the wait at once. */
        int64_t until = util_mono_us() + (int64_t)(st->pause_s * 1e6);
        int64_t left;
        while (st->stop_count == 0 && (left = until - util_mono_us()) > 0)
            next_signal(st, (long)(left / 1000) + 1);
        if (st->stop_count > 0) {
            say("stopped while pausing");
            rc = 0;
            return rc;
        }
    }
    return rc;
}

int cmd_start(int argc, char **argv, const char *spool)
{
    struct start st;
    int rc = parse_start(&st, argc, argv, spool);
    if (rc >= 0) {
        free(st.run_options);
        return rc;
    }
    char hostfile[PATH_MAX] = "";
    struct mps_error err;
    struct spool *sp = spool_open(st.spool, &err);
    if (!sp) {
        cli_error("%s", err.text);
        free(st.run_options);
        return 1;
    }
    char *spool_abs = strdup(spool_path(sp));
    spool_close(sp);
    rc = 1;
    if (!spool_abs)
        goto out;
    st.spool = spool_abs;
    if (!st.run)
        st.run = default_run();
    st.ssh_text = getenv("MPISPOOL_SSH");
    if (!st.ssh_text || !*st.ssh_text)
        st.ssh_text = "ssh";
    st.ssh_argv = split_words(st.ssh_text, &st.ssh_words);
    if (!st.ssh_argv) {
        cli_error("MPISPOOL_SSH is empty");
        rc = 2;
        goto out;
    }
    if (read_hostfile(&st) < 0)
        goto out;

    sigemptyset(&st.sigs);
    sigaddset(&st.sigs, SIGCHLD);
    sigaddset(&st.sigs, SIGTERM);
    sigaddset(&st.sigs, SIGINT);
    sigaddset(&st.sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &st.sigs, NULL);

    const char *tmpdir = getenv("TMPDIR");
    snprintf(hostfile, sizeof hostfile, "%s/mpispool-hosts.XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(hostfile);
    if (fd < 0) {
        cli_error("cannot create '%s': %s", hostfile, strerror(errno));
        hostfile[0] = '\0';
        goto out;
    }
    close(fd);

    rc = supervise(&st, hostfile);

out:
    if (hostfile[0])
        unlink(hostfile);
    for (int i = 0; i < st.nhosts; i++)
        free(st.hosts[i].name);
    free(st.hosts);
    free(st.ssh_argv);
    free(st.ssh_words);
    free(st.run_options);
    free(spool_abs);
    return rc;
}
