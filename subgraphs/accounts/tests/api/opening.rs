use accounts_subgraph::domain::AccountNumber;
use bank_testkit::{data, error_code};

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_opened_account_is_active_with_a_valid_number() {
    let app = spawn_app().await;
    let ada = app.customer();
    let response = app.open(&ada, "SAVINGS", "eur", Some("  Holidays ")).await;
    let account = &data(&response)["openAccount"];
    assert_eq!(account["status"], "ACTIVE");
    assert_eq!(account["kind"], "SAVINGS");
    assert_eq!(account["currency"], "EUR");
    assert_eq!(account["nickname"], "Holidays");
    assert_eq!(account["owner"]["id"], ada.id.to_string());
    AccountNumber::parse(account["number"].as_str().unwrap()).expect("check digits are right");
}

#[tokio::test]
async fn unsupported_currencies_and_long_nicknames_are_bad_input() {
    let app = spawn_app().await;
    let ada = app.customer();
    let currency = app.open(&ada, "CHECKING", "XYZ", None).await;
    assert_eq!(error_code(&currency), Some("BAD_USER_INPUT"));
    assert_eq!(currency["errors"][0]["extensions"]["field"], "currency");
    let nickname = app
        .open(&ada, "CHECKING", "EUR", Some(&"n".repeat(51)))
        .await;
    assert_eq!(error_code(&nickname), Some("BAD_USER_INPUT"));
    assert_eq!(nickname["errors"][0]["extensions"]["field"], "nickname");
}

#[tokio::test]
async fn a_customer_holds_at_most_ten_open_accounts_even_when_opening_concurrently() {
    let app = spawn_app().await;
    let ada = app.customer();
    let attempts =
        futures::future::join_all((0..14).map(|_| app.open(&ada, "CHECKING", "EUR", None))).await;
    let opened = attempts
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    let refused: Vec<_> = attempts.iter().filter_map(error_code).collect();
    assert_eq!(opened, 10);
    assert_eq!(refused, vec!["LIMIT_EXCEEDED"; 4]);
}

#[tokio::test]
async fn account_numbers_are_unique() {
    let app = spawn_app().await;
    let mut numbers = std::collections::HashSet::new();
    for _ in 0..5 {
        let owner = app.customer();
        for _ in 0..4 {
            let account = app.opened(&owner).await;
            assert!(numbers.insert(account["number"].as_str().unwrap().to_string()));
        }
    }
}
