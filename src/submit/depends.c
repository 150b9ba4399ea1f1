/* SPDX-License-Identifier: MIT */
/* submit's dependency options and the check that a job's dependencies are
 * jobs of the spool. */
#include "depends.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jobfile.h"

/* The job file keys of dependencies, in the order they are checked. */
static const char *const dependency_keys[] = {"after", "after_any",
                                              "after_notok"};
#define NKEYS (sizeof dependency_keys / sizeof *dependency_keys)

/* Slurm's dependency types that mean what one of our keys means. */
static const struct {
    const char *slurm, *key;
} slurm_types[] = {
    {"afterok", "after"},
    {"afterany", "after_any"},
    {"afternotok", "after_notok"},
};

/* Append id to the array ids unless it holds it already. */
static void add_unique(json_t *ids, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
            return;
    }
    json_array_append_new(ids, json_string(id));
}

int depends_add_ids(json_t *deps, const char *key, const char *opt,
                    const char *list)
{
    json_t *ids = json_object_get(deps, key);
    if (!ids) {
        ids = json_array();
        json_object_set_new(deps, key, ids);
    }
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ":");
        char id[72];
        snprintf(id, sizeof id, "%.*s", (int)(n < 71 ? n : 71), p);
        if (n > 64 || !jobfile_valid_id(id))
            return cli_usage_error("submit", "%s: '%.*s' is not a job id", opt,
                                   (int)n, p);
        add_unique(ids, id);
        if (p[n] != ':')
            return 0;
        p += n + 1;
    }
}

/* One TYPE:ID[:ID...] of a --dependency spec. */
static int add_slurm_item(json_t *deps, const char *item)
{
    size_t n = strcspn(item, ":");
    for (size_t i = 0; i < sizeof slurm_types / sizeof *slurm_types; i++) {
        if (strlen(slurm_types[i].slurm) != n ||
            strncmp(item, slurm_types[i].slurm, n) != 0)
            continue;
        if (item[n] != ':')
            return cli_usage_error(
                "submit", "--dependency: '%s' needs job ids (%s:ID[:ID...])",
                slurm_types[i].slurm, slurm_types[i].slurm);
        return depends_add_ids(deps, slurm_types[i].key, "--dependency",
                               item + n + 1);
    }
    if (n == 5 && strncmp(item, "after", 5) == 0)
        return cli_usage_error(
            "submit", "--dependency: Slurm's 'after' (once the job has "
                      "started) is not supported; use afterok, afterany "
                      "or afternotok");
    return cli_usage_error("submit",
                           "--dependency: '%.*s' is not supported; use "
                           "afterok:ID, afterany:ID or afternotok:ID",
                           (int)n, item);
}

int depends_add_slurm(json_t *deps, const char *spec)
{
    if (strchr(spec, '?'))
        return cli_usage_error("submit",
                               "--dependency: '?' (any one of them) is "
                               "not supported: a job waits for all of "
                               "its dependencies (',')");
    char *copy = strdup(spec);
    if (!copy) {
        cli_error("out of memory");
        return 1;
    }
    int rc = 0, items = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
         item = strtok_r(NULL, ",", &save), items++)
        rc = add_slurm_item(deps, item);
    free(copy);
    if (rc == 0 && items == 0)
        rc = cli_usage_error("submit",
                             "--dependency needs TYPE:ID[:ID...], e.g. "
                             "afterok:20261124-0001");
    return rc;
}

void depends_apply(json_t *job, json_t *deps)
{
    const char *key;
    json_t *ids;
    json_object_foreach(deps, key, ids)
    {
        json_t *have = json_object_get(job, key);
        if (!have) {
            json_object_set_new(job, key, json_deep_copy(ids));
            continue;
        }
        if (!json_is_array(have))
            continue; /* the job's own mistake: validation names it */
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v) add_unique(have, json_string_value(v));
    }
}

int depends_check(const struct spool *sp, json_t *job)
{
    for (size_t k = 0; k < NKEYS; k++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(job, dependency_keys[k]), i, v)
        {
            const char *id = json_string_value(v);
            if (id && spool_locate(sp, id) < 0) {
                cli_error("dependency %s ('%s') is not a job of this spool", id,
                          dependency_keys[k]);
                return 1;
            }
        }
    }
    return 0;
}
