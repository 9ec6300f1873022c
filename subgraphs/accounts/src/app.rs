//! Wiring: configuration, database, schema and routes of the accounts service.

use std::sync::Arc;

use async_graphql::{dataloader::DataLoader, EmptySubscription, Schema};
use axum::Router;
use bank_migrations::MigratorTrait;
use sea_orm::DatabaseConnection;

use bank_common::{
    auth::TokenVerifier,
    config::ServiceConfig,
    db,
    outbox::Relay,
    server::{configure_schema, federation_sdl, RequestData, Subgraph},
};

use crate::schema::{
    AccountLoader, AccountsByOwnerLoader, AccountsContext, AccountsSchema, Mutation, Query,
};

pub const NAME: &str = "accounts";
pub const DEFAULT_PORT: u16 = 4002;

pub fn schema_builder(
    config: &ServiceConfig,
) -> async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription> {
    configure_schema(Schema::build(Query, Mutation, EmptySubscription), config)
}

pub fn sdl() -> String {
    let config = ServiceConfig::from_env(NAME, DEFAULT_PORT).expect("defaults are valid");
    federation_sdl(&schema_builder(&config).finish())
}

/// Where the ledger (the transactions service) listens: `ACCOUNTS_LEDGER_URL`.
pub fn ledger_url() -> Result<String, bank_common::config::ConfigError> {
    bank_common::config::Env::new(NAME).get_or("LEDGER_URL", "http://127.0.0.1:4003".to_string())
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    bank_common::db::with_migration_lock(db, NAME, || async {
        bank_migrations::accounts::Migrator::up(db, None).await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Connects, migrates and returns the ready service. `verifier` checks access tokens (the
/// users service's JWKS in production; a fixed key set in tests).
pub async fn build(
    config: ServiceConfig,
    verifier: TokenVerifier,
) -> anyhow::Result<Subgraph<Query, Mutation, EmptySubscription>> {
    let db = db::connect(&config.database).await?;
    migrate(&db).await?;
    Relay::spawn(db.clone(), &config.kafka, crate::store::SCHEMA)?;
    let schema: AccountsSchema = schema_builder(&config)
        .data(AccountsContext {
            db: db.clone(),
            ledger: crate::ledger::LedgerClient::new(
                &ledger_url()?,
                bank_common::config::Env::new(NAME)
                    .raw("LEDGER_SERVICE_TOKEN")
                    .filter(|token| !token.is_empty()),
            ),
        })
        .finish();
    let loader_db = db.clone();
    let request_data: RequestData = Arc::new(move |data| {
        data.insert(DataLoader::new(
            AccountLoader {
                db: loader_db.clone(),
            },
            tokio::spawn,
        ));
        data.insert(DataLoader::new(
            AccountsByOwnerLoader {
                db: loader_db.clone(),
            },
            tokio::spawn,
        ));
    });
    Ok(Subgraph {
        config,
        schema,
        db,
        verifier,
        request_data,
        extra_routes: Router::new(),
    })
}
