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

use crate::{
    domain::{DirectDebitStatus, PaymentStatus},
    events,
};

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
        /// The standing order it was made for, if any.
        pub standing_order_id: Option<Uuid>,
        /// Since when a submission may have been acted on without a clear answer.
        pub outcome_unknown_since: Option<DateTimeUtc>,
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
    pub standing_order_id: Option<Uuid>,
}

/// A row recorded now, or one recorded before under the same key.
pub enum Recorded<T = PaymentRow> {
    New(T),
    Existing(T),
}

/// Records the payment of a standing order's date `run_on`, only while the order is active and
/// that date is still its next one. The order's row is locked meanwhile, so a cancellation
/// either comes first (and nothing is recorded: `None`) or waits until the payment is.
pub async fn record_standing_order_payment(
    db: &DatabaseConnection,
    order: &StandingOrderRow,
    run_on: chrono::NaiveDate,
    new: NewPayment,
) -> ApiResult<Option<Recorded>> {
    let txn = db.begin().await?;
    let due = txn
        .query_one(stmt(
            "SELECT 1 FROM standing_orders WHERE owner_id = $1 AND id = $2 \
               AND status = 'ACTIVE' AND next_run_on = $3 FOR UPDATE",
            [order.owner_id.into(), order.id.into(), run_on.into()],
        ))
        .await?;
    if due.is_none() {
        txn.rollback().await?;
        return Ok(None);
    }
    let recorded = record_payment(&txn, new).await?;
    txn.commit().await?;
    Ok(Some(recorded))
}

/// Records a payment (`PENDING`) once per idempotency key.
pub async fn record_payment(db: &impl ConnectionTrait, new: NewPayment) -> ApiResult<Recorded> {
    let now = Utc::now();
    let inserted = payments::Entity::find()
        .from_raw_sql(stmt(
            "INSERT INTO payments (owner_id, id, from_account_id, creditor_name, creditor_iban, \
               currency, amount_minor, remittance, idempotency_key, status, initiated_by, created_at, updated_at, \
               standing_order_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'PENDING', $10, $11, $11, $12) \
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
                new.standing_order_id.into(),
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

/// An owner's payments newest first (all, or one standing order's): `limit` of them with `seq`
/// below `before`.
pub async fn payments_of(
    db: &impl ConnectionTrait,
    owner_id: Uuid,
    standing_order: Option<Uuid>,
    before: i64,
    limit: u64,
) -> Result<Vec<PaymentRow>, DbErr> {
    let mut query = payments::Entity::find()
        .filter(payments::Column::OwnerId.eq(owner_id))
        .filter(payments::Column::Seq.lt(before));
    if let Some(order) = standing_order {
        query = query.filter(payments::Column::StandingOrderId.eq(order));
    }
    query
        .order_by_desc(payments::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// Moves a row of `table` (payments or direct debits) from one of the statuses `from` to `to`,
/// setting `changes` (SQL assignments using $4 onwards) and writing the event `event` makes of
/// the row, if it moved, in the same transaction. Returns the row after, moved or not: a worker,
/// a callback and a client retry racing for the same row change it once.
#[allow(clippy::too_many_arguments)]
async fn guarded_transition<E>(
    db: &DatabaseConnection,
    table: &str,
    id: Uuid,
    from: Vec<String>,
    to: &str,
    changes: &str,
    values: Vec<Value>,
    event: impl FnOnce(&E::Model) -> Option<bank_common::events::OutgoingEvent>,
) -> ApiResult<(E::Model, bool)>
where
    E: EntityTrait,
    E::Model: sea_orm::FromQueryResult + Send + Sync,
{
    let txn = db.begin().await?;
    let mut all: Vec<Value> = vec![id.into(), from.into(), to.into()];
    all.extend(values);
    let set = if changes.is_empty() {
        String::new()
    } else {
        format!(", {changes}")
    };
    let moved = E::find()
        .from_raw_sql(stmt(
            &format!(
                "UPDATE {table} SET status = $3, updated_at = now(), leased_until = NULL{set} \
                 WHERE id = $1 AND status = ANY($2) RETURNING *"
            ),
            all,
        ))
        .one(&txn)
        .await?;
    match moved {
        Some(row) => {
            if let Some(event) = event(&row) {
                outbox::enqueue(&txn, SCHEMA, &event).await?;
            }
            txn.commit().await?;
            Ok((row, true))
        }
        None => {
            txn.rollback().await?;
            let row = E::find()
                .from_raw_sql(stmt(
                    &format!("SELECT * FROM {table} WHERE id = $1"),
                    [id.into()],
                ))
                .one(db)
                .await?
                .ok_or(ApiError::NotFound(if table == "payments" {
                    "payment"
                } else {
                    "direct debit"
                }))?;
            Ok((row, false))
        }
    }
}

/// Moves a payment (see `guarded_transition`).
async fn transition(
    db: &DatabaseConnection,
    id: Uuid,
    from: &[PaymentStatus],
    to: PaymentStatus,
    changes: &str,
    values: Vec<Value>,
    event: Option<&str>,
) -> ApiResult<(PaymentRow, bool)> {
    guarded_transition::<payments::Entity>(
        db,
        "payments",
        id,
        from.iter().map(|s| s.as_str().to_string()).collect(),
        to.as_str(),
        changes,
        values,
        |row| event.map(|kind| events::event(kind, row)),
    )
    .await
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
    lease_due_in::<payments::Entity>(db, "payments", status.as_str(), older_than, batch, lease)
        .await
}

/// Leases due rows of `table` (payments or direct debits) in `status`, created before
/// `older_than`.
async fn lease_due_in<E>(
    db: &DatabaseConnection,
    table: &str,
    status: &str,
    older_than: DateTime<Utc>,
    batch: u64,
    lease: std::time::Duration,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: sea_orm::FromQueryResult + Send + Sync,
{
    E::find()
        .from_raw_sql(stmt(
            &format!(
                "UPDATE {table} SET leased_until = now() + make_interval(secs => $4), attempts = attempts + 1 \
                 WHERE (owner_id, id) IN ( \
                   SELECT owner_id, id FROM {table} \
                    WHERE status = $1 AND next_attempt_at <= now() AND created_at <= $2 \
                      AND (leased_until IS NULL OR leased_until < now()) \
                    ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING *"
            ),
            [
                status.into(),
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
    reschedule(db, id, delay, reason, false).await
}

/// Notes that a submission may have been acted on (the lease is kept).
pub async fn note_outcome_unknown(db: &DatabaseConnection, id: Uuid) -> Result<(), DbErr> {
    db.execute(stmt(
        // least(), not coalesce(): the first time stays (never later than now()), and Citus
        // refuses now() inside COALESCE or CASE.
        "UPDATE payments SET outcome_unknown_since = least(outcome_unknown_since, now()) WHERE id = $1",
        [id.into()],
    ))
    .await?;
    Ok(())
}

/// Like [`retry_later`], for a submission the gateway may have acted on: the payment is marked
/// as of unknown outcome (the first time), so its money goes back only on a definite answer.
pub async fn outcome_unknown(
    db: &DatabaseConnection,
    id: Uuid,
    delay: std::time::Duration,
    reason: &str,
) -> Result<(), DbErr> {
    reschedule(db, id, delay, reason, true).await
}

async fn reschedule(
    db: &DatabaseConnection,
    id: Uuid,
    delay: std::time::Duration,
    reason: &str,
    unknown: bool,
) -> Result<(), DbErr> {
    // The first time an outcome became unknown stays (least() keeps the earlier time; Citus
    // refuses now() inside COALESCE or CASE).
    let sql = if unknown {
        "UPDATE payments SET leased_until = NULL, failure_reason = $3, \
           outcome_unknown_since = least(outcome_unknown_since, now()), \
           next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1"
    } else {
        "UPDATE payments SET leased_until = NULL, failure_reason = $3, \
           next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1"
    };
    db.execute(stmt(
        sql,
        [id.into(), delay.as_secs_f64().into(), reason.into()],
    ))
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Direct debits: mandates and the collections made under them

/// Active mandates a customer may hold.
pub const MAX_MANDATES_PER_OWNER: u64 = 50;

pub mod mandates {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mandates")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub account_id: Uuid,
        pub currency: String,
        pub creditor_id: String,
        pub creditor_name: String,
        pub reference: String,
        pub max_amount_minor: Option<i64>,
        pub status: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod direct_debits {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "direct_debits")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub seq: i64,
        pub mandate_id: Uuid,
        pub account_id: Uuid,
        pub gateway_collection_id: String,
        pub currency: String,
        pub amount_minor: i64,
        pub remittance: Option<String>,
        pub status: String,
        pub failure_code: Option<String>,
        pub failure_reason: Option<String>,
        pub debit_transaction_id: Option<Uuid>,
        pub refund_transaction_id: Option<Uuid>,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub leased_until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type MandateRow = mandates::Model;
pub type DirectDebitRow = direct_debits::Model;

pub struct NewMandate {
    pub owner_id: Uuid,
    pub account_id: Uuid,
    pub currency: String,
    pub creditor_id: String,
    pub creditor_name: String,
    pub reference: String,
    pub max_amount_minor: Option<i64>,
}

/// Records a mandate. The same mandate again (creditor, reference, owner and account) returns
/// the one recorded; a creditor's reference is one mandate, so any other use of it is refused.
pub async fn create_mandate(db: &DatabaseConnection, new: NewMandate) -> ApiResult<MandateRow> {
    let txn = db.begin().await?;
    txn.execute(stmt(
        "SELECT pg_advisory_xact_lock(hashtext('payments.mandates:' || $1::text))",
        [new.owner_id.into()],
    ))
    .await?;
    let id = Uuid::now_v7();
    let claimed = txn
        .execute(stmt(
            "INSERT INTO mandate_keys (creditor_id, reference, owner_id, mandate_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [
                new.creditor_id.clone().into(),
                new.reference.clone().into(),
                new.owner_id.into(),
                id.into(),
            ],
        ))
        .await?
        .rows_affected()
        == 1;
    if !claimed {
        txn.rollback().await?;
        let existing = mandate_by_key(db, &new.creditor_id, &new.reference)
            .await?
            .ok_or_else(|| ApiError::internal_msg("a claimed mandate reference has no mandate"))?;
        let same = existing.owner_id == new.owner_id
            && existing.account_id == new.account_id
            && existing.creditor_name == new.creditor_name
            && existing.max_amount_minor == new.max_amount_minor
            && existing.status == crate::domain::MandateStatus::Active.as_str();
        return if same {
            Ok(existing)
        } else {
            Err(ApiError::bad_input(
                "reference",
                "this creditor already has a mandate with this reference",
            ))
        };
    }
    let active = mandates::Entity::find()
        .filter(mandates::Column::OwnerId.eq(new.owner_id))
        .filter(mandates::Column::Status.eq("ACTIVE"))
        .count(&txn)
        .await?;
    if active >= MAX_MANDATES_PER_OWNER {
        return Err(ApiError::LimitExceeded(format!(
            "a customer may hold at most {MAX_MANDATES_PER_OWNER} active mandates"
        )));
    }
    let row = mandates::Entity::find()
        .from_raw_sql(stmt(
            "INSERT INTO mandates (owner_id, id, account_id, currency, creditor_id, creditor_name, \
               reference, max_amount_minor, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'ACTIVE') RETURNING *",
            [
                new.owner_id.into(),
                id.into(),
                new.account_id.into(),
                new.currency.into(),
                new.creditor_id.into(),
                new.creditor_name.into(),
                new.reference.into(),
                new.max_amount_minor.into(),
            ],
        ))
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::internal_msg("the inserted mandate vanished"))?;
    txn.commit().await?;
    Ok(row)
}

/// The mandate a creditor names by its identifier and reference.
pub async fn mandate_by_key(
    db: &impl ConnectionTrait,
    creditor_id: &str,
    reference: &str,
) -> Result<Option<MandateRow>, DbErr> {
    mandates::Entity::find()
        .from_raw_sql(stmt(
            "SELECT m.* FROM mandate_keys k \
               JOIN mandates m ON m.owner_id = k.owner_id AND m.id = k.mandate_id \
              WHERE k.creditor_id = $1 AND k.reference = $2",
            [creditor_id.into(), reference.into()],
        ))
        .one(db)
        .await
}

pub async fn find_mandate(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<MandateRow>, DbErr> {
    mandates::Entity::find()
        .filter(mandates::Column::Id.eq(id))
        .one(db)
        .await
}

/// A customer's mandates, active first, then newest first.
pub async fn mandates_of(
    db: &impl ConnectionTrait,
    owner_id: Uuid,
) -> Result<Vec<MandateRow>, DbErr> {
    mandates::Entity::find()
        .filter(mandates::Column::OwnerId.eq(owner_id))
        .order_by_asc(mandates::Column::Status)
        .order_by_desc(mandates::Column::CreatedAt)
        .all(db)
        .await
}

/// Revokes an active mandate; revoking a revoked one changes nothing.
pub async fn revoke_mandate(
    db: &DatabaseConnection,
    owner_id: Uuid,
    id: Uuid,
) -> ApiResult<MandateRow> {
    let revoked = mandates::Entity::find()
        .from_raw_sql(stmt(
            "UPDATE mandates SET status = 'REVOKED', revoked_at = now() \
             WHERE owner_id = $1 AND id = $2 AND status = 'ACTIVE' RETURNING *",
            [owner_id.into(), id.into()],
        ))
        .one(db)
        .await?;
    match revoked {
        Some(row) => Ok(row),
        None => mandates::Entity::find_by_id((owner_id, id))
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("mandate")),
    }
}

pub struct NewDirectDebit {
    pub mandate: MandateRow,
    pub gateway_collection_id: String,
    pub amount_minor: i64,
    pub remittance: Option<String>,
    /// Set when the mandate refuses the collection: recorded `REFUSED` with this code and reason.
    pub refusal: Option<(&'static str, String)>,
}

/// Records a creditor's collection once per gateway collection id: a repeat of the request
/// returns the collection recorded the first time, whatever it asks.
pub async fn record_direct_debit(
    db: &DatabaseConnection,
    new: NewDirectDebit,
) -> ApiResult<Recorded<DirectDebitRow>> {
    let creditor_name = new.mandate.creditor_name.clone();
    let txn = db.begin().await?;
    let id = Uuid::now_v7();
    let claimed = txn
        .execute(stmt(
            "INSERT INTO collection_requests (gateway_collection_id, owner_id, direct_debit_id) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [
                new.gateway_collection_id.clone().into(),
                new.mandate.owner_id.into(),
                id.into(),
            ],
        ))
        .await?
        .rows_affected()
        == 1;
    if !claimed {
        txn.rollback().await?;
        let existing = direct_debits::Entity::find()
            .from_raw_sql(stmt(
                "SELECT d.* FROM collection_requests r \
                   JOIN direct_debits d ON d.owner_id = r.owner_id AND d.id = r.direct_debit_id \
                  WHERE r.gateway_collection_id = $1",
                [new.gateway_collection_id.into()],
            ))
            .one(db)
            .await?
            .ok_or_else(|| ApiError::internal_msg("a claimed collection has no direct debit"))?;
        return Ok(Recorded::Existing(existing));
    }
    // The mandate as it is now, locked until the collection is recorded: a revocation either
    // came first (and refuses it) or waits for it, never slips between the read and the write.
    let locked = txn
        .query_one(stmt(
            "SELECT status FROM mandates WHERE owner_id = $1 AND id = $2 FOR UPDATE",
            [new.mandate.owner_id.into(), new.mandate.id.into()],
        ))
        .await?
        .ok_or(ApiError::NotFound("mandate"))?;
    let status_now: String = locked.try_get("", "status")?;
    let refusal = new.refusal.or_else(|| {
        crate::domain::mandate_refusal(
            crate::domain::MandateStatus::from_db(&status_now),
            &new.mandate.currency,
            new.mandate.max_amount_minor,
            &new.mandate.currency,
            new.amount_minor,
        )
    });
    let (status, code, reason) = match refusal {
        Some((code, reason)) => ("REFUSED", Some(code.to_string()), Some(reason)),
        None => ("PENDING", None, None),
    };
    let row = direct_debits::Entity::find()
        .from_raw_sql(stmt(
            "INSERT INTO direct_debits (owner_id, id, mandate_id, account_id, gateway_collection_id, \
               currency, amount_minor, remittance, status, failure_code, failure_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *",
            [
                new.mandate.owner_id.into(),
                id.into(),
                new.mandate.id.into(),
                new.mandate.account_id.into(),
                new.gateway_collection_id.into(),
                new.mandate.currency.into(),
                new.amount_minor.into(),
                new.remittance.into(),
                status.into(),
                code.into(),
                reason.into(),
            ],
        ))
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::internal_msg("the inserted direct debit vanished"))?;
    if status == "REFUSED" {
        outbox::enqueue(
            &txn,
            SCHEMA,
            &events::direct_debit_event(events::DIRECT_DEBIT_REFUSED, &row, &creditor_name),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(Recorded::New(row))
}

pub async fn find_direct_debit(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<DirectDebitRow>, DbErr> {
    direct_debits::Entity::find()
        .filter(direct_debits::Column::Id.eq(id))
        .one(db)
        .await
}

/// Direct debits newest first: an owner's (`mandate` None) or one mandate's, `limit` of them
/// with `seq` below `before`.
pub async fn direct_debits_of(
    db: &impl ConnectionTrait,
    owner_id: Uuid,
    mandate: Option<Uuid>,
    before: i64,
    limit: u64,
) -> Result<Vec<DirectDebitRow>, DbErr> {
    let mut query = direct_debits::Entity::find()
        .filter(direct_debits::Column::OwnerId.eq(owner_id))
        .filter(direct_debits::Column::Seq.lt(before));
    if let Some(mandate) = mandate {
        query = query.filter(direct_debits::Column::MandateId.eq(mandate));
    }
    query
        .order_by_desc(direct_debits::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// Moves a direct debit (see `guarded_transition`); its event names the mandate's creditor.
#[allow(clippy::too_many_arguments)]
async fn direct_debit_transition(
    db: &DatabaseConnection,
    id: Uuid,
    from: &[DirectDebitStatus],
    to: DirectDebitStatus,
    changes: &str,
    values: Vec<Value>,
    event: Option<&str>,
    creditor_name: &str,
) -> ApiResult<(DirectDebitRow, bool)> {
    guarded_transition::<direct_debits::Entity>(
        db,
        "direct_debits",
        id,
        from.iter().map(|s| s.as_str().to_string()).collect(),
        to.as_str(),
        changes,
        values,
        |row| event.map(|kind| events::direct_debit_event(kind, row, creditor_name)),
    )
    .await
}

/// The ledger posted the collection's debit.
pub async fn collected(
    db: &DatabaseConnection,
    id: Uuid,
    transaction_id: Uuid,
    creditor_name: &str,
) -> ApiResult<DirectDebitRow> {
    direct_debit_transition(
        db,
        id,
        &[DirectDebitStatus::Pending],
        DirectDebitStatus::Collected,
        "debit_transaction_id = $4",
        vec![transaction_id.into()],
        Some(events::DIRECT_DEBIT_COLLECTED),
        creditor_name,
    )
    .await
    .map(|(row, _)| row)
}

/// The ledger refused the collection's debit: nothing moved.
pub async fn collection_refused(
    db: &DatabaseConnection,
    id: Uuid,
    code: &str,
    reason: &str,
    creditor_name: &str,
) -> ApiResult<DirectDebitRow> {
    direct_debit_transition(
        db,
        id,
        &[DirectDebitStatus::Pending],
        DirectDebitStatus::Refused,
        "failure_code = $4, failure_reason = $5",
        vec![code.into(), reason.into()],
        Some(events::DIRECT_DEBIT_REFUSED),
        creditor_name,
    )
    .await
    .map(|(row, _)| row)
}

/// The debtor asked for a refund of a collected debit within the refund window.
pub async fn refunding(db: &DatabaseConnection, id: Uuid) -> ApiResult<(DirectDebitRow, bool)> {
    direct_debit_transition(
        db,
        id,
        &[DirectDebitStatus::Collected],
        DirectDebitStatus::Refunding,
        "next_attempt_at = now(), attempts = 0",
        vec![],
        None,
        "",
    )
    .await
}

/// The refund is posted: the money is back.
pub async fn refunded(
    db: &DatabaseConnection,
    id: Uuid,
    transaction_id: Uuid,
    creditor_name: &str,
) -> ApiResult<DirectDebitRow> {
    direct_debit_transition(
        db,
        id,
        &[DirectDebitStatus::Refunding],
        DirectDebitStatus::Refunded,
        "refund_transaction_id = $4",
        vec![transaction_id.into()],
        Some(events::DIRECT_DEBIT_REFUNDED),
        creditor_name,
    )
    .await
    .map(|(row, _)| row)
}

/// Takes up to `batch` due direct debits in `status` created before `older_than`, for `lease`.
pub async fn lease_due_direct_debits(
    db: &DatabaseConnection,
    status: DirectDebitStatus,
    older_than: DateTime<Utc>,
    batch: u64,
    lease: std::time::Duration,
) -> Result<Vec<DirectDebitRow>, DbErr> {
    lease_due_in::<direct_debits::Entity>(
        db,
        "direct_debits",
        status.as_str(),
        older_than,
        batch,
        lease,
    )
    .await
}

/// Tries a leased direct debit again after `delay`.
pub async fn retry_direct_debit_later(
    db: &DatabaseConnection,
    id: Uuid,
    delay: std::time::Duration,
) -> Result<(), DbErr> {
    db.execute(stmt(
        "UPDATE direct_debits SET leased_until = NULL, \
           next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1",
        [id.into(), delay.as_secs_f64().into()],
    ))
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Standing orders

/// Active standing orders a customer may hold.
pub const MAX_STANDING_ORDERS_PER_OWNER: u64 = 20;

pub mod standing_orders {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "standing_orders")]
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
        pub frequency: String,
        pub start_on: Date,
        pub end_on: Option<Date>,
        pub next_run_on: Option<Date>,
        pub last_run_on: Option<Date>,
        pub runs: i32,
        pub status: String,
        pub idempotency_key: String,
        pub leased_until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type StandingOrderRow = standing_orders::Model;

pub struct NewStandingOrder {
    pub owner_id: Uuid,
    pub from_account_id: Uuid,
    pub creditor_name: String,
    pub creditor_iban: String,
    pub currency: String,
    pub amount_minor: i64,
    pub remittance: Option<String>,
    pub frequency: crate::domain::Frequency,
    pub start_on: chrono::NaiveDate,
    pub end_on: Option<chrono::NaiveDate>,
    pub key: String,
}

/// Records a standing order once per idempotency key; at most
/// `MAX_STANDING_ORDERS_PER_OWNER` active.
pub async fn create_standing_order(
    db: &DatabaseConnection,
    new: NewStandingOrder,
) -> ApiResult<StandingOrderRow> {
    let txn = db.begin().await?;
    txn.execute(stmt(
        "SELECT pg_advisory_xact_lock(hashtext('payments.standing_orders:' || $1::text))",
        [new.owner_id.into()],
    ))
    .await?;
    let existing = standing_orders::Entity::find()
        .filter(standing_orders::Column::OwnerId.eq(new.owner_id))
        .filter(standing_orders::Column::IdempotencyKey.eq(new.key.clone()))
        .one(&txn)
        .await?;
    if let Some(existing) = existing {
        let same = existing.from_account_id == new.from_account_id
            && existing.creditor_iban == new.creditor_iban
            && existing.amount_minor == new.amount_minor
            && existing.frequency == new.frequency.as_str()
            && existing.start_on == new.start_on
            && existing.end_on == new.end_on
            && existing.remittance == new.remittance;
        return if same {
            Ok(existing)
        } else {
            Err(ApiError::IdempotencyKeyReused)
        };
    }
    let active = standing_orders::Entity::find()
        .filter(standing_orders::Column::OwnerId.eq(new.owner_id))
        .filter(standing_orders::Column::Status.eq("ACTIVE"))
        .count(&txn)
        .await?;
    if active >= MAX_STANDING_ORDERS_PER_OWNER {
        return Err(ApiError::LimitExceeded(format!(
            "a customer may hold at most {MAX_STANDING_ORDERS_PER_OWNER} active standing orders"
        )));
    }
    let row = standing_orders::Entity::find()
        .from_raw_sql(stmt(
            "INSERT INTO standing_orders (owner_id, id, from_account_id, creditor_name, creditor_iban, \
               currency, amount_minor, remittance, frequency, start_on, end_on, next_run_on, status, \
               idempotency_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, 'ACTIVE', $12) RETURNING *",
            [
                new.owner_id.into(),
                Uuid::now_v7().into(),
                new.from_account_id.into(),
                new.creditor_name.into(),
                new.creditor_iban.into(),
                new.currency.into(),
                new.amount_minor.into(),
                new.remittance.into(),
                new.frequency.as_str().into(),
                new.start_on.into(),
                new.end_on.into(),
                new.key.into(),
            ],
        ))
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::internal_msg("the inserted standing order vanished"))?;
    txn.commit().await?;
    Ok(row)
}

pub async fn find_standing_order(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<StandingOrderRow>, DbErr> {
    standing_orders::Entity::find()
        .filter(standing_orders::Column::Id.eq(id))
        .one(db)
        .await
}

/// A customer's standing orders, active first, then newest first.
pub async fn standing_orders_of(
    db: &impl ConnectionTrait,
    owner_id: Uuid,
) -> Result<Vec<StandingOrderRow>, DbErr> {
    standing_orders::Entity::find()
        .filter(standing_orders::Column::OwnerId.eq(owner_id))
        .order_by_asc(standing_orders::Column::Status)
        .order_by_desc(standing_orders::Column::Seq)
        .all(db)
        .await
}

/// Cancels an active standing order; cancelling one that is over changes nothing.
pub async fn cancel_standing_order(
    db: &DatabaseConnection,
    owner_id: Uuid,
    id: Uuid,
) -> ApiResult<StandingOrderRow> {
    let cancelled = standing_orders::Entity::find()
        .from_raw_sql(stmt(
            "UPDATE standing_orders SET status = 'CANCELLED', next_run_on = NULL, updated_at = now() \
             WHERE owner_id = $1 AND id = $2 AND status = 'ACTIVE' RETURNING *",
            [owner_id.into(), id.into()],
        ))
        .one(db)
        .await?;
    match cancelled {
        Some(row) => Ok(row),
        None => standing_orders::Entity::find_by_id((owner_id, id))
            .one(db)
            .await?
            .ok_or(ApiError::NotFound("standing order")),
    }
}

/// Takes up to `batch` active standing orders due on or before `today`, for `lease`.
pub async fn lease_due_standing_orders(
    db: &DatabaseConnection,
    today: chrono::NaiveDate,
    batch: u64,
    lease: std::time::Duration,
) -> Result<Vec<StandingOrderRow>, DbErr> {
    standing_orders::Entity::find()
        .from_raw_sql(stmt(
            "UPDATE standing_orders SET leased_until = now() + make_interval(secs => $3) \
             WHERE (owner_id, id) IN ( \
               SELECT owner_id, id FROM standing_orders \
                WHERE status = 'ACTIVE' AND next_run_on <= $1 \
                  AND (leased_until IS NULL OR leased_until < now()) \
                ORDER BY next_run_on LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING *",
            [
                today.into(),
                (batch as i64).into(),
                lease.as_secs_f64().into(),
            ],
        ))
        .all(db)
        .await
}

/// Moves a standing order past `ran_on` (paid): to `next`, or `ENDED` when `next` is past its
/// last date. Guarded by `ran_on`, so a second worker that paid the same date changes nothing.
pub async fn advance_standing_order(
    db: &DatabaseConnection,
    id: Uuid,
    ran_on: chrono::NaiveDate,
    next: chrono::NaiveDate,
) -> Result<(), DbErr> {
    db.execute(stmt(
        "UPDATE standing_orders SET \
           status = CASE WHEN end_on IS NOT NULL AND $3 > end_on THEN 'ENDED' ELSE status END, \
           next_run_on = CASE WHEN end_on IS NOT NULL AND $3 > end_on THEN NULL ELSE $3 END, \
           last_run_on = $2, runs = runs + 1, leased_until = NULL, updated_at = now() \
         WHERE id = $1 AND status = 'ACTIVE' AND next_run_on = $2",
        [id.into(), ran_on.into(), next.into()],
    ))
    .await?;
    Ok(())
}

/// Lets another worker take a standing order again after `delay`.
pub async fn release_standing_order(
    db: &DatabaseConnection,
    id: Uuid,
    delay: std::time::Duration,
) -> Result<(), DbErr> {
    db.execute(stmt(
        "UPDATE standing_orders SET leased_until = now() + make_interval(secs => $2) WHERE id = $1",
        [id.into(), delay.as_secs_f64().into()],
    ))
    .await?;
    Ok(())
}

/// The payments service's side of reconciliation ([`bank_common::reconcile`]), read in one
/// repeatable-read snapshot: what each payment and direct debit says the ledger holds under
/// its references (`payment:<id>:debit`, `payment:<id>:reversal`, and the same for
/// `direct-debit:`), which of them are still between two states, and standing orders whose
/// count of paid dates differs from their payments.
pub async fn reconciliation_records(
    db: &DatabaseConnection,
    settle_within: std::time::Duration,
) -> Result<bank_common::reconcile::Records, DbErr> {
    use bank_common::reconcile::{Expect, Expected, Mismatch, MismatchKind, Open, Records};
    let txn = bank_common::db::snapshot(db).await?;
    let mut records = Records::default();
    for (table, subject, account) in [
        ("payments", "payment", "from_account_id"),
        ("direct_debits", "direct-debit", "account_id"),
    ] {
        let rows = txn
            .query_all(stmt(
                &format!(
                    "SELECT id, {account} AS account_id, currency::text AS currency, amount_minor, \
                       status, updated_at FROM {table}"
                ),
                [],
            ))
            .await?;
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            let status: String = row.try_get("", "status")?;
            let posted = Expect::Posted {
                amount_minor: row.try_get("", "amount_minor")?,
                currency: row.try_get("", "currency")?,
                account_id: row.try_get("", "account_id")?,
            };
            // (the debit, the money given back, whether the record is still moving)
            let (debit, back, open) = match status.as_str() {
                "PENDING" => (Expect::Either, Expect::Absent, true),
                "QUEUED" | "SUBMITTED" => (posted.clone(), Expect::Absent, true),
                "COMPLETED" | "COLLECTED" => (posted.clone(), Expect::Absent, false),
                "FAILED" | "REFUSED" => (Expect::Absent, Expect::Absent, false),
                "RETURNING" | "REFUNDING" => (posted.clone(), Expect::Either, true),
                "RETURNED" | "REFUNDED" => (posted.clone(), posted, false),
                other => {
                    records.internal.push(Mismatch::new(
                        MismatchKind::RecordsDisagree,
                        format!("{subject}:{id}"),
                        format!("unknown status {other}"),
                    ));
                    continue;
                }
            };
            records.expected.push(Expected {
                reference: format!("{subject}:{id}:debit"),
                expect: debit,
            });
            records.expected.push(Expected {
                reference: format!("{subject}:{id}:reversal"),
                expect: back,
            });
            if open {
                // The other bank settles a submitted payment within days, not minutes.
                let patience = (status == "SUBMITTED").then_some(settle_within);
                records.open.push(Open {
                    subject: format!("{subject}:{id}"),
                    state: status,
                    since: row.try_get("", "updated_at")?,
                    patience,
                });
            }
            records.checked += 1;
        }
    }
    // Each date a standing order paid (`runs`) is one payment, and each payment one date.
    for row in txn
        .query_all(stmt(
            "SELECT s.id, s.runs::int8 AS runs, \
               (SELECT count(*) FROM payments p WHERE p.owner_id = s.owner_id \
                  AND p.standing_order_id = s.id) AS payments \
             FROM standing_orders s",
            [],
        ))
        .await?
    {
        let id: Uuid = row.try_get("", "id")?;
        let runs: i64 = row.try_get("", "runs")?;
        let payments: i64 = row.try_get("", "payments")?;
        if runs != payments {
            records.internal.push(Mismatch::new(
                MismatchKind::RecordsDisagree,
                format!("standing-order:{id}"),
                format!("{runs} dates paid, {payments} payments"),
            ));
        }
        records.checked += 1;
    }
    txn.commit().await?;
    Ok(records)
}
