/* SPDX-License-Identifier: MIT */
/* mpispool report --html: one self-contained HTML page of an ended job. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "html.h"
#include "htmlpage.h"

#include "cli.h"
#include "error.h"
#include "format.h"
#include "outpaths.h"
#include "reportread.h"
#include "spool.h"
#include "util.h"

/* At most this many bars are drawn in the timeline: every attempt that
 * did not succeed (up to the cap), then an even sample of the others. A
 * note on the page says so. 20000 SVG rects are about 2 MB of HTML. */
#define HTML_MAX_BARS 20000
/* Rows of the failed tasks table. */
#define HTML_MAX_FAILED_ROWS 100
/* The end of a failed task's stderr shown: at most this many bytes ... */
#define HTML_TAIL_BYTES 2048
/* ... and lines. */
#define HTML_TAIL_LINES 20
#define HIST_BINS 40

/* Page geometry, in SVG user units (CSS pixels). */
#define PAGE_W 1100.0
#define LABEL_W 150.0
#define PLOT_W (PAGE_W - LABEL_W - 20.0)
#define AXIS_H 22.0

static const char *const outcome_class[PAGE_N] = {"ok", "failed", "timeout",
                                                  "cancelled", "interrupted"};
static const char *const outcome_label[PAGE_N] = {"ok", "failed", "timed out",
                                                  "cancelled", "interrupted"};

/* ------------------------------------------------------------ output */

/* Text as HTML (element content or a quoted attribute): & < > " ' are
 * escaped, control characters other than newline and tab become U+FFFD,
 * carriage returns are dropped. */
static void put_esc_n(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        case '\r':
            break;
        case '\n':
        case '\t':
            putc(c, f);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                fputs("\xef\xbf\xbd", f);
            else
                putc(c, f);
        }
    }
}

static void put_esc(FILE *f, const char *s)
{
    put_esc_n(f, s ? s : "-", s ? strlen(s) : 1);
}

/* A time as "2026-11-29 18:01:02 UTC". */
static const char *utc_text(int64_t us, char *buf, size_t len)
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

/* A number of seconds, short: "0.35s", "12s", "3m", "1h 20m". */
static const char *short_secs(double s, char *buf, size_t len)
{
    if (s < 10 && s != floor(s))
        snprintf(buf, len, "%.2gs", s);
    else if (s < 120)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 7200)
        snprintf(buf, len, "%.0fm%s", floor(s / 60),
                 fmod(s, 60) >= 1 ? " +" : "");
    else
        snprintf(buf, len, "%.0fh %02.0fm", floor(s / 3600),
                 floor(fmod(s, 3600) / 60));
    return buf;
}

/* A tick step of 1, 2 or 5 times a power of ten (or minutes, hours) that
 * cuts span into at most 10 parts. */
static double tick_step(double span)
{
    static const double steps[] = {1,    2,    5,     10,    15,    30,
                                   60,   120,  300,   600,   900,   1800,
                                   3600, 7200, 14400, 21600, 43200, 86400};
    if (span <= 0)
        return 1;
    if (span / 10 < 1) {
        double p = pow(10, floor(log10(span / 10)));
        for (int m = 1; m <= 10; m *= 10)
            for (int k = 0; k < 3; k++) {
                double s = p * m * (k == 0 ? 1 : k == 1 ? 2 : 5);
                if (span / s <= 10)
                    return s;
            }
        return p * 10;
    }
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (span / steps[i] <= 10)
            return steps[i];
    return ceil(span / 10 / 86400) * 86400;
}

/* What an attempt ended with: "exit 3", "signal 9 (Killed), timed out",
 * "error: ...". */
static void put_result(FILE *f, const struct page *pg,
                       const struct page_attempt *a)
{
    if (a->error) {
        fputs("error: ", f);
        put_esc(f, pg->errors[a->error - 1]);
    } else if (a->signal) {
        fprintf(f, "signal %d (", a->signal);
        put_esc(f, strsignal(a->signal));
        fputc(')', f);
    } else if (a->has_exit) {
        fprintf(f, "exit %d", a->exit_code);
    } else {
        fputs("did not run", f);
    }
    if (a->timed_out && !a->error)
        fputs(", timed out", f);
}

static const char page_css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "margin:20px auto;max-width:1120px;color:#222;background:#fff}"
    "h1{font-size:20px;margin:0 0 10px}h2{font-size:16px;margin:26px 0 8px}"
    "table.sum{border-collapse:collapse}"
    "table.sum th{text-align:left;font-weight:600;padding:2px 16px 2px 0;"
    "color:#555}"
    "table.sum td{padding:2px 16px 2px 0}"
    ".badge{padding:1px 8px;border-radius:9px;color:#fff;font-weight:600}"
    ".st-done{background:#2e9d4e}.st-failed{background:#d7372f}"
    ".st-cancelled{background:#8a8f98}"
    ".legend{margin:4px 0 6px}.legend span{margin-right:16px;"
    "white-space:nowrap}"
    ".sw{display:inline-block;width:12px;height:12px;border-radius:2px;"
    "vertical-align:-1px;margin-right:5px}"
    ".ok{fill:#2e9d4e;background:#2e9d4e}"
    ".failed{fill:#d7372f;background:#d7372f}"
    ".timeout{fill:#f08c00;background:#f08c00}"
    ".cancelled{fill:#8a8f98;background:#8a8f98}"
    ".interrupted{fill:#7b61c4;background:#7b61c4}"
    "svg{display:block;background:#fcfcfc;border:1px solid #e5e5e5}"
    "svg text{font:11px system-ui,sans-serif;fill:#555}"
    ".grid{stroke:#e8e8e8}.axis{stroke:#aaa}"
    ".bar:hover{stroke:#000;stroke-width:1}"
    ".hbar{fill:#4a7fc1}.hbar:hover{fill:#2a5f9f}"
    ".note{background:#fff6e0;border-left:3px solid #f0b000;"
    "padding:4px 8px;margin:6px 0}"
    "table.ftab{border-collapse:collapse;width:100%}"
    "table.ftab th{text-align:left;background:#f3f3f3}"
    "table.ftab th,table.ftab td{border-bottom:1px solid #e3e3e3;"
    "padding:4px 8px;vertical-align:top}"
    "pre{margin:0;max-height:24em;overflow:auto;background:#f6f6f6;"
    "padding:4px 6px;font-size:12px;white-space:pre-wrap;"
    "word-break:break-all}"
    "#status{color:#999;font-size:11px;margin-top:20px}";

/* Checks, once the page is loaded, that every bar and bin the page
 * announces is there; writes "ok" in #status (and data-ok on the body)
 * only then. Tests read it from the rendered page. */
static const char page_script[] =
    "(function(){var s=document.getElementById('status');"
    "var t=document.getElementById('timeline'),"
    "h=document.getElementById('histogram');"
    "var bars=t.querySelectorAll('.bar').length,"
    "want=+t.getAttribute('data-bars');"
    "var bins=h.querySelectorAll('.hbar').length,"
    "wantb=+h.getAttribute('data-bins');"
    "if(bars!==want||bins!==wantb){s.textContent='error: '+bars+' of '+"
    "want+' bars, '+bins+' of '+wantb+' bins';return;}"
    "s.textContent='ok';document.body.setAttribute('data-ok','1');})();";

static void put_summary(FILE *f, const struct page *pg, int64_t t0, int64_t t1)
{
    char b1[64], b2[64];
    json_t *h = pg->head;
    json_t *counts = json_object_get(h, "counts");
    const char *state = fmt_member_text(h, "state", b1, sizeof b1);
    fputs("<table class=\"sum\">\n<tr><th>state</th><td><span class=\"badge "
          "st-",
          f);
    put_esc(f, strcmp(state, "done") == 0 || strcmp(state, "failed") == 0
                   ? state
                   : "cancelled");
    fputs("\">", f);
    put_esc(f, state);
    fputs("</span></td></tr>\n", f);
    fprintf(f, "<tr><th>tasks</th><td>%lld: %lld succeeded, %lld failed",
            (long long)fmt_member_int(counts, "tasks"),
            (long long)fmt_member_int(counts, "succeeded"),
            (long long)fmt_member_int(counts, "failed"));
    if (fmt_member_int(counts, "cancelled"))
        fprintf(f, ", %lld cancelled",
                (long long)fmt_member_int(counts, "cancelled"));
    fputs("</td></tr>\n", f);
    fprintf(f, "<tr><th>attempts</th><td>%zu", pg->n);
    for (int o = 0; o < PAGE_N; o++)
        if (pg->count[o])
            fprintf(f, "%s %zu %s", o == 0 ? ":" : ",", pg->count[o],
                    outcome_label[o]);
    fputs("</td></tr>\n", f);
    static const char *const times[] = {"submitted", "started", "ended"};
    for (size_t i = 0; i < 3; i++) {
        int64_t us;
        const char *text = json_string_value(json_object_get(h, times[i]));
        fprintf(f, "<tr><th>%s</th><td>", times[i]);
        if (util_parse_time(text, &us) == 0)
            put_esc(f, utc_text(us, b2, sizeof b2));
        else
            put_esc(f, text);
        fputs("</td></tr>\n", f);
    }
    if (t1 > t0)
        fprintf(f, "<tr><th>duration</th><td>%s</td></tr>\n",
                fmt_duration((double)(t1 - t0) / 1e6, b2, sizeof b2));
    fprintf(f,
            "<tr><th>cpu time</th><td>%s (user %.2fs + system %.2fs)"
            "</td></tr>\n",
            fmt_duration(pg->user_s + pg->system_s, b2, sizeof b2), pg->user_s,
            pg->system_s);
    if (pg->n)
        fprintf(f, "<tr><th>max rss</th><td>%.1f MiB</td></tr>\n",
                (double)pg->max_rss_kb / 1024);
    fputs("</table>\n", f);
}

/* Order rows by rank, then host. */
static const struct page *sort_page;

static int row_cmp(const void *x, const void *y)
{
    const struct page_row *a = &sort_page->rows[*(const int *)x];
    const struct page_row *b = &sort_page->rows[*(const int *)y];
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return strcmp(a->host, b->host);
}

/* splitmix64: a well-mixed hash of an attempt's index. */
static uint64_t sample_hash(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void put_legend(FILE *f)
{
    fputs("<div class=\"legend\">", f);
    for (int o = 0; o < PAGE_N; o++)
        fprintf(f, "<span><i class=\"sw %s\"></i>%s</span>", outcome_class[o],
                outcome_label[o]);
    fputs("</div>\n", f);
}

/* Which bars the timeline draws (a malloc'd flag per attempt; NULL: none
 * for lack of memory), *drawn how many; a note on f when not all. */
static unsigned char *pick_bars(FILE *f, const struct page *pg, size_t *drawn)
{
    /* Which bars: all that did not succeed (up to the cap), then a sample
     * of the successful ones: each with the same chance, by a hash of its
     * index (an every-k-th sample would miss whole ranks when tasks go
     * round the ranks in a pattern). */
    size_t nok = pg->count[PAGE_OK], nbad = pg->n - nok;
    size_t bad_drawn = nbad < HTML_MAX_BARS ? nbad : HTML_MAX_BARS;
    size_t ok_room = HTML_MAX_BARS - bad_drawn;
    uint64_t threshold =
        nok <= ok_room
            ? UINT64_MAX
            : (uint64_t)(0.98 * (double)ok_room / (double)nok * 0x1p64);
    unsigned char *pick = calloc(pg->n + 1, 1);
    size_t ok_drawn = 0, bad_seen = 0;
    for (size_t i = 0; i < pg->n && pick; i++) {
        if (pg->a[i].outcome != PAGE_OK)
            pick[i] = bad_seen++ < bad_drawn;
        else if (ok_drawn < ok_room && sample_hash(i) <= threshold)
            pick[i] = 1, ok_drawn++;
    }
    if (!pick)
        bad_drawn = 0;
    *drawn = bad_drawn + ok_drawn;
    if (*drawn < pg->n) {
        fprintf(f,
                "<p class=\"note\" id=\"capped\">The timeline shows %zu of "
                "%zu attempts: ",
                *drawn, pg->n);
        if (bad_drawn < nbad)
            fprintf(f, "the first %zu of the %zu that did not succeed.",
                    bad_drawn, nbad);
        else
            fprintf(f,
                    "every one that did not succeed (%zu), and a random "
                    "sample of %zu of the %zu successful ones.",
                    nbad, ok_drawn, nok);
        fputs(" The histogram and the counts include all of them.</p>\n", f);
    }
    return pick;
}

/* The timeline's row labels (host:rank), rows in order, rh high. */
static void put_row_labels(FILE *f, const struct page *pg, const int *order,
                           double rh)
{
    for (size_t i = 0; i < pg->nrows; i++) {
        const struct page_row *r = &pg->rows[order[i]];
        double y = AXIS_H + rh * (double)i;
        if (i % 2 == 0)
            fprintf(f,
                    "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.0f\" "
                    "height=\"%.1f\" fill=\"#f2f4f7\"/>\n",
                    LABEL_W, y, PLOT_W, rh);
        if (rh >= 9) {
            fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">",
                    LABEL_W - 6, y + rh / 2 + 4);
            size_t len = strlen(r->host);
            if (len > 20) {
                put_esc_n(f, r->host, 17);
                fputs("...", f);
            } else {
                put_esc(f, r->host);
            }
            fprintf(f, ":%lld</text>\n", r->rank);
        }
    }
}

static void put_timeline(FILE *f, const struct page *pg, int64_t t0, int64_t t1)
{
    char b1[64], b2[64], b3[64];
    if (pg->n == 0) {
        fputs("<p>No task ran.</p>\n<svg id=\"timeline\" data-bars=\"0\" "
              "style=\"display:none\" "
              "width=\"0\" height=\"0\"></svg>\n",
              f);
        return;
    }
    int *order = malloc((pg->nrows + 1) * sizeof *order);
    int *pos = malloc((pg->nrows + 1) * sizeof *pos);
    if (!order || !pos) {
        free(order);
        free(pos);
        fputs("<svg id=\"timeline\" data-bars=\"0\"></svg>\n", f);
        return;
    }
    for (size_t i = 0; i < pg->nrows; i++)
        order[i] = (int)i;
    sort_page = pg;
    qsort(order, pg->nrows, sizeof *order, row_cmp);
    for (size_t i = 0; i < pg->nrows; i++)
        pos[order[i]] = (int)i;

    size_t drawn;
    unsigned char *pick = pick_bars(f, pg, &drawn);
    put_legend(f);

    double rh = pg->nrows <= 40 ? 18 : 1200.0 / (double)pg->nrows;
    if (rh < 3)
        rh = 3;
    double height = AXIS_H + rh * (double)pg->nrows + 8;
    double span = (double)(t1 - t0) / 1e6;
    if (span <= 0)
        span = 1e-3;
    fprintf(f,
            "<svg id=\"timeline\" data-bars=\"%zu\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "xmlns=\"http://www.w3.org/2000/svg\">\n",
            drawn, PAGE_W, height, PAGE_W, height);
    /* time axis and grid */
    double step = tick_step(span);
    for (double t = 0; t <= span * 1.0000001; t += step) {
        double x = LABEL_W + t / span * PLOT_W;
        fprintf(f,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" "
                "y2=\"%.1f\"/><text x=\"%.1f\" y=\"14\" "
                "text-anchor=\"middle\">+%s</text>\n",
                x, AXIS_H - 4, x, height - 4, x, short_secs(t, b1, sizeof b1));
    }
    put_row_labels(f, pg, order, rh);
    /* bars: the successful ones first, so the others are drawn on top */
    double bh = rh > 4 ? rh - 2 : rh - 0.5;
    for (size_t k = 0; k < 2 * pg->n && pick; k++) {
        size_t i = k % pg->n;
        const struct page_attempt *a = &pg->a[i];
        if (!pick[i] || (a->outcome == PAGE_OK) != (k < pg->n))
            continue;
        double x = LABEL_W + (double)(a->start_us - t0) / 1e6 / span * PLOT_W;
        double w = (double)(a->end_us - a->start_us) / 1e6 / span * PLOT_W;
        if (w < 0.5)
            w = 0.5;
        const struct page_row *r = &pg->rows[a->row];
        fprintf(f,
                "<rect class=\"bar %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%.1f\"><title>task %lld attempt %d on ",
                outcome_class[a->outcome], x,
                AXIS_H + rh * pos[a->row] + (rh - bh) / 2, w, bh, a->task,
                a->number);
        put_esc(f, r->host);
        fprintf(f, ":%lld\n%s: ", r->rank, outcome_label[a->outcome]);
        put_result(f, pg, a);
        fprintf(f, "\n+%.3fs to +%.3fs (%s)</title></rect>\n",
                (double)(a->start_us - t0) / 1e6,
                (double)(a->end_us - t0) / 1e6,
                fmt_duration(a->elapsed, b2, sizeof b2));
    }
    (void)b3;
    fputs("</svg>\n", f);
    free(pick);
    free(order);
    free(pos);
}

static void put_histogram(FILE *f, const struct page *pg)
{
    char b1[64], b2[64];
    if (pg->n == 0) {
        fputs("<svg id=\"histogram\" data-bins=\"0\" style=\"display:none\" "
              "height=\"0\"></svg>\n",
              f);
        return;
    }
    double max = 0;
    for (size_t i = 0; i < pg->n; i++)
        if (pg->a[i].elapsed > max)
            max = pg->a[i].elapsed;
    if (max <= 0)
        max = 1e-3;
    size_t bins[HIST_BINS] = {0}, top = 0;
    for (size_t i = 0; i < pg->n; i++) {
        size_t b = (size_t)(pg->a[i].elapsed / max * HIST_BINS);
        if (b >= HIST_BINS)
            b = HIST_BINS - 1;
        if (++bins[b] > top)
            top = bins[b];
    }
    const double h = 212, base = 172, left = 60, w = PAGE_W - left - 20;
    fprintf(f,
            "<svg id=\"histogram\" data-bins=\"%d\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "xmlns=\"http://www.w3.org/2000/svg\">\n",
            pg->n ? HIST_BINS : 0, PAGE_W, h, PAGE_W, h);
    fprintf(f,
            "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" "
            "y2=\"%.0f\"/>\n",
            left, base, left + w, base);
    fprintf(f,
            "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%zu</text>\n"
            "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n",
            left - 6, base - 140 + 4, top, left - 6, base + 4);
    for (int i = 0; i <= 4 && pg->n; i++)
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s"
                "</text>\n",
                left + w * i / 4, base + 16,
                short_secs(max * i / 4, b1, sizeof b1));
    fprintf(f,
            "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">duration "
            "of an attempt</text>\n",
            left + w / 2, base + 30);
    if (pg->n == 0) {
        fputs("</svg>\n", f);
        return;
    }
    double bw = w / HIST_BINS;
    for (int i = 0; i < HIST_BINS; i++) {
        double bh = top ? 140.0 * (double)bins[i] / (double)top : 0;
        if (bins[i] && bh < 1)
            bh = 1;
        fprintf(f,
                "<rect class=\"hbar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%.1f\"><title>%.3gs to %.3gs: %zu attempt%s"
                "</title></rect>\n",
                left + bw * i + 1, base - bh, bw - 2, bh, max * i / HIST_BINS,
                max * (i + 1) / HIST_BINS, bins[i], bins[i] == 1 ? "" : "s");
    }
    (void)b2;
    fputs("</svg>\n", f);
}

/* The end of a file: at most HTML_TAIL_BYTES bytes and HTML_TAIL_LINES
 * lines, HTML-escaped; "(empty)" or "(cannot read: ...)". */
static void put_tail(FILE *f, const char *path)
{
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fputs("<i>(", f);
        put_esc(f, fd < 0 ? strerror(errno) : "not a regular file");
        fputs(")</i>", f);
        if (fd >= 0)
            close(fd);
        return;
    }
    char buf[HTML_TAIL_BYTES];
    off_t from =
        st.st_size > HTML_TAIL_BYTES ? st.st_size - HTML_TAIL_BYTES : 0;
    ssize_t n = pread(fd, buf, sizeof buf, from);
    close(fd);
    if (n <= 0) {
        fputs("<i>(empty)</i>", f);
        return;
    }
    size_t len = (size_t)n, start = 0;
    /* the last HTML_TAIL_LINES lines (a final newline ends a line) */
    size_t end = len;
    if (end > 0 && buf[end - 1] == '\n')
        end--;
    int lines = 0;
    for (size_t i = end; i > 0; i--)
        if (buf[i - 1] == '\n' && ++lines == HTML_TAIL_LINES) {
            start = i;
            break;
        }
    /* do not start inside a UTF-8 sequence */
    while (start < len && ((unsigned char)buf[start] & 0xc0) == 0x80)
        start++;
    if (from > 0 || start > 0)
        fputs("<i>...</i>\n", f);
    fputs("<pre>", f);
    put_esc_n(f, buf + start, len - start);
    fputs("</pre>", f);
}

static const struct page *cmp_page;

static int attempt_cmp(const void *x, const void *y)
{
    const struct page_attempt *a = &cmp_page->a[*(const size_t *)x];
    const struct page_attempt *b = &cmp_page->a[*(const size_t *)y];
    if (a->task != b->task)
        return a->task < b->task ? -1 : 1;
    return (a->number > b->number) - (a->number < b->number);
}

static void put_failed(FILE *f, struct spool *sp, const char *id,
                       const struct page *pg)
{
    char b1[64];
    size_t *idx = malloc((pg->n + 1) * sizeof *idx);
    if (!idx)
        return;
    for (size_t i = 0; i < pg->n; i++)
        idx[i] = i;
    cmp_page = pg;
    qsort(idx, pg->n, sizeof *idx, attempt_cmp);
    size_t nfailed = 0, shown = 0;
    for (size_t i = 0; i < pg->n; i++) {
        const struct page_attempt *a = &pg->a[idx[i]];
        bool last = i + 1 == pg->n || pg->a[idx[i + 1]].task != a->task;
        if (!last || a->outcome == PAGE_OK)
            continue;
        if (nfailed++ == 0)
            fputs("<table class=\"ftab\" id=\"failed\">\n<tr><th>task</th>"
                  "<th>attempts</th><th>where</th><th>result</th>"
                  "<th>duration</th><th>end of stderr</th></tr>\n",
                  f);
        if (shown >= HTML_MAX_FAILED_ROWS)
            continue;
        shown++;
        size_t first = i;
        while (first > 0 && pg->a[idx[first - 1]].task == a->task)
            first--;
        const struct page_row *r = &pg->rows[a->row];
        fprintf(f, "<tr class=\"frow\"><td>%lld</td><td>%zu</td><td>", a->task,
                i - first + 1);
        put_esc(f, r->host);
        fprintf(f, ":%lld</td><td><i class=\"sw %s\"></i>", r->rank,
                outcome_class[a->outcome]);
        put_result(f, pg, a);
        fprintf(f, "</td><td>%s</td><td>",
                fmt_duration(a->elapsed, b1, sizeof b1));
        char *path = out_task_file(sp, id, (uint64_t)a->task, OUT_STDERR);
        put_tail(f, path);
        free(path);
        fputs("</td></tr>\n", f);
    }
    if (nfailed == 0)
        fputs(pg->n ? "<p>Every task succeeded.</p>\n"
                    : "<p>No task ran.</p>\n",
              f);
    else
        fputs("</table>\n", f);
    if (nfailed > shown)
        fprintf(f,
                "<p class=\"note\">... and %zu more tasks that did not "
                "succeed (see report.json).</p>\n",
                nfailed - shown);
    free(idx);
}

static void put_page(FILE *f, struct spool *sp, const char *id,
                     const struct page *pg)
{
    char b1[64];
    json_t *h = pg->head;
    const char *name = json_string_value(json_object_get(h, "name"));
    int64_t t0 = INT64_MAX, t1 = INT64_MIN, us;
    for (size_t i = 0; i < pg->n; i++) {
        if (pg->a[i].start_us < t0)
            t0 = pg->a[i].start_us;
        if (pg->a[i].end_us > t1)
            t1 = pg->a[i].end_us;
    }
    if (util_parse_time(json_string_value(json_object_get(h, "started")),
                        &us) == 0 &&
        us < t0)
        t0 = us;
    if (util_parse_time(json_string_value(json_object_get(h, "ended")), &us) ==
            0 &&
        us > t1)
        t1 = us;
    if (t0 == INT64_MAX || t1 < t0)
        t0 = t1 = 0;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "\n<meta name=\"viewport\" content=\"width=device-width\">\n"
          "<title>mpispool job ",
          f);
    put_esc(f, id);
    if (name) {
        fputs(": ", f);
        put_esc(f, name);
    }
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", page_css);
    fputs("<h1>mpispool job ", f);
    put_esc(f, id);
    if (name) {
        fputs(": <span id=\"name\">", f);
        put_esc(f, name);
        fputs("</span>", f);
    }
    fputs("</h1>\n", f);
    put_summary(f, pg, t0, t1);
    fprintf(f, "<h2>Timeline: %zu rank%s</h2>\n", pg->nrows,
            pg->nrows == 1 ? "" : "s");
    put_timeline(f, pg, t0, t1);
    fputs("<h2>Durations</h2>\n", f);
    put_histogram(f, pg);
    fputs("<h2>Tasks that did not succeed</h2>\n", f);
    put_failed(f, sp, id, pg);
    char now[64];
    fprintf(f,
            "<div id=\"status\">script did not run</div>\n"
            "<p style=\"color:#999;font-size:11px\">mpispool %s, %s</p>\n"
            "<script>%s</script>\n</body>\n</html>\n",
            MPISPOOL_VERSION, utc_text(util_now_us(), now, sizeof now),
            page_script);
    (void)b1;
}

int report_html(struct spool *sp, const char *id, const char *path,
                const char *file)
{
    struct page pg;
    struct mps_error err;
    if (page_load(&pg, path, &err) < 0) {
        cli_error("%s", err.text);
        return 1;
    }
    bool to_stdout = strcmp(file, "-") == 0;
    char *tmp = NULL;
    FILE *f = stdout;
    int rc = 1;
    if (!to_stdout) {
        if (asprintf(&tmp, "%s.tmp%d", file, (int)getpid()) < 0) {
            tmp = NULL;
            cli_error("out of memory");
            goto out;
        }
        if (!(f = fopen(tmp, "we"))) {
            cli_error("cannot create '%s': %s", tmp, strerror(errno));
            goto out;
        }
    }
    static char buf[1 << 16];
    if (!to_stdout)
        setvbuf(f, buf, _IOFBF, sizeof buf);
    put_page(f, sp, id, &pg);
    if (to_stdout) {
        rc = fflush(f) == 0 && !ferror(f) ? 0 : 1;
        if (rc)
            cli_error("cannot write to standard output: %s", strerror(errno));
        goto out;
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        cli_error("cannot write '%s': %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, file) < 0) {
        cli_error("cannot rename '%s' to '%s': %s", tmp, file, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(tmp);
    page_clear(&pg);
    return rc;
}
