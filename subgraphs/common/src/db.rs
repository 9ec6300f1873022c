//! The pooled connection to the service's own PostgreSQL schema.
//!
//! Each service owns one schema (`users`, `accounts`, ...) and sets it as its `search_path`, so
//! its tables, its migration history and nothing else are visible to it.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    pub schema: String,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout: Duration,
}

pub async fn connect(config: &DbConfig) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(config.url.clone());
    options
        .max_connections(config.max_connections)
        .min_connections(config.min_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_timeout(config.acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .set_schema_search_path(config.schema.clone())
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    // The schema must exist before the migrator writes its history table into it.
    db.execute_unprepared(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{}\"",
        config.schema.replace('"', "")
    ))
    .await?;
    Ok(db)
}

/// Readiness: the pool can hand out a connection that answers.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// Runs `migrate` while holding a PostgreSQL advisory lock named after `schema`, so replicas
/// (and a migration job) starting together migrate one after the other instead of colliding.
/// The lock lives on a connection of its own for the duration; migrations use the others.
pub async fn with_migration_lock<F, Fut, T>(
    db: &DatabaseConnection,
    schema: &str,
    migrate: F,
) -> anyhow::Result<T>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    use sea_orm::sqlx;
    let key = format!("bank.migrate:{schema}");
    let mut lock = db.get_postgres_connection_pool().acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
        .bind(&key)
        .execute(&mut *lock)
        .await?;
    let result = migrate().await;
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(&key)
        .execute(&mut *lock)
        .await?;
    result
}
