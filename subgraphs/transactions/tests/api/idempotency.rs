use std::collections::HashSet;

use serde_json::Value;

use bank_testkit::data;

use crate::helpers::{assert_code, spawn_app};

#[tokio::test]
async fn the_same_request_replayed_concurrently_moves_money_once() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let from = app.open(&ada, "EUR").await;
    let to = app.open(&bob, "EUR").await;
    data(&app.deposit(&ada, from, "100").await);

    let replays = futures::future::join_all(
        (0..10).map(|_| app.transfer_with_key(&ada, from, to, "30.00", "pay-rent-2026-11")),
    )
    .await;
    let ids: HashSet<String> = replays
        .iter()
        .map(|r: &Value| data(r)["transfer"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every replay returns the same transaction");
    assert_eq!(app.balance(&ada, from).await, "70.00");
    assert_eq!(app.balance(&bob, to).await, "30.00");
    let check = app.assert_ledger_ok().await;
    assert_eq!(check.transactions_checked, 2, "one deposit, one transfer");

    // A later replay still answers with the first result.
    let late = app
        .transfer_with_key(&ada, from, to, "30.00", "pay-rent-2026-11")
        .await;
    assert!(ids.contains(data(&late)["transfer"]["id"].as_str().unwrap()));
}

#[tokio::test]
async fn the_same_key_for_a_different_request_is_refused() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let from = app.open(&ada, "EUR").await;
    let to = app.open(&bob, "EUR").await;
    data(&app.deposit_with_key(&ada, from, "100", "key-1").await);
    assert_code(
        &app.deposit_with_key(&ada, from, "100.01", "key-1").await,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_code(
        &app.transfer_with_key(&ada, from, to, "100", "key-1").await,
        "IDEMPOTENCY_KEY_REUSED",
    );
    assert_eq!(app.balance(&ada, from).await, "100.00");
}

#[tokio::test]
async fn keys_belong_to_their_caller_and_a_refused_request_does_not_spend_its_key() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let a = app.open(&ada, "EUR").await;
    let b = app.open(&bob, "EUR").await;
    data(&app.deposit_with_key(&ada, a, "5", "shared").await);
    data(&app.deposit_with_key(&bob, b, "5", "shared").await);
    assert_eq!(app.balance(&bob, b).await, "5.00", "bob's key is his own");

    // Too little money: refused, and the key stays free for the same request later.
    assert_code(
        &app.transfer_with_key(&ada, a, b, "8", "retry-me").await,
        "INSUFFICIENT_FUNDS",
    );
    data(&app.deposit(&ada, a, "5").await);
    data(&app.transfer_with_key(&ada, a, b, "8", "retry-me").await);
    assert_eq!(app.balance(&ada, a).await, "2.00");
}
