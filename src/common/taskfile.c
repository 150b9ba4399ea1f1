/* SPDX-License-Identifier: MIT */
/* Task files: one shell command per line, read as a stream. */
#include "taskfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disbatch.h"

/* A growable byte string, NUL-terminated. */
struct text {
    char *data;
    size_t len, cap;
};

/* Bytes read from the stream at a time. */
#define READ_CHUNK (64 * 1024)
/* A line is kept up to this many bytes (without its \n): one more than
 * the limit with a trailing \r, and one more again to tell it is longer. */
#define LINE_KEEP (TASKFILE_MAX_LINE + 2)

struct taskfile {
    FILE *in;
    bool own_in;
    FILE *copy; /* taskfile_copy_count: the raw bytes also go here */
    char *path; /* the name in messages */
    char *line; /* the line last read (at most LINE_KEEP bytes of it) */
    size_t cap;
    /* What was read from in and not yet taken into lines. */
    char *chunk;
    size_t chunk_pos, chunk_len;
    uint64_t lineno; /* lines read */
    uint64_t count;  /* tasks returned (or counted by taskfile_finish) */
    uint64_t made;   /* tasks the file made so far: the next one's number */
    /* The task last returned. */
    uint64_t task_line, task_number;
    int64_t task_repeat;
    /* disBatch: whether a directive was seen, and those in force. */
    bool disbatch;
    struct text prefix, suffix, task;
    /* A REPEAT being expanded: left to make, done, its command. */
    uint64_t rep_left, rep_done, rep_line;
    int64_t rep_start, rep_step;
    struct text rep_cmd;
    char *interpreter; /* from "#!" on line 1 */
    /* taskfile_select: the numbers to return, and the next one's index. */
    uint64_t *select;
    size_t nselect, select_pos;
};

static int text_set(struct text *t, const char *a, size_t alen, const char *b,
                    size_t blen, const char *c, size_t clen)
{
    size_t need = alen + blen + clen + 1;
    if (need > t->cap) {
        char *grown = realloc(t->data, need);
        if (!grown)
            return -1;
        t->data = grown;
        t->cap = need;
    }
    if (alen)
        memcpy(t->data, a, alen);
    if (blen)
        memcpy(t->data + alen, b, blen);
    if (clen)
        memcpy(t->data + alen + blen, c, clen);
    t->len = alen + blen + clen;
    t->data[t->len] = '\0';
    return 0;
}

static struct taskfile *reader_new(FILE *in, bool own_in, const char *name)
{
    struct taskfile *tf = calloc(1, sizeof *tf);
    if (!tf || !(tf->path = strdup(name))) {
        free(tf);
        return NULL;
    }
    tf->in = in;
    tf->own_in = own_in;
    tf->task_repeat = -1;
    return tf;
}

struct taskfile *taskfile_open(const char *path, struct mps_error *err)
{
    /* O_NONBLOCK: opening a FIFO nobody writes to would block for ever. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        errprintf(err, "cannot open task file '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        errprintf(err, "task file '%s' is not a regular file", path);
        close(fd);
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        errprintf(err, "cannot open task file '%s': %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    return taskfile_fdopen(fd, path, err);
}

struct taskfile *taskfile_fdopen(int fd, const char *name,
                                 struct mps_error *err)
{
    FILE *in = fdopen(fd, "r");
    struct taskfile *tf = in ? reader_new(in, true, name) : NULL;
    if (!tf) {
        errprintf(err, "cannot read task file '%s': %s", name,
                  strerror(in ? ENOMEM : errno));
        if (in)
            fclose(in);
        else
            close(fd);
    }
    return tf;
}

void taskfile_close(struct taskfile *tf)
{
    if (!tf)
        return;
    if (tf->in && tf->own_in)
        fclose(tf->in);
    free(tf->path);
    free(tf->line);
    free(tf->chunk);
    free(tf->prefix.data);
    free(tf->suffix.data);
    free(tf->task.data);
    free(tf->rep_cmd.data);
    free(tf->interpreter);
    free(tf->select);
    free(tf);
}

int taskfile_select(struct taskfile *tf, const uint64_t *numbers, size_t n,
                    struct mps_error *err)
{
    free(tf->select);
    tf->select = malloc((n ? n : 1) * sizeof *numbers);
    if (!tf->select)
        return errprintf(err, "out of memory");
    if (n)
        memcpy(tf->select, numbers, n * sizeof *numbers);
    tf->nselect = n;
    tf->select_pos = 0;
    return 0;
}

/* A message about the line just read. */
static int line_error(struct taskfile *tf, struct mps_error *err,
                      const char *what)
{
    return errprintf(err, "%s: line %llu: %s", tf->path,
                     (unsigned long long)tf->lineno, what);
}

/* Make sure the chunk has unread bytes: 1, 0 at end of file, -1 on a
 * read error (errno set). */
static int fill_chunk(struct taskfile *tf)
{
    if (tf->chunk_pos < tf->chunk_len)
        return 1;
    if (!tf->chunk && !(tf->chunk = malloc(READ_CHUNK))) {
        errno = ENOMEM;
        return -1;
    }
    errno = 0;
    tf->chunk_len = fread(tf->chunk, 1, READ_CHUNK, tf->in);
    tf->chunk_pos = 0;
    if (tf->chunk_len > 0)
        return 1;
    return ferror(tf->in) ? -1 : 0;
}

/* Append n bytes to the line, keeping at most LINE_KEEP of them. */
static int keep_bytes(struct taskfile *tf, size_t *len, const char *p, size_t n)
{
    if (n > LINE_KEEP - *len)
        n = LINE_KEEP - *len;
    if (*len + n + 1 > tf->cap) {
        size_t cap = tf->cap ? tf->cap : 256;
        while (cap < *len + n + 1)
            cap *= 2;
        if (cap > LINE_KEEP + 1)
            cap = LINE_KEEP + 1;
        char *grown = realloc(tf->line, cap);
        if (!grown)
            return -1;
        tf->line = grown;
        tf->cap = cap;
    }
    memcpy(tf->line + *len, p, n);
    *len += n;
    return 0;
}

/* Read one line without its \n or trailing \r (copying the raw bytes when
 * asked to). A line longer than the limit is not read further: what is
 * kept of it (LINE_KEEP bytes) tells it is too long, so memory stays
 * bounded however long it is. Returns its length, -1 at end of file, -2
 * on error. */
static ssize_t read_line(struct taskfile *tf, struct mps_error *err)
{
    size_t len = 0;
    bool any = false, newline = false;
    while (!newline && len < LINE_KEEP) {
        int rc = fill_chunk(tf);
        if (rc == 0)
            break;
        if (rc < 0) {
            errprintf(err, "cannot read %s'%s': %s",
                      tf->copy ? "" : "task file ", tf->path,
                      strerror(errno ? errno : EIO));
            return -2;
        }
        const char *p = tf->chunk + tf->chunk_pos;
        size_t avail = tf->chunk_len - tf->chunk_pos;
        const char *nl = memchr(p, '\n', avail);
        size_t n = nl ? (size_t)(nl - p) + 1 : avail;
        if (n - (nl != NULL) > LINE_KEEP - len)
            n = LINE_KEEP - len; /* too long: stop here */
        newline = nl && p + n - 1 == nl;
        if (tf->copy && fwrite(p, 1, n, tf->copy) != n) {
            errprintf(err, "cannot copy '%s': %s", tf->path,
                      strerror(errno ? errno : EIO));
            return -2;
        }
        if (keep_bytes(tf, &len, p, n - newline) < 0) {
            errprintf(err, "out of memory");
            return -2;
        }
        tf->chunk_pos += n;
        any = true;
    }
    if (!any)
        return -1;
    if (keep_bytes(tf, &len, "", 0) < 0) { /* room for the NUL */
        errprintf(err, "out of memory");
        return -2;
    }
    tf->lineno++;
    if (len > 0 && len <= TASKFILE_MAX_LINE + 1 && tf->line[len - 1] == '\r')
        len--;
    tf->line[len] = '\0';
    return (ssize_t)len;
}

/* "#!PROG" or "#!/usr/bin/env NAME" on line 1: the interpreter. */
static int read_interpreter(struct taskfile *tf, const char *line,
                            struct mps_error *err)
{
    const char *p = line + 2, *blanks = " \t";
    p += strspn(p, blanks);
    size_t plen = strcspn(p, blanks);
    const char *arg = p + plen + strspn(p + plen, blanks);
    size_t alen = strlen(arg);
    while (alen && strchr(blanks, arg[alen - 1]))
        alen--;
    const char *base = memrchr(p, '/', plen);
    bool env = base && plen - (size_t)(base + 1 - p) == 3 &&
               memcmp(base + 1, "env", 3) == 0;
    char what[PATH_MAX + 128];
    if (plen == 0 || p[0] != '/' || plen >= PATH_MAX || alen >= PATH_MAX ||
        (env && alen == 0)) {
        snprintf(what, sizeof what,
                 "'#!' must name the interpreter by its absolute path "
                 "('#!/bin/bash', '#!/usr/bin/env bash')");
        return line_error(tf, err, what);
    }
    if ((env && (arg[0] == '-' || strcspn(arg, blanks) < alen)) ||
        (!env && alen)) {
        snprintf(what, sizeof what,
                 "'%.200s': an interpreter line with options is not "
                 "supported (write '#!PROG' or '#!/usr/bin/env PROG', and "
                 "the options into the task lines, e.g. 'set -e; ...')",
                 line);
        return line_error(tf, err, what);
    }
    tf->interpreter = env ? strndup(arg, alen) : strndup(p, plen);
    return tf->interpreter ? 0 : errprintf(err, "out of memory");
}

/* A "#DISBATCH" line: the prefix, suffix or REPEAT it sets. */
static int read_directive(struct taskfile *tf, const char *line, size_t len,
                          struct mps_error *err)
{
    struct disbatch_directive d;
    struct mps_error why;
    tf->disbatch = true;
    if (disbatch_parse(line, len, &d, &why) < 0)
        return line_error(tf, err, why.text);
    int rc = 0;
    if (d.kind == DISBATCH_PREFIX) {
        rc = text_set(&tf->prefix, d.text, d.len, NULL, 0, NULL, 0);
    } else if (d.kind == DISBATCH_SUFFIX) {
        rc = text_set(&tf->suffix, d.text, d.len, NULL, 0, NULL, 0);
    } else {
        if (d.count > (uint64_t)INT64_MAX - tf->made)
            return line_error(tf, err, "more than 2^63 tasks");
        if (tf->prefix.len + d.len + tf->suffix.len > TASKFILE_MAX_LINE)
            return line_error(tf, err,
                              "the task with its #DISBATCH PREFIX and "
                              "SUFFIX is longer than 1048576 bytes");
        rc = text_set(&tf->rep_cmd, tf->prefix.data, tf->prefix.len, d.text,
                      d.len, tf->suffix.data, tf->suffix.len);
        tf->rep_left = d.count;
        tf->rep_done = 0;
        tf->rep_start = d.start;
        tf->rep_step = d.step;
        tf->rep_line = tf->lineno;
    }
    return rc < 0 ? errprintf(err, "out of memory") : 0;
}

/* What a line is: 1 a task, 0 nothing (blank, comment, directive), -1 an
 * error. */
static int read_kind(struct taskfile *tf, const char *line, size_t len,
                     struct mps_error *err)
{
    if (memchr(line, '\0', len))
        return line_error(tf, err, "NUL byte in task file");
    if (len > TASKFILE_MAX_LINE)
        return line_error(tf, err, "longer than 1048576 bytes");
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' ||
                       line[i] == '\f' || line[i] == '\v'))
        i++;
    if (i < len && line[i] != '#')
        return 1;
    if (i == 0 && len >= 2 && line[1] == '!' && tf->lineno == 1)
        return read_interpreter(tf, line, err);
    if (i == 0 && len >= strlen(DISBATCH_MARK) &&
        memcmp(line, DISBATCH_MARK, strlen(DISBATCH_MARK)) == 0)
        return read_directive(tf, line, len, err);
    return 0;
}

/* Make the file's next task, whatever is selected: 1 with *cmd, 0 at the
 * end, -1 on error. */
static int make_task(struct taskfile *tf, const char **cmd,
                     struct mps_error *err)
{
    for (;;) {
        if (tf->rep_left) {
            tf->rep_left--;
            tf->task_line = tf->rep_line;
            tf->task_repeat =
                tf->rep_start + (int64_t)tf->rep_done++ * tf->rep_step;
            tf->task_number = tf->made++;
            *cmd = tf->rep_cmd.data;
            return 1;
        }
        ssize_t len = read_line(tf, err);
        if (len < 0)
            return len == -1 ? 0 : -1;
        int kind = read_kind(tf, tf->line, (size_t)len, err);
        if (kind <= 0) {
            if (kind < 0)
                return -1;
            continue;
        }
        tf->task_line = tf->lineno;
        tf->task_repeat = -1;
        tf->task_number = tf->made++;
        *cmd = tf->line;
        if (!tf->prefix.len && !tf->suffix.len)
            return 1;
        if (tf->prefix.len + (size_t)len + tf->suffix.len > TASKFILE_MAX_LINE)
            return line_error(tf, err,
                              "the task with its #DISBATCH PREFIX and "
                              "SUFFIX is longer than 1048576 bytes");
        if (text_set(&tf->task, tf->prefix.data, tf->prefix.len, tf->line,
                     (size_t)len, tf->suffix.data, tf->suffix.len) < 0)
            return errprintf(err, "out of memory");
        *cmd = tf->task.data;
        return 1;
    }
}

/* Pass over n tasks of the REPEAT being expanded (at most what is left)
 * without making them. */
static void pass_repeats(struct taskfile *tf, uint64_t n)
{
    if (n > tf->rep_left)
        n = tf->rep_left;
    tf->rep_left -= n;
    tf->rep_done += n;
    tf->made += n;
}

/* Count the rest of the REPEAT being expanded: its selected tasks (all
 * without a selection). */
static void count_repeats(struct taskfile *tf)
{
    uint64_t end = tf->made + tf->rep_left;
    if (!tf->select)
        tf->count += tf->rep_left;
    while (tf->select && tf->select_pos < tf->nselect &&
           tf->select[tf->select_pos] < end) {
        tf->select_pos++;
        tf->count++;
    }
    pass_repeats(tf, tf->rep_left);
}

/* At the end of the file: a selected task it lacks is an error. */
static int check_selection(struct taskfile *tf, struct mps_error *err)
{
    if (!tf->select || tf->select_pos == tf->nselect)
        return 0;
    return errprintf(err, "%s: has %llu tasks, so it has no task %llu to run",
                     tf->path, (unsigned long long)tf->made,
                     (unsigned long long)tf->select[tf->select_pos]);
}

int taskfile_next(struct taskfile *tf, const char **line, struct mps_error *err)
{
    for (;;) {
        uint64_t want = 0;
        if (tf->select) {
            if (tf->select_pos == tf->nselect)
                return 0;
            want = tf->select[tf->select_pos];
            /* Jump over the unselected tasks of a REPEAT at once. */
            if (tf->rep_left && want > tf->made)
                pass_repeats(tf, want - tf->made);
        }
        const char *cmd;
        int rc = make_task(tf, &cmd, err);
        if (rc <= 0)
            return rc == 0 ? check_selection(tf, err) : -1;
        if (tf->select && tf->task_number != want)
            continue;
        if (tf->select)
            tf->select_pos++;
        tf->count++;
        *line = cmd;
        return 1;
    }
}

int taskfile_finish(struct taskfile *tf, struct mps_error *err)
{
    for (;;) {
        if (tf->rep_left) {
            count_repeats(tf);
            continue;
        }
        const char *cmd;
        int rc = make_task(tf, &cmd, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return check_selection(tf, err);
        if (!tf->select) {
            tf->count++;
        } else if (tf->select_pos < tf->nselect &&
                   tf->select[tf->select_pos] == tf->task_number) {
            tf->select_pos++;
            tf->count++;
        }
    }
}

uint64_t taskfile_count(const struct taskfile *tf)
{
    return tf->count;
}

uint64_t taskfile_line(const struct taskfile *tf)
{
    return tf->task_line;
}

uint64_t taskfile_number(const struct taskfile *tf)
{
    return tf->task_number;
}

int64_t taskfile_repeat_index(const struct taskfile *tf)
{
    return tf->task_repeat;
}

bool taskfile_disbatch(const struct taskfile *tf)
{
    return tf->disbatch;
}

const char *taskfile_interpreter(const struct taskfile *tf)
{
    return tf->interpreter;
}

int taskfile_copy_count(FILE *in, FILE *out, const char *name, uint64_t *ntasks,
                        struct mps_error *err)
{
    struct taskfile *tf = reader_new(in, false, name);
    if (!tf)
        return errprintf(err, "out of memory");
    tf->copy = out;
    int rc = taskfile_finish(tf, err);
    if (rc == 0)
        *ntasks = tf->count;
    taskfile_close(tf);
    return rc;
}
