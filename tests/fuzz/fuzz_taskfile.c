/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the task file reader, taskfile_finish and
 * taskfile_copy_count. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "taskfile.h"

/* The input lives in a memory file (never on disk), reopened by path for
 * taskfile_open and by descriptor for taskfile_copy_count. */
static int input_fd = -1;
static char input_path[64];

static void write_input(const uint8_t *data, size_t size)
{
    if (input_fd < 0) {
        input_fd = memfd_create("fuzz-taskfile", MFD_CLOEXEC);
        if (input_fd < 0)
            abort();
        snprintf(input_path, sizeof input_path, "/proc/self/fd/%d", input_fd);
    }
    if (ftruncate(input_fd, 0) < 0)
        abort();
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(input_fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            abort();
        done += (size_t)n;
    }
}

/* Tasks read one by one at most (a REPEAT may make 2^63 of them). */
#define MAX_READ 100000

/* Read up to MAX_READ tasks with taskfile_next; returns the count, -1 on
 * error, -2 when it stopped at MAX_READ. */
static int64_t read_all(void)
{
    struct mps_error err;
    struct taskfile *tf = taskfile_open(input_path, &err);
    if (!tf)
        abort();
    const char *line;
    int rc;
    uint64_t seen = 0, last_line = 0;
    while (seen < MAX_READ && (rc = taskfile_next(tf, &line, &err)) == 1) {
        size_t len = strlen(line);
        /* No task has a newline or exceeds the limit; without directives a
         * task is never empty, blank or a comment. Tasks come in file
         * order, numbered from 0. */
        size_t i = strspn(line, " \t\r\f\v");
        if (memchr(line, '\n', len) || len > TASKFILE_MAX_LINE ||
            (!taskfile_disbatch(tf) && (i == len || line[i] == '#')) ||
            taskfile_number(tf) != seen || taskfile_line(tf) < last_line ||
            taskfile_line(tf) == 0)
            abort();
        last_line = taskfile_line(tf);
        seen++;
    }
    if (seen == MAX_READ) {
        taskfile_close(tf);
        return -2;
    }
    uint64_t count = taskfile_count(tf);
    taskfile_close(tf);
    if (rc >= 0 && count != seen)
        abort();
    return rc < 0 ? -1 : (int64_t)count;
}

/* Count with taskfile_finish: the count, or -1 on error. */
static int64_t finish_all(void)
{
    struct mps_error err;
    struct taskfile *tf = taskfile_open(input_path, &err);
    if (!tf)
        abort();
    int rc = taskfile_finish(tf, &err);
    uint64_t count = taskfile_count(tf);
    taskfile_close(tf);
    if (rc < 0 && strnlen(err.text, sizeof err.text) == 0)
        abort();
    return rc < 0 ? -1 : (int64_t)count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);
    int64_t count = read_all();
    int64_t finished = finish_all();
    /* Reading task by task and counting at once agree. */
    if (count != -2 && count != finished)
        abort();

    /* taskfile_copy_count must agree with the reader, and copy the input
     * byte for byte when it accepts it. */
    FILE *in = fopen(input_path, "re");
    if (!in)
        abort();
    char *copy = NULL;
    size_t copy_len = 0;
    FILE *out = open_memstream(&copy, &copy_len);
    if (!out)
        abort();
    uint64_t ntasks = 0;
    struct mps_error err;
    int rc = taskfile_copy_count(in, out, "input", &ntasks, &err);
    fclose(in);
    fclose(out);
    if (rc < 0) {
        if (finished >= 0 || strnlen(err.text, sizeof err.text) == 0)
            abort();
    } else {
        if (finished < 0 || ntasks != (uint64_t)finished)
            abort();
        if (copy_len != size || (size && memcmp(copy, data, size) != 0))
            abort();
    }
    free(copy);

    /* Counting alone (no copy) gives the same answer. */
    in = fopen(input_path, "re");
    if (!in)
        abort();
    uint64_t ntasks2 = 0;
    int rc2 = taskfile_copy_count(in, NULL, "input", &ntasks2, &err);
    fclose(in);
    if (rc2 != rc || (rc == 0 && ntasks2 != ntasks))
        abort();
    return 0;
}
