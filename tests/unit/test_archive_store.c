/* SPDX-License-Identifier: MIT */
/* Unit tests of a worker's archive store: chunks in order make the file,
 * anything else makes the job's archive unusable with a reason; what was
 * at the file's name (a link) is never written through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "archive_store.h"

static char top[] = "/tmp/mpispool-store-XXXXXX";
static char dir[256];
static int dirfd_ = -1;

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(top))
        return -1;
    /* The rank's private directory. */
    snprintf(dir, sizeof dir, "%s/rank1", top);
    if (mkdir(dir, 0700) < 0)
        return -1;
    dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return dirfd_ < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    close(dirfd_);
    rmdir(dir);
    return rmdir(top);
}

/* The whole content of path (at most 63 bytes), or "" when unreadable. */
static const char *content(const char *path)
{
    static char buf[64];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
        fclose(f);
    }
    return buf;
}

static void test_chunks(void **state)
{
    (void)state;
    struct archive_store *st = archive_store_create(dirfd_, dir);
    assert_non_null(st);
    struct mps_error err = {""};
    char data[10] = "0123456789";

    /* In order: complete, the file holds the bytes. */
    assert_int_equal(archive_store_chunk(st, "job-a", 10, 0, data, 4), 0);
    assert_null(archive_store_path(st, "job-a", &err));
    assert_string_equal(
        err.text, "the archive of job job-a reached this rank incomplete");
    assert_int_equal(archive_store_chunk(st, "job-a", 10, 4, data + 4, 6), 0);
    const char *path = archive_store_path(st, "job-a", &err);
    assert_non_null(path);
    char want[300];
    snprintf(want, sizeof want, "%s/job-a.archive", dir);
    assert_string_equal(path, want);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char got[16] = "";
    assert_int_equal(fread(got, 1, sizeof got, f), 10);
    fclose(f);
    assert_memory_equal(got, data, 10);

    /* Never sent. */
    assert_null(archive_store_path(st, "job-b", &err));
    assert_string_equal(err.text,
                        "the archive of job job-b did not reach this rank");

    /* A gap, then a chunk past the total: unusable until sent again. */
    assert_int_equal(archive_store_chunk(st, "job-c", 10, 0, data, 4), 0);
    assert_int_equal(archive_store_chunk(st, "job-c", 10, 6, data, 4), -1);
    assert_null(archive_store_path(st, "job-c", &err));
    assert_non_null(strstr(err.text, "came out of order"));
    assert_int_equal(archive_store_chunk(st, "job-c", 10, 4, data, 6), -1);
    assert_int_equal(archive_store_chunk(st, "job-c", 10, 0, data, 10), 0);
    assert_non_null(archive_store_path(st, "job-c", &err));
    assert_int_equal(archive_store_chunk(st, "job-d", 4, 0, data, 5), -1);
    assert_null(archive_store_path(st, "job-d", &err));

    /* An empty archive is complete at once. */
    assert_int_equal(archive_store_chunk(st, "job-e", 0, 0, data, 0), 0);
    assert_non_null(archive_store_path(st, "job-e", &err));

    /* No file names from what is no job id. */
    assert_int_equal(archive_store_chunk(st, "../x", 1, 0, data, 1), -1);
    assert_int_equal(archive_store_chunk(st, ".hidden", 1, 0, data, 1), -1);

    /* Destroy removes every file (and teardown's rmdir then works). */
    archive_store_destroy(st);
    struct stat sb;
    assert_int_not_equal(stat(want, &sb), 0);
}

/* A symbolic link or a hard link at a job's archive name (someone who
 * could write in the directory, or an earlier run's file): the archive is
 * a new file of its own, the link's target is left as it was. */
static void test_planted(void **state)
{
    (void)state;
    char target[300], sym[300], hard[300];
    snprintf(target, sizeof target, "%s/precious", top);
    snprintf(sym, sizeof sym, "%s/job-s.archive", dir);
    snprintf(hard, sizeof hard, "%s/job-h.archive", dir);
    FILE *f = fopen(target, "w");
    assert_non_null(f);
    fputs("precious", f);
    fclose(f);
    assert_int_equal(symlink(target, sym), 0);
    assert_int_equal(link(target, hard), 0);
    struct archive_store *st = archive_store_create(dirfd_, dir);
    assert_non_null(st);
    struct mps_error err;
    assert_int_equal(archive_store_chunk(st, "job-s", 3, 0, "new", 3), 0);
    assert_int_equal(archive_store_chunk(st, "job-h", 3, 0, "new", 3), 0);
    assert_string_equal(content(target), "precious");
    struct stat sb;
    assert_int_equal(lstat(sym, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_nlink, 1);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_string_equal(content(archive_store_path(st, "job-s", &err)), "new");
    assert_string_equal(content(archive_store_path(st, "job-h", &err)), "new");
    archive_store_destroy(st);
    assert_string_equal(content(target), "precious");
    unlink(target);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_planted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
