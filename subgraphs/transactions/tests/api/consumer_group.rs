//! A consumer group member that gets no partition while its topic holds events nobody consumes
//! is reported (the group's health, `/readyz`, a metric) and rejoins; once a partition is free
//! it consumes every event. Runs the real consumer loop against the real broker.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use bank_common::{
    consumer::{self, HandlerError, Watch},
    events::Envelope,
    kafka::KafkaConfig,
};
use bank_testkit::kafka_brokers;
use rdkafka::{
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    consumer::{Consumer, StreamConsumer},
    producer::FutureRecord,
    ClientConfig,
};
use uuid::Uuid;

async fn wait_until(what: &str, seconds: u64, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {seconds} s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_member_without_partitions_while_events_wait_is_reported_and_rejoins() {
    let topic = format!("stall-{}", Uuid::new_v4().simple());
    let group = format!("stall-{}", Uuid::new_v4().simple());
    let admin: AdminClient<_> = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .create()
        .unwrap();
    for created in admin
        .create_topics(
            &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .unwrap()
    {
        created.unwrap();
    }

    // A member that holds the only partition and never consumes it: it stays in the group
    // (polls, so it takes part in rebalances) but keeps its partition paused. Its client id sorts
    // first, so the range assignor gives it the partition.
    let squatter: Arc<StreamConsumer> = Arc::new(
        ClientConfig::new()
            .set("bootstrap.servers", kafka_brokers())
            .set("group.id", &group)
            .set("client.id", "a-squatter")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "10000")
            .create()
            .unwrap(),
    );
    squatter.subscribe(&[&topic]).unwrap();
    let leave = Arc::new(AtomicBool::new(false));
    let holding = {
        let (squatter, leave) = (squatter.clone(), leave.clone());
        tokio::spawn(async move {
            while !leave.load(Ordering::Relaxed) {
                let _ = tokio::time::timeout(Duration::from_millis(100), squatter.recv()).await;
                if let Ok(assignment) = squatter.assignment() {
                    let _ = squatter.pause(&assignment);
                }
            }
        })
    };
    wait_until("the squatter holds the partition", 30, || {
        squatter.assignment().map(|a| a.count()).unwrap_or(0) == 1
    })
    .await;

    let producer = KafkaConfig::new(kafka_brokers(), "stall-test")
        .producer()
        .unwrap();
    for n in 0..5 {
        let event = Envelope::new("/test", "bank.test.v1", n, serde_json::json!({ "n": n }));
        let payload = serde_json::to_string(&event).unwrap();
        producer
            .send(
                FutureRecord::to(&topic).key("k").payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }

    let applied = Arc::new(AtomicUsize::new(0));
    let handle = {
        let applied = applied.clone();
        move |_event: Envelope<serde_json::Value>| {
            let applied = applied.clone();
            async move {
                applied.fetch_add(1, Ordering::SeqCst);
                Ok::<(), HandlerError>(())
            }
        }
    };
    let member = tokio::spawn(consumer::run_batched_with(
        KafkaConfig::new(kafka_brokers(), "z-member"),
        group.clone(),
        vec![topic.clone()],
        move |events: Vec<Envelope<serde_json::Value>>| {
            let handle = handle.clone();
            async move {
                let mut outcomes = Vec::new();
                for event in events {
                    outcomes.push(handle(event).await);
                }
                outcomes
            }
        },
        std::future::pending(),
        Watch {
            check_every: Duration::from_millis(500),
            stall_after: Duration::from_secs(2),
        },
    ));

    wait_until("the stall is reported", 60, || {
        consumer::health(&group)
            .and_then(|health| health.stalled())
            .is_some()
    })
    .await;
    let reason = consumer::health(&group).unwrap().stalled().unwrap();
    assert!(reason.contains("5 unconsumed events"), "{reason}");
    // A service of this process answers /readyz with 503, naming the group.
    let app = crate::helpers::spawn_app().await;
    let readyz = reqwest::get(format!("http://{}/readyz", app.addr))
        .await
        .unwrap();
    assert_eq!(readyz.status().as_u16(), 503);
    assert!(
        readyz.text().await.unwrap().contains(&group),
        "/readyz names the group"
    );
    assert_eq!(applied.load(Ordering::SeqCst), 0);

    // The squatter leaves: the member gets the partition and consumes everything.
    leave.store(true, Ordering::Relaxed);
    holding.await.unwrap();
    drop(squatter);
    wait_until("every event is consumed", 60, || {
        applied.load(Ordering::SeqCst) == 5
    })
    .await;
    let health = consumer::health(&group).unwrap();
    assert_eq!(health.assigned_partitions(), 1);
    assert_eq!(health.stalled(), None, "an assignment clears the stall");
    let readyz = reqwest::get(format!("http://{}/readyz", app.addr))
        .await
        .unwrap();
    assert_eq!(readyz.status().as_u16(), 200, "ready again");
    member.abort();
}
