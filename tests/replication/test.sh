#!/usr/bin/env bash
# Logical replication of a table managed by pg_softdelete. Two fresh clusters on 127.0.0.1:
# a publisher in .run/repl-pub (port 54426, wal_level = logical) and a subscriber in
# .run/repl-sub (port 54427). Runs against the installed extension.
#
# The publisher soft-deletes, restores and purges rows of a managed table. A soft delete and a
# restore are UPDATEs of the marker columns, so they must arrive as UPDATEs, and a purge is a
# real DELETE, so it must arrive as a DELETE. Two subscriber databases receive the table:
#   plain:   the same columns and a unique index over active rows, without the extension;
#   managed: the extension installed and the table enabled, as it would be on a standby that
#            may become the primary.
# Each subscriber table records the changes that replication applies in a log table, through
# a trigger enabled with ENABLE ALWAYS (ordinary triggers do not fire during replication).
# The managed subscriber also receives the audit trail, and at the end it stops subscribing
# and takes over: it deletes and restores a row on its own.
#
# Prints one "ok" or "not ok" line per check and "N passed, N failed"; exits non-zero on any
# failure. Every wait is bounded (30 s for each replicated change).
set -uo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
cd "$REPO_DIR"
pub_dir="$REPO_DIR/.run/repl-pub"
sub_dir="$REPO_DIR/.run/repl-sub"
pub_port=54426
sub_port=54427

passed=0
failed=0

# Runs scripts/cluster.sh for the publisher ($1 = pub) or the subscriber ($1 = sub).
cluster() {
    local which=$1 action=$2
    if [ "$which" = pub ]; then
        RUN_DIR="$pub_dir" PGDATA="$pub_dir/pgdata" PGHOST="$pub_dir/socket" PGPORT=$pub_port \
            EXTRA_CONF="wal_level = logical" bash scripts/cluster.sh "$action"
    else
        RUN_DIR="$sub_dir" PGDATA="$sub_dir/pgdata" PGHOST="$sub_dir/socket" PGPORT=$sub_port \
            bash scripts/cluster.sh "$action"
    fi
}

# Runs SQL on the publisher database.
pub() {
    psql -X -qAt -v ON_ERROR_STOP=1 -h "$pub_dir/socket" -p $pub_port -U postgres -d softdelete_pub "$@"
}

# Runs SQL on the subscriber database $1 (plain or managed).
sub() {
    local variant=$1
    shift
    psql -X -qAt -v ON_ERROR_STOP=1 -h "$sub_dir/socket" -p $sub_port -U postgres -d "softdelete_sub_$variant" "$@"
}

check() {
    local name=$1 actual=$2 expected=$3
    if [ "$actual" = "$expected" ]; then
        echo "ok replication: $name"
        passed=$((passed + 1))
    else
        echo "not ok replication: $name (expected $(printf '%q' "$expected"), got $(printf '%q' "$actual"))"
        failed=$((failed + 1))
    fi
}

# Runs the query $2 on subscriber $1 every 0.2 s until it returns $3, for at most 30 s.
wait_sub() {
    local variant=$1 query=$2 expected=$3 i
    for ((i = 0; i < 150; i++)); do
        [ "$(sub "$variant" -c "$query" 2>/dev/null)" = "$expected" ] && return 0
        sleep 0.2
    done
    return 1
}

stop_all() {
    cluster sub stop
    cluster pub stop
}

cluster sub destroy
cluster pub destroy
cluster pub start >/dev/null || { echo "not ok replication: the publisher did not start"; echo "0 passed, 1 failed"; exit 1; }
cluster sub start >/dev/null || { echo "not ok replication: the subscriber did not start"; echo "0 passed, 1 failed"; stop_all; exit 1; }
trap stop_all EXIT

# --- publisher ---------------------------------------------------------------------------

psql -X -q -v ON_ERROR_STOP=1 -h "$pub_dir/socket" -p $pub_port -U postgres -d postgres \
    -c "CREATE DATABASE softdelete_pub" >/dev/null || exit 1
pub >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_softdelete;
CREATE TABLE document (id int PRIMARY KEY, title text NOT NULL UNIQUE, body text);
SELECT softdelete.enable('document');
INSERT INTO document SELECT g, 'title-' || g, 'body of ' || g FROM generate_series(1, 5) g;

-- The table goes to every subscriber. A soft delete is an UPDATE of the marker columns, and
-- the primary key is the replica identity, so UPDATE and DELETE need nothing else.
CREATE PUBLICATION softdelete_documents FOR TABLE document;

-- The audit trail is published on its own, and only the managed subscriber takes it:
-- restore() and restore_deletion() find the tables of a deletion in softdelete.events, and
-- softdelete.deletions is built from it, so a standby that may become the primary needs the
-- publisher's events: the two tables behind that view. The events are inserted with the
-- publisher's event_id values, so the subscriber must not write events of its own (no DELETE,
-- restore() or purge() on its managed tables) while it subscribes, or the ids collide and
-- replication stops. The plain subscriber only mirrors the data. It has no events tables,
-- and the trail's actors, roles and client addresses stay on the publisher.
CREATE PUBLICATION softdelete_audit FOR TABLE softdelete.event_log, softdelete.event_batches;
SQL

# --- subscribers ---------------------------------------------------------------------------

for variant in plain managed; do
    psql -X -q -v ON_ERROR_STOP=1 -h "$sub_dir/socket" -p $sub_port -U postgres -d postgres \
        -c "CREATE DATABASE softdelete_sub_$variant" >/dev/null || exit 1
done

# The plain table has the marker columns and, like the managed one, a unique index over active
# rows only. A full UNIQUE (title) would reject a replicated row that reuses the title of a
# soft-deleted row, and the subscription would stop on that error.
sub plain >/dev/null <<'SQL' || exit 1
CREATE TABLE document (id int PRIMARY KEY, title text NOT NULL, body text,
                       deleted_at timestamptz, deleted_by text, deletion_id bigint);
CREATE UNIQUE INDEX document_title_key ON document (title) WHERE deleted_at IS NULL;
SQL
sub managed >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION pg_softdelete;
CREATE TABLE document (id int PRIMARY KEY, title text NOT NULL UNIQUE, body text);
SELECT softdelete.enable('document');
CREATE ROLE sub_reader NOLOGIN;
GRANT SELECT ON document TO sub_reader;
SQL

connection="host=127.0.0.1 port=$pub_port dbname=softdelete_pub user=postgres"
sub plain -c "CREATE SUBSCRIPTION softdelete_plain CONNECTION '$connection' PUBLICATION softdelete_documents" \
    >/dev/null 2>&1 || { echo "not ok replication: CREATE SUBSCRIPTION softdelete_plain failed"; exit 1; }
sub managed -c "CREATE SUBSCRIPTION softdelete_managed CONNECTION '$connection'
                PUBLICATION softdelete_documents, softdelete_audit" \
    >/dev/null 2>&1 || { echo "not ok replication: CREATE SUBSCRIPTION softdelete_managed failed"; exit 1; }

for variant in plain managed; do
    # srsubstate 'r': the initial copy of the table is done and changes are streamed.
    wait_sub $variant "SELECT count(*) FILTER (WHERE srsubstate <> 'r') = 0 AND count(*) > 0 FROM pg_subscription_rel" t
    check "$variant: initial copy done" "$(sub $variant -c "SELECT count(*) FROM document")" 5
    # Created after the initial copy, so that it logs only the streamed changes.
    sub $variant >/dev/null <<'SQL'
CREATE TABLE applied_change (seq serial PRIMARY KEY, operation text, id int, deleted boolean);
-- The apply worker runs with an empty search_path, so the function sets its own.
CREATE FUNCTION log_applied_change() RETURNS trigger LANGUAGE plpgsql
SET search_path = public
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO applied_change (operation, id, deleted) VALUES (TG_OP, OLD.id, OLD.deleted_at IS NOT NULL);
    ELSE
        INSERT INTO applied_change (operation, id, deleted) VALUES (TG_OP, NEW.id, NEW.deleted_at IS NOT NULL);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER log_applied_change AFTER INSERT OR UPDATE OR DELETE ON document
    FOR EACH ROW EXECUTE FUNCTION log_applied_change();
ALTER TABLE document ENABLE ALWAYS TRIGGER log_applied_change;
SQL
done

# The last change replication applied to row $2 on subscriber $1, as "operation deleted".
last_change() {
    sub "$1" -F ' ' -c "SELECT operation, deleted FROM applied_change WHERE id = $2 ORDER BY seq DESC LIMIT 1"
}

row_on() {
    "$@" -F ' ' -c "SELECT deleted_at IS NOT NULL, deleted_by, deletion_id FROM document WHERE id = 2"
}

# --- soft delete -------------------------------------------------------------------------

pub -c "SET softdelete.actor = 'replication-test'; DELETE FROM document WHERE id = 2" >/dev/null
publisher_row=$(row_on pub)
for variant in plain managed; do
    wait_sub $variant "SELECT count(*) FROM applied_change WHERE id = 2" 1
    check "$variant: soft delete arrives as an UPDATE" "$(last_change $variant 2)" "UPDATE t"
    check "$variant: soft-deleted row still exists with the publisher's markers" "$(row_on sub $variant)" "$publisher_row"
done
check "publisher row carries actor and deletion id" "$(pub -F ' ' -c "SELECT deleted_by, deletion_id IS NOT NULL FROM document WHERE id = 2")" "replication-test t"
check "managed: replicated soft-deleted row is hidden from an ordinary role" \
    "$(sub managed -c "SET ROLE sub_reader; SELECT count(*) FROM document WHERE id = 2")" 0

# --- restore -----------------------------------------------------------------------------

pub -c "SET softdelete.notices = off; SELECT softdelete.restore('document', 2)" >/dev/null
for variant in plain managed; do
    wait_sub $variant "SELECT count(*) FROM applied_change WHERE id = 2" 2
    check "$variant: restore arrives as an UPDATE" "$(last_change $variant 2)" "UPDATE f"
    check "$variant: restored row has no markers" "$(row_on sub $variant)" "f  "
done

# --- soft delete and purge ---------------------------------------------------------------

pub -c "DELETE FROM document WHERE id = 3" >/dev/null
pub -c "SET softdelete.notices = off; SELECT softdelete.purge('document', 3)" >/dev/null
for variant in plain managed; do
    wait_sub $variant "SELECT count(*) FROM applied_change WHERE id = 3" 2
    check "$variant: purge arrives as a DELETE of the soft-deleted row" "$(last_change $variant 3)" "DELETE t"
    check "$variant: purged row is gone" "$(sub $variant -c "SELECT count(*) FROM document WHERE id = 3")" 0
done

# --- a new row reuses the title of a soft-deleted row ------------------------------------

pub -c "DELETE FROM document WHERE id = 1" >/dev/null
pub -c "INSERT INTO document VALUES (6, 'title-1', 'new body')" >/dev/null
for variant in plain managed; do
    wait_sub $variant "SELECT count(*) FROM applied_change WHERE id = 6" 1
    check "$variant: insert reusing a soft-deleted title arrives" "$(last_change $variant 6)" "INSERT f"
done

# --- final state -------------------------------------------------------------------------

all_rows="SELECT id, title, body, deleted_at, deleted_by, deletion_id FROM document ORDER BY id"
publisher_rows=$(pub -c "$all_rows")
for variant in plain managed; do
    check "$variant: final rows match the publisher" "$(sub $variant -c "$all_rows")" "$publisher_rows"
    check "$variant: changes applied in order" \
        "$(sub $variant -F ' ' -c "SELECT string_agg(operation || ' ' || id || ' ' || deleted, ', ' ORDER BY seq) FROM applied_change")" \
        "UPDATE 2 true, UPDATE 2 false, UPDATE 3 true, DELETE 3 true, UPDATE 1 true, INSERT 6 false"
    check "$variant: subscription reported no apply or sync errors" \
        "$(sub $variant -c "SELECT sum(apply_error_count + sync_error_count) FROM pg_stat_subscription_stats")" 0
done

all_events="SELECT event_id, operation, table_name, key, deletion_id, actor FROM softdelete.events ORDER BY event_id"
publisher_events=$(pub -c "$all_events")
wait_sub managed "SELECT count(*) FROM softdelete.events" "$(pub -c "SELECT count(*) FROM softdelete.events")"
check "managed: audit trail matches the publisher" "$(sub managed -c "$all_events")" "$publisher_events"
check "managed: audit trail holds delete, restore and purge events" \
    "$(sub managed -c "SELECT string_agg(operation, ',' ORDER BY event_id) FROM softdelete.events")" \
    "delete,restore,delete,purge,delete"
check "managed: deletions view reads the replicated trail" \
    "$(sub managed -F ' ' -c "SELECT string_agg(state, ',' ORDER BY deletion_id) FROM softdelete.deletions")" \
    "restored,purged,active"
check "managed: replicated deletion can be previewed for restore on the subscriber" \
    "$(sub managed -F ' ' -c "SELECT table_name, key, coalesce(problem, 'none') FROM softdelete.restore_preview('document', 1)")" \
    'public.document {"id": 1} an active row holds the same value in unique index document_title_key'

# --- the managed subscriber takes over ----------------------------------------------------

# Logical replication in PostgreSQL 15 does not copy sequence positions. Before the subscriber
# writes on its own, softdelete.deletion_seq and softdelete.event_id_seq must be moved past the
# replicated values, or new deletions reuse the ids of replicated ones and new events collide
# with replicated event_id values.
sub managed >/dev/null <<'SQL'
ALTER SUBSCRIPTION softdelete_managed DISABLE;
SELECT setval('softdelete.deletion_seq', (SELECT max(deletion_id) FROM softdelete.events));
SELECT setval('softdelete.event_id_seq', (SELECT max(event_id) FROM softdelete.events));
SQL
sub managed -c "SET softdelete.notices = off; DELETE FROM document WHERE id = 4" >/dev/null
check "managed: a delete after takeover gets a new deletion id" \
    "$(sub managed -c "SELECT deletion_id FROM document WHERE id = 4")" \
    "$(pub -c "SELECT max(deletion_id) + 1 FROM softdelete.events")"
check "managed: restore after takeover brings the row back" \
    "$(sub managed -c "SET softdelete.notices = off; SELECT softdelete.restore('document', 4)")" 1
check "managed: the takeover's delete and restore are audited" \
    "$(sub managed -c "SELECT string_agg(operation, ',' ORDER BY event_id) FROM softdelete.events WHERE key = '{\"id\": 4}'")" \
    "delete,restore"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
