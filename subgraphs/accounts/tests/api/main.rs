//! The accounts subgraph against a real PostgreSQL: one fresh database per test, tokens signed
//! by a test key the service trusts.

mod helpers;

mod audit;
mod authentication;
mod events;
mod lifecycle;
mod opening;
mod visibility;
