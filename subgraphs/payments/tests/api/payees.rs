use bank_testkit::{data, error_code};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn payees_are_saved_by_iban_checked_and_private() {
    let app = spawn_app().await;
    let ada = app.customer();
    let bob = app.customer();
    let add = "mutation($i: AddPayeeInput!) { addPayee(input: $i) { id name iban } }";
    let grace = app
        .gql(
            &ada,
            add,
            json!({ "i": { "name": "Grace", "iban": "de89 3704 0044 0532 0130 00" } }),
        )
        .await;
    let grace = data(&grace)["addPayee"].clone();
    assert_eq!(grace["iban"], "DE89370400440532013000");
    // The same IBAN again is the same payee, renamed.
    let again = app
        .gql(
            &ada,
            add,
            json!({ "i": { "name": "Grace Hopper", "iban": "DE89370400440532013000" } }),
        )
        .await;
    assert_eq!(data(&again)["addPayee"]["id"], grace["id"]);
    assert_eq!(data(&again)["addPayee"]["name"], "Grace Hopper");
    data(
        &app.gql(
            &ada,
            add,
            json!({ "i": { "name": "Alan", "iban": "GB82WEST12345698765432" } }),
        )
        .await,
    );

    let typo = app
        .gql(
            &ada,
            add,
            json!({ "i": { "name": "Typo", "iban": "DE89370400440532013001" } }),
        )
        .await;
    assert_eq!(error_code(&typo), Some("BAD_USER_INPUT"));
    assert_eq!(typo["errors"][0]["extensions"]["field"], "iban");
    let nameless = app
        .gql(
            &ada,
            add,
            json!({ "i": { "name": " ", "iban": "GB82WEST12345698765432" } }),
        )
        .await;
    assert_eq!(nameless["errors"][0]["extensions"]["field"], "name");

    let list = "query($id: ID!) { _entities(representations: [{ __typename: \"User\", id: $id }]) { ... on User { payees { id name } } } }";
    let mine = app.gql(&ada, list, json!({ "id": ada.id })).await;
    let names: Vec<&str> = data(&mine)["_entities"][0]["payees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alan", "Grace Hopper"]);
    let theirs = app.gql(&bob, list, json!({ "id": ada.id })).await;
    assert_eq!(error_code(&theirs), Some("FORBIDDEN"));

    let remove = "mutation($id: ID!) { removePayee(id: $id) }";
    let by_bob = app.gql(&bob, remove, json!({ "id": grace["id"] })).await;
    assert_eq!(data(&by_bob)["removePayee"], false, "not Bob's to remove");
    let by_ada = app.gql(&ada, remove, json!({ "id": grace["id"] })).await;
    assert_eq!(data(&by_ada)["removePayee"], true);
}
