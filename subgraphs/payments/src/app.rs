//! Wiring: configuration, database, schema, the gateway's callback endpoint and the worker.

use std::{sync::Arc, time::Duration};

use async_graphql::{dataloader::DataLoader, EmptySubscription, Schema};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use bank_migrations::MigratorTrait;
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use tokio::sync::Notify;
use uuid::Uuid;

use bank_common::{
    auth::TokenVerifier,
    config::{ConfigError, Env, ServiceConfig},
    db,
    outbox::Relay,
    reconcile::{self, Reconciler},
    server::{configure_schema, federation_sdl, RequestData, Subgraph},
    ApiError,
};

use crate::{
    domain::verify,
    gateway::GatewayClient,
    ledger::LedgerClient,
    schema::{Mutation, PaymentLoader, PaymentsContext, PaymentsSchema, Query},
    store,
    worker::{Worker, WorkerSettings},
};

pub const NAME: &str = "payments";
pub const DEFAULT_PORT: u16 = 4006;

/// The payments service's own settings (`PAYMENTS_*`, docs/configuration.md).
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    pub ledger_url: String,
    /// Sent as `X-Service-Token` for background ledger calls; must equal the ledger's
    /// `TRANSACTIONS_SERVICE_TOKEN`.
    pub ledger_service_token: Option<String>,
    pub gateway_url: String,
    /// Where the gateway sends its callbacks (this service's `/webhooks/gateway`).
    pub callback_url: String,
    /// The key of the callbacks' HMAC signatures; without it every callback is refused.
    pub webhook_secret: Option<String>,
    pub gateway_timeout: Duration,
    pub worker: WorkerSettings,
    /// Whether this instance runs the worker (tests may run it by hand).
    pub run_worker: bool,
    pub reconciliation: reconcile::Settings,
    /// How long a submitted payment may wait for the other bank's settlement before
    /// reconciliation reports it stuck (a lost callback).
    pub settle_within: Duration,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            ledger_url: "http://127.0.0.1:4003".into(),
            ledger_service_token: None,
            gateway_url: "http://127.0.0.1:4091".into(),
            callback_url: "http://127.0.0.1:4006/webhooks/gateway".into(),
            webhook_secret: None,
            gateway_timeout: Duration::from_secs(10),
            worker: WorkerSettings {
                poll: Duration::from_millis(500),
                lease: Duration::from_secs(30),
                max_attempts: 8,
                retry_base: Duration::from_secs(1),
                retry_max: Duration::from_secs(300),
                debit_recovery_after: Duration::from_secs(30),
            },
            run_worker: true,
            reconciliation: reconcile::Settings::default(),
            settle_within: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

impl PaymentsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new(NAME);
        let d = Self::default();
        let config = Self {
            ledger_url: env.get_or("LEDGER_URL", d.ledger_url)?,
            ledger_service_token: env.raw("LEDGER_SERVICE_TOKEN").filter(|t| !t.is_empty()),
            gateway_url: env.get_or("GATEWAY_URL", d.gateway_url)?,
            callback_url: env.get_or("CALLBACK_URL", d.callback_url)?,
            webhook_secret: env.raw("GATEWAY_WEBHOOK_SECRET").filter(|t| !t.is_empty()),
            gateway_timeout: env.secs_or("GATEWAY_TIMEOUT_SECS", d.gateway_timeout.as_secs())?,
            worker: WorkerSettings {
                poll: Duration::from_millis(
                    env.get_or("WORKER_POLL_MS", d.worker.poll.as_millis() as u64)?,
                ),
                lease: d.worker.lease,
                max_attempts: env.get_or("GATEWAY_MAX_ATTEMPTS", d.worker.max_attempts)?,
                retry_base: Duration::from_millis(
                    env.get_or("RETRY_BASE_MS", d.worker.retry_base.as_millis() as u64)?,
                ),
                retry_max: env.secs_or("RETRY_MAX_SECS", d.worker.retry_max.as_secs())?,
                debit_recovery_after: env.secs_or(
                    "DEBIT_RECOVERY_AFTER_SECS",
                    d.worker.debit_recovery_after.as_secs(),
                )?,
            },
            run_worker: true,
            reconciliation: reconcile::Settings::from_env(&env)?,
            settle_within: env.secs_or(
                "RECONCILIATION_SETTLE_WITHIN_SECS",
                d.settle_within.as_secs(),
            )?,
        };
        if config.worker.max_attempts < 1 {
            return Err(ConfigError {
                name: env.var_name("GATEWAY_MAX_ATTEMPTS"),
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
        bank_migrations::payments::Migrator::up(db, None).await?;
        Ok(())
    })
    .await
}

/// The service and its worker (returned so tests can drive it).
pub struct Built {
    pub subgraph: Subgraph<Query, Mutation, EmptySubscription>,
    pub worker: Worker,
}

/// Connects, migrates, starts the relay (and the worker, if configured) and returns the
/// ready service.
pub async fn build(
    config: ServiceConfig,
    payments: PaymentsConfig,
    verifier: TokenVerifier,
) -> anyhow::Result<Subgraph<Query, Mutation, EmptySubscription>> {
    Ok(build_with_worker(config, payments, verifier)
        .await?
        .subgraph)
}

pub async fn build_with_worker(
    config: ServiceConfig,
    payments: PaymentsConfig,
    verifier: TokenVerifier,
) -> anyhow::Result<Built> {
    let db = db::connect(&config.database).await?;
    migrate(&db).await?;
    Relay::spawn(db.clone(), &config.kafka, store::SCHEMA)?;
    if payments.webhook_secret.is_none() {
        tracing::warn!(
            "PAYMENTS_GATEWAY_WEBHOOK_SECRET is not set: gateway callbacks will be refused"
        );
    }
    let ledger = LedgerClient::new(&payments.ledger_url, payments.ledger_service_token.clone());
    let wake = Arc::new(Notify::new());
    let worker = Worker {
        db: db.clone(),
        ledger: ledger.clone(),
        gateway: GatewayClient::new(
            &payments.gateway_url,
            &payments.callback_url,
            payments.gateway_timeout,
        ),
        settings: payments.worker.clone(),
        wake: wake.clone(),
    };
    if payments.run_worker {
        tokio::spawn(worker.clone().run());
    }
    let read_db = db.clone();
    let settle_within = payments.settle_within;
    let reconciler = Reconciler::new(
        NAME,
        &payments.ledger_url,
        payments.ledger_service_token.clone(),
        (&["payment:", "direct-debit:"], &["clearing", "suspense"]),
        &payments.reconciliation,
        move || {
            let db = read_db.clone();
            async move { Ok(store::reconciliation_records(&db, settle_within).await?) }
        },
    );
    if !payments.reconciliation.interval.is_zero() && payments.ledger_service_token.is_some() {
        reconcile::spawn_job(reconciler.clone(), payments.reconciliation.interval);
    }
    let schema: PaymentsSchema = schema_builder(&config)
        .data(PaymentsContext {
            db: db.clone(),
            ledger,
            reconciler,
            wake: wake.clone(),
        })
        .finish();
    let loader_db = db.clone();
    let request_data: RequestData = Arc::new(move |data| {
        data.insert(DataLoader::new(
            PaymentLoader {
                db: loader_db.clone(),
            },
            tokio::spawn,
        ));
    });
    let extra_routes = Router::new()
        .route("/webhooks/gateway", post(gateway_callback))
        .with_state(CallbackState {
            db: db.clone(),
            secret: payments.webhook_secret.clone(),
            wake,
            ledger: worker.ledger.clone(),
        });
    Ok(Built {
        subgraph: Subgraph {
            config,
            schema,
            db,
            verifier,
            request_data,
            extra_routes,
        },
        worker,
    })
}

#[derive(Clone)]
struct CallbackState {
    db: DatabaseConnection,
    secret: Option<String>,
    wake: Arc<Notify>,
    ledger: LedgerClient,
}

/// A gateway callback: the payment settled or was rejected.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    pub event_id: String,
    pub payment_id: Uuid,
    /// `SETTLED` or `REJECTED`.
    pub status: String,
    pub reason: Option<String>,
}

pub const SIGNATURE_HEADER: &str = "x-gateway-signature";

/// Gateway callbacks that contradicted a payment's final state.
static CALLBACK_CONFLICTS: std::sync::LazyLock<prometheus::IntCounter> = std::sync::LazyLock::new(
    || {
        bank_common::metrics::service_metric(
            prometheus::IntCounter::new(
                "payments_gateway_conflicts_total",
                "Gateway callbacks that contradicted a payment's final state (settled after the money went back, rejected after completion)",
            )
            .expect("valid metric"),
        )
    },
);

/// Whether a callback's outcome contradicts a payment's state: the gateway paid a payment
/// whose money the bank returned (or is returning, or never debited), or rejected one the
/// bank recorded as paid.
pub fn contradicts(callback: &str, status: &str) -> bool {
    match callback {
        "SETTLED" => matches!(status, "RETURNING" | "RETURNED" | "FAILED"),
        "REJECTED" => status == "COMPLETED",
        _ => false,
    }
}

/// The message type of a creditor's collection; callbacks about payments carry no type.
pub const COLLECTION_REQUESTED: &str = "collection.requested";

/// `POST /webhooks/gateway`: applies a signed callback once, or answers a creditor's
/// collection (`"type": "collection.requested"`, see `collections`). Unsigned or wrongly signed
/// messages are refused (401) and change nothing; a repeat of an applied one is answered 200.
async fn gateway_callback(
    State(state): State<CallbackState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = state.secret.as_deref() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "callbacks are not configured",
        )
            .into_response();
    };
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !verify(secret.as_bytes(), &body, signature) {
        tracing::warn!("a gateway callback with a bad signature was refused");
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let kind = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| {
            value
                .get("type")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        });
    if kind.as_deref() == Some(COLLECTION_REQUESTED) {
        return collection(&state, &body).await;
    }
    let callback: Callback = match serde_json::from_slice(&body) {
        Ok(callback) => callback,
        Err(err) => {
            return (StatusCode::BAD_REQUEST, format!("bad callback: {err}")).into_response()
        }
    };
    let outcome = match callback.status.as_str() {
        "SETTLED" => store::settled(&state.db, callback.payment_id).await,
        "REJECTED" => {
            let reason = callback
                .reason
                .clone()
                .unwrap_or_else(|| "rejected by the other bank".into());
            let outcome = store::rejected(&state.db, callback.payment_id, &reason).await;
            state.wake.notify_one();
            outcome
        }
        other => {
            return (StatusCode::BAD_REQUEST, format!("unknown status {other:?}")).into_response()
        }
    };
    match outcome {
        Ok((row, moved)) => {
            let first = match store::first_callback(
                &state.db,
                &callback.event_id,
                callback.payment_id,
                &callback.status,
            )
            .await
            {
                Ok(first) => first,
                Err(err) => {
                    tracing::warn!(error = %err, "recording a gateway callback failed");
                    true
                }
            };
            let conflict = !moved && contradicts(&callback.status, &row.status);
            if conflict {
                // The gateway says the opposite of what the bank did: paid out while the bank
                // returned the money, or rejected while the bank took it as paid. Money is
                // wrong somewhere until staff look; never a silent 200.
                if first {
                    CALLBACK_CONFLICTS.inc();
                }
                tracing::error!(payment_id = %row.id, status = %row.status, callback = %callback.status, event_id = %callback.event_id, "a gateway callback contradicts the payment's final state; staff must reconcile it");
            } else if !moved {
                tracing::info!(payment_id = %row.id, status = %row.status, callback = %callback.status, "callback changed nothing (already applied, or too late)");
            }
            Json(serde_json::json!({ "status": row.status, "conflict": conflict })).into_response()
        }
        Err(ApiError::NotFound(_)) => (StatusCode::NOT_FOUND, "unknown payment").into_response(),
        Err(err) => {
            if let ApiError::Internal(cause) = &err {
                tracing::error!(error = ?cause, "applying a gateway callback failed");
            }
            (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response()
        }
    }
}

/// A creditor's collection: answered at once with `COLLECTED` or `REFUSED` (200); 503 if the
/// ledger's answer is unknown, and the gateway asks again with the same collection id.
async fn collection(state: &CallbackState, body: &[u8]) -> Response {
    let request: crate::collections::CollectionRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(err) => {
            return (StatusCode::BAD_REQUEST, format!("bad collection: {err}")).into_response()
        }
    };
    match crate::collections::collect(&state.db, &state.ledger, &request).await {
        Err(crate::collections::BadRequest(message)) => (
            StatusCode::BAD_REQUEST,
            format!("bad collection: {message}"),
        )
            .into_response(),
        Ok(Ok(Some(answer))) => Json(answer).into_response(),
        Ok(Ok(None)) => (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response(),
        Ok(Err(err)) => {
            if let ApiError::Internal(cause) = &err {
                tracing::error!(error = ?cause, "a collection failed");
            }
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
