/* SPDX-License-Identifier: MIT */
/* An executor on an event loop: its pipes watched as it lists them, its
 * next deadline (a task's timeout, kill grace) as a timer. Used by the
 * worker rank and by rank 0's local backend. */
#ifndef MPISPOOL_EXEC_WATCH_H
#define MPISPOOL_EXEC_WATCH_H

struct evloop;
struct executor;
struct exec_watch;

/* NULL when out of memory. ex and loop are borrowed. */
struct exec_watch *exec_watch_create(struct evloop *loop, struct executor *ex);

/* Call before each poll (from the loop's before-poll hook): the pipes
 * watched become those the executor lists now, and the deadline timer is
 * armed for its next deadline. */
void exec_watch_before_poll(struct exec_watch *w);

/* Stop watching (the executor stays). NULL: nothing. */
void exec_watch_destroy(struct exec_watch *w);

#endif
