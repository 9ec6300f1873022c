//! A crash between the ledger's commit and this service's record: the ledger's own event
//! completes the record, and a client retry with the same key does too, without moving money
//! twice.

use bank_testkit::data;
use loans_subgraph::{
    events::Reference,
    ledger::{LedgerClient, LoanMovement, LoanMovementKind},
    store,
};
use uuid::Uuid;

use crate::helpers::{eventually, spawn_app, spawn_app_with, SERVICE_TOKEN};

#[tokio::test]
async fn a_payout_and_a_repayment_the_ledger_posted_are_completed_from_its_events() {
    let app = spawn_app().await;
    let ada = app.customer();
    let staff = app.teller();
    let account = app.open_account(&ada, "EUR").await;
    let applied = app
        .apply(
            &ada,
            account,
            "MICRO_EUR",
            "200",
            2,
            &Uuid::new_v4().to_string(),
        )
        .await;
    let loan_id: Uuid = data(&applied)["applyForLoan"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.approve_by_two(&staff, &app.teller(), &loan_id.to_string())
        .await;

    // The service "crashes" after the ledger posts the payout: only the ledger call happens.
    let ledger = LedgerClient::new(&app.ledger_url, Some(SERVICE_TOKEN.into()));
    let payout = LoanMovement {
        kind: LoanMovementKind::LoanDisbursement,
        loan_id,
        account_id: account,
        owner_id: ada.id,
        amount: "200.00".into(),
        currency: "EUR".into(),
        key: "disbursement".into(),
        reference: Reference::Disbursement { loan_id }.render(),
    };
    ledger
        .move_money(&staff.token, &payout)
        .await
        .map_err(|err| err.into_api().message())
        .unwrap();
    eventually("the payout is recorded from the ledger's event", || async {
        store::find_loan(&app.db, loan_id)
            .await
            .unwrap()
            .unwrap()
            .status
            == "ACTIVE"
    })
    .await;
    assert_eq!(app.balance(account).await, 20_000);

    // Same for a repayment: the intent is recorded, the ledger posts, the record lags.
    let request = store::RepaymentRequest {
        loan_id,
        account_id: account,
        amount_minor: 5_000,
        key: Uuid::new_v4().to_string(),
        initiated_by: ada.id,
    };
    let store::Started::New(_, repayment) = store::start_repayment(&app.db, &request, |_| Ok(()))
        .await
        .unwrap()
    else {
        panic!("a new repayment");
    };
    let repay = LoanMovement {
        kind: LoanMovementKind::LoanRepayment,
        loan_id,
        account_id: account,
        owner_id: ada.id,
        amount: "50.00".into(),
        currency: "EUR".into(),
        key: repayment.id.to_string(),
        reference: Reference::Repayment {
            loan_id,
            repayment_id: repayment.id,
        }
        .render(),
    };
    ledger
        .move_money(&ada.token, &repay)
        .await
        .map_err(|err| err.into_api().message())
        .unwrap();
    eventually(
        "the repayment is recorded from the ledger's event",
        || async {
            store::find_repayment(&app.db, repayment.id)
                .await
                .unwrap()
                .unwrap()
                .status
                == "POSTED"
        },
    )
    .await;
    let loan = store::find_loan(&app.db, loan_id).await.unwrap().unwrap();
    assert_eq!(loan.repaid_minor, 5_000);
    assert_eq!(app.balance(account).await, 15_000);
    assert_eq!(app.ledger_transactions("LOAN_DISBURSEMENT").await, 1);
    assert_eq!(app.ledger_transactions("LOAN_REPAYMENT").await, 1);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_retry_with_the_same_key_completes_a_pending_repayment_without_moving_money_twice() {
    // No ledger events here: only the retry can complete it.
    let app = spawn_app_with(false).await;
    let (ada, account, loan) = app.active_loan("100", 2, "0").await;
    let loan_id: Uuid = loan.parse().unwrap();
    let key = Uuid::new_v4().to_string();
    let request = store::RepaymentRequest {
        loan_id,
        account_id: account,
        amount_minor: 2_500,
        key: key.clone(),
        initiated_by: ada.id,
    };
    let store::Started::New(_, repayment) = store::start_repayment(&app.db, &request, |_| Ok(()))
        .await
        .unwrap()
    else {
        panic!("a new repayment");
    };
    let repay = LoanMovement {
        kind: LoanMovementKind::LoanRepayment,
        loan_id,
        account_id: account,
        owner_id: ada.id,
        amount: "25.00".into(),
        currency: "EUR".into(),
        key: repayment.id.to_string(),
        reference: Reference::Repayment {
            loan_id,
            repayment_id: repayment.id,
        }
        .render(),
    };
    LedgerClient::new(&app.ledger_url, Some(SERVICE_TOKEN.into()))
        .move_money(&ada.token, &repay)
        .await
        .map_err(|err| err.into_api().message())
        .unwrap();
    assert_eq!(app.balance(account).await, 7_500);
    let pending = store::find_repayment(&app.db, repayment.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.status, "PENDING");

    let retried = app.repay(&ada, &loan, "25", &key).await;
    assert_eq!(data(&retried)["repayLoan"]["id"], repayment.id.to_string());
    assert_eq!(data(&retried)["repayLoan"]["status"], "POSTED");
    assert_eq!(app.balance(account).await, 7_500, "the money moved once");
    assert_eq!(app.ledger_transactions("LOAN_REPAYMENT").await, 1);
    let loan_now = app.loan(&ada, &loan).await;
    assert_eq!(data(&loan_now)["loan"]["outstanding"]["amount"], "75.00");
    app.assert_ledger_consistent().await;
}
