//! The loans subgraph: products, applications, approval, disbursement and repayment.
//!
//! - `domain.rs`: the rules (the repayment schedule, installment status, loan lifecycle);
//! - `store.rs`: SeaORM access to the `loans` schema;
//! - `ledger.rs`: the calls that move money (the ledger's internal endpoints);
//! - `events.rs`: what it publishes (through its outbox) and reads from the ledger;
//! - `schema.rs`: GraphQL types and resolvers;
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
            let loans = app::LoansConfig::from_env()?;
            app::build(config, loans, verifier).await?.serve().await
        },
    )
    .await
}
