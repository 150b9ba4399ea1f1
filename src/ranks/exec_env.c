/* SPDX-License-Identifier: MIT */
/* A task's environment: the base, the task's env, login variables for a
 * task that runs as a user, then the MPISPOOL_* variables. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor_int.h"
#include "util.h"

extern char **environ;

/* Names of variables that belong to the MPI job of mpispool-run itself: a
 * task that runs mpirun must not think it is already inside one. */
static bool is_launcher_var(const char *kv)
{
    static const char *const prefixes[] = {"OMPI_", "PMIX_",  "PRTE_",
                                           "OPAL_", "HYDRA_", "PMI_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static size_t key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* Set kv in the environment array *envp of *n entries (capacity *cap). */
static int env_put(char ***envp, size_t *n, size_t *cap, const char *kv)
{
    size_t klen = key_len(kv);
    for (size_t i = 0; i < *n; i++) {
        if (key_len((*envp)[i]) == klen && strncmp((*envp)[i], kv, klen) == 0) {
            char *copy = strdup(kv);
            if (!copy)
                return -1;
            free((*envp)[i]);
            (*envp)[i] = copy;
            return 0;
        }
    }
    if (*n + 1 >= *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 64;
        char **grown = realloc(*envp, grown_cap * sizeof *grown);
        if (!grown)
            return -1;
        *envp = grown;
        *cap = grown_cap;
    }
    char *copy = strdup(kv);
    if (!copy)
        return -1;
    (*envp)[(*n)++] = copy;
    (*envp)[*n] = NULL;
    return 0;
}

/* The login variables of a task that runs as a user and brought no
 * environment of its own: from the password entry on this node, with a
 * plain PATH, where its env does not set them. */
static int put_login_env(const struct xtask *t, char ***envp, size_t *n,
                         size_t *cap)
{
    char buf[16384], kv[4200];
    struct passwd pw, *found = NULL;
    if (getpwuid_r((uid_t)t->a.uid, &pw, buf, sizeof buf, &found) != 0)
        found = NULL;
    const char *keys[] = {"PATH", "HOME", "USER", "LOGNAME", "SHELL"};
    const char *values[] = {
        "/usr/local/bin:/usr/bin:/bin", found ? found->pw_dir : NULL,
        found ? found->pw_name : NULL, found ? found->pw_name : NULL,
        found && found->pw_shell && *found->pw_shell ? found->pw_shell : NULL};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        bool given = false;
        for (char **e = *envp; e && *e; e++)
            if (strncmp(*e, keys[i], strlen(keys[i])) == 0 &&
                (*e)[strlen(keys[i])] == '=')
                given = true;
        if (given || !values[i])
            continue;
        snprintf(kv, sizeof kv, "%s=%s", keys[i], values[i]);
        if (env_put(envp, n, cap, kv) < 0)
            return -1;
    }
    return 0;
}

/* MPISPOOL_TASK_ID (from 0), MPISPOOL_TASK_SEQ (from 1), and where known
 * MPISPOOL_TASK_COUNT and MPISPOOL_TASK_LINE. */
static int put_task_numbers(const struct xtask *t, char ***envp, size_t *n,
                            size_t *cap)
{
    const char *keys[] = {"MPISPOOL_TASK_ID", "MPISPOOL_TASK_SEQ",
                          "MPISPOOL_TASK_COUNT", "MPISPOOL_TASK_LINE"};
    uint64_t values[] = {t->a.task, t->a.task + 1, t->a.ntasks, t->a.line};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char kv[64];
        if (i >= 2 && values[i] == 0)
            continue;
        snprintf(kv, sizeof kv, "%s=%llu", keys[i],
                 (unsigned long long)values[i]);
        if (env_put(envp, n, cap, kv) < 0)
            return -1;
    }
    return 0;
}

char **exec_build_env(const struct xtask *t)
{
    char **envp = NULL;
    size_t n = 0, cap = 0;
    char kv[128];
    if (t->a.inherit && !t->a.as_user) {
        for (char **e = environ; *e; e++)
            if (!is_launcher_var(*e) && env_put(&envp, &n, &cap, *e) < 0)
                goto error;
    }
    for (char **e = t->a.env; e && *e; e++)
        if (env_put(&envp, &n, &cap, *e) < 0)
            goto error;
    if (t->a.inherit && t->a.as_user && put_login_env(t, &envp, &n, &cap) < 0)
        goto error;
    snprintf(kv, sizeof kv, "MPISPOOL_JOB_ID=%s", t->a.job);
    if (env_put(&envp, &n, &cap, kv) < 0)
        goto error;
    if (put_task_numbers(t, &envp, &n, &cap) < 0)
        goto error;
    snprintf(kv, sizeof kv, "MPISPOOL_ATTEMPT=%u", t->a.attempt);
    if (env_put(&envp, &n, &cap, kv) < 0)
        goto error;
    snprintf(kv, sizeof kv, "MPISPOOL_ATTEMPT_TOKEN=%s", t->token);
    if (env_put(&envp, &n, &cap, kv) < 0)
        goto error;
    if (t->holds_gpus) {
        char kv_gpu[160];
        snprintf(kv_gpu, sizeof kv_gpu, "CUDA_VISIBLE_DEVICES=%s", t->gpu_cuda);
        if (t->gpu_cuda[0] && env_put(&envp, &n, &cap, kv_gpu) < 0)
            goto error;
        snprintf(kv_gpu, sizeof kv_gpu, "ROCR_VISIBLE_DEVICES=%s", t->gpu_rocr);
        if (t->gpu_rocr[0] && env_put(&envp, &n, &cap, kv_gpu) < 0)
            goto error;
    }
    if (t->private_dir) {
        char *workdir;
        if (asprintf(&workdir, "MPISPOOL_WORKDIR=%s", t->private_dir) < 0)
            goto error;
        int rc = env_put(&envp, &n, &cap, workdir);
        free(workdir);
        if (rc < 0)
            goto error;
    }
    if (t->cores) {
        char *cpus;
        if (asprintf(&cpus, "MPISPOOL_CPUS=%s", t->cores) < 0)
            goto error;
        int rc = env_put(&envp, &n, &cap, cpus);
        free(cpus);
        if (rc < 0)
            goto error;
    }
    if (!envp && env_put(&envp, &n, &cap, "MPISPOOL=1") < 0)
        goto error;
    return envp;
error:
    util_strv_free(envp);
    return NULL;
}

const char *exec_env_get(char *const *envp, const char *key)
{
    size_t klen = strlen(key);
    for (; envp && *envp; envp++)
        if (strncmp(*envp, key, klen) == 0 && (*envp)[klen] == '=')
            return *envp + klen + 1;
    return NULL;
}
