#!/usr/bin/env bash
# Crash tests: a soft delete, a purge and a cascading delete are cut off by a crash, and after
# recovery each of them must be either complete or absent, with the audit trail matching the
# rows. Runs on a fresh cluster in .run/crash (port 54416) against the installed extension.
#
#   a. kill -9 of the backend that runs a DELETE of 200,000 rows, once early in its UPDATE and
#      once after its first batch of events is written.
#   b. kill -9 of the backend that runs purge_deletion() of a 200,000-row deletion, once before
#      its purge events are written and once after, before the commit.
#   c. pg_ctl stop -m immediate while two sessions run cascading DELETEs over three tables
#      (2,000 customers, 20,000 orders, 60,000 order lines).
#
# After a kill -9 the postmaster ends every backend and recovers from the WAL by itself
# (restart_after_crash is on by default). The cluster runs with fsync = off (scripts/cluster.sh):
# neither kind of crash loses what the operating system has already received, so fsync does
# not change what these tests see. They do not simulate a power loss.
#
# Prints one "ok" or "not ok" line per check and "N passed, N failed"; exits non-zero on any
# failure. Every wait is bounded. A run took about 25 s on a 2-core machine.
set -uo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_DIR"
export RUN_DIR="$REPO_DIR/.run/crash" PGPORT=54416
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket"
# LOG level puts the crash and the recovery into the server log, which the checks read.
# Without autovacuum, relation sizes only grow, and the checks use them to tell how far a
# statement has got.
export EXTRA_CONF="log_min_messages = log
autovacuum = off"
database=softdelete_crash
server_log="$RUN_DIR/server.log"
rows=200000

passed=0
failed=0
clients=()

# Ends the psql clients of this script that are still running, then the cluster.
cleanup() {
    local pid
    for pid in $(jobs -p); do
        kill "$pid" 2>/dev/null
    done
    bash scripts/cluster.sh stop
}

bash scripts/cluster.sh destroy
bash scripts/cluster.sh start >/dev/null || { echo "not ok crash: the cluster did not start"; echo "0 passed, 1 failed"; exit 1; }
trap cleanup EXIT

check() {
    local name=$1 actual=$2 expected=$3
    if [ "$actual" = "$expected" ]; then
        echo "ok crash: $name"
        passed=$((passed + 1))
    else
        echo "not ok crash: $name (expected $expected, got $actual)"
        failed=$((failed + 1))
    fi
}

sql() {
    psql -X -qAt -v ON_ERROR_STOP=1 -d "$database" -c "$1"
}

# Runs a query every 0.1 s until it returns t, for at most $2 seconds. Fails on timeout.
wait_for() {
    local query=$1 seconds=$2 i
    for ((i = 0; i < seconds * 10; i++)); do
        [ "$(sql "$query" 2>/dev/null)" = t ] && return 0
        sleep 0.1
    done
    return 1
}

# Waits at most $2 seconds for the child process $1 to exit and sets exit_status to its exit
# status, or to "running" when it is still there.
wait_exit() {
    local pid=$1 seconds=$2 i
    exit_status=running
    for ((i = 0; i < seconds * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            exit_status=$?
            return
        fi
        sleep 0.1
    done
}

wait_recovered() {
    wait_for "SELECT NOT pg_is_in_recovery()" 120
}

log_count() {
    grep -c "$1" "$server_log"
}

# Starts a statement in the background under application_name $1. Sets client to the pid of
# its psql and backend to the pid of its backend. backend is empty when the statement did not
# show up as active within 20 s.
start_statement() {
    local name=$1 statement=$2
    PGAPPNAME=$name psql -X -q -d "$database" -c "$statement" >"$RUN_DIR/$name.out" 2>&1 &
    client=$!
    clients+=("$client")
    backend=""
    wait_for "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = '$name' AND state = 'active')" 20 || return
    backend=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = '$name' AND state = 'active'")
}

# Kills the backend of the statement started last with SIGKILL once the query $2 returns t,
# then checks that the statement was cut off and that the server crashed and recovered.
# $1 names the round in the check lines.
kill_backend_when() {
    local name=$1 condition=$2 crashes_before
    crashes_before=$(log_count "terminated by signal 9")
    if ! wait_for "$condition" 30; then
        check "$name: the statement reached the point to kill it at" "timed out" "reached"
        return 1
    fi
    kill -9 "$backend"
    wait_exit "$client" 30
    check "$name: the client lost its connection (psql exit status 2)" "$exit_status" 2
    if ! wait_recovered; then
        check "$name: the server recovered within 120 s" "timed out" "recovered"
        return 1
    fi
    check "$name: the server log records the crash of the backend" \
        "$(( $(log_count "terminated by signal 9") - crashes_before ))" 1
}

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $database" >/dev/null || exit 1
sql "SET client_min_messages = warning; CREATE EXTENSION pg_softdelete" >/dev/null || exit 1

# --- a. kill -9 during a bulk soft delete ------------------------------------------------

psql -X -q -v ON_ERROR_STOP=1 -d "$database" >/dev/null <<SQL || exit 1
SET softdelete.notices = off;
CREATE TABLE bulk_delete (id int PRIMARY KEY, payload text NOT NULL);
SELECT softdelete.enable('bulk_delete');
INSERT INTO bulk_delete SELECT g, md5(g::text) FROM generate_series(1, $rows) g;
CHECKPOINT;
SQL

check_bulk_delete() {
    local name=$1 deleted
    deleted=$(sql "SELECT count(*) FROM bulk_delete WHERE deleted_at IS NOT NULL")
    echo "# $name: $deleted of $rows rows deleted after recovery"
    case "$deleted" in
        0 | "$rows") check "$name: all or none of the rows are deleted" ok ok ;;
        *) check "$name: all or none of the rows are deleted" "$deleted deleted" "0 or $rows deleted" ;;
    esac
    check "$name: delete events equal deleted rows" \
        "$(sql "SELECT count(*) FROM softdelete.events WHERE table_name = 'public.bulk_delete' AND operation = 'delete'")" "$deleted"
    check "$name: at most one deletion id on the rows" \
        "$(sql "SELECT count(DISTINCT deletion_id) <= 1 FROM bulk_delete")" t
    check "$name: the marker columns are set together" \
        "$(sql "SELECT count(*) FROM bulk_delete WHERE (deleted_at IS NULL) <> (deletion_id IS NULL) OR (deleted_at IS NULL) <> (deleted_by IS NULL)")" 0
}

# The UPDATE writes new row versions, so the table grows, and the keys of the marked rows
# reach softdelete.event_batches 65,536 at a time. The first kill lands once the table has grown
# by 1 MB (about 14,000 rows), which is usually before the first batch. The second lands once
# the first batch is written. Both leave all or none of the rows deleted, with matching events.
# The window between 14,000 and 65,536 rows is too short to wait for reliably, so the first
# kill does not also require that no batch is written yet.
table_size=$(sql "SELECT pg_relation_size('bulk_delete')")
start_statement crash-delete-update "DELETE FROM bulk_delete"
if [ -n "$backend" ]; then
    kill_backend_when "delete killed during the UPDATE" \
        "SELECT pg_relation_size('bulk_delete') > $table_size + 1000000" &&
        check_bulk_delete "delete killed during the UPDATE"
else
    check "delete killed during the UPDATE: the DELETE started" "not seen" "active"
fi

events_size=$(sql "SELECT (pg_total_relation_size('softdelete.event_log') + pg_total_relation_size('softdelete.event_batches'))")
start_statement crash-delete-audit "DELETE FROM bulk_delete"
if [ -n "$backend" ]; then
    kill_backend_when "delete killed while writing its events" \
        "SELECT (pg_total_relation_size('softdelete.event_log') + pg_total_relation_size('softdelete.event_batches')) > $events_size" &&
        check_bulk_delete "delete killed while writing its events"
else
    check "delete killed while writing its events: the DELETE started" "not seen" "active"
fi

# --- b. kill -9 during purge_deletion() of a large deletion -----------------------------

psql -X -q -v ON_ERROR_STOP=1 -d "$database" >/dev/null <<SQL || exit 1
SET softdelete.notices = off;
CREATE TABLE bulk_purge (id int PRIMARY KEY, payload text NOT NULL);
SELECT softdelete.enable('bulk_purge');
INSERT INTO bulk_purge SELECT g, md5(g::text) FROM generate_series(1, $rows) g;
DELETE FROM bulk_purge;
CHECKPOINT;
SQL
deletion=$(sql "SELECT max(deletion_id) FROM bulk_purge")

check_bulk_purge() {
    local name=$1 left
    left=$(sql "SELECT count(*) FROM bulk_purge WHERE deletion_id = $deletion")
    echo "# $name: $left of $rows rows left after recovery"
    case "$left" in
        0 | "$rows") check "$name: all or none of the rows are purged" ok ok ;;
        *) check "$name: all or none of the rows are purged" "$left left" "0 or $rows left" ;;
    esac
    check "$name: purge events equal purged rows" \
        "$(sql "SELECT count(*) FROM softdelete.events WHERE table_name = 'public.bulk_purge' AND operation = 'purge'")" \
        "$((rows - left))"
    check "$name: the rows left are still deleted" \
        "$(sql "SELECT count(*) FROM bulk_purge WHERE deleted_at IS NULL")" 0
}

# The DELETE of the rows writes WAL before the audit trigger writes any event.
events_size=$(sql "SELECT (pg_total_relation_size('softdelete.event_log') + pg_total_relation_size('softdelete.event_batches'))")
wal_start=$(sql "SELECT pg_current_wal_lsn()")
start_statement crash-purge-early "SELECT softdelete.purge_deletion($deletion)"
if [ -n "$backend" ]; then
    kill_backend_when "purge killed before its events" \
        "SELECT pg_current_wal_lsn() - '$wal_start' > 2000000
            AND (pg_total_relation_size('softdelete.event_log') + pg_total_relation_size('softdelete.event_batches')) = $events_size" &&
        check_bulk_purge "purge killed before its events"
else
    check "purge killed before its events: the purge started" "not seen" "active"
fi

# The audit trigger writes the purge events in one statement at the end of the DELETE, which
# takes well under a second. A statement trigger that fires after it (triggers fire in name
# order) keeps the transaction open for some seconds, so that the kill lands after the events
# are written and before the commit.
sql "CREATE FUNCTION hold_open() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(5); RETURN NULL; END \$\$;
     CREATE TRIGGER zz_hold_open AFTER DELETE ON bulk_purge FOR EACH STATEMENT EXECUTE FUNCTION hold_open()" >/dev/null
events_size=$(sql "SELECT (pg_total_relation_size('softdelete.event_log') + pg_total_relation_size('softdelete.event_batches'))")
start_statement crash-purge-audit "SELECT softdelete.purge_deletion($deletion)"
if [ -n "$backend" ]; then
    kill_backend_when "purge killed after writing its events" \
        "SELECT (pg_total_relation_size('softdelete.event_log') + pg_total_relation_size('softdelete.event_batches')) > $events_size" &&
        check_bulk_purge "purge killed after writing its events"
else
    check "purge killed after writing its events: the purge started" "not seen" "active"
fi

# --- c. immediate shutdown during cascading deletes -------------------------------------

psql -X -q -v ON_ERROR_STOP=1 -d "$database" >/dev/null <<'SQL' || exit 1
SET softdelete.notices = off;
-- enable() warns about a foreign key to or from a table that is not managed yet, which is the
-- case for the first of the three tables to be enabled.
SET client_min_messages = error;
CREATE TABLE customer (id int PRIMARY KEY);
CREATE TABLE customer_order (id int PRIMARY KEY,
                             customer_id int NOT NULL REFERENCES customer ON DELETE CASCADE);
CREATE TABLE order_line (id int PRIMARY KEY,
                         order_id int NOT NULL REFERENCES customer_order ON DELETE CASCADE);
CREATE INDEX ON customer_order (customer_id);
CREATE INDEX ON order_line (order_id);
SELECT softdelete.enable('customer');
SELECT softdelete.enable('customer_order');
SELECT softdelete.enable('order_line');
-- 10 orders per customer and 3 lines per order.
INSERT INTO customer SELECT g FROM generate_series(1, 2000) g;
INSERT INTO customer_order SELECT g, (g - 1) / 10 + 1 FROM generate_series(1, 20000) g;
INSERT INTO order_line SELECT g, (g - 1) / 3 + 1 FROM generate_series(1, 60000) g;
CHECKPOINT;
SQL

# Two sessions delete 100 customers per statement (1,000 orders, 3,000 lines), each over its
# own half of the customers, one transaction per statement.
for half in 0 1; do
    statements=""
    for ((first = half * 1000 + 1; first < (half + 1) * 1000; first += 100)); do
        statements+="DELETE FROM customer WHERE id BETWEEN $first AND $((first + 99));"$'\n'
    done
    printf '%s' "$statements" | PGAPPNAME=crash-cascade-$half psql -X -q -d "$database" >"$RUN_DIR/crash-cascade-$half.out" 2>&1 &
    clients+=($!)
done
cascade_clients=("${clients[-2]}" "${clients[-1]}")
recoveries_before=$(log_count "not properly shut down")

# Stop once two deletions have committed while a DELETE is running.
if wait_for "SELECT (SELECT count(DISTINCT deletion_id) >= 2 FROM softdelete.events WHERE table_name = 'public.customer')
               AND EXISTS (SELECT FROM pg_stat_activity
                            WHERE application_name LIKE 'crash-cascade-%' AND state = 'active'
                              AND query LIKE 'DELETE%')" 60; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null
    check "cascade: stopped while a DELETE ran" ok ok
else
    check "cascade: stopped while a DELETE ran" "no running DELETE after two deletions within 60 s" "a running DELETE"
fi
for client in "${cascade_clients[@]}"; do
    wait_exit "$client" 30
done
bash scripts/cluster.sh start >/dev/null || { check "cascade: the server restarts" failed started; }
wait_recovered
check "cascade: the server log records the recovery" \
    "$(( $(log_count "not properly shut down") - recoveries_before ))" 1

committed=$(sql "SELECT count(DISTINCT deletion_id) FROM customer")
echo "# cascade: $committed deletions had committed before the immediate stop"
check "cascade: some deletions committed before the stop" "$(sql "SELECT $committed >= 2")" t
check "cascade: some customers were still active at the stop" \
    "$(sql "SELECT count(*) > 0 FROM customer WHERE deleted_at IS NULL")" t

# Every deletion's rows, per table, against its delete events.
check "cascade: rows of each deletion match its delete events in every table" "$(sql "
    WITH row_counts AS (
        SELECT 'public.customer' AS table_name, deletion_id, count(*) AS n
          FROM customer WHERE deletion_id IS NOT NULL GROUP BY deletion_id
        UNION ALL
        SELECT 'public.customer_order', deletion_id, count(*)
          FROM customer_order WHERE deletion_id IS NOT NULL GROUP BY deletion_id
        UNION ALL
        SELECT 'public.order_line', deletion_id, count(*)
          FROM order_line WHERE deletion_id IS NOT NULL GROUP BY deletion_id),
    event_counts AS (
        SELECT table_name, deletion_id, count(*) AS n
          FROM softdelete.events
         WHERE operation = 'delete'
           AND table_name IN ('public.customer', 'public.customer_order', 'public.order_line')
         GROUP BY table_name, deletion_id)
    SELECT count(*) FROM row_counts r FULL JOIN event_counts e USING (table_name, deletion_id)
     WHERE r.n IS DISTINCT FROM e.n")" 0

# A complete deletion contains 10 orders per customer and 3 lines per order.
check "cascade: every deletion holds all orders and lines of its customers" "$(sql "
    SELECT count(*) FROM (
        SELECT c.deletion_id,
               count(*) AS customers,
               (SELECT count(*) FROM customer_order o WHERE o.deletion_id = c.deletion_id) AS orders,
               (SELECT count(*) FROM order_line l WHERE l.deletion_id = c.deletion_id) AS lines
          FROM customer c WHERE c.deletion_id IS NOT NULL GROUP BY c.deletion_id) d
     WHERE d.orders <> 10 * d.customers OR d.lines <> 30 * d.customers")" 0
check "cascade: no deleted orders or lines outside a customer's deletion" "$(sql "
    SELECT (SELECT count(*) FROM customer_order o JOIN customer c ON c.id = o.customer_id
             WHERE o.deletion_id IS DISTINCT FROM c.deletion_id)
         + (SELECT count(*) FROM order_line l JOIN customer_order o ON o.id = l.order_id
             WHERE l.deletion_id IS DISTINCT FROM o.deletion_id)")" 0
check "cascade: no active child under a deleted parent" "$(sql "
    SELECT (SELECT count(*) FROM customer_order o JOIN customer c ON c.id = o.customer_id
             WHERE o.deleted_at IS NULL AND c.deleted_at IS NOT NULL)
         + (SELECT count(*) FROM order_line l JOIN customer_order o ON o.id = l.order_id
             WHERE l.deleted_at IS NULL AND o.deleted_at IS NOT NULL)")" 0
check "cascade: no rows were removed" "$(sql "
    SELECT (SELECT count(*) FROM customer) || '/' || (SELECT count(*) FROM customer_order)
           || '/' || (SELECT count(*) FROM order_line)")" "2000/20000/60000"

# Work goes on after recovery: one more cascading delete works and is audited.
last_active=$(sql "SELECT max(id) FROM customer WHERE deleted_at IS NULL")
sql "SET softdelete.notices = off; DELETE FROM customer WHERE id = ${last_active:-0}" >/dev/null
check "cascade: a DELETE after recovery cascades and is audited" "$(sql "
    SELECT count(*) FROM softdelete.events e
      JOIN customer c ON c.deletion_id = e.deletion_id AND c.id = ${last_active:-0}
     WHERE e.operation = 'delete'")" 41

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
