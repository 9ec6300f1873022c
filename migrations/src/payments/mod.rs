//! The payments service's schema: payees, payments to other banks, the payment gateway's
//! callbacks already applied, the outbox, direct debits (mandates and collections) and standing orders.

use sea_orm_migration::prelude::*;

mod m20261125_000001_init;
mod m20261126_000002_direct_debits;
mod m20261126_000003_standing_orders;
mod m20261206_000004_unknown_outcomes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_init::Migration),
            Box::new(m20261126_000002_direct_debits::Migration),
            Box::new(m20261126_000003_standing_orders::Migration),
            Box::new(m20261206_000004_unknown_outcomes::Migration),
            Box::new(crate::AuditMigration),
        ]
    }
}
