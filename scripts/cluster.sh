#!/usr/bin/env bash
# Starts or stops the throwaway PostgreSQL cluster under .run/, as the postgres user, on a
# Unix socket in .run/socket and on 127.0.0.1:$PGPORT, with pg_softdelete preloaded.
#   scripts/cluster.sh start    create the cluster if needed, then start it
#   scripts/cluster.sh stop     stop it
#   scripts/cluster.sh destroy  stop it and delete its files
# EXTRA_PRELOAD adds libraries to shared_preload_libraries and EXTRA_CONF adds lines to
# postgresql.conf when the cluster is created; NO_PRELOAD=1 leaves pg_softdelete out of it.
set -euo pipefail
source "$(dirname "$0")/env.sh"

start() {
    mkdir -p "$RUN_DIR"
    chown postgres: "$RUN_DIR"
    as_postgres mkdir -p "$PGHOST"
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        as_postgres "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        as_postgres tee -a "$PGDATA/postgresql.conf" >/dev/null <<CONF
${NO_PRELOAD:+#}shared_preload_libraries = 'pg_softdelete${EXTRA_PRELOAD:+,$EXTRA_PRELOAD}'
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGHOST'
fsync = off
max_connections = 50
log_min_messages = warning
${EXTRA_CONF:-}
CONF
    fi
    if ! as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$RUN_DIR/server.log" -w start >/dev/null
    fi
    echo "PostgreSQL $PG_MAJOR is running: psql -h $PGHOST -p $PGPORT -U postgres"
}

stop() {
    if [ -f "$PGDATA/PG_VERSION" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    destroy) stop; rm -rf "$RUN_DIR" ;;
    *) echo "usage: $0 start|stop|destroy" >&2; exit 2 ;;
esac
