#!/bin/bash
# SPDX-License-Identifier: MIT
# Demo: install dependencies, build, run every example in jobfiles/ through
# a local `mpirun -np 2 mpispool-run`, and show status and reports.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

bash scripts/install-deps.sh
cmake -S . -B build -DMPISPOOL_WERROR=ON >/dev/null
cmake --build build -j2

SPOOL=$ROOT/demo-spool
MPISPOOL=(build/mpispool --spool "$SPOOL")
build/mpispool init "$SPOOL"

sh jobfiles/make-archive.sh # jobfiles/inputs.tar.gz for archive.json

jobs=()
for f in jobfiles/*.json; do
    # after.json names the job it waits for by id: submitted below.
    [ "$f" != jobfiles/after.json ] || continue
    id=$("${MPISPOOL[@]}" submit "$f")
    echo "submitted $f as $id"
    jobs+=("$id")
    [ "$f" != jobfiles/hello.json ] || hello=$id
done
# after.json with its "after" set to hello.json's job: it starts once that
# job has succeeded.
id=$(jq --arg id "$hello" '.after = [$id]' jobfiles/after.json |
    "${MPISPOOL[@]}" submit -)
echo "submitted jobfiles/after.json as $id, after job $hello (hello.json)"
jobs+=("$id")
for f in jobfiles/*.tasks; do
    id=$("${MPISPOOL[@]}" submit --name "$(basename "$f" .tasks)" --tasks "$f")
    echo "submitted $f as $id"
    jobs+=("$id")
done

echo "== mpirun -np 2 build/mpispool-run --spool $SPOOL --until-empty"
rc=0
mpirun --oversubscribe --bind-to none -np 2 build/mpispool-run \
    --spool "$SPOOL" --until-empty || rc=$?
echo "mpispool-run exited $rc"

echo "== mpispool status"
"${MPISPOOL[@]}" status
for id in "${jobs[@]}"; do
    echo "== mpispool report $id"
    "${MPISPOOL[@]}" report "$id" || true
done

echo
echo "status files: $SPOOL/status/"
ls "$SPOOL"/status/ 2>/dev/null | sed 's/^/  /'
echo "reports and task output:"
for id in "${jobs[@]}"; do
    echo "  $SPOOL/out/$id/report.json  (task output: $SPOOL/out/$id/TASK.out)"
done
exit "$rc"
