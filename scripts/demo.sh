#!/usr/bin/env bash
# Loads the Chinook sample database into the running cluster and runs examples/demo.sql.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_DIR"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS chinook" -c "CREATE DATABASE chinook"
# The Chinook script creates its own database; load its tables and rows into ours instead.
sed -e '/^DROP DATABASE/d' -e '/^CREATE DATABASE/d' -e '/^\\c /d' examples/chinook/chinook.sql \
    | psql -X -q -v ON_ERROR_STOP=1 -d chinook >/dev/null
psql -X -v ON_ERROR_STOP=1 -d chinook -f examples/demo.sql
