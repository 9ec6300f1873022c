#!/usr/bin/env bash
# The local database on 127.0.0.1:$BANK_PG_PORT (55432): plain PostgreSQL, or with BANK_DB=citus
# a Citus cluster (a coordinator on that port, workers on the next ports).
#   pg.sh start        create the cluster under .data/ if needed, start it, create role and database
#   pg.sh stop         stop it (whichever mode runs)
#   pg.sh psql         open psql on the bank database (on Citus: the coordinator)
#   pg.sh add-worker   Citus only: create and start the spare worker (port +3), not registered in
#                      `bank`; the growth test adds it to its own database and rebalances onto it
#   pg.sh workers      Citus only: the registered workers' host:port, comma-separated
#
# Citus is used only where it is installed (`citus.so` in `pg_config --pkglibdir`); nothing here
# builds or downloads it. docs/citus.md says how the cluster is laid out.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
pg_user_cmd() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# prepare_datadir DIR: as root, the postgres user must be able to reach the data directory. A
# checkout inside a private home directory is not reachable, so the cluster then lives in
# /var/tmp with a link here.
prepare_datadir() {
  local dir="$1"
  if [ -e "$dir" ]; then return 0; fi
  mkdir -p "$(dirname "$dir")"
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
    local elsewhere
    elsewhere="/var/tmp/bank-pg-$(printf '%s' "$dir" | sha256sum | cut -c1-12)"
    mkdir -p "$elsewhere"
    chown postgres: "$elsewhere"
    ln -s "$elsewhere" "$dir"
  else
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  fi
  return 0
}

# start_node DIR PORT LABEL [EXTRA_CONF]: create the cluster in DIR if needed and start it.
start_node() {
  local dir="$1" port="$2" label="$3" extra="${4:-}"
  prepare_datadir "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    pg_user_cmd "$PG_BIN/initdb" -D "$dir/" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 300
shared_buffers = ${BANK_PG_SHARED_BUFFERS:-256MB}
# Development cluster: durability matters less than speed; benchmarks report this setting.
synchronous_commit = ${BANK_PG_SYNC_COMMIT:-on}
log_min_duration_statement = 1000
$extra
CONF
    ok "$label created in ${dir#"$ROOT/"}"
  fi
  if pg_user_cmd "$PG_BIN/pg_ctl" -D "$dir/" status >/dev/null 2>&1; then
    ok "$label already running"
  else
    # The ports lie in Linux's ephemeral range: a client socket may hold one for a moment.
    local attempt
    for attempt in 1 2 3 4 5; do
      pg_user_cmd "$PG_BIN/pg_ctl" -D "$dir/" -l "$dir/server.log" -w -t 60 start >/dev/null && break
      [ "$attempt" -eq 5 ] && die "$label did not start; see $dir/server.log"
      warn "$label did not start (port $port busy?); trying again"
      sleep 2
    done
    ok "$label started on 127.0.0.1:$port"
  fi
}

stop_node() {
  local dir="$1" label="$2"
  if [ -f "$dir/PG_VERSION" ] && pg_user_cmd "$PG_BIN/pg_ctl" -D "$dir/" status >/dev/null 2>&1; then
    pg_user_cmd "$PG_BIN/pg_ctl" -D "$dir/" -m fast -w stop >/dev/null
    ok "$label stopped"
  fi
}

# sql PORT DB STATEMENT: one statement as the superuser; prints the result unaligned.
sql() {
  psql -h 127.0.0.1 -p "$1" -U postgres -d "$2" -v ON_ERROR_STOP=1 -qtA -c "$3"
}

# ensure_bank PORT: the services' role and the bank database on one node.
ensure_bank() {
  local port="$1"
  if [ -z "$(sql "$port" postgres "SELECT 1 FROM pg_roles WHERE rolname = 'bank'")" ]; then
    # The services' role may create databases: each test gets a fresh one.
    sql "$port" postgres "CREATE ROLE bank LOGIN CREATEDB"
  fi
  if [ -z "$(sql "$port" postgres "SELECT 1 FROM pg_database WHERE datname = 'bank'")" ]; then
    sql "$port" postgres "CREATE DATABASE bank OWNER bank"
    ok "database bank created on port $port"
  fi
}

# service_roles PORT: each service's own role, owning its schema only (k8s/base/db-roles.sql).
service_roles() {
  psql -h 127.0.0.1 -p "$1" -U postgres -d bank -qtA -f "$ROOT/k8s/base/db-roles.sql" >/dev/null
}

# --- Citus --------------------------------------------------------------------------------------
CITUS_DIR="$DATA/citus"
CITUS_WORKERS=2
worker_port() { echo $((PG_PORT + $1)); }
# Each node preloads Citus. The coordinator reaches workers over loopback with trust auth.
# BANK_PG_STATEMENTS=1 (the bench) also preloads pg_stat_statements, for where the database's
# time goes per statement; it takes effect when a cluster is created.
STATEMENTS_LIB=""
[ "${BANK_PG_STATEMENTS:-0}" = 1 ] && STATEMENTS_LIB=",pg_stat_statements"
CITUS_CONF="shared_preload_libraries = 'citus$STATEMENTS_LIB'
citus.node_conninfo = 'sslmode=disable'
max_prepared_transactions = 300
# Citus runs a maintenance worker per database that has the extension, which connects to every
# node now and then. Each test makes a database: this bounds those workers (and so their
# connections) to the first few dozen; a database without one still serves every query. The
# growth test, whose rebalance needs them, runs first.
max_worker_processes = 64
wal_level = logical"

citus_installed() {
  local libdir
  libdir="$("$PG_BIN/pg_config" --pkglibdir 2>/dev/null || pg_config --pkglibdir)"
  [ -f "$libdir/citus.so" ]
}

require_citus() {
  citus_installed || die "BANK_DB=citus, but this PostgreSQL ($PG_BIN) has no Citus extension (citus.so in \`pg_config --pkglibdir\`). Install Citus 13.2 for PostgreSQL 15 (docs/citus.md), or run without BANK_DB=citus."
}

# citus_register DB: the citus extension in DB on every node, the coordinator and the workers
# registered in DB's metadata (pg_dist_node is per database).
citus_register() {
  local db="$1" n port
  sql "$PG_PORT" "$db" "CREATE EXTENSION IF NOT EXISTS citus" >/dev/null
  sql "$PG_PORT" "$db" "SELECT citus_set_coordinator_host('127.0.0.1', $PG_PORT)" >/dev/null
  for n in $(seq 1 "$CITUS_WORKERS"); do
    port="$(worker_port "$n")"
    sql "$port" "$db" "CREATE EXTENSION IF NOT EXISTS citus" >/dev/null
    if [ -z "$(sql "$PG_PORT" "$db" "SELECT 1 FROM pg_dist_node WHERE nodeport = $port")" ]; then
      sql "$PG_PORT" "$db" "SELECT citus_add_node('127.0.0.1', $port)" >/dev/null
      ok "worker 127.0.0.1:$port registered in $db"
    fi
  done
}

citus_start() {
  require_citus
  say "Citus: coordinator on 127.0.0.1:$PG_PORT, $CITUS_WORKERS workers"
  local n
  start_node "$CITUS_DIR/coordinator" "$PG_PORT" "coordinator" "$CITUS_CONF"
  for n in $(seq 1 "$CITUS_WORKERS"); do
    start_node "$CITUS_DIR/worker$n" "$(worker_port "$n")" "worker $n" "$CITUS_CONF"
  done
  ensure_bank "$PG_PORT"
  for n in $(seq 1 "$CITUS_WORKERS"); do ensure_bank "$(worker_port "$n")"; done
  # Workers are registered before any migration: a schema distributed on a coordinator without
  # workers stays there.
  citus_register bank
  # The services' roles and schemas exist before the services start: creating a role on the
  # coordinator copies it to the workers, and roles are shared by a node's databases, so this
  # happens once, here, and not in services migrating at the same time.
  service_roles "$PG_PORT"
}

citus_add_worker() {
  require_citus
  local n=$((CITUS_WORKERS + 1))
  start_node "$CITUS_DIR/worker$n" "$(worker_port "$n")" "spare worker" "$CITUS_CONF"
  ensure_bank "$(worker_port "$n")"
}

citus_stop() {
  local n
  for n in 3 2 1; do stop_node "$CITUS_DIR/worker$n" "Citus worker $n"; done
  stop_node "$CITUS_DIR/coordinator" "Citus coordinator"
}

# --- plain PostgreSQL ----------------------------------------------------------------------------
plain_start() {
  say "PostgreSQL on 127.0.0.1:$PG_PORT"
  local extra=""
  [ -n "$STATEMENTS_LIB" ] && extra="shared_preload_libraries = '${STATEMENTS_LIB#,}'"
  start_node "$DATA/pg" "$PG_PORT" "PostgreSQL" "$extra"
  ensure_bank "$PG_PORT"
  service_roles "$PG_PORT"
}

case "${1:-}" in
  start)
    if [ "$BANK_DB" = citus ]; then
      stop_node "$DATA/pg" "plain PostgreSQL (same port)"
      citus_start
    else
      citus_stop
      plain_start
    fi ;;
  stop)
    stop_node "$DATA/pg" "PostgreSQL"
    citus_stop ;;
  # A crash: an immediate shutdown (every backend ends at once, nothing is flushed, the next
  # start runs crash recovery from the WAL), of the plain node or of the Citus coordinator.
  crash)
    for dir in "$DATA/pg" "$CITUS_DIR/coordinator"; do
      if [ -f "$dir/PG_VERSION" ] && pg_user_cmd "$PG_BIN/pg_ctl" -D "$dir/" status >/dev/null 2>&1; then
        pg_user_cmd "$PG_BIN/pg_ctl" -D "$dir/" -m immediate -w stop >/dev/null
        ok "PostgreSQL ($dir) crashed (immediate shutdown)"
      fi
    done ;;
  psql) exec psql -h 127.0.0.1 -p "$PG_PORT" -U bank -d bank ;;
  add-worker) citus_add_worker ;;
  workers)
    for n in $(seq 1 "$CITUS_WORKERS"); do printf '%s127.0.0.1:%s' "$([ "$n" -gt 1 ] && echo ,)" "$(worker_port "$n")"; done
    echo ;;
  *) die "usage: pg.sh start|stop|crash|psql|add-worker|workers" ;;
esac
