/* SPDX-License-Identifier: MIT */
/* MPI message types and their versioned, length-checked encoding (no MPI). */
#ifndef MPISPOOL_WIRE_CODEC_H
#define MPISPOOL_WIRE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attempt.h"
#include "error.h"

/* Every message is a header and a payload:
 * magic "MS" (2 bytes), version (1), type (1), payload length (u32 LE)
 * followed by the payload's fields in order: integers little-endian,
 * doubles as IEEE 754 bits in a u64, strings as a u32 length and the bytes
 * (no NUL). A decoder checks the magic, version, type, that the payload
 * length matches the buffer and that every field lies inside it; anything
 * else is a malformed message, reported and dropped by the caller. Each
 * type travels with its own MPI tag (WIRE_TAG_BASE + type). */
/* 2: HEARTBEAT carries owner activity, RESULT an interrupted flag.
 * 3: TASK carries "steps", RESULT each step's outcome.
 * 4: TASK carries the interpreter, the job's task count and the task's
 *    line of its task file. */
#define WIRE_VERSION 4
#define WIRE_HEADER_LEN 8
#define WIRE_TAG_BASE 100
/* Output is sent in chunks of at most this many bytes. */
#define WIRE_CHUNK (64 * 1024)
/* A job's archive is shipped in chunks of at most this many bytes. */
#define WIRE_ARCHIVE_CHUNK (1024 * 1024)
/* Largest message accepted (a task's argv and environment included). */
#define WIRE_MAX_MESSAGE (16 * 1024 * 1024)

enum wire_type {
    WIRE_HELLO = 1, /* worker -> 0: I am here, with these slots */
    WIRE_TASK,      /* 0 -> worker: run this task attempt */
    WIRE_OUTPUT,    /* worker -> 0: a chunk of a task's stdout or stderr */
    WIRE_RESULT,    /* worker -> 0: the task attempt ended */
    WIRE_CANCEL,    /* 0 -> worker: kill a task attempt (0: all) */
    WIRE_SHUTDOWN,  /* 0 -> worker: finish up and say BYE */
    WIRE_BYE,       /* worker -> 0: nothing more will come from me */
    WIRE_HEARTBEAT, /* worker -> 0: still here, with this load and owner */
    WIRE_ARCHIVE,   /* 0 -> worker: a chunk of a job's input archive */
    WIRE_NTYPES
};

struct wire_hello {
    char *host;
    uint32_t slots;
    uint32_t gpus;
    uint64_t mem_total; /* bytes */
    uint32_t local_rank;
    uint32_t pid;
};

/* TASK carries a struct attempt (attempt.h), RESULT a struct
 * attempt_result, field by field in their order. */

/* Most steps a task message may carry. */
#define WIRE_MAX_STEPS 4096

/* Most supplementary groups a task message may carry (Linux NGROUPS_MAX). */
#define WIRE_MAX_GROUPS 65536

struct wire_output {
    uint64_t dispatch;
    uint8_t stream; /* 1 stdout, 2 stderr */
    uint32_t len;
    const char *data; /* points into the message buffer */
};

/* Sent to a rank once per job, before its first TASK of the job: chunks
 * in order of offset, from 0 to total. */
struct wire_archive {
    char *job;
    uint64_t total;   /* bytes of the whole archive */
    uint64_t offset;  /* of this chunk */
    uint32_t len;     /* at most WIRE_ARCHIVE_CHUNK; offset + len <= total */
    const char *data; /* points into the message buffer */
};

/* Sent every few seconds, and at once when owner_active changes. */
struct wire_heartbeat {
    double load;       /* the 1-minute load average */
    bool owner_active; /* --idle-policy: the PC's owner is using it */
    uint8_t reason;    /* enum idle_reason: 1 input, 2 load (0 when idle) */
    int64_t since_us;  /* owner active since (wall us), 0 when idle */
};

struct wire_cancel {
    uint64_t dispatch; /* 0: every task of this worker */
    double grace;      /* seconds from SIGTERM to SIGKILL */
};

/* A decoded message. Strings are malloc'd; output data points into raw. */
struct wire_msg {
    enum wire_type type;
    int source;
    char *raw; /* the received bytes, owned */
    union {
        struct wire_heartbeat heartbeat;
        struct wire_hello hello;
        struct attempt task;
        struct wire_output output;
        struct attempt_result result;
        struct wire_cancel cancel;
        struct wire_archive archive;
    } u;
};

/* A growable encode buffer. */
struct wire_buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Encode a message into buf (which is reset first). Return 0 or -1 (ENOMEM,
 * or EMSGSIZE past WIRE_MAX_MESSAGE). */
int wire_encode_hello(struct wire_buf *buf, const struct wire_hello *m);
int wire_encode_task(struct wire_buf *buf, const struct attempt *m);
int wire_encode_output(struct wire_buf *buf, uint64_t dispatch, int stream,
                       const void *data, size_t len);
int wire_encode_result(struct wire_buf *buf, const struct attempt_result *m);
int wire_encode_cancel(struct wire_buf *buf, uint64_t dispatch, double grace);
int wire_encode_empty(struct wire_buf *buf, enum wire_type type);
int wire_encode_heartbeat(struct wire_buf *buf, const struct wire_heartbeat *m);
int wire_encode_archive(struct wire_buf *buf, const char *job, uint64_t total,
                        uint64_t offset, const void *data, size_t len);

void wire_buf_free(struct wire_buf *buf);

/* Decode len bytes at raw (which msg takes over on success, and which the
 * caller frees on failure). The MPI tag the message came with must match
 * its type. Returns 0, or -1 with a message in err. */
int wire_decode(char *raw, size_t len, int tag, struct wire_msg *msg,
                struct mps_error *err);

/* Free what a decoded message owns (raw included). */
void wire_msg_clear(struct wire_msg *msg);

#endif
