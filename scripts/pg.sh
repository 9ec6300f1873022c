#!/usr/bin/env bash
# The local PostgreSQL cluster on 127.0.0.1:$BANK_PG_PORT (55432).
#   pg.sh start   create the cluster under .data/pg if needed, start it, create role and database
#   pg.sh stop    stop it
#   pg.sh psql    open psql on the bank database
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PGDATA_DIR="$DATA/pg"

# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
pg_user_cmd() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# As root, the postgres user must be able to reach the data directory. A checkout inside a
# private home directory is not reachable, so the cluster then lives in /var/tmp with a link here.
prepare_datadir() {
  if [ -e "$PGDATA_DIR" ]; then return 0; fi
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
    local elsewhere
    elsewhere="/var/tmp/bank-pg-$(printf '%s' "$DATA" | sha256sum | cut -c1-12)"
    mkdir -p "$elsewhere"
    chown postgres: "$elsewhere"
    ln -s "$elsewhere" "$PGDATA_DIR"
  else
    mkdir -p "$PGDATA_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PGDATA_DIR"
  fi
  return 0
}

start() {
  say "PostgreSQL on 127.0.0.1:$PG_PORT"
  prepare_datadir
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    pg_user_cmd "$PG_BIN/initdb" -D "$PGDATA_DIR/" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
# Development cluster: durability matters less than speed; benchmarks report this setting.
synchronous_commit = ${BANK_PG_SYNC_COMMIT:-on}
log_min_duration_statement = 1000
CONF
    ok "cluster created in .data/pg"
  fi
  if pg_user_cmd "$PG_BIN/pg_ctl" -D "$PGDATA_DIR/" status >/dev/null 2>&1; then
    ok "already running"
  else
    pg_user_cmd "$PG_BIN/pg_ctl" -D "$PGDATA_DIR/" -l "$PGDATA_DIR/server.log" -w -t 60 start >/dev/null
    ok "started"
  fi
  local psql=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'bank'")" ]; then
    # The services' role may create databases: each test gets a fresh one.
    "${psql[@]}" -c "CREATE ROLE bank LOGIN CREATEDB"
  fi
  if [ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'bank'")" ]; then
    "${psql[@]}" -c "CREATE DATABASE bank OWNER bank"
    ok "database bank created"
  fi
}

stop() {
  if [ -f "$PGDATA_DIR/PG_VERSION" ] && pg_user_cmd "$PG_BIN/pg_ctl" -D "$PGDATA_DIR/" status >/dev/null 2>&1; then
    pg_user_cmd "$PG_BIN/pg_ctl" -D "$PGDATA_DIR/" -m fast -w stop >/dev/null
    ok "PostgreSQL stopped"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  psql) exec psql -h 127.0.0.1 -p "$PG_PORT" -U bank -d bank ;;
  *) die "usage: pg.sh start|stop|psql" ;;
esac
