/* SPDX-License-Identifier: MIT */
/* Unit tests of the privilege boundary's opening, reading and removing
 * (asuser_openat, asuser_read, asuser_remove_tree) and of who may act on
 * another's job (asuser_may_act); run with --root, this
 * thread's file system identity becomes another user's (asuser_enter), a
 * ctest entry of its own, skipped unless root. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

static char dir[] = "/tmp/mpispool-boundary-XXXXXX";
static int dirfd_ = -1;

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
        return -1;
    dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    int parent = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = asuser_remove_tree(parent, strrchr(dir, '/') + 1);
    close(parent);
    close(dirfd_);
    return rc;
}

static void put(const char *name, const char *text)
{
    int fd =
        openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static const struct asuser_want any_file = {.type = S_IFREG, .any_owner = true};

/* Open name beneath the test directory; the descriptor or -errno. */
static int try_open(const char *name, const struct asuser_want *want,
                    struct mps_error *err)
{
    int fd = asuser_openat(dirfd_, name, O_RDONLY, 0, want, NULL, name, err);
    return fd >= 0 ? fd : -errno;
}

static void test_links_and_names(void **state)
{
    (void)state;
    struct mps_error err;
    mkdirat(dirfd_, "sub", 0755);
    put("sub/file", "x");
    put("plain", "x");
    assert_int_equal(symlinkat("plain", dirfd_, "link"), 0);
    assert_int_equal(symlinkat("sub", dirfd_, "dirlink"), 0);
    assert_int_equal(symlinkat("/etc/passwd", dirfd_, "abs"), 0);

    int fd = try_open("sub/file", &any_file, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(try_open("link", &any_file, &err), -ELOOP);
    assert_string_equal(err.text, "'link' is a symbolic link");
    assert_int_equal(try_open("abs", &any_file, &err), -ELOOP);
    assert_int_equal(try_open("dirlink/file", &any_file, &err), -ELOOP);
    assert_int_equal(try_open("../etc/passwd", &any_file, &err), -EXDEV);
    assert_string_equal(err.text, "'../etc/passwd' leaves its directory");
    assert_int_equal(try_open("sub/../../x", &any_file, &err), -EXDEV);
    assert_int_equal(try_open("/etc/passwd", &any_file, &err), -EXDEV);
    assert_int_equal(try_open("missing", &any_file, &err), -ENOENT);
    assert_false(asuser_transient(ELOOP));
    assert_false(asuser_transient(EINVAL));
    assert_true(asuser_transient(EACCES));
    assert_true(asuser_transient(ENOSPC));
}

/* A FIFO nobody writes to, a hard link, a directory, a size, an owner:
 * refused by what the descriptor is, never blocking. */
static void test_wanted(void **state)
{
    (void)state;
    struct mps_error err;
    assert_int_equal(mkfifoat(dirfd_, "fifo", 0600), 0);
    assert_int_equal(try_open("fifo", &any_file, &err), -EINVAL);
    assert_string_equal(err.text, "'fifo' is not a regular file");

    put("one", "12345");
    assert_int_equal(linkat(dirfd_, "one", dirfd_, "two", 0), 0);
    struct asuser_want single = {
        .type = S_IFREG, .any_owner = true, .one_link = true};
    assert_int_equal(try_open("two", &single, &err), -EINVAL);
    assert_string_equal(err.text, "'two' has 2 links (a hard link is "
                                  "refused)");
    assert_int_equal(unlinkat(dirfd_, "two", 0), 0);
    int fd = try_open("one", &single, &err);
    assert_true(fd >= 0);
    /* Back in blocking mode for the reader. */
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);

    struct asuser_want small = {
        .type = S_IFREG, .any_owner = true, .max_size = 4};
    assert_int_equal(try_open("one", &small, &err), -EINVAL);
    assert_string_equal(err.text, "'one' is 5 bytes, more than 4");
    small.max_size = 5;
    fd = try_open("one", &small, &err);
    assert_true(fd >= 0);
    close(fd);

    struct asuser_want owned = {.type = S_IFREG,
                                .owner = (uint32_t)getuid() + 1};
    assert_int_equal(try_open("one", &owned, &err), -EINVAL);
    owned.owner = (uint32_t)getuid();
    fd = try_open("one", &owned, &err);
    assert_true(fd >= 0);
    close(fd);

    mkdirat(dirfd_, "adir", 0755);
    assert_int_equal(try_open("adir", &any_file, &err), -EINVAL);
    struct asuser_want a_dir = {.type = S_IFDIR, .any_owner = true};
    fd = asuser_openat(dirfd_, "adir", O_RDONLY | O_DIRECTORY, 0, &a_dir, NULL,
                       "adir", &err);
    assert_true(fd >= 0);
    close(fd);
}

static void test_read_bounded(void **state)
{
    (void)state;
    struct mps_error err;
    char text[10001];
    memset(text, 'a', 10000);
    text[10000] = '\0';
    put("ten-k", text);
    int fd = try_open("ten-k", &any_file, &err);
    size_t len = 0;
    char *got = asuser_read(fd, 10000, &len, "ten-k", &err);
    assert_non_null(got);
    assert_int_equal(len, 10000);
    assert_string_equal(got, text);
    free(got);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_null(asuser_read(fd, 9999, &len, "ten-k", &err));
    assert_int_equal(errno, EINVAL);
    assert_string_equal(err.text, "'ten-k' is longer than 9999 bytes");
    close(fd);
}

/* A link in a tree is removed, never followed; a tree deeper than the
 * bound is refused, not a crash. */
static void test_remove_tree(void **state)
{
    (void)state;
    put("keep", "precious");
    mkdirat(dirfd_, "tree", 0755);
    mkdirat(dirfd_, "tree/a", 0500);
    assert_int_equal(symlinkat(dir, dirfd_, "tree/up"), 0);
    assert_int_equal(symlinkat("../../keep", dirfd_, "tree/keeplink"), 0);
    assert_int_equal(asuser_remove_tree(dirfd_, "tree"), 0);
    struct stat st;
    assert_int_equal(fstatat(dirfd_, "tree", &st, AT_SYMLINK_NOFOLLOW), -1);
    assert_int_equal(fstatat(dirfd_, "keep", &st, 0), 0);
    assert_int_equal(st.st_size, 8);

    /* 300 levels. */
    int at = dup(dirfd_);
    assert_int_equal(mkdirat(at, "deep", 0755), 0);
    int d = openat(at, "deep", O_RDONLY | O_DIRECTORY);
    close(at);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(mkdirat(d, "d", 0755), 0);
        int next = openat(d, "d", O_RDONLY | O_DIRECTORY);
        close(d);
        d = next;
    }
    close(d);
    assert_int_equal(asuser_remove_tree(dirfd_, "deep"), -1);
    assert_int_equal(errno, ELOOP);
    /* What is left goes with the test directory: teardown's own call
     * fails the same way, so empty it here from below. */
    char path[8192];
    int n = snprintf(path, sizeof path, "%s/deep", dir);
    for (int i = 0; i < 200; i++)
        n += snprintf(path + n, sizeof path - (size_t)n, "/d");
    int low = open(path, O_RDONLY | O_DIRECTORY);
    assert_true(low >= 0);
    assert_int_equal(asuser_remove_tree(low, "d"), 0);
    close(low);
    assert_int_equal(asuser_remove_tree(dirfd_, "deep"), 0);
}

/* ---- as root: this thread acts as uid 65534 ---- */

static const uint32_t nobody_groups[] = {65534};
static const struct asuser_id nobody = {.switch_ids = true,
                                        .uid = 65534,
                                        .gid = 65534,
                                        .ngroups = 1,
                                        .groups = nobody_groups,
                                        .umask = 022};

/* The other thread waits for this one to act as nobody, makes a file, and
 * lets this one go on. A thread starts with its creator's identity, so it
 * is started before. */
static pthread_barrier_t entered_barrier, created_barrier;

static void *create_in_thread(void *arg)
{
    pthread_barrier_wait(&entered_barrier);
    int fd =
        openat(dirfd_, (const char *)arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    pthread_barrier_wait(&created_barrier);
    return NULL;
}

static void test_enter_leave(void **state)
{
    (void)state;
    struct mps_error err;
    mkdirat(dirfd_, "shared", 0777);
    fchmodat(dirfd_, "shared", 0777, 0);
    put("secret", "root only");
    fchmodat(dirfd_, "secret", 0600, 0);

    pthread_t t;
    pthread_barrier_init(&entered_barrier, NULL, 2);
    pthread_barrier_init(&created_barrier, NULL, 2);
    assert_int_equal(
        pthread_create(&t, NULL, create_in_thread, (void *)"shared/theirs"), 0);
    assert_int_equal(asuser_enter(&nobody, &err), 0);
    /* A file made now is nobody's; root's 0600 file cannot be read. */
    int fd =
        openat(dirfd_, "shared/mine", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(openat(dirfd_, "secret", O_RDONLY | O_CLOEXEC), -1);
    assert_int_equal(errno, EACCES);
    assert_true(asuser_transient(errno));
    /* Nor can a file be made where only root may write. */
    assert_int_equal(openat(dirfd_, "roots", O_WRONLY | O_CREAT, 0644), -1);
    /* The process's other threads keep root's identity meanwhile. */
    pthread_barrier_wait(&entered_barrier);
    pthread_barrier_wait(&created_barrier);
    pthread_join(t, NULL);
    /* Not nested. */
    assert_int_equal(asuser_enter(&nobody, &err), -1);
    asuser_leave();

    struct stat st;
    assert_int_equal(fstatat(dirfd_, "shared/mine", &st, 0), 0);
    assert_int_equal(st.st_uid, 65534);
    assert_int_equal(st.st_gid, 65534);
    assert_int_equal(fstatat(dirfd_, "shared/theirs", &st, 0), 0);
    assert_int_equal(st.st_uid, 0);
    /* Root again after leave. */
    fd = openat(dirfd_, "secret", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    close(fd);
}

/* A path the user names is opened with the user's rights: root's 0600 file
 * is refused, directly or through the user's link. */
static void test_open_path_as_user(void **state)
{
    (void)state;
    struct mps_error err;
    char secret[300], link[300], readable[300];
    snprintf(secret, sizeof secret, "%s/secret2", dir);
    snprintf(link, sizeof link, "%s/shared2/link", dir);
    snprintf(readable, sizeof readable, "%s/readable", dir);
    put("secret2", "root only");
    fchmodat(dirfd_, "secret2", 0600, 0);
    put("readable", "anyone");
    mkdirat(dirfd_, "shared2", 0777);
    assert_int_equal(symlink(secret, link), 0);
    assert_int_equal(asuser_open_path(&nobody, secret, &any_file, NULL, &err),
                     -1);
    assert_int_equal(errno, EACCES);
    assert_int_equal(asuser_open_path(&nobody, link, &any_file, NULL, &err),
                     -1);
    assert_int_equal(errno, EACCES);
    int fd = asuser_open_path(&nobody, readable, &any_file, NULL, &err);
    assert_true(fd >= 0);
    close(fd);
    /* And this thread is root again. */
    fd = open(secret, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    close(fd);
}

/* Who may act on what another owns (cancel a job, drain a host): its
 * owner, root and the administrator, nobody else. */
static void test_may_act(void **state)
{
    (void)state;
    const struct {
        uint32_t requester, owner, admin;
        bool may;
    } cases[] = {
        {1001, 1001, 0, true},    /* the owner */
        {0, 1001, 0, true},       /* root */
        {1002, 1001, 0, false},   /* another user */
        {500, 1001, 500, true},   /* the administrator (rank 0's uid) */
        {1002, 1001, 500, false}, /* another user, rank 0 not root */
        {0, 1001, 500, true},     /* root, rank 0 not root */
        {1001, 500, 500, false},  /* a drain: not the administrator */
        {500, 500, 500, true},    /* a drain by the administrator */
        {0, 500, 500, true},      /* a drain by root */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(
            asuser_may_act(cases[i].requester, cases[i].owner, cases[i].admin),
            cases[i].may);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links_and_names),
        cmocka_unit_test(test_wanted),
        cmocka_unit_test(test_read_bounded),
        cmocka_unit_test(test_remove_tree),
        cmocka_unit_test(test_may_act),
    };
    const struct CMUnitTest root_tests[] = {
        cmocka_unit_test(test_enter_leave),
        cmocka_unit_test(test_open_path_as_user),
    };
    if (argc > 1 && strcmp(argv[1], "--root") == 0) {
        if (geteuid() != 0) {
            printf("test_boundary --root: SKIP: needs root (this thread "
                   "switches to another user)\n");
            return 77;
        }
        return cmocka_run_group_tests(root_tests, setup, teardown);
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
