# syntax=docker/dockerfile:1
#
# Container images of the bank, one target per binary (built by one shared Rust build):
#
#   docker build --target users        -t bank/users .
#   docker build --target accounts     -t bank/accounts .
#   docker build --target transactions -t bank/transactions .
#   docker build --target notifications -t bank/notifications .
#   docker build --target loans        -t bank/loans .
#   docker build --target payments     -t bank/payments .
#   docker build --target router       -t bank/router .
#   docker build --target gateway      -t bank/gateway .    # NGINX with the built web assets
#   docker build --target payment-gateway -t bank/payment-gateway .  # development stand-in
#
# `docker compose build` builds them all; the Rust build runs once and every target copies
# its binary out of it. Runtime images are debian:bookworm-slim with CA certificates, run as
# the unprivileged user 10001 and write nothing outside mounted volumes; the development
# stand-in payment-gateway is Python's slim image with one standard-library script.

ARG RUST_VERSION=1.95
ARG NODE_VERSION=20
ARG DEBIAN_RELEASE=bookworm
# The stand-in payment gateway's base: the same Python image as compose's SMS sink.
ARG PYTHON_IMAGE=python:3.12.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
# Rust toolchain with what the workspace needs to build: clang and mold (.cargo/config.toml
# links with them on x86_64), cmake for aws-lc-sys, make/gcc/zlib for the bundled librdkafka.
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS rust-base
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang mold cmake pkg-config zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# ---------------------------------------------------------------------------------------------
# The dependency layer: every Cargo.toml and Cargo.lock with empty stand-ins for each target
# (src/lib.rs, src/main.rs, declared `path = ...` targets). Its content changes only when a
# manifest does, so the expensive `deps` layer below stays cached across code changes.
FROM rust-base AS skeleton
COPY . .
RUN set -eu; \
    mkdir -p /skeleton; \
    cp Cargo.lock /skeleton/; \
    cp -r .cargo /skeleton/; \
    find . -name Cargo.toml -not -path './target/*' -not -path '*/node_modules/*' | while read -r manifest; do \
      dir="$(dirname "$manifest")"; \
      mkdir -p "/skeleton/$dir"; \
      cp "$manifest" "/skeleton/$manifest"; \
      { for f in src/lib.rs src/main.rs build.rs; do [ -f "$dir/$f" ] && echo "$dir/$f"; done; \
        find "$dir/src/bin" -name '*.rs' 2>/dev/null || true; \
        sed -n 's/^path *= *"\(.*\)"/\1/p' "$manifest" | sed "s|^|$dir/|"; \
      } | sort -u | while read -r target; do \
        mkdir -p "/skeleton/$(dirname "$target")"; \
        echo 'fn main() {}' > "/skeleton/$target"; \
      done; \
    done

FROM rust-base AS deps
COPY --from=skeleton /skeleton/ ./
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    cargo build --release --locked --workspace --bins

# ---------------------------------------------------------------------------------------------
# The real build: every binary of the workspace; the images need users, accounts, transactions,
# notifications, loans, payments and bank-router, and the build fails if one of them is missing.
FROM deps AS build
COPY . .
# The stand-ins were compiled after the real files were last changed: make the real ones newer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    set -eu; \
    find . -name '*.rs' -not -path './target/*' -exec touch {} +; \
    cargo build --release --locked --workspace --bins; \
    mkdir -p /out; \
    for bin in users accounts transactions notifications loans payments bank-router; do \
      cp "target/release/$bin" /out/; \
    done; \
    ls -l /out

# ---------------------------------------------------------------------------------------------
# Web assets: the GraphiQL page, and the web app when web/app exists. The repository's layout
# is kept under /src because the web app's build generates its typed operations from
# ../../schema/supergraph.graphql (web/app/codegen.ts) and fails without it.
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS web
WORKDIR /src
COPY schema/supergraph.graphql schema/supergraph.graphql
COPY web/ web/
# npm's cache at a fixed place of its own, kept between builds by the cache mount.
ENV npm_config_cache=/var/cache/npm
RUN --mount=type=cache,target=/var/cache/npm \
    set -eu; \
    mkdir -p /out; \
    for app in graphiql app; do \
      if [ -f "web/$app/package.json" ]; then \
        (cd "web/$app" && npm ci --no-audit --no-fund --loglevel=error && npm run build); \
        cp -r "web/$app/dist" "/out/$app"; \
      fi; \
    done; \
    test -f /out/graphiql/index.html

# ---------------------------------------------------------------------------------------------
# Shared runtime base for the Rust binaries.
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 bank \
    && useradd --system --uid 10001 --gid bank --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin bank
COPY docker/healthcheck.sh /usr/local/bin/healthcheck
ENV LOG_FORMAT=json RUST_LOG=info
USER 10001:10001

FROM runtime AS users
COPY --from=build /out/users /usr/local/bin/users
ENV USERS_LISTEN_ADDR=0.0.0.0:4001
EXPOSE 4001
ENTRYPOINT ["/usr/local/bin/users"]
CMD ["serve"]

FROM runtime AS accounts
COPY --from=build /out/accounts /usr/local/bin/accounts
ENV ACCOUNTS_LISTEN_ADDR=0.0.0.0:4002
EXPOSE 4002
ENTRYPOINT ["/usr/local/bin/accounts"]
CMD ["serve"]

FROM runtime AS transactions
COPY --from=build /out/transactions /usr/local/bin/transactions
ENV TRANSACTIONS_LISTEN_ADDR=0.0.0.0:4003
EXPOSE 4003
ENTRYPOINT ["/usr/local/bin/transactions"]
CMD ["serve"]

# Notifications: GraphQL over HTTP and WebSocket (subscriptions), Kafka consumers, and
# e-mail (SMTP) and SMS (HTTP provider) delivery; NOTIFICATIONS_SMTP_URL and _SMS_URL say where.
FROM runtime AS notifications
COPY --from=build /out/notifications /usr/local/bin/notifications
ENV NOTIFICATIONS_LISTEN_ADDR=0.0.0.0:4004
EXPOSE 4004
ENTRYPOINT ["/usr/local/bin/notifications"]
CMD ["serve"]

# Loans: GraphQL over HTTP, events to bank.loans and a consumer of bank.ledger; payouts and
# repayments go through the ledger's internal endpoints at LOANS_LEDGER_URL.
FROM runtime AS loans
COPY --from=build /out/loans /usr/local/bin/loans
ENV LOANS_LISTEN_ADDR=0.0.0.0:4005
EXPOSE 4005
ENTRYPOINT ["/usr/local/bin/loans"]
CMD ["serve"]

# Payments: GraphQL over HTTP, events to bank.payments, the payment gateway's callbacks on
# /webhooks/gateway; debits and returns go through the ledger's internal endpoints at
# PAYMENTS_LEDGER_URL, submissions to the gateway at PAYMENTS_GATEWAY_URL.
FROM runtime AS payments
COPY --from=build /out/payments /usr/local/bin/payments
ENV PAYMENTS_LISTEN_ADDR=0.0.0.0:4006
EXPOSE 4006
ENTRYPOINT ["/usr/local/bin/payments"]
CMD ["serve"]

# The router carries its configuration and the supergraph it was built with, so an image is
# one consistent version; deployments change only URLs and origins through the environment.
FROM runtime AS router
COPY --from=build /out/bank-router /usr/local/bin/bank-router
COPY router/router.config.yaml /etc/bank/router/router.config.yaml
COPY schema/supergraph.graphql /etc/bank/schema/supergraph.graphql
ENV ROUTER_CONFIG_FILE_PATH=/etc/bank/router/router.config.yaml HOST=0.0.0.0 PORT=4000
EXPOSE 4000
ENTRYPOINT ["/usr/local/bin/bank-router"]

# ---------------------------------------------------------------------------------------------
# Development only: the stand-in payment gateway (scripts/payment_gateway.py, Python's standard
# library alone) for compose and the dev cluster; never deployed to production, where
# PAYMENTS_GATEWAY_URL is the real provider. Arguments: --secret (the callbacks' HMAC key, equal
# to PAYMENTS_GATEWAY_WEBHOOK_SECRET), and --host, --port, --delay, --log as needed.
FROM ${PYTHON_IMAGE} AS payment-gateway
COPY scripts/payment_gateway.py /opt/bank/payment_gateway.py
USER 10001:10001
EXPOSE 4091
ENTRYPOINT ["python3", "/opt/bank/payment_gateway.py"]

# ---------------------------------------------------------------------------------------------
# The gateway: Debian's NGINX (the version `nginx -t` checks in the test suite), the same
# template as the local stack, rendered at start by docker/gateway-entrypoint.sh.
FROM debian:${DEBIAN_RELEASE}-slim AS gateway
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
    && groupadd --system --gid 10001 bank \
    && useradd --system --uid 10001 --gid bank --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin bank
COPY nginx/nginx.conf.template /etc/bank/nginx.conf.template
COPY docker/gateway-entrypoint.sh /usr/local/bin/gateway-entrypoint
COPY docker/healthcheck.sh /usr/local/bin/healthcheck
COPY --from=web /out/ /usr/share/bank/
USER 10001:10001
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/gateway-entrypoint"]
