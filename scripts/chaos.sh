#!/usr/bin/env bash
# The fault workload (`make chaos`; not part of `make test`): starts the stack if it is not
# running, then runs bank-chaos (e2e/src/bin/bank-chaos.rs) against it: customers move money
# at random while every process is killed and started again in turn, and afterwards the ledger,
# reconciliation and notifications are checked and each fault's recovery time is reported.
# Arguments go to bank-chaos (`--help`); the report is also written to .data/chaos-report.md.
# Exits non-zero when a check fails or money did not move again in time after a fault.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$ROOT/scripts/stack.sh" up >/dev/null
# shellcheck disable=SC1091
source "$DATA/secrets.env"
say "fault workload (report: .data/chaos-report.md)"
set -o pipefail
BANK_URL="$BANK_URL" BANK_CA="$CERTS/ca.pem" BANK_ADMIN_EMAIL="$BANK_ADMIN_EMAIL" \
  BANK_ADMIN_PASSWORD="$BANK_ADMIN_PASSWORD" BANK_GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT" \
  BANK_DATABASE_URL="$DATABASE_URL" "$BIN/bank-chaos" "$@" | tee "$DATA/chaos-report.md"
