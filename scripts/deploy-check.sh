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
  BANK_WEB_ROOT="$ROOT/web" BANK_ROUTER_ADDRS="127.0.0.1:4000 127.0.0.2:4000" BANK_PAYMENTS_ADDR="127.0.0.1:4006" \
  sh "$ROOT/docker/gateway-entrypoint.sh")"
grep -q 'listen 8443 ssl' "$conf" || die "the gateway configuration does not listen on all addresses"
nginx -t -q -c "$conf" -p "$gateway/nginx"
ok "gateway image's NGINX configuration passes nginx -t"
# Production's gateway (BANK_GRAPHIQL=off, the prod overlay) answers /graphiql/ with 404.
conf="$(BANK_GRAPHIQL=off BANK_RENDER_ONLY=1 BANK_NGINX_DATA="$gateway" BANK_NGINX_TEMPLATE="$ROOT/nginx/nginx.conf.template" \
  BANK_WEB_ROOT="$ROOT/web" BANK_ROUTER_ADDRS="127.0.0.1:4000" BANK_PAYMENTS_ADDR="127.0.0.1:4006" \
  sh "$ROOT/docker/gateway-entrypoint.sh")"
awk '/location \/graphiql\/ \{/ { inside = 1 } inside && /return 404;/ { found = 1 } inside && /\}/ { inside = 0 }
  END { exit !found }' "$conf" || die "BANK_GRAPHIQL=off does not switch GraphiQL off"
nginx -t -q -c "$conf" -p "$gateway/nginx"
ok "with BANK_GRAPHIQL=off the gateway serves no GraphiQL"
ok "deployment checks passed in $(( SECONDS - started ))s"
