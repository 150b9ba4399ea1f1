/* SPDX-License-Identifier: MIT */
/* Doorbells: a TCP byte that wakes a rank sleeping in poll() when an MPI
 * message was sent to it, so no rank has to poll MPI on a timer. */
#ifndef MPISPOOL_DOORBELL_H
#define MPISPOOL_DOORBELL_H

#include <stddef.h>

#include "error.h"

/* Open MPI gives no descriptor that becomes readable when a message
 * arrives, and a blocking receive spins. So every MPI message is followed
 * by one byte on a TCP connection between the two ranks: the receiver
 * sleeps in poll() on it, wakes, drains the bytes and receives with
 * MPI_Iprobe. The byte carries nothing; losing or doubling it costs at most
 * a wake-up, and a rank without a doorbell falls back to polling MPI.
 *
 * Rank 0 listens (doorbell_listen) and tells the workers its addresses
 * (doorbell_addresses, sent with an MPI broadcast); each worker connects
 * (doorbell_connect) and sends its rank; rank 0 accepts
 * (doorbell_accept). */

/* A non-blocking listening socket on every IPv4 address, any port. */
int doorbell_listen(int *port, struct mps_error *err);

/* "ADDR,ADDR,...:PORT": this host's IPv4 addresses, loopback last. */
int doorbell_addresses(int port, char *buf, size_t len);

/* Connect to the first of addresses that answers within timeout_ms and
 * announce rank. Returns a non-blocking socket, or -1. */
int doorbell_connect(const char *addresses, int rank, int timeout_ms);

/* Accept one connection from listen_fd: returns its socket and sets *rank
 * from the announcement, or -1 (nothing pending, or a stranger). */
int doorbell_accept(int listen_fd, int *rank);

/* Ring: write one byte (a full socket buffer already rings). */
void doorbell_ring(int fd);

/* Read what rang. Returns 0, or -1 when the peer has gone. */
int doorbell_drain(int fd);

#endif
