//! Kafka clients with the settings every service uses. Locally the broker is tansu; in compose
//! and Kubernetes it is Apache Kafka (KRaft). The same configuration keys work for both.

use rdkafka::{consumer::StreamConsumer, producer::FutureProducer, ClientConfig};

#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`
    pub brokers: String,
    /// Sent as `client.id`, so the broker's logs name the service.
    pub client_id: String,
    /// The idempotent producer (on everywhere except against a broker that cannot keep a
    /// producer's state across its own restart; see docs/events.md).
    pub idempotence: bool,
    /// How long a fetch waits for data before the broker answers empty (`fetch.wait.max.ms`).
    /// Kafka answers as soon as data arrives, so this only bounds idle polling there; a broker
    /// that waits out the full time (tansu) adds up to this much to every event's latency.
    pub fetch_wait_ms: u32,
}

/// librdkafka's default is 500 ms; 100 keeps event latency low on brokers that do not answer
/// a waiting fetch early, at a modest idle cost.
pub const DEFAULT_FETCH_WAIT_MS: u32 = 100;

impl KafkaConfig {
    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("socket.timeout.ms", "10000");
        config
    }

    /// An idempotent producer: retries never duplicate or reorder a partition's messages.
    /// Without idempotence, one request in flight per connection still keeps order; a retry may
    /// then duplicate a message, which consumers discard by event id.
    pub fn producer(&self) -> Result<FutureProducer, rdkafka::error::KafkaError> {
        let mut config = self.base();
        if self.idempotence {
            config.set("enable.idempotence", "true");
        } else {
            // This is the local (tansu) mode. tansu writes each message to SQLite in turn, so a
            // large produce request can outlast the request timeout and be retried forever;
            // small requests keep a backlog moving.
            config
                .set("enable.idempotence", "false")
                .set("max.in.flight.requests.per.connection", "1")
                .set("batch.num.messages", "20");
        }
        config
            .set("acks", "all")
            .set("linger.ms", "2")
            .set("message.timeout.ms", "30000")
            .create()
    }

    /// A consumer in `group` that commits offsets only when told to (after the effect is
    /// stored), starting from the earliest message when the group is new.
    pub fn consumer(&self, group: &str) -> Result<StreamConsumer, rdkafka::error::KafkaError> {
        self.base()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("fetch.wait.max.ms", self.fetch_wait_ms.to_string())
            .create()
    }
}
