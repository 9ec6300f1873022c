//! The users subgraph: people, authentication and authorization.
//!
//! - `schema.rs`: GraphQL types and resolvers;
//! - `domain/`: the rules (e-mail, password, name, hashing);
//! - `store.rs`: SeaORM access to the `users` schema;
//! - `keys.rs`: access-token signing keys and the JWKS;
//! - `events.rs`: what it publishes (through its outbox);
//! - `app.rs`: wiring.

pub mod app;
pub mod domain;
pub mod events;
pub mod keys;
pub mod schema;
pub mod store;

use bank_common::cli::Command;

/// The binary's entry point.
pub async fn main() -> anyhow::Result<()> {
    let command = bank_common::cli::Cli::command();
    if command == Command::Sdl {
        print!("{}", app::sdl());
        return Ok(());
    }
    bank_common::telemetry::init(app::NAME);
    let config = app::UsersConfig::from_env()?;
    if command == Command::Migrate {
        let db = bank_common::db::connect(&config.service.database).await?;
        app::migrate(&db).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    app::build(config).await?.serve().await
}
