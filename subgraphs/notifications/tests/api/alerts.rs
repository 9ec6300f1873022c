use std::{collections::HashSet, time::Duration};

use serde_json::json;

use crate::helpers::{
    posted, producer, publish, spawn_app, spawn_replica, test_settings, wait_until_live,
    Subscriber, ALERTS,
};

#[tokio::test]
async fn a_subscriber_gets_alerts_for_its_own_accounts_and_no_one_elses() {
    let app = spawn_app(test_settings()).await;
    let producer = producer();
    wait_until_live(&app, &producer).await;
    let (ada, bob) = (app.customer(), app.customer());
    let mut ada_alerts = Subscriber::connect(app.addr, &ada.token, ALERTS)
        .await
        .unwrap();
    let mut bob_alerts = Subscriber::connect(app.addr, &bob.token, ALERTS)
        .await
        .unwrap();

    let event = posted(ada.id, 1250, "CREDIT");
    publish(&producer, &app.ledger_topic, &event).await;
    let alert = ada_alerts
        .next(Duration::from_secs(10))
        .await
        .expect("ada's alert");
    let alert = &alert["data"]["transactionAlerts"];
    assert_eq!(
        alert["amount"],
        json!({ "amount": "12.50", "currency": "EUR" })
    );
    assert_eq!(alert["direction"], "CREDIT");
    assert_eq!(alert["balanceAfter"]["amount"], "100.00");
    assert_eq!(alert["transaction"]["id"], event.data["transactionId"]);
    assert_eq!(alert["account"]["id"], event.data["accountId"]);
    assert!(
        bob_alerts.next(Duration::from_secs(1)).await.is_none(),
        "bob sees nothing of ada's"
    );

    // The live feed's own metrics: what it fanned out and how long each stage took.
    let metrics = bank_testkit::metrics(app.addr).await;
    let value = |prefix: &str| {
        metrics
            .lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {prefix} in {metrics}"))
    };
    assert!(value(r#"live_alerts_total{service="notifications"}"#) >= 1.0);
    assert!(
        value(r#"live_alert_delay_seconds_count{stage="broker",service="notifications"}"#) >= 1.0
    );
}

#[tokio::test]
async fn a_bad_token_is_refused_at_connection_init() {
    let app = spawn_app(test_settings()).await;
    for token in [
        "garbage",
        &bank_testkit::TestKeys::new().token(uuid::Uuid::now_v7(), &[]),
    ] {
        let refused = Subscriber::connect(app.addr, token, ALERTS).await;
        let Err(how) = refused else {
            panic!("connection_init with {token:.10}... was accepted");
        };
        // graphql-ws's "Forbidden", with the reason.
        assert!(how.contains("4403"), "{how}");
    }
}

#[tokio::test]
async fn each_posting_is_stored_once_however_often_it_is_delivered() {
    let app = spawn_app(test_settings()).await;
    let producer = producer();
    let ada = app.customer();
    let event = posted(ada.id, 500, "DEBIT");
    publish(&producer, &app.ledger_topic, &event).await;
    publish(&producer, &app.ledger_topic, &event).await;
    let second = posted(ada.id, 700, "CREDIT");
    publish(&producer, &app.ledger_topic, &second).await;
    let list = app.wait_for_notifications(&ada, 2).await;
    // Give a duplicate time to show up, then count.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let list = if list["edges"].as_array().unwrap().len() == 2 {
        app.notifications(&ada).await
    } else {
        list
    };
    // Postings on different accounts may be consumed in either order.
    let mut titles: Vec<&str> = list["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        vec!["You received 7.00 EUR", "You sent 5.00 EUR"],
        "{list}"
    );
    assert_eq!(list["unreadCount"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_two_replicas_each_subscriber_gets_every_alert_once_and_each_is_stored_once() {
    let settings = test_settings();
    let first = spawn_app(settings.clone()).await;
    let second = spawn_replica(first.database.clone(), first.keys.clone(), settings).await;
    let producer = producer();
    wait_until_live(&first, &producer).await;
    wait_until_live(&second, &producer).await;
    let ada = first.customer();
    let mut on_first = Subscriber::connect(first.addr, &ada.token, ALERTS)
        .await
        .unwrap();
    let mut on_second = Subscriber::connect(second.addr, &ada.token, ALERTS)
        .await
        .unwrap();

    let sent: Vec<_> = (1..=10)
        .map(|n| posted(ada.id, n * 100, "CREDIT"))
        .collect();
    for event in &sent {
        publish(&producer, &first.ledger_topic, event).await;
    }
    let expected: HashSet<String> = sent
        .iter()
        .map(|e| e.data["transactionId"].as_str().unwrap().to_string())
        .collect();
    for subscriber in [&mut on_first, &mut on_second] {
        let mut got = Vec::new();
        while got.len() < 10 {
            let alert = subscriber
                .next(Duration::from_secs(10))
                .await
                .expect("every alert arrives");
            got.push(
                alert["data"]["transactionAlerts"]["transaction"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        got.extend(
            subscriber
                .drain(Duration::from_secs(1))
                .await
                .iter()
                .map(|a| {
                    a["data"]["transactionAlerts"]["transaction"]["id"]
                        .as_str()
                        .unwrap()
                        .to_string()
                }),
        );
        assert_eq!(got.len(), 10, "no alert twice: {got:?}");
        assert_eq!(got.into_iter().collect::<HashSet<_>>(), expected);
    }
    let stored = first.wait_for_notifications(&ada, 10).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stored = if stored["edges"].as_array().unwrap().len() == 10 {
        first.notifications(&ada).await
    } else {
        stored
    };
    assert_eq!(
        stored["edges"].as_array().unwrap().len(),
        10,
        "stored once per posting, not per replica"
    );
}

#[tokio::test]
async fn a_subscription_ends_when_its_token_expires_or_its_session_ends() {
    use bank_common::auth::{Revocations, Role};
    let app = spawn_app(test_settings()).await;
    let now = chrono::Utc::now().timestamp();

    let mut claims = app.keys.claims(uuid::Uuid::now_v7(), &[Role::Customer]);
    claims.exp = now + 1;
    let mut expiring = Subscriber::connect(app.addr, &app.keys.sign(&claims), ALERTS)
        .await
        .expect("a token still valid is accepted");

    let session = uuid::Uuid::now_v7();
    let mut claims = app.keys.claims(uuid::Uuid::now_v7(), &[Role::Customer]);
    claims.sid = Some(session);
    let mut logged_out = Subscriber::connect(app.addr, &app.keys.sign(&claims), ALERTS)
        .await
        .unwrap();

    let mut untouched = Subscriber::connect(app.addr, &app.customer().token, ALERTS)
        .await
        .unwrap();

    // The session ends (as the users service publishes a logout): its subscription is closed
    // at once, with graphql-ws's "Forbidden", so that clients reconnect with a fresh token.
    app.verifier.set_revocations(&Revocations {
        sessions: vec![session],
        users: vec![],
    });
    assert_eq!(logged_out.closed(Duration::from_secs(5)).await, Some(4403));
    // The expiring token's subscription is closed once it expired (5 s of leeway).
    assert_eq!(expiring.closed(Duration::from_secs(15)).await, Some(4403));
    // The others stay.
    assert_eq!(untouched.closed(Duration::from_secs(1)).await, None);

    let metrics = bank_testkit::metrics(app.addr).await;
    for reason in ["expired", "revoked"] {
        let series = format!(
            r#"websocket_token_closures_total{{reason="{reason}",service="notifications"}} 1"#
        );
        assert!(metrics.contains(&series), "{series} in {metrics}");
    }
}
