use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Users an administrator deleted: their personal data is erased from the row (which stays,
/// because accounts and ledger entries keep naming its id), and they cannot sign in.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["ALTER TABLE users ADD COLUMN deleted_at timestamptz"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["ALTER TABLE users DROP COLUMN deleted_at"]).await
    }
}
