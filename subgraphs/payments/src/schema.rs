//! The payments subgraph's GraphQL API: payees, `Payment @key(id)`, `User.payments`, sending
//! money to an account at another bank, standing orders, and direct debit mandates with their
//! collections.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    dataloader::{DataLoader, Loader},
    Context, EmptySubscription, InputObject, Object, Schema, SimpleObject, ID,
};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Notify;
use uuid::Uuid;

use bank_common::{
    auth::ContextAuth,
    calendar::Date,
    internal,
    money::{format_minor, graphql::Decimal, graphql::Money, parse_minor, Currency},
    pagination::{PageInfo, SeqPage},
    reconcile::{Reconciler, Report as Reconciliation},
    server::BearerToken,
    ApiError, ApiResult,
};

use crate::{
    collections,
    domain::{
        check_schedule, parse_mandate_reference, parse_name, parse_remittance, CreditorId,
        DirectDebitStatus, Frequency, Iban, MandateStatus, PaymentStatus, StandingOrderStatus,
    },
    ledger::{Caller, LedgerClient, PaymentMovement, Refused},
    store::{self, DirectDebitRow, MandateRow, PayeeRow, PaymentRow, StandingOrderRow},
};

pub type PaymentsSchema = Schema<Query, Mutation, EmptySubscription>;

/// What resolvers share.
pub struct PaymentsContext {
    pub db: DatabaseConnection,
    pub ledger: LedgerClient,
    /// Compares this service's records with the ledger's.
    pub reconciler: Reconciler,
    /// Wakes the gateway worker when a payment is queued.
    pub wake: Arc<Notify>,
}

fn context<'a>(ctx: &Context<'a>) -> &'a PaymentsContext {
    ctx.data_unchecked::<PaymentsContext>()
}

/// Someone the customer pays: a name and an IBAN at another bank.
pub struct Payee(PayeeRow);

#[Object]
impl Payee {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Without spaces, upper case.
    async fn iban(&self) -> &str {
        &self.0.iban
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A ledger transaction, resolved by the transactions subgraph.
#[derive(SimpleObject)]
#[graphql(name = "Transaction", unresolvable = "id")]
pub struct TransactionRef {
    pub id: ID,
}

/// An account, resolved by the accounts and transactions subgraphs.
#[derive(SimpleObject)]
#[graphql(name = "Account", unresolvable = "id")]
pub struct AccountRef {
    pub id: ID,
}

/// Money sent to an account at another bank.
#[derive(Clone)]
pub struct Payment(Arc<PaymentRow>);

impl From<PaymentRow> for Payment {
    fn from(row: PaymentRow) -> Self {
        Payment(Arc::new(row))
    }
}

#[Object]
impl Payment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn status(&self) -> PaymentStatus {
        PaymentStatus::from_db(&self.0.status)
    }

    async fn amount(&self) -> async_graphql::Result<Money> {
        let currency = Currency::parse(&self.0.currency).map_err(ApiError::internal_msg)?;
        Ok(Money::new(self.0.amount_minor, currency))
    }

    /// The account the money left.
    async fn from_account(&self) -> AccountRef {
        AccountRef {
            id: ID(self.0.from_account_id.to_string()),
        }
    }

    async fn creditor_name(&self) -> &str {
        &self.0.creditor_name
    }

    async fn creditor_iban(&self) -> &str {
        &self.0.creditor_iban
    }

    /// What the creditor sees with the money.
    async fn remittance(&self) -> Option<&str> {
        self.0.remittance.as_deref()
    }

    /// Why it failed or came back: a ledger code (`INSUFFICIENT_FUNDS`, ...) or
    /// `REJECTED_BY_GATEWAY`.
    async fn failure_code(&self) -> Option<&str> {
        self.0.failure_code.as_deref()
    }

    async fn failure_reason(&self) -> Option<&str> {
        match PaymentStatus::from_db(&self.0.status) {
            PaymentStatus::Failed | PaymentStatus::Returning | PaymentStatus::Returned => {
                self.0.failure_reason.as_deref()
            }
            _ => None,
        }
    }

    /// The ledger transaction that debited the account.
    async fn debit(&self) -> Option<TransactionRef> {
        self.0.debit_transaction_id.map(|id| TransactionRef {
            id: ID(id.to_string()),
        })
    }

    /// The ledger transaction that gave a returned payment's money back.
    async fn reversal(&self) -> Option<TransactionRef> {
        self.0.reversal_transaction_id.map(|id| TransactionRef {
            id: ID(id.to_string()),
        })
    }

    /// The gateway's reference, once it accepted the payment.
    async fn gateway_reference(&self) -> Option<&str> {
        self.0.gateway_reference.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(SimpleObject)]
pub struct PaymentEdge {
    pub cursor: String,
    pub node: Payment,
}

#[derive(SimpleObject)]
pub struct PaymentConnection {
    pub edges: Vec<PaymentEdge>,
    pub page_info: PageInfo,
}

/// A payment to the same creditor, weekly or monthly, made by the bank on each due date.
pub struct StandingOrder(StandingOrderRow);

#[Object]
impl StandingOrder {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The account each payment leaves.
    async fn from_account(&self) -> AccountRef {
        AccountRef {
            id: ID(self.0.from_account_id.to_string()),
        }
    }

    async fn creditor_name(&self) -> &str {
        &self.0.creditor_name
    }

    async fn creditor_iban(&self) -> &str {
        &self.0.creditor_iban
    }

    /// Each payment's amount.
    async fn amount(&self) -> async_graphql::Result<Money> {
        let currency = Currency::parse(&self.0.currency).map_err(ApiError::internal_msg)?;
        Ok(Money::new(self.0.amount_minor, currency))
    }

    async fn remittance(&self) -> Option<&str> {
        self.0.remittance.as_deref()
    }

    async fn frequency(&self) -> Frequency {
        Frequency::from_db(&self.0.frequency)
    }

    async fn start_on(&self) -> Date {
        Date(self.0.start_on)
    }

    /// The last date it pays on, if it ends.
    async fn end_on(&self) -> Option<Date> {
        self.0.end_on.map(Date)
    }

    /// The next date it pays on; none once cancelled or ended.
    async fn next_run_on(&self) -> Option<Date> {
        self.0.next_run_on.map(Date)
    }

    async fn last_run_on(&self) -> Option<Date> {
        self.0.last_run_on.map(Date)
    }

    /// How many dates it has paid (a refused payment counts: its date is over).
    async fn runs(&self) -> i32 {
        self.0.runs
    }

    async fn status(&self) -> StandingOrderStatus {
        StandingOrderStatus::from_db(&self.0.status)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The payments it made, newest first.
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<PaymentConnection> {
        let page = SeqPage::new("p", first, after.as_deref())?;
        payment_page(ctx, self.0.owner_id, Some(self.0.id), page).await
    }
}

/// Consent the customer gave a creditor to collect from one of their accounts (a SEPA
/// direct debit mandate). The bank collects only under a mandate the customer recorded here.
pub struct Mandate(MandateRow);

#[Object]
impl Mandate {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The account collections are taken from.
    async fn account(&self) -> AccountRef {
        AccountRef {
            id: ID(self.0.account_id.to_string()),
        }
    }

    /// The creditor's SEPA identifier, without spaces.
    async fn creditor_id(&self) -> &str {
        &self.0.creditor_id
    }

    async fn creditor_name(&self) -> &str {
        &self.0.creditor_name
    }

    /// The creditor's reference for the mandate, which its collections quote.
    async fn reference(&self) -> &str {
        &self.0.reference
    }

    /// The most one collection may take; none if unlimited.
    async fn max_amount(&self) -> async_graphql::Result<Option<Money>> {
        let currency = Currency::parse(&self.0.currency).map_err(ApiError::internal_msg)?;
        Ok(self
            .0
            .max_amount_minor
            .map(|minor| Money::new(minor, currency)))
    }

    async fn status(&self) -> MandateStatus {
        MandateStatus::from_db(&self.0.status)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// The collections made under this mandate, newest first.
    async fn direct_debits(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<DirectDebitConnection> {
        direct_debit_page(ctx, self.0.owner_id, Some(self.0.id), first, after).await
    }
}

/// A creditor's collection from the customer's account under a mandate.
pub struct DirectDebit(DirectDebitRow);

#[Object]
impl DirectDebit {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn mandate(&self, ctx: &Context<'_>) -> async_graphql::Result<Mandate> {
        let row = store::find_mandate(&context(ctx).db, self.0.mandate_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::internal_msg("a direct debit without its mandate"))?;
        Ok(Mandate(row))
    }

    async fn account(&self) -> AccountRef {
        AccountRef {
            id: ID(self.0.account_id.to_string()),
        }
    }

    async fn amount(&self) -> async_graphql::Result<Money> {
        let currency = Currency::parse(&self.0.currency).map_err(ApiError::internal_msg)?;
        Ok(Money::new(self.0.amount_minor, currency))
    }

    async fn status(&self) -> DirectDebitStatus {
        DirectDebitStatus::from_db(&self.0.status)
    }

    /// What the creditor wrote with the collection.
    async fn remittance(&self) -> Option<&str> {
        self.0.remittance.as_deref()
    }

    /// Why it was refused: `NO_MANDATE` is never stored (there is no customer to show it to);
    /// `MANDATE_REVOKED`, `AMOUNT_ABOVE_LIMIT`, `CURRENCY_MISMATCH`, or the ledger's code
    /// (`INSUFFICIENT_FUNDS`, `ACCOUNT_NOT_ACTIVE`, ...).
    async fn failure_code(&self) -> Option<&str> {
        self.0.failure_code.as_deref()
    }

    async fn failure_reason(&self) -> Option<&str> {
        self.0.failure_reason.as_deref()
    }

    /// The ledger transaction that debited the account.
    async fn debit(&self) -> Option<TransactionRef> {
        self.0.debit_transaction_id.map(|id| TransactionRef {
            id: ID(id.to_string()),
        })
    }

    /// The ledger transaction that refunded it.
    async fn refund(&self) -> Option<TransactionRef> {
        self.0.refund_transaction_id.map(|id| TransactionRef {
            id: ID(id.to_string()),
        })
    }

    /// Until when `refundDirectDebit` may give a collected debit back (eight weeks).
    async fn refundable_until(&self) -> Option<DateTime<Utc>> {
        (DirectDebitStatus::from_db(&self.0.status) == DirectDebitStatus::Collected)
            .then(|| collections::refundable_until(&self.0))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(SimpleObject)]
pub struct DirectDebitEdge {
    pub cursor: String,
    pub node: DirectDebit,
}

#[derive(SimpleObject)]
pub struct DirectDebitConnection {
    pub edges: Vec<DirectDebitEdge>,
    pub page_info: PageInfo,
}

async fn direct_debit_page(
    ctx: &Context<'_>,
    owner_id: Uuid,
    mandate: Option<Uuid>,
    first: i32,
    after: Option<String>,
) -> async_graphql::Result<DirectDebitConnection> {
    let principal = ctx.principal()?;
    if !principal.can_access(owner_id) {
        return Err(ApiError::forbidden().into());
    }
    let page = SeqPage::new("d", first, after.as_deref())?;
    let rows = store::direct_debits_of(
        &context(ctx).db,
        owner_id,
        mandate,
        page.before(),
        page.fetch(),
    )
    .await
    .map_err(ApiError::from)?;
    let (edges, page_info) = page.finish(rows, |row| row.seq);
    Ok(DirectDebitConnection {
        edges: edges
            .into_iter()
            .map(|(cursor, row)| DirectDebitEdge {
                cursor,
                node: DirectDebit(row),
            })
            .collect(),
        page_info,
    })
}

/// A page of an owner's payments: all of them, or one standing order's.
async fn payment_page(
    ctx: &Context<'_>,
    owner_id: Uuid,
    standing_order: Option<Uuid>,
    page: SeqPage,
) -> async_graphql::Result<PaymentConnection> {
    let rows = store::payments_of(
        &context(ctx).db,
        owner_id,
        standing_order,
        page.before(),
        page.fetch(),
    )
    .await
    .map_err(ApiError::from)?;
    let (edges, page_info) = page.finish(rows, |row| row.seq);
    Ok(PaymentConnection {
        edges: edges
            .into_iter()
            .map(|(cursor, row)| PaymentEdge {
                cursor,
                node: row.into(),
            })
            .collect(),
        page_info,
    })
}

/// The bank's reconciliation (the transactions subgraph's `reconciliation`), extended here
/// with the payments service's records against the ledger.
pub struct ReconciliationRef {
    id: ID,
}

#[Object(name = "Reconciliation")]
impl ReconciliationRef {
    async fn id(&self) -> &ID {
        &self.id
    }

    /// Payments, direct debits and standing orders against the ledger's postings and its
    /// clearing and suspense accounts (staff only; docs/reliability.md).
    async fn payments(&self, ctx: &Context<'_>) -> async_graphql::Result<Reconciliation> {
        context(ctx).reconciler.run_for(ctx.principal()?).await
    }
}

/// The users service's `User`, extended here with payees, payments and direct debits.
pub struct UserRef {
    id: Uuid,
}

#[Object(name = "User")]
impl UserRef {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's payees, by name (the user themselves, or staff).
    async fn payees(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Payee>> {
        let principal = ctx.principal()?;
        if !principal.can_access(self.id) {
            return Err(ApiError::forbidden().into());
        }
        let rows = store::payees_of(&context(ctx).db, self.id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Payee).collect())
    }

    /// The user's payments to other banks, newest first.
    async fn payments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<PaymentConnection> {
        let principal = ctx.principal()?;
        if !principal.can_access(self.id) {
            return Err(ApiError::forbidden().into());
        }
        let page = SeqPage::new("p", first, after.as_deref())?;
        payment_page(ctx, self.id, None, page).await
    }

    /// The user's direct debit mandates: active first, then newest first.
    async fn mandates(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Mandate>> {
        let principal = ctx.principal()?;
        if !principal.can_access(self.id) {
            return Err(ApiError::forbidden().into());
        }
        let rows = store::mandates_of(&context(ctx).db, self.id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Mandate).collect())
    }

    /// The user's standing orders: active first, then newest first.
    async fn standing_orders(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<StandingOrder>> {
        let principal = ctx.principal()?;
        if !principal.can_access(self.id) {
            return Err(ApiError::forbidden().into());
        }
        let rows = store::standing_orders_of(&context(ctx).db, self.id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(StandingOrder).collect())
    }

    /// Collections from the user's accounts under their mandates, newest first.
    async fn direct_debits(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<DirectDebitConnection> {
        direct_debit_page(ctx, self.id, None, first, after).await
    }
}

/// Batches payment lookups by id (entity references, `payment(id)`).
pub struct PaymentLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for PaymentLoader {
    type Value = PaymentRow;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, PaymentRow>, Self::Error> {
        let rows = store::find_payments(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

fn parse_id(id: &ID, what: &'static str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound(what))
}

async fn visible_payment(ctx: &Context<'_>, id: Uuid) -> ApiResult<PaymentRow> {
    let principal = ctx.principal()?;
    let loader = ctx.data_unchecked::<DataLoader<PaymentLoader>>();
    match loader
        .load_one(id)
        .await
        .map_err(|err| ApiError::internal(anyhow::anyhow!(err)))?
    {
        Some(row) if principal.can_access(row.owner_id) => Ok(row),
        _ => Err(ApiError::NotFound("payment")),
    }
}

async fn visible_direct_debit(ctx: &Context<'_>, id: &ID) -> ApiResult<DirectDebitRow> {
    let principal = ctx.principal()?;
    let id = parse_id(id, "direct debit")?;
    match store::find_direct_debit(&context(ctx).db, id).await? {
        Some(row) if principal.can_access(row.owner_id) => Ok(row),
        _ => Err(ApiError::NotFound("direct debit")),
    }
}

#[derive(InputObject)]
pub struct AddPayeeInput {
    /// 1 to 70 characters.
    pub name: String,
    pub iban: String,
}

#[derive(InputObject)]
pub struct SendPaymentInput {
    /// One of the caller's accounts; the payment is in its currency.
    pub from_account_id: ID,
    /// A saved payee, or `creditorName` and `creditorIban`.
    pub payee_id: Option<ID>,
    pub creditor_name: Option<String>,
    pub creditor_iban: Option<String>,
    pub amount: Decimal,
    /// What the creditor sees: at most 140 characters.
    pub remittance: Option<String>,
    pub idempotency_key: String,
}

#[derive(InputObject)]
pub struct CreateMandateInput {
    /// One of the caller's accounts; collections are in its currency.
    pub account_id: ID,
    /// The creditor's SEPA identifier (`DE98ZZZ09999999999`).
    pub creditor_id: String,
    /// 1 to 70 characters.
    pub creditor_name: String,
    /// The creditor's mandate reference: 1 to 35 characters.
    pub reference: String,
    /// The most one collection may take; unlimited if absent.
    pub max_amount: Option<Decimal>,
}

#[derive(InputObject)]
pub struct CreateStandingOrderInput {
    /// One of the caller's accounts; the payments are in its currency.
    pub from_account_id: ID,
    /// A saved payee, or `creditorName` and `creditorIban`.
    pub payee_id: Option<ID>,
    pub creditor_name: Option<String>,
    pub creditor_iban: Option<String>,
    pub amount: Decimal,
    /// What the creditor sees with each payment: at most 140 characters.
    pub remittance: Option<String>,
    pub frequency: Frequency,
    /// The first payment's date: today (UTC) up to a year ahead.
    pub start_on: Date,
    /// The last date it may pay on; it runs until cancelled if absent.
    pub end_on: Option<Date>,
    pub idempotency_key: String,
}

pub struct Query;

#[Object(name = "Query")]
impl Query {
    /// One of the caller's payments (any for staff); `NOT_FOUND` otherwise.
    async fn payment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Payment> {
        let id = parse_id(&id, "payment")?;
        Ok(visible_payment(ctx, id).await?.into())
    }

    /// One of the caller's mandates (any for staff); `NOT_FOUND` otherwise.
    async fn mandate(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Mandate> {
        let principal = ctx.principal()?;
        let id = parse_id(&id, "mandate")?;
        match store::find_mandate(&context(ctx).db, id)
            .await
            .map_err(ApiError::from)?
        {
            Some(row) if principal.can_access(row.owner_id) => Ok(Mandate(row)),
            _ => Err(ApiError::NotFound("mandate").into()),
        }
    }

    /// One of the caller's standing orders (any for staff); `NOT_FOUND` otherwise.
    async fn standing_order(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<StandingOrder> {
        let principal = ctx.principal()?;
        let id = parse_id(&id, "standing order")?;
        match store::find_standing_order(&context(ctx).db, id)
            .await
            .map_err(ApiError::from)?
        {
            Some(row) if principal.can_access(row.owner_id) => Ok(StandingOrder(row)),
            _ => Err(ApiError::NotFound("standing order").into()),
        }
    }

    /// One of the caller's direct debits (any for staff); `NOT_FOUND` otherwise.
    async fn direct_debit(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<DirectDebit> {
        Ok(DirectDebit(visible_direct_debit(ctx, &id).await?))
    }

    /// `AuditLog` references: this subgraph contributes its own trail.
    #[graphql(entity)]
    async fn find_audit_log_by_id(&self, id: async_graphql::ID) -> AuditLogRef {
        AuditLogRef { id }
    }

    /// `Reconciliation` references: the payments subgraph contributes `Reconciliation.payments`.
    #[graphql(entity)]
    async fn find_reconciliation_by_id(&self, id: ID) -> ReconciliationRef {
        ReconciliationRef { id }
    }

    /// Resolves `Payment` references from other subgraphs; others' payments resolve to null.
    #[graphql(entity)]
    async fn find_payment_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Payment>> {
        let Ok(id) = parse_id(&id, "payment") else {
            return Ok(None);
        };
        match visible_payment(ctx, id).await {
            Ok(row) => Ok(Some(row.into())),
            Err(ApiError::NotFound(_)) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// `User` references: the payments subgraph contributes `User.payees` and `User.payments`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> async_graphql::Result<UserRef> {
        let id = Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound("user"))?;
        Ok(UserRef { id })
    }
}

pub struct Mutation;

#[Object(name = "Mutation")]
impl Mutation {
    /// Saves a payee for the caller; the same IBAN again updates its name. At most 100.
    async fn add_payee(
        &self,
        ctx: &Context<'_>,
        input: AddPayeeInput,
    ) -> async_graphql::Result<Payee> {
        let principal = ctx.principal()?;
        let name = parse_name(&input.name).map_err(|msg| ApiError::bad_input("name", msg))?;
        let iban = Iban::parse(&input.iban).map_err(|msg| ApiError::bad_input("iban", msg))?;
        let row =
            store::add_payee(&context(ctx).db, principal.user_id, &name, iban.as_str()).await?;
        Ok(Payee(row))
    }

    /// Removes one of the caller's payees; `false` if there was none.
    async fn remove_payee(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let principal = ctx.principal()?;
        let id = parse_id(&id, "payee")?;
        Ok(store::remove_payee(&context(ctx).db, principal.user_id, id)
            .await
            .map_err(ApiError::from)?)
    }

    /// Sets up a standing order: the bank pays the creditor the amount from the account on
    /// `startOn` and then every week or month, until `endOn` or until cancelled. Each payment is
    /// an ordinary payment (`sendPayment`'s rules, the gateway, returns); one refused for lack
    /// of funds fails alone and the order goes on. At most 20 active. Safe to retry with the
    /// same `idempotencyKey`.
    async fn create_standing_order(
        &self,
        ctx: &Context<'_>,
        input: CreateStandingOrderInput,
    ) -> async_graphql::Result<StandingOrder> {
        let principal = ctx.principal()?;
        let key = internal::idempotency_key(&input.idempotency_key)?;
        let payments = context(ctx);
        let (creditor_name, creditor_iban) = creditor(
            payments,
            principal.user_id,
            &input.payee_id,
            &input.creditor_name,
            &input.creditor_iban,
        )
        .await?;
        let remittance = parse_remittance(input.remittance.as_deref())
            .map_err(|msg| ApiError::bad_input("remittance", msg))?;
        check_schedule(
            Utc::now().date_naive(),
            input.start_on.0,
            input.end_on.map(|d| d.0),
        )
        .map_err(|(field, msg)| ApiError::bad_input(field, msg))?;
        let from = parse_id(&input.from_account_id, "account")?;
        let token = BearerToken::of(ctx)?;
        let account = payments.ledger.account(&token, from).await?;
        if account.owner_id != principal.user_id {
            // The bank pays from an account on its holder's standing instruction only.
            return Err(ApiError::NotFound("account").into());
        }
        let currency = Currency::parse(&account.currency).map_err(ApiError::internal_msg)?;
        let amount_minor = match parse_minor(&input.amount.0, currency) {
            Ok(minor) if minor > 0 => minor,
            Ok(_) => {
                return Err(ApiError::bad_input("amount", "the amount must be positive").into())
            }
            Err(message) => return Err(ApiError::bad_input("amount", message).into()),
        };
        let row = store::create_standing_order(
            &payments.db,
            store::NewStandingOrder {
                owner_id: principal.user_id,
                from_account_id: from,
                creditor_name,
                creditor_iban,
                currency: currency.code().to_string(),
                amount_minor,
                remittance,
                frequency: input.frequency,
                start_on: input.start_on.0,
                end_on: input.end_on.map(|d| d.0),
                key,
            },
        )
        .await?;
        payments.wake.notify_one();
        tracing::info!(standing_order_id = %row.id, owner = %row.owner_id, "standing order set up");
        Ok(StandingOrder(row))
    }

    /// Cancels one of the caller's standing orders: it makes no further payment. Payments it
    /// already made go on. Cancelling one that is over changes nothing.
    async fn cancel_standing_order(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<StandingOrder> {
        let principal = ctx.principal()?;
        let id = parse_id(&id, "standing order")?;
        let row = store::cancel_standing_order(&context(ctx).db, principal.user_id, id).await?;
        Ok(StandingOrder(row))
    }

    /// Records a direct debit mandate: the creditor may then collect from the account, within
    /// `maxAmount` per collection if given. Giving the same mandate again returns it; a
    /// creditor's reference names one mandate. At most 50 active mandates.
    async fn create_mandate(
        &self,
        ctx: &Context<'_>,
        input: CreateMandateInput,
    ) -> async_graphql::Result<Mandate> {
        let principal = ctx.principal()?;
        let payments = context(ctx);
        let creditor_id = CreditorId::parse(&input.creditor_id)
            .map_err(|msg| ApiError::bad_input("creditorId", msg))?;
        let creditor_name = parse_name(&input.creditor_name)
            .map_err(|msg| ApiError::bad_input("creditorName", msg))?;
        let reference = parse_mandate_reference(&input.reference)
            .map_err(|msg| ApiError::bad_input("reference", msg))?;
        let account_id = parse_id(&input.account_id, "account")?;
        let token = BearerToken::of(ctx)?;
        let account = payments.ledger.account(&token, account_id).await?;
        if account.owner_id != principal.user_id {
            // A mandate is the account holder's own consent: not even staff give it for them.
            return Err(ApiError::NotFound("account").into());
        }
        let currency = Currency::parse(&account.currency).map_err(ApiError::internal_msg)?;
        let max_amount_minor = match &input.max_amount {
            None => None,
            Some(amount) => match parse_minor(&amount.0, currency) {
                Ok(minor) if minor > 0 => Some(minor),
                Ok(_) => {
                    return Err(
                        ApiError::bad_input("maxAmount", "the limit must be positive").into(),
                    )
                }
                Err(message) => return Err(ApiError::bad_input("maxAmount", message).into()),
            },
        };
        let row = store::create_mandate(
            &payments.db,
            store::NewMandate {
                owner_id: principal.user_id,
                account_id,
                currency: currency.code().to_string(),
                creditor_id: creditor_id.as_str().to_string(),
                creditor_name,
                reference,
                max_amount_minor,
            },
        )
        .await?;
        tracing::info!(mandate_id = %row.id, owner = %row.owner_id, "mandate recorded");
        Ok(Mandate(row))
    }

    /// Revokes one of the caller's mandates: every later collection under it is refused.
    /// Revoking a revoked mandate changes nothing.
    async fn revoke_mandate(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Mandate> {
        let principal = ctx.principal()?;
        let id = parse_id(&id, "mandate")?;
        let row = store::revoke_mandate(&context(ctx).db, principal.user_id, id).await?;
        Ok(Mandate(row))
    }

    /// Gives a collected direct debit back to the account, no questions asked, within eight
    /// weeks of the collection (the SEPA Core rule). Asking again changes nothing.
    async fn refund_direct_debit(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DirectDebit> {
        let principal = ctx.principal()?;
        let payments = context(ctx);
        let row = visible_direct_debit(ctx, &id).await?;
        if row.owner_id != principal.user_id {
            return Err(ApiError::forbidden().into());
        }
        match DirectDebitStatus::from_db(&row.status) {
            DirectDebitStatus::Refunding | DirectDebitStatus::Refunded => {
                return Ok(DirectDebit(row))
            }
            DirectDebitStatus::Collected => {}
            _ => {
                return Err(ApiError::bad_input(
                    "id",
                    "only a collected direct debit can be refunded",
                )
                .into())
            }
        }
        if Utc::now() > collections::refundable_until(&row) {
            return Err(ApiError::bad_input(
                "id",
                "the eight weeks in which a direct debit can be refunded are over",
            )
            .into());
        }
        let (row, _) = store::refunding(&payments.db, row.id).await?;
        if DirectDebitStatus::from_db(&row.status) != DirectDebitStatus::Refunding {
            return Ok(DirectDebit(row));
        }
        let creditor_name = store::find_mandate(&payments.db, row.mandate_id)
            .await
            .map_err(ApiError::from)?
            .map(|mandate| mandate.creditor_name)
            .unwrap_or_default();
        // If the ledger does not answer now, the refund stays REFUNDING and the worker posts it.
        let row = collections::refund(&payments.db, &payments.ledger, &row, &creditor_name)
            .await?
            .unwrap_or(row);
        Ok(DirectDebit(row))
    }

    /// Sends money from one of the caller's accounts to an account at another bank. The
    /// account is debited at once (one ledger transaction into the bank's clearing account);
    /// the payment then goes to the payment gateway, and comes back (`RETURNED`, the money
    /// credited again) if the other bank rejects it. Safe to retry with the same
    /// `idempotencyKey`.
    async fn send_payment(
        &self,
        ctx: &Context<'_>,
        input: SendPaymentInput,
    ) -> async_graphql::Result<Payment> {
        let principal = ctx.principal()?;
        let key = internal::idempotency_key(&input.idempotency_key)?;
        let payments = context(ctx);
        let (creditor_name, creditor_iban) = creditor(
            payments,
            principal.user_id,
            &input.payee_id,
            &input.creditor_name,
            &input.creditor_iban,
        )
        .await?;
        let remittance = parse_remittance(input.remittance.as_deref())
            .map_err(|msg| ApiError::bad_input("remittance", msg))?;
        let from = parse_id(&input.from_account_id, "account")?;
        let token = BearerToken::of(ctx)?;
        let account = payments.ledger.account(&token, from).await?;
        if !principal.can_access(account.owner_id) {
            return Err(ApiError::NotFound("account").into());
        }
        let currency = Currency::parse(&account.currency).map_err(ApiError::internal_msg)?;
        let amount_minor = match parse_minor(&input.amount.0, currency) {
            Ok(minor) if minor > 0 => minor,
            Ok(_) => {
                return Err(ApiError::bad_input("amount", "the amount must be positive").into())
            }
            Err(message) => return Err(ApiError::bad_input("amount", message).into()),
        };
        let recorded = store::record_payment(
            &payments.db,
            store::NewPayment {
                owner_id: account.owner_id,
                from_account_id: from,
                creditor_name,
                creditor_iban,
                currency: currency.code().to_string(),
                amount_minor,
                remittance,
                key,
                initiated_by: principal.user_id,
                standing_order_id: None,
            },
        )
        .await?;
        let payment = match recorded {
            store::Recorded::Existing(row)
                if PaymentStatus::from_db(&row.status) != PaymentStatus::Pending =>
            {
                if PaymentStatus::from_db(&row.status) == PaymentStatus::Failed {
                    return Err(failure(&row).into());
                }
                return Ok(row.into());
            }
            store::Recorded::Existing(row) | store::Recorded::New(row) => row,
        };
        // The payment as recorded (a replay's first request), not this request's input.
        let movement =
            PaymentMovement::debit(&payment, format_minor(payment.amount_minor, currency));
        match payments
            .ledger
            .move_money(Caller::User(&token), &movement)
            .await
        {
            Ok(posted) => {
                let row = store::debited(&payments.db, payment.id, posted.transaction_id).await?;
                payments.wake.notify_one();
                tracing::info!(payment_id = %row.id, by = %principal.user_id, "payment debited and queued");
                Ok(row.into())
            }
            Err(Refused::Rule(err)) => {
                let row =
                    store::debit_refused(&payments.db, payment.id, err.code(), &err.message())
                        .await?;
                tracing::info!(payment_id = %row.id, code = err.code(), "payment refused by the ledger");
                Err(err.into())
            }
            // Unknown: the payment stays PENDING; a retry with the same key, or the worker's
            // recovery, asks the ledger again (which moves the money at most once).
            Err(Refused::Unknown(err)) => Err(err.into()),
        }
    }
}

/// Who a payment goes to: one of the caller's saved payees, or a name and IBAN typed in.
async fn creditor(
    payments: &PaymentsContext,
    owner: Uuid,
    payee_id: &Option<ID>,
    name: &Option<String>,
    iban: &Option<String>,
) -> ApiResult<(String, String)> {
    match (payee_id, name, iban) {
        (Some(id), None, None) => {
            let id = parse_id(id, "payee")?;
            let payee = store::find_payee(&payments.db, owner, id)
                .await?
                .ok_or(ApiError::NotFound("payee"))?;
            Ok((payee.name, payee.iban))
        }
        (None, Some(name), Some(iban)) => Ok((
            parse_name(name).map_err(|msg| ApiError::bad_input("creditorName", msg))?,
            Iban::parse(iban)
                .map_err(|msg| ApiError::bad_input("creditorIban", msg))?
                .as_str()
                .to_string(),
        )),
        _ => Err(ApiError::bad_input(
            "payeeId",
            "give a payeeId, or both creditorName and creditorIban",
        )),
    }
}

/// The error a failed payment answers with again when replayed.
fn failure(row: &PaymentRow) -> ApiError {
    let message = row.failure_reason.clone().unwrap_or_default();
    match row.failure_code.as_deref() {
        Some("INSUFFICIENT_FUNDS") => ApiError::InsufficientFunds,
        Some("ACCOUNT_NOT_ACTIVE") => ApiError::AccountNotActive(message),
        Some("CURRENCY_MISMATCH") => ApiError::CurrencyMismatch(message),
        Some("LIMIT_EXCEEDED") => ApiError::LimitExceeded(message),
        Some("NOT_FOUND") => ApiError::NotFound("account"),
        Some("FORBIDDEN") => ApiError::forbidden(),
        _ => ApiError::bad_input("amount", format!("the payment failed: {message}")),
    }
}

bank_common::audit_log_part!(payments, "payments", PaymentsContext);
