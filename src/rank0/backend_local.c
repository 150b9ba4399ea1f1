/* SPDX-License-Identifier: MIT */
/* The local backend: rank 0 alone runs its tasks with its own executor. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "backend_local.h"
#include "dispatch.h"
#include "executor.h"
#include "job.h"
#include "options.h"
#include "outdir.h"
#include "rank0.h"
#include "ranks.h"
#include "requests.h"
#include "results.h"
#include "util.h"

void on_local_output(void *arg, uint64_t id, int stream,
                            const char *data, size_t len)
{
    write_output(arg, id, stream, data, len);
}

void on_local_result(void *arg, uint64_t id,
                            const struct exec_result *res)
{
    struct coordinator *co = arg;
    struct dispatch *d = dispatch_find(co, id);
    if (!d)
        return;
    struct wire_result m = worker_result_message(id, res);
    queue_result(co, d, &m);
}

static void announce_local_owner(void *arg)
{
    struct coordinator *co = arg;
    note_owner(co, 0, co->idle.owner_active, (uint8_t)co->idle.reason,
               co->idle.since_us);
}

void check_local_idle(struct coordinator *co)
{
    if (!co->local || !co->opt->idle || co->stopping ||
        util_mono_us() < co->next_idle_check)
        return;
    co->next_idle_check = util_mono_us() + IDLE_CHECK_US;
    run_idle_check(co->opt->idle, &co->idle, co->local, 0, co->re->host,
                   co->opt->kill_grace_s, announce_local_owner, co);
}
