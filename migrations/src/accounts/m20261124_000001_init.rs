use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

// Under Citus, `accounts` is distributed by `owner_id` (a customer's accounts live on one
// shard, so `User.accounts` is a single-shard query); its primary key therefore includes
// `owner_id`. Account numbers must be unique across all shards, which a sharded table cannot
// enforce, so they are registered in `account_numbers`, a reference table.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "CREATE TABLE accounts (
                    owner_id uuid NOT NULL,
                    id uuid NOT NULL,
                    number text NOT NULL,
                    kind text NOT NULL CHECK (kind IN ('CHECKING', 'SAVINGS')),
                    currency char(3) NOT NULL,
                    status text NOT NULL CHECK (status IN ('ACTIVE', 'FROZEN', 'CLOSED')),
                    nickname text,
                    freeze_reason text,
                    opened_at timestamptz NOT NULL DEFAULT now(),
                    closed_at timestamptz,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (owner_id, id)
                )",
                "CREATE INDEX accounts_id_idx ON accounts (id)",
                "CREATE TABLE account_numbers (
                    number text PRIMARY KEY,
                    owner_id uuid NOT NULL,
                    account_id uuid NOT NULL
                )",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["DROP TABLE account_numbers", "DROP TABLE accounts"],
        )
        .await
    }
}
