/* SPDX-License-Identifier: MIT */
/* Unit tests of the names of a job's files in SPOOL/out/JOBID/: rank 0
 * writes and the CLI reads them by these names, so they must not move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "outpaths.h"
#include "spool.h"

static void test_task_names(void **state)
{
    (void)state;
    char buf[OUT_NAME_LEN];
    assert_string_equal(out_task_name(7, OUT_STDOUT, buf, sizeof buf), "7.out");
    assert_string_equal(out_task_name(7, OUT_STDERR, buf, sizeof buf), "7.err");
    assert_string_equal(out_task_name(7, OUT_RECORD, buf, sizeof buf),
                        "7.json");
    assert_string_equal(out_task_name(UINT64_MAX, OUT_RECORD, buf, sizeof buf),
                        "18446744073709551615.json");
    char *path = out_task_path("/s/out/20261124-0001", 12, OUT_STDERR);
    assert_string_equal(path, "/s/out/20261124-0001/12.err");
    free(path);
    assert_string_equal(OUT_RECORDS, "records.jsonl");
    assert_string_equal(OUT_REPORT, "report.json");
}

static void test_spool_paths(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_outpaths.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct mps_error err;
    char spool_dir[64];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", dir);
    assert_int_equal(spool_init(spool_dir, &err), 0);
    struct spool *sp = spool_open(spool_dir, &err);
    assert_non_null(sp);
    char want[128];
    char *path = out_file(sp, "j-1", OUT_REPORT);
    snprintf(want, sizeof want, "%s/out/j-1/report.json", spool_path(sp));
    assert_string_equal(path, want);
    free(path);
    path = out_file(sp, "j-1", NULL);
    snprintf(want, sizeof want, "%s/out/j-1", spool_path(sp));
    assert_string_equal(path, want);
    free(path);
    path = out_task_file(sp, "j-1", 3, OUT_STDOUT);
    snprintf(want, sizeof want, "%s/out/j-1/3.out", spool_path(sp));
    assert_string_equal(path, want);
    free(path);
    spool_close(sp);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_names),
        cmocka_unit_test(test_spool_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
