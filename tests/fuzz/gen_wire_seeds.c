/* SPDX-License-Identifier: MIT */
/* Writes the seed corpus of fuzz_wire: one message of each type, a few
 * broken ones; each file is a tag byte (the type) and the message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static const char *outdir;

/* Write DIR/name: the selector byte tag_type, then len bytes of msg. */
static void write_seed(const char *name, int tag_type, const char *msg,
                       size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    unsigned char selector = (unsigned char)tag_type;
    if (!f || fwrite(&selector, 1, 1, f) != 1 ||
        (len && fwrite(msg, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "gen_wire_seeds: cannot write '%s': %s\n", path,
                strerror(errno));
        exit(1);
    }
}

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "gen_wire_seeds: cannot encode %s: %s\n", what,
                strerror(errno));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_wire_seeds DIR\n");
        return 2;
    }
    outdir = argv[1];
    struct wire_buf buf = {0};

    struct wire_hello hello = {.host = "pc12.lab",
                               .slots = 8,
                               .gpus = 1,
                               .mem_total = 16ULL << 30,
                               .local_rank = 0,
                               .pid = 4711};
    check(wire_encode_hello(&buf, &hello), "hello");
    write_seed("hello", WIRE_HELLO, buf.data, buf.len);

    char *argv_exec[] = {"printf", "%s\\n", "h\xc3\xa9llo", "", NULL};
    char *env[] = {"A=1", "EMPTY=", "OMP_NUM_THREADS=2", NULL};
    struct attempt task = {.dispatch = 42,
                           .job = "20261124-0001",
                           .task = 7,
                           .attempt = 1,
                           .cpus = 2,
                           .memory = 512ULL << 20,
                           .gpus = 0,
                           .timeout = 1.5,
                           .shell = false,
                           .inherit = true,
                           .argc = 4,
                           .argv = argv_exec,
                           .cwd = NULL,
                           .submit_dir = "/home/ana",
                           .envc = 3,
                           .env = env,
                           .ntasks = 10};
    check(wire_encode_task(&buf, &task), "task");
    write_seed("task", WIRE_TASK, buf.data, buf.len);

    char *argv_shell[] = {"echo one; echo two >&2", NULL};
    char *no_env[] = {NULL};
    struct attempt shell = {.dispatch = 43,
                            .job = "shell",
                            .task = 0,
                            .attempt = 0,
                            .cpus = 1,
                            .shell = true,
                            .argc = 1,
                            .argv = argv_shell,
                            .cwd = "/tmp",
                            .submit_dir = NULL,
                            .envc = 0,
                            .env = no_env,
                            .interpreter = "/bin/bash",
                            .ntasks = 3,
                            .line = 7};
    check(wire_encode_task(&buf, &shell), "shell task");
    write_seed("task-shell", WIRE_TASK, buf.data, buf.len);
    /* The same task cut short: every field boundary is a place to fail. */
    write_seed("task-truncated", WIRE_TASK, buf.data, buf.len - 3);

    const char output[] = "line one\n\0binary\xff\n";
    check(wire_encode_output(&buf, 42, 1, output, sizeof output - 1), "output");
    write_seed("output", WIRE_OUTPUT, buf.data, buf.len);
    check(wire_encode_output(&buf, 42, 2, "", 0), "empty output");
    write_seed("output-empty", WIRE_OUTPUT, buf.data, buf.len);

    struct attempt_result result = {.dispatch = 42,
                                    .start_us = 1764000000000000,
                                    .end_us = 1764000001500000,
                                    .exit_code = 3,
                                    .signal = 0,
                                    .timed_out = false,
                                    .error = NULL,
                                    .cores = "0-1",
                                    .gpus = "",
                                    .max_rss_kb = 2048,
                                    .user_s = 0.25,
                                    .system_s = 0.125,
                                    .stdout_bytes = 18,
                                    .stderr_bytes = 0};
    check(wire_encode_result(&buf, &result), "result");
    write_seed("result", WIRE_RESULT, buf.data, buf.len);
    struct attempt_result failed = {.dispatch = 43,
                                    .exit_code = -1,
                                    .signal = 9,
                                    .timed_out = true,
                                    .error =
                                        "cannot execute 'x': No such file"};
    check(wire_encode_result(&buf, &failed), "failed result");
    write_seed("result-error", WIRE_RESULT, buf.data, buf.len);

    check(wire_encode_archive(&buf, "20261129-0002", 10, 4, "tar!", 4),
          "archive");
    write_seed("archive", WIRE_ARCHIVE, buf.data, buf.len);
    check(wire_encode_cancel(&buf, 42, 0.5), "cancel");
    write_seed("cancel", WIRE_CANCEL, buf.data, buf.len);
    check(wire_encode_empty(&buf, WIRE_SHUTDOWN), "shutdown");
    write_seed("shutdown", WIRE_SHUTDOWN, buf.data, buf.len);
    /* A header that claims a type the tag does not carry. */
    write_seed("tag-mismatch", WIRE_BYE, buf.data, buf.len);
    check(wire_encode_empty(&buf, WIRE_BYE), "bye");
    write_seed("bye", WIRE_BYE, buf.data, buf.len);
    struct wire_heartbeat beat = {.load = 0.42};
    check(wire_encode_heartbeat(&buf, &beat), "heartbeat");
    struct wire_heartbeat owner = {
        .load = 1.5, .owner_active = true, .reason = 1, .since_us = 1};
    check(wire_encode_heartbeat(&buf, &owner), "owner heartbeat");
    write_seed("heartbeat-owner", WIRE_HEARTBEAT, buf.data, buf.len);
    check(wire_encode_heartbeat(&buf, &beat), "heartbeat");
    write_seed("heartbeat", WIRE_HEARTBEAT, buf.data, buf.len);
    /* Another version of the protocol. */
    buf.data[2] = WIRE_VERSION + 1;
    write_seed("heartbeat-version", WIRE_HEARTBEAT, buf.data, buf.len);

    wire_buf_free(&buf);
    return 0;
}
