use sea_orm_migration::prelude::*;

use crate::{run_all, OUTBOX};

#[derive(DeriveMigrationName)]
pub struct Migration;

// Under Citus everything a user has is distributed by `user_id` and colocated, so a user's
// notification centre is one shard; `deliveries` and `reminders` carry `user_id` in their keys
// for the same reason.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "CREATE TABLE recipients (
                    user_id uuid PRIMARY KEY,
                    email text,
                    full_name text,
                    phone text,
                    in_app boolean NOT NULL DEFAULT true,
                    email_enabled boolean NOT NULL DEFAULT false,
                    sms_enabled boolean NOT NULL DEFAULT false,
                    alert_threshold bigint NOT NULL DEFAULT 0 CHECK (alert_threshold >= 0),
                    updated_at timestamptz NOT NULL DEFAULT now()
                )",
                "CREATE TABLE notifications (
                    user_id uuid NOT NULL,
                    id uuid NOT NULL,
                    seq bigserial,
                    kind text NOT NULL,
                    title text NOT NULL,
                    body text NOT NULL,
                    data jsonb,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    read_at timestamptz,
                    PRIMARY KEY (user_id, id)
                )",
                "CREATE INDEX notifications_user_seq_idx ON notifications (user_id, seq)",
                "CREATE INDEX notifications_unread_idx ON notifications (user_id, seq) WHERE read_at IS NULL",
                "CREATE TABLE deliveries (
                    user_id uuid NOT NULL,
                    id uuid NOT NULL,
                    notification_id uuid,
                    channel text NOT NULL CHECK (channel IN ('EMAIL', 'SMS')),
                    address text NOT NULL,
                    subject text NOT NULL,
                    body text NOT NULL,
                    status text NOT NULL CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at timestamptz NOT NULL DEFAULT now(),
                    last_error text,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    sent_at timestamptz,
                    PRIMARY KEY (user_id, id)
                )",
                "CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'PENDING'",
                "CREATE TABLE reminders (
                    user_id uuid NOT NULL,
                    id uuid NOT NULL,
                    title text NOT NULL,
                    body text NOT NULL,
                    due_at timestamptz NOT NULL,
                    status text NOT NULL CHECK (status IN ('PENDING', 'SENT')),
                    created_at timestamptz NOT NULL DEFAULT now(),
                    sent_at timestamptz,
                    PRIMARY KEY (user_id, id)
                )",
                "CREATE INDEX reminders_due_idx ON reminders (due_at) WHERE status = 'PENDING'",
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
                "DROP TABLE reminders",
                "DROP TABLE deliveries",
                "DROP TABLE notifications",
                "DROP TABLE recipients",
            ],
        )
        .await
    }
}
