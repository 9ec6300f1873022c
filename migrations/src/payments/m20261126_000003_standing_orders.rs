use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

// Standing orders: a payment to the same creditor, weekly or monthly, made by the worker on each
// due date as an ordinary payment (docs/payments.md). Distributed by `owner_id`, colocated with
// payees, under Citus. A payment made for an order names it in `standing_order_id`, and its
// idempotency key is the order and the date, so each date is paid once.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "CREATE TABLE standing_orders (
                    owner_id uuid NOT NULL,
                    id uuid NOT NULL,
                    seq bigserial NOT NULL,
                    from_account_id uuid NOT NULL,
                    creditor_name text NOT NULL,
                    creditor_iban text NOT NULL,
                    currency char(3) NOT NULL,
                    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                    remittance text,
                    frequency text NOT NULL CHECK (frequency IN ('WEEKLY', 'MONTHLY')),
                    start_on date NOT NULL,
                    end_on date CHECK (end_on >= start_on),
                    next_run_on date,
                    last_run_on date,
                    runs integer NOT NULL DEFAULT 0,
                    status text NOT NULL CHECK (status IN ('ACTIVE', 'CANCELLED', 'ENDED')),
                    idempotency_key text NOT NULL,
                    leased_until timestamptz,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (owner_id, id),
                    CONSTRAINT standing_orders_key UNIQUE (owner_id, idempotency_key)
                )",
                "CREATE INDEX standing_orders_id_idx ON standing_orders (id)",
                "CREATE INDEX standing_orders_due_idx ON standing_orders (next_run_on) WHERE status = 'ACTIVE'",
                "ALTER TABLE payments ADD COLUMN standing_order_id uuid",
                "CREATE INDEX payments_standing_order_idx ON payments (standing_order_id, seq) \
                   WHERE standing_order_id IS NOT NULL",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "ALTER TABLE payments DROP COLUMN standing_order_id",
                "DROP TABLE standing_orders",
            ],
        )
        .await
    }
}
