use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Failed sign-ins, per account (`account:<e-mail>`) and per client address (`address:<ip>`):
/// how many in a row, and until when further attempts are refused (exponential backoff). One
/// small row per key; a success deletes the account's.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["CREATE TABLE login_failures (
                key text PRIMARY KEY,
                failures integer NOT NULL CHECK (failures > 0),
                blocked_until timestamptz,
                last_failure_at timestamptz NOT NULL DEFAULT now()
            )"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["DROP TABLE login_failures"]).await
    }
}
