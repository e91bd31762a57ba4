#!/usr/bin/env bash
# Upgrades pg_softdelete from every version that has an upgrade path to the default version,
# with state created under the old version, and checks the state and the main functions
# afterwards. The first release has no earlier version, so then only the default version is
# installed and `ALTER EXTENSION ... UPDATE` is checked to keep the state unchanged.
# Prints "ok ..." / "not ok ..." lines and ends with "N passed, N failed".
set -uo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_DIR"
export RUN_DIR="$REPO_DIR/.run/upgrade" PGPORT=54446
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket"

passed=0
failed=0
check() {
    if [ "$2" = "$3" ]; then echo "ok upgrade: $1"; passed=$((passed + 1));
    else echo "not ok upgrade: $1 (expected $3, got $2)"; failed=$((failed + 1)); fi
}
sql() { psql -X -qAt -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }

bash scripts/cluster.sh destroy
bash scripts/cluster.sh start >/dev/null || { echo "not ok upgrade: the cluster did not start"; echo "0 passed, 1 failed"; exit 1; }
trap 'bash scripts/cluster.sh stop' EXIT

default=$(sql postgres "SELECT default_version FROM pg_available_extensions WHERE name = 'pg_softdelete'")
check "default version is the crate version" "$default" "$(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)"
versions=$(sql postgres "SELECT version FROM pg_available_extension_versions WHERE name = 'pg_softdelete' ORDER BY version")

for version in $versions; do
    database="upgrade_from_${version//./_}"
    sql postgres "CREATE DATABASE $database" >/dev/null
    sql "$database" "CREATE EXTENSION pg_softdelete VERSION '$version'" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -d "$database" >/dev/null 2>&1 <<'SQL'
SET softdelete.notices = off;
CREATE TABLE account (id int PRIMARY KEY, email text UNIQUE);
CREATE TABLE project (id int PRIMARY KEY, account_id int REFERENCES account ON DELETE CASCADE);
SELECT softdelete.enable('account');
SELECT softdelete.enable('project');
INSERT INTO account VALUES (1, 'a@example.com'), (2, 'b@example.com');
INSERT INTO project VALUES (10, 1), (20, 2);
DELETE FROM account WHERE id = 1;
SQL
    before=$(sql "$database" "SELECT count(*) FILTER (WHERE deleted_at IS NULL) || '/' || count(*) FROM project")
    events_before=$(sql "$database" "SELECT count(*) FROM softdelete.events")
    update=$(sql "$database" "ALTER EXTENSION pg_softdelete UPDATE")
    check "update from $version succeeds" "$(echo "$update" | grep -c ERROR)" 0
    check "version after update from $version" "$(sql "$database" "SELECT extversion FROM pg_extension WHERE extname = 'pg_softdelete'")" "$default"
    check "rows kept by update from $version" "$(sql "$database" "SELECT count(*) FILTER (WHERE deleted_at IS NULL) || '/' || count(*) FROM project")" "$before"
    check "events kept by update from $version" "$(sql "$database" "SELECT count(*) FROM softdelete.events")" "$events_before"
    check "restore after update from $version" "$(sql "$database" "SET softdelete.notices = off; SELECT softdelete.restore('account', 1)")" 2
    check "soft delete after update from $version" "$(sql "$database" "DELETE FROM project WHERE id = 20 RETURNING deleted_at IS NOT NULL")" t
done
[ "$(echo "$versions" | wc -w)" -gt 1 ] || echo "# $default is the only version: there is no earlier release to upgrade from"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
