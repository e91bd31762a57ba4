#!/usr/bin/env bash
# Soak test: a bounded mixed workload with pgbench against a table managed by pg_softdelete,
# then checks that no row, unique value or audit event went astray. Runs on a fresh cluster in
# .run/soak (port 54436) against the installed extension.
#
# Four pgbench clients on 127.0.0.1 run, for SOAK_SECONDS seconds (default 60), a weighted mix
# of the scripts in this directory: delete.sql (soft delete as an application role),
# insert.sql (INSERT ... ON CONFLICT DO NOTHING on a unique code), select.sql (reads that must
# show no deleted row and no duplicate code), restore.sql and purge.sql (restore() and purge()
# of random deleted rows, with the errors that races cause caught and logged). setup.sql
# creates the table and the log tables the checks compare with the audit trail.
#
# Prints one "ok" or "not ok" line per check and "N passed, N failed"; exits non-zero on any
# failure.
set -uo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_DIR"
export RUN_DIR="$REPO_DIR/.run/soak" PGPORT=54436
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket"
database=softdelete_soak
seconds=${SOAK_SECONDS:-60}
clients=4
soak_dir="$REPO_DIR/tests/soak"

case "$seconds" in
    '' | *[!0-9]*) echo "invalid SOAK_SECONDS '$seconds': expected a whole number of seconds" >&2; exit 2 ;;
esac

passed=0
failed=0

check() {
    local name=$1 actual=$2 expected=$3
    if [ "$actual" = "$expected" ]; then
        echo "ok soak: $name"
        passed=$((passed + 1))
    else
        echo "not ok soak: $name (expected $expected, got $actual)"
        failed=$((failed + 1))
    fi
}

sql() {
    psql -X -qAt -v ON_ERROR_STOP=1 -d "$database" -c "$1"
}

bash scripts/cluster.sh destroy
bash scripts/cluster.sh start >/dev/null || { echo "not ok soak: the cluster did not start"; echo "0 passed, 1 failed"; exit 1; }
trap 'bash scripts/cluster.sh stop' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $database" >/dev/null || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$database" -f "$soak_dir/setup.sql" >/dev/null || exit 1

# --max-tries retries transactions that fail with a deadlock or a serialization failure, which
# concurrent restores and purges can cause. Any other error aborts the client and fails the run.
# timeout ends pgbench if it overruns -T by more than two minutes.
log="$RUN_DIR/pgbench.log"
PGOPTIONS="-c softdelete.notices=off -c client_min_messages=warning" \
    timeout $((seconds + 120)) "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -n \
    -c "$clients" -j 2 -T "$seconds" --max-tries=10 \
    -f "$soak_dir/delete.sql@6" -f "$soak_dir/insert.sql@3" -f "$soak_dir/select.sql@3" \
    -f "$soak_dir/restore.sql@2" -f "$soak_dir/purge.sql@1" \
    "$database" >"$log" 2>&1
status=$?

check "pgbench exit status" "$status" 0
check "no pgbench client aborted" "$(grep -c "aborted" "$log")" 0
failed_transactions=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
check "pgbench reports no failed transactions" "${failed_transactions:-missing}" 0
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
echo "# pgbench: ${processed:-0} transactions in $seconds s, $(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' "$log") retried"
if [ "$status" -ne 0 ] || [ "${failed_transactions:-1}" != 0 ]; then
    grep -E "error|ERROR|aborted" "$log" | sort | uniq -c | head -20 | sed 's/^/# /'
fi

# The workload must have done each kind of work, or the checks below prove little.
check "rows were soft-deleted" "$(sql "SELECT count(*) > 0 FROM softdelete.events WHERE operation = 'delete'")" t
check "deletions were restored" "$(sql "SELECT count(*) > 0 FROM soak_call WHERE operation = 'restore'")" t
check "rows were purged" "$(sql "SELECT count(*) > 0 FROM soak_call WHERE operation = 'purge'")" t
check "rows were inserted" "$(sql "SELECT count(*) > 2000 FROM soak_inserted")" t
echo "# $(sql "SELECT string_agg(operation || ' ' || sqlstate || ': ' || n, ', ' ORDER BY operation, sqlstate)
                FROM (SELECT operation, sqlstate, count(*) AS n FROM soak_expected_error GROUP BY 1, 2) e") expected errors"
echo "# $(sql "SELECT count(*) FILTER (WHERE deleted_at IS NULL) || ' active and '
                      || count(*) FILTER (WHERE deleted_at IS NOT NULL) || ' deleted rows' FROM soak_item")"

check "active + deleted rows = inserted - purged" "$(sql "
    SELECT (SELECT count(*) FROM soak_item)
         = (SELECT count(*) FROM soak_inserted) - (SELECT coalesce(sum(rows), 0) FROM soak_call WHERE operation = 'purge')")" t
check "purge() calls, removed rows and purge events agree" "$(sql "
    SELECT (SELECT coalesce(sum(rows), 0) FROM soak_call WHERE operation = 'purge')
           || ' ' || (SELECT count(*) FROM soak_removed)
           || ' ' || (SELECT count(*) FROM softdelete.events WHERE operation = 'purge')")" \
    "$(sql "SELECT n || ' ' || n || ' ' || n FROM (SELECT coalesce(sum(rows), 0) AS n FROM soak_call WHERE operation = 'purge') c")"
check "purged rows are the ones purge events name" "$(sql "
    SELECT count(*) FROM soak_removed r
     WHERE NOT EXISTS (SELECT FROM softdelete.events e
                        WHERE e.table_name = 'public.soak_item' AND e.key = jsonb_build_object('id', r.id)
                          AND e.operation = 'purge')")" 0
check "restore events equal the rows restore() reported" "$(sql "
    SELECT (SELECT count(*) FROM softdelete.events WHERE operation = 'restore')
         = (SELECT coalesce(sum(rows), 0) FROM soak_call WHERE operation = 'restore')")" t
check "no duplicate code among active rows" "$(sql "
    SELECT count(*) FROM (SELECT code FROM soak_item WHERE deleted_at IS NULL GROUP BY code HAVING count(*) > 1) d")" 0

# For every row: each deletion adds a delete event and each restore a restore event, so their
# difference is 1 for a deleted row and 0 for an active one.
check "delete minus restore events is 1 for deleted rows and 0 for active ones" "$(sql "
    SELECT count(*)
      FROM soak_item i
      LEFT JOIN (SELECT key,
                        count(*) FILTER (WHERE operation = 'delete') AS deletes,
                        count(*) FILTER (WHERE operation = 'restore') AS restores
                   FROM softdelete.events WHERE table_name = 'public.soak_item' GROUP BY key) e
        ON e.key = jsonb_build_object('id', i.id)
     WHERE coalesce(e.deletes, 0) - coalesce(e.restores, 0) <> (i.deleted_at IS NOT NULL)::int")" 0
# Deletion ids come from a sequence without a cache, so a later deletion of a row has a
# larger id than an earlier one.
check "deleted rows carry the deletion id of their last delete event" "$(sql "
    SELECT count(*)
      FROM soak_item i
      LEFT JOIN (SELECT key, max(deletion_id) AS last_deletion
                   FROM softdelete.events
                  WHERE table_name = 'public.soak_item' AND operation = 'delete'
                  GROUP BY key) e
        ON e.key = jsonb_build_object('id', i.id)
     WHERE i.deleted_at IS NOT NULL AND i.deletion_id IS DISTINCT FROM e.last_deletion")" 0
# A row's history read by event_id, as the reference reads it, must alternate delete and
# restore, starting with a delete.
check "each row's events in recorded_at, event_id order alternate delete and restore" "$(sql "
    SELECT count(*)
      FROM (SELECT operation,
                   lag(operation) OVER (PARTITION BY key ORDER BY recorded_at, event_id) AS previous
              FROM softdelete.events
             WHERE table_name = 'public.soak_item' AND operation IN ('delete', 'restore')) h
     WHERE operation = previous OR (previous IS NULL AND operation = 'restore')")" 0
check "marker columns are all set or all empty" "$(sql "
    SELECT count(*) FROM soak_item
     WHERE (deleted_at IS NULL) <> (deleted_by IS NULL) OR (deleted_at IS NULL) <> (deletion_id IS NULL)")" 0
check "every deletion id belongs to one transaction" "$(sql "
    SELECT count(*) FROM (SELECT deletion_id FROM softdelete.events WHERE operation = 'delete'
                          GROUP BY deletion_id HAVING count(DISTINCT transaction_id) > 1) d")" 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
