//! The ledger's schema: ledger accounts (a mirror of the accounts service's accounts plus the
//! bank's internal accounts), transactions, postings, holds, idempotency records, processed
//! events and the outbox.

use sea_orm_migration::prelude::*;

mod m20261124_000001_init;
mod m20261125_000002_reference;
mod m20261206_000003_refusals;
mod m20261207_000004_reference_index;
mod m20261208_000005_staff_requests;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_init::Migration),
            Box::new(m20261125_000002_reference::Migration),
            Box::new(m20261206_000003_refusals::Migration),
            Box::new(m20261207_000004_reference_index::Migration),
            Box::new(crate::AuditMigration),
            Box::new(m20261208_000005_staff_requests::Migration),
        ]
    }
}
