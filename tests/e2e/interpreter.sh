#!/bin/bash
# SPDX-License-Identifier: MIT
# Shell tasks in bash: with the job key "interpreter" (submit
# --interpreter), or a task file's "#!" line, each bash line (&>, [[ ]],
# arrays, set -o pipefail, $'...') prints and exits exactly as `bash -c
# LINE` does; without, /bin/sh runs them as before. A missing interpreter
# fails like any program that cannot run; the command policy checks the
# interpreter that runs.
. "$(dirname "$0")/lib.sh"
setup_spool
T=$TEST_TMP
cd "$T"
command -v bash >/dev/null || fail "bash is not installed"
if [ "$(readlink -f /bin/sh)" = "$(readlink -f "$(command -v bash)")" ]; then
    echo "interpreter: SKIP: /bin/sh is bash here, so bash and /bin/sh tasks cannot be told apart"
    exit 77
fi

LINES=(
    '( echo out; echo err >&2 ) &> both.$MPISPOOL_JOB_ID.$MPISPOOL_TASK_ID.log; cat both.$MPISPOOL_JOB_ID.$MPISPOOL_TASK_ID.log'
    '[[ abc == a* ]] && echo "pattern matched"'
    'arr=(one two three); echo "${#arr[@]} ${arr[1]} ${arr[@]: -1}"'
    'set -o pipefail; false | true; echo "pipeline status $?"'
    "echo \$'tab\\there' | od -c | head -n 1"
    'x=hello; echo "${x^^} ${x:1:3}"'
    '[[ 1 -eq 2 ]]'
)
printf '%s\n' "${LINES[@]}" >"$T/bash.tasks"
{
    echo '#!/bin/bash'
    cat "$T/bash.tasks"
} >"$T/shebang.tasks"
{
    echo '#!/usr/bin/env bash'
    cat "$T/bash.tasks"
} >"$T/env-shebang.tasks"

# What bash itself does with each line, run as a task would be (in a
# directory of its own, MPISPOOL_TASK_ID set).
mkdir "$T/ref"
for i in "${!LINES[@]}"; do
    rc=0
    (cd "$T/ref" && MPISPOOL_JOB_ID=ref MPISPOOL_TASK_ID=$i bash -c "${LINES[$i]}") \
        >"$T/ref/$i.out" 2>"$T/ref/$i.err" || rc=$?
    echo "$rc" >"$T/ref/$i.rc"
done

# check_like_bash JOB: every task printed and exited as under bash.
check_like_bash() {
    local job=$1 i
    for i in "${!LINES[@]}"; do
        assert_same_file "$T/ref/$i.out" "$(task_out "$job" "$i")" \
            "job $job task $i stdout (${LINES[$i]})"
        assert_same_file "$T/ref/$i.err" "$(task_err "$job" "$i")" \
            "job $job task $i stderr"
        assert_json "$(record "$job" "$i")" .exit_code "$(cat "$T/ref/$i.rc")" \
            "job $job task $i"
    done
}

mkdir "$T/work"
by_option=$(submit --cwd "$T/work" --interpreter bash --tasks "$T/bash.tasks")
by_line=$(submit --cwd "$T/work" --tasks "$T/shebang.tasks")
by_env=$(submit --cwd "$T/work" --tasks "$T/env-shebang.tasks")
jq -n --args '{tasks: $ARGS.positional, interpreter: "/bin/bash"}' \
    "${LINES[@]}" >"$T/bash.json"
by_key=$(submit --cwd "$T/work" "$T/bash.json")
# Steps and "shell" strings too.
jq -n '{steps: ["arr=(a b); echo ${arr[1]}", ["echo", "[[ argv ]]"]],
        interpreter: "bash"}' >"$T/steps.json"
steps=$(submit "$T/steps.json")
# The job's key wins over the file's "#!" line.
sh_over=$(submit --interpreter /bin/sh --tasks <(printf '#!/bin/bash\n[[ 1 == 1 ]]\n'))
# Without any: /bin/sh, as before (dash has no [[).
default=$(submit --cwd "$T/work" --tasks "$T/bash.tasks")
missing=$(submit --interpreter nosuch-shell --tasks "$T/bash.tasks")
assert_json "$SPOOL/new/$by_option.json" .interpreter bash
run_until_empty 2 # the interpreter crosses the wire to the worker rank

for job in "$by_option" "$by_line" "$by_env" "$by_key"; do
    check_like_bash "$job"
done
assert_eq "$(printf 'b\n[[ argv ]]')" "$(cat "$(task_out "$steps" 0)")" "steps under bash"
assert_state "$steps" done
assert_state "$sh_over" failed
assert_json "$(record "$sh_over" 0)" .exit_code 127
i=1 # [[ abc == a* ]] under /bin/sh, as sh -c does it
rc=0
sh -c "${LINES[$i]}" >/dev/null 2>&1 || rc=$?
assert_json "$(record "$default" "$i")" .exit_code "$rc" "line $i under /bin/sh"
assert_ne 0 "$rc" "/bin/sh runs [[ ]] as bash does"
assert_json "$(record "$missing" 0)" .error \
    "cannot execute 'nosuch-shell': No such file or directory"
assert_json "$(record "$missing" 0)" .exit_code null

# Refused at submit: options on the "#!" line, an interpreter with
# arguments.
printf '#!/bin/bash -e\necho x\n' >"$T/options.tasks"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit --tasks "$T/options.tasks"
assert_contains "$T/options.tasks: line 1: '#!/bin/bash -e': an interpreter line with options is not supported" \
    "$(cat "$T/last.err")" "message for #! with options"
assert_exit 1 "$MPISPOOL" --spool "$SPOOL" submit --interpreter 'bash -e' -- true
assert_contains "'interpreter' must be one program" "$(cat "$T/last.err")" \
    "message for an interpreter with arguments"
assert_exit 2 "$MPISPOOL" --spool "$SPOOL" submit --interpreter '' -- true

# Rank 0 alone: the "#!" line as well; --resume-failed keeps the "#!" line
# above the failed line, so it runs under bash again. The command policy
# checks the interpreter that runs: with /bin/sh (dash) denied, the bash
# tasks run, a /bin/sh task and a task of "interpreter": "dash" are
# refused (named as given when a path, else by its canonical path).
alone=$(submit --cwd "$T/work" --tasks "$T/shebang.tasks")
resumed=$(submit --resume-failed "$by_line")
assert_eq "$(printf '#!/bin/bash\n%s' "${LINES[6]}")" "$(cat "$SPOOL/data/$resumed.tasks")" \
    "the resumed job's task file"
sh_real=$(readlink -f /bin/sh)
printf '%s\n' "$sh_real" >"$T/deny-sh"
denied=$(submit --tasks <(echo 'echo never'))
denied_name=$(submit --interpreter "$(basename "$sh_real")" --tasks <(echo 'echo never'))
run_until_empty 1 --deny-commands "$T/deny-sh"
check_like_bash "$alone"
assert_json "$(record "$resumed" 0)" .exit_code 1 "the resumed [[ 1 -eq 2 ]]"
assert_json "$(record "$denied" 0)" .error \
    "command '/bin/sh' is not allowed on this cluster"
assert_json "$(record "$denied_name" 0)" .error \
    "command '$sh_real' is not allowed on this cluster"

pass "bash task files behave as bash; /bin/sh stays the default"
