//! The router's JWT check: bad tokens are refused with UNAUTHENTICATED before planning, so the
//! operation never reaches a subgraph.

use bank_e2e::{current_signing_key, Bank};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Claims as the users service writes them, for `sub`, adjusted by `edit`.
fn claims(sub: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": "https://bank.local/users",
        "aud": "bank-api",
        "sub": sub,
        "roles": ["CUSTOMER"],
        "iat": now,
        "exp": now + 300,
        "jti": uuid::Uuid::new_v4(),
    });
    edit(&mut claims);
    claims
}

fn sign(kid: &str, pem: &str, claims: &Value) -> String {
    sign_typed("at+jwt", kid, pem, claims)
}

/// Signed with the header's `typ` (access tokens are `at+jwt`).
fn sign_typed(typ: &str, kid: &str, pem: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_string());
    header.typ = Some(typ.to_string());
    encode(
        &header,
        claims,
        &EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Every kind of bad token the router must refuse, named.
async fn bad_tokens(bank: &Bank) -> Vec<(&'static str, String)> {
    let customer = bank.new_customer("victim").await;
    let (kid, pem) = current_signing_key().expect("the users service's key");
    let sub = customer.id.as_str();

    let mut tampered: Vec<String> = customer.token.split('.').map(str::to_string).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&tampered[1]).unwrap()).unwrap();
    payload["roles"] = json!(["ADMIN"]);
    tampered[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());

    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(sub, |_| {})).unwrap())
    );

    let foreign = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let foreign_pem = {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        foreign.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    };

    vec![
        ("tampered payload", tampered.join(".")),
        (
            "expired",
            sign(
                &kid,
                &pem,
                &claims(sub, |c| {
                    c["exp"] = json!(chrono::Utc::now().timestamp() - 120)
                }),
            ),
        ),
        (
            "wrong audience",
            sign(
                &kid,
                &pem,
                &claims(sub, |c| c["aud"] = json!("another-api")),
            ),
        ),
        (
            "wrong issuer",
            sign(
                &kid,
                &pem,
                &claims(sub, |c| c["iss"] = json!("https://evil.example")),
            ),
        ),
        ("alg none", alg_none),
        (
            "wrong key, right kid",
            sign(&kid, &foreign_pem, &claims(sub, |_| {})),
        ),
        ("not a JWT", "definitely-not-a-token".to_string()),
    ]
}

/// A JWT of another kind signed by the bank's own key (`typ: JWT`, as ID tokens are) with an
/// access token's claims is no access token. Hive Router 0.2 does not look at `typ`, so it is
/// the subgraphs' verifiers that refuse it, before any field runs.
#[tokio::test]
async fn a_jwt_that_is_not_an_access_token_is_refused_by_the_subgraphs() {
    let bank = Bank::from_env().unwrap();
    let customer = bank.new_customer("typed").await;
    let (kid, pem) = current_signing_key().expect("the users service's key");
    let sub = customer.id.as_str();
    let accepted = bank
        .query(
            Some(&sign(&kid, &pem, &claims(sub, |_| {}))),
            "{ me { id } }",
            json!({}),
        )
        .await;
    assert_eq!(accepted.data()["me"]["id"], sub);
    let other = sign_typed("JWT", &kid, &pem, &claims(sub, |_| {}));
    for query in ["{ me { id email } }", "{ me { accounts { id } } }"] {
        let reply = bank.query(Some(&other), query, json!({})).await;
        assert_eq!(reply.code(), Some("UNAUTHENTICATED"), "{query}: {reply:#?}");
        assert!(
            reply
                .body
                .get("data")
                .is_none_or(|data| data["me"].is_null()),
            "{query}: {reply:#?}"
        );
    }
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated_at_the_router() {
    let bank = Bank::from_env().unwrap();
    for (what, token) in bad_tokens(&bank).await {
        let reply = bank
            .query(Some(&token), "{ me { id email } }", json!({}))
            .await;
        assert_eq!(reply.code(), Some("UNAUTHENTICATED"), "{what}: {reply:#?}");
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what}");
        // The router answered alone: a subgraph's error would name its service.
        assert!(
            reply.body["errors"][0]["extensions"]["service"].is_null(),
            "{what}: {reply:#?}"
        );
        assert!(reply.body.get("data").is_none_or(Value::is_null), "{what}");
    }
}

#[tokio::test]
async fn an_operation_with_a_bad_token_never_reaches_a_subgraph() {
    let bank = Bank::from_env().unwrap();
    for (what, token) in bad_tokens(&bank).await {
        // If this reached the users service, it would create the user: it must not.
        let email = format!("ghost-{}@e2e.test", uuid::Uuid::new_v4().simple());
        let reply = bank
            .query(
                Some(&token),
                "mutation($i: RegisterInput!) { register(input: $i) { message } }",
                json!({ "i": { "email": email, "password": bank_e2e::PASSWORD, "fullName": "Ghost" } }),
            )
            .await;
        assert_eq!(reply.code(), Some("UNAUTHENTICATED"), "{what}: {reply:#?}");
        let users = bank_e2e::psql(
            &bank_e2e::database_url(),
            &format!("SELECT count(*) FROM users.users WHERE email = '{email}'"),
        )
        .unwrap();
        assert_eq!(users, ["0"], "{what}: the user was created");
    }
}

#[tokio::test]
async fn a_valid_token_signed_by_the_bank_is_accepted() {
    let bank = Bank::from_env().unwrap();
    let customer = bank.new_customer("valid").await;
    let (kid, pem) = current_signing_key().unwrap();
    // Same key, fresh claims: proves the refusals above are about the claims, not the signer.
    let token = sign(&kid, &pem, &claims(&customer.id, |_| {}));
    let reply = bank.query(Some(&token), "{ me { id } }", json!({})).await;
    assert_eq!(reply.data()["me"]["id"], customer.id.as_str());
}

#[tokio::test]
async fn anonymous_requests_pass_the_router_and_subgraphs_decide() {
    let bank = Bank::from_env().unwrap();
    let reply = bank.query(None, "{ me { id } }", json!({})).await;
    assert_eq!(reply.code(), Some("UNAUTHENTICATED"));
    assert_eq!(reply.body["errors"][0]["extensions"]["service"], "users");
}

/// Logging out ends the session's access token in every service, not only in the users
/// service: the accounts and transactions subgraphs refuse it once they have fetched the
/// revocations (about a second), while a token of another session keeps working.
#[tokio::test]
async fn a_logged_out_access_token_is_refused_by_every_subgraph() {
    let bank = Bank::from_env().unwrap();
    let customer = bank.new_customer("logout").await;
    let account = bank.open_account(&customer, "EUR").await;
    let login =
        || async { bank.login(&customer.email, bank_e2e::PASSWORD).await.data()["login"].clone() };
    let (ending, staying) = (login().await, login().await);
    let read = "query($id: ID!) { account(id: $id) { id balance { amount } } }";
    let vars = json!({ "id": account["id"] });
    let token = ending["accessToken"].as_str().unwrap();
    assert!(bank
        .query(Some(token), read, vars.clone())
        .await
        .code()
        .is_none());
    let out = bank
        .query(
            None,
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": ending["refreshToken"] }),
        )
        .await;
    assert_eq!(out.data()["logout"], true);
    let mut refused = None;
    for _ in 0..50 {
        let reply = bank.query(Some(token), read, vars.clone()).await;
        if reply.code().is_some() {
            refused = Some(reply);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let refused = refused.expect("the logged-out token is refused within 5 s");
    assert_eq!(
        refused.code(),
        Some("UNAUTHENTICATED"),
        "{:?}",
        refused.body
    );
    let other = bank
        .query(Some(staying["accessToken"].as_str().unwrap()), read, vars)
        .await;
    assert!(other.code().is_none(), "{:?}", other.body);
}

#[tokio::test]
async fn a_subscription_ends_when_its_session_is_logged_out() {
    let bank = Bank::from_env().unwrap();
    let customer = bank.new_customer("sublogout").await;
    let login =
        || async { bank.login(&customer.email, bank_e2e::PASSWORD).await.data()["login"].clone() };
    let (ending, staying) = (login().await, login().await);
    let alerts = "subscription { transactionAlerts { transaction { id } } }";
    let mut ended = bank
        .subscribe(ending["accessToken"].as_str().unwrap(), alerts)
        .await
        .unwrap();
    let mut stays = bank
        .subscribe(staying["accessToken"].as_str().unwrap(), alerts)
        .await
        .unwrap();
    // Both are live before the logout.
    assert_eq!(ended.ended(std::time::Duration::from_secs(1)).await, None);
    let out = bank
        .query(
            None,
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": ending["refreshToken"] }),
        )
        .await;
    assert_eq!(out.data()["logout"], true);
    let how = ended
        .ended(std::time::Duration::from_secs(10))
        .await
        .expect("the logged-out session's subscription ends within seconds");
    // The subgraph closes its socket to the router with 4403; Hive Router tells its client
    // the subscription is complete.
    assert!(
        how == "complete" || how.starts_with("close 4403") || how.starts_with("error"),
        "{how}"
    );
    assert_eq!(stays.ended(std::time::Duration::from_secs(2)).await, None);
    stays.close().await;
}
