use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Four eyes on a loan: the member of staff who approved it first and the one who asked for
/// its payout, next to `decided_by`, who approved it second, and the one who confirmed the
/// payout.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "ALTER TABLE loans ADD COLUMN first_approved_by uuid",
                "ALTER TABLE loans ADD COLUMN first_approved_at timestamptz",
                "ALTER TABLE loans ADD COLUMN payout_requested_by uuid",
                "ALTER TABLE loans ADD COLUMN payout_requested_at timestamptz",
                "ALTER TABLE loans ADD COLUMN payout_confirmed_by uuid",
                "ALTER TABLE loans ADD COLUMN payout_confirmed_at timestamptz",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "ALTER TABLE loans DROP COLUMN first_approved_by",
                "ALTER TABLE loans DROP COLUMN first_approved_at",
                "ALTER TABLE loans DROP COLUMN payout_requested_by",
                "ALTER TABLE loans DROP COLUMN payout_requested_at",
                "ALTER TABLE loans DROP COLUMN payout_confirmed_by",
                "ALTER TABLE loans DROP COLUMN payout_confirmed_at",
            ],
        )
        .await
    }
}
