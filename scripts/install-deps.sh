#!/usr/bin/env bash
# Installs what building and testing need on Debian, when it is missing: PostgreSQL 15 with
# its server headers, clang for bindgen, sudo, and cargo-pgrx 0.18.1 initialised against the
# Debian PostgreSQL. Safe to run again; it skips what is already there.
set -euo pipefail
source "$(dirname "$0")/env.sh"

packages=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-cron libclang-dev clang sudo python3-venv)
# The client tests need Node.js with npm; take Debian's only when none is installed.
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! cargo pgrx --version 2>/dev/null | grep -q "0.18.1"; then
    echo "installing cargo-pgrx 0.18.1 (about 4 minutes on 2 cores)"
    cargo install cargo-pgrx --version 0.18.1 --locked
fi

if ! grep -q "pg$PG_MAJOR" "$HOME/.pgrx/config.toml" 2>/dev/null; then
    cargo pgrx init --pg$PG_MAJOR "$PG_CONFIG" >/dev/null
fi
