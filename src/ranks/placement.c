/* SPDX-License-Identifier: MIT */
/* Compact, best-fit placement of tasks on a rank's cores, with hwloc. */
#include "placement.h"

#include <hwloc.h>
#include <hwloc/glibc-sched.h>
#include <stdlib.h>
#include <string.h>

/* A GPU as a task sees it: an index in one vendor's visible-devices list. */
struct gpu {
    bool rocm; /* ROCR_VISIBLE_DEVICES, else CUDA_VISIBLE_DEVICES */
    unsigned index;
    bool busy;
};

struct placement {
    hwloc_topology_t topo;
    bool this_system;
    unsigned ncores;
    hwloc_obj_t *cores; /* this rank's cores, in topology order */
    bool *busy;
    unsigned ngpus;
    struct gpu *gpus; /* this rank's GPUs */
};

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

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

struct placement *placement_create(const char *source, unsigned part,
                                   unsigned nparts, struct mps_error *err)
{
    struct placement *pl = calloc(1, sizeof *pl);
    if (!pl) {
        errprintf(err, "out of memory");
        return NULL;
    }
    if (hwloc_topology_init(&pl->topo) < 0) {
        errprintf(err, "cannot initialise hwloc");
        free(pl);
        return NULL;
    }
    int rc = 0;
    if (source && ends_with(source, ".xml"))
        rc = hwloc_topology_set_xml(pl->topo, source);
    else if (source)
        rc = hwloc_topology_set_synthetic(pl->topo, source);
    if (rc < 0) {
        errprintf(err, "cannot use topology '%s'", source);
        goto error;
    }
    hwloc_topology_set_io_types_filter(pl->topo,
                                       HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    if (hwloc_topology_load(pl->topo) < 0) {
        errprintf(err, "cannot load topology '%s'", source ? source : "");
        goto error;
    }
    pl->this_system = hwloc_topology_is_thissystem(pl->topo) && !source;
    int total = hwloc_get_nbobjs_by_type(pl->topo, HWLOC_OBJ_CORE);
    hwloc_obj_type_t unit = HWLOC_OBJ_CORE;
    if (total <= 0) {
        unit = HWLOC_OBJ_PU;
        total = hwloc_get_nbobjs_by_type(pl->topo, HWLOC_OBJ_PU);
    }
    if (total <= 0) {
        errprintf(err, "topology has no cores");
        goto error;
    }
    if (nparts == 0 || part >= nparts)
        nparts = 1, part = 0;
    unsigned n = (unsigned)total;
    unsigned base = n / nparts, extra = n % nparts;
    unsigned first = part * base + (part < extra ? part : extra);
    /* With more ranks than cores the last ranks get none: they run no
     * tasks rather than share a core. */
    pl->ncores = base + (part < extra ? 1 : 0);
    pl->cores = calloc(pl->ncores ? pl->ncores : 1, sizeof *pl->cores);
    pl->busy = calloc(pl->ncores ? pl->ncores : 1, sizeof *pl->busy);
    if (!pl->cores || !pl->busy) {
        errprintf(err, "out of memory");
        goto error;
    }
    for (unsigned i = 0; i < pl->ncores; i++)
        pl->cores[i] = hwloc_get_obj_by_type(pl->topo, unit, first + i);

    struct gpu all[256];
    unsigned total_gpus = find_gpus(pl->topo, all, 256);
    unsigned gbase = total_gpus / nparts, gextra = total_gpus % nparts;
    unsigned gfirst = part * gbase + (part < gextra ? part : gextra);
    pl->ngpus = gbase + (part < gextra ? 1 : 0);
    pl->gpus = calloc(pl->ngpus ? pl->ngpus : 1, sizeof *pl->gpus);
    if (!pl->gpus) {
        errprintf(err, "out of memory");
        goto error;
    }
    memcpy(pl->gpus, all + gfirst, pl->ngpus * sizeof *pl->gpus);
    return pl;
error:
    placement_destroy(pl);
    return NULL;
}

void placement_destroy(struct placement *pl)
{
    if (!pl)
        return;
    hwloc_topology_destroy(pl->topo);
    free(pl->cores);
    free(pl->busy);
    free(pl->gpus);
    free(pl);
}

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

/* Count this rank's cores inside obj, and the free ones. */
static void count_in(const struct placement *pl, hwloc_const_cpuset_t set,
                     unsigned *size, unsigned *nfree)
{
    *size = *nfree = 0;
    for (unsigned i = 0; i < pl->ncores; i++) {
        if (hwloc_bitmap_isincluded(pl->cores[i]->cpuset, set)) {
            (*size)++;
            *nfree += !pl->busy[i];
        }
    }
}

/* The candidate groups: every object of the main tree with a cpuset, and
 * the NUMA nodes (memory children in hwloc 2). */
static void consider(const struct placement *pl, hwloc_const_cpuset_t set,
                     unsigned k, hwloc_const_cpuset_t *best,
                     unsigned *best_size, unsigned *best_free)
{
    unsigned size, nfree;
    count_in(pl, set, &size, &nfree);
    if (nfree < k)
        return;
    if (!*best || size < *best_size ||
        (size == *best_size && nfree < *best_free)) {
        *best = set;
        *best_size = size;
        *best_free = nfree;
    }
}

int placement_take(struct placement *pl, unsigned k, char *list,
                   size_t list_len, cpu_set_t *mask)
{
    if (k == 0)
        k = 1;
    if (placement_free(pl) < k)
        return -1;
    hwloc_const_cpuset_t best = NULL;
    unsigned best_size = 0, best_free = 0;
    int depth = hwloc_topology_get_depth(pl->topo);
    for (int d = 0; d < depth; d++) {
        unsigned n = (unsigned)hwloc_get_nbobjs_by_depth(pl->topo, d);
        for (unsigned i = 0; i < n; i++) {
            hwloc_obj_t obj = hwloc_get_obj_by_depth(pl->topo, d, i);
            if (obj->cpuset)
                consider(pl, obj->cpuset, k, &best, &best_size, &best_free);
        }
    }
    hwloc_obj_t numa = NULL;
    while (
        (numa = hwloc_get_next_obj_by_type(pl->topo, HWLOC_OBJ_NUMANODE, numa)))
        if (numa->cpuset)
            consider(pl, numa->cpuset, k, &best, &best_size, &best_free);
    if (!best)
        return -1;
    hwloc_bitmap_t pus = hwloc_bitmap_alloc();
    if (!pus)
        return -1;
    unsigned taken = 0;
    for (unsigned i = 0; i < pl->ncores && taken < k; i++) {
        if (!pl->busy[i] &&
            hwloc_bitmap_isincluded(pl->cores[i]->cpuset, best)) {
            pl->busy[i] = true;
            hwloc_bitmap_or(pus, pus, pl->cores[i]->cpuset);
            taken++;
        }
    }
    if (list)
        hwloc_bitmap_list_snprintf(list, list_len, pus);
    if (mask)
        hwloc_cpuset_to_glibc_sched_affinity(pl->topo, pus, mask, sizeof *mask);
    hwloc_bitmap_free(pus);
    return 0;
}

void placement_release(struct placement *pl, const char *list)
{
    hwloc_bitmap_t pus = hwloc_bitmap_alloc();
    if (!pus || hwloc_bitmap_list_sscanf(pus, list) < 0) {
        hwloc_bitmap_free(pus);
        return;
    }
    for (unsigned i = 0; i < pl->ncores; i++)
        if (hwloc_bitmap_isincluded(pl->cores[i]->cpuset, pus))
            pl->busy[i] = false;
    hwloc_bitmap_free(pus);
}

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
