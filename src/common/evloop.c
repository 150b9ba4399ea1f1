/* SPDX-License-Identifier: MIT */
/* A small event loop: fd watchers, monotonic deadline timers, a before-poll
 * hook, one poll(2) per turn. */
#include "evloop.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The pollfd array is kept between turns: a watcher owns one slot and a
 * change touches only that slot. A removed watcher's slot is marked dead
 * (fd -1 in its pollfd, so poll ignores it; its fd is free to be watched
 * again at once, in a new slot) and the array is compacted, in order,
 * before the next poll: callbacks may remove any watcher while the loop
 * walks the array. */
struct watcher {
    evloop_fd_fn fn;
    void *arg;
    bool dead;
};

struct evloop_timer {
    int64_t deadline; /* loop clock, microseconds */
    int64_t period;   /* 0: one-shot */
    uint64_t seq;     /* arming order: ties fire first armed, first */
    size_t heap_index;
    bool armed;
    bool running;   /* its callback is on the stack */
    bool destroyed; /* free once its callback returns */
    evloop_timer_fn fn;
    void *arg;
    struct evloop_timer *prev, *next; /* the loop's list of all timers */
};

struct evloop {
    struct pollfd *pfds;
    struct watcher *watchers;
    size_t nfds, cap_fds, ndead;
    int *slot_of; /* fd -> slot, -1 when not watched */
    size_t nslot_of;

    struct evloop_timer **heap; /* min-heap on (deadline, seq) */
    size_t nheap, cap_heap;
    uint64_t next_seq;
    struct evloop_timer *timers; /* all of them, armed or not */

    evloop_hook_fn before_poll;
    void *before_poll_arg;
    struct evloop_sys sys;
};

static int64_t sys_now_us(void *arg)
{
    (void)arg;
    return util_mono_us();
}

static int sys_poll(struct pollfd *fds, nfds_t n, int timeout_ms, void *arg)
{
    (void)arg;
    return poll(fds, n, timeout_ms);
}

struct evloop *evloop_create(void)
{
    struct evloop *loop = calloc(1, sizeof *loop);
    if (loop)
        loop->sys = (struct evloop_sys){sys_now_us, sys_poll, NULL};
    return loop;
}

void evloop_destroy(struct evloop *loop)
{
    if (!loop)
        return;
    while (loop->timers) {
        struct evloop_timer *t = loop->timers;
        loop->timers = t->next;
        free(t);
    }
    free(loop->heap);
    free(loop->pfds);
    free(loop->watchers);
    free(loop->slot_of);
    free(loop);
}

void evloop_set_sys(struct evloop *loop, const struct evloop_sys *sys)
{
    loop->sys = *sys;
}

int64_t evloop_now_us(const struct evloop *loop)
{
    return loop->sys.now_us(loop->sys.arg);
}

/* ---- fd watchers ---- */

static int slot_lookup(const struct evloop *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nslot_of)
        return -1;
    return loop->slot_of[fd];
}

static int reserve_fd(struct evloop *loop, int fd)
{
    if ((size_t)fd >= loop->nslot_of) {
        size_t n = loop->nslot_of ? loop->nslot_of : 16;
        while (n <= (size_t)fd)
            n *= 2;
        int *grown = realloc(loop->slot_of, n * sizeof *grown);
        if (!grown)
            return -1;
        for (size_t i = loop->nslot_of; i < n; i++)
            grown[i] = -1;
        loop->slot_of = grown;
        loop->nslot_of = n;
    }
    if (loop->nfds == loop->cap_fds) {
        size_t n = loop->cap_fds ? 2 * loop->cap_fds : 8;
        struct pollfd *pfds = realloc(loop->pfds, n * sizeof *pfds);
        if (pfds)
            loop->pfds = pfds;
        struct watcher *ws =
            pfds ? realloc(loop->watchers, n * sizeof *ws) : NULL;
        if (!ws)
            return -1;
        loop->watchers = ws;
        loop->cap_fds = n;
    }
    return 0;
}

int evloop_fd_add(struct evloop *loop, int fd, short events, evloop_fd_fn fn,
                  void *arg)
{
    if (fd < 0 || !fn) {
        errno = EINVAL;
        return -1;
    }
    if (slot_lookup(loop, fd) >= 0) {
        errno = EEXIST;
        return -1;
    }
    if (reserve_fd(loop, fd) < 0) {
        errno = ENOMEM;
        return -1;
    }
    size_t slot = loop->nfds++;
    loop->slot_of[fd] = (int)slot;
    loop->pfds[slot] = (struct pollfd){.fd = fd, .events = events};
    loop->watchers[slot] = (struct watcher){fn, arg, false};
    return 0;
}

int evloop_fd_modify(struct evloop *loop, int fd, short events)
{
    int slot = slot_lookup(loop, fd);
    if (slot < 0) {
        errno = ENOENT;
        return -1;
    }
    loop->pfds[slot].events = events;
    return 0;
}

int evloop_fd_remove(struct evloop *loop, int fd)
{
    int slot = slot_lookup(loop, fd);
    if (slot < 0) {
        errno = ENOENT;
        return -1;
    }
    loop->slot_of[fd] = -1;
    loop->watchers[slot].dead = true;
    loop->pfds[slot].fd = -1;
    loop->pfds[slot].events = loop->pfds[slot].revents = 0;
    loop->ndead++;
    return 0;
}

bool evloop_fd_watched(const struct evloop *loop, int fd)
{
    return slot_lookup(loop, fd) >= 0;
}

/* Drop dead slots, keeping the others in order. */
static void compact_fds(struct evloop *loop)
{
    if (!loop->ndead)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < loop->nfds; i++) {
        if (loop->watchers[i].dead)
            continue;
        loop->pfds[kept] = loop->pfds[i];
        loop->watchers[kept] = loop->watchers[i];
        loop->slot_of[loop->pfds[kept].fd] = (int)kept;
        kept++;
    }
    loop->nfds = kept;
    loop->ndead = 0;
}

static int dispatch_fds(struct evloop *loop)
{
    int ran = 0;
    /* Watchers added by a callback land past n, with no revents. */
    size_t n = loop->nfds;
    for (size_t i = 0; i < n; i++) {
        short revents = loop->pfds[i].revents;
        if (!revents || loop->watchers[i].dead)
            continue;
        loop->pfds[i].revents = 0;
        struct watcher w = loop->watchers[i];
        w.fn(loop, loop->pfds[i].fd, revents, w.arg);
        ran++;
    }
    return ran;
}

/* ---- timers: a binary min-heap on (deadline, seq) ---- */

static bool timer_before(const struct evloop_timer *a,
                         const struct evloop_timer *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(struct evloop *loop, size_t i, struct evloop_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(struct evloop *loop, size_t i)
{
    struct evloop_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void heap_down(struct evloop *loop, size_t i)
{
    struct evloop_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->nheap)
            break;
        if (child + 1 < loop->nheap &&
            timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

static void heap_remove(struct evloop *loop, struct evloop_timer *t)
{
    size_t i = t->heap_index;
    struct evloop_timer *last = loop->heap[--loop->nheap];
    if (i < loop->nheap) {
        heap_place(loop, i, last);
        heap_up(loop, i);
        heap_down(loop, last->heap_index);
    }
}

static int heap_reserve(struct evloop *loop)
{
    if (loop->nheap < loop->cap_heap)
        return 0;
    size_t n = loop->cap_heap ? 2 * loop->cap_heap : 8;
    struct evloop_timer **grown = realloc(loop->heap, n * sizeof *grown);
    if (!grown)
        return -1;
    loop->heap = grown;
    loop->cap_heap = n;
    return 0;
}

/* The heap holds armed timers only, so its top is the nearest deadline;
 * every timer, armed or not, is also on the loop's list so that
 * evloop_destroy frees them all. */
struct evloop_timer *evloop_timer_create(struct evloop *loop,
                                         evloop_timer_fn fn, void *arg)
{
    struct evloop_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->next = loop->timers;
    if (loop->timers)
        loop->timers->prev = t;
    loop->timers = t;
    return t;
}

static void timer_insert(struct evloop *loop, struct evloop_timer *t,
                         int64_t deadline)
{
    t->deadline = deadline;
    t->seq = loop->next_seq++;
    t->armed = true;
    loop->nheap++;
    heap_place(loop, loop->nheap - 1, t);
    heap_up(loop, loop->nheap - 1);
}

int evloop_timer_arm(struct evloop *loop, struct evloop_timer *t,
                     int64_t delay_us, int64_t period_us)
{
    if (!t->armed && heap_reserve(loop) < 0) {
        errno = ENOMEM;
        return -1;
    }
    if (t->armed)
        heap_remove(loop, t);
    t->period = period_us > 0 ? period_us : 0;
    timer_insert(loop, t, evloop_now_us(loop) + (delay_us > 0 ? delay_us : 0));
    return 0;
}

void evloop_timer_disarm(struct evloop *loop, struct evloop_timer *t)
{
    if (t->armed)
        heap_remove(loop, t);
    t->armed = false;
}

bool evloop_timer_armed(const struct evloop_timer *t)
{
    return t->armed;
}

void evloop_timer_destroy(struct evloop *loop, struct evloop_timer *t)
{
    if (!t)
        return;
    evloop_timer_disarm(loop, t);
    if (t->running) {
        t->destroyed = true; /* run_timers frees it */
        return;
    }
    if (t->prev)
        t->prev->next = t->next;
    else
        loop->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    free(t);
}

/* Fire the timers due at now that were armed before this phase began. */
static int run_timers(struct evloop *loop)
{
    int ran = 0;
    int64_t now = evloop_now_us(loop);
    uint64_t armed_before = loop->next_seq;
    while (loop->nheap && loop->heap[0]->deadline <= now &&
           loop->heap[0]->seq < armed_before) {
        struct evloop_timer *t = loop->heap[0];
        heap_remove(loop, t);
        t->armed = false;
        if (t->period) {
            /* Re-armed before the call: the callback may disarm it. */
            int64_t next = t->deadline + t->period;
            timer_insert(loop, t, next > now ? next : now + t->period);
        }
        t->running = true;
        t->fn(loop, t, t->arg);
        t->running = false;
        ran++;
        if (t->destroyed)
            evloop_timer_destroy(loop, t);
    }
    return ran;
}

void evloop_set_before_poll(struct evloop *loop, evloop_hook_fn fn, void *arg)
{
    loop->before_poll = fn;
    loop->before_poll_arg = arg;
}

int evloop_timeout(const struct evloop *loop, int cap_ms)
{
    if (!loop->nheap)
        return cap_ms < 0 ? -1 : cap_ms;
    int64_t wait_us = loop->heap[0]->deadline - evloop_now_us(loop);
    int64_t ms = wait_us <= 0 ? 0 : (wait_us + 999) / 1000;
    if (ms > INT_MAX)
        ms = INT_MAX;
    return cap_ms >= 0 && cap_ms < ms ? cap_ms : (int)ms;
}

int evloop_run_once(struct evloop *loop, int cap_ms)
{
    if (loop->before_poll)
        loop->before_poll(loop, loop->before_poll_arg);
    compact_fds(loop);
    int timeout = evloop_timeout(loop, cap_ms);
    int ready =
        loop->sys.poll(loop->pfds, (nfds_t)loop->nfds, timeout, loop->sys.arg);
    if (ready < 0 && errno != EINTR)
        return -1;
    int ran = ready > 0 ? dispatch_fds(loop) : 0;
    return ran + run_timers(loop);
}

static bool listed(const struct pollfd *now, int n, int fd)
{
    for (int i = 0; i < n; i++)
        if (now[i].fd == fd)
            return true;
    return false;
}

/* Whether fd is watched by fn(arg). */
static bool watched_by(const struct evloop *loop, int fd, evloop_fd_fn fn,
                       void *arg)
{
    int slot = slot_lookup(loop, fd);
    return slot >= 0 && loop->watchers[slot].fn == fn &&
           loop->watchers[slot].arg == arg;
}

int evloop_fdset_sync(struct evloop *loop, struct evloop_fdset *set,
                      const struct pollfd *now, int n, evloop_fd_fn fn,
                      void *arg)
{
    /* A number that is listed is open and ours: a watcher of another
     * owner on it is stale (its descriptor was closed and the number
     * reused), so ours replaces it; and only our own watchers are
     * removed. */
    set->fn = fn;
    set->arg = arg;
    int kept = 0;
    for (int i = 0; i < set->n; i++) {
        int fd = set->fds[i];
        if (listed(now, n, fd) && watched_by(loop, fd, fn, arg))
            set->fds[kept++] = fd;
        else if (watched_by(loop, fd, fn, arg))
            evloop_fd_remove(loop, fd);
    }
    set->n = kept;
    for (int i = 0; i < n; i++) {
        int fd = now[i].fd;
        if (watched_by(loop, fd, fn, arg))
            continue;
        if (set->n == set->cap) {
            int cap = set->cap ? 2 * set->cap : 16;
            int *fds = realloc(set->fds, (size_t)cap * sizeof *fds);
            if (!fds)
                return -1;
            set->fds = fds;
            set->cap = cap;
        }
        if (evloop_fd_watched(loop, fd))
            evloop_fd_remove(loop, fd);
        if (evloop_fd_add(loop, fd, EVLOOP_IN, fn, arg) < 0)
            return -1;
        set->fds[set->n++] = fd;
    }
    return 0;
}

void evloop_fdset_clear(struct evloop *loop, struct evloop_fdset *set)
{
    for (int i = 0; i < set->n; i++)
        if (watched_by(loop, set->fds[i], set->fn, set->arg))
            evloop_fd_remove(loop, set->fds[i]);
    free(set->fds);
    *set = (struct evloop_fdset){0};
}
