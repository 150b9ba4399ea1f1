/* SPDX-License-Identifier: MIT */
/* The spool's status as status shows it: the coordinators' status files,
 * the queue sizes and the drained hosts, loaded once and rendered as text
 * or JSON to any stream. */
#include "statusmodel.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format.h"
#include "statusfile.h"
#include "table.h"
#include "util.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

long status_count_json(const struct spool *sp, enum spool_dir dir)
{
    char *path = spool_file(sp, dir, NULL);
    DIR *d = path ? opendir(path) : NULL;
    free(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && ends_with(de->d_name, ".json"))
            n++;
    closedir(d);
    return n;
}

static const enum spool_dir counted_dirs[STATUS_NCOUNTED] = {
    SPOOL_NEW, SPOOL_CUR, SPOOL_DONE, SPOOL_FAILED, SPOOL_REJECTED,
};

/* --idle-policy: the policy, and a line for each rank whose owner is
 * active: "rank 1 (pc12): owner active since 16:50:06 UTC (4m ago, input);
 * its tasks are suspended". */
static void print_idle_policy(FILE *out, json_t *st, int64_t now)
{
    const char *policy = json_string_value(json_object_get(st, SF_IDLE_POLICY));
    if (!policy)
        return;
    fprintf(out, " idle policy: %s\n", policy);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(st, SF_RANKS), i, r)
    {
        json_t *idle = json_object_get(r, SF_IDLE_POLICY);
        if (!json_is_true(json_object_get(idle, SF_OWNER_ACTIVE)))
            continue;
        char b1[32], b2[64], b3[32];
        fprintf(out, " rank %s (%s): owner active",
                fmt_member_text(r, SF_RANK, b1, sizeof b1),
                fmt_member_text(r, SF_RANK_HOST, b2, sizeof b2));
        const char *since =
            json_string_value(json_object_get(idle, SF_OWNER_SINCE));
        int64_t since_us;
        if (since && util_parse_time(since, &since_us) == 0)
            fprintf(
                out, " since %s (%s ago)", since,
                fmt_duration((double)(now - since_us) / 1e6, b3, sizeof b3));
        const char *why =
            json_string_value(json_object_get(idle, SF_OWNER_REASON));
        if (why)
            fprintf(out, ", %s",
                    strcmp(why, "input") == 0
                        ? "keyboard, mouse or terminal input"
                        : why);
        const char *action =
            json_string_value(json_object_get(idle, SF_OWNER_ACTION));
        if (fmt_member_int(r, SF_RANK_TASKS) > 0 && action)
            fprintf(out, "; its tasks are %s",
                    strcmp(action, "requeue") == 0 ? "being ended to run again"
                                                   : "suspended");
        fputc('\n', out);
    }
}

static void print_coordinator(FILE *out, json_t *st, int64_t now)
{
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32], b8[32];
    const char *state = fmt_member_text(st, SF_STATE, b1, sizeof b1);
    json_t *slots = json_object_get(st, SF_SLOTS);
    fprintf(out, "coordinator %s on %s: %s, %s/%s slots busy",
            fmt_member_text(st, SF_COORDINATOR, b2, sizeof b2),
            fmt_member_text(st, SF_HOST, b3, sizeof b3), state,
            fmt_member_text(slots, SF_SLOTS_BUSY, b4, sizeof b4),
            fmt_member_text(slots, SF_SLOTS_TOTAL, b5, sizeof b5));
    int64_t updated;
    const char *text = json_string_value(json_object_get(st, SF_UPDATED));
    if (util_parse_time(text, &updated) == 0) {
        double age = (double)(now - updated) / 1e6;
        fprintf(out, ", updated %s ago", fmt_duration(age, b6, sizeof b6));
        if (statusfile_stale(state, age))
            fputs(" (stale)", out);
    } else {
        fputs(", updated ?", out);
    }
    fputc('\n', out);

    static const char *const rank_heads[] = {
        "RANK", "HOST", "STATE", "CORES", "MEMORY", "GPUS", "LOAD", "TASKS"};
    json_t *ranks = json_object_get(st, SF_RANKS);
    struct table t;
    size_t i;
    json_t *r;
    if (json_array_size(ranks) > 0) {
        table_init(&t, 8, rank_heads, 0xf9);
        json_array_foreach(ranks, i, r)
        {
            /* Used of total: cores (slots), memory reserved, GPUs. */
            char mem_used[16], mem_total[16];
            snprintf(b3, sizeof b3, "%lld/%lld",
                     (long long)fmt_member_int(r, SF_RANK_BUSY),
                     (long long)fmt_member_int(r, SF_RANK_SLOTS));
            snprintf(
                b4, sizeof b4, "%s/%s",
                util_human_size((uint64_t)fmt_member_int(r, SF_MEMORY_RESERVED),
                                mem_used, sizeof mem_used),
                util_human_size((uint64_t)fmt_member_int(r, SF_MEMORY),
                                mem_total, sizeof mem_total));
            snprintf(b5, sizeof b5, "%lld/%lld",
                     (long long)fmt_member_int(r, SF_GPUS_BUSY),
                     (long long)fmt_member_int(r, SF_GPUS));
            json_t *load = json_object_get(r, SF_LOAD);
            if (json_is_number(load))
                snprintf(b7, sizeof b7, "%.2f", json_number_value(load));
            else
                snprintf(b7, sizeof b7, "-");
            const char *row[] = {
                fmt_member_text(r, SF_RANK, b1, sizeof b1),
                fmt_member_text(r, SF_RANK_HOST, b2, sizeof b2),
                fmt_member_text(r, SF_RANK_STATE, b6, sizeof b6),
                b3,
                b4,
                b5,
                b7,
                fmt_member_text(r, SF_RANK_TASKS, b8, sizeof b8)};
            table_add(&t, row);
        }
        table_print(&t, out, " ");
        table_free(&t);
    }
    print_idle_policy(out, st, now);
    static const char *const job_heads[] = {"JOB",     "NAME",      "STATE",
                                            "TASKS",   "SUCCEEDED", "FAILED",
                                            "RUNNING", "PENDING",   "PRIORITY"};
    json_t *jobs = json_object_get(st, SF_JOBS);
    if (json_array_size(jobs) == 0) {
        fputs(" no jobs\n", out);
        return;
    }
    table_init(&t, 9, job_heads, 0x1f8);
    t.limit[1] = 32; /* names may be 256 characters long */
    json_array_foreach(jobs, i, r)
    {
        char b9[32];
        const char *row[] = {
            fmt_member_text(r, SF_JOB, b1, sizeof b1),
            fmt_member_text(r, SF_JOB_NAME, b2, sizeof b2),
            fmt_member_text(r, SF_JOB_STATE, b3, sizeof b3),
            fmt_member_text(r, SF_JOB_TASKS, b4, sizeof b4),
            fmt_member_text(r, SF_JOB_SUCCEEDED, b5, sizeof b5),
            fmt_member_text(r, SF_JOB_FAILED, b6, sizeof b6),
            fmt_member_text(r, SF_JOB_RUNNING, b7, sizeof b7),
            fmt_member_text(r, SF_JOB_PENDING, b8, sizeof b8),
            fmt_member_text(r, SF_JOB_PRIORITY, b9, sizeof b9)};
        table_add(&t, row);
    }
    table_print(&t, out, " ");
    table_free(&t);
    /* Why a job has not started, or is stopping (written from job ids and
     * numbers: nothing to escape). */
    json_array_foreach(jobs, i, r)
    {
        const char *why = json_string_value(json_object_get(r, SF_JOB_WAITING));
        if (!why)
            why = json_string_value(json_object_get(r, SF_JOB_REASON));
        const char *id = json_string_value(json_object_get(r, SF_JOB));
        if (why && id)
            fprintf(out, " %s: %s\n", id, why);
    }
}

/* drain/ entries made by root or the spool's administrator. */
json_t *status_drained_hosts(const struct spool *sp)
{
    char *dir = spool_file(sp, SPOOL_DRAIN, NULL);
    struct dirent **names = NULL;
    int n = dir ? scandir(dir, &names, NULL, alphasort) : -1;
    bool missing = n < 0 && errno == ENOENT;
    if (n < 0) {
        free(dir);
        return missing ? json_array() : NULL;
    }
    json_t *hosts = json_array();
    for (int i = 0; i < n; i++) {
        char *path = NULL;
        struct stat st;
        if (hosts && names[i]->d_name[0] != '.' &&
            asprintf(&path, "%s/%s", dir, names[i]->d_name) >= 0 &&
            lstat(path, &st) == 0 && spool_drain_honoured(&st, spool_admin(sp)))
            json_array_append_new(hosts, json_string(names[i]->d_name));
        free(path);
        free(names[i]);
    }
    free(names);
    free(dir);
    return hosts;
}

int status_model_load(const struct spool *sp, struct status_model *m)
{
    *m = (struct status_model){0};
    m->path = spool_path(sp);
    if (!(m->coords = statusfile_load_all(sp)))
        return -1;
    for (size_t i = 0; i < STATUS_NCOUNTED; i++)
        m->counts[i] = status_count_json(sp, counted_dirs[i]);
    m->drained = status_drained_hosts(sp);
    return 0;
}

void status_model_free(struct status_model *m)
{
    json_decref(m->coords);
    json_decref(m->drained);
    *m = (struct status_model){0};
}

void status_render_text(const struct status_model *m, int64_t now, FILE *out)
{
    size_t i;
    json_t *st;
    if (json_array_size(m->coords) == 0)
        fputs("no coordinator has run on this spool\n", out);
    json_array_foreach(m->coords, i, st)
    {
        if (i > 0)
            fputc('\n', out);
        print_coordinator(out, st, now);
    }
    fprintf(out, "\nspool %s:", m->path);
    for (size_t d = 0; d < STATUS_NCOUNTED; d++) {
        if (m->counts[d] < 0)
            fprintf(out, "%s ? %s", d ? "," : "",
                    spool_dir_name(counted_dirs[d]));
        else
            fprintf(out, "%s %ld %s", d ? "," : "", m->counts[d],
                    spool_dir_name(counted_dirs[d]));
    }
    fputc('\n', out);
    if (json_array_size(m->drained) > 0) {
        fputs("drained hosts (mpispool drain):", out);
        json_t *host;
        json_array_foreach(m->drained, i, host)
            fprintf(out, " %s", json_string_value(host));
        fputc('\n', out);
    }
}

char *status_render_json(const struct status_model *m)
{
    json_t *counted = json_object();
    json_object_set_new(counted, "path", json_string(m->path));
    for (size_t i = 0; i < STATUS_NCOUNTED; i++)
        json_object_set_new(counted, spool_dir_name(counted_dirs[i]),
                            m->counts[i] < 0 ? json_null()
                                             : json_integer(m->counts[i]));
    json_object_set(counted, "drained", m->drained ? m->drained : json_null());
    json_t *root = json_object();
    json_object_set(root, "coordinators", m->coords);
    json_object_set_new(root, "spool", counted);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}
