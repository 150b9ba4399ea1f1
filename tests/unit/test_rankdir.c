/* SPDX-License-Identifier: MIT */
/* Unit tests of a rank's private directory: a new mkdtemp name each time,
 * never one made before by someone else, in a place only its user may
 * write; 0711 for root (tasks pass through), 0700 otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rankdir.h"

static char top[] = "/tmp/mpispool-rankdir-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(top) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    return system(cmd) == 0 ? 0 : -1;
}

static mode_t expected_mode(void)
{
    return geteuid() == 0 ? 0711 : 0700;
}

/* Directory dir/NAME, or fail. */
static void make_in(const char *dir, const char *name, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(mkdir(path, mode), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* With --workdir (made when missing): a fresh directory each time, never
 * the name someone made first (the old predictable one), removed by
 * rankdir_remove. */
static void test_workdir(void **state)
{
    (void)state;
    char workdir[300], planted[400];
    snprintf(workdir, sizeof workdir, "%s/work/sub", top);
    struct rankdir a, b;
    struct mps_error err;
    assert_int_equal(rankdir_create(workdir, 3, &a, &err), 0);
    snprintf(planted, sizeof planted, "%s/mpispool-rank3-%d", workdir,
             (int)getpid());
    mkdir(planted, 0777);
    assert_int_equal(rankdir_create(workdir, 3, &b, &err), 0);
    assert_string_not_equal(a.path, b.path);
    assert_string_not_equal(a.path, planted);
    assert_string_not_equal(b.path, planted);
    assert_int_equal(strncmp(a.path, workdir, strlen(workdir)), 0);
    assert_non_null(strstr(a.path, "/mpispool-rank3-"));
    struct stat st;
    assert_int_equal(fstat(a.fd, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_uid, geteuid());
    assert_int_equal(st.st_mode & 07777, expected_mode());
    char path[400];
    snprintf(path, sizeof path, "%s", a.path);
    rankdir_remove(&a);
    rankdir_remove(&b);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(a.fd, -1);
    rmdir(planted);
}

/* Without --workdir: root's go under RANKDIR_RUN (root's, 0711), anyone
 * else's under $XDG_RUNTIME_DIR when that is theirs alone, else
 * $TMPDIR. */
static void test_default_place(void **state)
{
    (void)state;
    char tmp[300], xdg[300];
    snprintf(tmp, sizeof tmp, "%s/tmp", top);
    snprintf(xdg, sizeof xdg, "%s/xdg", top);
    make_in(top, "tmp", 01777);
    make_in(top, "xdg", 0700);
    setenv("TMPDIR", tmp, 1);
    setenv("XDG_RUNTIME_DIR", xdg, 1);
    struct rankdir rd;
    struct mps_error err;
    assert_int_equal(rankdir_create(NULL, 0, &rd, &err), 0);
    const char *want = geteuid() == 0 ? RANKDIR_RUN : xdg;
    assert_int_equal(strncmp(rd.path, want, strlen(want)), 0);
    if (geteuid() == 0) {
        struct stat st;
        assert_int_equal(stat(RANKDIR_RUN, &st), 0);
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(st.st_mode & 07777, 0711);
    }
    rankdir_remove(&rd);
    /* An XDG_RUNTIME_DIR others may write is passed over (as root it
     * is not looked at while RANKDIR_RUN serves). */
    chmod(xdg, 0777);
    assert_int_equal(rankdir_create(NULL, 0, &rd, &err), 0);
    want = geteuid() == 0 ? RANKDIR_RUN : tmp;
    assert_int_equal(strncmp(rd.path, want, strlen(want)), 0);
    assert_string_not_equal(rd.path, xdg);
    rankdir_remove(&rd);
    unsetenv("TMPDIR");
    unsetenv("XDG_RUNTIME_DIR");
}

/* Only a directory of the given user's that nobody else may write, and
 * not through a symbolic link. */
static void test_private(void **state)
{
    (void)state;
    char path[300], link[300];
    make_in(top, "mine", 0700);
    make_in(top, "group", 0770);
    make_in(top, "sticky", 01777);
    snprintf(path, sizeof path, "%s/mine", top);
    assert_true(rankdir_private(path, geteuid()));
    assert_false(rankdir_private(path, geteuid() + 1));
    snprintf(link, sizeof link, "%s/link", top);
    assert_int_equal(symlink(path, link), 0);
    assert_false(rankdir_private(link, geteuid()));
    snprintf(path, sizeof path, "%s/group", top);
    assert_false(rankdir_private(path, geteuid()));
    snprintf(path, sizeof path, "%s/sticky", top);
    assert_false(rankdir_private(path, geteuid()));
    snprintf(path, sizeof path, "%s/none", top);
    assert_false(rankdir_private(path, geteuid()));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workdir),
        cmocka_unit_test(test_default_place),
        cmocka_unit_test(test_private),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
