use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Confirmed e-mail addresses. A new registration signs in only once its address is confirmed
/// with the e-mailed link and the password chosen at registration; `register` answers the
/// same whether or not the address is taken. People registered before this count as confirmed.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "ALTER TABLE users ADD COLUMN email_verified_at timestamptz",
                "UPDATE users SET email_verified_at = created_at",
                "CREATE TABLE email_verifications (
                    token_hash bytea PRIMARY KEY,
                    user_id uuid NOT NULL,
                    expires_at timestamptz NOT NULL,
                    used_at timestamptz,
                    created_at timestamptz NOT NULL DEFAULT now()
                )",
                "CREATE INDEX email_verifications_user_idx ON email_verifications (user_id)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "DROP TABLE email_verifications",
                "ALTER TABLE users DROP COLUMN email_verified_at",
            ],
        )
        .await
    }
}
