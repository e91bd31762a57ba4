#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL servers:
#   1. the Rust unit tests (#[pg_test]) through cargo pgrx test, on pgrx's own test cluster;
#   2. the pg_regress suite in tests/pg_regress, on a fresh cluster under .run/test;
#   3. the Chinook demo, as a smoke test, on the same cluster;
#   4. the client-library suites (psycopg with SQLAlchemy, Django, node-postgres);
#   5. the pg_cron retention test (about a minute, since pg_cron schedules by the minute);
#   6. isolation specs (pg_isolation_regress), pg_dump/pg_restore round trips, logical
#      replication to a second cluster, crash recovery and a 30-second soak.
# Ends with one line "N passed, N failed" over all three.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_DIR"

bash scripts/install-deps.sh || exit 1

passed=0
failed=0
count() { if [ "$1" -eq 0 ]; then passed=$((passed + $2)); else failed=$((failed + ${3:-1})); fi; }

echo "== Rust unit tests (cargo pgrx test)"
pgrx_data="$RUN_DIR/pgrx-test-data"
mkdir -p "$pgrx_data" && chown postgres: "$RUN_DIR" "$pgrx_data"
unit_log="$RUN_DIR/unit.log"
cargo pgrx test pg$PG_MAJOR --runas postgres --pgdata "$pgrx_data" >"$unit_log" 2>&1
unit_status=$?
grep -E "^test |test result" "$unit_log" | grep -v "^test result: ok. 0 passed" || true
unit_passed=$(grep -oE "test result: ok\. [0-9]+ passed" "$unit_log" | awk '{ sum += $4 } END { print sum + 0 }')
[ $unit_status -eq 0 ] || tail -n 40 "$unit_log"
count $unit_status "${unit_passed:-0}"

echo "== installing the extension"
bash scripts/install-extension.sh >/dev/null || { echo "build failed"; exit 1; }

echo "== pg_regress"
export RUN_DIR="$REPO_DIR/.run/test" PGPORT=54316
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket"
KEEP_CLUSTER=1 bash scripts/regress.sh
regress_status=$?
summary="$RUN_DIR/regress/summary.txt"
regress_total=$(grep -cE "^(ok|not ok|test) " "$summary")
regress_failed=$(grep -cE "^not ok|\.\.\. FAILED" "$summary")
passed=$((passed + regress_total - regress_failed))
failed=$((failed + regress_failed))
[ $regress_status -eq 0 ] || [ "$regress_failed" -gt 0 ] || failed=$((failed + 1))

echo "== Chinook demo (smoke test)"
if bash scripts/demo.sh >"$RUN_DIR/demo.log" 2>&1; then
    passed=$((passed + 1)); echo "ok demo"
else
    failed=$((failed + 1)); echo "not ok demo"; tail -n 40 "$RUN_DIR/demo.log"
fi
bash scripts/cluster.sh stop

echo "== client libraries"
clients_log="$REPO_DIR/.run/clients.log"
bash scripts/clients.sh >"$clients_log" 2>&1
clients_status=$?
grep -E "passed|failed|^not ok|FAILED|^# (pass|fail)" "$clients_log" | tail -n 20
clients_line=$(grep -E "^clients: [0-9]+ passed, [0-9]+ failed" "$clients_log" | tail -n 1)
if [ -n "$clients_line" ]; then
    passed=$((passed + $(echo "$clients_line" | awk '{print $2}')))
    failed=$((failed + $(echo "$clients_line" | awk '{print $4}')))
fi
[ $clients_status -eq 0 ] || [ -n "$clients_line" ] || { failed=$((failed + 1)); tail -n 40 "$clients_log"; }

echo "== pg_cron retention"
cron_log="$REPO_DIR/.run/cron.log"
bash tests/cron/test.sh >"$cron_log" 2>&1
cat "$cron_log" | grep -E "^(ok|not ok) "
passed=$((passed + $(grep -c "^ok " "$cron_log")))
failed=$((failed + $(grep -c "^not ok " "$cron_log")))
grep -qE "^(ok|not ok) " "$cron_log" || { failed=$((failed + 1)); tail -n 20 "$cron_log"; }

echo "== isolation specs"
isolation_log="$REPO_DIR/.run/isolation.log"
bash tests/isolation/run.sh >"$isolation_log" 2>&1
isolation_status=$?
grep -E "^test |tests? (passed|failed)" "$isolation_log"
isolation_total=$(grep -cE "^test " "$isolation_log")
isolation_failed=$(grep -cE "^test .*FAILED" "$isolation_log")
passed=$((passed + isolation_total - isolation_failed))
failed=$((failed + isolation_failed))
[ $isolation_status -eq 0 ] || [ "$isolation_failed" -gt 0 ] || { failed=$((failed + 1)); tail -n 20 "$isolation_log"; }

# Scripts that print "ok ..." / "not ok ..." lines and a closing "N passed, N failed".
for suite in preload upgrade backup replication crash soak; do
    echo "== $suite"
    log="$REPO_DIR/.run/$suite.log"
    SOAK_SECONDS=${SOAK_SECONDS:-30} bash "tests/$suite/test.sh" >"$log" 2>&1
    suite_status=$?
    grep -E "^not ok " "$log" || true
    summary=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1)
    echo "${summary:-no summary}"
    if [ -n "$summary" ]; then
        passed=$((passed + $(echo "$summary" | awk '{print $1}')))
        failed=$((failed + $(echo "$summary" | awk '{print $3}')))
    fi
    [ $suite_status -eq 0 ] || [ -n "$summary" ] || { failed=$((failed + 1)); tail -n 20 "$log"; }
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
