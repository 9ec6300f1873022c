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
//!
//! Operators see each member of a group (see [`GroupHealth`]): its assigned partitions and its
//! lag per partition at `/metrics`, and a member that has had no partition for a while although
//! its topics hold events that nobody consumes is logged as an error, reported by `/readyz` and
//! made to rejoin its group. A consumer that stops with an error is started again.

use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, LazyLock, Mutex,
    },
    time::{Duration, Instant},
};

use prometheus::{IntCounterVec, IntGaugeVec, Opts};
use rdkafka::{
    consumer::{
        BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
    },
    message::{BorrowedMessage, Header, Headers, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
    statistics::Statistics,
    ClientContext, Message, Offset, TopicPartitionList,
};
use serde_json::Value;

use crate::{events::Envelope, kafka::KafkaConfig, metrics::service_metric};

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
    fn commit(&mut self, consumer: &StreamConsumer<Observed>) {
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

/// Consumes `topics` in consumer group `group` until `shutdown` completes, handing over every
/// message already fetched (up to [`MAX_BATCH`]) at once, so
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
    run_batched_with(kafka, group, topics, handle, shutdown, Watch::default()).await
}

/// [`run_batched`] with the watchdog's timing given (tests shorten it).
pub async fn run_batched_with<F, Fut>(
    kafka: KafkaConfig,
    group: String,
    topics: Vec<String>,
    handle: F,
    shutdown: impl Future<Output = ()>,
    watch: Watch,
) -> anyhow::Result<()>
where
    F: Fn(Vec<Envelope<Value>>) -> Fut,
    Fut: Future<Output = Vec<Result<(), HandlerError>>>,
{
    let health = GroupHealth::register(&group);
    let consumer = Arc::new(kafka.consumer_with(
        &group,
        Observed {
            health: health.clone(),
        },
        STATS_INTERVAL_MS,
    )?);
    let dead_letters = kafka.producer()?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    let watchdog = tokio::spawn(watchdog(consumer.clone(), health, topics.clone(), watch));
    let _stop_watchdog = AbortOnDrop(watchdog);
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
            match envelope(message) {
                Ok(envelope) => {
                    events.push(envelope);
                    origins.push(index);
                }
                Err(reason) => dead_letter(&dead_letters, &group, message, &reason).await?,
            }
        }
        let mut backoff = Duration::from_millis(100);
        while !events.is_empty() {
            // The handler owns the events; a retry decodes them again from the messages, which
            // are still held, so the common case (applied at the first try) copies nothing.
            let outcomes = handle(std::mem::take(&mut events)).await;
            let transient = outcomes.iter().find_map(|outcome| match outcome {
                Err(HandlerError::Transient(err)) => Some(err.to_string()),
                _ => None,
            });
            if let Some(error) = transient {
                tracing::warn!(%error, events = origins.len(), ?backoff, "events not applied; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = &mut shutdown => return Ok(()),
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                events = origins
                    .iter()
                    .map(|index| envelope(&messages[*index]))
                    .collect::<Result<_, _>>()
                    .map_err(|reason| {
                        anyhow::anyhow!("an event decoded before no longer decodes: {reason}")
                    })?;
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

/// The event a message carries, or why it is not one.
fn envelope(message: &BorrowedMessage<'_>) -> Result<Envelope<Value>, String> {
    let payload = message
        .payload()
        .ok_or_else(|| "empty message".to_string())?;
    serde_json::from_slice(payload).map_err(|err| format!("not an event envelope: {err}"))
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

/// Starts a consumer that runs for the life of the process, handing each event to `handle`
/// one at a time. If it stops with an error (the broker refused its configuration, the
/// dead-letter topic could not be written), the error is logged, counted in
/// `kafka_consumer_restarts_total` and the consumer starts again after a pause: events wait in
/// the topic, and a consumer that is gone for good would leave them there silently.
pub fn spawn<F, Fut>(kafka: KafkaConfig, group: String, topics: Vec<String>, handle: F)
where
    F: Fn(Envelope<Value>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    spawn_batched(kafka, group, topics, move |events: Vec<Envelope<Value>>| {
        let handle = handle.clone();
        async move {
            let mut outcomes = Vec::with_capacity(events.len());
            for event in events {
                outcomes.push(handle(event).await);
            }
            outcomes
        }
    });
}

/// [`spawn`] for a batch handler (see [`run_batched`]).
pub fn spawn_batched<F, Fut>(kafka: KafkaConfig, group: String, topics: Vec<String>, handle: F)
where
    F: Fn(Vec<Envelope<Value>>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Vec<Result<(), HandlerError>>> + Send,
{
    tokio::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        loop {
            let handle = handle.clone();
            let outcome = run_batched(
                kafka.clone(),
                group.clone(),
                topics.clone(),
                handle,
                std::future::pending(),
            )
            .await;
            restarted(&group, outcome, &mut backoff).await;
        }
    });
}

async fn restarted(group: &str, outcome: anyhow::Result<()>, backoff: &mut Duration) {
    match outcome {
        Err(err) => {
            tracing::error!(group, error = %err, ?backoff, "consumer stopped; starting it again")
        }
        Ok(()) => tracing::warn!(group, "consumer ended; starting it again"),
    }
    METRICS.restarts.with_label_values(&[group]).inc();
    tokio::time::sleep(*backoff).await;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
}

/// How often librdkafka reports statistics (the lag gauges).
const STATS_INTERVAL_MS: u32 = 5_000;

/// The watchdog's timing: how often it looks, and how long a member may have no partition
/// before it checks whether events are waiting.
#[derive(Debug, Clone, Copy)]
pub struct Watch {
    pub check_every: Duration,
    /// Longer than a rebalance takes after a member dies (the session timeout, 6 s).
    pub stall_after: Duration,
}

impl Default for Watch {
    fn default() -> Self {
        Self {
            check_every: Duration::from_secs(10),
            stall_after: Duration::from_secs(30),
        }
    }
}

struct ConsumerMetrics {
    assigned: IntGaugeVec,
    lag: IntGaugeVec,
    stalled: IntGaugeVec,
    rejoins: IntCounterVec,
    restarts: IntCounterVec,
}

static METRICS: LazyLock<ConsumerMetrics> = LazyLock::new(|| {
    ConsumerMetrics {
    assigned: service_metric(
        IntGaugeVec::new(
            Opts::new(
                "kafka_consumer_assigned_partitions",
                "Partitions assigned to this member of the consumer group",
            ),
            &["group"],
        )
        .expect("valid metric"),
    ),
    lag: service_metric(
        IntGaugeVec::new(
            Opts::new(
                "kafka_consumer_lag",
                "Events in the partition after the group's committed offset (librdkafka statistics)",
            ),
            &["group", "topic", "partition"],
        )
        .expect("valid metric"),
    ),
    stalled: service_metric(
        IntGaugeVec::new(
            Opts::new(
                "kafka_consumer_stalled",
                "1 while this member has no partition and its topics hold events nobody consumes",
            ),
            &["group"],
        )
        .expect("valid metric"),
    ),
    rejoins: service_metric(
        IntCounterVec::new(
            Opts::new(
                "kafka_consumer_rejoins_total",
                "Times a stalled member left and rejoined its group",
            ),
            &["group"],
        )
        .expect("valid metric"),
    ),
    restarts: service_metric(
        IntCounterVec::new(
            Opts::new(
                "kafka_consumer_restarts_total",
                "Times a consumer stopped with an error and was started again",
            ),
            &["group"],
        )
        .expect("valid metric"),
    ),
}
});

/// What this process knows of its membership in one consumer group.
pub struct GroupHealth {
    pub group: String,
    assigned: AtomicUsize,
    /// When the member last had no partition (cleared on an assignment).
    unassigned_since: Mutex<Option<Instant>>,
    /// Why the member is stalled, while it is.
    stalled: Mutex<Option<String>>,
}

static GROUPS: LazyLock<Mutex<Vec<Arc<GroupHealth>>>> = LazyLock::new(Default::default);

impl GroupHealth {
    /// The health record of `group` in this process (one per group; a restarted consumer takes
    /// over its record).
    fn register(group: &str) -> Arc<Self> {
        let mut groups = GROUPS.lock().expect("group registry");
        groups.retain(|health| health.group != group);
        let health = Arc::new(Self {
            group: group.to_string(),
            assigned: AtomicUsize::new(0),
            unassigned_since: Mutex::new(Some(Instant::now())),
            stalled: Mutex::new(None),
        });
        groups.push(health.clone());
        METRICS.assigned.with_label_values(&[group]).set(0);
        METRICS.stalled.with_label_values(&[group]).set(0);
        health
    }

    pub fn assigned_partitions(&self) -> usize {
        self.assigned.load(Ordering::Relaxed)
    }

    /// Why the member is stalled, if it is.
    pub fn stalled(&self) -> Option<String> {
        self.stalled.lock().expect("health").clone()
    }

    fn set_assigned(&self, partitions: usize) {
        self.assigned.store(partitions, Ordering::Relaxed);
        METRICS
            .assigned
            .with_label_values(&[&self.group])
            .set(partitions as i64);
        let mut since = self.unassigned_since.lock().expect("health");
        if partitions == 0 {
            since.get_or_insert_with(Instant::now);
        } else {
            *since = None;
            self.set_stalled(None);
        }
    }

    fn unassigned_for(&self) -> Option<Duration> {
        self.unassigned_since
            .lock()
            .expect("health")
            .map(|since| since.elapsed())
    }

    fn set_stalled(&self, reason: Option<String>) {
        METRICS
            .stalled
            .with_label_values(&[&self.group])
            .set(i64::from(reason.is_some()));
        *self.stalled.lock().expect("health") = reason;
    }
}

/// The health of `group` in this process, if a consumer of it has started.
pub fn health(group: &str) -> Option<Arc<GroupHealth>> {
    GROUPS
        .lock()
        .expect("group registry")
        .iter()
        .find(|health| health.group == group)
        .cloned()
}

/// What `/readyz` reports: one line per stalled consumer group of this process.
pub fn problems() -> Vec<String> {
    GROUPS
        .lock()
        .expect("group registry")
        .iter()
        .filter_map(|health| health.stalled())
        .collect()
}

/// The consumer's context: rebalances and statistics update the group's health and metrics.
pub struct Observed {
    health: Arc<GroupHealth>,
}

impl ClientContext for Observed {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, stats) in &stats.partitions {
                if *partition < 0 {
                    continue;
                }
                let labels = [self.health.group.as_str(), topic, &partition.to_string()];
                if stats.consumer_lag >= 0 {
                    METRICS
                        .lag
                        .with_label_values(&labels)
                        .set(stats.consumer_lag);
                } else {
                    // Not assigned here (or not known yet): another member reports it.
                    let _ = METRICS.lag.remove_label_values(&labels);
                }
            }
        }
    }
}

impl ConsumerContext for Observed {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(_) | Rebalance::Revoke(_) => {
                let partitions = consumer.assignment().map(|list| list.count()).unwrap_or(0);
                self.health.set_assigned(partitions);
                tracing::info!(group = %self.health.group, partitions, "consumer group assignment");
            }
            Rebalance::Error(err) => {
                tracing::warn!(group = %self.health.group, error = %err, "consumer group rebalance failed")
            }
        }
    }
}

/// Events waiting in a partition: the group's committed offset, and the end of the log.
type Waiting = BTreeMap<(String, i32), (i64, i64)>;

/// Whether the group is stuck: events waited at both looks and none of them was consumed in
/// between (a member that consumes moves the committed offset).
pub fn stuck(before: &Waiting, now: &Waiting) -> bool {
    !now.is_empty()
        && now.iter().any(|(partition, (committed, _))| {
            before.get(partition).map(|b| b.0) == Some(*committed)
        })
}

/// Partitions of `topics` whose log goes further than the group's committed offset.
fn waiting(consumer: &StreamConsumer<Observed>, topics: &[String]) -> anyhow::Result<Waiting> {
    let timeout = Duration::from_secs(10);
    let mut list = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        for found in metadata.topics() {
            for partition in found.partitions() {
                list.add_partition(found.name(), partition.id());
            }
        }
    }
    let committed = consumer.committed_offsets(list, timeout)?;
    let mut waiting = Waiting::new();
    for element in committed.elements() {
        let (low, high) =
            consumer.fetch_watermarks(element.topic(), element.partition(), timeout)?;
        let from = match element.offset() {
            Offset::Offset(offset) => offset,
            // Nothing committed yet: the group would start at the beginning.
            _ => low,
        };
        if from < high {
            waiting.insert(
                (element.topic().to_string(), element.partition()),
                (from, high),
            );
        }
    }
    Ok(waiting)
}

/// Looks after one member: while it has no partition for longer than `watch.stall_after`, it
/// compares two looks at the group's offsets, and if events wait unconsumed it says so (error
/// log, `kafka_consumer_stalled`, `/readyz`) and makes the member leave and rejoin the group.
async fn watchdog(
    consumer: Arc<StreamConsumer<Observed>>,
    health: Arc<GroupHealth>,
    topics: Vec<String>,
    watch: Watch,
) {
    let mut before: Option<Waiting> = None;
    loop {
        tokio::time::sleep(watch.check_every).await;
        if health
            .unassigned_for()
            .is_none_or(|idle| idle < watch.stall_after)
        {
            before = None;
            continue;
        }
        let (asking, names) = (consumer.clone(), topics.clone());
        let now = match tokio::task::spawn_blocking(move || waiting(&asking, &names)).await {
            Ok(Ok(now)) => now,
            Ok(Err(err)) => {
                tracing::warn!(group = %health.group, error = %err, "consumer watchdog could not read the group's offsets");
                continue;
            }
            Err(_) => continue,
        };
        if now.is_empty() {
            health.set_stalled(None);
        } else if before.as_ref().is_some_and(|before| stuck(before, &now)) {
            let idle = health.unassigned_for().unwrap_or_default();
            let events: i64 = now.values().map(|(from, to)| to - from).sum();
            let reason = format!(
                "consumer group {}: no partition assigned for {}s while {} holds {events} unconsumed events",
                health.group,
                idle.as_secs(),
                topics.join(", "),
            );
            tracing::error!(group = %health.group, events, idle_secs = idle.as_secs(), "consumer stalled: no partition assigned while events wait; rejoining the group");
            health.set_stalled(Some(reason));
            METRICS.rejoins.with_label_values(&[&health.group]).inc();
            consumer.unsubscribe();
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            if let Err(err) = consumer.subscribe(&names) {
                tracing::error!(group = %health.group, error = %err, "rejoining the group failed");
            }
            restart_idle_clock(&health);
            before = None;
            continue;
        }
        before = Some(now);
    }
}

/// After a rejoin the member gets a fresh period before it is judged again (the stall stays
/// reported until an assignment clears it).
fn restart_idle_clock(health: &GroupHealth) {
    *health.unassigned_since.lock().expect("health") = Some(Instant::now());
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod watch_tests {
    use super::*;

    fn at(entries: &[(&str, i32, i64, i64)]) -> Waiting {
        entries
            .iter()
            .map(|(topic, partition, from, to)| ((topic.to_string(), *partition), (*from, *to)))
            .collect()
    }

    #[test]
    fn events_that_wait_unconsumed_between_two_looks_are_stuck() {
        let before = at(&[("bank.accounts", 0, 5, 9)]);
        assert!(stuck(&before, &at(&[("bank.accounts", 0, 5, 12)])));
    }

    #[tokio::test]
    async fn a_consumer_that_stops_with_an_error_is_started_again_and_counted() {
        // librdkafka refuses this fetch wait, so every start of the consumer fails at once.
        let mut kafka = KafkaConfig::new("127.0.0.1:1", "restart-test");
        kafka.fetch_wait_ms = 10_000_000;
        let group = format!("restart-{}", uuid::Uuid::new_v4());
        spawn_batched(
            kafka,
            group.clone(),
            vec!["bank.test".into()],
            |events: Vec<Envelope<Value>>| async move { events.iter().map(|_| Ok(())).collect() },
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while METRICS.restarts.with_label_values(&[&group]).get() < 2 {
            assert!(
                Instant::now() < deadline,
                "the consumer was not started again"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[test]
    fn progress_or_nothing_waiting_is_not_stuck() {
        let before = at(&[("bank.accounts", 0, 5, 9)]);
        assert!(
            !stuck(&before, &at(&[("bank.accounts", 0, 7, 12)])),
            "another member consumes"
        );
        assert!(!stuck(&before, &Waiting::new()), "caught up");
        assert!(
            !stuck(&Waiting::new(), &at(&[("bank.accounts", 1, 0, 3)])),
            "first look"
        );
    }
}
