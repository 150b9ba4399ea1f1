/* SPDX-License-Identifier: MIT */
/* Unit tests of job archives: good ones extract, hostile ones are refused
 * with their reason and write nothing outside the target directory. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "archive_safe.h"

/* TOP/arc (the archive), TOP/a/b/x (the extraction directory): a '../'
 * entry would land in TOP/a/b, TOP/a or TOP. */
static char top[] = "/tmp/mpispool-archive-XXXXXX";
static char arc[256], dest[256];

enum fmt { TAR, TAR_GZ, TAR_BZ2, TAR_XZ, TAR_ZSTD, ZIP };

struct item {
    const char *name;
    mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, ... */
    const char *data;
    const char *link; /* symlink target, or hardlink target with hard */
    bool hard;
    mode_t perm; /* 0: 0644 / 0755 */
};

/* Write items to arc in the given format; returns 0, or -1 when this
 * libarchive cannot write that format. */
static int make_archive(enum fmt fmt, const struct item *items, size_t n)
{
    struct archive *a = archive_write_new();
    assert_non_null(a);
    if (fmt == ZIP) {
        assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
    } else {
        assert_int_equal(archive_write_set_format_pax_restricted(a),
                         ARCHIVE_OK);
        int rc = ARCHIVE_OK;
        if (fmt == TAR_GZ)
            rc = archive_write_add_filter_gzip(a);
        else if (fmt == TAR_BZ2)
            rc = archive_write_add_filter_bzip2(a);
        else if (fmt == TAR_XZ)
            rc = archive_write_add_filter_xz(a);
        else if (fmt == TAR_ZSTD)
            rc = archive_write_add_filter_zstd(a);
        if (rc != ARCHIVE_OK) {
            archive_write_free(a);
            return -1;
        }
    }
    assert_int_equal(archive_write_open_filename(a, arc), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        const struct item *it = &items[i];
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, it->name);
        archive_entry_set_filetype(e, it->type);
        archive_entry_set_perm(e, it->perm               ? it->perm
                                  : it->type == AE_IFDIR ? 0755
                                                         : 0644);
        archive_entry_set_mtime(e, 1000000000, 0);
        size_t len = it->data ? strlen(it->data) : 0;
        if (it->hard) {
            archive_entry_set_hardlink(e, it->link);
            archive_entry_set_size(e, 0);
        } else if (it->type == AE_IFLNK) {
            archive_entry_set_symlink(e, it->link);
        } else if (it->type == AE_IFREG) {
            archive_entry_set_size(e, (la_int64_t)len);
        } else if (it->type == AE_IFCHR || it->type == AE_IFBLK) {
            archive_entry_set_rdev(e, makedev(1, 3));
        }
        assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
        if (len)
            assert_int_equal(archive_write_data(a, it->data, len),
                             (la_ssize_t)len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return 0;
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(top))
        return -1;
    snprintf(arc, sizeof arc, "%s/arc", top);
    snprintf(dest, sizeof dest, "%s/a/b/x", top);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    run("rm -rf '%s'", top);
    return 0;
}

/* A fresh empty dest before each test. */
static int fresh(void **state)
{
    (void)state;
    run("rm -rf '%s/a' '%s' && mkdir -p '%s'", top, arc, dest);
    return 0;
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The number of entries in directory path (without . and ..). */
static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static const struct item good[] = {
    {"d", AE_IFDIR, NULL, NULL, false, 0},
    {"d/a.txt", AE_IFREG, "hello\n", NULL, false, 0},
    {"./d/run.sh", AE_IFREG, "#!/bin/sh\n", NULL, false, 04777},
    {"d/link", AE_IFLNK, NULL, "a.txt", false, 0},
    {"d/e/up", AE_IFLNK, NULL, "../a.txt", false, 0},
    {"hard", AE_IFREG, NULL, "d/a.txt", true, 0},
    {"empty", AE_IFREG, "", NULL, false, 0},
};

static void check_good_tree(void)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/d/a.txt", dest);
    assert_string_equal(slurp(path), "hello\n");
    snprintf(path, sizeof path, "%s/d/link", dest);
    assert_string_equal(slurp(path), "hello\n");
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    snprintf(path, sizeof path, "%s/d/e/up", dest);
    assert_string_equal(slurp(path), "hello\n");
    snprintf(path, sizeof path, "%s/d/run.sh", dest);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755); /* setuid, o+w dropped */
    assert_int_equal(st.st_mtime, 1000000000);
    snprintf(path, sizeof path, "%s/hard", dest);
    assert_string_equal(slurp(path), "hello\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_nlink, 2);
    /* Nothing beside dest. */
    snprintf(path, sizeof path, "%s/a/b", top);
    assert_int_equal(count_entries(path), 1);
}

static void test_good_formats(void **state)
{
    (void)state;
    static const enum fmt fmts[] = {TAR, TAR_GZ, TAR_BZ2, TAR_XZ, TAR_ZSTD};
    static const char *const names[] = {"tar", "tar.gz", "tar.bz2", "tar.xz",
                                        "tar.zst"};
    for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
        fresh(NULL);
        if (make_archive(fmts[i], good, sizeof good / sizeof *good) < 0) {
            print_message("no writer for %s here: not tested\n", names[i]);
            continue;
        }
        struct mps_error err = {""};
        if (archive_check(arc, NULL, &err) < 0)
            fail_msg("%s: %s", names[i], err.text);
        if (archive_extract(arc, dest, NULL, &err) < 0)
            fail_msg("%s: %s", names[i], err.text);
        check_good_tree();
    }
}

static void test_good_zip(void **state)
{
    (void)state;
    fresh(NULL);
    static const struct item items[] = {
        {"in/", AE_IFDIR, NULL, NULL, false, 0},
        {"in/one.txt", AE_IFREG, "one\n", NULL, false, 0},
        {"two.txt", AE_IFREG, "two\n", NULL, false, 0},
    };
    make_archive(ZIP, items, 3);
    struct mps_error err = {""};
    if (archive_check(arc, NULL, &err) < 0)
        fail_msg("%s", err.text);
    if (archive_extract(arc, dest, NULL, &err) < 0)
        fail_msg("%s", err.text);
    char path[512];
    snprintf(path, sizeof path, "%s/in/one.txt", dest);
    assert_string_equal(slurp(path), "one\n");
    snprintf(path, sizeof path, "%s/two.txt", dest);
    assert_string_equal(slurp(path), "two\n");
}

/* From a descriptor: what was opened is what is checked and extracted,
 * whatever the name comes to mean later (here a FIFO), and the
 * descriptor's position is left as it was (a zip is read by seeking). */
static void test_from_descriptor(void **state)
{
    (void)state;
    static const enum fmt fmts[] = {TAR_GZ, ZIP};
    for (size_t i = 0; i < 2; i++) {
        fresh(NULL);
        static const struct item items[] = {
            {"kept.txt", AE_IFREG, "the first\n", NULL, false, 0},
        };
        make_archive(fmts[i], items, 1);
        int fd = open(arc, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(lseek(fd, 3, SEEK_SET), 3);
        run("rm -f '%s' && mkfifo '%s'", arc, arc);
        struct mps_error err = {""};
        int dirfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dirfd >= 0);
        if (archive_check_fd(fd, "the job's", NULL, &err) < 0 ||
            archive_extract_fd(fd, "the job's", dirfd, NULL, NULL, &err) < 0)
            fail_msg("%s", err.text);
        close(dirfd);
        assert_int_equal(lseek(fd, 0, SEEK_CUR), 3);
        char path[512];
        snprintf(path, sizeof path, "%s/kept.txt", dest);
        assert_string_equal(slurp(path), "the first\n");
        close(fd);
    }
    /* Not a regular file: refused without a read that could block. */
    int fd = open(arc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct mps_error err = {""};
    assert_int_equal(archive_check_fd(fd, "fifo", NULL, &err), -1);
    assert_string_equal(err.text, "archive 'fifo' is not a regular file");
    close(fd);
}

struct hostile {
    const char *what;
    struct item items[3];
    size_t n;
    const char *message; /* a part of the one-line refusal */
};

/* Zip has no hardlinks and no device nodes. */
static bool zip_can_hold(const struct hostile *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i].hard ||
            (c->items[i].type != AE_IFREG && c->items[i].type != AE_IFDIR &&
             c->items[i].type != AE_IFLNK))
            return false;
    return true;
}

static void test_hostile(void **state)
{
    (void)state;
    char abs_target[300];
    snprintf(abs_target, sizeof abs_target, "%s/abs", top);
    const struct hostile cases[] = {
        {"dotdot",
         {{"../../escaped", AE_IFREG, "x", NULL, false, 0}},
         1,
         "entry '../../escaped' has a '..' component"},
        {"dotdot inside",
         {{"d/../../../escaped", AE_IFREG, "x", NULL, false, 0}},
         1,
         "has a '..' component"},
        {"absolute",
         {{abs_target, AE_IFREG, "x", NULL, false, 0}},
         1,
         "has an absolute path"},
        {"symlink absolute",
         {{"l", AE_IFLNK, NULL, "/etc/passwd", false, 0}},
         1,
         "symlink 'l' has an absolute target ('/etc/passwd')"},
        {"symlink outside",
         {{"d/l", AE_IFLNK, NULL, "../../escaped", false, 0}},
         1,
         "symlink 'd/l' points outside the extraction directory"},
        {"symlink then write through it",
         {{"l", AE_IFLNK, NULL, "..", false, 0},
          {"l/escaped", AE_IFREG, "x", NULL, false, 0}},
         2,
         "symlink 'l' points outside"},
        {"write inside a symlink",
         {{"sub", AE_IFDIR, NULL, NULL, false, 0},
          {"l", AE_IFLNK, NULL, "sub", false, 0},
          {"l/escaped", AE_IFREG, "x", NULL, false, 0}},
         3,
         "entry 'l/escaped' is inside symlink 'l'"},
        {"symlink chain",
         {{"d1/d2/a", AE_IFLNK, NULL, "..", false, 0},
          {"d1/d2/y", AE_IFLNK, NULL, "a/../..", false, 0}},
         2,
         "symlink 'd1/d2/y' points outside the extraction directory"},
        {"symlink chain, defined later",
         {{"d1/d2/y", AE_IFLNK, NULL, "a/../..", false, 0},
          {"d1/d2/a", AE_IFLNK, NULL, "..", false, 0}},
         2,
         "symlink 'd1/d2/y' points outside the extraction directory"},
        {"hardlink outside",
         {{"h", AE_IFREG, NULL, "../../../arc", true, 0}},
         1,
         "hardlink 'h' points outside the extraction directory"},
        {"hardlink absolute",
         {{"h", AE_IFREG, NULL, "/etc/passwd", true, 0}},
         1,
         "hardlink 'h' points outside the extraction directory"},
        {"hardlink missing",
         {{"h", AE_IFREG, NULL, "nothere", true, 0}},
         1,
         "hardlink 'h' points to 'nothere', which is not an earlier file"},
        {"char device",
         {{"null", AE_IFCHR, NULL, NULL, false, 0}},
         1,
         "entry 'null' is a character device"},
        {"block device",
         {{"disk", AE_IFBLK, NULL, NULL, false, 0}},
         1,
         "entry 'disk' is a block device"},
        {"fifo",
         {{"pipe", AE_IFIFO, NULL, NULL, false, 0}},
         1,
         "entry 'pipe' is a FIFO"},
    };
    /* Each case as a tar.gz, and as a zip where zip can hold it. */
    for (size_t k = 0; k < 2 * sizeof cases / sizeof *cases; k++) {
        const struct hostile *c = &cases[k / 2];
        enum fmt fmt = k % 2 ? ZIP : TAR_GZ;
        if (fmt == ZIP && !zip_can_hold(c))
            continue;
        fresh(NULL);
        make_archive(fmt, c->items, c->n);
        struct mps_error err = {""};
        if (archive_check(arc, NULL, &err) == 0)
            fail_msg("%s (%s): accepted by archive_check", c->what,
                     fmt == ZIP ? "zip" : "tar.gz");
        if (!strstr(err.text, c->message) || strchr(err.text, '\n'))
            fail_msg("%s: '%s' does not say '%s'", c->what, err.text,
                     c->message);
        err.text[0] = '\0';
        if (archive_extract(arc, dest, NULL, &err) == 0)
            fail_msg("%s: extracted", c->what);
        if (!strstr(err.text, c->message))
            fail_msg("%s: extract said '%s', not '%s'", c->what, err.text,
                     c->message);
        /* Nothing outside dest: TOP holds arc and a/, a holds b/, b x/. */
        char path[512];
        assert_int_equal(count_entries(top), 2);
        snprintf(path, sizeof path, "%s/a", top);
        assert_int_equal(count_entries(path), 1);
        snprintf(path, sizeof path, "%s/a/b", top);
        assert_int_equal(count_entries(path), 1);
        struct stat st;
        assert_int_not_equal(lstat(abs_target, &st), 0);
    }
}

static void test_not_found(void **state)
{
    (void)state;
    fresh(NULL);
    struct mps_error err = {""};
    assert_int_equal(archive_check(arc, NULL, &err), -1);
    char want[400];
    snprintf(want, sizeof want, "archive '%s' not found", arc);
    assert_string_equal(err.text, want);
    assert_int_equal(archive_extract(arc, dest, NULL, &err), -1);
    assert_string_equal(err.text, want);
    /* Not an archive at all. */
    run("echo 'just text' > '%s'", arc);
    assert_int_equal(archive_check(arc, NULL, &err), -1);
    assert_non_null(strstr(err.text, "cannot read archive"));
    /* A directory. */
    assert_int_equal(archive_check(top, NULL, &err), -1);
    assert_non_null(strstr(err.text, "is not a regular file"));
}

static void test_limits(void **state)
{
    (void)state;
    struct mps_error err = {""};
    /* Entries. */
    fresh(NULL);
    struct item many[3] = {
        {"f1", AE_IFREG, "1", NULL, false, 0},
        {"f2", AE_IFREG, "2", NULL, false, 0},
        {"f3", AE_IFREG, "3", NULL, false, 0},
    };
    make_archive(TAR_GZ, many, 3);
    struct archive_limits lim = {.max_entries = 3};
    assert_int_equal(archive_check(arc, &lim, &err), 0);
    lim.max_entries = 2;
    assert_int_equal(archive_check(arc, &lim, &err), -1);
    assert_non_null(strstr(err.text, "has more than 2 entries"));
    assert_int_equal(archive_extract(arc, dest, &lim, &err), -1);
    assert_non_null(strstr(err.text, "has more than 2 entries"));

    /* Bytes, over several files. */
    fresh(NULL);
    char *big = malloc(601);
    memset(big, 'x', 600);
    big[600] = '\0';
    struct item sized[2] = {
        {"b1", AE_IFREG, big, NULL, false, 0},
        {"b2", AE_IFREG, big, NULL, false, 0},
    };
    make_archive(ZIP, sized, 2);
    lim = (struct archive_limits){.max_bytes = 1200};
    assert_int_equal(archive_check(arc, &lim, &err), 0);
    lim.max_bytes = 1000;
    assert_int_equal(archive_check(arc, &lim, &err), -1);
    assert_non_null(strstr(err.text, "extracts to more than 1000"));
    assert_int_equal(archive_extract(arc, dest, &lim, &err), -1);
    assert_non_null(strstr(err.text, "extracts to more than 1000"));
    free(big);
}

/* A tar.gz of one file of zeros: counted as it decompresses, refused by
 * the ratio long before its end. */
static void test_ratio(void **state)
{
    (void)state;
    fresh(NULL);
    size_t len = 64u << 20;
    char *zeros = malloc(len + 1);
    assert_non_null(zeros);
    memset(zeros, '0', len);
    zeros[len] = '\0';
    struct item bomb[1] = {{"zeros", AE_IFREG, zeros, NULL, false, 0}};
    make_archive(TAR_GZ, bomb, 1);
    free(zeros);
    struct stat st;
    assert_int_equal(stat(arc, &st), 0);
    assert_true(st.st_size < (off_t)(len / 500)); /* gzip: about 1:1000 */
    struct mps_error err = {""};
    assert_int_equal(archive_check(arc, NULL, &err), -1);
    if (!strstr(err.text, "expands more than 200 times"))
        fail_msg("%s", err.text);
    assert_int_equal(archive_extract(arc, dest, NULL, &err), -1);
    assert_non_null(strstr(err.text, "expands more than 200 times"));
    /* Refused after about 16 MiB, not 64. */
    char path[512];
    snprintf(path, sizeof path, "%s/zeros", dest);
    if (stat(path, &st) == 0 &&
        st.st_blocks * 512 > (off_t)(ARCHIVE_RATIO_AFTER + (1u << 20)))
        fail_msg("wrote %lld bytes", (long long)st.st_blocks * 512);
    /* A higher limit lets it through. */
    struct archive_limits lim = {.max_ratio = 100000};
    if (archive_check(arc, &lim, &err) < 0)
        fail_msg("%s", err.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_formats),
        cmocka_unit_test(test_good_zip),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_ratio),
        cmocka_unit_test(test_from_descriptor),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
