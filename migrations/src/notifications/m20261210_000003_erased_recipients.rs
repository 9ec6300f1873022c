use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Recipients whose user was deleted: their contact details are erased, and nothing is
/// stored or sent for them any more (`bank.user.deleted.v1`).
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["ALTER TABLE recipients ADD COLUMN erased_at timestamptz"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["ALTER TABLE recipients DROP COLUMN erased_at"]).await
    }
}
