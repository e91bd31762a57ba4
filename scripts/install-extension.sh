#!/usr/bin/env bash
# Builds pg_softdelete (release profile; PROFILE_FLAG= for a debug build) and installs it into
# the Debian PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO_DIR"
cargo pgrx install --pg-config "$PG_CONFIG" ${PROFILE_FLAG---release} 2>&1 | grep -Ev '^\s*(Compiling|Checking)' | tail -n 5
