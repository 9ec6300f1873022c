use sea_orm_migration::prelude::*;

use crate::{run_all, OUTBOX};

#[derive(DeriveMigrationName)]
pub struct Migration;

// Keys include `owner_id`, which a row-sharded layout by customer would need; under Citus the
// schema is distributed as a whole (docs/citus.md).
//
// Money columns are integer minor units. A loan's `repaid_minor` never exceeds what it owes
// (`total_due_minor`), whatever the code above it does. Completing a disbursement or a
// repayment is guarded by its status, so ledger events applied twice change nothing.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "CREATE TABLE loan_products (
                    code text PRIMARY KEY,
                    name text NOT NULL,
                    currency char(3) NOT NULL,
                    annual_rate_bp integer NOT NULL CHECK (annual_rate_bp BETWEEN 0 AND 10000),
                    min_amount_minor bigint NOT NULL CHECK (min_amount_minor > 0),
                    max_amount_minor bigint NOT NULL,
                    min_term_months integer NOT NULL CHECK (min_term_months > 0),
                    max_term_months integer NOT NULL CHECK (max_term_months <= 480),
                    active boolean NOT NULL DEFAULT true,
                    CHECK (max_amount_minor >= min_amount_minor),
                    CHECK (max_term_months >= min_term_months)
                )",
                "INSERT INTO loan_products VALUES
                    ('PERSONAL_EUR', 'Personal loan', 'EUR', 690, 50000, 2500000, 6, 84, true),
                    ('CAR_EUR', 'Car loan', 'EUR', 490, 200000, 7500000, 12, 96, true),
                    ('PERSONAL_USD', 'Personal loan', 'USD', 790, 50000, 2500000, 6, 84, true),
                    ('MICRO_EUR', 'Small loan', 'EUR', 0, 1000, 100000, 1, 12, true)",
                "CREATE TABLE loans (
                    owner_id uuid NOT NULL,
                    id uuid NOT NULL,
                    seq bigserial NOT NULL,
                    account_id uuid NOT NULL,
                    product_code text NOT NULL,
                    currency char(3) NOT NULL,
                    principal_minor bigint NOT NULL CHECK (principal_minor > 0),
                    annual_rate_bp integer NOT NULL,
                    term_months integer NOT NULL CHECK (term_months > 0),
                    monthly_payment_minor bigint NOT NULL,
                    total_due_minor bigint NOT NULL,
                    repaid_minor bigint NOT NULL DEFAULT 0,
                    status text NOT NULL
                        CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'ACTIVE', 'PAID_OFF')),
                    purpose text,
                    application_key text NOT NULL,
                    decided_by uuid,
                    decision_reason text,
                    decided_at timestamptz,
                    disbursement_transaction_id uuid,
                    disbursed_on date,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (owner_id, id),
                    CONSTRAINT loans_application_key UNIQUE (owner_id, application_key),
                    CONSTRAINT loans_repaid_within_due CHECK (repaid_minor BETWEEN 0 AND total_due_minor)
                )",
                "CREATE INDEX loans_id_idx ON loans (id)",
                "CREATE INDEX loans_owner_seq_idx ON loans (owner_id, seq)",
                "CREATE INDEX loans_status_idx ON loans (status, seq)",
                "CREATE TABLE installments (
                    owner_id uuid NOT NULL,
                    loan_id uuid NOT NULL,
                    number integer NOT NULL CHECK (number > 0),
                    due_on date NOT NULL,
                    principal_minor bigint NOT NULL CHECK (principal_minor >= 0),
                    interest_minor bigint NOT NULL CHECK (interest_minor >= 0),
                    PRIMARY KEY (owner_id, loan_id, number)
                )",
                "CREATE INDEX installments_due_idx ON installments (due_on)",
                "CREATE TABLE repayments (
                    owner_id uuid NOT NULL,
                    id uuid NOT NULL,
                    seq bigserial NOT NULL,
                    loan_id uuid NOT NULL,
                    account_id uuid NOT NULL,
                    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
                    idempotency_key text NOT NULL,
                    status text NOT NULL CHECK (status IN ('PENDING', 'POSTED', 'FAILED')),
                    failure_code text,
                    transaction_id uuid,
                    initiated_by uuid NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    settled_at timestamptz,
                    PRIMARY KEY (owner_id, id),
                    CONSTRAINT repayments_key UNIQUE (owner_id, idempotency_key)
                )",
                "CREATE INDEX repayments_loan_idx ON repayments (loan_id, seq)",
                "CREATE INDEX repayments_pending_idx ON repayments (created_at) WHERE status = 'PENDING'",
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
                "DROP TABLE repayments",
                "DROP TABLE installments",
                "DROP TABLE loans",
                "DROP TABLE loan_products",
            ],
        )
        .await
    }
}
