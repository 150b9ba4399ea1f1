/* SPDX-License-Identifier: MIT */
/* Command policy: which programs tasks may run (--allow-commands and
 * --deny-commands of mpispool-run). No MPI. */
#ifndef MPISPOOL_POLICY_H
#define MPISPOOL_POLICY_H

#include <stdbool.h>

#include "error.h"

struct policy;

/* Parse an allow list and a deny list (either text may be NULL: no such
 * list). One rule a line: an absolute program path or an fnmatch(3) glob
 * matched without flags, so '*' also matches '/'. Leading and trailing
 * blanks are ignored, as are blank lines and lines whose first non-blank
 * character is '#'. A rule that does not start with '/' is an error
 * naming its list and line ("allow list line 3: 'rm' is not an absolute
 * path or glob"). Each rule is also kept in its canonical form on this
 * node: a literal path through realpath(3), a glob with the directories
 * before its first wildcard through realpath, so that "/bin/sh" also
 * matches "/usr/bin/dash" where /bin/sh is a link to it. allow_name and
 * deny_name name the lists in messages (e.g. their file names). Returns
 * NULL and sets err on failure. */
struct policy *policy_create(const char *allow, const char *allow_name,
                             const char *deny, const char *deny_name,
                             struct mps_error *err);

void policy_destroy(struct policy *pol);

/* Whether program (a canonical absolute path, see realpath(3)) may run: no
 * deny rule matches it and, when there is an allow list, an allow rule
 * does. Deny wins. A NULL policy allows everything. */
bool policy_allows(const struct policy *pol, const char *program);

/* Whether the policy restricts anything (has an allow or a deny list). */
bool policy_active(const struct policy *pol);

#endif
