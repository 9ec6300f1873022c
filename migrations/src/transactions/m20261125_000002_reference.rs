use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What another service's movement was for (`loan:<id>:repayment:<id>`): carried on the
/// transaction and its `posted` events, so that service can match the ledger's record to its
/// own. Adding a nullable column rewrites nothing.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["ALTER TABLE transactions ADD COLUMN reference text"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["ALTER TABLE transactions DROP COLUMN reference"]).await
    }
}
