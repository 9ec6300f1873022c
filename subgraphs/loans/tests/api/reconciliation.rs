//! Reconciliation: loan payouts and repayments against the ledger's postings and its loan
//! funding account, clean after real loans and reporting each disagreement a fault leaves.

use std::collections::BTreeSet;

use bank_common::auth::Role;
use bank_testkit::{data, error_code};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp};

const RECONCILIATION: &str =
    "{ _entities(representations: [{ __typename: \"Reconciliation\", id: \"bank\" }]) \
    { ... on Reconciliation { loans { ok recordsChecked ledgerTransactionsChecked \
      mismatches { kind reference detail } } } } }";

async fn reconcile(app: &TestApp) -> Value {
    let staff = app.caller(&[Role::Admin]);
    let answer = app.gql(&staff, RECONCILIATION, json!({})).await;
    data(&answer)["_entities"][0]["loans"].clone()
}

async fn sql(db: &sea_orm::DatabaseConnection, statement: &str) {
    db.execute_unprepared(statement).await.expect(statement);
}

#[tokio::test]
async fn loans_reconcile_with_the_ledger_and_every_disagreement_is_reported() {
    let app = spawn_app().await;
    let (ada, _account, loan) = app.active_loan("100", 2, "50").await;
    let repaid = app
        .repay(&ada, &loan, "10", &Uuid::new_v4().to_string())
        .await;
    let repayment = data(&repaid)["repayLoan"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, _, second_loan) = app.active_loan("200", 2, "0").await;

    let clean = reconcile(&app).await;
    assert_eq!(clean["ok"], true, "{clean:#}");
    assert_eq!(clean["recordsChecked"], 3, "two loans, one repayment");
    assert_eq!(
        clean["ledgerTransactionsChecked"], 3,
        "two payouts, one repayment"
    );
    let customer = app.gql(&ada, RECONCILIATION, json!({})).await;
    assert_eq!(error_code(&customer), Some("FORBIDDEN"));

    sql(
        &app.db,
        &format!("UPDATE repayments SET amount_minor = 900 WHERE id = '{repayment}'"),
    )
    .await;
    sql(
        &app.db,
        &format!("UPDATE loans SET status = 'APPROVED' WHERE id = '{loan}'"),
    )
    .await;
    sql(
        &app.db,
        &format!("UPDATE loans SET status = 'REJECTED' WHERE id = '{second_loan}'"),
    )
    .await;

    let report = reconcile(&app).await;
    assert_eq!(report["ok"], false);
    let found: BTreeSet<(String, String)> = report["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_string(),
                m["reference"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        (
            "AMOUNT_DIFFERS",
            format!("loan:{loan}:repayment:{repayment}"),
        ),
        ("RECORDS_DISAGREE", format!("loan:{loan}")),
        (
            "UNEXPECTED_POSTING",
            format!("loan:{second_loan}:disbursement"),
        ),
    ]
    .into_iter()
    .map(|(kind, reference)| (kind.to_string(), reference))
    .collect();
    assert_eq!(found, expected, "{report:#}");
}
