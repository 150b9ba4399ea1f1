/* SPDX-License-Identifier: MIT */
/* Columns of text aligned on output: the tables of status and report. */
#include "table.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ------------------------------------------------------------ tables */

static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* Copy s for a table cell: control characters become '?', and text
 * longer than max characters is cut, ending in "...". */
static char *cell_text(const char *s, size_t max)
{
    size_t len = strlen(s);
    size_t keep = text_width(s) <= max ? SIZE_MAX : (max > 3 ? max - 3 : 0);
    char *out = malloc(len + 4);
    if (!out)
        return NULL;
    size_t n = 0, chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80 && chars++ == keep) {
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[n] = '\0';
    return out;
}

void table_init(struct table *t, size_t ncols, const char *const *heads,
                unsigned right)
{
    *t = (struct table){.ncols = ncols, .right = right};
    for (size_t i = 0; i < ncols && i < TABLE_MAX_COLS; i++)
        t->heads[i] = heads[i];
}

/* Add a row of ncols strings (copied). */
int table_add(struct table *t, const char *const *row)
{
    char **grown =
        util_grow(t->cells, t->nrows, &t->cap, t->ncols * sizeof *grown, 16);
    if (!grown)
        return -1;
    t->cells = grown;
    char **cells = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        cells[i] = cell_text(row[i] ? row[i] : "-",
                             t->limit[i] ? t->limit[i] : SIZE_MAX);
        if (!cells[i]) {
            while (i-- > 0)
                free(cells[i]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

static void print_cell(FILE *out, const char *s, size_t width, bool right,
                       bool last)
{
    size_t pad = width - text_width(s);
    if (right)
        fprintf(out, "%*s%s", (int)pad, "", s);
    else if (last)
        fputs(s, out);
    else
        fprintf(out, "%s%*s", s, (int)pad, "");
}

void table_print(const struct table *t, FILE *out, const char *indent)
{
    size_t width[TABLE_MAX_COLS];
    for (size_t c = 0; c < t->ncols; c++) {
        width[c] = text_width(t->heads[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        fputs(indent, out);
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s =
                r == 0 ? t->heads[c] : t->cells[(r - 1) * t->ncols + c];
            if (c > 0)
                fputs(" ", out);
            print_cell(out, s, width[c], (t->right >> c) & 1,
                       c + 1 == t->ncols);
        }
        fputc('\n', out);
    }
}

void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}
