#!/usr/bin/env bash
# Backs up a database that uses pg_softdelete with pg_dump -Fc and restores it with pg_restore,
# on a throwaway cluster (.run/backup, port 54396). Checks that the restored database has the
# same rows, audit trail, holds, overrides and personal columns, and that soft deletes,
# restore() and purge() still work there. Then runs the purge-log procedure: purges made after
# a backup are exported with export_purge_log() and re-applied to a restore of that backup with
# apply_purge_log(). Last, checks that pg_dump run by a role subject to row-level security fails
# instead of writing a dump without the soft-deleted rows.
# Prints one "ok ..." or "not ok ..." line per check and ends with "N passed, N failed"; the exit
# status is non-zero when a check failed.
set -uo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_DIR"
export RUN_DIR="$REPO_DIR/.run/backup" PGPORT=54396
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket" PGUSER=postgres
work="$RUN_DIR/work"

passed=0
failed=0
pass() { echo "ok $1"; passed=$((passed + 1)); }
fail() {
    echo "not ok $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 20 | sed 's/^/#   /'
    failed=$((failed + 1))
}
# check NAME EXPECTED ACTUAL
check() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $2"$'\n'"actual:   $3"; fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# Runs SQL from stdin or -c in database $1 and prints unaligned, tuples-only output.
sql() {
    local db=$1
    shift
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}

bash scripts/cluster.sh destroy
if ! bash scripts/cluster.sh start >/dev/null; then
    fail "backup: cluster started"
    finish
fi
trap 'bash scripts/cluster.sh stop' EXIT
mkdir -p "$work"

# The source database: three managed tables with a cascade override, a SET NULL foreign key,
# active, deleted, purged and anonymized rows, a legal hold, personal columns and a retention
# window. app_user is the role the application connects as.
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE shop" >/dev/null
if ! sql shop >/dev/null <<'SQL'; then
SET client_min_messages = warning;
CREATE EXTENSION pg_softdelete;
CREATE ROLE app_user LOGIN;
CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE, phone text);
CREATE TABLE invoice (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customer, total numeric(8, 2) NOT NULL);
CREATE TABLE invoice_line (id int PRIMARY KEY, invoice_id int NOT NULL REFERENCES invoice ON DELETE CASCADE, item text NOT NULL);
CREATE TABLE tag (id int PRIMARY KEY, customer_id int REFERENCES customer ON DELETE SET NULL, label text NOT NULL);
GRANT SELECT, INSERT, UPDATE, DELETE ON customer, invoice, invoice_line, tag TO app_user;
SELECT softdelete.enable('invoice_line');
SELECT softdelete.enable('invoice');
SELECT softdelete.enable('tag');
SELECT softdelete.enable('customer');
SELECT softdelete.set_foreign_key_rule('invoice', 'invoice_customer_id_fkey', 'cascade');
SELECT softdelete.set_personal_columns('customer', '{"name": "former customer", "email": "deleted-{key}@example.invalid", "phone": null}');
SELECT softdelete.set_retention('customer', interval '90 days');
INSERT INTO customer SELECT g, 'Customer ' || g, 'customer' || g || '@example.com', '555-01' || g FROM generate_series(1, 8) g;
INSERT INTO invoice SELECT c * 10 + n, c, c + n FROM generate_series(1, 8) c, generate_series(1, 2) n;
INSERT INTO invoice_line SELECT i * 10 + n, i, 'item ' || n FROM (SELECT id FROM invoice) inv(i), generate_series(1, 3) n;
INSERT INTO tag SELECT g, g, 'tag ' || g FROM generate_series(1, 8) g;
-- A deletion with a cascade (2 invoices, 6 lines) and an unlink of tag 2.
SET softdelete.actor = 'support:alice';
SET softdelete.reason = 'duplicate account';
DELETE FROM customer WHERE id = 2;
-- A single deleted line, a deleted customer under a legal hold, an anonymized customer.
DELETE FROM invoice_line WHERE id = 111;
DELETE FROM customer WHERE id = 3;
SELECT softdelete.hold('customer', 3, 'litigation hold: case 2024-113');
SELECT softdelete.anonymize('customer', 4);
-- A purged customer, with its invoices and lines.
SELECT softdelete.purge('customer', 5, include_active => true);
SQL
    fail "backup: source database created"
    finish
fi

# The state the checks compare, one query per part. Every table is read as the superuser
# postgres, who bypasses row-level security, so deleted rows are included.
declare -A state_sql=(
    [row counts]="SELECT t, count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE deleted) FROM (
        SELECT 'customer' AS t, deleted_at IS NOT NULL AS deleted FROM customer
        UNION ALL SELECT 'invoice', deleted_at IS NOT NULL FROM invoice
        UNION ALL SELECT 'invoice_line', deleted_at IS NOT NULL FROM invoice_line
        UNION ALL SELECT 'tag', deleted_at IS NOT NULL FROM tag) r GROUP BY t ORDER BY t"
    [rows]="SELECT 'customer', to_jsonb(c) FROM customer c UNION ALL SELECT 'invoice', to_jsonb(i) FROM invoice i
        UNION ALL SELECT 'invoice_line', to_jsonb(l) FROM invoice_line l UNION ALL SELECT 'tag', to_jsonb(t) FROM tag t
        ORDER BY 1, 2"
    [events]="SELECT to_jsonb(e) - 'event_id' FROM softdelete.events e ORDER BY event_id"
    [managed_tables]="SELECT to_jsonb(m) FROM softdelete.managed_tables m ORDER BY relid::text"
    [legal_holds]="SELECT to_jsonb(h) FROM softdelete.legal_holds h ORDER BY hold_id"
    [foreign_key_overrides]="SELECT to_jsonb(o) FROM softdelete.foreign_key_overrides o ORDER BY child_table::text, constraint_name"
    [personal_columns]="SELECT to_jsonb(p) FROM softdelete.personal_columns p ORDER BY relid::text, column_name"
    [deletion_seq]="SELECT last_value, is_called FROM softdelete.deletion_seq"
    [table objects]="SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
            (SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY 1) FROM pg_index i WHERE i.indrelid = c.oid),
            (SELECT string_agg(con.conname || ' ' || pg_get_constraintdef(con.oid), '; ' ORDER BY con.conname) FROM pg_constraint con WHERE con.conrelid = c.oid),
            (SELECT string_agg(p.polname || ' ' || p.polpermissive || ' ' || pg_get_expr(p.polqual, p.polrelid), '; ' ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid),
            (SELECT string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
        FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY c.relname"
)
state_parts=("row counts" rows events managed_tables legal_holds foreign_key_overrides personal_columns deletion_seq "table objects")

# compare_state LABEL SOURCE_DB RESTORED_DB: one check per part of the state.
compare_state() {
    local label=$1 source=$2 restored=$3 part expected actual
    for part in "${state_parts[@]}"; do
        expected=$(sql "$source" -c "${state_sql[$part]}" 2>&1)
        actual=$(sql "$restored" -c "${state_sql[$part]}" 2>&1)
        if [ "$expected" = "$actual" ]; then
            pass "$label: $part equal"
        else
            fail "$label: $part equal" "$(diff <(echo "$expected") <(echo "$actual"))"
        fi
    done
}

# restore_dump DB DUMP [event-triggers-off]: creates DB and restores DUMP into it with
# pg_restore. With event-triggers-off, pg_restore runs with session_replication_role = replica,
# so that the extension's event triggers do not fire while the restore rebuilds the tables, and
# the sequences of the event ids and of softdelete.legal_holds are moved past the
# restored ids afterwards. A plain pg_restore, which docs/privacy.md gives, needs neither; this
# mode checks that the older procedure still works too.
restore_dump() {
    local db=$1 dump=$2 mode=${3:-}
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db" >/dev/null
    if [ "$mode" = event-triggers-off ]; then
        PGOPTIONS="-c session_replication_role=replica" "$PG_BIN/pg_restore" -d "$db" "$dump" \
            >"$work/$db.restore.log" 2>&1 || return 1
        sql "$db" >/dev/null <<'SQL'
SELECT setval('softdelete.event_id_seq', coalesce(max(event_id), 0) + 1, false)
FROM softdelete.events;
SELECT setval(pg_get_serial_sequence('softdelete.legal_holds', 'hold_id'), coalesce(max(hold_id), 0) + 1, false)
FROM softdelete.legal_holds;
SQL
    else
        "$PG_BIN/pg_restore" -d "$db" "$dump" >"$work/$db.restore.log" 2>&1
    fi
}

# check_restored LABEL DB: soft deletes, restore(), purge(), holds and anonymize() work in a
# restored copy of the source database.
check_restored() {
    local label=$1 db=$2 out
    # Deleted rows stay hidden from the application role.
    out=$(sql "$db" -c "SET ROLE app_user" -c "SELECT count(*) FROM customer" 2>&1)
    check "$label: deleted customers hidden from app_user" 5 "$out"

    # A plain DELETE by the application reports DELETE 1, keeps the row and writes its events.
    out=$(psql -X -v ON_ERROR_STOP=1 -d "$db" -U app_user -c "DELETE FROM customer WHERE id = 6" 2>&1)
    check "$label: DELETE by app_user reports DELETE 1" "DELETE 1" "$out"
    out=$(sql "$db" -c "SELECT deleted_at IS NOT NULL, deleted_by FROM customer WHERE id = 6" 2>&1)
    check "$label: DELETE is soft" "t|app_user" "$out"
    out=$(sql "$db" -c "SELECT count(*) FROM softdelete.events WHERE operation = 'delete' AND table_name = 'public.customer' AND key = '{\"id\": 6}'" 2>&1)
    check "$label: DELETE wrote a delete event" 1 "$out"

    # restore() brings back the deletion made before the backup: customer 2, 2 invoices, 6 lines.
    out=$(sql "$db" -c "SET softdelete.notices = off" -c "SELECT softdelete.restore('customer', 2)" 2>&1)
    check "$label: restore() of a deletion from before the backup" 9 "$out"
    out=$(sql "$db" -c "SELECT count(*) FROM invoice_line WHERE invoice_id IN (21, 22) AND deleted_at IS NULL" 2>&1)
    check "$label: restore() brought back the cascade" 6 "$out"
    out=$(sql "$db" -c "SELECT customer_id FROM tag WHERE id = 2" 2>&1)
    check "$label: restore() put back the value SET NULL changed" 2 "$out"

    # purge() removes the line deleted before the backup and records a purge event.
    out=$(sql "$db" -c "SET softdelete.notices = off" -c "SELECT softdelete.purge('invoice_line', 111)" 2>&1)
    check "$label: purge() of a row deleted before the backup" 1 "$out"
    out=$(sql "$db" -c "SELECT count(*) FROM invoice_line WHERE id = 111" -c "SELECT count(*) FROM softdelete.events WHERE operation = 'purge' AND key = '{\"id\": 111}'" 2>&1)
    check "$label: purged row gone, purge event written" $'0\n1' "$out"

    # The legal hold from before the backup still blocks the purge of customer 3.
    out=$(sql "$db" -c "\\set VERBOSITY sqlstate" -c "SELECT softdelete.purge('customer', 3)" 2>&1)
    check "$label: restored legal hold blocks purge()" "ERROR:  55000" "$out"

    # hold() works: the identity sequence of legal_holds is past the restored hold ids.
    out=$(sql "$db" -c "SET softdelete.notices = off" -c "SELECT softdelete.hold('customer', 7, 'new case') IS NOT NULL" 2>&1)
    check "$label: hold() after the restore" t "$out"

    # anonymize() uses the restored personal columns.
    out=$(sql "$db" -c "SET softdelete.notices = off" -c "SELECT softdelete.anonymize('customer', 8)" -c "SELECT email FROM customer WHERE id = 8" 2>&1)
    check "$label: anonymize() with the restored personal columns" $'1\ndeleted-8@example.invalid' "$out"
}

# 1. pg_dump as postgres, pg_restore into a new database, compare, then use the copy.
if "$PG_BIN/pg_dump" -Fc -f "$work/shop.dump" shop 2>"$work/shop.dump.log"; then
    pass "pg_dump -Fc of the source database"
else
    fail "pg_dump -Fc of the source database" "$(cat "$work/shop.dump.log")"
fi
if restore_dump shop_restored "$work/shop.dump"; then
    pass "pg_restore into a new database"
else
    fail "pg_restore into a new database" "$(grep -E 'error|ERROR|DETAIL|Command was' "$work/shop_restored.restore.log")"
fi
compare_state "pg_restore" shop shop_restored
check_restored "pg_restore" shop_restored

# The same with the extension's event triggers off during pg_restore.
if restore_dump shop_restored_quiet "$work/shop.dump" event-triggers-off; then
    pass "pg_restore with event triggers off"
else
    fail "pg_restore with event triggers off" "$(cat "$work/shop_restored_quiet.restore.log")"
fi
compare_state "pg_restore with event triggers off" shop shop_restored_quiet
check_restored "pg_restore with event triggers off" shop_restored_quiet

# 2. The purge-log procedure, as docs/privacy.md gives it. A backup is taken. Afterwards
# customer 1 is purged with its invoices and lines, deletion 2 (customer 2) is purged and
# customer 7 is anonymized. The backup is restored into a third database, the purge log and the
# list of anonymized rows since the backup are applied, and the restored rows equal the source.
backup_time=$(sql shop -c "SELECT now()")
"$PG_BIN/pg_dump" -Fc -f "$work/backup.dump" shop 2>"$work/backup.dump.log" ||
    fail "pg_dump of the backup" "$(cat "$work/backup.dump.log")"
sql shop >/dev/null <<'SQL'
SET client_min_messages = warning;
SET softdelete.actor = 'dpo:carla';
SET softdelete.reason = 'erasure request 17';
SELECT softdelete.purge('customer', 1, include_active => true);
SELECT softdelete.purge_deletion((SELECT deletion_id FROM customer WHERE id = 2));
SELECT softdelete.anonymize('customer', 7);
SQL
sql shop -c "SELECT softdelete.export_purge_log('$backup_time')" >"$work/purge-log.json"
sql shop -c "SELECT coalesce(jsonb_agg(jsonb_build_object('table_name', table_name, 'key', key) ORDER BY event_id), '[]')
             FROM softdelete.events WHERE operation = 'anonymize' AND occurred_at >= '$backup_time'" >"$work/anonymize-log.json"
# 1 customer, 2 invoices and 6 lines of customer 1, the same of customer 2.
out=$(sql shop -c "SELECT jsonb_array_length(softdelete.export_purge_log('$backup_time'))")
check "purge log since the backup lists the purged rows" 18 "$out"
out=$(sql shop -c "SELECT count(*) FROM jsonb_array_elements(softdelete.export_purge_log('$backup_time')) e
                   WHERE NOT (e ?& ARRAY['table_name', 'key', 'purged_at']) OR e - ARRAY['table_name', 'key', 'purged_at'] <> '{}'")
check "purge log entries hold only table_name, key and purged_at" 0 "$out"

restore_dump shop_backup "$work/backup.dump" ||
    fail "restore of the backup" "$(cat "$work/shop_backup.restore.log")"
out=$(sql shop_backup -c "SELECT count(*) FROM customer WHERE id IN (1, 2)")
check "backup still holds customers 1 and 2" 2 "$out"
apply_logs() {
    (cd "$work" && psql -X -q -At -v ON_ERROR_STOP=1 -d shop_backup 2>&1 <<'SQL'
\set purge_log `cat purge-log.json`
\set anonymize_log `cat anonymize-log.json`
SET softdelete.notices = off;
SET softdelete.reason = 'purge log applied to the restored backup';
SELECT softdelete.apply_purge_log(:'purge_log');
SELECT count(softdelete.anonymize((e ->> 'table_name')::regclass, e -> 'key'))
FROM jsonb_array_elements(:'anonymize_log'::jsonb) AS e;
SQL
    )
}
out=$(apply_logs)
check "apply_purge_log() removes the 18 logged rows, then anonymize() 1 row" $'18\n1' "$out"
out=$(sql shop_backup -c "SELECT count(*) FROM customer WHERE id IN (1, 2)" \
    -c "SELECT count(*) FROM invoice WHERE customer_id IN (1, 2)" \
    -c "SELECT count(*) FROM invoice_line WHERE invoice_id IN (11, 12, 21, 22)")
check "purged customers, invoices and lines gone from the backup" $'0\n0\n0' "$out"
out=$(sql shop_backup -c "SELECT count(*) FROM softdelete.events WHERE operation = 'purge' AND reason = 'purge log applied to the restored backup'")
check "apply_purge_log() wrote a purge event per row" 18 "$out"
out=$(sql shop_backup -c "SELECT count(*) FROM softdelete.events e
                          WHERE e::text LIKE '%customer1@example.com%' OR e::text LIKE '%customer2@example.com%'
                             OR e::text LIKE '%customer7@example.com%'")
check "no event of the backup holds the purged or anonymized emails" 0 "$out"
for part in "row counts" rows; do
    expected=$(sql shop -c "${state_sql[$part]}")
    actual=$(sql shop_backup -c "${state_sql[$part]}")
    if [ "$expected" = "$actual" ]; then
        pass "backup $part equal the source after the logs"
    else
        fail "backup $part equal the source after the logs" "$(diff <(echo "$expected") <(echo "$actual"))"
    fi
done
out=$(apply_logs)
check "applying the logs a second time removes nothing" $'0\n1' "$out"

# 3. pg_dump by a role subject to row-level security. pg_dump sets row_security = off, so
# PostgreSQL raises an error instead of returning a table without its soft-deleted rows.
sql shop >/dev/null <<'SQL'
CREATE ROLE backup_reader LOGIN;
GRANT softdelete_viewer TO backup_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO backup_reader;
GRANT SELECT ON softdelete.deletion_seq TO backup_reader;
SQL
if "$PG_BIN/pg_dump" -U backup_reader -Fc -f "$work/reader.dump" shop 2>"$work/reader.dump.log"; then
    fail "pg_dump as a role subject to row-level security fails"
else
    pass "pg_dump as a role subject to row-level security fails"
fi
if grep -q 'query would be affected by row-level security policy for table' "$work/reader.dump.log"; then
    pass "pg_dump names row-level security as the cause"
else
    fail "pg_dump names row-level security as the cause" "$(cat "$work/reader.dump.log")"
fi
# With --enable-row-security the same role gets a dump without the soft-deleted rows.
deleted_in_source=$(sql shop -c "SELECT count(*) FROM customer WHERE deleted_at IS NOT NULL")
dumped=$("$PG_BIN/pg_dump" -U backup_reader --enable-row-security --data-only -t customer shop 2>&1 |
    sed -n '/^COPY public.customer /,/^\\\.$/p' | grep -vc -e '^COPY' -e '^\\\.$')
total=$(sql shop -c "SELECT count(*) FROM customer")
check "pg_dump --enable-row-security dumps only the active customers" \
    "$((total - deleted_in_source))" "$dumped"

finish
