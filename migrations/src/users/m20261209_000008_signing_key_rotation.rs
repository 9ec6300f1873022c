use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Key rotation: a new signing key is published in the JWKS at once and signs from
/// `signs_from`, once every verifier has fetched it; the key it replaces is retired when its
/// last token has expired.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "ALTER TABLE signing_keys ADD COLUMN signs_from timestamptz",
                "UPDATE signing_keys SET signs_from = created_at",
                "ALTER TABLE signing_keys ALTER COLUMN signs_from SET NOT NULL",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["ALTER TABLE signing_keys DROP COLUMN signs_from"],
        )
        .await
    }
}
