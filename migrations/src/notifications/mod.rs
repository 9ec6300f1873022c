//! The notifications service's schema: recipients (contact details and preferences),
//! notifications, deliveries (e-mail and SMS with retries), phone-number confirmations, reminders, processed event ids and
//! the outbox (failed deliveries go to the dead-letter topic through it).

use sea_orm_migration::prelude::*;

mod m20261124_000001_init;
mod m20261208_000002_phone_confirmation;
mod m20261210_000003_erased_recipients;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_init::Migration),
            Box::new(crate::AuditMigration),
            Box::new(m20261208_000002_phone_confirmation::Migration),
            Box::new(m20261210_000003_erased_recipients::Migration),
        ]
    }
}
