/* SPDX-License-Identifier: MIT */
/* mpispool status: the status model, as text or JSON, once or --watch. */
#include "commands.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "spool.h"
#include "statusmodel.h"
#include "util.h"
#include "watch.h"

/* ------------------------------------------------------------ status */

static const char status_usage[] =
    "Usage: mpispool status [--json | --watch [SECONDS] [--until-idle]]\n"
    "\n"
    "Show what the spool's coordinators report (SPOOL/status/*.json): for\n"
    "each coordinator its host, state, busy and total slots and the time of\n"
    "its last update (\"(stale)\" when it is over 10 s old and the\n"
    "coordinator has not stopped: it may have died), a table of its worker\n"
    "ranks and a table of the jobs it has claimed (state, tasks and their\n"
    "outcomes so far, priority), with a line for each job that waits (what\n"
    "for) or that fail_fast is stopping (why). Then the number of job files\n"
    "in new/ (waiting to be claimed; \"?\" when you may not list it), cur/,\n"
    "done/, failed/ and rejected/, and the hosts drained with\n"
    "'mpispool drain'.\n"
    "\n"
    "With mpispool-run --idle-policy, a rank whose PC's owner is using it\n"
    "shows the state owner-active (it gets no tasks), with a line saying\n"
    "since when and why.\n"
    "\n"
    "Options:\n"
    "      --json            print one JSON object instead: {\"coordinators\": "
    "[the\n"
    "                        status files], \"spool\": {\"path\": ..., "
    "\"new\": N, ...,\n"
    "                        \"drained\": [HOST...]}} (a count, or drained, is "
    "null\n"
    "                        when the directory cannot be listed)\n"
    "      --watch [SECONDS] show it again every SECONDS (2) until "
    "interrupted,\n"
    "                        with a progress bar of the claimed jobs' tasks "
    "(done,\n"
    "                        failed, running, tasks/s, ETA); redrawn in place "
    "on a\n"
    "                        terminal, else printed again each time\n"
    "      --until-idle      with --watch: stop once no job is queued or "
    "running\n"
    "      --spool DIR       the spool (default: $MPISPOOL_SPOOL)\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: 0 shown, 1 the spool cannot be read, 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  mpispool status\n"
    "  mpispool status --json | jq '.coordinators[].slots'\n"
    "  mpispool status --watch 5\n";

int cmd_status(int argc, char **argv, const char *spool)
{
    struct cli_cmdline cl;
    bool as_json = false;
    struct cli_more more = {.allow = CLI_MORE_WATCH};
    int rc = cli_parse_json_options(&cl, "status", status_usage, argc, argv,
                                    spool, &as_json, &more);
    if (rc >= 0)
        return rc;
    struct spool *sp = NULL;
    struct status_model model = {0};
    if (more.watch || more.until_idle) {
        rc = as_json
                 ? cli_usage_error("status", "--watch shows text, not --json")
                 : status_watch(&cl, &more);
        goto out;
    }
    if (cl.noperands > 0) {
        rc = cli_usage_error("status", "unexpected argument '%s'",
                             cl.operands[0]);
        goto out;
    }
    if ((rc = cli_open_spool(&cl, &sp)) != 0)
        goto out;
    rc = 1;
    if (status_model_load(sp, &model) < 0) {
        cli_error("out of memory");
        goto out;
    }
    if (as_json) {
        char *text = status_render_json(&model);
        if (!text) {
            cli_error("out of memory");
            goto out;
        }
        puts(text);
        free(text);
    } else {
        status_render_text(&model, util_now_us(), stdout);
    }
    rc = 0;
out:
    status_model_free(&model);
    spool_close(sp);
    cli_cmdline_free(&cl);
    return rc;
}
