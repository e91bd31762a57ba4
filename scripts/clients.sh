#!/usr/bin/env bash
# Runs the client-library suites in tests/clients against the installed extension, on a fresh
# cluster under .run/clients/cluster that listens on 127.0.0.1:54356:
#   1. tests/clients/python with pytest: psycopg 3 with the SQLAlchemy 2 ORM, and the Django ORM;
#   2. tests/clients/node with node's built-in test runner: node-postgres (pg).
# The clients connect over TCP as the ordinary LOGIN role softdelete_app, because superusers and
# BYPASSRLS roles see soft-deleted rows. Does not build or install the extension.
# The Python packages go into the virtualenv .run/clients/venv, which is kept between runs and
# recreated when tests/clients/python/requirements.txt changes. `npm ci` reinstalls
# tests/clients/node/node_modules from package-lock.json on every run.
# Prints each runner's summary, then "clients: N passed, N failed". Exits non-zero on any failure.
# With KEEP_CLUSTER=1 the cluster keeps running afterwards, so that a suite can be run again by
# hand, for example: .run/clients/venv/bin/python -m pytest tests/clients/python -k upsert
# CLIENTS_PORT sets another port, and CLIENTS_PYTHON another Python for the virtualenv.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_DIR"

clients_dir="$REPO_DIR/.run/clients"
# The cluster gets its own directory because `cluster.sh destroy` deletes all of $RUN_DIR, and
# the virtualenv beside it should survive that.
export RUN_DIR="$clients_dir/cluster" PGPORT="${CLIENTS_PORT:-54356}"
export PGDATA="$RUN_DIR/pgdata" PGHOST="$RUN_DIR/socket"
export CLIENTS_HOST=127.0.0.1 CLIENTS_PORT="$PGPORT" CLIENTS_DATABASE=softdelete_clients
export CLIENTS_APP_USER=softdelete_app CLIENTS_ADMIN_USER=postgres
# Keep the runners from writing __pycache__ and .pytest_cache into the work tree.
export PYTHONDONTWRITEBYTECODE=1
runner_timeout=300

passed=0
failed=0

# Adds the counts of one runner: its passed and failed tests, and one failure more when the
# runner failed without reporting a failed test (a crash, a timeout, a collection error).
count() {
    local status=$1 runner_passed=${2:-0} runner_failed=${3:-0}
    passed=$((passed + runner_passed))
    failed=$((failed + runner_failed))
    if [ "$status" -ne 0 ] && [ "$runner_failed" -eq 0 ]; then
        failed=$((failed + 1))
    fi
}

# Stops the cluster unless KEEP_CLUSTER=1, prints the totals and exits, with status 1 when
# anything failed.
finish() {
    [ "${KEEP_CLUSTER:-0}" = 1 ] || bash scripts/cluster.sh stop
    echo "clients: $passed passed, $failed failed"
    if [ "$failed" -eq 0 ]; then
        exit 0
    fi
    exit 1
}

echo "== starting a fresh cluster on 127.0.0.1:$PGPORT"
mkdir -p "$clients_dir"
bash scripts/cluster.sh destroy
if ! bash scripts/cluster.sh start >/dev/null; then
    echo "failed to start the cluster, see $RUN_DIR/server.log" >&2
    tail -n 20 "$RUN_DIR/server.log" >&2
    failed=1
    finish
fi
# The database belongs to the application role, so that the role may create tables in its
# public schema. The statement timeout turns a hung test (a lock wait, say) into a failure.
if ! psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres <<SQL; then
CREATE ROLE $CLIENTS_APP_USER LOGIN NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE $CLIENTS_DATABASE OWNER $CLIENTS_APP_USER;
ALTER DATABASE $CLIENTS_DATABASE SET statement_timeout = '30s';
SQL
    echo "failed to create the role $CLIENTS_APP_USER and the database $CLIENTS_DATABASE" >&2
    failed=1
    finish
fi

echo "== installing the Python packages into .run/clients/venv"
venv="$clients_dir/venv"
requirements=tests/clients/python/requirements.txt
requirements_hash=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/requirements.sha256" 2>/dev/null)" != "$requirements_hash" ]; then
    rm -rf "$venv"
    # Debian's Python, whose venv module comes with python3-venv (scripts/install-deps.sh).
    python=${CLIENTS_PYTHON:-/usr/bin/python3}
    if ! "$python" -m venv "$venv" ||
        ! "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"; then
        echo "failed to install the Python packages of $requirements into $venv" >&2
        rm -rf "$venv"
        failed=$((failed + 1))
        finish
    fi
    echo "$requirements_hash" >"$venv/requirements.sha256"
fi

echo "== installing the Node packages (npm ci)"
if ! (cd tests/clients/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    echo "npm ci failed in tests/clients/node" >&2
    failed=$((failed + 1))
    finish
fi

echo "== Python: SQLAlchemy and Django (pytest)"
pytest_log="$clients_dir/pytest.log"
timeout "$runner_timeout" "$venv/bin/python" -m pytest -p no:cacheprovider -v -rfE \
    tests/clients/python >"$pytest_log" 2>&1
pytest_status=$?
if [ $pytest_status -eq 0 ]; then
    grep -E "PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS| in [0-9.]+s" "$pytest_log"
else
    cat "$pytest_log"
fi
[ $pytest_status -eq 124 ] && echo "pytest timed out after ${runner_timeout}s" >&2
summary=$(tail -n 1 "$pytest_log")
pytest_passed=$(grep -oE "[0-9]+ passed" <<<"$summary" | cut -d' ' -f1)
pytest_failed=$(grep -oE "[0-9]+ (failed|errors?)" <<<"$summary" | awk '{ sum += $1 } END { print sum + 0 }')
count $pytest_status "${pytest_passed:-0}" "$pytest_failed"

echo "== Node: node-postgres (node --test)"
node_log="$clients_dir/node.log"
(cd tests/clients/node && timeout "$runner_timeout" node --test --test-reporter=spec softdelete.test.js) \
    >"$node_log" 2>&1
node_status=$?
cat "$node_log"
[ $node_status -eq 124 ] && echo "node --test timed out after ${runner_timeout}s" >&2
# The spec reporter ends with lines such as "ℹ pass 9" and "ℹ fail 0".
node_passed=$(grep -E "^[^ ]+ pass [0-9]+$" "$node_log" | awk '{ print $3 }')
node_failed=$(grep -E "^[^ ]+ fail [0-9]+$" "$node_log" | awk '{ print $3 }')
count $node_status "${node_passed:-0}" "${node_failed:-0}"

finish
