//! The loans subgraph's GraphQL API: products and quotes, `Loan @key(id)`, `User.loans`, the
//! staff's review queue, and applying, approving, rejecting, disbursing and repaying.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    dataloader::{DataLoader, Loader},
    Context, EmptySubscription, InputObject, Object, Schema, SimpleObject, ID,
};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use bank_common::{
    auth::{ContextAuth, Principal},
    internal,
    money::{graphql::Decimal, graphql::Money, parse_minor, Currency},
    pagination::{decode_cursor, encode_cursor, page_size, PageInfo},
    reconcile::{Reconciler, Report as Reconciliation},
    server::BearerToken,
    ApiError, ApiResult,
};

use crate::{
    domain::{installment_status, settled, InstallmentStatus, LoanStatus, Schedule},
    events::Reference,
    ledger::{LedgerClient, LoanMovement, LoanMovementKind, Refused},
    store::{self, InstallmentRow, LoanRow, ProductRow, RepaymentRow},
};

pub type LoansSchema = Schema<Query, Mutation, EmptySubscription>;

/// What resolvers share.
pub struct LoansContext {
    pub db: DatabaseConnection,
    pub ledger: LedgerClient,
    /// Compares this service's records with the ledger's.
    pub reconciler: Reconciler,
}

/// The bank's reconciliation (the transactions subgraph's `reconciliation`), extended here
/// with the loans service's records against the ledger.
pub struct ReconciliationRef {
    id: ID,
}

#[Object(name = "Reconciliation")]
impl ReconciliationRef {
    async fn id(&self) -> &ID {
        &self.id
    }

    /// Loan payouts and repayments against the ledger's postings and its loan funding
    /// account (staff only; docs/reliability.md).
    async fn loans(&self, ctx: &Context<'_>) -> async_graphql::Result<Reconciliation> {
        context(ctx).reconciler.run_for(ctx.principal()?).await
    }
}

fn context<'a>(ctx: &Context<'a>) -> &'a LoansContext {
    ctx.data_unchecked::<LoansContext>()
}

pub use bank_common::calendar::Date;

fn money(minor: i64, currency: &str) -> async_graphql::Result<Money> {
    let currency = Currency::parse(currency).map_err(ApiError::internal_msg)?;
    Ok(Money::new(minor, currency))
}

/// An annual rate in basis points as a percentage string: 690 is "6.90".
fn percent(bp: i32) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

/// A loan product the bank offers.
pub struct LoanProduct(ProductRow);

#[Object]
impl LoanProduct {
    /// e.g. `PERSONAL_EUR`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// ISO 4217 code of the loan and the account it is paid into.
    async fn currency(&self) -> &str {
        &self.0.currency
    }

    /// Yearly interest rate in percent, e.g. "6.90".
    async fn annual_rate(&self) -> String {
        percent(self.0.annual_rate_bp)
    }

    async fn min_amount(&self) -> async_graphql::Result<Money> {
        money(self.0.min_amount_minor, &self.0.currency)
    }

    async fn max_amount(&self) -> async_graphql::Result<Money> {
        money(self.0.max_amount_minor, &self.0.currency)
    }

    async fn min_term_months(&self) -> i32 {
        self.0.min_term_months
    }

    async fn max_term_months(&self) -> i32 {
        self.0.max_term_months
    }
}

/// What a loan would cost: the equal monthly payment and the totals.
#[derive(SimpleObject)]
pub struct LoanQuote {
    pub monthly_payment: Money,
    pub total_interest: Money,
    pub total_due: Money,
    /// Yearly interest rate in percent.
    pub annual_rate: String,
    pub term_months: i32,
}

/// One month of a loan's repayment schedule.
pub struct Installment {
    row: InstallmentRow,
    currency: String,
    paid_minor: i64,
}

#[Object]
impl Installment {
    /// 1 for the first month.
    async fn number(&self) -> i32 {
        self.row.number
    }

    async fn due_on(&self) -> Date {
        Date(self.row.due_on)
    }

    async fn principal(&self) -> async_graphql::Result<Money> {
        money(self.row.principal_minor, &self.currency)
    }

    async fn interest(&self) -> async_graphql::Result<Money> {
        money(self.row.interest_minor, &self.currency)
    }

    /// Principal plus interest.
    async fn amount(&self) -> async_graphql::Result<Money> {
        money(self.amount_minor(), &self.currency)
    }

    /// How much of it repayments have settled (repayments settle installments in order).
    async fn paid(&self) -> async_graphql::Result<Money> {
        money(self.paid_minor, &self.currency)
    }

    async fn status(&self) -> InstallmentStatus {
        installment_status(
            self.amount_minor(),
            self.paid_minor,
            self.row.due_on,
            Utc::now().date_naive(),
        )
    }
}

impl Installment {
    fn amount_minor(&self) -> i64 {
        self.row.principal_minor + self.row.interest_minor
    }
}

#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepaymentStatus {
    /// Sent to the ledger; not yet known to have been posted (a retry with the same
    /// idempotency key completes it).
    Pending,
    Posted,
    /// The ledger refused it (see `failureCode`); no money moved.
    Failed,
}

/// Money paid back on a loan.
pub struct Repayment {
    row: RepaymentRow,
    currency: String,
}

#[Object]
impl Repayment {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    async fn amount(&self) -> async_graphql::Result<Money> {
        money(self.row.amount_minor, &self.currency)
    }

    async fn status(&self) -> RepaymentStatus {
        match self.row.status.as_str() {
            "POSTED" => RepaymentStatus::Posted,
            "FAILED" => RepaymentStatus::Failed,
            _ => RepaymentStatus::Pending,
        }
    }

    /// Why the ledger refused it, e.g. `INSUFFICIENT_FUNDS`.
    async fn failure_code(&self) -> Option<&str> {
        self.row.failure_code.as_deref()
    }

    /// The ledger transaction that moved the money.
    async fn transaction(&self) -> Option<TransactionRef> {
        self.row.transaction_id.map(|id| TransactionRef {
            id: ID(id.to_string()),
        })
    }

    /// The account the money came from.
    async fn account(&self) -> AccountRef {
        AccountRef {
            id: ID(self.row.account_id.to_string()),
        }
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    async fn settled_at(&self) -> Option<DateTime<Utc>> {
        self.row.settled_at
    }
}

#[derive(SimpleObject)]
pub struct RepaymentEdge {
    pub cursor: String,
    pub node: Repayment,
}

#[derive(SimpleObject)]
pub struct RepaymentConnection {
    pub edges: Vec<RepaymentEdge>,
    pub page_info: PageInfo,
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

/// A step that needs two members of staff.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LoanApprovalStep {
    /// Approving the application.
    Approval,
    /// Paying the loan out.
    Payout,
}

/// One member of staff's part in a four-eyes step.
#[derive(SimpleObject)]
pub struct LoanApproval {
    pub step: LoanApprovalStep,
    pub staff_id: ID,
    pub at: DateTime<Utc>,
}

/// A loan, from application to the last repayment.
#[derive(Clone)]
pub struct Loan(Arc<LoanRow>);

impl From<LoanRow> for Loan {
    fn from(row: LoanRow) -> Self {
        Loan(Arc::new(row))
    }
}

#[Object]
impl Loan {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn status(&self) -> LoanStatus {
        LoanStatus::from_db(&self.0.status)
    }

    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<LoanProduct> {
        // One query for every loan on the page.
        let row = ctx
            .data_unchecked::<DataLoader<ProductLoader>>()
            .load_one(self.0.product_code.clone())
            .await
            .map_err(|err| ApiError::internal(anyhow::anyhow!(err)))?
            .ok_or_else(|| ApiError::internal_msg("a loan's product vanished"))?;
        Ok(LoanProduct(row))
    }

    /// The account it is paid into (and repaid from by default).
    async fn account(&self) -> AccountRef {
        AccountRef {
            id: ID(self.0.account_id.to_string()),
        }
    }

    async fn borrower(&self) -> UserRef {
        UserRef {
            id: self.0.owner_id,
        }
    }

    async fn principal(&self) -> async_graphql::Result<Money> {
        money(self.0.principal_minor, &self.0.currency)
    }

    /// Yearly interest rate in percent, fixed when applying.
    async fn annual_rate(&self) -> String {
        percent(self.0.annual_rate_bp)
    }

    async fn term_months(&self) -> i32 {
        self.0.term_months
    }

    async fn monthly_payment(&self) -> async_graphql::Result<Money> {
        money(self.0.monthly_payment_minor, &self.0.currency)
    }

    /// Principal plus all interest.
    async fn total_due(&self) -> async_graphql::Result<Money> {
        money(self.0.total_due_minor, &self.0.currency)
    }

    async fn repaid(&self) -> async_graphql::Result<Money> {
        money(self.0.repaid_minor, &self.0.currency)
    }

    /// What is still owed.
    async fn outstanding(&self) -> async_graphql::Result<Money> {
        money(
            self.0.total_due_minor - self.0.repaid_minor,
            &self.0.currency,
        )
    }

    async fn purpose(&self) -> Option<&str> {
        self.0.purpose.as_deref()
    }

    /// Why staff rejected it, or their note on approval.
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }

    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }

    /// The members of staff who approved it and who asked for and confirmed its payout, in
    /// order (four eyes: each step needs two of them, docs/loans.md).
    async fn approvals(&self) -> Vec<LoanApproval> {
        let row = &self.0;
        let approved = matches!(
            LoanStatus::from_db(&row.status),
            LoanStatus::Approved | LoanStatus::Active | LoanStatus::PaidOff
        );
        let mut approvals = Vec::new();
        let mut add = |step, staff: Option<Uuid>, at: Option<DateTime<Utc>>| {
            if let (Some(staff), Some(at)) = (staff, at) {
                approvals.push(LoanApproval {
                    step,
                    staff_id: ID(staff.to_string()),
                    at,
                });
            }
        };
        add(
            LoanApprovalStep::Approval,
            row.first_approved_by,
            row.first_approved_at,
        );
        if approved {
            add(LoanApprovalStep::Approval, row.decided_by, row.decided_at);
        }
        add(
            LoanApprovalStep::Payout,
            row.payout_requested_by,
            row.payout_requested_at,
        );
        add(
            LoanApprovalStep::Payout,
            row.payout_confirmed_by,
            row.payout_confirmed_at,
        );
        approvals
    }

    /// True when one member of staff has approved it or asked for its payout and a second
    /// one must now do the same.
    async fn awaiting_second_staff(&self) -> bool {
        let row = &self.0;
        match LoanStatus::from_db(&row.status) {
            LoanStatus::Pending => row.first_approved_by.is_some(),
            LoanStatus::Approved => {
                row.payout_requested_by.is_some() && row.payout_confirmed_by.is_none()
            }
            _ => false,
        }
    }

    /// The ledger transaction that paid it out.
    async fn disbursement(&self) -> Option<TransactionRef> {
        self.0.disbursement_transaction_id.map(|id| TransactionRef {
            id: ID(id.to_string()),
        })
    }

    async fn disbursed_on(&self) -> Option<Date> {
        self.0.disbursed_on.map(Date)
    }

    async fn applied_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The repayment schedule, once the loan is paid out (empty before).
    async fn schedule(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Installment>> {
        let rows = store::installments_of(&context(ctx).db, &self.0)
            .await
            .map_err(ApiError::from)?;
        let amounts: Vec<i64> = rows
            .iter()
            .map(|r| r.principal_minor + r.interest_minor)
            .collect();
        let paid = settled(&amounts, self.0.repaid_minor);
        Ok(rows
            .into_iter()
            .zip(paid)
            .map(|(row, paid_minor)| Installment {
                row,
                currency: self.0.currency.clone(),
                paid_minor,
            })
            .collect())
    }

    /// Repayments, newest first.
    async fn repayments(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<RepaymentConnection> {
        let limit = page_size(first)?;
        let before = after
            .as_deref()
            .map(|cursor| decode_cursor("r", cursor))
            .transpose()?;
        let mut rows = store::repayments_of(
            &context(ctx).db,
            &self.0,
            before.unwrap_or(i64::MAX),
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        let has_next_page = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let edges: Vec<RepaymentEdge> = rows
            .into_iter()
            .map(|row| RepaymentEdge {
                cursor: encode_cursor("r", row.seq),
                node: Repayment {
                    row,
                    currency: self.0.currency.clone(),
                },
            })
            .collect();
        Ok(RepaymentConnection {
            page_info: page_info(&edges, has_next_page, before.is_some(), |e| &e.cursor),
            edges,
        })
    }
}

#[derive(SimpleObject)]
pub struct LoanEdge {
    pub cursor: String,
    pub node: Loan,
}

#[derive(SimpleObject)]
pub struct LoanConnection {
    pub edges: Vec<LoanEdge>,
    pub page_info: PageInfo,
}

fn page_info<E>(
    edges: &[E],
    has_next_page: bool,
    has_previous_page: bool,
    cursor: impl Fn(&E) -> &String,
) -> PageInfo {
    PageInfo {
        has_next_page,
        has_previous_page,
        start_cursor: edges.first().map(|e| cursor(e).clone()),
        end_cursor: edges.last().map(|e| cursor(e).clone()),
    }
}

fn loan_connection(mut rows: Vec<LoanRow>, limit: u64, after: bool) -> LoanConnection {
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let edges: Vec<LoanEdge> = rows
        .into_iter()
        .map(|row| LoanEdge {
            cursor: encode_cursor("l", row.seq),
            node: row.into(),
        })
        .collect();
    LoanConnection {
        page_info: page_info(&edges, has_next_page, after, |e| &e.cursor),
        edges,
    }
}

/// The users service's `User`, extended here with the user's loans.
pub struct UserRef {
    id: Uuid,
}

#[Object(name = "User")]
impl UserRef {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's loans, newest first (the user themselves, or staff).
    async fn loans(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<LoanConnection> {
        let principal = ctx.principal()?;
        if !principal.can_access(self.id) {
            return Err(ApiError::forbidden().into());
        }
        let limit = page_size(first)?;
        let before = after
            .as_deref()
            .map(|cursor| decode_cursor("l", cursor))
            .transpose()?;
        let rows = store::loans_of(
            &context(ctx).db,
            self.id,
            before.unwrap_or(i64::MAX),
            limit + 1,
        )
        .await
        .map_err(ApiError::from)?;
        Ok(loan_connection(rows, limit, before.is_some()))
    }
}

/// Batches loan lookups by id (entity references, `loan(id)`).
pub struct LoanLoader {
    pub db: DatabaseConnection,
}

impl Loader<Uuid> for LoanLoader {
    type Value = LoanRow;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, LoanRow>, Self::Error> {
        let rows = store::find_loans(&self.db, keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|row| (row.id, row)).collect())
    }
}

/// Batches product lookups by code (`Loan.product` on a page of loans).
pub struct ProductLoader {
    pub db: DatabaseConnection,
}

impl Loader<String> for ProductLoader {
    type Value = ProductRow;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, ProductRow>, Self::Error> {
        let rows = store::find_products(&self.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|row| (row.code.clone(), row))
            .collect())
    }
}

fn parse_id(id: &ID, what: &'static str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound(what))
}

/// A loan the caller may see (their own; any for staff). Anything else is `NOT_FOUND`.
async fn visible_loan(ctx: &Context<'_>, id: Uuid) -> ApiResult<LoanRow> {
    let principal = ctx.principal()?;
    let loader = ctx.data_unchecked::<DataLoader<LoanLoader>>();
    match loader
        .load_one(id)
        .await
        .map_err(|err| ApiError::internal(anyhow::anyhow!(err)))?
    {
        Some(row) if principal.can_access(row.owner_id) => Ok(row),
        _ => Err(ApiError::NotFound("loan")),
    }
}

fn require_staff(principal: &Principal) -> ApiResult<()> {
    if principal.is_staff() {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

fn positive_amount(amount: &Decimal, currency: &str) -> ApiResult<i64> {
    let currency = Currency::parse(currency).map_err(ApiError::internal_msg)?;
    match parse_minor(&amount.0, currency) {
        Ok(minor) if minor > 0 => Ok(minor),
        Ok(_) => Err(ApiError::bad_input("amount", "the amount must be positive")),
        Err(message) => Err(ApiError::bad_input("amount", message)),
    }
}

/// Checks an amount and term against a product; returns the amount in minor units.
fn check_terms(product: &ProductRow, amount: &Decimal, term_months: i32) -> ApiResult<i64> {
    let minor = positive_amount(amount, &product.currency)?;
    let currency = Currency::parse(&product.currency).map_err(ApiError::internal_msg)?;
    if minor < product.min_amount_minor || minor > product.max_amount_minor {
        return Err(ApiError::bad_input(
            "amount",
            format!(
                "{} lends between {} and {} {}",
                product.code,
                bank_common::money::format_minor(product.min_amount_minor, currency),
                bank_common::money::format_minor(product.max_amount_minor, currency),
                product.currency
            ),
        ));
    }
    if term_months < product.min_term_months || term_months > product.max_term_months {
        return Err(ApiError::bad_input(
            "termMonths",
            format!(
                "{} runs between {} and {} months",
                product.code, product.min_term_months, product.max_term_months
            ),
        ));
    }
    Ok(minor)
}

async fn active_product(db: &DatabaseConnection, code: &str) -> ApiResult<ProductRow> {
    match store::product(db, code.trim()).await? {
        Some(product) if product.active => Ok(product),
        _ => Err(ApiError::bad_input(
            "productCode",
            format!("there is no loan product {code:?}; see loanProducts"),
        )),
    }
}

#[derive(InputObject)]
pub struct LoanQuoteInput {
    pub product_code: String,
    pub amount: Decimal,
    pub term_months: i32,
}

#[derive(InputObject)]
pub struct ApplyForLoanInput {
    pub product_code: String,
    /// The caller's account the loan is paid into; its currency must be the product's.
    pub account_id: ID,
    pub amount: Decimal,
    pub term_months: i32,
    /// At most 200 characters.
    pub purpose: Option<String>,
    pub idempotency_key: String,
}

#[derive(InputObject)]
pub struct RepayLoanInput {
    pub loan_id: ID,
    pub amount: Decimal,
    /// Where the money comes from: one of the borrower's accounts in the loan's currency
    /// (default: the account the loan was paid into).
    pub account_id: Option<ID>,
    pub idempotency_key: String,
}

pub struct Query;

#[Object(name = "Query")]
impl Query {
    /// The loan products on offer.
    async fn loan_products(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LoanProduct>> {
        ctx.principal()?;
        let rows = store::products(&context(ctx).db)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(LoanProduct).collect())
    }

    /// What a loan of `amount` over `termMonths` would cost, before applying.
    async fn loan_quote(
        &self,
        ctx: &Context<'_>,
        input: LoanQuoteInput,
    ) -> async_graphql::Result<LoanQuote> {
        ctx.principal()?;
        let product = active_product(&context(ctx).db, &input.product_code).await?;
        let minor = check_terms(&product, &input.amount, input.term_months)?;
        let schedule = Schedule::annuity(minor, product.annual_rate_bp, input.term_months);
        Ok(LoanQuote {
            monthly_payment: money(schedule.monthly_payment_minor, &product.currency)?,
            total_interest: money(schedule.total_interest_minor(), &product.currency)?,
            total_due: money(schedule.total_minor(), &product.currency)?,
            annual_rate: percent(product.annual_rate_bp),
            term_months: input.term_months,
        })
    }

    /// One of the caller's loans (any for staff); `NOT_FOUND` otherwise.
    async fn loan(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Loan> {
        let id = parse_id(&id, "loan")?;
        Ok(visible_loan(ctx, id).await?.into())
    }

    /// Staff: loans in a status across customers, oldest first (the review queue by default).
    async fn loan_applications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "LoanStatus::Pending")] status: LoanStatus,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<LoanConnection> {
        require_staff(ctx.principal()?)?;
        let limit = page_size(first)?;
        let after_seq = after
            .as_deref()
            .map(|cursor| decode_cursor("l", cursor))
            .transpose()?;
        let rows =
            store::loans_in_status(&context(ctx).db, status, after_seq.unwrap_or(0), limit + 1)
                .await
                .map_err(ApiError::from)?;
        Ok(loan_connection(rows, limit, after_seq.is_some()))
    }

    /// `AuditLog` references: this subgraph contributes its own trail.
    #[graphql(entity)]
    async fn find_audit_log_by_id(&self, id: async_graphql::ID) -> AuditLogRef {
        AuditLogRef { id }
    }

    /// Resolves `Loan` references from other subgraphs; others' loans resolve to null.
    /// `Reconciliation` references: the loans subgraph contributes `Reconciliation.loans`.
    #[graphql(entity)]
    async fn find_reconciliation_by_id(&self, id: ID) -> ReconciliationRef {
        ReconciliationRef { id }
    }

    #[graphql(entity)]
    async fn find_loan_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Loan>> {
        let Ok(id) = parse_id(&id, "loan") else {
            return Ok(None);
        };
        match visible_loan(ctx, id).await {
            Ok(row) => Ok(Some(row.into())),
            Err(ApiError::NotFound(_)) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// `User` references: the loans subgraph contributes `User.loans`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> async_graphql::Result<UserRef> {
        let id = Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound("user"))?;
        Ok(UserRef { id })
    }
}

pub struct Mutation;

#[Object(name = "Mutation")]
impl Mutation {
    /// Applies for a loan, paid into one of the caller's accounts once staff approve and
    /// disburse it. The rate is the product's today. Safe to retry with the same
    /// `idempotencyKey`. At most 5 loans open or in review per customer.
    async fn apply_for_loan(
        &self,
        ctx: &Context<'_>,
        input: ApplyForLoanInput,
    ) -> async_graphql::Result<Loan> {
        let principal = ctx.principal()?;
        let key = internal::idempotency_key(&input.idempotency_key)?;
        let loans = context(ctx);
        let product = active_product(&loans.db, &input.product_code).await?;
        let principal_minor = check_terms(&product, &input.amount, input.term_months)?;
        let purpose = match input.purpose.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) if text.chars().count() > 200 || text.chars().any(char::is_control) => {
                return Err(ApiError::bad_input(
                    "purpose",
                    "a purpose is at most 200 characters, without control characters",
                )
                .into())
            }
            Some(text) => Some(text.to_string()),
        };
        let account_id = Uuid::parse_str(input.account_id.as_str())
            .map_err(|_| ApiError::NotFound("account"))?;
        // The account must be the caller's own, open, and in the product's currency.
        let account = loans
            .ledger
            .account(&BearerToken::of(ctx)?, account_id)
            .await?;
        if account.owner_id != principal.user_id {
            return Err(ApiError::NotFound("account").into());
        }
        if account.currency != product.currency {
            return Err(ApiError::CurrencyMismatch(format!(
                "{} lends in {}; the account is in {}",
                product.code, product.currency, account.currency
            ))
            .into());
        }
        if account.status != "ACTIVE" {
            return Err(
                ApiError::AccountNotActive(format!("the account is {}", account.status)).into(),
            );
        }
        let row = store::apply(
            &loans.db,
            store::Application {
                owner_id: principal.user_id,
                account_id,
                product,
                principal_minor,
                term_months: input.term_months,
                purpose,
                key,
            },
        )
        .await?;
        tracing::info!(loan_id = %row.id, owner_id = %row.owner_id, "loan applied for");
        Ok(row.into())
    }

    /// Staff: approves a pending application. Four eyes: the first member of staff's approval
    /// is recorded and the loan stays `PENDING` (`awaitingSecondStaff`); a second member of
    /// staff's approval makes it `APPROVED`. The same one approving again changes nothing.
    async fn approve_loan(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<Loan> {
        self.decide(ctx, id, true, note).await
    }

    /// Staff: rejects a pending application with a reason the customer sees.
    async fn reject_loan(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<Loan> {
        if reason.trim().is_empty() {
            return Err(ApiError::bad_input("reason", "say why the loan is rejected").into());
        }
        self.decide(ctx, id, false, Some(reason)).await
    }

    /// Staff: pays an approved loan into the borrower's account (one ledger transaction from
    /// the bank's loan funding account). Four eyes: the first member of staff asks for the
    /// payout (recorded; `awaitingSecondStaff`), a second one confirms it and the money moves;
    /// the loan becomes `ACTIVE` with its schedule. Paying out again returns the loan
    /// unchanged: the money moves once.
    async fn disburse_loan(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Loan> {
        let principal = ctx.principal()?;
        require_staff(principal)?;
        let id = parse_id(&id, "loan")?;
        let loans = context(ctx);
        let loan = store::find_loan(&loans.db, id)
            .await?
            .ok_or(ApiError::NotFound("loan"))?;
        note_loan(ctx, &loan);
        store::not_their_own(&loan, principal.user_id)?;
        match LoanStatus::from_db(&loan.status) {
            LoanStatus::Approved => {}
            LoanStatus::Active | LoanStatus::PaidOff => return Ok(loan.into()),
            other => {
                return Err(ApiError::bad_input(
                    "id",
                    format!(
                        "only an APPROVED loan can be paid out; this one is {}",
                        other.as_str()
                    ),
                )
                .into())
            }
        }
        let loan = match store::request_payout(&loans.db, loan.id, principal.user_id).await? {
            store::Payout::AwaitingSecond(row) => {
                tracing::info!(loan_id = %row.id, by = %principal.user_id, "loan payout asked for; a second member of staff must confirm");
                return Ok(row.into());
            }
            store::Payout::Confirmed(row) => row,
        };
        let currency = Currency::parse(&loan.currency).map_err(ApiError::internal_msg)?;
        let movement = LoanMovement {
            kind: LoanMovementKind::LoanDisbursement,
            loan_id: loan.id,
            account_id: loan.account_id,
            owner_id: loan.owner_id,
            amount: bank_common::money::format_minor(loan.principal_minor, currency),
            currency: loan.currency.clone(),
            key: "disbursement".into(),
            reference: Reference::Disbursement { loan_id: loan.id }.render(),
        };
        let posted = loans
            .ledger
            .move_money(&BearerToken::of(ctx)?, &movement)
            .await
            .map_err(Refused::into_api)?;
        let row = store::complete_disbursement(
            &loans.db,
            loan.id,
            posted.transaction_id,
            posted.created_at,
        )
        .await?;
        tracing::info!(loan_id = %row.id, transaction_id = %posted.transaction_id, by = %principal.user_id, "loan disbursed");
        Ok(row.into())
    }

    /// Repays part or all of an active loan from one of the borrower's accounts (staff: on the
    /// borrower's behalf). Safe to retry with the same `idempotencyKey`; a repayment left
    /// `PENDING` by a failure is completed by that retry.
    async fn repay_loan(
        &self,
        ctx: &Context<'_>,
        input: RepayLoanInput,
    ) -> async_graphql::Result<Repayment> {
        let principal = ctx.principal()?;
        let key = internal::idempotency_key(&input.idempotency_key)?;
        let loan_id = parse_id(&input.loan_id, "loan")?;
        let loans = context(ctx);
        let loan = visible_loan(ctx, loan_id).await?;
        let amount_minor = positive_amount(&input.amount, &loan.currency)?;
        let account_id = match &input.account_id {
            Some(id) => parse_id(id, "account")?,
            None => loan.account_id,
        };
        let request = store::RepaymentRequest {
            loan_id,
            account_id,
            amount_minor,
            key,
            initiated_by: principal.user_id,
        };
        let may_access = |row: &LoanRow| {
            if principal.can_access(row.owner_id) {
                Ok(())
            } else {
                Err(ApiError::NotFound("loan"))
            }
        };
        let (loan, repayment) =
            match store::start_repayment(&loans.db, &request, may_access).await? {
                store::Started::Existing(loan, repayment) if repayment.status != "PENDING" => {
                    if let Some(code) = repayment.failure_code.as_deref() {
                        return Err(failure(code).into());
                    }
                    return Ok(Repayment {
                        row: repayment,
                        currency: loan.currency,
                    });
                }
                store::Started::Existing(loan, repayment)
                | store::Started::New(loan, repayment) => (loan, repayment),
            };
        let currency = Currency::parse(&loan.currency).map_err(ApiError::internal_msg)?;
        let movement = LoanMovement {
            kind: LoanMovementKind::LoanRepayment,
            loan_id: loan.id,
            account_id: repayment.account_id,
            owner_id: loan.owner_id,
            amount: bank_common::money::format_minor(repayment.amount_minor, currency),
            currency: loan.currency.clone(),
            key: repayment.id.to_string(),
            reference: Reference::Repayment {
                loan_id: loan.id,
                repayment_id: repayment.id,
            }
            .render(),
        };
        match loans
            .ledger
            .move_money(&BearerToken::of(ctx)?, &movement)
            .await
        {
            Ok(posted) => {
                let (_, row) = store::complete_repayment(
                    &loans.db,
                    loan.id,
                    repayment.id,
                    posted.transaction_id,
                )
                .await?;
                tracing::info!(loan_id = %loan.id, repayment_id = %row.id, "loan repayment posted");
                Ok(Repayment {
                    row,
                    currency: loan.currency,
                })
            }
            Err(Refused::Rule(err)) => {
                store::fail_repayment(&loans.db, &repayment, err.code())
                    .await
                    .map_err(ApiError::from)?;
                Err(err.into())
            }
            // Unknown outcome: the repayment stays PENDING; a retry with the same key, or the
            // ledger's event, completes it.
            Err(Refused::Unknown(err)) => Err(err.into()),
        }
    }
}

impl Mutation {
    async fn decide(
        &self,
        ctx: &Context<'_>,
        id: ID,
        approve: bool,
        reason: Option<String>,
    ) -> async_graphql::Result<Loan> {
        let principal = ctx.principal()?;
        require_staff(principal)?;
        let id = parse_id(&id, "loan")?;
        let reason = reason
            .map(|text| text.trim().to_string())
            .filter(|text| !text.is_empty());
        if reason
            .as_ref()
            .is_some_and(|text| text.chars().count() > 500)
        {
            return Err(ApiError::bad_input("reason", "at most 500 characters").into());
        }
        if let Some(before) = store::find_loan(&context(ctx).db, id).await? {
            note_loan(ctx, &before);
        }
        let row = store::decide(&context(ctx).db, id, principal.user_id, approve, reason).await?;
        tracing::info!(loan_id = %row.id, status = %row.status, by = %principal.user_id, "loan decided");
        Ok(row.into())
    }
}

/// A staff decision's audit entry: for whom, and the loan's status before.
fn note_loan(ctx: &Context<'_>, loan: &store::LoanRow) {
    bank_common::audit::note(ctx, |note| {
        note.on_behalf_of = Some(loan.owner_id.to_string());
        note.before = Some(serde_json::json!({ "status": loan.status }));
    });
}

/// The error a failed repayment answers with again when replayed.
fn failure(code: &str) -> ApiError {
    match code {
        "INSUFFICIENT_FUNDS" => ApiError::InsufficientFunds,
        "ACCOUNT_NOT_ACTIVE" => ApiError::AccountNotActive("the account is not active".into()),
        "CURRENCY_MISMATCH" => {
            ApiError::CurrencyMismatch("the account is not in the loan's currency".into())
        }
        "NOT_FOUND" => ApiError::NotFound("account"),
        "LIMIT_EXCEEDED" => ApiError::LimitExceeded("a limit was exceeded".into()),
        "FORBIDDEN" => ApiError::forbidden(),
        _ => ApiError::bad_input("amount", format!("the repayment failed: {code}")),
    }
}

bank_common::audit_log_part!(loans, "loans", LoansContext);
