/* SPDX-License-Identifier: MIT */
/* MPI transport for mpispool messages: queued Isends and polled receives. */
#include "transport.h"

#include <errno.h>
#include <mpi.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One in-flight send and the buffer it owns. */
struct pending_send {
    MPI_Request request;
    char *data;
    size_t len;
};

static struct pending_send *pending;
static size_t npending, cap_pending;
static size_t pending_bytes;
static unsigned long dropped;

/* Queue an MPI_Isend of data (taken over: freed when the send is done). */
static int queue_send(int dest, int tag, char *data, size_t len)
{
    if (npending == cap_pending) {
        size_t cap = cap_pending ? 2 * cap_pending : 64;
        struct pending_send *grown = realloc(pending, cap * sizeof *grown);
        if (!grown)
            return -1;
        pending = grown;
        cap_pending = cap;
    }
    struct pending_send *ps = &pending[npending];
    if (MPI_Isend(data, (int)len, MPI_BYTE, dest, tag, MPI_COMM_WORLD,
                  &ps->request) != MPI_SUCCESS) {
        errno = EIO;
        return -1;
    }
    ps->data = data;
    ps->len = len;
    pending_bytes += len;
    npending++;
    return 0;
}

int wire_send(int dest, enum wire_type type, struct wire_buf *buf)
{
    if (queue_send(dest, WIRE_TAG_BASE + (int)type, buf->data, buf->len) < 0)
        return -1;
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return 0;
}

int wire_send_raw(int dest, int tag, const void *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    memcpy(copy, data, len);
    if (queue_send(dest, tag, copy, len) < 0) {
        free(copy);
        return -1;
    }
    return 0;
}

size_t wire_progress(void)
{
    size_t i = 0;
    while (i < npending) {
        int done = 0;
        MPI_Test(&pending[i].request, &done, MPI_STATUS_IGNORE);
        if (done) {
            free(pending[i].data);
            pending_bytes -= pending[i].len;
            pending[i] = pending[--npending];
        } else {
            i++;
        }
    }
    return npending;
}

size_t wire_pending_bytes(void)
{
    return pending_bytes;
}

unsigned long wire_dropped(void)
{
    return dropped;
}

int wire_recv(struct wire_msg *msg)
{
    int flag = 0;
    MPI_Status status;
    /* Open MPI's MPI_Iprobe looks for a match before it makes progress:
     * a message that reached us since the last call is only pulled in by
     * the first probe, and found by the second. With one probe, a rank
     * woken by the doorbell found nothing and slept another poll period
     * (1.1 ms measured) before it saw its task or result. */
    for (int tries = 0; tries < 2 && !flag; tries++)
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
    if (!flag)
        return 0;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    char *raw = malloc(count > 0 ? (size_t)count : 1);
    if (!raw) {
        /* Receive into a scratch byte so the queue keeps moving. */
        char scratch;
        MPI_Recv(&scratch, 0, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        dropped++;
        return 0;
    }
    MPI_Recv(raw, count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG,
             MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    struct mps_error err;
    if (count > WIRE_MAX_MESSAGE ||
        wire_decode(raw, (size_t)count, status.MPI_TAG, msg, &err) < 0) {
        if (count > WIRE_MAX_MESSAGE)
            snprintf(err.text, sizeof err.text,
                     "message of %d bytes is too "
                     "large",
                     count);
        fprintf(stderr, "mpispool-run: dropped a message from rank %d: %s\n",
                status.MPI_SOURCE, err.text);
        free(raw);
        dropped++;
        return 0;
    }
    msg->source = status.MPI_SOURCE;
    return 1;
}

int wire_broadcast_text(char *text, int len)
{
    if (MPI_Bcast(text, len, MPI_CHAR, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        return -1;
    text[len - 1] = '\0';
    return 0;
}

void wire_flush(void)
{
    while (wire_progress() > 0)
        poll(NULL, 0, 1);
}
