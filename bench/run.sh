#!/usr/bin/env bash
# Transfers per second through the whole stack, next to pgbench's TPC-B on the same PostgreSQL;
# federated reads through Hive Router, next to Apollo Gateway over the same subgraphs.
#
#   bench/run.sh            (or: make bench)
#
# Builds release binaries, starts a separate release stack from an empty data directory (its
# own directory and ports, so a running development stack is left alone), and measures:
#   0. the broker's CPU at idle, and the relay's publish rate for a backlog of events;
#   1. federated reads (bench/reads.graphql: me, accounts, balances, ten transactions each) by
#      wrk (bench/reads.lua, a distinct x-request-id per request) through NGINX, straight to
#      the router, and to Apollo Gateway (bench/gateway, npm modules installed only then) over
#      the same subgraphs: reads/s, p50, p99, CPU ms per read per process, and the multiple;
#   2. live alerts: commit-to-alert latency at a WSS client through NGINX at a steady rate;
#   3. idle subscribers one notifications instance holds, and its memory;
#   4. bank-bench transfers at saturation, then how long the relay takes to publish the
#      events they left, then pgbench TPC-B with the same clients and duration, and the ratio.
# Then it stops the bench stack. Settings (environment):
#   BENCH_CLIENTS (32)   concurrent clients for both runs (and wrk's connections for reads)
#   BENCH_SECONDS (30)   duration of each run (and of each read target)
#   BENCH_READS_WARMUP (5) seconds of reads before each read target's measurement
#   BENCH_APOLLO_GATEWAY_PORT (4193) Apollo Gateway's port on 127.0.0.1
#   BENCH_SCALE (10)     pgbench scale factor
#   BENCH_WARMUP (40)    seconds of transfers before the measured run, not counted
#   BENCH_ALERT_RATE (100) transfers per second for the alert latency run
#   BENCH_SUBSCRIBERS (10000) idle subscriptions
#   BENCH_RELAY_BACKLOG (20000) events in the outbox for the relay measurement
#   BENCH_ONLY=alerts    only the live-alert measurement (=idle: the broker's idle CPU and the
#                        idle subscribers; =reads: the federated reads and Apollo Gateway;
#                        =relay: the relay's publish rate; =transfers: only
#                        the transfer run, its result as the last line; =ratio: the transfer
#                        run and pgbench)
#   BANK_DB=citus        the stack on a Citus cluster (scripts/pg.sh); the same transfer run
#                        on plain PostgreSQL goes first, on a stack of its own, so one run
#                        reports both, and the share of movements that were two-phase commits
#   BENCH_KEEP=1         leave the bench stack running afterwards
#   BANK_NO_BUILD=1      use the release binaries already built
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BANK_DATA_DIR="${BANK_DATA_DIR:-$ROOT/.data/bench}"
# Every run starts from nothing: no database, no broker log, no outbox left by an earlier run.
# Results are kept next to the data directory, not in it.
RESULTS="$(dirname "$BANK_DATA_DIR")/bench-results.md"
export BANK_PG_PORT="${BANK_PG_PORT:-55532}"
export BANK_KAFKA_PORT="${BANK_KAFKA_PORT:-19192}"
export BANK_ROUTER_PORT="${BANK_ROUTER_PORT:-4100}"
export BANK_USERS_PORT="${BANK_USERS_PORT:-4101}"
export BANK_ACCOUNTS_PORT="${BANK_ACCOUNTS_PORT:-4102}"
export BANK_TRANSACTIONS_PORT="${BANK_TRANSACTIONS_PORT:-4103}"
# One ledger replica, reached directly, as in every earlier run (the relay measurement stops it);
# BANK_LEDGER_REPLICAS=2 measures the local stack's two replicas behind NGINX (4113, 4110).
export BANK_LEDGER_REPLICAS="${BANK_LEDGER_REPLICAS:-1}"
# The bench's customers fund their accounts themselves (1,000,000 each), past the sandbox's
# daily limit on self-service deposits.
export BANK_SELF_DEPOSIT_DAILY_LIMIT="${BANK_SELF_DEPOSIT_DAILY_LIMIT:-100000000}"
export BANK_TRANSACTIONS_REPLICA_PORT="${BANK_TRANSACTIONS_REPLICA_PORT:-4113}"
export BANK_LEDGER_PORT="${BANK_LEDGER_PORT:-4110}"
export BANK_IDP_PORT="${BANK_IDP_PORT:-4192}"
export BANK_NOTIFICATIONS_PORT="${BANK_NOTIFICATIONS_PORT:-4104}"
export BANK_LOANS_PORT="${BANK_LOANS_PORT:-4105}"
export BANK_PAYMENTS_PORT="${BANK_PAYMENTS_PORT:-4106}"
export BANK_GATEWAY_PORT="${BANK_GATEWAY_PORT:-4191}"
export BANK_MAIL_PORT="${BANK_MAIL_PORT:-2625}"
export BANK_SMS_PORT="${BANK_SMS_PORT:-4190}"
export BANK_HTTPS_PORT="${BANK_HTTPS_PORT:-8543}"
# Apollo Gateway for the read comparison (bench/gateway), on loopback.
APOLLO_GATEWAY_PORT="${BENCH_APOLLO_GATEWAY_PORT:-4193}"
export PROFILE=release
# Where the database's time goes, per statement (pg_stat_statements, reported after transfers).
export BANK_PG_STATEMENTS=1
# The load comes from one address: lift the per-client limits for this stack only.
export BANK_GRAPHQL_RATE="${BANK_GRAPHQL_RATE:-100000}"
export BANK_ANON_RATE="${BANK_ANON_RATE:-100000}"
source "$ROOT/scripts/lib.sh"
# The bench's own queries run as the superuser: on Citus the workers let only the schemas' owners
# and superusers in.
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtA)

CLIENTS="${BENCH_CLIENTS:-32}"
SECONDS_PER_RUN="${BENCH_SECONDS:-30}"
SCALE="${BENCH_SCALE:-10}"
# Long enough for the broker's JIT to finish its hot paths: after 10 s its C2 compiler was still
# 30% of the broker's CPU in the measured run (docs/benchmarks.md, runs 37 and 38).
WARMUP="${BENCH_WARMUP:-40}"

stop_bench_stack() {
  # Apollo Gateway (the read comparison) is not part of the stack: stopped whatever happened.
  if declare -F stop_bg >/dev/null; then stop_bg apollo-gateway >/dev/null 2>&1 || true; fi
  if [ "${BENCH_KEEP:-0}" != 1 ]; then "$ROOT/scripts/stack.sh" down >/dev/null 2>&1 || true; fi
}
trap stop_bench_stack EXIT

# Thousands of sockets: the stack and the client need the descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"$ROOT/scripts/stack.sh" down >/dev/null 2>&1 || true

ONLY="${BENCH_ONLY:-}"

# On Citus: first the same transfer run on plain PostgreSQL (its own data directory; the same
# ports, one stack at a time), built once for both.
plain_result=""
if [ "$BANK_DB" = citus ] && [ -z "$ONLY" ]; then
  if [ "${BANK_NO_BUILD:-0}" != 1 ]; then
    say "building the release binaries"
    cargo build --release --workspace --bins
  fi
  say "plain PostgreSQL first: the same transfer run on a one-node stack"
  plain_out="$(mktemp)"
  BANK_DB=postgres BENCH_ONLY=transfers BANK_NO_BUILD=1 \
    BANK_DATA_DIR="$BANK_DATA_DIR-postgres" "$ROOT/bench/run.sh" | tee "$plain_out"
  plain_result="$(tail -n 1 "$plain_out")"
  plain_cpu="$(grep -o 'CPU ms per transfer.*' "$plain_out" | tail -n 1)"
  rm -f "$plain_out"
  export BANK_NO_BUILD=1
fi

rm -rf "$BANK_DATA_DIR"
mkdir -p "$RUN" "$LOGS"
"$ROOT/scripts/stack.sh" up
# shellcheck disable=SC1091
source "$DATA/secrets.env"
# The bench stack's own mail catcher: its customers confirm their addresses from there.
BENCH=(env BANK_URL="$BANK_URL" BANK_CA="$CERTS/ca.pem" BANK_MAIL_DIR="$DATA/mail" "$BIN/bank-bench")

# CPU seconds a process has used (user + system), from /proc.
cpu_secs() {
  awk -v tck="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / tck }' "/proc/$(cat "$RUN/$1.pid")/stat"
}

# CPU seconds of a process and its live descendants (a PostgreSQL postmaster and its backends,
# NGINX's master and workers), including children that exited and were reaped (cutime, cstime).
tree_cpu() {
  python3 - "$1" <<'PY'
import os, sys
tck = os.sysconf("SC_CLK_TCK")
stats = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    stats[int(pid)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
root, total, frontier = int(sys.argv[1]), 0, [int(sys.argv[1])]
while frontier:
    pid = frontier.pop()
    total += stats.get(pid, (0, 0))[1]
    frontier.extend(child for child, (ppid, _) in stats.items() if ppid == pid)
print(f"{total / tck:.2f}")
PY
}
# PostgreSQL's CPU seconds so far by who uses it, as "who seconds" lines: each backend of every
# server under $DATA by its connection's role (its process title, `postgres: ROLE DB ...`),
# the server's own processes (checkpointer, WAL writer, autovacuum, ...) as "background".
# Backends that ended are not counted, so the split is of the backends alive at the end.
pg_cpu_by_role() {
  local roots=() name pid
  while read -r name pid; do [[ $name == postgres:* ]] && roots+=("$pid"); done < <(cpu_processes)
  python3 - "${roots[@]}" <<'PY'
import os, sys
tck = os.sysconf("SC_CLK_TCK")
roots = {int(p) for p in sys.argv[1:]}
used = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        title = open(f"/proc/{pid}/cmdline").read().replace("\0", " ").split()
    except OSError:
        continue
    if int(fields[1]) not in roots or len(title) < 2 or title[0] != "postgres:":
        continue
    # A client backend's title is "postgres: ROLE DATABASE HOST(PORT) STATE".
    who = title[1] if len(title) >= 4 and "(" in title[3] else "background"
    used[who] = used.get(who, 0) + sum(int(f) for f in fields[11:13]) / tck
for who, seconds in used.items():
    print(who, seconds)
PY
}
# The processes whose CPU a transfer or a read costs: name and pid.
cpu_processes() {
  local name dir
  for name in nginx router users accounts transactions notifications loans payments kafka gateway; do
    [ -f "$RUN/$name.pid" ] && echo "$name $(cat "$RUN/$name.pid")"
  done
  for dir in "$DATA/pg" "$DATA/citus/coordinator" "$DATA/citus/worker1" "$DATA/citus/worker2"; do
    [ -f "$dir/postmaster.pid" ] && echo "postgres:$(basename "$dir") $(head -n 1 "$dir/postmaster.pid")"
  done
  return 0
}

# The broker's CPU while the whole stack is up and nothing happens: every consumer's idle
# fetches, the live feeds, heartbeats.
broker_idle="not measured"
if [ -z "$ONLY" ] || [ "$ONLY" = idle ]; then
  say "the broker's CPU at idle (20 s, stack up, no load)"
  sleep 5
  cpu_before="$(cpu_secs kafka)"
  sleep 20
  cpu_after="$(cpu_secs kafka)"
  broker_idle="$(python3 -c "print(f'{($cpu_after - $cpu_before) / 20 * 100:.1f}% of a core')")"
  ok "broker at idle: $broker_idle"
fi

# Federated reads: bench/reads.graphql (me, their accounts, each one's balance and last ten
# transactions: users, accounts and transactions) by wrk (bench/reads.lua) with a distinct
# x-request-id on every request, through NGINX, straight to the router, and to Apollo Gateway
# (bench/gateway) over the same subgraphs, one after the other with the same connections.
reads="not measured"
if [ -z "$ONLY" ] || [ "$ONLY" = reads ]; then
  READ_THREADS=2
  READ_WARMUP="${BENCH_READS_WARMUP:-5}"
  say "federated reads: NGINX, the router, Apollo Gateway; $CLIENTS connections, ${SECONDS_PER_RUN}s each"
  if ! command -v wrk >/dev/null 2>&1; then
    say "installing wrk"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends wrk >/dev/null
    ok "wrk installed"
  fi
  if [ ! -d "$ROOT/bench/gateway/node_modules" ] || \
     [ "$ROOT/bench/gateway/package-lock.json" -nt "$ROOT/bench/gateway/node_modules/.package-lock.json" ]; then
    say "installing Node modules in bench/gateway (Apollo Gateway)"
    (cd "$ROOT/bench/gateway" && npm ci --no-audit --no-fund --loglevel=error)
    ok "bench/gateway modules installed"
  fi
  READ_BODY="$(python3 -c 'import json, sys; print(json.dumps({"query": open(sys.argv[1]).read(), "operationName": "Read"}))' "$ROOT/bench/reads.graphql")"
  # The demo customer's access token (15 minutes): signed in again before each target.
  read_token() {
    python3 - "http://127.0.0.1:$ROUTER_PORT/graphql" "$BANK_DEMO_EMAIL" "$BANK_DEMO_PASSWORD" <<'PY'
import json, sys, urllib.request
url, email, password = sys.argv[1:4]
body = json.dumps({"query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                   "variables": {"i": {"email": email, "password": password}}}).encode()
req = urllib.request.Request(url, body, {"content-type": "application/json"})
answer = json.load(urllib.request.urlopen(req, timeout=10))
if answer.get("errors"):
    sys.exit(f"the demo customer's sign-in failed: {answer['errors']}")
print(answer["data"]["login"]["accessToken"])
PY
  }
  # One read with curl first: it must answer the customer's accounts and their transactions.
  read_preflight() {
    local url="$1" token="$2"
    curl -sS --cacert "$CERTS/ca.pem" --max-time 10 -H 'content-type: application/json' \
      -H "authorization: Bearer $token" -H "x-request-id: bench-reads-preflight-$RANDOM" \
      --data "$READ_BODY" "$url" | python3 -c '
import json, sys
text = sys.stdin.read()
try:
    answer = json.loads(text)
    accounts = answer["data"]["me"]["accounts"]
except (ValueError, KeyError, TypeError):
    sys.exit("not a read: " + text[:500])
if answer.get("errors"):
    sys.exit("errors: " + json.dumps(answer["errors"])[:500])
moves = sum(len(a["transactions"]["edges"]) for a in accounts)
if not accounts or not moves:
    sys.exit("no accounts or no transactions: " + text[:500])
print(f"{len(accounts)} accounts, {moves} transactions in one read")'
  }
  # wrk against one target: requests/s, p50, p99 and CPU ms per read for every process.
  declare -A read_rps read_p50 read_p99
  read_lines=()
  measure_reads() {
    local target="$1" url="$2" token preflight out cpu_file name pid used result line wrk_env
    local read_cpu=()
    token="$(read_token)"
    preflight="$(read_preflight "$url" "$token")" || die "$target: the preflight read failed: $preflight"
    ok "$target: $preflight"
    wrk_env=(env BENCH_TOKEN="$token" BENCH_BODY="$READ_BODY")
    "${wrk_env[@]}" BENCH_TARGET="$target-warmup" wrk -t"$READ_THREADS" -c"$CLIENTS" -d"${READ_WARMUP}s" \
      --timeout 10s -s "$ROOT/bench/reads.lua" "$url" >/dev/null
    declare -A cpu_at_start=()
    while read -r name pid; do cpu_at_start[$name]="$(tree_cpu "$pid")"; done < <(read_processes)
    out="$(mktemp)" cpu_file="$(mktemp)"
    # wrk's own CPU: its rusage once it exits.
    python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[2:], check=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.2f" % (usage.ru_utime + usage.ru_stime))' "$cpu_file" \
      "${wrk_env[@]}" BENCH_TARGET="$target" wrk -t"$READ_THREADS" -c"$CLIENTS" -d"${SECONDS_PER_RUN}s" \
      --timeout 10s -s "$ROOT/bench/reads.lua" "$url" >"$out" || { cat "$out"; die "$target: wrk failed"; }
    while read -r name pid; do
      used="$(python3 -c "print(f'{$(tree_cpu "$pid") - ${cpu_at_start[$name]:-0}:.2f}')")"
      read_cpu+=("$name=$used")
    done < <(read_processes)
    read_cpu+=("wrk=$(cat "$cpu_file")")
    result="$(sed -n 's/^reads-result //p' "$out")"
    if [ -z "$result" ]; then cat "$out"; die "$target: wrk printed no result"; fi
    # Any response that is not the customer's data fails the run: no figure for it.
    if ! python3 -c 'import json, sys; r = json.loads(sys.argv[1]); sys.exit(1 if r["bad"] or r["socket_errors"] or not r["requests"] else 0)' "$result"; then
      cat "$out"
      die "$target: responses were not all the customer's data: $result"
    fi
    rm -f "$out" "$cpu_file"
    read -r "read_rps[$target]" "read_p50[$target]" "read_p99[$target]" line < <(python3 - "$result" "${read_cpu[@]}" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
n = max(r["requests"], 1)
parts = [p.split("=") for p in sys.argv[2:]]
total = sum(float(v) for _, v in parts)
cpu = ", ".join(f"{name} {float(v) * 1000 / n:.3f}" for name, v in parts if float(v) > 0)
print(f'{r["rps"]:.0f} {r["p50_ms"]:.2f} {r["p99_ms"]:.2f} '
      f'{r["rps"]:.0f} reads/s, p50 {r["p50_ms"]:.2f} ms, p99 {r["p99_ms"]:.2f} ms '
      f'({r["requests"]} reads, all checked); CPU ms per read: {cpu}; total {total * 1000 / n:.3f}')
PY
)
    read_lines+=("$(printf '%-15s %s' "$target" "$line")")
    echo "    ${read_lines[-1]}"
  }
  # The stack's processes and, while it runs, Apollo Gateway's.
  read_processes() {
    cpu_processes
    if is_running apollo-gateway; then echo "apollo-gateway $(cat "$RUN/apollo-gateway.pid")"; fi
  }
  measure_reads nginx "$BANK_URL/graphql"
  measure_reads router "http://127.0.0.1:$ROUTER_PORT/graphql"
  # Apollo Gateway with the router's subgraph URLs; it runs only for its own measurement.
  mapfile -t urls < <(subgraph_urls)
  start_bg apollo-gateway env NODE_ENV=production APOLLO_GATEWAY_PORT="$APOLLO_GATEWAY_PORT" \
    SUPERGRAPH_FILE_PATH="$ROOT/schema/supergraph.graphql" "${urls[@]}" \
    node "$ROOT/bench/gateway/server.mjs"
  PIDNAME=apollo-gateway wait_for "Apollo Gateway" "http://127.0.0.1:$APOLLO_GATEWAY_PORT/graphql" 60 \
    -H 'content-type: application/json' --data '{"query":"{ __typename }"}' \
    || die "Apollo Gateway did not start; see $LOGS/apollo-gateway.log"
  measure_reads apollo-gateway "http://127.0.0.1:$APOLLO_GATEWAY_PORT/graphql"
  stop_bg apollo-gateway
  reads_vs="$(python3 -c "
rps = {'nginx': ${read_rps[nginx]}, 'router': ${read_rps[router]}, 'apollo': ${read_rps[apollo-gateway]}}
x = lambda k: rps[k] / max(rps['apollo'], 1)
aim = 'met' if min(x('router'), x('nginx')) >= 10 else 'not met'
print(f\"the router {x('router'):.1f} x Apollo Gateway's reads/s, through NGINX {x('nginx'):.1f} x (aim 10 x: {aim})\")")"
  reads="$(printf '%s\n' "${read_lines[@]}" | sed 's/^/                    /')
                    $reads_vs"
  echo "    $reads_vs"
  echo "| $(date -u +%Y-%m-%d) | reads | $CLIENTS connections | ${SECONDS_PER_RUN}s | NGINX ${read_rps[nginx]}/s (p50 ${read_p50[nginx]} ms, p99 ${read_p99[nginx]} ms) | router ${read_rps[router]}/s (p50 ${read_p50[router]} ms, p99 ${read_p99[router]} ms) | Apollo Gateway ${read_rps[apollo-gateway]}/s (p50 ${read_p50[apollo-gateway]} ms, p99 ${read_p99[apollo-gateway]} ms) | $reads_vs |" >>"$RESULTS"
fi
if [ "$ONLY" = reads ]; then exit 0; fi

# The relay's publish rate: the transactions service is stopped, its outbox gets a backlog of
# BENCH_RELAY_BACKLOG (20,000) events (copies of the events the stack has made, with new ids),
# and the restarted service's relay publishes them.
relay="not measured"
if [ -z "$ONLY" ] || [ "$ONLY" = relay ]; then
  BACKLOG="${BENCH_RELAY_BACKLOG:-20000}"
  say "relay: a backlog of $BACKLOG events published by a restarted transactions service"
  # Some events to copy: a few transfers through the stack.
  "${BENCH[@]}" --clients 2 --seconds 2 >/dev/null
  "$ROOT/scripts/stack.sh" kill transactions >/dev/null
  "${PSQL[@]}" -d bank -c "INSERT INTO transactions.outbox (event_id, topic, event_key, event_type, payload)
    SELECT gen_random_uuid(), o.topic, o.event_key, o.event_type, o.payload
    FROM generate_series(1, $BACKLOG) n
    JOIN (SELECT topic, event_key, event_type, payload, row_number() OVER (ORDER BY id) - 1 AS k
            FROM (SELECT * FROM transactions.outbox ORDER BY id LIMIT 20) first) o ON o.k = n % 20"
  relay_started="$(date +%s.%N)"
  "$ROOT/scripts/stack.sh" start transactions >/dev/null
  until [ "$("${PSQL[@]}" -d bank -c "SELECT count(*) FROM transactions.outbox WHERE published_at IS NULL")" -eq 0 ]; do
    sleep 0.2
  done
  relay="$(python3 -c "
import time
took = time.time() - $relay_started
print(f'{$BACKLOG} events in {took:.1f} s from the service start: {$BACKLOG / took:.0f} events/s')")"
  ok "relay: $relay"
  # Let the consumers take the backlog before the next measurement.
  sleep 20
fi
if [ "$ONLY" = relay ]; then exit 0; fi

alerts="not measured"
if [ -z "$ONLY" ] || [ "$ONLY" = alerts ]; then
  ALERT_RATE="${BENCH_ALERT_RATE:-100}"
  say "live alerts: $ALERT_RATE transfers/s for ${SECONDS_PER_RUN}s, latency commit -> WSS client"
  # Steady state first, on a quiet stack with an empty outbox.
  alerts="$("${BENCH[@]}" alerts \
    --rate "$ALERT_RATE" --seconds "$SECONDS_PER_RUN")"
  echo "    $alerts"
  # Where alerts could be dropped on the way: the router's subscription counters.
  curl -fsS "http://127.0.0.1:$ROUTER_PORT/metrics" 2>/dev/null \
    | grep -E '^hive_router_subscriptions_(clients_(lagged|sent)_messages|subgraphs_dropped_messages)' \
    | sed 's/^/    router: /' || warn "router metrics unavailable"
  # Where the time goes before the subscription's WebSocket: commit -> producer -> live feed.
  notifications_metrics="$(curl -fsS "http://127.0.0.1:$NOTIFICATIONS_PORT/metrics" || true)"
  echo "$notifications_metrics" | "$ROOT/bench/quantiles.py" live_alert_delay_seconds stage \
    | sed 's/^/    notifications: /'
  echo "$notifications_metrics" | grep -E '^live_(alerts_total|items_skipped_total)' \
    | sed 's/^/    notifications: /' || true
fi
if [ "$ONLY" = alerts ]; then exit 0; fi

SUBSCRIBERS="${BENCH_SUBSCRIBERS:-10000}"
before=0 peak=0
echo '"not measured"' >"$DATA/idle.json"
if [ "$ONLY" != transfers ] && [ "$ONLY" != ratio ]; then
say "$SUBSCRIBERS idle subscribers on one notifications instance"
pid="$(cat "$RUN/notifications.pid")"
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
before="$(rss_kb)"
"${BENCH[@]}" idle --subscribers "$SUBSCRIBERS" \
  --seconds 20 --ws "ws://127.0.0.1:$NOTIFICATIONS_PORT/graphql" >"$DATA/idle.json" &
idle_pid=$!
peak=0
for _ in $(seq 1 300); do
  kill -0 "$idle_pid" 2>/dev/null || break
  now="$(rss_kb)"; [ "$now" -gt "$peak" ] && peak="$now"
  sleep 0.5
done
wait "$idle_pid"
cat "$DATA/idle.json" | sed 's/^/    /'
echo "    notifications RSS: $((before / 1024)) MiB idle, $((peak / 1024)) MiB peak with $SUBSCRIBERS subscribers"
fi

if [ "$ONLY" = idle ]; then exit 0; fi

# On Citus, a movement that spans nodes is a two-phase commit, and the coordinator records each
# in pg_dist_transaction: its insert count against the movements made is their share.
movements() { "${PSQL[@]}" -d bank -c "SELECT count(*) FROM transactions.transactions"; }
two_phase() {
  if [ "$BANK_DB" = citus ]; then
    "${PSQL[@]}" -d bank -c "SELECT pg_stat_force_next_flush()" >/dev/null
    "${PSQL[@]}" -d bank -c "SELECT n_tup_ins FROM pg_stat_sys_tables WHERE relname = 'pg_dist_transaction'"
  else
    echo 0
  fi
}
# Summed over the nodes (on Citus the workers commit the movements).
on_nodes() {
  local ports=("$PG_PORT") port sum=0
  [ "$BANK_DB" = citus ] && ports+=($((PG_PORT + 1)) $((PG_PORT + 2)))
  for port in "${ports[@]}"; do
    sum=$(( sum + $(psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtA -c "$1") ))
  done
  echo "$sum"
}
# The ledger's batches (src/batch.rs): commits and the movements they held, from its metrics.
ledger_metric() {
  local port sum=0 value
  for port in "$TRANSACTIONS_PORT" "$TRANSACTIONS_REPLICA_PORT"; do
    value="$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null \
      | awk -v name="$1" '$1 == name || index($1, name "{") == 1 { print $2; exit }')"
    sum="$(python3 -c "print(${sum} + ${value:-0})")"
  done
  echo "$sum"
}
# Saturation: the bank, then pgbench on the same PostgreSQL with the same clients.
say "bank transfers through NGINX and the router: $CLIENTS clients, ${SECONDS_PER_RUN}s after ${WARMUP}s of warm-up ($BANK_DB)"
# bank-bench sets its customers up and warms the stack up, says it is ready, and measures once
# told to: what every process used in between (the set-up's sign-ups, the warm-up) is not counted.
start="$DATA/bench-start"
rm -f "$start" "$start.ready"
"${BENCH[@]}" --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" \
  --start-file "$start" >"$DATA/bench-transfers.json" &
bench_pid=$!
until [ -e "$start.ready" ]; do
  if ! kill -0 "$bench_pid" 2>/dev/null; then wait "$bench_pid"; die "bank-bench stopped before measuring"; fi
  sleep 0.05
done
movements_before="$(movements)" two_phase_before="$(two_phase)"
declare -A cpu_before
while read -r name pid; do cpu_before[$name]="$(tree_cpu "$pid")"; done < <(cpu_processes)
batch_commits_before="$(ledger_metric ledger_batch_commits_total)"
batch_movements_before="$(ledger_metric ledger_batch_movements_sum)"
pg_roles_before="$(pg_cpu_by_role)"
wal_before="$(on_nodes "SELECT wal_sync FROM pg_stat_wal")"
commits_before="$(on_nodes "SELECT sum(xact_commit) FROM pg_stat_database")"
"${PSQL[@]}" -d bank -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
  -c "SELECT pg_stat_statements_reset()" >/dev/null
touch "$start"
wait "$bench_pid"
result="$(cat "$DATA/bench-transfers.json")"
cpu_report=""
transfers_done="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["transfers"])' "$result")"
while read -r name pid; do
  used="$(python3 -c "print(f'{$(tree_cpu "$pid") - ${cpu_before[$name]:-0}:.2f}')")"
  cpu_report+="$name=$used "
done < <(cpu_processes)
# The load generator's own CPU while measuring, as it reports it.
cpu_report+="bank-bench=$(python3 -c 'import json, sys; print("%.2f" % json.loads(sys.argv[1])["cpu_seconds"])' "$result")"
wal_syncs=$(( $(on_nodes "SELECT wal_sync FROM pg_stat_wal") - wal_before ))
commits=$(( $(on_nodes "SELECT sum(xact_commit) FROM pg_stat_database") - commits_before ))
# CPU milliseconds per transfer, per process; WAL flushes and commits per transfer.
per_transfer="$(python3 - "$transfers_done" "$wal_syncs" "$commits" $cpu_report <<'PY'
import sys
transfers, wal, commits = (int(x) for x in sys.argv[1:4])
parts = [p.split("=") for p in sys.argv[4:]]
total = sum(float(v) for _, v in parts)
n = max(transfers, 1)
line = ", ".join(f"{name} {float(v) * 1000 / n:.2f}" for name, v in parts)
print(f"CPU ms per transfer: {line}; total {total * 1000 / n:.2f}. "
      f"PostgreSQL: {commits / n:.2f} commits and {wal / n:.2f} WAL flushes per transfer")
PY
)"
echo "    $per_transfer"
# PostgreSQL's share of a transfer by the service whose connections used it.
pg_by_role="$(python3 - "$transfers_done" "$pg_roles_before" "$(pg_cpu_by_role)" <<'PY'
import sys
transfers = max(int(sys.argv[1]), 1)
read = lambda text: {w: float(s) for w, s in (line.split() for line in text.splitlines() if line)}
before, after = read(sys.argv[2]), read(sys.argv[3])
used = {who: seconds - before.get(who, 0.0) for who, seconds in after.items()}
parts = sorted(((who.removeprefix("bank_"), s * 1000 / transfers) for who, s in used.items()), key=lambda p: -p[1])
print(", ".join(f"{who} {ms:.3f}" for who, ms in parts if ms >= 0.0005))
PY
)"
echo "    PostgreSQL CPU ms per transfer by connection role: $pg_by_role"
batches="$(python3 -c "
commits = $(ledger_metric ledger_batch_commits_total) - $batch_commits_before
moved = $(ledger_metric ledger_batch_movements_sum) - $batch_movements_before
print(f'{moved:.0f} movements in {commits:.0f} ledger commits: {moved / commits:.1f} per commit' if commits else 'batching off')")"
echo "    batches: $batches"
# The statements that took the most of the database's time during the transfers (on Citus: the
# coordinator's), per transfer.
echo "    statements by execution time (calls and ms per transfer, ms per call, rows per call):"
"${PSQL[@]}" -d bank -F $'\t' -c "
  SELECT round(calls::numeric / $transfers_done, 2), round((total_exec_time / $transfers_done)::numeric, 3),
         round((total_exec_time / calls)::numeric, 3), round(rows::numeric / calls, 1),
         left(regexp_replace(query, '\s+', ' ', 'g'), 110)
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bank')
  ORDER BY total_exec_time DESC LIMIT 12" \
  | awk -F'\t' '{ printf "      %6s calls %7s ms | %7s ms %6s rows | %s\n", $1, $2, $3, $4, $5 }'
sleep 1
movements_made=$(( $(movements) - movements_before ))
two_phase_made=$(( $(two_phase) - two_phase_before ))
read -r bank_tps p50 p99 errors < <(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print("%.0f %.2f %.2f %d" % (r["tps"], r["p50_ms"], r["p99_ms"], r["errors"]))' "$result")

# The transfer run leaves events in the ledger's outbox: how long the relay takes to publish
# them is its throughput against the broker.
say "waiting for the ledger's outbox to drain"
drain_started=$SECONDS
backlog_start="$("${PSQL[@]}" -d bank -c "SELECT count(*) FROM transactions.outbox WHERE published_at IS NULL")"
for _ in $(seq 1 600); do
  backlog="$("${PSQL[@]}" -d bank -c "SELECT count(*) FROM transactions.outbox WHERE published_at IS NULL")"
  [ "$backlog" -eq 0 ] && break
  printf '\r    %s events left   ' "$backlog"
  sleep 1
done
drain_secs=$(( SECONDS - drain_started ))
echo
if [ "$backlog" -eq 0 ]; then
  ok "$backlog_start events published in ${drain_secs}s after the run"
else
  warn "$backlog of $backlog_start events still unpublished after ${drain_secs}s"
fi

if [ "$ONLY" = transfers ]; then
  echo "$result"
  exit 0
fi
if [ "$ONLY" = ratio ]; then
  relay="not measured" broker_idle="not measured" alerts="not measured"
fi

say "pgbench TPC-B: scale $SCALE, $CLIENTS clients, ${SECONDS_PER_RUN}s (same PostgreSQL)"
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS pgbench" -c "CREATE DATABASE pgbench"
"$PG_BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -i -s "$SCALE" -q pgbench 2>&1 | tail -n 1
pgbench_out="$("$PG_BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "$CLIENTS" -j 2 \
  -T "$SECONDS_PER_RUN" -M prepared -n pgbench 2>&1)"
echo "$pgbench_out" | grep -E "^(latency|tps)" | sed 's/^/    /'
pgbench_tps="$(echo "$pgbench_out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -n1)"
pgbench_latency="$(echo "$pgbench_out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')"

ratio="$(python3 -c "print(f'{$bank_tps / $pgbench_tps:.2f}')")"
sync_commit="$("${PSQL[@]}" -d postgres -c "SHOW synchronous_commit")"
cores="$(nproc)"
report="| $(date -u +%Y-%m-%d) | $cores | $CLIENTS | ${SECONDS_PER_RUN}s | synchronous_commit=$sync_commit | ${pgbench_tps%.*} tps (avg ${pgbench_latency} ms) | $bank_tps tps (p50 $p50 ms, p99 $p99 ms, $errors errors) | $ratio |"
citus_line=""
if [ "$BANK_DB" = citus ]; then
  # The plain PostgreSQL run is part of the whole bench only.
  plain_tps="not measured" plain_cpu="${plain_cpu:-not measured}"
  if [ -n "${plain_result:-}" ]; then
    plain_tps="$(python3 -c 'import json, sys; print("%.0f" % json.loads(sys.argv[1])["tps"])' "$plain_result")"
  fi
  citus_line="
  on Citus          $bank_tps transfers/s on the cluster, $plain_tps on plain PostgreSQL (same run);
                    $two_phase_made two-phase commits for $movements_made movements
                    (pgbench ran on the coordinator, its tables local there)
  plain PostgreSQL  $plain_cpu"
  report="$report (Citus: coordinator + 2 workers; plain PostgreSQL $plain_tps${plain_result:+ tps}; $two_phase_made of $movements_made movements two-phase)"
fi
cat <<MSG

  pgbench TPC-B     ${pgbench_tps%.*} transactions/s
  bank transfers    $bank_tps transfers/s (p50 $p50 ms, p99 $p99 ms, $errors errors)
  ratio             $ratio of pgbench
  where it went     $per_transfer
  PostgreSQL by role $pg_by_role
  ledger batches    $batches
  relay catch-up    $backlog_start events left by the run, $backlog still unpublished after ${drain_secs}s
  relay backlog     $relay
  broker at idle    $broker_idle
  federated reads   $reads
  live alerts       $alerts
  idle subscribers  $(cat "$DATA/idle.json"), RSS $((before / 1024)) MiB before, $((peak / 1024)) MiB peak$citus_line

  Row for docs/benchmarks.md:
  $report
MSG
echo "$report" >>"$RESULTS"

