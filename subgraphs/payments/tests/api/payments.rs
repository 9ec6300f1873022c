use std::time::Duration;

use bank_testkit::{data, error_code};
use futures::future::join_all;
use payments_subgraph::{
    ledger::{Caller as LedgerCaller, LedgerClient, PaymentMovement, Refused},
    store,
};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with};
use transactions_subgraph::events as ledger_events;

/// Asks the ledger to post a payment's movement; a refusal comes back as its message.
async fn post(
    ledger: &LedgerClient,
    caller: LedgerCaller<'_>,
    movement: &PaymentMovement,
) -> Result<payments_subgraph::ledger::Posted, String> {
    ledger
        .move_money(caller, movement)
        .await
        .map_err(|err| err.into_api().message())
}

#[tokio::test]
async fn a_payment_is_debited_once_sent_and_settled() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let key = Uuid::new_v4().to_string();

    let sent = app.send(&ada, account, "30.00", "Invoice 42", &key).await;
    let payment = data(&sent)["sendPayment"].clone();
    let id = payment["id"].as_str().unwrap().to_string();
    assert_eq!(
        payment["status"], "QUEUED",
        "debited and waiting for the gateway"
    );
    assert_eq!(payment["creditorIban"], "DE89370400440532013000");
    assert!(payment["debit"]["id"].is_string());
    assert_eq!(app.balance(account).await, 7_000, "debited at once");

    let settled = app.wait_for_status(&ada, &id, "COMPLETED").await;
    assert!(settled["gatewayReference"]
        .as_str()
        .unwrap()
        .starts_with("GW"));
    // A retry is the same payment, and moves nothing; other input under the key is refused.
    let again = app.send(&ada, account, "30.00", "Invoice 42", &key).await;
    assert_eq!(data(&again)["sendPayment"]["id"], id.as_str());
    assert_eq!(data(&again)["sendPayment"]["status"], "COMPLETED");
    let other = app.send(&ada, account, "31.00", "Invoice 42", &key).await;
    assert_eq!(error_code(&other), Some("IDEMPOTENCY_KEY_REUSED"));
    assert_eq!(app.balance(account).await, 7_000);
    assert_eq!(app.ledger_transactions("EXTERNAL_PAYMENT").await, 1);

    // The customer's list, newest first; others see nothing.
    let list = "query($id: ID!) { _entities(representations: [{ __typename: \"User\", id: $id }]) { ... on User { payments(first: 5) { edges { node { id status } } } } } }";
    let mine = app.gql(&ada, list, json!({ "id": ada.id })).await;
    assert_eq!(
        data(&mine)["_entities"][0]["payments"]["edges"][0]["node"]["id"],
        id.as_str()
    );
    let bob = app.customer();
    assert_eq!(error_code(&app.payment(&bob, &id).await), Some("NOT_FOUND"));
    let from_ada = app
        .send(&bob, account, "1", "", &Uuid::new_v4().to_string())
        .await;
    assert_eq!(error_code(&from_ada), Some("NOT_FOUND"));
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn rejected_payments_come_back_to_the_account() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;

    // Rejected by the other bank after acceptance (a callback)...
    let later = app
        .send(
            &ada,
            account,
            "20",
            "REJECT please",
            &Uuid::new_v4().to_string(),
        )
        .await;
    let later_id = data(&later)["sendPayment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // ...and refused by the gateway outright.
    let refused = app
        .send(
            &ada,
            account,
            "10",
            "REFUSE please",
            &Uuid::new_v4().to_string(),
        )
        .await;
    let refused_id = data(&refused)["sendPayment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.balance(account).await, 7_000);

    for id in [&later_id, &refused_id] {
        let back = app.wait_for_status(&ada, id, "RETURNED").await;
        assert_eq!(back["failureCode"], "REJECTED_BY_GATEWAY");
        assert!(back["reversal"]["id"].is_string());
        assert!(!back["failureReason"].as_str().unwrap().is_empty());
    }
    assert_eq!(app.balance(account).await, 10_000, "every cent is back");
    assert_eq!(app.ledger_transactions("REVERSAL").await, 2);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn an_unavailable_gateway_is_retried_until_it_takes_the_payment() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "50").await;
    let sent = app
        .send(
            &ada,
            account,
            "5",
            "FLAKY gateway",
            &Uuid::new_v4().to_string(),
        )
        .await;
    let id = data(&sent)["sendPayment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.wait_for_status(&ada, &id, "COMPLETED").await;
    let row = store::find_payment(&app.db, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.attempts >= 3,
        "two refusals, then accepted: {} attempts",
        row.attempts
    );
    assert_eq!(app.balance(account).await, 4_500);
}

#[tokio::test]
async fn payments_racing_for_one_balance_never_overdraw_it() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let attempts = (0..20).map(|n| {
        let (app, ada) = (&app, ada.clone());
        async move {
            app.send(
                &ada,
                account,
                "10",
                &format!("race {n}"),
                &Uuid::new_v4().to_string(),
            )
            .await
        }
    });
    let answers = join_all(attempts).await;
    let queued = answers
        .iter()
        .filter(|a| a["data"]["sendPayment"]["status"] == "QUEUED")
        .count();
    let broke = answers
        .iter()
        .filter(|a| error_code(a) == Some("INSUFFICIENT_FUNDS"))
        .count();
    assert_eq!((queued, broke), (10, 10), "{answers:#?}");
    assert_eq!(app.balance(account).await, 0);
    // A refused payment stays refused on replay, and moved nothing.
    let key = Uuid::new_v4().to_string();
    let first = app.send(&ada, account, "1", "one more", &key).await;
    assert_eq!(error_code(&first), Some("INSUFFICIENT_FUNDS"));
    let replay = app.send(&ada, account, "1", "one more", &key).await;
    assert_eq!(error_code(&replay), Some("INSUFFICIENT_FUNDS"));
    assert_eq!(app.ledger_transactions("EXTERNAL_PAYMENT").await, 10);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn an_interrupted_payment_is_finished_by_the_worker_without_a_second_debit() {
    // PENDING payments older than 0 s are the worker's to finish.
    let app = spawn_app_with(Duration::ZERO).await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    // One stopped before the ledger was asked...
    let never_asked = app.record_by_hand(&ada, account, "a").await;
    // ...one after the ledger posted its debit but before it was recorded.
    let posted = app.record_by_hand(&ada, account, "b").await;
    let ledger = app.ledger_as_service();
    post(
        &ledger,
        LedgerCaller::User(&ada.token),
        &PaymentMovement::debit(&posted, "25.00".into()),
    )
    .await
    .unwrap();
    for payment in [&never_asked, &posted] {
        app.wait_for_status(&ada, &payment.id.to_string(), "COMPLETED")
            .await;
    }
    assert_eq!(
        app.balance(account).await,
        5_000,
        "two payments, two debits"
    );
    assert_eq!(app.ledger_transactions("EXTERNAL_PAYMENT").await, 2);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_reversal_gives_back_only_what_its_payment_debited() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "100").await;
    let other = app.funded_account(&ada, "EUR", "1").await;
    let payment = app.record_by_hand(&ada, account, "reversal-test").await;
    let ledger = app.ledger_as_service();
    let refused =
        |outcome: Result<payments_subgraph::ledger::Posted, Refused>, why: &str| match outcome {
            Err(Refused::Rule(err)) => {
                assert_eq!(err.code(), "BAD_USER_INPUT", "{}", err.message());
                assert!(err.message().contains(why), "{why}: {}", err.message());
            }
            other => panic!(
                "refused ({why}), not {:?}",
                other.map(|posted| posted.transaction_id)
            ),
        };

    // Nothing was debited yet: nothing to give back.
    refused(
        ledger
            .move_money(
                LedgerCaller::Service,
                &PaymentMovement::reversal(&payment, "25.00".into()),
            )
            .await,
        "nothing to give back",
    );
    post(
        &ledger,
        LedgerCaller::User(&ada.token),
        &PaymentMovement::debit(&payment, "25.00".into()),
    )
    .await
    .unwrap();
    // More than the debit, or to another account: refused.
    refused(
        ledger
            .move_money(
                LedgerCaller::Service,
                &PaymentMovement::reversal(&payment, "25.01".into()),
            )
            .await,
        "at most the payment's debit",
    );
    let mut elsewhere = payment.clone();
    elsewhere.from_account_id = other;
    refused(
        ledger
            .move_money(
                LedgerCaller::Service,
                &PaymentMovement::reversal(&elsewhere, "25.00".into()),
            )
            .await,
        "debited from",
    );
    assert_eq!(app.balance(account).await, 7_500);
    assert_eq!(app.balance(other).await, 100);

    // A frozen account holds the reversal up; once unfrozen, the same request (same key) posts:
    // money the bank owes a customer is never refused for good.
    app.account_status(account, ledger_events::ACCOUNT_FROZEN)
        .await;
    match ledger
        .move_money(
            LedgerCaller::Service,
            &PaymentMovement::reversal(&payment, "25.00".into()),
        )
        .await
    {
        Err(Refused::Rule(err)) => assert_eq!(err.code(), "ACCOUNT_NOT_ACTIVE"),
        other => panic!(
            "held up by the frozen account: {:?}",
            other.map(|p| p.transaction_id)
        ),
    }
    app.account_status(account, ledger_events::ACCOUNT_UNFROZEN)
        .await;

    // The debit's own reversal: posted once, and a repeat is the same transaction.
    let back = post(
        &ledger,
        LedgerCaller::Service,
        &PaymentMovement::reversal(&payment, "25.00".into()),
    )
    .await
    .unwrap();
    let again = post(
        &ledger,
        LedgerCaller::Service,
        &PaymentMovement::reversal(&payment, "25.00".into()),
    )
    .await
    .unwrap();
    assert_eq!(back.transaction_id, again.transaction_id);
    assert_eq!(app.balance(account).await, 10_000);
    app.assert_ledger_consistent().await;
}

#[tokio::test]
async fn money_returned_to_a_closed_account_is_held_in_suspense_not_stranded() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "25").await;
    let payment = app.record_by_hand(&ada, account, "suspense-test").await;
    let ledger = app.ledger_as_service();
    post(
        &ledger,
        LedgerCaller::User(&ada.token),
        &PaymentMovement::debit(&payment, "25.00".into()),
    )
    .await
    .unwrap();
    // The account is empty, so the customer closes it; then the other bank sends the money back.
    app.account_status(account, ledger_events::ACCOUNT_CLOSED)
        .await;
    let back = post(
        &ledger,
        LedgerCaller::Service,
        &PaymentMovement::reversal(&payment, "25.00".into()),
    )
    .await
    .expect("the reversal posts: to suspense");
    assert_eq!(
        app.balance(account).await,
        0,
        "nothing lands in the closed account"
    );

    let suspense = transactions_subgraph::store::InternalAccount::Suspense
        .id(bank_common::money::Currency::parse("EUR").unwrap());
    let held: i64 = app
        .ledger_db
        .query_one(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT balance_minor FROM ledger_accounts WHERE account_id = $1",
            [suspense.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "balance_minor")
        .unwrap();
    assert_eq!(held, 2_500, "held in suspense");
    let event: serde_json::Value = app
        .ledger_db
        .query_one(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT payload FROM outbox WHERE event_type = 'bank.ledger.suspense.v1'",
            [],
        ))
        .await
        .unwrap()
        .expect("a suspense event for staff")
        .try_get("", "payload")
        .unwrap();
    assert_eq!(event["data"]["accountId"], account.to_string());
    assert_eq!(
        event["data"]["transactionId"],
        back.transaction_id.to_string()
    );
    assert_eq!(event["data"]["amountMinor"], 2_500);
    app.assert_ledger_consistent().await;
}
