use bank_common::{auth::TokenVerifier, config::AuthConfig};
use serde_json::Value;

use crate::helpers::{spawn_app, ADMIN_EMAIL, ADMIN_PASSWORD};

#[tokio::test]
async fn issued_tokens_verify_against_the_published_jwks() {
    let app = spawn_app().await;
    let (token, _, user_id) = app.customer("jwks@example.com").await;

    let jwks: Value = reqwest::get(format!("http://{}/.well-known/jwks.json", app.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert!(
        key.get("d").is_none(),
        "the private part must never be published"
    );

    // Verify the way another subgraph does: fetch the JWKS over HTTP.
    let verifier = TokenVerifier::remote(&AuthConfig {
        jwks_url: format!("http://{}/.well-known/jwks.json", app.addr),
        issuer: bank_common::config::DEFAULT_ISSUER.into(),
        audience: bank_common::config::DEFAULT_AUDIENCE.into(),
    });
    let principal = verifier.verify(&token).await.expect("the token verifies");
    assert_eq!(principal.user_id.to_string(), user_id);
}

/// The discovery document is the provider's, at its issuer, and advertises only what exists:
/// the code flow with PKCE; its keys are the ones the API's verifiers use.
#[tokio::test]
async fn the_discovery_document_is_at_the_issuer_and_points_at_the_keys() {
    let app = spawn_app().await;
    let get = |path: &str| {
        let url = format!("http://{}{path}", app.addr);
        async move { reqwest::get(url).await.unwrap() }
    };
    let discovery: Value = get("/auth/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], "https://bank.test/auth");
    assert_eq!(discovery["jwks_uri"], "https://bank.test/auth/jwks");
    assert_eq!(
        discovery["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"][0],
        "ES256"
    );
    let public: Value = get("/auth/jwks").await.json().await.unwrap();
    let internal: Value = get("/.well-known/jwks.json").await.json().await.unwrap();
    assert_eq!(public, internal);
    assert_eq!(
        get("/.well-known/openid-configuration").await.status(),
        reqwest::StatusCode::NOT_FOUND,
        "no second document advertising a flow that does not exist"
    );
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    for path in ["healthz", "readyz"] {
        let response = reqwest::get(format!("http://{}/{path}", app.addr))
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
    }
}

#[tokio::test]
async fn metrics_count_requests_and_error_codes() {
    let app = spawn_app().await;
    // One anonymous `me`: an UNAUTHENTICATED error on POST /graphql.
    app.client
        .query(None, "{ me { id } }", serde_json::json!({}))
        .await;
    let body = reqwest::get(format!("http://{}/metrics", app.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let has = |needle: &str| body.lines().any(|line| line.contains(needle));
    assert!(
        has(r#"graphql_errors_total{code="UNAUTHENTICATED",service="users"} 1"#),
        "{body}"
    );
    assert!(
        has(
            r#"http_requests_total{method="POST",route="/graphql",status="200",service="users"} 1"#
        ),
        "{body}"
    );
    assert!(has("db_pool_connections{service=\"users\"}"), "{body}");
}

#[tokio::test]
async fn replicas_starting_together_generate_one_signing_key() {
    let database = bank_testkit::fresh_database(users_subgraph::app::NAME).await;
    let db = bank_common::db::connect(&database).await.unwrap();
    users_subgraph::app::migrate(&db).await.unwrap();
    // Each "replica" has its own pool, as separate processes would.
    let mut replicas = Vec::new();
    for _ in 0..4 {
        replicas.push(bank_common::db::connect(&database).await.unwrap());
    }
    let loaded = futures::future::join_all(
        replicas
            .iter()
            .map(|db| users_subgraph::keys::SigningKeys::load_or_create(db, None)),
    )
    .await;
    let kids: std::collections::HashSet<String> = loaded
        .into_iter()
        .map(|keys| keys.unwrap().kid().to_string())
        .collect();
    assert_eq!(kids.len(), 1, "{kids:?}");
    let rows = users_subgraph::store::active_signing_keys(&db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// Key rotation: the new key is published before it signs; tokens of the old key keep working
/// until they have expired; then the old key is retired, leaves the JWKS, and what it signed is
/// refused even within the verifiers' clock leeway.
#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs_and_the_old_one_retires_after_its_tokens() {
    let app = crate::helpers::spawn_app_configured(|settings| {
        settings.access_token_ttl_secs = 3;
        settings.key_retire_leeway_secs = 0;
    })
    .await;
    let jwks = || async {
        let jwks: Value = reqwest::get(format!("http://{}/.well-known/jwks.json", app.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let admin = || async {
        let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        bank_testkit::data(&login)["login"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let old_token = admin().await;
    let issued = std::time::Instant::now();
    let old_kid = kid_of(&old_token);

    let customer = app
        .client
        .query(
            Some(&old_token),
            "mutation { rotateSigningKey { kid signsFrom } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(bank_testkit::error_code(&customer), None, "{customer}");
    let new_kid = bank_testkit::data(&customer)["rotateSigningKey"]["kid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_kid, old_kid);
    // Published at once, not signing yet.
    assert_eq!(jwks().await.len(), 2);
    assert_eq!(kid_of(&admin().await), old_kid);

    // Then it signs, and the old key's tokens still work.
    let mut switched = false;
    for _ in 0..50 {
        if kid_of(&admin().await) == new_kid {
            switched = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(switched, "the new key signs after its lead");
    assert!(bank_testkit::data(&app.me(&old_token).await)["me"]["id"].is_string());
    let new_token = admin().await;
    assert!(bank_testkit::data(&app.me(&new_token).await)["me"]["id"].is_string());

    // Retired after its tokens' lifetime: gone from the JWKS, its token refused.
    let mut retired = false;
    for _ in 0..100 {
        if jwks().await == vec![new_kid.clone()] {
            retired = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(retired, "the old key leaves the JWKS");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let refused = app.me(&old_token).await;
    assert_eq!(bank_testkit::error_code(&refused), Some("UNAUTHENTICATED"));
    assert!(
        issued.elapsed() < std::time::Duration::from_secs(8),
        "refused for its key, within the 5 s clock leeway after expiry"
    );
    let non_admin = app.customer("plain@example.com").await;
    let refused = app
        .client
        .query(
            Some(&non_admin.0),
            "mutation { rotateSigningKey { kid } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(bank_testkit::error_code(&refused), Some("FORBIDDEN"));
}

/// With `USERS_KEY_ENCRYPTION_KEY` the private keys are encrypted at rest (keys stored in plain
/// text before are encrypted at start-up); without the key, or with another, the service does
/// not start, and says why.
#[tokio::test]
async fn private_signing_keys_are_encrypted_at_rest_with_the_configured_key() {
    use users_subgraph::keys::{KeyEncryptionKey, SigningKeys};
    let database = bank_testkit::fresh_database(users_subgraph::app::NAME).await;
    let db = bank_common::db::connect(&database).await.unwrap();
    users_subgraph::app::migrate(&db).await.unwrap();
    let stored = || async {
        users_subgraph::store::active_signing_keys(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|row| row.private_key_pem)
            .collect::<Vec<_>>()
    };
    // Before encryption was configured: plain text.
    let plain = SigningKeys::load_or_create(&db, None).await.unwrap();
    assert!(stored().await[0].contains("PRIVATE KEY"));

    let b64 = |byte: u8| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    };
    let kek = KeyEncryptionKey::parse(&b64(1)).unwrap();
    let sealed = SigningKeys::load_or_create(&db, Some(kek.clone()))
        .await
        .unwrap();
    assert_eq!(sealed.kid(), plain.kid(), "the same key, now encrypted");
    let rows = stored().await;
    assert!(
        rows[0].starts_with("enc:v1:") && !rows[0].contains("PRIVATE KEY"),
        "{rows:?}"
    );
    // A rotation stores the new key encrypted too.
    sealed
        .rotate(&db, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let rows = stored().await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| row.starts_with("enc:v1:")));

    let without = SigningKeys::load_or_create(&db, None).await.err().unwrap();
    assert!(
        without
            .to_string()
            .contains("USERS_KEY_ENCRYPTION_KEY is needed"),
        "{without}"
    );
    let wrong = SigningKeys::load_or_create(&db, Some(KeyEncryptionKey::parse(&b64(2)).unwrap()))
        .await
        .err()
        .unwrap();
    assert!(wrong.to_string().contains("does not decrypt"), "{wrong}");
    let again = SigningKeys::load_or_create(&db, Some(kek)).await.unwrap();
    assert_eq!(again.kid(), plain.kid());
}

/// Only access tokens are access tokens: a JWT of another kind (`typ` other than `at+jwt`, as
/// an ID token is) signed with the bank's own key is refused.
#[tokio::test]
async fn a_jwt_of_another_type_signed_by_the_bank_is_not_an_access_token() {
    let app = spawn_app().await;
    let (token, _, user_id) = app.customer("typed@example.com").await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let row = users_subgraph::store::active_signing_keys(&app.db)
        .await
        .unwrap()
        .remove(0);
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": bank_common::config::DEFAULT_ISSUER, "aud": bank_common::config::DEFAULT_AUDIENCE,
        "sub": user_id, "roles": ["CUSTOMER"], "iat": now, "exp": now + 60,
        "jti": uuid::Uuid::new_v4(),
    });
    let sign = |typ: Option<&str>| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(row.kid.clone());
        header.typ = typ.map(str::to_string);
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ec_pem(row.private_key_pem.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    assert!(bank_testkit::data(&app.me(&sign(Some("at+jwt"))).await)["me"]["id"].is_string());
    for typ in [Some("JWT"), None] {
        let refused = app.me(&sign(typ)).await;
        assert_eq!(
            bank_testkit::error_code(&refused),
            Some("UNAUTHENTICATED"),
            "{typ:?}"
        );
    }
}
