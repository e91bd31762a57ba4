#!/usr/bin/env bash
# Runs the pg_regress suite (tests/pg_regress/schedule) against the installed extension, on a
# fresh cluster under $RUN_DIR (default .run/test, port 54316). Does not build or install.
# Usage: scripts/regress.sh [test ...]   (default: every test in the schedule)
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_DIR"
export RUN_DIR="${REGRESS_RUN_DIR:-$REPO_DIR/.run/test}" PGPORT="${REGRESS_PORT:-54316}"
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket"

bash scripts/cluster.sh destroy
bash scripts/cluster.sh start >/dev/null || exit 1
out="$RUN_DIR/regress"
as_postgres mkdir -p "$out"
if [ $# -gt 0 ]; then
    selection=("00_setup" "$@")
else
    selection=(--schedule=tests/pg_regress/schedule)
fi
pg_regress="$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress"
as_postgres "$pg_regress" --host="$PGHOST" --port="$PGPORT" --user=postgres \
    --inputdir=tests/pg_regress --outputdir="$out" --dbname=softdelete_regression \
    "${selection[@]}" >"$out/summary.txt" 2>&1
status=$?
grep -E "^(ok|not ok|test) |tests? (passed|failed)|^#" "$out/summary.txt"
if [ $status -ne 0 ] && [ -f "$out/regression.diffs" ]; then
    head -n 300 "$out/regression.diffs"
fi
[ "${KEEP_CLUSTER:-0}" = 1 ] || bash scripts/cluster.sh stop
exit $status
