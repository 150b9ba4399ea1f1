/* SPDX-License-Identifier: MIT */
/* Unit tests of the event loop: timer order, periodic timers, cancel, fd
 * readiness on pipes, removal from callbacks, the poll timeout. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "evloop.h"

/* A clock the test moves: each poll "waits" its whole timeout at once
 * (then looks at the descriptors without waiting), so the tests neither
 * sleep nor depend on the machine's load. */
struct fake {
    int64_t now;
    int timeouts[64];
    int npolls;
};

static int64_t fake_now(void *arg)
{
    return ((struct fake *)arg)->now;
}

static int fake_poll(struct pollfd *fds, nfds_t n, int timeout_ms, void *arg)
{
    struct fake *f = arg;
    if (f->npolls < 64)
        f->timeouts[f->npolls] = timeout_ms;
    f->npolls++;
    if (timeout_ms > 0)
        f->now += (int64_t)timeout_ms * 1000;
    return poll(fds, n, 0);
}

static struct evloop *fake_loop(struct fake *f, int64_t start)
{
    *f = (struct fake){.now = start};
    struct evloop *loop = evloop_create();
    assert_non_null(loop);
    evloop_set_sys(loop, &(struct evloop_sys){fake_now, fake_poll, f});
    return loop;
}

/* Each timer records its name and the time it fired. */
struct log {
    char names[2048];
    int64_t at[1024];
    size_t n;
    struct fake *clock;
};

struct mark {
    struct log *log;
    char name;
    struct evloop_timer *other; /* disarmed or destroyed by this one */
    bool destroy_self;
};

static void on_timer(struct evloop *loop, struct evloop_timer *t, void *arg)
{
    struct mark *m = arg;
    struct log *log = m->log;
    if (log->n < 1024) {
        log->at[log->n] = log->clock->now;
        log->names[log->n++] = m->name;
    }
    if (m->other)
        evloop_timer_disarm(loop, m->other);
    if (m->destroy_self)
        evloop_timer_destroy(loop, t);
}

static void run_turns(struct evloop *loop, int turns)
{
    for (int i = 0; i < turns; i++)
        assert_true(evloop_run_once(loop, -1) >= 0);
}

static void test_deadline_order(void **state)
{
    (void)state;
    struct fake f;
    struct evloop *loop = fake_loop(&f, 1000000);
    struct log log = {.clock = &f};
    struct mark marks[] = {{&log, 'a', NULL, false},
                           {&log, 'b', NULL, false},
                           {&log, 'c', NULL, false},
                           {&log, 'd', NULL, false}};
    int64_t delays_ms[] = {30, 10, 20, 10}; /* d ties with b, armed after */
    for (size_t i = 0; i < 4; i++) {
        struct evloop_timer *t = evloop_timer_create(loop, on_timer, &marks[i]);
        assert_non_null(t);
        assert_int_equal(evloop_timer_arm(loop, t, delays_ms[i] * 1000, 0), 0);
    }
    run_turns(loop, 3);
    assert_string_equal(log.names, "bdca");
    assert_int_equal(log.at[0], 1010000);
    assert_int_equal(log.at[1], 1010000);
    assert_int_equal(log.at[2], 1020000);
    assert_int_equal(log.at[3], 1030000);
    /* One-shot timers are spent: the loop has nothing left to wait for. */
    assert_int_equal(evloop_timeout(loop, -1), -1);
    evloop_destroy(loop); /* frees the four (disarmed) timers */
}

/* Many timers with scattered deadlines come out sorted. */
static void test_many_in_order(void **state)
{
    (void)state;
    struct fake f;
    struct evloop *loop = fake_loop(&f, 0);
    struct log log = {.clock = &f};
    static struct mark marks[1000];
    for (size_t i = 0; i < 1000; i++) {
        marks[i] = (struct mark){&log, 'x', NULL, false};
        struct evloop_timer *t = evloop_timer_create(loop, on_timer, &marks[i]);
        int64_t delay = (int64_t)((i * 7919) % 1000) * 1000;
        assert_int_equal(evloop_timer_arm(loop, t, delay, 0), 0);
    }
    run_turns(loop, 1); /* the one due at once */
    assert_int_equal(log.n, 1);
    while (log.n < 1000)
        run_turns(loop, 1);
    for (size_t i = 1; i < log.n; i++)
        assert_true(log.at[i - 1] <= log.at[i]);
    assert_int_equal(log.at[999], 999000);
    evloop_destroy(loop);
}

static void test_periodic(void **state)
{
    (void)state;
    struct fake f;
    struct evloop *loop = fake_loop(&f, 0);
    struct log log = {.clock = &f};
    struct mark m = {&log, 'p', NULL, false};
    struct evloop_timer *t = evloop_timer_create(loop, on_timer, &m);
    assert_int_equal(evloop_timer_arm(loop, t, 100000, 100000), 0);
    run_turns(loop, 5);
    assert_int_equal(log.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(log.at[i], (int64_t)(i + 1) * 100000);
    assert_true(evloop_timer_armed(t));
    /* Three periods late: it fires once, then keeps its period from now. */
    f.now += 350000;
    run_turns(loop, 1);
    assert_int_equal(log.n, 6);
    assert_int_equal(evloop_timeout(loop, -1), 100);
    /* Re-arming restarts the count (a heartbeat pushed back). */
    f.now += 50000;
    assert_int_equal(evloop_timer_arm(loop, t, 100000, 100000), 0);
    assert_int_equal(evloop_timeout(loop, -1), 100);
    /* A periodic timer may destroy itself from its callback. */
    m.destroy_self = true;
    run_turns(loop, 1);
    assert_int_equal(log.n, 7);
    assert_int_equal(evloop_timeout(loop, -1), -1);
    evloop_destroy(loop);
}

static void test_cancel(void **state)
{
    (void)state;
    struct fake f;
    struct evloop *loop = fake_loop(&f, 0);
    struct log log = {.clock = &f};
    struct mark ma = {&log, 'a', NULL, false}, mb = {&log, 'b', NULL, false};
    struct mark mc = {&log, 'c', NULL, false}, md = {&log, 'd', NULL, false};
    struct evloop_timer *a = evloop_timer_create(loop, on_timer, &ma);
    struct evloop_timer *b = evloop_timer_create(loop, on_timer, &mb);
    struct evloop_timer *c = evloop_timer_create(loop, on_timer, &mc);
    struct evloop_timer *d = evloop_timer_create(loop, on_timer, &md);
    evloop_timer_arm(loop, a, 10000, 10000);
    evloop_timer_arm(loop, b, 20000, 0);
    evloop_timer_arm(loop, c, 30000, 0);
    evloop_timer_arm(loop, d, 30000, 0);
    /* Disarmed before it is due. */
    evloop_timer_disarm(loop, a);
    assert_false(evloop_timer_armed(a));
    /* c, due at the same moment as d, disarms d from its callback. */
    mc.other = d;
    /* b is destroyed outright. */
    evloop_timer_destroy(loop, b);
    run_turns(loop, 3);
    assert_string_equal(log.names, "c");
    assert_int_equal(evloop_timeout(loop, -1), -1);
    evloop_destroy(loop);
}

static void rearm_now(struct evloop *loop, struct evloop_timer *t, void *arg)
{
    (*(int *)arg)++;
    assert_int_equal(evloop_timer_arm(loop, t, 0, 0), 0);
}

/* A timer armed for now by a callback fires on the next turn, not in a
 * loop within this one. */
static void test_rearm_now(void **state)
{
    (void)state;
    struct fake f;
    struct evloop *loop = fake_loop(&f, 0);
    int calls = 0;
    struct evloop_timer *t = evloop_timer_create(loop, rearm_now, &calls);
    evloop_timer_arm(loop, t, 0, 0);
    assert_int_equal(evloop_run_once(loop, -1), 1);
    assert_int_equal(evloop_run_once(loop, -1), 1);
    assert_int_equal(calls, 2);
    assert_int_equal(f.timeouts[1], 0);
    evloop_destroy(loop);
}

struct pipe_watch {
    int fds[2];
    int calls;
    short revents;
    struct pipe_watch *victim; /* its watcher removed by this one */
    bool remove_self;
};

static void on_fd(struct evloop *loop, int fd, short revents, void *arg)
{
    struct pipe_watch *p = arg;
    p->calls++;
    p->revents = revents;
    char buf[64];
    if (fd == p->fds[0] && (revents & POLLIN))
        assert_true(read(fd, buf, sizeof buf) > 0);
    if (p->victim)
        assert_int_equal(evloop_fd_remove(loop, p->victim->fds[0]), 0);
    if (p->remove_self)
        assert_int_equal(evloop_fd_remove(loop, fd), 0);
}

static void open_pipe(struct pipe_watch *p)
{
    *p = (struct pipe_watch){.calls = 0};
    assert_int_equal(pipe(p->fds), 0);
}

static void close_pipe(struct pipe_watch *p)
{
    close(p->fds[0]);
    close(p->fds[1]);
}

static void test_fd_readiness(void **state)
{
    (void)state;
    struct fake f;
    struct evloop *loop = fake_loop(&f, 0);
    struct pipe_watch r1, r2, w;
    open_pipe(&r1);
    open_pipe(&r2);
    open_pipe(&w);
    assert_int_equal(evloop_fd_add(loop, r1.fds[0], EVLOOP_IN, on_fd, &r1), 0);
    assert_int_equal(evloop_fd_add(loop, r2.fds[0], EVLOOP_IN, on_fd, &r2), 0);
    assert_int_equal(evloop_fd_add(loop, r1.fds[0], EVLOOP_IN, on_fd, &r1), -1);
    assert_int_equal(errno, EEXIST);
    /* Nothing ready: no callback. */
    assert_int_equal(evloop_run_once(loop, 0), 0);
    /* Only the pipe written to. */
    assert_int_equal(write(r1.fds[1], "x", 1), 1);
    assert_int_equal(evloop_run_once(loop, 0), 1);
    assert_int_equal(r1.calls, 1);
    assert_true(r1.revents & POLLIN);
    assert_int_equal(r2.calls, 0);
    assert_int_equal(evloop_run_once(loop, 0), 0);
    /* A write end: ready for output, until it waits for nothing. */
    assert_int_equal(evloop_fd_add(loop, w.fds[1], EVLOOP_OUT, on_fd, &w), 0);
    assert_int_equal(evloop_run_once(loop, 0), 1);
    assert_true(w.revents & POLLOUT);
    assert_int_equal(evloop_fd_modify(loop, w.fds[1], 0), 0);
    assert_int_equal(evloop_run_once(loop, 0), 0);
    assert_int_equal(w.calls, 1);
    /* The other end closed: reported as a hang-up. */
    close(r2.fds[1]);
    r2.fds[1] = -1;
    assert_int_equal(evloop_run_once(loop, 0), 1);
    assert_true(r2.revents & POLLHUP);
    assert_int_equal(evloop_fd_remove(loop, r2.fds[0]), 0);
    assert_int_equal(evloop_fd_remove(loop, r2.fds[0]), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(evloop_fd_modify(loop, r2.fds[0], EVLOOP_IN), -1);
    evloop_destroy(loop);
    close_pipe(&r1);
    close_pipe(&r2);
    close_pipe(&w);
}

static void on_fd_replace(struct evloop *loop, int fd, short revents,
                          void *arg);

/* A callback removes another ready watcher and itself, closes the other's
 * pipe and watches a new one that gets the same descriptor number. */
static void test_remove_in_callback(void **state)
{
    (void)state;
    struct fake f;
    struct evloop *loop = fake_loop(&f, 0);
    struct pipe_watch a, b, c;
    open_pipe(&a);
    open_pipe(&b);
    open_pipe(&c);
    a.victim = &b;
    a.remove_self = true;
    evloop_fd_add(loop, a.fds[0], EVLOOP_IN, on_fd_replace, &a);
    evloop_fd_add(loop, b.fds[0], EVLOOP_IN, on_fd, &b);
    evloop_fd_add(loop, c.fds[0], EVLOOP_IN, on_fd, &c);
    assert_int_equal(write(a.fds[1], "x", 1), 1);
    assert_int_equal(write(b.fds[1], "x", 1), 1);
    assert_int_equal(write(c.fds[1], "x", 1), 1);
    int old_b = b.fds[0];
    /* a runs first (added first), removes b and itself, and replaces b. */
    assert_int_equal(evloop_run_once(loop, 0), 2);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 0);
    assert_int_equal(c.calls, 1);
    assert_false(evloop_fd_watched(loop, a.fds[0]));
    struct pipe_watch *made = a.victim;
    assert_int_equal(made->fds[0], old_b);
    assert_true(evloop_fd_watched(loop, old_b));
    /* The new watcher had nothing reported yet; it has now. */
    assert_int_equal(made->calls, 0);
    assert_int_equal(evloop_run_once(loop, 0), 1);
    assert_int_equal(made->calls, 1);
    evloop_destroy(loop);
    close_pipe(&a);
    close_pipe(made);
    close_pipe(&c);
}

static struct pipe_watch replacement;

static void on_fd_replace(struct evloop *loop, int fd, short revents, void *arg)
{
    struct pipe_watch *p = arg;
    on_fd(loop, fd, revents, p);
    /* b's read end is closed; a new pipe takes its number. */
    close_pipe(p->victim);
    open_pipe(&replacement);
    assert_int_equal(write(replacement.fds[1], "y", 1), 1);
    assert_int_equal(
        evloop_fd_add(loop, replacement.fds[0], EVLOOP_IN, on_fd, &replacement),
        0);
    p->victim = &replacement;
}

static int hook_calls;
static struct evloop_timer *hook_timer;

static void before_poll(struct evloop *loop, void *arg)
{
    (void)arg;
    hook_calls++;
    if (!evloop_timer_armed(hook_timer))
        evloop_timer_arm(loop, hook_timer, 7000, 0);
}

static void test_poll_timeout(void **state)
{
    (void)state;
    struct fake f;
    struct evloop *loop = fake_loop(&f, 5000000);
    struct log log = {.clock = &f};
    struct mark m = {&log, 't', NULL, false}, n = {&log, 'n', NULL, false};
    /* No timer: the cap, or forever. */
    assert_int_equal(evloop_timeout(loop, -1), -1);
    assert_int_equal(evloop_timeout(loop, 8), 8);
    struct evloop_timer *t = evloop_timer_create(loop, on_timer, &m);
    struct evloop_timer *u = evloop_timer_create(loop, on_timer, &n);
    evloop_timer_arm(loop, t, 2500, 0); /* 2.5 ms: rounded up */
    evloop_timer_arm(loop, u, 40000, 0);
    assert_int_equal(evloop_timeout(loop, -1), 3);
    assert_int_equal(evloop_timeout(loop, 1), 1);
    assert_int_equal(evloop_timeout(loop, 1000), 3);
    /* The poll itself is given the nearest deadline. */
    assert_int_equal(evloop_run_once(loop, 1000), 1);
    assert_int_equal(f.timeouts[0], 3);
    assert_string_equal(log.names, "t");
    /* Next: u, 40 ms after arming, 3 ms of which have passed. */
    assert_int_equal(evloop_run_once(loop, -1), 1);
    assert_int_equal(f.timeouts[1], 37);
    /* A cap shorter than the deadline: the poll waits the cap. */
    evloop_timer_arm(loop, t, 20000, 0);
    assert_int_equal(evloop_run_once(loop, 5), 0);
    assert_int_equal(f.timeouts[2], 5);
    /* A timer already due: no wait. */
    f.now += 100000;
    assert_int_equal(evloop_timeout(loop, -1), 0);
    assert_int_equal(evloop_run_once(loop, -1), 1);
    assert_int_equal(f.timeouts[3], 0);
    /* The before-poll hook runs first and its timer counts. */
    hook_timer = u;
    evloop_set_before_poll(loop, before_poll, NULL);
    assert_int_equal(evloop_run_once(loop, -1), 1);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(f.timeouts[4], 7);
    assert_string_equal(log.names, "tntn");
    evloop_destroy(loop);
}

/* A set follows what its owner lists: new descriptors are watched, those
 * no longer listed are dropped. */
static void test_fdset_follows(void **state)
{
    (void)state;
    struct fake f;
    struct evloop *loop = fake_loop(&f, 0);
    struct pipe_watch a, b;
    open_pipe(&a);
    open_pipe(&b);
    struct evloop_fdset set = {0};
    struct pollfd now[2] = {{.fd = a.fds[0]}, {.fd = b.fds[0]}};
    assert_int_equal(evloop_fdset_sync(loop, &set, now, 2, on_fd, &a), 0);
    assert_true(evloop_fd_watched(loop, a.fds[0]));
    assert_true(evloop_fd_watched(loop, b.fds[0]));
    assert_int_equal(write(b.fds[1], "x", 1), 1);
    assert_int_equal(evloop_run_once(loop, 0), 1);
    assert_int_equal(a.calls, 1); /* the set's callback, for b's pipe */
    /* b no longer listed: no longer watched. */
    assert_int_equal(evloop_fdset_sync(loop, &set, now, 1, on_fd, &a), 0);
    assert_true(evloop_fd_watched(loop, a.fds[0]));
    assert_false(evloop_fd_watched(loop, b.fds[0]));
    evloop_fdset_clear(loop, &set);
    assert_false(evloop_fd_watched(loop, a.fds[0]));
    evloop_destroy(loop);
    close_pipe(&a);
    close_pipe(&b);
}

/* A number two owners share in turn (one closed it, the other's new
 * descriptor got it before the first synced) ends up with the owner that
 * lists it, whichever syncs first, and the other never removes it. */
static void test_fdset_reused_number(void **state)
{
    (void)state;
    for (int first = 0; first < 2; first++) {
        struct fake f;
        struct evloop *loop = fake_loop(&f, 0);
        struct pipe_watch old, mine;
        open_pipe(&old);
        open_pipe(&mine);
        struct evloop_fdset stale = {0}, fresh = {0};
        int fd = old.fds[0];
        struct pollfd listed = {.fd = fd};
        assert_int_equal(
            evloop_fdset_sync(loop, &stale, &listed, 1, on_fd, &old), 0);
        /* The stale owner's descriptor is closed; the number now belongs
         * to the other owner (the same number, as after close and pipe). */
        if (first == 0) {
            assert_int_equal(
                evloop_fdset_sync(loop, &fresh, &listed, 1, on_fd, &mine), 0);
            assert_int_equal(
                evloop_fdset_sync(loop, &stale, NULL, 0, on_fd, &old), 0);
        } else {
            assert_int_equal(
                evloop_fdset_sync(loop, &stale, NULL, 0, on_fd, &old), 0);
            assert_int_equal(
                evloop_fdset_sync(loop, &fresh, &listed, 1, on_fd, &mine), 0);
        }
        assert_true(evloop_fd_watched(loop, fd));
        assert_int_equal(write(old.fds[1], "x", 1), 1);
        assert_int_equal(evloop_run_once(loop, 0), 1);
        assert_int_equal(mine.calls, 1);
        assert_int_equal(old.calls, 0);
        evloop_fdset_clear(loop, &stale);
        assert_true(evloop_fd_watched(loop, fd));
        evloop_fdset_clear(loop, &fresh);
        assert_false(evloop_fd_watched(loop, fd));
        evloop_destroy(loop);
        close_pipe(&old);
        close_pipe(&mine);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_order),
        cmocka_unit_test(test_many_in_order),
        cmocka_unit_test(test_periodic),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_rearm_now),
        cmocka_unit_test(test_fd_readiness),
        cmocka_unit_test(test_remove_in_callback),
        cmocka_unit_test(test_poll_timeout),
        cmocka_unit_test(test_fdset_follows),
        cmocka_unit_test(test_fdset_reused_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
