//! The payments subgraph: payees, payments to accounts at other banks through a payment
//! gateway, the gateway's callbacks, and direct debits (mandates and creditors' collections).
//!
//! - `domain.rs`: the rules (IBANs, creditor identifiers, statuses, callback signatures);
//! - `collections.rs`: a creditor's collection under a mandate, and refunds;
//! - `store.rs`: SeaORM access to the `payments` schema;
//! - `ledger.rs`: the calls that move money (the ledger's internal endpoints);
//! - `gateway.rs`: the payment gateway's HTTP interface;
//! - `worker.rs`: submitting payments to the gateway, returning rejected ones, finishing
//!   interrupted debits and collections, posting refunds;
//! - `events.rs`: what it publishes (through its outbox);
//! - `schema.rs`: GraphQL types and resolvers;
//! - `app.rs`: wiring, and the gateway's callback endpoint.

pub mod app;
pub mod collections;
pub mod domain;
pub mod events;
pub mod gateway;
pub mod ledger;
pub mod schema;
pub mod store;
pub mod worker;

/// The binary's entry point.
pub async fn main() -> anyhow::Result<()> {
    bank_common::cli::run(
        app::NAME,
        app::DEFAULT_PORT,
        app::sdl,
        |db| async move { app::migrate(&db).await },
        |config| async move {
            let verifier = bank_common::auth::TokenVerifier::remote(&config.auth);
            let payments = app::PaymentsConfig::from_env()?;
            app::build(config, payments, verifier).await?.serve().await
        },
    )
    .await
}
