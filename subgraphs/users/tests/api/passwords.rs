//! Changing a password (with the current one) and resetting a forgotten one (by an e-mailed
//! link): both end every session, and neither tells anyone whether an address banks here.

use bank_testkit::{data, error_code};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "a new passphrase 7";

async fn reset_link_token(app: &TestApp, email: &str) -> Option<String> {
    app.emails_to(email)
        .await
        .iter()
        .rev()
        .find(|(kind, _)| kind == "bank.user.password-reset-requested.v1")
        .and_then(|(_, body)| body.split("reset-password?token=").nth(1))
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        })
}

async fn request_reset(app: &TestApp, email: &str) -> Value {
    app.client
        .query(
            None,
            "mutation($e: String!) { requestPasswordReset(email: $e) { message } }",
            json!({ "e": email }),
        )
        .await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Value {
    app.client
        .query(
            None,
            "mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { accessToken refreshToken } }",
            json!({ "i": { "token": token, "newPassword": password } }),
        )
        .await
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_session() {
    let app = spawn_app().await;
    let (access, refresh, _) = app.customer("change@example.com").await;
    let change = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { accessToken refreshToken } }";
    let wrong = app
        .client
        .query(
            Some(&access),
            change,
            json!({ "i": { "currentPassword": "not it at all 1", "newPassword": NEW_PASSWORD } }),
        )
        .await;
    assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    let weak = app
        .client
        .query(
            Some(&access),
            change,
            json!({ "i": { "currentPassword": PASSWORD, "newPassword": "short" } }),
        )
        .await;
    assert_eq!(error_code(&weak), Some("BAD_USER_INPUT"));
    assert_eq!(
        weak["errors"][0]["extensions"]["field"], "newPassword",
        "{weak}"
    );
    let anonymous = app
        .client
        .query(
            None,
            change,
            json!({ "i": { "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));

    let changed = app
        .client
        .query(
            Some(&access),
            change,
            json!({ "i": { "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD } }),
        )
        .await;
    let fresh = data(&changed)["changePassword"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = crate::auth_flows::eventually_refused(&app, &access).await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"));
    assert_eq!(
        error_code(&app.refresh(&refresh).await),
        Some("UNAUTHENTICATED")
    );
    assert!(data(&app.me(&fresh).await)["me"]["id"].is_string());
    assert_eq!(
        error_code(&app.login("change@example.com", PASSWORD).await),
        Some("UNAUTHENTICATED")
    );
    assert!(
        data(&app.login("change@example.com", NEW_PASSWORD).await)["login"]["accessToken"]
            .is_string()
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_the_emailed_link_once() {
    let app = spawn_app().await;
    let (access, _, _) = app.customer("forgot@example.com").await;
    let known = request_reset(&app, "forgot@example.com").await;
    let unknown = request_reset(&app, "nobody@example.com").await;
    // The same answer: nobody learns who banks here.
    assert_eq!(
        data(&known)["requestPasswordReset"]["message"]
            .as_str()
            .unwrap()
            .replace("forgot@example.com", "X"),
        data(&unknown)["requestPasswordReset"]["message"]
            .as_str()
            .unwrap()
            .replace("nobody@example.com", "X")
    );
    assert!(app.emails_to("nobody@example.com").await.is_empty());
    let token = reset_link_token(&app, "forgot@example.com")
        .await
        .expect("the reset e-mail");

    let weak = reset(&app, &token, "short").await;
    assert_eq!(error_code(&weak), Some("BAD_USER_INPUT"));
    // A refused new password spends no link.
    let done = reset(&app, &token, NEW_PASSWORD).await;
    assert!(
        data(&done)["resetPassword"]["accessToken"].is_string(),
        "{done}"
    );
    let again = reset(&app, &token, "another passphrase 8").await;
    assert_eq!(
        error_code(&again),
        Some("UNAUTHENTICATED"),
        "a link works once"
    );
    let refused = crate::auth_flows::eventually_refused(&app, &access).await;
    assert_eq!(
        error_code(&refused),
        Some("UNAUTHENTICATED"),
        "old sessions ended"
    );
    assert_eq!(
        error_code(&app.login("forgot@example.com", PASSWORD).await),
        Some("UNAUTHENTICATED")
    );
    assert!(
        data(&app.login("forgot@example.com", NEW_PASSWORD).await)["login"]["accessToken"]
            .is_string()
    );
    // An unknown token is refused the same way.
    assert_eq!(
        error_code(&reset(&app, "not-a-token", NEW_PASSWORD).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn reset_emails_to_one_address_are_capped_per_hour() {
    let app = spawn_app().await;
    app.customer("flood@example.com").await;
    for _ in 0..5 {
        let answer = request_reset(&app, "flood@example.com").await;
        assert!(data(&answer)["requestPasswordReset"]["message"].is_string());
    }
    let resets = app
        .emails_to("flood@example.com")
        .await
        .into_iter()
        .filter(|(kind, _)| kind == "bank.user.password-reset-requested.v1")
        .count();
    assert_eq!(resets, 3, "at most three reset e-mails an hour");
}
