/* SPDX-License-Identifier: MIT */
/* libFuzzer target: wire_decode on arbitrary bytes, then a round trip. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* The first input byte chooses the MPI tag (type = byte % 16, so unknown
 * types and mismatched tags are reached too); the rest is the message. */
#define TAG_TYPES 16

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_strv(uint32_t n, char *const *a, char *const *b)
{
    for (uint32_t i = 0; i < n; i++)
        if (!a[i] || !b[i] || strcmp(a[i], b[i]) != 0)
            return false;
    return a[n] == NULL && b[n] == NULL;
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Encode a decoded message again; returns the encoder's result. */
static int encode(struct wire_buf *buf, const struct wire_msg *m)
{
    switch (m->type) {
    case WIRE_HELLO:
        return wire_encode_hello(buf, &m->u.hello);
    case WIRE_TASK:
        return wire_encode_task(buf, &m->u.task);
    case WIRE_OUTPUT:
        return wire_encode_output(buf, m->u.output.dispatch, m->u.output.stream,
                                  m->u.output.data, m->u.output.len);
    case WIRE_RESULT:
        return wire_encode_result(buf, &m->u.result);
    case WIRE_CANCEL:
        return wire_encode_cancel(buf, m->u.cancel.dispatch, m->u.cancel.grace);
    case WIRE_HEARTBEAT:
        return wire_encode_heartbeat(buf, &m->u.heartbeat);
    case WIRE_ARCHIVE:
        return wire_encode_archive(buf, m->u.archive.job, m->u.archive.total,
                                   m->u.archive.offset, m->u.archive.data,
                                   m->u.archive.len);
    default:
        return wire_encode_empty(buf, m->type);
    }
}

static bool same_msg(const struct wire_msg *a, const struct wire_msg *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case WIRE_HELLO: {
        const struct wire_hello *x = &a->u.hello, *y = &b->u.hello;
        return same_str(x->host, y->host) && x->slots == y->slots &&
               x->gpus == y->gpus && x->mem_total == y->mem_total &&
               x->local_rank == y->local_rank && x->pid == y->pid;
    }
    case WIRE_TASK: {
        const struct attempt *x = &a->u.task, *y = &b->u.task;
        return x->dispatch == y->dispatch && same_str(x->job, y->job) &&
               x->task == y->task && x->attempt == y->attempt &&
               x->cpus == y->cpus && x->memory == y->memory &&
               x->gpus == y->gpus && same_bits(x->timeout, y->timeout) &&
               x->shell == y->shell && x->inherit == y->inherit &&
               x->argc == y->argc && same_strv(x->argc, x->argv, y->argv) &&
               same_str(x->cwd, y->cwd) &&
               same_str(x->submit_dir, y->submit_dir) && x->envc == y->envc &&
               same_strv(x->envc, x->env, y->env) &&
               same_str(x->interpreter, y->interpreter) &&
               x->ntasks == y->ntasks && x->line == y->line;
    }
    case WIRE_OUTPUT: {
        const struct wire_output *x = &a->u.output, *y = &b->u.output;
        return x->dispatch == y->dispatch && x->stream == y->stream &&
               x->len == y->len && memcmp(x->data, y->data, x->len) == 0;
    }
    case WIRE_RESULT: {
        const struct attempt_result *x = &a->u.result, *y = &b->u.result;
        return x->dispatch == y->dispatch && x->start_us == y->start_us &&
               x->end_us == y->end_us && x->exit_code == y->exit_code &&
               x->signal == y->signal && x->timed_out == y->timed_out &&
               same_str(x->error, y->error) && same_str(x->cores, y->cores) &&
               same_str(x->gpus, y->gpus) && x->max_rss_kb == y->max_rss_kb &&
               same_bits(x->user_s, y->user_s) &&
               same_bits(x->system_s, y->system_s) &&
               x->stdout_bytes == y->stdout_bytes &&
               x->stderr_bytes == y->stderr_bytes;
    }
    case WIRE_CANCEL:
        return a->u.cancel.dispatch == b->u.cancel.dispatch &&
               same_bits(a->u.cancel.grace, b->u.cancel.grace);
    case WIRE_HEARTBEAT: {
        const struct wire_heartbeat *x = &a->u.heartbeat, *y = &b->u.heartbeat;
        return same_bits(x->load, y->load) &&
               x->owner_active == y->owner_active && x->reason == y->reason &&
               x->since_us == y->since_us;
    }
    case WIRE_ARCHIVE: {
        const struct wire_archive *x = &a->u.archive, *y = &b->u.archive;
        return same_str(x->job, y->job) && x->total == y->total &&
               x->offset == y->offset && x->len == y->len &&
               memcmp(x->data, y->data, x->len) == 0;
    }
    default:
        return true;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int tag = WIRE_TAG_BASE + data[0] % TAG_TYPES;
    size_t len = size - 1;
    /* wire_decode takes the buffer over on success only. */
    char *raw = malloc(len ? len : 1);
    if (!raw)
        return 0;
    memcpy(raw, data + 1, len);
    struct wire_msg msg;
    struct mps_error err;
    if (wire_decode(raw, len, tag, &msg, &err) < 0) {
        free(raw);
        return 0;
    }
    if (msg.raw != raw || tag != WIRE_TAG_BASE + (int)msg.type)
        abort();
    if (msg.type == WIRE_OUTPUT &&
        (msg.u.output.data < raw ||
         msg.u.output.data + msg.u.output.len > raw + len))
        abort();

    /* What was decoded encodes again, and decodes to the same message. */
    struct wire_buf buf = {0};
    if (encode(&buf, &msg) < 0)
        abort();
    char *again = malloc(buf.len);
    if (!again)
        abort();
    memcpy(again, buf.data, buf.len);
    struct wire_msg msg2;
    if (wire_decode(again, buf.len, tag, &msg2, &err) < 0 ||
        !same_msg(&msg, &msg2))
        abort();
    wire_msg_clear(&msg2);
    wire_buf_free(&buf);
    wire_msg_clear(&msg);
    return 0;
}
