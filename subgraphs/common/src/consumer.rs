//! Consuming domain events: one message at a time per partition, the effect stored before the
//! offset is committed, so a crash means redelivery, never loss. Handlers make redelivery
//! harmless by recording each event id in the same database transaction as the effect.
//!
//! A message that can never be applied (not JSON, not an envelope, a handler's permanent
//! refusal) goes to the dead-letter topic with the reason, and consumption continues. Transient
//! failures (the database is down) are retried with backoff, without end: skipping an event
//! would be worse than waiting.
//!
//! Offsets are committed in bulk, at most every [`COMMIT_INTERVAL`] (and when the consumer goes
//! quiet), not once per message: a commit is a round trip to the group coordinator, and one per
//! event piled up thousands of requests against a slow broker until the group's session timed
//! out. A crash loses at most that interval of commits, which only means redelivery.

use std::{
    collections::HashMap,
    future::Future,
    time::{Duration, Instant},
};

use rdkafka::{
    consumer::{CommitMode, Consumer as _, StreamConsumer},
    message::{BorrowedMessage, Header, Headers, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
    Message, Offset, TopicPartitionList,
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

/// The longest applied offsets wait before they are committed.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(250);

/// Offsets applied but not yet committed: the next offset to read, per topic and partition.
#[derive(Default)]
struct Uncommitted(HashMap<(String, i32), i64>);

impl Uncommitted {
    fn applied(&mut self, message: &BorrowedMessage<'_>) {
        let next = message.offset() + 1;
        let entry = self
            .0
            .entry((message.topic().to_string(), message.partition()))
            .or_insert(next);
        *entry = (*entry).max(next);
    }

    /// Commits everything applied so far in one request.
    fn commit(&mut self, consumer: &StreamConsumer) {
        if self.0.is_empty() {
            return;
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in self.0.drain() {
            if let Err(err) = list.add_partition_offset(&topic, partition, Offset::Offset(offset)) {
                tracing::warn!(error = %err, topic, partition, "offset not committed");
            }
        }
        if let Err(err) = consumer.commit(&list, CommitMode::Async) {
            // The effects are stored; a lost commit only means a harmless redelivery.
            tracing::warn!(error = %err, "offset commit failed");
        }
    }
}

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
    let mut uncommitted = Uncommitted::default();
    let mut last_commit = Instant::now();
    loop {
        // With offsets waiting, a quiet spell commits them.
        let wait = if uncommitted.0.is_empty() {
            Duration::MAX
        } else {
            COMMIT_INTERVAL
        };
        let first = tokio::select! {
            message = tokio::time::timeout(wait, consumer.recv()) => message,
            _ = &mut shutdown => {
                uncommitted.commit(&consumer);
                return Ok(());
            }
        };
        let Ok(first) = first else {
            uncommitted.commit(&consumer);
            last_commit = Instant::now();
            continue;
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
            uncommitted.applied(message);
        }
        if last_commit.elapsed() >= COMMIT_INTERVAL {
            uncommitted.commit(&consumer);
            last_commit = Instant::now();
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
