/* SPDX-License-Identifier: MIT */
/* One task attempt and its outcome: the one description rank 0 makes from
 * the job file, the wire carries (codec.h encodes it byte for byte as
 * TASK and RESULT), and a node's executor runs and fills in. No MPI, no
 * executor. */
#ifndef MPISPOOL_ATTEMPT_H
#define MPISPOOL_ATTEMPT_H

#include <stdbool.h>
#include <stdint.h>

#include "jobfile.h"
#include "record.h"

/* What an attempt is. Who owns the strings and arrays depends on who made
 * it: rank 0 lends its job's, a decoded message owns them, attempt_copy
 * makes an owned copy (attempt_clear frees one). */
struct attempt {
    uint64_t dispatch; /* coordinator's id for this attempt */
    char *job;
    uint64_t task;
    uint32_t attempt;
    uint32_t cpus;
    uint64_t memory; /* bytes, 0 = no limit */
    uint32_t gpus;
    double timeout; /* seconds, 0 = none */
    bool shell;     /* argv[0] is a string for the interpreter's -c */
    bool inherit;   /* start from the worker's environment */
    bool archive;   /* extract the job's archive (sent before) first */
    uint32_t argc;
    char **argv;      /* NULL-terminated */
    char *cwd;        /* explicit cwd, or NULL */
    char *submit_dir; /* default cwd when it exists, or NULL */
    uint32_t envc;
    char **env;       /* "K=V", NULL-terminated; applied over the base */
    bool as_user;     /* switch to uid, gid and groups before exec */
    uint32_t uid;     /* with as_user: the job file's owner */
    uint32_t gid;     /* with as_user: the owner's primary group */
    uint32_t ngroups; /* with as_user: supplementary groups (0 without) */
    uint32_t *groups; /* ngroups gids, or NULL */
    /* A job with "steps": run these one after another (argv above is the
     * first); 0 and NULL otherwise. The next step starts when one ended
     * and succeeded (or with continue_on_error in any case, unless the
     * attempt was cancelled, interrupted or timed out). */
    uint32_t nsteps;
    struct taskcmd *steps;
    bool continue_on_error;
    char *interpreter; /* runs shell commands ("interpreter"); NULL: /bin/sh */
    uint64_t ntasks;   /* the job's number of tasks (MPISPOOL_TASK_COUNT) */
    uint64_t line;     /* the task file line that made it; 0: none */
};

/* How an attempt ended. */
struct attempt_result {
    uint64_t dispatch;
    int64_t start_us;
    int64_t end_us;
    int32_t exit_code; /* -1: none */
    int32_t signal;    /* 0: none */
    bool timed_out;
    bool interrupted; /* ended (or refused) because its rank's owner came
                         back (--idle-policy), or dropped by
                         executor_interrupt: run it again */
    char *error;      /* NULL or one line */
    char *cores;      /* NULL or a core list */
    char *gpus;       /* NULL or the GPUs it was given (as in
                         CUDA/ROCR_VISIBLE_DEVICES) */
    int64_t max_rss_kb;
    double user_s;
    double system_s;
    uint64_t stdout_bytes;
    uint64_t stderr_bytes;
    /* A task with steps: those that ran, else 0 and NULL. exit_code and
     * signal above are those of the first step that failed, else of the
     * last step; error is the first failed step's error. */
    uint32_t nsteps;
    struct step_record *steps;
};

/* Make dst an owned deep copy of src. Returns 0, or -1 (ENOMEM) with dst
 * cleared. */
int attempt_copy(struct attempt *dst, const struct attempt *src);

/* Free what an owned attempt holds, and zero it. */
void attempt_clear(struct attempt *a);

/* Make dst an owned deep copy of src. A string or the steps that cannot be
 * copied (out of memory) become NULL (the steps 0) and -1 is returned;
 * dst is usable either way. */
int attempt_result_copy(struct attempt_result *dst,
                        const struct attempt_result *src);

/* Free what an owned result holds, and zero it. */
void attempt_result_clear(struct attempt_result *r);

#endif
