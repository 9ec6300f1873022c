use sea_orm_migration::prelude::*;

use crate::{run_all, OUTBOX};

#[derive(DeriveMigrationName)]
pub struct Migration;

// Keys include `owner_id`, which a row-sharded layout by customer would need; under Citus the
// schema is distributed as a whole (docs/citus.md).
//
// A payment's life is its `status`; every change is guarded by the status it comes from, so a
// worker, a callback and a client retry racing for the same payment change it once.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "CREATE TABLE payees (
                    owner_id uuid NOT NULL,
                    id uuid NOT NULL,
                    name text NOT NULL,
                    iban text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (owner_id, id),
                    CONSTRAINT payees_owner_iban UNIQUE (owner_id, iban)
                )",
                "CREATE TABLE payments (
                    owner_id uuid NOT NULL,
                    id uuid NOT NULL,
                    seq bigserial NOT NULL,
                    from_account_id uuid NOT NULL,
                    creditor_name text NOT NULL,
                    creditor_iban text NOT NULL,
                    currency char(3) NOT NULL,
                    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                    remittance text,
                    idempotency_key text NOT NULL,
                    status text NOT NULL CHECK (status IN
                        ('PENDING', 'QUEUED', 'SUBMITTED', 'COMPLETED', 'FAILED', 'RETURNING', 'RETURNED')),
                    failure_code text,
                    failure_reason text,
                    debit_transaction_id uuid,
                    reversal_transaction_id uuid,
                    gateway_reference text,
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at timestamptz NOT NULL DEFAULT now(),
                    leased_until timestamptz,
                    initiated_by uuid NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (owner_id, id),
                    CONSTRAINT payments_key UNIQUE (owner_id, idempotency_key)
                )",
                "CREATE INDEX payments_id_idx ON payments (id)",
                "CREATE INDEX payments_owner_seq_idx ON payments (owner_id, seq)",
                "CREATE INDEX payments_due_idx ON payments (next_attempt_at) WHERE status IN ('QUEUED', 'RETURNING')",
                "CREATE TABLE gateway_events (
                    event_id text PRIMARY KEY,
                    payment_id uuid NOT NULL,
                    status text NOT NULL,
                    received_at timestamptz NOT NULL DEFAULT now()
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
                "DROP TABLE gateway_events",
                "DROP TABLE payments",
                "DROP TABLE payees",
            ],
        )
        .await
    }
}
