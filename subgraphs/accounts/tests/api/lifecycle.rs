use bank_testkit::{data, error_code};
use serde_json::json;

use crate::helpers::{spawn_app, ACCOUNT_FIELDS};

fn freeze_query() -> String {
    format!("mutation($id: ID!, $r: String!) {{ freezeAccount(id: $id, reason: $r) {{ {ACCOUNT_FIELDS} }} }}")
}

fn unfreeze_query() -> String {
    format!("mutation($id: ID!) {{ unfreezeAccount(id: $id) {{ {ACCOUNT_FIELDS} }} }}")
}

#[tokio::test]
async fn a_teller_freezes_and_unfreezes_an_account() {
    let app = spawn_app().await;
    let (ada, teller) = (app.customer(), app.teller());
    let account = app.opened(&ada).await;
    let frozen = app
        .client
        .query(
            Some(&teller.token),
            &freeze_query(),
            json!({ "id": account["id"], "r": "suspected fraud" }),
        )
        .await;
    assert_eq!(data(&frozen)["freezeAccount"]["status"], "FROZEN");
    assert_eq!(
        data(&frozen)["freezeAccount"]["freezeReason"],
        "suspected fraud"
    );

    // The owner sees it frozen.
    let seen = app.account(&ada, account["id"].as_str().unwrap()).await;
    assert_eq!(data(&seen)["account"]["status"], "FROZEN");

    let thawed = app
        .client
        .query(
            Some(&teller.token),
            &unfreeze_query(),
            json!({ "id": account["id"] }),
        )
        .await;
    assert_eq!(data(&thawed)["unfreezeAccount"]["status"], "ACTIVE");
    assert!(data(&thawed)["unfreezeAccount"]["freezeReason"].is_null());
}

#[tokio::test]
async fn customers_cannot_freeze_accounts() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let account = app.opened(&ada).await;
    let own = app
        .client
        .query(
            Some(&ada.token),
            &freeze_query(),
            json!({ "id": account["id"], "r": "mine" }),
        )
        .await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"));
    let other = app
        .client
        .query(
            Some(&bob.token),
            &freeze_query(),
            json!({ "id": account["id"], "r": "theirs" }),
        )
        .await;
    assert_eq!(error_code(&other), Some("NOT_FOUND"));
    let seen = app.account(&ada, account["id"].as_str().unwrap()).await;
    assert_eq!(data(&seen)["account"]["status"], "ACTIVE");
}

#[tokio::test]
async fn a_freeze_needs_a_reason() {
    let app = spawn_app().await;
    let (ada, teller) = (app.customer(), app.teller());
    let account = app.opened(&ada).await;
    let response = app
        .client
        .query(
            Some(&teller.token),
            &freeze_query(),
            json!({ "id": account["id"], "r": "   " }),
        )
        .await;
    assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
    assert_eq!(response["errors"][0]["extensions"]["field"], "reason");
}
