/* SPDX-License-Identifier: MIT */
/* The MPI backend: task attempts, cancels and shutdowns go to worker
 * ranks 1..N as wire messages, each followed by a ring of the rank's
 * doorbell; what the workers send comes back through MPI, announced by
 * their rings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archives.h"
#include "backend_mpi.h"
#include "doorbell.h"
#include "evloop.h"
#include "transport.h"
#include "util.h"

/* MPI checks: while tasks are out, every millisecond (at once again when a
 * message just arrived); while idle only this often, since nothing arrives
 * that needs a quick answer and inotify wakes rank 0 for new jobs. */
#define IDLE_POLL_MS 100
/* When every worker has a doorbell, messages wake us: MPI is looked at
 * only this often as a safety net. */
#define BELL_IDLE_POLL_MS 1000
/* A ring can come before MPI shows the message it announces: after one,
 * look at MPI every millisecond for this long. */
#define RING_LINGER_US 200000
#define BUSY_POLL_MS 1
/* At most this many messages per turn, so files and signals are looked at
 * while a flood of output arrives. */
#define RECV_BATCH 256

struct mpi_rank {
    int bell; /* its doorbell, or -1 */
    bool hello, bye;
};

struct backend_mpi {
    struct backend b;
    struct evloop *loop;
    int bell_listen; /* doorbell listening socket, or -1 */
    struct mpi_rank *ranks;
    uint64_t out;       /* attempts sent whose RESULT did not come yet */
    bool shutdown_sent; /* SHUTDOWN went to every rank */
    bool busy;          /* the last progress delivered messages */
    int64_t last_ring;  /* monotonic us */
};

static int send_to(struct backend_mpi *m, int r, enum wire_type type,
                   struct wire_buf *buf)
{
    if (wire_send(r + 1, type, buf) < 0)
        return -1;
    doorbell_ring(m->ranks[r].bell);
    return 0;
}

static int mpi_send(struct backend *b, int r, const struct attempt *t,
                    struct job_archive *archive, struct mps_error *err)
{
    struct backend_mpi *m = (struct backend_mpi *)b;
    if (archive && job_archive_ship(archive, r + 1, t->job, err) < 0)
        return -1;
    struct wire_buf buf = {0};
    int rc = 0;
    if (wire_encode_task(&buf, t) < 0 || send_to(m, r, WIRE_TASK, &buf) < 0)
        rc = errprintf(err, "cannot send the task to rank %d: %s", r + 1,
                       strerror(errno));
    else
        m->out++;
    wire_buf_free(&buf);
    return rc;
}

static void mpi_cancel(struct backend *b, int r, uint64_t dispatch,
                       double grace_s)
{
    struct backend_mpi *m = (struct backend_mpi *)b;
    struct wire_buf buf = {0};
    if (wire_encode_cancel(&buf, dispatch, grace_s) == 0)
        send_to(m, r, WIRE_CANCEL, &buf);
    wire_buf_free(&buf);
}

static void mpi_stop(struct backend *b, double grace_s)
{
    struct backend_mpi *m = (struct backend_mpi *)b;
    for (int r = 0; r < b->nranks; r++)
        if (!m->ranks[r].bye)
            mpi_cancel(b, r, 0, grace_s);
}

static void mpi_shutdown(struct backend *b)
{
    struct backend_mpi *m = (struct backend_mpi *)b;
    if (m->shutdown_sent)
        return;
    m->shutdown_sent = true;
    for (int r = 0; r < b->nranks; r++) {
        struct wire_buf buf = {0};
        if (wire_encode_empty(&buf, WIRE_SHUTDOWN) == 0)
            send_to(m, r, WIRE_SHUTDOWN, &buf);
        wire_buf_free(&buf);
    }
}

/* What the backend itself keeps of a message before passing it on. */
static void note_message(struct backend_mpi *m, int r,
                         const struct wire_msg *msg)
{
    if (msg->type == WIRE_HELLO)
        m->ranks[r].hello = true;
    else if (msg->type == WIRE_BYE)
        m->ranks[r].bye = true;
    else if (msg->type == WIRE_RESULT && m->out > 0)
        m->out--;
}

static int mpi_progress(struct backend *b)
{
    struct backend_mpi *m = (struct backend_mpi *)b;
    wire_progress();
    int handled = 0;
    struct wire_msg msg;
    while (handled < RECV_BATCH && wire_recv(&msg) == 1) {
        int r = msg.source - 1;
        if (r < 0 || r >= b->nranks) {
            util_log("mpispool-run", "message from unexpected rank %d dropped",
                     msg.source);
        } else {
            note_message(m, r, &msg);
            b->deliver(b->arg, r, &msg);
        }
        wire_msg_clear(&msg);
        handled++;
    }
    m->busy = handled > 0;
    return handled;
}

static bool all_hello(const struct backend_mpi *m)
{
    for (int r = 0; r < m->b.nranks; r++)
        if (!m->ranks[r].hello)
            return false;
    return true;
}

static bool all_bells(const struct backend_mpi *m)
{
    for (int r = 0; r < m->b.nranks; r++)
        if (m->ranks[r].bell < 0 && !m->ranks[r].bye)
            return false;
    return true;
}

/* Workers ring their doorbell after each message; one without a doorbell,
 * or a send still in progress, makes us look at MPI often. */
static int mpi_poll_cap_ms(struct backend *b)
{
    struct backend_mpi *m = (struct backend_mpi *)b;
    if (m->busy)
        return 0;
    bool bells = all_bells(m);
    bool active = !all_hello(m) || (!bells && (m->out > 0 || m->shutdown_sent));
    if (active || wire_pending_bytes() ||
        util_mono_us() - m->last_ring < RING_LINGER_US)
        return BUSY_POLL_MS;
    return bells ? BELL_IDLE_POLL_MS : IDLE_POLL_MS;
}

/* A ring: the MPI receive after poll picks up what it announced. A closed
 * doorbell (its rank died or finished) is dropped. */
static void on_bell(struct evloop *loop, int fd, short revents, void *arg)
{
    (void)revents;
    struct backend_mpi *m = arg;
    m->last_ring = util_mono_us();
    if (doorbell_drain(fd) == 0)
        return;
    evloop_fd_remove(loop, fd);
    for (int r = 0; r < m->b.nranks; r++)
        if (m->ranks[r].bell == fd)
            m->ranks[r].bell = -1;
    close(fd);
}

static void on_listen(struct evloop *loop, int fd, short revents, void *arg)
{
    (void)revents;
    struct backend_mpi *m = arg;
    int bell, rank;
    while ((bell = doorbell_accept(fd, &rank)) >= 0) {
        if (rank < 1 || rank > m->b.nranks || m->ranks[rank - 1].bell >= 0 ||
            evloop_fd_add(loop, bell, EVLOOP_IN, on_bell, m) < 0) {
            close(bell);
            continue;
        }
        m->ranks[rank - 1].bell = bell;
    }
}

static void mpi_destroy(struct backend *b)
{
    struct backend_mpi *m = (struct backend_mpi *)b;
    if (!m)
        return;
    wire_flush();
    for (int r = 0; m->ranks && r < b->nranks; r++) {
        if (m->ranks[r].bell >= 0) {
            evloop_fd_remove(m->loop, m->ranks[r].bell);
            close(m->ranks[r].bell);
        }
    }
    if (m->bell_listen >= 0) {
        evloop_fd_remove(m->loop, m->bell_listen);
        close(m->bell_listen);
    }
    free(m->ranks);
    free(m);
}

static const struct backend_ops mpi_ops = {
    .send = mpi_send,
    .cancel = mpi_cancel,
    .stop = mpi_stop,
    .shutdown = mpi_shutdown,
    .progress = mpi_progress,
    .poll_cap_ms = mpi_poll_cap_ms,
    .destroy = mpi_destroy,
};

struct backend *backend_mpi_create(struct evloop *loop, int nworkers,
                                   int bell_listen, backend_deliver_fn deliver,
                                   void *arg, struct mps_error *err)
{
    struct backend_mpi *m = calloc(1, sizeof *m);
    if (!m || !(m->ranks = calloc((size_t)nworkers, sizeof *m->ranks))) {
        free(m);
        if (bell_listen >= 0)
            close(bell_listen);
        errprintf(err, "out of memory");
        return NULL;
    }
    m->b = (struct backend){&mpi_ops, nworkers, 1, deliver, arg};
    m->loop = loop;
    m->bell_listen = bell_listen;
    for (int r = 0; r < nworkers; r++)
        m->ranks[r].bell = -1;
    if (bell_listen >= 0 &&
        evloop_fd_add(loop, bell_listen, EVLOOP_IN, on_listen, m) < 0) {
        mpi_destroy(&m->b);
        errprintf(err, "out of memory");
        return NULL;
    }
    return &m->b;
}
