use std::{net::SocketAddr, time::Duration};

use bank_common::{auth::Role, events::Envelope};
use bank_testkit::{self as testkit, Client, TestKeys};
use futures::{SinkExt, StreamExt};
use notifications_subgraph::{
    app::{self, NotificationsConfig},
    events,
};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};
use uuid::Uuid;

pub struct TestApp {
    pub client: Client,
    pub keys: TestKeys,
    /// The app's own verifier (revocations fed to it reach the app).
    pub verifier: bank_common::auth::TokenVerifier,
    pub db: DatabaseConnection,
    pub addr: SocketAddr,
    pub database: bank_common::db::DbConfig,
    pub ledger_topic: String,
    pub users_topic: String,
    pub loans_topic: String,
    pub payments_topic: String,
}

/// Test settings: a consumer group of its own (so this app reads every event it is sent),
/// quick retries, providers that nothing listens on unless a test says otherwise.
pub fn test_settings() -> NotificationsConfig {
    let mut settings = NotificationsConfig {
        smtp_url: "smtp://127.0.0.1:9".into(),
        sms_url: "http://127.0.0.1:9/sms".into(),
        consumer_group: format!("test-notifications-{}", Uuid::new_v4()),
        // Topics of its own: the shared test broker's topics hold every other test's events.
        ledger_topic: format!("test-ledger-{}", Uuid::new_v4()),
        users_topic: format!("test-users-{}", Uuid::new_v4()),
        loans_topic: format!("test-loans-{}", Uuid::new_v4()),
        payments_topic: format!("test-payments-{}", Uuid::new_v4()),
        breaker_cooldown: Duration::from_millis(300),
        delivery_poll: Duration::from_millis(100),
        reminder_interval: Duration::from_millis(200),
        ..NotificationsConfig::default()
    };
    settings.retry.base_delay = Duration::from_millis(100);
    settings.retry.max_delay = Duration::from_millis(400);
    settings.retry.max_attempts = 3;
    settings
}

pub async fn spawn_app(settings: NotificationsConfig) -> TestApp {
    testkit::create_topics(&[
        &settings.ledger_topic,
        &settings.users_topic,
        &settings.loans_topic,
        &settings.payments_topic,
    ])
    .await;
    let database = testkit::fresh_database(app::NAME).await;
    let app = spawn_replica(database, TestKeys::new(), settings).await;
    wait_until_consuming(&app).await;
    app
}

/// Waits until the app's consumer group is assigned and reading: publishes a registration for
/// a probe user until its recipient row appears.
pub async fn wait_until_consuming(app: &TestApp) {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let producer = producer();
    let probe = Uuid::now_v7();
    for _ in 0..120 {
        let registered = Envelope::new(
            "/users",
            events::USER_REGISTERED,
            probe,
            json!({ "userId": probe, "email": "probe@example.test", "fullName": "Probe" }),
        );
        publish(&producer, &app.users_topic, &registered).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        let found = app
            .db
            .query_one(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT 1 AS found FROM recipients WHERE user_id = $1",
                [probe.into()],
            ))
            .await
            .unwrap();
        if found.is_some() {
            return;
        }
    }
    panic!("the consumer group never started consuming");
}

/// Another instance on the same database (a replica).
pub async fn spawn_replica(
    database: bank_common::db::DbConfig,
    keys: TestKeys,
    settings: NotificationsConfig,
) -> TestApp {
    let config = testkit::service_config(app::NAME, database.clone());
    let (ledger_topic, users_topic, loans_topic, payments_topic) = (
        settings.ledger_topic.clone(),
        settings.users_topic.clone(),
        settings.loans_topic.clone(),
        settings.payments_topic.clone(),
    );
    let verifier = keys.verifier();
    let subgraph = app::build(config, settings, verifier.clone())
        .await
        .expect("the service starts");
    let db = subgraph.db.clone();
    let addr = testkit::serve(subgraph.router()).await;
    TestApp {
        client: Client::new(addr),
        keys,
        verifier,
        db,
        addr,
        database,
        ledger_topic,
        users_topic,
        loans_topic,
        payments_topic,
    }
}

#[derive(Clone)]
pub struct Caller {
    pub id: Uuid,
    pub token: String,
}

impl TestApp {
    pub fn customer(&self) -> Caller {
        let id = Uuid::now_v7();
        Caller {
            id,
            token: self.keys.token(id, &[Role::Customer]),
        }
    }

    pub async fn gql(&self, caller: &Caller, query: &str, variables: Value) -> Value {
        self.client
            .query(Some(&caller.token), query, variables)
            .await
    }

    pub async fn notifications(&self, caller: &Caller) -> Value {
        let response = self
            .gql(
                caller,
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { \
                 notifications(first: 100) { unreadCount edges { cursor node { id kind title body readAt } } \
                 pageInfo { hasNextPage endCursor } } } } }",
                json!({ "r": [{ "__typename": "User", "id": caller.id }] }),
            )
            .await;
        bank_testkit::data(&response)["_entities"][0]["notifications"].clone()
    }

    /// Waits until `caller` has `count` notifications (or the time runs out); returns them.
    pub async fn wait_for_notifications(&self, caller: &Caller, count: usize) -> Value {
        let mut last = Value::Null;
        for _ in 0..150 {
            last = self.notifications(caller).await;
            if last["edges"].as_array().map_or(0, Vec::len) >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        last
    }
}

pub fn producer() -> FutureProducer {
    bank_common::kafka::KafkaConfig::new(testkit::kafka_brokers(), "test-events")
        .producer()
        .expect("a producer")
}

/// A `posted` envelope for `owner` of `amount` EUR (a decimal string such as "12.50").
pub fn posted(owner: Uuid, amount_minor: i64, direction: &str) -> Envelope<Value> {
    let account = Uuid::now_v7();
    let eur = bank_common::money::Currency::parse("EUR").unwrap();
    Envelope::new(
        "/transactions",
        events::POSTED,
        account,
        json!({
            "transactionId": Uuid::now_v7(), "accountId": account, "ownerId": owner,
            "kind": "TRANSFER", "direction": direction,
            "amount": bank_common::money::format_minor(amount_minor, eur), "amountMinor": amount_minor,
            "currency": "EUR", "balanceAfter": "100.00", "balanceAfterMinor": 10000,
            "availableAfter": "100.00", "counterpartyAccountId": null, "description": "Rent",
            "postedAt": chrono::Utc::now(),
        }),
    )
}

/// A `posted` envelope on a given account (one account's events share a partition, so they
/// are consumed in order).
pub fn posted_on(
    account: Uuid,
    owner: Uuid,
    amount_minor: i64,
    direction: &str,
) -> Envelope<Value> {
    let mut envelope = posted(owner, amount_minor, direction);
    envelope.subject = account.to_string();
    envelope.data["accountId"] = json!(account);
    envelope
}

pub async fn publish(producer: &FutureProducer, topic: &str, envelope: &Envelope<Value>) {
    let payload = serde_json::to_string(envelope).unwrap();
    producer
        .send(
            FutureRecord::to(topic)
                .key(&envelope.subject)
                .payload(&payload),
            Duration::from_secs(10),
        )
        .await
        .expect("the broker takes the event");
}

/// A graphql-transport-ws client subscribed to one operation.
pub struct Subscriber {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Subscriber {
    /// Connects with `token` in `connection_init`; `Err` carries the close reason or error.
    pub async fn connect(addr: SocketAddr, token: &str, query: &str) -> Result<Self, String> {
        let mut request = format!("ws://{addr}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| e.to_string())?;
        socket
            .send(Message::text(
                json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })
                    .to_string(),
            ))
            .await
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) if text.contains("connection_ack") => {}
            other => return Err(format!("{other:?}")),
        }
        socket
            .send(Message::text(
                json!({ "id": "1", "type": "subscribe", "payload": { "query": query } })
                    .to_string(),
            ))
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self { socket })
    }

    /// The next `next` payload's data within `timeout`, or `None`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??;
            let Ok(Message::Text(text)) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).ok()?;
            match value["type"].as_str() {
                Some("next") => return Some(value["payload"].clone()),
                Some("ping") => {
                    let _ = self
                        .socket
                        .send(Message::text(json!({"type": "pong"}).to_string()))
                        .await;
                }
                Some("error") => panic!("subscription error: {value}"),
                _ => {}
            }
        }
    }

    /// The close code the server ends the connection with within `timeout` (`None`: still
    /// open). Everything else that arrives meanwhile is skipped.
    pub async fn closed(&mut self, timeout: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Some(frame.map_or(1005, |frame| u16::from(frame.code)))
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(err))) => panic!("the socket failed instead of closing: {err}"),
                Ok(None) => panic!("the socket ended without a close frame"),
            }
        }
    }

    /// Everything that arrives until nothing more comes for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut items = Vec::new();
        while let Some(item) = self.next(quiet).await {
            items.push(item);
        }
        items
    }
}

pub const ALERTS: &str = "subscription { transactionAlerts { transaction { id } account { id } \
    amount { amount currency } direction balanceAfter { amount } description } }";

/// Waits until `app`'s live feed delivers from every partition of the ledger topic: it reads
/// each from its end, and each partition's end is looked up on its own, so one partition
/// delivering says nothing of the others. Publishes a warm-up posting for a throwaway user to
/// each partition not heard from yet, until its subscriber has seen one from each.
pub async fn wait_until_live(app: &TestApp, producer: &FutureProducer) {
    let probe = app.customer();
    let mut subscriber = Subscriber::connect(app.addr, &probe.token, ALERTS)
        .await
        .expect("subscribes");
    let mut waiting: std::collections::HashMap<String, i32> = std::collections::HashMap::new();
    let mut live = std::collections::HashSet::new();
    for _ in 0..60 {
        for partition in (0..LEDGER_PARTITIONS).filter(|p| !live.contains(p)) {
            let event = posted(probe.id, 1, "CREDIT");
            let id = event.data["transactionId"].as_str().unwrap().to_string();
            let payload = serde_json::to_string(&event).unwrap();
            producer
                .send(
                    FutureRecord::to(&app.ledger_topic)
                        .key(&event.subject)
                        .partition(partition)
                        .payload(&payload),
                    Duration::from_secs(10),
                )
                .await
                .expect("the broker takes the event");
            waiting.insert(id, partition);
        }
        while let Some(alert) = subscriber.next(Duration::from_millis(500)).await {
            let id = alert["data"]["transactionAlerts"]["transaction"]["id"]
                .as_str()
                .unwrap_or_default();
            if let Some(partition) = waiting.get(id) {
                live.insert(*partition);
            }
            if live.len() == LEDGER_PARTITIONS as usize {
                return;
            }
        }
    }
    panic!("the live feed never delivered from every partition ({live:?} did)");
}

/// Partitions of the tests' ledger topics (`bank_testkit::create_topics`).
const LEDGER_PARTITIONS: i32 = 3;
