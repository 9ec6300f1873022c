//! A submission that reaches the gateway without a clear answer may have been paid: its money
//! goes back only on the gateway's definite word, never because attempts ran out. The stand-in
//! gateway plays each case: it takes the payment but answers after the client gave up (`SLOW`),
//! takes it and answers 500 (`ACCEPT500`), or stalls without taking it (`STALL`).

use std::time::Duration;

use bank_testkit::data;
use payments_subgraph::{domain::sign, store};
use serde_json::json;

use crate::helpers::{spawn_app_tuned, GatewayTuning, TestApp, WEBHOOK_SECRET};

/// The answer is lost (a 1 s client timeout against a gateway that answers after 2.5 s, or a
/// 500), and the worker gives up after one attempt: what happens then is the question.
async fn impatient_app() -> TestApp {
    spawn_app_tuned(
        Duration::from_secs(30),
        GatewayTuning {
            timeout: Duration::from_secs(1),
            max_attempts: 1,
            slow: Duration::from_millis(2500),
        },
    )
    .await
}

async fn paid_once_to_the_creditor(remittance: &str) {
    let app = impatient_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let id = app.send_new(&ada, account, "30", remittance).await;
    // The gateway took it and settles it; the bank must not also give the money back.
    let done = app.wait_for_status(&ada, &id, "COMPLETED").await;
    assert!(done["gatewayReference"].as_str().unwrap().starts_with("GW"));
    let row = store::find_payment(&app.db, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.outcome_unknown_since.is_some(),
        "an answer was lost on the way"
    );
    assert!(row.reversal_transaction_id.is_none(), "no reversal");
    assert_eq!(
        app.balance(account).await,
        7_000,
        "debited once, not refunded"
    );
    assert_eq!(app.ledger_transactions("EXTERNAL_PAYMENT").await, 1);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_payment_the_gateway_took_while_the_client_timed_out_is_not_given_back() {
    paid_once_to_the_creditor("SLOW gateway").await;
}

#[tokio::test]
async fn a_payment_the_gateway_took_before_answering_500_is_not_given_back() {
    paid_once_to_the_creditor("ACCEPT500 gateway").await;
}

#[tokio::test]
async fn a_payment_the_gateway_certainly_never_took_goes_back_after_its_cancellation() {
    let app = impatient_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let id = app.send_new(&ada, account, "30", "STALL gateway").await;
    let back = app.wait_for_status(&ada, &id, "RETURNED").await;
    assert!(
        back["failureReason"]
            .as_str()
            .unwrap()
            .contains("cancelled it"),
        "returned on the gateway's cancellation: {back}"
    );
    assert_eq!(app.balance(account).await, 10_000, "the money is back");
    // A late answer to the stalled requests cannot take it any more.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = app.payment(&ada, &id).await;
    assert_eq!(data(&still)["payment"]["status"], "RETURNED");
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_settlement_after_the_money_went_back_is_flagged_not_silently_accepted() {
    let app = impatient_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let id = app.send_new(&ada, account, "30", "REJECT please").await;
    app.wait_for_status(&ada, &id, "RETURNED").await;
    let before = app.metric("payments_gateway_conflicts_total").await;

    let body = json!({ "eventId": format!("late-{id}"), "paymentId": id, "status": "SETTLED" })
        .to_string();
    let signature = sign(WEBHOOK_SECRET.as_bytes(), body.as_bytes());
    let post = || async {
        let response = reqwest::Client::new()
            .post(format!("http://{}/webhooks/gateway", app.addr))
            .header("content-type", "application/json")
            .header("x-gateway-signature", &signature)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "the gateway need not send it again"
        );
        response.json::<serde_json::Value>().await.unwrap()
    };
    let answer = post().await;
    assert_eq!(answer["conflict"], true, "{answer}");
    assert_eq!(
        answer["status"], "RETURNED",
        "the payment's state is left for staff"
    );
    assert_eq!(
        app.metric("payments_gateway_conflicts_total").await,
        before + 1
    );
    // A repeat of the same callback is the same conflict, counted once.
    assert_eq!(post().await["conflict"], true);
    assert_eq!(
        app.metric("payments_gateway_conflicts_total").await,
        before + 1
    );
}

#[tokio::test]
async fn with_no_definite_answer_the_money_stays_in_clearing_and_an_operator_is_told() {
    let app = impatient_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    // The gateway answers 500 and then cannot answer the cancellation either.
    let id = app.send_new(&ada, account, "30", "LIMBO gateway").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.metric("payments_outcome_unknown_total").await < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the unknown outcome was not counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let payment = app.payment(&ada, &id).await;
    assert_eq!(
        data(&payment)["payment"]["status"],
        "QUEUED",
        "still asked about, not guessed"
    );
    assert!(data(&payment)["payment"]["reversal"].is_null());
    assert_eq!(
        app.balance(account).await,
        7_000,
        "the money is neither paid back nor lost"
    );
    app.assert_ledger_consistent().await;
}

/// A gateway slow to answer some payments does not hold up the others: the worker submits
/// several at once. Six payments the gateway answers only after the client's 1 s timeout:
/// submitted one after another, each would reach the gateway at least 1 s after the one before
/// (the worker waiting out its timeout); submitted together, some arrive within that second.
#[tokio::test]
async fn slow_answers_do_not_hold_up_the_payments_behind_them() {
    let app = spawn_app_tuned(
        Duration::from_secs(30),
        GatewayTuning {
            timeout: Duration::from_secs(1),
            max_attempts: 8,
            slow: Duration::from_millis(2500),
        },
    )
    .await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let sent =
        futures::future::join_all((0..6).map(|_| app.send_new(&ada, account, "5", "SLOW gateway")))
            .await;
    for id in &sent {
        app.wait_for_status(&ada, id, "COMPLETED").await;
    }
    let stats: serde_json::Value = reqwest::get(format!("{}/stats", app.gateway_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Each payment's first arrival at the gateway.
    let mut first: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
    for s in stats["submissions"].as_array().unwrap() {
        let id = s["paymentId"].as_str().unwrap().to_string();
        let at = s["at"].as_f64().unwrap();
        first.entry(id).and_modify(|t| *t = t.min(at)).or_insert(at);
    }
    let mut arrivals: Vec<f64> = sent.iter().map(|id| first[id]).collect();
    arrivals.sort_by(f64::total_cmp);
    let closest = arrivals
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .fold(f64::INFINITY, f64::min);
    assert!(
        closest < 1.0,
        "submissions arrived one client timeout apart or more: {arrivals:?}"
    );
    assert_eq!(app.ledger_transactions("EXTERNAL_PAYMENT").await, 6);
    assert_eq!(app.balance(account).await, 7_000, "each debited once");
}
