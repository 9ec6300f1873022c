//! Loans through the gateway: a customer applies, staff approve and pay out, the customer
//! repays; the loan's account and the repayment's ledger transaction are resolved by the other
//! subgraphs, and the borrower hears about it in the notification centre.

use std::time::Duration;

use bank_e2e::Bank;
use serde_json::{json, Value};
use uuid::Uuid;

const LOAN: &str = "id status outstanding { amount currency } monthlyPayment { amount } \
    account { number balance { amount } } schedule { number dueOn amount { amount } status }";

#[tokio::test]
async fn a_loan_is_applied_for_paid_out_and_repaid_through_the_gateway() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("borrower").await;
    let account = bank.open_account(&ada, "EUR").await;
    let admin = bank.admin_token().await;

    let quote = bank
        .query(
            Some(&ada.token),
            "query($i: LoanQuoteInput!) { loanQuote(input: $i) { monthlyPayment { amount } totalInterest { amount } } }",
            json!({ "i": { "productCode": "MICRO_EUR", "amount": "500", "termMonths": 5 } }),
        )
        .await;
    assert_eq!(
        quote.data()["loanQuote"]["monthlyPayment"]["amount"],
        "100.00"
    );

    let applied = bank
        .query(
            Some(&ada.token),
            &format!("mutation($i: ApplyForLoanInput!) {{ applyForLoan(input: $i) {{ {LOAN} }} }}"),
            json!({ "i": { "productCode": "MICRO_EUR", "accountId": account["id"], "amount": "500",
                           "termMonths": 5, "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    let loan_id = applied.data()["applyForLoan"]["id"].clone();
    assert_eq!(applied.data()["applyForLoan"]["status"], "PENDING");

    // A customer cannot pay their own loan out.
    let refused = bank
        .query(
            Some(&ada.token),
            "mutation($id: ID!) { disburseLoan(id: $id) { id } }",
            json!({ "id": loan_id }),
        )
        .await;
    assert_eq!(refused.code(), Some("FORBIDDEN"));

    // Four eyes: the administrator's approval waits for a teller's, and so does the payout.
    let teller = bank.new_teller().await;
    let approve = "mutation($id: ID!) { approveLoan(id: $id) { status awaitingSecondStaff } }";
    let first = bank
        .query(Some(&admin), approve, json!({ "id": loan_id }))
        .await;
    assert_eq!(first.data()["approveLoan"]["status"], "PENDING");
    assert_eq!(first.data()["approveLoan"]["awaitingSecondStaff"], true);
    let approved = bank
        .query(Some(&teller), approve, json!({ "id": loan_id }))
        .await;
    assert_eq!(approved.data()["approveLoan"]["status"], "APPROVED");
    let disburse = format!("mutation($id: ID!) {{ disburseLoan(id: $id) {{ {LOAN} }} }}");
    let asked = bank
        .query(Some(&teller), &disburse, json!({ "id": loan_id }))
        .await;
    assert_eq!(asked.data()["disburseLoan"]["status"], "APPROVED");
    let paid_out = bank
        .query(Some(&admin), &disburse, json!({ "id": loan_id }))
        .await;
    let loan = &paid_out.data()["disburseLoan"];
    assert_eq!(loan["status"], "ACTIVE");
    assert_eq!(loan["schedule"].as_array().unwrap().len(), 5);
    // The account's number (accounts subgraph) and balance (ledger) on the loan.
    assert_eq!(loan["account"]["number"], account["number"]);
    assert_eq!(loan["account"]["balance"]["amount"], "500.00");

    let repaid = bank
        .query(
            Some(&ada.token),
            "mutation($i: RepayLoanInput!) { repayLoan(input: $i) { status amount { amount } transaction { kind amount { amount } } } }",
            json!({ "i": { "loanId": loan_id, "amount": "100", "idempotencyKey": Uuid::new_v4() } }),
        )
        .await;
    let repayment = &repaid.data()["repayLoan"];
    assert_eq!(repayment["status"], "POSTED");
    assert_eq!(repayment["transaction"]["kind"], "LOAN_REPAYMENT");
    assert_eq!(repayment["transaction"]["amount"]["amount"], "100.00");

    let mine = bank
        .query(
            Some(&ada.token),
            &format!("{{ me {{ loans {{ edges {{ node {{ {LOAN} }} }} }} }} }}"),
            json!({}),
        )
        .await;
    let node = &mine.data()["me"]["loans"]["edges"][0]["node"];
    assert_eq!(node["outstanding"]["amount"], "400.00");
    assert_eq!(node["schedule"][0]["status"], "PAID");
    assert_eq!(node["account"]["balance"]["amount"], "400.00");

    // The payout reaches the borrower's notification centre (through the loans topic).
    let mut titles: Vec<Value> = Vec::new();
    for _ in 0..60 {
        let list = bank
            .query(
                Some(&ada.token),
                "{ me { notifications(first: 20) { edges { node { kind title } } } } }",
                json!({}),
            )
            .await;
        titles = list.data()["me"]["notifications"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["node"]["kind"] == "LOAN")
            .map(|e| e["node"]["title"].clone())
            .collect();
        if titles
            .iter()
            .any(|t| t == "500.00 EUR paid into your account")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        titles
            .iter()
            .any(|t| t == "500.00 EUR paid into your account"),
        "loan notifications: {titles:?}"
    );
}
