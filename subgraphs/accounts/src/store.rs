//! Data access for the accounts service (SeaORM over the `accounts` schema).

use chrono::Utc;
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use bank_common::{money::Currency, outbox, ApiError, ApiResult};

use crate::{
    domain::{AccountKind, AccountNumber, AccountStatus, MAX_OPEN_ACCOUNTS_PER_OWNER},
    events,
};

/// The PostgreSQL schema this service owns.
pub const SCHEMA: &str = "accounts";

pub mod accounts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub number: String,
        pub kind: String,
        pub currency: String,
        pub status: String,
        pub nickname: Option<String>,
        pub freeze_reason: Option<String>,
        pub opened_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod account_numbers {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_numbers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub number: String,
        pub owner_id: Uuid,
        pub account_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type AccountRow = accounts::Model;

/// How often a freshly drawn account number may collide before we give up (1 in 10^10 each).
const NUMBER_ATTEMPTS: usize = 5;

pub struct NewAccount {
    pub owner_id: Uuid,
    pub kind: AccountKind,
    pub currency: Currency,
    pub nickname: Option<String>,
}

/// Opens an account: registers a unique number and inserts the account in one transaction.
/// Concurrent opens by one owner are serialised so the per-owner limit holds.
pub async fn open_account(db: &DatabaseConnection, new: NewAccount) -> ApiResult<AccountRow> {
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!(
        "SELECT pg_advisory_xact_lock(hashtext('accounts.open:{}'))",
        new.owner_id
    ))
    .await?;
    let open = accounts::Entity::find()
        .filter(accounts::Column::OwnerId.eq(new.owner_id))
        .filter(accounts::Column::Status.ne(AccountStatus::Closed.as_str()))
        .count(&txn)
        .await?;
    if open >= MAX_OPEN_ACCOUNTS_PER_OWNER {
        return Err(ApiError::LimitExceeded(format!(
            "a customer may hold at most {MAX_OPEN_ACCOUNTS_PER_OWNER} open accounts"
        )));
    }
    let id = Uuid::now_v7();
    let number = register_number(&txn, new.owner_id, id).await?;
    let now = Utc::now();
    let row = accounts::Entity::insert(accounts::ActiveModel {
        owner_id: Set(new.owner_id),
        id: Set(id),
        number: Set(number.to_string()),
        kind: Set(new.kind.as_str().to_string()),
        currency: Set(new.currency.code().to_string()),
        status: Set(AccountStatus::Active.as_str().to_string()),
        nickname: Set(new.nickname),
        freeze_reason: Set(None),
        opened_at: Set(now),
        closed_at: Set(None),
        updated_at: Set(now),
    })
    .exec_with_returning(&txn)
    .await?;
    outbox::enqueue(&txn, SCHEMA, &events::event(events::OPENED, &row)).await?;
    txn.commit().await?;
    Ok(row)
}

async fn register_number(
    txn: &impl ConnectionTrait,
    owner_id: Uuid,
    account_id: Uuid,
) -> ApiResult<AccountNumber> {
    for _ in 0..NUMBER_ATTEMPTS {
        let number = AccountNumber::generate();
        let inserted = account_numbers::Entity::insert(account_numbers::ActiveModel {
            number: Set(number.to_string()),
            owner_id: Set(owner_id),
            account_id: Set(account_id),
        })
        .on_conflict(
            OnConflict::column(account_numbers::Column::Number)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        if inserted == 1 {
            return Ok(number);
        }
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "no free account number after {NUMBER_ATTEMPTS} attempts"
    )))
}

pub async fn find_by_ids(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Vec<AccountRow>, DbErr> {
    accounts::Entity::find()
        .filter(accounts::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn find_by_owners(
    db: &DatabaseConnection,
    owner_ids: &[Uuid],
) -> Result<Vec<AccountRow>, DbErr> {
    accounts::Entity::find()
        .filter(accounts::Column::OwnerId.is_in(owner_ids.iter().copied()))
        .order_by_asc(accounts::Column::OpenedAt)
        .order_by_asc(accounts::Column::Id)
        .all(db)
        .await
}

pub async fn find_by_number(
    db: &DatabaseConnection,
    number: &str,
) -> Result<Option<AccountRow>, DbErr> {
    let Some(entry) = account_numbers::Entity::find_by_id(number.to_string())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    accounts::Entity::find_by_id((entry.owner_id, entry.account_id))
        .one(db)
        .await
}

/// Moves an account to the status `transition` gives, under a row lock. `check` runs on the
/// locked row first (authorization), so nothing can change in between.
pub async fn change_status(
    db: &DatabaseConnection,
    id: Uuid,
    check: impl FnOnce(&AccountRow) -> ApiResult<()>,
    transition: impl FnOnce(AccountStatus) -> ApiResult<AccountStatus>,
    freeze_reason: Option<String>,
) -> ApiResult<AccountRow> {
    let txn = db.begin().await?;
    let row = accounts::Entity::find()
        .filter(accounts::Column::Id.eq(id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    check(&row)?;
    let current = AccountStatus::from_db(&row.status);
    let next = transition(current)?;
    if next == current {
        txn.commit().await?;
        return Ok(row);
    }
    accounts::Entity::update_many()
        .col_expr(accounts::Column::Status, Expr::value(next.as_str()))
        .col_expr(accounts::Column::FreezeReason, Expr::value(freeze_reason))
        .col_expr(accounts::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(accounts::Column::OwnerId.eq(row.owner_id))
        .filter(accounts::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let updated = accounts::Entity::find_by_id((row.owner_id, id))
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    let kind = match next {
        AccountStatus::Frozen => events::FROZEN,
        _ => events::UNFROZEN,
    };
    outbox::enqueue(&txn, SCHEMA, &events::event(kind, &updated)).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Closes an account. The ledger decides first: `close_in_ledger` asks it to close its side,
/// which succeeds only with a zero balance and no open hold, and after which no money moves.
/// Only then is the account marked closed here, with its `closed` event, under the row lock
/// taken at the start (so a concurrent close or freeze waits). If this commit fails after the
/// ledger said yes, the account is closed for money but still open here; closing again repeats
/// the (idempotent) ledger call and finishes the job. docs/events.md describes the protocol.
pub async fn close_account<F, Fut>(
    db: &DatabaseConnection,
    id: Uuid,
    check: impl FnOnce(&AccountRow) -> ApiResult<()>,
    close_in_ledger: F,
) -> ApiResult<AccountRow>
where
    F: FnOnce(Uuid) -> Fut,
    Fut: std::future::Future<Output = ApiResult<()>>,
{
    let txn = db.begin().await?;
    let row = accounts::Entity::find()
        .filter(accounts::Column::Id.eq(id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    check(&row)?;
    if AccountStatus::from_db(&row.status) == AccountStatus::Closed {
        txn.commit().await?;
        return Ok(row);
    }
    close_in_ledger(id).await?;
    let now = Utc::now();
    accounts::Entity::update_many()
        .col_expr(
            accounts::Column::Status,
            Expr::value(AccountStatus::Closed.as_str()),
        )
        .col_expr(accounts::Column::ClosedAt, Expr::value(now))
        .col_expr(accounts::Column::UpdatedAt, Expr::value(now))
        .filter(accounts::Column::OwnerId.eq(row.owner_id))
        .filter(accounts::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let closed = accounts::Entity::find_by_id((row.owner_id, id))
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("account"))?;
    outbox::enqueue(&txn, SCHEMA, &events::event(events::CLOSED, &closed)).await?;
    txn.commit().await?;
    Ok(closed)
}
