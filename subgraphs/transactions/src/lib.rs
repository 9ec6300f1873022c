//! The transactions subgraph: the bank's double-entry ledger. All money moves here.
//!
//! - `schema.rs`: GraphQL types and resolvers (`Account.balance`, `deposit`, `transfer`, holds);
//! - `domain/`: the rules (amounts, idempotency keys, funds, limits, statuses);
//! - `store.rs`: the ledger's tables and the one short database transaction per movement;
//! - `batch.rs`: many movements per commit (decided in memory, written set-based);
//! - `events.rs`: what it publishes (postings, holds) and consumes (account lifecycle);
//! - `app.rs`: wiring, background workers and the internal close-account endpoint.

pub mod app;
pub mod batch;
pub mod domain;
pub mod events;
pub mod schema;
pub mod store;

/// The binary's entry point.
pub async fn main() -> anyhow::Result<()> {
    bank_common::cli::run(
        app::NAME,
        app::DEFAULT_PORT,
        app::sdl,
        |db| async move { app::migrate(&db).await },
        |config| async move {
            let ledger = app::LedgerConfig::from_env()?;
            let verifier = bank_common::auth::TokenVerifier::remote(&config.auth);
            app::build(config, ledger, verifier).await?.serve().await
        },
    )
    .await
}
