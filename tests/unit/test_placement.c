/* SPDX-License-Identifier: MIT */
/* Unit tests of CPU placement on synthetic topologies we do not have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <hwloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "placement.h"
#include "synthetic.h"

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

/* Plain synthetic descriptions are modelled without hwloc's tree: they
 * must place exactly as hwloc's own build of them (exported to XML and
 * read back, which goes through hwloc). */
static const char *const plain_topologies[] = {
    "pack:2 l3:2 core:8 pu:2",
    "pack:2 core:4 pu:1",
    "pack:1 l2:4 core:2 pu:1",
    "core:8 pu:1",
    "pu:6",
    "pack:4 pu:3",
    "pack:3 die:2 l3:1 l2:3 core:2 pu:2",
    "socket:2 l2u:3 l1d:1 core:1 pu:2",
    "pack:1 core:1 pu:1",
    "l3:3 core:5 pu:1",
};

/* Export description desc as built by hwloc to an XML file; returns its
 * path (to free and unlink). */
static char *hwloc_xml(const char *desc)
{
    char *path = strdup("/tmp/mpispool-test-placement-XXXXXX.xml");
    assert_non_null(path);
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
    hwloc_topology_t topo;
    assert_int_equal(hwloc_topology_init(&topo), 0);
    assert_int_equal(hwloc_topology_set_synthetic(topo, desc), 0);
    assert_int_equal(hwloc_topology_load(topo), 0);
    assert_int_equal(hwloc_topology_export_xml(topo, path, 0), 0);
    hwloc_topology_destroy(topo);
    return path;
}

/* The same pseudo-random takes and releases on a and b agree. */
static void same_placements(struct placement *a, struct placement *b,
                            const char *what)
{
    char held[16][1024];
    unsigned nheld = 0, seed = 12345;
    assert_int_equal(placement_cores(a), placement_cores(b));
    for (int step = 0; step < 200; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 16) % 100;
        if ((r < 35 && nheld > 0) || nheld == 16) {
            unsigned i = r % nheld;
            placement_release(a, held[i]);
            placement_release(b, held[i]);
            memcpy(held[i], held[--nheld], sizeof held[i]);
            continue;
        }
        unsigned k = 1 + r % (r < 80 ? 4 : 16);
        char la[1024] = "", lb[1024] = "";
        int ra = placement_take(a, k, la, sizeof la, NULL);
        int rb = placement_take(b, k, lb, sizeof lb, NULL);
        if (ra != rb || strcmp(la, lb) != 0)
            fail_msg("%s: step %d: %u cores: %s vs hwloc's %s", what, step, k,
                     ra ? "(no fit)" : la, rb ? "(no fit)" : lb);
        if (ra == 0)
            strcpy(held[nheld++], la);
        assert_int_equal(placement_free(a), placement_free(b));
    }
}

static void test_plain_as_hwloc(void **state)
{
    (void)state;
    /* hwloc loads its plugins while any topology exists: hold one, so they
     * are not loaded again for each placement. */
    hwloc_topology_t held;
    assert_int_equal(hwloc_topology_init(&held), 0);
    for (size_t t = 0; t < sizeof plain_topologies / sizeof *plain_topologies;
         t++) {
        const char *desc = plain_topologies[t];
        struct synthetic_shape shape;
        if (!synthetic_plain(desc, 1UL << 22, &shape))
            fail_msg("'%s' is not read as plain", desc);
        char *xml = hwloc_xml(desc);
        for (unsigned nparts = 1; nparts <= 3; nparts++) {
            for (unsigned part = 0; part < nparts; part++) {
                struct mps_error err;
                struct placement *a =
                    placement_create(desc, part, nparts, &err);
                struct placement *b = placement_create(xml, part, nparts, &err);
                assert_non_null(a);
                assert_non_null(b);
                char what[160];
                snprintf(what, sizeof what, "'%s' part %u of %u", desc, part,
                         nparts);
                same_placements(a, b, what);
                placement_destroy(a);
                placement_destroy(b);
            }
        }
        unlink(xml);
        free(xml);
    }
    hwloc_topology_destroy(held);
}

/* Which descriptions are plain, and their shape. */
static void test_synthetic_plain(void **state)
{
    (void)state;
    static const struct {
        const char *desc;
        bool plain;
        unsigned nlevels;
        int core_level;
        unsigned arity0, arity_last;
    } cases[] = {
        {"pack:64 core:256 pu:2", true, 3, 1, 64, 2},
        {"  Package:2\tL3:2 Core:8 PU:2 ", true, 4, 2, 2, 2},
        {"pu:8", true, 1, -1, 8, 8},
        {"pack:4 l2u:2 l1d:2 pu:3", true, 4, -1, 4, 3},
        {"pack:2 numa:2 core:4 pu:1", false, 0, 0, 0, 0},
        {"pack:2 [numa] core:4 pu:2", false, 0, 0, 0, 0},
        {"pack:2 group:2 core:3 pu:1", false, 0, 0, 0, 0},
        {"pack:2 l1i:2 core:2 pu:1", false, 0, 0, 0, 0},
        {"2 4 2", false, 0, 0, 0, 0},
        {"pack:2 core:4(indexes=1,0,3,2,5,4,7,6) pu:1", false, 0, 0, 0, 0},
        {"(memory=1GB) pack:2 pu:2", false, 0, 0, 0, 0},
        {"pack:2 core:2", false, 0, 0, 0, 0},
        {"core:2 pack:2 pu:1", false, 0, 0, 0, 0},
        {"pack:0 pu:1", false, 0, 0, 0, 0},
        {"pack:65536 core:65536 pu:2", false, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct synthetic_shape sh;
        bool plain = synthetic_plain(cases[i].desc, 1UL << 22, &sh);
        if (plain != cases[i].plain)
            fail_msg("'%s': plain %d, expected %d", cases[i].desc, plain,
                     cases[i].plain);
        if (!plain)
            continue;
        assert_int_equal(sh.nlevels, cases[i].nlevels);
        assert_int_equal(sh.core_level, cases[i].core_level);
        assert_int_equal(sh.arity[0], cases[i].arity0);
        assert_int_equal(sh.arity[sh.nlevels - 1], cases[i].arity_last);
    }
}

/* A node of 32,768 PUs (issue: placement of one task took seconds, then
 * minutes): the first tasks land at the start of the first package, a
 * task larger than a package at the start of the next free cores. */
static void test_large_node(void **state)
{
    (void)state;
    struct mps_error err;
    struct placement *pl =
        placement_create("pack:64 core:256 pu:2", 0, 1, &err);
    assert_non_null(pl);
    assert_int_equal(placement_cores(pl), 16384);
    char list[256];
    assert_int_equal(placement_take(pl, 1, list, sizeof list, NULL), 0);
    assert_string_equal(list, "0-1");
    assert_int_equal(placement_take(pl, 256, list, sizeof list, NULL), 0);
    assert_string_equal(list, "512-1023");
    assert_int_equal(placement_take(pl, 300, list, sizeof list, NULL), 0);
    assert_string_equal(list, "2-511,1024-1113");
    placement_release(pl, "512-1023");
    assert_int_equal(placement_free(pl), 16384 - 301);
    placement_destroy(pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_bad_topology),
        cmocka_unit_test(test_this_system),
        cmocka_unit_test(test_plain_as_hwloc),
        cmocka_unit_test(test_synthetic_plain),
        cmocka_unit_test(test_large_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
