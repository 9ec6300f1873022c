//! Reconciliation: the payments service's records against the ledger's postings, clean after
//! real payments and reporting each disagreement a fault leaves behind.

use std::collections::BTreeSet;

use bank_common::auth::Role;
use bank_testkit::{data, error_code};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, LOANS_TOKEN, SERVICE_TOKEN};

const RECONCILIATION: &str =
    "{ _entities(representations: [{ __typename: \"Reconciliation\", id: \"bank\" }]) \
    { ... on Reconciliation { payments { ok recordsChecked ledgerTransactionsChecked \
      mismatches { kind reference detail } suspense { reference } } } } }";

async fn reconcile(app: &TestApp) -> Value {
    let staff = app.caller(&[Role::Admin]);
    let answer = app.gql(&staff, RECONCILIATION, json!({})).await;
    data(&answer)["_entities"][0]["payments"].clone()
}

fn found(report: &Value) -> BTreeSet<(String, String)> {
    report["mismatches"]
        .as_array()
        .expect("mismatches")
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_string(),
                m["reference"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn sql(db: &sea_orm::DatabaseConnection, statement: &str) {
    db.execute_unprepared(statement).await.expect(statement);
}

#[tokio::test]
async fn payments_reconcile_with_the_ledger_and_every_disagreement_is_reported() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.funded_account(&ada, "EUR", "500").await;
    let settled = app.send_new(&ada, account, "10.00", "Invoice 1").await;
    let returned = app.send_new(&ada, account, "20.00", "REJECT me").await;
    let no_callback = app.send_new(&ada, account, "30.00", "NOCALLBACK").await;
    let deleted = app.send_new(&ada, account, "40.00", "Invoice 4").await;
    app.wait_for_status(&ada, &settled, "COMPLETED").await;
    app.wait_for_status(&ada, &returned, "RETURNED").await;
    app.wait_for_status(&ada, &no_callback, "SUBMITTED").await;
    app.wait_for_status(&ada, &deleted, "COMPLETED").await;

    let clean = reconcile(&app).await;
    assert_eq!(clean["ok"], true, "{clean:#}");
    assert_eq!(clean["recordsChecked"], 4);
    assert_eq!(
        clean["ledgerTransactionsChecked"], 5,
        "four debits and one reversal"
    );
    let customer = app.gql(&ada, RECONCILIATION, json!({})).await;
    assert_eq!(error_code(&customer), Some("FORBIDDEN"));

    // Faults as a bug or a hand-made UPDATE would leave them.
    let db = &app.db;
    sql(
        db,
        &format!("UPDATE payments SET amount_minor = amount_minor + 1 WHERE id = '{settled}'"),
    )
    .await;
    sql(
        db,
        &format!("UPDATE payments SET status = 'COMPLETED' WHERE id = '{returned}'"),
    )
    .await;
    sql(
        db,
        &format!(
            "UPDATE payments SET updated_at = now() - interval '4 days' WHERE id = '{no_callback}'"
        ),
    )
    .await;
    sql(db, &format!("DELETE FROM payments WHERE id = '{deleted}'")).await;
    let never_debited = app
        .record_by_hand(&ada, account, "recorded-without-debit")
        .await;
    sql(
        db,
        &format!(
            "UPDATE payments SET status = 'COMPLETED' WHERE id = '{}'",
            never_debited.id
        ),
    )
    .await;
    sql(
        &app.ledger_db,
        &format!(
            "UPDATE ledger_accounts SET balance_minor = balance_minor - 100 WHERE account_id = '{}'",
            transactions_subgraph::store::InternalAccount::Clearing
                .id(bank_common::money::Currency::parse("EUR").unwrap())
        ),
    )
    .await;

    let report = reconcile(&app).await;
    assert_eq!(report["ok"], false);
    let expected: BTreeSet<(String, String)> = [
        ("AMOUNT_DIFFERS", format!("payment:{settled}:debit")),
        ("UNEXPECTED_POSTING", format!("payment:{returned}:reversal")),
        ("STUCK", format!("payment:{no_callback}")),
        ("UNKNOWN_REFERENCE", format!("payment:{deleted}:debit")),
        (
            "MISSING_POSTING",
            format!("payment:{}:debit", never_debited.id),
        ),
        ("UNEXPLAINED_BALANCE", "clearing:EUR".to_string()),
    ]
    .into_iter()
    .map(|(kind, reference)| (kind.to_string(), reference))
    .collect();
    assert_eq!(found(&report), expected, "{report:#}");
    assert_eq!(
        app.metric("reconciliation_mismatches{kind=\"MISSING_POSTING\",records=\"payments\"")
            .await,
        1
    );
    assert_eq!(
        app.metric("reconciliation_runs_total{outcome=\"mismatches\",records=\"payments\"")
            .await,
        1
    );
}

#[tokio::test]
async fn the_ledgers_side_is_for_the_service_token_only() {
    let app = spawn_app().await;
    let url = format!("http://{}/internal/reconciliation", app.ledger_addr);
    let body = json!({ "prefixes": ["payment:"], "purposes": ["clearing"] });
    let http = reqwest::Client::new();
    let anonymous = http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let staff = app.caller(&[Role::Admin]);
    let with_a_user_token = http
        .post(&url)
        .bearer_auth(&staff.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(with_a_user_token.status(), 401);
    let pattern = http
        .post(&url)
        .header("x-service-token", SERVICE_TOKEN)
        .json(&json!({ "prefixes": ["%"], "purposes": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(pattern.status(), 409);
    let answer: Value = pattern.json().await.unwrap();
    assert_eq!(answer["code"], "BAD_USER_INPUT");
    // Another service's token reads no payments.
    let loans = http
        .post(&url)
        .header("x-service-token", LOANS_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(loans.status(), 403);
    let fine = http
        .post(&url)
        .header("x-service-token", SERVICE_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 200);
}
