#!/usr/bin/env bash
# The local Kafka-protocol broker: tansu (Apache-2.0), with SQLite storage under .data/kafka.
#   kafka.sh install   build tansu once per machine into ~/.cache/bank/tools (about 10 minutes cold)
#   kafka.sh start     start the broker on 127.0.0.1:$BANK_KAFKA_PORT (19092) and create the topics
#   kafka.sh stop
# Compose and Kubernetes use Apache Kafka (KRaft) with the same client settings.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TANSU_VERSION="0.6.0"
TOOLS="${BANK_TOOLS_DIR:-$HOME/.cache/bank/tools}"
TANSU="$TOOLS/bin/tansu"
KAFKA_DIR="$DATA/kafka"
BROKER="tcp://127.0.0.1:$KAFKA_PORT"

# topic:partitions. Fewer than compose and Kubernetes create (docs/events.md): tansu answers
# every fetch with SQL queries per partition, each planned afresh, so on a laptop the consumers'
# idle polling alone kept it busy (about 80% of a core with 6 ledger partitions). One broker
# and a handful of consumers need no more than this.
TOPICS=(bank.users:1 bank.accounts:1 bank.ledger:2 bank.loans:1 bank.payments:1 bank.dead-letter:1)

install() {
  if [ -x "$TANSU" ] && "$TANSU" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    ok "tansu $TANSU_VERSION present"
    return 0
  fi
  say "building the tansu broker $TANSU_VERSION (once per machine; about 10 minutes)"
  mkdir -p "$TOOLS"
  # The libsql feature provides the SQLite storage engine; without a storage feature the broker
  # has none. Its own target directory keeps it apart from the project's build.
  CARGO_TARGET_DIR="$TOOLS/build" cargo install tansu --version "$TANSU_VERSION" --locked \
    --features libsql --root "$TOOLS" --quiet
  rm -rf "$TOOLS/build"
  ok "tansu installed in $TOOLS/bin"
}

start() {
  install
  say "Kafka-protocol broker (tansu) on 127.0.0.1:$KAFKA_PORT"
  mkdir -p "$KAFKA_DIR"
  # tansu resolves a sqlite:// path against its working directory, so it runs in its own.
  start_bg kafka env -C "$KAFKA_DIR" "$TANSU" broker \
    --listener-url "$BROKER" \
    --advertised-listener-url "$BROKER" \
    --storage-engine "sqlite://tansu.db"
  local start=$SECONDS
  printf '    waiting for kafka '
  until (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; do
    is_running kafka || { printf ' it exited\n'; die "the broker did not start; see .data/logs/kafka.log"; }
    (( SECONDS - start < 60 )) || { printf ' timed out\n'; die "the broker did not start"; }
    printf '.'
    sleep 1
  done
  printf ' ready (%ss)\n' "$(( SECONDS - start ))"
  index_headers
  topics
}

# tansu 0.6's SQLite schema has no index on message headers, and it looks up each fetched
# message's headers by (partition, offset): without one, every fetched message costs a scan of
# every header ever stored, so the broker slows as its log grows (alert p99 from 74 ms to
# seconds within a minute at 100 transfers/s). The index is the broker's storage, not the
# bank's; CREATE INDEX IF NOT EXISTS makes this safe on every start.
index_headers() {
  python3 - "$KAFKA_DIR/tansu.db" <<'PY' || die "could not index the broker's header table"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
for _ in range(300):
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'header'").fetchone():
        db.execute("CREATE INDEX IF NOT EXISTS bank_header_by_offset ON header (topition, offset_id)")
        db.commit()
        break
    time.sleep(0.1)
else:
    sys.exit("tansu created no header table")
PY
}

# Creates missing topics. A broker that has just started (or restarted under load) may answer
# its port before its storage is ready: list and create are retried for up to 30 s.
topics() {
  local existing entry name partitions attempt
  for entry in "${TOPICS[@]}"; do
    name="${entry%%:*}"
    partitions="${entry##*:}"
    for attempt in $(seq 1 30); do
      if existing="$("$TANSU" topic list --broker "$BROKER" 2>/dev/null)"; then
        grep -qw -- "$name" <<<"$existing" && break
        if "$TANSU" topic create --broker "$BROKER" --partitions "$partitions" "$name" >>"$LOGS/kafka.log" 2>&1; then
          ok "topic $name ($partitions partitions)"
          break
        fi
      fi
      [ "$attempt" -lt 30 ] || die "could not create topic $name; see .data/logs/kafka.log"
      sleep 1
    done
  done
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_bg kafka ;;
  # A crash: SIGKILL, no shutdown at all (what the broker-restart test does mid-load).
  kill)
    if is_running kafka; then kill -KILL "$(cat "$RUN/kafka.pid")"; rm -f "$RUN/kafka.pid"; ok "kafka killed"; fi ;;
  topics) topics ;;
  *) die "usage: kafka.sh install|start|stop|kill|topics" ;;
esac
