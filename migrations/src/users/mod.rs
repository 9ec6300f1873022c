//! The users service's schema: people, credentials, refresh tokens, signing keys, failed
//! sign-ins, e-mail confirmations and OpenID Connect authorization codes.

use sea_orm_migration::prelude::*;

mod m20261124_000001_init;
mod m20261124_000002_outbox;
mod m20261207_000003_login_failures;
mod m20261208_000004_email_verification;
mod m20261209_000005_authorization_codes;
mod m20261209_000006_revocations;
mod m20261209_000007_disabled_users;
mod m20261209_000008_signing_key_rotation;
mod m20261209_000009_password_resets;
mod m20261210_000010_deleted_users;
mod m20261210_000011_external_identities;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_init::Migration),
            Box::new(m20261124_000002_outbox::Migration),
            Box::new(m20261207_000003_login_failures::Migration),
            Box::new(crate::AuditMigration),
            Box::new(m20261208_000004_email_verification::Migration),
            Box::new(m20261209_000005_authorization_codes::Migration),
            Box::new(m20261209_000006_revocations::Migration),
            Box::new(m20261209_000007_disabled_users::Migration),
            Box::new(m20261209_000008_signing_key_rotation::Migration),
            Box::new(m20261209_000009_password_resets::Migration),
            Box::new(m20261210_000010_deleted_users::Migration),
            Box::new(m20261210_000011_external_identities::Migration),
        ]
    }
}
