/* SPDX-License-Identifier: MIT */
/* Unit tests of CPU placement on synthetic topologies we do not have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "placement.h"

/* One step of a scenario: take k cores (expecting list, or "" for "does
 * not fit"), or release a list (k == 0). */
struct step {
    unsigned k;
    const char *list;
};

struct scenario {
    const char *name;
    const char *topology;
    unsigned part, nparts;
    struct step steps[12];
};

static const struct scenario scenarios[] = {
    {"four 8-core tasks land one per L3",
     "pack:2 l3:2 core:8 pu:2",
     0,
     1,
     {{8, "0-15"}, {8, "16-31"}, {8, "32-47"}, {8, "48-63"}, {1, ""}}},
    {"a 3-core task does not straddle a package when it need not",
     "pack:2 core:4 pu:1",
     0,
     1,
     {{2, "0-1"}, {3, "4-6"}, {2, "2-3"}, {1, "7"}}},
    {"best fit: small tasks fill holes, keeping room for big ones",
     "pack:2 l3:2 core:8 pu:2",
     0,
     1,
     {{7, "0-13"}, {3, "16-21"}, {1, "14-15"}, {8, "32-47"}, {5, "22-31"}}},
    {"fragmentation: released cores are reused, a task spans objects only "
     "when it must",
     "pack:1 l2:4 core:2 pu:1",
     0,
     1,
     {{2, "0-1"},
      {2, "2-3"},
      {2, "4-5"},
      {0, "2-3"},
      {1, "2"},
      {3, "3,6-7"},
      {1, ""},
      {0, "0-1"},
      {2, "0-1"}}},
    {"ranks sharing a node split its cores: the second of two",
     "pack:2 core:4 pu:2",
     1,
     2,
     {{1, "8-9"}, {4, ""}, {3, "10-15"}, {1, ""}}},
    {"the third of three ranks on 8 cores gets the last two",
     "core:8 pu:1",
     2,
     3,
     {{2, "6-7"}, {1, ""}}},
    {"more ranks than cores: the second of four gets the second core",
     "core:2 pu:1",
     1,
     4,
     {{1, "1"}, {1, ""}}},
    {"more ranks than cores: the fourth of four gets none",
     "core:2 pu:1",
     3,
     4,
     {{1, ""}}},
};

static void run_scenario(const struct scenario *sc)
{
    struct mps_error err;
    struct placement *pl =
        placement_create(sc->topology, sc->part, sc->nparts, &err);
    if (!pl)
        fail_msg("%s: %s", sc->name, err.text);
    assert_false(placement_is_this_system(pl));
    for (size_t i = 0; i < 12 && (sc->steps[i].k || sc->steps[i].list); i++) {
        const struct step *st = &sc->steps[i];
        if (st->k == 0) {
            placement_release(pl, st->list);
            continue;
        }
        char list[256] = "";
        int rc = placement_take(pl, st->k, list, sizeof list, NULL);
        if (st->list[0] == '\0') {
            if (rc != -1)
                fail_msg("%s: step %zu: %u cores should not fit, got %s",
                         sc->name, i, st->k, list);
        } else if (rc != 0 || strcmp(list, st->list) != 0) {
            fail_msg("%s: step %zu: %u cores: expected %s, got %s", sc->name, i,
                     st->k, st->list, rc ? "(no fit)" : list);
        }
    }
    placement_destroy(pl);
}

static void test_scenarios(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
        run_scenario(&scenarios[i]);
}

static void test_counts(void **state)
{
    (void)state;
    struct mps_error err;
    struct placement *pl =
        placement_create("pack:2 l3:2 core:8 pu:2", 0, 1, &err);
    assert_non_null(pl);
    assert_int_equal(placement_cores(pl), 32);
    char list[64];
    assert_int_equal(placement_take(pl, 5, list, sizeof list, NULL), 0);
    assert_int_equal(placement_free(pl), 27);
    placement_release(pl, list);
    assert_int_equal(placement_free(pl), 32);
    placement_destroy(pl);
}

static void test_bad_topology(void **state)
{
    (void)state;
    struct mps_error err;
    assert_null(placement_create("pack:two", 0, 1, &err));
    assert_string_equal(err.text, "cannot use topology 'pack:two'");
    assert_null(placement_create("/nonexistent/topo.xml", 0, 1, &err));
}

/* This machine: binding masks match the list. */
static void test_this_system(void **state)
{
    (void)state;
    struct mps_error err;
    struct placement *pl = placement_create(NULL, 0, 1, &err);
    assert_non_null(pl);
    assert_true(placement_is_this_system(pl));
    char list[256];
    cpu_set_t mask;
    CPU_ZERO(&mask);
    assert_int_equal(placement_take(pl, 1, list, sizeof list, &mask), 0);
    assert_true(CPU_COUNT(&mask) >= 1);
    char first[16];
    snprintf(first, sizeof first, "%d", 0);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &mask)) {
            snprintf(first, sizeof first, "%d", cpu);
            break;
        }
    }
    assert_int_equal(strncmp(list, first, strlen(first)), 0);
    placement_destroy(pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_bad_topology),
        cmocka_unit_test(test_this_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
