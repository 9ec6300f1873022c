use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Four eyes in the ledger: a step one member of staff asked for (raising an account's limits
/// past the threshold, moving money out of a customer's account), waiting for a second one to
/// ask for the same; both recorded.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["CREATE TABLE staff_requests (
                kind text NOT NULL,
                subject text NOT NULL,
                fingerprint text NOT NULL,
                requested_by uuid NOT NULL,
                requested_at timestamptz NOT NULL,
                confirmed_by uuid,
                confirmed_at timestamptz,
                PRIMARY KEY (kind, subject)
            )"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["DROP TABLE staff_requests"]).await
    }
}
