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
            // The alert, not the code that confirmed the phone number.
            "SELECT status, attempts FROM deliveries WHERE user_id = $1 \
             AND body NOT LIKE '%confirmation code%'",
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
/// An SMS provider that refuses the first `failures` alerts (confirmation codes always go
/// through) and keeps what it accepts.
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
                if code_in(&body).is_none() && calls.fetch_add(1, Ordering::SeqCst) < failures {
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

/// The confirmation code in a text, if it is one.
fn code_in(sms: &Value) -> Option<String> {
    let body = sms["body"].as_str()?;
    let code = body.split("confirmation code is ").nth(1)?.get(..6)?;
    code.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| code.to_string())
}

/// The newest code texted to `phone`, waiting for it.
async fn code_texted_to(received: &Mutex<Vec<Value>>, phone: &str) -> String {
    for _ in 0..150 {
        let code = received
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|sms| sms["to"] == phone)
            .and_then(code_in);
        if let Some(code) = code {
            return code;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no code texted to {phone}: {:?}", received.lock().unwrap());
}

const PREFERENCES: &str = "mutation($i: NotificationPreferencesInput!) { updateNotificationPreferences(input: $i) { sms phoneNumber pendingPhoneNumber } }";
const CONFIRM: &str =
    "mutation($c: String!) { confirmPhoneNumber(code: $c) { sms phoneNumber pendingPhoneNumber } }";

/// Sets `phone` with SMS alerts on and confirms it with the code texted to it.
async fn confirmed_phone(
    app: &TestApp,
    caller: &Caller,
    received: &Mutex<Vec<Value>>,
    phone: &str,
) {
    enable(app, caller, json!({ "sms": true, "phoneNumber": phone })).await;
    let code = code_texted_to(received, phone).await;
    let confirmed = app.gql(caller, CONFIRM, json!({ "c": code })).await;
    assert_eq!(data(&confirmed)["confirmPhoneNumber"]["phoneNumber"], phone);
    received.lock().unwrap().clear();
}

/// An app whose SMS provider fails `failures` times, and a user with SMS alerts on `phone` who
/// has just been sent 10.00 EUR's debit alert.
async fn sms_posting(failures: usize, phone: &str) -> (TestApp, Caller, Arc<Mutex<Vec<Value>>>) {
    let (url, received) = sms_sink(failures).await;
    let mut settings = test_settings();
    settings.sms_url = url;
    let app = spawn_app(settings).await;
    let ada = app.customer();
    confirmed_phone(&app, &ada, &received, phone).await;
    let event = posted(ada.id, 1_000, "DEBIT");
    publish(&producer(), &app.ledger_topic, &event).await;
    (app, ada, received)
}

/// SMS pumping and texts to strangers: a new number gets alerts only once its owner enters
/// the code texted to it, wrong codes are counted, and codes a day are capped.
#[tokio::test]
async fn a_new_phone_number_gets_alerts_only_once_confirmed_with_the_code_texted_to_it() {
    let (url, received) = sms_sink(0).await;
    let mut settings = test_settings();
    settings.sms_url = url;
    let app = spawn_app(settings).await;
    let ada = app.customer();
    let phone = "+447700900200";
    let set = app
        .gql(
            &ada,
            PREFERENCES,
            json!({ "i": { "sms": true, "phoneNumber": phone } }),
        )
        .await;
    assert_eq!(
        data(&set)["updateNotificationPreferences"],
        json!({ "sms": true, "phoneNumber": null, "pendingPhoneNumber": phone })
    );
    let code = code_texted_to(&received, phone).await;

    // Not confirmed yet: an alert goes in-app only, nothing is texted.
    publish(
        &producer(),
        &app.ledger_topic,
        &posted(ada.id, 1_000, "DEBIT"),
    )
    .await;
    app.wait_for_notifications(&ada, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received.lock().unwrap().len(), 1, "only the code");
    assert!(delivery_state(&app, &ada).await.is_none());

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let answer = app.gql(&ada, CONFIRM, json!({ "c": wrong })).await;
    assert_eq!(bank_testkit::error_code(&answer), Some("BAD_USER_INPUT"));
    assert!(answer.to_string().contains("4 tries left"), "{answer}");
    let malformed = app.gql(&ada, CONFIRM, json!({ "c": "12ab" })).await;
    assert_eq!(bank_testkit::error_code(&malformed), Some("BAD_USER_INPUT"));

    let confirmed = app.gql(&ada, CONFIRM, json!({ "c": code })).await;
    assert_eq!(
        data(&confirmed)["confirmPhoneNumber"],
        json!({ "sms": true, "phoneNumber": phone, "pendingPhoneNumber": null })
    );
    let again = app.gql(&ada, CONFIRM, json!({ "c": code })).await;
    assert!(again.to_string().contains("no code is waiting"), "{again}");
    publish(
        &producer(),
        &app.ledger_topic,
        &posted(ada.id, 2_000, "DEBIT"),
    )
    .await;
    let (status, _) = wait_for_delivery(&app, &ada, "SENT").await;
    assert_eq!(status, "SENT");
    assert_eq!(received.lock().unwrap().last().unwrap()["to"], phone);

    // Another number: the confirmed one keeps getting texts until the new one is confirmed.
    let other = "+447700900201";
    let changed = app
        .gql(&ada, PREFERENCES, json!({ "i": { "phoneNumber": other } }))
        .await;
    assert_eq!(
        data(&changed)["updateNotificationPreferences"],
        json!({ "sms": true, "phoneNumber": phone, "pendingPhoneNumber": other })
    );
    code_texted_to(&received, other).await;
    // Five wrong tries end the code: even the right one is refused after that.
    for left in (0..5).rev() {
        let answer = app.gql(&ada, CONFIRM, json!({ "c": "999999" })).await;
        assert_eq!(bank_testkit::error_code(&answer), Some("BAD_USER_INPUT"));
        if left > 0 {
            assert!(
                answer.to_string().contains(&format!("{left} tries left")),
                "{answer}"
            );
        } else {
            assert!(answer.to_string().contains("no tries left"), "{answer}");
        }
    }
    let code = code_texted_to(&received, other).await;
    let late = app.gql(&ada, CONFIRM, json!({ "c": code })).await;
    assert!(late.to_string().contains("no code is waiting"), "{late}");

    // Codes a day are capped: two were sent, three more may be, then none.
    for n in 0..3 {
        let number = format!("+44770090030{n}");
        data(
            &app.gql(&ada, PREFERENCES, json!({ "i": { "phoneNumber": number } }))
                .await,
        );
    }
    let pumped = app
        .gql(
            &ada,
            PREFERENCES,
            json!({ "i": { "phoneNumber": "+447700900399" } }),
        )
        .await;
    assert_eq!(
        bank_testkit::error_code(&pumped),
        Some("LIMIT_EXCEEDED"),
        "{pumped}"
    );
    let codes: i64 = app
        .db
        .query_one(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT count(*) AS n FROM deliveries WHERE user_id = $1 AND body LIKE '%confirmation code%'",
            [ada.id.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap();
    assert_eq!(codes, 5, "no sixth code was texted");
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

/// The users service's account e-mails (a confirmation link, a notice that someone tried to
/// register, a password-reset link) are sent to the address they name, once each, whatever the
/// preferences, with nothing in the notification centre.
#[tokio::test]
async fn account_emails_are_sent_to_their_address_once_and_not_kept_in_app() {
    let app = spawn_app(test_settings()).await;
    let producer = producer();
    let ada = app.customer();
    let email = format!("ada-{}@example.test", ada.id.simple());
    let kinds = [
        events::VERIFICATION_REQUESTED,
        events::REGISTRATION_ATTEMPTED,
        events::PASSWORD_RESET_REQUESTED,
    ];
    for kind in kinds {
        let event = Envelope::new(
            "/users",
            kind,
            ada.id,
            json!({ "userId": ada.id, "email": email, "subject": kind, "body": "a link" }),
        );
        // Delivered twice (at least once), applied once.
        publish(&producer, &app.users_topic, &event).await;
        publish(&producer, &app.users_topic, &event).await;
    }
    let subjects = || async {
        app.db
            .query_all(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT subject FROM deliveries WHERE user_id = $1 AND channel = 'EMAIL' \
                 AND address = $2 ORDER BY subject",
                [ada.id.into(), email.clone().into()],
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "subject").unwrap())
            .collect::<Vec<_>>()
    };
    for _ in 0..150 {
        if subjects().await.len() >= kinds.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The second copies have had time to arrive too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let subjects = subjects().await;
    let mut expected: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(subjects, expected);
    let list = app.notifications(&ada).await;
    assert_eq!(list["edges"].as_array().unwrap().len(), 0, "{list}");
}
