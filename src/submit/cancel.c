/* SPDX-License-Identifier: MIT */
/* mpispool cancel: withdraw a queued job, or ask its coordinator to end a
 * job or some of its tasks; only its owner, root or the spool's
 * administrator may. */
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
#include "jobreport.h"
#include "spool.h"
#include "util.h"

enum { OPT_WAIT = 1300 };

static const char cancel_usage[] =
    "Usage: mpispool cancel [OPTIONS] JOBID [TASK...]\n"
    "\n"
    "Cancel a job, or only the given tasks of it (numbers from 0, as in\n"
    "its records). Tasks that have not started are dropped; running ones\n"
    "are killed (SIGTERM, then SIGKILL within a second). The job then ends\n"
    "in state \"cancelled\": its file moves to SPOOL/failed/ and its report\n"
    "counts the cancelled tasks. Only the job's owner (who submitted it),\n"
    "root and the spool's administrator (the owner of SPOOL) may cancel it.\n"
    "\n"
    "A job still waiting in SPOOL/new/ is cancelled at once, with or\n"
    "without a coordinator running (unless only some tasks are named: that\n"
    "request waits for the coordinator that claims the job). Cancelled by\n"
    "its owner, it is withdrawn: its job file moves to SPOOL/cancel/, every\n"
    "command shows the job as cancelled from then on, and the next\n"
    "coordinator files it in SPOOL/failed/ with its report. For a running\n"
    "job the request is a file in SPOOL/cancel/ that its coordinator acts\n"
    "on within milliseconds.\n"
    "\n"
    "Options:\n"
    "      --wait            return only when the job has ended\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL)\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 cancelled or request filed, 1 no such job, it has\n"
    "already ended or it is not yours, 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool cancel 20261123-0007\n"
    "  mpispool cancel 20261123-0007 3 17     # only tasks 3 and 17\n";

/* Whether the user running this may cancel job id (queued or running):
 * its owner, root or the spool's administrator; else says why not. */
static bool may_cancel(const struct spool *sp, const char *id)
{
    uint32_t owner;
    if (spool_job_owner(sp, id, &owner) < 0)
        return true; /* it has just ended: a request does nothing */
    if (asuser_may_act((uint32_t)geteuid(), owner, spool_admin(sp)))
        return true;
    char name[64];
    cli_error("job %s is not yours (it is %s's): only its owner, root or the "
              "spool's administrator may cancel it",
              id, fmt_user_name(owner, name, sizeof name));
    return false;
}

/* Whether the user running this may write the spool's failed/ and out/
 * (root, the administrator): then a queued job is filed there at once. */
static bool may_file(const struct spool *sp)
{
    char *failed = spool_file(sp, SPOOL_FAILED, NULL);
    char *out = spool_file(sp, SPOOL_OUT, NULL);
    bool ok = failed && out &&
              faccessat(AT_FDCWD, failed, W_OK, AT_EACCESS) == 0 &&
              faccessat(AT_FDCWD, out, W_OK, AT_EACCESS) == 0;
    free(failed);
    free(out);
    return ok;
}

/* Move queued job id from new/ to failed/ and write its report (as the
 * job's owner). 0 done, 1 it is no longer in new/ (a coordinator took
 * it), -1 an error (said). */
static int file_cancelled(struct spool *sp, const char *id)
{
    char name[80];
    snprintf(name, sizeof name, "%s.json", id);
    char *from = spool_file(sp, SPOOL_NEW, name);
    char *to = spool_file(sp, SPOOL_FAILED, name);
    int rc = -1;
    if (!from || !to) {
        cli_error("out of memory");
    } else if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0) {
        if (errno == ENOENT)
            rc = 1;
        else
            cli_error("cannot move '%s' to failed/: %s", from, strerror(errno));
    } else {
        rc = 0;
        struct mps_error err = {.text = "out of memory"};
        struct stat st;
        int fd = open(to, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
            errprintf(&err, "cannot open '%s': %s", to, strerror(errno));
        if (fd < 0 || jobreport_write_cancelled(sp, id, fd, &st, &err) < 0)
            cli_error("job '%s' is cancelled, but its report could not be "
                      "written: %s",
                      id, err.text);
        if (fd >= 0)
            close(fd);
    }
    free(from);
    free(to);
    return rc;
}

/* Reserve job id (ids/JOBID at path) for this user, unless it is already
 * this user's: a job file in new/ without a reservation was written by
 * hand. 0, or -1 when someone else reserved it. */
static int reserve(const char *path)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    struct stat st;
    return errno == EEXIST && lstat(path, &st) == 0 && st.st_uid == geteuid()
               ? 0
               : -1;
}

/* Its owner's cancel of queued job id: rename new/JOBID.json (the
 * owner's, so the sticky bit allows it) to cancel/JOBID.json, which every
 * reader takes for a cancelled job (spool_withdrawn) and a coordinator
 * files in failed/. 0 done, 1 not possible (a coordinator took the job,
 * the name in cancel/ is taken, or the spool has no ids/): a request is
 * filed instead. */
static int withdraw(struct spool *sp, const char *id)
{
    char name[80];
    snprintf(name, sizeof name, "%s.json", id);
    char *res = spool_file(sp, SPOOL_IDS, id);
    char *from = spool_file(sp, SPOOL_NEW, name);
    char *to = spool_file(sp, SPOOL_CANCEL, name);
    int rc = 1;
    if (res && from && to && reserve(res) == 0 &&
        renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
        if (spool_withdrawn(sp, id, NULL))
            rc = 0;
        else if (renameat2(AT_FDCWD, to, AT_FDCWD, from, RENAME_NOREPLACE) < 0)
            cli_error("cannot put '%s' back into new/: %s", to,
                      strerror(errno));
    }
    free(res);
    free(from);
    free(to);
    return rc;
}

/* Drop a request in cancel/: written under a dot name, then renamed, so
 * the coordinator never reads half of it. */
static int file_cancel_request(struct spool *sp, const char *id,
                               char *const *tasks, int ntasks)
{
    char name[128], tmpname[140];
    snprintf(name, sizeof name, "%s+%d-%lld", id, (int)getpid(),
             (long long)util_now_us());
    snprintf(tmpname, sizeof tmpname, ".%s.tmp", name);
    char *tmp = spool_file(sp, SPOOL_CANCEL, tmpname);
    char *dst = spool_file(sp, SPOOL_CANCEL, name);
    size_t len = 0, cap = 1;
    for (int i = 0; i < ntasks; i++)
        cap += strlen(tasks[i]) + 1;
    char *text = malloc(cap);
    int rc = -1;
    if (!tmp || !dst || !text) {
        cli_error("out of memory");
        goto out;
    }
    text[0] = '\0';
    for (int i = 0; i < ntasks; i++)
        len += (size_t)sprintf(text + len, "%s\n", tasks[i]);
    int fd =
        open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || util_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
        cli_error("cannot write '%s': %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto out;
    }
    close(fd);
    if (rename(tmp, dst) < 0) {
        cli_error("cannot rename '%s': %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(text);
    free(tmp);
    free(dst);
    return rc;
}

/* Cancel job id (queued or running, which this user may cancel): a whole
 * queued job at once, else by a request. Returns the exit code. */
static int cancel_job(struct spool *sp, const char *id, int where,
                      char *const *tasks, int ntasks, bool wait_end)
{
    if (where == SPOOL_NEW && ntasks == 0) {
        int rc = may_file(sp) ? file_cancelled(sp, id) : withdraw(sp, id);
        if (rc < 0)
            return 1;
        if (rc == 0) {
            printf("cancelled job %s (it had not started)\n", id);
            return 0;
        }
    }
    if (file_cancel_request(sp, id, tasks, ntasks) < 0)
        return 1;
    if (!wait_end) {
        printf("cancel requested for job %s\n", id);
        return 0;
    }
    while (!spool_ended(where = spool_locate(sp, id)))
        usleep(50000);
    printf("job %s ended (%s)\n", id, spool_state_name(where));
    return 0;
}

int cmd_cancel(int argc, char **argv, const char *spool)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"spool", required_argument, NULL, CLI_OPT_SPOOL},
        {"wait", no_argument, NULL, OPT_WAIT},
        {NULL, 0, NULL, 0},
    };
    struct cli_cmdline cl;
    if (cli_cmdline_init(&cl, "cancel", argc, argv, "+:h", longopts, spool) < 0)
        return 1;
    bool wait_end = false;
    struct spool *sp = NULL;
    int rc;
    if ((rc = cli_scan_options(&cl, cancel_usage, OPT_WAIT, &wait_end)) >= 0)
        return rc;
    rc = 0;
    if (cl.noperands == 0) {
        rc = cli_usage_error("cancel", "no job given: mpispool cancel JOBID "
                                       "[TASK...]");
        goto out;
    }
    for (int i = 1; i < cl.noperands; i++) {
        const char *t = cl.operands[i];
        if (!*t || strspn(t, "0123456789") != strlen(t) || strlen(t) > 18) {
            rc = cli_usage_error("cancel", "'%s' is not a task number", t);
            goto out;
        }
    }
    if ((rc = cli_open_spool(&cl, &sp)) != 0)
        goto out;
    rc = 1;
    const char *id = cl.operands[0];
    int where = cli_locate_job(sp, id);
    if (where >= 0 && spool_ended(where))
        cli_error("job '%s' has already ended (%s)", id,
                  spool_state_name(where));
    else if (where >= 0 && may_cancel(sp, id))
        rc = cancel_job(sp, id, where, cl.operands + 1, cl.noperands - 1,
                        wait_end);
out:
    spool_close(sp);
    cli_cmdline_free(&cl);
    return rc;
}
