//! The accounts service's schema: bank accounts and the register of account numbers.

use sea_orm_migration::prelude::*;

mod m20261124_000001_init;
mod m20261124_000002_outbox;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_init::Migration),
            Box::new(m20261124_000002_outbox::Migration),
            Box::new(crate::AuditMigration),
        ]
    }
}
