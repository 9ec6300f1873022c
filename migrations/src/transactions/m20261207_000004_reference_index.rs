use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Reconciliation reads the transactions of one service by reference prefix
/// (`reference LIKE 'payment:%'`). A partial index holds only the referenced transactions (other
/// services' movements, a small share of the ledger); `text_pattern_ops` serves prefix matches
/// whatever the database's collation.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["CREATE INDEX transactions_reference_idx ON transactions \
               (reference text_pattern_ops) WHERE reference IS NOT NULL"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["DROP INDEX transactions_reference_idx"]).await
    }
}
