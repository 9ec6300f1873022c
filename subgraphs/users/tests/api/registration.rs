use bank_testkit::{data, error_code};
use serde_json::json;

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn a_registered_customer_can_read_themselves() {
    let app = spawn_app().await;
    let response = app
        .register("  Ada@Example.com ", PASSWORD, " Ada Lovelace ")
        .await;
    let payload = &data(&response)["register"];
    assert_eq!(payload["user"]["email"], "ada@example.com");
    assert_eq!(payload["user"]["fullName"], "Ada Lovelace");
    assert_eq!(payload["user"]["roles"], json!(["CUSTOMER"]));
    assert_eq!(payload["expiresIn"], 300);

    let me = app.me(payload["accessToken"].as_str().unwrap()).await;
    assert_eq!(data(&me)["me"]["id"], payload["user"]["id"]);
}

#[tokio::test]
async fn an_email_registers_once_whatever_its_case() {
    let app = spawn_app().await;
    data(&app.register("grace@example.com", PASSWORD, "Grace").await);
    let again = app.register("GRACE@example.com", PASSWORD, "Grace").await;
    assert_eq!(error_code(&again), Some("BAD_USER_INPUT"));
    assert_eq!(again["errors"][0]["extensions"]["field"], "email");
}

#[tokio::test]
async fn weak_passwords_and_bad_input_are_rejected_with_the_field() {
    let app = spawn_app().await;
    let cases = [
        ("a@example.com", "short1", "A", "password"),
        ("a@example.com", "no digits at all", "A", "password"),
        ("not-an-email", PASSWORD, "A", "email"),
        ("a@example.com", PASSWORD, "   ", "fullName"),
    ];
    for (email, password, name, field) in cases {
        let response = app.register(email, password, name).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
}

#[tokio::test]
async fn me_without_a_token_is_unauthenticated() {
    let app = spawn_app().await;
    let response = app.client.query(None, "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&response), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let app = spawn_app().await;
    let (token, _, _) = app.customer("eve@example.com").await;
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[2] = parts[2].chars().rev().collect();
    let response = app.me(&parts.join(".")).await;
    assert_eq!(error_code(&response), Some("UNAUTHENTICATED"));
}
