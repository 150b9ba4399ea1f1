/* SPDX-License-Identifier: MIT */
/* The only code that sends and receives MPI messages: non-blocking sends
 * with a queue, and a non-blocking receive that never spins. */
#ifndef MPISPOOL_WIRE_TRANSPORT_H
#define MPISPOOL_WIRE_TRANSPORT_H

#include <stddef.h>

#include "codec.h"

/* Send buf's message to dest with MPI_Isend. The transport takes over
 * buf's memory (buf is left empty) and frees it when the send completes.
 * Returns 0 or -1 (errno). Sends never block, so two ranks sending to each
 * other at once cannot deadlock. */
int wire_send(int dest, enum wire_type type, struct wire_buf *buf);

/* Complete what sends can be completed now; returns how many are still
 * pending. Call it each time round an event loop. */
size_t wire_progress(void);

/* Send len raw bytes with any tag, bypassing the encoder: only for tests
 * of how a rank copes with malformed messages. */
int wire_send_raw(int dest, int tag, const void *data, size_t len);

/* Bytes of messages handed to wire_send that are not yet delivered. */
size_t wire_pending_bytes(void);

/* Receive one message if one has arrived (MPI_Iprobe, never a blocking
 * probe or receive). Returns 1 with msg filled (free it with
 * wire_msg_clear), 0 if nothing is waiting. A malformed message is
 * received, logged with its source and dropped: that call returns 0 too
 * and bumps wire_dropped(). */
int wire_recv(struct wire_msg *msg);

/* Messages dropped as malformed since start. */
unsigned long wire_dropped(void);

/* Rank 0's text (at most len bytes with its NUL) to every rank: a
 * collective, called by all ranks at start-up. */
int wire_broadcast_text(char *text, int len);

/* Wait until every pending send has completed (before MPI_Finalize). Polls
 * with short sleeps rather than blocking in MPI_Waitall, which spins. */
void wire_flush(void);

#endif
