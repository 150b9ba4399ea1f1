/* SPDX-License-Identifier: MIT */
/* What rank 0 knows of each rank: hello and bye, drain, the owner of an idle
 * desktop. */
#include "ranks.h"

#include "idlepolicy.h"
#include "runopts.h"
#include "requests.h"
#include "util.h"

void check_drain(struct coordinator *co, int r)
{
    struct rank_slot *rs = &co->ranks[r];
    /* mpispool drain HOST (SPOOL/drain/HOST, made by root or the spool's
     * administrator): the ranks on HOST get no new tasks, their running
     * ones finish, until it is removed. */
    bool drained = rs->hello && co->requests &&
                   requests_host_drained(co->requests, rs->host);
    if (drained == rs->draining)
        return;
    rs->draining = drained;
    co->status_dirty = true;
    logmsg("rank %d on %s: %s", rs->rank, rs->host,
           drained ? "draining (no new tasks)" : "no longer draining");
}

void scan_drain(struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++)
        check_drain(co, r);
}

void note_owner(struct coordinator *co, int r, bool active, uint8_t reason,
                int64_t since_us)
{
    struct rank_slot *rs = &co->ranks[r];
    if (active != rs->owner_active)
        co->status_dirty = true;
    rs->owner_active = active;
    rs->owner_reason = active ? reason : 0;
    rs->owner_since_us = active ? since_us : 0;
}

const char *rank_state(const struct rank_slot *rs)
{
    if (rs->bye)
        return "gone";
    if (!rs->hello)
        return "starting";
    if (rs->owner_active)
        return "owner-active";
    if (rs->draining)
        return "draining";
    return rs->busy ? "busy" : "idle";
}

bool all_ranks_said_hello(const struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++)
        if (!co->ranks[r].hello)
            return false;
    return true;
}

bool all_ranks_said_bye(const struct coordinator *co)
{
    for (int r = 0; r < co->nranks; r++)
        if (!co->ranks[r].bye)
            return false;
    return true;
}
