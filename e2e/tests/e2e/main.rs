//! End-to-end tests against the running stack: NGINX (TLS) → router → subgraphs → PostgreSQL.
//! `scripts/test.sh` starts the stack (or reuses a running one) and sets the environment.
//! One file per capability.

mod alerts;
mod audit;
mod auth;
mod broker_restart;
mod consumer_restart;
mod database;
mod federation;
mod gateway;
mod ledger;
mod limits;
mod loans;
mod payments;
mod reconciliation;
mod staff;
mod tour;
mod websocket;
