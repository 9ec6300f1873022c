#!/usr/bin/env bash
# Installs what the project needs and the machine lacks. Safe to run again: it only installs
# what is missing. Debian/Ubuntu (apt) is assumed for system packages.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }

have nginx || need_apt+=(nginx)
have mold || need_apt+=(mold)
have clang || need_apt+=(clang)
have openssl || need_apt+=(openssl)
have curl || need_apt+=(curl)
have node || need_apt+=(nodejs npm)
[ -x "$PG_BIN/initdb" ] || need_apt+=(postgresql-15 postgresql-contrib-15)
[ -x "$PG_BIN/pgbench" ] || need_apt+=(postgresql-contrib-15)
# The web app's UI tests drive Debian's headless Chromium (no browser downloads).
have chromium || need_apt+=(chromium)
have chromedriver || need_apt+=(chromium-driver)
# Apache Kafka (scripts/kafka.sh) runs on Java 17 or newer; Maven resolves its jars.
have java || need_apt+=(openjdk-17-jre-headless)
have mvn || need_apt+=(maven)
# rdkafka is built with TLS (for managed Kafka clusters): OpenSSL's headers, found by pkg-config.
have pkg-config || need_apt+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev)

# Python's venv module (Debian ships it separately) for the tools below.
python3 -c 'import ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)

if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing system packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  ok "system packages installed"
else
  ok "system packages present"
fi

# Debian's nginx package may start a default server on port 80; the bank runs its own.
have cargo || die "cargo is missing: install Rust (rustup) first"

# The test runner. Built from crates.io once per machine (a few minutes), into ~/.cargo/bin.
if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest (once per machine)"
  # Its own target directory, so the project's build cache is not disturbed.
  CARGO_TARGET_DIR="$HOME/.cache/bank/nextest-build" cargo install cargo-nextest --locked --quiet
  rm -rf "$HOME/.cache/bank/nextest-build"
  ok "$(cargo nextest --version | head -n1)"
fi

# Apache Kafka's jars from Maven Central (once per machine).
"$ROOT/scripts/kafka.sh" install

npm_install() {
  local dir="$1"
  if [ ! -d "$ROOT/$dir/node_modules" ] || [ "$ROOT/$dir/package-lock.json" -nt "$ROOT/$dir/node_modules/.package-lock.json" ]; then
    say "installing Node modules in $dir"
    (cd "$ROOT/$dir" && npm ci --no-audit --no-fund --loglevel=error)
    ok "$dir modules installed"
  fi
}
npm_install schema
npm_install web/graphiql
npm_install web/app
npm_install e2e/oidc

# Python tools in one venv outside the clone: aiosmtpd, the SMTP server the notifications tests
# send real e-mail to (and the local stack's mail catcher).
if ! "$VENV/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
  say "installing aiosmtpd into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==1.4.6"
  ok "aiosmtpd installed"
fi
