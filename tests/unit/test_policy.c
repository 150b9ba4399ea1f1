/* SPDX-License-Identifier: MIT */
/* Unit tests of the command policy: parsing, globs, deny over allow, and
 * rules canonicalized through symbolic links. */
#include <limits.h>
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

#include "policy.h"

static void test_no_lists(void **state)
{
    (void)state;
    struct mps_error err;
    assert_true(policy_allows(NULL, "/usr/bin/rm"));
    struct policy *pol = policy_create(NULL, "allow", NULL, "deny", &err);
    assert_non_null(pol);
    assert_false(policy_active(pol));
    assert_true(policy_allows(pol, "/usr/bin/rm"));
    policy_destroy(pol);
}

static void test_allow_and_deny(void **state)
{
    (void)state;
    struct mps_error err;
    const char *allow = "# programs of the lab\n"
                        "\n"
                        "  /opt/lab/bin/*  \n"
                        "/usr/local/bin/sim\r\n"
                        "\t# indented comment\n"
                        "/opt/tools/[ab]?";
    const char *deny = "/opt/lab/bin/dangerous\n";
    struct policy *pol = policy_create(allow, "allow", deny, "deny", &err);
    assert_non_null(pol);
    assert_true(policy_active(pol));
    static const struct {
        const char *program;
        bool allowed;
    } cases[] = {
        {"/opt/lab/bin/align", true},
        {"/opt/lab/bin/sub/dir/tool", true}, /* '*' matches '/' too */
        {"/opt/lab/bin/dangerous", false},   /* deny wins */
        {"/usr/local/bin/sim", true},
        {"/usr/local/bin/sim2", false}, /* not in the allow list */
        {"/opt/tools/a1", true},
        {"/opt/tools/c1", false},
        {"/opt/tools/a12", false},
        {"/usr/bin/rm", false},
        {"# programs of the lab", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (policy_allows(pol, cases[i].program) != cases[i].allowed)
            fail_msg("%s: expected %s", cases[i].program,
                     cases[i].allowed ? "allowed" : "refused");
    }
    policy_destroy(pol);

    /* A deny list alone refuses only what it names. */
    pol = policy_create(NULL, "allow", "/usr/bin/r*\n", "deny", &err);
    assert_non_null(pol);
    assert_false(policy_allows(pol, "/usr/bin/rm"));
    assert_true(policy_allows(pol, "/usr/bin/echo"));
    policy_destroy(pol);

    /* An empty allow list refuses everything. */
    pol = policy_create("# nothing\n", "allow", NULL, "deny", &err);
    assert_non_null(pol);
    assert_false(policy_allows(pol, "/usr/bin/echo"));
    policy_destroy(pol);
}

static void test_bad_rule(void **state)
{
    (void)state;
    struct mps_error err;
    assert_null(
        policy_create("/bin/ls\n\nrm\n", "allow.txt", NULL, "deny", &err));
    assert_string_equal(
        err.text, "allow.txt line 3: 'rm' is not an absolute path or glob");
    assert_null(policy_create(NULL, "allow", "  *\n", "deny.txt", &err));
    assert_string_equal(err.text,
                        "deny.txt line 1: '*' is not an absolute path or glob");
}

/* Rules are canonicalized: a rule naming a link, or a directory reached
 * through a link or "..", matches the canonical program. */
static void test_canonical_rules(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/test_policy.XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    char real[PATH_MAX];
    assert_non_null(realpath(dir, real));
    char path[PATH_MAX + 64], link_dir[PATH_MAX + 64], target[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/real", real);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(target, sizeof target, "%s/real/prog", real);
    FILE *f = fopen(target, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(link_dir, sizeof link_dir, "%s/link", real);
    assert_int_equal(symlink("real", link_dir), 0);
    char prog_link[PATH_MAX + 64];
    snprintf(prog_link, sizeof prog_link, "%s/real/alias", real);
    assert_int_equal(symlink("prog", prog_link), 0);

    struct mps_error err;
    char rules[4 * PATH_MAX];
    /* A glob under a linked directory, and a literal link to a program. */
    snprintf(rules, sizeof rules, "%s/link/p*\n", real);
    struct policy *pol = policy_create(rules, "allow", NULL, "deny", &err);
    assert_non_null(pol);
    assert_true(policy_allows(pol, target));
    policy_destroy(pol);

    snprintf(rules, sizeof rules, "%s/real/alias\n", real);
    pol = policy_create(NULL, "allow", rules, "deny", &err);
    assert_non_null(pol);
    assert_false(policy_allows(pol, target));
    policy_destroy(pol);

    snprintf(rules, sizeof rules, "%s/real/../link/prog\n", real);
    pol = policy_create(NULL, "allow", rules, "deny", &err);
    assert_non_null(pol);
    assert_false(policy_allows(pol, target));
    policy_destroy(pol);

    unlink(prog_link);
    unlink(link_dir);
    unlink(target);
    rmdir(path);
    rmdir(real);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_lists),
        cmocka_unit_test(test_allow_and_deny),
        cmocka_unit_test(test_bad_rule),
        cmocka_unit_test(test_canonical_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
