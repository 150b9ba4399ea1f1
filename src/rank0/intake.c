/* SPDX-License-Identifier: MIT */
/* Rank 0's intake of new/: listing, junk, round-robin order, look cache. */
#include "intake.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobfile.h"
#include "util.h"

/* ---- announced names ---- */

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void intake_announce(struct intake_announced *a, const char *name)
{
    if (a->all)
        return;
    if (!a->names)
        a->names = calloc(INTAKE_ANNOUNCED, sizeof *a->names);
    char *copy = a->names && a->n < INTAKE_ANNOUNCED ? strdup(name) : NULL;
    if (!copy) {
        a->all = true;
        return;
    }
    a->names[a->n++] = copy;
}

static void announced_sort(struct intake_announced *a)
{
    if (a->n > 1)
        qsort(a->names, a->n, sizeof *a->names, compare_strings);
}

bool intake_announced_has(struct intake_announced *a, const char *name)
{
    if (a->all)
        return true;
    return a->n && bsearch(&name, a->names, a->n, sizeof *a->names,
                           compare_strings) != NULL;
}

void intake_announced_clear(struct intake_announced *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->names[i]);
    free(a->names);
    *a = (struct intake_announced){0};
}

/* ---- listing ---- */

static int list_add(struct intake_list *l, const char *name,
                    const struct stat *st)
{
    struct intake_entry *grown =
        util_grow(l->v, l->n, &l->cap, sizeof *grown, 64);
    if (!grown)
        return -1;
    l->v = grown;
    if (!(l->v[l->n].name = strdup(name)))
        return -1;
    l->v[l->n++].st = *st;
    return 0;
}

int intake_list_dir(int dirfd, struct intake_announced *a, bool settle,
                    time_t now, struct intake_list *out)
{
    /* Its own open file: the held descriptor's position is not ours. */
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        errno = saved;
        return -1;
    }
    announced_sort(a);
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        struct stat st;
        if (de->d_name[0] == '.' ||
            fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* a temporary, or gone already */
        if (settle && st.st_mtime >= now - 2 &&
            !intake_announced_has(a, de->d_name))
            continue;
        if (list_add(out, de->d_name, &st) < 0) {
            rc = -1;
            errno = ENOMEM;
            break;
        }
    }
    int saved = errno;
    closedir(dir);
    errno = saved;
    return rc;
}

void intake_list_free(struct intake_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    *l = (struct intake_list){0};
}

/* ---- junk ---- */

const char *intake_junk(const char *name, const struct stat *st, char *buf,
                        size_t len)
{
    size_t n = strlen(name);
    char id[72];
    if (n >= 70)
        return "job file name is too long";
    if (n <= 5 || strcmp(name + n - 5, ".json") != 0)
        return "job file name must end in '.json'";
    snprintf(id, sizeof id, "%.*s", (int)(n - 5), name);
    if (!jobfile_valid_id(id))
        return "job id must be 1 to 64 characters of A-Z a-z 0-9 . _ - "
               "(not starting with '.')";
    if (S_ISLNK(st->st_mode))
        return "job file is a symbolic link: refused";
    if (!S_ISREG(st->st_mode))
        return "job file is not a regular file: refused";
    if (st->st_nlink != 1)
        return "job file is a hard link: refused";
    if (st->st_size > JOBFILE_MAX_BYTES)
        return "job file is larger than 16 MiB";
    if (st->st_size == 0) {
        /* What parsing it would say, without opening it. */
        struct mps_error err;
        jobspec_destroy(jobfile_parse("", 0, &err));
        snprintf(buf, len, "%s", err.text);
        return buf;
    }
    return NULL;
}

/* ---- round-robin order ---- */

static int compare_owner_name(const void *a, const void *b, void *arg)
{
    const struct intake_list *l = arg;
    const struct intake_entry *x = &l->v[*(const size_t *)a];
    const struct intake_entry *y = &l->v[*(const size_t *)b];
    if (x->st.st_uid != y->st.st_uid)
        return x->st.st_uid < y->st.st_uid ? -1 : 1;
    return strcmp(x->name, y->name);
}

void intake_order(const struct intake_list *l, uid_t after, size_t *order)
{
    if (l->n == 0)
        return;
    size_t *sorted = malloc(l->n * sizeof *sorted);
    size_t *start = malloc((l->n + 1) * sizeof *start);
    if (!sorted || !start) { /* plain name order: fair enough */
        for (size_t i = 0; i < l->n; i++)
            order[i] = i;
        free(sorted);
        free(start);
        return;
    }
    for (size_t i = 0; i < l->n; i++)
        sorted[i] = i;
    qsort_r(sorted, l->n, sizeof *sorted, compare_owner_name, (void *)l);
    /* Where each owner's run of files starts in sorted. */
    size_t owners = 0;
    for (size_t i = 0; i < l->n; i++)
        if (i == 0 ||
            l->v[sorted[i]].st.st_uid != l->v[sorted[i - 1]].st.st_uid)
            start[owners++] = i;
    start[owners] = l->n;
    /* The first owner served: the first after `after`, wrapping. */
    size_t first = 0;
    while (first < owners && l->v[sorted[start[first]]].st.st_uid <= after)
        first++;
    if (first == owners)
        first = 0;
    /* The owners still with files, in serving order, compacted each
     * round: one owner's many files cost no pass over all the others. */
    size_t *active = malloc(owners * sizeof *active);
    size_t nactive = owners, out = 0;
    if (!active) {
        for (size_t i = 0; i < l->n; i++)
            order[i] = sorted[i];
        free(sorted);
        free(start);
        return;
    }
    for (size_t k = 0; k < owners; k++)
        active[k] = (first + k) % owners;
    for (size_t round = 0; nactive > 0; round++) {
        size_t kept = 0;
        for (size_t k = 0; k < nactive; k++) {
            size_t o = active[k];
            order[out++] = sorted[start[o] + round];
            if (start[o] + round + 1 < start[o + 1])
                active[kept++] = o;
        }
        nactive = kept;
    }
    free(active);
    free(sorted);
    free(start);
}

/* ---- the look cache ---- */

struct cache_slot {
    bool used, marked;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct intake_look look;
};

struct intake_cache {
    struct cache_slot *slots; /* open addressing by (dev, ino) */
    size_t cap, n, max;
};

struct intake_cache *intake_cache_create(size_t max)
{
    struct intake_cache *c = calloc(1, sizeof *c);
    size_t cap = 64;
    while (cap < max * 2)
        cap *= 2;
    if (c && !(c->slots = calloc(cap, sizeof *c->slots))) {
        free(c);
        return NULL;
    }
    if (c) {
        c->cap = cap;
        c->max = max;
    }
    return c;
}

void intake_cache_destroy(struct intake_cache *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c);
}

static size_t slot_hash(const struct intake_cache *c, dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)ino;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    return (size_t)h & (c->cap - 1);
}

/* The slot of (dev, ino), or the empty slot where it would go. */
static struct cache_slot *slot_of(const struct intake_cache *c,
                                  const struct stat *st)
{
    size_t i = slot_hash(c, st->st_dev, st->st_ino);
    while (c->slots[i].used &&
           (c->slots[i].dev != st->st_dev || c->slots[i].ino != st->st_ino))
        i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

static bool same_state(const struct cache_slot *s, const struct stat *st)
{
    return s->size == st->st_size && s->mtime.tv_sec == st->st_mtim.tv_sec &&
           s->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

const struct intake_look *intake_cache_get(struct intake_cache *c,
                                           const struct stat *st)
{
    struct cache_slot *s = slot_of(c, st);
    if (!s->used || !same_state(s, st))
        return NULL;
    s->marked = true;
    return &s->look;
}

void intake_cache_put(struct intake_cache *c, const struct stat *st,
                      const struct intake_look *look)
{
    struct cache_slot *s = slot_of(c, st);
    if (!s->used && c->n >= c->max) {
        intake_cache_sweep(c); /* drop what left new/ */
        s = slot_of(c, st);
    }
    if (!s->used) {
        if (c->n >= c->max)
            return; /* full: such files are read at each look */
        s->used = true;
        s->dev = st->st_dev;
        s->ino = st->st_ino;
        c->n++;
    }
    s->marked = true;
    s->size = st->st_size;
    s->mtime = st->st_mtim;
    s->look = *look;
}

void intake_cache_mark(struct intake_cache *c, const struct stat *st)
{
    if (c->n == 0)
        return;
    struct cache_slot *s = slot_of(c, st);
    if (s->used)
        s->marked = true;
}

void intake_cache_sweep(struct intake_cache *c)
{
    /* Rebuild from the marked entries: removal from an open-addressed
     * table would otherwise break the probe chains. */
    struct cache_slot *old = c->slots;
    struct cache_slot *slots = calloc(c->cap, sizeof *slots);
    if (!slots) {
        for (size_t i = 0; i < c->cap; i++)
            old[i].marked = false;
        return;
    }
    c->slots = slots;
    c->n = 0;
    for (size_t i = 0; i < c->cap; i++) {
        if (!old[i].used || !old[i].marked)
            continue;
        struct stat st = {.st_dev = old[i].dev, .st_ino = old[i].ino};
        struct cache_slot *s = slot_of(c, &st);
        *s = old[i];
        s->marked = false;
        c->n++;
    }
    free(old);
}

size_t intake_cache_size(const struct intake_cache *c)
{
    return c->n;
}
