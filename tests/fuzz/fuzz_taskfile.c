/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the task file reader and taskfile_copy_count. */
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

/* Read every task with taskfile_next; returns the count, or -1 on error. */
static int64_t read_all(uint64_t *lines_bytes)
{
    struct mps_error err;
    struct taskfile *tf = taskfile_open(input_path, &err);
    if (!tf)
        abort();
    const char *line;
    int rc;
    *lines_bytes = 0;
    while ((rc = taskfile_next(tf, &line, &err)) == 1) {
        size_t len = strlen(line);
        /* A task is never empty, blank or a comment, and has no newline. */
        size_t i = strspn(line, " \t\r\f\v");
        if (i == len || line[i] == '#' || memchr(line, '\n', len))
            abort();
        *lines_bytes += len;
    }
    uint64_t count = taskfile_count(tf);
    taskfile_close(tf);
    return rc < 0 ? -1 : (int64_t)count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);
    uint64_t lines_bytes;
    int64_t count = read_all(&lines_bytes);
    if (lines_bytes > size)
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
        if (count >= 0 || strnlen(err.text, sizeof err.text) == 0)
            abort();
    } else {
        if (count < 0 || ntasks != (uint64_t)count)
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
