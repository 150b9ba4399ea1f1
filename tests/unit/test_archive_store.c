/* SPDX-License-Identifier: MIT */
/* Unit tests of a worker's archive store: chunks in order make the file,
 * anything else makes the job's archive unusable with a reason. */
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

#include "archive_store.h"

static char top[] = "/tmp/mpispool-store-XXXXXX";
static char dir[256];

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(top))
        return -1;
    /* Not there yet: the store creates it with the first chunk. */
    snprintf(dir, sizeof dir, "%s/rank1", top);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rmdir(dir);
    return rmdir(top);
}

static void test_chunks(void **state)
{
    (void)state;
    struct archive_store *st = archive_store_create(dir);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
