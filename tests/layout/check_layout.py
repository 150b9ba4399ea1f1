#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shape of src/ that doc/design.md promises, checked.

- no file over 1,000 lines; src/rank0/coordinator.c at most 500;
- no function over 120 lines, but for usage text (a function most of
  whose lines are string literals);
- no include cycle; src/submit/ includes nothing of src/rank0/, src/ranks/
  or src/wire/; of src/rank0/ only backend_local.c reaches src/ranks/ (its
  headers included, directly or through others); src/main.c defines no
  function but main and its own static ones;
- doc/design.md names every file and directory of src/, and no path
  src/... that does not exist.

Usage: check_layout.py SOURCE_DIR. Prints each breach; exits 1 if any."""
import os
import re
import sys

MAX_FILE = 1000
MAX_COORDINATOR = 500
MAX_FUNCTION = 120


def sources(src):
    out = []
    for d, _, files in os.walk(src):
        for f in files:
            if f.endswith(('.c', '.h')):
                out.append(os.path.relpath(os.path.join(d, f), src))
    return sorted(out)


def functions(text):
    """(name, first line, length) of each function defined at column 0."""
    lines = text.split('\n')
    i = 0
    while i < len(lines):
        if lines[i] == '{':
            j = i - 1
            while j > 0 and lines[j - 1].strip() and not lines[j - 1].startswith(
                    ('}', '#', '/', ' *')) and not lines[j - 1].endswith(';'):
                j -= 1
            k = i + 1
            while k < len(lines) and lines[k] != '}':
                k += 1
            m = re.search(r'(\w+)\s*\(', ' '.join(lines[j:i]))
            yield (m.group(1) if m else '?', j + 1, k - j + 1,
                   lines[i + 1:k])
            i = k
        i += 1


def mostly_text(body):
    code = [l for l in body if l.strip()]
    strings = [l for l in code if l.strip().startswith('"')]
    return len(code) > 0 and len(strings) >= 0.8 * len(code)


def main(root):
    src = os.path.join(root, 'src')
    files = sources(src)
    bad = []
    texts = {f: open(os.path.join(src, f), encoding='utf-8',
                     errors='replace').read() for f in files}
    for f, t in texts.items():
        n = t.count('\n')
        limit = MAX_COORDINATOR if f == 'rank0/coordinator.c' else MAX_FILE
        if n > limit:
            bad.append('%s: %d lines (at most %d)' % (f, n, limit))
        if f.endswith('.c'):
            for name, line, length, body in functions(t):
                if length > MAX_FUNCTION and not mostly_text(body):
                    bad.append('%s:%d: %s is %d lines (at most %d)' %
                               (f, line, name, length, MAX_FUNCTION))
    # Headers by name: each must be unique in src/.
    by_name = {}
    for f in files:
        by_name.setdefault(os.path.basename(f), []).append(f)
    for name, where in by_name.items():
        if name.endswith('.h') and len(where) > 1:
            bad.append('%s: one header name in %s' % (name, ', '.join(where)))
    inc = {f: [by_name[h][0] for h in re.findall(r'^#include "([^"]+)"', t, re.M)
               if h in by_name] for f, t in texts.items()}
    # Cycles.
    state = {}

    def visit(f, path):
        state[f] = 1
        for g in inc[f]:
            if state.get(g) == 1:
                bad.append('include cycle: %s' %
                           ' -> '.join(path[path.index(g):] + [g]))
            elif g not in state:
                visit(g, path + [g])
        state[f] = 2

    for f in files:
        if f not in state:
            visit(f, [f])

    def reach(f):
        seen, todo = set(), [f]
        while todo:
            for g in inc[todo.pop()]:
                if g not in seen:
                    seen.add(g)
                    todo.append(g)
        return seen

    for f in files:
        top = f.split('/')[0]
        r = reach(f)
        if top == 'submit':
            for g in r:
                if g.split('/')[0] in ('rank0', 'ranks', 'wire'):
                    bad.append('%s reaches %s (src/submit/ may not)' % (f, g))
        if top == 'rank0' and f != 'rank0/backend_local.c':
            for g in r:
                if g.split('/')[0] == 'ranks':
                    bad.append('%s reaches %s (only rank0/backend_local.c may)'
                               % (f, g))
    main_c = texts.get('main.c', '')
    for name, line, _, _ in functions(main_c):
        start = main_c.split('\n')[line - 1]
        if name != 'main' and not start.startswith('static'):
            bad.append('main.c:%d: %s is not static (main.c declares nothing '
                       'for others)' % (line, name))
    # The map.
    design = os.path.join(root, 'doc', 'design.md')
    text = open(design, encoding='utf-8').read() if os.path.exists(design) else ''
    if not text:
        bad.append('doc/design.md is missing')
    dirs = sorted({os.path.dirname(f) for f in files if os.path.dirname(f)})
    for f in files + dirs:
        if not re.search(r'(?<![\w.])' + re.escape(os.path.basename(f)) +
                         r'(?![\w])', text):
            bad.append('doc/design.md does not name src/%s' % f)
    for path in sorted(set(re.findall(r'\bsrc/[\w/]+\.[ch]\b', text))):
        if not os.path.exists(os.path.join(root, path)):
            bad.append('doc/design.md names %s, which does not exist' % path)
    for b in bad:
        print(b)
    print('%d breach%s in %d files' % (len(bad), '' if len(bad) == 1 else 'es',
                                       len(files)))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else '.'))
