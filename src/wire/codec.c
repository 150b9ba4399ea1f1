/* SPDX-License-Identifier: MIT */
/* Encoding and bounds-checked decoding of mpispool's MPI messages. */
#include "codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int buf_reserve(struct wire_buf *buf, size_t more)
{
    if (buf->len + more > WIRE_MAX_MESSAGE) {
        errno = EMSGSIZE;
        return -1;
    }
    if (buf->len + more <= buf->cap)
        return 0;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < buf->len + more)
        cap *= 2;
    char *data = realloc(buf->data, cap);
    if (!data)
        return -1;
    buf->data = data;
    buf->cap = cap;
    return 0;
}

static int put_bytes(struct wire_buf *buf, const void *bytes, size_t len)
{
    if (buf_reserve(buf, len) < 0)
        return -1;
    if (len)
        memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
    return 0;
}

static int put_u64(struct wire_buf *buf, uint64_t v, int width)
{
    unsigned char bytes[8];
    for (int i = 0; i < width; i++)
        bytes[i] = (unsigned char)(v >> (8 * i));
    return put_bytes(buf, bytes, (size_t)width);
}

static int put_u8(struct wire_buf *buf, uint8_t v)
{
    return put_u64(buf, v, 1);
}

static int put_u32(struct wire_buf *buf, uint32_t v)
{
    return put_u64(buf, v, 4);
}

static int put_f64(struct wire_buf *buf, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return put_u64(buf, bits, 8);
}

static int put_str(struct wire_buf *buf, const char *s)
{
    /* NULL and "" both travel as length 0 with a flag byte telling them
     * apart, so optional strings survive the trip. */
    if (!s)
        return put_u8(buf, 0);
    size_t len = strlen(s);
    if (len > UINT32_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    if (put_u8(buf, 1) < 0 || put_u32(buf, (uint32_t)len) < 0)
        return -1;
    return put_bytes(buf, s, len);
}

static int put_strv(struct wire_buf *buf, uint32_t n, char *const *v)
{
    if (put_u32(buf, n) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (put_str(buf, v[i]) < 0)
            return -1;
    return 0;
}

static int begin(struct wire_buf *buf, enum wire_type type)
{
    buf->len = 0;
    if (put_bytes(buf, "MS", 2) < 0 || put_u8(buf, WIRE_VERSION) < 0 ||
        put_u8(buf, (uint8_t)type) < 0 || put_u32(buf, 0) < 0)
        return -1;
    return 0;
}

static int finish(struct wire_buf *buf)
{
    uint32_t payload = (uint32_t)(buf->len - WIRE_HEADER_LEN);
    for (int i = 0; i < 4; i++)
        buf->data[4 + i] = (char)(payload >> (8 * i));
    return 0;
}

int wire_encode_empty(struct wire_buf *buf, enum wire_type type)
{
    if (begin(buf, type) < 0)
        return -1;
    return finish(buf);
}

int wire_encode_heartbeat(struct wire_buf *buf, const struct wire_heartbeat *m)
{
    if (begin(buf, WIRE_HEARTBEAT) < 0 || put_f64(buf, m->load) < 0 ||
        put_u8(buf, m->owner_active ? 1 : 0) < 0 ||
        put_u8(buf, m->reason) < 0 ||
        put_u64(buf, (uint64_t)m->since_us, 8) < 0)
        return -1;
    return finish(buf);
}

int wire_encode_hello(struct wire_buf *buf, const struct wire_hello *m)
{
    if (begin(buf, WIRE_HELLO) < 0 || put_str(buf, m->host) < 0 ||
        put_u32(buf, m->slots) < 0 || put_u32(buf, m->gpus) < 0 ||
        put_u64(buf, m->mem_total, 8) < 0 || put_u32(buf, m->local_rank) < 0 ||
        put_u32(buf, m->pid) < 0)
        return -1;
    return finish(buf);
}

int wire_encode_task(struct wire_buf *buf, const struct attempt *m)
{
    uint8_t flags = (uint8_t)((m->shell ? 1 : 0) | (m->inherit ? 2 : 0) |
                              (m->archive ? 4 : 0) | (m->as_user ? 8 : 0) |
                              (m->continue_on_error ? 16 : 0));
    if (m->ngroups > WIRE_MAX_GROUPS || (m->ngroups && !m->groups) ||
        m->nsteps > WIRE_MAX_STEPS || (m->nsteps && !m->steps)) {
        errno = EINVAL;
        return -1;
    }
    if (begin(buf, WIRE_TASK) < 0 || put_u64(buf, m->dispatch, 8) < 0 ||
        put_str(buf, m->job) < 0 || put_u64(buf, m->task, 8) < 0 ||
        put_u32(buf, m->attempt) < 0 || put_u32(buf, m->cpus) < 0 ||
        put_u64(buf, m->memory, 8) < 0 || put_u32(buf, m->gpus) < 0 ||
        put_f64(buf, m->timeout) < 0 || put_u8(buf, flags) < 0 ||
        put_strv(buf, m->argc, m->argv) < 0 || put_str(buf, m->cwd) < 0 ||
        put_str(buf, m->submit_dir) < 0 || put_strv(buf, m->envc, m->env) < 0 ||
        put_u32(buf, m->uid) < 0 || put_u32(buf, m->gid) < 0 ||
        put_u32(buf, m->ngroups) < 0)
        return -1;
    for (uint32_t i = 0; i < m->ngroups; i++)
        if (put_u32(buf, m->groups[i]) < 0)
            return -1;
    if (put_u32(buf, m->nsteps) < 0)
        return -1;
    for (uint32_t i = 0; i < m->nsteps; i++)
        if (put_u8(buf, m->steps[i].shell) < 0 ||
            put_strv(buf, (uint32_t)m->steps[i].argc, m->steps[i].argv) < 0)
            return -1;
    if (put_str(buf, m->interpreter) < 0 || put_u64(buf, m->ntasks, 8) < 0 ||
        put_u64(buf, m->line, 8) < 0)
        return -1;
    return finish(buf);
}

int wire_encode_output(struct wire_buf *buf, uint64_t dispatch, int stream,
                       const void *data, size_t len)
{
    if (len > WIRE_CHUNK) {
        errno = EMSGSIZE;
        return -1;
    }
    if (begin(buf, WIRE_OUTPUT) < 0 || put_u64(buf, dispatch, 8) < 0 ||
        put_u8(buf, (uint8_t)stream) < 0 || put_u32(buf, (uint32_t)len) < 0 ||
        put_bytes(buf, data, len) < 0)
        return -1;
    return finish(buf);
}

int wire_encode_result(struct wire_buf *buf, const struct attempt_result *m)
{
    if (begin(buf, WIRE_RESULT) < 0 || put_u64(buf, m->dispatch, 8) < 0 ||
        put_u64(buf, (uint64_t)m->start_us, 8) < 0 ||
        put_u64(buf, (uint64_t)m->end_us, 8) < 0 ||
        put_u32(buf, (uint32_t)m->exit_code) < 0 ||
        put_u32(buf, (uint32_t)m->signal) < 0 ||
        put_u8(buf, (uint8_t)((m->timed_out ? 1 : 0) |
                              (m->interrupted ? 2 : 0))) < 0 ||
        put_str(buf, m->error) < 0 || put_str(buf, m->cores) < 0 ||
        put_str(buf, m->gpus) < 0 ||
        put_u64(buf, (uint64_t)m->max_rss_kb, 8) < 0 ||
        put_f64(buf, m->user_s) < 0 || put_f64(buf, m->system_s) < 0 ||
        put_u64(buf, m->stdout_bytes, 8) < 0 ||
        put_u64(buf, m->stderr_bytes, 8) < 0 || put_u32(buf, m->nsteps) < 0)
        return -1;
    for (uint32_t i = 0; i < m->nsteps; i++) {
        const struct step_record *st = &m->steps[i];
        if (put_u64(buf, (uint64_t)st->start_us, 8) < 0 ||
            put_u64(buf, (uint64_t)st->end_us, 8) < 0 ||
            put_u32(buf, (uint32_t)st->exit_code) < 0 ||
            put_u32(buf, (uint32_t)st->signal) < 0 ||
            put_u64(buf, st->stdout_bytes, 8) < 0 ||
            put_u64(buf, st->stderr_bytes, 8) < 0 ||
            put_str(buf, st->error) < 0)
            return -1;
    }
    return finish(buf);
}

int wire_encode_archive(struct wire_buf *buf, const char *job, uint64_t total,
                        uint64_t offset, const void *data, size_t len)
{
    if (len > WIRE_ARCHIVE_CHUNK || offset > total || len > total - offset) {
        errno = EMSGSIZE;
        return -1;
    }
    if (begin(buf, WIRE_ARCHIVE) < 0 || put_str(buf, job) < 0 ||
        put_u64(buf, total, 8) < 0 || put_u64(buf, offset, 8) < 0 ||
        put_u32(buf, (uint32_t)len) < 0 || put_bytes(buf, data, len) < 0)
        return -1;
    return finish(buf);
}

int wire_encode_cancel(struct wire_buf *buf, uint64_t dispatch, double grace)
{
    if (begin(buf, WIRE_CANCEL) < 0 || put_u64(buf, dispatch, 8) < 0 ||
        put_f64(buf, grace) < 0)
        return -1;
    return finish(buf);
}

void wire_buf_free(struct wire_buf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

/* A read cursor: once bad is set every further read fails. */
struct cursor {
    const unsigned char *p;
    size_t left;
    bool bad;
};

static uint64_t get_u64(struct cursor *c, int width)
{
    if (c->bad || c->left < (size_t)width) {
        c->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < width; i++)
        v |= (uint64_t)c->p[i] << (8 * i);
    c->p += width;
    c->left -= (size_t)width;
    return v;
}

static double get_f64(struct cursor *c)
{
    uint64_t bits = get_u64(c, 8);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static char *get_str(struct cursor *c)
{
    uint64_t present = get_u64(c, 1);
    if (c->bad || !present)
        return NULL;
    uint64_t len = get_u64(c, 4);
    if (c->bad || len > c->left || memchr(c->p, '\0', len)) {
        c->bad = true;
        return NULL;
    }
    char *s = malloc(len + 1);
    if (!s) {
        c->bad = true;
        return NULL;
    }
    memcpy(s, c->p, len);
    s[len] = '\0';
    c->p += len;
    c->left -= len;
    return s;
}

/* An array's u32 count, then room for it: n zeroed elements of elem
 * bytes plus extra ones. n is refused (c->bad) above max or when n
 * elements of at least wire_bytes each cannot fit in what is left, before
 * anything is allocated. NULL with n 0 and no extra. */
static void *get_array(struct cursor *c, uint64_t max, size_t wire_bytes,
                       size_t elem, size_t extra, uint64_t *n_out)
{
    uint64_t n = get_u64(c, 4);
    *n_out = 0;
    if (c->bad || n > max || n > c->left / wire_bytes) {
        c->bad = true;
        return NULL;
    }
    if (n + extra == 0)
        return NULL;
    void *v = calloc(n + extra, elem);
    if (!v) {
        c->bad = true;
        return NULL;
    }
    *n_out = n;
    return v;
}

/* A string vector of n non-NULL strings, NULL-terminated; each takes at
 * least 5 bytes on the wire. */
static char **get_strv(struct cursor *c, uint32_t *n_out)
{
    uint64_t n;
    char **v = get_array(c, UINT32_MAX, 5, sizeof *v, 1, &n);
    if (!v)
        return NULL;
    for (uint64_t i = 0; i < n; i++) {
        v[i] = get_str(c);
        if (!v[i]) {
            c->bad = true;
            util_strv_free(v);
            return NULL;
        }
    }
    *n_out = (uint32_t)n;
    return v;
}

/* n u32s (at most WIRE_MAX_GROUPS), bounded by what is left before
 * anything is allocated; NULL when n is 0 (or on error, with c->bad). */
static uint32_t *get_u32v(struct cursor *c, uint32_t *n_out)
{
    uint64_t n;
    *n_out = 0;
    uint32_t *v = get_array(c, WIRE_MAX_GROUPS, 4, sizeof *v, 0, &n);
    if (!v)
        return NULL;
    for (uint64_t i = 0; i < n; i++)
        v[i] = (uint32_t)get_u64(c, 4);
    *n_out = (uint32_t)n;
    return v;
}

/* A TASK's steps: each a shell flag and an argv (at least 6 bytes on the
 * wire, which bounds their number before anything is allocated). */
static void get_steps(struct cursor *c, struct attempt *m)
{
    uint64_t n;
    m->steps = get_array(c, WIRE_MAX_STEPS, 6, sizeof *m->steps, 0, &n);
    m->nsteps = (uint32_t)n;
    for (uint64_t i = 0; i < n && !c->bad; i++) {
        struct taskcmd *st = &m->steps[i];
        uint64_t shell = get_u64(c, 1);
        uint32_t argc = 0;
        st->argv = get_strv(c, &argc);
        st->argc = argc;
        st->shell = shell == 1;
        if (c->bad || shell > 1 || argc == 0 || (st->shell && argc != 1))
            c->bad = true;
    }
}

/* A RESULT's step outcomes (at least 41 bytes each on the wire). */
static void get_step_results(struct cursor *c, struct attempt_result *m)
{
    uint64_t n;
    m->steps = get_array(c, WIRE_MAX_STEPS, 41, sizeof *m->steps, 0, &n);
    m->nsteps = (uint32_t)n;
    for (uint64_t i = 0; i < n && !c->bad; i++) {
        struct step_record *st = &m->steps[i];
        st->start_us = (int64_t)get_u64(c, 8);
        st->end_us = (int64_t)get_u64(c, 8);
        st->exit_code = (int32_t)get_u64(c, 4);
        st->signal = (int32_t)get_u64(c, 4);
        st->stdout_bytes = get_u64(c, 8);
        st->stderr_bytes = get_u64(c, 8);
        st->error = get_str(c);
    }
}

static void clear_payload(struct wire_msg *msg)
{
    switch (msg->type) {
    case WIRE_HELLO:
        free(msg->u.hello.host);
        break;
    case WIRE_TASK:
        attempt_clear(&msg->u.task);
        break;
    case WIRE_ARCHIVE:
        free(msg->u.archive.job);
        break;
    case WIRE_RESULT:
        attempt_result_clear(&msg->u.result);
        break;
    default:
        break;
    }
    memset(&msg->u, 0, sizeof msg->u);
}

static void decode_hello(struct cursor *c, struct wire_hello *m)
{
    m->host = get_str(c);
    m->slots = (uint32_t)get_u64(c, 4);
    m->gpus = (uint32_t)get_u64(c, 4);
    m->mem_total = get_u64(c, 8);
    m->local_rank = (uint32_t)get_u64(c, 4);
    m->pid = (uint32_t)get_u64(c, 4);
    if (!m->host)
        c->bad = true;
}

static void decode_task(struct cursor *c, struct attempt *m)
{
    m->dispatch = get_u64(c, 8);
    m->job = get_str(c);
    m->task = get_u64(c, 8);
    m->attempt = (uint32_t)get_u64(c, 4);
    m->cpus = (uint32_t)get_u64(c, 4);
    m->memory = get_u64(c, 8);
    m->gpus = (uint32_t)get_u64(c, 4);
    m->timeout = get_f64(c);
    uint64_t flags = get_u64(c, 1);
    m->shell = flags & 1;
    m->inherit = flags & 2;
    m->archive = flags & 4;
    m->argv = get_strv(c, &m->argc);
    m->cwd = get_str(c);
    m->submit_dir = get_str(c);
    m->env = get_strv(c, &m->envc);
    m->as_user = flags & 8;
    m->uid = (uint32_t)get_u64(c, 4);
    m->gid = (uint32_t)get_u64(c, 4);
    m->groups = get_u32v(c, &m->ngroups);
    m->continue_on_error = flags & 16;
    get_steps(c, m);
    m->interpreter = get_str(c);
    m->ntasks = get_u64(c, 8);
    m->line = get_u64(c, 8);
    if (!m->job || (flags & ~31u) || (m->continue_on_error && !m->nsteps) ||
        (m->interpreter && !m->interpreter[0]) || (!m->as_user && m->ngroups) ||
        !m->argv || m->argc == 0 || !m->env || (m->shell && m->argc != 1) ||
        !(m->timeout >= 0))
        c->bad = true;
}

static void decode_output(struct cursor *c, struct wire_output *m)
{
    m->dispatch = get_u64(c, 8);
    m->stream = (uint8_t)get_u64(c, 1);
    m->len = (uint32_t)get_u64(c, 4);
    if (c->bad || m->len > c->left || m->len > WIRE_CHUNK ||
        (m->stream != 1 && m->stream != 2)) {
        c->bad = true;
        return;
    }
    m->data = (const char *)c->p;
    c->p += m->len;
    c->left -= m->len;
}

static void decode_result(struct cursor *c, struct attempt_result *m)
{
    m->dispatch = get_u64(c, 8);
    m->start_us = (int64_t)get_u64(c, 8);
    m->end_us = (int64_t)get_u64(c, 8);
    m->exit_code = (int32_t)get_u64(c, 4);
    m->signal = (int32_t)get_u64(c, 4);
    uint64_t flags = get_u64(c, 1);
    m->timed_out = flags & 1;
    m->interrupted = flags & 2;
    if (flags & ~3u)
        c->bad = true;
    m->error = get_str(c);
    m->cores = get_str(c);
    m->gpus = get_str(c);
    m->max_rss_kb = (int64_t)get_u64(c, 8);
    m->user_s = get_f64(c);
    m->system_s = get_f64(c);
    m->stdout_bytes = get_u64(c, 8);
    m->stderr_bytes = get_u64(c, 8);
    get_step_results(c, m);
}

static void decode_archive(struct cursor *c, struct wire_archive *m)
{
    m->job = get_str(c);
    m->total = get_u64(c, 8);
    m->offset = get_u64(c, 8);
    m->len = (uint32_t)get_u64(c, 4);
    if (c->bad || !m->job || m->len > c->left || m->len > WIRE_ARCHIVE_CHUNK ||
        m->offset > m->total || m->len > m->total - m->offset) {
        c->bad = true;
        return;
    }
    m->data = (const char *)c->p;
    c->p += m->len;
    c->left -= m->len;
}

static void decode_heartbeat(struct cursor *c, struct wire_heartbeat *m)
{
    m->load = get_f64(c);
    uint64_t active = get_u64(c, 1);
    m->reason = (uint8_t)get_u64(c, 1);
    m->since_us = (int64_t)get_u64(c, 8);
    m->owner_active = active == 1;
    if (active > 1 || m->reason > 2 || (!m->owner_active && m->reason))
        c->bad = true;
}

/* The payload of msg->type into msg->u; c->bad when it is malformed. */
static void decode_payload(struct cursor *c, struct wire_msg *msg)
{
    switch (msg->type) {
    case WIRE_HELLO:
        decode_hello(c, &msg->u.hello);
        break;
    case WIRE_TASK:
        decode_task(c, &msg->u.task);
        break;
    case WIRE_OUTPUT:
        decode_output(c, &msg->u.output);
        break;
    case WIRE_RESULT:
        decode_result(c, &msg->u.result);
        break;
    case WIRE_CANCEL:
        msg->u.cancel.dispatch = get_u64(c, 8);
        msg->u.cancel.grace = get_f64(c);
        break;
    case WIRE_ARCHIVE:
        decode_archive(c, &msg->u.archive);
        break;
    case WIRE_HEARTBEAT:
        decode_heartbeat(c, &msg->u.heartbeat);
        break;
    default:
        break;
    }
}

int wire_decode(char *raw, size_t len, int tag, struct wire_msg *msg,
                struct mps_error *err)
{
    memset(msg, 0, sizeof *msg);
    const unsigned char *p = (const unsigned char *)raw;
    if (len < WIRE_HEADER_LEN)
        return errprintf(err, "message of %zu bytes is shorter than a header",
                         len);
    if (p[0] != 'M' || p[1] != 'S')
        return errprintf(err, "message has a bad magic number");
    if (p[2] != WIRE_VERSION)
        return errprintf(err, "message has version %u, expected %u", p[2],
                         WIRE_VERSION);
    if (p[3] < WIRE_HELLO || p[3] >= WIRE_NTYPES)
        return errprintf(err, "message has unknown type %u", p[3]);
    if (tag != WIRE_TAG_BASE + p[3])
        return errprintf(err, "message of type %u came with tag %d", p[3], tag);
    uint32_t payload = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
                       (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
    if (payload != len - WIRE_HEADER_LEN)
        return errprintf(err, "message length %u does not match its %zu bytes",
                         payload, len - WIRE_HEADER_LEN);
    msg->type = (enum wire_type)p[3];
    struct cursor c = {p + WIRE_HEADER_LEN, payload, false};
    decode_payload(&c, msg);
    if (c.bad || c.left != 0) {
        clear_payload(msg);
        return errprintf(err, "malformed message of type %u", p[3]);
    }
    msg->raw = raw;
    return 0;
}

void wire_msg_clear(struct wire_msg *msg)
{
    clear_payload(msg);
    free(msg->raw);
    msg->raw = NULL;
}
