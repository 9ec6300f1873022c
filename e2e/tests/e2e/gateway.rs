//! What NGINX itself does: TLS, security headers, request ids, static GraphiQL.

use bank_e2e::Bank;
use serde_json::json;

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let bank = Bank::from_env().unwrap();
    let response = bank
        .http
        .post(bank.graphql_url())
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(
        headers.get("strict-transport-security").unwrap(),
        "max-age=31536000; includeSubDomains"
    );
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(
        headers.get("content-security-policy").unwrap(),
        "default-src 'none'; frame-ancestors 'none'",
        "API answers are never rendered"
    );
    let request_id = headers.get("x-request-id").unwrap().to_str().unwrap();
    assert_eq!(request_id.len(), 32);
}

/// The pages say what they may load: only the bank's own scripts, styles and connections, and
/// no framing (clickjacking); HSTS covers subdomains.
#[tokio::test]
async fn pages_carry_a_content_security_policy() {
    let bank = Bank::from_env().unwrap();
    for path in ["/", "/accounts/anything", "/graphiql/"] {
        let response = bank
            .http
            .get(format!("{}{path}", bank.url))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path} has a Content-Security-Policy"))
            .to_str()
            .unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-eval"), "{path}: {csp}");
        assert!(
            headers
                .get("strict-transport-security")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("includeSubDomains"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn graphiql_is_served_from_the_gateway() {
    let bank = Bank::from_env().unwrap();
    let response = bank
        .http
        .get(format!("{}/graphiql/", bank.url))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let page = response.text().await.unwrap();
    assert!(
        page.contains("/graphiql/assets/"),
        "the built page references its bundled assets"
    );
    assert!(!page.contains("cdn"), "no CDN: the page works offline");
}

#[tokio::test]
async fn plain_http_is_not_served() {
    let bank = Bank::from_env().unwrap();
    let plain = bank.url.replacen("https://", "http://", 1);
    let response = reqwest::Client::new()
        .get(format!("{plain}/graphql"))
        .send()
        .await;
    // NGINX answers plain HTTP on a TLS port with 400; either way no GraphQL is served.
    if let Ok(response) = response {
        assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn anonymous_bursts_are_rate_limited() {
    let bank = Bank::from_env().unwrap();
    // Its own client address (loopback), so its bucket is not the other tests'.
    let client = client_from([127, 0, 0, 2]);
    let url = bank.graphql_url().replacen("localhost", "127.0.0.1", 1);
    let attempts = futures::future::join_all((0..80).map(|_| {
        client
            .post(url.as_str())
            .json(&json!({ "query": "{ __typename }" }))
            .send()
    }))
    .await;
    let statuses: Vec<u16> = attempts
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.contains(&429),
        "a burst of 80 must exceed the allowance: {statuses:?}"
    );
}

/// A client connecting from its own loopback address, so that NGINX counts it alone.
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(
                &std::fs::read(std::env::var("BANK_CA").unwrap()).unwrap(),
            )
            .unwrap(),
        )
        .local_address(std::net::IpAddr::from(address))
        .build()
        .unwrap()
}

/// NGINX's login limit counts requests without a token, and a token does not buy more
/// password guesses: with one, `login` is refused before the password is looked at (even
/// the right one), and without one the strict limit applies.
#[tokio::test]
async fn a_token_does_not_escape_the_login_limit() {
    let bank = Bank::from_env().unwrap();
    let customer = bank.new_customer("escape").await;
    let client = client_from([127, 0, 0, 3]);
    let url = bank.graphql_url().replacen("localhost", "127.0.0.1", 1);
    let login = json!({
        "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
        "variables": { "i": { "email": customer.email, "password": bank_e2e::PASSWORD } },
    });
    let with_token: serde_json::Value = client
        .post(url.as_str())
        .bearer_auth(&customer.token)
        .json(&login)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        with_token["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{with_token}"
    );
    assert!(with_token["data"].is_null(), "{with_token}");
    let without: serde_json::Value = client
        .post(url.as_str())
        .json(&login)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        without["data"]["login"]["accessToken"].is_string(),
        "{without}"
    );
}
