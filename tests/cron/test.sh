#!/usr/bin/env bash
# Schedules softdelete.purge_expired() with pg_cron on a throwaway cluster and checks that the
# scheduled run purges expired deletions, skips held ones and records purge events.
# pg_cron 1.4 (Debian's postgresql-15-cron) schedules by the minute, so this waits up to 150 s.
set -uo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_DIR"
export RUN_DIR="$REPO_DIR/.run/cron" PGPORT=54376
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket"
export EXTRA_PRELOAD=pg_cron
export EXTRA_CONF="cron.database_name = 'softdelete_cron'
cron.host = '$PGHOST'"

bash scripts/cluster.sh destroy
bash scripts/cluster.sh start >/dev/null || { echo "not ok cron: cluster did not start"; exit 1; }
trap 'bash scripts/cluster.sh stop' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE softdelete_cron" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d softdelete_cron >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_softdelete;
CREATE EXTENSION pg_cron;
CREATE TABLE sessions (id int PRIMARY KEY, token text NOT NULL);
SELECT softdelete.enable('sessions');
INSERT INTO sessions SELECT g, 'token-' || g FROM generate_series(1, 10) g;
DELETE FROM sessions WHERE id <= 6;
DELETE FROM sessions WHERE id = 7;
SELECT softdelete.hold('sessions', 7, 'kept for an open investigation');
SELECT softdelete.set_retention('sessions', interval '0 seconds');
SELECT cron.schedule('softdelete-retention', '* * * * *', 'CALL softdelete.purge_expired()');
SQL

state=""
for _ in $(seq 1 75); do
    state=$(psql -X -qAt -d softdelete_cron -c "SELECT count(*) FROM sessions")
    [ "$state" = "4" ] && break
    sleep 2
done
run_status=$(psql -X -qAt -d softdelete_cron -c "SELECT status FROM cron.job_run_details ORDER BY runid DESC LIMIT 1")
purge_events=$(psql -X -qAt -d softdelete_cron -c "SELECT count(*) FROM softdelete.events WHERE operation = 'purge'")
held=$(psql -X -qAt -d softdelete_cron -c "SELECT count(*) FROM sessions WHERE id = 7 AND deleted_at IS NOT NULL")

failed=0
check() { if [ "$2" = "$3" ]; then echo "ok cron: $1"; else echo "not ok cron: $1 (expected $3, got $2)"; failed=1; fi; }
check "rows left after the scheduled purge" "$state" 4
check "status of the scheduled run" "$run_status" succeeded
check "purge events written by the scheduled run" "$purge_events" 6
check "held row still present and deleted" "$held" 1
exit $failed
