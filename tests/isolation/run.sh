#!/usr/bin/env bash
# Runs the isolation specs in tests/isolation/specs with PostgreSQL's isolation tester against
# the installed extension, on a fresh cluster in .run/isolation (port 54406). Does not build or
# install the extension.
# Usage: tests/isolation/run.sh [spec ...]   (default: every spec, in name order)
# Exits non-zero when a spec's output differs from tests/isolation/expected/<spec>.out.
set -uo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_DIR"
export RUN_DIR="$REPO_DIR/.run/isolation" PGPORT=54406
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket"
database=softdelete_isolation
isolation_regress="$(dirname "$("$PG_CONFIG" --pgxs)")/../test/isolation/pg_isolation_regress"

if [ $# -gt 0 ]; then
    specs=("$@")
else
    specs=()
    for spec in tests/isolation/specs/*.spec; do
        specs+=("$(basename "$spec" .spec)")
    done
fi

bash scripts/cluster.sh destroy
bash scripts/cluster.sh start >/dev/null || { echo "not ok isolation: the cluster did not start"; exit 1; }
trap 'bash scripts/cluster.sh stop' EXIT

# --use-existing makes the runner use this database as it is, so the extension is installed
# once here and each spec creates and drops its own tables.
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $database" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$database" -c "CREATE EXTENSION pg_softdelete" || exit 1

out="$RUN_DIR/results"
mkdir -p "$out"
"$isolation_regress" --use-existing --host="$PGHOST" --port="$PGPORT" --user=postgres \
    --inputdir=tests/isolation --outputdir="$out" --dbname="$database" \
    "${specs[@]}" >"$out/summary.txt" 2>&1
status=$?
grep -E "^test |^=+$|tests? (passed|failed)" "$out/summary.txt"
if [ $status -ne 0 ]; then
    [ -f "$out/regression.diffs" ] && head -n 300 "$out/regression.diffs"
    echo "isolation: failed; the runner's output is in $out/summary.txt"
fi
exit $status
