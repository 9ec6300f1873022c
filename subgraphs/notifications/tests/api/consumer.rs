//! The shared consumer (`bank_common::consumer`) on the real broker: a batch whose handler fails
//! for a while is handed over again, whole and unchanged, and applied once it succeeds.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bank_common::{
    consumer::{self, HandlerError},
    events::Envelope,
    kafka::KafkaConfig,
};
use rdkafka::producer::FutureRecord;
use serde_json::{json, Value};

#[tokio::test]
async fn a_batch_that_fails_for_a_while_is_handed_over_again_whole() {
    let topic = bank_testkit::fresh_topic("consumer-retry").await;
    let kafka = KafkaConfig::new(bank_testkit::kafka_brokers(), "consumer-retry-test");
    let producer = kafka.producer().expect("a producer");
    let sent: Vec<Envelope<Value>> = (0..3)
        .map(|n| Envelope::new("/test", "bank.test.v1", "one-key", json!({ "n": n })))
        .collect();
    for event in &sent {
        let payload = serde_json::to_vec(event).unwrap();
        producer
            .send(
                FutureRecord::to(&topic).key("one-key").payload(&payload),
                Duration::from_secs(5),
            )
            .await
            .expect("the event is written");
    }

    // Every batch the handler is given; the first one fails transiently.
    let calls: Arc<Mutex<Vec<Vec<Envelope<Value>>>>> = Arc::default();
    let seen = calls.clone();
    let handle = move |events: Vec<Envelope<Value>>| {
        let seen = seen.clone();
        async move {
            let mut calls = seen.lock().unwrap();
            let first = calls.is_empty();
            let outcomes = events
                .iter()
                .map(|_| {
                    if first {
                        Err(HandlerError::Transient(anyhow::anyhow!("not yet")))
                    } else {
                        Ok(())
                    }
                })
                .collect();
            calls.push(events);
            outcomes
        }
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let group = format!("consumer-retry-{}", uuid::Uuid::new_v4());
    let running = tokio::spawn(consumer::run_batched(
        kafka,
        group,
        vec![topic],
        handle,
        async move {
            let _ = stopped.await;
        },
    ));

    let applied = |calls: &[Vec<Envelope<Value>>]| -> Vec<Envelope<Value>> {
        calls.iter().skip(1).flatten().cloned().collect()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while applied(&calls.lock().unwrap()).len() < sent.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the events were not applied: {:?}",
            calls.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    running.await.unwrap().expect("the consumer stops cleanly");

    let calls = calls.lock().unwrap();
    assert!(calls.len() >= 2, "the failed batch was handed over again");
    assert_eq!(
        calls[1], calls[0],
        "the retry is the same events, unchanged"
    );
    assert_eq!(applied(&calls), sent, "each event applied once, in order");
}
