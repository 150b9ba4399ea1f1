/* SPDX-License-Identifier: MIT */
/* A message that has arrived is found by one wire_recv. Rank 1 sends a
 * small message to rank 0 and then says so over a FIFO (as the doorbell
 * does, outside MPI); rank 0, woken by the FIFO, calls wire_recv once and
 * must get it. Before wire_recv probed twice, Open MPI's first MPI_Iprobe
 * only pulled the message in and reported nothing, so a woken rank slept
 * one more poll period. Usage: mpirun -np 2 wire_recv FIFO ROUNDS */
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "codec.h"
#include "transport.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 3 || size != 2) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np 2 wire_recv FIFO ROUNDS\n");
        MPI_Finalize();
        return 2;
    }
    int rounds = atoi(argv[2]), missed = 0;
    /* Both ends open the FIFO before any round (open blocks until the
     * other end is there). */
    int fd = open(argv[1], rank == 0 ? O_RDONLY : O_WRONLY);
    if (fd < 0) {
        perror(argv[1]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    for (int i = 0; i < rounds; i++) {
        if (rank == 1) {
            struct wire_buf buf = {0};
            struct wire_heartbeat hb = {.load = i};
            if (wire_encode_heartbeat(&buf, &hb) < 0 ||
                wire_send(0, WIRE_HEARTBEAT, &buf) < 0)
                MPI_Abort(MPI_COMM_WORLD, 2);
            wire_flush(); /* the send is complete: rank 0 has it */
            char c = 1;
            if (write(fd, &c, 1) != 1)
                MPI_Abort(MPI_COMM_WORLD, 2);
        } else {
            char c;
            if (read(fd, &c, 1) != 1)
                MPI_Abort(MPI_COMM_WORLD, 2);
            struct wire_msg msg;
            int got = wire_recv(&msg);
            if (got != 1) {
                missed++;
                while ((got = wire_recv(&msg)) != 1) /* catch up */
                    ;
            }
            wire_msg_clear(&msg);
        }
        MPI_Barrier(MPI_COMM_WORLD);
    }
    close(fd);
    if (rank == 0)
        printf("wire_recv: %d of %d messages missed by the first call\n",
               missed, rounds);
    MPI_Finalize();
    return rank == 0 && missed ? 1 : 0;
}
