#!/bin/sh
# The gateway container's start: render nginx/nginx.conf.template (the local stack's template)
# for a container, then run NGINX in the foreground as the unprivileged user.
#
#   BANK_ROUTER_ADDRS   router instances, space-separated host:port (default router:4000)
#   BANK_PAYMENTS_ADDR  the payments service, host:port, for gateway callbacks (default payments:4006)
#   BANK_USERS_ADDR     the users service, host:port: the OpenID Connect provider (default users:4001)
#   BANK_HTTPS_PORT     TLS port, on all addresses (default 8443)
#   BANK_GRAPHQL_RATE   requests per second per client on /graphql (default 200)
#   BANK_ANON_RATE      requests per minute per client without a token (default 60)
#   BANK_NGINX_DATA     writable directory: rendered config, pid, temp files (default /run/bank);
#                       the certificate and key are read from $BANK_NGINX_DATA/certs/server.{pem,key}
#   BANK_WEB_ROOT       built web assets (default /usr/share/bank: graphiql/, app/)
#   BANK_GRAPHIQL       on (default) or off: off answers /graphiql/ with 404 (production)
#   BANK_RENDER_ONLY=1  render the configuration, print its path and exit (used by the tests)
set -eu

DATA="${BANK_NGINX_DATA:-/run/bank}"
TEMPLATE="${BANK_NGINX_TEMPLATE:-/etc/bank/nginx.conf.template}"
WEB_ROOT="${BANK_WEB_ROOT:-/usr/share/bank}"
CONF="$DATA/nginx/nginx.conf"

mkdir -p "$DATA/run" "$DATA/logs" "$DATA/nginx/client_body" "$DATA/nginx/proxy" \
  "$DATA/nginx/fastcgi" "$DATA/nginx/uwsgi" "$DATA/nginx/scgi"
if [ "${BANK_RENDER_ONLY:-0}" != 1 ]; then
  # Logs go to the container's output.
  ln -sf /dev/stdout "$DATA/logs/nginx-access.log"
  ln -sf /dev/stderr "$DATA/logs/nginx-error.log"
fi

servers=""
for addr in ${BANK_ROUTER_ADDRS:-router:4000}; do
  case "$addr" in
    *[!A-Za-z0-9.:_-]*) echo "gateway: bad router address: $addr" >&2; exit 1 ;;
  esac
  servers="$servers        server $addr max_fails=3 fail_timeout=10s;
"
done

payments="${BANK_PAYMENTS_ADDR:-payments:4006}"
users="${BANK_USERS_ADDR:-users:4001}"
case "${BANK_GRAPHIQL:-on}" in
  on) graphiql_off="" ;;
  off) graphiql_off="            return 404;" ;;
  *) echo "gateway: BANK_GRAPHIQL is on or off, not ${BANK_GRAPHIQL}" >&2; exit 1 ;;
esac
case "$payments" in
  *[!A-Za-z0-9.:_-]*|"") echo "gateway: bad payments address: $payments" >&2; exit 1 ;;
esac
case "$users" in
  *[!A-Za-z0-9.:_-]*|"") echo "gateway: bad users address: $users" >&2; exit 1 ;;
esac

awk -v data="$DATA" -v payments="$payments" -v users="$users" -v graphiql="$WEB_ROOT/graphiql" -v webapp="$WEB_ROOT/app" \
    -v listen="${BANK_HTTPS_PORT:-8443}" -v rate="${BANK_GRAPHQL_RATE:-200}" \
    -v anon="${BANK_ANON_RATE:-60}" -v servers="$servers" -v graphiql_off="$graphiql_off" '
  function sub_all(s, key, value,    out, i) {
    out = ""
    while ((i = index(s, key)) > 0) { out = out substr(s, 1, i - 1) value; s = substr(s, i + length(key)) }
    return out s
  }
  /^[ \t]*__ROUTER_SERVERS__[ \t]*$/ { printf "%s", servers; next }
  /^[ \t]*__LOCAL_ONLY__[ \t]*$/ { next }
  /^[ \t]*__GRAPHIQL_OFF__[ \t]*$/ { if (graphiql_off != "") print graphiql_off; next }
  {
    line = $0
    line = sub_all(line, "__DATA__", data)
    line = sub_all(line, "__GRAPHIQL__", graphiql)
    line = sub_all(line, "__WEB_APP__", webapp)
    line = sub_all(line, "__LISTEN__", listen)
    line = sub_all(line, "__HTTPS_PORT__", listen)
    line = sub_all(line, "__GRAPHQL_RATE__", rate)
    line = sub_all(line, "__ANON_RATE__", anon)
    line = sub_all(line, "__USER__", "")
    line = sub_all(line, "__PAYMENTS_SERVER__", payments)
    line = sub_all(line, "__USERS_SERVER__", users)
    print line
  }' "$TEMPLATE" >"$CONF"

if [ "${BANK_RENDER_ONLY:-0}" = 1 ]; then
  echo "$CONF"
  exit 0
fi
exec nginx -e stderr -c "$CONF" -p "$DATA/nginx"
