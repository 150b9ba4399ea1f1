/* SPDX-License-Identifier: MIT */
/* What submit makes of its inputs: the job file read and validated, the
 * submit_* keys, and the task file and archive copied into data/. */
#include "submitjob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "jobfile.h"
#include "outpattern.h"
#include "taskfile.h"
#include "util.h"

extern char **environ;

bool submitjob_valid_env_name(const char *s, size_t len)
{
    if (len == 0 || !((s[0] >= 'A' && s[0] <= 'Z') ||
                      (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* The submitter's environment as an object; entries that are not valid
 * UTF-8 or whose names are no valid variable names are left out. */
static json_t *environment_json(void)
{
    json_t *env = json_object();
    if (!env)
        return NULL;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || !submitjob_valid_env_name(*e, (size_t)(eq - *e)))
            continue;
        char *name = strndup(*e, (size_t)(eq - *e));
        if (!name) {
            json_decref(env);
            return NULL;
        }
        json_t *value = json_string(eq + 1); /* NULL unless UTF-8 */
        if (value && !json_object_get(env, name))
            json_object_set_new(env, name, value);
        else
            json_decref(value);
        free(name);
    }
    return env;
}

/* Read all of a stream (a job file from stdin), at most max bytes. */
static char *read_stream(FILE *in, size_t max, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return NULL;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(buf);
                errno = EFBIG;
                return NULL;
            }
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, in);
        n += got;
        if (got == 0) {
            if (ferror(in)) {
                int saved = errno ? errno : EIO;
                free(buf);
                errno = saved;
                return NULL;
            }
            break;
        }
    }
    if (n > max) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Load a job file (path or "-") as a JSON object. */
json_t *submitjob_load(const char *path)
{
    size_t len = 0;
    char *text;
    struct mps_error err;
    if (strcmp(path, "-") == 0) {
        text = read_stream(stdin, JOBFILE_MAX_BYTES, &len);
        if (!text) {
            cli_error("cannot read the job file from standard input: %s",
                      strerror(errno));
            return NULL;
        }
    } else {
        text = util_read_file(path, JOBFILE_MAX_BYTES, &len, &err);
        if (!text) {
            cli_error("%s", err.text);
            return NULL;
        }
    }
    json_error_t jerr;
    json_t *job = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!job) {
        cli_error("invalid job file '%s': invalid JSON at line %d, column "
                  "%d: %s",
                  path, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(job)) {
        cli_error("invalid job file '%s': a job file must be a JSON object",
                  path);
        json_decref(job);
        return NULL;
    }
    return job;
}

/* The job's JSON text, as it goes into the spool. */
char *submitjob_text(json_t *job, size_t *len)
{
    char *text = json_dumps(job, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *out = realloc(text, n + 2);
    if (!out) {
        free(text);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    *len = n + 1;
    return out;
}

/* Validate the job as a coordinator will; 0 or -1 with a message naming
 * the job file (job_path, or NULL for a job made from the options). */
int submitjob_validate(json_t *job, const char *job_path)
{
    size_t len;
    char *text = submitjob_text(job, &len);
    if (!text) {
        cli_error("out of memory");
        return -1;
    }
    struct mps_error err;
    struct jobspec *spec = jobfile_parse(text, len, &err);
    free(text);
    if (!spec) {
        if (!job_path)
            cli_error("invalid job: %s", err.text);
        else if (strcmp(job_path, "-") == 0)
            cli_error("invalid job file (standard input): %s", err.text);
        else
            cli_error("invalid job file '%s': %s", job_path, err.text);
        return -1;
    }
    jobspec_destroy(spec);
    return 0;
}

/* Where a job file's relative task_file is: beside the job file. */
char *submitjob_relpath(const char *job_path, const char *task_file)
{
    char *out;
    if (task_file[0] == '/' || strcmp(job_path, "-") == 0 ||
        !strchr(job_path, '/'))
        return strdup(task_file);
    const char *slash = strrchr(job_path, '/');
    if (asprintf(&out, "%.*s/%s", (int)(slash - job_path), job_path,
                 task_file) < 0)
        return NULL;
    return out;
}

/* The base name of the task file the user gave (--tasks FILE, else the
 * job file's task_file), as disBatch names it in DISBATCH_NAMETASKS:
 * "stdin" for standard input. NULL when none was given. */
json_t *submitjob_task_file_name(const char *tasks_opt, json_t *job)
{
    json_t *tf = json_object_get(job, "task_file");
    const char *given = tasks_opt ? tasks_opt : json_string_value(tf);
    if (!given || !*given)
        return NULL;
    if (strcmp(given, "-") == 0)
        return json_string("stdin");
    const char *slash = strrchr(given, '/');
    return json_string(slash && slash[1] ? slash + 1 : given);
}

/* Start a copy for data/JOBID.EXT: a fresh file data/JOBID.EXT.XXXXXX of
 * mode (spool_private_mode: the copies hold the submitter's inputs),
 * whose name goes to *tmp. The descriptor, or -1 after a message. */
static int data_copy_start(struct spool *sp, const char *jobid, const char *ext,
                           char **tmp)
{
    char name[160];
    snprintf(name, sizeof name, "%s.%s.XXXXXX", jobid, ext);
    *tmp = spool_file(sp, SPOOL_DATA, name);
    if (!*tmp) {
        cli_error("out of memory");
        return -1;
    }
    int fd = mkostemp(*tmp, O_CLOEXEC);
    if (fd < 0 || fchmod(fd, spool_private_mode(sp)) < 0) {
        cli_error("cannot create '%s': %s", *tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(*tmp);
        }
        free(*tmp);
        *tmp = NULL;
        return -1;
    }
    return fd;
}

/* The copy at tmp is complete: name it data/JOBID.EXT, or where someone
 * took that name, keep tmp's (the job file names the copy, whatever its
 * name). *data_path gets the path; tmp is taken over. 0, or -1 after a
 * message. */
static int data_copy_finish(struct spool *sp, const char *jobid,
                            const char *ext, char *tmp, char **data_path)
{
    char stem[128];
    snprintf(stem, sizeof stem, "%s.%s", jobid, ext);
    char *dst = spool_file(sp, SPOOL_DATA, stem);
    char *dir = spool_file(sp, SPOOL_DATA, NULL);
    int rc = 0;
    if (!dst || !dir) {
        cli_error("out of memory");
        rc = -1;
    } else if (util_rename_noreplace(AT_FDCWD, tmp, AT_FDCWD, dst) == 0) {
        *data_path = dst;
        dst = NULL;
    } else if (errno == EEXIST) {
        *data_path = tmp;
        tmp = NULL;
    } else {
        cli_error("cannot rename '%s' to '%s': %s", tmp, dst, strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        util_fsync_dir(dir);
    if (tmp)
        unlink(tmp);
    free(tmp);
    free(dst);
    free(dir);
    return rc;
}

/* Copy the task file src ("-": stdin) to data/JOBID.tasks; *data_path
 * gets the copy's path, *ntasks its number of tasks. Returns 0 or -1 with
 * a message. */
int submitjob_copy_tasks(struct spool *sp, const char *jobid, FILE *in,
                         const char *src, char **data_path, uint64_t *ntasks)
{
    const char *name = strcmp(src, "-") == 0 ? "standard input" : src;
    char *tmp = NULL;
    char *outbuf = NULL;
    int fd = data_copy_start(sp, jobid, "tasks", &tmp);
    if (fd < 0)
        return -1;
    FILE *out = fdopen(fd, "w");
    if (!out) {
        cli_error("cannot create '%s': %s", tmp, strerror(errno));
        close(fd);
        goto fail;
    }
    outbuf = malloc(1 << 20);
    if (outbuf)
        setvbuf(out, outbuf, _IOFBF, 1 << 20);
    struct mps_error err;
    if (taskfile_copy_count(in, out, name, ntasks, &err) < 0) {
        cli_error("%s", err.text);
        goto fail;
    }
    if (*ntasks == 0) {
        cli_error("no tasks in '%s'", name);
        goto fail;
    }
    if (fflush(out) != 0 || fsync(fileno(out)) < 0) {
        cli_error("cannot write '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    int closed = fclose(out);
    out = NULL;
    free(outbuf);
    if (closed != 0) {
        cli_error("cannot write '%s': %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    return data_copy_finish(sp, jobid, "tasks", tmp, data_path);
fail:
    if (out)
        fclose(out);
    free(outbuf);
    unlink(tmp);
    free(tmp);
    return -1;
}

/* A task file of ntasks tasks cannot copy every task's output to one
 * file: a "stdout"/"stderr" pattern needs %t. 0, or -1 after a message. */
int submitjob_check_outputs(json_t *job, uint64_t ntasks)
{
    const char *keys[] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        const char *pattern = json_string_value(json_object_get(job, keys[i]));
        struct mps_error err;
        if (pattern &&
            outpattern_check_tasks(keys[i], pattern, ntasks, &err) < 0) {
            cli_error("invalid job: %s", err.text);
            return -1;
        }
    }
    return 0;
}

/* Copy the archive open at in_fd (named src) to data/JOBID.archive,
 * fsync'd; *data_path gets the copy's path. Returns 0 or -1 with a
 * message. */
int submitjob_copy_archive(struct spool *sp, const char *jobid, int in_fd,
                           const char *src, char **data_path)
{
    char *tmp = NULL;
    char *buf = malloc(1 << 20);
    int fd = buf ? data_copy_start(sp, jobid, "archive", &tmp) : -1;
    if (!buf)
        cli_error("out of memory");
    if (fd < 0) {
        free(buf);
        return -1;
    }
    for (;;) {
        ssize_t got = util_read_all(in_fd, buf, 1 << 20);
        if (got < 0) {
            cli_error("cannot read archive '%s': %s", src, strerror(errno));
            goto fail;
        }
        if (got == 0)
            break;
        if (util_write_all(fd, buf, (size_t)got) < 0) {
            cli_error("cannot write '%s': %s", tmp, strerror(errno));
            goto fail;
        }
    }
    free(buf);
    buf = NULL;
    if (fsync(fd) < 0) {
        cli_error("cannot write '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    int closed = close(fd);
    fd = -1;
    if (closed < 0) {
        cli_error("cannot write '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    return data_copy_finish(sp, jobid, "archive", tmp, data_path);
fail:
    if (fd >= 0)
        close(fd);
    free(buf);
    unlink(tmp);
    free(tmp);
    return -1;
}

/* Open an archive to submit; a missing one is a clear error. Returns the
 * descriptor or -1 after a message. */
int submitjob_open_archive(const char *src)
{
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        if (errno == ENOENT)
            cli_error("archive '%s' not found", src);
        else
            cli_error("cannot open archive '%s': %s", src, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        cli_error("archive '%s' is not a regular file", src);
        close(fd);
        return -1;
    }
    return fd;
}

/* Add the submit_* keys that the job does not have yet. */
int submitjob_add_keys(json_t *job)
{
    if (!json_object_get(job, "submit_dir")) {
        char *cwd = getcwd(NULL, 0);
        if (!cwd) {
            cli_error("cannot get the current directory: %s", strerror(errno));
            return -1;
        }
        json_t *v = json_string(cwd);
        free(cwd);
        if (!v) {
            cli_error("the current directory is not valid UTF-8");
            return -1;
        }
        json_object_set_new(job, "submit_dir", v);
    }
    if (!json_object_get(job, "submit_env")) {
        json_t *env = environment_json();
        if (!env) {
            cli_error("out of memory");
            return -1;
        }
        json_object_set_new(job, "submit_env", env);
    }
    if (!json_object_get(job, "submit_host")) {
        char host[256];
        json_t *v = json_string(util_hostname(host, sizeof host));
        json_object_set_new(job, "submit_host",
                            v ? v : json_string("localhost"));
    }
    if (!json_object_get(job, "submit_time")) {
        char now[UTIL_TIME_LEN];
        json_object_set_new(job, "submit_time",
                            json_string(util_format_time(util_now_us(), now)));
    }
    if (!json_object_get(job, "submit_umask")) {
        /* For the stdout/stderr copies (umask can only be read by setting
         * it). */
        mode_t mask = umask(022);
        umask(mask);
        char text[8];
        snprintf(text, sizeof text, "%04o", (unsigned)mask & 0777);
        json_object_set_new(job, "submit_umask", json_string(text));
    }
    return 0;
}
