/* SPDX-License-Identifier: MIT */
/* Plain hwloc synthetic descriptions, whose shape is read without hwloc.
 *
 * hwloc builds a synthetic topology by inserting every object by cpuset,
 * which compares it with its would-be siblings: time grows with the
 * number of PUs times the fan-out, and "pack:64 core:256 pu:2" takes
 * seconds. A plain description is regular enough to place tasks on
 * without that tree: the objects of each level split the PUs into equal,
 * consecutive blocks. */
#include "synthetic.h"

#include <ctype.h>
#include <hwloc.h>
#include <stdlib.h>
#include <string.h>

/* The kinds of level a plain description may have. */
enum level_kind { LEVEL_OTHER, LEVEL_GROUPING, LEVEL_CORE, LEVEL_PU };

/* What one TYPE:N token is, by hwloc's own reading of the type name. */
static enum level_kind token_kind(const char *token, size_t len)
{
    const char *colon = memchr(token, ':', len);
    if (!colon || colon == token || !isalpha((unsigned char)token[0]))
        return LEVEL_OTHER;
    for (const char *p = token; p < colon; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return LEVEL_OTHER;
    hwloc_obj_type_t type;
    if (hwloc_type_sscanf(token, &type, NULL, 0) < 0)
        return LEVEL_OTHER;
    switch (type) {
    case HWLOC_OBJ_PACKAGE:
    case HWLOC_OBJ_DIE:
    case HWLOC_OBJ_L1CACHE:
    case HWLOC_OBJ_L2CACHE:
    case HWLOC_OBJ_L3CACHE:
    case HWLOC_OBJ_L4CACHE:
    case HWLOC_OBJ_L5CACHE:
        return LEVEL_GROUPING;
    case HWLOC_OBJ_CORE:
        return LEVEL_CORE;
    case HWLOC_OBJ_PU:
        return LEVEL_PU;
    default:
        return LEVEL_OTHER;
    }
}

/* The N of a TYPE:N token (1 or more, all digits), or 0. */
static unsigned long token_arity(const char *token, size_t len)
{
    const char *digits = memchr(token, ':', len) + 1;
    size_t n = len - (size_t)(digits - token);
    if (n == 0 || n > 9)
        return 0;
    unsigned long arity = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)digits[i]))
            return 0;
        arity = arity * 10 + (unsigned long)(digits[i] - '0');
    }
    return arity;
}

bool synthetic_plain(const char *desc, unsigned long max_pus,
                     struct synthetic_shape *shape)
{
    *shape = (struct synthetic_shape){.core_level = -1};
    unsigned long pus = 1;
    enum level_kind last = LEVEL_OTHER;
    for (const char *p = desc;;) {
        p += strspn(p, " \t\n");
        if (!*p)
            break;
        size_t len = strcspn(p, " \t\n");
        enum level_kind kind = token_kind(p, len);
        unsigned long arity = kind == LEVEL_OTHER ? 0 : token_arity(p, len);
        /* Groupings above one core level above the PUs, in that order. */
        if (arity == 0 || shape->nlevels == SYNTHETIC_MAX_LEVELS ||
            last == LEVEL_PU ||
            (kind == LEVEL_GROUPING && last == LEVEL_CORE) ||
            (kind == LEVEL_CORE && shape->core_level >= 0) ||
            arity > max_pus / pus)
            return false;
        if (kind == LEVEL_CORE)
            shape->core_level = (int)shape->nlevels;
        shape->arity[shape->nlevels++] = (unsigned)arity;
        pus *= arity;
        last = kind;
        p += len;
    }
    return last == LEVEL_PU;
}
