//! The live side: every replica fans events out to the subscriptions connected to it.
//!
//! - Transaction alerts come straight from Kafka: each replica reads every partition of
//!   the ledger topic from the end, with no consumer group, so every replica sees every posting
//!   once, whichever replica a subscriber is connected to. (The durable work, storing and
//!   e-mailing, runs in the shared consumer group instead, once per event.)
//! - `notificationAdded` comes from PostgreSQL: storing a notification sends `NOTIFY`, which
//!   reaches every replica's listener once, after commit.
//!
//! Each feed is a bounded broadcast channel; a subscriber that falls more than its capacity
//! behind skips the oldest items (counted in the logs) rather than slowing everyone down.

use std::{
    collections::{HashSet, VecDeque},
    sync::{Arc, LazyLock},
    time::Duration,
};

use futures::{Stream, StreamExt};
use rdkafka::{
    consumer::{Consumer, StreamConsumer},
    Message, Offset, TopicPartitionList,
};
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use tokio::sync::broadcast;
use uuid::Uuid;

use bank_common::{events::Envelope, kafka::KafkaConfig, metrics::service_metric};
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts};

use crate::{
    events::{Posted, POSTED},
    store::{NotificationRow, ADDED_CHANNEL},
};

/// Items a subscriber may fall behind before it skips some.
pub const FEED_CAPACITY: usize = 4096;
/// How many recent event ids a replica remembers to drop redelivered postings.
const SEEN_IDS: usize = 10_000;

/// How long a posting took to reach this replica's live feed, by stage: `relay` from the
/// ledger's commit to its producer sending the event, `broker` from there to this feed.
/// What follows (the subscription's WebSocket, the router, NGINX) is after `broker`.
static FEED_DELAY: LazyLock<HistogramVec> = LazyLock::new(|| {
    service_metric(
        HistogramVec::new(
            HistogramOpts::new(
                "live_alert_delay_seconds",
                "Time from a posting's commit to this replica's live feed, by stage",
            )
            .buckets(vec![
                0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0,
                2.0, 5.0,
            ]),
            &["stage"],
        )
        .expect("valid metric"),
    )
});
static FED: LazyLock<IntCounter> = LazyLock::new(|| {
    service_metric(
        IntCounter::new(
            "live_alerts_total",
            "Postings this replica's live feed handed to its subscriptions",
        )
        .expect("valid metric"),
    )
});
static SKIPPED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    service_metric(
        IntCounterVec::new(
            Opts::new(
                "live_items_skipped_total",
                "Items a subscriber fell too far behind for and skipped, by feed",
            ),
            &["feed"],
        )
        .expect("valid metric"),
    )
});

#[derive(Clone)]
pub struct Live {
    pub alerts: broadcast::Sender<Arc<Posted>>,
    pub notifications: broadcast::Sender<Arc<NotificationRow>>,
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    pub fn new() -> Self {
        Self {
            alerts: broadcast::channel(FEED_CAPACITY).0,
            notifications: broadcast::channel(FEED_CAPACITY).0,
        }
    }

    /// The postings on `owner`'s accounts from now on.
    pub fn alerts_for(&self, owner: Uuid) -> impl Stream<Item = Arc<Posted>> + use<> {
        follow(self.alerts.subscribe(), "alerts").filter(move |posted| {
            let mine = posted.owner_id == owner;
            async move { mine }
        })
    }

    /// `user`'s new notifications from now on.
    pub fn notifications_for(
        &self,
        user: Uuid,
    ) -> impl Stream<Item = Arc<NotificationRow>> + use<> {
        follow(self.notifications.subscribe(), "notifications").filter(move |row| {
            let mine = row.user_id == user;
            async move { mine }
        })
    }
}

fn follow<T: Clone + Send + 'static>(
    receiver: broadcast::Receiver<T>,
    feed: &'static str,
) -> impl Stream<Item = T> + Send + 'static {
    futures::stream::unfold(receiver, move |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(item) => return Some((item, receiver)),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    SKIPPED.with_label_values(&[feed]).inc_by(skipped);
                    tracing::warn!(skipped, feed, "a subscriber fell behind and skipped items");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

/// Feeds `live.alerts` from every partition of the ledger topic, from its end, until the
/// process stops. Reconnects by itself (librdkafka).
pub async fn run_alert_feed(kafka: KafkaConfig, topic: String, live: Live) {
    let consumer = loop {
        match assign_from_end(&kafka, &topic).await {
            Ok(consumer) => break consumer,
            Err(err) => {
                tracing::warn!(error = %err, "live alert feed not ready; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    let mut seen = HashSet::new();
    let mut order = VecDeque::new();
    loop {
        let message = match consumer.recv().await {
            Ok(message) => message,
            Err(err) => {
                tracing::warn!(error = %err, "live alert feed error");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Some(payload) = message.payload() else {
            continue;
        };
        let wanted = live.alerts.receiver_count() > 0;
        let Some((head, posted)) = read_posting(payload, wanted) else {
            continue;
        };
        if !seen.insert(head.id) {
            continue;
        }
        order.push_back(head.id);
        if order.len() > SEEN_IDS {
            if let Some(old) = order.pop_front() {
                seen.remove(&old);
            }
        }
        observe_delay(
            head.id,
            head.data.posted_at,
            message.timestamp().to_millis(),
        );
        if let Some(posted) = posted {
            FED.inc();
            // A subscriber that left since is not an error.
            let _ = live.alerts.send(Arc::new(posted));
        }
    }
}

/// What the feed reads of every event: its id, its type and when it was posted, without
/// building the rest of it.
#[derive(Deserialize)]
struct Head<'a> {
    id: Uuid,
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    data: HeadData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeadData {
    posted_at: chrono::DateTime<chrono::Utc>,
}

/// A posting's head, and the posting itself when `wanted` (some subscription is open on this
/// replica): a replica nobody watches times every posting but builds none. `None` for an event
/// that is not a posting, or not readable as one.
fn read_posting(payload: &[u8], wanted: bool) -> Option<(Head<'_>, Option<Posted>)> {
    let head = serde_json::from_slice::<Head>(payload).ok()?;
    if head.kind != POSTED {
        return None;
    }
    if !wanted {
        return Some((head, None));
    }
    let envelope = serde_json::from_slice::<Envelope<Posted>>(payload).ok()?;
    Some((head, Some(envelope.data)))
}

/// The histogram of each stage, looked up once rather than by label on every posting.
static STAGES: LazyLock<[prometheus::Histogram; 3]> = LazyLock::new(|| {
    ["relay", "broker", "total"].map(|stage| FEED_DELAY.with_label_values(&[stage]))
});

fn observe_delay(
    event_id: Uuid,
    posted_at: chrono::DateTime<chrono::Utc>,
    produced_ms: Option<i64>,
) {
    let [relay, broker, total] = &*STAGES;
    let produced = produced_ms.and_then(chrono::DateTime::from_timestamp_millis);
    match delays(event_id, posted_at, produced, chrono::Utc::now()) {
        Delays::Stages {
            relay: r,
            broker: b,
        } => {
            relay.observe(r);
            broker.observe(b);
        }
        Delays::Total(t) => total.observe(t),
    }
}

/// A posting's delay to this replica's feed, in seconds.
#[derive(Debug)]
enum Delays {
    /// Commit to the ledger's producer, and from there to the feed.
    Stages { relay: f64, broker: f64 },
    /// Commit to the feed, without a message timestamp to split it.
    Total(f64),
}

/// When the posting was committed is when the ledger built its event, just before the commit:
/// the millisecond in the event's id (a UUIDv7). `postedAt` is the same moment for most
/// postings, but a booking made in the past carries its booking date there, which would
/// count as hours of delay.
fn delays(
    event_id: Uuid,
    posted_at: chrono::DateTime<chrono::Utc>,
    produced: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Delays {
    let committed = event_id
        .get_timestamp()
        .and_then(|stamp| {
            let (secs, nanos) = stamp.to_unix();
            chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
        })
        .unwrap_or(posted_at);
    let seconds =
        |delta: chrono::TimeDelta| delta.num_microseconds().unwrap_or(0).max(0) as f64 / 1e6;
    match produced {
        Some(produced) => Delays::Stages {
            relay: seconds(produced - committed),
            broker: seconds(now - produced),
        },
        None => Delays::Total(seconds(now - committed)),
    }
}

async fn assign_from_end(kafka: &KafkaConfig, topic: &str) -> anyhow::Result<Arc<StreamConsumer>> {
    let mut config = kafka.clone();
    config.client_id = format!("{}-live", kafka.client_id);
    // A group id the consumer never joins or commits to: partitions are assigned directly.
    let consumer = Arc::new(config.consumer(&format!("notifications-live-{}", Uuid::new_v4()))?);
    let asking = consumer.clone();
    let wanted = topic.to_string();
    let metadata = tokio::task::spawn_blocking(move || {
        asking.fetch_metadata(Some(&wanted), Duration::from_secs(10))
    })
    .await??;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    anyhow::ensure!(!partitions.is_empty(), "{topic} has no partitions yet");
    let mut assignment = TopicPartitionList::new();
    for partition in &partitions {
        assignment.add_partition_offset(topic, *partition, Offset::End)?;
    }
    consumer.assign(&assignment)?;
    tracing::info!(partitions = partitions.len(), "live alert feed assigned");
    Ok(consumer)
}

/// Feeds `live.notifications` from PostgreSQL notifications, until the process stops.
pub async fn run_notification_feed(db: DatabaseConnection, live: Live) {
    loop {
        let pool = db.get_postgres_connection_pool();
        let listener = async {
            let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(ADDED_CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        }
        .await;
        let mut listener = match listener {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "notification feed cannot listen; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        while let Ok(notification) = listener.recv().await {
            match serde_json::from_str::<NotificationRow>(notification.payload()) {
                Ok(row) => {
                    let _ = live.notifications.send(Arc::new(row));
                }
                Err(err) => tracing::warn!(error = %err, "unreadable notification payload"),
            }
        }
        tracing::warn!("notification feed lost its connection; reconnecting");
    }
}

#[cfg(test)]
mod delay_tests {
    use chrono::{TimeDelta, Utc};

    use super::*;

    #[test]
    fn a_posting_booked_in_the_past_is_timed_from_its_event_not_its_booking_date() {
        let event_id = Uuid::now_v7();
        let built = Utc::now();
        let produced = built + TimeDelta::milliseconds(4);
        let fed = produced + TimeDelta::milliseconds(6);
        let booked_last_year = built - TimeDelta::days(365);

        let Delays::Stages { relay, broker } =
            delays(event_id, booked_last_year, Some(produced), fed)
        else {
            panic!("a message timestamp splits the delay");
        };

        // The id's millisecond is at most 1 ms before `built`.
        assert!((0.003..=0.006).contains(&relay), "relay {relay} s");
        assert!((broker - 0.006).abs() < 1e-9, "broker {broker} s");
        let Delays::Total(total) = delays(event_id, booked_last_year, None, fed) else {
            panic!("no message timestamp: one figure");
        };
        assert!((0.009..=0.012).contains(&total), "total {total} s");
    }
}

#[cfg(test)]
mod read_tests {
    use super::*;

    /// With no subscription open, a posting is timed (its id and posting time) but not built;
    /// with one, it is built whole. Other events are not postings.
    #[test]
    fn a_replica_nobody_watches_times_a_posting_without_building_it() {
        let mut posted = Posted::sample("TRANSFER", "CREDIT", 1);
        // Escapes in a string the head skips.
        posted.description = Some("rent \"May\"".into());
        let event = Envelope::new("/transactions", POSTED, posted.account_id, posted.clone());
        let payload = serde_json::to_vec(&event).unwrap();

        let (head, built) = read_posting(&payload, false).expect("a posting");
        assert_eq!(head.id, event.id);
        assert_eq!(head.data.posted_at, posted.posted_at);
        assert_eq!(built, None);

        let (head, built) = read_posting(&payload, true).expect("a posting");
        assert_eq!(head.id, event.id);
        assert_eq!(built, Some(posted.clone()));

        let other = Envelope::new("/accounts", "bank.account.opened.v1", "a", posted);
        assert!(read_posting(&serde_json::to_vec(&other).unwrap(), true).is_none());
        assert!(read_posting(b"not json", true).is_none());
    }
}
