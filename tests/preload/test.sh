#!/usr/bin/env bash
# Runs pg_softdelete on a cluster that does not preload it, and checks what the docs promise
# for that case: enable() warns, a DELETE in a session that has not loaded the library yet is
# still soft and audited but reports DELETE 0, and once the session has loaded it (any call
# into the extension) the row count is honest again.
# Prints "ok ..." / "not ok ..." lines and ends with "N passed, N failed".
set -uo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_DIR"
export RUN_DIR="$REPO_DIR/.run/preload" PGPORT=54476 NO_PRELOAD=1
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket"

passed=0
failed=0
check() {
    if [ "$2" = "$3" ]; then echo "ok preload: $1"; passed=$((passed + 1));
    else echo "not ok preload: $1 (expected $3, got $2)"; failed=$((failed + 1)); fi
}

bash scripts/cluster.sh destroy
bash scripts/cluster.sh start >/dev/null || { echo "not ok preload: the cluster did not start"; echo "0 passed, 1 failed"; exit 1; }
trap 'bash scripts/cluster.sh stop' EXIT

enable_output=$(psql -X -v ON_ERROR_STOP=1 -d postgres 2>&1 <<'SQL'
CREATE EXTENSION pg_softdelete;
CREATE TABLE doc (id int PRIMARY KEY);
SET softdelete.notices = off;
SELECT softdelete.enable('doc');
INSERT INTO doc VALUES (1), (2);
SQL
)
check "enable() warns that the library is not preloaded" "$(echo "$enable_output" | grep -c 'is not in shared_preload_libraries')" 1

# A new session that has not called into the extension: the guard trigger soft-deletes the
# row, and the client sees DELETE 0.
tag=$(psql -X -d postgres -c "DELETE FROM doc WHERE id = 1" 2>&1 | tail -n 1)
check "DELETE in a fresh session reports 0 rows" "$tag" "DELETE 0"
check "the row is soft-deleted, not removed" \
    "$(psql -X -qAt -d postgres -c "SELECT deleted_at IS NOT NULL FROM doc WHERE id = 1")" t
check "the delete is audited" \
    "$(psql -X -qAt -d postgres -c "SELECT count(*) FROM softdelete.events WHERE operation = 'delete'")" 1

# A session that has called into the extension plans with the hook from then on.
tag=$(psql -X -d postgres -c "SELECT softdelete._show_deleted('doc'::regclass)" -c "DELETE FROM doc WHERE id = 2" 2>&1 | tail -n 1)
check "DELETE after a call into the extension reports 1 row" "$tag" "DELETE 1"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
