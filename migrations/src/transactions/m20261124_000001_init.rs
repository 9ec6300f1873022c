use sea_orm_migration::prelude::*;

use crate::{run_all, OUTBOX};

#[derive(DeriveMigrationName)]
pub struct Migration;

// Under Citus the ledger's schema is distributed as a whole, so a movement is one local
// transaction on one worker, never a two-phase commit (docs/citus.md).
//
// The `ledger_accounts_funds` check is the last line of defence behind the service's own
// checks: no customer account's available balance goes below its overdraft limit, whatever
// the code above it does.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "CREATE TABLE ledger_accounts (
                    account_id uuid PRIMARY KEY,
                    owner_id uuid,
                    number text,
                    kind text NOT NULL CHECK (kind IN ('CUSTOMER', 'INTERNAL')),
                    currency char(3) NOT NULL,
                    status text NOT NULL CHECK (status IN ('ACTIVE', 'FROZEN', 'CLOSED')),
                    balance_minor bigint NOT NULL DEFAULT 0,
                    held_minor bigint NOT NULL DEFAULT 0 CHECK (held_minor >= 0),
                    overdraft_limit_minor bigint NOT NULL DEFAULT 0 CHECK (overdraft_limit_minor >= 0),
                    daily_withdrawal_limit_minor bigint NOT NULL CHECK (daily_withdrawal_limit_minor >= 0),
                    withdrawn_today_minor bigint NOT NULL DEFAULT 0 CHECK (withdrawn_today_minor >= 0),
                    withdrawn_on date NOT NULL DEFAULT CURRENT_DATE,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT ledger_accounts_funds CHECK (
                        kind = 'INTERNAL' OR balance_minor - held_minor + overdraft_limit_minor >= 0
                    )
                )",
                "CREATE INDEX ledger_accounts_owner_idx ON ledger_accounts (owner_id)",
                "CREATE INDEX ledger_accounts_number_idx ON ledger_accounts (number)",
                "CREATE TABLE transactions (
                    id uuid PRIMARY KEY,
                    kind text NOT NULL,
                    currency char(3) NOT NULL,
                    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                    from_account_id uuid,
                    to_account_id uuid,
                    description text,
                    hold_id uuid,
                    initiated_by uuid,
                    created_at timestamptz NOT NULL DEFAULT now()
                )",
                "CREATE TABLE postings (
                    id bigserial,
                    account_id uuid NOT NULL,
                    transaction_id uuid NOT NULL,
                    amount_minor bigint NOT NULL CHECK (amount_minor <> 0),
                    balance_after_minor bigint NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (account_id, id)
                )",
                "CREATE INDEX postings_transaction_idx ON postings (transaction_id)",
                "CREATE INDEX postings_account_time_idx ON postings (account_id, created_at)",
                "CREATE TABLE holds (
                    id uuid NOT NULL,
                    account_id uuid NOT NULL,
                    to_account_id uuid NOT NULL,
                    currency char(3) NOT NULL,
                    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                    captured_minor bigint NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
                    status text NOT NULL CHECK (status IN ('PENDING', 'CAPTURED', 'VOIDED', 'EXPIRED')),
                    description text,
                    initiated_by uuid,
                    expires_at timestamptz NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    resolved_at timestamptz,
                    CHECK (captured_minor <= amount_minor),
                    PRIMARY KEY (account_id, id)
                )",
                "CREATE INDEX holds_id_idx ON holds (id)",
                "CREATE INDEX holds_account_idx ON holds (account_id, created_at)",
                "CREATE INDEX holds_pending_expiry_idx ON holds (expires_at) WHERE status = 'PENDING'",
                "CREATE TABLE idempotency_keys (
                    principal_id uuid NOT NULL,
                    key text NOT NULL,
                    operation text NOT NULL,
                    request_hash text NOT NULL,
                    result_id uuid NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (principal_id, key)
                )",
                "CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)",
                "CREATE TABLE processed_events (
                    event_id uuid PRIMARY KEY,
                    event_type text NOT NULL,
                    processed_at timestamptz NOT NULL DEFAULT now()
                )",
            ],
        )
        .await?;
        run_all(manager, OUTBOX).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "DROP TABLE outbox",
                "DROP TABLE processed_events",
                "DROP TABLE idempotency_keys",
                "DROP TABLE holds",
                "DROP TABLE postings",
                "DROP TABLE transactions",
                "DROP TABLE ledger_accounts",
            ],
        )
        .await
    }
}
