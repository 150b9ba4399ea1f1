/* SPDX-License-Identifier: MIT */
/* mpispool submit -- COMMAND ::: ARGS: a job's task file made of the
 * command lines GNU parallel would run (see argsubst.h). */
#include "argtasks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argsubst.h"
#include "cli.h"
#include "error.h"

struct argtasks {
    struct argsubst_cmdline cl;
    struct argsubst_template *template;
    struct argsubst_source *sources; /* one per origin of cl */
};

bool argtasks_wanted(char *const *words, size_t nwords)
{
    for (size_t i = 0; i < nwords; i++)
        if (argsubst_is_separator(words[i]))
            return true;
    return false;
}

struct argtasks *argtasks_parse(char *const *words, size_t nwords)
{
    struct mps_error err;
    struct argtasks *at = calloc(1, sizeof *at);
    if (!at) {
        cli_error("out of memory");
        return NULL;
    }
    if (argsubst_cmdline_parse(words, nwords, &at->cl, &err) < 0 ||
        !(at->template = argsubst_template_parse(
              at->cl.command, at->cl.ncommand, at->cl.norigins, &err))) {
        cli_usage_error("submit", "%s", err.text);
        argtasks_free(at);
        return NULL;
    }
    if (!(at->sources = calloc(at->cl.norigins, sizeof *at->sources))) {
        cli_error("out of memory");
        argtasks_free(at);
        return NULL;
    }
    return at;
}

void argtasks_free(struct argtasks *at)
{
    if (!at)
        return;
    for (size_t i = 0; at->sources && i < at->cl.norigins; i++)
        argsubst_source_free(&at->sources[i]);
    free(at->sources);
    argsubst_template_free(at->template);
    argsubst_cmdline_free(&at->cl);
    free(at);
}

/* Read the argument file path ("-": standard input) into src, one
 * argument per line (without its newline, as parallel reads them), at
 * most *budget bytes in all. 0, or -1 after a message. */
static int read_arg_file(const char *path, struct argsubst_source *src,
                         uint64_t *budget)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "standard input" : path;
    FILE *in = is_stdin ? stdin : fopen(path, "re");
    if (!in) {
        cli_error("cannot open argument file '%s': %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    uint64_t lineno = 0;
    struct mps_error err;
    int rc = 0;
    for (;;) {
        errno = 0;
        ssize_t got = getline(&line, &cap, in);
        if (got <= 0) {
            if (ferror(in)) {
                cli_error("cannot read argument file '%s': %s", name,
                          strerror(errno ? errno : EIO));
                rc = -1;
            }
            break;
        }
        lineno++;
        size_t len = (size_t)got - (line[got - 1] == '\n');
        if (memchr(line, '\0', len)) {
            cli_error("argument file '%s': line %" PRIu64 ": NUL byte", name,
                      lineno);
            rc = -1;
            break;
        }
        if (len > *budget) {
            cli_error("the argument files hold more than %llu MiB: split "
                      "them into several jobs",
                      ARGTASKS_MAX_ARG_BYTES >> 20);
            rc = -1;
            break;
        }
        *budget -= len;
        if (argsubst_source_add(src, line, len, &err) < 0) {
            cli_error("%s", err.text);
            rc = -1;
            break;
        }
    }
    free(line);
    if (rc == 0 && src->nargs == 0) {
        cli_error("argument file '%s' is empty", name);
        rc = -1;
    }
    if (!is_stdin)
        fclose(in);
    return rc;
}

/* Fill at->sources from the command line and the argument files. */
static int read_sources(struct argtasks *at)
{
    uint64_t budget = ARGTASKS_MAX_ARG_BYTES;
    struct mps_error err;
    for (size_t i = 0; i < at->cl.norigins; i++) {
        const struct argsubst_origin *o = &at->cl.origins[i];
        struct argsubst_source *src = &at->sources[i];
        src->linked = o->linked;
        if (o->file) {
            if (read_arg_file(o->file, src, &budget) < 0)
                return -1;
            continue;
        }
        for (size_t w = 0; w < o->nwords; w++) {
            if (argsubst_source_add_word(src, o->words[w], &err) < 0) {
                cli_error("%s", err.text);
                return -1;
            }
        }
    }
    return 0;
}

/* Write the command lines of gen to out; 0, or -1 after a message. */
static int write_lines(struct argsubst_gen *gen, FILE *out, const char *path)
{
    struct mps_error err;
    uint64_t bytes = 0;
    const char *line;
    size_t len;
    int rc;
    while ((rc = argsubst_next(gen, &line, &len, &err)) == 1) {
        bytes += len + 1;
        if (bytes > ARGTASKS_MAX_TASK_BYTES) {
            cli_error("the command lines made from the arguments exceed %llu "
                      "MiB: split them into several jobs",
                      ARGTASKS_MAX_TASK_BYTES >> 20);
            return -1;
        }
        if (fwrite(line, 1, len, out) != len || putc('\n', out) == EOF) {
            cli_error("cannot write '%s': %s", path, strerror(errno));
            return -1;
        }
    }
    if (rc < 0) {
        cli_error("%s", err.text);
        return -1;
    }
    return 0;
}

FILE *argtasks_write(struct argtasks *at, const char *dir, uint64_t *nlines)
{
    struct mps_error err;
    struct argsubst_gen *gen = NULL;
    FILE *out = NULL, *in = NULL;
    int rfd = -1;
    char *path = NULL;
    if (read_sources(at) < 0)
        return NULL;
    if (!(gen = argsubst_start(at->template, at->sources, at->cl.norigins,
                               ARGSUBST_MAX_LINES, &err))) {
        cli_error("%s", err.text);
        return NULL;
    }
    if (asprintf(&path, "%s/.args-XXXXXX", dir) < 0) {
        path = NULL;
        cli_error("out of memory");
        goto out;
    }
    int wfd = mkostemp(path, O_CLOEXEC);
    if (wfd < 0 || (rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
        !(out = fdopen(wfd, "w"))) {
        cli_error("cannot create '%s': %s", path, strerror(errno));
        if (wfd >= 0) {
            unlink(path);
            close(wfd);
        }
        goto out;
    }
    unlink(path); /* rfd keeps it until the copy is made */
    int rc = write_lines(gen, out, path);
    if (fclose(out) != 0 && rc == 0) {
        cli_error("cannot write '%s': %s", path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && !(in = fdopen(rfd, "r")))
        cli_error("cannot read '%s': %s", path, strerror(errno));
    if (in) {
        rfd = -1;
        *nlines = argsubst_total(gen);
    }
out:
    if (rfd >= 0)
        close(rfd);
    free(path);
    argsubst_end(gen);
    return in;
}
