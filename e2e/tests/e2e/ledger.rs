//! Money through the whole stack: NGINX → router → accounts and transactions subgraphs, with
//! accounts reaching the ledger through Kafka.

use bank_e2e::Bank;
use serde_json::{json, Value};
use uuid::Uuid;

async fn transfer(
    bank: &Bank,
    token: &str,
    from: &Value,
    to: &Value,
    amount: &str,
) -> bank_e2e::Reply {
    bank.query(
        Some(token),
        "mutation($i: TransferInput!) { transfer(input: $i) { id kind amount { amount currency } } }",
        json!({ "i": { "fromAccountId": from["id"], "toAccountId": to["id"], "amount": amount,
                "idempotencyKey": Uuid::new_v4() } }),
    )
    .await
}

async fn deposit(bank: &Bank, token: &str, account: &Value, amount: &str) -> bank_e2e::Reply {
    bank.query(
        Some(token),
        "mutation($i: DepositInput!) { deposit(input: $i) { id } }",
        json!({ "i": { "accountId": account["id"], "amount": amount, "idempotencyKey": Uuid::new_v4() } }),
    )
    .await
}

#[tokio::test]
async fn money_moves_between_customers_and_balances_show_across_subgraphs() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("ada").await;
    let bob = bank.new_customer("bob").await;
    let from = bank.open_account(&ada, "EUR").await;
    let to = bank.open_account(&bob, "EUR").await;

    // Right after opening: the ledger learns of the account from Kafka and the deposit waits.
    deposit(&bank, &ada.token, &from, "250.00").await.data();
    let moved = transfer(&bank, &ada.token, &from, &to, "100.25").await;
    assert_eq!(moved.data()["transfer"]["amount"]["amount"], "100.25");

    // accounts (number, owner) and transactions (balance, history) in one query.
    let me = bank
        .query(
            Some(&bob.token),
            "{ me { accounts { number balance { amount currency } availableBalance { amount } \
             transactions(first: 5) { edges { amount { amount } node { kind toAccount { number owner { email } } } } } } } }",
            json!({}),
        )
        .await;
    let account = &me.data()["me"]["accounts"][0];
    assert_eq!(
        account["balance"],
        json!({ "amount": "100.25", "currency": "EUR" })
    );
    assert_eq!(account["availableBalance"]["amount"], "100.25");
    let edge = &account["transactions"]["edges"][0];
    assert_eq!(edge["node"]["kind"], "TRANSFER");
    assert_eq!(edge["amount"]["amount"], "100.25");
    assert_eq!(edge["node"]["toAccount"]["number"], account["number"]);
    assert_eq!(
        edge["node"]["toAccount"]["owner"]["email"],
        bob.email.as_str()
    );

    let short = transfer(&bank, &ada.token, &from, &to, "1000").await;
    assert_eq!(short.code(), Some("INSUFFICIENT_FUNDS"), "{short:#?}");
    let theft = transfer(&bank, &bob.token, &from, &to, "1").await;
    assert_eq!(theft.code(), Some("NOT_FOUND"), "{theft:#?}");

    let admin = bank.admin_token().await;
    let check = bank
        .query(
            Some(&admin),
            "{ ledgerCheck { ok balanceMismatches unbalancedTransactions } }",
            json!({}),
        )
        .await;
    assert_eq!(check.data()["ledgerCheck"]["ok"], true, "{check:#?}");
}

#[tokio::test]
async fn an_account_closes_only_when_empty_and_then_takes_no_money() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("ada").await;
    let main = bank.open_account(&ada, "EUR").await;
    let spare = bank.open_account(&ada, "EUR").await;
    deposit(&bank, &ada.token, &spare, "10").await.data();

    let close = "mutation($id: ID!) { closeAccount(id: $id) { id status closedAt } }";
    let refused = bank
        .query(Some(&ada.token), close, json!({ "id": spare["id"] }))
        .await;
    assert_eq!(refused.code(), Some("BAD_USER_INPUT"), "{refused:#?}");

    deposit(&bank, &ada.token, &main, "1").await.data();
    transfer(&bank, &ada.token, &spare, &main, "10")
        .await
        .data();
    let closed = bank
        .query(Some(&ada.token), close, json!({ "id": spare["id"] }))
        .await;
    assert_eq!(closed.data()["closeAccount"]["status"], "CLOSED");
    assert!(closed.data()["closeAccount"]["closedAt"].is_string());

    let late = deposit(&bank, &ada.token, &spare, "1").await;
    assert_eq!(late.code(), Some("ACCOUNT_NOT_ACTIVE"), "{late:#?}");
    let again = bank
        .query(Some(&ada.token), close, json!({ "id": spare["id"] }))
        .await;
    assert_eq!(again.data()["closeAccount"]["status"], "CLOSED");
}
