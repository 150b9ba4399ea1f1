#!/bin/bash
# SPDX-License-Identifier: MIT
# --allow-commands / --deny-commands: a task's program is found on its PATH,
# canonicalized (links and ".." resolved) and matched against the lists on
# the rank that runs it; deny wins; with an allow list anything else is
# refused; a shell task counts as /bin/sh. A refused task fails with
# "command 'PATH' is not allowed on this cluster". A missing list or a bad
# rule stops mpispool-run at start. One rank and mpirun -np 2.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"

mkdir -p "$T/bin"
printf '#!/bin/sh\necho tool ran\n' >"$T/bin/tool"
printf '#!/bin/sh\necho blocked ran\n' >"$T/bin/blocked"
chmod 0755 "$T/bin/tool" "$T/bin/blocked"
# A link in an allowed directory to a program that is not allowed.
ln -s /usr/bin/true "$T/bin/true-link"
true_real=$(readlink -f /usr/bin/true)
sh_real=$(readlink -f /bin/sh)

cat >"$T/allow" <<EOF2
# what the lab may run
/bin/echo

$T/bin/*
/usr/bin/t[r]
EOF2
printf '%s\n' "$T/bin/blocked" >"$T/deny"

refused() { # PROGRAM
    printf "command '%s' is not allowed on this cluster" "$1"
}

round() {
    local np=$1 echo_job dotdot tool blocked link onpath shell tr_job
    echo_job=$(submit -- echo allowed)
    dotdot=$(submit -- /usr/bin/../bin/true)
    tool=$(submit -- "$T/bin/tool")
    blocked=$(submit -- "$T/bin/blocked")
    link=$(submit -- "$T/bin/true-link")
    onpath=$(PATH="$T/bin:$PATH" submit -- tool)
    shell=$(submit --tasks <(echo 'echo from a shell'))
    tr_job=$(submit -- tr a b)
    local args=(--spool "$SPOOL" --until-empty --allow-commands "$T/allow"
        --deny-commands "$T/deny")
    if [ "$np" = 1 ]; then
        local rc=0
        timeout -k 5 90 "$MPISPOOL_RUN" "${args[@]}" \
            >>"$T/coordinator.log" 2>&1 || rc=$?
        [ "$rc" = 0 ] || {
            show_coordinator_log
            fail "mpispool-run exited $rc"
        }
    else
        run_until_empty "$np" --allow-commands "$T/allow" \
            --deny-commands "$T/deny"
    fi

    assert_state "$echo_job" done
    assert_eq allowed "$(cat "$(task_out "$echo_job" 0)")" "echo (np $np)"
    assert_state "$tool" done
    assert_eq "tool ran" "$(cat "$(task_out "$tool" 0)")" "glob (np $np)"
    assert_state "$onpath" done
    assert_eq "tool ran" "$(cat "$(task_out "$onpath" 0)")" \
        "program found on the task's PATH (np $np)"
    assert_state "$tr_job" done

    assert_state "$dotdot" failed
    assert_json "$(record "$dotdot" 0)" .error "$(refused "$true_real")"
    assert_json "$(record "$dotdot" 0)" .exit_code null
    assert_state "$blocked" failed
    assert_json "$(record "$blocked" 0)" .error "$(refused "$T/bin/blocked")"
    assert_eq "" "$(cat "$(task_out "$blocked" 0)")" "output of a refused task"
    assert_state "$link" failed
    assert_json "$(record "$link" 0)" .error "$(refused "$true_real")"
    assert_state "$shell" failed
    assert_json "$(record "$shell" 0)" .error "$(refused /bin/sh)"
}

round 1
round 2

# A deny list alone: a shell task runs unless /bin/sh (or what it links to)
# is denied; everything not denied runs.
printf '/bin/sh\n' >"$T/deny-sh"
printf '%s\n' "$sh_real" >"$T/deny-sh-real"
plain=$(submit -- echo plain)
shell=$(submit --tasks <(echo 'echo from a shell'))
sh_cmd=$(submit -- sh -c 'echo sh by name')
run_until_empty 2 --deny-commands "$T/deny-sh"
assert_state "$plain" done
assert_state "$shell" failed
assert_json "$(record "$shell" 0)" .error "$(refused /bin/sh)"
assert_state "$sh_cmd" failed
assert_json "$(record "$sh_cmd" 0)" .error "$(refused "$sh_real")"

shell=$(submit --tasks <(echo 'echo from a shell'))
run_until_empty 1 --deny-commands "$T/deny-sh-real"
assert_state "$shell" failed

printf '/usr/bin/*\n' >"$T/allow-usr"
shell=$(submit --tasks <(echo 'echo from a shell'))
run_until_empty 1 --allow-commands "$T/allow-usr"
assert_state "$shell" done
assert_eq "from a shell" "$(cat "$(task_out "$shell" 0)")" "allowed shell task"

# Start-up errors, on every rank count: nothing is claimed.
left=$(submit -- echo never)
assert_exit 1 "$MPISPOOL_RUN" --spool "$SPOOL" --until-empty \
    --allow-commands "$T/missing"
assert_contains "--allow-commands: cannot open '$T/missing'" \
    "$(cat "$TEST_TMP/last.err")" "message of a missing list"
printf '/bin/echo\nrm\n' >"$T/bad"
assert_exit 1 timeout -k 5 60 mpirun --oversubscribe --bind-to none -np 2 \
    "$MPISPOOL_RUN" --spool "$SPOOL" --until-empty --deny-commands "$T/bad"
assert_contains "--deny-commands '$T/bad' line 2: 'rm' is not an absolute path or glob" \
    "$(cat "$TEST_TMP/last.err" "$TEST_TMP/last.out")" "message of a bad rule"
assert_state "$left" new
pass
