//! Consuming domain events: one message at a time per partition, the effect stored before the
//! offset is committed, so a crash means redelivery, never loss. Handlers make redelivery
//! harmless by recording each event id in the same database transaction as the effect.
//!
//! A message that can never be applied (not JSON, not an envelope, a handler's permanent
//! refusal) goes to the dead-letter topic with the reason, and consumption continues. Transient
//! failures (the database is down) are retried with backoff, without end: skipping an event
//! would be worse than waiting.

use std::{future::Future, time::Duration};

use rdkafka::{
    consumer::{CommitMode, Consumer as _},
    message::{BorrowedMessage, Header, Headers, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
    Message,
};
use serde_json::Value;

use crate::{events::Envelope, kafka::KafkaConfig};

pub const DEAD_LETTER_TOPIC: &str = "bank.dead-letter";

/// Why a handler did not apply an event.
#[derive(Debug)]
pub enum HandlerError {
    /// Will never succeed (malformed data); the message goes to the dead-letter topic.
    Permanent(String),
    /// May succeed later (database unavailable); retried with backoff.
    Transient(anyhow::Error),
}

impl From<sea_orm::DbErr> for HandlerError {
    fn from(err: sea_orm::DbErr) -> Self {
        HandlerError::Transient(err.into())
    }
}

/// Longest pause between retries of a transient failure.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Consumes `topics` in consumer group `group` until `shutdown` completes, handing each
/// event to `handle`, one at a time.
pub async fn run<F, Fut>(
    kafka: KafkaConfig,
    group: String,
    topics: Vec<String>,
    handle: F,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    F: Fn(Envelope<Value>) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    let handle = &handle;
    let each = move |events: Vec<Envelope<Value>>| async move {
        let mut outcomes = Vec::with_capacity(events.len());
        for event in events {
            outcomes.push(handle(event).await);
        }
        outcomes
    };
    run_batched(kafka, group, topics, each, shutdown).await
}

/// Messages already fetched are handed to a batch handler together, up to this many.
pub const MAX_BATCH: usize = 200;

/// Like [`run`], but hands over every message already fetched (up to [`MAX_BATCH`]) at once, so
/// a handler can apply them in one database transaction. `handle` answers one outcome per
/// event, in order; a transient failure of any retries the whole batch (handlers are
/// idempotent), permanent ones go to the dead-letter topic. Offsets are committed after.
pub async fn run_batched<F, Fut>(
    kafka: KafkaConfig,
    group: String,
    topics: Vec<String>,
    handle: F,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    F: Fn(Vec<Envelope<Value>>) -> Fut,
    Fut: Future<Output = Vec<Result<(), HandlerError>>>,
{
    let consumer = kafka.consumer(&group)?;
    let dead_letters = kafka.producer()?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    tokio::pin!(shutdown);
    loop {
        let first = tokio::select! {
            message = consumer.recv() => message,
            _ = &mut shutdown => return Ok(()),
        };
        let first = match first {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(error = %err, "consumer error; continuing");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        // Whatever else is already here joins the batch; nothing waits for more.
        let mut messages = vec![first];
        while messages.len() < MAX_BATCH {
            match tokio::time::timeout(Duration::ZERO, consumer.recv()).await {
                Ok(Ok(message)) => messages.push(message),
                _ => break,
            }
        }
        let mut events = Vec::with_capacity(messages.len());
        let mut origins = Vec::with_capacity(messages.len());
        for (index, message) in messages.iter().enumerate() {
            let envelope = message
                .payload()
                .ok_or_else(|| "empty message".to_string())
                .and_then(|payload| {
                    serde_json::from_slice::<Envelope<Value>>(payload)
                        .map_err(|err| format!("not an event envelope: {err}"))
                });
            match envelope {
                Ok(envelope) => {
                    events.push(envelope);
                    origins.push(index);
                }
                Err(reason) => dead_letter(&dead_letters, &group, message, &reason).await?,
            }
        }
        let mut backoff = Duration::from_millis(100);
        while !events.is_empty() {
            let outcomes = handle(events.clone()).await;
            let transient = outcomes.iter().find_map(|outcome| match outcome {
                Err(HandlerError::Transient(err)) => Some(err.to_string()),
                _ => None,
            });
            if let Some(error) = transient {
                tracing::warn!(%error, events = events.len(), ?backoff, "events not applied; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = &mut shutdown => return Ok(()),
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            for (outcome, index) in outcomes.iter().zip(&origins) {
                if let Err(HandlerError::Permanent(reason)) = outcome {
                    dead_letter(&dead_letters, &group, &messages[*index], reason).await?;
                }
            }
            break;
        }
        for message in &messages {
            if let Err(err) = consumer.commit_message(message, CommitMode::Async) {
                // The effect is stored; a lost commit only means a harmless redelivery.
                tracing::warn!(error = %err, "offset commit failed");
            }
        }
    }
}

/// Publishes `message` unchanged to the dead-letter topic, with where it came from and why.
async fn dead_letter(
    producer: &FutureProducer,
    group: &str,
    message: &BorrowedMessage<'_>,
    reason: &str,
) -> anyhow::Result<()> {
    tracing::error!(
        topic = message.topic(),
        partition = message.partition(),
        offset = message.offset(),
        reason,
        "event sent to the dead-letter topic"
    );
    let partition = message.partition().to_string();
    let offset = message.offset().to_string();
    let mut headers = OwnedHeaders::new();
    if let Some(original) = message.headers() {
        for header in original.iter() {
            headers = headers.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    let headers = headers
        .insert(Header {
            key: "dlt_reason",
            value: Some(reason),
        })
        .insert(Header {
            key: "dlt_topic",
            value: Some(message.topic()),
        })
        .insert(Header {
            key: "dlt_partition",
            value: Some(partition.as_str()),
        })
        .insert(Header {
            key: "dlt_offset",
            value: Some(offset.as_str()),
        })
        .insert(Header {
            key: "dlt_group",
            value: Some(group),
        });
    let mut record: FutureRecord<'_, [u8], [u8]> =
        FutureRecord::to(DEAD_LETTER_TOPIC).headers(headers);
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    if let Some(payload) = message.payload() {
        record = record.payload(payload);
    }
    producer
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(err, _)| anyhow::anyhow!("publishing to {DEAD_LETTER_TOPIC}: {err}"))?;
    Ok(())
}
