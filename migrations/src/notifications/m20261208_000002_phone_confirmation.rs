use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Confirmed phone numbers. A new number receives a six-digit code by SMS and gets alerts only
/// once the code is entered; until then the confirmed number (if any) stays. Each code sent is
/// a row, so that the codes a user can have sent a day are counted (SMS pumping). Numbers
/// stored before this count as confirmed.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["CREATE TABLE phone_confirmations (
                user_id uuid NOT NULL,
                id uuid NOT NULL,
                phone text NOT NULL,
                code_hash bytea NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                expires_at timestamptz NOT NULL,
                confirmed_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (user_id, id)
            )"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["DROP TABLE phone_confirmations"]).await
    }
}
