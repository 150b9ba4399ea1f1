#!/bin/bash
# SPDX-License-Identifier: MIT
# The man pages (doc/man/) render without a single groff or man warning,
# document every command `mpispool --help` lists and every option that
# `mpispool CMD --help` and `mpispool-run --help` print, and are installed
# by cmake --install.
. "$(dirname "$0")/lib.sh"

MAN_DIR=$REPO_ROOT/doc/man
for prog in groff man; do
    command -v "$prog" >/dev/null || {
        echo "manpages: SKIP: $prog is not installed (scripts/install-deps.sh: man-db groff-base)"
        exit 77
    }
done
[ -x "$MPISPOOL" ] || fail "mpispool not built: $MPISPOOL"
[ -x "$MPISPOOL_RUN" ] || fail "mpispool-run not built: $MPISPOOL_RUN"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mpispool-$TEST_NAME.XXXXXX")
PAGES=(mpispool.1 mpispool-run.1 mpispool-jobfile.5)

# render_warnings PAGE: every warning groff and man give for PAGE.
render_warnings() {
    groff -man -ww -z "$1" 2>&1
    LC_ALL=C MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null
}

# The checker sees warnings: a page with an unknown macro and a line that
# cannot be adjusted.
cat >"$TEST_TMP/bad.1" <<'EOF2'
.TH BAD 1
.SH NAME
bad \- a page with mistakes
.SH DESCRIPTION
.BOGUS macro
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
EOF2
[ -n "$(render_warnings "$TEST_TMP/bad.1")" ] ||
    fail "groff/man report no warning for a broken page: the check cannot fail"

for page in "${PAGES[@]}"; do
    assert_file "$MAN_DIR/$page" "man page"
    warnings=$(render_warnings "$MAN_DIR/$page")
    [ -z "$warnings" ] || fail "$page renders with warnings: $warnings"
    text=$(LC_ALL=C MANWIDTH=80 man -l "$MAN_DIR/$page" 2>/dev/null)
    assert_contains "NAME" "$text" "$page rendered"
    assert_contains "SEE ALSO" "$text" "$page rendered"
done

# help_options: the options a --help text (stdin) offers: every option in
# its Usage lines, and the leading options of each line of an option list.
help_options() {
    awk '
    function grab(s, leading) {
        while (match(s, /(^|[^A-Za-z0-9-])--?[A-Za-z][A-Za-z0-9-]*/)) {
            o = substr(s, RSTART, RLENGTH)
            sub(/^[^-]/, "", o)
            print o
            s = substr(s, RSTART + RLENGTH)
            if (leading && s !~ /^, -/) break
        }
    }
    /^Usage:/ { usage = 1 }
    usage && /^[[:space:]]*$/ { usage = 0 }
    usage { grab($0, 0); next }
    /^[[:space:]]+-/ { grab($0, 1) }' | sort -u
}

# man_source PAGE: its roff source as plain text (\- is -, no font
# escapes).
man_source() {
    sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' "$1"
}

# man_section TEXT NAME: the lines of .SS NAME up to the next .SS or .SH.
man_section() {
    awk -v name="$2" '
    /^\.S[SH] / { on = ($1 == ".SS" && ($2 == name || $2 == "\"" name "\"")) ; next }
    on' <<<"$1"
}

has_option() { # OPTION TEXT
    grep -qE -- "(^|[^A-Za-z0-9-])$1([^A-Za-z0-9-]|\$)" <<<"$2"
}

# mpispool-run: every option in mpispool-run.1.
run_page=$(man_source "$MAN_DIR/mpispool-run.1")
run_opts=$("$MPISPOOL_RUN" --help | help_options)
[ "$(wc -l <<<"$run_opts")" -ge 15 ] || fail "too few options parsed from mpispool-run --help: $run_opts"
for opt in $run_opts; do
    has_option "$opt" "$run_page" || fail "mpispool-run.1 does not document $opt (mpispool-run --help has it)"
done

# mpispool: global options, then each command in its own .SS section
# (options every command takes may be in OPTIONS instead).
page=$(man_source "$MAN_DIR/mpispool.1")
common=$(awk '/^\.SH OPTIONS/ { on = 1; next } /^\.SH / { on = 0 } on' <<<"$page")
for opt in $("$MPISPOOL" --help | help_options); do
    has_option "$opt" "$page" || fail "mpispool.1 does not document $opt (mpispool --help has it)"
done
listed=$("$MPISPOOL" --help | awk '
    /^Commands:/ { on = 1; next }
    on && /^[^ ]/ { on = 0 }
    on && /^  [a-z]/ { print $1 }' | sort -u)
[ "$(wc -w <<<"$listed")" -ge 7 ] || fail "too few commands parsed from mpispool --help: $listed"
checked=0
for cmd in $(printf '%s\n' $listed init submit status wait report cancel log start drain | sort -u); do
    section=$(man_section "$page" "$cmd")
    grep -qx "$cmd" <<<"$listed" ||
        fail "'$cmd' is not among the commands of mpispool --help: $(paste -sd" " <<<"$listed")"
    [ -n "$section" ] || fail "command '$cmd' is in mpispool --help but mpispool.1 has no '.SS $cmd' section"
    [ "$cmd" = help ] && continue # 'mpispool help --help' is help on '--help'
    opts=$("$MPISPOOL" "$cmd" --help | help_options)
    assert_contains "--help" "$opts" "options parsed from mpispool $cmd --help"
    for opt in $opts; do
        has_option "$opt" "$section" || has_option "$opt" "$common" ||
            fail "mpispool.1 section '$cmd' does not document $opt (mpispool $cmd --help has it)"
    done
    checked=$((checked + 1))
done
[ "$checked" -ge 7 ] || fail "only $checked commands checked"

# cmake --install puts them under share/man.
BUILD_DIR=$(dirname "$MPISPOOL")
[ -f "$BUILD_DIR/cmake_install.cmake" ] ||
    fail "no CMake build directory beside $MPISPOOL to check the install with"
command -v cmake >/dev/null || fail "cmake is not installed"
cmake --install "$BUILD_DIR" --prefix "$TEST_TMP/prefix" >"$TEST_TMP/install.log" 2>&1 ||
    { cat "$TEST_TMP/install.log" >&2; fail "cmake --install failed"; }
for page in "${PAGES[@]}"; do
    assert_file "$TEST_TMP/prefix/share/man/man${page##*.}/$page" "installed man page"
done
MANPATH=$TEST_TMP/prefix/share/man man -w mpispool-jobfile >/dev/null ||
    fail "man does not find the installed mpispool-jobfile page"
pass "man pages render cleanly and cover $checked commands and mpispool-run"
