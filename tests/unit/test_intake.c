/* SPDX-License-Identifier: MIT */
/* Unit tests of rank 0's intake: junk, round-robin order, listing, the
 * look cache. */
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
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "intake.h"
#include "jobfile.h"

static struct stat file_stat(mode_t type, nlink_t links, off_t size)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = type | 0644;
    st.st_nlink = links;
    st.st_size = size;
    return st;
}

/* What is no job file is told from its name and stat alone. */
static void test_junk(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        mode_t type;
        nlink_t links;
        off_t size;
        const char *reason; /* NULL: a candidate */
    } cases[] = {
        {"a.json", S_IFREG, 1, 10, NULL},
        {"a.json", S_IFREG, 1, JOBFILE_MAX_BYTES, NULL},
        {"a.json", S_IFREG, 1, JOBFILE_MAX_BYTES + 1,
         "job file is larger than 16 MiB"},
        {"a.json", S_IFREG, 2, 10, "job file is a hard link: refused"},
        {"a.json", S_IFLNK, 1, 10, "job file is a symbolic link: refused"},
        {"a.json", S_IFDIR, 2, 4096, "job file is not a regular file: refused"},
        {"a.json", S_IFIFO, 1, 0, "job file is not a regular file: refused"},
        {"a.json", S_IFCHR, 1, 0, "job file is not a regular file: refused"},
        {"a.json", S_IFREG, 1, 0, "invalid JSON at line 1"},
        {"a", S_IFREG, 1, 10, "job file name must end in '.json'"},
        {"a b.json", S_IFREG, 1, 10, "job id must be 1 to 64 characters"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaa.json",
         S_IFREG, 1, 10, "job file name is too long"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct stat st =
            file_stat(cases[i].type, cases[i].links, cases[i].size);
        char buf[256];
        const char *why = intake_junk(cases[i].name, &st, buf, sizeof buf);
        if (!cases[i].reason) {
            assert_null(why);
            continue;
        }
        assert_non_null(why);
        if (strncmp(why, cases[i].reason, strlen(cases[i].reason)) != 0)
            fail_msg("case %zu: '%s', want '%s'", i, why, cases[i].reason);
    }
}

static void list_add(struct intake_list *l, const char *name, uid_t owner)
{
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    assert_non_null(l->v);
    l->v[l->n].name = strdup(name);
    memset(&l->v[l->n].st, 0, sizeof l->v[l->n].st);
    l->v[l->n].st.st_uid = owner;
    l->n++;
}

/* The names in the order intake_order gives, space-separated. */
static void ordered(const struct intake_list *l, uid_t after, char *out,
                    size_t len)
{
    size_t order[32];
    assert_true(l->n <= 32);
    intake_order(l, after, order);
    out[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        strncat(out, l->v[order[i]].name, len - strlen(out) - 1);
        if (i + 1 < l->n)
            strncat(out, " ", len - strlen(out) - 1);
    }
}

/* One file of each owner per round, each owner's in name order, starting
 * after the owner served last; one user's flood comes after everyone
 * else's first file. */
static void test_round_robin(void **state)
{
    (void)state;
    struct intake_list l = {0};
    list_add(&l, "c", 1000);
    list_add(&l, "r2", 0);
    list_add(&l, "a", 1000);
    list_add(&l, "x", 1001);
    list_add(&l, "b", 1000);
    list_add(&l, "r1", 0);
    char got[256];
    ordered(&l, 1000, got, sizeof got);
    assert_string_equal(got, "x r1 a r2 b c");
    ordered(&l, 0, got, sizeof got);
    assert_string_equal(got, "a x r1 b r2 c");
    ordered(&l, 5000, got, sizeof got); /* past the last: wraps */
    assert_string_equal(got, "r1 a x r2 b c");
    intake_list_free(&l);

    /* One owner: plain name order. */
    list_add(&l, "2", 7);
    list_add(&l, "1", 7);
    list_add(&l, "3", 7);
    ordered(&l, 7, got, sizeof got);
    assert_string_equal(got, "1 2 3");
    intake_list_free(&l);

    /* A flood of 20 files of eve's (sorted first) and bob's one file. */
    char name[16];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "0junk-%02d", i);
        list_add(&l, name, 1002);
    }
    list_add(&l, "zz-bob", 1001);
    ordered(&l, 1002, got, sizeof got);
    assert_memory_equal(got, "zz-bob 0junk-00", 15);
    ordered(&l, 1001, got, sizeof got);
    assert_memory_equal(got, "0junk-00 zz-bob 0junk-01", 24);
    intake_list_free(&l);
}

/* Listing: dot files left out; with settle, names changed in the last two
 * seconds too, unless announced; the stat is the name's own (a link's). */
static void test_list_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/mpispool-intake-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    const char *names[] = {"old.json", "fresh.json", "told.json", ".tmp"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int fd = open(path, O_WRONLY | O_CREAT, 0644);
        assert_true(fd >= 0);
        close(fd);
    }
    snprintf(path, sizeof path, "%s/old.json", dir);
    struct timeval old[2] = {{1000000000, 0}, {1000000000, 0}};
    assert_int_equal(utimes(path, old), 0);
    snprintf(path, sizeof path, "%s/link.json", dir);
    assert_int_equal(symlink("/nonexistent", path), 0);
    assert_int_equal(lutimes(path, old), 0);

    int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct intake_announced told = {0};
    intake_announce(&told, "told.json");
    struct intake_list l = {0};
    assert_int_equal(intake_list_dir(dirfd, &told, true, time(NULL), &l), 0);
    size_t order[8];
    intake_order(&l, 0, order);
    char got[256] = "";
    for (size_t i = 0; i < l.n; i++) {
        strcat(got, l.v[order[i]].name);
        strcat(got, " ");
        if (strcmp(l.v[order[i]].name, "link.json") == 0)
            assert_true(S_ISLNK(l.v[order[i]].st.st_mode));
    }
    assert_string_equal(got, "link.json old.json told.json ");
    intake_list_free(&l);
    /* Without settle, everything but dot files. */
    assert_int_equal(intake_list_dir(dirfd, &told, false, time(NULL), &l), 0);
    assert_int_equal(l.n, 4);
    intake_list_free(&l);
    intake_announced_clear(&told);
    close(dirfd);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static struct stat key(dev_t dev, ino_t ino, off_t size, time_t mtime)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_dev = dev;
    st.st_ino = ino;
    st.st_size = size;
    st.st_mtim.tv_sec = mtime;
    return st;
}

/* A file that did not change (device, inode, size, mtime) is not read
 * again; one that changed is; the cache stays within its bound, making
 * room from files no longer seen. */
static void test_cache(void **state)
{
    (void)state;
    struct intake_cache *c = intake_cache_create(4);
    assert_non_null(c);
    struct stat a = key(1, 10, 100, 5), b = key(1, 11, 100, 5);
    struct intake_look low = {true, -20}, bad = {false, 0};
    assert_null(intake_cache_get(c, &a));
    intake_cache_put(c, &a, &low);
    intake_cache_put(c, &b, &bad);
    const struct intake_look *got = intake_cache_get(c, &a);
    assert_non_null(got);
    assert_true(got->valid);
    assert_int_equal(got->priority, -20);
    assert_false(intake_cache_get(c, &b)->valid);
    /* Same inode, another device; same file, changed. */
    struct stat other_dev = key(2, 10, 100, 5);
    assert_null(intake_cache_get(c, &other_dev));
    struct stat grown = key(1, 10, 101, 5), touched = key(1, 10, 100, 6);
    assert_null(intake_cache_get(c, &grown));
    assert_null(intake_cache_get(c, &touched));
    intake_cache_put(c, &touched, &bad); /* replaces a's old state */
    assert_int_equal(intake_cache_size(c), 2);
    assert_false(intake_cache_get(c, &touched)->valid);

    /* Full: files not seen since the last sweep make room. */
    intake_cache_sweep(c);
    for (ino_t i = 20; i < 22; i++) {
        struct stat st = key(1, i, 1, 1);
        intake_cache_put(c, &st, &low);
    }
    assert_int_equal(intake_cache_size(c), 4);
    intake_cache_mark(c, &touched); /* still in new/; b is gone */
    struct stat more = key(1, 30, 1, 1);
    intake_cache_put(c, &more, &low);
    assert_non_null(intake_cache_get(c, &touched));
    assert_null(intake_cache_get(c, &b));
    assert_non_null(intake_cache_get(c, &more));
    assert_true(intake_cache_size(c) <= 4);
    /* Hundreds of distinct files: never more than the bound. */
    for (ino_t i = 100; i < 600; i++) {
        struct stat st = key(3, i, 1, 1);
        intake_cache_put(c, &st, &low);
        assert_true(intake_cache_size(c) <= 4);
    }
    intake_cache_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_junk),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_list_dir),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
