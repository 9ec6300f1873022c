//! Wiring: configuration, database, schema, routes and the loans service's workers (the outbox
//! relay and the ledger-events consumer that completes interrupted money movements).

use std::sync::Arc;

use async_graphql::{dataloader::DataLoader, EmptySubscription, Schema};
use axum::Router;
use bank_migrations::MigratorTrait;
use sea_orm::DatabaseConnection;

use bank_common::{
    auth::TokenVerifier,
    config::{ConfigError, Env, ServiceConfig},
    consumer::{self, HandlerError},
    db,
    events::Envelope,
    outbox::Relay,
    reconcile::{self, Reconciler},
    server::{configure_schema, federation_sdl, RequestData, Subgraph},
    ApiError,
};

use crate::{
    events::{self, LedgerPosted, Reference},
    ledger::LedgerClient,
    schema::{LoanLoader, LoansContext, LoansSchema, Mutation, ProductLoader, Query},
    store,
};

pub const NAME: &str = "loans";
pub const DEFAULT_PORT: u16 = 4005;

/// The loans service's own settings (`LOANS_*`, docs/configuration.md).
#[derive(Debug, Clone)]
pub struct LoansConfig {
    /// Where the ledger (the transactions service) listens.
    pub ledger_url: String,
    /// Whether to read the ledger's events (tests may turn it off to see a crash's effect).
    pub consume_ledger_events: bool,
    pub consumer_group: String,
    /// The ledger's topic (tests use topics of their own).
    pub ledger_topic: String,
    /// Sent as `X-Service-Token` when reconciling with the ledger; must equal the ledger's
    /// `TRANSACTIONS_SERVICE_TOKEN`.
    pub ledger_service_token: Option<String>,
    pub reconciliation: reconcile::Settings,
}

impl Default for LoansConfig {
    fn default() -> Self {
        Self {
            ledger_url: "http://127.0.0.1:4003".into(),
            consume_ledger_events: true,
            consumer_group: "loans-ledger".into(),
            ledger_topic: events::LEDGER_TOPIC.into(),
            ledger_service_token: None,
            reconciliation: reconcile::Settings::default(),
        }
    }
}

impl LoansConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new(NAME);
        let defaults = Self::default();
        Ok(Self {
            ledger_url: env.get_or("LEDGER_URL", defaults.ledger_url)?,
            consume_ledger_events: env.get_or("CONSUME_LEDGER_EVENTS", true)?,
            consumer_group: env.get_or("CONSUMER_GROUP", defaults.consumer_group)?,
            ledger_topic: env.get_or("LEDGER_TOPIC", defaults.ledger_topic)?,
            ledger_service_token: env.raw("LEDGER_SERVICE_TOKEN").filter(|t| !t.is_empty()),
            reconciliation: reconcile::Settings::from_env(&env)?,
        })
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
        bank_migrations::loans::Migrator::up(db, None).await?;
        Ok(())
    })
    .await
}

/// Connects, migrates, starts the workers and returns the ready service.
pub async fn build(
    config: ServiceConfig,
    loans: LoansConfig,
    verifier: TokenVerifier,
) -> anyhow::Result<Subgraph<Query, Mutation, EmptySubscription>> {
    let db = db::connect(&config.database).await?;
    migrate(&db).await?;
    Relay::spawn(db.clone(), &config.kafka, store::SCHEMA)?;
    if loans.consume_ledger_events {
        let handler_db = db.clone();
        let kafka = config.kafka.clone();
        let (group, topic) = (loans.consumer_group.clone(), loans.ledger_topic.clone());
        let handle = move |event: Envelope<serde_json::Value>| {
            let db = handler_db.clone();
            async move { apply_ledger_event(&db, event).await }
        };
        consumer::spawn(kafka, group, vec![topic], handle);
    }
    let read_db = db.clone();
    let reconciler = Reconciler::new(
        NAME,
        &loans.ledger_url,
        loans.ledger_service_token.clone(),
        (&["loan:"], &["loan-funding"]),
        &loans.reconciliation,
        move || {
            let db = read_db.clone();
            async move { Ok(store::reconciliation_records(&db).await?) }
        },
    );
    if !loans.reconciliation.interval.is_zero() {
        if loans.ledger_service_token.is_none() {
            tracing::warn!(
                "LOANS_LEDGER_SERVICE_TOKEN is not set: loans cannot be reconciled with the ledger"
            );
        } else {
            reconcile::spawn_job(reconciler.clone(), loans.reconciliation.interval);
        }
    }
    let schema: LoansSchema = schema_builder(&config)
        .data(LoansContext {
            db: db.clone(),
            ledger: LedgerClient::new(&loans.ledger_url, loans.ledger_service_token.clone()),
            reconciler,
        })
        .finish();
    let loader_db = db.clone();
    let request_data: RequestData = Arc::new(move |data| {
        data.insert(DataLoader::new(
            LoanLoader {
                db: loader_db.clone(),
            },
            tokio::spawn,
        ));
        data.insert(DataLoader::new(
            ProductLoader {
                db: loader_db.clone(),
            },
            tokio::spawn,
        ));
    });
    Ok(Subgraph {
        config,
        schema,
        db,
        verifier,
        request_data,
        extra_routes: Router::new(),
    })
}

/// Completes a disbursement or repayment the ledger posted, if this service has not recorded
/// it yet (completion is guarded by status, so a redelivered event changes nothing). Every
/// other ledger event is ignored.
pub async fn apply_ledger_event(
    db: &DatabaseConnection,
    event: Envelope<serde_json::Value>,
) -> Result<(), HandlerError> {
    if event.kind != events::LEDGER_POSTED {
        return Ok(());
    }
    let posted: LedgerPosted = serde_json::from_value(event.data)
        .map_err(|err| HandlerError::Permanent(format!("unexpected posted event data: {err}")))?;
    let Some(reference) = posted.reference.as_deref().and_then(Reference::parse) else {
        return Ok(());
    };
    let outcome = match reference {
        Reference::Disbursement { loan_id } if posted.kind == "LOAN_DISBURSEMENT" => {
            store::complete_disbursement(db, loan_id, posted.transaction_id, event.time)
                .await
                .map(|_| ())
        }
        Reference::Repayment {
            loan_id,
            repayment_id,
        } if posted.kind == "LOAN_REPAYMENT" => {
            store::complete_repayment(db, loan_id, repayment_id, posted.transaction_id)
                .await
                .map(|_| ())
        }
        _ => return Ok(()),
    };
    match outcome {
        Ok(()) => Ok(()),
        // A loan this database does not have (another installation's events on a shared topic).
        Err(ApiError::NotFound(what)) => {
            tracing::warn!(event_id = %event.id, what, "ledger event names an unknown loan");
            Ok(())
        }
        Err(ApiError::Internal(err)) => Err(HandlerError::Transient(err)),
        Err(other) => Err(HandlerError::Permanent(other.message())),
    }
}
