use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

// A payment whose submission reached the gateway without a clear answer (a timeout, a 5xx) may
// have been paid: `outcome_unknown_since` says so, and its money goes back only on the gateway's
// definite answer (docs/payments.md, "Unknown outcomes").
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["ALTER TABLE payments ADD COLUMN outcome_unknown_since timestamptz"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["ALTER TABLE payments DROP COLUMN outcome_unknown_since"],
        )
        .await
    }
}
