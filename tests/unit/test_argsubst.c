/* SPDX-License-Identifier: MIT */
/* Unit tests of GNU parallel's replacement strings over ::: sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "argsubst.h"
#include "taskfile.h"

/* ------------------------------------------------------------ helpers */

/* Sources from a NULL-separated list of words: {"a", "b", NULL, "x",
 * NULL} is two sources; a source whose first word is "+" is linked. */
static size_t make_sources(const char *const *words, size_t nwords,
                           struct argsubst_source *out)
{
    size_t n = 0;
    bool open = false;
    struct mps_error err;
    for (size_t i = 0; i < nwords; i++) {
        if (!words[i]) {
            open = false;
            continue;
        }
        if (!open) {
            out[n++] = (struct argsubst_source){0};
            open = true;
            if (strcmp(words[i], "+") == 0) {
                out[n - 1].linked = true;
                continue;
            }
        }
        assert_int_equal(argsubst_source_add_word(&out[n - 1], words[i], &err),
                         0);
    }
    return n;
}

/* All lines of command (words separated by '|') over the sources, joined
 * by '\n'; NULL with err when the template or a line is refused. */
static char *generate(const char *command, const char *const *words,
                      size_t nwords, struct mps_error *err)
{
    struct argsubst_source sources[8];
    size_t nsources = make_sources(words, nwords, sources);
    char *copy = strdup(command), *cmd_words[32];
    size_t ncmd = 0;
    for (char *w = copy, *bar; *command && w; w = bar ? bar + 1 : NULL) {
        bar = strchr(w, '|');
        if (bar)
            *bar = '\0';
        cmd_words[ncmd++] = w;
    }
    char *all = NULL;
    struct argsubst_template *t =
        argsubst_template_parse(cmd_words, ncmd, nsources, err);
    struct argsubst_gen *gen =
        t ? argsubst_start(t, sources, nsources, 1000, err) : NULL;
    if (gen) {
        size_t size = 0;
        FILE *out = open_memstream(&all, &size);
        const char *line;
        size_t len;
        int rc, first = 1;
        while ((rc = argsubst_next(gen, &line, &len, err)) == 1) {
            fprintf(out, "%s%.*s", first ? "" : "\n", (int)len, line);
            first = 0;
        }
        fclose(out);
        if (rc < 0) {
            free(all);
            all = NULL;
        }
    }
    argsubst_end(gen);
    argsubst_template_free(t);
    for (size_t i = 0; i < nsources; i++)
        argsubst_source_free(&sources[i]);
    free(copy);
    return all;
}

#define GENERATE(cmd, want, ...)                                               \
    do {                                                                       \
        const char *w_[] = {__VA_ARGS__};                                      \
        struct mps_error e_ = {{0}};                                           \
        char *got_ = generate(cmd, w_, sizeof w_ / sizeof *w_, &e_);           \
        if (!got_)                                                             \
            fail_msg("'%s' refused: %s", cmd, e_.text);                        \
        assert_string_equal(got_, want);                                       \
        free(got_);                                                            \
    } while (0)

/* cmd is refused with a message containing what. */
#define REFUSED(cmd, what, ...)                                                \
    do {                                                                       \
        const char *w_[] = {__VA_ARGS__};                                      \
        struct mps_error e_ = {{0}};                                           \
        char *got_ = generate(cmd, w_, sizeof w_ / sizeof *w_, &e_);           \
        if (got_)                                                              \
            fail_msg("'%s' accepted: '%s'", cmd, got_);                        \
        if (!strstr(e_.text, what))                                            \
            fail_msg("'%s': message '%s' lacks '%s'", cmd, e_.text, what);     \
    } while (0)

/* ------------------------------------------------------------ pieces */

static void test_quote(void **state)
{
    (void)state;
    /* What `parallel --dry-run echo {} ::: ARG` prints after "echo ". */
    static const char *const cases[][2] = {
        {"a", "a"},
        {"A-Z_0.9+/x", "A-Z_0.9+/x"},
        {"", "''"},
        {"a b", "'a b'"},
        {"it's", "'it'\"'\"'s'"},
        {"'", "\"'\""},
        {"''", "\"'\"''\"'\""},
        {"a'", "'a'\"'\""},
        {"'a", "\"'\"'a'"},
        {"$x", "'$x'"},
        {"a\\b", "'a\\b'"},
        {"*", "'*'"},
        {"-x", "-x"},
        {"\xc3\xa9", "'\xc3\xa9'"},
        {"a\"b", "'a\"b'"},
        {"a\tb", "'a\tb'"},
        {"a=b", "'a=b'"},
        {"~", "'~'"},
        {"a@b", "'a@b'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        assert_int_equal(
            argsubst_quote(cases[i][0], strlen(cases[i][0]), &buf, &len, &cap),
            0);
        assert_string_equal(buf, cases[i][1]);
        assert_int_equal(len, strlen(cases[i][1]));
        free(buf);
    }
}

static void test_dirname(void **state)
{
    (void)state;
    /* perl -MFile::Basename -e 'print dirname($ARGV[0])' */
    static const char *const cases[][2] = {
        {"", "."},          {"/", "/"},    {"a", "."},    {"a/", "."},
        {"a/b", "a"},       {"/a", "/"},   {"//a", "/"},  {"a//b/", "a"},
        {"a/b//", "a"},     {"a///", "."}, {"///", "/"},  {"./a", "."},
        {".", "."},         {"..", "."},   {"a/./", "a"}, {"a b/c", "a b"},
        {"x/y/z.t", "x/y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *out;
        size_t len;
        argsubst_dirname(cases[i][0], strlen(cases[i][0]), &out, &len);
        if (len != strlen(cases[i][1]) || memcmp(out, cases[i][1], len) != 0)
            fail_msg("dirname('%s') is '%.*s', not '%s'", cases[i][0], (int)len,
                     out, cases[i][1]);
    }
}

static void test_edits(void **state)
{
    (void)state;
    /* parallel --dry-run echo {.} {/} {//} {/.} ::: ... */
    GENERATE("echo|{.}|{/}|{//}|{/.}",
             "echo a/b b.c a b\n"
             "echo a.b.c a.b.c.d . a.b.c\n"
             "echo dir.d/f f dir.d f\n"
             "echo '' .bashrc . ''\n"
             "echo x x. . x\n"
             "echo a/ '' . ''\n"
             "echo / '' / ''",
             "a/b.c", "a.b.c.d", "dir.d/f", ".bashrc", "x.", "a/", "/");
}

static void test_words_split_at_newlines(void **state)
{
    (void)state;
    /* parallel writes each ::: word and a newline to a file and reads the
     * file back line by line. */
    GENERATE("echo", "echo a\necho b\necho c\necho ''\necho ''\necho x", "a\nb",
             "c\n", "", "x");
}

/* ------------------------------------------------------------ order */

static void test_product_order(void **state)
{
    (void)state;
    GENERATE("run|{1}|{2}|{3}|{#}",
             "run a x 1 1\nrun a x 2 2\nrun a y 1 3\nrun a y 2 4\n"
             "run b x 1 5\nrun b x 2 6\nrun b y 1 7\nrun b y 2 8",
             "a", "b", NULL, "x", "y", NULL, "1", "2");
    /* {} is every argument of the line, space-separated. */
    GENERATE("echo|{}", "echo a 'x y'\necho b 'x y'", "a", "b", NULL, "x y");
    /* {-1} is the last source; a position may have leading zeros and
     * white space before its edit, as in parallel. */
    GENERATE("echo|{-1}|{01}|{2 .}", "echo c.d a c", "a", NULL, "c.d");
}

static void test_linked(void **state)
{
    (void)state;
    /* :::+ pairs a source with the previous one; such a group stops at
     * its shortest source (parallel 20221122 does not wrap around). */
    GENERATE("f|{1}|{2}", "f a 1\nf b 2", "a", "b", "c", NULL, "+", "1", "2");
    GENERATE("f|{1}|{2}", "f a 1", "a", NULL, "+", "1", "2", "3");
    GENERATE("f|{1}|{2}|{3}", "f a 1 x\nf a 1 y\nf b 2 x\nf b 2 y", "a", "b",
             NULL, "+", "1", "2", NULL, "x", "y");
    GENERATE("f|{1}|{2}|{3}", "f x a 1\nf x b 2\nf y a 1\nf y b 2", "x", "y",
             NULL, "a", "b", "c", NULL, "+", "1", "2");
    /* Linked to nothing: the first source is a source like any other. */
    GENERATE("f", "f a\nf b", "+", "a", "b");
}

static void test_limits(void **state)
{
    (void)state;
    const char *const words[] = {"a", "b", NULL, "1", "2", NULL, "x", "y"};
    struct argsubst_source sources[3];
    size_t n = make_sources(words, 8, sources);
    char *cmd[] = {"echo"};
    struct mps_error err;
    struct argsubst_template *t = argsubst_template_parse(cmd, 1, n, &err);
    assert_non_null(t);
    struct argsubst_gen *gen = argsubst_start(t, sources, n, 8, &err);
    assert_non_null(gen);
    assert_int_equal(argsubst_total(gen), 8);
    argsubst_end(gen);
    assert_null(argsubst_start(t, sources, n, 7, &err));
    assert_non_null(strstr(err.text, "more than 7 command lines"));
    /* An empty source (an empty argument file) makes no lines. */
    argsubst_source_free(&sources[1]);
    assert_null(argsubst_start(t, sources, n, 8, &err));
    assert_string_equal(err.text, "argument source 2 is empty");
    argsubst_template_free(t);
    for (size_t i = 0; i < n; i++)
        argsubst_source_free(&sources[i]);
}

static void test_many_sources_no_overflow(void **state)
{
    (void)state;
    /* 2^70 combinations: refused, not wrapped around to a small count. */
    struct argsubst_source sources[70] = {{0}};
    struct mps_error err;
    for (size_t i = 0; i < 70; i++) {
        argsubst_source_add_word(&sources[i], "0", &err);
        argsubst_source_add_word(&sources[i], "1", &err);
    }
    char *cmd[] = {"echo"};
    struct argsubst_template *t = argsubst_template_parse(cmd, 1, 70, &err);
    assert_null(argsubst_start(t, sources, 70, UINT64_MAX, &err));
    assert_non_null(strstr(err.text, "more than"));
    argsubst_template_free(t);
    for (size_t i = 0; i < 70; i++)
        argsubst_source_free(&sources[i]);
}

/* ------------------------------------------------------------ template */

static void test_appended_and_quoting(void **state)
{
    (void)state;
    /* No replacement string: the arguments are appended, quoted. */
    GENERATE("gzip|-9", "gzip -9 'a b'", "a b");
    /* The words are joined by spaces into one shell command line. */
    GENERATE("echo {} && wc -c", "echo 'a b' && wc -c", "a b");
    GENERATE("echo||{}", "echo  x", "x");
    /* A replacement string in the command itself: nothing is quoted. */
    GENERATE("", "echo 'a b'\nls -l", "echo 'a b'", "ls -l");
    GENERATE("{}", "echo 'a b'", "echo 'a b'");
    GENERATE("./{}|{}", "./x y z x y z", "x y z");
    /* ... but it is when an '=' or a space comes first. */
    GENERATE("X={}", "X='a b'", "a b");
    GENERATE(" {}", " 'a b'", "a b");
    /* Text in braces that is no replacement string stays as it is. */
    GENERATE("echo|{a}|{1..3}|{|}|{{}}|{-}|{ 1}",
             "echo {a} {1..3} { } {x} {-} { 1}", "x");
}

static void test_refused(void **state)
{
    (void)state;
    REFUSED("echo|{%}", "job slot", "a");
    REFUSED("echo|{1%}", "job slot", "a");
    REFUSED("echo|{= s/a/b/ =}", "{= perl expression =}", "a");
    REFUSED("echo|{=|uc|=}", "{= perl expression =}", "a");
    REFUSED("echo|{==}", "{= perl expression =}", "a");
    static const char *const plus[] = {
        "{..}",    "{...}",      "{/..}",      "{/...}", "{+/}",    "{+.}",
        "{+..}",   "{+...}",     "{##}",       "{0#}",   "{1#}",    "{uniq}",
        "{slot}",  "{host}",     "{:-x}",      "{:2}",   "{:2:3}",  "{#a}",
        "{##a}",   "{%a}",       "{%%a}",      "{/a/b}", "{//a/b}", "{/#a/b}",
        "{/%a/}",  "{^a}",       "{^^a}",      "{,a}",   "{,,a}",   "{2..}",
        "{-1:-x}", "{sshlogin}", "{choose_k}", "{hgrp}", "{agrp}",
    };
    for (size_t i = 0; i < sizeof plus / sizeof *plus; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "echo|%s", plus[i]);
        REFUSED(cmd, "is not supported", "a", NULL, "b");
    }
    REFUSED("echo|{0}", "count from 1", "a");
    REFUSED("echo|{-0}", "count from 1", "a");
    REFUSED("echo|{00}", "count from 1", "a");
    REFUSED("echo|{3}", "only 2 argument sources", "a", NULL, "b");
    REFUSED("echo|{-2}", "only 1 argument source ", "a");
    REFUSED("echo|{99999999999999999999999}", "only 1 argument source", "a");
}

/* ------------------------------------------------------------ lines */

static void test_lines_a_task_file_reads_back(void **state)
{
    (void)state;
    REFUSED("#|{}", "starts with '#'", "a");
    REFUSED("  #x|{}", "starts with '#'", "a");
    REFUSED("{}", "starts with '#'", "#x");
    REFUSED("{}", "empty or white space", "");
    REFUSED("", "empty or white space", " \t");
    REFUSED("echo|{}|\r", "carriage return", "a");
    REFUSED("{}", "carriage return", "a\r");
    REFUSED("echo a\necho|{}", "holds a newline", "b");
    /* Quoted, such arguments are no danger. */
    GENERATE("echo", "echo '#x'\necho ''\necho 'a\r'", "#x", "", "a\r");
    /* A line longer than a task file line may be; one as long is fine. */
    char *big = malloc(TASKFILE_MAX_LINE + 1);
    memset(big, 'x', TASKFILE_MAX_LINE);
    big[TASKFILE_MAX_LINE - 4] = '\0';
    REFUSED("echo", "longer than", big);
    big[TASKFILE_MAX_LINE - 5] = '\0';
    const char *words[] = {big};
    struct mps_error err;
    char *line = generate("echo", words, 1, &err);
    assert_non_null(line);
    assert_int_equal(strlen(line), TASKFILE_MAX_LINE);
    free(line);
    free(big);
}

/* Every line generated from awkward arguments is read back by the task
 * file reader as exactly that one task. */
static void test_read_back_by_taskfile(void **state)
{
    (void)state;
    const char *const words[] = {
        "plain",
        "",
        " ",
        "#",
        "# not a comment",
        "\t#",
        "a\r",
        "\r",
        "$HOME",
        "`id`",
        "a'b\"c",
        "\\",
        "-n",
        "*",
        "\xf0\x9f\x9a\x80",
        "#DISBATCH REPEAT 3 echo x",
        "#!/bin/bash",
    };
    size_t nwords = sizeof words / sizeof *words;
    const char *const templates[] = {"echo", "printf|%s\\n|{}", "x={}",
                                     "{}|{}"};
    for (size_t t = 0; t < sizeof templates / sizeof *templates; t++) {
        struct mps_error err;
        char *all = generate(templates[t], words, nwords, &err);
        if (t == 3) {
            /* Unquoted, some would not be one task: refused instead. */
            assert_null(all);
            continue;
        }
        assert_non_null(all);
        size_t len = strlen(all);
        FILE *in = fmemopen(all, len, "r");
        uint64_t ntasks = 0;
        assert_int_equal(taskfile_copy_count(in, NULL, "x", &ntasks, &err), 0);
        assert_int_equal(ntasks, nwords);
        fclose(in);
        free(all);
    }
}

/* ------------------------------------------------------------ command line */

static void test_cmdline(void **state)
{
    (void)state;
    char *words[] = {"cmd", "{1}",  ":::", "a", "b",     ":::+", "1",
                     "2",   "::::", "f",   "-", "::::+", "g"};
    struct argsubst_cmdline cl;
    struct mps_error err;
    assert_int_equal(argsubst_cmdline_parse(words, 13, &cl, &err), 0);
    assert_int_equal(cl.ncommand, 2);
    assert_int_equal(cl.norigins, 5);
    assert_null(cl.origins[0].file);
    assert_false(cl.origins[0].linked);
    assert_int_equal(cl.origins[0].nwords, 2);
    assert_string_equal(cl.origins[0].words[1], "b");
    assert_true(cl.origins[1].linked);
    assert_int_equal(cl.origins[1].nwords, 2);
    /* Each file after :::: is a source of its own. */
    assert_string_equal(cl.origins[2].file, "f");
    assert_string_equal(cl.origins[3].file, "-");
    assert_false(cl.origins[3].linked);
    assert_string_equal(cl.origins[4].file, "g");
    assert_true(cl.origins[4].linked);
    argsubst_cmdline_free(&cl);

    /* A command that is only separators and arguments. */
    char *bare[] = {":::", "echo a"};
    assert_int_equal(argsubst_cmdline_parse(bare, 2, &cl, &err), 0);
    assert_int_equal(cl.ncommand, 0);
    assert_int_equal(cl.norigins, 1);
    argsubst_cmdline_free(&cl);

    char *empty[] = {"echo", ":::", ":::", "a"};
    assert_int_equal(argsubst_cmdline_parse(empty, 4, &cl, &err), -1);
    assert_string_equal(err.text, "':::' must be followed by arguments");
    char *trailing[] = {"echo", ":::", "a", "::::"};
    assert_int_equal(argsubst_cmdline_parse(trailing, 4, &cl, &err), -1);
    assert_string_equal(err.text, "'::::' must be followed by argument files");
    char *twice[] = {"echo", "::::", "-", "::::+", "-"};
    assert_int_equal(argsubst_cmdline_parse(twice, 5, &cl, &err), -1);
    assert_non_null(strstr(err.text, "standard input"));
    assert_true(argsubst_is_separator(":::+"));
    assert_false(argsubst_is_separator(":::::"));
    assert_false(argsubst_is_separator("::"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_dirname),
        cmocka_unit_test(test_edits),
        cmocka_unit_test(test_words_split_at_newlines),
        cmocka_unit_test(test_product_order),
        cmocka_unit_test(test_linked),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_many_sources_no_overflow),
        cmocka_unit_test(test_appended_and_quoting),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_lines_a_task_file_reads_back),
        cmocka_unit_test(test_read_back_by_taskfile),
        cmocka_unit_test(test_cmdline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
