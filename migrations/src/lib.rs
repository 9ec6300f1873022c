//! SeaORM migrations, one migrator per service. Each service owns one PostgreSQL schema and runs
//! its own migrator with that schema as its `search_path`, so the migration history
//! (`seaql_migrations`) is per service too.
//!
//! Migrations send one SQL statement per call: Citus forwards multi-statement strings to its
//! workers, where some DDL fails. They run unchanged on plain PostgreSQL and on Citus, where
//! each service's schema is distributed before its first migration
//! (`bank_common::db::distribute_schema`, docs/citus.md).

pub mod accounts;
pub mod loans;
pub mod notifications;
pub mod payments;
pub mod transactions;
pub mod users;

pub use sea_orm_migration::MigratorTrait;

use sea_orm_migration::{sea_orm::ConnectionTrait, DbErr, SchemaManager};

/// The transactional outbox every publishing service has (see `bank_common::outbox`).
/// Rows are published in `id` order and marked `published_at`; the partial index keeps the
/// relay's scan small however long the history grows.
pub(crate) const OUTBOX: &[&str] = &[
    "CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        event_id uuid NOT NULL,
        topic text NOT NULL,
        event_key text NOT NULL,
        event_type text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        CONSTRAINT outbox_event_id_key UNIQUE (event_id)
    )",
    "CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL",
];

/// Runs each statement on its own.
pub(crate) async fn run_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}
