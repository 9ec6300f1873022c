//! The ledger's tables and the database transactions that change them.
//!
//! Every money movement is one short database transaction (or part of a batch's, see
//! [`move_batch`] and [`crate::batch`], which takes the same steps for many movements at once):
//!
//! 1. claim the idempotency key (`INSERT ... ON CONFLICT DO NOTHING`); a concurrent request
//!    with the same key waits here until the first commits, then replays its result;
//! 2. lock the customer accounts in id order with one `SELECT ... FOR UPDATE`, then the bank's
//!    internal account if the movement needs one (customer accounts before internal ones, in
//!    id order: one global lock order, so no deadlock cycle);
//! 3. apply the rules in Rust (`domain`) to the locked rows;
//! 4. write balances, the transaction, its postings and the outbox rows in one statement;
//! 5. commit; the relay is woken by `NOTIFY` at commit.
//!
//! Serialization failures and deadlocks (which Citus can raise across shards) are retried
//! here, never by the client.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect, Statement,
    TransactionTrait, Value,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use bank_common::{
    auth::Principal,
    db::{arrays, on_citus, rows_statement},
    events::OutgoingEvent,
    money::{parse_minor, Currency},
    outbox, ApiError, ApiResult,
};

use crate::{
    domain::{
        request_hash, AccountKind, AccountState, AccountStatus, Description, IdempotencyKey,
        TransactionKind,
    },
    events,
};

/// The PostgreSQL schema this service owns.
pub const SCHEMA: &str = "transactions";

pub mod ledger_accounts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ledger_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: Uuid,
        pub owner_id: Option<Uuid>,
        pub number: Option<String>,
        pub kind: String,
        pub currency: String,
        pub status: String,
        pub balance_minor: i64,
        pub held_minor: i64,
        pub overdraft_limit_minor: i64,
        pub daily_withdrawal_limit_minor: i64,
        pub withdrawn_today_minor: i64,
        pub withdrawn_on: Date,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod transactions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "transactions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub kind: String,
        pub currency: String,
        pub amount_minor: i64,
        pub from_account_id: Option<Uuid>,
        pub to_account_id: Option<Uuid>,
        pub description: Option<String>,
        pub hold_id: Option<Uuid>,
        /// What another service's movement was for (`loan:<id>:repayment:<id>`).
        pub reference: Option<String>,
        pub initiated_by: Option<Uuid>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod holds {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "holds")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub to_account_id: Uuid,
        pub currency: String,
        pub amount_minor: i64,
        pub captured_minor: i64,
        pub status: String,
        pub description: Option<String>,
        pub initiated_by: Option<Uuid>,
        pub expires_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
        pub resolved_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub type LedgerAccountRow = ledger_accounts::Model;
pub type TransactionRow = transactions::Model;
pub type HoldRow = holds::Model;

/// How often a movement is retried after a serialization failure or deadlock.
const MAX_ATTEMPTS: usize = 5;

/// The bank's own accounts, one of each per currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalAccount {
    /// The other side of cash deposits and withdrawals.
    Cash,
    /// The other side of captured holds without a customer destination (card settlement).
    Settlement,
    /// The other side of loan payouts and repayments: what customers owe the bank.
    LoanFunding,
    /// The other side of payments to other banks: money on its way out through the payment
    /// gateway (and back, when a payment is returned).
    Clearing,
    /// Money owed to customers whose account closed before it came back (a returned payment,
    /// a refund), held until staff pay it out.
    Suspense,
}

impl InternalAccount {
    /// The purpose's name, as in its id's seed and in reconciliation requests.
    pub fn name(self) -> &'static str {
        match self {
            InternalAccount::Cash => "cash",
            InternalAccount::Settlement => "settlement",
            InternalAccount::LoanFunding => "loan-funding",
            InternalAccount::Clearing => "clearing",
            InternalAccount::Suspense => "suspense",
        }
    }

    pub const ALL: [InternalAccount; 5] = [
        InternalAccount::Cash,
        InternalAccount::Settlement,
        InternalAccount::LoanFunding,
        InternalAccount::Clearing,
        InternalAccount::Suspense,
    ];

    /// The purpose named `name`.
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|purpose| purpose.name() == name)
    }

    /// A fixed id per purpose and currency, the same in every installation.
    pub fn id(self, currency: Currency) -> Uuid {
        let purpose = self.name();
        let digest = Sha256::digest(format!("bank.ledger.internal/{purpose}/{currency}"));
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8 (custom)
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        Uuid::from_bytes(bytes)
    }
}

/// Creates the internal accounts of every supported currency (idempotent; run at start-up).
pub async fn ensure_internal_accounts(db: &DatabaseConnection) -> Result<(), DbErr> {
    for currency in Currency::all() {
        for purpose in InternalAccount::ALL {
            db.execute(stmt(
                "INSERT INTO ledger_accounts (account_id, kind, currency, status, daily_withdrawal_limit_minor) \
                 VALUES ($1, 'INTERNAL', $2, 'ACTIVE', 0) ON CONFLICT (account_id) DO NOTHING",
                [purpose.id(*currency).into(), currency.code().into()],
            ))
            .await?;
        }
    }
    Ok(())
}

fn stmt(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values)
}

/// Why one attempt at a movement stopped.
pub(crate) enum Stop {
    /// An answer for the client.
    Api(ApiError),
    /// A serialization failure or deadlock: try again.
    Retry(DbErr),
    /// These accounts are not in the ledger yet (their `opened` event may be in flight).
    Missing(Vec<Uuid>),
}

impl From<DbErr> for Stop {
    fn from(err: DbErr) -> Self {
        match sqlstate(&err).as_deref() {
            Some("40001") | Some("40P01") => Stop::Retry(err),
            // The funds check constraint: the domain checks should have refused first.
            Some("23514") => {
                tracing::error!(error = %err, "a ledger check constraint refused a write");
                Stop::Api(ApiError::InsufficientFunds)
            }
            _ => Stop::Api(err.into()),
        }
    }
}

impl From<ApiError> for Stop {
    fn from(err: ApiError) -> Self {
        Stop::Api(err)
    }
}

fn sqlstate(err: &DbErr) -> Option<String> {
    let runtime = match err {
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)) => e,
        _ => return None,
    };
    runtime
        .as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned())
}

/// Runs `attempt` until it answers, retrying conflicts and waiting once for accounts the
/// ledger has not heard of yet.
async fn with_retries<T, F, Fut>(
    db: &DatabaseConnection,
    account_wait: Duration,
    mut attempt: F,
) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Stop>>,
{
    let mut waited = false;
    let mut last_conflict = None;
    for _ in 0..MAX_ATTEMPTS {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Stop::Api(err)) => return Err(err),
            Err(Stop::Retry(err)) => {
                tracing::debug!(error = %err, "ledger conflict; retrying");
                last_conflict = Some(err);
            }
            Err(Stop::Missing(ids)) => {
                if waited || !wait_for_accounts(db, &ids, account_wait).await? {
                    return Err(ApiError::NotFound("account"));
                }
                waited = true;
            }
        }
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "ledger conflict persisted after {MAX_ATTEMPTS} attempts: {last_conflict:?}"
    )))
}

/// Waits up to `timeout` for the accounts service's `opened` events to reach the ledger.
pub async fn wait_for_accounts(
    db: &DatabaseConnection,
    ids: &[Uuid],
    timeout: Duration,
) -> Result<bool, DbErr> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let found = ledger_accounts::Entity::find()
            .filter(ledger_accounts::Column::AccountId.is_in(ids.iter().copied()))
            .count(db)
            .await?;
        if found as usize == ids.len() {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const ACCOUNT_COLUMNS: &str = "account_id, owner_id, kind, currency, status, balance_minor, \
     held_minor, overdraft_limit_minor, daily_withdrawal_limit_minor, withdrawn_today_minor, \
     withdrawn_on, (now() AT TIME ZONE 'UTC')::date AS read_on";

fn account_state(row: &QueryResult) -> Result<AccountState, DbErr> {
    let currency: String = row.try_get("", "currency")?;
    let kind: String = row.try_get("", "kind")?;
    let status: String = row.try_get("", "status")?;
    Ok(AccountState {
        id: row.try_get("", "account_id")?,
        owner_id: row.try_get("", "owner_id")?,
        kind: if kind == "INTERNAL" {
            AccountKind::Internal
        } else {
            AccountKind::Customer
        },
        currency: Currency::parse(&currency).map_err(DbErr::Custom)?,
        status: AccountStatus::from_db(&status),
        balance_minor: row.try_get("", "balance_minor")?,
        held_minor: row.try_get("", "held_minor")?,
        overdraft_limit_minor: row.try_get("", "overdraft_limit_minor")?,
        daily_withdrawal_limit_minor: row.try_get("", "daily_withdrawal_limit_minor")?,
        withdrawn_today_minor: row.try_get("", "withdrawn_today_minor")?,
        withdrawn_on: row.try_get("", "withdrawn_on")?,
        read_on: row.try_get("", "read_on")?,
    })
}

/// Locks `ids` (sorted, distinct) in id order and returns them by id.
async fn lock_accounts(
    txn: &DatabaseTransaction,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, AccountState>, DbErr> {
    let rows = txn
        .query_all(stmt(
            &format!(
                "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE account_id = ANY($1) \
                 ORDER BY account_id FOR UPDATE"
            ),
            [ids.to_vec().into()],
        ))
        .await?;
    rows.iter()
        .map(|row| account_state(row).map(|state| (state.id, state)))
        .collect()
}

/// A previous request's result under the same key, if there is one.
struct Claimed {
    operation: String,
    request_hash: String,
    result_id: Uuid,
    /// The code and message of a final refusal, if that was the answer.
    refusal: Option<(String, String)>,
}

/// Reads the claim on `key`.
async fn read_claim(
    db: &impl ConnectionTrait,
    scope: Uuid,
    key: &IdempotencyKey,
) -> Result<Claimed, DbErr> {
    let row = db
        .query_one(stmt(
            "SELECT operation, request_hash, result_id, refusal_code, refusal_message \
             FROM idempotency_keys WHERE principal_id = $1 AND key = $2",
            [scope.into(), key.as_str().into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the conflicting idempotency key".into()))?;
    let code: Option<String> = row.try_get("", "refusal_code")?;
    let message: Option<String> = row.try_get("", "refusal_message")?;
    Ok(Claimed {
        operation: row.try_get("", "operation")?,
        request_hash: row.try_get("", "request_hash")?,
        result_id: row.try_get("", "result_id")?,
        refusal: code.map(|code| (code, message.unwrap_or_default())),
    })
}

/// Claims `key` for this request; returns the earlier claim if the key was used before.
async fn claim_key(
    txn: &DatabaseTransaction,
    scope: Uuid,
    key: &IdempotencyKey,
    operation: &str,
    hash: &str,
    result_id: Uuid,
) -> Result<Option<Claimed>, DbErr> {
    let inserted = txn
        .execute(stmt(
            "INSERT INTO idempotency_keys (principal_id, key, operation, request_hash, result_id) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            [
                scope.into(),
                key.as_str().into(),
                operation.into(),
                hash.into(),
                result_id.into(),
            ],
        ))
        .await?
        .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    read_claim(txn, scope, key).await.map(Some)
}

/// The earlier result's id, if the replay asks for exactly the same thing; the earlier refusal
/// if that was the answer.
fn replayed(claimed: Claimed, operation: &str, hash: &str) -> Result<Uuid, Stop> {
    if claimed.operation != operation || claimed.request_hash != hash {
        return Err(Stop::Api(ApiError::IdempotencyKeyReused));
    }
    match claimed.refusal {
        Some((code, message)) => Err(Stop::Api(refusal(&code, message))),
        None => Ok(claimed.result_id),
    }
}

/// A deposit into one's own account: a sandbox's self-service deposit, allowed only when
/// switched on and up to its daily limit per account. The sum of today's (the database's day)
/// deposits the owner made into the account is read under the account's row lock, which every
/// deposit into it takes first, so concurrent deposits cannot pass the limit together.
async fn self_deposit_allowed(
    txn: &DatabaseTransaction,
    m: &Movement,
    accounts: &HashMap<Uuid, AccountState>,
    amount: i64,
    currency: Currency,
) -> Result<(), Stop> {
    let Some(to) = m.to else { return Ok(()) };
    let own = accounts
        .get(&to)
        .is_some_and(|account| account.owner_id == Some(m.principal.user_id));
    if !own {
        return Ok(());
    }
    let Some(limit) = m.self_deposit_limit else {
        return Err(Stop::Api(ApiError::Forbidden(
            "cash is paid in at a teller: deposits into your own account are not offered here"
                .into(),
        )));
    };
    let limit_minor = parse_minor(&limit.to_string(), currency).map_err(ApiError::internal_msg)?;
    let today: i64 = txn
        .query_one(stmt(
            "SELECT coalesce(sum(p.amount_minor), 0)::int8 AS today FROM postings p \
             JOIN transactions t ON t.id = p.transaction_id \
             WHERE p.account_id = $1 AND p.created_at >= date_trunc('day', now()) \
               AND t.kind = 'DEPOSIT' AND t.initiated_by = $2",
            [to.into(), m.principal.user_id.into()],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "today"))
        .transpose()?
        .unwrap_or(0);
    if today.saturating_add(amount) > limit_minor {
        return Err(Stop::Api(ApiError::LimitExceeded(format!(
            "self-service deposits are limited to {limit} {currency} per account per day"
        ))));
    }
    Ok(())
}

/// Whether a refusal is final for its idempotency key: the ledger's own rules said no after
/// looking at the accounts. Validation, authorisation and accounts not (yet) known are not
/// recorded: they are decided before anything is looked at, or may change by themselves. Nor
/// is a refusal of money the bank pays a customer (see `TransactionKind::pays_the_customer`).
fn is_final_refusal(err: &ApiError) -> bool {
    matches!(
        err,
        ApiError::InsufficientFunds
            | ApiError::AccountNotActive(_)
            | ApiError::CurrencyMismatch(_)
            | ApiError::LimitExceeded(_)
    )
}

/// The refusal recorded under `code`.
fn refusal(code: &str, message: String) -> ApiError {
    match code {
        "INSUFFICIENT_FUNDS" => ApiError::InsufficientFunds,
        "ACCOUNT_NOT_ACTIVE" => ApiError::AccountNotActive(message),
        "CURRENCY_MISMATCH" => ApiError::CurrencyMismatch(message),
        "LIMIT_EXCEEDED" => ApiError::LimitExceeded(message),
        other => ApiError::internal_msg(format!("an unknown recorded refusal {other}: {message}")),
    }
}

/// Records a final refusal under the movement's key, so that the key's answer stays the same.
/// If another request under the key answered first (it posted while this one was refused),
/// that answer is returned instead: both callers hear the same thing.
async fn record_refusal(
    db: &DatabaseConnection,
    m: &Movement,
    hash: &str,
    err: ApiError,
) -> ApiResult<TransactionRow> {
    let scope = m.key_scope.unwrap_or(m.principal.user_id);
    let inserted = db
        .execute(stmt(
            "INSERT INTO idempotency_keys \
               (principal_id, key, operation, request_hash, result_id, refusal_code, refusal_message) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            [
                scope.into(),
                m.key.as_str().into(),
                m.operation().into(),
                hash.into(),
                Uuid::now_v7().into(),
                err.code().into(),
                err.message().into(),
            ],
        ))
        .await?
        .rows_affected();
    if inserted == 1 {
        return Err(err);
    }
    match replayed(read_claim(db, scope, &m.key).await?, m.operation(), hash) {
        Ok(id) => find_transaction(db, id)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("transaction {id} vanished"))),
        Err(Stop::Api(answer)) => Err(answer),
        Err(_) => Err(err),
    }
}

/// Amounts are checked for form before any lock is taken, and against the account's currency
/// once it is known.
fn precheck_amount(text: &str) -> ApiResult<()> {
    // Two decimals is the most any supported currency allows.
    let most_precise = Currency::all()
        .iter()
        .copied()
        .max_by_key(|c| c.exponent())
        .expect("currencies are configured");
    match parse_minor(text, most_precise) {
        Ok(0) => Err(ApiError::bad_input("amount", "the amount must be positive")),
        Ok(_) => Ok(()),
        Err(message) => Err(ApiError::bad_input("amount", message)),
    }
}

fn amount_in(text: &str, currency: Currency) -> ApiResult<i64> {
    match parse_minor(text, currency) {
        Ok(0) => Err(ApiError::bad_input("amount", "the amount must be positive")),
        Ok(minor) => Ok(minor),
        Err(message) => Err(ApiError::bad_input("amount", message)),
    }
}

/// A customer sees their own accounts, staff any customer account; internal accounts are
/// never addressed through the API. Anything else is `NOT_FOUND`.
fn visible<'a>(
    accounts: &'a mut HashMap<Uuid, AccountState>,
    id: Uuid,
    principal: &Principal,
) -> Result<&'a mut AccountState, Stop> {
    match accounts.get_mut(&id) {
        Some(account)
            if account.kind == AccountKind::Customer
                && account
                    .owner_id
                    .is_some_and(|owner| principal.can_access(owner)) =>
        {
            Ok(account)
        }
        Some(_) => Err(Stop::Api(ApiError::NotFound("account"))),
        None => Err(Stop::Missing(vec![id])),
    }
}

/// A deposit, withdrawal or transfer as the API asks for it.
#[derive(Clone)]
pub struct Movement {
    pub kind: TransactionKind,
    pub principal: Principal,
    pub key: IdempotencyKey,
    /// The account money leaves (withdrawals, transfers).
    pub from: Option<Uuid>,
    /// The account money reaches (deposits, transfers).
    pub to: Option<Uuid>,
    pub amount: String,
    pub description: Description,
    /// Where its events go (`bank.ledger`).
    pub topic: String,
    /// Whose idempotency keys these are: the caller's (`None`), or an aggregate's of another
    /// service (a loan), so that whoever retries, the key means the same movement.
    pub key_scope: Option<Uuid>,
    /// The customer account must belong to this owner (services acting for a customer).
    pub owner: Option<Uuid>,
    /// The movement must be in this currency (a loan's).
    pub currency: Option<Currency>,
    /// Recorded on the transaction and its events.
    pub reference: Option<String>,
    /// A deposit into the caller's own account (a customer's, or a member of staff's) is a
    /// sandbox's self-service deposit: refused when `None`, else allowed up to this much (major
    /// units) per account per day. Staff depositing into others' accounts are tellers.
    pub self_deposit_limit: Option<i64>,
    /// When the movement is booked: now (`None`), or a past time (the sandbox's back-dating).
    pub booked_at: Option<DateTime<Utc>>,
    /// The audit entry of the request that asks for it, stored with the movement in its
    /// transaction (`None`: the caller audits it).
    pub audit: Option<bank_common::audit::Draft>,
}

impl Movement {
    fn operation(&self) -> &'static str {
        self.kind.as_str()
    }

    fn hash(&self) -> String {
        let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        request_hash(
            self.operation(),
            &[
                &id(self.from),
                &id(self.to),
                self.amount.trim(),
                self.description.as_deref().unwrap_or_default(),
                self.reference.as_deref().unwrap_or_default(),
            ],
        )
    }
}

/// Executes a deposit, withdrawal or transfer exactly once per idempotency key: first in a
/// batch with others when batching is on ([`crate::batch`]), then, if that did not settle it,
/// alone with retries.
///
/// The row, and whether this call wrote it (and with it the movement's audit entry, if it
/// had one) rather than finding it done before under the same key.
pub async fn move_money(
    ledger: &crate::batch::Ledger,
    movement: &Movement,
    account_wait: Duration,
) -> ApiResult<(TransactionRow, bool)> {
    let db = &ledger.db;
    precheck_amount(&movement.amount)?;
    if movement.from.is_some() && movement.from == movement.to {
        return Err(ApiError::bad_input(
            "toAccountId",
            "a transfer needs two different accounts",
        ));
    }
    let hash = movement.hash();
    let outcome = match ledger.first_attempt(movement, &hash).await {
        Ok(moved) => Ok(moved),
        Err(Stop::Api(err)) => Err(err),
        Err(Stop::Retry(_) | Stop::Missing(_)) => {
            with_retries(db, account_wait, || try_move(db, movement, &hash)).await
        }
    };
    match outcome {
        // The row as written: no second read on the hot path.
        Ok(Moved::Now(row, suspended)) => {
            // Said once the movement has committed (a batch answers only after its commit).
            if let Some(closed) = suspended {
                SUSPENSE_POSTINGS.inc();
                tracing::warn!(account_id = %closed, transaction_id = %row.id, amount = row.amount_minor, reference = ?row.reference, "money for a closed account is held in suspense; staff must pay it out");
            }
            Ok((row, true))
        }
        Ok(Moved::Before(id)) => find_transaction(db, id)
            .await?
            .map(|row| (row, false))
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("transaction {id} vanished"))),
        Err(err) if is_final_refusal(&err) && !movement.kind.pays_the_customer() => {
            record_refusal(db, movement, &hash, err)
                .await
                .map(|row| (row, false))
        }
        Err(err) => Err(err),
    }
}

/// A movement's result: done now (and the closed account whose money went to suspense, if
/// any), or done before under the same idempotency key.
// Made and moved once per movement: boxing the row would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Moved {
    Now(TransactionRow, Option<Uuid>),
    Before(Uuid),
}

/// One attempt at a movement in a database transaction of its own.
pub(crate) async fn try_move<C: TransactionTrait>(
    db: &C,
    m: &Movement,
    hash: &str,
) -> Result<Moved, Stop> {
    let txn = db.begin().await?;
    let transaction_id = Uuid::now_v7();
    if let Some(claimed) = claim_key(
        &txn,
        m.key_scope.unwrap_or(m.principal.user_id),
        &m.key,
        m.operation(),
        hash,
        transaction_id,
    )
    .await?
    {
        txn.rollback().await?;
        return replayed(claimed, m.operation(), hash).map(Moved::Before);
    }
    let moved = move_claimed(&txn, m, transaction_id).await?;
    txn.commit().await?;
    Ok(moved)
}

/// A movement whose key is claimed (under `transaction_id`): its accounts locked, its rules
/// applied and, unless they refuse it, its rows written, in `txn`. Nothing is written before
/// every rule has passed.
async fn move_claimed(
    txn: &DatabaseTransaction,
    m: &Movement,
    transaction_id: Uuid,
) -> Result<Moved, Stop> {
    let mut ids: Vec<Uuid> = m.from.iter().chain(m.to.iter()).copied().collect();
    ids.sort();
    ids.dedup();
    let mut accounts = lock_accounts(txn, &ids).await?;
    let shape = shape(m, &mut accounts)?;
    let (currency, amount) = (shape.currency, shape.amount);
    if m.kind == TransactionKind::Deposit {
        self_deposit_allowed(txn, m, &accounts, amount, currency).await?;
    }
    // Money given back to an account that has closed since (a returned payment, a refund)
    // cannot land there and must not wait forever: it goes to the currency's suspense account,
    // with an event, for staff to pay out.
    let mut suspended = None;
    if m.kind == TransactionKind::Reversal {
        reverses_a_debit(txn, m, amount).await?;
        let to = m.to.expect("a reversal names an account");
        if accounts
            .get(&to)
            .is_some_and(|account| account.status == AccountStatus::Closed)
        {
            suspended = Some(to);
        }
    }
    require_active(m, &accounts, suspended)?;
    if let Some(at) = m.booked_at {
        // Back-dated (a sandbox's demo history): never before what the customer accounts
        // already hold, so that their postings stay in time order and each running balance
        // holds at its time.
        let ids: Vec<Uuid> = accounts.keys().copied().collect();
        let later = txn
            .query_one(stmt(
                "SELECT 1 AS later FROM postings WHERE account_id = ANY($1) AND created_at > $2 LIMIT 1",
                [ids.into(), at.into()],
            ))
            .await?;
        if later.is_some() {
            return Err(ApiError::bad_input(
                "bookedAt",
                "an account already has a posting after this time; book in time order",
            )
            .into());
        }
    }
    let legs = legs_of(m, &shape, suspended.is_some());
    if m.kind != TransactionKind::Transfer {
        // Internal accounts lock after customer accounts, always (and among themselves in id
        // order).
        let mut internal = vec![shape.counter.id(currency)];
        if suspended.is_some() {
            internal.push(InternalAccount::Suspense.id(currency));
            internal.sort();
        }
        let internal = lock_accounts(txn, &internal).await?;
        accounts.extend(internal);
    }
    // PostgreSQL keeps microseconds: the row returned must equal the row stored.
    let now = m
        .booked_at
        .unwrap_or_else(|| chrono::SubsecRound::trunc_subsecs(Utc::now(), 6));
    let transaction = apply(m, &shape, &mut accounts, legs, transaction_id, now)?;
    let legs = [(legs.0, -amount), (legs.1, amount)];
    write_movement(
        txn,
        &accounts,
        &legs,
        &transaction,
        &m.topic,
        m.audit.as_ref(),
    )
    .await?;
    if let Some(closed) = suspended {
        let held = events::HeldInSuspense {
            transaction_id,
            account_id: closed,
            owner_id: accounts.get(&closed).and_then(|account| account.owner_id),
            amount: bank_common::money::format_minor(amount, currency),
            amount_minor: amount,
            currency: currency.code().to_string(),
            reference: m.reference.clone(),
            held_at: now,
        };
        let mut event = events::suspense_event(held);
        event.topic = m.topic.clone();
        outbox::enqueue(txn, SCHEMA, &event).await?;
    }
    Ok(Moved::Now(transaction, suspended))
}

/// What a movement is once its customer accounts are locked: its currency, the internal
/// account on the other side (transfers have none), and its amount in minor units.
struct Shape {
    currency: Currency,
    counter: InternalAccount,
    amount: i64,
}

/// What a movement's locked customer accounts decide alone: that the ledger has them, that the
/// caller may use them, their currencies, and the amount in that currency.
fn shape(m: &Movement, accounts: &mut HashMap<Uuid, AccountState>) -> Result<Shape, Stop> {
    let mut missing: Vec<Uuid> = m
        .from
        .iter()
        .chain(m.to.iter())
        .filter(|id| !accounts.contains_key(id))
        .copied()
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        return Err(Stop::Missing(missing));
    }
    // Who may do what: money leaves only the caller's own accounts (staff: any); deposits go
    // into the caller's own accounts (staff: any); transfers may reach anyone's account.
    // Loan payouts and repayments name one customer account, which must be the borrower's.
    for id in m.from.iter().chain(m.to.iter()) {
        if let (Some(owner), Some(account)) = (m.owner, accounts.get(id)) {
            if account.owner_id != Some(owner) {
                return Err(Stop::Api(ApiError::NotFound("account")));
            }
        }
    }
    let (currency, counter) = match m.kind {
        TransactionKind::Deposit
        | TransactionKind::LoanDisbursement
        | TransactionKind::Reversal => {
            let to = visible(
                accounts,
                m.to.expect("deposits and payouts name an account"),
                &m.principal,
            )?;
            (to.currency, counter_of(m.kind))
        }
        TransactionKind::Withdrawal
        | TransactionKind::LoanRepayment
        | TransactionKind::ExternalPayment => {
            let from = visible(
                accounts,
                m.from.expect("withdrawals and repayments name an account"),
                &m.principal,
            )?;
            (from.currency, counter_of(m.kind))
        }
        _ => {
            let from = visible(
                accounts,
                m.from.expect("transfers name two accounts"),
                &m.principal,
            )?;
            let currency = from.currency;
            let to = accounts
                .get(&m.to.expect("transfers name two accounts"))
                .filter(|to| to.kind == AccountKind::Customer)
                .ok_or(ApiError::NotFound("account"))?;
            to.require_currency(currency)?;
            (currency, InternalAccount::Cash)
        }
    };
    if let Some(expected) = m.currency {
        if expected != currency {
            return Err(Stop::Api(ApiError::CurrencyMismatch(format!(
                "the account is in {currency}, not {expected}"
            ))));
        }
    }
    let amount = amount_in(&m.amount, currency)?;
    Ok(Shape {
        currency,
        counter,
        amount,
    })
}

/// Money moves only on active accounts; a closed account whose money goes to suspense
/// (`suspended`) is the one exception.
fn require_active(
    m: &Movement,
    accounts: &HashMap<Uuid, AccountState>,
    suspended: Option<Uuid>,
) -> Result<(), Stop> {
    for id in m.from.iter().chain(m.to.iter()) {
        if Some(*id) != suspended {
            if let Some(account) = accounts.get(id) {
                account.require_active()?;
            }
        }
    }
    Ok(())
}

/// The accounts a movement debits and credits.
fn legs_of(m: &Movement, shape: &Shape, suspended: bool) -> (Uuid, Uuid) {
    let counter = shape.counter.id(shape.currency);
    match m.kind {
        TransactionKind::Reversal if suspended => {
            (counter, InternalAccount::Suspense.id(shape.currency))
        }
        TransactionKind::Deposit
        | TransactionKind::LoanDisbursement
        | TransactionKind::Reversal => (counter, m.to.expect("an account to credit")),
        TransactionKind::Withdrawal
        | TransactionKind::LoanRepayment
        | TransactionKind::ExternalPayment => (m.from.expect("an account to debit"), counter),
        _ => (
            m.from.expect("an account to debit"),
            m.to.expect("an account to credit"),
        ),
    }
}

/// Applies a movement to its locked rows (the internal account's among them) and returns its
/// transaction. On a refusal the rows may be half changed: the caller drops or restores them.
fn apply(
    m: &Movement,
    shape: &Shape,
    accounts: &mut HashMap<Uuid, AccountState>,
    (debit_id, credit_id): (Uuid, Uuid),
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<TransactionRow, Stop> {
    let amount = shape.amount;
    {
        let debit = accounts
            .get_mut(&debit_id)
            .ok_or(ApiError::NotFound("account"))?;
        debit.debit(amount)?;
        if m.kind == TransactionKind::Withdrawal {
            let today = debit.read_on;
            debit.count_withdrawal(amount, today)?;
        }
    }
    accounts
        .get_mut(&credit_id)
        .ok_or(ApiError::NotFound("account"))?
        .credit(amount)?;
    Ok(TransactionRow {
        id,
        kind: m.kind.as_str().to_string(),
        currency: shape.currency.code().to_string(),
        amount_minor: amount,
        from_account_id: m.from,
        to_account_id: m.to,
        description: m.description.as_deref().map(str::to_string),
        hold_id: None,
        reference: m.reference.clone(),
        initiated_by: Some(m.principal.user_id),
        created_at: now,
    })
}

/// Whether a batch decides `m` from its locked rows alone. Self-service deposits (today's
/// total), reversals (the payment's debit) and back-dated movements read more than their rows:
/// they are written alone.
fn decided_from_rows(m: &Movement) -> bool {
    m.booked_at.is_none()
        && matches!(
            m.kind,
            TransactionKind::Transfer
                | TransactionKind::Withdrawal
                | TransactionKind::Deposit
                | TransactionKind::LoanDisbursement
                | TransactionKind::LoanRepayment
                | TransactionKind::ExternalPayment
        )
}

/// A batch's answer for a movement it leaves to be tried alone, after the batch has committed
/// (its idempotency key then says whether it was done before).
fn alone(why: &str) -> Result<Moved, Stop> {
    Err(Stop::Retry(DbErr::Custom(why.into())))
}

/// A batch of movements in one database transaction, in a handful of statements whatever its
/// size (instead of a few per movement):
///
/// 1. Claim every movement's idempotency key in one statement (`ON CONFLICT DO NOTHING`, in
///    key order so that batches claiming the same keys cannot deadlock), before any account is
///    locked, as a single movement does. A key claimed before (a replay, or the same key twice
///    in the batch) leaves its movement to be tried alone.
/// 2. Lock every customer account in id order, in one statement, then the internal accounts
///    the batch needs in another.
/// 3. Decide the movements in order of arrival against the locked rows in memory, each with
///    the rules a single movement has; a refused movement leaves the rows as it found them.
///    Movements whose rules read more than their rows ([`decided_from_rows`]) are left to be
///    tried alone.
/// 4. Give back the keys of movements not written (one statement, only if there are any), and
///    write balances, transactions, postings and outbox rows ([`Rows::write`]: one statement
///    on plain PostgreSQL, one per table on Citus).
///
/// Answers come back in the order of `jobs`; `Err`: the transaction cannot go on.
pub(crate) async fn move_batch(
    txn: &DatabaseTransaction,
    jobs: &[(&Movement, &str)],
) -> Result<Vec<Result<Moved, Stop>>, DbErr> {
    let citus = on_citus();
    let mut answers: Vec<Option<Result<Moved, Stop>>> = jobs
        .iter()
        .map(|(m, _)| (!decided_from_rows(m)).then(|| alone("written alone")))
        .collect();
    let ids: Vec<Uuid> = jobs.iter().map(|_| Uuid::now_v7()).collect();
    let scope = |m: &Movement| m.key_scope.unwrap_or(m.principal.user_id);

    // 1. The keys.
    let mut order: Vec<usize> = (0..jobs.len()).filter(|&i| answers[i].is_none()).collect();
    order.sort_by(|&a, &b| {
        (scope(jobs[a].0), jobs[a].0.key.as_str()).cmp(&(scope(jobs[b].0), jobs[b].0.key.as_str()))
    });
    let keys: Vec<[Value; 5]> = order
        .iter()
        .map(|&i| {
            let (m, hash) = jobs[i];
            [
                scope(m).into(),
                m.key.as_str().into(),
                m.operation().into(),
                hash.into(),
                ids[i].into(),
            ]
        })
        .collect();
    let claimed: HashSet<Uuid> = if keys.is_empty() {
        HashSet::new()
    } else {
        txn.query_all(rows_statement(
            citus,
            "INSERT INTO idempotency_keys (principal_id, key, operation, request_hash, result_id)",
            &["uuid", "text", "text", "text", "uuid"],
            keys,
            "ON CONFLICT DO NOTHING RETURNING result_id",
        ))
        .await?
        .iter()
        .map(|row| row.try_get::<Uuid>("", "result_id"))
        .collect::<Result<_, _>>()?
    };
    for &i in &order {
        if !claimed.contains(&ids[i]) {
            answers[i] = Some(alone("its key was claimed before"));
        }
    }

    // 2. The customer accounts, in id order.
    let mut customer: Vec<Uuid> = (0..jobs.len())
        .filter(|&i| answers[i].is_none())
        .flat_map(|i| jobs[i].0.from.iter().chain(jobs[i].0.to.iter()))
        .copied()
        .collect();
    customer.sort();
    customer.dedup();
    let mut accounts = lock_accounts(txn, &customer).await?;

    // 3. The decisions, in order of arrival.
    let mut rows = Rows::default();
    decide(txn, jobs, &ids, &mut answers, &mut accounts, &mut rows).await?;

    // 4. The writes.
    let unwritten: Vec<[Value; 2]> = order
        .iter()
        .copied()
        .filter(|&i| claimed.contains(&ids[i]) && !matches!(answers[i], Some(Ok(_))))
        .map(|i| [scope(jobs[i].0).into(), jobs[i].0.key.as_str().into()])
        .collect();
    if !unwritten.is_empty() {
        txn.execute(rows_statement(
            citus,
            "DELETE FROM idempotency_keys WHERE (principal_id, key) IN (",
            &["uuid", "text"],
            unwritten,
            ")",
        ))
        .await?;
    }
    rows.write(txn, &accounts).await?;
    Ok(answers
        .into_iter()
        .map(|answer| answer.expect("every movement has an answer"))
        .collect())
}

/// Step 3 of [`move_batch`]: the internal accounts the batch needs are locked (after the
/// customer accounts), then each movement is decided against the rows in memory and its rows
/// added to `rows`.
async fn decide(
    txn: &DatabaseTransaction,
    jobs: &[(&Movement, &str)],
    ids: &[Uuid],
    answers: &mut [Option<Result<Moved, Stop>>],
    accounts: &mut HashMap<Uuid, AccountState>,
    rows: &mut Rows,
) -> Result<(), DbErr> {
    // PostgreSQL keeps microseconds: the rows returned must equal the rows stored.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    let mut shapes: Vec<Option<Shape>> = (0..jobs.len()).map(|_| None).collect();
    for (i, (m, _)) in jobs.iter().enumerate() {
        if answers[i].is_some() {
            continue;
        }
        let own_deposit = m.kind == TransactionKind::Deposit
            && m.to
                .and_then(|to| accounts.get(&to))
                .and_then(|a| a.owner_id)
                == Some(m.principal.user_id);
        if own_deposit {
            answers[i] = Some(alone("a self-service deposit is written alone"));
            continue;
        }
        match shape(m, accounts) {
            Ok(shape) => shapes[i] = Some(shape),
            Err(stop) => answers[i] = Some(Err(stop)),
        }
    }
    let mut internal: Vec<Uuid> = jobs
        .iter()
        .zip(&shapes)
        .filter_map(|((m, _), shape)| {
            shape
                .as_ref()
                .filter(|_| m.kind != TransactionKind::Transfer)
                .map(|shape| shape.counter.id(shape.currency))
        })
        .collect();
    internal.sort();
    internal.dedup();
    if !internal.is_empty() {
        let locked = lock_accounts(txn, &internal).await?;
        accounts.extend(locked);
    }
    for (i, (m, _)) in jobs.iter().enumerate() {
        let Some(shape) = &shapes[i] else { continue };
        let legs = legs_of(m, shape, false);
        let before = [legs.0, legs.1].map(|id| accounts.get(&id).cloned());
        let decided = require_active(m, accounts, None)
            .and_then(|()| apply(m, shape, accounts, legs, ids[i], now));
        match decided {
            Ok(transaction) => {
                let legs = [(legs.0, -shape.amount), (legs.1, shape.amount)];
                rows.add(
                    accounts,
                    &legs,
                    transaction.clone(),
                    shape.currency,
                    &m.topic,
                    m.audit.as_ref(),
                );
                answers[i] = Some(Ok(Moved::Now(transaction, None)));
            }
            Err(stop) => {
                for account in before.into_iter().flatten() {
                    accounts.insert(account.id, account);
                }
                answers[i] = Some(Err(stop));
            }
        }
    }
    Ok(())
}

/// The rows a movement, or a batch of them, writes: by table, in order.
#[derive(Default)]
struct Rows {
    /// The accounts written, in the order first touched.
    touched: Vec<Uuid>,
    transactions: Vec<TransactionRow>,
    /// Postings: account, transaction, amount, balance after, time.
    postings: Vec<[Value; 5]>,
    events: Vec<OutgoingEvent>,
    /// The audit entries of the requests that asked for the movements.
    audit: Vec<bank_common::audit::Entry>,
}

impl Rows {
    /// A decided movement: `accounts` hold the balances after it; `legs` are (account, signed
    /// amount) and sum to zero.
    fn add(
        &mut self,
        accounts: &HashMap<Uuid, AccountState>,
        legs: &[(Uuid, i64)],
        transaction: TransactionRow,
        currency: Currency,
        topic: &str,
        audit: Option<&bank_common::audit::Draft>,
    ) {
        assert_eq!(
            legs.iter().map(|(_, amount)| amount).sum::<i64>(),
            0,
            "postings of a transaction sum to zero"
        );
        for &(id, delta) in legs {
            if !self.touched.contains(&id) {
                self.touched.push(id);
            }
            self.postings.push([
                id.into(),
                transaction.id.into(),
                delta.into(),
                accounts[&id].balance_minor.into(),
                transaction.created_at.into(),
            ]);
        }
        self.events.extend(posting_events(
            accounts,
            legs,
            &transaction,
            currency,
            topic,
        ));
        if let Some(draft) = audit {
            self.audit
                .push(draft.answered(serde_json::json!({ "id": transaction.id })));
        }
        self.transactions.push(transaction);
    }

    /// Writes the touched accounts as they stand, the transactions, their postings (in order,
    /// so posting ids follow the running balances) and their events, and wakes the outbox
    /// relay. On plain PostgreSQL that is one statement. On Citus the one-statement form would
    /// be planned in pieces (each modifying CTE run on its own, their results read on the
    /// coordinator), which makes every batch a two-phase commit: there it is one plain
    /// statement per table, each sent whole to the ledger's worker over the transaction's one
    /// connection, which keeps the batch a local transaction there; `NOTIFY` runs on the
    /// coordinator, where the relay listens.
    async fn write(
        self,
        txn: &DatabaseTransaction,
        accounts: &HashMap<Uuid, AccountState>,
    ) -> Result<(), DbErr> {
        let Some(last) = self.transactions.last() else {
            return Ok(());
        };
        let written: Vec<&AccountState> = self.touched.iter().map(|id| &accounts[id]).collect();
        let accounts_values: Vec<Value> = vec![
            last.created_at.into(),
            written.iter().map(|a| a.id).collect::<Vec<_>>().into(),
            written
                .iter()
                .map(|a| a.balance_minor)
                .collect::<Vec<_>>()
                .into(),
            written
                .iter()
                .map(|a| a.held_minor)
                .collect::<Vec<_>>()
                .into(),
            written
                .iter()
                .map(|a| a.withdrawn_today_minor)
                .collect::<Vec<_>>()
                .into(),
            written
                .iter()
                .map(|a| a.withdrawn_on)
                .collect::<Vec<_>>()
                .into(),
        ];
        const UPDATE_ACCOUNTS: &str = "UPDATE ledger_accounts a
               SET balance_minor = v.balance, held_minor = v.held,
                   withdrawn_today_minor = v.withdrawn, withdrawn_on = v.withdrawn_on,
                   updated_at = $1
              FROM unnest($2::uuid[], $3::int8[], $4::int8[], $5::int8[], $6::date[])
                   AS v(id, balance, held, withdrawn, withdrawn_on)
             WHERE a.account_id = v.id";
        const POSTINGS: &str = "INSERT INTO postings \
             (account_id, transaction_id, amount_minor, balance_after_minor, created_at)";
        const POSTING_TYPES: [&str; 5] = ["uuid", "uuid", "int8", "int8", "timestamptz"];
        const OUTBOX: &str = "INSERT INTO outbox (event_id, topic, event_key, event_type, payload)";
        const EVENT_TYPES: [&str; 5] = ["uuid", "text", "text", "text", "text"];
        let events: Vec<[Value; 5]> = self
            .events
            .iter()
            .map(|e| {
                [
                    e.id.into(),
                    e.topic.as_str().into(),
                    e.key.as_str().into(),
                    e.kind.as_str().into(),
                    e.payload.to_string().into(),
                ]
            })
            .collect();
        if on_citus() {
            let updated = txn
                .execute(stmt(UPDATE_ACCOUNTS, accounts_values))
                .await?
                .rows_affected();
            assert_eq!(
                updated as usize,
                written.len(),
                "every written account was locked"
            );
            let transactions: Vec<[Value; 11]> = self
                .transactions
                .iter()
                .map(|t| {
                    [
                        t.id.into(),
                        t.kind.as_str().into(),
                        t.currency.as_str().into(),
                        t.amount_minor.into(),
                        t.from_account_id.into(),
                        t.to_account_id.into(),
                        t.description.clone().into(),
                        t.hold_id.into(),
                        t.initiated_by.into(),
                        t.created_at.into(),
                        t.reference.clone().into(),
                    ]
                })
                .collect();
            txn.execute(rows_statement(
                true,
                "INSERT INTO transactions (id, kind, currency, amount_minor, from_account_id, \
                 to_account_id, description, hold_id, initiated_by, created_at, reference)",
                &[
                    "uuid",
                    "text",
                    "text",
                    "int8",
                    "uuid",
                    "uuid",
                    "text",
                    "uuid",
                    "uuid",
                    "timestamptz",
                    "text",
                ],
                transactions,
                "",
            ))
            .await?;
            txn.execute(rows_statement(
                true,
                POSTINGS,
                &POSTING_TYPES,
                self.postings,
                "",
            ))
            .await?;
            if !events.is_empty() {
                let types = ["uuid", "text", "text", "text", "jsonb"];
                txn.execute(rows_statement(true, OUTBOX, &types, events, ""))
                    .await?;
            }
            if !self.audit.is_empty() {
                let rows = self.audit.iter().map(|entry| entry.row()).collect();
                let (insert, types) = (bank_common::audit::INSERT, &bank_common::audit::TYPES);
                txn.execute(rows_statement(true, insert, types, rows, ""))
                    .await?;
            }
            txn.execute_unprepared(&format!("NOTIFY {}", outbox::channel(SCHEMA)))
                .await?;
            return Ok(());
        }
        let transactions = serde_json::Value::Array(
            self.transactions
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "id": t.id,
                        "kind": t.kind,
                        "currency": t.currency,
                        "amount_minor": t.amount_minor,
                        "from_account_id": t.from_account_id,
                        "to_account_id": t.to_account_id,
                        "description": t.description,
                        "hold_id": t.hold_id,
                        "initiated_by": t.initiated_by,
                        "created_at": t.created_at,
                        "reference": t.reference,
                    })
                })
                .collect(),
        );
        let mut values = accounts_values;
        values.push(transactions.to_string().into());
        values.extend(arrays(self.postings, &POSTING_TYPES));
        values.extend(arrays(events, &EVENT_TYPES));
        values.push(outbox::channel(SCHEMA).into());
        let audit: Vec<serde_json::Value> = self.audit.iter().map(|e| e.record()).collect();
        values.push(serde_json::Value::Array(audit).to_string().into());
        // The statement's text is made once: it is the same for every batch.
        static WRITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            const AUDIT: &str = bank_common::audit::INSERT;
            format!(
                "WITH upd AS ({UPDATE_ACCOUNTS} RETURNING a.account_id),
                     tx AS (
                        INSERT INTO transactions (id, kind, currency, amount_minor,
                            from_account_id, to_account_id, description, hold_id, initiated_by,
                            created_at, reference)
                        SELECT * FROM jsonb_to_recordset($7::jsonb) AS t(id uuid, kind text,
                            currency text, amount_minor int8, from_account_id uuid,
                            to_account_id uuid, description text, hold_id uuid,
                            initiated_by uuid, created_at timestamptz, reference text)
                     ), posts AS (
                        {POSTINGS}
                        SELECT * FROM unnest($8::uuid[], $9::uuid[], $10::int8[], $11::int8[],
                            $12::timestamptz[])
                     ), ob AS (
                        {OUTBOX}
                        SELECT o.id, o.topic, o.key, o.type, o.payload::jsonb
                          FROM unnest($13::uuid[], $14::text[], $15::text[], $16::text[],
                               $17::text[]) AS o(id, topic, key, type, payload)
                     ), au AS (
                        {AUDIT}
                        SELECT * FROM jsonb_to_recordset($19::jsonb) AS e(actor text,
                            actor_roles text, on_behalf_of text, action text, subject text,
                            outcome text, address text, request_id text, before jsonb,
                            after jsonb)
                     )
                     SELECT (SELECT count(*) FROM upd) AS updated,
                            pg_notify($18, '') IS NULL AS notified"
            )
        });
        let row = txn
            .query_one(stmt(&WRITE, values))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the movements' result".into()))?;
        let updated: i64 = row.try_get("", "updated")?;
        assert_eq!(
            updated as usize,
            written.len(),
            "every written account was locked"
        );
        Ok(())
    }
}

/// Money given back to closed accounts and held in suspense.
static SUSPENSE_POSTINGS: std::sync::LazyLock<prometheus::IntCounter> =
    std::sync::LazyLock::new(|| {
        bank_common::metrics::service_counter(
            "ledger_suspense_postings_total",
            "Reversals and refunds for closed accounts, held in the suspense account for staff",
        )
    });

/// A reversal gives back a payment's debit, and nothing else: the debit must have been posted
/// under the same scope (the payment or direct debit), from the account the reversal credits,
/// for at least the reversal's amount; and the scope may hold no other reversal. Without this
/// the service token could credit any amount from clearing. Two single-shard reads (the keys by
/// scope, the debit by id), no join, so Citus plans them as it plans the rest of a movement.
async fn reverses_a_debit(
    txn: &DatabaseTransaction,
    m: &Movement,
    amount: i64,
) -> Result<(), Stop> {
    let refuse =
        |field: &'static str, message: &str| Err(Stop::Api(ApiError::bad_input(field, message)));
    let Some(scope) = m.key_scope else {
        return refuse("paymentId", "a reversal names the payment it gives back");
    };
    let keys = txn
        .query_all(stmt(
            "SELECT key, operation, result_id FROM idempotency_keys WHERE principal_id = $1",
            [scope.into()],
        ))
        .await?;
    let mut debit = None;
    for row in &keys {
        let operation: String = row.try_get("", "operation")?;
        let key: String = row.try_get("", "key")?;
        if operation == TransactionKind::ExternalPayment.as_str() {
            debit = Some(row.try_get::<Uuid>("", "result_id")?);
        } else if operation == TransactionKind::Reversal.as_str() && key != m.key.as_str() {
            return refuse(
                "key",
                "this payment was given back already, under another key",
            );
        }
    }
    let Some(debit) = debit else {
        return refuse(
            "paymentId",
            "no debit of this payment was posted: nothing to give back",
        );
    };
    let Some(debit) = find_transaction(txn, debit).await? else {
        return refuse(
            "paymentId",
            "no debit of this payment was posted: nothing to give back",
        );
    };
    if debit.from_account_id != m.to {
        return refuse(
            "accountId",
            "a reversal goes back to the account the payment was debited from",
        );
    }
    if amount > debit.amount_minor {
        return refuse(
            "amount",
            "a reversal gives back at most the payment's debit",
        );
    }
    Ok(())
}

/// The internal account on the other side of a single-account movement.
fn counter_of(kind: TransactionKind) -> InternalAccount {
    match kind {
        TransactionKind::LoanDisbursement | TransactionKind::LoanRepayment => {
            InternalAccount::LoanFunding
        }
        TransactionKind::ExternalPayment | TransactionKind::Reversal => InternalAccount::Clearing,
        _ => InternalAccount::Cash,
    }
}

/// One `posted` event per customer leg of `transaction`, with the balances after it.
fn posting_events(
    accounts: &HashMap<Uuid, AccountState>,
    legs: &[(Uuid, i64)],
    transaction: &TransactionRow,
    currency: Currency,
    topic: &str,
) -> Vec<OutgoingEvent> {
    let customer_legs: Vec<(&AccountState, i64)> = legs
        .iter()
        .filter_map(|(id, delta)| accounts.get(id).map(|account| (account, *delta)))
        .filter(|(account, _)| account.kind == AccountKind::Customer)
        .collect();
    customer_legs
        .iter()
        .map(|(account, delta)| {
            let counterparty = customer_legs
                .iter()
                .find(|(other, _)| other.id != account.id)
                .map(|(other, _)| other.id);
            events::posted(
                topic,
                events::PostingFacts {
                    transaction_id: transaction.id,
                    account_id: account.id,
                    owner_id: account.owner_id.expect("customer accounts have owners"),
                    kind: &transaction.kind,
                    delta_minor: *delta,
                    currency,
                    balance_after_minor: account.balance_minor,
                    available_after_minor: account.available_minor(),
                    counterparty_account_id: counterparty,
                    description: transaction.description.as_deref(),
                    reference: transaction.reference.as_deref(),
                    posted_at: transaction.created_at,
                },
            )
        })
        .collect()
}

/// Writes every account of `accounts` as it stands (a capture releases its hold on one),
/// the transaction, its postings and one outbox event per customer posting ([`Rows::write`]).
/// `legs` are (account, signed amount) and sum to zero.
async fn write_movement(
    txn: &DatabaseTransaction,
    accounts: &HashMap<Uuid, AccountState>,
    legs: &[(Uuid, i64)],
    transaction: &TransactionRow,
    topic: &str,
    audit: Option<&bank_common::audit::Draft>,
) -> Result<(), Stop> {
    let currency = Currency::parse(&transaction.currency).map_err(ApiError::internal_msg)?;
    let mut rows = Rows::default();
    rows.add(accounts, legs, transaction.clone(), currency, topic, audit);
    for id in accounts.keys() {
        if !rows.touched.contains(id) {
            rows.touched.push(*id);
        }
    }
    rows.write(txn, accounts).await?;
    Ok(())
}

pub async fn find_transaction(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<TransactionRow>, DbErr> {
    transactions::Entity::find_by_id(id).one(db).await
}

pub async fn find_transactions(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<Vec<TransactionRow>, DbErr> {
    transactions::Entity::find()
        .filter(transactions::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn find_accounts(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<Vec<LedgerAccountRow>, DbErr> {
    ledger_accounts::Entity::find()
        .filter(ledger_accounts::Column::AccountId.is_in(ids.iter().copied()))
        .filter(ledger_accounts::Column::Kind.eq("CUSTOMER"))
        .all(db)
        .await
}

pub async fn find_account_by_number(
    db: &DatabaseConnection,
    number: &str,
) -> Result<Option<LedgerAccountRow>, DbErr> {
    ledger_accounts::Entity::find()
        .filter(ledger_accounts::Column::Number.eq(number))
        .filter(ledger_accounts::Column::Kind.eq("CUSTOMER"))
        .one(db)
        .await
}

/// One line of an account's history: the posting and its transaction.
#[derive(Debug, Clone)]
pub struct PostingLine {
    pub posting_id: i64,
    pub amount_minor: i64,
    pub balance_after_minor: i64,
    pub transaction: TransactionRow,
}

const LINE_COLUMNS: &str = "p.id AS posting_id, p.amount_minor AS posting_amount, \
     p.balance_after_minor, t.id, t.kind, t.currency, t.amount_minor, t.from_account_id, \
     t.to_account_id, t.description, t.hold_id, t.reference, t.initiated_by, t.created_at";

fn posting_line(row: &QueryResult) -> Result<PostingLine, DbErr> {
    Ok(PostingLine {
        posting_id: row.try_get("", "posting_id")?,
        amount_minor: row.try_get("", "posting_amount")?,
        balance_after_minor: row.try_get("", "balance_after_minor")?,
        transaction: TransactionRow {
            id: row.try_get("", "id")?,
            kind: row.try_get("", "kind")?,
            currency: row.try_get("", "currency")?,
            amount_minor: row.try_get("", "amount_minor")?,
            from_account_id: row.try_get("", "from_account_id")?,
            to_account_id: row.try_get("", "to_account_id")?,
            description: row.try_get("", "description")?,
            hold_id: row.try_get("", "hold_id")?,
            reference: row.try_get("", "reference")?,
            initiated_by: row.try_get("", "initiated_by")?,
            created_at: row.try_get("", "created_at")?,
        },
    })
}

/// An account's postings, newest first, after the posting `before` (a cursor), at most `limit`.
pub async fn account_lines(
    db: &DatabaseConnection,
    account_id: Uuid,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<PostingLine>, DbErr> {
    let rows = db
        .query_all(stmt(
            &format!(
                "SELECT {LINE_COLUMNS} FROM postings p JOIN transactions t ON t.id = p.transaction_id \
                 WHERE p.account_id = $1 AND p.id < $2 ORDER BY p.id DESC LIMIT $3"
            ),
            [
                account_id.into(),
                before.unwrap_or(i64::MAX).into(),
                (limit as i64).into(),
            ],
        ))
        .await?;
    rows.iter().map(posting_line).collect()
}

/// A statement: the balance before `from`, the postings in `[from, to)` oldest first (at most
/// `limit`, plus one to tell whether there were more), and the balance at the end.
pub struct StatementRows {
    pub opening_minor: i64,
    pub lines: Vec<PostingLine>,
}

pub async fn statement(
    db: &DatabaseConnection,
    account_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u64,
) -> Result<StatementRows, DbErr> {
    // One snapshot for the opening balance and the lines.
    let txn = bank_common::db::snapshot(db).await?;
    let opening = txn
        .query_one(stmt(
            "SELECT balance_after_minor FROM postings WHERE account_id = $1 AND created_at < $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1",
            [account_id.into(), from.into()],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "balance_after_minor"))
        .transpose()?
        .unwrap_or(0);
    let rows = txn
        .query_all(stmt(
            &format!(
                "SELECT {LINE_COLUMNS} FROM postings p JOIN transactions t ON t.id = p.transaction_id \
                 WHERE p.account_id = $1 AND p.created_at >= $2 AND p.created_at < $3 \
                 ORDER BY p.created_at, p.id LIMIT $4"
            ),
            [account_id.into(), from.into(), to.into(), (limit as i64).into()],
        ))
        .await?;
    txn.commit().await?;
    Ok(StatementRows {
        opening_minor: opening,
        lines: rows.iter().map(posting_line).collect::<Result<_, _>>()?,
    })
}

// ---------------------------------------------------------------------------------------------
// Holds (two-phase transfers)

pub struct NewHold {
    pub principal: Principal,
    pub key: IdempotencyKey,
    pub account_id: Uuid,
    /// Where captured money goes; the bank's settlement account when `None`.
    pub to_account_id: Option<Uuid>,
    pub amount: String,
    pub description: Description,
    pub ttl: Duration,
    pub topic: String,
}

pub const HOLD_PENDING: &str = "PENDING";

/// Places a hold: the amount stops being available, but stays in the balance until captured.
pub async fn place_hold(
    db: &DatabaseConnection,
    hold: &NewHold,
    account_wait: Duration,
) -> ApiResult<HoldRow> {
    precheck_amount(&hold.amount)?;
    if Some(hold.account_id) == hold.to_account_id {
        return Err(ApiError::bad_input(
            "toAccountId",
            "a hold needs two different accounts",
        ));
    }
    let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    let hash = request_hash(
        "HOLD",
        &[
            &hold.account_id.to_string(),
            &id(hold.to_account_id),
            hold.amount.trim(),
            hold.description.as_deref().unwrap_or_default(),
            &hold.ttl.as_secs().to_string(),
        ],
    );
    let hold_id = with_retries(db, account_wait, || try_place_hold(db, hold, &hash)).await?;
    find_hold(db, hold_id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("hold {hold_id} vanished")))
}

async fn try_place_hold(db: &DatabaseConnection, h: &NewHold, hash: &str) -> Result<Uuid, Stop> {
    let txn = db.begin().await?;
    let hold_id = Uuid::now_v7();
    if let Some(claimed) =
        claim_key(&txn, h.principal.user_id, &h.key, "HOLD", hash, hold_id).await?
    {
        txn.rollback().await?;
        return replayed(claimed, "HOLD", hash);
    }
    let mut accounts = lock_accounts(&txn, &[h.account_id]).await?;
    let account = visible(&mut accounts, h.account_id, &h.principal)?;
    let currency = account.currency;
    let amount = amount_in(&h.amount, currency)?;
    account.require_active()?;
    let to_account_id = match h.to_account_id {
        Some(to) => {
            let target = ledger_accounts::Entity::find_by_id(to)
                .one(&txn)
                .await?
                .filter(|row| row.kind == "CUSTOMER")
                .ok_or(Stop::Missing(vec![to]))?;
            if target.currency.trim() != currency.code() {
                return Err(ApiError::CurrencyMismatch(format!(
                    "account {to} holds {}, not {currency}",
                    target.currency
                ))
                .into());
            }
            to
        }
        None => InternalAccount::Settlement.id(currency),
    };
    account.hold(amount)?;
    let now = Utc::now();
    let expires_at = now + chrono::Duration::from_std(h.ttl).map_err(ApiError::internal)?;
    let event = events::hold(
        &h.topic,
        events::HOLD_PLACED,
        events::HoldEvent {
            hold_id,
            account_id: account.id,
            owner_id: account.owner_id.expect("customer accounts have owners"),
            amount: bank_common::money::format_minor(amount, currency),
            amount_minor: amount,
            currency: currency.code().to_string(),
            status: HOLD_PENDING.into(),
            captured_minor: 0,
            available_after: bank_common::money::format_minor(account.available_minor(), currency),
            expires_at,
        },
    );
    txn.execute(stmt(
        "UPDATE ledger_accounts SET held_minor = $2, updated_at = now() WHERE account_id = $1",
        [account.id.into(), account.held_minor.into()],
    ))
    .await?;
    txn.execute(stmt(
        "INSERT INTO holds (id, account_id, to_account_id, currency, amount_minor, status, \
         description, initiated_by, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'PENDING', $6, $7, $8, $9)",
        [
            hold_id.into(),
            h.account_id.into(),
            to_account_id.into(),
            currency.code().into(),
            amount.into(),
            h.description.as_deref().map(str::to_string).into(),
            h.principal.user_id.into(),
            expires_at.into(),
            now.into(),
        ],
    ))
    .await?;
    outbox::enqueue(&txn, SCHEMA, &event).await?;
    txn.commit().await?;
    Ok(hold_id)
}

pub async fn find_hold(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<HoldRow>, DbErr> {
    holds::Entity::find()
        .filter(holds::Column::Id.eq(id))
        .one(db)
        .await
}

pub async fn find_holds(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Vec<HoldRow>, DbErr> {
    holds::Entity::find()
        .filter(holds::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// An account's holds, newest first, at most `limit`; only pending ones if asked.
pub async fn account_holds(
    db: &DatabaseConnection,
    account_id: Uuid,
    pending_only: bool,
    limit: u64,
) -> Result<Vec<HoldRow>, DbErr> {
    let mut query = holds::Entity::find().filter(holds::Column::AccountId.eq(account_id));
    if pending_only {
        query = query.filter(holds::Column::Status.eq(HOLD_PENDING));
    }
    query
        .order_by_desc(holds::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await
}

async fn lock_hold(txn: &DatabaseTransaction, id: Uuid) -> Result<Option<HoldRow>, DbErr> {
    holds::Entity::find()
        .filter(holds::Column::Id.eq(id))
        .lock_exclusive()
        .one(txn)
        .await
}

/// Ends a pending hold (locked by the caller, with its account): releases the reservation,
/// records the outcome and publishes it.
async fn resolve_hold(
    txn: &DatabaseTransaction,
    hold: &HoldRow,
    account: &mut AccountState,
    status: &str,
    captured_minor: i64,
    write_account: bool,
    topic: &str,
) -> Result<(), Stop> {
    account.release(hold.amount_minor);
    if write_account {
        txn.execute(stmt(
            "UPDATE ledger_accounts SET held_minor = $2, updated_at = now() WHERE account_id = $1",
            [account.id.into(), account.held_minor.into()],
        ))
        .await?;
    }
    txn.execute(stmt(
        "UPDATE holds SET status = $3, captured_minor = $4, resolved_at = now() \
         WHERE account_id = $1 AND id = $2",
        [
            hold.account_id.into(),
            hold.id.into(),
            status.into(),
            captured_minor.into(),
        ],
    ))
    .await?;
    let currency = account.currency;
    let event = events::hold(
        topic,
        events::HOLD_RELEASED,
        events::HoldEvent {
            hold_id: hold.id,
            account_id: account.id,
            owner_id: account.owner_id.expect("customer accounts have owners"),
            amount: bank_common::money::format_minor(hold.amount_minor, currency),
            amount_minor: hold.amount_minor,
            currency: currency.code().to_string(),
            status: status.into(),
            captured_minor,
            available_after: bank_common::money::format_minor(
                account.available_minor() - captured_minor,
                currency,
            ),
            expires_at: hold.expires_at,
        },
    );
    outbox::enqueue(txn, SCHEMA, &event).await?;
    Ok(())
}

fn require_pending(hold: &HoldRow, now: DateTime<Utc>) -> ApiResult<()> {
    if hold.status != HOLD_PENDING {
        return Err(ApiError::bad_input(
            "holdId",
            format!("the hold is already {}", hold.status.to_lowercase()),
        ));
    }
    if hold.expires_at <= now {
        return Err(ApiError::bad_input("holdId", "the hold has expired"));
    }
    Ok(())
}

pub struct Capture {
    pub principal: Principal,
    pub key: IdempotencyKey,
    pub hold_id: Uuid,
    /// Part of the hold to capture; all of it when `None`. The rest is released.
    pub amount: Option<String>,
    pub topic: String,
}

/// Captures a hold, fully or partly: one HOLD_CAPTURE transaction from the held account to the
/// hold's destination; whatever is not captured becomes available again.
pub async fn capture_hold(db: &DatabaseConnection, capture: &Capture) -> ApiResult<TransactionRow> {
    if let Some(amount) = &capture.amount {
        precheck_amount(amount)?;
    }
    let hash = request_hash(
        "CAPTURE",
        &[
            &capture.hold_id.to_string(),
            capture.amount.as_deref().unwrap_or_default().trim(),
        ],
    );
    let id = with_retries(db, Duration::ZERO, || try_capture(db, capture, &hash)).await?;
    find_transaction(db, id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("transaction {id} vanished")))
}

async fn try_capture(db: &DatabaseConnection, c: &Capture, hash: &str) -> Result<Uuid, Stop> {
    let txn = db.begin().await?;
    let transaction_id = Uuid::now_v7();
    if let Some(claimed) = claim_key(
        &txn,
        c.principal.user_id,
        &c.key,
        "CAPTURE",
        hash,
        transaction_id,
    )
    .await?
    {
        txn.rollback().await?;
        return replayed(claimed, "CAPTURE", hash);
    }
    // Lock order: the hold, then customer accounts by id, then internal accounts.
    let hold = lock_hold(&txn, c.hold_id)
        .await?
        .ok_or(ApiError::NotFound("hold"))?;
    let destination_internal = {
        let currency = Currency::parse(&hold.currency).map_err(ApiError::internal_msg)?;
        hold.to_account_id == InternalAccount::Settlement.id(currency)
    };
    let mut customer_ids = vec![hold.account_id];
    if !destination_internal {
        customer_ids.push(hold.to_account_id);
    }
    customer_ids.sort();
    let mut accounts = lock_accounts(&txn, &customer_ids).await?;
    {
        let account = visible(&mut accounts, hold.account_id, &c.principal)
            .map_err(|_| Stop::Api(ApiError::NotFound("hold")))?;
        account.require_active()?;
    }
    let now = Utc::now();
    require_pending(&hold, now)?;
    let currency = Currency::parse(&hold.currency).map_err(ApiError::internal_msg)?;
    let amount = match &c.amount {
        Some(text) => amount_in(text, currency)?,
        None => hold.amount_minor,
    };
    if amount > hold.amount_minor {
        return Err(
            ApiError::bad_input("amount", "a capture cannot exceed the amount held").into(),
        );
    }
    if destination_internal {
        accounts.extend(lock_accounts(&txn, &[hold.to_account_id]).await?);
    }
    let destination = accounts
        .get(&hold.to_account_id)
        .ok_or(ApiError::NotFound("account"))?;
    destination.require_active()?;
    {
        let account = accounts.get_mut(&hold.account_id).expect("locked above");
        resolve_hold(&txn, &hold, account, "CAPTURED", amount, false, &c.topic).await?;
        account.debit(amount)?;
    }
    accounts
        .get_mut(&hold.to_account_id)
        .expect("locked above")
        .credit(amount)?;
    let transaction = TransactionRow {
        id: transaction_id,
        kind: TransactionKind::HoldCapture.as_str().to_string(),
        currency: currency.code().to_string(),
        amount_minor: amount,
        from_account_id: Some(hold.account_id),
        to_account_id: (!destination_internal).then_some(hold.to_account_id),
        description: hold.description.clone(),
        hold_id: Some(hold.id),
        reference: None,
        initiated_by: Some(c.principal.user_id),
        created_at: now,
    };
    let legs = [(hold.account_id, -amount), (hold.to_account_id, amount)];
    write_movement(&txn, &accounts, &legs, &transaction, &c.topic, None).await?;
    txn.commit().await?;
    Ok(transaction_id)
}

/// Voids a pending hold; voiding a voided hold returns it unchanged.
pub async fn void_hold(
    db: &DatabaseConnection,
    principal: &Principal,
    hold_id: Uuid,
    topic: &str,
) -> ApiResult<HoldRow> {
    with_retries(db, Duration::ZERO, || async {
        let txn = db.begin().await?;
        let hold = lock_hold(&txn, hold_id)
            .await?
            .ok_or(ApiError::NotFound("hold"))?;
        let mut accounts = lock_accounts(&txn, &[hold.account_id]).await?;
        let account = visible(&mut accounts, hold.account_id, principal)
            .map_err(|_| Stop::Api(ApiError::NotFound("hold")))?;
        if hold.status == "VOIDED" {
            txn.commit().await?;
            return Ok(());
        }
        require_pending(&hold, Utc::now())?;
        resolve_hold(&txn, &hold, account, "VOIDED", 0, true, topic).await?;
        txn.commit().await?;
        Ok(())
    })
    .await?;
    find_hold(db, hold_id)
        .await?
        .ok_or(ApiError::NotFound("hold"))
}

/// Releases pending holds whose time ran out, at most `batch` per call; returns how many.
pub async fn expire_holds(
    db: &DatabaseConnection,
    batch: u64,
    topic: &str,
) -> Result<usize, DbErr> {
    let due = holds::Entity::find()
        .filter(holds::Column::Status.eq(HOLD_PENDING))
        .filter(holds::Column::ExpiresAt.lte(Utc::now()))
        .order_by_asc(holds::Column::ExpiresAt)
        .limit(batch)
        .all(db)
        .await?;
    let mut expired = 0;
    for candidate in due {
        let txn = db.begin().await?;
        let Some(hold) = lock_hold(&txn, candidate.id).await? else {
            continue;
        };
        if hold.status != HOLD_PENDING || hold.expires_at > Utc::now() {
            txn.rollback().await?;
            continue;
        }
        let mut accounts = lock_accounts(&txn, &[hold.account_id]).await?;
        let Some(account) = accounts.get_mut(&hold.account_id) else {
            txn.rollback().await?;
            continue;
        };
        match resolve_hold(&txn, &hold, account, "EXPIRED", 0, true, topic).await {
            Ok(()) => {
                txn.commit().await?;
                expired += 1;
            }
            // Left for the next round (a conflict, or the database went away).
            Err(_) => txn.rollback().await?,
        }
    }
    Ok(expired)
}

// ---------------------------------------------------------------------------------------------
// Account lifecycle

/// Closes the ledger side of an account: only with a zero balance and no open hold. The row
/// lock makes the check and the close one step; every posting needs the same lock and an
/// ACTIVE status, so nothing can slip in between. Closing a closed account is a no-op.
pub async fn close_account(
    db: &DatabaseConnection,
    principal: &Principal,
    account_id: Uuid,
) -> ApiResult<LedgerAccountRow> {
    with_retries(db, Duration::ZERO, || async {
        let txn = db.begin().await?;
        let mut accounts = lock_accounts(&txn, &[account_id]).await?;
        let account = visible(&mut accounts, account_id, principal)
            .map_err(|_| Stop::Api(ApiError::NotFound("account")))?;
        match account.status {
            AccountStatus::Closed => {
                txn.commit().await?;
                return Ok(());
            }
            AccountStatus::Frozen if !principal.is_staff() => {
                return Err(ApiError::AccountNotActive(
                    "a frozen account can only be closed by staff".into(),
                )
                .into());
            }
            _ => {}
        }
        if account.balance_minor != 0 || account.held_minor != 0 {
            return Err(ApiError::bad_input(
                "id",
                format!(
                    "an account closes only with a zero balance and no open hold (balance {}, held {})",
                    bank_common::money::format_minor(account.balance_minor, account.currency),
                    bank_common::money::format_minor(account.held_minor, account.currency),
                ),
            )
            .into());
        }
        txn.execute(stmt(
            "UPDATE ledger_accounts SET status = 'CLOSED', updated_at = now() WHERE account_id = $1",
            [account_id.into()],
        ))
        .await?;
        txn.commit().await?;
        Ok(())
    })
    .await?;
    reload_account(db, account_id).await
}

async fn reload_account(db: &DatabaseConnection, account_id: Uuid) -> ApiResult<LedgerAccountRow> {
    ledger_accounts::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("account"))
}

/// Sets an account's overdraft and daily withdrawal limits (staff). Lowering the overdraft
/// below what the account already uses is refused.
pub async fn set_limits(
    db: &DatabaseConnection,
    principal: &Principal,
    account_id: Uuid,
    overdraft: Option<String>,
    daily_withdrawal: Option<String>,
    four_eyes_above: i64,
) -> ApiResult<(LedgerAccountRow, Option<Uuid>)> {
    principal.require_staff()?;
    let first = with_retries(db, Duration::ZERO, || async {
        let txn = db.begin().await?;
        let mut accounts = lock_accounts(&txn, &[account_id]).await?;
        let account = visible(&mut accounts, account_id, principal)?;
        // Staff do not raise their own limits (separation of duties).
        if account.owner_id == Some(principal.user_id) {
            return Err(ApiError::Forbidden(
                "staff may not change the limits of their own account".into(),
            )
            .into());
        }
        let parse = |field: &'static str, text: &str| {
            parse_minor(text, account.currency).map_err(|message| ApiError::bad_input(field, message))
        };
        let overdraft = match &overdraft {
            Some(text) => parse("overdraftLimit", text)?,
            None => account.overdraft_limit_minor,
        };
        let daily = match &daily_withdrawal {
            Some(text) => parse("dailyWithdrawalLimit", text)?,
            None => account.daily_withdrawal_limit_minor,
        };
        if account.available_minor() + overdraft < 0 {
            return Err(ApiError::bad_input(
                "overdraftLimit",
                "the account already uses more overdraft than this limit",
            )
            .into());
        }
        // Four eyes: raising a limit above the threshold needs a second member of staff asking
        // for the same limits.
        let threshold = four_eyes_above
            .saturating_mul(10_i64.saturating_pow(u32::from(account.currency.exponent())));
        let raises = |new: i64, old: i64| new > old && new > threshold;
        let mut first = None;
        if raises(overdraft, account.overdraft_limit_minor)
            || raises(daily, account.daily_withdrawal_limit_minor)
        {
            let fingerprint = format!("{overdraft}:{daily}");
            let subject = account_id.to_string();
            match second_pair_of_eyes(&txn, LIMITS, &subject, &fingerprint, principal.user_id)
                .await?
            {
                SecondEyes::Confirmed { first: by } => first = Some(by),
                waiting => {
                    txn.commit().await?;
                    return Err(waiting.refusal("the same limits for this account").into());
                }
            }
            txn.execute(stmt(
                "DELETE FROM staff_requests WHERE kind = $1 AND subject = $2",
                [LIMITS.into(), subject.into()],
            ))
            .await?;
        }
        txn.execute(stmt(
            "UPDATE ledger_accounts SET overdraft_limit_minor = $2, daily_withdrawal_limit_minor = $3, \
             updated_at = now() WHERE account_id = $1",
            [account_id.into(), overdraft.into(), daily.into()],
        ))
        .await?;
        txn.commit().await?;
        Ok(first)
    })
    .await?;
    Ok((reload_account(db, account_id).await?, first))
}

/// Four eyes, the kinds of step: raising an account's limits past the threshold (keyed by the
/// account), and money a member of staff moves out of a customer's account (keyed by the
/// account and the idempotency key).
pub const LIMITS: &str = "LIMITS";
pub const MOVEMENT: &str = "MOVEMENT";

/// How long a first member of staff's request waits for a second one.
const STAFF_REQUEST_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Where a step that needs two members of staff stands ([`second_pair_of_eyes`]).
#[derive(Debug, PartialEq, Eq)]
pub enum SecondEyes {
    /// This member of staff's request is recorded (the first, or replacing a different or
    /// stale one): nothing happens until a second one asks for the same.
    Recorded,
    /// This member of staff asked for the same already.
    Waiting,
    /// A second member of staff asked for the same (now or earlier): go ahead. `first` asked
    /// first.
    Confirmed { first: Uuid },
    /// The key was confirmed for a different request.
    Reused,
}

impl SecondEyes {
    /// The answer while it waits (`SECOND_APPROVAL_REQUIRED`), or for a reused key.
    pub fn refusal(&self, what: &str) -> ApiError {
        match self {
            SecondEyes::Reused => ApiError::IdempotencyKeyReused,
            SecondEyes::Waiting => ApiError::SecondApprovalRequired(format!(
                "you asked for this already; a second member of staff must ask for {what}"
            )),
            _ => ApiError::SecondApprovalRequired(format!(
                "recorded; a second member of staff must ask for {what} within 24 hours"
            )),
        }
    }
}

/// Records or confirms a four-eyes step inside `txn` (the row is locked until it ends). The
/// caller commits: a recorded request must be kept even though the step does not happen yet.
pub async fn second_pair_of_eyes(
    txn: &DatabaseTransaction,
    kind: &str,
    subject: &str,
    fingerprint: &str,
    staff: Uuid,
) -> Result<SecondEyes, DbErr> {
    let now = Utc::now();
    let row = txn
        .query_one(stmt(
            "SELECT fingerprint, requested_by, requested_at, confirmed_by FROM staff_requests \
             WHERE kind = $1 AND subject = $2 FOR UPDATE",
            [kind.into(), subject.into()],
        ))
        .await?;
    if let Some(row) = row {
        let same: bool = row.try_get::<String>("", "fingerprint")? == fingerprint;
        let first: Uuid = row.try_get("", "requested_by")?;
        let at: DateTime<Utc> = row.try_get("", "requested_at")?;
        let confirmed: Option<Uuid> = row.try_get("", "confirmed_by")?;
        match (same, confirmed) {
            (true, Some(_)) => return Ok(SecondEyes::Confirmed { first }),
            (false, Some(_)) => return Ok(SecondEyes::Reused),
            (true, None) if now - at < STAFF_REQUEST_TTL => {
                if first == staff {
                    return Ok(SecondEyes::Waiting);
                }
                txn.execute(stmt(
                    "UPDATE staff_requests SET confirmed_by = $3, confirmed_at = $4 \
                     WHERE kind = $1 AND subject = $2",
                    [kind.into(), subject.into(), staff.into(), now.into()],
                ))
                .await?;
                return Ok(SecondEyes::Confirmed { first });
            }
            _ => {}
        }
    }
    // No request, a different one not yet confirmed, or a stale one: this one replaces it.
    txn.execute(stmt(
        "INSERT INTO staff_requests (kind, subject, fingerprint, requested_by, requested_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, subject) DO UPDATE SET \
         fingerprint = EXCLUDED.fingerprint, requested_by = EXCLUDED.requested_by, \
         requested_at = EXCLUDED.requested_at, confirmed_by = NULL, confirmed_at = NULL",
        [
            kind.into(),
            subject.into(),
            fingerprint.into(),
            staff.into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(SecondEyes::Recorded)
}

/// Applies one of the accounts service's events, once: the event id is recorded in the same
/// transaction, so a redelivered event changes nothing. Returns whether it was new.
pub async fn apply_account_event(
    db: &DatabaseConnection,
    event_id: Uuid,
    event_type: &str,
    account: &events::AccountChanged,
    daily_withdrawal_limit_major: i64,
) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    let fresh = txn
        .execute(stmt(
            "INSERT INTO processed_events (event_id, event_type) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [event_id.into(), event_type.into()],
        ))
        .await?
        .rows_affected()
        == 1;
    if !fresh {
        txn.rollback().await?;
        return Ok(false);
    }
    match event_type {
        events::ACCOUNT_OPENED => {
            let currency = Currency::parse(&account.currency).map_err(DbErr::Custom)?;
            let limit = daily_withdrawal_limit_major
                .saturating_mul(10i64.pow(u32::from(currency.exponent())));
            txn.execute(stmt(
                "INSERT INTO ledger_accounts (account_id, owner_id, number, kind, currency, status, \
                 daily_withdrawal_limit_minor) VALUES ($1, $2, $3, 'CUSTOMER', $4, 'ACTIVE', $5) \
                 ON CONFLICT (account_id) DO NOTHING",
                [
                    account.account_id.into(),
                    account.owner_id.into(),
                    account.number.clone().into(),
                    currency.code().into(),
                    limit.into(),
                ],
            ))
            .await?;
        }
        events::ACCOUNT_FROZEN | events::ACCOUNT_UNFROZEN | events::ACCOUNT_CLOSED => {
            let status = match event_type {
                events::ACCOUNT_FROZEN => "FROZEN",
                events::ACCOUNT_UNFROZEN => "ACTIVE",
                _ => "CLOSED",
            };
            // A closed account stays closed, whatever arrives later.
            txn.execute(stmt(
                "UPDATE ledger_accounts SET status = $2, updated_at = now() \
                 WHERE account_id = $1 AND status <> 'CLOSED'",
                [account.account_id.into(), status.into()],
            ))
            .await?;
        }
        _ => {}
    }
    txn.commit().await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// The invariant check

#[derive(Debug, Clone, Default)]
pub struct LedgerCheck {
    /// (currency, sum of every balance in it); each must be zero.
    pub totals: Vec<(String, i64)>,
    /// Accounts whose balance is not the sum of their postings, or with a posting whose
    /// balance after it is not the sum of the account's postings up to it.
    pub balance_mismatches: Vec<Uuid>,
    /// Accounts whose held amount is not the sum of their pending holds.
    pub hold_mismatches: Vec<Uuid>,
    /// Transactions whose postings do not sum to zero (or that have no postings).
    pub unbalanced_transactions: Vec<Uuid>,
    /// Customer accounts below their overdraft limit.
    pub overdrawn_accounts: Vec<Uuid>,
    pub accounts_checked: i64,
    pub transactions_checked: i64,
}

impl LedgerCheck {
    pub fn ok(&self) -> bool {
        self.totals.iter().all(|(_, total)| *total == 0)
            && self.balance_mismatches.is_empty()
            && self.hold_mismatches.is_empty()
            && self.unbalanced_transactions.is_empty()
            && self.overdrawn_accounts.is_empty()
    }
}

/// Checks the ledger's invariants on one consistent snapshot.
pub async fn check_ledger(db: &DatabaseConnection) -> Result<LedgerCheck, DbErr> {
    let txn = bank_common::db::snapshot(db).await?;
    let ids = |rows: Vec<QueryResult>, column: &str| -> Result<Vec<Uuid>, DbErr> {
        rows.iter().map(|row| row.try_get("", column)).collect()
    };
    let mut check = LedgerCheck::default();
    for row in txn
        .query_all(stmt(
            "SELECT currency::text AS currency, sum(balance_minor)::int8 AS total, count(*) AS n \
             FROM ledger_accounts GROUP BY currency ORDER BY currency",
            [],
        ))
        .await?
    {
        check
            .totals
            .push((row.try_get("", "currency")?, row.try_get("", "total")?));
        check.accounts_checked += row.try_get::<i64>("", "n")?;
    }
    check.balance_mismatches = ids(
        txn.query_all(stmt(
            "SELECT a.account_id FROM ledger_accounts a LEFT JOIN \
               (SELECT account_id, sum(amount_minor) AS total FROM postings GROUP BY account_id) p \
               ON p.account_id = a.account_id \
             WHERE a.balance_minor <> coalesce(p.total, 0) \
             UNION SELECT p.account_id FROM postings p \
               WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.account_id = p.account_id) \
             UNION SELECT r.account_id FROM (SELECT account_id, balance_after_minor, \
                 sum(amount_minor) OVER (PARTITION BY account_id ORDER BY id) AS running \
                 FROM postings) r WHERE r.balance_after_minor <> r.running",
            [],
        ))
        .await?,
        "account_id",
    )?;
    check.hold_mismatches = ids(
        txn.query_all(stmt(
            "SELECT a.account_id FROM ledger_accounts a LEFT JOIN \
               (SELECT account_id, sum(amount_minor) AS total FROM holds WHERE status = 'PENDING' \
                GROUP BY account_id) h ON h.account_id = a.account_id \
             WHERE a.held_minor <> coalesce(h.total, 0)",
            [],
        ))
        .await?,
        "account_id",
    )?;
    check.unbalanced_transactions = ids(
        txn.query_all(stmt(
            "SELECT t.id FROM transactions t LEFT JOIN \
               (SELECT transaction_id, sum(amount_minor) AS total, count(*) AS n FROM postings \
                GROUP BY transaction_id) p ON p.transaction_id = t.id \
             WHERE coalesce(p.n, 0) < 2 OR p.total <> 0",
            [],
        ))
        .await?,
        "id",
    )?;
    check.overdrawn_accounts = ids(
        txn.query_all(stmt(
            "SELECT account_id FROM ledger_accounts WHERE kind = 'CUSTOMER' \
             AND balance_minor - held_minor + overdraft_limit_minor < 0",
            [],
        ))
        .await?,
        "account_id",
    )?;
    check.transactions_checked = txn
        .query_one(stmt("SELECT count(*) AS n FROM transactions", []))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    txn.commit().await?;
    Ok(check)
}

/// The ledger's side of another service's reconciliation, in one repeatable-read snapshot:
/// every transaction whose reference starts with one of `prefixes` (the customer's account
/// and whether the money went to suspense), and the balance of each internal account of
/// `purposes` next to the part those transactions explain. Prefixes are checked by the caller
/// ([`bank_common::reconcile::SnapshotRequest::valid_prefix`]), so they need no escaping.
pub async fn reconciliation_snapshot(
    db: &DatabaseConnection,
    prefixes: &[String],
    purposes: &[InternalAccount],
) -> Result<bank_common::reconcile::LedgerSnapshot, DbErr> {
    use bank_common::reconcile::{InternalBalance, LedgerEntry, LedgerSnapshot};
    let txn = bank_common::db::snapshot(db).await?;
    let patterns: Vec<Value> = prefixes.iter().map(|p| format!("{p}%").into()).collect();
    let matches = |first: usize| -> String {
        if patterns.is_empty() {
            return "false".into();
        }
        let any: Vec<String> = (0..patterns.len())
            .map(|i| format!("t.reference LIKE ${}", first + i))
            .collect();
        format!("({})", any.join(" OR "))
    };
    let suspense: Vec<Uuid> = Currency::all()
        .iter()
        .map(|c| InternalAccount::Suspense.id(*c))
        .collect();
    let mut values = vec![Value::from(suspense)];
    values.extend(patterns.iter().cloned());
    let rows = txn
        .query_all(stmt(
            &format!(
                "SELECT t.reference, t.id, t.kind, t.amount_minor, t.currency::text AS currency, \
                   CASE WHEN t.kind IN ('REVERSAL', 'LOAN_DISBURSEMENT', 'DEPOSIT') \
                     THEN t.to_account_id ELSE t.from_account_id END AS account_id, \
                   EXISTS (SELECT 1 FROM postings p WHERE p.transaction_id = t.id \
                     AND p.account_id = ANY($1)) AS in_suspense, \
                   t.created_at \
                 FROM transactions t WHERE t.reference IS NOT NULL AND {} \
                 ORDER BY t.reference, t.created_at",
                matches(2)
            ),
            values,
        ))
        .await?;
    let mut snapshot = LedgerSnapshot::default();
    for row in rows {
        snapshot.entries.push(LedgerEntry {
            reference: row.try_get("", "reference")?,
            transaction_id: row.try_get("", "id")?,
            kind: row.try_get("", "kind")?,
            amount_minor: row.try_get("", "amount_minor")?,
            currency: row.try_get("", "currency")?,
            account_id: row.try_get("", "account_id")?,
            in_suspense: row.try_get("", "in_suspense")?,
            created_at: row.try_get("", "created_at")?,
        });
    }
    for purpose in purposes {
        for currency in Currency::all() {
            let id = purpose.id(*currency);
            let mut values = vec![Value::from(id)];
            values.extend(patterns.iter().cloned());
            let row = txn
                .query_one(stmt(
                    &format!(
                        "SELECT a.balance_minor, \
                           (SELECT coalesce(sum(p.amount_minor), 0)::int8 FROM postings p \
                              JOIN transactions t ON t.id = p.transaction_id \
                            WHERE p.account_id = $1 AND t.reference IS NOT NULL AND {}) AS explained \
                         FROM ledger_accounts a WHERE a.account_id = $1",
                        matches(2)
                    ),
                    values,
                ))
                .await?;
            if let Some(row) = row {
                snapshot.balances.push(InternalBalance {
                    purpose: purpose.name().to_string(),
                    currency: currency.code().to_string(),
                    balance_minor: row.try_get("", "balance_minor")?,
                    explained_minor: row.try_get("", "explained")?,
                });
            }
        }
    }
    txn.commit().await?;
    Ok(snapshot)
}
