/* SPDX-License-Identifier: MIT */
/* The scripted backend, for unit tests (in the spirit of flux-core's
 * testexec): no rank runs anything. Every call of the coordinator (send,
 * cancel, stop, shutdown) is recorded in order for the test to read; what
 * the ranks say (HELLO, OUTPUT, RESULT, HEARTBEAT, BYE) is what the test
 * scripts, queued and delivered by progress() after the next poll, as
 * real messages arrive. A cancel or a stop ends nothing by itself: the
 * test scripts the RESULT a rank would send. shutdown makes every rank
 * that has not said BYE say it. The loop never sleeps (poll_cap_ms 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "backend_script.h"
#include "util.h"

/* A message a rank will say, and the strings it owns. */
struct script_msg {
    int r;
    struct wire_msg msg;
    char *text;
    struct script_msg *next;
};

struct backend_script {
    struct backend b;
    struct script_call *calls;
    int ncalls;
    size_t cap;
    struct script_msg *head, *tail;
    bool *bye_queued; /* per rank: its BYE is queued or said */
};

static struct backend_script *bs_of(const struct backend *b)
{
    return (struct backend_script *)b;
}

/* A new call record (zeroed, r -1), or NULL when out of memory. */
static struct script_call *record_call(struct backend_script *s,
                                       enum script_call_type type)
{
    struct script_call *grown =
        util_grow(s->calls, (size_t)s->ncalls, &s->cap, sizeof *grown, 32);
    if (!grown)
        return NULL;
    s->calls = grown;
    struct script_call *c = &s->calls[s->ncalls++];
    memset(c, 0, sizeof *c);
    c->type = type;
    c->r = -1;
    return c;
}

/* Queue msg from rank r; text (may be NULL) is copied and owned. */
static struct script_msg *queue_msg(struct backend *b, int r,
                                    enum wire_type type, const char *text)
{
    struct backend_script *s = bs_of(b);
    struct script_msg *m = calloc(1, sizeof *m);
    if (!m || (text && !(m->text = strdup(text)))) {
        free(m);
        abort(); /* a test without memory cannot go on */
    }
    m->r = r;
    m->msg.type = type;
    m->msg.source = backend_rank_number(b, r);
    if (s->tail)
        s->tail->next = m;
    else
        s->head = m;
    s->tail = m;
    if (type == WIRE_BYE)
        s->bye_queued[r] = true;
    return m;
}

static int script_send(struct backend *b, int r, const struct attempt *t,
                       struct job_archive *archive, struct mps_error *err)
{
    (void)archive, (void)err;
    struct script_call *c = record_call(bs_of(b), SCRIPT_SEND);
    if (!c)
        return errprintf(err, "out of memory");
    c->r = r;
    c->dispatch = t->dispatch;
    snprintf(c->job, sizeof c->job, "%s", t->job);
    c->task = t->task;
    c->attempt = t->attempt;
    c->cpus = t->cpus;
    snprintf(c->argv0, sizeof c->argv0, "%s",
             t->argc && t->argv[0] ? t->argv[0] : "");
    return 0;
}

static void script_cancel(struct backend *b, int r, uint64_t dispatch,
                          double grace_s)
{
    struct script_call *c = record_call(bs_of(b), SCRIPT_CANCEL);
    if (c) {
        c->r = r;
        c->dispatch = dispatch;
        c->grace = grace_s;
    }
}

static void script_stop(struct backend *b, double grace_s)
{
    struct script_call *c = record_call(bs_of(b), SCRIPT_STOP);
    if (c)
        c->grace = grace_s;
}

static void script_shutdown(struct backend *b)
{
    struct backend_script *s = bs_of(b);
    record_call(s, SCRIPT_SHUTDOWN);
    for (int r = 0; r < b->nranks; r++)
        if (!s->bye_queued[r])
            queue_msg(b, r, WIRE_BYE, NULL);
}

/* Deliver what is queued now; what a delivery queues waits for the next
 * progress (the next turn), as a real rank's answer would. */
static int script_progress(struct backend *b)
{
    struct backend_script *s = bs_of(b);
    struct script_msg *m = s->head;
    s->head = s->tail = NULL;
    int n = 0;
    while (m) {
        struct script_msg *next = m->next;
        b->deliver(b->arg, m->r, &m->msg);
        free(m->text);
        free(m);
        m = next;
        n++;
    }
    return n;
}

static int script_poll_cap_ms(struct backend *b)
{
    (void)b;
    return 0;
}

static void script_destroy(struct backend *b)
{
    struct backend_script *s = bs_of(b);
    if (!s)
        return;
    for (struct script_msg *m = s->head, *next; m; m = next) {
        next = m->next;
        free(m->text);
        free(m);
    }
    free(s->bye_queued);
    free(s->calls);
    free(s);
}

static const struct backend_ops script_ops = {
    .send = script_send,
    .cancel = script_cancel,
    .stop = script_stop,
    .shutdown = script_shutdown,
    .progress = script_progress,
    .poll_cap_ms = script_poll_cap_ms,
    .destroy = script_destroy,
};

struct backend *backend_script_create(struct evloop *loop, int nranks,
                                      backend_deliver_fn deliver, void *arg)
{
    (void)loop;
    struct backend_script *s = calloc(1, sizeof *s);
    if (!s || !(s->bye_queued = calloc((size_t)nranks, sizeof(bool)))) {
        free(s);
        return NULL;
    }
    s->b = (struct backend){&script_ops, nranks, 1, deliver, arg};
    return &s->b;
}

int backend_script_ncalls(const struct backend *b)
{
    return bs_of(b)->ncalls;
}

const struct script_call *backend_script_call(const struct backend *b, int i)
{
    const struct backend_script *s = bs_of(b);
    return i >= 0 && i < s->ncalls ? &s->calls[i] : NULL;
}

int backend_script_count(const struct backend *b, enum script_call_type type)
{
    int n = 0;
    for (int i = 0; i < bs_of(b)->ncalls; i++)
        n += bs_of(b)->calls[i].type == type;
    return n;
}

const struct script_call *backend_script_find_send(const struct backend *b,
                                                   const char *job,
                                                   uint64_t task,
                                                   unsigned attempt)
{
    const struct backend_script *s = bs_of(b);
    for (int i = s->ncalls - 1; i >= 0; i--) {
        const struct script_call *c = &s->calls[i];
        if (c->type == SCRIPT_SEND && strcmp(c->job, job) == 0 &&
            c->task == task && c->attempt == attempt)
            return c;
    }
    return NULL;
}

void backend_script_hello(struct backend *b, int r, unsigned slots,
                          uint64_t mem_total, unsigned gpus, const char *host)
{
    struct script_msg *m = queue_msg(b, r, WIRE_HELLO, host);
    m->msg.u.hello = (struct wire_hello){
        .host = m->text, .slots = slots, .gpus = gpus, .mem_total = mem_total};
}

void backend_script_output(struct backend *b, int r, uint64_t dispatch,
                           int stream, const char *text)
{
    struct script_msg *m = queue_msg(b, r, WIRE_OUTPUT, text);
    m->msg.u.output = (struct wire_output){dispatch, (uint8_t)stream,
                                           (uint32_t)strlen(text), m->text};
}

void backend_script_result(struct backend *b, int r, uint64_t dispatch,
                           int exit_code, int signal, const char *error,
                           bool interrupted)
{
    struct script_msg *m = queue_msg(b, r, WIRE_RESULT, error);
    m->msg.u.result = (struct attempt_result){.dispatch = dispatch,
                                              .exit_code = exit_code,
                                              .signal = signal,
                                              .interrupted = interrupted,
                                              .error = m->text,
                                              .max_rss_kb = -1};
}

void backend_script_heartbeat(struct backend *b, int r, bool owner_active)
{
    struct script_msg *m = queue_msg(b, r, WIRE_HEARTBEAT, NULL);
    m->msg.u.heartbeat.owner_active = owner_active;
    m->msg.u.heartbeat.reason = owner_active ? 1 : 0;
}

void backend_script_bye(struct backend *b, int r)
{
    queue_msg(b, r, WIRE_BYE, NULL);
}
