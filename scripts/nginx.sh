#!/usr/bin/env bash
# NGINX for the local stack.
#   nginx.sh render   write .data/nginx/nginx.conf from nginx/nginx.conf.template
#   nginx.sh test     render, then `nginx -t` on it
#   nginx.sh start|reload|stop
# BANK_ROUTER_ADDRS lists router instances ("127.0.0.1:4000 127.0.0.1:4100"); BANK_GRAPHQL_RATE
# sets the per-client request rate on /graphql (requests per second); BANK_ANON_RATE the rate of
# requests without a token, i.e. sign-ups and logins (requests per minute).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONF_DIR="$DATA/nginx"
CONF="$CONF_DIR/nginx.conf"
GRAPHIQL_DIST="$ROOT/web/graphiql/dist"
WEBAPP_DIST="$ROOT/web/app/dist"

render() {
  mkdir -p "$CONF_DIR"/{client_body,proxy,fastcgi,uwsgi,scgi}
  [ -f "$CERTS/server.pem" ] || "$ROOT/scripts/certs.sh" >/dev/null
  local servers="" addr
  for addr in ${BANK_ROUTER_ADDRS:-127.0.0.1:$ROUTER_PORT}; do
    servers+="        server $addr max_fails=3 fail_timeout=10s;"$'\n'
  done
  local user_line=""
  if [ "$(id -u)" -eq 0 ]; then
    # Workers drop to nobody unless nobody cannot read the checkout (e.g. under /root).
    if runuser -u nobody -- test -r "$CERTS/server.pem" 2>/dev/null \
      && runuser -u nobody -- test -x "$ROOT/web" 2>/dev/null; then
      user_line="user nobody nogroup;"
    else
      user_line="user root root;"
    fi
  fi
  local template
  template="$(cat "$ROOT/nginx/nginx.conf.template")"
  template="${template//__DATA__/$DATA}"
  template="${template//__GRAPHIQL__/$GRAPHIQL_DIST}"
  template="${template//__WEB_APP__/$WEBAPP_DIST}"
  template="${template//__LISTEN__/127.0.0.1:$HTTPS_PORT}"
  template="${template//__HTTPS_PORT__/$HTTPS_PORT}"
  template="${template//__GRAPHQL_RATE__/${BANK_GRAPHQL_RATE:-200}}"
  template="${template//__ANON_RATE__/${BANK_ANON_RATE:-60}}"
  template="${template//__USER__/$user_line}"
  template="${template//__ROUTER_SERVERS__/${servers%$'\n'}}"
  template="${template//__PAYMENTS_SERVER__/127.0.0.1:$PAYMENTS_PORT}"
  template="${template//__USERS_SERVER__/127.0.0.1:$USERS_PORT}"
  template="${template//__GRAPHIQL_OFF__/}"
  if [ "$LEDGER_REPLICAS" = 1 ]; then
    template="${template//__LOCAL_ONLY__/}"
  else
    template="${template//__LOCAL_ONLY__/    include $CONF_DIR/ledger.conf;}"
  fi
  printf '%s\n' "$template" >"$CONF"
  local ledger ledger_servers="" port
  for port in "$TRANSACTIONS_PORT" "$TRANSACTIONS_REPLICA_PORT"; do
    # One failure takes a replica out for 2 s, then it is tried again.
    ledger_servers+="    server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
  done
  ledger="$(cat "$ROOT/nginx/ledger.conf.template")"
  ledger="${ledger//__DATA__/$DATA}"
  ledger="${ledger//__LEDGER_LISTEN__/127.0.0.1:$LEDGER_PORT}"
  ledger="${ledger//__LEDGER_SERVERS__/${ledger_servers%$'\n'}}"
  printf '%s\n' "$ledger" >"$CONF_DIR/ledger.conf"
}

case "${1:-}" in
  render) render; ok "rendered $CONF" ;;
  test)
    render
    nginx -t -q -c "$CONF" -p "$CONF_DIR"
    ok "nginx -t passes"
    ;;
  start)
    say "NGINX on https://localhost:$HTTPS_PORT"
    render
    start_bg nginx nginx -c "$CONF" -p "$CONF_DIR"
    PIDNAME=nginx wait_for nginx "https://localhost:$HTTPS_PORT/healthz" 20 --cacert "$CERTS/ca.pem"
    ;;
  reload)
    # Re-render with the current environment and let the running NGINX pick it up.
    render
    is_running nginx || die "NGINX is not running"
    kill -HUP "$(cat "$RUN/nginx.pid")"
    sleep 0.5
    ok "NGINX reloaded"
    ;;
  stop) stop_bg nginx ;;
  *) die "usage: nginx.sh render|test|start|reload|stop" ;;
esac
