//! Shared machinery for every subgraph of the bank.
//!
//! A subgraph crate holds its GraphQL types (`schema.rs`), its rules (`domain/`) and its data
//! access (`store.rs`); everything that is the same in every service lives here, once:
//!
//! - [`config`]: typed configuration from prefixed environment variables, validated at start-up;
//! - [`telemetry`]: `tracing` set-up, pretty locally and JSON with `LOG_FORMAT=json`;
//! - [`db`]: the pooled SeaORM connection to the service's own PostgreSQL schema;
//! - [`auth`]: access-token verification against the users service's JWKS, and the principal;
//! - [`error`]: the error type whose `extensions.code` is the public contract;
//! - [`money`]: currencies and amounts in integer minor units; [`calendar`]: the `Date` scalar;
//! - [`events`], [`outbox`], [`kafka`]: domain events, written in the business transaction
//!   and relayed to Kafka;
//! - [`server`]: the axum + async-graphql bootstrap (HTTP, graphql-ws, health, shutdown);
//! - [`internal`]: calls between services and their errors; idempotency keys;
//! - [`metrics`]: Prometheus metrics at `/metrics`;
//! - [`reconcile`]: a service's records of money compared with the ledger's postings;
//! - [`audit`]: the append-only, hash-chained audit trail of every mutation.

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod consumer;
pub mod db;
pub mod error;
pub mod events;
pub mod internal;
pub mod kafka;
pub mod metrics;
pub mod money;
pub mod outbox;
pub mod pagination;
pub mod reconcile;
pub mod server;
pub mod telemetry;

pub use error::{ApiError, ApiResult};

/// The services' global allocator, installed by each `main.rs`.
pub use mimalloc::MiMalloc as Allocator;
