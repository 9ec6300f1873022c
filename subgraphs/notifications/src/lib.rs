//! The notifications subgraph: the bank talks back.
//!
//! - `schema.rs`: GraphQL types, `User.notifications`, preferences, reminders, and the
//!   subscriptions `transactionAlerts` and `notificationAdded`;
//! - `domain/`: the rules (preferences, what a posting's alert says);
//! - `store.rs`: SeaORM access to the `notifications` schema;
//! - `events.rs`: what it consumes (postings, registrations) and publishes (failed deliveries);
//! - `live.rs`: the per-replica fan-out that feeds subscriptions;
//! - `delivery.rs`: e-mail (SMTP) and SMS (HTTP) with retries, backoff and a circuit breaker;
//! - `app.rs`: wiring and background workers.

pub mod app;
pub mod delivery;
pub mod domain;
pub mod events;
pub mod live;
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
            let settings = app::NotificationsConfig::from_env()?;
            let verifier = bank_common::auth::TokenVerifier::remote(&config.auth);
            app::build(config, settings, verifier).await?.serve().await
        },
    )
    .await
}
