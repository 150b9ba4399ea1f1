/* SPDX-License-Identifier: MIT */
/* Job files: parse and validate one job (JSON) into a jobspec. */
#include "jobfile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outpattern.h"
#include "util.h"

/* The keys a job file may have, in the order messages name them. */
static const char *const known_keys[] = {
    "name",
    "command",
    "shell",
    "tasks",
    "task_file",
    "cwd",
    "env",
    "cpus",
    "gpus",
    "memory",
    "timeout",
    "retries",
    "retry_backoff",
    "priority",
    "after",
    "after_any",
    "archive",
    "stdout",
    "stderr",
    "submit_dir",
    "submit_env",
    "submit_host",
    "submit_time",
    "resumed_from",
    "steps",
    "continue_on_error",
    "submit_umask",
    "after_notok",
    "fail_fast",
    "interpreter",
    "task_file_name",
};
static const char *const command_keys[] = {"command", "shell", "tasks",
                                           "task_file", "steps"};

#define ARRAY_LEN(a) (sizeof(a) / sizeof *(a))

void taskcmd_free(struct taskcmd *cmd)
{
    if (!cmd || !cmd->argv)
        return;
    for (size_t i = 0; cmd->argv[i]; i++)
        free(cmd->argv[i]);
    free(cmd->argv);
    cmd->argv = NULL;
    cmd->argc = 0;
}

void jobspec_destroy(struct jobspec *job)
{
    if (!job)
        return;
    free(job->name);
    free(job->task_file);
    free(job->cwd);
    util_strv_free(job->env);
    util_strv_free(job->after);
    util_strv_free(job->after_any);
    util_strv_free(job->after_notok);
    free(job->archive);
    free(job->stdout_path);
    free(job->stderr_path);
    free(job->submit_dir);
    util_strv_free(job->submit_env);
    free(job->submit_host);
    free(job->submit_time);
    free(job->interpreter);
    free(job->task_file_name);
    free(job->file_tasks);
    for (size_t i = 0; i < job->nsteps; i++)
        taskcmd_free(&job->steps[i]);
    free(job->steps);
    json_decref(job->internal);
    free(job);
}

bool jobfile_valid_id(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int copy_argv(json_t *v, struct taskcmd *out, struct mps_error *err);

static bool is_argv(json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return false;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return false;
    }
    return json_string_length(json_array_get(v, 0)) > 0;
}

static bool is_nonempty_string(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

/* Optional string key: absent is fine, present must be non-empty. */
static int get_string(json_t *root, const char *key, char **out,
                      struct mps_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!is_nonempty_string(v))
        return errprintf(err, "'%s' must be a non-empty string", key);
    if (!(*out = strdup(json_string_value(v))))
        return errprintf(err, "out of memory");
    return 0;
}

static int get_path(json_t *root, const char *key, char **out,
                    struct mps_error *err)
{
    if (get_string(root, key, out, err) < 0)
        return -1;
    if (*out && (*out)[0] != '/')
        return errprintf(err, "'%s' must be an absolute path", key);
    return 0;
}

static int get_int(json_t *root, const char *key, int lo, int hi, int *out,
                   struct mps_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return errprintf(err, "'%s' must be an integer from %d to %d", key, lo,
                         hi);
    *out = (int)json_integer_value(v);
    return 0;
}

static int get_seconds(json_t *root, const char *key, double lo, double hi,
                       bool lo_open, double *out, struct mps_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    double x = json_is_number(v) ? json_number_value(v) : -1;
    if (!json_is_number(v) || x < lo || (lo_open && x <= lo) || x > hi)
        return errprintf(err, "'%s' must be a number of seconds %s %g to %g",
                         key, lo_open ? "above" : "from", lo, hi);
    *out = x;
    return 0;
}

/* Optional boolean key: absent is false. */
static int get_bool(json_t *root, const char *key, bool *out,
                    struct mps_error *err)
{
    json_t *v = json_object_get(root, key);
    if (v && !json_is_boolean(v))
        return errprintf(err, "'%s' must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

static bool valid_env_name(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static int get_env(json_t *root, const char *key, char ***out,
                   struct mps_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_object(v))
        return errprintf(err, "'%s' must be an object of strings", key);
    char **env = calloc(json_object_size(v) + 1, sizeof *env);
    if (!env)
        return errprintf(err, "out of memory");
    size_t n = 0;
    const char *name;
    json_t *value;
    json_object_foreach(v, name, value)
    {
        if (!valid_env_name(name)) {
            util_strv_free(env);
            return errprintf(err, "'%s' key '%s' is not a valid variable name",
                             key, name);
        }
        if (!json_is_string(value)) {
            util_strv_free(env);
            return errprintf(err, "'%s' value of '%s' must be a string", key,
                             name);
        }
        if (asprintf(&env[n], "%s=%s", name, json_string_value(value)) < 0) {
            env[n] = NULL;
            util_strv_free(env);
            return errprintf(err, "out of memory");
        }
        n++;
    }
    *out = env;
    return 0;
}

static int get_ids(json_t *root, const char *key, char ***out,
                   struct mps_error *err)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_array(v))
        return errprintf(err, "'%s' must be an array of job ids", key);
    char **ids = calloc(json_array_size(v) + 1, sizeof *ids);
    if (!ids)
        return errprintf(err, "out of memory");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || !jobfile_valid_id(json_string_value(e))) {
            util_strv_free(ids);
            return errprintf(err, "'%s[%zu]' is not a valid job id", key, i);
        }
        if (!(ids[i] = strdup(json_string_value(e)))) {
            util_strv_free(ids);
            return errprintf(err, "out of memory");
        }
    }
    *out = ids;
    return 0;
}

/* A command's sizes: a shell string of at most JOBFILE_MAX_COMMAND bytes,
 * arguments of at most JOBFILE_MAX_ARG. name says which ("tasks[3]"). */
static int check_size(json_t *v, const char *name, struct mps_error *err)
{
    if (json_is_string(v)) {
        if (json_string_length(v) > JOBFILE_MAX_COMMAND)
            return errprintf(err, "'%s' is longer than %d bytes", name,
                             JOBFILE_MAX_COMMAND);
        return 0;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (json_string_length(e) > JOBFILE_MAX_ARG)
            return errprintf(err,
                             "'%s[%zu]' is %zu bytes long: Linux runs no "
                             "program with an argument longer than %d bytes "
                             "(pass such data in a file)",
                             name, i, json_string_length(e), JOBFILE_MAX_ARG);
    }
    return 0;
}

/* check_size of each element of a "tasks" or "steps" array. */
static int check_sizes(json_t *v, const char *key, struct mps_error *err)
{
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        char name[64];
        snprintf(name, sizeof name, "%s[%zu]", key, i);
        if (check_size(e, name, err) < 0)
            return -1;
    }
    return 0;
}

static int check_keys(json_t *root, struct mps_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        bool known = false;
        for (size_t i = 0; i < ARRAY_LEN(known_keys) && !known; i++)
            known = strcmp(key, known_keys[i]) == 0;
        if (known)
            continue;
        return errprintf(err, "unknown key '%s'", key);
    }
    return 0;
}

static int check_commands(json_t *root, struct jobspec *job,
                          struct mps_error *err)
{
    const char *given = NULL;
    for (size_t i = 0; i < ARRAY_LEN(command_keys); i++) {
        if (!json_object_get(root, command_keys[i]))
            continue;
        if (given)
            return errprintf(err, "'%s' and '%s' cannot be used together",
                             given, command_keys[i]);
        given = command_keys[i];
    }
    if (!given)
        return errprintf(err, "no command: give one of 'command', 'shell', "
                              "'tasks', 'task_file' or 'steps'");
    json_t *v = json_object_get(root, given);
    if (strcmp(given, "command") == 0) {
        if (!is_argv(v))
            return errprintf(err, "'command' must be a non-empty array of "
                                  "strings");
        if (check_size(v, "command", err) < 0)
            return -1;
        job->ntasks = 1;
    } else if (strcmp(given, "shell") == 0) {
        if (!is_nonempty_string(v))
            return errprintf(err, "'shell' must be a non-empty string");
        if (check_size(v, "shell", err) < 0)
            return -1;
        job->ntasks = 1;
    } else if (strcmp(given, "tasks") == 0) {
        if (!json_is_array(v) || json_array_size(v) == 0)
            return errprintf(err, "'tasks' must be a non-empty array");
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!is_nonempty_string(e) && !is_argv(e))
                return errprintf(err,
                                 "'tasks[%zu]' must be a shell string "
                                 "or a non-empty array of strings",
                                 i);
        }
        if (check_sizes(v, "tasks", err) < 0)
            return -1;
        job->ntasks = json_array_size(v);
    } else if (strcmp(given, "steps") == 0) {
        if (!json_is_array(v) || json_array_size(v) == 0 ||
            json_array_size(v) > JOBFILE_MAX_STEPS)
            return errprintf(err,
                             "'steps' must be an array of 1 to %d "
                             "commands",
                             JOBFILE_MAX_STEPS);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!is_nonempty_string(e) && !is_argv(e))
                return errprintf(err,
                                 "'steps[%zu]' must be a shell string "
                                 "or a non-empty array of strings",
                                 i);
        }
        if (check_sizes(v, "steps", err) < 0)
            return -1;
        if (!(job->steps = calloc(json_array_size(v), sizeof *job->steps)))
            return errprintf(err, "out of memory");
        json_array_foreach(v, i, e)
        {
            if (copy_argv(e, &job->steps[i], err) < 0)
                return -1;
            job->nsteps = i + 1;
        }
        job->ntasks = 1;
    } else {
        if (get_string(root, "task_file", &job->task_file, err) < 0)
            return -1;
        job->ntasks = 0;
    }
    json_t *coe = json_object_get(root, "continue_on_error");
    if (coe && !json_is_boolean(coe))
        return errprintf(err, "'continue_on_error' must be true or false");
    if (coe && !job->steps)
        return errprintf(err, "'continue_on_error' needs 'steps'");
    job->continue_on_error = json_is_true(coe);
    return 0;
}

static int check_name(json_t *root, struct jobspec *job, struct mps_error *err)
{
    json_t *v = json_object_get(root, "name");
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    bool ok = s && n >= 1 && n <= 256;
    for (size_t i = 0; ok && i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            ok = false;
    if (!ok)
        return errprintf(err, "'name' must be a string of 1 to 256 printable "
                              "characters");
    if (!(job->name = strdup(s)))
        return errprintf(err, "out of memory");
    return 0;
}

/* "interpreter": one program, named or by its absolute path. */
static int check_interpreter(json_t *root, struct jobspec *job,
                             struct mps_error *err)
{
    if (get_string(root, "interpreter", &job->interpreter, err) < 0)
        return -1;
    const char *s = job->interpreter;
    if (s && (strlen(s) >= 4096 || strpbrk(s, " \t\n\r\f\v") ||
              (strchr(s, '/') && s[0] != '/')))
        return errprintf(err, "'interpreter' must be one program: a name "
                              "looked up in PATH or an absolute path, "
                              "without arguments");
    return 0;
}

static int check_memory(json_t *root, struct jobspec *job,
                        struct mps_error *err)
{
    json_t *v = json_object_get(root, "memory");
    if (!v)
        return 0;
    uint64_t bytes = 0;
    if (json_is_integer(v) && json_integer_value(v) > 0)
        bytes = (uint64_t)json_integer_value(v);
    else if (json_is_string(v) &&
             util_parse_size(json_string_value(v), &bytes) < 0)
        bytes = 0;
    if (bytes == 0)
        return errprintf(err, "'memory' must be a size such as \"512M\" or "
                              "\"8G\"");
    job->memory = bytes;
    return 0;
}

/* Whether v is a non-empty array of task numbers in increasing order. */
static bool increasing_numbers(json_t *v)
{
    bool ok = json_is_array(v) && json_array_size(v) > 0;
    json_int_t previous = -1;
    size_t i;
    json_t *member;
    json_array_foreach(v, i, member)
    {
        if (!ok)
            break;
        ok = json_is_integer(member) && json_integer_value(member) > previous;
        previous = json_integer_value(member);
    }
    return ok;
}

/* "resumed_from.file_tasks" (a disBatch task file kept whole): which of
 * the file's tasks run, one per entry of "tasks". */
static int get_file_tasks(json_t *from, struct jobspec *job,
                          struct mps_error *err)
{
    json_t *files = json_object_get(from, "file_tasks");
    if (!files)
        return 0;
    size_t n = json_array_size(files);
    if (!job->task_file || !increasing_numbers(files) ||
        n != json_array_size(json_object_get(from, "tasks")))
        return errprintf(err, "'resumed_from.file_tasks' must be an array "
                              "of task numbers in increasing order, one "
                              "per entry of 'resumed_from.tasks', with "
                              "'task_file'");
    if (!(job->file_tasks = calloc(n, sizeof *job->file_tasks)))
        return errprintf(err, "out of memory");
    for (size_t i = 0; i < n; i++)
        job->file_tasks[i] =
            (uint64_t)json_integer_value(json_array_get(files, i));
    job->nfile_tasks = n;
    return 0;
}

/* "resumed_from": {"job": ID, "tasks": [N, ...]}, written by `mpispool
 * submit --resume-failed`: task i of this job is task tasks[i] of job ID.
 * Task numbers increase strictly; with command, shell or tasks there is one
 * per task (a task file is not read here). */
static int check_resumed_from(json_t *root, struct jobspec *job,
                              struct mps_error *err)
{
    json_t *v = json_object_get(root, "resumed_from");
    if (!v)
        return 0;
    if (!json_is_object(v))
        return errprintf(err, "'resumed_from' must be an object "
                              "{\"job\": ID, \"tasks\": [N, ...]}");
    const char *key;
    json_t *member;
    json_object_foreach(v, key, member)
    {
        if (strcmp(key, "job") != 0 && strcmp(key, "tasks") != 0 &&
            strcmp(key, "file_tasks") != 0)
            return errprintf(err, "unknown key 'resumed_from.%s'", key);
    }
    json_t *id = json_object_get(v, "job");
    if (!json_is_string(id) || !jobfile_valid_id(json_string_value(id)))
        return errprintf(err, "'resumed_from.job' must be a job id");
    json_t *tasks = json_object_get(v, "tasks");
    if (!increasing_numbers(tasks))
        return errprintf(err, "'resumed_from.tasks' must be a non-empty "
                              "array of task numbers in increasing order");
    if (!job->task_file && json_array_size(tasks) != job->ntasks)
        return errprintf(err,
                         "'resumed_from.tasks' has %zu entries for %llu "
                         "tasks",
                         json_array_size(tasks),
                         (unsigned long long)job->ntasks);
    return get_file_tasks(v, job, err);
}

/* "stdout"/"stderr": patterns (outpattern.h) of files that get a copy of
 * each task's output, relative to cwd or submit_dir; a job of several
 * tasks must number them (a task file's count is checked where it is
 * read). "submit_umask": the submitter's umask, for those files. */
static int check_outputs(json_t *root, struct jobspec *job,
                         struct mps_error *err)
{
    const char *keys[] = {"stdout", "stderr"};
    char **values[] = {&job->stdout_path, &job->stderr_path};
    for (int i = 0; i < 2; i++) {
        if (get_string(root, keys[i], values[i], err) < 0)
            return -1;
        const char *pattern = *values[i];
        if (!pattern)
            continue;
        if (outpattern_check(keys[i], pattern, err) < 0 ||
            outpattern_check_tasks(keys[i], pattern, job->ntasks, err) < 0)
            return -1;
        if (outpattern_uses(pattern, 'x') && !job->name)
            return errprintf(err, "'%s' uses %%x but the job has no 'name'",
                             keys[i]);
        if (pattern[0] != '/' && !job->cwd && !job->submit_dir)
            return errprintf(err,
                             "'%s' is a relative path ('%s') but the job has "
                             "no 'cwd' or 'submit_dir'",
                             keys[i], pattern);
    }
    job->submit_umask = 022;
    json_t *v = json_object_get(root, "submit_umask");
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 4 || strspn(s, "01234567") != n ||
        strtoul(s, NULL, 8) > 0777)
        return errprintf(err, "'submit_umask' must be an octal umask such as "
                              "\"022\"");
    job->submit_umask = (unsigned)strtoul(s, NULL, 8);
    return 0;
}

struct jobspec *jobfile_parse(const char *text, size_t len,
                              struct mps_error *err)
{
    if (memchr(text, '\0', len)) {
        errprintf(err, "job file contains a NUL byte");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson names its own flag here; say what is wrong instead. */
        const char *why = json_error_code(&jerr) == json_error_null_character
                              ? "a string contains \\u0000 (NUL)"
                              : jerr.text;
        errprintf(err, "invalid JSON at line %d, column %d: %s", jerr.line,
                  jerr.column, why);
        return NULL;
    }
    struct jobspec *job = calloc(1, sizeof *job);
    if (!job) {
        json_decref(root);
        errprintf(err, "out of memory");
        return NULL;
    }
    job->internal = root;
    job->cpus = 1;
    job->retry_backoff = 10;
    job->submit_umask = 022;
    if (!json_is_object(root)) {
        errprintf(err, "a job file must be a JSON object");
        goto error;
    }
    if (check_keys(root, err) < 0 || check_commands(root, job, err) < 0 ||
        check_name(root, job, err) < 0 ||
        get_path(root, "cwd", &job->cwd, err) < 0 ||
        get_env(root, "env", &job->env, err) < 0 ||
        get_int(root, "cpus", 1, 4096, &job->cpus, err) < 0 ||
        get_int(root, "gpus", 0, 64, &job->gpus, err) < 0 ||
        check_memory(root, job, err) < 0 ||
        get_seconds(root, "timeout", 0, 31536000, true, &job->timeout, err) <
            0 ||
        get_int(root, "retries", 0, 100, &job->retries, err) < 0 ||
        get_seconds(root, "retry_backoff", 0, 86400, false, &job->retry_backoff,
                    err) < 0 ||
        get_int(root, "priority", -1000000, 1000000, &job->priority, err) < 0 ||
        get_ids(root, "after", &job->after, err) < 0 ||
        get_ids(root, "after_any", &job->after_any, err) < 0 ||
        get_ids(root, "after_notok", &job->after_notok, err) < 0 ||
        get_bool(root, "fail_fast", &job->fail_fast, err) < 0 ||
        get_string(root, "archive", &job->archive, err) < 0 ||
        get_path(root, "submit_dir", &job->submit_dir, err) < 0 ||
        get_env(root, "submit_env", &job->submit_env, err) < 0 ||
        get_string(root, "submit_host", &job->submit_host, err) < 0 ||
        get_string(root, "submit_time", &job->submit_time, err) < 0 ||
        get_string(root, "task_file_name", &job->task_file_name, err) < 0 ||
        check_interpreter(root, job, err) < 0)
        goto error;
    if (check_resumed_from(root, job, err) < 0 ||
        check_outputs(root, job, err) < 0)
        goto error;
    return job;
error:
    jobspec_destroy(job);
    return NULL;
}

struct jobspec *jobfile_load(const char *path, struct mps_error *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ELOOP)
            errprintf(err, "job file is a symbolic link");
        else
            errprintf(err, "cannot open job file: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        errprintf(err, "job file is not a regular file");
        close(fd);
        return NULL;
    }
    if (st.st_size > JOBFILE_MAX_BYTES) {
        errprintf(err, "job file is larger than 16 MiB");
        close(fd);
        return NULL;
    }
    char *text = malloc((size_t)st.st_size + 1);
    ssize_t got = text ? util_read_all(fd, text, (size_t)st.st_size) : -1;
    int saved = errno;
    close(fd);
    if (got < 0) {
        errprintf(err, "cannot read job file: %s", strerror(saved));
        free(text);
        return NULL;
    }
    struct jobspec *job = jobfile_parse(text, (size_t)got, err);
    free(text);
    return job;
}

static int copy_argv(json_t *v, struct taskcmd *out, struct mps_error *err)
{
    memset(out, 0, sizeof *out);
    if (json_is_string(v)) {
        out->shell = true;
        out->argc = 1;
    } else {
        out->argc = json_array_size(v);
    }
    out->argv = calloc(out->argc + 1, sizeof *out->argv);
    if (!out->argv)
        return errprintf(err, "out of memory");
    for (size_t i = 0; i < out->argc; i++) {
        json_t *e = out->shell ? v : json_array_get(v, i);
        if (!(out->argv[i] = strdup(json_string_value(e)))) {
            taskcmd_free(out);
            return errprintf(err, "out of memory");
        }
    }
    return 0;
}

int jobspec_task(const struct jobspec *job, uint64_t i, struct taskcmd *out,
                 struct mps_error *err)
{
    json_t *root = job->internal;
    if (i >= job->ntasks || job->task_file)
        return errprintf(err, "no task %llu in this job",
                         (unsigned long long)i);
    json_t *v = json_object_get(root, "command");
    if (!v)
        v = json_object_get(root, "shell");
    if (!v)
        v = json_array_get(json_object_get(root, "steps"), 0);
    if (!v)
        v = json_array_get(json_object_get(root, "tasks"), (size_t)i);
    return copy_argv(v, out, err);
}

long long jobspec_original_task(const struct jobspec *job, uint64_t task)
{
    json_t *from = json_object_get(job->internal, "resumed_from");
    json_t *n = json_array_get(json_object_get(from, "tasks"), (size_t)task);
    return json_is_integer(n) ? (long long)json_integer_value(n) : -1;
}
