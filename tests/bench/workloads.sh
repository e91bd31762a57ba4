# The benchmark workloads, one function each, run by scripts/bench.sh. Each one builds its
# own tables, measures the extension and its baseline in the same repetition (the side that
# runs first alternates), checks what the statements did, and records the medians with
# `record`. Source it after lib.sh.

# True for odd repetitions, in which the extension's side runs first.
managed_first() {
    [ $(($1 % 2)) -eq 1 ]
}

# Prints the words given as arguments in reverse order on even repetitions ($1).
in_turn() {
    local repetition=$1
    shift
    if managed_first "$repetition"; then
        echo "$@"
    else
        echo "$@" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "\n") }'
    fi
}

# Appends value $2 to the array named $1 (an array of the calling function).
append_to() {
    eval "$1+=(\"\$2\")"
}

# Runs SQL ($3) as role $2 with time_sql and appends its elapsed milliseconds to the array
# named $1 and its CPU milliseconds to the array named $1_cpu.
measure_sql() {
    local side=$1 result ms cpu
    result=$(time_sql "$2" "$3")
    read -r ms cpu <<<"$result"
    log "  $side: $ms ms, cluster CPU $cpu ms"
    append_to "$side" "$ms"
    append_to "${side}_cpu" "$cpu"
}

# Runs pgbench with run_pgbench (arguments from $2 on) and appends the transactions per second
# to the array named $1 and the CPU microseconds per transaction to the array named $1_cpu.
measure_pgbench() {
    local side=$1 result tps cpu
    shift
    result=$(run_pgbench "$@")
    read -r tps cpu <<<"$result"
    log "  $side: $tps tps, cluster CPU $cpu us per transaction"
    append_to "$side" "$tps"
    append_to "${side}_cpu" "$cpu"
}

# Prints the values given as arguments joined by slashes, for the notes of a record.
each_run() {
    local IFS=/
    echo "$*"
}

# Prints the number of soft-deleted rows of a table, counted by the superuser, who bypasses
# row-level security.
deleted_count() {
    sql_value postgres "SELECT count(*) FROM $1 WHERE deleted_at IS NOT NULL"
}

event_count() {
    sql_value postgres "SELECT count(*) FROM softdelete.events WHERE operation = '$1'"
}

# Workloads 1 to 3: DELETE of every row of a table of 1,000,000 rows, against the UPDATE
# written by hand, the BEFORE DELETE trigger and the DO INSTEAD rule.
workload_bulk_delete() {
    local rows repetition kind
    local -a managed=() plain=() trigger=() rule=() managed_cpu=() plain_cpu=() trigger_cpu=() rule_cpu=()
    rows=$(scaled 1000000 1000)
    for repetition in $(seq 1 "$BENCH_REPEAT"); do
        log "workloads 1-3: bulk delete of $rows rows, repetition $repetition of $BENCH_REPEAT"
        for kind in managed plain trigger rule; do
            sql_run postgres "SELECT bench_util.create_items('w1_$kind', $rows, '$kind')"
        done
        prepare_tables w1_managed w1_plain w1_trigger w1_rule
        sql_run postgres "TRUNCATE softdelete.event_log, softdelete.event_batches"

        for kind in $(in_turn "$repetition" managed plain trigger rule); do
            checkpoint
            case $kind in
                managed) measure_sql managed bench "DELETE FROM w1_managed WHERE id <= $rows" ;;
                plain) measure_sql plain bench "UPDATE w1_plain SET deleted_at = now() WHERE id <= $rows AND deleted_at IS NULL" ;;
                trigger) measure_sql trigger bench "DELETE FROM w1_trigger WHERE id <= $rows" ;;
                rule) measure_sql rule bench "DELETE FROM w1_rule WHERE id <= $rows" ;;
            esac
            expect_eq "soft-deleted rows of w1_$kind" "$rows" "$(deleted_count "w1_$kind")"
        done
        expect_eq "delete events of w1_managed" "$rows" "$(event_count delete)"
        sql_run postgres "DROP TABLE w1_managed, w1_plain, w1_trigger, w1_rule"
    done

    local ours update by_trigger by_rule ours_cpu update_cpu trigger_cpu_ms rule_cpu_ms
    ours=$(median "${managed[@]}")
    update=$(median "${plain[@]}")
    by_trigger=$(median "${trigger[@]}")
    by_rule=$(median "${rule[@]}")
    ours_cpu=$(median "${managed_cpu[@]}")
    update_cpu=$(median "${plain_cpu[@]}")
    trigger_cpu_ms=$(median "${trigger_cpu[@]}")
    rule_cpu_ms=$(median "${rule_cpu[@]}")

    record w1 "1. bulk DELETE vs UPDATE" "$ours" "$update" ms "$(ratio "$ours" "$update")" "<=" 1.2 \
        "DELETE of $rows rows vs UPDATE SET deleted_at = now() of the same rows; ratio = DELETE / UPDATE; runs (ms): DELETE $(each_run "${managed[@]}"), UPDATE $(each_run "${plain[@]}")" \
        "$ours_cpu" "$update_cpu" "$(ratio "$ours_cpu" "$update_cpu")"
    record w2 "2. bulk DELETE vs BEFORE DELETE trigger" "$ours" "$by_trigger" ms "$(ratio "$by_trigger" "$ours")" ">=" 1.8 \
        "ratio = trigger time / DELETE time; trigger runs (ms): $(each_run "${trigger[@]}")" \
        "$ours_cpu" "$trigger_cpu_ms" "$(ratio "$trigger_cpu_ms" "$ours_cpu")"
    record w3 "3. bulk DELETE vs DO INSTEAD rule" "$ours" "$by_rule" ms "$(ratio "$ours" "$by_rule")" "<" 1.0 \
        "ratio = DELETE / rule; rule runs (ms): $(each_run "${rule[@]}")" \
        "$ours_cpu" "$rule_cpu_ms" "$(ratio "$ours_cpu" "$rule_cpu_ms")"
}

# Workload 4: single-row DELETE by key from 4 pgbench clients against the single-row UPDATE.
workload_single_row_delete() {
    local rows seconds repetition side
    local -a managed=() plain=() managed_cpu=() plain_cpu=()
    local -a prepared_managed=() prepared_plain=() prepared_managed_cpu=() prepared_plain_cpu=()
    rows=$(scaled 1000000 1000)
    seconds=$(scaled 30 3)
    for repetition in $(seq 1 "$BENCH_REPEAT"); do
        log "workload 4: single-row delete, 4 clients, $seconds s, repetition $repetition of $BENCH_REPEAT"
        sql_run postgres "SELECT bench_util.create_items('w4_managed', $rows, 'managed')"
        sql_run postgres "SELECT bench_util.create_items('w4_plain', $rows, 'plain')"
        prepare_tables w4_managed w4_plain
        sql_run postgres "TRUNCATE softdelete.event_log, softdelete.event_batches"

        for side in $(in_turn "$repetition" managed plain); do
            checkpoint
            case $side in
                managed) measure_pgbench managed bench 4 "$seconds" "$BENCH_DIR/pgbench/delete_managed.sql" -D "rows=$rows" ;;
                plain) measure_pgbench plain bench 4 "$seconds" "$BENCH_DIR/pgbench/update_plain.sql" -D "rows=$rows" ;;
            esac
        done
        # The same with prepared statements, as drivers that use the extended protocol run
        # them: each statement is planned once per connection instead of once per execution.
        for side in $(in_turn "$repetition" prepared_managed prepared_plain); do
            checkpoint
            case $side in
                prepared_managed) measure_pgbench prepared_managed bench 4 "$seconds" "$BENCH_DIR/pgbench/delete_managed.sql" -D "rows=$rows" -M prepared ;;
                prepared_plain) measure_pgbench prepared_plain bench 4 "$seconds" "$BENCH_DIR/pgbench/update_plain.sql" -D "rows=$rows" -M prepared ;;
            esac
        done

        local deleted events
        deleted=$(deleted_count w4_managed)
        events=$(event_count delete)
        expect_eq "delete events of w4_managed" "$deleted" "$events"
        [ "$deleted" -gt 0 ] || die "check failed: workload 4 soft-deleted no row"
        sql_run postgres "DROP TABLE w4_managed, w4_plain"
    done

    local ours base ours_cpu base_cpu
    ours=$(median "${managed[@]}")
    base=$(median "${plain[@]}")
    ours_cpu=$(median "${managed_cpu[@]}")
    base_cpu=$(median "${plain_cpu[@]}")
    record w4 "4. single-row DELETE, pgbench" "$ours" "$base" tps "$(ratio "$ours" "$base")" ">=" 0.9 \
        "4 clients, $seconds s, ids random(1, $rows), role bench, simple protocol (pgbench's default); ratio = DELETE tps / UPDATE tps; runs (tps): DELETE $(each_run "${managed[@]}"), UPDATE $(each_run "${plain[@]}"); CPU figures in us per transaction" \
        "$ours_cpu" "$base_cpu" "$(ratio "$base_cpu" "$ours_cpu")"
    ours=$(median "${prepared_managed[@]}")
    base=$(median "${prepared_plain[@]}")
    ours_cpu=$(median "${prepared_managed_cpu[@]}")
    base_cpu=$(median "${prepared_plain_cpu[@]}")
    record w4_prepared "4. single-row DELETE, pgbench -M prepared" "$ours" "$base" tps "$(ratio "$ours" "$base")" - INFO \
        "as target 4 with prepared statements (-M prepared), measured after it on the same tables; no target of its own; runs (tps): DELETE $(each_run "${prepared_managed[@]}"), UPDATE $(each_run "${prepared_plain[@]}"); CPU figures in us per transaction" \
        "$ours_cpu" "$base_cpu" "$(ratio "$base_cpu" "$ours_cpu")"
}

# Prints the plan of a query as role $1, without costs.
plan_of() {
    sql_value "$1" "EXPLAIN (COSTS OFF) $2"
}

# Checks the plans of the read workload: index scans on both sides, the visibility condition
# folded to deleted_at IS NULL, and the same plan for a member of softdelete_viewer.
check_read_plans() {
    local query=$1 baseline=$2 ours viewer plain problems=""
    ours=$(plan_of bench "$query")
    viewer=$(plan_of bench_viewer "$query")
    plain=$(plan_of bench "$baseline")
    {
        echo "-- plan as bench: $query"
        echo "$ours"
        echo "-- plan as bench_viewer (include_deleted off): $query"
        echo "$viewer"
        echo "-- plan as bench: $baseline"
        echo "$plain"
    } >>"$RUN_DIR/plans.txt"
    grep -Eq 'Index Scan|Index Only Scan|Bitmap Index Scan' <<<"$ours" || problems+=" managed table not read by index;"
    grep -Eq 'Index Scan|Index Only Scan|Bitmap Index Scan' <<<"$plain" || problems+=" baseline not read by index;"
    grep -q 'deleted_at IS NULL' <<<"$ours" || problems+=" no deleted_at IS NULL in the managed plan;"
    grep -q '_show_deleted' <<<"$ours" && problems+=" _show_deleted() not folded;"
    [ "$ours" = "$viewer" ] || problems+=" viewer plan differs;"
    echo "$problems"
}

# Workload 5: point and range SELECT on a managed table with half of its rows soft-deleted,
# against the same queries with deleted_at IS NULL written by hand.
workload_reads() {
    local rows seconds repetition query side deletion
    rows=$(scaled 1000000 2000)
    seconds=$(scaled 20 3)
    log "workload 5: building two tables of $rows rows and soft-deleting the even ids"
    sql_run postgres "SELECT bench_util.create_items('w5_managed', $rows, 'managed')"
    sql_run postgres "SELECT bench_util.create_items('w5_plain', $rows, 'plain')"
    sql_run postgres "GRANT SELECT ON w5_managed, w5_plain TO bench_viewer"
    sql_run bench "DELETE FROM w5_managed WHERE id % 2 = 0"
    deletion=$(sql_value postgres "SELECT max(deletion_id) FROM w5_managed")
    sql_run bench "UPDATE w5_plain SET deleted_at = now(), deleted_by = 'bench', deletion_id = $deletion WHERE id % 2 = 0"
    prepare_tables w5_managed w5_plain
    expect_eq "rows of w5_managed visible to bench" "$((rows - rows / 2))" "$(sql_value bench "SELECT count(*) FROM w5_managed")"
    expect_eq "rows of w5_managed visible to bench_viewer" "$((rows - rows / 2))" \
        "$(sql_value bench_viewer "SELECT count(*) FROM w5_managed")"

    : >"$RUN_DIR/plans.txt"
    local point_problems range_problems
    point_problems=$(check_read_plans "SELECT id, code, qty, note FROM w5_managed WHERE id = 42" \
        "SELECT id, code, qty, note FROM w5_plain WHERE id = 42 AND deleted_at IS NULL")
    range_problems=$(check_read_plans "SELECT count(*) FROM w5_managed WHERE id BETWEEN 4200 AND 5199" \
        "SELECT count(*) FROM w5_plain WHERE id BETWEEN 4200 AND 5199 AND deleted_at IS NULL")

    for query in point range; do
        local -a managed=() plain=() managed_cpu=() plain_cpu=()
        for repetition in $(seq 1 "$BENCH_REPEAT"); do
            log "workload 5: $query SELECT, 2 clients, $seconds s, repetition $repetition of $BENCH_REPEAT"
            for side in $(in_turn "$repetition" managed plain); do
                measure_pgbench "$side" bench 2 "$seconds" "$BENCH_DIR/pgbench/${query}_$side.sql" -D "rows=$rows"
            done
        done
        local ours base ours_cpu base_cpu
        ours=$(median "${managed[@]}")
        base=$(median "${plain[@]}")
        ours_cpu=$(median "${managed_cpu[@]}")
        base_cpu=$(median "${plain_cpu[@]}")
        record "w5_$query" "5. $query SELECT, half deleted" "$ours" "$base" tps "$(ratio "$base" "$ours")" "<=" 1.05 \
            "2 clients, $seconds s, role bench; ratio = hand-written tps / managed tps; runs (tps): managed $(each_run "${managed[@]}"), hand-written $(each_run "${plain[@]}"); CPU figures in us per transaction" \
            "$ours_cpu" "$base_cpu" "$(ratio "$ours_cpu" "$base_cpu")"
    done
    local verdict=PASS
    [ -z "$point_problems$range_problems" ] || verdict=FAIL
    record w5_plans "5. plans: index scans, viewer same plan" "-" "-" "" "-" "-" "$verdict" \
        "EXPLAIN checks${point_problems:+; point:$point_problems}${range_problems:+; range:$range_problems}; plans in .run/bench/plans.txt"
    sql_run postgres "DROP TABLE w5_managed, w5_plain"
}

# Workload 6: peak RssAnon of the backend during the bulk DELETE and during the UPDATE
# baseline, at a quarter of the rows and at all of them.
workload_memory() {
    local full quarter size rows repetition side output
    full=$(scaled 1000000 1000)
    quarter=$((full / 4))
    declare -A peaks=()
    for size in quarter full; do
        rows=${!size}
        local -a managed=() plain=() managed_growth=()
        for repetition in $(seq 1 "$BENCH_REPEAT"); do
            log "workload 6: backend memory at $rows rows, repetition $repetition of $BENCH_REPEAT"
            sql_run postgres "SELECT bench_util.create_items('w6_managed', $rows, 'managed')"
            sql_run postgres "SELECT bench_util.create_items('w6_plain', $rows, 'plain')"
            prepare_tables w6_managed w6_plain
            sql_run postgres "TRUNCATE softdelete.event_log, softdelete.event_batches"

            for side in $(in_turn "$repetition" managed plain); do
                checkpoint
                case $side in
                    managed) output=$(observe_sql bench "DELETE FROM w6_managed WHERE id <= $rows" sample_rss) ;;
                    plain) output=$(observe_sql bench "UPDATE w6_plain SET deleted_at = now() WHERE id <= $rows AND deleted_at IS NULL" sample_rss) ;;
                esac

                # output: elapsed ms on line 1, then "<peak kB> <kB before> <samples>"
                local peak idle samples
                read -r peak idle samples <<<"$(sed -n 2p <<<"$output")"
                [ "$samples" -gt 0 ] || die "check failed: no memory sample of the $side statement"
                log "  $side: peak RssAnon $peak kB (before the statement: $idle kB, $samples samples, $(head -n1 <<<"$output") ms)"
                append_to "$side" "$peak"
                [ "$side" = managed ] && managed_growth+=("$((peak - idle))")
            done
            expect_eq "soft-deleted rows of w6_managed" "$rows" "$(deleted_count w6_managed)"
            sql_run postgres "DROP TABLE w6_managed, w6_plain"
        done

        peaks[${size}_managed]=$(median "${managed[@]}")
        peaks[${size}_plain]=$(median "${plain[@]}")
        peaks[${size}_growth]=$(median "${managed_growth[@]}")
    done

    local mib_managed mib_plain mib_quarter
    mib_managed=$(awk -v k="${peaks[full_managed]}" 'BEGIN { printf "%.1f", k / 1024 }')
    mib_plain=$(awk -v k="${peaks[full_plain]}" 'BEGIN { printf "%.1f", k / 1024 }')
    mib_quarter=$(awk -v k="${peaks[quarter_managed]}" 'BEGIN { printf "%.1f", k / 1024 }')
    record w6_peak "6. peak memory, DELETE vs UPDATE" "$mib_managed" "$mib_plain" MiB \
        "$(ratio "${peaks[full_managed]}" "${peaks[full_plain]}")" "-" INFO \
        "peak RssAnon of the backend at $full rows, sampled every 20 ms; ratio = DELETE / UPDATE"
    record w6_growth "6. peak memory of DELETE, $full vs $quarter rows" "$mib_managed" "$mib_quarter" MiB \
        "$(ratio "${peaks[full_managed]}" "${peaks[quarter_managed]}")" "<=" 1.25 \
        "ratio = peak at $full rows / peak at $quarter rows; growth over the idle backend: ${peaks[full_growth]} kB vs ${peaks[quarter_growth]} kB"
}

# Soft-deletes the families of parents 1..$1 in the managed tables w7_*, marks the same rows
# by hand in the plain tables w7p_* with the same deletion id, and prints that id.
delete_families() {
    local parents=$1 deletion
    sql_run bench "DELETE FROM w7_parent WHERE id <= $parents"
    deletion=$(sql_value postgres "SELECT max(deletion_id) FROM w7_parent")
    sql_run bench "
        UPDATE w7p_parent SET deleted_at = now(), deleted_by = 'bench', deletion_id = $deletion WHERE id <= $parents;
        UPDATE w7p_child SET deleted_at = now(), deleted_by = 'bench', deletion_id = $deletion WHERE parent_id <= $parents;
        UPDATE w7p_grandchild SET deleted_at = now(), deleted_by = 'bench', deletion_id = $deletion WHERE child_id <= $parents * 10;"
    prepare_tables w7_parent w7_child w7_grandchild w7p_parent w7p_child w7p_grandchild
    echo "$deletion"
}

# Workload 7: restore and purge of one deletion that cascaded over three levels, against the
# plain UPDATE that clears the markers of the same rows and the plain DELETE that removes them
# with PostgreSQL's own ON DELETE CASCADE.
workload_restore_purge() {
    local parents family_rows repetition side deletion
    local -a restore=() clear=() purge=() remove=() restore_cpu=() clear_cpu=() purge_cpu=() remove_cpu=()
    parents=$(scaled 1000 10)
    family_rows=$((parents * 111))
    for repetition in $(seq 1 "$BENCH_REPEAT"); do
        log "workload 7: restore and purge of $family_rows rows, repetition $repetition of $BENCH_REPEAT"
        sql_run postgres "SELECT bench_util.create_family('w7', $((parents * 2)), true)"
        sql_run postgres "SELECT bench_util.create_family('w7p', $((parents * 2)), false)"
        sql_run postgres "TRUNCATE softdelete.event_log, softdelete.event_batches"
        deletion=$(delete_families "$parents")
        expect_eq "delete events of the cascade" "$family_rows" "$(event_count delete)"

        for side in $(in_turn "$repetition" restore clear); do
            checkpoint
            case $side in
                restore) measure_sql restore bench "SELECT softdelete.restore_deletion($deletion)" ;;
                clear) measure_sql clear bench "
                    BEGIN;
                    UPDATE w7p_parent SET deleted_at = NULL, deleted_by = NULL, deletion_id = NULL WHERE deletion_id = $deletion AND deleted_at IS NOT NULL;
                    UPDATE w7p_child SET deleted_at = NULL, deleted_by = NULL, deletion_id = NULL WHERE deletion_id = $deletion AND deleted_at IS NOT NULL;
                    UPDATE w7p_grandchild SET deleted_at = NULL, deleted_by = NULL, deletion_id = NULL WHERE deletion_id = $deletion AND deleted_at IS NOT NULL;
                    COMMIT;" ;;
            esac
        done
        expect_eq "restore events" "$family_rows" "$(event_count restore)"
        expect_eq "soft-deleted grandchildren after restore" 0 "$(deleted_count w7_grandchild)"
        expect_eq "marked plain grandchildren after clearing" 0 "$(deleted_count w7p_grandchild)"

        deletion=$(delete_families "$parents")
        for side in $(in_turn "$repetition" purge remove); do
            checkpoint
            case $side in
                purge) measure_sql purge bench "SELECT softdelete.purge_deletion($deletion)" ;;
                remove) measure_sql remove bench "DELETE FROM w7p_parent WHERE id <= $parents AND deleted_at IS NOT NULL" ;;
            esac
        done
        expect_eq "purge events" "$family_rows" "$(event_count purge)"
        expect_eq "grandchildren left after purge" "$((parents * 100))" "$(sql_value postgres "SELECT count(*) FROM w7_grandchild")"
        expect_eq "grandchildren left after plain DELETE" "$((parents * 100))" "$(sql_value postgres "SELECT count(*) FROM w7p_grandchild")"
        sql_run postgres "DROP TABLE w7_grandchild, w7_child, w7_parent, w7p_grandchild, w7p_child, w7p_parent"
    done
    local ours base ours_cpu base_cpu
    ours=$(median "${restore[@]}")
    base=$(median "${clear[@]}")
    ours_cpu=$(median "${restore_cpu[@]}")
    base_cpu=$(median "${clear_cpu[@]}")
    record w7_restore "7. restore_deletion vs UPDATE" "$ours" "$base" ms "$(ratio "$ours" "$base")" "<=" 1.5 \
        "$family_rows rows ($parents parents x 10 children x 10 grandchildren); baseline clears the markers with 3 UPDATEs; runs (ms): restore $(each_run "${restore[@]}"), UPDATE $(each_run "${clear[@]}")" \
        "$ours_cpu" "$base_cpu" "$(ratio "$ours_cpu" "$base_cpu")"
    ours=$(median "${purge[@]}")
    base=$(median "${remove[@]}")
    ours_cpu=$(median "${purge_cpu[@]}")
    base_cpu=$(median "${remove_cpu[@]}")
    record w7_purge "7. purge vs DELETE CASCADE" "$ours" "$base" ms "$(ratio "$ours" "$base")" "<=" 1.5 \
        "purge_deletion() of the deletion vs one DELETE of its $parents parents with native ON DELETE CASCADE; runs (ms): purge $(each_run "${purge[@]}"), DELETE $(each_run "${remove[@]}")" \
        "$ours_cpu" "$base_cpu" "$(ratio "$ours_cpu" "$base_cpu")"
}

# Workload 8: enable() on a table of 10,000,000 rows against building its unique index over
# active rows alone, and a check that enable() does not rewrite the table.
workload_enable() {
    local rows repetition side before after rewritten=0
    local -a enable=() index=() enable_cpu=() index_cpu=()
    rows=$(scaled 10000000 10000)
    log "workload 8: building a table of $rows rows"
    sql_run postgres "SELECT bench_util.create_large('w8_large', $rows)"
    prepare_tables w8_large

    for repetition in $(seq 1 "$BENCH_REPEAT"); do
        log "workload 8: enable() on $rows rows, repetition $repetition of $BENCH_REPEAT"
        for side in $(in_turn "$repetition" enable index); do
            checkpoint
            case $side in
                enable)
                    before=$(sql_value postgres "SELECT pg_relation_filenode('w8_large')")
                    measure_sql enable postgres "SELECT softdelete.enable('w8_large')"
                    after=$(sql_value postgres "SELECT pg_relation_filenode('w8_large')")
                    [ "$before" = "$after" ] || rewritten=$((rewritten + 1))
                    sql_run postgres "SELECT softdelete.disable('w8_large', drop_columns => true)"
                    ;;
                index)
                    sql_run postgres "ALTER TABLE w8_large ADD COLUMN deleted_at timestamptz"
                    measure_sql index postgres "CREATE UNIQUE INDEX w8_large_code_active ON w8_large (code) WHERE deleted_at IS NULL"
                    sql_run postgres "DROP INDEX w8_large_code_active; ALTER TABLE w8_large DROP COLUMN deleted_at"
                    ;;
            esac
        done
    done
    sql_run postgres "DROP TABLE w8_large"

    local ours base ours_cpu base_cpu verdict=PASS
    ours=$(median "${enable[@]}")
    base=$(median "${index[@]}")
    ours_cpu=$(median "${enable_cpu[@]}")
    base_cpu=$(median "${index_cpu[@]}")
    [ "$rewritten" -eq 0 ] || verdict=FAIL
    record w8 "8. enable() vs CREATE UNIQUE INDEX alone" "$ours" "$base" ms "$(ratio "$ours" "$base")" "-" "$verdict" \
        "$rows rows; PASS means pg_relation_filenode was unchanged by every enable() (no table rewrite); runs (ms): enable $(each_run "${enable[@]}"), index $(each_run "${index[@]}")" \
        "$ours_cpu" "$base_cpu" "$(ratio "$ours_cpu" "$base_cpu")"
}
