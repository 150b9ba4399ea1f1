/* SPDX-License-Identifier: MIT */
/* Compact, best-fit placement of tasks on a rank's cores, with hwloc.
 *
 * The topology is read once into a flat model: this rank's cores (each
 * with its PUs' OS indexes) and the candidate groups (each a list of
 * those cores), in the order placement considers them. Placing a task
 * then costs time linear in the size of the model; hwloc's tree is not
 * kept. */
#include "placement.h"

#include <hwloc.h>
#include <stdlib.h>
#include <string.h>

#include "synthetic.h"

/* Plain synthetic descriptions up to this many PUs are modelled directly
 * (synthetic.h); larger ones, like every other topology, through hwloc. */
#define PLAIN_MAX_PUS (1UL << 22)

/* A GPU as a task sees it: an index in one vendor's visible-devices list. */
struct gpu {
    bool rocm; /* ROCR_VISIBLE_DEVICES, else CUDA_VISIBLE_DEVICES */
    unsigned index;
    bool busy;
};

/* A candidate group: members[first .. first + size), ascending. */
struct group {
    size_t first;
    unsigned size;
};

struct placement {
    bool this_system;
    unsigned ncores; /* this rank's cores, numbered in topology order */
    bool *busy;
    unsigned *pus; /* core i's PUs: pus[pu_first[i] .. pu_first[i + 1]) */
    size_t *pu_first;
    int *pu_core;       /* by PU OS index: the core that has it, or -1 */
    unsigned npu_index; /* entries of pu_core */
    struct group *groups;
    size_t ngroups, groups_cap;
    unsigned *members;
    size_t nmembers, members_cap;
    /* Scratch of cores_in: PUs seen per core, valid where seen_pass is
     * the current pass. */
    unsigned *hits;
    unsigned long *seen_pass;
    unsigned long pass;
    unsigned ngpus;
    struct gpu *gpus; /* this rank's GPUs */
};

/* ------------------------------------------------------------ the model */

/* Room for n cores with npus PUs in all (pu_first[0] = 0). */
static int alloc_cores(struct placement *pl, unsigned n, size_t npus)
{
    pl->ncores = n;
    pl->busy = calloc(n ? n : 1, sizeof *pl->busy);
    pl->pu_first = calloc((size_t)n + 1, sizeof *pl->pu_first);
    pl->pus = calloc(npus ? npus : 1, sizeof *pl->pus);
    pl->hits = calloc(n ? n : 1, sizeof *pl->hits);
    pl->seen_pass = calloc(n ? n : 1, sizeof *pl->seen_pass);
    return pl->busy && pl->pu_first && pl->pus && pl->hits && pl->seen_pass
               ? 0
               : -1;
}

/* Map each PU OS index to its core, once pus and pu_first are filled. */
static int index_pus(struct placement *pl)
{
    unsigned max = 0;
    for (size_t j = 0; j < pl->pu_first[pl->ncores]; j++)
        if (pl->pus[j] > max)
            max = pl->pus[j];
    pl->npu_index = max + 1;
    if (!(pl->pu_core = malloc(pl->npu_index * sizeof *pl->pu_core)))
        return -1;
    for (unsigned p = 0; p < pl->npu_index; p++)
        pl->pu_core[p] = -1;
    for (unsigned i = 0; i < pl->ncores; i++)
        for (size_t j = pl->pu_first[i]; j < pl->pu_first[i + 1]; j++)
            pl->pu_core[pl->pus[j]] = (int)i;
    return 0;
}

/* Grow *array (of *cap elements of size each) to hold need elements. */
static int reserve(void *array, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t grown = *cap ? *cap : 64;
    while (grown < need)
        grown *= 2;
    void *p = realloc(*(void **)array, grown * size);
    if (!p)
        return -1;
    *(void **)array = p;
    *cap = grown;
    return 0;
}

/* Append a group of n cores (ascending); an empty one is left out. */
static int add_group(struct placement *pl, const unsigned *cores, unsigned n)
{
    if (n == 0)
        return 0;
    if (reserve(&pl->groups, &pl->groups_cap, pl->ngroups + 1,
                sizeof *pl->groups) < 0 ||
        reserve(&pl->members, &pl->members_cap, pl->nmembers + n,
                sizeof *pl->members) < 0)
        return -1;
    pl->groups[pl->ngroups++] = (struct group){pl->nmembers, n};
    memcpy(pl->members + pl->nmembers, cores, n * sizeof *cores);
    pl->nmembers += n;
    return 0;
}

/* Call found(pl, core, arg) for each of this rank's cores all of whose PUs
 * are in set, in the order their last PU is met. Linear in set's PUs. */
static void cores_in(struct placement *pl, hwloc_const_bitmap_t set,
                     void (*found)(struct placement *, unsigned, void *),
                     void *arg)
{
    pl->pass++;
    for (int pu = hwloc_bitmap_first(set);
         pu >= 0 && (unsigned)pu < pl->npu_index;
         pu = hwloc_bitmap_next(set, pu)) {
        int c = pl->pu_core[pu];
        if (c < 0)
            continue;
        if (pl->seen_pass[c] != pl->pass) {
            pl->seen_pass[c] = pl->pass;
            pl->hits[c] = 0;
        }
        if (++pl->hits[c] == pl->pu_first[c + 1] - pl->pu_first[c])
            found(pl, (unsigned)c, arg);
    }
}

/* ------------------------------------------------------------ from hwloc */

/* The node's GPUs: cudaN and rsmiN OS devices, or nvmlN where no CUDA one
 * is found (NVML and CUDA number the same devices). */
static unsigned find_gpus(hwloc_topology_t topo, struct gpu *out, unsigned max)
{
    unsigned n = 0;
    for (int pass = 0; pass < 2 && n == 0; pass++) {
        hwloc_obj_t dev = NULL;
        while ((dev = hwloc_get_next_osdev(topo, dev)) && n < max) {
            unsigned index;
            char tail;
            const char *name = dev->name ? dev->name : "";
            bool cuda = sscanf(name, pass ? "nvml%u%c" : "cuda%u%c", &index,
                               &tail) == 1;
            bool rocm = !pass && sscanf(name, "rsmi%u%c", &index, &tail) == 1;
            if (cuda || rocm)
                out[n++] = (struct gpu){.rocm = rocm, .index = index};
        }
    }
    return n;
}

/* Block part of nparts of n things: its first and how many. */
static void split(unsigned n, unsigned part, unsigned nparts, unsigned *first,
                  unsigned *count)
{
    unsigned base = n / nparts, extra = n % nparts;
    *first = part * base + (part < extra ? part : extra);
    /* With more ranks than cores the last ranks get none: they run no
     * tasks rather than share a core. */
    *count = base + (part < extra ? 1 : 0);
}

/* This rank's GPUs: its block of the node's. */
static int take_gpus(struct placement *pl, hwloc_topology_t topo, unsigned part,
                     unsigned nparts)
{
    struct gpu all[256];
    unsigned total = find_gpus(topo, all, 256), first;
    split(total, part, nparts, &first, &pl->ngpus);
    if (!(pl->gpus = calloc(pl->ngpus ? pl->ngpus : 1, sizeof *pl->gpus)))
        return -1;
    memcpy(pl->gpus, all + first, pl->ngpus * sizeof *pl->gpus);
    return 0;
}

/* This rank's cores of a loaded topology, with their PUs. */
static int model_cores(struct placement *pl, hwloc_topology_t topo,
                       unsigned part, unsigned nparts)
{
    hwloc_obj_type_t unit = HWLOC_OBJ_CORE;
    int total = hwloc_get_nbobjs_by_type(topo, unit);
    if (total <= 0) {
        unit = HWLOC_OBJ_PU;
        total = hwloc_get_nbobjs_by_type(topo, unit);
    }
    if (total <= 0)
        return -2;
    unsigned first, n;
    split((unsigned)total, part, nparts, &first, &n);
    size_t npus = 0;
    for (unsigned i = 0; i < n; i++)
        npus += (size_t)hwloc_bitmap_weight(
            hwloc_get_obj_by_type(topo, unit, first + i)->cpuset);
    if (alloc_cores(pl, n, npus) < 0)
        return -1;
    size_t j = 0;
    for (unsigned i = 0; i < n; i++) {
        hwloc_const_cpuset_t set =
            hwloc_get_obj_by_type(topo, unit, first + i)->cpuset;
        for (int pu = hwloc_bitmap_first(set); pu >= 0;
             pu = hwloc_bitmap_next(set, pu))
            pl->pus[j++] = (unsigned)pu;
        pl->pu_first[i + 1] = j;
    }
    return index_pus(pl);
}

/* Cores found by cores_in. */
struct core_list {
    unsigned *cores;
    unsigned n;
};

static void collect(struct placement *pl, unsigned core, void *arg)
{
    (void)pl;
    struct core_list *found = arg;
    found->cores[found->n++] = core;
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

/* Add the group of this rank's cores inside set; scratch holds ncores. */
static int group_of(struct placement *pl, hwloc_const_cpuset_t set,
                    unsigned *scratch)
{
    struct core_list found = {scratch, 0};
    cores_in(pl, set, collect, &found);
    qsort(found.cores, found.n, sizeof *found.cores, cmp_unsigned);
    return add_group(pl, found.cores, found.n);
}

/* The candidate groups of a loaded topology: every object of the main
 * tree with a cpuset, by depth, then the NUMA nodes (memory children in
 * hwloc 2). */
static int model_groups(struct placement *pl, hwloc_topology_t topo)
{
    unsigned *scratch = malloc((pl->ncores ? pl->ncores : 1) * sizeof *scratch);
    if (!scratch)
        return -1;
    int rc = 0;
    int depth = hwloc_topology_get_depth(topo);
    for (int d = 0; d < depth && rc == 0; d++) {
        unsigned n = (unsigned)hwloc_get_nbobjs_by_depth(topo, d);
        for (unsigned i = 0; i < n && rc == 0; i++) {
            hwloc_obj_t obj = hwloc_get_obj_by_depth(topo, d, i);
            if (obj->cpuset)
                rc = group_of(pl, obj->cpuset, scratch);
        }
    }
    hwloc_obj_t numa = NULL;
    while (rc == 0 &&
           (numa = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, numa)))
        if (numa->cpuset)
            rc = group_of(pl, numa->cpuset, scratch);
    free(scratch);
    return rc;
}

/* ------------------------------------------------- from a plain shape */

/* This rank's cores of a plain synthetic topology, and its groups: the
 * machine, then each level's objects down to the cores. Levels below the
 * cores (PUs) and the one NUMA node hwloc adds hold no group that an
 * earlier one does not: they cannot change a placement. */
static int model_plain(struct placement *pl, const struct synthetic_shape *sh,
                       unsigned part, unsigned nparts)
{
    unsigned unit_level =
        sh->core_level >= 0 ? (unsigned)sh->core_level : sh->nlevels - 1;
    unsigned long nunits = 1, per_unit = 1;
    for (unsigned l = 0; l < sh->nlevels; l++)
        *(l <= unit_level ? &nunits : &per_unit) *= sh->arity[l];
    unsigned first, n;
    split((unsigned)nunits, part, nparts, &first, &n);
    if (alloc_cores(pl, n, (size_t)n * per_unit) < 0)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        for (unsigned long j = 0; j < per_unit; j++)
            pl->pus[i * per_unit + j] = (unsigned)((first + i) * per_unit + j);
        pl->pu_first[i + 1] = (size_t)(i + 1) * per_unit;
    }
    unsigned *range = malloc((n ? n : 1) * sizeof *range);
    if (!range || index_pus(pl) < 0) {
        free(range);
        return -1;
    }
    for (unsigned i = 0; i < n; i++)
        range[i] = i;
    int rc = add_group(pl, range, n);
    unsigned long objects = 1;
    for (unsigned l = 0; l <= unit_level && rc == 0; l++) {
        objects *= sh->arity[l];
        unsigned long span = nunits / objects;
        for (unsigned long o = 0; o < objects && rc == 0; o++) {
            /* [o * span, (o + 1) * span) within [first, first + n) */
            unsigned long lo = o * span, hi = lo + span;
            lo = lo > first ? lo : first;
            hi = hi < (unsigned long)first + n ? hi : (unsigned long)first + n;
            if (lo < hi)
                rc = add_group(pl, range + (lo - first), (unsigned)(hi - lo));
        }
    }
    free(range);
    return rc;
}

/* ------------------------------------------------------------ create */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Model the topology of source through hwloc's tree. */
static int model_hwloc(struct placement *pl, hwloc_topology_t topo,
                       const char *source, unsigned part, unsigned nparts,
                       struct mps_error *err)
{
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    if (hwloc_topology_load(topo) < 0)
        return errprintf(err, "cannot load topology '%s'",
                         source ? source : "");
    pl->this_system = hwloc_topology_is_thissystem(topo) && !source;
    int rc = model_cores(pl, topo, part, nparts);
    if (rc == -2)
        return errprintf(err, "topology has no cores");
    if (rc < 0 || model_groups(pl, topo) < 0 ||
        take_gpus(pl, topo, part, nparts) < 0)
        return errprintf(err, "out of memory");
    return 0;
}

struct placement *placement_create(const char *source, unsigned part,
                                   unsigned nparts, struct mps_error *err)
{
    struct placement *pl = calloc(1, sizeof *pl);
    hwloc_topology_t topo;
    if (!pl) {
        errprintf(err, "out of memory");
        return NULL;
    }
    if (hwloc_topology_init(&topo) < 0) {
        errprintf(err, "cannot initialise hwloc");
        free(pl);
        return NULL;
    }
    if (nparts == 0 || part >= nparts)
        nparts = 1, part = 0;
    bool xml = source && ends_with(source, ".xml");
    int rc = 0;
    if (xml)
        rc = hwloc_topology_set_xml(topo, source);
    else if (source)
        rc = hwloc_topology_set_synthetic(topo, source); /* parses only */
    struct synthetic_shape shape;
    if (rc < 0)
        rc = errprintf(err, "cannot use topology '%s'", source);
    else if (source && !xml && synthetic_plain(source, PLAIN_MAX_PUS, &shape))
        rc = model_plain(pl, &shape, part, nparts) < 0 ||
                     !(pl->gpus = calloc(1, sizeof *pl->gpus))
                 ? errprintf(err, "out of memory")
                 : 0;
    else
        rc = model_hwloc(pl, topo, source, part, nparts, err);
    hwloc_topology_destroy(topo);
    if (rc < 0) {
        placement_destroy(pl);
        return NULL;
    }
    return pl;
}

void placement_destroy(struct placement *pl)
{
    if (!pl)
        return;
    free(pl->busy);
    free(pl->pus);
    free(pl->pu_first);
    free(pl->pu_core);
    free(pl->groups);
    free(pl->members);
    free(pl->hits);
    free(pl->seen_pass);
    free(pl->gpus);
    free(pl);
}

/* ------------------------------------------------------------ placing */

bool placement_is_this_system(const struct placement *pl)
{
    return pl->this_system;
}

unsigned placement_cores(const struct placement *pl)
{
    return pl->ncores;
}

unsigned placement_free(const struct placement *pl)
{
    unsigned n = 0;
    for (unsigned i = 0; i < pl->ncores; i++)
        n += !pl->busy[i];
    return n;
}

static unsigned group_free(const struct placement *pl, const struct group *g)
{
    unsigned n = 0;
    for (unsigned i = 0; i < g->size; i++)
        n += !pl->busy[pl->members[g->first + i]];
    return n;
}

/* The smallest group with k free cores, the fewest free among equals,
 * the first among those; NULL when none has k. */
static const struct group *best_group(const struct placement *pl, unsigned k)
{
    const struct group *best = NULL;
    unsigned best_free = 0;
    for (size_t i = 0; i < pl->ngroups; i++) {
        const struct group *g = &pl->groups[i];
        if (g->size < k || (best && g->size > best->size))
            continue;
        unsigned nfree = group_free(pl, g);
        if (nfree >= k &&
            (!best || g->size < best->size || nfree < best_free)) {
            best = g;
            best_free = nfree;
        }
    }
    return best;
}

int placement_take(struct placement *pl, unsigned k, char *list,
                   size_t list_len, cpu_set_t *mask)
{
    if (k == 0)
        k = 1;
    const struct group *best =
        placement_free(pl) < k ? NULL : best_group(pl, k);
    hwloc_bitmap_t pus = best ? hwloc_bitmap_alloc() : NULL;
    if (!pus)
        return -1;
    if (mask)
        CPU_ZERO(mask);
    for (unsigned i = 0, taken = 0; i < best->size && taken < k; i++) {
        unsigned c = pl->members[best->first + i];
        if (pl->busy[c])
            continue;
        pl->busy[c] = true;
        taken++;
        for (size_t j = pl->pu_first[c]; j < pl->pu_first[c + 1]; j++) {
            hwloc_bitmap_set(pus, pl->pus[j]);
            if (mask && pl->pus[j] < CPU_SETSIZE)
                CPU_SET(pl->pus[j], mask);
        }
    }
    if (list)
        hwloc_bitmap_list_snprintf(list, list_len, pus);
    hwloc_bitmap_free(pus);
    return 0;
}

static void release_core(struct placement *pl, unsigned core, void *arg)
{
    (void)arg;
    pl->busy[core] = false;
}

void placement_release(struct placement *pl, const char *list)
{
    hwloc_bitmap_t pus = hwloc_bitmap_alloc();
    if (pus && hwloc_bitmap_list_sscanf(pus, list) == 0)
        cores_in(pl, pus, release_core, NULL);
    hwloc_bitmap_free(pus);
}

/* ------------------------------------------------------------ GPUs */

unsigned placement_gpus(const struct placement *pl)
{
    return pl->ngpus;
}

static void append_index(char *list, size_t len, unsigned index)
{
    size_t used = strlen(list);
    snprintf(list + used, len - used, "%s%u", used ? "," : "", index);
}

int placement_take_gpus(struct placement *pl, unsigned n, char *cuda,
                        char *rocr, size_t len)
{
    unsigned nfree = 0;
    for (unsigned i = 0; i < pl->ngpus; i++)
        nfree += !pl->gpus[i].busy;
    if (nfree < n)
        return -1;
    cuda[0] = rocr[0] = '\0';
    for (unsigned i = 0; i < pl->ngpus && n > 0; i++) {
        if (pl->gpus[i].busy)
            continue;
        pl->gpus[i].busy = true;
        append_index(pl->gpus[i].rocm ? rocr : cuda, len, pl->gpus[i].index);
        n--;
    }
    return 0;
}

/* Whether index is in a comma-separated list. */
static bool listed(const char *list, unsigned index)
{
    for (const char *p = list; p && *p;) {
        char *end;
        if (strtoul(p, &end, 10) == index && end != p)
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

void placement_release_gpus(struct placement *pl, const char *cuda,
                            const char *rocr)
{
    for (unsigned i = 0; i < pl->ngpus; i++)
        if (listed(pl->gpus[i].rocm ? rocr : cuda, pl->gpus[i].index))
            pl->gpus[i].busy = false;
}
