use std::time::Duration;

use bank_testkit::data;
use payments_subgraph::{domain::sign, store};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with, Caller, TestApp, WEBHOOK_SECRET};

const CREDITOR: &str = "DE98ZZZ09999999999";
const MANDATE_FIELDS: &str =
    "id status creditorId creditorName reference maxAmount { amount currency } \
    account { id } revokedAt";
const DEBIT_FIELDS: &str = "id status amount { amount currency } remittance failureCode \
    debit { id } refund { id } refundableUntil mandate { id }";

async fn create_mandate(app: &TestApp, caller: &Caller, input: Value) -> Value {
    app.gql(
        caller,
        &format!("mutation($i: CreateMandateInput!) {{ createMandate(input: $i) {{ {MANDATE_FIELDS} }} }}"),
        json!({ "i": input }),
    )
    .await
}

/// A mandate of `caller`'s on `account` for the test creditor (it must be created).
async fn mandate_for(
    app: &TestApp,
    caller: &Caller,
    account: Uuid,
    creditor_name: &str,
    reference: &str,
) -> Value {
    data(
        &create_mandate(
            app,
            caller,
            json!({ "accountId": account, "creditorId": CREDITOR, "creditorName": creditor_name, "reference": reference }),
        )
        .await,
    )["createMandate"]
        .clone()
}

/// The stored row of a mandate the API answered with.
async fn mandate_row(app: &TestApp, mandate: &Value) -> store::MandateRow {
    store::find_mandate(&app.db, mandate["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap()
        .expect("the mandate is stored")
}

/// What the gateway sends when a creditor collects; returns the HTTP status and the answer.
async fn collect(
    app: &TestApp,
    collection_id: &str,
    reference: &str,
    amount: &str,
) -> (u16, Value) {
    let body = json!({
        "type": "collection.requested",
        "collectionId": collection_id,
        "creditorId": CREDITOR,
        "mandateReference": reference,
        "amount": amount,
        "currency": "EUR",
        "remittance": "Invoice 2026-11",
    })
    .to_string();
    let response = reqwest::Client::new()
        .post(format!("http://{}/webhooks/gateway", app.addr))
        .header("content-type", "application/json")
        .header(
            "x-gateway-signature",
            sign(WEBHOOK_SECRET.as_bytes(), body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_creditor_collects_under_a_mandate_and_the_customer_gets_it_refunded() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let account = app.funded_account(&ada, "EUR", "100").await;
    let bobs = app.funded_account(&bob, "EUR", "100").await;
    let input = json!({ "accountId": account, "creditorId": "de98 zzz 0999 9999 999",
                        "creditorName": "Stadtwerke", "reference": "SW-2026/001", "maxAmount": "50" });

    // Validation, ownership, and giving the same mandate twice.
    for (field, value) in [
        ("creditorId", json!("DE97ZZZ09999999999")),
        ("reference", json!("SW_2026")),
        ("creditorName", json!("")),
        ("maxAmount", json!("0")),
    ] {
        let mut bad = input.clone();
        bad[field] = value;
        let response = create_mandate(&app, &ada, bad).await;
        assert_eq!(code(&response), "BAD_USER_INPUT", "{field}: {response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
    let mut others = input.clone();
    others["accountId"] = json!(bobs);
    assert_eq!(code(&create_mandate(&app, &ada, others).await), "NOT_FOUND");
    let mandate = data(&create_mandate(&app, &ada, input.clone()).await)["createMandate"].clone();
    assert_eq!(mandate["status"], "ACTIVE");
    assert_eq!(mandate["creditorId"], CREDITOR);
    assert_eq!(
        mandate["maxAmount"],
        json!({ "amount": "50.00", "currency": "EUR" })
    );
    let again = data(&create_mandate(&app, &ada, input.clone()).await)["createMandate"].clone();
    assert_eq!(
        again["id"], mandate["id"],
        "the same mandate again is the same mandate"
    );
    let mut stolen = input.clone();
    stolen["accountId"] = json!(bobs);
    assert_eq!(
        code(&create_mandate(&app, &bob, stolen).await),
        "BAD_USER_INPUT",
        "a creditor's reference names one mandate"
    );

    // A collection within the limit is taken once, however often it is sent.
    let (status, first) = collect(&app, "col-1", "SW-2026/001", "30.00").await;
    assert_eq!(
        (status, first["status"].as_str()),
        (200, Some("COLLECTED")),
        "{first}"
    );
    let (_, repeat) = collect(&app, "col-1", "SW-2026/001", "30.00").await;
    assert_eq!(repeat, first);
    assert_eq!(app.balance(account).await, 7_000);
    assert_eq!(app.ledger_transactions("EXTERNAL_PAYMENT").await, 1);

    // Above the limit, without a mandate, or unsigned: nothing moves.
    let (_, above) = collect(&app, "col-2", "SW-2026/001", "50.01").await;
    assert_eq!(above["status"], "REFUSED");
    assert_eq!(above["code"], "AMOUNT_ABOVE_LIMIT");
    let (_, unknown) = collect(&app, "col-3", "NO-SUCH-MANDATE", "1.00").await;
    assert_eq!(
        (unknown["code"].as_str(), &unknown["directDebitId"]),
        (Some("NO_MANDATE"), &Value::Null)
    );
    let unsigned = reqwest::Client::new()
        .post(format!("http://{}/webhooks/gateway", app.addr))
        .header("content-type", "application/json")
        .body(json!({ "type": "collection.requested", "collectionId": "col-4", "creditorId": CREDITOR,
                      "mandateReference": "SW-2026/001", "amount": "1.00", "currency": "EUR" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    assert_eq!(app.balance(account).await, 7_000);

    // The customer sees both attempts, on the mandate and on themselves; bob sees nothing.
    let listed = app
        .gql(
            &ada,
            &format!("query($id: ID!) {{ mandate(id: $id) {{ directDebits {{ edges {{ node {{ {DEBIT_FIELDS} }} }} }} }} }}"),
            json!({ "id": mandate["id"] }),
        )
        .await;
    let edges = data(&listed)["mandate"]["directDebits"]["edges"].clone();
    let statuses: Vec<&str> = edges
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["REFUSED", "COLLECTED"]);
    let collected = edges[1]["node"].clone();
    assert_eq!(collected["remittance"], "Invoice 2026-11");
    assert!(collected["debit"]["id"].is_string());
    assert!(collected["refundableUntil"].is_string());
    let hidden = app
        .gql(
            &bob,
            "query($id: ID!) { mandate(id: $id) { id } }",
            json!({ "id": mandate["id"] }),
        )
        .await;
    assert_eq!(code(&hidden), "NOT_FOUND");

    // A refund gives the money back once; a refused debit has nothing to refund.
    let refund = |caller: Caller, id: Value| {
        let app = &app;
        async move {
            app.gql(
                &caller,
                &format!(
                    "mutation($id: ID!) {{ refundDirectDebit(id: $id) {{ {DEBIT_FIELDS} }} }}"
                ),
                json!({ "id": id }),
            )
            .await
        }
    };
    assert_eq!(
        code(&refund(bob.clone(), collected["id"].clone()).await),
        "NOT_FOUND"
    );
    let refunded =
        data(&refund(ada.clone(), collected["id"].clone()).await)["refundDirectDebit"].clone();
    assert_eq!(refunded["status"], "REFUNDED");
    assert!(refunded["refund"]["id"].is_string());
    let twice =
        data(&refund(ada.clone(), collected["id"].clone()).await)["refundDirectDebit"].clone();
    assert_eq!(twice["refund"], refunded["refund"]);
    assert_eq!(app.balance(account).await, 10_000);
    assert_eq!(app.ledger_transactions("REVERSAL").await, 1);
    assert_eq!(
        code(&refund(ada.clone(), edges[0]["node"]["id"].clone()).await),
        "BAD_USER_INPUT"
    );

    // Revoked: every later collection is refused.
    let revoked = app
        .gql(
            &ada,
            "mutation($id: ID!) { revokeMandate(id: $id) { status revokedAt } }",
            json!({ "id": mandate["id"] }),
        )
        .await;
    assert_eq!(data(&revoked)["revokeMandate"]["status"], "REVOKED");
    let (_, after) = collect(&app, "col-5", "SW-2026/001", "1.00").await;
    assert_eq!(after["code"], "MANDATE_REVOKED");
    assert_eq!(app.balance(account).await, 10_000);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn concurrent_collections_take_no_more_than_the_balance_and_a_repeat_takes_once() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    mandate_for(&app, &ada, account, "Gym", "GYM-1").await;
    // 20 different collections of 10.00 against 100.00, and one collection sent 10 times.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = &app;
        tasks.push(async move { collect(app, &format!("many-{i}"), "GYM-1", "10.00").await });
    }
    let answers = futures::future::join_all(tasks).await;
    let collected = answers
        .iter()
        .filter(|(_, a)| a["status"] == "COLLECTED")
        .count();
    let refused: Vec<&Value> = answers
        .iter()
        .map(|(_, a)| a)
        .filter(|a| a["status"] == "REFUSED")
        .collect();
    assert_eq!(collected, 10, "{answers:?}");
    assert!(
        refused.iter().all(|a| a["code"] == "INSUFFICIENT_FUNDS"),
        "{refused:?}"
    );
    assert_eq!(app.balance(account).await, 0);

    let deposit = app
        .ledger_client
        .query(
            Some(&ada.token),
            "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
            json!({ "i": { "accountId": account, "amount": "100", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    data(&deposit);
    let replays = futures::future::join_all(
        (0..10).map(|_| collect(&app, "same-collection", "GYM-1", "25.00")),
    )
    .await;
    let ids: std::collections::HashSet<String> = replays
        .iter()
        .map(|(status, a)| {
            assert_eq!(
                (*status, a["status"].as_str()),
                (200, Some("COLLECTED")),
                "{a}"
            );
            a["directDebitId"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one collection");
    assert_eq!(app.balance(account).await, 7_500);
    assert_eq!(app.ledger_transactions("EXTERNAL_PAYMENT").await, 11);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn the_worker_finishes_a_collection_a_crash_interrupted() {
    let app = spawn_app_with(Duration::from_millis(300)).await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let mandate = mandate_for(&app, &ada, account, "Insurer", "POL-77").await;
    // What a crash right after recording leaves: a PENDING collection, no debit asked for.
    let mandate_row = mandate_row(&app, &mandate).await;
    let recorded = store::record_direct_debit(
        &app.db,
        store::NewDirectDebit {
            mandate: mandate_row,
            gateway_collection_id: "interrupted-1".into(),
            amount_minor: 1_234,
            remittance: None,
            refusal: None,
        },
    )
    .await
    .unwrap();
    let store::Recorded::New(row) = recorded else {
        panic!("a new collection")
    };
    assert_eq!(row.status, "PENDING");
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app
            .gql(
                &ada,
                "query($id: ID!) { directDebit(id: $id) { status debit { id } } }",
                json!({ "id": row.id }),
            )
            .await;
        if last["data"]["directDebit"]["status"] == "COLLECTED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["data"]["directDebit"]["status"], "COLLECTED", "{last}");
    // The gateway asking again now gets the same answer, and the money moved once.
    let (_, answer) = collect(&app, "interrupted-1", "POL-77", "12.34").await;
    assert_eq!(answer["directDebitId"], json!(row.id));
    assert_eq!(app.balance(account).await, 10_000 - 1_234);
    assert_eq!(app.ledger_transactions("EXTERNAL_PAYMENT").await, 1);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_customer_holds_at_most_fifty_active_mandates() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "0").await;
    let input = |n: usize| {
        json!({ "accountId": account, "creditorId": CREDITOR, "creditorName": "Club",
                "reference": format!("LIMIT-{n}") })
    };
    let mut first = Value::Null;
    for n in 0..50 {
        let id = data(&create_mandate(&app, &ada, input(n)).await)["createMandate"]["id"].clone();
        if n == 0 {
            first = id;
        }
    }
    assert_eq!(
        code(&create_mandate(&app, &ada, input(50)).await),
        "LIMIT_EXCEEDED"
    );
    // A revoked mandate no longer counts.
    app.gql(
        &ada,
        "mutation($id: ID!) { revokeMandate(id: $id) { status } }",
        json!({ "id": first }),
    )
    .await;
    assert_eq!(
        data(&create_mandate(&app, &ada, input(51)).await)["createMandate"]["status"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn a_mandate_revoked_while_a_collection_is_being_recorded_refuses_it() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let mandate = mandate_for(&app, &ada, account, "Gym", "GYM-9").await;
    // The collection read the mandate while it was active...
    let read_before = mandate_row(&app, &mandate).await;
    assert_eq!(read_before.status, "ACTIVE");
    // ...the customer revokes it before the collection is recorded...
    let revoked = app
        .gql(
            &ada,
            "mutation($id: ID!) { revokeMandate(id: $id) { status } }",
            json!({ "id": mandate["id"] }),
        )
        .await;
    assert_eq!(data(&revoked)["revokeMandate"]["status"], "REVOKED");
    // ...and the recording sees the mandate as it is now.
    let store::Recorded::New(row) = store::record_direct_debit(
        &app.db,
        store::NewDirectDebit {
            mandate: read_before,
            gateway_collection_id: "raced-revocation".into(),
            amount_minor: 1_000,
            remittance: None,
            refusal: None,
        },
    )
    .await
    .unwrap() else {
        panic!("a new collection")
    };
    assert_eq!(row.status, "REFUSED");
    assert_eq!(row.failure_code.as_deref(), Some("MANDATE_REVOKED"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.balance(account).await, 10_000, "nothing collected");
}
