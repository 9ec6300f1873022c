//! The accounts subgraph: opening, tracking, freezing bank accounts.
//!
//! - `schema.rs`: GraphQL types and resolvers;
//! - `domain/`: the rules (account numbers, statuses, limits);
//! - `store.rs`: SeaORM access to the `accounts` schema;
//! - `events.rs`: the lifecycle events it publishes (through its outbox);
//! - `ledger.rs`: the call to the ledger that closing an account needs;
//! - `app.rs`: wiring.

pub mod app;
pub mod domain;
pub mod events;
pub mod ledger;
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
    let verifier = TokenVerifier::remote(&config.auth);
    app::build(config, verifier).await?.serve().await
}
