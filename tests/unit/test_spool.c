/* SPDX-License-Identifier: MIT */
/* Unit tests of spool operations: init, ids, submit, claim, move, reject,
 * and where a job is (withdrawn jobs too); whose drains count. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"
#include "util.h"

static char root[64];
static char spool_dir[128];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/mpispool-spool-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    snprintf(spool_dir, sizeof spool_dir, "%s/a/spool", root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static mode_t mode_of(const char *dir)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", spool_dir, dir);
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_init(void **state)
{
    (void)state;
    struct mps_error err;
    assert_int_equal(spool_init(spool_dir, &err), 0);
    for (int d = 0; d < SPOOL_NDIRS; d++) {
        const char *name = spool_dir_name((enum spool_dir)d);
        bool dropbox = strcmp(name, "tmp") == 0 || strcmp(name, "new") == 0 ||
                       strcmp(name, "cancel") == 0 ||
                       strcmp(name, "data") == 0 || strcmp(name, "ids") == 0;
        assert_int_equal(mode_of(name), dropbox ? 01733 : 0755);
    }
    /* Only the administrator drains: drain/ is no drop box. */
    assert_int_equal(mode_of("drain"), 0755);
    /* Idempotent, and it repairs a mode (a drain/ of an older spool). */
    char newdir[256], draindir[256];
    snprintf(newdir, sizeof newdir, "%s/new", spool_dir);
    snprintf(draindir, sizeof draindir, "%s/drain", spool_dir);
    chmod(newdir, 0700);
    chmod(draindir, 01733);
    assert_int_equal(spool_init(spool_dir, &err), 0);
    assert_int_equal(mode_of("new"), 01733);
    assert_int_equal(mode_of("drain"), 0755);
    /* A file in the way. */
    char file[256];
    snprintf(file, sizeof file, "%s/plain", root);
    assert_int_equal(util_write_file(file, "x", 1, 0, &err), 0);
    assert_int_equal(spool_init(file, &err), -1);
    char want[512];
    snprintf(want, sizeof want, "cannot create spool '%s': Not a directory",
             file);
    assert_string_equal(err.text, want);
}

/* A spool made before drain/ and ids/ existed gets them, with their
 * modes, on demand. */
static void test_ensure_dir(void **state)
{
    (void)state;
    struct mps_error err;
    assert_int_equal(spool_init(spool_dir, &err), 0);
    char drain[256], ids[256];
    snprintf(drain, sizeof drain, "%s/drain", spool_dir);
    snprintf(ids, sizeof ids, "%s/ids", spool_dir);
    assert_int_equal(rmdir(drain), 0);
    assert_int_equal(rmdir(ids), 0);
    struct spool *sp = spool_open(spool_dir, &err);
    assert_non_null(sp);
    mode_t old = umask(077);
    assert_int_equal(spool_ensure_dir(sp, SPOOL_DRAIN, &err), 0);
    assert_int_equal(spool_ensure_dir(sp, SPOOL_IDS, &err), 0);
    umask(old);
    assert_int_equal(mode_of("drain"), 0755);
    assert_int_equal(mode_of("ids"), 01733);
    assert_int_equal(spool_ensure_dir(sp, SPOOL_DRAIN, &err), 0);
    spool_close(sp);
}

static void test_open(void **state)
{
    (void)state;
    struct mps_error err;
    assert_null(spool_open(root, &err));
    char want[512];
    snprintf(want, sizeof want,
             "'%s' is not a spool (no new/): run 'mpispool init %s'", root,
             root);
    assert_string_equal(err.text, want);
    assert_null(spool_open("/nonexistent/spool", &err));
    assert_string_equal(
        err.text,
        "cannot open spool '/nonexistent/spool': No such file or directory");
    struct spool *sp = spool_open(spool_dir, &err);
    assert_non_null(sp);
    assert_string_equal(spool_path(sp), spool_dir);
    /* Its administrator: who made it. */
    assert_int_equal(spool_admin(sp), geteuid());
    char *path = spool_file(sp, SPOOL_OUT, "j1");
    char want_path[256];
    snprintf(want_path, sizeof want_path, "%s/out/j1", spool_dir);
    assert_string_equal(path, want_path);
    free(path);
    spool_close(sp);
}

/* Ids are unique and increasing, also across processes at once. */
static void test_jobids(void **state)
{
    (void)state;
    struct mps_error err;
    struct spool *sp = spool_open(spool_dir, &err);
    assert_non_null(sp);
    char first[64], second[64];
    assert_int_equal(spool_new_jobid(sp, first, sizeof first, &err), 0);
    assert_int_equal(spool_new_jobid(sp, second, sizeof second, &err), 0);
    assert_int_equal(strlen(first), 13); /* YYYYMMDD-NNNN */
    assert_true(strcmp(first, second) < 0);
    char ids_file[256];
    snprintf(ids_file, sizeof ids_file, "%s/ids", root);
    for (int p = 0; p < 4; p++) {
        if (fork() == 0) {
            FILE *f = fopen(ids_file, "a");
            for (int i = 0; i < 50; i++) {
                char id[64];
                if (spool_new_jobid(sp, id, sizeof id, &err) < 0)
                    _exit(1);
                fprintf(f, "%s\n", id);
                fflush(f);
            }
            _exit(0);
        }
    }
    for (int p = 0; p < 4; p++) {
        int status;
        wait(&status);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(sort -u '%s' | wc -l) -eq 200", ids_file);
    assert_int_equal(system(cmd), 0);
    spool_close(sp);
}

/* write_at DIR NAME TEXT: a file SPOOL/DIR/NAME holding TEXT. */
static void write_at(const char *dir, const char *name, const char *text)
{
    char path[256];
    struct mps_error err;
    snprintf(path, sizeof path, "%s/%s/%s", spool_dir, dir, name);
    assert_int_equal(util_write_file(path, text, strlen(text), 0, &err), 0);
}

static bool exists(const char *dir, const char *name)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/%s", spool_dir, dir, name);
    return lstat(path, &st) == 0;
}

/* The next id the hint in seq points to (what anyone can predict). */
static void predicted(int ahead, char *id, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/seq", spool_dir);
    FILE *f = fopen(path, "r");
    unsigned long long seq = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%llu", &seq), 1);
    fclose(f);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[16];
    strftime(date, sizeof date, "%Y%m%d", &tm);
    snprintf(id, len, "%s-%04llu", date, seq + (unsigned long long)ahead);
}

/* Ids are reserved in ids/ for whoever minted them; seq is only a hint:
 * reset, garbage or locked, it never hands out an id again nor makes
 * anyone wait; ids squatted ahead (in new/, in ids/) are skipped. */
static void test_id_reservations(void **state)
{
    (void)state;
    struct mps_error err;
    struct spool *sp = spool_open(spool_dir, &err);
    assert_non_null(sp);
    char first[64], id[64], squat[4][64];
    assert_int_equal(spool_new_jobid(sp, first, sizeof first, &err), 0);
    assert_true(exists("ids", first));
    uid_t holder = 1;
    assert_int_equal(spool_reserve(sp, first, geteuid(), &holder, &err), 0);
    assert_int_equal(holder, geteuid());
    assert_int_equal(spool_reserve(sp, first, geteuid() + 1, &holder, &err), 1);
    assert_int_equal(holder, geteuid());
    assert_non_null(strstr(err.text, "is reserved by another user"));
    /* Handmade ids are reserved for their owner on demand. */
    assert_int_equal(spool_reserve(sp, "handmade", geteuid(), &holder, &err),
                     0);
    assert_true(exists("ids", "handmade"));

    write_at(".", "seq", "0\n"); /* reset */
    assert_int_equal(spool_new_jobid(sp, id, sizeof id, &err), 0);
    assert_true(strcmp(id, first) != 0);
    write_at(".", "seq", "99999999999999999999 garbage\n");
    assert_int_equal(spool_new_jobid(sp, id, sizeof id, &err), 0);
    assert_true(strcmp(id, first) != 0);

    /* Squatted: a file and a directory in new/, a reservation in ids/,
     * an output directory; all ahead of the hint. */
    for (int i = 0; i < 4; i++)
        predicted(i + 1, squat[i], sizeof squat[i]);
    char name[256];
    snprintf(name, sizeof name, "%s.json", squat[0]);
    write_at("new", name, "{}");
    snprintf(name, sizeof name, "%s/new/%s.json", spool_dir, squat[1]);
    assert_int_equal(mkdir(name, 0755), 0);
    write_at("ids", squat[2], "");
    snprintf(name, sizeof name, "%s/out/%s", spool_dir, squat[3]);
    assert_int_equal(mkdir(name, 0755), 0);
    assert_int_equal(spool_new_jobid(sp, id, sizeof id, &err), 0);
    for (int i = 0; i < 4; i++)
        assert_string_not_equal(id, squat[i]);
    /* The ids it passed over are left to those who hold them. */
    assert_false(exists("ids", squat[0]));

    /* A lock held on seq makes nobody wait. */
    char seq[256];
    snprintf(seq, sizeof seq, "%s/seq", spool_dir);
    int fd = open(seq, O_RDWR);
    assert_true(fd >= 0);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t locker = fork();
    if (locker == 0) {
        struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        fcntl(fd, F_SETLK, &lock);
        flock(fd, LOCK_EX);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    alarm(10);
    assert_int_equal(spool_new_jobid(sp, id, sizeof id, &err), 0);
    alarm(0);
    kill(locker, SIGKILL);
    waitpid(locker, NULL, 0);
    close(fd);
    close(ready[0]);
    close(ready[1]);
    spool_close(sp);
}

static void test_lifecycle(void **state)
{
    (void)state;
    struct mps_error err;
    struct spool *sp = spool_open(spool_dir, &err);
    assert_non_null(sp);
    assert_int_equal(spool_submit(sp, "job-1", "{}", 2, 0600, &err), 0);
    assert_int_equal(spool_locate(sp, "job-1"), SPOOL_NEW);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/new/job-1.json", spool_dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(spool_submit(sp, "job-1", "{}", 2, 0600, &err), 1);
    assert_string_equal(err.text, "job 'job-1' already exists");
    assert_int_equal(spool_claim(sp, "job-1.json", &err), 0);
    assert_int_equal(spool_locate(sp, "job-1"), SPOOL_CUR);
    /* A second coordinator finds it gone. */
    assert_int_equal(spool_claim(sp, "job-1.json", &err), 1);
    /* Another file under a claimed job's name never replaces it. */
    write_at("new", "job-1.json", "not job 1");
    assert_int_equal(spool_claim(sp, "job-1.json", &err), 2);
    assert_int_equal(
        spool_reject(sp, SPOOL_NEW, "job-1.json", "taken", true, &err), 0);
    assert_false(exists("new", "job-1.json"));
    assert_false(exists("rejected", "job-1.json"));
    assert_int_equal(spool_move(sp, "job-1", SPOOL_CUR, SPOOL_DONE, &err), 0);
    assert_int_equal(spool_locate(sp, "job-1"), SPOOL_DONE);
    assert_int_equal(spool_id_used(sp, "job-1"), SPOOL_DONE);
    assert_int_equal(spool_locate(sp, "nothing"), -1);
    assert_int_equal(spool_id_used(sp, "nothing"), -1);

    assert_int_equal(spool_submit(sp, "job-2", "x", 1, 0600, &err), 0);
    assert_int_equal(spool_claim(sp, "job-2.json", &err), 0);
    assert_int_equal(spool_reject(sp, SPOOL_CUR, "job-2.json",
                                  "unknown key 'x\033[31m'\nsecond\t!", false,
                                  &err),
                     0);
    assert_int_equal(spool_locate(sp, "job-2"), SPOOL_REJECTED);
    snprintf(path, sizeof path, "%s/rejected/job-2.error", spool_dir);
    size_t len;
    char *text = util_read_file(path, 4096, &len, &err);
    assert_non_null(text);
    /* Control characters (a terminal escape, a tab) would reach the
     * terminal of whoever reads the error: shown as '?'. */
    assert_string_equal(text, "unknown key 'x?[31m' second?!\n");
    free(text);
    /* The same name rejected again: the first one stays as it was. */
    write_at("cur", "job-2.json", "again");
    assert_int_equal(
        spool_reject(sp, SPOOL_CUR, "job-2.json", "other", false, &err), 0);
    text = util_read_file(path, 4096, &len, &err);
    assert_string_equal(text, "unknown key 'x?[31m' second?!\n");
    free(text);
    snprintf(path, sizeof path, "%s/rejected/job-2.json", spool_dir);
    text = util_read_file(path, 4096, &len, &err);
    assert_string_equal(text, "x");
    free(text);
    /* Nothing left behind in tmp/. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/tmp')\"", spool_dir);
    assert_int_equal(system(cmd), 0);
    spool_close(sp);
}

/* A struct stat of a file of type mode, owner uid, nlink links. */
static struct stat stat_of(mode_t type, uid_t uid, nlink_t nlink)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = type | 0644;
    st.st_uid = uid;
    st.st_nlink = nlink;
    return st;
}

/* What withdraws a job: its owner's regular file, one link, and the
 * owner reserved the id. */
static void test_is_withdrawal(void **state)
{
    (void)state;
    const struct stat res = stat_of(S_IFREG, 1001, 1);
    const struct {
        struct stat file;
        bool reserved;
        bool withdraws;
    } cases[] = {
        {stat_of(S_IFREG, 1001, 1), true, true},
        {stat_of(S_IFREG, 1002, 1), true, false},  /* someone else's */
        {stat_of(S_IFREG, 0, 1), true, false},     /* even root's */
        {stat_of(S_IFREG, 1001, 1), false, false}, /* no reservation */
        {stat_of(S_IFREG, 1001, 2), true, false},  /* a hard link */
        {stat_of(S_IFIFO, 1001, 1), true, false},
        {stat_of(S_IFLNK, 1001, 1), true, false},
        {stat_of(S_IFDIR, 1001, 1), true, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(spool_is_withdrawal(&cases[i].file,
                                             cases[i].reserved ? &res : NULL),
                         cases[i].withdraws);
}

/* Only root's and the administrator's regular files drain. */
static void test_drain_honoured(void **state)
{
    (void)state;
    struct stat st = stat_of(S_IFREG, 0, 1);
    assert_true(spool_drain_honoured(&st, 500));
    st = stat_of(S_IFREG, 500, 1);
    assert_true(spool_drain_honoured(&st, 500));
    st = stat_of(S_IFREG, 1001, 1);
    assert_false(spool_drain_honoured(&st, 500));
    st = stat_of(S_IFLNK, 500, 1);
    assert_false(spool_drain_honoured(&st, 500));
    st = stat_of(S_IFIFO, 0, 1);
    assert_false(spool_drain_honoured(&st, 500));
}

/* "SPOOL/DIR/NAME" into buf. */
static const char *in_spool(char *buf, size_t len, const char *dir,
                            const char *name)
{
    snprintf(buf, len, "%s/%s/%s", spool_dir, dir, name);
    return buf;
}

/* A job its owner renamed from new/ into cancel/ is cancelled for every
 * reader, unless it is in another state too or the id is not reserved by
 * the file's owner. */
static void test_locate_withdrawn(void **state)
{
    (void)state;
    struct mps_error err;
    assert_int_equal(spool_init(spool_dir, &err), 0);
    struct spool *sp = spool_open(spool_dir, &err);
    assert_non_null(sp);
    char a[256], b[256], res[256];
    assert_int_equal(spool_submit(sp, "w-1", "{}", 2, 0600, &err), 0);
    uint32_t owner = 99;
    assert_int_equal(spool_job_owner(sp, "w-1", &owner), 0);
    assert_int_equal(owner, geteuid());
    assert_int_equal(rename(in_spool(a, sizeof a, "new", "w-1.json"),
                            in_spool(b, sizeof b, "cancel", "w-1.json")),
                     0);
    /* Not reserved: not a withdrawal (anyone may drop a file there). */
    assert_int_equal(spool_locate(sp, "w-1"), -1);
    assert_int_equal(spool_job_owner(sp, "w-1", &owner), -1);
    assert_int_equal(util_write_file(in_spool(res, sizeof res, "ids", "w-1"),
                                     "", 0, 0, &err),
                     0);
    struct stat st;
    assert_true(spool_withdrawn(sp, "w-1", &st));
    assert_int_equal(st.st_uid, geteuid());
    assert_int_equal(spool_locate(sp, "w-1"), SPOOL_CANCEL);
    assert_true(spool_ended(SPOOL_CANCEL));
    assert_string_equal(spool_state_name(SPOOL_CANCEL), "cancelled");
    /* A job of that id elsewhere: the file in cancel/ is no withdrawal. */
    assert_int_equal(util_write_file(in_spool(a, sizeof a, "cur", "w-1.json"),
                                     "{}", 2, 0, &err),
                     0);
    assert_int_equal(spool_locate(sp, "w-1"), SPOOL_CUR);
    assert_false(spool_withdrawn(sp, "w-1", NULL));
    assert_int_equal(unlink(a), 0);
    assert_int_equal(util_write_file(in_spool(a, sizeof a, "done", "w-1.json"),
                                     "{}", 2, 0, &err),
                     0);
    assert_int_equal(spool_locate(sp, "w-1"), SPOOL_DONE);
    assert_int_equal(unlink(a), 0);
    /* Queued again under its name: queued, not withdrawn. */
    assert_int_equal(util_write_file(in_spool(a, sizeof a, "new", "w-1.json"),
                                     "{}", 2, 0, &err),
                     0);
    assert_int_equal(spool_locate(sp, "w-1"), SPOOL_NEW);
    assert_int_equal(unlink(a), 0);
    assert_int_equal(spool_locate(sp, "w-1"), SPOOL_CANCEL);
    /* A FIFO or a directory there withdraws nothing. */
    assert_int_equal(unlink(b), 0);
    assert_int_equal(mkfifo(b, 0644), 0);
    assert_int_equal(spool_locate(sp, "w-1"), -1);
    assert_int_equal(unlink(b), 0);
    assert_int_equal(mkdir(b, 0755), 0);
    assert_int_equal(spool_locate(sp, "w-1"), -1);
    spool_close(sp);
}

static void test_state_names(void **state)
{
    (void)state;
    const char *const want[] = {"queued", "running",  "done",
                                "failed", "rejected", "cancelled"};
    const int where[] = {SPOOL_NEW,    SPOOL_CUR,      SPOOL_DONE,
                         SPOOL_FAILED, SPOOL_REJECTED, SPOOL_CANCEL};
    for (size_t i = 0; i < sizeof where / sizeof *where; i++) {
        assert_string_equal(spool_state_name(where[i]), want[i]);
        assert_int_equal(spool_ended(where[i]), i >= 2);
    }
    assert_string_equal(spool_state_name(-1), "gone");
    assert_false(spool_ended(-1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_ensure_dir),
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_jobids),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_id_reservations),
        cmocka_unit_test(test_is_withdrawal),
        cmocka_unit_test(test_drain_honoured),
        cmocka_unit_test(test_locate_withdrawn),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
