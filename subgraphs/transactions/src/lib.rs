//! The transactions subgraph: the bank's double-entry ledger. All money moves here.
//!
//! - `schema.rs`: GraphQL types and resolvers (`Account.balance`, `deposit`, `transfer`, holds);
//! - `domain/`: the rules (amounts, idempotency keys, funds, limits, statuses);
//! - `store.rs`: the ledger's tables and the one short database transaction per movement;
//! - `events.rs`: what it publishes (postings, holds) and consumes (account lifecycle);
//! - `app.rs`: wiring, background workers and the internal close-account endpoint.

pub mod app;
pub mod domain;
pub mod events;
pub mod schema;
pub mod store;

use bank_common::{auth::TokenVerifier, cli::Command, config::ServiceConfig};

/// The binary's entry point.
pub async fn main() -> anyhow::Result<()> {
    let command = bank_common::cli::Cli::command();
    if command == Command::Sdl {
        print!("{}", app::sdl());
        return Ok(());
    }
    bank_common::telemetry::init(app::NAME);
    let config = ServiceConfig::from_env(app::NAME, app::DEFAULT_PORT)?;
    if command == Command::Migrate {
        let db = bank_common::db::connect(&config.database).await?;
        app::migrate(&db).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    let ledger = app::LedgerConfig::from_env()?;
    let verifier = TokenVerifier::remote(&config.auth);
    app::build(config, ledger, verifier).await?.serve().await
}
