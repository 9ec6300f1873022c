use bank_testkit::{data, error_code};
use serde_json::json;

use crate::helpers::{spawn_app, ACCOUNT_FIELDS};

#[tokio::test]
async fn a_customer_reads_their_own_account() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.opened(&ada).await;
    let read = app.account(&ada, account["id"].as_str().unwrap()).await;
    assert_eq!(data(&read)["account"]["number"], account["number"]);
}

#[tokio::test]
async fn another_customers_account_is_not_found() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let account = app.opened(&ada).await;
    let read = app.account(&bob, account["id"].as_str().unwrap()).await;
    assert_eq!(error_code(&read), Some("NOT_FOUND"));
    // Exactly what an id that does not exist gets, so ids cannot be probed.
    let missing = app.account(&bob, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(error_code(&missing), Some("NOT_FOUND"));
    assert_eq!(
        read["errors"][0]["message"],
        missing["errors"][0]["message"]
    );
    let garbage = app.account(&bob, "not-a-uuid").await;
    assert_eq!(error_code(&garbage), Some("NOT_FOUND"));
}

#[tokio::test]
async fn staff_read_any_account() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.opened(&ada).await;
    let read = app
        .account(&app.teller(), account["id"].as_str().unwrap())
        .await;
    assert_eq!(data(&read)["account"]["id"], account["id"]);
}

#[tokio::test]
async fn user_accounts_lists_own_accounts_and_refuses_others() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let first = app.opened(&ada).await;
    let second = app.opened(&ada).await;
    app.opened(&bob).await;
    let own = app.user_accounts(&ada, ada.id).await;
    let listed = &data(&own)["_entities"][0]["accounts"];
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["id"], first["id"]);
    assert_eq!(listed[1]["id"], second["id"]);

    let others = app.user_accounts(&bob, ada.id).await;
    assert_eq!(error_code(&others), Some("FORBIDDEN"));
}

#[tokio::test]
async fn account_entities_resolve_only_for_those_allowed_to_see_them() {
    let app = spawn_app().await;
    let (ada, bob) = (app.customer(), app.customer());
    let account = app.opened(&ada).await;
    let query = format!("query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on Account {{ {ACCOUNT_FIELDS} }} }} }}");
    let vars = json!({ "r": [{ "__typename": "Account", "id": account["id"] }] });
    let as_owner = app
        .client
        .query(Some(&ada.token), &query, vars.clone())
        .await;
    assert_eq!(data(&as_owner)["_entities"][0]["id"], account["id"]);
    let as_other = app.client.query(Some(&bob.token), &query, vars).await;
    assert!(data(&as_other)["_entities"][0].is_null());
}

#[tokio::test]
async fn an_account_is_found_by_its_number_with_spaces() {
    let app = spawn_app().await;
    let ada = app.customer();
    let account = app.opened(&ada).await;
    let number = account["number"].as_str().unwrap();
    let spaced: String = number
        .chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    let query = "query($n: String!) { accountByNumber(number: $n) { id } }";
    let found = app
        .client
        .query(Some(&ada.token), query, json!({ "n": spaced }))
        .await;
    assert_eq!(data(&found)["accountByNumber"]["id"], account["id"]);

    let mut typo = number.to_string();
    typo.replace_range(5..6, if &number[5..6] == "9" { "0" } else { "9" });
    let bad = app
        .client
        .query(Some(&ada.token), query, json!({ "n": typo }))
        .await;
    assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"));
}
