#!/bin/bash
# Container health check without curl in the image.
#   healthcheck PORT PATH   GET http://127.0.0.1:PORT/PATH, healthy on a 2xx status
#   healthcheck PORT        healthy when the port accepts a connection (TLS listeners)
set -euo pipefail
port="${1:?usage: healthcheck PORT [PATH]}"
path="${2:-}"
exec 3<>"/dev/tcp/127.0.0.1/$port"
[ -n "$path" ] || exit 0
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
read -r -t 5 _ status _ <&3
[[ "$status" == 2?? ]]
