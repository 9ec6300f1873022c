//! Wiring: configuration, database, schema, and the workers (the event consumer, the live
//! feeds, e-mail and SMS delivery, reminders, the outbox relay).

use std::time::Duration;

use async_graphql::Schema;
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
    server::{configure_schema, federation_sdl, RequestData, Subgraph},
};

use crate::{
    delivery::{self, CircuitBreaker, HttpSmsProvider, RetryPolicy, SmtpProvider},
    events::{self, Posted, UserRegistered},
    live::{self, Live},
    schema::{Mutation, NotificationsContext, NotificationsSchema, Query, Subscription},
    store,
};

pub const NAME: &str = "notifications";
pub const DEFAULT_PORT: u16 = 4004;

/// The service's own settings (`NOTIFICATIONS_*`, docs/configuration.md).
#[derive(Debug, Clone)]
pub struct NotificationsConfig {
    pub smtp_url: String,
    pub mail_from: String,
    pub sms_url: String,
    pub sms_token: Option<String>,
    /// Per call to a provider.
    pub delivery_timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    /// How often delivery workers look for due work when idle.
    pub delivery_poll: Duration,
    pub reminder_interval: Duration,
    pub consumer_group: String,
    /// The topics read (tests give each app topics of its own).
    pub ledger_topic: String,
    pub users_topic: String,
    pub loans_topic: String,
    pub payments_topic: String,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            smtp_url: "smtp://127.0.0.1:2525".into(),
            mail_from: "Bank <no-reply@bank.local>".into(),
            sms_url: "http://127.0.0.1:4090/sms".into(),
            sms_token: None,
            delivery_timeout: Duration::from_secs(10),
            retry: RetryPolicy {
                max_attempts: 5,
                base_delay: Duration::from_secs(2),
                max_delay: Duration::from_secs(300),
            },
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            delivery_poll: Duration::from_millis(500),
            reminder_interval: Duration::from_secs(1),
            consumer_group: "notifications".into(),
            ledger_topic: events::LEDGER_TOPIC.into(),
            users_topic: events::USERS_TOPIC.into(),
            loans_topic: events::LOANS_TOPIC.into(),
            payments_topic: events::PAYMENTS_TOPIC.into(),
        }
    }
}

impl NotificationsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new(NAME);
        let d = Self::default();
        let config = Self {
            smtp_url: env.get_or("SMTP_URL", d.smtp_url)?,
            mail_from: env.get_or("MAIL_FROM", d.mail_from)?,
            sms_url: env.get_or("SMS_URL", d.sms_url)?,
            sms_token: env.raw("SMS_TOKEN"),
            delivery_timeout: env.secs_or("DELIVERY_TIMEOUT_SECS", d.delivery_timeout.as_secs())?,
            retry: RetryPolicy {
                max_attempts: env.get_or("DELIVERY_MAX_ATTEMPTS", d.retry.max_attempts)?,
                base_delay: Duration::from_millis(
                    env.get_or("RETRY_BASE_MS", d.retry.base_delay.as_millis() as u64)?,
                ),
                max_delay: env.secs_or("RETRY_MAX_SECS", d.retry.max_delay.as_secs())?,
            },
            breaker_threshold: env.get_or("BREAKER_THRESHOLD", d.breaker_threshold)?,
            breaker_cooldown: env.secs_or("BREAKER_COOLDOWN_SECS", d.breaker_cooldown.as_secs())?,
            delivery_poll: d.delivery_poll,
            reminder_interval: d.reminder_interval,
            consumer_group: env.get_or("CONSUMER_GROUP", d.consumer_group)?,
            ledger_topic: d.ledger_topic,
            users_topic: d.users_topic,
            loans_topic: d.loans_topic,
            payments_topic: d.payments_topic,
        };
        if config.retry.max_attempts < 1 {
            return Err(ConfigError {
                name: env.var_name("DELIVERY_MAX_ATTEMPTS"),
                message: "must be at least 1".into(),
            });
        }
        if config
            .mail_from
            .parse::<lettre::message::Mailbox>()
            .is_err()
        {
            return Err(ConfigError {
                name: env.var_name("MAIL_FROM"),
                message: format!(
                    "{:?} is not a mailbox like \"Bank <no-reply@bank.example>\"",
                    config.mail_from
                ),
            });
        }
        Ok(config)
    }
}

pub fn schema_builder(
    config: &ServiceConfig,
) -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    configure_schema(Schema::build(Query, Mutation, Subscription), config)
}

pub fn sdl() -> String {
    let config = ServiceConfig::from_env(NAME, DEFAULT_PORT).expect("defaults are valid");
    federation_sdl(&schema_builder(&config).finish())
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    bank_common::db::with_migration_lock(db, NAME, || async {
        bank_migrations::notifications::Migrator::up(db, None).await?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// Connects, migrates, starts the workers and returns the ready service.
pub async fn build(
    config: ServiceConfig,
    settings: NotificationsConfig,
    verifier: TokenVerifier,
) -> anyhow::Result<Subgraph<Query, Mutation, Subscription>> {
    let db = db::connect(&config.database).await?;
    migrate(&db).await?;
    db::set_citus(db::is_citus(&db).await?);
    let live = Live::new();

    Relay::spawn(db.clone(), &config.kafka, store::SCHEMA)?;
    tokio::spawn(live::run_alert_feed(
        config.kafka.clone(),
        settings.ledger_topic.clone(),
        live.clone(),
    ));
    tokio::spawn(live::run_notification_feed(db.clone(), live.clone()));
    spawn_consumer(&config, &settings, db.clone());
    tokio::spawn(delivery::run_worker(
        db.clone(),
        SmtpProvider::new(
            &settings.smtp_url,
            &settings.mail_from,
            settings.delivery_timeout,
        )?,
        CircuitBreaker::new(settings.breaker_threshold, settings.breaker_cooldown),
        settings.retry.clone(),
        settings.delivery_poll,
    ));
    tokio::spawn(delivery::run_worker(
        db.clone(),
        HttpSmsProvider::new(
            &settings.sms_url,
            settings.sms_token.clone(),
            settings.delivery_timeout,
        ),
        CircuitBreaker::new(settings.breaker_threshold, settings.breaker_cooldown),
        settings.retry.clone(),
        settings.delivery_poll,
    ));
    tokio::spawn(send_reminders(db.clone(), settings.reminder_interval));

    let schema: NotificationsSchema = schema_builder(&config)
        .data(NotificationsContext {
            db: db.clone(),
            live,
        })
        .finish();
    let request_data: RequestData = std::sync::Arc::new(|_| {});
    Ok(Subgraph {
        config,
        schema,
        db,
        verifier,
        request_data,
        extra_routes: Router::new(),
    })
}

fn spawn_consumer(config: &ServiceConfig, settings: &NotificationsConfig, db: DatabaseConnection) {
    let kafka = config.kafka.clone();
    let group = settings.consumer_group.clone();
    let topics = vec![
        settings.ledger_topic.clone(),
        settings.users_topic.clone(),
        settings.loans_topic.clone(),
        settings.payments_topic.clone(),
    ];
    let handle = move |events: Vec<Envelope<serde_json::Value>>| {
        let db = db.clone();
        async move { apply_events(&db, events).await }
    };
    consumer::spawn_batched(kafka, group, topics, handle);
}

/// Applies a batch of consumed events in one database transaction (each once: its id is
/// recorded with its effect). One outcome per event, in order.
pub async fn apply_events(
    db: &DatabaseConnection,
    events: Vec<Envelope<serde_json::Value>>,
) -> Vec<Result<(), HandlerError>> {
    let mut outcomes = Vec::with_capacity(events.len());
    let mut batch = Vec::with_capacity(events.len());
    for Envelope { id, kind, data, .. } in events {
        let malformed = |err: serde_json::Error| {
            HandlerError::Permanent(format!("unexpected {kind} data: {err}"))
        };
        let parsed = match kind.as_str() {
            events::POSTED => serde_json::from_value::<Posted>(data)
                .map(|posted| Some(store::Applicable::Posting(id, posted)))
                .map_err(malformed),
            events::USER_REGISTERED => serde_json::from_value::<UserRegistered>(data)
                .map(|user| Some(store::Applicable::Registration(id, user)))
                .map_err(malformed),
            events::USER_DELETED => serde_json::from_value::<events::UserDeleted>(data)
                .map(|user| Some(store::Applicable::Deletion(id, user.user_id)))
                .map_err(malformed),
            events::VERIFICATION_REQUESTED
            | events::REGISTRATION_ATTEMPTED
            | events::PASSWORD_RESET_REQUESTED => {
                serde_json::from_value::<events::AccountEmail>(data)
                    .map(|mail| Some(store::Applicable::AccountEmail(id, mail)))
                    .map_err(malformed)
            }
            kind if kind.starts_with(events::LOAN_PREFIX) => {
                serde_json::from_value::<events::LoanEvent>(data)
                    .map(|loan| Some(store::Applicable::Loan(id, kind.to_string(), loan)))
                    .map_err(malformed)
            }
            // A refused collection moved no money, so no posting tells the customer of it.
            events::DIRECT_DEBIT_REFUSED => {
                serde_json::from_value::<events::DirectDebitEvent>(data)
                    .map(|debit| {
                        Some(store::Applicable::Payment(
                            id,
                            events::DIRECT_DEBIT_REFUSED.to_string(),
                            events::PaymentEvent {
                                payment_id: debit.direct_debit_id,
                                owner_id: debit.owner_id,
                                amount: debit.amount,
                                currency: debit.currency,
                                creditor_name: debit.creditor_name,
                                failure_reason: debit.failure_reason,
                                standing_order_id: None,
                            },
                        ))
                    })
                    .map_err(malformed)
            }
            // Collected and refunded: the ledger's posting brings its alert and notification.
            kind if kind.starts_with(events::DIRECT_DEBIT_PREFIX) => Ok(None),
            kind if kind.starts_with(events::PAYMENT_PREFIX) => {
                serde_json::from_value::<events::PaymentEvent>(data)
                    .map(|payment| Some(store::Applicable::Payment(id, kind.to_string(), payment)))
                    .map_err(malformed)
            }
            // Hold events and future types: nothing to say yet.
            _ => Ok(None),
        };
        match parsed {
            Ok(Some(item)) => {
                batch.push(item);
                outcomes.push(Ok(()));
            }
            Ok(None) => outcomes.push(Ok(())),
            Err(err) => outcomes.push(Err(err)),
        }
    }
    if let Err(err) = store::apply_all(db, &batch).await {
        let message = err.to_string();
        return outcomes
            .into_iter()
            .map(|_| Err(HandlerError::Transient(anyhow::anyhow!("{message}"))))
            .collect();
    }
    outcomes
}

async fn send_reminders(db: DatabaseConnection, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match store::send_due_reminders(&db, 100).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "reminders sent"),
            Err(err) => tracing::warn!(error = %err, "reminders failed; retrying later"),
        }
    }
}
