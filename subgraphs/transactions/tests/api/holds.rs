use std::time::Duration;

use serde_json::{json, Value};

use bank_testkit::data;

use crate::helpers::{assert_code, spawn_app, Caller, TestApp};

const HOLD_FIELDS: &str = "id status amount { amount } capturedAmount { amount } expiresAt";

async fn place(app: &TestApp, caller: &Caller, input: Value) -> Value {
    app.gql(
        caller,
        &format!("mutation($i: PlaceHoldInput!) {{ placeHold(input: $i) {{ {HOLD_FIELDS} }} }}"),
        json!({ "i": input }),
    )
    .await
}

async fn available(app: &TestApp, caller: &Caller, id: uuid::Uuid) -> (String, String) {
    let account = app.account(caller, id).await;
    (
        account["balance"]["amount"].as_str().unwrap().to_string(),
        account["availableBalance"]["amount"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

#[tokio::test]
async fn a_hold_reduces_available_money_until_captured_in_part() {
    let app = spawn_app().await;
    let (ada, shop) = (app.customer(), app.customer());
    let account = app.open(&ada, "EUR").await;
    let till = app.open(&shop, "EUR").await;
    data(&app.deposit(&ada, account, "100").await);

    let hold = place(&app, &ada, json!({ "accountId": account, "toAccountId": till, "amount": "60", "idempotencyKey": "h1" })).await;
    let hold = data(&hold)["placeHold"].clone();
    assert_eq!(hold["status"], "PENDING");
    assert_eq!(
        available(&app, &ada, account).await,
        ("100.00".into(), "40.00".into())
    );
    assert_code(
        &app.withdraw(&ada, account, "40.01").await,
        "INSUFFICIENT_FUNDS",
    );
    assert_code(
        &place(
            &app,
            &ada,
            json!({ "accountId": account, "amount": "41", "idempotencyKey": "h2" }),
        )
        .await,
        "INSUFFICIENT_FUNDS",
    );

    let capture =
        "mutation($i: CaptureHoldInput!) { captureHold(input: $i) { kind amount { amount } } }";
    let too_much = app
        .gql(
            &ada,
            capture,
            json!({ "i": { "holdId": hold["id"], "amount": "60.01", "idempotencyKey": "c0" } }),
        )
        .await;
    assert_code(&too_much, "BAD_USER_INPUT");
    let captured = app
        .gql(
            &ada,
            capture,
            json!({ "i": { "holdId": hold["id"], "amount": "45", "idempotencyKey": "c1" } }),
        )
        .await;
    assert_eq!(data(&captured)["captureHold"]["kind"], "HOLD_CAPTURE");
    assert_eq!(
        available(&app, &ada, account).await,
        ("55.00".into(), "55.00".into())
    );
    assert_eq!(app.balance(&shop, till).await, "45.00");

    let again = app
        .gql(
            &ada,
            capture,
            json!({ "i": { "holdId": hold["id"], "idempotencyKey": "c2" } }),
        )
        .await;
    assert_code(&again, "BAD_USER_INPUT");
    let state = app
        .gql(
            &ada,
            &format!("query($id: ID!) {{ hold(id: $id) {{ {HOLD_FIELDS} }} }}"),
            json!({ "id": hold["id"] }),
        )
        .await;
    assert_eq!(data(&state)["hold"]["status"], "CAPTURED");
    assert_eq!(data(&state)["hold"]["capturedAmount"]["amount"], "45.00");
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn a_voided_hold_gives_the_money_back_and_others_cannot_touch_it() {
    let app = spawn_app().await;
    let (ada, mallory) = (app.customer(), app.customer());
    let account = app.open(&ada, "EUR").await;
    data(&app.deposit(&ada, account, "10").await);
    let hold = place(
        &app,
        &ada,
        json!({ "accountId": account, "amount": "10", "idempotencyKey": "h" }),
    )
    .await;
    let id = data(&hold)["placeHold"]["id"].clone();
    let void = "mutation($id: ID!) { voidHold(id: $id) { status } }";
    assert_code(
        &app.gql(&mallory, void, json!({ "id": id })).await,
        "NOT_FOUND",
    );
    assert_eq!(
        data(&app.gql(&ada, void, json!({ "id": id })).await)["voidHold"]["status"],
        "VOIDED"
    );
    assert_eq!(
        data(&app.gql(&ada, void, json!({ "id": id })).await)["voidHold"]["status"],
        "VOIDED"
    );
    assert_eq!(
        available(&app, &ada, account).await,
        ("10.00".into(), "10.00".into())
    );
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn an_unused_hold_expires_by_itself() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.open(&ada, "EUR").await;
    data(&app.deposit(&ada, account, "10").await);
    let hold = place(&app, &ada, json!({ "accountId": account, "amount": "4", "idempotencyKey": "h", "expiresInSeconds": 1 })).await;
    let id = data(&hold)["placeHold"]["id"].clone();
    assert_eq!(available(&app, &ada, account).await.1, "6.00");
    let query = "query($id: ID!) { hold(id: $id) { status } }";
    let mut status = Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = data(&app.gql(&ada, query, json!({ "id": id })).await)["hold"]["status"].clone();
        if status == "EXPIRED" {
            break;
        }
    }
    assert_eq!(status, "EXPIRED");
    assert_eq!(available(&app, &ada, account).await.1, "10.00");
    let capture = "mutation($i: CaptureHoldInput!) { captureHold(input: $i) { id } }";
    assert_code(
        &app.gql(
            &ada,
            capture,
            json!({ "i": { "holdId": id, "idempotencyKey": "late" } }),
        )
        .await,
        "BAD_USER_INPUT",
    );
    app.assert_ledger_ok().await;
}
