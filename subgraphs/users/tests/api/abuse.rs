//! Password guessing: one sign-in per request whatever the aliases, and failed sign-ins make
//! further attempts wait, per account (with or without a token) and per client address.

use std::time::Duration;

use bank_testkit::{data, error_code};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp, Throttle, PASSWORD};

const LOGIN: &str = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }";

/// A sign-in as a client at `address` (as NGINX reports it) with an optional token.
async fn login_from(
    app: &TestApp,
    address: &str,
    token: Option<&str>,
    email: &str,
    password: &str,
) -> Value {
    let mut request = app
        .client
        .http
        .post(format!("http://{}/graphql", app.addr))
        // A client's own entry first: only the last one, NGINX's, is believed.
        .header("x-forwarded-for", format!("192.0.2.1, {address}"))
        .json(&json!({ "query": LOGIN, "variables": { "i": { "email": email, "password": password } } }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

fn quick() -> Throttle {
    Throttle {
        account_failures: 3,
        address_failures: 5,
        first_lock: Duration::from_secs(2),
        longest_lock: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn thirty_one_aliased_logins_in_one_request_are_refused_and_none_is_tried() {
    let app = spawn_app_with(quick()).await;
    app.sign_up("ada@example.com", PASSWORD, "Ada").await;
    let aliases: String = (0..31)
        .map(|n| format!("a{n}: login(input: {{ email: \"ada@example.com\", password: \"guess {n}\" }}) {{ accessToken }} "))
        .collect();
    let answer = app
        .client
        .query(None, &format!("mutation {{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");
    assert!(answer["data"].is_null());
    let two = app
        .client
        .query(
            None,
            "mutation { login(input: { email: \"ada@example.com\", password: \"x\" }) { accessToken } \
               refreshToken(refreshToken: \"y\") { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&two),
        Some("LIMIT_EXCEEDED"),
        "login and refresh together"
    );
    // Nothing was tried: the account is not held up by 31 failures.
    let signed_in = app.login("ada@example.com", PASSWORD).await;
    assert!(data(&signed_in)["login"]["accessToken"].is_string());
}

#[tokio::test]
async fn failed_sign_ins_make_the_account_wait_with_or_without_a_token() {
    let app = spawn_app_with(quick()).await;
    app.sign_up("ada@example.com", PASSWORD, "Ada").await;
    let bob = app.sign_up("bob@example.com", PASSWORD, "Bob").await;
    let bobs_token = data(&bob)["verifyEmail"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    for n in 0..3 {
        let wrong = login_from(
            &app,
            &format!("198.51.100.{n}"),
            None,
            "ada@example.com",
            "wrong",
        )
        .await;
        assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    }
    // Now even the right password waits, from anywhere: the answer says nothing about the
    // password.
    let right = login_from(&app, "198.51.100.9", None, "ada@example.com", PASSWORD).await;
    assert_eq!(error_code(&right), Some("LIMIT_EXCEEDED"), "{right}");
    // With a token (Bob's), no password is tried at all.
    let with_token = login_from(
        &app,
        "198.51.100.9",
        Some(&bobs_token),
        "ADA@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(error_code(&with_token), Some("FORBIDDEN"), "{with_token}");
    // Another account is not held up.
    let other = login_from(&app, "198.51.100.9", None, "bob@example.com", PASSWORD).await;
    assert!(data(&other)["login"]["accessToken"].is_string());

    // After the wait the right password works, and clears the count.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let after = login_from(&app, "198.51.100.9", None, "ada@example.com", PASSWORD).await;
    assert!(data(&after)["login"]["accessToken"].is_string(), "{after}");
    let once_more = login_from(&app, "198.51.100.9", None, "ada@example.com", "wrong").await;
    assert_eq!(
        error_code(&once_more),
        Some("UNAUTHENTICATED"),
        "the count started afresh"
    );
}

/// NGINX's strict login limit counts requests without a token; a token of one's own account
/// must not buy more password guesses. With one, `login`, `register` and `verifyEmail` are
/// refused before any password is looked at, and count as no failure.
#[tokio::test]
async fn a_password_is_never_tried_on_a_request_that_carries_a_token() {
    let app = spawn_app_with(quick()).await;
    app.sign_up("ada@example.com", PASSWORD, "Ada").await;
    let bob = app.sign_up("bob@example.com", PASSWORD, "Bob").await;
    let bobs_token = data(&bob)["verifyEmail"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..5 {
        let guess = login_from(
            &app,
            "198.51.100.7",
            Some(&bobs_token),
            "ada@example.com",
            "x",
        )
        .await;
        assert_eq!(error_code(&guess), Some("FORBIDDEN"), "{guess}");
        assert!(guess["data"].is_null(), "{guess}");
    }
    let right = login_from(
        &app,
        "198.51.100.7",
        Some(&bobs_token),
        "ada@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(error_code(&right), Some("FORBIDDEN"), "{right}");
    let register = app
        .client
        .query(
            Some(&bobs_token),
            "mutation { register(input: { email: \"eve@example.com\", password: \"a long passphrase 1\", fullName: \"Eve\" }) { message } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&register), Some("FORBIDDEN"), "{register}");
    assert!(app.emails_to("eve@example.com").await.is_empty());
    let verify = app
        .client
        .query(
            Some(&bobs_token),
            "mutation { verifyEmail(input: { token: \"x\", password: \"y\" }) { accessToken } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&verify), Some("FORBIDDEN"), "{verify}");
    // None of it counted against Ada or the address: without a token she signs in.
    let plain = login_from(&app, "198.51.100.7", None, "ada@example.com", PASSWORD).await;
    assert!(data(&plain)["login"]["accessToken"].is_string(), "{plain}");
}

#[tokio::test]
async fn guessing_across_accounts_from_one_address_makes_that_address_wait() {
    let app = spawn_app_with(quick()).await;
    app.sign_up("ada@example.com", PASSWORD, "Ada").await;
    for n in 0..5 {
        let wrong = login_from(
            &app,
            "203.0.113.7",
            None,
            &format!("user{n}@example.com"),
            "guess",
        )
        .await;
        assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    }
    let from_there = login_from(&app, "203.0.113.7", None, "ada@example.com", PASSWORD).await;
    assert_eq!(
        error_code(&from_there),
        Some("LIMIT_EXCEEDED"),
        "{from_there}"
    );
    let elsewhere = login_from(&app, "203.0.113.8", None, "ada@example.com", PASSWORD).await;
    assert!(
        data(&elsewhere)["login"]["accessToken"].is_string(),
        "{elsewhere}"
    );
}

#[tokio::test]
async fn the_default_limits_let_a_forgetful_customer_try_a_few_times() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PASSWORD, "Ada").await;
    for _ in 0..4 {
        let wrong = app.login("ada@example.com", "wrong").await;
        assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    }
    let right = app.login("ada@example.com", PASSWORD).await;
    assert!(data(&right)["login"]["accessToken"].is_string());
}

#[tokio::test]
async fn failures_count_in_a_row_and_a_quiet_address_starts_afresh() {
    let app = spawn_app_with(Throttle {
        account_failures: 100,
        address_failures: 2,
        first_lock: Duration::from_millis(500),
        longest_lock: Duration::from_secs(1),
    })
    .await;
    app.sign_up("ada@example.com", PASSWORD, "Ada").await;
    for n in 0..2 {
        login_from(
            &app,
            "203.0.113.9",
            None,
            &format!("x{n}@example.com"),
            "guess",
        )
        .await;
    }
    let waiting = login_from(&app, "203.0.113.9", None, "ada@example.com", PASSWORD).await;
    assert_eq!(error_code(&waiting), Some("LIMIT_EXCEEDED"));
    // Quiet for longer than the longest lock: one more failure is the first of a new run, and
    // does not make the address wait.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let wrong = login_from(&app, "203.0.113.9", None, "y@example.com", "guess").await;
    assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    let right = login_from(&app, "203.0.113.9", None, "ada@example.com", PASSWORD).await;
    assert!(data(&right)["login"]["accessToken"].is_string(), "{right}");
}
