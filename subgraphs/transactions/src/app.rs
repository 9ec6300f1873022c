//! Wiring: configuration, database, schema, routes and the ledger's background workers (the
//! outbox relay, the account-events consumer, hold expiry).

use std::{sync::Arc, time::Duration};

use async_graphql::{dataloader::DataLoader, EmptySubscription, Schema};
use axum::{
    extract::{Path, State},
    http::{header::AUTHORIZATION, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use bank_migrations::MigratorTrait;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use bank_common::{
    auth::TokenVerifier,
    config::{ConfigError, Env, ServiceConfig},
    consumer::{self, HandlerError},
    db,
    events::Envelope,
    internal::error_response,
    outbox::Relay,
    server::{configure_schema, federation_sdl, RequestData, Subgraph},
    ApiError,
};

use crate::{
    events::{self, AccountChanged},
    schema::{AccountLoader, LedgerContext, LedgerSchema, Mutation, Query, TransactionLoader},
    store,
};

pub const NAME: &str = "transactions";
pub const DEFAULT_PORT: u16 = 4003;

/// The ledger's own settings (`TRANSACTIONS_*`, docs/configuration.md).
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// How long a movement waits for an account the ledger has not heard of yet (its `opened`
    /// event may still be on the way) before answering `NOT_FOUND`.
    pub account_sync_wait: Duration,
    /// The daily cash withdrawal limit new accounts get, in major units of their currency.
    pub daily_withdrawal_limit: i64,
    /// How long a hold lives unless the request says otherwise.
    pub hold_ttl: Duration,
    /// How often expired holds are looked for.
    pub hold_expiry_interval: Duration,
    /// Whether to consume the accounts service's events (tests feed them directly).
    pub consume_account_events: bool,
    pub consumer_group: String,
    /// Where the ledger's events go (tests use topics of their own).
    pub topic: String,
    /// Each calling service's own token, sent as `X-Service-Token` on every `/internal/*` call
    /// (`TRANSACTIONS_SERVICE_TOKENS=accounts=...,loans=...,payments=...`). A token reaches only
    /// what its service needs ([`Scope`]): one service's leaked token moves no other service's
    /// money. None configured: every internal call is refused.
    pub service_tokens: ServiceTokens,
    /// Customers' own cash deposits (a sandbox's way to get money in): `None` refuses them
    /// (production, where cash comes in at a teller), `Some(limit)` allows them up to `limit`
    /// (major units) per account per day. Staff never deposit into their own accounts as staff.
    pub self_deposit_limit: Option<i64>,
    /// Four eyes: raising an account's overdraft or daily withdrawal limit above this (major
    /// units of its currency) needs a second member of staff.
    pub four_eyes_limit: i64,
    /// A sandbox's switch: administrators may book deposits, withdrawals and transfers at a
    /// past time (`bookedAt`), which is how the demo gets its history. Off in production.
    pub backdating: bool,
    /// Movements written per database transaction at most (`TRANSACTIONS_BATCH_MAX`, 64;
    /// 1 turns batching off): concurrent movements share a commit ([`crate::batch`]).
    pub batch_max: usize,
    /// Batches written at once, each its own database transaction (`TRANSACTIONS_BATCH_WORKERS`,
    /// 2).
    pub batch_workers: usize,
    /// How long a batch waits for the one being written to start committing before it starts
    /// anyway, in milliseconds (`TRANSACTIONS_BATCH_WAIT_MS`, 10; 0 starts at once with
    /// whatever is waiting).
    pub batch_wait_ms: u64,
}

/// A shared secret, kept out of `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceToken(pub String);

impl std::fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceToken(..)")
    }
}

impl ServiceToken {
    /// Compares in constant time.
    fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

/// The services that call the ledger's internal endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallingService {
    Accounts,
    Loans,
    Payments,
}

impl CallingService {
    pub const ALL: [CallingService; 3] = [Self::Accounts, Self::Loans, Self::Payments];

    pub fn name(self) -> &'static str {
        match self {
            Self::Accounts => "accounts",
            Self::Loans => "loans",
            Self::Payments => "payments",
        }
    }

    /// The references (and internal accounts) of the money it moves: all a reconciliation
    /// snapshot may show it.
    fn reconciles(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Accounts => (&[], &[]),
            Self::Loans => (&["loan:"], &["loan-funding"]),
            Self::Payments => (&["payment:", "direct-debit:"], &["clearing", "suspense"]),
        }
    }
}

/// Which services may call an internal endpoint.
type Scope = &'static [CallingService];

/// Each calling service's token.
#[derive(Debug, Clone, Default)]
pub struct ServiceTokens(Vec<(CallingService, ServiceToken)>);

impl ServiceTokens {
    pub fn new(tokens: impl IntoIterator<Item = (CallingService, String)>) -> Self {
        Self(
            tokens
                .into_iter()
                .filter(|(_, token)| !token.is_empty())
                .map(|(service, token)| (service, ServiceToken(token)))
                .collect(),
        )
    }

    /// `accounts=<token>,loans=<token>,payments=<token>`; each token at least 16 characters,
    /// no two alike.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut tokens = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, token) = part
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("an entry without =: each is service=token"))?;
            let service = CallingService::ALL
                .into_iter()
                .find(|s| s.name() == name.trim())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{:?} is not a service that calls the ledger (accounts, loans, payments)",
                        name.trim()
                    )
                })?;
            let token = token.trim().to_string();
            anyhow::ensure!(
                token.len() >= 16,
                "the {} token is shorter than 16 characters",
                service.name()
            );
            anyhow::ensure!(
                !tokens
                    .iter()
                    .any(|(s, t): &(CallingService, String)| *s == service || *t == token),
                "one token per service, each its own ({} twice)",
                service.name()
            );
            tokens.push((service, token));
        }
        Ok(Self::new(tokens))
    }

    /// The service whose token this is.
    fn identify(&self, presented: &str) -> Option<CallingService> {
        self.0
            .iter()
            .find(|(_, token)| token.matches(presented))
            .map(|(service, _)| *service)
    }
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            account_sync_wait: Duration::from_secs(3),
            daily_withdrawal_limit: 5_000,
            hold_ttl: Duration::from_secs(7 * 24 * 3600),
            hold_expiry_interval: Duration::from_secs(5),
            consume_account_events: true,
            consumer_group: "transactions-ledger".into(),
            topic: crate::events::TOPIC.into(),
            service_tokens: ServiceTokens::default(),
            self_deposit_limit: None,
            four_eyes_limit: 1_000,
            backdating: false,
            batch_max: 64,
            batch_workers: 2,
            batch_wait_ms: 10,
        }
    }
}

impl LedgerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new(NAME);
        let defaults = Self::default();
        let config = Self {
            account_sync_wait: Duration::from_millis(env.get_or(
                "ACCOUNT_SYNC_WAIT_MS",
                defaults.account_sync_wait.as_millis() as u64,
            )?),
            daily_withdrawal_limit: env
                .get_or("DAILY_WITHDRAWAL_LIMIT", defaults.daily_withdrawal_limit)?,
            hold_ttl: env.secs_or("HOLD_TTL_SECS", defaults.hold_ttl.as_secs())?,
            hold_expiry_interval: env.secs_or(
                "HOLD_EXPIRY_INTERVAL_SECS",
                defaults.hold_expiry_interval.as_secs(),
            )?,
            consume_account_events: env.get_or("CONSUME_ACCOUNT_EVENTS", true)?,
            consumer_group: env.get_or("CONSUMER_GROUP", defaults.consumer_group)?,
            topic: env.get_or("LEDGER_TOPIC", defaults.topic)?,
            service_tokens: {
                if env.raw("SERVICE_TOKEN").is_some_and(|t| !t.is_empty()) {
                    return Err(ConfigError {
                        name: env.var_name("SERVICE_TOKEN"),
                        message: "one token for every service was replaced by \
                                  TRANSACTIONS_SERVICE_TOKENS=accounts=<token>,loans=<token>,payments=<token>"
                            .into(),
                    });
                }
                ServiceTokens::parse(&env.raw("SERVICE_TOKENS").unwrap_or_default()).map_err(
                    |err| ConfigError {
                        name: env.var_name("SERVICE_TOKENS"),
                        message: err.to_string(),
                    },
                )?
            },
            self_deposit_limit: if env.get_or("SELF_DEPOSITS", false)? {
                Some(env.get_or("SELF_DEPOSIT_DAILY_LIMIT", 10_000i64)?)
            } else {
                None
            },
            four_eyes_limit: env.get_or("FOUR_EYES_LIMIT", defaults.four_eyes_limit)?,
            backdating: env.get_or("BACKDATING", false)?,
            batch_max: env.get_or("BATCH_MAX", defaults.batch_max)?,
            batch_workers: env.get_or("BATCH_WORKERS", defaults.batch_workers)?,
            batch_wait_ms: env.get_or("BATCH_WAIT_MS", defaults.batch_wait_ms)?,
        };
        if config.daily_withdrawal_limit < 0 {
            return Err(ConfigError {
                name: env.var_name("DAILY_WITHDRAWAL_LIMIT"),
                message: "must not be negative".into(),
            });
        }
        if config.hold_expiry_interval.is_zero() {
            return Err(ConfigError {
                name: env.var_name("HOLD_EXPIRY_INTERVAL_SECS"),
                message: "must be at least 1".into(),
            });
        }
        Ok(config)
    }
}

pub fn schema_builder(
    config: &ServiceConfig,
) -> async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription> {
    configure_schema(Schema::build(Query, Mutation, EmptySubscription), config)
}

pub fn sdl() -> String {
    let config = ServiceConfig::from_env(NAME, DEFAULT_PORT).expect("defaults are valid");
    federation_sdl(&schema_builder(&config).finish())
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    bank_common::db::with_migration_lock(db, NAME, || async {
        bank_migrations::transactions::Migrator::up(db, None).await?;
        Ok(())
    })
    .await?;
    store::ensure_internal_accounts(db).await?;
    Ok(())
}

/// Connects, migrates, starts the background workers and returns the ready service.
pub async fn build(
    config: ServiceConfig,
    ledger: LedgerConfig,
    verifier: TokenVerifier,
) -> anyhow::Result<Subgraph<Query, Mutation, EmptySubscription>> {
    let db = db::connect(&config.database).await?;
    migrate(&db).await?;
    db::set_citus(db::is_citus(&db).await?);

    // Workers run for the life of the process; their work is durable in the database, so an
    // abrupt stop loses nothing.
    Relay::spawn(db.clone(), &config.kafka, store::SCHEMA)?;
    tokio::spawn(expire_holds(
        db.clone(),
        ledger.hold_expiry_interval,
        ledger.topic.clone(),
    ));
    if ledger.consume_account_events {
        let handler_db = db.clone();
        let limit = ledger.daily_withdrawal_limit;
        let kafka = config.kafka.clone();
        let group = ledger.consumer_group.clone();
        let handle = move |event: Envelope<serde_json::Value>| {
            let db = handler_db.clone();
            async move { apply_account_event(&db, event, limit).await }
        };
        consumer::spawn(
            kafka,
            group,
            vec![events::ACCOUNTS_TOPIC.to_string()],
            handle,
        );
    }

    let context_config = ledger.clone();
    let movements = crate::batch::Ledger::batched(
        db.clone(),
        ledger.batch_max,
        ledger.batch_workers,
        std::time::Duration::from_millis(ledger.batch_wait_ms),
    );
    let context = LedgerContext {
        db: db.clone(),
        ledger: movements.clone(),
        config: ledger,
    };
    let schema: LedgerSchema = schema_builder(&config).data(context).finish();
    let loader_db = db.clone();
    let request_data: RequestData = Arc::new(move |data| {
        data.insert(DataLoader::new(
            AccountLoader {
                db: loader_db.clone(),
            },
            tokio::spawn,
        ));
        data.insert(DataLoader::new(
            TransactionLoader {
                db: loader_db.clone(),
            },
            tokio::spawn,
        ));
    });
    use CallingService::{Accounts, Loans, Payments};
    let tokens = &context_config.service_tokens;
    let only = |scope: Scope| {
        axum::middleware::from_fn_with_state((tokens.clone(), scope), from_a_service)
    };
    let extra_routes = Router::new()
        .route(
            "/internal/accounts/{id}/close",
            post(close_account).layer(only(&[Accounts])),
        )
        .route(
            "/internal/accounts/{id}",
            get(account_for_service).layer(only(&[Loans, Payments])),
        )
        .route(
            "/internal/loan-movements",
            post(loan_movement).layer(only(&[Loans])),
        )
        .route(
            "/internal/payment-movements",
            post(payment_movement).layer(only(&[Payments])),
        )
        .route(
            "/internal/reconciliation",
            post(reconciliation).layer(only(&[Loans, Payments])),
        )
        .with_state(InternalState {
            db: db.clone(),
            ledger: movements,
            verifier: verifier.clone(),
            config: context_config.clone(),
            audit: bank_common::audit::Audit::start("transactions", db.clone()),
        });
    Ok(Subgraph {
        config,
        schema,
        db,
        verifier,
        request_data,
        extra_routes,
    })
}

/// Every call to `/internal/*` comes from one of the bank's services, which proves which with
/// its own token (`X-Service-Token`); a customer's token alone, from wherever, is refused
/// (401), and a service outside the endpoint's scope too (403: the payments service's token
/// moves no loan money). The caller's token, when a service acts for someone, says for whom.
/// Without configured tokens no internal call is accepted.
async fn from_a_service(
    State((tokens, scope)): State<(ServiceTokens, Scope)>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let presented = request
        .headers()
        .get("x-service-token")
        .and_then(|v| v.to_str().ok());
    match presented.and_then(|presented| tokens.identify(presented)) {
        Some(service) if scope.contains(&service) => {
            request.extensions_mut().insert(service);
            next.run(request).await
        }
        Some(service) => {
            tracing::warn!(
                service = service.name(),
                path = %request.uri().path(),
                "an internal call outside the calling service's scope refused"
            );
            bank_common::internal::error_response(
                ApiError::Forbidden(format!(
                    "the {} service does not call this endpoint",
                    service.name()
                )),
                "an internal call",
            )
        }
        None => bank_common::internal::error_response(
            ApiError::Unauthenticated("internal endpoints answer the bank's services only".into()),
            "an internal call",
        ),
    }
}

/// Applies an account lifecycle event to the ledger's copy.
pub async fn apply_account_event(
    db: &DatabaseConnection,
    event: Envelope<serde_json::Value>,
    daily_withdrawal_limit: i64,
) -> Result<(), HandlerError> {
    if !event.kind.starts_with("bank.account.") {
        return Ok(());
    }
    let account: AccountChanged = serde_json::from_value(event.data)
        .map_err(|err| HandlerError::Permanent(format!("unexpected account event data: {err}")))?;
    let fresh =
        store::apply_account_event(db, event.id, &event.kind, &account, daily_withdrawal_limit)
            .await?;
    tracing::debug!(event_id = %event.id, kind = %event.kind, fresh, "account event applied");
    Ok(())
}

async fn expire_holds(db: DatabaseConnection, interval: Duration, topic: String) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match store::expire_holds(&db, 100, &topic).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "holds expired"),
            Err(err) => tracing::warn!(error = %err, "hold expiry failed; retrying later"),
        }
    }
}

#[derive(Clone)]
struct InternalState {
    db: DatabaseConnection,
    ledger: crate::batch::Ledger,
    verifier: TokenVerifier,
    config: LedgerConfig,
    audit: bank_common::audit::Audit,
}

impl InternalState {
    async fn principal(
        &self,
        headers: &HeaderMap,
    ) -> Result<bank_common::auth::Principal, ApiError> {
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        self.verifier
            .verify_header(authorization)
            .await?
            .ok_or_else(ApiError::unauthenticated)
    }

    /// Records a movement another service asked for, moved or refused, in the ledger's audit
    /// trail (`transactions.internal.<what>`): the customer whose token came with it, or
    /// `service:<name>` for the bank itself, and which service asked (`after.via`).
    #[allow(clippy::too_many_arguments)]
    async fn audit_movement(
        &self,
        service: CallingService,
        headers: &HeaderMap,
        what: &str,
        owner: Uuid,
        subject: Uuid,
        request: serde_json::Value,
        result: &Result<store::TransactionRow, ApiError>,
    ) {
        let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let principal = match authorization {
            Some(_) => self
                .verifier
                .verify_header(authorization)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        let mut entry = bank_common::audit::Entry::by(principal.as_ref());
        if principal.is_none() {
            entry.actor = if authorization.is_some() {
                "anonymous".into()
            } else {
                format!("service:{}", service.name())
            };
        }
        entry.action = format!("transactions.internal.{what}");
        entry.on_behalf_of = Some(owner.to_string()).filter(|owner| *owner != entry.actor);
        entry.subject = Some(subject.to_string());
        entry.request_id = headers
            .get(bank_common::server::REQUEST_ID_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        entry.address = bank_common::server::ClientAddress::from_headers(headers)
            .0
            .map(|ip| ip.to_string());
        entry.outcome = match result {
            Ok(_) => "OK".into(),
            Err(err) => err.code().into(),
        };
        entry.after = Some(serde_json::json!({
            "via": service.name(),
            "request": request,
            "transactionId": result.as_ref().ok().map(|row| row.id),
        }));
        self.audit.record(vec![entry]).await;
    }
}

/// `GET /internal/accounts/{id}`: a customer account's owner, currency and status, for a
/// service acting for the caller (the loans service checks the account a loan is paid into).
/// The caller must be its owner or staff; anything else is `NOT_FOUND`.
async fn account_for_service(
    State(state): State<InternalState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let principal = state.principal(&headers).await?;
        let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("account"))?;
        // A just-opened account may still be on its way from the accounts service.
        store::wait_for_accounts(&state.db, &[id], state.config.account_sync_wait).await?;
        let accounts = store::find_accounts(&state.db, &[id]).await?;
        match accounts.into_iter().next() {
            Some(account)
                if account.kind == "CUSTOMER"
                    && account
                        .owner_id
                        .is_some_and(|owner| principal.can_access(owner)) =>
            {
                Ok(account)
            }
            _ => Err(ApiError::NotFound("account")),
        }
    }
    .await;
    match result {
        Ok(account) => Json(serde_json::json!({
            "accountId": account.account_id,
            "ownerId": account.owner_id,
            "currency": account.currency,
            "status": account.status,
        }))
        .into_response(),
        Err(err) => error_response(err, "reading an account"),
    }
}

/// A movement's answer to another service: the transaction's id and time, or the error.
fn posted_response(result: Result<store::TransactionRow, ApiError>, what: &str) -> Response {
    match result {
        Ok(row) => Json(serde_json::json!({
            "transactionId": row.id,
            "createdAt": row.created_at,
        }))
        .into_response(),
        Err(err) => error_response(err, what),
    }
}

/// What the loans service asks the ledger to move.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoanMovementRequest {
    kind: String,
    loan_id: Uuid,
    account_id: Uuid,
    owner_id: Uuid,
    amount: String,
    currency: String,
    key: String,
    reference: String,
}

/// `POST /internal/loan-movements`: a loan payout (staff only; from the bank's loan funding
/// account into the borrower's account) or repayment (the borrower or staff; from the
/// borrower's account back), on behalf of the caller whose token the loans service forwards.
/// Idempotency keys are scoped to the loan, so a retry by anyone moves money once.
async fn loan_movement(
    State(state): State<InternalState>,
    axum::Extension(service): axum::Extension<CallingService>,
    headers: HeaderMap,
    Json(request): Json<LoanMovementRequest>,
) -> Response {
    use crate::domain::{Description, IdempotencyKey, TransactionKind};
    let audited = serde_json::json!({
        "kind": request.kind, "accountId": request.account_id, "amount": request.amount,
        "currency": request.currency, "key": request.key, "reference": request.reference,
    });
    let result = async {
        let principal = state.principal(&headers).await?;
        let (kind, from, to) = match request.kind.as_str() {
            "LOAN_DISBURSEMENT" => {
                if !principal.is_staff() {
                    return Err(ApiError::forbidden());
                }
                (
                    TransactionKind::LoanDisbursement,
                    None,
                    Some(request.account_id),
                )
            }
            "LOAN_REPAYMENT" => (
                TransactionKind::LoanRepayment,
                Some(request.account_id),
                None,
            ),
            other => {
                return Err(ApiError::bad_input(
                    "kind",
                    format!("{other:?} is not a loan movement"),
                ))
            }
        };
        let movement = store::Movement {
            kind,
            key: IdempotencyKey::parse(&request.key)?,
            from,
            to,
            amount: request.amount,
            description: Description::parse(Some(match kind {
                TransactionKind::LoanDisbursement => "Loan payout",
                _ => "Loan repayment",
            }))?,
            topic: state.config.topic.clone(),
            principal,
            key_scope: Some(request.loan_id),
            owner: Some(request.owner_id),
            currency: Some(
                bank_common::money::Currency::parse(&request.currency)
                    .map_err(|message| ApiError::bad_input("currency", message))?,
            ),
            reference: Some(request.reference),
            self_deposit_limit: None,
            booked_at: None,
            audit: None,
        };
        store::move_money(&state.ledger, &movement, state.config.account_sync_wait)
            .await
            .map(|(row, _)| row)
    }
    .await;
    state
        .audit_movement(
            service,
            &headers,
            "loan_movement",
            request.owner_id,
            request.loan_id,
            audited,
            &result,
        )
        .await;
    posted_response(result, "a loan movement")
}

/// `POST /internal/accounts/{id}/close`: the accounts service asks the ledger to close an
/// account, on behalf of the caller whose token it forwards. The ledger's answer is final for
/// money: once closed here, nothing moves. Not exposed through NGINX or the router.
async fn close_account(
    State(state): State<InternalState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let result = async {
        let principal = state
            .verifier
            .verify_header(authorization)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("account"))?;
        store::close_account(&state.db, &principal, id).await
    }
    .await;
    match result {
        Ok(row) => (
            StatusCode::OK,
            Json(serde_json::json!({ "accountId": row.account_id, "status": row.status })),
        )
            .into_response(),
        Err(err) => error_response(err, "closing an account"),
    }
}

/// What the payments service asks the ledger to move.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentMovementRequest {
    kind: String,
    payment_id: Uuid,
    account_id: Uuid,
    owner_id: Uuid,
    amount: String,
    currency: String,
    key: String,
    reference: String,
    description: Option<String>,
}

/// `POST /internal/payment-movements`: a payment to another bank (`EXTERNAL_PAYMENT`: the
/// owner's account → clearing) or its return (`REVERSAL`: clearing → the owner's account).
/// A debit comes with the customer's token (owner or staff), or with the service token when
/// the payments service finishes one a crash interrupted; a reversal only with the service
/// token (no customer is present when the other bank rejects a payment). Either way the
/// account must be the payment owner's, in the payment's currency. Keys are scoped to the
/// payment, so a retry by anyone moves money once.
async fn payment_movement(
    State(state): State<InternalState>,
    axum::Extension(service): axum::Extension<CallingService>,
    headers: HeaderMap,
    Json(request): Json<PaymentMovementRequest>,
) -> Response {
    use crate::domain::{Description, IdempotencyKey, TransactionKind};
    let audited = serde_json::json!({
        "kind": request.kind, "accountId": request.account_id, "amount": request.amount,
        "currency": request.currency, "key": request.key, "reference": request.reference,
    });
    let result = async {
        // The service token was checked on the way in; with a customer's token the payments
        // service acts for that customer, without one for nobody (the bank itself).
        let as_service = !headers.contains_key(AUTHORIZATION);
        let principal = if as_service {
            // The bank itself: staff rights, no person behind it.
            bank_common::auth::Principal {
                user_id: Uuid::nil(),
                roles: vec![bank_common::auth::Role::Admin],
            }
        } else {
            state.principal(&headers).await?
        };
        let (kind, from, to) = match request.kind.as_str() {
            "EXTERNAL_PAYMENT" => (
                TransactionKind::ExternalPayment,
                Some(request.account_id),
                None,
            ),
            "REVERSAL" if as_service => (TransactionKind::Reversal, None, Some(request.account_id)),
            "REVERSAL" => return Err(ApiError::forbidden()),
            other => {
                return Err(ApiError::bad_input(
                    "kind",
                    format!("{other:?} is not a payment movement"),
                ))
            }
        };
        let movement = store::Movement {
            kind,
            key: IdempotencyKey::parse(&request.key)?,
            from,
            to,
            amount: request.amount,
            description: Description::parse(request.description.as_deref())?,
            topic: state.config.topic.clone(),
            principal,
            key_scope: Some(request.payment_id),
            owner: Some(request.owner_id),
            currency: Some(
                bank_common::money::Currency::parse(&request.currency)
                    .map_err(|message| ApiError::bad_input("currency", message))?,
            ),
            reference: Some(request.reference),
            self_deposit_limit: None,
            booked_at: None,
            audit: None,
        };
        store::move_money(&state.ledger, &movement, state.config.account_sync_wait)
            .await
            .map(|(row, _)| row)
    }
    .await;
    state
        .audit_movement(
            service,
            &headers,
            "payment_movement",
            request.owner_id,
            request.payment_id,
            audited,
            &result,
        )
        .await;
    posted_response(result, "a payment movement")
}

/// `POST /internal/reconciliation`: the ledger's side of another service's reconciliation
/// ([`bank_common::reconcile`]): the transactions under the asked-for reference prefixes and
/// the internal accounts they must explain, in one snapshot. A service's token only, and only
/// the references and internal accounts of that service's own money (`FORBIDDEN` otherwise):
/// it lists every customer's movements under them.
async fn reconciliation(
    State(state): State<InternalState>,
    axum::Extension(service): axum::Extension<CallingService>,
    Json(request): Json<bank_common::reconcile::SnapshotRequest>,
) -> Response {
    let result = async {
        if request.prefixes.is_empty()
            || request.prefixes.len() > 10
            || !request
                .prefixes
                .iter()
                .all(|p| bank_common::reconcile::SnapshotRequest::valid_prefix(p))
        {
            return Err(ApiError::bad_input(
                "prefixes",
                "one to ten reference prefixes of lowercase letters, digits and -, each ending in :",
            ));
        }
        let (own_prefixes, own_purposes) = service.reconciles();
        if !request
            .prefixes
            .iter()
            .all(|p| own_prefixes.iter().any(|own| p.starts_with(own)))
            || !request
                .purposes
                .iter()
                .all(|p| own_purposes.contains(&p.as_str()))
        {
            return Err(ApiError::Forbidden(format!(
                "the {} service reconciles its own money only",
                service.name()
            )));
        }
        let purposes = request
            .purposes
            .iter()
            .map(|name| {
                store::InternalAccount::by_name(name).ok_or_else(|| {
                    ApiError::bad_input("purposes", format!("{name:?} is no internal account"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(store::reconciliation_snapshot(&state.db, &request.prefixes, &purposes).await?)
    }
    .await;
    match result {
        Ok(snapshot) => Json(snapshot).into_response(),
        Err(err) => bank_common::internal::error_response(err, "a reconciliation snapshot"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_tokens_name_their_service_and_differ() {
        let tokens = ServiceTokens::parse(
            "accounts=aaaaaaaaaaaaaaaa, loans=llllllllllllllll,payments=pppppppppppppppp",
        )
        .unwrap();
        assert_eq!(
            tokens.identify("llllllllllllllll"),
            Some(CallingService::Loans)
        );
        assert_eq!(tokens.identify("aaaaaaaaaaaaaaab"), None);
        assert!(ServiceTokens::parse("").unwrap().0.is_empty());
        for bad in [
            "ledger=aaaaaaaaaaaaaaaa",
            "loans=short",
            "loans",
            "loans=aaaaaaaaaaaaaaaa,payments=aaaaaaaaaaaaaaaa",
            "loans=aaaaaaaaaaaaaaaa,loans=bbbbbbbbbbbbbbbb",
        ] {
            assert!(ServiceTokens::parse(bad).is_err(), "{bad}");
        }
    }
}
