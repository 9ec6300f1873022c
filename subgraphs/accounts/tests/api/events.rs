use std::time::Duration;

use accounts_subgraph::events::{FROZEN, OPENED, TOPIC, UNFROZEN};
use bank_testkit::{data, events_for};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn lifecycle_changes_reach_kafka_once_each_in_order() {
    let app = spawn_app().await;
    // A second replica's relay on the same outbox: events must still go out once, in order.
    let db = bank_common::db::connect(&app.database).await.unwrap();
    let producer =
        bank_common::kafka::KafkaConfig::new(bank_testkit::kafka_brokers(), "second-replica")
            .producer()
            .unwrap();
    let relay = bank_common::outbox::Relay::new(db, producer, accounts_subgraph::store::SCHEMA);
    tokio::spawn(relay.run(std::future::pending()));

    let (ada, teller) = (app.customer(), app.teller());
    let account = app.opened(&ada).await;
    let id = account["id"].as_str().unwrap();
    for (query, vars) in [
        (
            "mutation($id: ID!) { freezeAccount(id: $id, reason: \"check\") { id } }",
            json!({ "id": id }),
        ),
        // Freezing twice changes nothing and publishes nothing.
        (
            "mutation($id: ID!) { freezeAccount(id: $id, reason: \"again\") { id } }",
            json!({ "id": id }),
        ),
        (
            "mutation($id: ID!) { unfreezeAccount(id: $id) { id } }",
            json!({ "id": id }),
        ),
    ] {
        data(&app.client.query(Some(&teller.token), query, vars).await);
    }

    let events = events_for(TOPIC, id, 3, Duration::from_secs(30)).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec![OPENED, FROZEN, UNFROZEN], "{events:#?}");
    let opened = &events[0];
    assert_eq!(opened["specversion"], "1.0");
    assert_eq!(opened["source"], "/accounts");
    assert_eq!(opened["data"]["ownerId"], ada.id.to_string());
    assert_eq!(opened["data"]["currency"], "EUR");
    assert_eq!(opened["data"]["number"], account["number"]);
    assert_eq!(events[1]["data"]["status"], "FROZEN");
    assert_eq!(events[1]["data"]["reason"], "check");
    let ids: std::collections::HashSet<_> =
        events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "each event has its own id");
}

/// The real binary is killed (SIGKILL) while customers open accounts, then restarted: every
/// account that was committed has its `opened` event on Kafka once the relay catches up.
#[tokio::test]
async fn a_crash_mid_load_loses_no_committed_event() {
    let database = bank_testkit::fresh_database("accounts").await;
    let keys = bank_testkit::TestKeys::new();
    let jwks_url = keys.serve_jwks().await;
    let mut service = bank_testkit::ServiceProcess::new(
        env!("CARGO_BIN_EXE_accounts"),
        "ACCOUNTS",
        &[
            ("ACCOUNTS_DATABASE_URL", &database.url),
            ("ACCOUNTS_JWKS_URL", &jwks_url),
            ("ACCOUNTS_KAFKA_BROKERS", &bank_testkit::kafka_brokers()),
        ],
    );
    let client = service.client();

    service.start().await;
    let customers: Vec<String> = (0..16)
        .map(|_| keys.token(uuid::Uuid::now_v7(), &[bank_common::auth::Role::Customer]))
        .collect();
    let open = "mutation { openAccount(input: { kind: CHECKING, currency: \"EUR\" }) { id } }";
    let load = futures::future::join_all(customers.iter().cycle().take(96).enumerate().map(
        |(i, token)| {
            let client = client.clone();
            async move {
                // Spread the requests so the kill lands in the middle of the load.
                tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
                tokio::time::timeout(
                    Duration::from_secs(5),
                    client.try_query(Some(token), open, json!({})),
                )
                .await
            }
        },
    ));
    // The kill lands once some accounts are committed (however slow the machine), while the
    // rest of the load is still coming.
    let watcher = sea_orm::Database::connect(&database.url).await.unwrap();
    let kill = async {
        use sea_orm::ConnectionTrait;
        for _ in 0..400 {
            let row = watcher
                .query_one(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    "SELECT count(*) AS n FROM accounts.accounts",
                ))
                .await
                .ok()
                .flatten();
            let opened: i64 = row.and_then(|r| r.try_get("", "n").ok()).unwrap_or(0);
            if opened >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        service.kill().await;
    };
    tokio::join!(load, kill);

    service.start().await;

    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    use sea_orm::ConnectionTrait;
    let rows = db
        .query_all(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT id::text AS id FROM accounts.accounts",
        ))
        .await
        .unwrap();
    let committed: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "id").unwrap())
        .collect();
    assert!(
        !committed.is_empty(),
        "some accounts were opened before the kill"
    );
    assert!(
        committed.len() < 96,
        "the kill interrupted the load ({} committed)",
        committed.len()
    );

    let wanted: std::collections::HashSet<&str> = committed.iter().map(String::as_str).collect();
    let events = bank_testkit::collect_events(
        TOPIC,
        |event| {
            event["type"] == OPENED
                && wanted.contains(event["subject"].as_str().unwrap_or_default())
        },
        |found| {
            let seen: std::collections::HashSet<&str> =
                found.iter().filter_map(|e| e["subject"].as_str()).collect();
            seen.len() == wanted.len()
        },
        Duration::from_secs(60),
    )
    .await;
    let seen: std::collections::HashSet<&str> = events
        .iter()
        .filter_map(|e| e["subject"].as_str())
        .collect();
    let missing: Vec<_> = wanted.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "committed accounts without their event on Kafka: {missing:?}"
    );
    service.kill().await;
}

/// The relay marks what it published through the outbox's key, however the outbox grew since
/// its statements were first planned: a plan cached while the outbox was a few rows (before
/// autovacuum ever analyzed it) must not make every later batch scan the whole history.
#[tokio::test]
async fn the_relay_does_not_scan_the_outbox_history_it_has_grown() {
    use sea_orm::ConnectionTrait;
    // On Citus the outbox lives on a worker, whose statistics the coordinator does not show.
    if bank_testkit::citus_workers().is_some() {
        return;
    }
    let mut database = bank_testkit::fresh_database(accounts_subgraph::app::NAME).await;
    let migrator = bank_common::db::connect(&database).await.unwrap();
    accounts_subgraph::app::migrate(&migrator).await.unwrap();
    migrator.close().await.unwrap();
    // One connection, so that every statement of the relay runs, and is planned, on it.
    (database.max_connections, database.min_connections) = (1, 1);
    let db = bank_common::db::connect(&database).await.unwrap();
    let topic = bank_testkit::fresh_topic("test-relay-plans").await;
    let producer = bank_common::kafka::KafkaConfig::new(bank_testkit::kafka_brokers(), "relay")
        .producer()
        .unwrap();
    let relay =
        bank_common::outbox::Relay::new(db.clone(), producer, accounts_subgraph::store::SCHEMA);
    let enqueue = |n: u32| {
        format!(
            "INSERT INTO outbox (event_id, topic, event_key, event_type, payload) \
             SELECT gen_random_uuid(), '{topic}', 'k', 'test.event', '{{}}' \
             FROM generate_series(1, {n})"
        )
    };
    // A young outbox: batches of ten, published one after another.
    for _ in 0..8 {
        db.execute_unprepared(&enqueue(10)).await.unwrap();
        assert_eq!(relay.drain().await.unwrap(), 10);
    }
    // Then a long published history (not analyzed yet), and one more event.
    const HISTORY: i64 = 100_000;
    db.execute_unprepared(&format!(
        "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, published_at) \
         SELECT gen_random_uuid(), '{topic}', 'k', 'test.event', '{{}}', now() \
         FROM generate_series(1, {HISTORY})"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&enqueue(1)).await.unwrap();
    assert_eq!(relay.drain().await.unwrap(), 1);

    // The relay's connection reports its table statistics when it closes.
    db.close().await.unwrap();
    let name = database.url.rsplit_once('/').unwrap().1.to_string();
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://bank@127.0.0.1:55432/postgres".into());
    let host = admin_url
        .split_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(host, _)| host.to_string())
        .unwrap();
    let admin = sea_orm::Database::connect(bank_testkit::superuser_url(&host, &name))
        .await
        .unwrap();
    let stats = "SELECT n_tup_ins, seq_tup_read FROM pg_stat_user_tables \
                 WHERE schemaname = 'accounts' AND relname = 'outbox'";
    let mut waited = 0;
    let scanned = loop {
        let row = admin
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                stats,
            ))
            .await
            .unwrap()
            .unwrap();
        let inserted: i64 = row.try_get("", "n_tup_ins").unwrap();
        if inserted > HISTORY {
            break row.try_get::<i64>("", "seq_tup_read").unwrap();
        }
        waited += 1;
        assert!(waited < 100, "the relay's statistics never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        scanned < HISTORY,
        "the relay read {scanned} outbox rows by sequential scans"
    );
}

/// Commits that notify while the relay is busy are answered by one pass, not one each: a burst
/// of notifications delivered together costs one look at the outbox, and an event enqueued
/// after it is still published.
#[tokio::test]
async fn a_burst_of_notifications_costs_the_relay_one_pass() {
    use bank_common::outbox;
    use sea_orm::ConnectionTrait;
    let database = bank_testkit::fresh_database(accounts_subgraph::app::NAME).await;
    let db = bank_common::db::connect(&database).await.unwrap();
    accounts_subgraph::app::migrate(&db).await.unwrap();
    let topic = bank_testkit::fresh_topic("test-relay-burst").await;
    let producer = bank_common::kafka::KafkaConfig::new(bank_testkit::kafka_brokers(), "relay")
        .producer()
        .unwrap();
    let mut relay = outbox::Relay::new(db.clone(), producer, accounts_subgraph::store::SCHEMA);
    // Only notifications wake it here.
    relay.poll_interval = Duration::from_secs(600);
    tokio::spawn(relay.run(std::future::pending()));
    // Listening, and its first pass done.
    let mut waited = 0;
    while outbox::passes("nothing") == 0 {
        waited += 1;
        assert!(waited < 100, "the relay never looked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = outbox::passes("nothing") + outbox::passes("events");

    // Twenty notifications (distinct, so PostgreSQL does not fold them) from one commit.
    let channel = outbox::channel(accounts_subgraph::store::SCHEMA);
    let burst: Vec<String> = (0..20)
        .map(|n| format!("NOTIFY {channel}, '{n}'"))
        .collect();
    db.execute_unprepared(&format!("BEGIN; {}; COMMIT", burst.join("; ")))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let passes = outbox::passes("nothing") + outbox::passes("events") - before;
    assert!(
        (1..=2).contains(&passes),
        "twenty notifications cost {passes} passes"
    );

    db.execute_unprepared(&format!(
        "INSERT INTO outbox (event_id, topic, event_key, event_type, payload) \
         VALUES (gen_random_uuid(), '{topic}', 'k', 'test.event', '{{}}'); NOTIFY {channel}"
    ))
    .await
    .unwrap();
    let mut waited = 0;
    while outbox::passes("events") == 0 {
        waited += 1;
        assert!(waited < 100, "the event was never published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
