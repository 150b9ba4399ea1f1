/* SPDX-License-Identifier: MIT */
/* Unit tests of the journal's line format and batched syncs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"
#include "util.h"

static void test_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/mpispool-journal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct mps_error err;
    struct journal *jr = journal_open(path, &err);
    assert_non_null(jr);
    assert_int_equal(journal_start(jr, "j1", 0, 1, 2), 0);
    assert_int_equal(journal_end(jr, "j1", 0, 1, 1), 0);
    assert_int_equal(journal_start(jr, "j1", 1, 1, 3), 0);
    assert_int_equal(journal_end(jr, "j1", 1, 1, 0), 0);
    assert_int_equal(journal_job(jr, "j1", "failed"), 0);
    assert_int_equal(journal_sync(jr, &err), 0);
    assert_int_equal(journal_sync(jr, &err), 0); /* nothing new: no-op */
    journal_close(jr);
    /* Appends survive a reopen. */
    jr = journal_open(path, &err);
    assert_int_equal(journal_start(jr, "j2", 5, 2, 1), 0);
    journal_close(jr);

    FILE *f = fopen(path, "r");
    char line[256];
    const char *prefix[] = {"S j1 0 1 2 ", "E j1 0 1 1 ",  "S j1 1 1 3 ",
                            "E j1 1 1 0 ", "J j1 failed ", "S j2 5 2 1 "};
    for (int i = 0; i < 6; i++) {
        assert_non_null(fgets(line, sizeof line, f));
        assert_int_equal(strncmp(line, prefix[i], strlen(prefix[i])), 0);
        /* A time stamp in microseconds ends the line. */
        long long t = atoll(line + strlen(prefix[i]));
        assert_true(t > 1700000000LL * 1000000);
    }
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    unlink(path);
    assert_null(journal_open("/nonexistent/dir/j.log", &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lines)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
