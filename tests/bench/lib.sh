# Helpers of the benchmark (scripts/bench.sh and tests/bench/profile.sh): the benchmark
# cluster, timed statements, backend memory sampling, pgbench runs and result records.
# Source it after scripts/env.sh.

BENCH_DB=bench
BENCH_SCALE=${BENCH_SCALE:-1.0}
BENCH_REPEAT=${BENCH_REPEAT:-3}
BENCH_DIR="$REPO_DIR/tests/bench"
RESULTS_TSV="$RUN_DIR/results.tsv"
BENCH_LOG="$RUN_DIR/bench.log"

# Settings appended to the cluster's postgresql.conf. scripts/cluster.sh already sets fsync = off.
# Autovacuum is off so that no background vacuum runs during a measurement. Every table is
# vacuumed and analyzed by hand after it is built.
BENCH_SETTINGS="shared_buffers = 2GB
max_wal_size = 8GB
checkpoint_timeout = 30min
synchronous_commit = off
maintenance_work_mem = 1GB
autovacuum = off"

log() {
    echo "[$(date +%H:%M:%S)] $*" | tee -a "$BENCH_LOG" >&2
}

die() {
    log "error: $*"
    exit 1
}

# Prints base_count * BENCH_SCALE, rounded, and at least `minimum` (default 1).
scaled() {
    awk -v n="$1" -v s="$BENCH_SCALE" -v min="${2:-1}" 'BEGIN { v = int(n * s + 0.5); if (v < min) v = min; print v }'
}

# Prints the median of the numbers given as arguments (the mean of the two middle ones for an
# even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Prints a / b with `digits` decimals (default 3).
ratio() {
    awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN { if (b == 0) print "nan"; else printf "%.*f\n", d, a / b }'
}

# Stops the benchmark cluster if it runs, deletes its data directory and starts a new one with
# the benchmark settings. The library is preloaded, so only a new server loads a reinstalled one.
start_fresh_cluster() {
    bash "$REPO_DIR/scripts/cluster.sh" stop
    rm -rf "$PGDATA"
    bash "$REPO_DIR/scripts/cluster.sh" start >/dev/null
    echo "$BENCH_SETTINGS" | as_postgres tee -a "$PGDATA/postgresql.conf" >/dev/null
    as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$RUN_DIR/server.log" -m fast -w restart >/dev/null
    local shared_buffers
    shared_buffers=$(psql -X -At -U postgres -d postgres -c 'SHOW shared_buffers')
    [ "$shared_buffers" = 2GB ] || die "the benchmark settings were not applied: shared_buffers = $shared_buffers"
    log "started a fresh cluster in $PGDATA on port $PGPORT"
}

# Creates the benchmark database, its roles and helper functions.
create_bench_database() {
    psql -X -q -U postgres -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $BENCH_DB"
    psql -X -q -U postgres -d "$BENCH_DB" -v ON_ERROR_STOP=1 -f "$BENCH_DIR/setup.sql"
}

# psql on the benchmark database as role $1, stopping at the first error, with NOTICEs hidden.
psql_as() {
    local role=$1
    shift
    PGOPTIONS="-c client_min_messages=warning" \
        psql -X -q -v ON_ERROR_STOP=1 -U "$role" -d "$BENCH_DB" "$@"
}

# Runs SQL as role $1 and prints the result without headers or alignment.
sql_value() {
    psql_as "$1" -At -c "$2"
}

# Runs SQL statements as role $1.
sql_run() {
    psql_as "$1" -c "$2" >/dev/null
}

# Fails the run when a check on the data after a measured statement does not hold.
expect_eq() {
    local what=$1 expected=$2 actual=$3
    [ "$expected" = "$actual" ] || die "check failed: $what: expected $expected, got $actual"
}

# Vacuums, analyzes and loads into shared buffers the given tables with their indexes and
# TOAST tables, so that both sides of a comparison start with the same cache state.
prepare_tables() {
    local table
    for table in "$@"; do
        sql_run postgres "VACUUM ANALYZE $table"
        sql_run postgres "SELECT bench_util.prewarm('$table')"
    done
}

# Writes dirty buffers out before a measurement, so that no checkpoint from an earlier step
# runs during it.
checkpoint() {
    sql_run postgres "CHECKPOINT"
}

# The SQL that wraps measured statements: the server's clock before and after them, printed
# as "bench_ms=<milliseconds>". A missing semicolon after the last statement is added.
timed_sql() {
    local sql=$1
    sql="${sql%"${sql##*[![:space:]]}"}"
    [ "${sql: -1}" = ";" ] || sql+=";"
    cat <<SQL
SELECT clock_timestamp() AS bench_start \gset
$sql
SELECT round(1000 * extract(epoch FROM clock_timestamp() - :'bench_start'::timestamptz), 1) AS bench_ms \gset
\echo bench_ms=:bench_ms
SQL
}

CLOCK_TICKS_PER_SECOND=$(getconf CLK_TCK)

# Prints the CPU time in clock ticks that the benchmark cluster has used so far: the
# postmaster, its live children (backends, parallel workers, WAL writer, checkpointer) and the
# children it has already reaped. Unlike elapsed time, this hardly changes when other
# processes compete for the CPU. Call it when no backend is exiting, or a backend's time may be
# counted twice or not at all.
cluster_cpu_ticks() {
    local postmaster pid total=0
    local -a fields
    postmaster=$(head -n1 "$PGDATA/postmaster.pid")
    for pid in $(ps -o pid= --ppid "$postmaster"); do
        # After "pid (comm) ", index 0 is field 3 of /proc/<pid>/stat: utime (field 14) is
        # index 11 and stime index 12.
        read -r -a fields <<<"$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null)" || continue
        [ "${#fields[@]}" -gt 14 ] && total=$((total + fields[11] + fields[12]))
    done
    # The postmaster's own utime and stime, and cutime and cstime (fields 16 and 17) of the
    # children it has reaped.
    read -r -a fields <<<"$(sed 's/^.*) //' "/proc/$postmaster/stat")"
    echo $((total + fields[11] + fields[12] + fields[13] + fields[14]))
}

# Prints the milliseconds of CPU time between two readings of cluster_cpu_ticks.
cpu_ms_between() {
    echo $((($2 - $1) * 1000 / CLOCK_TICKS_PER_SECOND))
}

# Runs SQL as role $1 in a new session and prints its elapsed time in milliseconds and the
# milliseconds of CPU time the cluster used meanwhile (connection start included).
time_sql() {
    local role=$1 sql=$2 output before after
    before=$(cluster_cpu_ticks)
    output=$(timed_sql "$sql" | psql_as "$role" -At) || die "statement failed as $role: $sql"
    # Let the postmaster reap the session's backend, whose time then moves to its cutime.
    sleep 0.2
    after=$(cluster_cpu_ticks)
    echo "$(echo "$output" | awk -F= '/^bench_ms=/ { print $2 }') $(cpu_ms_between "$before" "$after")"
}

# Prints the RssAnon (private resident memory, in kB) of process $1. Fails once it has exited.
rss_anon_kb() {
    local key value rest
    { while read -r key value rest; do
        if [ "$key" = RssAnon: ]; then
            echo "$value"
            return 0
        fi
    done <"/proc/$1/status"; } 2>/dev/null
    return 1
}

# Runs SQL as role $1 in a new session while the observer command $3 (a shell function or
# program) watches the session's backend. The observer gets the backend pid and a file name as
# arguments. It must create that file when it is ready, which lets the SQL start, and end by
# itself once the backend exits. Prints the SQL's elapsed milliseconds on the first line and
# the observer's output after it.
observe_sql() {
    local role=$1 sql=$2 observer=$3 dir psql_pid backend_pid
    dir=$(mktemp -d "$RUN_DIR/observe.XXXXXX")
    {
        printf '\\o %s/pid\nSELECT pg_backend_pid();\n\\o\n' "$dir"
        printf '\\! while [ ! -e %s/go ]; do sleep 0.01; done\n' "$dir"
        timed_sql "$sql"
    } | psql_as "$role" -At >"$dir/output" 2>&1 &
    psql_pid=$!
    while [ ! -s "$dir/pid" ]; do
        kill -0 "$psql_pid" 2>/dev/null || { cat "$dir/output" >&2; die "psql exited before it ran: $sql"; }
        sleep 0.01
    done
    backend_pid=$(tr -d '[:space:]' <"$dir/pid")
    "$observer" "$backend_pid" "$dir/go" >"$dir/observed" &
    local observer_pid=$!
    wait "$psql_pid" || { cat "$dir/output" >&2; die "statement failed as $role: $sql"; }
    wait "$observer_pid"
    awk -F= '/^bench_ms=/ { print $2 }' "$dir/output"
    cat "$dir/observed"
    rm -rf "$dir"
}

# Observer for observe_sql: samples the backend's RssAnon every 20 ms from before the
# statement starts until the backend exits, and prints "<peak kB> <kB before> <samples>".
sample_rss() {
    local pid=$1 go_file=$2 idle peak value samples=0
    idle=$(rss_anon_kb "$pid") || { echo "0 0 0"; touch "$go_file"; return; }
    peak=$idle
    touch "$go_file"
    while value=$(rss_anon_kb "$pid"); do
        samples=$((samples + 1))
        [ "$value" -gt "$peak" ] && peak=$value
        sleep 0.02
    done
    echo "$peak $idle $samples"
}

# Runs a pgbench script and prints the transactions per second it reports (excluding the
# connection time) and the cluster's CPU time per transaction in microseconds. Arguments:
# role, clients, seconds, script file, then extra pgbench options.
run_pgbench() {
    local role=$1 clients=$2 seconds=$3 script=$4 output tps failed before after transactions
    shift 4
    before=$(cluster_cpu_ticks)
    output=$(pgbench -n -U "$role" -c "$clients" -j "$clients" -T "$seconds" -f "$script" "$@" "$BENCH_DB" 2>&1) ||
        { echo "$output" >&2; die "pgbench failed: $script"; }
    sleep 0.5
    after=$(cluster_cpu_ticks)
    transactions=$(echo "$output" | awk '/^number of transactions actually processed:/ { print $6; exit }')
    echo "$output" >>"$BENCH_LOG"
    tps=$(echo "$output" | awk '/^tps = / { printf "%.1f\n", $3; exit }')
    [ -n "$tps" ] || { echo "$output" >&2; die "pgbench printed no tps: $script"; }
    failed=$(echo "$output" | awk '/^number of failed transactions:/ { print $5 }')
    [ "${failed:-0}" = 0 ] || { echo "$output" >&2; die "pgbench reported $failed failed transactions: $script"; }
    [ "${transactions:-0}" -gt 0 ] || { echo "$output" >&2; die "pgbench processed no transaction: $script"; }
    echo "$tps $(awk -v t="$(((after - before) * 1000000 / CLOCK_TICKS_PER_SECOND))" -v n="$transactions" 'BEGIN { printf "%.1f", t / n }')"
}

# True (exit 0) when `measured op target` holds; op is one of <=, <, >=.
meets_target() {
    awk -v m="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (op == "<=") ok = (m <= t); else if (op == "<") ok = (m < t); else if (op == ">=") ok = (m >= t); else ok = 0
        exit !ok
    }'
}

# Records one target and prints its line. Arguments: id, title, work value, baseline value,
# unit, measured ratio, operator, target, a free-text note, and optionally the CPU-time figures
# of the work and the baseline with their ratio (defined in the same direction as the measured
# ratio). Pass "-" as the operator for a figure that has no numeric target, with the note
# stating what was checked, and put PASS, FAIL or INFO in the target field.
record() {
    local id=$1 title=$2 work=$3 base=$4 unit=$5 measured=$6 op=$7 target=$8 note=$9 verdict
    local work_cpu=${10:-} base_cpu=${11:-} cpu_ratio=${12:-}
    if [ "$op" = "-" ]; then
        verdict=$target
        target=""
    elif meets_target "$measured" "$op" "$target"; then
        verdict=PASS
    else
        verdict=FAIL
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$id" "$title" "$work" "$base" "$unit" "$measured" "$op" "$target" "$verdict" "$note" \
        "$work_cpu" "$base_cpu" "$cpu_ratio" >>"$RESULTS_TSV"
    printf '%-48s work %10s %-3s baseline %10s %-3s ratio %7s  target %-7s %-4s  cpu ratio %s\n' \
        "$title" "$work" "$unit" "$base" "$unit" "$measured" "$op$target" "$verdict" "${cpu_ratio:--}" | tee -a "$BENCH_LOG"
}
