use bank_common::auth::Role;
use bank_testkit::{error_code, unsigned_token, TestKeys};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::spawn_app;

const OPEN: &str = "mutation { openAccount(input: { kind: CHECKING, currency: \"EUR\" }) { id } }";

#[tokio::test]
async fn anonymous_callers_cannot_open_accounts() {
    let app = spawn_app().await;
    let response = app.client.query(None, OPEN, json!({})).await;
    assert_eq!(error_code(&response), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let app = spawn_app().await;
    let user = Uuid::now_v7();

    let mut expired = app.keys.claims(user, &[Role::Customer]);
    expired.exp = chrono::Utc::now().timestamp() - 60;
    let mut wrong_audience = app.keys.claims(user, &[Role::Customer]);
    wrong_audience.aud = "someone-else".into();
    let mut wrong_issuer = app.keys.claims(user, &[Role::Customer]);
    wrong_issuer.iss = "https://evil.example".into();
    let other_key = TestKeys::new();

    let cases = [
        ("expired", app.keys.sign(&expired)),
        ("wrong audience", app.keys.sign(&wrong_audience)),
        ("wrong issuer", app.keys.sign(&wrong_issuer)),
        (
            "alg none",
            unsigned_token(&app.keys.claims(user, &[Role::Admin])),
        ),
        ("unknown key", other_key.token(user, &[Role::Customer])),
        ("garbage", "not.a.token".to_string()),
    ];
    for (what, token) in cases {
        let response = app.client.query(Some(&token), OPEN, json!({})).await;
        assert_eq!(
            error_code(&response),
            Some("UNAUTHENTICATED"),
            "{what}: {response}"
        );
    }
}
