//! The transactions subgraph against a real PostgreSQL and a real broker: one fresh database
//! per test, tokens signed by a test key the service trusts. Accounts reach the ledger as the
//! accounts service's events would; `lifecycle.rs` also sends them through Kafka.

mod helpers;

mod citus;
mod concurrency;
mod consumer_group;
mod crash;
mod holds;
mod idempotency;
mod kafka_security;
mod lifecycle;
mod movements;
mod rules;
