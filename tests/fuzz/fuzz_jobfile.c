/* SPDX-License-Identifier: MIT */
/* libFuzzer target: job file parsing and task access on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobfile.h"

/* Tasks looked at per input: enough to reach the tasks array's elements. */
#define TASKS_CHECKED 4

/* A parsed job must keep the promises of jobfile.h; anything else is a bug
 * the fuzzer should report as a crash. */
static void check_task(const struct taskcmd *cmd)
{
    if (cmd->argc == 0 || !cmd->argv || cmd->argv[cmd->argc] != NULL)
        abort();
    if (cmd->shell && cmd->argc != 1)
        abort();
    for (size_t i = 0; i < cmd->argc; i++)
        if (!cmd->argv[i])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mps_error err;
    struct jobspec *job = jobfile_parse((const char *)data, size, &err);
    if (!job) {
        /* One line, never empty, always terminated. */
        size_t len = strnlen(err.text, sizeof err.text);
        if (len == 0 || len == sizeof err.text)
            abort();
        return 0;
    }
    if ((job->task_file != NULL) != (job->ntasks == 0))
        abort();
    if (job->cpus < 1 || job->gpus < 0 || job->retries < 0)
        abort();
    for (uint64_t i = 0; i < job->ntasks && i < TASKS_CHECKED; i++) {
        struct taskcmd cmd;
        if (jobspec_task(job, i, &cmd, &err) < 0)
            abort();
        check_task(&cmd);
        taskcmd_free(&cmd);
    }
    /* Past the end is an error, not a read out of bounds. */
    struct taskcmd cmd;
    if (jobspec_task(job, job->ntasks, &cmd, &err) == 0)
        abort();
    jobspec_destroy(job);
    return 0;
}
