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
async fn keys_belong_to_their_caller_and_a_refusal_is_the_keys_final_answer() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let a = app.open(&ada, "EUR").await;
    let b = app.open(&bob, "EUR").await;
    data(&app.deposit_with_key(&ada, a, "5", "shared").await);
    data(&app.deposit_with_key(&bob, b, "5", "shared").await);
    assert_eq!(app.balance(&bob, b).await, "5.00", "bob's key is his own");

    // Too little money: refused, and the key keeps that answer. A retry of the same request
    // (a client that did not hear the answer, a second attempt racing the first) is refused
    // again even once the money is there, so no caller records a refusal while another
    // attempt under the key posts.
    assert_code(
        &app.transfer_with_key(&ada, a, b, "8", "once-refused").await,
        "INSUFFICIENT_FUNDS",
    );
    data(&app.deposit(&ada, a, "5").await);
    assert_code(
        &app.transfer_with_key(&ada, a, b, "8", "once-refused").await,
        "INSUFFICIENT_FUNDS",
    );
    assert_eq!(
        app.balance(&ada, a).await,
        "10.00",
        "nothing moved under the refused key"
    );
    // Other input under the key is still a reuse; a new key is a new request.
    assert_code(
        &app.transfer_with_key(&ada, a, b, "7", "once-refused").await,
        "IDEMPOTENCY_KEY_REUSED",
    );
    data(&app.transfer_with_key(&ada, a, b, "8", "a-new-key").await);
    assert_eq!(app.balance(&ada, a).await, "2.00");
    app.assert_ledger_ok().await;
}

#[tokio::test]
async fn attempts_racing_under_one_key_get_one_answer() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let a = app.open(&ada, "EUR").await;
    let b = app.open(&bob, "EUR").await;
    data(&app.deposit(&ada, a, "5").await);
    // Twenty attempts under one key race a deposit that makes the transfer possible: whatever
    // the interleaving, every attempt hears the same answer, and money moves at most once.
    let attempts =
        futures::future::join_all((0..20).map(|_| app.transfer_with_key(&ada, a, b, "8", "raced")));
    let (answers, _) = tokio::join!(attempts, app.deposit(&ada, a, "5"));
    let posted: HashSet<String> = answers
        .iter()
        .filter_map(|r| r["data"]["transfer"]["id"].as_str().map(str::to_string))
        .collect();
    let refused = answers
        .iter()
        .filter(|r| r["errors"][0]["extensions"]["code"] == "INSUFFICIENT_FUNDS")
        .count();
    assert!(
        (posted.len() == 1 && refused == 0) || (posted.is_empty() && refused == 20),
        "one answer for every attempt: {} posted ids, {refused} refusals",
        posted.len()
    );
    let expected = if posted.is_empty() { "10.00" } else { "2.00" };
    assert_eq!(app.balance(&ada, a).await, expected);
    app.assert_ledger_ok().await;
}
