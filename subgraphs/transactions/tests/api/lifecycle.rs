use std::time::Duration;

use rdkafka::producer::FutureRecord;
use serde_json::json;
use uuid::Uuid;

use bank_common::events::Envelope;
use bank_testkit::data;
use transactions_subgraph::events;

use crate::helpers::{
    assert_code, random_number, spawn_app, spawn_app_with, test_ledger_config, Caller, TestApp,
    LOANS_TOKEN, PAYMENTS_TOKEN, SERVICE_TOKEN,
};

/// The accounts service's call to close `account` for `caller`.
async fn close(app: &TestApp, caller: &Caller, account: Uuid) -> (u16, serde_json::Value) {
    close_as(app, caller, account, Some(SERVICE_TOKEN)).await
}

async fn close_as(
    app: &TestApp,
    caller: &Caller,
    account: Uuid,
    service_token: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!(
            "http://{}/internal/accounts/{account}/close",
            app.addr
        ))
        .bearer_auth(&caller.token);
    if let Some(token) = service_token {
        request = request.header("x-service-token", token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A customer who reaches the ledger's internal endpoints with their own token (or a made-up
/// service token) is refused on every one of them, and nothing changes.
#[tokio::test]
async fn internal_endpoints_answer_the_banks_services_only() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.open(&ada, "EUR").await;
    data(&app.deposit(&ada, account, "5").await);
    data(&app.withdraw(&ada, account, "5").await);
    for token in [None, Some("not-the-service-token")] {
        let (status, body) = close_as(&app, &ada, account, token).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("UNAUTHENTICATED")),
            "{body}"
        );
    }
    let http = reqwest::Client::new();
    let base = format!("http://{}", app.addr);
    let calls = [
        http.get(format!("{base}/internal/accounts/{account}")),
        http.post(format!("{base}/internal/loan-movements"))
            .json(&json!({})),
        http.post(format!("{base}/internal/payment-movements"))
            .json(&json!({
            "kind": "EXTERNAL_PAYMENT", "paymentId": Uuid::new_v4(), "accountId": account,
            "ownerId": ada.id, "amount": "1", "currency": "EUR", "key": "k",
            "reference": "payment:x:debit" })),
        http.post(format!("{base}/internal/reconciliation"))
            .json(&json!({ "prefixes": ["payment:"], "purposes": [] })),
    ];
    for call in calls {
        let response = call.bearer_auth(&ada.token).send().await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            401,
            "{:?}",
            response.url().path()
        );
    }
    // The account is still open: with the service token the close goes through.
    let (status, body) = close(&app, &ada, account).await;
    assert_eq!(status, 200, "{body}");
}

/// Each service's token reaches only what that service needs: a leaked payments token closes
/// no account and moves no loan money, the accounts token moves nothing, and a service reads
/// only its own money's reconciliation.
#[tokio::test]
async fn each_services_token_reaches_only_its_own_endpoints() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.open(&ada, "EUR").await;
    data(&app.deposit(&ada, account, "5").await);
    data(&app.withdraw(&ada, account, "5").await);
    for token in [LOANS_TOKEN, PAYMENTS_TOKEN] {
        let (status, body) = close_as(&app, &ada, account, Some(token)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "{body}"
        );
    }
    let http = reqwest::Client::new();
    let base = format!("http://{}", app.addr);
    let payment = json!({
        "kind": "EXTERNAL_PAYMENT", "paymentId": Uuid::new_v4(), "accountId": account,
        "ownerId": ada.id, "amount": "1", "currency": "EUR", "key": "k",
        "reference": "payment:x:debit" });
    let loan = json!({
        "kind": "LOAN_REPAYMENT", "loanId": Uuid::new_v4(), "accountId": account,
        "ownerId": ada.id, "amount": "1", "currency": "EUR", "key": "k",
        "reference": "loan:x:repayment" });
    let refused = [
        ("/internal/payment-movements", SERVICE_TOKEN, &payment),
        ("/internal/payment-movements", LOANS_TOKEN, &payment),
        ("/internal/loan-movements", PAYMENTS_TOKEN, &loan),
        ("/internal/loan-movements", SERVICE_TOKEN, &loan),
    ];
    for (path, token, body) in refused {
        let response = http
            .post(format!("{base}{path}"))
            .header("x-service-token", token)
            .bearer_auth(&ada.token)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "{path} with {token}");
    }
    let read = http
        .get(format!("{base}/internal/accounts/{account}"))
        .header("x-service-token", SERVICE_TOKEN)
        .bearer_auth(&ada.token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 403);
    let reconcile = |token: &'static str, body: serde_json::Value| {
        http.post(format!("{base}/internal/reconciliation"))
            .header("x-service-token", token)
            .json(&body)
            .send()
    };
    let theirs = reconcile(
        LOANS_TOKEN,
        json!({ "prefixes": ["payment:"], "purposes": [] }),
    );
    assert_eq!(theirs.await.unwrap().status().as_u16(), 403);
    let clearing = reconcile(
        LOANS_TOKEN,
        json!({ "prefixes": ["loan:"], "purposes": ["clearing"] }),
    );
    assert_eq!(clearing.await.unwrap().status().as_u16(), 403);
    let own = reconcile(
        LOANS_TOKEN,
        json!({ "prefixes": ["loan:"], "purposes": ["loan-funding"] }),
    );
    assert_eq!(own.await.unwrap().status().as_u16(), 200);
    let accounts = reconcile(
        SERVICE_TOKEN,
        json!({ "prefixes": ["loan:"], "purposes": [] }),
    );
    assert_eq!(accounts.await.unwrap().status().as_u16(), 403);
    // None of it moved money: the account is still empty and open, and closes.
    let (status, body) = close(&app, &ada, account).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_account_closes_only_empty_and_then_moves_nothing() {
    let app = spawn_app().await;
    let (ada, bob, mallory) = (app.customer(), app.customer(), app.customer());
    let account = app.open(&ada, "EUR").await;
    let other = app.open(&bob, "EUR").await;
    data(&app.deposit(&ada, account, "5").await);

    let (status, body) = close(&app, &ada, account).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("BAD_USER_INPUT")),
        "{body}"
    );
    assert_eq!(close(&app, &mallory, account).await.0, 404);

    // An open hold also keeps the account open.
    let hold = app
        .gql(
            &ada,
            "mutation($i: PlaceHoldInput!) { placeHold(input: $i) { id } }",
            json!({ "i": { "accountId": account, "amount": "5", "idempotencyKey": "h" } }),
        )
        .await;
    let (status, _) = close(&app, &ada, account).await;
    assert_eq!(status, 409);
    let id = data(&hold)["placeHold"]["id"].clone();
    data(
        &app.gql(
            &ada,
            "mutation($id: ID!) { voidHold(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await,
    );

    data(&app.transfer(&ada, account, other, "5").await);
    let (status, body) = close(&app, &ada, account).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("CLOSED")),
        "{body}"
    );
    assert_eq!(
        close(&app, &ada, account).await.0,
        200,
        "closing twice is harmless"
    );
    assert_code(
        &app.transfer(&bob, other, account, "1").await,
        "ACCOUNT_NOT_ACTIVE",
    );
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn account_events_from_kafka_reach_the_ledger_once() {
    let mut config = test_ledger_config();
    config.consume_account_events = true;
    config.consumer_group = format!("test-ledger-{}", Uuid::new_v4());
    config.account_sync_wait = Duration::from_secs(20);
    let app = spawn_app_with(config).await;
    let ada = app.customer();
    let account = Uuid::now_v7();
    let producer =
        bank_common::kafka::KafkaConfig::new(bank_testkit::kafka_brokers(), "test-accounts")
            .producer()
            .unwrap();
    let send = |kind: &'static str, envelope_id: Option<Uuid>| {
        let mut envelope = Envelope::new(
            "/accounts",
            kind,
            account,
            json!({ "accountId": account, "ownerId": ada.id, "number": random_number(),
                    "kind": "CHECKING", "currency": "EUR", "status": "ACTIVE", "reason": null }),
        );
        if let Some(id) = envelope_id {
            envelope.id = id;
        }
        let payload = serde_json::to_string(&envelope).unwrap();
        let producer = producer.clone();
        async move {
            producer
                .send(
                    FutureRecord::to(events::ACCOUNTS_TOPIC)
                        .key(&account.to_string())
                        .payload(&payload),
                    Duration::from_secs(10),
                )
                .await
                .expect("the broker takes the event");
            envelope.id
        }
    };
    let opened = send(events::ACCOUNT_OPENED, None).await;
    // The deposit waits (up to the configured time) for the account to arrive.
    data(&app.deposit(&ada, account, "3").await);
    // A redelivered `opened` (same event id) changes nothing; a freeze arrives after it.
    send(events::ACCOUNT_OPENED, Some(opened)).await;
    send(events::ACCOUNT_FROZEN, None).await;
    let mut last = serde_json::Value::Null;
    let mut accepted = 0;
    for _ in 0..100 {
        last = app.deposit(&ada, account, "1").await;
        if bank_testkit::error_code(&last) == Some("ACCOUNT_NOT_ACTIVE") {
            break;
        }
        data(&last);
        accepted += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_code(&last, "ACCOUNT_NOT_ACTIVE");
    assert_eq!(
        app.balance(&ada, account).await,
        format!("{}.00", 3 + accepted)
    );
    use sea_orm::{ConnectionTrait, Statement};
    let applied = app
        .db
        .query_one(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!("SELECT count(*) AS n FROM ledger_accounts WHERE account_id = '{account}'"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(applied, 1);
    app.assert_ledger_ok().await;
}

/// Replicas starting together (or a replica and a migration job) migrate one after the other:
/// both succeed on a fresh database instead of one failing on tables the other created.
#[tokio::test]
async fn concurrent_migrations_of_a_fresh_database_both_succeed() {
    let database = bank_testkit::fresh_database("transactions").await;
    let first = bank_common::db::connect(&database).await.unwrap();
    let second = bank_common::db::connect(&database).await.unwrap();
    let (a, b) = tokio::join!(
        transactions_subgraph::app::migrate(&first),
        transactions_subgraph::app::migrate(&second)
    );
    a.expect("the first migration succeeds");
    b.expect("the second migration succeeds");
}
