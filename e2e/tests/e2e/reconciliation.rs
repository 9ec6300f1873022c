//! Reconciliation through NGINX and the router: one staff query answered by three subgraphs
//! (the ledger's invariants, payments and loans against the ledger), clean after a payment
//! went out and a loan was paid out and repaid; customers may not run it.

use bank_e2e::{reconciliation_is_clean, Bank};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn staff_reconcile_the_bank_through_the_gateway() {
    let bank = Bank::from_env().unwrap();
    let admin = bank.admin_token().await;
    let ada = bank.new_customer("reconciled").await;
    let account = bank.open_account(&ada, "EUR").await;
    bank.deposit(&ada.token, &account["id"], "100").await.data();
    let sent = bank
        .query(
            Some(&ada.token),
            "mutation($i: SendPaymentInput!) { sendPayment(input: $i) { id status } }",
            json!({ "i": { "fromAccountId": account["id"], "creditorName": "Grace Hopper",
                           "creditorIban": "GB82 WEST 1234 5698 7654 32", "amount": "12.34",
                           "remittance": "Reconciled", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    assert_eq!(sent.data()["sendPayment"]["status"], "QUEUED");
    let applied = bank
        .query(
            Some(&ada.token),
            "mutation($i: ApplyForLoanInput!) { applyForLoan(input: $i) { id } }",
            json!({ "i": { "accountId": account["id"], "productCode": "MICRO_EUR", "amount": "50",
                           "termMonths": 2, "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    let loan = applied.data()["applyForLoan"]["id"].clone();
    let teller = bank.new_teller().await;
    assert_eq!(
        bank.approve_and_pay_out(&admin, &teller, &loan).await,
        "ACTIVE"
    );
    let repaid = bank
        .query(
            Some(&ada.token),
            "mutation($i: RepayLoanInput!) { repayLoan(input: $i) { status } }",
            json!({ "i": { "loanId": loan, "amount": "5", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    assert_eq!(repaid.data()["repayLoan"]["status"], "POSTED");

    let forbidden = bank.reconciliation(&ada.token).await;
    assert_eq!(forbidden.code(), Some("FORBIDDEN"));

    // Other tests move money meanwhile: a record between two states is no mismatch, and a
    // disagreement of a moment is not reported (the reconciler looks twice).
    let reply = bank.reconciliation(&admin).await;
    assert!(reconciliation_is_clean(&reply.body), "{:#}", reply.body);
    let report = &reply.body["data"]["reconciliation"];
    assert!(report["payments"]["recordsChecked"].as_i64().unwrap() >= 1);
    assert!(
        report["loans"]["ledgerTransactionsChecked"]
            .as_i64()
            .unwrap()
            >= 2
    );
}
