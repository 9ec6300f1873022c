//! The loans service's schema: loan products, loans, their repayment schedules,
//! repayments and the outbox.

use sea_orm_migration::prelude::*;

mod m20261125_000001_init;
mod m20261208_000002_four_eyes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_init::Migration),
            Box::new(crate::AuditMigration),
            Box::new(m20261208_000002_four_eyes::Migration),
        ]
    }
}
