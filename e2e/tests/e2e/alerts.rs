//! Live transaction alerts: ledger → Kafka → notifications → router → NGINX → WSS client.

use std::time::Duration;

use bank_e2e::Bank;
use serde_json::json;
use uuid::Uuid;

const ALERTS: &str = "subscription { transactionAlerts { amount { amount currency } direction \
    balanceAfter { amount } account { id number } transaction { id kind } } }";

#[tokio::test]
async fn a_transfer_reaches_the_receivers_browser_as_an_alert_and_no_one_elses() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("ada").await;
    let bob = bank.new_customer("bob").await;
    let carol = bank.new_customer("carol").await;
    let from = bank.open_account(&ada, "EUR").await;
    let to = bank.open_account(&bob, "EUR").await;
    let mut bobs = bank
        .subscribe(&bob.token, ALERTS)
        .await
        .expect("bob subscribes");
    let mut carols = bank
        .subscribe(&carol.token, ALERTS)
        .await
        .expect("carol subscribes");
    // Subscriptions are set up through the router before money moves.
    tokio::time::sleep(Duration::from_millis(500)).await;

    bank.query(
        Some(&ada.token),
        "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
        json!({ "i": { "accountId": from["id"], "amount": "100", "idempotencyKey": Uuid::new_v4() } }),
    )
    .await
    .data();
    let transfer = bank
        .query(
            Some(&ada.token),
            "mutation($i: TransferInput!) { transfer(input: $i) { id } }",
            json!({ "i": { "fromAccountId": from["id"], "toAccountId": to["id"], "amount": "25.00", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    let transaction_id = transfer.data()["transfer"]["id"].clone();

    let alert = bobs
        .next(Duration::from_secs(15))
        .await
        .expect("bob's alert arrives");
    let alert = &alert["data"]["transactionAlerts"];
    assert_eq!(
        alert["amount"],
        json!({ "amount": "25.00", "currency": "EUR" }),
        "{alert}"
    );
    assert_eq!(alert["direction"], "CREDIT");
    assert_eq!(alert["balanceAfter"]["amount"], "25.00");
    // Fields the notifications subgraph does not own, resolved by the router from the others.
    assert_eq!(alert["account"]["number"], to["number"]);
    assert_eq!(alert["transaction"]["id"], transaction_id);
    assert_eq!(alert["transaction"]["kind"], "TRANSFER");
    assert!(
        carols.next(Duration::from_secs(2)).await.is_none(),
        "carol sees nothing"
    );

    // The same posting is stored in bob's notification centre.
    let mut stored = json!(null);
    for _ in 0..50 {
        stored = bank
            .query(
                Some(&bob.token),
                "{ me { notifications(first: 5) { unreadCount edges { node { title } } } } }",
                json!({}),
            )
            .await
            .data()["me"]["notifications"]
            .clone();
        if stored["unreadCount"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        stored["edges"][0]["node"]["title"], "You received 25.00 EUR",
        "{stored}"
    );
    bobs.close().await;
    carols.close().await;
}

/// A tampered or unknown token gets no alert: the router's token check answers the subscribe
/// with `UNAUTHENTICATED` and completes it (Hive Router 0.2 acknowledges `connection_init`
/// whatever its token, so the refusal comes at the subscribe; docs/oidc.md).
#[tokio::test]
async fn a_bad_token_cannot_subscribe() {
    let bank = Bank::from_env().unwrap();
    let mut subscription = bank.subscribe("not-a-token", ALERTS).await.unwrap();
    let first = subscription
        .next(Duration::from_secs(5))
        .await
        .expect("an answer");
    assert_eq!(
        first["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{first}"
    );
    assert!(first["data"].is_null(), "{first}");
    assert_eq!(
        subscription.ended(Duration::from_secs(5)).await.as_deref(),
        Some("complete")
    );
}
