# Shared settings and helpers for the stack scripts. Source it; do not run it.
# Every port and path can be overridden from the environment.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${BANK_DATA_DIR:-$ROOT/.data}"
RUN="$DATA/run"
LOGS="$DATA/logs"
CERTS="$DATA/certs"

PG_PORT="${BANK_PG_PORT:-55432}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
ROUTER_PORT="${BANK_ROUTER_PORT:-4000}"
USERS_PORT="${BANK_USERS_PORT:-4001}"
ACCOUNTS_PORT="${BANK_ACCOUNTS_PORT:-4002}"
TRANSACTIONS_PORT="${BANK_TRANSACTIONS_PORT:-4003}"
# The ledger runs two replicas (the second on 4013) behind NGINX at LEDGER_PORT, so a crash of
# one is no outage (nginx/ledger.conf.template); BANK_LEDGER_REPLICAS=1 runs one.
# With one replica the ledger is reached directly.
TRANSACTIONS_REPLICA_PORT="${BANK_TRANSACTIONS_REPLICA_PORT:-4013}"
LEDGER_REPLICAS="${BANK_LEDGER_REPLICAS:-2}"
case "$LEDGER_REPLICAS" in
  1) LEDGER_PORT="$TRANSACTIONS_PORT" ;;
  2) LEDGER_PORT="${BANK_LEDGER_PORT:-4010}" ;;
  *) echo "BANK_LEDGER_REPLICAS is 1 or 2, not $LEDGER_REPLICAS" >&2; exit 1 ;;
esac
NOTIFICATIONS_PORT="${BANK_NOTIFICATIONS_PORT:-4004}"
LOANS_PORT="${BANK_LOANS_PORT:-4005}"
PAYMENTS_PORT="${BANK_PAYMENTS_PORT:-4006}"
GATEWAY_PORT="${BANK_GATEWAY_PORT:-4091}"
# The demo external identity provider (e2e/oidc/idp.mjs) for "Sign in with …".
IDP_PORT="${BANK_IDP_PORT:-4092}"
MAIL_PORT="${BANK_MAIL_PORT:-2525}"
SMS_PORT="${BANK_SMS_PORT:-4090}"
# Python tools (aiosmtpd) live in a venv outside the clone, like the other caches.
VENV="${BANK_VENV:-$HOME/.cache/bank/venv}"
HTTPS_PORT="${BANK_HTTPS_PORT:-8443}"
KAFKA_PORT="${BANK_KAFKA_PORT:-19092}"
# The database: plain PostgreSQL (default) or a Citus cluster (BANK_DB=citus; scripts/pg.sh).
BANK_DB="${BANK_DB:-postgres}"
case "$BANK_DB" in postgres | citus) ;; *) echo "BANK_DB is postgres or citus, not $BANK_DB" >&2; exit 1 ;; esac

# Which cargo profile the stack runs: debug (default; shared with `make test`) or release.
PROFILE="${PROFILE:-debug}"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$CARGO_TARGET_DIR/$PROFILE"

# The administrator's URL (the database's owner, a member of every service's role); each service
# connects as its own role, which reaches its own schema only (k8s/base/db-roles.sql).
DATABASE_URL="postgres://bank@127.0.0.1:$PG_PORT/bank"
service_database_url() { echo "postgres://bank_$1@127.0.0.1:$PG_PORT/bank"; }
BANK_URL="https://localhost:$HTTPS_PORT"

mkdir -p "$RUN" "$LOGS"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
ok() { printf '    \033[32mok\033[0m %s\n' "$*"; }
warn() { printf '    \033[33m!!\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mxx\033[0m %s\n' "$*" >&2; exit 1; }

# as_root CMD...: run as root (sudo when not root).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# is_running NAME: whether the process recorded in $RUN/NAME.pid is alive.
is_running() {
  local pidfile="$RUN/$1.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# wait_for NAME URL [SECONDS] [CURL_ARGS...]: poll URL until it answers 2xx, with progress dots.
# The subgraphs' URLs as the router takes them (and Apollo Gateway in the bench), one
# NAME=value per line: `mapfile -t urls < <(subgraph_urls)`, then `env "${urls[@]}" ...`.
subgraph_urls() {
  local pair
  for pair in USERS:$USERS_PORT ACCOUNTS:$ACCOUNTS_PORT TRANSACTIONS:$LEDGER_PORT \
    NOTIFICATIONS:$NOTIFICATIONS_PORT LOANS:$LOANS_PORT PAYMENTS:$PAYMENTS_PORT; do
    echo "ROUTER_${pair%%:*}_URL=http://127.0.0.1:${pair#*:}/graphql"
  done
}

wait_for() {
  local name="$1" url="$2" seconds="${3:-60}"
  shift 3 || shift $#
  local start=$SECONDS
  printf '    waiting for %s ' "$name"
  until curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null; do
    if (( SECONDS - start >= seconds )); then
      printf ' timed out\n'
      return 1
    fi
    if [ -n "${PIDNAME:-}" ] && ! is_running "$PIDNAME"; then
      printf ' it exited\n'
      return 1
    fi
    printf '.'
    sleep 1
  done
  printf ' ready (%ss)\n' "$(( SECONDS - start ))"
}

# start_bg NAME CMD...: start CMD in the background with its log and pid under .data/.
start_bg() {
  local name="$1"
  shift
  if is_running "$name"; then
    ok "$name already running (pid $(cat "$RUN/$name.pid"))"
    return 0
  fi
  nohup "$@" >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUN/$name.pid"
  ok "$name started (pid $!, log .data/logs/$name.log)"
}

# stop_bg NAME: stop the process recorded for NAME (SIGTERM, then SIGKILL after 15 s).
stop_bg() {
  local name="$1" pidfile="$RUN/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    ok "$name stopped"
  fi
  rm -f "$pidfile"
}
