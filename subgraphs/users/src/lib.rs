//! The users subgraph: people, authentication and authorization.
//!
//! - `schema.rs`: GraphQL types and resolvers;
//! - `domain/`: the rules (e-mail, password, name, hashing);
//! - `store.rs`: SeaORM access to the `users` schema;
//! - `keys.rs`: access-token signing keys and the JWKS;
//! - `oidc.rs`: the OpenID Connect provider (authorization code + PKCE, tokens, userinfo);
//! - `events.rs`: what it publishes (through its outbox);
//! - `app.rs`: wiring.

pub mod app;
pub mod domain;
pub mod events;
pub mod keys;
pub mod oidc;
pub mod one_sign_in;
pub mod schema;
pub mod store;

/// The binary's entry point.
pub async fn main() -> anyhow::Result<()> {
    bank_common::cli::run(
        app::NAME,
        app::DEFAULT_PORT,
        app::sdl,
        |db| async move { app::migrate(&db).await },
        |service| async move {
            app::build(app::UsersConfig::from_service(service)?)
                .await?
                .serve()
                .await
        },
    )
    .await
}
