/* SPDX-License-Identifier: MIT */
/* Unit tests of asuser: copies written by a child, byte for byte, with the
 * owner's umask, errors per copy, no SIGCHLD; run with --root, the child
 * becomes another user (a ctest entry of its own, skipped unless root). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "asuser.h"
#include "util.h"

/* The test directory, a source file of SOURCE_BYTES bytes in it and its
 * descriptor. */
#define SOURCE_BYTES (3 * 1024 * 1024 + 17)
static char dir[] = "/tmp/mpispool-asuser-XXXXXX";
static char source[256];
static unsigned char *source_bytes;
static int source_fd = -1;

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    chmod(dir, 0777);
    snprintf(source, sizeof source, "%s/source", dir);
    source_bytes = malloc(SOURCE_BYTES);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < SOURCE_BYTES; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* binary: NULs, 0xff */
        source_bytes[i] = (unsigned char)x;
    }
    struct mps_error err;
    if (util_write_file(source, source_bytes, SOURCE_BYTES, 0, &err) < 0)
        return -1;
    source_fd = open(source, O_RDONLY | O_CLOEXEC);
    return source_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    close(source_fd);
    free(source_bytes);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* path = dir/name. */
static const char *in_dir(const char *name)
{
    static char paths[8][512];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s/%s", dir, name);
    return path;
}

static void assert_content(const char *path, const void *bytes, size_t len)
{
    size_t got = 0;
    struct mps_error err;
    char *text = util_read_file(path, 64 << 20, &got, &err);
    if (!text)
        fail_msg("%s", err.text);
    assert_int_equal(got, len);
    assert_memory_equal(text, bytes, len);
    free(text);
}

/* Copy as who; one result. */
static struct asuser_result copy_one(const struct asuser_id *who,
                                     const char *path, int src)
{
    struct asuser_copy copy = {path, src};
    struct asuser_result result;
    struct mps_error err;
    if (asuser_copy(who, &copy, 1, &result, &err) < 0)
        fail_msg("%s", err.text);
    return result;
}

static const struct asuser_id self = {.umask = 022};

static void test_bytes(void **state)
{
    (void)state;
    const char *out = in_dir("out");
    /* Into a file that was longer: it is truncated, not overwritten. */
    FILE *f = fopen(out, "w");
    for (int i = 0; i < 2; i++)
        fwrite(source_bytes, 1, SOURCE_BYTES, f);
    fclose(f);
    struct asuser_result r = copy_one(&self, out, source_fd);
    assert_int_equal(r.stage, ASUSER_OK);
    assert_content(out, source_bytes, SOURCE_BYTES);
    /* The source's file position is untouched (the read is by offset). */
    assert_int_equal(lseek(source_fd, 0, SEEK_CUR), 0);
    /* No source: an empty file. */
    r = copy_one(&self, out, -1);
    assert_int_equal(r.stage, ASUSER_OK);
    assert_content(out, "", 0);
}

static void test_umask(void **state)
{
    (void)state;
    const struct asuser_id strict = {.umask = 027};
    const char *out = in_dir("masked");
    unlink(out);
    assert_int_equal(copy_one(&strict, out, -1).stage, ASUSER_OK);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    /* An existing file keeps its mode. */
    chmod(out, 0604);
    assert_int_equal(copy_one(&strict, out, source_fd).stage, ASUSER_OK);
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0604);
}

static void test_errors(void **state)
{
    (void)state;
    char why[200];
    struct asuser_result r = copy_one(&self, in_dir("no/such/dir"), source_fd);
    assert_int_equal(r.stage, ASUSER_OPEN);
    assert_int_equal(r.err, ENOENT);
    assert_string_equal(asuser_describe(&r, &self, why, sizeof why),
                        "No such file or directory");
    /* The source itself: refused before it is truncated. */
    r = copy_one(&self, source, source_fd);
    assert_int_equal(r.stage, ASUSER_SAME);
    assert_content(source, source_bytes, SOURCE_BYTES);
    /* A FIFO is never waited for: with no reader open fails, with one it
     * is no regular file. */
    const char *fifo = in_dir("fifo");
    assert_int_equal(mkfifo(fifo, 0666), 0);
    alarm(10);
    r = copy_one(&self, fifo, source_fd);
    assert_int_equal(r.stage, ASUSER_OPEN);
    assert_int_equal(r.err, ENXIO);
    int reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    r = copy_one(&self, fifo, source_fd);
    alarm(0);
    close(reader);
    assert_int_equal(r.stage, ASUSER_NOT_FILE);
    assert_string_equal(asuser_describe(&r, &self, why, sizeof why),
                        "not a regular file");
    /* A source that cannot be read by offset (a pipe). */
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    r = copy_one(&self, in_dir("from-pipe"), pipefd[0]);
    close(pipefd[0]);
    close(pipefd[1]);
    assert_int_equal(r.stage, ASUSER_READ);
    assert_int_equal(r.err, ESPIPE);
    /* A character device is fine. */
    assert_int_equal(copy_one(&self, "/dev/null", source_fd).stage, ASUSER_OK);
}

/* Several copies at once; two to one path share the file, in order; one
 * failing copy does not stop the others. */
static void test_several(void **state)
{
    (void)state;
    const char *joined = in_dir("joined"), *alone = in_dir("alone");
    int small = open(in_dir("small"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(small >= 0);
    assert_int_equal(write(small, "tail\n", 5), 5);
    struct asuser_copy copies[] = {
        {joined, source_fd},
        {joined, small},
        {in_dir("missing/x"), small},
        {alone, small},
    };
    struct asuser_result results[4];
    struct mps_error err;
    assert_int_equal(asuser_copy(&self, copies, 4, results, &err), 0);
    close(small);
    assert_int_equal(results[0].stage, ASUSER_OK);
    assert_int_equal(results[1].stage, ASUSER_OK);
    assert_int_equal(results[2].stage, ASUSER_OPEN);
    assert_int_equal(results[3].stage, ASUSER_OK);
    unsigned char *both = malloc(SOURCE_BYTES + 5);
    memcpy(both, source_bytes, SOURCE_BYTES);
    memcpy(both + SOURCE_BYTES, "tail\n", 5);
    assert_content(joined, both, SOURCE_BYTES + 5);
    free(both);
    assert_content(alone, "tail\n", 5);
    assert_int_equal(asuser_copy(&self, copies, 0, results, &err), -1);
}

/* The child raises no SIGCHLD, so a process that reaps every child it is
 * told about (the executor) never takes it. */
static void test_no_sigchld(void **state)
{
    (void)state;
    sigset_t chld, old, pending;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    assert_int_equal(copy_one(&self, in_dir("quiet"), source_fd).stage,
                     ASUSER_OK);
    sigpending(&pending);
    assert_false(sigismember(&pending, SIGCHLD));
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- as root: the child becomes another user ---- */

#define NOBODY 65534

static void test_as_other_user(void **state)
{
    (void)state;
    const uint32_t groups[] = {NOBODY};
    const struct asuser_id nobody = {
        .switch_ids = true,
        .uid = NOBODY,
        .gid = NOBODY,
        .ngroups = 1,
        .groups = groups,
        .umask = 077,
    };
    const char *out = in_dir("nobody.out");
    struct asuser_result r = copy_one(&nobody, out, source_fd);
    assert_int_equal(r.stage, ASUSER_OK);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_uid, NOBODY);
    assert_int_equal(st.st_gid, NOBODY);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_content(out, source_bytes, SOURCE_BYTES);
    /* Never as root: a directory only root may write stays untouched. */
    const char *private_dir = in_dir("root-only");
    assert_int_equal(mkdir(private_dir, 0755), 0);
    char target[600];
    snprintf(target, sizeof target, "%s/x.out", private_dir);
    r = copy_one(&nobody, target, source_fd);
    assert_int_equal(r.stage, ASUSER_OPEN);
    assert_int_equal(r.err, EACCES);
    assert_int_equal(access(target, F_OK), -1);
    /* Nor a root-owned file the user may not write. */
    const char *roots = in_dir("root.file");
    int fd = open(roots, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_int_equal(write(fd, "keep", 4), 4);
    close(fd);
    r = copy_one(&nobody, roots, source_fd);
    assert_int_equal(r.stage, ASUSER_OPEN);
    assert_int_equal(r.err, EACCES);
    assert_content(roots, "keep", 4);
}

/* A group the user is given opens a directory of that group. */
static void test_groups(void **state)
{
    (void)state;
    const uint32_t groups[] = {NOBODY, 4242};
    const struct asuser_id member = {
        .switch_ids = true,
        .uid = NOBODY,
        .gid = NOBODY,
        .ngroups = 2,
        .groups = groups,
        .umask = 022,
    };
    const struct asuser_id outsider = {
        .switch_ids = true, .uid = NOBODY, .gid = NOBODY, .umask = 022};
    const char *group_dir = in_dir("group-dir");
    assert_int_equal(mkdir(group_dir, 0770), 0);
    assert_int_equal(chown(group_dir, 0, 4242), 0);
    assert_int_equal(chmod(group_dir, 0770), 0);
    char target[600];
    snprintf(target, sizeof target, "%s/x.out", group_dir);
    assert_int_equal(copy_one(&outsider, target, -1).stage, ASUSER_OPEN);
    assert_int_equal(copy_one(&member, target, -1).stage, ASUSER_OK);
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_uid, NOBODY);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),      cmocka_unit_test(test_umask),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_several),
        cmocka_unit_test(test_no_sigchld),
    };
    const struct CMUnitTest root_tests[] = {
        cmocka_unit_test(test_as_other_user),
        cmocka_unit_test(test_groups),
    };
    if (argc > 1 && strcmp(argv[1], "--root") == 0) {
        if (geteuid() != 0) {
            printf("test_asuser --root: SKIP: needs root (the child switches "
                   "to uid %d)\n",
                   NOBODY);
            return 77;
        }
        return cmocka_run_group_tests(root_tests, setup, teardown);
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
