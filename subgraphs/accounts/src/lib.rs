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

/// The binary's entry point.
pub async fn main() -> anyhow::Result<()> {
    bank_common::cli::run(
        app::NAME,
        app::DEFAULT_PORT,
        app::sdl,
        |db| async move { app::migrate(&db).await },
        |config| async move {
            let verifier = bank_common::auth::TokenVerifier::remote(&config.auth);
            app::build(config, verifier).await?.serve().await
        },
    )
    .await
}
