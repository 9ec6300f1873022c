use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

// A movement the ledger refused for good (insufficient funds, an account not active, a limit)
// keeps its answer under its idempotency key, like a posted one: a retry, or a second request
// racing the first, gets the same refusal instead of posting later (docs/ledger.md).
// `result_id` then holds the id the transaction would have had.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "ALTER TABLE idempotency_keys ADD COLUMN refusal_code text",
                "ALTER TABLE idempotency_keys ADD COLUMN refusal_message text",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "ALTER TABLE idempotency_keys DROP COLUMN refusal_message",
                "ALTER TABLE idempotency_keys DROP COLUMN refusal_code",
            ],
        )
        .await
    }
}
