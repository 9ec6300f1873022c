#!/usr/bin/env bash
# Every test suite, against one build:
#   1. unit tests and each subgraph's integration tests (real PostgreSQL, a fresh database each;
#      Apache Kafka); with BANK_DB=citus on a Citus cluster, plus the growth test
#   2. the schema check (committed SDLs and supergraph match the code)
#   3. `nginx -t` on the rendered configuration; the deployment checks (scripts/deploy-check.sh)
#   4. end-to-end tests through NGINX, the router and the subgraphs (the real stack), ending
#      with a clean reconciliation of the bank those suites used
#   5. the web app's unit tests (Vitest) and UI tests (headless Chromium through NGINX)
# A stack that was already running is reused and left running; one started here is stopped.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

started=$SECONDS
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/certs.sh"

say "building everything once (debug)"
cargo build --workspace --all-targets
ok "built"

stack_was_running=0
if is_running router && is_running nginx; then
  stack_was_running=1
fi
stop_stack() {
  if [ "$stack_was_running" -eq 0 ]; then
    "$ROOT/scripts/stack.sh" down
  else
    # Give the reused stack its own rate limits back.
    "$ROOT/scripts/nginx.sh" reload >/dev/null || true
  fi
}
trap stop_stack EXIT

"$ROOT/scripts/pg.sh" start
"$ROOT/scripts/kafka.sh" start
export TEST_DATABASE_URL="postgres://bank@127.0.0.1:$PG_PORT/postgres"
export TEST_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
# The broker's SASL_SSL listener (scripts/kafka.sh), for the tests of the clients' TLS and SASL.
export TEST_KAFKA_SASL_BROKERS="127.0.0.1:${BANK_KAFKA_SASL_PORT:-$((KAFKA_PORT + 2))}"
# The notifications tests send real e-mail to Python's aiosmtpd (installed by install-deps.sh).
export BANK_PYTHON="$VENV/bin/python"

# Databases left by earlier runs' tests (on Citus, on every node).
nodes=("$PG_PORT")
if [ "$BANK_DB" = citus ]; then
  # The spare worker is for the growth test, which adds it to its own database.
  "$ROOT/scripts/pg.sh" add-worker
  TEST_CITUS_WORKERS="$("$ROOT/scripts/pg.sh" workers)"
  export TEST_CITUS_WORKERS TEST_CITUS_SPARE="127.0.0.1:$((PG_PORT + 3))"
  nodes+=($((PG_PORT + 1)) $((PG_PORT + 2)) $((PG_PORT + 3)))
fi
for port in "${nodes[@]}"; do
  admin="postgres://postgres@127.0.0.1:$port/postgres"
  psql "$admin" -qAt -c "SELECT datname FROM pg_database WHERE datname LIKE 'test\_%'" \
    | while read -r db; do psql "$admin" -q -c "DROP DATABASE IF EXISTS \"$db\"" || true; done
done
# And their topics.
"$ROOT/scripts/kafka.sh" drop-test-topics

if [ "$BANK_DB" = citus ]; then
  say "Citus: a third worker joins and the schemas are rebalanced while transfers run"
  cargo nextest run --workspace --run-ignored only --no-capture \
    -E 'package(transactions) & test(citus_growth)'
fi

# Package selection stays `--workspace` in every cargo call (filters pick the tests), so
# features resolve the same way and nothing is rebuilt between suites.
say "unit and integration tests"
cargo nextest run --workspace --no-fail-fast -E 'not package(bank-e2e)'

say "schema check"
"$ROOT/scripts/schema.sh" check

say "nginx configuration"
"$ROOT/scripts/nginx.sh" test
"$ROOT/scripts/deploy-check.sh"

# Every test client is 127.0.0.1: allow more sign-ups per minute than a real client gets, and
# more failed sign-ins from one address (the suites try wrong passwords on purpose; the users
# tests check the per-address limit itself).
# (gateway::anonymous_bursts_are_rate_limited checks the limit itself from 127.0.0.2.)
export BANK_SIGN_IN_FAILURES_PER_ADDRESS="${BANK_SIGN_IN_FAILURES_PER_ADDRESS:-100000}"
BANK_ANON_RATE="${BANK_ANON_RATE:-600}" "$ROOT/scripts/stack.sh" up
if [ "$stack_was_running" -eq 1 ]; then
  BANK_ANON_RATE="${BANK_ANON_RATE:-600}" "$ROOT/scripts/nginx.sh" reload
fi

say "end-to-end tests through NGINX"
# shellcheck disable=SC1091
source "$DATA/secrets.env"
BANK_URL="$BANK_URL" BANK_CA="$CERTS/ca.pem" BANK_ADMIN_EMAIL="$BANK_ADMIN_EMAIL" \
  BANK_ADMIN_PASSWORD="$BANK_ADMIN_PASSWORD" BANK_ROUTER_URL="http://127.0.0.1:$ROUTER_PORT/graphql" \
  BANK_DEMO_EMAIL="$BANK_DEMO_EMAIL" BANK_DEMO_PASSWORD="$BANK_DEMO_PASSWORD" \
  BANK_DATABASE_URL="$DATABASE_URL" BANK_GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT" \
  cargo nextest run --workspace --no-fail-fast -E 'package(bank-e2e)'

say "OpenID Connect interop: openid-client signs in through NGINX with code + PKCE, also through an external provider"
(cd "$ROOT/e2e/oidc" && NODE_EXTRA_CA_CERTS="$CERTS/ca.pem" BANK_URL="$BANK_URL" \
  BANK_ADMIN_EMAIL="$BANK_ADMIN_EMAIL" BANK_ADMIN_PASSWORD="$BANK_ADMIN_PASSWORD" \
  BANK_DEMO_EMAIL="$BANK_DEMO_EMAIL" BANK_DEMO_PASSWORD="$BANK_DEMO_PASSWORD" npm test --silent)

say "broker restart under load (alone: it restarts the shared broker)"
BANK_URL="$BANK_URL" BANK_CA="$CERTS/ca.pem" BANK_DATABASE_URL="$DATABASE_URL" \
  cargo nextest run --workspace --run-ignored only -E 'package(bank-e2e) & test(broker_restart)'

say "each consumer group's service killed under load and restarted (one at a time)"
BANK_URL="$BANK_URL" BANK_CA="$CERTS/ca.pem" BANK_ADMIN_EMAIL="$BANK_ADMIN_EMAIL" \
  BANK_ADMIN_PASSWORD="$BANK_ADMIN_PASSWORD" BANK_DATABASE_URL="$DATABASE_URL" \
  cargo nextest run --workspace --run-ignored only --test-threads 1 --no-capture \
  -E 'package(bank-e2e) & test(consumer_restart)'

say "reconciliation after every end-to-end suite (payments and loans against the ledger)"
"$ROOT/scripts/stack.sh" reconcile

# The web app: Vitest unit tests, then UI tests in headless Chromium against the stack above.
say "web app: unit tests and UI tests in Chromium"
(cd "$ROOT/web/app" && npm test --silent && BANK_URL="$BANK_URL" BANK_ADMIN_EMAIL="$BANK_ADMIN_EMAIL" \
  BANK_ADMIN_PASSWORD="$BANK_ADMIN_PASSWORD" BANK_GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT" \
  npm run --silent test:e2e)

say "the services' log files are plain text, without a terminal's colour codes"
# Their latest lines: a reused stack's files may hold lines of older builds.
for log in "$LOGS"/{users,accounts,transactions,notifications,loans,payments}*.log; do
  if tail -n 200 "$log" | grep -q $'\x1b\\['; then
    echo "terminal colour codes in $log" >&2
    exit 1
  fi
done

say "every service's audit chain verifies after the suites"
"$ROOT/scripts/stack.sh" audit

say "all suites passed in $(( SECONDS - started ))s"
