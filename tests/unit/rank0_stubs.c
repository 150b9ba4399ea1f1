/* SPDX-License-Identifier: MIT */
/* What the mpispool-rank0 library takes from mpispool-run's main.c and
 * worker.c (for its local backend, which unit tests never create): stubs
 * that stop the test if they are ever called. */
#include <stdlib.h>

#include "codec.h"
#include "options.h"

struct wire_result worker_result_message(uint64_t dispatch,
                                         const struct exec_result *res)
{
    (void)dispatch, (void)res;
    abort();
}

void run_place_tasks(struct executor *ex, const struct run_options *opt,
                     const struct rank_env *re)
{
    (void)ex, (void)opt, (void)re;
    abort();
}

bool run_idle_check(const struct idle_policy *p, struct idle_monitor *m,
                    struct executor *ex, int rank, const char *host,
                    double grace_s, void (*announce)(void *), void *arg)
{
    (void)p, (void)m, (void)ex, (void)rank, (void)host, (void)grace_s,
        (void)announce, (void)arg;
    abort();
}
