/* SPDX-License-Identifier: MIT */
/* Unit tests of the MPI message codec: round trips and hostile bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

static char *copy_out(const struct wire_buf *buf)
{
    char *raw = malloc(buf->len);
    assert_non_null(raw);
    memcpy(raw, buf->data, buf->len);
    return raw;
}

static void test_task_round_trip(void **state)
{
    (void)state;
    char *argv[] = {"printf", "%s\n", "héllo wörld", "", NULL};
    char *env[] = {"A=1", "EMPTY=", NULL};
    struct attempt in = {
        .dispatch = 42,
        .job = "20261124-0001",
        .task = 1234567890123ULL,
        .attempt = 3,
        .cpus = 4,
        .memory = 2ULL << 30,
        .gpus = 3,
        .timeout = 1.5,
        .shell = false,
        .inherit = true,
        .archive = true,
        .argc = 4,
        .argv = argv,
        .cwd = NULL,
        .submit_dir = "/home/ana",
        .envc = 2,
        .env = env,
    };
    struct wire_buf buf = {0};
    assert_int_equal(wire_encode_task(&buf, &in), 0);
    struct wire_msg msg;
    struct mps_error err;
    char *raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), 0);
    const struct attempt *out = &msg.u.task;
    assert_int_equal(msg.type, WIRE_TASK);
    assert_int_equal(out->dispatch, 42);
    assert_string_equal(out->job, "20261124-0001");
    assert_int_equal(out->task, 1234567890123ULL);
    assert_int_equal(out->attempt, 3);
    assert_int_equal(out->cpus, 4);
    assert_int_equal(out->memory, 2ULL << 30);
    assert_int_equal(out->gpus, 3);
    assert_true(out->timeout == 1.5);
    assert_false(out->shell);
    assert_true(out->inherit);
    assert_true(out->archive);
    assert_int_equal(out->argc, 4);
    assert_string_equal(out->argv[2], "héllo wörld");
    assert_string_equal(out->argv[3], "");
    assert_null(out->argv[4]);
    assert_null(out->cwd);
    assert_string_equal(out->submit_dir, "/home/ana");
    assert_int_equal(out->envc, 2);
    assert_string_equal(out->env[1], "EMPTY=");
    assert_false(out->as_user);
    assert_int_equal(out->ngroups, 0);
    assert_null(out->groups);
    wire_msg_clear(&msg);
    wire_buf_free(&buf);
}

/* A shell task carries its interpreter (NULL stays NULL: /bin/sh), the
 * job's task count and its task file line; a command of 1 MiB crosses the
 * wire whole. An empty interpreter is malformed. */
static void test_task_interpreter(void **state)
{
    (void)state;
    char *command = malloc(1024 * 1024 + 1);
    assert_non_null(command);
    memset(command, 'A', 1024 * 1024);
    memcpy(command, "echo ", 5);
    command[1024 * 1024] = '\0';
    char *argv[] = {command, NULL};
    char *env[] = {NULL};
    struct attempt in = {.dispatch = 9,
                         .job = "j",
                         .task = 4,
                         .shell = true,
                         .argc = 1,
                         .argv = argv,
                         .env = env,
                         .interpreter = "bash",
                         .ntasks = 50000000000ULL,
                         .line = 7};
    struct wire_buf buf = {0};
    struct wire_msg msg;
    struct mps_error err;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(wire_encode_task(&buf, &in), 0);
        char *raw = copy_out(&buf);
        assert_int_equal(
            wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err),
            0);
        const struct attempt *out = &msg.u.task;
        if (round == 0)
            assert_string_equal(out->interpreter, "bash");
        else
            assert_null(out->interpreter);
        assert_int_equal(out->ntasks, in.ntasks);
        assert_int_equal(out->line, in.line);
        assert_string_equal(out->argv[0], command);
        wire_msg_clear(&msg);
        in.interpreter = NULL;
        in.line = 0;
    }
    in.interpreter = "";
    assert_int_equal(wire_encode_task(&buf, &in), 0);
    char *raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), -1);
    free(raw);
    wire_buf_free(&buf);
    free(command);
}

/* A task that runs as a user carries uid, gid and supplementary groups. */
static struct attempt user_task(void)
{
    static char *argv[] = {"sh", "-c", "id -G", NULL};
    static char *env[] = {"A=1", NULL};
    static uint32_t groups[] = {1001, 27, 4294967294u};
    return (struct attempt){
        .dispatch = 5,
        .job = "20261129-0003",
        .task = 2,
        .attempt = 1,
        .cpus = 1,
        .argc = 3,
        .argv = argv,
        .envc = 1,
        .env = env,
        .as_user = true,
        .uid = 1001,
        .gid = 1002,
        .ngroups = 3,
        .groups = groups,
    };
}

static void test_task_as_user(void **state)
{
    (void)state;
    struct attempt in = user_task();
    struct wire_buf buf = {0};
    assert_int_equal(wire_encode_task(&buf, &in), 0);
    struct wire_msg msg;
    struct mps_error err;
    char *raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), 0);
    const struct attempt *out = &msg.u.task;
    assert_true(out->as_user);
    assert_int_equal(out->uid, 1001);
    assert_int_equal(out->gid, 1002);
    assert_int_equal(out->ngroups, 3);
    assert_int_equal(out->groups[0], 1001);
    assert_int_equal(out->groups[1], 27);
    assert_int_equal(out->groups[2], 4294967294u);
    assert_string_equal(out->argv[2], "id -G");
    wire_msg_clear(&msg);

    /* Every truncation of it is refused, the groups' included. */
    for (size_t len = 0; len < buf.len; len++) {
        raw = malloc(len ? len : 1);
        memcpy(raw, buf.data, len);
        if (len >= WIRE_HEADER_LEN) {
            /* A consistent header, so the payload itself is too short. */
            uint32_t payload = (uint32_t)(len - WIRE_HEADER_LEN);
            for (int i = 0; i < 4; i++)
                raw[4 + i] = (char)(payload >> (8 * i));
        }
        assert_int_equal(
            wire_decode(raw, len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), -1);
        free(raw);
    }

    /* A group count past the end, or groups without as_user, are refused:
     * ngroups is the u32 before the 3 groups (and the step count). */
    size_t ngroups_at = buf.len - 4 * 4 - 4;
    raw = copy_out(&buf);
    raw[ngroups_at] = 4;
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), -1);
    assert_string_equal(err.text, "malformed message of type 2");
    memset(raw + ngroups_at, 0xff, 4);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), -1);
    free(raw);
    wire_buf_free(&buf);

    in.as_user = false;
    assert_int_equal(wire_encode_task(&buf, &in), 0);
    raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), -1);
    free(raw);
    wire_buf_free(&buf);

    /* More groups than Linux allows are refused at encoding. */
    in = user_task();
    in.ngroups = WIRE_MAX_GROUPS + 1;
    assert_int_equal(wire_encode_task(&buf, &in), -1);
    wire_buf_free(&buf);
}

static void test_result_round_trip(void **state)
{
    (void)state;
    struct attempt_result in = {
        .dispatch = 7,
        .start_us = 1764000000123456,
        .end_us = 1764000001123456,
        .exit_code = -1,
        .signal = 9,
        .timed_out = true,
        .error = "cannot execute 'x': No such file or directory",
        .cores = NULL,
        .max_rss_kb = 2048,
        .user_s = 0.25,
        .system_s = 0.5,
        .stdout_bytes = 200000000,
        .stderr_bytes = 0,
    };
    struct wire_buf buf = {0};
    assert_int_equal(wire_encode_result(&buf, &in), 0);
    struct wire_msg msg;
    struct mps_error err;
    char *raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_RESULT, &msg, &err), 0);
    const struct attempt_result *out = &msg.u.result;
    assert_int_equal(out->start_us, in.start_us);
    assert_int_equal(out->end_us, in.end_us);
    assert_int_equal(out->exit_code, -1);
    assert_int_equal(out->signal, 9);
    assert_true(out->timed_out);
    assert_string_equal(out->error, in.error);
    assert_null(out->cores);
    assert_int_equal(out->max_rss_kb, 2048);
    assert_true(out->user_s == 0.25 && out->system_s == 0.5);
    assert_int_equal(out->stdout_bytes, 200000000);
    assert_false(out->interrupted);
    wire_msg_clear(&msg);
    wire_buf_free(&buf);
}

/* --idle-policy action=requeue: a result says it was interrupted, without
 * changing timed_out; a flags byte with unknown bits is refused. */
/* Steps in a TASK and their outcomes in a RESULT survive the trip; every
 * truncation and a step count past the end are refused. */
static void test_steps(void **state)
{
    (void)state;
    char *s0[] = {"echo one > f", NULL};
    char *s1[] = {"cat", "f", NULL};
    struct taskcmd steps[] = {{true, 1, s0}, {false, 2, s1}};
    char *env[] = {NULL};
    struct attempt in = {.dispatch = 7,
                         .job = "j",
                         .argc = 1,
                         .argv = s0,
                         .shell = true,
                         .env = env,
                         .nsteps = 2,
                         .steps = steps,
                         .continue_on_error = true};
    struct wire_buf buf = {0};
    assert_int_equal(wire_encode_task(&buf, &in), 0);
    struct wire_msg msg;
    struct mps_error err;
    char *raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), 0);
    assert_int_equal(msg.u.task.nsteps, 2);
    assert_true(msg.u.task.continue_on_error);
    assert_true(msg.u.task.steps[0].shell);
    assert_string_equal(msg.u.task.steps[0].argv[0], "echo one > f");
    assert_false(msg.u.task.steps[1].shell);
    assert_int_equal(msg.u.task.steps[1].argc, 2);
    assert_string_equal(msg.u.task.steps[1].argv[1], "f");
    wire_msg_clear(&msg);
    for (size_t len = WIRE_HEADER_LEN; len < buf.len; len++) {
        raw = malloc(len);
        memcpy(raw, buf.data, len);
        uint32_t payload = (uint32_t)(len - WIRE_HEADER_LEN);
        for (int i = 0; i < 4; i++)
            raw[4 + i] = (char)(payload >> (8 * i));
        assert_int_equal(
            wire_decode(raw, len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), -1);
        free(raw);
    }
    /* continue_on_error without steps is malformed. */
    in.nsteps = 0;
    in.steps = NULL;
    assert_int_equal(wire_encode_task(&buf, &in), 0);
    raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), -1);
    free(raw);
    /* A huge step count is refused before anything is allocated. It sits
     * before the interpreter (absent: 1 byte), ntasks and line (8 each). */
    in.continue_on_error = false;
    assert_int_equal(wire_encode_task(&buf, &in), 0);
    raw = copy_out(&buf);
    memset(raw + buf.len - 17 - 4, 0xff, 4);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), -1);
    free(raw);

    struct step_record rs[] = {{1000, 2000, 0, 0, 5, 0, NULL},
                               {2000, 3000, -1, 9, 0, 7, "killed"}};
    struct attempt_result res = {
        .dispatch = 7, .exit_code = -1, .signal = 9, .nsteps = 2, .steps = rs};
    assert_int_equal(wire_encode_result(&buf, &res), 0);
    raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_RESULT, &msg, &err), 0);
    const struct attempt_result *out = &msg.u.result;
    assert_int_equal(out->nsteps, 2);
    assert_int_equal(out->steps[0].start_us, 1000);
    assert_int_equal(out->steps[0].stdout_bytes, 5);
    assert_null(out->steps[0].error);
    assert_int_equal(out->steps[1].exit_code, -1);
    assert_int_equal(out->steps[1].signal, 9);
    assert_int_equal(out->steps[1].stderr_bytes, 7);
    assert_string_equal(out->steps[1].error, "killed");
    wire_msg_clear(&msg);
    for (size_t len = WIRE_HEADER_LEN; len < buf.len; len++) {
        raw = malloc(len);
        memcpy(raw, buf.data, len);
        uint32_t payload = (uint32_t)(len - WIRE_HEADER_LEN);
        for (int i = 0; i < 4; i++)
            raw[4 + i] = (char)(payload >> (8 * i));
        assert_int_equal(
            wire_decode(raw, len, WIRE_TAG_BASE + WIRE_RESULT, &msg, &err), -1);
        free(raw);
    }
    wire_buf_free(&buf);
}

static void test_result_interrupted(void **state)
{
    (void)state;
    for (int timed_out = 0; timed_out < 2; timed_out++) {
        struct attempt_result in = {
            .dispatch = 9,
            .exit_code = -1,
            .signal = 15,
            .timed_out = timed_out,
            .interrupted = true,
        };
        struct wire_buf buf = {0};
        assert_int_equal(wire_encode_result(&buf, &in), 0);
        struct wire_msg msg;
        struct mps_error err;
        char *raw = copy_out(&buf);
        assert_int_equal(
            wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_RESULT, &msg, &err),
            0);
        assert_true(msg.u.result.interrupted);
        assert_int_equal(msg.u.result.timed_out, timed_out);
        assert_int_equal(msg.u.result.signal, 15);
        wire_msg_clear(&msg);

        /* The flags byte follows dispatch, start, end, exit code, signal. */
        size_t flags_at = WIRE_HEADER_LEN + 8 + 8 + 8 + 4 + 4;
        assert_int_equal((unsigned char)buf.data[flags_at], 2 | timed_out);
        raw = copy_out(&buf);
        raw[flags_at] = 4;
        assert_int_equal(
            wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_RESULT, &msg, &err),
            -1);
        free(raw);
        wire_buf_free(&buf);
    }
}

static void test_heartbeat_owner(void **state)
{
    (void)state;
    struct wire_heartbeat cases[] = {
        {.load = 0.42},
        {.load = 3.5,
         .owner_active = true,
         .reason = 1,
         .since_us = 1764000000123456},
        {.load = 0, .owner_active = true, .reason = 2, .since_us = 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct wire_buf buf = {0};
        assert_int_equal(wire_encode_heartbeat(&buf, &cases[i]), 0);
        struct wire_msg msg;
        struct mps_error err;
        char *raw = copy_out(&buf);
        assert_int_equal(wire_decode(raw, buf.len,
                                     WIRE_TAG_BASE + WIRE_HEARTBEAT, &msg,
                                     &err),
                         0);
        const struct wire_heartbeat *out = &msg.u.heartbeat;
        assert_true(out->load == cases[i].load);
        assert_int_equal(out->owner_active, cases[i].owner_active);
        assert_int_equal(out->reason, cases[i].reason);
        assert_int_equal(out->since_us, cases[i].since_us);
        wire_msg_clear(&msg);

        /* Cut short, or one byte too many: malformed. */
        raw = copy_out(&buf);
        raw[4] = (char)(buf.len - WIRE_HEADER_LEN - 1);
        assert_int_equal(wire_decode(raw, buf.len - 1,
                                     WIRE_TAG_BASE + WIRE_HEARTBEAT, &msg,
                                     &err),
                         -1);
        free(raw);
        wire_buf_free(&buf);
    }

    /* An owner_active byte other than 0 or 1, an unknown reason, or a
     * reason while idle are refused. */
    const unsigned char bad[][2] = {{2, 0}, {1, 3}, {0, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct wire_heartbeat hb = {
            .load = 1, .owner_active = true, .reason = 1};
        struct wire_buf buf = {0};
        assert_int_equal(wire_encode_heartbeat(&buf, &hb), 0);
        char *raw = copy_out(&buf);
        raw[WIRE_HEADER_LEN + 8] = (char)bad[i][0];
        raw[WIRE_HEADER_LEN + 9] = (char)bad[i][1];
        struct wire_msg msg;
        struct mps_error err;
        assert_int_equal(wire_decode(raw, buf.len,
                                     WIRE_TAG_BASE + WIRE_HEARTBEAT, &msg,
                                     &err),
                         -1);
        assert_non_null(strstr(err.text, "malformed"));
        free(raw);
        wire_buf_free(&buf);
    }

    /* A heartbeat of version 1 (the load alone) is refused by version. */
    struct wire_heartbeat hb = {.load = 1};
    struct wire_buf buf = {0};
    assert_int_equal(wire_encode_heartbeat(&buf, &hb), 0);
    char *raw = copy_out(&buf);
    raw[2] = 1;
    struct wire_msg msg;
    struct mps_error err;
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_HEARTBEAT, &msg, &err),
        -1);
    assert_non_null(strstr(err.text, "version 1"));
    free(raw);
    wire_buf_free(&buf);
}

static void test_output_binary(void **state)
{
    (void)state;
    unsigned char data[256];
    for (int i = 0; i < 256; i++)
        data[i] = (unsigned char)i;
    struct wire_buf buf = {0};
    assert_int_equal(wire_encode_output(&buf, 9, 2, data, sizeof data), 0);
    struct wire_msg msg;
    struct mps_error err;
    char *raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_OUTPUT, &msg, &err), 0);
    assert_int_equal(msg.u.output.stream, 2);
    assert_int_equal(msg.u.output.len, 256);
    assert_memory_equal(msg.u.output.data, data, 256);
    wire_msg_clear(&msg);
    /* A chunk larger than WIRE_CHUNK is refused at encoding. */
    char *big = calloc(1, WIRE_CHUNK + 1);
    assert_int_equal(wire_encode_output(&buf, 9, 1, big, WIRE_CHUNK + 1), -1);
    free(big);
    wire_buf_free(&buf);
}

static void test_archive_chunk(void **state)
{
    (void)state;
    unsigned char data[1000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7);
    struct wire_buf buf = {0};
    assert_int_equal(
        wire_encode_archive(&buf, "20261124-0001", 5000, 4000, data, 1000), 0);
    struct wire_msg msg;
    struct mps_error err;
    char *raw = copy_out(&buf);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_ARCHIVE, &msg, &err), 0);
    assert_int_equal(msg.type, WIRE_ARCHIVE);
    assert_string_equal(msg.u.archive.job, "20261124-0001");
    assert_int_equal(msg.u.archive.total, 5000);
    assert_int_equal(msg.u.archive.offset, 4000);
    assert_int_equal(msg.u.archive.len, 1000);
    assert_memory_equal(msg.u.archive.data, data, 1000);
    wire_msg_clear(&msg);

    /* Every truncation is refused. */
    for (size_t len = 0; len < buf.len; len++) {
        raw = malloc(len ? len : 1);
        memcpy(raw, buf.data, len);
        assert_int_equal(
            wire_decode(raw, len, WIRE_TAG_BASE + WIRE_ARCHIVE, &msg, &err),
            -1);
        free(raw);
    }
    /* A chunk past the announced total: total sits after the header and
     * the job string (1 + 4 + 13 bytes). */
    size_t total_at = WIRE_HEADER_LEN + 1 + 4 + 13;
    raw = copy_out(&buf);
    raw[total_at] = (char)0xa0; /* total 5000 (0x1388) becomes 4000 */
    raw[total_at + 1] = 0x0f;   /* (0x0fa0): offset + len > total */
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_ARCHIVE, &msg, &err),
        -1);
    assert_string_equal(err.text, "malformed message of type 9");
    free(raw);
    /* A length larger than the chunk limit. */
    raw = copy_out(&buf);
    memset(raw + total_at + 16, 0xff, 4);
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_ARCHIVE, &msg, &err),
        -1);
    free(raw);
    /* Refused at encoding: too large a chunk, or past the total. */
    char *big = calloc(1, WIRE_ARCHIVE_CHUNK + 1);
    assert_int_equal(wire_encode_archive(&buf, "j", WIRE_ARCHIVE_CHUNK + 1, 0,
                                         big, WIRE_ARCHIVE_CHUNK + 1),
                     -1);
    assert_int_equal(wire_encode_archive(&buf, "j", 10, 5, big, 6), -1);
    assert_int_equal(wire_encode_archive(&buf, "j", WIRE_ARCHIVE_CHUNK, 0, big,
                                         WIRE_ARCHIVE_CHUNK),
                     0);
    free(big);
    wire_buf_free(&buf);
}

/* Every truncation of a valid message, and every single-byte change of
 * its header, is refused with an error rather than read out of bounds. */
static void test_hostile_bytes(void **state)
{
    (void)state;
    struct wire_hello hello = {"node7", 16, 2, 1ULL << 34, 1, 4242};
    struct wire_buf buf = {0};
    assert_int_equal(wire_encode_hello(&buf, &hello), 0);
    struct wire_msg msg;
    struct mps_error err;
    for (size_t len = 0; len < buf.len; len++) {
        char *raw = malloc(len ? len : 1);
        memcpy(raw, buf.data, len);
        assert_int_equal(
            wire_decode(raw, len, WIRE_TAG_BASE + WIRE_HELLO, &msg, &err), -1);
        free(raw);
    }
    static const struct {
        size_t offset;
        char value;
        const char *message;
    } cases[] = {
        {0, 'X', "message has a bad magic number"},
        {2, 9, "message has version 9, expected 4"},
        {3, 99, "message has unknown type 99"},
        {3, WIRE_TASK, "message of type 2 came with tag 101"},
        {4, 1, "message length 1 does not match its 34 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *raw = copy_out(&buf);
        raw[cases[i].offset] = cases[i].value;
        assert_int_equal(
            wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_HELLO, &msg, &err),
            -1);
        assert_string_equal(err.text, cases[i].message);
        free(raw);
    }
    /* A string length pointing past the end. */
    char *raw = copy_out(&buf);
    raw[WIRE_HEADER_LEN + 1] = (char)0xff;
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_HELLO, &msg, &err), -1);
    assert_string_equal(err.text, "malformed message of type 1");
    free(raw);
    wire_buf_free(&buf);
}

/* A task message claiming a huge argv count is refused before any large
 * allocation. */
static void test_huge_count(void **state)
{
    (void)state;
    char *argv[] = {"true", NULL};
    char *env[] = {NULL};
    struct attempt in = {.dispatch = 1,
                         .job = "j",
                         .argc = 1,
                         .argv = argv,
                         .envc = 0,
                         .env = env};
    struct wire_buf buf = {0};
    assert_int_equal(wire_encode_task(&buf, &in), 0);
    /* argc sits after header, dispatch (8), job (1+4+1), task (8),
     * attempt (4), cpus (4), memory (8), gpus (4), timeout (8),
     * flags (1). */
    size_t argc_at = WIRE_HEADER_LEN + 8 + 6 + 8 + 4 + 4 + 8 + 4 + 8 + 1;
    char *raw = copy_out(&buf);
    memset(raw + argc_at, 0xff, 4);
    struct wire_msg msg;
    struct mps_error err;
    assert_int_equal(
        wire_decode(raw, buf.len, WIRE_TAG_BASE + WIRE_TASK, &msg, &err), -1);
    free(raw);
    wire_buf_free(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_round_trip),
        cmocka_unit_test(test_task_as_user),
        cmocka_unit_test(test_task_interpreter),
        cmocka_unit_test(test_result_round_trip),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_result_interrupted),
        cmocka_unit_test(test_heartbeat_owner),
        cmocka_unit_test(test_output_binary),
        cmocka_unit_test(test_archive_chunk),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_huge_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
