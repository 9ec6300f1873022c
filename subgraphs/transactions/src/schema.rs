//! The ledger's GraphQL API: `Account.balance` and friends, `Transaction @key(id)`,
//! `Hold @key(id)`, and the mutations that move money.

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_graphql::{
    dataloader::{DataLoader, Loader},
    Context, EmptySubscription, Enum, InputObject, Object, Schema, SimpleObject, ID,
};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use bank_common::{
    auth::{ContextAuth, Principal},
    money::{
        graphql::{Decimal, Money},
        Currency,
    },
    pagination::{decode_cursor, encode_cursor, PageInfo, MAX_PAGE},
    ApiError, ApiResult,
};

use crate::{
    app::LedgerConfig,
    domain::{Description, IdempotencyKey, TransactionKind, HOLD_MAX_TTL, HOLD_MIN_TTL},
    store::{self, HoldRow, LedgerAccountRow, TransactionRow},
};

pub type LedgerSchema = Schema<Query, Mutation, EmptySubscription>;

/// What resolvers share.
pub struct LedgerContext {
    pub db: DatabaseConnection,
    /// Where movements go: batched with others, or one transaction each.
    pub ledger: crate::batch::Ledger,
    pub config: LedgerConfig,
}

/// A statement covers at most this many days and lists at most this many lines.
pub const MAX_STATEMENT_DAYS: i64 = 366;
pub const MAX_STATEMENT_LINES: u64 = 1000;

fn currency_of(code: &str) -> ApiResult<Currency> {
    Currency::parse(code).map_err(ApiError::internal_msg)
}

fn money(minor: i64, code: &str) -> ApiResult<Money> {
    Ok(Money::new(minor, currency_of(code)?))
}

fn loader_error(err: Arc<DbErr>) -> ApiError {
    ApiError::internal(anyhow::anyhow!(err))
}

/// An id that is not a UUID names nothing: `NOT_FOUND`, like any unknown id.
fn parse_id(id: &ID, what: &'static str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound(what))
}

fn ledger<'a>(ctx: &'a Context<'_>) -> &'a LedgerContext {
    ctx.data_unchecked::<LedgerContext>()
}

/// A ledger account the caller may see (their own; any customer account for staff).
async fn visible_account(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<LedgerAccountRow>> {
    let principal = ctx.principal()?;
    let loader = ctx.data_unchecked::<DataLoader<AccountLoader>>();
    let row = loader.load_one(id).await.map_err(loader_error)?;
    Ok(row.filter(|row| {
        row.owner_id
            .is_some_and(|owner| principal.can_access(owner))
    }))
}

/// A bank account, as the ledger sees it: its money.
#[derive(Clone)]
pub struct Account(Arc<LedgerAccountRow>);

#[Object(name = "Account")]
impl Account {
    async fn id(&self) -> ID {
        ID(self.0.account_id.to_string())
    }

    /// Everything posted to the account.
    async fn balance(&self) -> async_graphql::Result<Money> {
        Ok(money(self.0.balance_minor, &self.0.currency)?)
    }

    /// The balance less open holds: what can be spent now (before any overdraft).
    async fn available_balance(&self) -> async_graphql::Result<Money> {
        Ok(money(
            self.0.balance_minor - self.0.held_minor,
            &self.0.currency,
        )?)
    }

    /// How far below zero the available balance may go.
    async fn overdraft_limit(&self) -> async_graphql::Result<Money> {
        Ok(money(self.0.overdraft_limit_minor, &self.0.currency)?)
    }

    /// Cash withdrawals allowed per UTC day.
    async fn daily_withdrawal_limit(&self) -> async_graphql::Result<Money> {
        Ok(money(
            self.0.daily_withdrawal_limit_minor,
            &self.0.currency,
        )?)
    }

    /// The account's transactions, newest first.
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<TransactionConnection> {
        let first = first.unwrap_or(20);
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(ApiError::bad_input(
                "first",
                format!("first must be between 1 and {MAX_PAGE}"),
            )
            .into());
        }
        let before = after
            .as_deref()
            .map(|c| decode_cursor("p", c))
            .transpose()?;
        let mut lines =
            store::account_lines(&ledger(ctx).db, self.0.account_id, before, first as u64 + 1)
                .await?;
        let has_next_page = lines.len() > first as usize;
        lines.truncate(first as usize);
        let edges = lines
            .into_iter()
            .map(|line| {
                Ok(TransactionEdge {
                    cursor: encode_cursor("p", line.posting_id),
                    amount: money(line.amount_minor, &line.transaction.currency)?,
                    balance_after: money(line.balance_after_minor, &line.transaction.currency)?,
                    node: line.transaction.into(),
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(TransactionConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: before.is_some(),
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    /// The account's statement for `[from, to)`: opening balance, every posting, closing
    /// balance. At most 366 days and 1000 lines.
    async fn statement(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<Statement> {
        if to <= from {
            return Err(ApiError::bad_input("to", "`to` must be after `from`").into());
        }
        if to - from > chrono::Duration::days(MAX_STATEMENT_DAYS) {
            return Err(ApiError::bad_input(
                "to",
                format!("a statement covers at most {MAX_STATEMENT_DAYS} days"),
            )
            .into());
        }
        let rows = store::statement(
            &ledger(ctx).db,
            self.0.account_id,
            from,
            to,
            MAX_STATEMENT_LINES + 1,
        )
        .await?;
        if rows.lines.len() as u64 > MAX_STATEMENT_LINES {
            return Err(ApiError::LimitExceeded(format!(
                "more than {MAX_STATEMENT_LINES} postings in this period; ask for a shorter one"
            ))
            .into());
        }
        let code = self.0.currency.as_str();
        let (credits, debits) = statement_totals(rows.lines.iter().map(|line| line.amount_minor))?;
        let mut closing = rows.opening_minor;
        let mut lines = Vec::with_capacity(rows.lines.len());
        for line in rows.lines {
            closing = line.balance_after_minor;
            lines.push(StatementLine {
                amount: money(line.amount_minor, code)?,
                balance_after: money(line.balance_after_minor, code)?,
                posted_at: line.transaction.created_at,
                transaction: line.transaction.into(),
            });
        }
        Ok(Statement {
            from,
            to,
            opening_balance: money(rows.opening_minor, code)?,
            closing_balance: money(closing, code)?,
            total_credits: money(credits, code)?,
            total_debits: money(debits, code)?,
            lines,
        })
    }

    /// Holds on the account, newest first (pending ones only, unless asked).
    async fn holds(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(true)")] pending_only: Option<bool>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<Hold>> {
        let (pending_only, first) = (pending_only.unwrap_or(true), first.unwrap_or(20));
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(ApiError::bad_input(
                "first",
                format!("first must be between 1 and {MAX_PAGE}"),
            )
            .into());
        }
        let rows = store::account_holds(
            &ledger(ctx).db,
            self.0.account_id,
            pending_only,
            first as u64,
        )
        .await?;
        Ok(rows.into_iter().map(Hold::from).collect())
    }
}

#[derive(SimpleObject)]
pub struct TransactionConnection {
    pub edges: Vec<TransactionEdge>,
    pub page_info: PageInfo,
}

/// A transaction as it touched one account.
#[derive(SimpleObject)]
pub struct TransactionEdge {
    pub cursor: String,
    pub node: Transaction,
    /// Signed: positive when money came in, negative when it went out.
    pub amount: Money,
    /// The account's balance right after this transaction.
    pub balance_after: Money,
}

#[derive(SimpleObject)]
pub struct Statement {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub opening_balance: Money,
    pub closing_balance: Money,
    pub total_credits: Money,
    pub total_debits: Money,
    pub lines: Vec<StatementLine>,
}

#[derive(SimpleObject)]
pub struct StatementLine {
    pub transaction: Transaction,
    /// Signed, as on the account.
    pub amount: Money,
    pub balance_after: Money,
    pub posted_at: DateTime<Utc>,
}

/// A movement of money: its postings always sum to zero.
#[derive(Clone)]
pub struct Transaction(Arc<TransactionRow>);

impl From<TransactionRow> for Transaction {
    fn from(row: TransactionRow) -> Self {
        Transaction(Arc::new(row))
    }
}

#[Object(name = "Transaction")]
impl Transaction {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> TransactionKind {
        TransactionKind::from_db(&self.0.kind)
    }

    async fn amount(&self) -> async_graphql::Result<Money> {
        Ok(money(self.0.amount_minor, &self.0.currency)?)
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// What the movement was for when another service asked for it, e.g.
    /// `loan:<loan id>:repayment:<repayment id>`.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }

    /// The account money left; null for deposits, and for accounts the caller cannot see.
    #[allow(clippy::wrong_self_convention)] // the GraphQL field `fromAccount`
    async fn from_account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        Ok(linked_account(ctx, self.0.from_account_id).await?)
    }

    /// The account money reached; null for withdrawals, and for accounts the caller cannot see.
    async fn to_account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        Ok(linked_account(ctx, self.0.to_account_id).await?)
    }

    /// The hold this transaction captured, if any.
    async fn hold_id(&self) -> Option<ID> {
        self.0.hold_id.map(|id| ID(id.to_string()))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

async fn linked_account(ctx: &Context<'_>, id: Option<Uuid>) -> ApiResult<Option<Account>> {
    match id {
        Some(id) => Ok(visible_account(ctx, id).await?.map(Account::from)),
        None => Ok(None),
    }
}

impl From<LedgerAccountRow> for Account {
    fn from(row: LedgerAccountRow) -> Self {
        Account(Arc::new(row))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum HoldStatus {
    Pending,
    Captured,
    Voided,
    Expired,
}

/// Money reserved on an account (a two-phase transfer): capture it, fully or partly, or void
/// it; it expires by itself at `expiresAt`.
#[derive(Clone)]
pub struct Hold(Arc<HoldRow>);

impl From<HoldRow> for Hold {
    fn from(row: HoldRow) -> Self {
        Hold(Arc::new(row))
    }
}

#[Object(name = "Hold")]
impl Hold {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        Ok(linked_account(ctx, Some(self.0.account_id)).await?)
    }

    /// Where captured money goes; null when it is the bank's settlement account.
    async fn to_account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        Ok(linked_account(ctx, Some(self.0.to_account_id)).await?)
    }

    async fn amount(&self) -> async_graphql::Result<Money> {
        Ok(money(self.0.amount_minor, &self.0.currency)?)
    }

    async fn captured_amount(&self) -> async_graphql::Result<Money> {
        Ok(money(self.0.captured_minor, &self.0.currency)?)
    }

    async fn status(&self) -> HoldStatus {
        match self.0.status.as_str() {
            "CAPTURED" => HoldStatus::Captured,
            "VOIDED" => HoldStatus::Voided,
            "EXPIRED" => HoldStatus::Expired,
            _ => HoldStatus::Pending,
        }
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
}

/// The result of the ledger's invariant check.
#[derive(SimpleObject)]
pub struct LedgerCheckReport {
    /// True when every invariant holds.
    pub ok: bool,
    /// The sum of every balance per currency: always zero in a double-entry ledger.
    pub totals: Vec<Money>,
    /// Accounts whose balance is not the sum of their postings, or with a posting whose
    /// balance after it is not the sum of the account's postings up to it.
    pub balance_mismatches: Vec<ID>,
    /// Accounts whose held amount is not the sum of their pending holds.
    pub hold_mismatches: Vec<ID>,
    /// Transactions whose postings do not sum to zero.
    pub unbalanced_transactions: Vec<ID>,
    /// Customer accounts beyond their overdraft limit.
    pub overdrawn_accounts: Vec<ID>,
    pub accounts_checked: i64,
    pub transactions_checked: i64,
    pub checked_at: DateTime<Utc>,
}

/// The one reconciliation there is: each service computes its part when asked.
const RECONCILIATION_ID: &str = "bank";

/// The bank's reconciliation; `ledger` is the ledger's invariant check.
pub struct Reconciliation {
    id: ID,
}

#[Object]
impl Reconciliation {
    async fn id(&self) -> &ID {
        &self.id
    }

    /// The ledger's invariants on one snapshot (staff only).
    async fn ledger(&self, ctx: &Context<'_>) -> async_graphql::Result<LedgerCheckReport> {
        ledger_check(ctx).await
    }
}

async fn ledger_check(ctx: &Context<'_>) -> async_graphql::Result<LedgerCheckReport> {
    ctx.principal()?.require_staff()?;
    let check = store::check_ledger(&ledger(ctx).db).await?;
    Ok(LedgerCheckReport {
        ok: check.ok(),
        totals: check
            .totals
            .iter()
            .map(|(code, total)| money(*total, code))
            .collect::<ApiResult<_>>()?,
        balance_mismatches: ids(check.balance_mismatches),
        hold_mismatches: ids(check.hold_mismatches),
        unbalanced_transactions: ids(check.unbalanced_transactions),
        overdrawn_accounts: ids(check.overdrawn_accounts),
        accounts_checked: check.accounts_checked,
        transactions_checked: check.transactions_checked,
        checked_at: Utc::now(),
    })
}

fn ids(ids: Vec<Uuid>) -> Vec<ID> {
    ids.into_iter().map(|id| ID(id.to_string())).collect()
}

/// Batches ledger-account lookups (entity references, `fromAccount`, `toAccount`).
pub struct AccountLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for AccountLoader {
    type Value = LedgerAccountRow;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, LedgerAccountRow>, Self::Error> {
        let rows = store::find_accounts(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.account_id, row)).collect())
    }
}

/// Batches transaction lookups (entity references).
pub struct TransactionLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for TransactionLoader {
    type Value = TransactionRow;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, TransactionRow>, Self::Error> {
        let rows = store::find_transactions(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// A transaction the caller may see: staff any; a customer those touching their accounts.
async fn visible_transaction(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Transaction>> {
    let principal = ctx.principal()?;
    let loader = ctx.data_unchecked::<DataLoader<TransactionLoader>>();
    let Some(row) = loader.load_one(id).await.map_err(loader_error)? else {
        return Ok(None);
    };
    if principal.is_staff() {
        return Ok(Some(row.into()));
    }
    for account in [row.from_account_id, row.to_account_id]
        .into_iter()
        .flatten()
    {
        if visible_account(ctx, account).await?.is_some() {
            return Ok(Some(row.into()));
        }
    }
    Ok(None)
}

async fn visible_hold(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Hold>> {
    let Some(row) = store::find_holds(&ledger(ctx).db, &[id]).await?.pop() else {
        return Ok(None);
    };
    Ok(visible_account(ctx, row.account_id)
        .await?
        .map(|_| Hold::from(row)))
}

pub struct Query;

#[Object(name = "Query")]
impl Query {
    /// A transaction on one of the caller's accounts (any, for staff); `NOT_FOUND` otherwise.
    async fn transaction(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Transaction>> {
        let id = parse_id(&id, "transaction")?;
        Ok(visible_transaction(ctx, id)
            .await?
            .map(Some)
            .ok_or(ApiError::NotFound("transaction"))?)
    }

    /// A hold on one of the caller's accounts (any, for staff); `NOT_FOUND` otherwise.
    async fn hold(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Hold>> {
        let id = parse_id(&id, "hold")?;
        Ok(visible_hold(ctx, id)
            .await?
            .map(Some)
            .ok_or(ApiError::NotFound("hold"))?)
    }

    /// Checks the ledger's invariants on one snapshot (staff only): every currency sums to
    /// zero, every balance equals its postings, every transaction balances.
    async fn ledger_check(&self, ctx: &Context<'_>) -> async_graphql::Result<LedgerCheckReport> {
        ledger_check(ctx).await
    }

    /// The bank's reconciliation (staff only): the ledger's invariants here, and each
    /// service that moves money through the ledger compares its records with the ledger's
    /// postings (`payments`, `loans`: docs/reliability.md).
    async fn reconciliation(&self, ctx: &Context<'_>) -> async_graphql::Result<Reconciliation> {
        ctx.principal()?.require_staff()?;
        Ok(Reconciliation {
            id: ID(RECONCILIATION_ID.into()),
        })
    }

    /// `AuditLog` references: this subgraph contributes its own trail.
    #[graphql(entity)]
    async fn find_audit_log_by_id(&self, id: async_graphql::ID) -> AuditLogRef {
        AuditLogRef { id }
    }

    /// `Reconciliation` references (the payments and loans subgraphs extend it).
    #[graphql(entity)]
    async fn find_reconciliation_by_id(&self, id: ID) -> Reconciliation {
        Reconciliation { id }
    }

    /// `Account` references: the ledger contributes balances and history. Accounts the
    /// caller cannot see (or that the ledger has not heard of yet) resolve to null.
    #[graphql(entity)]
    async fn find_account_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Account>> {
        let Ok(id) = parse_id(&id, "account") else {
            return Ok(None);
        };
        if let Some(row) = visible_account(ctx, id).await? {
            return Ok(Some(row.into()));
        }
        // An account opened a moment ago may not have reached the ledger yet: wait for its
        // event as a movement would, rather than answer null for an account that exists.
        let ledger = ledger(ctx);
        if !store::wait_for_accounts(&ledger.db, &[id], ledger.config.account_sync_wait).await? {
            return Ok(None);
        }
        let principal = ctx.principal()?;
        Ok(store::find_accounts(&ledger.db, &[id])
            .await?
            .into_iter()
            .find(|row| {
                row.owner_id
                    .is_some_and(|owner| principal.can_access(owner))
            })
            .map(Account::from))
    }

    #[graphql(entity)]
    async fn find_transaction_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Transaction>> {
        let Ok(id) = parse_id(&id, "transaction") else {
            return Ok(None);
        };
        Ok(visible_transaction(ctx, id).await?)
    }

    #[graphql(entity)]
    async fn find_hold_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Hold>> {
        let Ok(id) = parse_id(&id, "hold") else {
            return Ok(None);
        };
        Ok(visible_hold(ctx, id).await?)
    }
}

#[derive(InputObject)]
pub struct DepositInput {
    pub account_id: ID,
    pub amount: Decimal,
    /// Client-generated (a UUID is best); a retry with the same key moves money once.
    pub idempotency_key: String,
    pub description: Option<String>,
    /// Sandbox only (`TRANSACTIONS_BACKDATING`, refused in production), administrators only:
    /// books the movement at this past time instead of now (the demo's history, docs/ledger.md).
    pub booked_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct WithdrawInput {
    pub account_id: ID,
    pub amount: Decimal,
    pub idempotency_key: String,
    pub description: Option<String>,
    /// Sandbox only (`TRANSACTIONS_BACKDATING`, refused in production), administrators only:
    /// books the movement at this past time instead of now (the demo's history, docs/ledger.md).
    pub booked_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct TransferInput {
    pub from_account_id: ID,
    /// The destination, by id...
    pub to_account_id: Option<ID>,
    /// ...or by account number (spaces allowed). Exactly one of the two.
    pub to_account_number: Option<String>,
    pub amount: Decimal,
    pub idempotency_key: String,
    pub description: Option<String>,
    /// Sandbox only (`TRANSACTIONS_BACKDATING`, refused in production), administrators only:
    /// books the movement at this past time instead of now (the demo's history, docs/ledger.md).
    pub booked_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct PlaceHoldInput {
    pub account_id: ID,
    /// Where the money goes on capture; the bank's settlement account when omitted.
    pub to_account_id: Option<ID>,
    pub amount: Decimal,
    pub idempotency_key: String,
    pub description: Option<String>,
    /// Seconds until the hold expires by itself (default: the service's setting, 7 days).
    pub expires_in_seconds: Option<i32>,
}

#[derive(InputObject)]
pub struct CaptureHoldInput {
    pub hold_id: ID,
    /// Part of the hold to capture; all of it when omitted. The rest is released.
    pub amount: Option<Decimal>,
    pub idempotency_key: String,
}

#[derive(InputObject)]
pub struct SetAccountLimitsInput {
    pub account_id: ID,
    pub overdraft_limit: Option<Decimal>,
    pub daily_withdrawal_limit: Option<Decimal>,
}

pub struct Mutation;

fn key(text: &str) -> ApiResult<IdempotencyKey> {
    IdempotencyKey::parse(text)
}

async fn movement(ctx: &Context<'_>, mut movement: store::Movement) -> ApiResult<Transaction> {
    let ledger = ledger(ctx);
    // The request's audit entry is stored with the movement, in its transaction.
    movement.audit = bank_common::audit::draft(ctx);
    let (row, written) =
        store::move_money(&ledger.ledger, &movement, ledger.config.account_sync_wait).await?;
    if written && movement.audit.is_some() {
        bank_common::audit::stored_with_effect(ctx);
    }
    tracing::info!(
        transaction_id = %row.id,
        kind = %row.kind,
        amount_minor = row.amount_minor,
        by = %movement.principal.user_id,
        "money moved"
    );
    Ok(row.into())
}

fn principal(ctx: &Context<'_>) -> ApiResult<Principal> {
    Ok(ctx.principal()?.clone())
}

#[Object(name = "Mutation")]
impl Mutation {
    /// Cash into an account: customers into their own accounts, staff into any.
    async fn deposit(
        &self,
        ctx: &Context<'_>,
        input: DepositInput,
    ) -> async_graphql::Result<Transaction> {
        let principal = principal(ctx)?;
        let booked_at = backdating(ctx, &principal, input.booked_at)?;
        let m = store::Movement {
            kind: TransactionKind::Deposit,
            key: key(&input.idempotency_key)?,
            from: None,
            to: Some(parse_id(&input.account_id, "account")?),
            amount: input.amount.0,
            description: Description::parse(input.description.as_deref())?,
            topic: ledger(ctx).config.topic.clone(),
            principal,
            key_scope: None,
            owner: None,
            currency: None,
            reference: None,
            self_deposit_limit: ledger(ctx).config.self_deposit_limit,
            booked_at,
            audit: None,
        };
        Ok(movement(ctx, m).await?)
    }

    /// Cash out of the caller's account, within its daily withdrawal limit.
    async fn withdraw(
        &self,
        ctx: &Context<'_>,
        input: WithdrawInput,
    ) -> async_graphql::Result<Transaction> {
        let principal = principal(ctx)?;
        let key = key(&input.idempotency_key)?;
        let from = parse_id(&input.account_id, "account")?;
        let description = Description::parse(input.description.as_deref())?;
        let key_scope = four_eyes(
            ctx,
            &principal,
            from,
            &key,
            &[
                "withdraw",
                &from.to_string(),
                &input.amount.0,
                description.as_deref().unwrap_or_default(),
            ],
        )
        .await?;
        let booked_at = backdating(ctx, &principal, input.booked_at)?;
        let m = store::Movement {
            kind: TransactionKind::Withdrawal,
            key,
            from: Some(from),
            to: None,
            amount: input.amount.0,
            description,
            topic: ledger(ctx).config.topic.clone(),
            principal,
            key_scope,
            owner: None,
            currency: None,
            reference: None,
            self_deposit_limit: None,
            booked_at,
            audit: None,
        };
        Ok(movement(ctx, m).await?)
    }

    /// From one of the caller's accounts to any account in the same currency.
    async fn transfer(
        &self,
        ctx: &Context<'_>,
        input: TransferInput,
    ) -> async_graphql::Result<Transaction> {
        let principal = principal(ctx)?;
        let key = key(&input.idempotency_key)?;
        let to = match (&input.to_account_id, &input.to_account_number) {
            (Some(id), None) => parse_id(id, "account")?,
            (None, Some(number)) => {
                let number: String = number
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_uppercase();
                store::find_account_by_number(&ledger(ctx).db, &number)
                    .await?
                    .ok_or(ApiError::NotFound("account"))?
                    .account_id
            }
            _ => {
                return Err(ApiError::bad_input(
                    "toAccountId",
                    "give exactly one of toAccountId and toAccountNumber",
                )
                .into())
            }
        };
        let from = parse_id(&input.from_account_id, "account")?;
        let description = Description::parse(input.description.as_deref())?;
        let key_scope = four_eyes(
            ctx,
            &principal,
            from,
            &key,
            &[
                "transfer",
                &from.to_string(),
                &to.to_string(),
                &input.amount.0,
                description.as_deref().unwrap_or_default(),
            ],
        )
        .await?;
        let booked_at = backdating(ctx, &principal, input.booked_at)?;
        let m = store::Movement {
            kind: TransactionKind::Transfer,
            key,
            from: Some(from),
            to: Some(to),
            amount: input.amount.0,
            description,
            topic: ledger(ctx).config.topic.clone(),
            principal,
            key_scope,
            owner: None,
            currency: None,
            reference: None,
            self_deposit_limit: None,
            booked_at,
            audit: None,
        };
        Ok(movement(ctx, m).await?)
    }

    /// Reserves money on the caller's account until it is captured, voided or expires.
    async fn place_hold(
        &self,
        ctx: &Context<'_>,
        input: PlaceHoldInput,
    ) -> async_graphql::Result<Hold> {
        let principal = principal(ctx)?;
        let ledger = ledger(ctx);
        let ttl = match input.expires_in_seconds {
            Some(secs) => {
                let ttl = Duration::from_secs(u64::try_from(secs).unwrap_or(0));
                if ttl < HOLD_MIN_TTL || ttl > HOLD_MAX_TTL {
                    return Err(ApiError::bad_input(
                        "expiresInSeconds",
                        format!(
                            "a hold lives between {} and {} seconds",
                            HOLD_MIN_TTL.as_secs(),
                            HOLD_MAX_TTL.as_secs()
                        ),
                    )
                    .into());
                }
                ttl
            }
            None => ledger.config.hold_ttl,
        };
        let hold = store::NewHold {
            key: key(&input.idempotency_key)?,
            account_id: parse_id(&input.account_id, "account")?,
            to_account_id: input
                .to_account_id
                .as_ref()
                .map(|id| parse_id(id, "account"))
                .transpose()?,
            amount: input.amount.0,
            description: Description::parse(input.description.as_deref())?,
            ttl,
            topic: ledger.config.topic.clone(),
            principal,
        };
        let row = store::place_hold(&ledger.db, &hold, ledger.config.account_sync_wait).await?;
        Ok(row.into())
    }

    /// Captures a pending hold (all of it, or `amount` and releases the rest).
    async fn capture_hold(
        &self,
        ctx: &Context<'_>,
        input: CaptureHoldInput,
    ) -> async_graphql::Result<Transaction> {
        let capture = store::Capture {
            principal: principal(ctx)?,
            key: key(&input.idempotency_key)?,
            hold_id: parse_id(&input.hold_id, "hold")?,
            amount: input.amount.map(|a| a.0),
            topic: ledger(ctx).config.topic.clone(),
        };
        let row = store::capture_hold(&ledger(ctx).db, &capture).await?;
        Ok(row.into())
    }

    /// Releases a pending hold. Voiding it again returns it unchanged.
    async fn void_hold(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Hold> {
        let principal = principal(ctx)?;
        let id = parse_id(&id, "hold")?;
        let ledger = ledger(ctx);
        Ok(
            store::void_hold(&ledger.db, &principal, id, &ledger.config.topic)
                .await?
                .into(),
        )
    }

    /// Sets an account's overdraft and daily withdrawal limits (staff only).
    async fn set_account_limits(
        &self,
        ctx: &Context<'_>,
        input: SetAccountLimitsInput,
    ) -> async_graphql::Result<Account> {
        let principal = principal(ctx)?;
        let id = parse_id(&input.account_id, "account")?;
        if let Some(before) = store::find_accounts(&ledger(ctx).db, &[id])
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .next()
        {
            bank_common::audit::note(ctx, |note| {
                note.on_behalf_of = before.owner_id.map(|owner| owner.to_string());
                note.before = Some(serde_json::json!({
                    "overdraftLimitMinor": before.overdraft_limit_minor,
                    "dailyWithdrawalLimitMinor": before.daily_withdrawal_limit_minor,
                }));
            });
        }
        let (row, first) = store::set_limits(
            &ledger(ctx).db,
            &principal,
            id,
            input.overdraft_limit.map(|d| d.0),
            input.daily_withdrawal_limit.map(|d| d.0),
            ledger(ctx).config.four_eyes_limit,
        )
        .await?;
        if let Some(first) = first {
            bank_common::audit::note(ctx, |note| {
                note.detail = Some(serde_json::json!({ "fourEyes": { "first": first } }));
            });
        }
        Ok(row.into())
    }
}

/// The time a movement is booked at: now, or (sandbox only) a past time an administrator
/// gives. `FORBIDDEN` with the switch off or for anyone else; `BAD_USER_INPUT` for a time in
/// the future or more than a year back.
fn backdating(
    ctx: &Context<'_>,
    principal: &Principal,
    booked_at: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(at) = booked_at else {
        return Ok(None);
    };
    if !ledger(ctx).config.backdating {
        return Err(ApiError::Forbidden(
            "back-dating is a sandbox's; it is off here".into(),
        ));
    }
    if !principal.has_role(bank_common::auth::Role::Admin) {
        return Err(ApiError::forbidden());
    }
    let now = Utc::now();
    if at > now || at < now - chrono::TimeDelta::days(366) {
        return Err(ApiError::bad_input(
            "bookedAt",
            "a booking time is in the past, at most a year back",
        ));
    }
    // PostgreSQL keeps microseconds: the row returned must equal the row stored.
    Ok(Some(chrono::SubsecRound::trunc_subsecs(at, 6)))
}

/// Four eyes on money a member of staff moves out of someone else's account: the first
/// request is recorded and answered `SECOND_APPROVAL_REQUIRED`; the same request (same fields,
/// same idempotency key) from a second member of staff moves it. The key is then the account's
/// rather than the caller's (the returned scope), so whichever of them retries, it means one
/// movement. `None`: not a staff movement out of a customer's account, nothing to do.
async fn four_eyes(
    ctx: &Context<'_>,
    principal: &Principal,
    from: Uuid,
    key: &crate::domain::IdempotencyKey,
    fields: &[&str],
) -> Result<Option<Uuid>, ApiError> {
    if !principal.is_staff() {
        return Ok(None);
    }
    let db = &ledger(ctx).db;
    let owner = store::find_accounts(db, &[from])
        .await?
        .into_iter()
        .next()
        .and_then(|account| account.owner_id);
    if owner.is_none_or(|owner| owner == principal.user_id) {
        return Ok(None);
    }
    let fingerprint = crate::domain::request_hash("staff-movement", fields);
    let txn = sea_orm::TransactionTrait::begin(db).await?;
    let step = store::second_pair_of_eyes(
        &txn,
        store::MOVEMENT,
        &format!("{from}:{}", key.as_str()),
        &fingerprint,
        principal.user_id,
    )
    .await?;
    txn.commit().await?;
    match step {
        store::SecondEyes::Confirmed { first } => {
            bank_common::audit::note(ctx, |note| {
                note.on_behalf_of = owner.map(|owner| owner.to_string());
                note.detail = Some(serde_json::json!({ "fourEyes": { "first": first } }));
            });
            Ok(Some(from))
        }
        other => {
            bank_common::audit::note(ctx, |note| {
                note.on_behalf_of = owner.map(|owner| owner.to_string());
            });
            Err(other.refusal("the same movement with the same idempotencyKey"))
        }
    }
}

/// A statement's total credits and total debits (both positive), in minor units. Checked: a sum
/// that does not fit is refused rather than wrapped into a wrong figure.
pub fn statement_totals(amounts: impl Iterator<Item = i64>) -> Result<(i64, i64), ApiError> {
    let too_large = || {
        ApiError::LimitExceeded(
            "this statement's totals are too large to add up; ask for a shorter period".into(),
        )
    };
    let (mut credits, mut debits) = (0i64, 0i64);
    for amount in amounts {
        if amount > 0 {
            credits = credits.checked_add(amount).ok_or_else(too_large)?;
        } else {
            let out = amount.checked_neg().ok_or_else(too_large)?;
            debits = debits.checked_add(out).ok_or_else(too_large)?;
        }
    }
    Ok((credits, debits))
}

#[cfg(test)]
mod statement_tests {
    use super::*;

    #[test]
    fn totals_add_credits_and_debits_apart() {
        assert_eq!(
            statement_totals([500, -200, 300, -100].into_iter()).unwrap(),
            (800, 300)
        );
        assert_eq!(statement_totals(std::iter::empty()).unwrap(), (0, 0));
    }

    #[test]
    fn totals_that_do_not_fit_are_refused_not_wrapped() {
        let huge = i64::MAX / 2 + 1;
        assert!(matches!(
            statement_totals([huge, huge].into_iter()),
            Err(ApiError::LimitExceeded(_))
        ));
        assert!(statement_totals([-huge, -huge].into_iter()).is_err());
        assert!(statement_totals([i64::MIN].into_iter()).is_err());
    }
}

bank_common::audit_log_part!(transactions, "transactions", LedgerContext);
