//! The users subgraph against a real PostgreSQL: one fresh database per test.

mod helpers;

mod abuse;
mod auth_flows;
mod keys;
mod oidc;
mod passwords;
mod registration;
mod roles;
