#!/usr/bin/env bash
# Benchmarks pg_softdelete against the hand-written soft deletes it replaces. It runs on a
# fresh PostgreSQL 15 cluster of its own in .run/bench (port 54366) and prints one line per
# target: the extension's figure, the baseline's, the measured ratio, the target and PASS or
# FAIL. It writes .run/bench/results.json and the chart docs/benchmarks.png.
# docs/benchmarks.md describes the workloads and the results of a full run.
#
# Environment:
#   SKIP_BUILD=1        use the installed extension instead of building and installing the
#                       release build first
#   BENCH_SCALE=1.0     factor for every row count and pgbench duration (0.01 for a smoke run;
#                       durations are at least 3 s)
#   BENCH_REPEAT=3      repetitions of each measurement; the median is reported
#   BENCH_WORKLOADS     space-separated subset of: bulk single reads memory restore enable
#                       (default: all of them)
#   BENCH_CHART         where to write the chart; the default is docs/benchmarks.png for a
#                       full run (scale 1, 3 repetitions, all workloads), otherwise
#                       .run/bench/benchmarks.png, so that a partial run leaves the documented
#                       chart alone
#   BENCH_KEEP_CLUSTER=1  leave the cluster running afterwards (it is stopped by default)
set -euo pipefail

REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
export RUN_DIR="$REPO_DIR/.run/bench"
export PGDATA="$RUN_DIR/pgdata"
export PGHOST="$RUN_DIR/socket"
export PGPORT=54366
export PGUSER=postgres
source "$REPO_DIR/scripts/env.sh"
source "$REPO_DIR/tests/bench/lib.sh"
source "$REPO_DIR/tests/bench/workloads.sh"

ALL_WORKLOADS="bulk single reads memory restore enable"
BENCH_WORKLOADS=${BENCH_WORKLOADS:-$ALL_WORKLOADS}
for workload in $BENCH_WORKLOADS; do
    case " $ALL_WORKLOADS " in
        *" $workload "*) ;;
        *) echo "invalid workload in BENCH_WORKLOADS: $workload (expected some of: $ALL_WORKLOADS)" >&2; exit 2 ;;
    esac
done
awk -v s="$BENCH_SCALE" 'BEGIN { exit !(s > 0 && s <= 1) }' ||
    { echo "invalid BENCH_SCALE: $BENCH_SCALE (expected a number in (0, 1])" >&2; exit 2; }
[[ "$BENCH_REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "invalid BENCH_REPEAT: $BENCH_REPEAT (expected a positive integer)" >&2; exit 2; }

if [ -z "${BENCH_CHART:-}" ]; then
    if [ "$BENCH_WORKLOADS" = "$ALL_WORKLOADS" ] && [ "$BENCH_REPEAT" = 3 ] &&
        awk -v s="$BENCH_SCALE" 'BEGIN { exit !(s == 1) }'; then
        BENCH_CHART="$REPO_DIR/docs/benchmarks.png"
    else
        BENCH_CHART="$RUN_DIR/benchmarks.png"
    fi
fi

started=$(date +%s)
mkdir -p "$RUN_DIR"
: >"$BENCH_LOG"
: >"$RESULTS_TSV"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building and installing the release build"
    PROFILE_FLAG=--release bash "$REPO_DIR/scripts/install-extension.sh"
fi

# matplotlib for the chart, in a virtual environment of Debian's Python that is kept between
# runs. Without it the results are still written, without the chart.
VENV="$RUN_DIR/venv"
PYTHON=/usr/bin/python3
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    /usr/bin/python3 -m venv "$VENV" || log "warning: could not create $VENV; the chart will be skipped"
fi
if [ -x "$VENV/bin/python" ]; then
    if ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
        log "installing matplotlib into $VENV"
        "$VENV/bin/pip" install --quiet matplotlib >>"$BENCH_LOG" 2>&1 ||
            log "warning: pip install matplotlib failed; the chart will be skipped"
    fi
    PYTHON="$VENV/bin/python"
fi

start_fresh_cluster
create_bench_database
log "scale $BENCH_SCALE, $BENCH_REPEAT repetitions, workloads: $BENCH_WORKLOADS"

LIBRARY="$("$PG_CONFIG" --pkglibdir)/pg_softdelete.so"
LIBRARY_ID="sha256 $(sha256sum "$LIBRARY" | cut -c1-16), installed $(date -u -r "$LIBRARY" +%Y-%m-%dT%H:%M:%SZ)"
log "measuring $LIBRARY ($LIBRARY_ID)"

for workload in $BENCH_WORKLOADS; do
    # Other processes on the machine skew the figures, so the log keeps the load they caused.
    log "load average before workload $workload: $(cut -d' ' -f1-3 /proc/loadavg)"
    case $workload in
        bulk) workload_bulk_delete ;;
        single) workload_single_row_delete ;;
        reads) workload_reads ;;
        memory) workload_memory ;;
        restore) workload_restore_purge ;;
        enable) workload_enable ;;
    esac
done

runtime=$(($(date +%s) - started))
BENCH_COMMAND="${SKIP_BUILD:+SKIP_BUILD=$SKIP_BUILD }BENCH_SCALE=$BENCH_SCALE bash scripts/bench.sh" \
    BENCH_SCALE="$BENCH_SCALE" BENCH_REPEAT="$BENCH_REPEAT" BENCH_WORKLOADS="$BENCH_WORKLOADS" \
    BENCH_STARTED_AT="$(date -u -d "@$started" +%Y-%m-%dT%H:%M:%SZ)" BENCH_RUNTIME="$runtime" \
    BENCH_PG_VERSION="$(psql -X -At -U postgres -d postgres -c 'SHOW server_version')" \
    BENCH_GIT_COMMIT="$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || true)" \
    BENCH_SETTINGS="$BENCH_SETTINGS" BENCH_LIBRARY="$LIBRARY_ID" \
    "$PYTHON" "$REPO_DIR/tests/bench/report.py" "$RESULTS_TSV" "$RUN_DIR/results.json" "$BENCH_CHART"

if [ "${BENCH_KEEP_CLUSTER:-0}" != 1 ]; then
    bash "$REPO_DIR/scripts/cluster.sh" stop
fi
echo "total runtime: $((runtime / 60)) min $((runtime % 60)) s"
