/* SPDX-License-Identifier: MIT */
/* The MPI backend: tasks, cancels and shutdowns as wire messages, doorbells, messages received. */
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
#include "backend_mpi.h"
#include "coordinator.h"
#include "dispatch.h"
#include "doorbell.h"
#include "executor.h"
#include "journal.h"
#include "options.h"
#include "outdir.h"
#include "outpattern.h"
#include "rank0.h"
#include "ranks.h"
#include "requests.h"
#include "taskfile.h"
#include "transport.h"
#include "util.h"

int send_to(struct coordinator *co, int r, enum wire_type type,
                   struct wire_buf *buf)
{
    if (wire_send(r + 1, type, buf) < 0)
        return -1;
    doorbell_ring(co->bells[r]);
    return 0;
}

int receive_messages(struct coordinator *co)
{
    int handled = 0;
    struct wire_msg msg;
    while (handled < RECV_BATCH && wire_recv(&msg) == 1) {
        handle_message(co, &msg);
        wire_msg_clear(&msg);
        handled++;
    }
    return handled;
}

bool all_ranks_have_bells(const struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++)
        if (co->bells[r] < 0 && !co->ranks[r].bye)
            return false;
    return true;
}

void accept_bells(struct coordinator *co)
{
    int fd, rank;
    while ((fd = doorbell_accept(co->bell_listen, &rank)) >= 0) {
        if (rank < 1 || rank > co->nranks || co->bells[rank - 1] >= 0) {
            close(fd);
            continue;
        }
        co->bells[rank - 1] = fd;
    }
}

void drain_bell(struct coordinator *co, int fd)
{
    co->last_ring = util_mono_us();
    if (doorbell_drain(fd) == 0)
        return;
    for (int r = 0; r < co->nranks; r++) {
        if (co->bells[r] == fd) {
            close(fd);
            co->bells[r] = -1;
        }
    }
}

void send_shutdown(struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++) {
        struct wire_buf buf = {0};
        if (wire_encode_empty(&buf, WIRE_SHUTDOWN) == 0)
            send_to(co, r, WIRE_SHUTDOWN, &buf);
        wire_buf_free(&buf);
    }
}
