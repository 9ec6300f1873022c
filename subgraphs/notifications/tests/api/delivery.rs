use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use bank_common::events::Envelope;
use bank_testkit::data;
use notifications_subgraph::events;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{json, Value};

use crate::helpers::{posted, producer, publish, spawn_app, test_settings, Caller, TestApp};

async fn enable(app: &TestApp, caller: &Caller, input: Value) {
    let update = "mutation($i: NotificationPreferencesInput!) { updateNotificationPreferences(input: $i) { email sms } }";
    data(&app.gql(caller, update, json!({ "i": input })).await);
}

async fn delivery_state(app: &TestApp, caller: &Caller) -> Option<(String, i32)> {
    let row = app
        .db
        .query_one(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT status, attempts FROM deliveries WHERE user_id = $1",
            [caller.id.into()],
        ))
        .await
        .unwrap()?;
    Some((
        row.try_get("", "status").unwrap(),
        row.try_get("", "attempts").unwrap(),
    ))
}

async fn wait_for_delivery(app: &TestApp, caller: &Caller, status: &str) -> (String, i32) {
    for _ in 0..150 {
        if let Some(state) = delivery_state(app, caller).await {
            if state.0 == status {
                return state;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no {status} delivery: {:?}",
        delivery_state(app, caller).await
    );
}

/// Python's aiosmtpd on a free port, storing what it receives in a Maildir.
struct SmtpServer {
    port: u16,
    maildir: std::path::PathBuf,
    child: tokio::process::Child,
}

impl SmtpServer {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = std::env::temp_dir().join(format!("bank-mail-{}", uuid::Uuid::new_v4()));
        let python = std::env::var("BANK_PYTHON").unwrap_or_else(|_| "python3".into());
        let child = tokio::process::Command::new(&python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| {
                panic!("{python} -m aiosmtpd ({err}); scripts/install-deps.sh installs it")
            });
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    port,
                    maildir,
                    child,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not start");
    }

    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

#[tokio::test]
async fn an_alert_is_emailed_to_the_address_the_user_registered_with() {
    let smtp = SmtpServer::start().await;
    let mut settings = test_settings();
    settings.smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let app = spawn_app(settings).await;
    let producer = producer();
    let ada = app.customer();
    let email = format!("ada-{}@example.test", ada.id.simple());
    let registered = Envelope::new(
        "/users",
        events::USER_REGISTERED,
        ada.id,
        json!({ "userId": ada.id, "email": email, "fullName": "Ada Lovelace" }),
    );
    publish(&producer, &app.users_topic, &registered).await;
    enable(&app, &ada, json!({ "email": true })).await;
    // The address arrives with the registration event.
    for _ in 0..150 {
        let known = app
            .db
            .query_one(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT email FROM recipients WHERE user_id = $1 AND email IS NOT NULL",
                [ada.id.into()],
            ))
            .await
            .unwrap();
        if known.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    publish(
        &producer,
        &app.ledger_topic,
        &posted(ada.id, 4_200, "CREDIT"),
    )
    .await;
    wait_for_delivery(&app, &ada, "SENT").await;
    let mut messages = smtp.messages();
    for _ in 0..50 {
        if !messages.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        messages = smtp.messages();
    }
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert!(message.contains(&format!("To: {email}")), "{message}");
    assert!(
        message.contains("Subject: You received 42.00 EUR"),
        "{message}"
    );
    assert!(message.contains("Balance: 100.00 EUR."), "{message}");
    // The description is free text the sender wrote: the bank's e-mail does not carry it (no
    // phishing in the bank's name); the notification centre shows it.
    assert!(!message.contains("Rent"), "{message}");
    let list = app.wait_for_notifications(&ada, 1).await;
    assert_eq!(
        list["edges"][0]["node"]["body"],
        "Rent. Balance: 100.00 EUR."
    );
}

/// A local SMS provider that fails the first `failures` calls, then accepts.
async fn sms_sink(failures: usize) -> (String, Arc<Mutex<Vec<Value>>>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let calls = calls.clone();
            let kept = kept.clone();
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) < failures {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    kept.lock().unwrap().push(body);
                    axum::http::StatusCode::ACCEPTED
                }
            }
        }),
    );
    let addr = bank_testkit::serve(app).await;
    (format!("http://{addr}/sms"), received)
}

/// An app whose SMS provider fails `failures` times, and a user with SMS alerts on `phone` who
/// has just been sent 10.00 EUR's debit alert.
async fn sms_posting(failures: usize, phone: &str) -> (TestApp, Caller, Arc<Mutex<Vec<Value>>>) {
    let (url, received) = sms_sink(failures).await;
    let mut settings = test_settings();
    settings.sms_url = url;
    let app = spawn_app(settings).await;
    let ada = app.customer();
    enable(&app, &ada, json!({ "sms": true, "phoneNumber": phone })).await;
    let event = posted(ada.id, 1_000, "DEBIT");
    publish(&producer(), &app.ledger_topic, &event).await;
    (app, ada, received)
}

#[tokio::test]
async fn a_failing_sms_provider_is_retried_with_backoff_until_it_accepts() {
    let (app, ada, received) = sms_posting(2, "+447700900123").await;
    let (_, attempts) = wait_for_delivery(&app, &ada, "SENT").await;
    assert_eq!(attempts, 3, "two failures, then success");
    let received = received.lock().unwrap().clone();
    assert_eq!(
        received,
        vec![json!({ "to": "+447700900123", "body": "You sent 10.00 EUR: Balance: 100.00 EUR." })]
    );
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_lands_on_the_dead_letter_topic_with_the_reason() {
    let (app, ada, received) = sms_posting(usize::MAX, "+447700900124").await;
    let (_, attempts) = wait_for_delivery(&app, &ada, "FAILED").await;
    assert_eq!(attempts, 3, "max_attempts, then no more");
    assert!(received.lock().unwrap().is_empty());
    let dead = bank_testkit::collect_events(
        bank_common::consumer::DEAD_LETTER_TOPIC,
        |event| event["data"]["userId"] == ada.id.to_string(),
        |found| !found.is_empty(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["type"], events::DELIVERY_FAILED);
    assert_eq!(dead[0]["data"]["channel"], "SMS");
    assert!(
        dead[0]["data"]["reason"].as_str().unwrap().contains("503"),
        "{}",
        dead[0]
    );
}
