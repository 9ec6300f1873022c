#!/usr/bin/env bash
# Deployment checks, part of `make test` (no Docker engine or cluster needed):
#   1. the Kubernetes overlays render, validate against the Kubernetes schemas and pass the
#      bank's policy (scripts/deploy_check.py, with its self-test)
#   2. docker-compose.yml parses (`docker-compose config`)
#   3. the gateway image's NGINX configuration, rendered by docker/gateway-entrypoint.sh, passes
#      `nginx -t`
# Installs what it lacks: a Python venv with kubernetes-validate (~/.cache/bank/venv) and
# Debian's docker-compose.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV="${BANK_VENV:-$HOME/.cache/bank/venv}"
PY_PACKAGES=("kubernetes-validate==1.37.0" "PyYAML==6.0.3")

started=$SECONDS
say "deployment manifests"
if ! "$VENV/bin/python" -c 'import kubernetes_validate, yaml' 2>/dev/null; then
  ok "installing ${PY_PACKAGES[*]} into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
fi
if ! command -v docker-compose >/dev/null 2>&1; then
  ok "installing docker-compose (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi

"$VENV/bin/python" "$ROOT/scripts/deploy_check.py" --self-test \
  "$ROOT/k8s/overlays/dev" "$ROOT/k8s/overlays/prod"

# Compose substitutes variables before validating; the defaults in the file are what it checks.
(cd "$ROOT" && docker-compose -f docker-compose.yml config -q)
ok "docker-compose.yml is valid"

[ -f "$CERTS/server.pem" ] || "$ROOT/scripts/certs.sh" >/dev/null
gateway="$DATA/deploy-check/gateway"
rm -rf "$gateway"
mkdir -p "$gateway/certs"
cp "$CERTS/server.pem" "$CERTS/server.key" "$gateway/certs/"
# The router addresses must resolve here, where `nginx -t` runs; in the image they are router names.
conf="$(BANK_RENDER_ONLY=1 BANK_NGINX_DATA="$gateway" BANK_NGINX_TEMPLATE="$ROOT/nginx/nginx.conf.template" \
  BANK_WEB_ROOT="$ROOT/web" BANK_ROUTER_ADDRS="127.0.0.1:4000 127.0.0.2:4000" BANK_PAYMENTS_ADDR="127.0.0.1:4006" BANK_USERS_ADDR="127.0.0.1:4001" \
  sh "$ROOT/docker/gateway-entrypoint.sh")"
grep -q 'listen 8443 ssl' "$conf" || die "the gateway configuration does not listen on all addresses"
nginx -t -q -c "$conf" -p "$gateway/nginx"
ok "gateway image's NGINX configuration passes nginx -t"
# Production's gateway (BANK_GRAPHIQL=off, the prod overlay) answers /graphiql/ with 404.
conf="$(BANK_GRAPHIQL=off BANK_RENDER_ONLY=1 BANK_NGINX_DATA="$gateway" BANK_NGINX_TEMPLATE="$ROOT/nginx/nginx.conf.template" \
  BANK_WEB_ROOT="$ROOT/web" BANK_ROUTER_ADDRS="127.0.0.1:4000" BANK_PAYMENTS_ADDR="127.0.0.1:4006" BANK_USERS_ADDR="127.0.0.1:4001" \
  sh "$ROOT/docker/gateway-entrypoint.sh")"
awk '/location \/graphiql\/ \{/ { inside = 1 } inside && /return 404;/ { found = 1 } inside && /\}/ { inside = 0 }
  END { exit !found }' "$conf" || die "BANK_GRAPHIQL=off does not switch GraphiQL off"
nginx -t -q -c "$conf" -p "$gateway/nginx"
ok "with BANK_GRAPHIQL=off the gateway serves no GraphiQL"
# Production's router (ROUTER_INTROSPECTION=false, the prod overlay) refuses introspection: the
# router as built, with its configuration, on a spare port (an empty key set stands in for the
# users service's JWKS).
if [ -x "$BIN/bank-router" ]; then
  probe="$DATA/deploy-check/router"
  mkdir -p "$probe"
  echo '{"keys":[]}' >"$probe/jwks.json"
  jwks_port=$((ROUTER_PORT + 97)) router_port=$((ROUTER_PORT + 98))
  python3 -m http.server "$jwks_port" --bind 127.0.0.1 --directory "$probe" >/dev/null 2>&1 &
  jwks_pid=$!
  for _ in $(seq 1 50); do
    curl -fs "http://127.0.0.1:$jwks_port/jwks.json" >/dev/null 2>&1 && break
    sleep 0.1
  done
  ROUTER_INTROSPECTION=false ROUTER_CONFIG_FILE_PATH="$ROOT/router/router.config.yaml" PORT="$router_port" \
    ROUTER_JWKS_URL="http://127.0.0.1:$jwks_port/jwks.json" "$BIN/bank-router" >"$probe/router.log" 2>&1 &
  router_pid=$!
  trap 'kill "$router_pid" "$jwks_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$router_port/readiness" >/dev/null 2>&1 && break
    sleep 0.2
  done
  ask() { curl -s "http://127.0.0.1:$router_port/graphql" -H 'content-type: application/json' -d "$1"; }
  ask '{"query":"{ __schema { queryType { name } } }"}' | grep -q '"INTROSPECTION_DISABLED"' \
    || die "the router answers introspection with ROUTER_INTROSPECTION=false; see $probe/router.log"
  ask '{"query":"{ __typename }"}' | grep -q '"__typename":"Query"' \
    || die "the router does not answer with ROUTER_INTROSPECTION=false; see $probe/router.log"
  kill "$router_pid" "$jwks_pid" 2>/dev/null || true
  ok "with ROUTER_INTROSPECTION=false the router refuses introspection"
else
  warn "$BIN/bank-router is not built: the router's introspection switch was not checked"
fi
ok "deployment checks passed in $(( SECONDS - started ))s"
