# Shared settings of the scripts: where the throwaway cluster lives and how to reach it.
# Source it; every value can be overridden from the environment.

PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}
PG_CONFIG=${PG_CONFIG:-$PG_BIN/pg_config}
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=${RUN_DIR:-$REPO_DIR/.run}
PGDATA=${PGDATA:-$RUN_DIR/pgdata}
PGHOST=${PGHOST:-$RUN_DIR/socket}
PGPORT=${PGPORT:-54315}
PGUSER=${PGUSER:-postgres}
export PG_MAJOR PG_BIN PG_CONFIG REPO_DIR RUN_DIR PGDATA PGHOST PGPORT PGUSER
export PATH="$HOME/.cargo/bin:$PATH"

# Runs a command as the postgres user, which the server requires (it refuses to run as root).
as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    else
        sudo -u postgres --preserve-env=PGHOST,PGPORT,PGUSER,PGDATA,PATH "$@"
    fi
}
