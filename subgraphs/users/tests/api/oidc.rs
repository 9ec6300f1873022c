//! The OpenID Connect provider over HTTP: the authorization-code flow with PKCE through the
//! login page, ID tokens, the code used once, refresh rotation, userinfo and revocation.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::{redirect::Policy, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{spawn_app, TestApp, PASSWORD};

const CLIENT: &str = "bank-web";
const REDIRECT: &str = "https://bank.test/callback";

struct Flow {
    http: reqwest::Client,
    base: String,
}

impl Flow {
    fn new(app: &TestApp) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: format!("http://{}/auth", app.addr),
        }
    }

    /// The login page for a request with `challenge`; its anti-forgery value (cookie and field).
    async fn login_page(&self, challenge: &str, method: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/authorize", self.base))
            .query(&[
                ("response_type", "code"),
                ("client_id", CLIENT),
                ("redirect_uri", REDIRECT),
                ("scope", "openid email profile"),
                ("state", "st-1"),
                ("nonce", "nonce-1"),
                ("code_challenge", challenge),
                ("code_challenge_method", method),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Signs in on the login page; the response (a redirect with the code, or the page again).
    async fn sign_in(&self, challenge: &str, email: &str, password: &str) -> reqwest::Response {
        let page = self.login_page(challenge, "S256").await;
        assert_eq!(page.status(), StatusCode::OK);
        let cookie = page
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = cookie.split_once('=').unwrap().1.to_string();
        let html = page.text().await.unwrap();
        assert!(html.contains(&csrf), "the form carries it");
        assert!(
            html.contains("href=\"https://bank.test/forgot-password\""),
            "a way to reset a forgotten password"
        );
        self.http
            .post(format!("{}/authorize", self.base))
            .header("cookie", cookie)
            .form(&[
                ("response_type", "code"),
                ("client_id", CLIENT),
                ("redirect_uri", REDIRECT),
                ("scope", "openid email profile"),
                ("state", "st-1"),
                ("nonce", "nonce-1"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/token", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rand_bytes() -> [u8; 32] {
    *uuid::Uuid::new_v4()
        .as_bytes()
        .repeat(2)
        .first_chunk::<32>()
        .unwrap()
}

fn code_from(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap();
    let url = reqwest::Url::parse(location).unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "st-1");
    assert_eq!(pairs["iss"], "https://bank.test/auth");
    pairs["code"].clone()
}

/// The ID token's claims, its signature checked against the published JWKS.
async fn id_token_claims(flow: &Flow, id_token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = flow
        .http
        .get(format!("{}/jwks", flow.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[CLIENT]);
    validation.set_issuer(&["https://bank.test/auth"]);
    jsonwebtoken::decode::<Value>(
        id_token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims
}

#[tokio::test]
async fn the_code_flow_with_pkce_signs_in_and_the_tokens_work() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PASSWORD, "Ada Lovelace")
        .await;
    let flow = Flow::new(&app);

    let discovery: Value = flow
        .http
        .get(format!("{}/.well-known/openid-configuration", flow.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], "https://bank.test/auth");
    assert_eq!(discovery["code_challenge_methods_supported"][0], "S256");

    let (verifier, challenge) = pkce();
    let wrong = flow.sign_in(&challenge, "ada@example.com", "not it").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("wrong e-mail address or password"));

    let signed_in = flow.sign_in(&challenge, "ada@example.com", PASSWORD).await;
    let code = code_from(&signed_in);
    let (status, tokens) = flow
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = id_token_claims(&flow, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["nonce"], "nonce-1");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["email_verified"], true);
    assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());
    let access = tokens["access_token"].as_str().unwrap();
    let me = app
        .client
        .query(Some(access), "{ me { email } }", serde_json::json!({}))
        .await;
    assert_eq!(me["data"]["me"]["email"], "ada@example.com", "{me}");
    let info: Value = flow
        .http
        .get(format!("{}/userinfo", flow.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["sub"], claims["sub"]);
    let no_token = flow
        .http
        .get(format!("{}/userinfo", flow.base))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);

    // Refresh rotates; the old refresh token then revokes the session.
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = flow
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", first_refresh),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let (status, reused) = flow
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", first_refresh),
        ])
        .await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (_, after_reuse) = flow
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            (
                "refresh_token",
                refreshed["refresh_token"].as_str().unwrap(),
            ),
        ])
        .await;
    assert_eq!(
        after_reuse["error"], "invalid_grant",
        "the session is revoked"
    );
}

#[tokio::test]
async fn a_code_works_once_for_its_verifier_and_a_replay_ends_its_session() {
    let app = spawn_app().await;
    app.sign_up("bob@example.com", PASSWORD, "Bob").await;
    let flow = Flow::new(&app);
    let (verifier, challenge) = pkce();

    // Without PKCE S256 there is no login page: the client hears why.
    let plain = flow.login_page(&challenge, "plain").await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    assert!(plain.headers()["location"]
        .to_str()
        .unwrap()
        .contains("error=invalid_request"));

    // The wrong verifier spends the code.
    let code = code_from(&flow.sign_in(&challenge, "bob@example.com", PASSWORD).await);
    let (other_verifier, _) = pkce();
    let exchange = |code: String, verifier: String| {
        let flow = &flow;
        async move {
            flow.token(&[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ])
            .await
        }
    };
    let (status, refused) = exchange(code.clone(), other_verifier).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (_, spent) = exchange(code, verifier.clone()).await;
    assert_eq!(spent["error"], "invalid_grant");

    // A replayed code revokes the session it was exchanged for.
    let code = code_from(&flow.sign_in(&challenge, "bob@example.com", PASSWORD).await);
    let (status, tokens) = exchange(code.clone(), verifier.clone()).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (_, replay) = exchange(code, verifier).await;
    assert_eq!(replay["error"], "invalid_grant");
    let (_, refresh) = flow
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(refresh["error"], "invalid_grant", "the session is revoked");

    // Revocation (RFC 7009) ends a session; an unknown token is answered the same.
    let (verifier, challenge) = pkce();
    let code = code_from(&flow.sign_in(&challenge, "bob@example.com", PASSWORD).await);
    let (_, tokens) = exchange(code, verifier).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    for token in [refresh_token, "unknown"] {
        let revoked = flow
            .http
            .post(format!("{}/revoke", flow.base))
            .form(&[("token", token), ("client_id", CLIENT)])
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), StatusCode::OK);
    }
    let (_, after) = flow
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", refresh_token),
        ])
        .await;
    assert_eq!(after["error"], "invalid_grant");
}

#[tokio::test]
async fn the_login_page_refuses_forged_posts_and_unregistered_redirects() {
    let app = spawn_app().await;
    app.sign_up("eve@example.com", PASSWORD, "Eve").await;
    let flow = Flow::new(&app);
    let (_, challenge) = pkce();
    // A post without the page's cookie (another site's form) signs nobody in.
    let forged = flow
        .http
        .post(format!("{}/authorize", flow.base))
        .form(&[
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("csrf", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("email", "eve@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    // A redirect URI not registered exactly is never redirected to.
    let elsewhere = flow
        .http
        .get(format!("{}/authorize", flow.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", "https://evil.test/callback"),
            ("scope", "openid"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
    assert!(elsewhere.headers().get("location").is_none());
    // An unknown client cannot use the token endpoint.
    let (status, body) = flow
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "nobody"),
            ("refresh_token", "x"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}
