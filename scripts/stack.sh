#!/usr/bin/env bash
# The whole bank on this machine, without Docker.
#   stack.sh up      install what is missing, build, start PostgreSQL, Kafka, subgraphs, router and
#                    NGINX, seed a demo customer, print URLs and credentials (idempotent)
#   stack.sh down    stop everything it started
#   stack.sh status  what is running
#   stack.sh kill SUBGRAPH / start SUBGRAPH   crash one subgraph (SIGKILL) / start it again
#   stack.sh reconcile / audit   the bank's reconciliation / every service's audit chain verified
#   stack.sh seed    another demo customer with three months of history (the demo one gets hers at up)
# PROFILE=release builds and runs release binaries (used for benchmarks).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECRETS="$DATA/secrets.env"

ensure_secrets() {
  if [ ! -f "$SECRETS" ]; then
    # A subshell, so the strict umask applies to this file only.
    (
      umask 077
      {
        echo "BANK_ADMIN_EMAIL=admin@bank.local"
        echo "BANK_ADMIN_PASSWORD=admin-$(openssl rand -hex 8)1"
        echo "BANK_DEMO_EMAIL=demo@bank.local"
        echo "BANK_DEMO_PASSWORD=demo-$(openssl rand -hex 6)1"
      } >"$SECRETS"
    )
    ok "generated development credentials in .data/secrets.env"
  fi
  # Service-to-service secrets (added to files made before they existed): each service that
  # calls the ledger has its own token, which reaches only what that service needs.
  local caller
  for caller in ACCOUNTS LOANS PAYMENTS; do
    if ! grep -q "^BANK_${caller}_SERVICE_TOKEN=" "$SECRETS"; then
      (umask 077; echo "BANK_${caller}_SERVICE_TOKEN=$(openssl rand -hex 24)" >>"$SECRETS")
    fi
  done
  # The key that encrypts the signing keys' private halves in the database.
  if ! grep -q '^BANK_KEY_ENCRYPTION_KEY=' "$SECRETS"; then
    (umask 077; echo "BANK_KEY_ENCRYPTION_KEY=$(openssl rand -base64 32)" >>"$SECRETS")
  fi
  if ! grep -q '^BANK_GATEWAY_SECRET=' "$SECRETS"; then
    (umask 077; echo "BANK_GATEWAY_SECRET=$(openssl rand -hex 24)" >>"$SECRETS")
  fi
  # The bank's client secret at the demo external identity provider.
  if ! grep -q '^BANK_IDP_CLIENT_SECRET=' "$SECRETS"; then
    (umask 077; echo "BANK_IDP_CLIENT_SECRET=$(openssl rand -hex 24)" >>"$SECRETS")
  fi
  # shellcheck disable=SC1090
  source "$SECRETS"
  export BANK_ADMIN_EMAIL BANK_ADMIN_PASSWORD BANK_DEMO_EMAIL BANK_DEMO_PASSWORD
  export BANK_ACCOUNTS_SERVICE_TOKEN BANK_LOANS_SERVICE_TOKEN BANK_PAYMENTS_SERVICE_TOKEN
  export BANK_GATEWAY_SECRET BANK_KEY_ENCRYPTION_KEY BANK_IDP_CLIENT_SECRET
}

build() {
  local flag=()
  [ "$PROFILE" = release ] && flag=(--release)
  if [ "${BANK_NO_BUILD:-0}" = 1 ]; then
    ok "using the binaries already in target/$PROFILE (BANK_NO_BUILD=1)"
  else
    say "building the services and the router ($PROFILE)"
    cargo build "${flag[@]}" --workspace --bins
    ok "binaries in target/$PROFILE"
  fi
  if [ ! -f "$ROOT/web/graphiql/dist/index.html" ] || \
     [ -n "$(find "$ROOT/web/graphiql/src" "$ROOT/web/graphiql/package-lock.json" -newer "$ROOT/web/graphiql/dist/index.html" 2>/dev/null | head -n1)" ]; then
    say "building the GraphiQL page"
    (cd "$ROOT/web/graphiql" && npm run --silent build >/dev/null)
    ok "web/graphiql/dist"
  fi
  if [ ! -f "$ROOT/web/app/dist/index.html" ] || \
     [ -n "$(find "$ROOT/web/app/src" "$ROOT/web/app/index.html" "$ROOT/web/app/package-lock.json" "$ROOT/schema/supergraph.graphql" -newer "$ROOT/web/app/dist/index.html" 2>/dev/null | head -n1)" ]; then
    say "building the web app"
    [ -d "$ROOT/web/app/node_modules" ] || (cd "$ROOT/web/app" && npm ci --no-audit --no-fund --loglevel=error)
    (cd "$ROOT/web/app" && npm run --silent build >/dev/null)
    ok "web/app/dist"
  fi
}

service_env() {
  local name="$1" port="$2" prefix
  prefix="$(echo "$name" | tr '[:lower:]' '[:upper:]')"
  echo "${prefix}_LISTEN_ADDR=127.0.0.1:$port"
  echo "${prefix}_DATABASE_URL=$(service_database_url "$name")"
  echo "${prefix}_JWKS_URL=http://127.0.0.1:$USERS_PORT/.well-known/jwks.json"
  echo "${prefix}_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
}

# start_service NAME PORT: a subgraph; NAME-2 is a second replica of NAME (the ledger's).
start_service() {
  local name="$1" port="$2" service="${1%-2}"
  local -a env
  mapfile -t env < <(service_env "$service" "$port")
  if [ "$service" = users ]; then
    env+=("USERS_ADMIN_EMAIL=$BANK_ADMIN_EMAIL" "USERS_ADMIN_PASSWORD=$BANK_ADMIN_PASSWORD"
      "USERS_KEY_ENCRYPTION_KEY=$BANK_KEY_ENCRYPTION_KEY"
      "USERS_SIGN_IN_FAILURES_PER_ADDRESS=${BANK_SIGN_IN_FAILURES_PER_ADDRESS:-20}"
      "USERS_APP_URL=$BANK_URL"
      "USERS_EXTERNAL_ISSUER=http://127.0.0.1:$IDP_PORT" "USERS_EXTERNAL_NAME=Demo ID"
      "USERS_EXTERNAL_CLIENT_ID=bank" "USERS_EXTERNAL_CLIENT_SECRET=$BANK_IDP_CLIENT_SECRET")
  fi
  if [ "$service" = accounts ]; then
    env+=("ACCOUNTS_LEDGER_URL=http://127.0.0.1:$LEDGER_PORT" "ACCOUNTS_LEDGER_SERVICE_TOKEN=$BANK_ACCOUNTS_SERVICE_TOKEN")
  fi
  if [ "$service" = loans ]; then
    env+=("LOANS_LEDGER_URL=http://127.0.0.1:$LEDGER_PORT"
      "LOANS_LEDGER_SERVICE_TOKEN=$BANK_LOANS_SERVICE_TOKEN")
  fi
  if [ "$service" = transactions ]; then
    # A sandbox: customers may pay cash into their own accounts, and the administrator may book
    # in the past, which is how the demo gets its history (both off in production).
    env+=("TRANSACTIONS_SERVICE_TOKENS=accounts=$BANK_ACCOUNTS_SERVICE_TOKEN,loans=$BANK_LOANS_SERVICE_TOKEN,payments=$BANK_PAYMENTS_SERVICE_TOKEN"
      "TRANSACTIONS_SELF_DEPOSITS=true"
      "TRANSACTIONS_SELF_DEPOSIT_DAILY_LIMIT=${BANK_SELF_DEPOSIT_DAILY_LIMIT:-10000}"
      "TRANSACTIONS_BACKDATING=true")
  fi
  if [ "$service" = payments ]; then
    env+=("PAYMENTS_LEDGER_URL=http://127.0.0.1:$LEDGER_PORT"
      "PAYMENTS_LEDGER_SERVICE_TOKEN=$BANK_PAYMENTS_SERVICE_TOKEN"
      "PAYMENTS_GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT"
      "PAYMENTS_CALLBACK_URL=http://127.0.0.1:$PAYMENTS_PORT/webhooks/gateway"
      "PAYMENTS_GATEWAY_WEBHOOK_SECRET=$BANK_GATEWAY_SECRET")
  fi
  if [ "$service" = notifications ]; then
    env+=("NOTIFICATIONS_SMTP_URL=smtp://127.0.0.1:$MAIL_PORT" "NOTIFICATIONS_SMS_URL=http://127.0.0.1:$SMS_PORT/sms")
  fi
  start_bg "$name" env "${env[@]}" "$BIN/$service" serve
  PIDNAME="$name" wait_for "$name" "http://127.0.0.1:$port/readyz" 60 || die "$name did not become ready; see .data/logs/$name.log"
}

start_router() {
  say "router on 127.0.0.1:$ROUTER_PORT"
  local urls
  mapfile -t urls < <(subgraph_urls)
  start_bg router env ROUTER_CONFIG_FILE_PATH="$ROOT/router/router.config.yaml" PORT="$ROUTER_PORT" \
    ROUTER_JWKS_URL="http://127.0.0.1:$USERS_PORT/.well-known/jwks.json" "${urls[@]}" \
    "$BIN/bank-router"
  PIDNAME=router wait_for router "http://127.0.0.1:$ROUTER_PORT/readiness" 60 || die "the router did not become ready; see .data/logs/router.log"
}

# The demo customer's accounts and three months of history through the API, once
# (scripts/seed_demo.py); `seed --more` adds another customer with a history of their own.
seed() {
  python3 "$ROOT/scripts/seed_demo.py" --url "$BANK_URL/graphql" --ca "$CERTS/ca.pem" \
    --email "$BANK_DEMO_EMAIL" --password "$BANK_DEMO_PASSWORD" \
    --admin-email "$BANK_ADMIN_EMAIL" --admin-password "$BANK_ADMIN_PASSWORD" \
    --mail-dir "$DATA/mail" "$@"
}

up() {
  local started=$SECONDS
  "$ROOT/scripts/install-deps.sh"
  "$ROOT/scripts/certs.sh"
  ensure_secrets
  build
  "$ROOT/scripts/pg.sh" start
  "$ROOT/scripts/kafka.sh" start
  say "migrations"
  for service in users accounts transactions notifications loans payments; do
    env "$(echo "$service" | tr '[:lower:]' '[:upper:]')_DATABASE_URL=$(service_database_url "$service")" "$BIN/$service" migrate >>"$LOGS/$service.log" 2>&1 \
      || die "$service migrations failed; see .data/logs/$service.log"
    ok "$service"
  done
  say "mail catcher and SMS sink (what the bank sends, kept under .data/)"
  # A Maildir: the catcher creates its folders only when the directory is new.
  mkdir -p "$DATA/mail/tmp" "$DATA/mail/new" "$DATA/mail/cur"
  start_bg mail "$VENV/bin/python" -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" -c aiosmtpd.handlers.Mailbox "$DATA/mail"
  start_bg sms python3 "$ROOT/scripts/sms_sink.py" --port "$SMS_PORT" --out "$DATA/sms.log"
  start_bg gateway python3 "$ROOT/scripts/payment_gateway.py" --port "$GATEWAY_PORT" \
    --secret "$BANK_GATEWAY_SECRET" --log "$DATA/gateway.log" \
    --bank-url "http://127.0.0.1:$PAYMENTS_PORT/webhooks/gateway"
  start_bg idp env IDP_PORT="$IDP_PORT" IDP_CLIENT_ID=bank IDP_CLIENT_SECRET="$BANK_IDP_CLIENT_SECRET" \
    IDP_REDIRECT_URIS="$BANK_URL/auth/external/callback" node "$ROOT/e2e/oidc/idp.mjs"
  # NGINX first: it also balances the ledger's replicas for the router and the services.
  "$ROOT/scripts/nginx.sh" start
  say "subgraphs"
  start_service users "$USERS_PORT"
  start_service accounts "$ACCOUNTS_PORT"
  start_service transactions "$TRANSACTIONS_PORT"
  if [ "$LEDGER_REPLICAS" = 2 ]; then
    start_service transactions-2 "$TRANSACTIONS_REPLICA_PORT"
  fi
  start_service notifications "$NOTIFICATIONS_PORT"
  start_service loans "$LOANS_PORT"
  start_service payments "$PAYMENTS_PORT"
  start_router
  say "demo data"
  seed
  cat <<MSG

  The bank is up ($(( SECONDS - started ))s).

    GraphQL    $BANK_URL/graphql      (HTTP and WebSocket)
    GraphiQL   $BANK_URL/graphiql/
    Router     http://127.0.0.1:$ROUTER_PORT/graphql (behind NGINX)
    Postgres   postgres://bank@127.0.0.1:$PG_PORT/bank
    Kafka      127.0.0.1:$KAFKA_PORT (Apache Kafka, KRaft; groups and lag: scripts/kafka.sh groups)
    Mail       .data/mail/new (every e-mail the bank sends; SMTP 127.0.0.1:$MAIL_PORT)
    SMS        .data/sms.log (every text message; provider stand-in on 127.0.0.1:$SMS_PORT)
    Payments   .data/gateway.log (the stand-in payment gateway on 127.0.0.1:$GATEWAY_PORT)
    Demo ID    http://127.0.0.1:$IDP_PORT (an external identity provider: "Sign in with Demo ID",
               any e-mail address and password)

    Demo customer  $BANK_DEMO_EMAIL / $BANK_DEMO_PASSWORD
    Administrator  $BANK_ADMIN_EMAIL / $BANK_ADMIN_PASSWORD
    (kept in .data/secrets.env; the TLS certificate is signed by .data/certs/ca.pem)

  Logs in .data/logs/. Stop with: make down
MSG
}

down() {
  say "stopping the bank"
  "$ROOT/scripts/nginx.sh" stop
  stop_bg router
  stop_bg payments
  stop_bg loans
  stop_bg notifications
  stop_bg transactions-2
  stop_bg transactions
  stop_bg accounts
  stop_bg users
  stop_bg sms
  stop_bg gateway
  stop_bg idp
  stop_bg mail
  "$ROOT/scripts/kafka.sh" stop
  "$ROOT/scripts/pg.sh" stop
}

status() {
  local name
  local ledger=(transactions)
  [ "$LEDGER_REPLICAS" = 2 ] && ledger+=(transactions-2)
  for name in nginx router users accounts "${ledger[@]}" notifications loans payments mail sms gateway idp kafka; do
    if is_running "$name"; then ok "$name running (pid $(cat "$RUN/$name.pid"))"; else warn "$name not running"; fi
  done
}

port_of() {
  case "$1" in
    users) echo "$USERS_PORT" ;; accounts) echo "$ACCOUNTS_PORT" ;;
    transactions) echo "$TRANSACTIONS_PORT" ;; transactions-2) echo "$TRANSACTIONS_REPLICA_PORT" ;;
    notifications) echo "$NOTIFICATIONS_PORT" ;;
    loans) echo "$LOANS_PORT" ;; payments) echo "$PAYMENTS_PORT" ;;
    *) die "not a subgraph: $1" ;;
  esac
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  # A crash (SIGKILL: no shutdown, no leaving a consumer group) of one process, and its start
  # again with the stack's settings; the fault tests and `make chaos` use both. NAME is a
  # subgraph, transactions-2 (the ledger's second replica), router, nginx, kafka or postgres
  # (an immediate shutdown: scripts/pg.sh crash).
  kill)
    case "${2:-}" in
      kafka) "$ROOT/scripts/kafka.sh" kill ;;
      postgres) "$ROOT/scripts/pg.sh" crash ;;
      router | nginx)
        if is_running "$2"; then
          pid="$(cat "$RUN/$2.pid")"
          # NGINX's workers would outlive their master and keep its sockets: they go with it.
          # The master is stopped first, or it would start new workers for the killed ones.
          kill -STOP "$pid"
          pkill -KILL -P "$pid" 2>/dev/null || true
          kill -KILL "$pid"; rm -f "$RUN/$2.pid"; ok "$2 killed"
        fi ;;
      *)
        port_of "${2:-}" >/dev/null
        if is_running "$2"; then kill -KILL "$(cat "$RUN/$2.pid")"; rm -f "$RUN/$2.pid"; ok "$2 killed"; fi ;;
    esac ;;
  start)
    ensure_secrets
    case "${2:-}" in
      kafka) "$ROOT/scripts/kafka.sh" start ;;
      postgres) "$ROOT/scripts/pg.sh" start ;;
      router) start_router ;;
      nginx) "$ROOT/scripts/nginx.sh" start ;;
      *) start_service "${2:-}" "$(port_of "${2:-}")" ;;
    esac ;;
  # The bank's reconciliation through NGINX as the administrator (docs/reliability.md); exits 1
  # when anything disagrees.
  reconcile)
    ensure_secrets
    [ -x "$BIN/bank-reconcile" ] || die "$BIN/bank-reconcile is missing: run make build first"
    BANK_URL="$BANK_URL" BANK_CA="$CERTS/ca.pem" "$BIN/bank-reconcile" "${@:2}" ;;
  seed)
    ensure_secrets
    seed --more ;;
  # Every service's audit chain sealed and walked (docs/security.md); exits 1 when one does not
  # verify.
  audit)
    failed=0
    for service in users accounts transactions notifications loans payments; do
      env "$(echo "$service" | tr '[:lower:]' '[:upper:]')_DATABASE_URL=$(service_database_url "$service")" \
        RUST_LOG=warn "$BIN/$service" audit-verify || failed=1
    done
    [ "$failed" -eq 0 ] || die "an audit chain does not verify" ;;
  *) die "usage: stack.sh up|down|status|kill NAME|start NAME|reconcile [--json]|audit|seed" ;;
esac
