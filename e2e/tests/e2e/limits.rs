use bank_e2e::Bank;
use serde_json::json;

#[tokio::test]
async fn a_query_deeper_than_the_limit_is_refused_before_planning() {
    let bank = Bank::from_env().unwrap();
    let customer = bank.new_customer("deep").await;
    let mut selection = "id".to_string();
    for _ in 0..6 {
        selection = format!("accounts {{ owner {{ {selection} }} }}");
    }
    let reply = bank
        .query(
            Some(&customer.token),
            &format!("{{ me {{ {selection} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(reply.code(), Some("MAX_DEPTH_EXCEEDED"), "{reply:#?}");
    assert!(reply.body.get("data").is_none_or(|d| d.is_null()));
}

#[tokio::test]
async fn a_query_within_the_limit_is_answered() {
    let bank = Bank::from_env().unwrap();
    let customer = bank.new_customer("shallow").await;
    let reply = bank
        .query(
            Some(&customer.token),
            "{ me { accounts { owner { id } } } }",
            json!({}),
        )
        .await;
    reply.data();
}

#[tokio::test]
async fn too_many_aliases_are_refused() {
    let bank = Bank::from_env().unwrap();
    let customer = bank.new_customer("alias").await;
    let aliases: Vec<String> = (0..40).map(|i| format!("a{i}: me {{ id }}")).collect();
    let reply = bank
        .query(
            Some(&customer.token),
            &format!("{{ {} }}", aliases.join(" ")),
            json!({}),
        )
        .await;
    assert!(reply.body["errors"].is_array(), "{reply:#?}");
    assert!(
        reply.body.get("data").is_none_or(|d| d.is_null()),
        "{reply:#?}"
    );
}
