//! Data access for the payments service (SeaORM over the `payments` schema).
//!
//! Every status change is one `UPDATE ... WHERE status IN (...)` so a worker, a gateway callback
//! and a client retry racing for the same payment change it once; each change that others
//! should hear of writes its outbox event in the same transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use bank_common::{outbox, ApiError, ApiResult};

use crate::{domain::PaymentStatus, events};

/// The PostgreSQL schema this service owns.
pub const SCHEMA: &str = "payments";

/// Payees a customer may keep.
pub const MAX_PAYEES_PER_OWNER: u64 = 100;

pub mod payees {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payees")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub iban: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod payments {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub seq: i64,
        pub from_account_id: Uuid,
        pub creditor_name: String,
        pub creditor_iban: String,
        pub currency: String,
        pub amount_minor: i64,
        pub remittance: Option<String>,
        pub idempotency_key: String,
        pub status: String,
        pub failure_code: Option<String>,
        pub failure_reason: Option<String>,
        pub debit_transaction_id: Option<Uuid>,
        pub reversal_transaction_id: Option<Uuid>,
        pub gateway_reference: Option<String>,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub leased_until: Option<DateTimeUtc>,
        pub initiated_by: Uuid,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type PayeeRow = payees::Model;
pub type PaymentRow = payments::Model;

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

// ---------------------------------------------------------------------------------------------
// Payees

/// Adds a payee; the same IBAN twice returns the payee already there (with its name updated).
pub async fn add_payee(
    db: &DatabaseConnection,
    owner_id: Uuid,
    name: &str,
    iban: &str,
) -> ApiResult<PayeeRow> {
    let txn = db.begin().await?;
    txn.execute(stmt(
        "SELECT pg_advisory_xact_lock(hashtext('payments.payees:' || $1::text))",
        [owner_id.into()],
    ))
    .await?;
    let count = payees::Entity::find()
        .filter(payees::Column::OwnerId.eq(owner_id))
        .count(&txn)
        .await?;
    let existing = payees::Entity::find()
        .filter(payees::Column::OwnerId.eq(owner_id))
        .filter(payees::Column::Iban.eq(iban))
        .one(&txn)
        .await?;
    if existing.is_none() && count >= MAX_PAYEES_PER_OWNER {
        return Err(ApiError::LimitExceeded(format!(
            "a customer may keep at most {MAX_PAYEES_PER_OWNER} payees"
        )));
    }
    let row = payees::Entity::find()
        .from_raw_sql(stmt(
            "INSERT INTO payees (owner_id, id, name, iban) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (owner_id, iban) DO UPDATE SET name = excluded.name RETURNING *",
            [
                owner_id.into(),
                Uuid::now_v7().into(),
                name.into(),
                iban.into(),
            ],
        ))
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::internal_msg("the inserted payee vanished"))?;
    txn.commit().await?;
    Ok(row)
}

pub async fn payees_of(db: &impl ConnectionTrait, owner_id: Uuid) -> Result<Vec<PayeeRow>, DbErr> {
    payees::Entity::find()
        .filter(payees::Column::OwnerId.eq(owner_id))
        .order_by_asc(payees::Column::Name)
        .all(db)
        .await
}

pub async fn find_payee(
    db: &impl ConnectionTrait,
    owner_id: Uuid,
    id: Uuid,
) -> Result<Option<PayeeRow>, DbErr> {
    payees::Entity::find_by_id((owner_id, id)).one(db).await
}

pub async fn remove_payee(
    db: &DatabaseConnection,
    owner_id: Uuid,
    id: Uuid,
) -> Result<bool, DbErr> {
    let result = payees::Entity::delete_by_id((owner_id, id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

// ---------------------------------------------------------------------------------------------
// Payments

pub struct NewPayment {
    pub owner_id: Uuid,
    pub from_account_id: Uuid,
    pub creditor_name: String,
    pub creditor_iban: String,
    pub currency: String,
    pub amount_minor: i64,
    pub remittance: Option<String>,
    pub key: String,
    pub initiated_by: Uuid,
}

/// A payment recorded now, or one recorded before under the same idempotency key.
pub enum Recorded {
    New(PaymentRow),
    Existing(PaymentRow),
}

/// Records a payment (`PENDING`) once per idempotency key.
pub async fn record_payment(db: &DatabaseConnection, new: NewPayment) -> ApiResult<Recorded> {
    let now = Utc::now();
    let inserted = payments::Entity::find()
        .from_raw_sql(stmt(
            "INSERT INTO payments (owner_id, id, from_account_id, creditor_name, creditor_iban, \
               currency, amount_minor, remittance, idempotency_key, status, initiated_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'PENDING', $10, $11, $11) \
             ON CONFLICT (owner_id, idempotency_key) DO NOTHING RETURNING *",
            [
                new.owner_id.into(),
                Uuid::now_v7().into(),
                new.from_account_id.into(),
                new.creditor_name.clone().into(),
                new.creditor_iban.clone().into(),
                new.currency.clone().into(),
                new.amount_minor.into(),
                new.remittance.clone().into(),
                new.key.clone().into(),
                new.initiated_by.into(),
                now.into(),
            ],
        ))
        .one(db)
        .await?;
    if let Some(row) = inserted {
        return Ok(Recorded::New(row));
    }
    let existing = payments::Entity::find()
        .filter(payments::Column::OwnerId.eq(new.owner_id))
        .filter(payments::Column::IdempotencyKey.eq(new.key.clone()))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal_msg("a conflicting payment vanished"))?;
    let same = existing.from_account_id == new.from_account_id
        && existing.creditor_iban == new.creditor_iban
        && existing.amount_minor == new.amount_minor
        && existing.remittance == new.remittance;
    if same {
        Ok(Recorded::Existing(existing))
    } else {
        Err(ApiError::IdempotencyKeyReused)
    }
}

pub async fn find_payment(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<PaymentRow>, DbErr> {
    payments::Entity::find()
        .filter(payments::Column::Id.eq(id))
        .one(db)
        .await
}

pub async fn find_payments(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<PaymentRow>, DbErr> {
    payments::Entity::find()
        .filter(payments::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// An owner's payments, newest first: `limit` of them with `seq` below `before`.
pub async fn payments_of(
    db: &impl ConnectionTrait,
    owner_id: Uuid,
    before: i64,
    limit: u64,
) -> Result<Vec<PaymentRow>, DbErr> {
    payments::Entity::find()
        .filter(payments::Column::OwnerId.eq(owner_id))
        .filter(payments::Column::Seq.lt(before))
        .order_by_desc(payments::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// Moves a payment from one of `from` to `to`, setting `changes` (SQL assignments using $3
/// onwards) and writing `event` if it moved. Returns the row after, moved or not.
async fn transition(
    db: &DatabaseConnection,
    id: Uuid,
    from: &[PaymentStatus],
    to: PaymentStatus,
    changes: &str,
    values: Vec<Value>,
    event: Option<&str>,
) -> ApiResult<(PaymentRow, bool)> {
    let txn = db.begin().await?;
    let from: Vec<String> = from.iter().map(|s| s.as_str().to_string()).collect();
    let mut all: Vec<Value> = vec![id.into(), from.into(), to.as_str().into()];
    all.extend(values);
    let set = if changes.is_empty() {
        String::new()
    } else {
        format!(", {changes}")
    };
    let moved = payments::Entity::find()
        .from_raw_sql(stmt(
            &format!(
                "UPDATE payments SET status = $3, updated_at = now(), leased_until = NULL{set} \
                 WHERE id = $1 AND status = ANY($2) RETURNING *"
            ),
            all,
        ))
        .one(&txn)
        .await?;
    match moved {
        Some(row) => {
            if let Some(kind) = event {
                outbox::enqueue(&txn, SCHEMA, &events::event(kind, &row)).await?;
            }
            txn.commit().await?;
            Ok((row, true))
        }
        None => {
            txn.rollback().await?;
            let row = find_payment(db, id)
                .await?
                .ok_or(ApiError::NotFound("payment"))?;
            Ok((row, false))
        }
    }
}

/// The debit is posted: queue the payment for the gateway.
pub async fn debited(
    db: &DatabaseConnection,
    id: Uuid,
    transaction_id: Uuid,
) -> ApiResult<PaymentRow> {
    transition(
        db,
        id,
        &[PaymentStatus::Pending],
        PaymentStatus::Queued,
        "debit_transaction_id = $4, next_attempt_at = now(), attempts = 0",
        vec![transaction_id.into()],
        Some(events::SENT),
    )
    .await
    .map(|(row, _)| row)
}

/// The ledger refused the debit: nothing moved, and nothing will.
pub async fn debit_refused(
    db: &DatabaseConnection,
    id: Uuid,
    code: &str,
    reason: &str,
) -> ApiResult<PaymentRow> {
    transition(
        db,
        id,
        &[PaymentStatus::Pending],
        PaymentStatus::Failed,
        "failure_code = $4, failure_reason = $5",
        vec![code.into(), reason.into()],
        Some(events::FAILED),
    )
    .await
    .map(|(row, _)| row)
}

/// The gateway accepted the payment.
pub async fn submitted(
    db: &DatabaseConnection,
    id: Uuid,
    reference: &str,
) -> ApiResult<PaymentRow> {
    transition(
        db,
        id,
        &[PaymentStatus::Queued],
        PaymentStatus::Submitted,
        "gateway_reference = $4",
        vec![reference.into()],
        None,
    )
    .await
    .map(|(row, _)| row)
}

/// The gateway rejected the payment (or could not take it in time): its money goes back.
pub async fn rejected(
    db: &DatabaseConnection,
    id: Uuid,
    reason: &str,
) -> ApiResult<(PaymentRow, bool)> {
    transition(
        db,
        id,
        &[PaymentStatus::Queued, PaymentStatus::Submitted],
        PaymentStatus::Returning,
        "failure_code = 'REJECTED_BY_GATEWAY', failure_reason = $4, next_attempt_at = now(), attempts = 0",
        vec![reason.into()],
        None,
    )
    .await
}

/// The other bank has the money.
pub async fn settled(db: &DatabaseConnection, id: Uuid) -> ApiResult<(PaymentRow, bool)> {
    transition(
        db,
        id,
        &[PaymentStatus::Queued, PaymentStatus::Submitted],
        PaymentStatus::Completed,
        "",
        vec![],
        Some(events::COMPLETED),
    )
    .await
}

/// The reversal is posted: the money is back.
pub async fn returned(
    db: &DatabaseConnection,
    id: Uuid,
    transaction_id: Uuid,
) -> ApiResult<PaymentRow> {
    transition(
        db,
        id,
        &[PaymentStatus::Returning],
        PaymentStatus::Returned,
        "reversal_transaction_id = $4",
        vec![transaction_id.into()],
        Some(events::RETURNED),
    )
    .await
    .map(|(row, _)| row)
}

/// Records a gateway callback's event id; false if it was applied before.
pub async fn first_callback(
    db: &impl ConnectionTrait,
    event_id: &str,
    payment_id: Uuid,
    status: &str,
) -> Result<bool, DbErr> {
    Ok(db
        .execute(stmt(
            "INSERT INTO gateway_events (event_id, payment_id, status) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [event_id.into(), payment_id.into(), status.into()],
        ))
        .await?
        .rows_affected()
        == 1)
}

/// Takes up to `batch` payments in `status` that are due, for `lease` seconds: other replicas
/// skip them meanwhile, and a crashed worker's lease runs out.
pub async fn lease_due(
    db: &DatabaseConnection,
    status: PaymentStatus,
    older_than: DateTime<Utc>,
    batch: u64,
    lease: std::time::Duration,
) -> Result<Vec<PaymentRow>, DbErr> {
    payments::Entity::find()
        .from_raw_sql(stmt(
            "UPDATE payments SET leased_until = now() + make_interval(secs => $4), attempts = attempts + 1 \
             WHERE (owner_id, id) IN ( \
               SELECT owner_id, id FROM payments \
                WHERE status = $1 AND next_attempt_at <= now() AND created_at <= $2 \
                  AND (leased_until IS NULL OR leased_until < now()) \
                ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING *",
            [
                status.as_str().into(),
                older_than.into(),
                (batch as i64).into(),
                lease.as_secs_f64().into(),
            ],
        ))
        .all(db)
        .await
}

/// Tries a leased payment again after `delay`.
pub async fn retry_later(
    db: &DatabaseConnection,
    id: Uuid,
    delay: std::time::Duration,
    reason: &str,
) -> Result<(), DbErr> {
    db.execute(stmt(
        "UPDATE payments SET leased_until = NULL, failure_reason = $3, \
           next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1",
        [id.into(), delay.as_secs_f64().into(), reason.into()],
    ))
    .await?;
    Ok(())
}
