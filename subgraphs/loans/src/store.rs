//! Data access for the loans service (SeaORM over the `loans` schema).
//!
//! Money never moves here: the ledger moves it, and this service records what the ledger did.
//! A disbursement or repayment is therefore two steps around one ledger call: before it, the
//! intent (an approved loan; a `PENDING` repayment row whose id is the ledger's idempotency
//! key); after it, the completion, guarded by the status so it happens once. A crash between
//! the ledger's commit and the completion is repaired by a retry with the same key, or by the
//! ledger's own `posted` event (see `events.rs`).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use bank_common::{money::format_minor, money::Currency, outbox, ApiError, ApiResult};

use crate::{
    domain::{due_on, LoanStatus, Schedule},
    events::{self, DueInstallment, Extra},
};

/// The PostgreSQL schema this service owns.
pub const SCHEMA: &str = "loans";

/// Loans a customer may have open (pending, approved or active) at once.
pub const MAX_OPEN_LOANS_PER_OWNER: u64 = 5;

pub mod loan_products {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "loan_products")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        pub name: String,
        pub currency: String,
        pub annual_rate_bp: i32,
        pub min_amount_minor: i64,
        pub max_amount_minor: i64,
        pub min_term_months: i32,
        pub max_term_months: i32,
        pub active: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod loans {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "loans")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub seq: i64,
        pub account_id: Uuid,
        pub product_code: String,
        pub currency: String,
        pub principal_minor: i64,
        pub annual_rate_bp: i32,
        pub term_months: i32,
        pub monthly_payment_minor: i64,
        pub total_due_minor: i64,
        pub repaid_minor: i64,
        pub status: String,
        pub purpose: Option<String>,
        pub application_key: String,
        pub decided_by: Option<Uuid>,
        pub decision_reason: Option<String>,
        pub decided_at: Option<DateTimeUtc>,
        pub disbursement_transaction_id: Option<Uuid>,
        pub disbursed_on: Option<Date>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub first_approved_by: Option<Uuid>,
        pub first_approved_at: Option<DateTimeUtc>,
        pub payout_requested_by: Option<Uuid>,
        pub payout_requested_at: Option<DateTimeUtc>,
        pub payout_confirmed_by: Option<Uuid>,
        pub payout_confirmed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod installments {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "installments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub loan_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub number: i32,
        pub due_on: Date,
        pub principal_minor: i64,
        pub interest_minor: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod repayments {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "repayments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub seq: i64,
        pub loan_id: Uuid,
        pub account_id: Uuid,
        pub amount_minor: i64,
        pub idempotency_key: String,
        pub status: String,
        pub failure_code: Option<String>,
        pub transaction_id: Option<Uuid>,
        pub initiated_by: Uuid,
        pub created_at: DateTimeUtc,
        pub settled_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type ProductRow = loan_products::Model;
pub type LoanRow = loans::Model;
pub type InstallmentRow = installments::Model;
pub type RepaymentRow = repayments::Model;

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

pub async fn products(db: &impl ConnectionTrait) -> Result<Vec<ProductRow>, DbErr> {
    loan_products::Entity::find()
        .filter(loan_products::Column::Active.eq(true))
        .order_by_asc(loan_products::Column::Code)
        .all(db)
        .await
}

pub async fn product(db: &impl ConnectionTrait, code: &str) -> Result<Option<ProductRow>, DbErr> {
    loan_products::Entity::find_by_id(code.to_string())
        .one(db)
        .await
}

pub async fn find_products(
    db: &impl ConnectionTrait,
    codes: &[String],
) -> Result<Vec<ProductRow>, DbErr> {
    loan_products::Entity::find()
        .filter(loan_products::Column::Code.is_in(codes.iter().cloned()))
        .all(db)
        .await
}

/// What a customer asks for; checked against the product before it gets here.
pub struct Application {
    pub owner_id: Uuid,
    pub account_id: Uuid,
    pub product: ProductRow,
    pub principal_minor: i64,
    pub term_months: i32,
    pub purpose: Option<String>,
    pub key: String,
}

/// Records an application once per idempotency key. Applications of one owner are serialised,
/// so the limit on open loans holds under concurrency.
pub async fn apply(db: &DatabaseConnection, application: Application) -> ApiResult<LoanRow> {
    let txn = db.begin().await?;
    txn.execute(stmt(
        "SELECT pg_advisory_xact_lock(hashtext('loans.apply:' || $1::text))",
        [application.owner_id.into()],
    ))
    .await?;
    if let Some(existing) = loans::Entity::find()
        .filter(loans::Column::OwnerId.eq(application.owner_id))
        .filter(loans::Column::ApplicationKey.eq(application.key.clone()))
        .one(&txn)
        .await?
    {
        let same = existing.account_id == application.account_id
            && existing.product_code == application.product.code
            && existing.principal_minor == application.principal_minor
            && existing.term_months == application.term_months
            && existing.purpose == application.purpose;
        return if same {
            Ok(existing)
        } else {
            Err(ApiError::IdempotencyKeyReused)
        };
    }
    let open = loans::Entity::find()
        .filter(loans::Column::OwnerId.eq(application.owner_id))
        .filter(loans::Column::Status.is_in([
            LoanStatus::Pending.as_str(),
            LoanStatus::Approved.as_str(),
            LoanStatus::Active.as_str(),
        ]))
        .count(&txn)
        .await?;
    if open >= MAX_OPEN_LOANS_PER_OWNER {
        return Err(ApiError::LimitExceeded(format!(
            "a customer may have at most {MAX_OPEN_LOANS_PER_OWNER} loans open or in review"
        )));
    }
    let product = &application.product;
    let schedule = Schedule::annuity(
        application.principal_minor,
        product.annual_rate_bp,
        application.term_months,
    );
    let now = Utc::now();
    let row = loans::Entity::insert(loans::ActiveModel {
        owner_id: Set(application.owner_id),
        id: Set(Uuid::now_v7()),
        seq: sea_orm::ActiveValue::NotSet,
        account_id: Set(application.account_id),
        product_code: Set(product.code.clone()),
        currency: Set(product.currency.clone()),
        principal_minor: Set(application.principal_minor),
        annual_rate_bp: Set(product.annual_rate_bp),
        term_months: Set(application.term_months),
        monthly_payment_minor: Set(schedule.monthly_payment_minor),
        total_due_minor: Set(schedule.total_minor()),
        repaid_minor: Set(0),
        status: Set(LoanStatus::Pending.as_str().into()),
        purpose: Set(application.purpose),
        application_key: Set(application.key),
        decided_by: Set(None),
        decision_reason: Set(None),
        decided_at: Set(None),
        disbursement_transaction_id: Set(None),
        disbursed_on: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        first_approved_by: Set(None),
        first_approved_at: Set(None),
        payout_requested_by: Set(None),
        payout_requested_at: Set(None),
        payout_confirmed_by: Set(None),
        payout_confirmed_at: Set(None),
    })
    .exec_with_returning(&txn)
    .await?;
    outbox::enqueue(
        &txn,
        SCHEMA,
        &events::event(events::APPLIED, &row, Extra::none()),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

pub async fn find_loans(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<LoanRow>, DbErr> {
    loans::Entity::find()
        .filter(loans::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn find_loan(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<LoanRow>, DbErr> {
    loans::Entity::find()
        .filter(loans::Column::Id.eq(id))
        .one(db)
        .await
}

/// Locks a loan for the rest of `txn`.
async fn lock_loan(txn: &DatabaseTransaction, id: Uuid) -> Result<Option<LoanRow>, DbErr> {
    loans::Entity::find()
        .filter(loans::Column::Id.eq(id))
        .lock_exclusive()
        .one(txn)
        .await
}

/// An owner's loans, newest first: `limit` of them with `seq` below `before`.
pub async fn loans_of(
    db: &impl ConnectionTrait,
    owner_id: Uuid,
    before: i64,
    limit: u64,
) -> Result<Vec<LoanRow>, DbErr> {
    loans::Entity::find()
        .filter(loans::Column::OwnerId.eq(owner_id))
        .filter(loans::Column::Seq.lt(before))
        .order_by_desc(loans::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// Loans in `status` across customers, oldest first (the staff's review queue): `limit` of
/// them with `seq` above `after`.
pub async fn loans_in_status(
    db: &impl ConnectionTrait,
    status: LoanStatus,
    after: i64,
    limit: u64,
) -> Result<Vec<LoanRow>, DbErr> {
    loans::Entity::find()
        .filter(loans::Column::Status.eq(status.as_str()))
        .filter(loans::Column::Seq.gt(after))
        .order_by_asc(loans::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

pub async fn installments_of(
    db: &impl ConnectionTrait,
    loan: &LoanRow,
) -> Result<Vec<InstallmentRow>, DbErr> {
    installments::Entity::find()
        .filter(installments::Column::OwnerId.eq(loan.owner_id))
        .filter(installments::Column::LoanId.eq(loan.id))
        .order_by_asc(installments::Column::Number)
        .all(db)
        .await
}

/// A loan's repayments, newest first: `limit` of them with `seq` below `before`.
pub async fn repayments_of(
    db: &impl ConnectionTrait,
    loan: &LoanRow,
    before: i64,
    limit: u64,
) -> Result<Vec<RepaymentRow>, DbErr> {
    repayments::Entity::find()
        .filter(repayments::Column::OwnerId.eq(loan.owner_id))
        .filter(repayments::Column::LoanId.eq(loan.id))
        .filter(repayments::Column::Seq.lt(before))
        .order_by_desc(repayments::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// A staff decision on a pending application. Deciding the same way again returns the loan
/// unchanged; any other change of mind is refused.
/// Staff do not decide or pay out their own loans: that is the conflict of interest a bank's
/// separation of duties exists to prevent.
pub fn not_their_own(loan: &LoanRow, staff_id: Uuid) -> ApiResult<()> {
    if loan.owner_id == staff_id {
        Err(ApiError::Forbidden(
            "staff may not decide or pay out their own loan".into(),
        ))
    } else {
        Ok(())
    }
}

pub async fn decide(
    db: &DatabaseConnection,
    id: Uuid,
    staff_id: Uuid,
    approve: bool,
    reason: Option<String>,
) -> ApiResult<LoanRow> {
    let txn = db.begin().await?;
    let loan = lock_loan(&txn, id)
        .await?
        .ok_or(ApiError::NotFound("loan"))?;
    not_their_own(&loan, staff_id)?;
    let target = if approve {
        LoanStatus::Approved
    } else {
        LoanStatus::Rejected
    };
    let status = LoanStatus::from_db(&loan.status);
    // Four eyes: an approval needs two members of staff. The first is recorded and the loan
    // stays PENDING; the same one again changes nothing; a second one approves.
    if approve && status == LoanStatus::Pending {
        match loan.first_approved_by {
            None => {
                let row = loans::Entity::update(loans::ActiveModel {
                    owner_id: Set(loan.owner_id),
                    id: Set(loan.id),
                    first_approved_by: Set(Some(staff_id)),
                    first_approved_at: Set(Some(Utc::now())),
                    updated_at: Set(Utc::now()),
                    ..Default::default()
                })
                .exec(&txn)
                .await?;
                txn.commit().await?;
                return Ok(row);
            }
            Some(first) if first == staff_id => {
                txn.rollback().await?;
                return Ok(loan);
            }
            Some(_) => {}
        }
    }
    if status != LoanStatus::Pending {
        let decided_so = status == target
            || (approve && matches!(status, LoanStatus::Active | LoanStatus::PaidOff));
        return if decided_so {
            Ok(loan)
        } else {
            Err(ApiError::bad_input(
                "id",
                format!("the loan is {}, not PENDING", status.as_str()),
            ))
        };
    }
    let row = loans::Entity::update(loans::ActiveModel {
        owner_id: Set(loan.owner_id),
        id: Set(loan.id),
        status: Set(target.as_str().into()),
        decided_by: Set(Some(staff_id)),
        decision_reason: Set(reason),
        decided_at: Set(Some(Utc::now())),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let kind = if approve {
        events::APPROVED
    } else {
        events::REJECTED
    };
    outbox::enqueue(&txn, SCHEMA, &events::event(kind, &row, Extra::none())).await?;
    txn.commit().await?;
    Ok(row)
}

/// Where a payout stands after a member of staff asked for it ([`request_payout`]).
pub enum Payout {
    /// Recorded as the first request, or the same member of staff again: nothing moves until
    /// someone else confirms.
    AwaitingSecond(LoanRow),
    /// Confirmed by a second member of staff (now or earlier): the money may move.
    Confirmed(LoanRow),
}

/// Four eyes on a payout: the first member of staff asks for it, a second one confirms it
/// (both recorded). Once confirmed, a retry by any member of staff but the borrower goes on
/// (a payout the ledger did not answer is finished by the next attempt).
pub async fn request_payout(
    db: &DatabaseConnection,
    id: Uuid,
    staff_id: Uuid,
) -> ApiResult<Payout> {
    let txn = db.begin().await?;
    let loan = lock_loan(&txn, id)
        .await?
        .ok_or(ApiError::NotFound("loan"))?;
    not_their_own(&loan, staff_id)?;
    if loan.payout_confirmed_by.is_some() {
        txn.rollback().await?;
        return Ok(Payout::Confirmed(loan));
    }
    let change = match loan.payout_requested_by {
        None => loans::ActiveModel {
            owner_id: Set(loan.owner_id),
            id: Set(loan.id),
            payout_requested_by: Set(Some(staff_id)),
            payout_requested_at: Set(Some(Utc::now())),
            updated_at: Set(Utc::now()),
            ..Default::default()
        },
        Some(first) if first == staff_id => {
            txn.rollback().await?;
            return Ok(Payout::AwaitingSecond(loan));
        }
        Some(_) => loans::ActiveModel {
            owner_id: Set(loan.owner_id),
            id: Set(loan.id),
            payout_confirmed_by: Set(Some(staff_id)),
            payout_confirmed_at: Set(Some(Utc::now())),
            updated_at: Set(Utc::now()),
            ..Default::default()
        },
    };
    let row = loans::Entity::update(change).exec(&txn).await?;
    txn.commit().await?;
    Ok(if row.payout_confirmed_by.is_some() {
        Payout::Confirmed(row)
    } else {
        Payout::AwaitingSecond(row)
    })
}

/// Records a disbursement the ledger has posted: the loan becomes `ACTIVE` with its schedule
/// dated from `posted_at`. Once only: a loan no longer `APPROVED` is returned as it is.
pub async fn complete_disbursement(
    db: &DatabaseConnection,
    id: Uuid,
    transaction_id: Uuid,
    posted_at: DateTime<Utc>,
) -> ApiResult<LoanRow> {
    let txn = db.begin().await?;
    let loan = lock_loan(&txn, id)
        .await?
        .ok_or(ApiError::NotFound("loan"))?;
    if LoanStatus::from_db(&loan.status) != LoanStatus::Approved {
        txn.rollback().await?;
        return Ok(loan);
    }
    let disbursed_on: NaiveDate = posted_at.date_naive();
    let row = loans::Entity::update(loans::ActiveModel {
        owner_id: Set(loan.owner_id),
        id: Set(loan.id),
        status: Set(LoanStatus::Active.as_str().into()),
        disbursement_transaction_id: Set(Some(transaction_id)),
        disbursed_on: Set(Some(disbursed_on)),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let schedule = Schedule::annuity(row.principal_minor, row.annual_rate_bp, row.term_months);
    let currency = Currency::parse(&row.currency).map_err(ApiError::internal_msg)?;
    let mut due = Vec::with_capacity(schedule.installments.len());
    let rows: Vec<installments::ActiveModel> = schedule
        .installments
        .iter()
        .map(|installment| {
            let due_date = due_on(disbursed_on, installment.number);
            due.push(DueInstallment {
                number: installment.number,
                due_on: due_date,
                amount: format_minor(installment.amount_minor(), currency),
                amount_minor: installment.amount_minor(),
            });
            installments::ActiveModel {
                owner_id: Set(row.owner_id),
                loan_id: Set(row.id),
                number: Set(installment.number),
                due_on: Set(due_date),
                principal_minor: Set(installment.principal_minor),
                interest_minor: Set(installment.interest_minor),
            }
        })
        .collect();
    installments::Entity::insert_many(rows).exec(&txn).await?;
    let extra = Extra {
        transaction_id: Some(transaction_id),
        amount_minor: Some(row.principal_minor),
        installments: due,
    };
    outbox::enqueue(&txn, SCHEMA, &events::event(events::DISBURSED, &row, extra)).await?;
    txn.commit().await?;
    Ok(row)
}

/// What repaying asks for.
pub struct RepaymentRequest {
    pub loan_id: Uuid,
    pub account_id: Uuid,
    pub amount_minor: i64,
    pub key: String,
    pub initiated_by: Uuid,
}

/// A repayment to send to the ledger, or one sent before under the same key.
pub enum Started {
    New(LoanRow, RepaymentRow),
    Existing(LoanRow, RepaymentRow),
}

/// Records the intent to repay (`PENDING`), once per idempotency key. The loan is locked while
/// the amount is checked against what is still owed minus repayments already in flight, so
/// concurrent repayments can never pay more than the loan owes.
pub async fn start_repayment(
    db: &DatabaseConnection,
    request: &RepaymentRequest,
    may_access: impl FnOnce(&LoanRow) -> ApiResult<()>,
) -> ApiResult<Started> {
    let txn = db.begin().await?;
    let loan = lock_loan(&txn, request.loan_id)
        .await?
        .ok_or(ApiError::NotFound("loan"))?;
    may_access(&loan)?;
    if let Some(existing) = repayments::Entity::find()
        .filter(repayments::Column::OwnerId.eq(loan.owner_id))
        .filter(repayments::Column::IdempotencyKey.eq(request.key.clone()))
        .one(&txn)
        .await?
    {
        let same = existing.loan_id == request.loan_id
            && existing.account_id == request.account_id
            && existing.amount_minor == request.amount_minor;
        txn.rollback().await?;
        return if same {
            Ok(Started::Existing(loan, existing))
        } else {
            Err(ApiError::IdempotencyKeyReused)
        };
    }
    let status = LoanStatus::from_db(&loan.status);
    if status != LoanStatus::Active {
        return Err(ApiError::bad_input(
            "loanId",
            format!(
                "only an ACTIVE loan can be repaid; this one is {}",
                status.as_str()
            ),
        ));
    }
    let in_flight: i64 = txn
        .query_one(stmt(
            "SELECT COALESCE(sum(amount_minor), 0)::int8 AS total FROM repayments \
             WHERE owner_id = $1 AND loan_id = $2 AND status = 'PENDING'",
            [loan.owner_id.into(), loan.id.into()],
        ))
        .await?
        .map(|row| row.try_get("", "total"))
        .transpose()?
        .unwrap_or(0);
    let owed = loan.total_due_minor - loan.repaid_minor - in_flight;
    if request.amount_minor > owed {
        let currency = Currency::parse(&loan.currency).map_err(ApiError::internal_msg)?;
        return Err(ApiError::bad_input(
            "amount",
            format!(
                "the amount is more than the {} {} still owed",
                format_minor(owed.max(0), currency),
                loan.currency
            ),
        ));
    }
    let row = repayments::Entity::insert(repayments::ActiveModel {
        owner_id: Set(loan.owner_id),
        id: Set(Uuid::now_v7()),
        seq: sea_orm::ActiveValue::NotSet,
        loan_id: Set(loan.id),
        account_id: Set(request.account_id),
        amount_minor: Set(request.amount_minor),
        idempotency_key: Set(request.key.clone()),
        status: Set("PENDING".into()),
        failure_code: Set(None),
        transaction_id: Set(None),
        initiated_by: Set(request.initiated_by),
        created_at: Set(Utc::now()),
        settled_at: Set(None),
    })
    .exec_with_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(Started::New(loan, row))
}

pub async fn find_repayment(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<RepaymentRow>, DbErr> {
    repayments::Entity::find()
        .filter(repayments::Column::Id.eq(id))
        .one(db)
        .await
}

/// Records a repayment the ledger has posted: the repayment is `POSTED` and the loan's repaid
/// total grows (to `PAID_OFF` when nothing is owed). Once only: guarded by `PENDING`.
pub async fn complete_repayment(
    db: &DatabaseConnection,
    loan_id: Uuid,
    repayment_id: Uuid,
    transaction_id: Uuid,
) -> ApiResult<(LoanRow, RepaymentRow)> {
    let txn = db.begin().await?;
    let loan = lock_loan(&txn, loan_id)
        .await?
        .ok_or(ApiError::NotFound("loan"))?;
    let posted = repayments::Entity::find()
        .from_raw_sql(stmt(
            "UPDATE repayments SET status = 'POSTED', transaction_id = $3, settled_at = now() \
             WHERE owner_id = $1 AND id = $2 AND status = 'PENDING' RETURNING *",
            [
                loan.owner_id.into(),
                repayment_id.into(),
                transaction_id.into(),
            ],
        ))
        .one(&txn)
        .await?;
    let Some(repayment) = posted else {
        txn.rollback().await?;
        let repayment = find_repayment(db, repayment_id)
            .await?
            .ok_or(ApiError::NotFound("repayment"))?;
        return Ok((loan, repayment));
    };
    let repaid = loan.repaid_minor + repayment.amount_minor;
    let paid_off = repaid >= loan.total_due_minor;
    let status = if paid_off {
        LoanStatus::PaidOff
    } else {
        LoanStatus::from_db(&loan.status)
    };
    let row = loans::Entity::update(loans::ActiveModel {
        owner_id: Set(loan.owner_id),
        id: Set(loan.id),
        repaid_minor: Set(repaid),
        status: Set(status.as_str().into()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    let extra = Extra {
        transaction_id: Some(transaction_id),
        amount_minor: Some(repayment.amount_minor),
        installments: vec![],
    };
    outbox::enqueue(&txn, SCHEMA, &events::event(events::REPAID, &row, extra)).await?;
    if paid_off {
        outbox::enqueue(
            &txn,
            SCHEMA,
            &events::event(events::PAID_OFF, &row, Extra::none()),
        )
        .await?;
    }
    txn.commit().await?;
    Ok((row, repayment))
}

/// Records that the ledger refused a repayment (funds, account status): final for its key.
pub async fn fail_repayment(
    db: &DatabaseConnection,
    repayment: &RepaymentRow,
    code: &str,
) -> Result<(), DbErr> {
    db.execute(stmt(
        "UPDATE repayments SET status = 'FAILED', failure_code = $3, settled_at = now() \
         WHERE owner_id = $1 AND id = $2 AND status = 'PENDING'",
        [repayment.owner_id.into(), repayment.id.into(), code.into()],
    ))
    .await?;
    Ok(())
}

/// Sums for the invariant check: every posted repayment is counted in its loan exactly once.
#[derive(Debug, FromQueryResult)]
pub struct Mismatch {
    pub loan_id: Uuid,
    pub repaid_minor: i64,
    pub posted_minor: i64,
}

/// Loans whose repaid total differs from the sum of their posted repayments (none, ever).
pub async fn repayment_mismatches(db: &impl ConnectionTrait) -> Result<Vec<Mismatch>, DbErr> {
    Mismatch::find_by_statement(stmt(
        "SELECT l.id AS loan_id, l.repaid_minor, COALESCE(sum(r.amount_minor), 0)::int8 AS posted_minor \
           FROM loans l LEFT JOIN repayments r \
             ON r.owner_id = l.owner_id AND r.loan_id = l.id AND r.status = 'POSTED' \
          GROUP BY l.owner_id, l.id, l.repaid_minor \
         HAVING l.repaid_minor <> COALESCE(sum(r.amount_minor), 0)",
        [],
    ))
    .all(db)
    .await
}

/// The loans service's side of reconciliation ([`bank_common::reconcile`]), read in one
/// repeatable-read snapshot: each loan's payout (`loan:<id>:disbursement`) and each repayment
/// (`loan:<id>:repayment:<id>`) as the ledger should hold it, repayments still waiting for
/// the ledger's answer, and loans whose repaid total is not the sum of their posted
/// repayments. An `APPROVED` loan may already be paid out (the ledger answered, the loans
/// service had not recorded it yet); a loan waiting for staff to pay it out is not stuck.
pub async fn reconciliation_records(
    db: &DatabaseConnection,
) -> Result<bank_common::reconcile::Records, DbErr> {
    use bank_common::reconcile::{self as rec, Expect, Expected, Open, Records};
    let txn = bank_common::db::snapshot(db).await?;
    let mut records = Records::default();
    for row in txn
        .query_all(stmt(
            "SELECT id, account_id, currency::text AS currency, principal_minor, status FROM loans",
            [],
        ))
        .await?
    {
        let id: Uuid = row.try_get("", "id")?;
        let status: String = row.try_get("", "status")?;
        let expect = match status.as_str() {
            "PENDING" | "REJECTED" => Expect::Absent,
            "APPROVED" => Expect::Either,
            _ => Expect::Posted {
                amount_minor: row.try_get("", "principal_minor")?,
                currency: row.try_get("", "currency")?,
                account_id: row.try_get("", "account_id")?,
            },
        };
        records.expected.push(Expected {
            reference: format!("loan:{id}:disbursement"),
            expect,
        });
        records.checked += 1;
    }
    for row in txn
        .query_all(stmt(
            "SELECT r.id, r.loan_id, r.account_id, l.currency::text AS currency, r.amount_minor, \
               r.status, r.created_at \
             FROM repayments r JOIN loans l ON l.owner_id = r.owner_id AND l.id = r.loan_id",
            [],
        ))
        .await?
    {
        let id: Uuid = row.try_get("", "id")?;
        let loan_id: Uuid = row.try_get("", "loan_id")?;
        let status: String = row.try_get("", "status")?;
        let expect = match status.as_str() {
            "POSTED" => Expect::Posted {
                amount_minor: row.try_get("", "amount_minor")?,
                currency: row.try_get("", "currency")?,
                account_id: row.try_get("", "account_id")?,
            },
            "FAILED" => Expect::Absent,
            _ => {
                records.open.push(Open {
                    subject: format!("loan:{loan_id}:repayment:{id}"),
                    state: status,
                    since: row.try_get("", "created_at")?,
                    patience: None,
                });
                Expect::Either
            }
        };
        records.expected.push(Expected {
            reference: format!("loan:{loan_id}:repayment:{id}"),
            expect,
        });
        records.checked += 1;
    }
    for m in repayment_mismatches(&txn).await? {
        records.internal.push(rec::Mismatch::new(
            rec::MismatchKind::RecordsDisagree,
            format!("loan:{}", m.loan_id),
            format!(
                "repaid total {} (minor units), posted repayments {}",
                m.repaid_minor, m.posted_minor
            ),
        ));
    }
    txn.commit().await?;
    Ok(records)
}
