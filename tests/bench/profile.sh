#!/usr/bin/env bash
# Profiles where the time of a soft delete goes, on a fresh benchmark cluster in .run/bench
# (port 54366; it stops a running benchmark cluster). Not part of scripts/bench.sh, and it does
# not build the extension: it uses the one installed.
#
#   1. EXPLAIN (ANALYZE, BUFFERS, VERBOSE) of the bulk DELETE of workload 1, which shows the
#      time of the UPDATE itself and of the audit trigger separately;
#   2. perf record of the backend during the same DELETE on a fresh copy of the table;
#   3. perf record of the backend during single-row DELETEs by key (workload 4), run from
#      PL/pgSQL with EXECUTE so that each one is planned anew, as with pgbench's simple
#      protocol;
#   4. perf record of the backend during restore_deletion() and then purge_deletion() of a
#      deletion that cascaded over three tables (workload 7: 1,000 parents, 111,000 rows).
#
# Output goes to .run/bench/profile/. explain.txt holds the EXPLAIN output. Each perf run
# leaves its raw data (*.data) and three reports: the functions by their own samples
# (*.self.txt), the functions by the samples of everything they call (*.children.txt), and the
# samples split between the statement and the audit trigger by tests/bench/perf_split.py
# (*.split.txt).
#
# perf reads the shared objects when it writes the reports, not when it records. So that a
# reinstall of the extension in between cannot leave its frames unresolved and cut its call
# stacks, the script copies pg_softdelete.so right after the cluster starts (and loads it) and
# writes the reports with --symfs pointing at a tree that mirrors / through symbolic links but
# holds that copy.
#
# Environment: BENCH_SCALE (default 1.0) scales the 1,000,000 rows; PROFILE_STATEMENTS
# (default 20000) is the number of single-row DELETEs; PERF_CALL_GRAPH (default dwarf,32768) is passed
# to perf record --call-graph, because the Debian postgres binary has no frame pointers.
# perf counts with the software event cpu-clock, which works where hardware counters do not
# (check with `perf stat -e instructions true`).
set -euo pipefail

REPO_DIR=$(cd "$(dirname "$0")/../.." && pwd)
export RUN_DIR="$REPO_DIR/.run/bench"
export PGDATA="$RUN_DIR/pgdata"
export PGHOST="$RUN_DIR/socket"
export PGPORT=54366
export PGUSER=postgres
source "$REPO_DIR/scripts/env.sh"
source "$REPO_DIR/tests/bench/lib.sh"

PROFILE_DIR="$RUN_DIR/profile"
PROFILE_STATEMENTS=${PROFILE_STATEMENTS:-20000}
PERF_CALL_GRAPH=${PERF_CALL_GRAPH:-dwarf,32768}
BENCH_LOG="$PROFILE_DIR/profile.log"
command -v perf >/dev/null || die "perf is not installed (Debian package linux-perf)"
mkdir -p "$PROFILE_DIR"
: >"$BENCH_LOG"

# Observer for observe_sql: records the backend with perf until it exits.
perf_backend() {
    local pid=$1 go_file=$2
    perf record -e cpu-clock -F 499 --call-graph "$PERF_CALL_GRAPH" -p "$pid" -o "$PERF_DATA" >>"$BENCH_LOG" 2>&1 &
    local perf_pid=$!
    sleep 1
    touch "$go_file"
    wait "$perf_pid" || true
}

# Builds the directory $1 that mirrors / through symbolic links, except that file $2 (an
# absolute path) is a copy taken now.
make_symfs() {
    local root=$1 file=$2 source="" target=$1 entry i
    local -a parts
    IFS=/ read -r -a parts <<<"${file#/}"
    rm -rf "$root"
    mkdir -p "$root"
    for ((i = 0; i < ${#parts[@]}; i++)); do
        while IFS= read -r entry; do
            [ "$entry" = "${parts[i]}" ] || ln -s "$source/$entry" "$target/$entry"
        done < <(find "$source/" -mindepth 1 -maxdepth 1 -printf '%f\n')
        source="$source/${parts[i]}"
        target="$target/${parts[i]}"
        if ((i < ${#parts[@]} - 1)); then
            mkdir "$target"
        else
            cp "$file" "$target"
        fi
    done
}

# Writes the reports of one perf data file.
perf_reports() {
    local name=$1
    perf report -i "$PROFILE_DIR/$name.data" --symfs "$SYMFS" --stdio --no-children --sort dso,symbol -g none \
        --percent-limit 0.5 >"$PROFILE_DIR/$name.self.txt" 2>>"$BENCH_LOG"
    perf report -i "$PROFILE_DIR/$name.data" --symfs "$SYMFS" --stdio --children --sort symbol -g none \
        --percent-limit 2 >"$PROFILE_DIR/$name.children.txt" 2>>"$BENCH_LOG"
    perf script -i "$PROFILE_DIR/$name.data" --symfs "$SYMFS" 2>>"$BENCH_LOG" | /usr/bin/python3 "$BENCH_DIR/perf_split.py" \
        >"$PROFILE_DIR/$name.split.txt"
    log "wrote $PROFILE_DIR/$name.self.txt, $name.children.txt and $name.split.txt"
    cat "$PROFILE_DIR/$name.split.txt"
}

rows=$(scaled 1000000 1000)
start_fresh_cluster
LIBRARY="$("$PG_CONFIG" --pkglibdir)/pg_softdelete.so"
SYMFS="$PROFILE_DIR/symfs"
make_symfs "$SYMFS" "$LIBRARY"
log "profiling $LIBRARY (sha256 $(sha256sum "$LIBRARY" | cut -c1-16), installed $(date -u -r "$LIBRARY" +%Y-%m-%dT%H:%M:%SZ))"
create_bench_database

log "EXPLAIN ANALYZE of the DELETE of $rows rows"
sql_run postgres "SELECT bench_util.create_items('w1_managed', $rows, 'managed')"
prepare_tables w1_managed
checkpoint
psql_as bench -c "EXPLAIN (ANALYZE, BUFFERS, VERBOSE) DELETE FROM w1_managed WHERE id <= $rows" >"$PROFILE_DIR/explain.txt"
cat "$PROFILE_DIR/explain.txt"

log "perf record of the DELETE of $rows rows"
sql_run postgres "SELECT bench_util.create_items('w1_managed', $rows, 'managed')"
prepare_tables w1_managed
sql_run postgres "TRUNCATE softdelete.event_log, softdelete.event_batches"
checkpoint
PERF_DATA="$PROFILE_DIR/bulk.data"
observe_sql bench "DELETE FROM w1_managed WHERE id <= $rows" perf_backend | head -n1 | sed 's/^/elapsed ms: /'
perf_reports bulk

log "perf record of $PROFILE_STATEMENTS single-row DELETEs"
sql_run postgres "SELECT bench_util.create_items('w1_managed', $rows, 'managed')"
prepare_tables w1_managed
checkpoint
PERF_DATA="$PROFILE_DIR/single.data"
observe_sql bench "DO \$\$ BEGIN
    FOR i IN 1..$PROFILE_STATEMENTS LOOP
        EXECUTE 'DELETE FROM w1_managed WHERE id = \$1' USING i;
    END LOOP;
END \$\$" perf_backend | head -n1 | sed 's/^/elapsed ms: /'
perf_reports single

parents=$(scaled 1000 10)
sql_run postgres "SELECT bench_util.create_family('w7', $((parents * 2)), true)"
for operation in restore purge; do
    log "perf record of ${operation}_deletion() of $((parents * 111)) rows"
    sql_run bench "DELETE FROM w7_parent WHERE id <= $parents"
    deletion=$(sql_value postgres "SELECT max(deletion_id) FROM w7_parent")
    prepare_tables w7_parent w7_child w7_grandchild
    checkpoint
    PERF_DATA="$PROFILE_DIR/$operation.data"
    observe_sql bench "SELECT softdelete.${operation}_deletion($deletion)" perf_backend | head -n1 | sed 's/^/elapsed ms: /'
    perf_reports "$operation"
done

bash "$REPO_DIR/scripts/cluster.sh" stop
