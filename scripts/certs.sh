#!/usr/bin/env bash
# Development TLS: a local certificate authority and a server certificate for localhost,
# generated once under .data/certs (never committed). Clients trust .data/certs/ca.pem.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$CERTS"
if [ -f "$CERTS/server.pem" ] && openssl x509 -checkend 86400 -noout -in "$CERTS/server.pem" >/dev/null 2>&1; then
  ok "development certificate present"
  exit 0
fi
say "generating a development certificate authority and a localhost certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
  -subj "/CN=Bank development CA" -keyout "$CERTS/ca.key" -out "$CERTS/ca.pem" \
  -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=localhost" -keyout "$CERTS/server.key" -out "$CERTS/server.csr" 2>/dev/null
cat >"$CERTS/server.ext" <<EXT
basicConstraints=CA:false
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in "$CERTS/server.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" \
  -CAcreateserial -days 825 -extfile "$CERTS/server.ext" -out "$CERTS/server.pem" 2>/dev/null
chmod 600 "$CERTS"/*.key
chmod 644 "$CERTS/server.key"  # read by NGINX workers, which do not run as the owner
ok "certificates in .data/certs (trust ca.pem)"
