/* SPDX-License-Identifier: MIT */
/* mpispool drain: send no new tasks to a host's ranks (or, --undo, send
 * them tasks again); only root or the spool's administrator may. */
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asuser.h"
#include "cli.h"
#include "format.h"
#include "jobfile.h"
#include "jobreport.h"
#include "spool.h"
#include "statusmodel.h"
#include "util.h"

enum { OPT_UNDO = 1300 };

static const char drain_usage[] =
    "Usage: mpispool drain [OPTIONS] HOST...\n"
    "       mpispool drain --undo HOST...\n"
    "       mpispool drain\n"
    "\n"
    "Stop sending new tasks to the ranks on HOST: tasks running there\n"
    "finish, and every coordinator serving the spool gives its other\n"
    "ranks the rest of the work. Use it before you switch a lab PC off, or\n"
    "when its user comes back. The ranks stay in the run, shown as\n"
    "\"draining\" by 'mpispool status', until 'mpispool drain --undo HOST'\n"
    "gives them work again. A drain holds for later runs too, until undone.\n"
    "Only root and the spool's administrator (the owner of SPOOL) may drain\n"
    "or undo a drain; anyone may list the drained hosts.\n"
    "\n"
    "HOST is the host name a rank reports (the HOST column of 'mpispool\n"
    "status'), or its short form: 'pc07' also drains 'pc07.lab.example'.\n"
    "The request is an empty file SPOOL/drain/HOST; coordinators see it at\n"
    "once (inotify) or at their next rescan, and honour only those made by\n"
    "root or the administrator. Without HOST, the drained hosts are listed.\n"
    "\n"
    "Options:\n"
    "      --undo            give HOST new tasks again\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL)\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 done, 1 the request could not be filed or removed (or\n"
    "you may not drain), 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool drain pc07            # before switching pc07 off\n"
    "  mpispool drain --undo pc07\n";

/* A host name a drain file may have: no '/', not '.' first, printable. */
static bool valid_drain_host(const char *host)
{
    size_t len = strlen(host);
    if (len == 0 || len > 253 || host[0] == '.')
        return false;
    for (const char *p = host; *p; p++)
        if (*p == '/' || (unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* Print the drained hosts, one a line. */
static int list_drained(struct spool *sp)
{
    json_t *hosts = status_drained_hosts(sp);
    if (!hosts) {
        cli_error("cannot list '%s/drain': %s", spool_path(sp),
                  strerror(errno));
        return 1;
    }
    size_t i;
    json_t *host;
    json_array_foreach(hosts, i, host) puts(json_string_value(host));
    json_decref(hosts);
    return 0;
}

/* Whether the user running this may drain: root or the administrator;
 * else says so. */
static bool may_drain(const struct spool *sp)
{
    uint32_t admin = spool_admin(sp);
    if (asuser_may_act((uint32_t)geteuid(), admin, admin))
        return true;
    char name[64];
    if (admin == 0)
        cli_error("only the spool's administrator (root) may drain");
    else
        cli_error("only the spool's administrator may drain (root, or %s: "
                  "the owner of '%s')",
                  fmt_user_name(admin, name, sizeof name), spool_path(sp));
    return false;
}

/* Make the drain file path (one there already counts when it is root's
 * or the administrator's; anyone else's, left in a drain/ of mode 1733
 * by an older mpispool, is replaced). 0, or -1 with errno. */
static int make_drain_file(const struct spool *sp, const char *path)
{
    for (int tries = 0; tries < 2; tries++) {
        int fd = open(
            path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0)
            return close(fd);
        struct stat st;
        if (errno != EEXIST || lstat(path, &st) < 0)
            return -1;
        if (spool_drain_honoured(&st, spool_admin(sp)))
            return 0;
        if (unlink(path) < 0 && errno != ENOENT)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

/* Drain host, or undo its drain. Returns 0, or 1 (said why). */
static int drain_host(struct spool *sp, const char *host, bool undo)
{
    char *path = spool_file(sp, SPOOL_DRAIN, host);
    int rc = 1;
    if (!path) {
        cli_error("out of memory");
    } else if (undo) {
        rc = 0;
        if (unlink(path) == 0)
            printf("host %s: no longer draining\n", host);
        else if (errno == ENOENT)
            printf("host %s was not draining\n", host);
        else {
            cli_error("cannot remove '%s': %s", path, strerror(errno));
            rc = 1;
        }
    } else if (make_drain_file(sp, path) == 0) {
        printf("host %s: draining (no new tasks; running ones finish)\n", host);
        rc = 0;
    } else {
        cli_error("cannot create '%s': %s", path, strerror(errno));
    }
    free(path);
    return rc;
}

int cmd_drain(int argc, char **argv, const char *spool)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, CLI_OPT_SPOOL},
        {"undo", no_argument, NULL, OPT_UNDO},
        {NULL, 0, NULL, 0},
    };
    struct cli_cmdline cl;
    if (cli_cmdline_init(&cl, "drain", argc, argv, "+:h", longopts, spool) < 0)
        return 1;
    bool undo = false;
    struct spool *sp = NULL;
    int rc;
    if ((rc = cli_scan_options(&cl, drain_usage, OPT_UNDO, &undo)) >= 0)
        return rc;
    rc = 0;
    if (undo && cl.noperands == 0) {
        rc = cli_usage_error("drain", "no host given: mpispool drain --undo "
                                      "HOST...");
        goto out;
    }
    for (int i = 0; i < cl.noperands; i++)
        if (!valid_drain_host(cl.operands[i])) {
            rc = cli_usage_error("drain", "'%s' is not a host name",
                                 cl.operands[i]);
            goto out;
        }
    if ((rc = cli_open_spool(&cl, &sp)) != 0)
        goto out;
    if (cl.noperands == 0) {
        rc = list_drained(sp);
        goto out;
    }
    rc = 1;
    struct mps_error err;
    if (!may_drain(sp))
        goto out;
    if (!undo && spool_ensure_dir(sp, SPOOL_DRAIN, &err) < 0) {
        cli_error("%s", err.text);
        goto out;
    }
    rc = 0;
    for (int i = 0; i < cl.noperands; i++)
        if (drain_host(sp, cl.operands[i], undo) != 0)
            rc = 1;
out:
    spool_close(sp);
    cli_cmdline_free(&cl);
    return rc;
}
