/* SPDX-License-Identifier: MIT */
/* Before a task's command is cloned: its private work directory (made,
 * handed to its user, removed), its archive extracted there, its cores,
 * GPUs, memory cgroup and tracking cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asuser.h"
#include "cgroup.h"
#include "executor_int.h"
#include "placement.h"
#include "util.h"

static bool is_directory(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void exec_set_error(struct xtask *t, const char *fmt, const char *what,
                    int errnum)
{
    char line[PATH_MAX + 128];
    snprintf(line, sizeof line, fmt, what, strerror(errnum));
    free(t->error);
    t->error = strdup(line);
}

/* Who t runs as, for the privilege boundary (no switch without as_user). */
static struct asuser_id task_who(const struct xtask *t)
{
    return (struct asuser_id){.switch_ids = t->a.as_user,
                              .uid = t->a.uid,
                              .gid = t->a.gid,
                              .ngroups = t->a.ngroups,
                              .groups = t->a.groups,
                              .umask = 022};
}

/* Remove t's work directory, its contents as its user (the task owned
 * them and may have left links or anything), then the emptied directory,
 * which is in ours. */
void exec_remove_private_dir(struct executor *ex, struct xtask *t)
{
    if (t->private_fd < 0)
        return;
    const struct asuser_id who = task_who(t);
    struct mps_error err;
    if (asuser_enter(&who, &err) == 0) {
        asuser_remove_contents(t->private_fd);
        asuser_leave();
    }
    close(t->private_fd);
    t->private_fd = -1;
    unlinkat(ex->workdir_fd, strrchr(t->private_dir, '/') + 1, AT_REMOVEDIR);
}

/* Make t's private work directory JOB.TASK.ATTEMPT in ours and hand it to
 * t's user (mode 0700). One left by an earlier attempt of the same name
 * is emptied first. Returns 0, or -1 with t->error set. */
static int make_private_dir(struct executor *ex, struct xtask *t)
{
    char name[NAME_MAX + 1], path[PATH_MAX];
    snprintf(name, sizeof name, "%s.%llu.%u", t->a.job,
             (unsigned long long)t->a.task, t->a.attempt);
    snprintf(path, sizeof path, "%s/%s", ex->workdir, name);
    if (!(t->private_dir = strdup(path))) {
        exec_set_error(t, "cannot start task%s: %s", "", ENOMEM);
        return -1;
    }
    bool existed = false;
    if (mkdirat(ex->workdir_fd, name, 0700) < 0) {
        if (errno != EEXIST) {
            exec_set_error(t, "cannot create work directory '%s': %s", path,
                           errno);
            return -1;
        }
        existed = true;
    }
    t->private_fd = openat(ex->workdir_fd, name,
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (t->private_fd < 0) {
        exec_set_error(t, "cannot create work directory '%s': %s", path, errno);
        return -1;
    }
    struct stat st;
    if (existed && fstat(t->private_fd, &st) == 0) {
        /* Emptied as whoever it was given to. */
        const struct asuser_id before = {.switch_ids = st.st_uid != geteuid(),
                                         .uid = st.st_uid,
                                         .gid = st.st_gid,
                                         .umask = 022};
        struct mps_error err;
        if (asuser_enter(&before, &err) == 0) {
            asuser_remove_contents(t->private_fd);
            asuser_leave();
        }
    }
    if ((t->a.as_user && fchown(t->private_fd, t->a.uid, t->a.gid) < 0) ||
        fchmod(t->private_fd, 0700) < 0) {
        exec_set_error(t, "cannot give work directory '%s' to its user: %s",
                       path, errno);
        return -1;
    }
    return 0;
}

/* Extract t's archive into its private work directory as its user. A
 * worker's own copy is opened with the rank's rights (it is in the rank's
 * directory, where the user may not read); a path from the job file with
 * the user's, so nothing the user may not read is extracted. Returns 0, or
 * -1 with t->error set. */
static int extract_archive(struct xtask *t)
{
    static const struct asuser_want regular = {.type = S_IFREG,
                                               .any_owner = true};
    const struct asuser_id who = task_who(t);
    struct mps_error err;
    /* Rank 0's descriptor (held since the claim, opened with the owner's
     * rights), this rank's own copy, or a path opened as the user. */
    int fd = t->archive_fd >= 0 ? t->archive_fd
             : t->archive_copy
                 ? open(t->archive, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                 : asuser_open_path(&who, t->archive, &regular, NULL, &err);
    if (fd < 0 && t->archive_copy)
        errprintf(&err, "cannot read archive '%s': %s", t->archive,
                  strerror(errno));
    int rc = fd < 0 ? -1
                    : archive_extract_fd(fd, t->archive, t->private_fd, &who,
                                         &t->archive_limits, &err);
    if (fd >= 0 && fd != t->archive_fd)
        close(fd);
    if (rc < 0) {
        free(t->error);
        t->error = strdup(err.text);
    }
    return rc;
}

/* Start t: its work directory, archive, cores, GPUs and cgroups, then its
 * command (its first step's, with steps). */
void exec_start_task(struct executor *ex, struct xtask *t)
{
    t->out_fd = t->err_fd = -1;
    t->start_us = util_now_us();
    int64_t start_mono = util_mono_us();
    if (t->a.timeout > 0)
        t->timeout_at = start_mono + (int64_t)(t->a.timeout * 1e6);

    const char *dir = t->a.cwd;
    /* With an archive the task runs where it was extracted (unless cwd);
     * steps share the private work directory (unless cwd). */
    if (!dir && !t->archive && !t->a.nsteps && is_directory(t->a.submit_dir))
        dir = t->a.submit_dir;
    if (!dir || t->archive) {
        if (make_private_dir(ex, t) < 0)
            goto failed;
        if (!dir)
            dir = t->private_dir;
        if (t->archive && extract_archive(t) < 0)
            goto failed;
    }
    if (ex->pl) {
        unsigned total = placement_cores(ex->pl);
        char list[1024];
        if (placement_take(ex->pl, t->a.cpus < total ? t->a.cpus : total, list,
                           sizeof list, &t->mask) == 0) {
            t->cores = strdup(list);
            t->bind = t->cores && placement_is_this_system(ex->pl);
        }
    }
    if (t->a.gpus) {
        if (!ex->pl ||
            placement_take_gpus(ex->pl, t->a.gpus, t->gpu_cuda, t->gpu_rocr,
                                sizeof t->gpu_cuda) < 0) {
            free(t->error);
            t->error = strdup("not enough free GPUs on this rank");
            goto failed;
        }
        t->holds_gpus = true;
    }
    if (t->a.memory && ex->cg_version) {
        char name[128], path[4096];
        snprintf(name, sizeof name, "mpispool-%d-%llu", (int)getpid(),
                 (unsigned long long)t->a.dispatch);
        if (cgroup_create(ex->cg_base, ex->cg_version, name, t->a.memory, path,
                          sizeof path) == 0 &&
            !(t->cgroup = strdup(path)))
            cgroup_remove(path);
    }
    /* The tracking cgroup: the memory cgroup where that is in the same
     * hierarchy (a process is in one cgroup per hierarchy), else its own. */
    if (t->cgroup && ex->track_kind &&
        strncmp(t->cgroup, ex->track_base, strlen(ex->track_base)) == 0 &&
        t->cgroup[strlen(ex->track_base)] == '/') {
        t->track = t->cgroup;
    } else if (ex->track_kind) {
        char name[128], path[4096];
        snprintf(name, sizeof name, "mpispool-%d-%llu", (int)getpid(),
                 (unsigned long long)t->a.dispatch);
        if (cgroup_track_create(ex->track_base, name, path, sizeof path) == 0) {
            t->track = strdup(path);
            if (!t->track)
                rmdir(path);
        }
    }
    if (!(t->run_dir = strdup(dir))) {
        exec_set_error(t, "cannot start task%s: %s", "", ENOMEM);
        goto failed;
    }
    exec_spawn_command(ex, t);
    return;

failed:
    t->pid = 0;
    t->exited = true;
    t->end_us = util_now_us();
}
