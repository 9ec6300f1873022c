use bank_testkit::{data, error_code};

use crate::helpers::{spawn_app, PASSWORD};

#[tokio::test]
async fn login_works_with_the_right_password_only() {
    let app = spawn_app().await;
    app.customer("alan@example.com").await;
    let ok = app.login("ALAN@example.com", PASSWORD).await;
    assert!(data(&ok)["login"]["accessToken"].as_str().is_some());

    let wrong = app.login("alan@example.com", "wrong password 1").await;
    assert_eq!(error_code(&wrong), Some("UNAUTHENTICATED"));
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(error_code(&unknown), Some("UNAUTHENTICATED"));
    // Wrong e-mail and wrong password read the same.
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
}

#[tokio::test]
async fn a_refresh_token_rotates_and_works_once() {
    let app = spawn_app().await;
    let (_, first, _) = app.customer("rota@example.com").await;
    let rotated = app.refresh(&first).await;
    let payload = &data(&rotated)["refreshToken"];
    assert_ne!(payload["refreshToken"].as_str().unwrap(), first);
    data(&app.me(payload["accessToken"].as_str().unwrap()).await);

    let replay = app.refresh(&first).await;
    assert_eq!(error_code(&replay), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn replaying_a_rotated_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let (_, first, _) = app.customer("theft@example.com").await;
    let rotated = app.refresh(&first).await;
    let second = data(&rotated)["refreshToken"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    // A thief replays the first token: the legitimate successor stops working as well.
    assert_eq!(
        error_code(&app.refresh(&first).await),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        error_code(&app.refresh(&second).await),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_succeed_at_most_once() {
    let app = spawn_app().await;
    let (_, token, _) = app.customer("race@example.com").await;
    let attempts = futures::future::join_all((0..8).map(|_| app.refresh(&token))).await;
    let successes = attempts
        .iter()
        .filter(|r| r.get("errors").is_none())
        .count();
    assert_eq!(successes, 1, "{attempts:#?}");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let (_, refresh, _) = app.customer("bye@example.com").await;
    assert_eq!(data(&app.logout(&refresh).await)["logout"], true);
    assert_eq!(
        error_code(&app.refresh(&refresh).await),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(data(&app.logout(&refresh).await)["logout"], false);
}

/// A logged-out session's access token stops working too (within the verifiers' poll), and
/// `/.well-known/revocations` says so to the other services.
#[tokio::test]
async fn logout_ends_the_sessions_access_tokens_too() {
    let app = spawn_app().await;
    let (access, refresh, _) = app.customer("gone@example.com").await;
    let (other_access, _, _) = app.customer("stays@example.com").await;
    assert!(data(&app.me(&access).await)["me"]["id"].is_string());
    assert_eq!(data(&app.logout(&refresh).await)["logout"], true);
    let refused = eventually_refused(&app, &access).await;
    assert_eq!(error_code(&refused), Some("UNAUTHENTICATED"), "{refused}");
    assert!(data(&app.me(&other_access).await)["me"]["id"].is_string());
    let published: serde_json::Value =
        reqwest::get(format!("http://{}/.well-known/revocations", app.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        published["sessions"].as_array().unwrap().len(),
        1,
        "{published}"
    );
    // A revocation older than any access token (made 23 hours ago: kept a day) is stored but
    // no longer published: every token it refused has expired.
    use sea_orm::ConnectionTrait;
    let old = uuid::Uuid::new_v4();
    app.db
        .execute(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "INSERT INTO revocations (kind, id, until) VALUES ('session', $1, now() + interval '1 hour')",
            [old.into()],
        ))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let published: serde_json::Value =
        reqwest::get(format!("http://{}/.well-known/revocations", app.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        published["sessions"].as_array().unwrap().len(),
        1,
        "{published}"
    );
    assert!(
        !published.to_string().contains(&old.to_string()),
        "{published}"
    );
}

/// Refreshing rotates the token but never carries the session past its absolute lifetime
/// from the sign-in.
#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let app = crate::helpers::spawn_app_tuned(crate::helpers::Throttle::default(), 3).await;
    let (_, refresh, _) = app.customer("long@example.com").await;
    let mut token = refresh;
    for _ in 0..2 {
        let rotated = app.refresh(&token).await;
        token = data(&rotated)["refreshToken"]["refreshToken"]
            .as_str()
            .unwrap()
            .to_string();
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        error_code(&app.refresh(&token).await),
        Some("UNAUTHENTICATED"),
        "past the session's lifetime"
    );
}

/// `me` with `token` until it is refused (at most 5 s: revocations are polled every second).
pub async fn eventually_refused(app: &crate::helpers::TestApp, token: &str) -> serde_json::Value {
    for _ in 0..50 {
        let answer = app.me(token).await;
        if answer.get("errors").is_some() {
            return answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the token still works");
}
