use bank_testkit::{data, error_code};
use serde_json::json;

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn a_registered_customer_can_read_themselves() {
    let app = spawn_app().await;
    let response = app
        .sign_up("  Ada@Example.com ", PASSWORD, " Ada Lovelace ")
        .await;
    let payload = &data(&response)["verifyEmail"];
    assert_eq!(payload["user"]["email"], "ada@example.com");
    assert_eq!(payload["user"]["fullName"], "Ada Lovelace");
    assert_eq!(payload["user"]["roles"], json!(["CUSTOMER"]));
    assert_eq!(payload["expiresIn"], 300);

    let me = app.me(payload["accessToken"].as_str().unwrap()).await;
    assert_eq!(data(&me)["me"]["id"], payload["user"]["id"]);
}

#[tokio::test]
async fn register_answers_the_same_whether_or_not_the_address_is_taken() {
    let app = spawn_app().await;
    data(&app.sign_up("grace@example.com", PASSWORD, "Grace").await);
    let taken = app
        .register("GRACE@example.com", "another one 7", "Mallory")
        .await;
    let fresh = app.register("hopper@example.com", PASSWORD, "Grace").await;
    let message = |reply: &serde_json::Value, email: &str| {
        data(reply)["register"]["message"]
            .as_str()
            .unwrap()
            .replace(email, "<address>")
    };
    assert_eq!(
        message(&taken, "grace@example.com"),
        message(&fresh, "hopper@example.com"),
        "the answers tell a taken address apart"
    );
    // The owner is told by e-mail; nobody else learns anything, and nothing changed.
    let mails = app.emails_to("grace@example.com").await;
    assert_eq!(
        mails.last().unwrap().0,
        "bank.user.registration-attempted.v1"
    );
    assert!(!mails.last().unwrap().1.contains("verify-email"));
    data(&app.login("grace@example.com", PASSWORD).await);
    assert_eq!(
        error_code(&app.login("grace@example.com", "another one 7").await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn an_address_signs_in_only_once_confirmed_with_the_link_and_the_password() {
    let app = spawn_app().await;
    data(&app.register("ada@example.com", PASSWORD, "Ada").await);
    // Not confirmed: the right password is refused like a wrong one.
    let early = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(error_code(&early), Some("UNAUTHENTICATED"));
    let token = app.confirmation_token("ada@example.com").await.unwrap();
    // The link alone (with a wrong password), or a made-up token, do not confirm.
    let wrong = app.verify_email(&token, "not her password 1").await;
    assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    let made_up = app.verify_email("made-up-token", PASSWORD).await;
    assert_eq!(error_code(&made_up), Some("UNAUTHENTICATED"));
    let confirmed = app.verify_email(&token, PASSWORD).await;
    assert!(data(&confirmed)["verifyEmail"]["accessToken"].is_string());
    // Once only; then the password signs in.
    let again = app.verify_email(&token, PASSWORD).await;
    assert_eq!(error_code(&again), Some("UNAUTHENTICATED"));
    data(&app.login("ada@example.com", PASSWORD).await);
}

#[tokio::test]
async fn registering_someone_elses_address_first_does_not_let_you_into_their_account() {
    let app = spawn_app().await;
    // Mallory registers Ada's address with a password of his own; the link goes to Ada.
    data(
        &app.register("ada@example.com", "mallory knows 9", "Mallory")
            .await,
    );
    let mallorys_link = app.confirmation_token("ada@example.com").await.unwrap();
    // Ada registers herself: her password replaces his, and a new link replaces his.
    data(&app.register("ada@example.com", PASSWORD, "Ada").await);
    let adas_link = app.confirmation_token("ada@example.com").await.unwrap();
    assert_ne!(mallorys_link, adas_link);
    for (token, password) in [
        (&mallorys_link, "mallory knows 9"),
        (&adas_link, "mallory knows 9"),
        (&mallorys_link, PASSWORD),
    ] {
        let refused = app.verify_email(token, password).await;
        assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"));
    }
    let hers = app.verify_email(&adas_link, PASSWORD).await;
    assert_eq!(data(&hers)["verifyEmail"]["user"]["fullName"], "Ada");
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
