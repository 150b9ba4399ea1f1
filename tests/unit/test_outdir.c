/* SPDX-License-Identifier: MIT */
/* Unit tests of a job's output directory: files made afresh (never through
 * what was at the name), records and report read back bounded; run with
 * --root, made as another user with that user's umask (a ctest entry of
 * its own, skipped unless root). */
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

#include "jobreport.h"
#include "outdir.h"
#include "util.h"

/* The head of the reports written here (jobreport_print). */
static const struct job_report report = {.job = "j1", .state = "done"};
#define REPORT_HEAD                                                            \
    "{\"job\":\"j1\",\"name\":null,\"state\":\"done\",\"submitted\":null,"     \
    "\"started\":null,\"ended\":\"1970-01-01T00:00:00.000000Z\",\"counts\":"   \
    "{\"tasks\":0,\"succeeded\":0,\"failed\":0,\"cancelled\":0},"              \
    "\"reason\":null,"

/* TOP/out is rank 0's out/; TOP/precious a file links point to. */
static char top[] = "/tmp/mpispool-outdir-XXXXXX";
static char out[256], precious[256];
static int outfd = -1;

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(top) || chmod(top, 0755) < 0)
        return -1;
    snprintf(out, sizeof out, "%s/out", top);
    snprintf(precious, sizeof precious, "%s/precious", top);
    struct mps_error err;
    if (mkdir(out, 0755) < 0 ||
        util_write_file(precious, "precious", 8, 0, &err) < 0 ||
        chmod(precious, 0600) < 0)
        return -1;
    outfd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return outfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    close(outfd);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    return system(cmd) == 0 ? 0 : -1;
}

/* TOP/out/ID/NAME */
static const char *in_job(const char *id, const char *name)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s/%s", out, id, name);
    return path;
}

/* The whole content of path, "" when unreadable (malloc'd, 1 MiB at most). */
static char *content(const char *path)
{
    size_t len;
    struct mps_error err;
    char *text = util_read_file(path, 1 << 20, &len, &err);
    return text ? text : strdup("");
}

static void assert_content(const char *path, const char *want)
{
    char *got = content(path);
    assert_string_equal(got, want);
    free(got);
}

static struct stat stat_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st;
}

static const struct asuser_id as_this = {.switch_ids = false, .umask = 022};

/* Two records, a report of them; empty outputs share one empty file. */
static void test_records_and_report(void **state)
{
    (void)state;
    struct mps_error err;
    struct outdir *od = outdir_open(outfd, out, "j1", &as_this, false, &err);
    if (!od)
        fail_msg("%s", err.text);
    assert_false(outdir_as_owner(od));
    assert_int_equal(outdir_append_record(od, "{\"task\":0}"), 0);
    assert_int_equal(outdir_append_record(od, "{\"task\":1}"), 0);
    assert_int_equal(outdir_write(od, "0.json", "{\"task\":0}", 10, &err), 0);
    assert_int_equal(outdir_empty(od, "0.out"), 0);
    assert_int_equal(outdir_empty(od, "1.out"), 0);
    assert_int_equal(outdir_write_report(od, &report, &err), 0);
    assert_content(in_job("j1", "report.json"),
                   REPORT_HEAD "\"tasks\":[{\"task\":0},{\"task\":1}]}\n");
    assert_content(in_job("j1", "0.json"), "{\"task\":0}");
    struct stat a = stat_of(in_job("j1", "0.out")),
                b = stat_of(in_job("j1", "1.out"));
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_size, 0);
    assert_int_equal(stat_of(in_job("j1", "0.json")).st_mode & 0777, 0644);
    assert_int_equal(stat_of(in_job("j1", ".")).st_mode & 0777, 0755);
    /* No temporary file is left. */
    assert_int_equal(access(in_job("j1", ".report.json.tmp"), F_OK), -1);
    assert_int_equal(access(in_job("j1", ".0.json.tmp"), F_OK), -1);
    outdir_close(od);
}

/* What a task of the job's owner may leave at a name (a link to another
 * file, a directory, a FIFO) is replaced, never written through nor
 * waited on. */
static void test_planted(void **state)
{
    (void)state;
    struct mps_error err;
    struct outdir *od = outdir_open(outfd, out, "j2", &as_this, false, &err);
    if (!od)
        fail_msg("%s", err.text);
    assert_int_equal(symlink(precious, in_job("j2", "0.out")), 0);
    assert_int_equal(link(precious, in_job("j2", "0.err")), 0);
    assert_int_equal(symlink(precious, in_job("j2", ".0.json.tmp")), 0);
    assert_int_equal(mkfifo(in_job("j2", "1.out"), 0600), 0);
    assert_int_equal(mkdir(in_job("j2", "1.err"), 0700), 0);
    assert_int_equal(symlink(precious, in_job("j2", "1.err/x")), 0);
    int fd = outdir_create(od, "0.out");
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "new", 3), 3);
    close(fd);
    assert_int_equal(outdir_empty(od, "0.err"), 0);
    assert_int_equal(outdir_write(od, "0.json", "rec", 3, &err), 0);
    fd = outdir_create(od, "1.out");
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(outdir_empty(od, "1.err"), 0);
    assert_content(precious, "precious");
    assert_content(in_job("j2", "0.out"), "new");
    assert_content(in_job("j2", "0.json"), "rec");
    assert_true(S_ISREG(stat_of(in_job("j2", "1.out")).st_mode));
    assert_true(S_ISREG(stat_of(in_job("j2", "1.err")).st_mode));
    assert_int_equal(stat_of(precious).st_nlink, 1);
    outdir_close(od);
}

/* Taken over after a crash: a torn last line is cut; what follows the
 * first over-long line is not read; a file of holes is not read. */
static void test_scan(void **state)
{
    (void)state;
    struct mps_error err;
    struct outdir *od = outdir_open(outfd, out, "j3", &as_this, false, &err);
    assert_non_null(od);
    outdir_close(od);
    const char *records = in_job("j3", "records.jsonl");
    assert_int_equal(util_write_file(records, "a\nb\ntorn", 8, 0, &err), 0);
    od = outdir_open(outfd, out, "j3", &as_this, true, &err);
    assert_non_null(od);
    assert_int_equal(outdir_scan_records(od, NULL, NULL), 2);
    assert_int_equal(outdir_append_record(od, "c"), 0);
    assert_content(records, "a\nb\nc\n");
    outdir_close(od);

    char *big = malloc(OUTDIR_MAX_LINE + 16);
    memset(big, 'x', OUTDIR_MAX_LINE + 8);
    memcpy(big, "a\n", 2);
    memcpy(big + OUTDIR_MAX_LINE + 6, "\nz\n", 3);
    big[OUTDIR_MAX_LINE + 9] = '\0';
    assert_int_equal(util_write_file(records, big, strlen(big), 0, &err), 0);
    free(big);
    od = outdir_open(outfd, out, "j3", &as_this, true, &err);
    assert_int_equal(outdir_scan_records(od, NULL, NULL), 1);
    assert_int_equal(outdir_write_report(od, &report, &err), 0);
    assert_content(in_job("j3", "report.json"), REPORT_HEAD "\"tasks\":[a]}\n");
    outdir_close(od);

    /* 64 GiB of holes with a line at the end. */
    int fd = open(records, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "q\n", 2, (off_t)64 << 30), 2);
    close(fd);
    od = outdir_open(outfd, out, "j3", &as_this, true, &err);
    assert_int_equal(outdir_scan_records(od, NULL, NULL), 0);
    assert_int_equal(stat_of(records).st_size, 0);
    outdir_close(od);
}

/* The report holds what rank 0 appended, whatever was written into
 * records.jsonl since (the job's tasks own the file). */
static void test_report_bounded(void **state)
{
    (void)state;
    struct mps_error err;
    struct outdir *od = outdir_open(outfd, out, "j4", &as_this, false, &err);
    assert_non_null(od);
    assert_int_equal(outdir_append_record(od, "{\"task\":0}"), 0);
    int fd = open(in_job("j4", "records.jsonl"), O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"forged\":1}\n", 13), 13);
    close(fd);
    assert_int_equal(outdir_write_report(od, &report, &err), 0);
    assert_content(in_job("j4", "report.json"),
                   REPORT_HEAD "\"tasks\":[{\"task\":0}]}\n");
    outdir_close(od);
}

/* ---- as root: the files are made as uid 65534 ---- */

static const uint32_t nobody_groups[] = {65534};

static struct asuser_id nobody(unsigned mask)
{
    return (struct asuser_id){.switch_ids = true,
                              .uid = 65534,
                              .gid = 65534,
                              .ngroups = 1,
                              .groups = nobody_groups,
                              .umask = mask};
}

/* Every file in out/ID, and out/ID itself, are the owner's, with modes
 * from the owner's umask (077: nobody else may read; 002: the group may
 * write); root's own umask plays no part. */
static void test_as_owner(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        unsigned mask;
        mode_t dir, file;
    } cases[] = {{"u077", 077, 0700, 0600}, {"u002", 002, 0775, 0664}};
    mode_t old = umask(027);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *id = cases[i].id;
        const struct asuser_id who = nobody(cases[i].mask);
        struct mps_error err;
        struct outdir *od = outdir_open(outfd, out, id, &who, false, &err);
        if (!od)
            fail_msg("%s", err.text);
        assert_true(outdir_as_owner(od));
        assert_int_equal(outdir_enter(od), 0); /* a batch, nested below */
        int fd = outdir_create(od, "0.out");
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(outdir_empty(od, "0.err"), 0);
        assert_int_equal(outdir_write(od, "0.json", "{}", 2, &err), 0);
        assert_int_equal(outdir_append_record(od, "{}"), 0);
        outdir_leave(od);
        assert_int_equal(outdir_write_report(od, &report, &err), 0);
        struct stat st = stat_of(in_job(id, "."));
        assert_int_equal(st.st_uid, 65534);
        assert_int_equal(st.st_mode & 0777, cases[i].dir);
        static const char *const names[] = {"0.out",       "0.err",
                                            "0.json",      "records.jsonl",
                                            "report.json", ".empty.0"};
        for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
            st = stat_of(in_job(id, names[n]));
            assert_int_equal(st.st_uid, 65534);
            assert_int_equal(st.st_gid, 65534);
            assert_int_equal(st.st_mode & 0777, cases[i].file);
        }
        /* And this thread is root again. */
        assert_int_equal(umask(027), 027);
        fd = open(precious, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        close(fd);
        outdir_close(od);
    }
    umask(old);
}

/* A link the owner planted is followed, if at all, with the owner's
 * rights only: root's 0600 file is neither read nor written. */
static void test_owner_link(void **state)
{
    (void)state;
    const struct asuser_id who = nobody(022);
    struct mps_error err;
    struct outdir *od = outdir_open(outfd, out, "links", &who, false, &err);
    assert_non_null(od);
    assert_int_equal(symlink(precious, in_job("links", "report.json")), 0);
    assert_int_equal(outdir_write_report(od, &report, &err), 0);
    assert_content(precious, "precious");
    assert_int_equal(stat_of(in_job("links", "report.json")).st_uid, 65534);
    outdir_close(od);
    /* out/ID of another user is refused, not taken over. */
    assert_int_equal(mkdirat(outfd, "theirs", 0700), 0);
    assert_int_equal(fchownat(outfd, "theirs", 4242, 4242, 0), 0);
    assert_null(outdir_open(outfd, out, "theirs", &who, false, &err));
    assert_non_null(strstr(err.text, "belongs to uid 4242"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_and_report),
        cmocka_unit_test(test_planted),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_report_bounded),
    };
    const struct CMUnitTest root_tests[] = {
        cmocka_unit_test(test_as_owner),
        cmocka_unit_test(test_owner_link),
    };
    if (argc > 1 && strcmp(argv[1], "--root") == 0) {
        if (geteuid() != 0) {
            printf("test_outdir --root: SKIP: needs root (files are made as "
                   "another user)\n");
            return 77;
        }
        return cmocka_run_group_tests(root_tests, setup, teardown);
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
