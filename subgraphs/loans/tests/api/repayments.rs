use bank_testkit::{data, error_code};
use futures::future::join_all;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test]
async fn concurrent_repayments_never_pay_more_than_is_owed_and_replays_move_money_once() {
    let app = spawn_app().await;
    // 100.00 owed (no interest), 1,000.00 of the customer's own money besides.
    let (ada, account, loan) = app.active_loan("100", 2, "1000").await;
    assert_eq!(app.balance(account).await, 110_000);

    // 16 different repayments of 15.00 race for 100.00 owed: six fit (90.00), the rest are
    // refused because they would overpay.
    let attempts = (0..16).map(|_| {
        let (app, ada, loan) = (&app, ada.clone(), loan.clone());
        async move {
            app.repay(&ada, &loan, "15", &Uuid::new_v4().to_string())
                .await
        }
    });
    let answers = join_all(attempts).await;
    let posted = answers
        .iter()
        .filter(|a| a["data"]["repayLoan"]["status"] == "POSTED")
        .count();
    let refused = answers
        .iter()
        .filter(|a| error_code(a) == Some("BAD_USER_INPUT"))
        .count();
    assert_eq!(posted, 6, "{answers:#?}");
    assert_eq!(refused, 10);

    // One key replayed by 10 concurrent requests: one repayment, one ledger transaction.
    let key = Uuid::new_v4().to_string();
    let replays = (0..10).map(|_| {
        let (app, ada, loan, key) = (&app, ada.clone(), loan.clone(), key.clone());
        async move { app.repay(&ada, &loan, "10", &key).await }
    });
    let answers = join_all(replays).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| data(a)["repayLoan"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one repayment for one key: {answers:#?}");
    let reused = app.repay(&ada, &loan, "9", &key).await;
    assert_eq!(error_code(&reused), Some("IDEMPOTENCY_KEY_REUSED"));

    let loan_now = app.loan(&ada, &loan).await;
    let loan_now = &data(&loan_now)["loan"];
    assert_eq!(loan_now["status"], "PAID_OFF");
    assert_eq!(loan_now["repaid"]["amount"], "100.00");
    assert_eq!(app.ledger_transactions("LOAN_REPAYMENT").await, 7);
    assert_eq!(app.balance(account).await, 100_000);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_repayment_without_funds_fails_with_its_code_and_moves_nothing() {
    let app = spawn_app().await;
    let (ada, account, loan) = app.active_loan("100", 2, "0").await;
    // Spend the loan, then try to repay it.
    let bob = app.customer();
    let bobs = app.open_account(&bob, "EUR").await;
    let spend = app
        .ledger_client
        .query(
            Some(&ada.token),
            "mutation($i: TransferInput!) { transfer(input: $i) { id } }",
            serde_json::json!({ "i": { "fromAccountId": account, "toAccountId": bobs, "amount": "95", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    data(&spend);
    let key = Uuid::new_v4().to_string();
    let broke = app.repay(&ada, &loan, "50", &key).await;
    assert_eq!(error_code(&broke), Some("INSUFFICIENT_FUNDS"));
    // The replay answers the same, and no money moved.
    let replay = app.repay(&ada, &loan, "50", &key).await;
    assert_eq!(error_code(&replay), Some("INSUFFICIENT_FUNDS"));
    assert_eq!(app.balance(account).await, 500);
    let repayments = app
        .gql(
            &ada,
            "query($id: ID!) { loan(id: $id) { outstanding { amount } repayments { edges { node { status failureCode } } } } }",
            serde_json::json!({ "id": loan }),
        )
        .await;
    let loan_now = &data(&repayments)["loan"];
    assert_eq!(loan_now["outstanding"]["amount"], "100.00");
    assert_eq!(
        loan_now["repayments"]["edges"][0]["node"]["status"],
        "FAILED"
    );
    assert_eq!(
        loan_now["repayments"]["edges"][0]["node"]["failureCode"],
        "INSUFFICIENT_FUNDS"
    );
    // Staff may repay on the borrower's behalf from the borrower's account.
    let staff = app.teller();
    let by_staff = app
        .repay(&staff, &loan, "5", &Uuid::new_v4().to_string())
        .await;
    assert_eq!(data(&by_staff)["repayLoan"]["status"], "POSTED");
    assert_eq!(app.balance(account).await, 0);
    app.assert_ledger_consistent().await;
}
