use bank_e2e::Bank;
use serde_json::json;

const FREEZE: &str = "mutation($id: ID!, $r: String!) { freezeAccount(id: $id, reason: $r) { id status freezeReason } }";

#[tokio::test]
async fn staff_freeze_and_unfreeze_through_the_gateway() {
    let bank = Bank::from_env().unwrap();
    let ada = bank.new_customer("frozen").await;
    let account = bank.open_account(&ada, "EUR").await;

    let refused = bank
        .query(
            Some(&ada.token),
            FREEZE,
            json!({ "id": account["id"], "r": "self" }),
        )
        .await;
    assert_eq!(refused.code(), Some("FORBIDDEN"));

    let admin = bank.admin_token().await;
    let frozen = bank
        .query(
            Some(&admin),
            FREEZE,
            json!({ "id": account["id"], "r": "court order" }),
        )
        .await;
    assert_eq!(frozen.data()["freezeAccount"]["status"], "FROZEN");

    let seen = bank
        .query(
            Some(&ada.token),
            "query($id: ID!) { account(id: $id) { status freezeReason } }",
            json!({ "id": account["id"] }),
        )
        .await;
    assert_eq!(seen.data()["account"]["status"], "FROZEN");
    assert_eq!(seen.data()["account"]["freezeReason"], "court order");

    let thawed = bank
        .query(
            Some(&admin),
            "mutation($id: ID!) { unfreezeAccount(id: $id) { status } }",
            json!({ "id": account["id"] }),
        )
        .await;
    assert_eq!(thawed.data()["unfreezeAccount"]["status"], "ACTIVE");
}
