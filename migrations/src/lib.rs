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

/// The audit trail every service has (see `bank_common::audit`): entries, and the hash chain
/// that seals them. The service's own role may read and append, never change or remove: the
/// owner's UPDATE, DELETE and TRUNCATE are revoked.
pub(crate) const AUDIT: &[&str] = &[
    "CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        actor_roles text NOT NULL DEFAULT '',
        on_behalf_of text,
        action text NOT NULL,
        subject text,
        outcome text NOT NULL,
        address text,
        request_id text,
        before jsonb,
        after jsonb
    )",
    "CREATE INDEX audit_log_action_idx ON audit_log (action, id)",
    "CREATE TABLE audit_chain (
        position bigint PRIMARY KEY,
        entry_id bigint NOT NULL,
        hash text NOT NULL,
        sealed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT audit_chain_entry_key UNIQUE (entry_id)
    )",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_chain FROM CURRENT_USER",
];

/// The audit trail's migration, the same in every service's migrator.
pub(crate) struct AuditMigration;

impl sea_orm_migration::MigrationName for AuditMigration {
    fn name(&self) -> &str {
        "m20261208_000100_audit"
    }
}

#[async_trait::async_trait]
impl sea_orm_migration::MigrationTrait for AuditMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, AUDIT).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["DROP TABLE audit_chain", "DROP TABLE audit_log"]).await
    }
}

/// Runs each statement on its own.
pub(crate) async fn run_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}
