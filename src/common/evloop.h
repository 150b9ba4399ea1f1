/* SPDX-License-Identifier: MIT */
/* A small event loop: fd watchers, monotonic deadline timers, a before-poll
 * hook, one poll(2) per turn. */
#ifndef MPISPOOL_EVLOOP_H
#define MPISPOOL_EVLOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

struct evloop;
struct evloop_timer;

/* Events a watcher asks for; revents are poll(2)'s (POLLHUP and POLLERR
 * are reported whatever was asked). */
enum {
    EVLOOP_IN = POLLIN,
    EVLOOP_OUT = POLLOUT,
};

typedef void (*evloop_fd_fn)(struct evloop *loop, int fd, short revents,
                             void *arg);
typedef void (*evloop_timer_fn)(struct evloop *loop, struct evloop_timer *t,
                                void *arg);
typedef void (*evloop_hook_fn)(struct evloop *loop, void *arg);

/* What the loop reads the time from and waits with; tests replace it. */
struct evloop_sys {
    int64_t (*now_us)(void *arg); /* a monotonic clock, microseconds */
    int (*poll)(struct pollfd *fds, nfds_t n, int timeout_ms, void *arg);
    void *arg;
};

/* A loop with no watchers and no timers on CLOCK_MONOTONIC and poll(2).
 * NULL when out of memory. */
struct evloop *evloop_create(void);

/* Free the loop and every timer it made; the descriptors watched are the
 * caller's and stay open. */
void evloop_destroy(struct evloop *loop);

/* Replace the clock and poll (for tests); sys is copied. */
void evloop_set_sys(struct evloop *loop, const struct evloop_sys *sys);

/* The loop's clock now, in microseconds. */
int64_t evloop_now_us(const struct evloop *loop);

/* Watch fd for events (EVLOOP_IN | EVLOOP_OUT); fn(loop, fd, revents, arg)
 * runs after a poll that reports any. One watcher per fd. Returns 0, or
 * -1 with errno EEXIST (fd already watched), EINVAL (fd < 0) or ENOMEM.
 * A watcher added from a callback is first polled on the next turn. */
int evloop_fd_add(struct evloop *loop, int fd, short events, evloop_fd_fn fn,
                  void *arg);

/* Change what fd's watcher waits for (0: nothing, the watcher stays).
 * Returns 0, or -1 with errno ENOENT. */
int evloop_fd_modify(struct evloop *loop, int fd, short events);

/* Stop watching fd. Safe from any callback, the fd's own included: a
 * watcher removed during a turn gets no callback after its removal.
 * Returns 0, or -1 with errno ENOENT. Close fd after removing it. */
int evloop_fd_remove(struct evloop *loop, int fd);

/* Whether fd is watched. */
bool evloop_fd_watched(const struct evloop *loop, int fd);

/* A set of watchers whose descriptors another module lists anew each turn
 * (an executor's pipes, copy children): evloop_fdset_sync makes the set
 * watch exactly now[0..n) with fn(arg) for EVLOOP_IN, dropping the
 * descriptors no longer listed. Zero-initialise it; free it with
 * evloop_fdset_clear. A listed descriptor is open, so a watcher of
 * another owner still on its number is stale (that descriptor was closed
 * and the number reused before its owner synced): the set takes the
 * number over, and removes only watchers of its own fn and arg. Returns
 * 0, or -1 (ENOMEM: the rest is tried next time). */
struct evloop_fdset {
    int *fds;
    int n, cap;
    evloop_fd_fn fn; /* of the last sync */
    void *arg;
};
int evloop_fdset_sync(struct evloop *loop, struct evloop_fdset *set,
                      const struct pollfd *now, int n, evloop_fd_fn fn,
                      void *arg);
void evloop_fdset_clear(struct evloop *loop, struct evloop_fdset *set);

/* A timer that calls fn(loop, t, arg) when due; it starts disarmed.
 * NULL when out of memory. */
struct evloop_timer *evloop_timer_create(struct evloop *loop,
                                         evloop_timer_fn fn, void *arg);

/* Arm (or re-arm) t to fire delay_us from now (0: on this or the next
 * turn), then every period_us after that if period_us > 0, else once. A
 * periodic timer keeps its cadence; when the loop falls a whole period
 * behind it fires once and counts the period from then. Timers due at
 * the same moment fire in the order they were armed. Returns 0, or -1
 * with errno ENOMEM. */
int evloop_timer_arm(struct evloop *loop, struct evloop_timer *t,
                     int64_t delay_us, int64_t period_us);

/* Disarm t: it does not fire until armed again. Safe from any callback. */
void evloop_timer_disarm(struct evloop *loop, struct evloop_timer *t);

/* Whether t will fire (a one-shot timer is disarmed once it fired). */
bool evloop_timer_armed(const struct evloop_timer *t);

/* Disarm and free t (NULL: nothing). Safe from any callback, t's own
 * included. */
void evloop_timer_destroy(struct evloop *loop, struct evloop_timer *t);

/* Run fn(loop, arg) at the start of every turn, before the poll timeout
 * is computed (NULL: none). For work that must be done before sleeping,
 * such as flushing buffers or updating watchers. */
void evloop_set_before_poll(struct evloop *loop, evloop_hook_fn fn, void *arg);

/* The milliseconds the next poll would wait: until the nearest timer's
 * deadline (rounded up to a whole millisecond, 0 if one is due), at most
 * cap_ms when cap_ms >= 0; -1 (forever) with no timer and no cap. */
int evloop_timeout(const struct evloop *loop, int cap_ms);

/* One turn: the before-poll hook, one poll for at most
 * evloop_timeout(loop, cap_ms), the callbacks of the ready watchers (in
 * the order they were added), then the callbacks of the timers that are
 * due (in deadline order; a timer armed by one of them for now waits for
 * the next turn). Returns the number of callbacks run, or -1 with errno
 * if poll failed (EINTR is not a failure: the turn runs what is due). */
int evloop_run_once(struct evloop *loop, int cap_ms);

#endif
