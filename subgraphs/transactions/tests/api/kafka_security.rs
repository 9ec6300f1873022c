//! The services' TLS and SASL settings against the real broker's SASL_SSL listener (a managed
//! cluster's way in): events go out and come back with PLAIN and with SCRAM-SHA-512 over TLS
//! checked against the CA; a wrong password is refused.

use std::time::Duration;

use bank_common::kafka::{KafkaConfig, KafkaSecurity, SaslMechanism, SecurityProtocol};
use rdkafka::{
    consumer::{Consumer, StreamConsumer},
    producer::FutureRecord,
    Message,
};
use uuid::Uuid;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The broker's SASL_SSL listener and its user's password (scripts/kafka.sh).
fn secured(mechanism: SaslMechanism, password: &str) -> KafkaConfig {
    let data = std::env::var("BANK_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root().join(".data"));
    let brokers =
        std::env::var("TEST_KAFKA_SASL_BROKERS").unwrap_or_else(|_| "127.0.0.1:19094".to_string());
    let mut config = KafkaConfig::new(brokers, "sasl-test");
    config.security = KafkaSecurity {
        protocol: SecurityProtocol::SaslSsl,
        ssl_ca_location: Some(data.join("certs/ca.pem").display().to_string()),
        sasl: Some((mechanism, "bank".into(), password.into())),
    };
    config
}

fn password() -> String {
    let data = std::env::var("BANK_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root().join(".data"));
    let file = data.join("kafka/sasl-password");
    std::fs::read_to_string(&file)
        .unwrap_or_else(|err| {
            panic!(
                "{} (written by scripts/kafka.sh start): {err}",
                file.display()
            )
        })
        .trim()
        .to_string()
}

#[tokio::test]
async fn events_travel_over_tls_with_plain_and_scram_and_a_wrong_password_is_refused() {
    let topic = bank_testkit::fresh_topic("sasl").await;
    let password = password();
    for mechanism in [SaslMechanism::Plain, SaslMechanism::ScramSha512] {
        let config = secured(mechanism, &password);
        let body = format!("{mechanism:?}-{}", Uuid::new_v4());
        config
            .producer()
            .unwrap()
            .send(
                FutureRecord::to(&topic).key("k").payload(&body),
                Duration::from_secs(20),
            )
            .await
            .unwrap_or_else(|(err, _)| panic!("{mechanism:?}: produce over SASL_SSL: {err}"));
        let consumer: StreamConsumer = config
            .consumer(&format!("sasl-{}", Uuid::new_v4()))
            .unwrap();
        consumer.subscribe(&[&topic]).unwrap();
        let mut seen = false;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !seen {
            let message = tokio::time::timeout_at(deadline, consumer.recv())
                .await
                .unwrap_or_else(|_| panic!("{mechanism:?}: no message back over SASL_SSL"))
                .unwrap();
            seen = message.payload() == Some(body.as_bytes());
        }
    }

    // The same request with a wrong password gets nothing: the listener authenticates.
    let wrong: StreamConsumer = secured(SaslMechanism::ScramSha512, "not-the-password")
        .consumer(&format!("sasl-{}", Uuid::new_v4()))
        .unwrap();
    let metadata = tokio::task::spawn_blocking(move || {
        wrong
            .fetch_metadata(None, Duration::from_secs(10))
            .map(|m| m.topics().len())
    })
    .await
    .unwrap();
    assert!(
        metadata.is_err(),
        "a wrong password is refused: {metadata:?}"
    );
}
