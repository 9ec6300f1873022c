use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

// Direct debits: mandates the customer gives creditors, and the collections creditors make
// under them (docs/payments.md).
//
// Under Citus, mandates and direct debits are distributed by `owner_id`, colocated with
// payees. A creditor's collection names its mandate by (creditor id, mandate reference) and
// carries the gateway's collection id, neither of which includes the owner: the two look-up
// tables `mandate_keys` and `collection_requests` are distributed by those keys and lead to
// the owner's rows.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "CREATE TABLE mandates (
                    owner_id uuid NOT NULL,
                    id uuid NOT NULL,
                    account_id uuid NOT NULL,
                    currency char(3) NOT NULL,
                    creditor_id text NOT NULL,
                    creditor_name text NOT NULL,
                    reference text NOT NULL,
                    max_amount_minor bigint CHECK (max_amount_minor > 0),
                    status text NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
                    created_at timestamptz NOT NULL DEFAULT now(),
                    revoked_at timestamptz,
                    PRIMARY KEY (owner_id, id)
                )",
                "CREATE INDEX mandates_id_idx ON mandates (id)",
                "CREATE TABLE mandate_keys (
                    creditor_id text NOT NULL,
                    reference text NOT NULL,
                    owner_id uuid NOT NULL,
                    mandate_id uuid NOT NULL,
                    PRIMARY KEY (creditor_id, reference)
                )",
                "CREATE TABLE direct_debits (
                    owner_id uuid NOT NULL,
                    id uuid NOT NULL,
                    seq bigserial NOT NULL,
                    mandate_id uuid NOT NULL,
                    account_id uuid NOT NULL,
                    gateway_collection_id text NOT NULL,
                    currency char(3) NOT NULL,
                    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                    remittance text,
                    status text NOT NULL CHECK (status IN
                        ('PENDING', 'COLLECTED', 'REFUSED', 'REFUNDING', 'REFUNDED')),
                    failure_code text,
                    failure_reason text,
                    debit_transaction_id uuid,
                    refund_transaction_id uuid,
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at timestamptz NOT NULL DEFAULT now(),
                    leased_until timestamptz,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (owner_id, id)
                )",
                "CREATE INDEX direct_debits_id_idx ON direct_debits (id)",
                "CREATE INDEX direct_debits_owner_seq_idx ON direct_debits (owner_id, seq)",
                "CREATE INDEX direct_debits_mandate_seq_idx ON direct_debits (mandate_id, seq)",
                "CREATE INDEX direct_debits_due_idx ON direct_debits (next_attempt_at) \
                   WHERE status IN ('PENDING', 'REFUNDING')",
                "CREATE TABLE collection_requests (
                    gateway_collection_id text PRIMARY KEY,
                    owner_id uuid NOT NULL,
                    direct_debit_id uuid NOT NULL
                )",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "DROP TABLE collection_requests",
                "DROP TABLE direct_debits",
                "DROP TABLE mandate_keys",
                "DROP TABLE mandates",
            ],
        )
        .await
    }
}
