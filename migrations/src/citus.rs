//! Citus distribution, applied only where the `citus` extension is installed.
//!
//! On plain PostgreSQL (development, tests) these are no-ops, so the same migrations serve both.

use sea_orm_migration::{
    sea_orm::{ConnectionTrait, Statement},
    DbErr, SchemaManager,
};

/// Whether the database has the `citus` extension.
pub async fn is_available(manager: &SchemaManager<'_>) -> Result<bool, DbErr> {
    let db = manager.get_connection();
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT 1 AS present FROM pg_extension WHERE extname = 'citus'",
        ))
        .await?;
    Ok(row.is_some())
}

/// Shards `table` by `column`, colocated with `colocate_with` (a table name, or "none").
pub async fn distribute(
    manager: &SchemaManager<'_>,
    table: &str,
    column: &str,
    colocate_with: &str,
) -> Result<(), DbErr> {
    if !is_available(manager).await? {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "SELECT create_distributed_table('{table}', '{column}', colocate_with => '{colocate_with}')"
        ))
        .await
        .map(|_| ())
}

/// Copies `table` to every node (small, shared, rarely written).
pub async fn reference(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    if !is_available(manager).await? {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&format!("SELECT create_reference_table('{table}')"))
        .await
        .map(|_| ())
}
