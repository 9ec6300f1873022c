//! Domain events: a CloudEvents-style JSON envelope, keyed by the aggregate id so that one
//! aggregate's events stay in order on one partition. Topics and types are listed in
//! docs/events.md.

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use uuid::Uuid;

/// The envelope every event travels in (CloudEvents 1.0, structured JSON mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub specversion: String,
    /// Unique per event; consumers record it to apply each event once.
    pub id: Uuid,
    /// e.g. `bank.account.opened.v1`
    #[serde(rename = "type")]
    pub kind: String,
    /// The service that emitted it, e.g. `/accounts`.
    pub source: String,
    /// The aggregate id (also the Kafka key).
    pub subject: String,
    pub time: DateTime<Utc>,
    pub datacontenttype: String,
    pub data: T,
}

impl<T: Serialize + DeserializeOwned> Envelope<T> {
    pub fn new(source: &str, kind: &str, subject: impl ToString, data: T) -> Self {
        Self {
            specversion: "1.0".into(),
            id: Uuid::now_v7(),
            kind: kind.into(),
            source: source.into(),
            subject: subject.to_string(),
            time: Utc::now(),
            datacontenttype: "application/json".into(),
            data,
        }
    }
}

/// An event as stored in an outbox, ready to publish.
#[derive(Debug, Clone)]
pub struct OutgoingEvent {
    pub id: Uuid,
    pub topic: String,
    pub key: String,
    pub kind: String,
    pub payload: serde_json::Value,
}

impl OutgoingEvent {
    pub fn new<T: Serialize + DeserializeOwned>(topic: &str, envelope: &Envelope<T>) -> Self {
        Self {
            id: envelope.id,
            topic: topic.into(),
            key: envelope.subject.clone(),
            kind: envelope.kind.clone(),
            payload: serde_json::to_value(envelope).expect("events serialise"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_speaks_cloudevents() {
        let event = Envelope::new(
            "/accounts",
            "bank.account.opened.v1",
            "abc",
            serde_json::json!({"x": 1}),
        );
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "bank.account.opened.v1");
        assert_eq!(json["subject"], "abc");
        let back: Envelope<serde_json::Value> = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
