# The bank's two commands are `make up` and `make test`; the rest are parts of them.
.PHONY: up down status test bench chaos reconcile audit seed schema schema-check build fmt lint psql

up: ## Install what is missing, build, start the whole stack, print URLs and credentials
	@scripts/stack.sh up

down: ## Stop everything `make up` started
	@scripts/stack.sh down

status:
	@scripts/stack.sh status

test: ## Install what is missing and run every test suite
	@scripts/test.sh

bench: ## Transfers/s and latency through the whole release stack, next to pgbench TPC-B
	@bench/run.sh

chaos: ## The fault workload: money moves while every process is killed in turn (not in make test)
	@scripts/chaos.sh

seed: ## Another demo customer with three months of history, through the API (prints the credentials)
	@scripts/stack.sh seed

reconcile: ## Reconcile the running bank: the ledger's invariants, payments and loans against it
	@scripts/stack.sh reconcile

audit: ## Seal and verify every service's audit chain (exits 1 on an edited or missing entry)
	@scripts/stack.sh audit

build:
	cargo build --workspace --bins

schema: ## Regenerate schema/subgraphs/*.graphql and schema/supergraph.graphql from the code
	@scripts/schema.sh write

schema-check: ## Fail if the committed SDLs or supergraph differ from what the code produces
	@scripts/schema.sh check

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

psql:
	@scripts/pg.sh psql
