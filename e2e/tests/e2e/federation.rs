use bank_e2e::Bank;
use serde_json::json;

#[tokio::test]
async fn one_query_spans_users_and_accounts() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("ada").await;
    let checking = bank.open_account(&ada, "EUR").await;
    let savings = bank.open_account(&ada, "USD").await;

    // Signing in again returns the same person.
    let login = bank.login(&ada.email, bank_e2e::PASSWORD).await;
    let token = login.data()["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();

    // `me` comes from users, `accounts` from accounts, `owner.email` from users again.
    let reply = bank
        .query(
            Some(&token),
            "{ me { id email accounts { id number currency owner { email } } } }",
            json!({}),
        )
        .await;
    let me = &reply.data()["me"];
    assert_eq!(me["id"], ada.id.as_str());
    let accounts = me["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0]["id"], checking["id"]);
    assert_eq!(accounts[1]["number"], savings["number"]);
    assert_eq!(accounts[1]["currency"], "USD");
    assert_eq!(accounts[0]["owner"]["email"], ada.email.as_str());
}

#[tokio::test]
async fn a_customer_cannot_read_another_customers_account() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("ada").await;
    let bob = bank.new_customer("bob").await;
    let account = bank.open_account(&ada, "EUR").await;

    let query = "query($id: ID!) { account(id: $id) { id number owner { email } } }";
    let as_bob = bank
        .query(Some(&bob.token), query, json!({ "id": account["id"] }))
        .await;
    assert_eq!(as_bob.code(), Some("NOT_FOUND"), "{as_bob:#?}");
    assert!(as_bob.body["data"]["account"].is_null());

    let as_ada = bank
        .query(Some(&ada.token), query, json!({ "id": account["id"] }))
        .await;
    assert_eq!(
        as_ada.data()["account"]["owner"]["email"],
        ada.email.as_str()
    );
}
