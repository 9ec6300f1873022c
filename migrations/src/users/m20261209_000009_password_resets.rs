use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// E-mailed links have a purpose: confirming an address (`confirm`) or resetting a forgotten
/// password (`reset`); a link of one kind does nothing for the other.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                // Apart, because Citus refuses a constraint in ADD COLUMN; the same name
                // PostgreSQL gives an inline check.
                "ALTER TABLE email_verifications ADD COLUMN purpose text NOT NULL DEFAULT 'confirm'",
                "ALTER TABLE email_verifications ADD CONSTRAINT email_verifications_purpose_check \
                 CHECK (purpose IN ('confirm', 'reset'))",
                "CREATE INDEX email_verifications_user_purpose_idx \
                 ON email_verifications (user_id, purpose, created_at)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "DROP INDEX email_verifications_user_purpose_idx",
                "ALTER TABLE email_verifications DROP COLUMN purpose",
            ],
        )
        .await
    }
}
