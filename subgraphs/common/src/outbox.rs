//! The transactional outbox: an event is written in the same database transaction as the change
//! it describes, and a relay publishes it to Kafka afterwards. Nothing is published that was not
//! committed, and nothing committed is lost: a crash between publishing and marking published
//! only means the event is published again, and consumers apply each event id once.
//!
//! The relay wakes on `NOTIFY` (sent in the writing transaction, so delivered at commit) and
//! polls as a fallback. One pass answers every notification that has arrived by the time it
//! starts: under load many commits notify while a pass is publishing, and a pass for each of
//! them would mostly find nothing left (`outbox_relay_passes_total{found="nothing"}`). Relays
//! of several replicas serialise on the rows they lock, so a service's events reach Kafka in
//! commit order per aggregate.

use std::{sync::LazyLock, time::Duration};

use futures::FutureExt;
use prometheus::IntCounterVec;

use rdkafka::{
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement, TransactionTrait,
};

use crate::events::OutgoingEvent;

/// The channel a service's relay listens on.
pub fn channel(schema: &str) -> String {
    format!("outbox_{schema}")
}

/// Writes `event` into the outbox inside the caller's transaction and wakes the relay at commit.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    schema: &str,
    event: &OutgoingEvent,
) -> Result<(), DbErr> {
    txn.execute(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "INSERT INTO outbox (event_id, topic, event_key, event_type, payload) VALUES ($1, $2, $3, $4, $5)",
        [
            event.id.into(),
            event.topic.clone().into(),
            event.key.clone().into(),
            event.kind.clone().into(),
            event.payload.clone().into(),
        ],
    ))
    .await?;
    txn.execute_unprepared(&format!("NOTIFY {}", channel(schema)))
        .await?;
    Ok(())
}

/// Publishes a service's outbox to Kafka.
pub struct Relay {
    pub db: DatabaseConnection,
    pub producer: FutureProducer,
    pub schema: String,
    /// Events per database transaction.
    pub batch_size: u64,
    /// How often to look even without a notification.
    pub poll_interval: Duration,
}

/// Longest wait between attempts while Kafka or the database is unavailable.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

impl Relay {
    pub fn new(db: DatabaseConnection, producer: FutureProducer, schema: &str) -> Self {
        Self {
            db,
            producer,
            schema: schema.to_string(),
            batch_size: 200,
            poll_interval: Duration::from_secs(1),
        }
    }

    /// Starts a relay for `schema`'s outbox that runs for the life of the process. Events wait
    /// in the outbox while Kafka is away, so nothing is lost when the process stops abruptly.
    pub fn spawn(
        db: DatabaseConnection,
        kafka: &crate::kafka::KafkaConfig,
        schema: &str,
    ) -> Result<(), rdkafka::error::KafkaError> {
        let relay = Self::new(db, kafka.producer()?, schema);
        tokio::spawn(relay.run(std::future::pending()));
        Ok(())
    }

    /// Runs until `shutdown` completes.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut listener = self.listen().await;
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.drain().await {
                Ok(published) => {
                    if published > 0 {
                        tracing::debug!(published, "outbox relayed");
                    }
                    backoff = Duration::from_millis(100);
                }
                Err(err) => {
                    tracing::warn!(error = %err, ?backoff, "outbox relay failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = &mut shutdown => return,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
            tokio::select! {
                notified = recv(&mut listener) => {
                    if !notified {
                        listener = self.listen().await;
                    } else if let Some(listener) = listener.as_mut() {
                        take_waiting(listener);
                    }
                }
                _ = tokio::time::sleep(self.poll_interval) => {}
                _ = &mut shutdown => return,
            }
        }
    }

    async fn listen(&self) -> Option<sea_orm::sqlx::postgres::PgListener> {
        let pool = self.db.get_postgres_connection_pool();
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool)
            .await
            .ok()?;
        listener.listen(&channel(&self.schema)).await.ok()?;
        Some(listener)
    }

    /// Publishes everything pending; returns how many events went out.
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let published = self.publish_batch().await?;
            total += published;
            if (published as u64) < self.batch_size {
                return Ok(total);
            }
        }
    }

    async fn publish_batch(&self) -> anyhow::Result<usize> {
        let published = self.publish().await?;
        PASSES
            .with_label_values(&[if published == 0 { "nothing" } else { "events" }])
            .inc();
        Ok(published)
    }

    async fn publish(&self) -> anyhow::Result<usize> {
        let txn = self.db.begin().await?;
        let rows = txn
            .query_all(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT id, event_id, topic, event_key, event_type, payload::text AS payload \
                 FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE",
                [(self.batch_size as i64).into()],
            ))
            .await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(0);
        }
        // The whole batch is handed to the producer in commit order first, then awaited: the
        // producer sends it in a few requests instead of one round trip per event, and the
        // order within each partition is the order of `enqueue`.
        let mut ids = Vec::with_capacity(rows.len());
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("", "id")?;
            let event_id: uuid::Uuid = row.try_get("", "event_id")?;
            let topic: String = row.try_get("", "topic")?;
            let key: String = row.try_get("", "event_key")?;
            let kind: String = row.try_get("", "event_type")?;
            let payload: String = row.try_get("", "payload")?;
            let event_id = event_id.to_string();
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "ce_id",
                    value: Some(event_id.as_str()),
                })
                .insert(Header {
                    key: "ce_type",
                    value: Some(kind.as_str()),
                });
            let mut record = FutureRecord::to(&topic)
                .key(&key)
                .payload(&payload)
                .headers(headers);
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        back,
                    )) => {
                        // The local queue is full: let what is in flight drain first.
                        for delivery in pending.drain(..) {
                            delivered(delivery.await)?;
                        }
                        record = back;
                    }
                    Err((err, _)) => anyhow::bail!("publishing to {topic}: {err}"),
                }
            }
            ids.push(id);
        }
        for delivery in pending {
            delivered(delivery.await)?;
        }
        // Planned afresh each time, with the ids as a literal (integers only), not as a
        // prepared statement: PostgreSQL caches a generic plan for a prepared statement after a
        // few runs, and one made while the outbox was young (before autovacuum first analyzed
        // it) is a sequential scan, which would then read the whole published history on every
        // batch.
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        txn.execute_unprepared(&format!(
            "UPDATE outbox SET published_at = now() WHERE id = ANY('{{{}}}'::int8[])",
            list.join(",")
        ))
        .await?;
        txn.commit().await?;
        Ok(rows.len())
    }
}

/// Whether one message reached the broker (acknowledged by all in-sync replicas).
fn delivered(
    outcome: Result<
        rdkafka::producer::future_producer::OwnedDeliveryResult,
        futures::channel::oneshot::Canceled,
    >,
) -> anyhow::Result<()> {
    match outcome {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((err, message))) => {
            anyhow::bail!("publishing to {}: {err}", rdkafka::Message::topic(&message))
        }
        Err(_) => anyhow::bail!("the producer went away before delivery"),
    }
}

/// Takes the notifications that have already arrived, without waiting.
fn take_waiting(listener: &mut sea_orm::sqlx::postgres::PgListener) {
    // `recv` is cancel-safe: a notification half read stays for the next call.
    while let Some(Ok(_)) = listener.recv().now_or_never() {}
}

/// The relay's passes over the outbox, by what they found.
static PASSES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    crate::metrics::service_metric(
        IntCounterVec::new(
            prometheus::Opts::new(
                "outbox_relay_passes_total",
                "Passes of the outbox relay, by what they found (events or nothing)",
            ),
            &["found"],
        )
        .expect("valid metric"),
    )
});

/// Passes of the relays in this process that found `found` (`events` or `nothing`).
pub fn passes(found: &str) -> u64 {
    PASSES.with_label_values(&[found]).get()
}

async fn recv(listener: &mut Option<sea_orm::sqlx::postgres::PgListener>) -> bool {
    match listener {
        Some(listener) => listener.recv().await.is_ok(),
        None => std::future::pending().await,
    }
}
