//! The users service as an OpenID Connect provider (docs/oidc.md): the authorization-code flow
//! with PKCE (S256 only) and a login page, the token endpoint (code and refresh-token grants),
//! ID tokens, userinfo, revocation (RFC 7009) and end-session, for registered clients with
//! exact redirect URIs. Served under `/auth/` and published by NGINX at the issuer,
//! `https://<host>/auth`, with the discovery document and the JWKS.
//!
//! Sign-in on the login page is the `login` mutation's: the same throttles, the same generic
//! answer, confirmed addresses only; each attempt is in the audit trail. Access tokens are the
//! API's own (the router and every subgraph verify them as they verify `login`'s), refresh
//! tokens rotate with reuse detection in the same session families, and an authorization code
//! works once: a replayed one revokes the session it was exchanged for.

use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
    Form, Json, Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::Utc;
use openidconnect::{
    core::{CoreClaimName, CoreJwsSigningAlgorithm, CoreResponseType, CoreSubjectIdentifierType},
    AdditionalProviderMetadata, AuthUrl, IssuerUrl, JsonWebKeySetUrl, ResponseTypes, Scope,
    TokenUrl, UserInfoUrl,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use bank_common::{
    audit::{Audit, Entry},
    auth::TokenVerifier,
    server::{ClientAddress, REQUEST_ID_HEADER},
    ApiError,
};

use crate::{
    keys::{hash_refresh_token, new_refresh_token},
    schema::{authenticate, new_session, rotate_refresh_token, Refreshed, UsersContext},
    store::{self, AuthorizationCode, CodeUse},
};

mod external;

pub use external::ExternalProvider;

/// A client registered with the provider: public (no secret; PKCE proves the code's owner).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OidcClient {
    pub id: String,
    /// Where codes may be sent: compared exactly.
    pub redirect_uris: Vec<String>,
    /// Where the end-session endpoint may send the browser afterwards: compared exactly.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
}

/// The provider's settings.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer: the public URL under which NGINX serves `/auth/` (`USERS_OIDC_ISSUER`,
    /// default `<USERS_APP_URL>/auth`). ID tokens name it; clients discover it.
    pub issuer: String,
    /// `USERS_OIDC_CLIENTS` (JSON); by default the web app, `bank-web`, with
    /// `<USERS_APP_URL>/callback`.
    pub clients: Vec<OidcClient>,
    /// An external OpenID Connect provider people may sign in with instead of a password.
    pub external: Option<ExternalProvider>,
}

impl OidcConfig {
    /// The default for a web app at `app_url`.
    pub fn for_app(app_url: &str) -> Self {
        let app = app_url.trim_end_matches('/');
        Self {
            issuer: format!("{app}/auth"),
            clients: vec![OidcClient {
                id: "bank-web".into(),
                redirect_uris: vec![format!("{app}/callback")],
                post_logout_redirect_uris: vec![format!("{app}/")],
            }],
            external: None,
        }
    }

    fn client(&self, id: &str) -> Option<&OidcClient> {
        self.clients.iter().find(|client| client.id == id)
    }
}

#[derive(Clone)]
struct OidcState {
    users: Arc<UsersContext>,
    config: Arc<OidcConfig>,
    verifier: TokenVerifier,
    audit: Audit,
    /// The external provider's discovered metadata, when one is configured.
    external: Arc<external::Discovered>,
}

/// The provider's routes, under `/auth/`.
pub fn routes(
    users: Arc<UsersContext>,
    config: OidcConfig,
    verifier: TokenVerifier,
    audit: Audit,
) -> anyhow::Result<Router> {
    let discovery = discovery(&config)?;
    let keys = users.keys.clone();
    let state = OidcState {
        users,
        external: Arc::new(external::Discovered::default()),
        config: Arc::new(config),
        verifier,
        audit,
    };
    Ok(Router::new()
        .route(
            "/auth/.well-known/openid-configuration",
            get(move || {
                let discovery = discovery.clone();
                async move { Json(discovery) }
            }),
        )
        .route(
            "/auth/jwks",
            get(move || {
                let keys = keys.clone();
                async move { Json(keys.jwks_json()) }
            }),
        )
        .route(
            "/auth/authorize",
            get(authorize_page).post(authorize_submit),
        )
        .route("/auth/token", axum::routing::post(token))
        .route("/auth/userinfo", get(userinfo).post(userinfo))
        .route("/auth/revoke", axum::routing::post(revoke))
        .route("/auth/logout", get(end_session))
        .route("/auth/external", get(external::start))
        .route("/auth/external/callback", get(external::callback))
        .with_state(state))
}

/// What the core metadata (`CoreProviderMetadata`'s fields) has no field for.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct MoreMetadata {
    code_challenge_methods_supported: Vec<String>,
    authorization_response_iss_parameter_supported: bool,
    revocation_endpoint: String,
    end_session_endpoint: String,
    grant_types_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Vec<String>,
}

impl AdditionalProviderMetadata for MoreMetadata {}

fn discovery(config: &OidcConfig) -> anyhow::Result<serde_json::Value> {
    let issuer = config.issuer.trim_end_matches('/');
    let metadata = openidconnect::ProviderMetadata::<
        MoreMetadata,
        openidconnect::core::CoreAuthDisplay,
        openidconnect::core::CoreClientAuthMethod,
        openidconnect::core::CoreClaimName,
        openidconnect::core::CoreClaimType,
        openidconnect::core::CoreGrantType,
        openidconnect::core::CoreJweContentEncryptionAlgorithm,
        openidconnect::core::CoreJweKeyManagementAlgorithm,
        openidconnect::core::CoreJsonWebKey,
        openidconnect::core::CoreResponseMode,
        openidconnect::core::CoreResponseType,
        openidconnect::core::CoreSubjectIdentifierType,
    >::new(
        IssuerUrl::new(issuer.to_string())?,
        AuthUrl::new(format!("{issuer}/authorize"))?,
        JsonWebKeySetUrl::new(format!("{issuer}/jwks"))?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256],
        MoreMetadata {
            code_challenge_methods_supported: vec!["S256".into()],
            authorization_response_iss_parameter_supported: true,
            revocation_endpoint: format!("{issuer}/revoke"),
            end_session_endpoint: format!("{issuer}/logout"),
            grant_types_supported: vec!["authorization_code".into(), "refresh_token".into()],
            token_endpoint_auth_methods_supported: vec!["none".into()],
        },
    )
    .set_token_endpoint(Some(TokenUrl::new(format!("{issuer}/token"))?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(format!("{issuer}/userinfo"))?))
    .set_scopes_supported(Some(
        ["openid", "profile", "email", "offline_access"]
            .into_iter()
            .map(|s| Scope::new(s.into()))
            .collect(),
    ))
    .set_claims_supported(Some(
        [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "email",
            "email_verified",
            "name",
        ]
        .into_iter()
        .map(|c| CoreClaimName::new(c.into()))
        .collect(),
    ));
    Ok(serde_json::to_value(&metadata)?)
}

/// An authorization request's parameters (query on GET, hidden fields on POST).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct AuthorizeParams {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
}

/// The login form: the request's parameters, the form's anti-forgery value and the
/// credentials.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Why an authorization request is refused: shown on the provider's own page when the client or
/// its redirect URI cannot be trusted, else sent back to the client (RFC 6749 4.1.2.1).
enum Refusal {
    Page(StatusCode, &'static str),
    Redirect(&'static str, &'static str),
}

fn check(config: &OidcConfig, params: &AuthorizeParams) -> Result<(), Refusal> {
    let Some(client) = config.client(&params.client_id) else {
        return Err(Refusal::Page(StatusCode::BAD_REQUEST, "unknown client"));
    };
    if !client.redirect_uris.contains(&params.redirect_uri) {
        return Err(Refusal::Page(
            StatusCode::BAD_REQUEST,
            "the redirect URI is not registered for this client",
        ));
    }
    if params.response_type != "code" {
        return Err(Refusal::Redirect(
            "unsupported_response_type",
            "only the authorization-code flow (response_type=code)",
        ));
    }
    if !params.scope.split(' ').any(|s| s == "openid") {
        return Err(Refusal::Redirect(
            "invalid_scope",
            "the scope must include openid",
        ));
    }
    if params.code_challenge_method != "S256" || !valid_challenge(&params.code_challenge) {
        return Err(Refusal::Redirect(
            "invalid_request",
            "PKCE is required: code_challenge (43 base64url characters) with code_challenge_method=S256",
        ));
    }
    if params.nonce.as_ref().is_some_and(|n| n.len() > 255)
        || params.state.as_ref().is_some_and(|s| s.len() > 1024)
    {
        return Err(Refusal::Redirect(
            "invalid_request",
            "nonce or state too long",
        ));
    }
    Ok(())
}

fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn refuse(refusal: Refusal, params: &AuthorizeParams, issuer: &str) -> Response {
    match refusal {
        Refusal::Page(status, message) => page(status, "Cannot sign in", message, None),
        Refusal::Redirect(error, description) => {
            let mut url = match openidconnect::url::Url::parse(&params.redirect_uri) {
                Ok(url) => url,
                Err(_) => {
                    return page(StatusCode::BAD_REQUEST, "Cannot sign in", description, None)
                }
            };
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("error", error);
                query.append_pair("error_description", description);
                if let Some(state) = &params.state {
                    query.append_pair("state", state);
                }
                query.append_pair("iss", issuer);
            }
            Redirect::to(url.as_str()).into_response()
        }
    }
}

/// `GET /auth/authorize`: the login page for a valid request.
async fn authorize_page(
    State(state): State<OidcState>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    if let Err(refusal) = check(&state.config, &params) {
        return refuse(refusal, &params, &state.config.issuer);
    }
    login_page(&state, &params, None, StatusCode::OK)
}

/// `POST /auth/authorize`: the login form. Right credentials: a code for the client, by
/// redirect (303). Wrong ones: the form again with the `login` mutation's answer.
async fn authorize_submit(
    State(state): State<OidcState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let params = form.params.clone();
    if let Err(refusal) = check(&state.config, &params) {
        return refuse(refusal, &params, &state.config.issuer);
    }
    // Login CSRF: the form's value must match the cookie the page set.
    let cookie = cookie(&headers, CSRF_COOKIE);
    if form.csrf.len() < 20 || cookie.as_deref() != Some(form.csrf.as_str()) {
        return login_page(
            &state,
            &params,
            Some("The sign-in form expired. Please try again."),
            StatusCode::BAD_REQUEST,
        );
    }
    let address = ClientAddress::from_headers(&headers).0;
    let users = &state.users;
    let result = authenticate(users, &form.email, &form.password, address).await;
    let mut entry = audit_entry("users.oidc.authorize", &headers);
    entry.after = Some(serde_json::json!({ "clientId": params.client_id }));
    let row = match result {
        Ok(row) => row,
        Err(err) => {
            entry.outcome = err.code().into();
            state.audit.record(vec![entry]).await;
            let message = match err {
                ApiError::LimitExceeded(message) => message,
                other => other.message(),
            };
            return login_page(&state, &params, Some(&message), StatusCode::UNAUTHORIZED);
        }
    };
    grant_code(&state, &params, &row, entry).await
}

/// The end of a sign-in (by password or through an external provider): a code for the
/// client, sent by redirect (303) with the request's `state` and the issuer; the sign-in is
/// audited with `entry`.
async fn grant_code(
    state: &OidcState,
    params: &AuthorizeParams,
    row: &store::UserRow,
    mut entry: Entry,
) -> Response {
    let users = &state.users;
    entry.actor = row.id.to_string();
    entry.actor_roles = row.roles.clone();
    entry.subject = Some(row.id.to_string());
    entry.outcome = "OK".into();
    let (code, code_hash) = new_refresh_token();
    let stored = store::insert_authorization_code(
        &users.db,
        &code_hash,
        &AuthorizationCode {
            client_id: params.client_id.clone(),
            user_id: row.id,
            redirect_uri: params.redirect_uri.clone(),
            code_challenge: params.code_challenge.clone(),
            nonce: params.nonce.clone(),
            scope: params.scope.clone(),
            auth_time: Utc::now(),
        },
    )
    .await;
    if let Err(err) = stored {
        tracing::error!(error = %err, "storing an authorization code failed");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Cannot sign in",
            "Please try again in a moment.",
            None,
        );
    }
    state.audit.record(vec![entry]).await;
    let mut url = match openidconnect::url::Url::parse(&params.redirect_uri) {
        Ok(url) => url,
        Err(_) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Cannot sign in",
                "bad redirect URI",
                None,
            )
        }
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(value) = &params.state {
            query.append_pair("state", value);
        }
        query.append_pair("iss", &state.config.issuer);
    }
    let mut response = Redirect::to(url.as_str()).into_response();
    // The anti-forgery cookie is spent.
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-bank_auth_csrf=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

const CSRF_COOKIE: &str = "__Host-bank_auth_csrf";

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// An audit entry for `action` by an anonymous caller, with the client's address and the
/// request id.
fn audit_entry(action: &str, headers: &HeaderMap) -> Entry {
    let mut entry = Entry::by(None);
    entry.action = action.into();
    entry.address = ClientAddress::from_headers(headers)
        .0
        .map(|ip| ip.to_string());
    entry.request_id = request_id(headers);
    entry
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The provider's pages: no script, styles inline under a policy that allows only them and
/// the form posting back here.
fn page(status: StatusCode, title: &str, message: &str, form: Option<String>) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Bank</title><style>\
         body{{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0;display:flex;justify-content:center}}\
         main{{background:#fff;margin-top:10vh;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;width:min(22rem,90vw)}}\
         label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem;box-sizing:border-box}}\
         button{{margin-top:1.2rem;width:100%;padding:.6rem;background:#1f4e79;color:#fff;border:0;border-radius:4px}}\
         .error{{color:#a40000}}</style></head><body><main><h1>{title}</h1>{message}{form}</main></body></html>",
        title = escape(title),
        message = if message.is_empty() {
            String::new()
        } else {
            format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message))
        },
        form = form.unwrap_or_default(),
    );
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn login_page(
    state: &OidcState,
    params: &AuthorizeParams,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = new_refresh_token().0;
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    };
    let mut fields = [
        ("response_type", params.response_type.as_str()),
        ("client_id", params.client_id.as_str()),
        ("redirect_uri", params.redirect_uri.as_str()),
        ("scope", params.scope.as_str()),
        ("code_challenge", params.code_challenge.as_str()),
        (
            "code_challenge_method",
            params.code_challenge_method.as_str(),
        ),
        ("csrf", csrf.as_str()),
    ]
    .map(|(name, value)| hidden(name, value))
    .join("");
    if let Some(state) = &params.state {
        fields.push_str(&hidden("state", state));
    }
    if let Some(nonce) = &params.nonce {
        fields.push_str(&hidden("nonce", nonce));
    }
    let form = format!(
        "<form method=\"post\" action=\"authorize\">{fields}\
         <label for=\"email\">E-mail address</label>\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>\
         <p><a href=\"{forgot}\">Forgot your password?</a></p>{external}",
        forgot = escape(&format!(
            "{}/forgot-password",
            state.users.settings.app_url.trim_end_matches('/')
        )),
        external = external::sign_in_link(state, params),
    );
    let mut response = page(
        status,
        "Sign in to the bank",
        error.unwrap_or(""),
        Some(form),
    );
    // The form posts here and the answer redirects to the client: both are form targets.
    let client_origin = openidconnect::url::Url::parse(&params.redirect_uri)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {client_origin}; frame-ancestors 'none'"
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={csrf}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=900"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// A token request (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: String,
    #[serde(default)]
    client_id: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

/// The answer when the database fails under a token request: try again.
fn unavailable() -> Response {
    oauth_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "try again",
    )
}

/// An OAuth error answer (RFC 6749 5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    at_hash: String,
    email: &'a str,
    email_verified: bool,
    name: &'a str,
}

/// `at_hash`: the left half of the access token's SHA-256, base64url (ES256).
fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// `POST /auth/token`: the code grant (with the PKCE verifier) and the refresh-token grant.
async fn token(
    State(state): State<OidcState>,
    headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Response {
    if state.config.client(&request.client_id).is_none() {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    }
    match request.grant_type.as_str() {
        "authorization_code" => code_grant(&state, &headers, request).await,
        "refresh_token" => refresh_grant(&state, &headers, request).await,
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "authorization_code or refresh_token",
        ),
    }
}

async fn code_grant(state: &OidcState, headers: &HeaderMap, request: TokenRequest) -> Response {
    let users = &state.users;
    let invalid =
        |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
    let (Some(code), Some(redirect_uri), Some(verifier)) =
        (&request.code, &request.redirect_uri, &request.code_verifier)
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code, redirect_uri and code_verifier are required",
        );
    };
    let code_hash = hash_refresh_token(code);
    let result: Result<Response, ApiError> = async {
        let txn = sea_orm::TransactionTrait::begin(&users.db).await?;
        let stored = match store::use_authorization_code(&txn, &code_hash).await? {
            CodeUse::Fresh(stored) => stored,
            CodeUse::Unknown => return Ok(invalid("the code is unknown or expired")),
            CodeUse::Replayed => {
                txn.commit().await?;
                tracing::warn!("an authorization code was presented again; its session revoked");
                audit_token(state, headers, None, "CODE_REPLAYED").await;
                return Ok(invalid("the code was used already; its session is revoked"));
            }
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if stored.client_id != request.client_id
            || stored.redirect_uri != *redirect_uri
            || challenge != stored.code_challenge
        {
            // The code is spent either way: a guess does not get a second try.
            txn.commit().await?;
            return Ok(invalid(
                "the code was issued to another client or redirect URI, or the code_verifier does not match",
            ));
        }
        let Some(user) = store::find_user(&txn, stored.user_id).await? else {
            return Ok(invalid("the user is gone"));
        };
        let (refresh, family) = new_session(&txn, users, user.id).await?;
        store::set_code_family(&txn, &code_hash, family).await?;
        txn.commit().await?;
        audit_token(state, headers, Some(&user), "OK").await;
        token_response(state, &user, refresh, family, Some(&stored))
    }
    .await;
    result.unwrap_or_else(|err| {
        tracing::error!(error = %err.message(), "a token request failed");
        unavailable()
    })
}

async fn refresh_grant(state: &OidcState, headers: &HeaderMap, request: TokenRequest) -> Response {
    let Some(presented) = &request.refresh_token else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        );
    };
    match rotate_refresh_token(&state.users, presented).await {
        Ok(Refreshed::Rotated(user, refresh, session)) => {
            audit_token(state, headers, Some(&user), "OK").await;
            token_response(state, &user, refresh, session, None).unwrap_or_else(|err| {
                tracing::error!(error = %err.message(), "a token response failed");
                unavailable()
            })
        }
        Ok(Refreshed::Rejected) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the refresh token is invalid, expired or revoked",
        ),
        Ok(Refreshed::Reused) => {
            audit_token(state, headers, None, "REFRESH_TOKEN_REUSED").await;
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the refresh token was used already; its session is revoked",
            )
        }
        Err(err) => {
            tracing::error!(error = %err.message(), "a refresh failed");
            unavailable()
        }
    }
}

async fn audit_token(
    state: &OidcState,
    headers: &HeaderMap,
    user: Option<&store::UserRow>,
    outcome: &str,
) {
    let mut entry = audit_entry("users.oidc.token", headers);
    if let Some(user) = user {
        entry.actor = user.id.to_string();
        entry.actor_roles = user.roles.clone();
        entry.subject = Some(user.id.to_string());
    }
    entry.outcome = outcome.into();
    state.audit.record(vec![entry]).await;
}

fn token_response(
    state: &OidcState,
    user: &store::UserRow,
    refresh: String,
    session: uuid::Uuid,
    code: Option<&AuthorizationCode>,
) -> Result<Response, ApiError> {
    let users = &state.users;
    let ttl = users.settings.access_token_ttl_secs;
    let access_token =
        users
            .keys
            .issue(&users.auth, user.id, store::roles_of(user), ttl, session)?;
    let now = Utc::now().timestamp();
    let mut body = serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": refresh,
    });
    if let Some(code) = code {
        let claims = IdTokenClaims {
            iss: &state.config.issuer,
            sub: user.id.to_string(),
            aud: &code.client_id,
            exp: now + ttl,
            iat: now,
            auth_time: code.auth_time.timestamp(),
            nonce: code.nonce.as_deref(),
            at_hash: at_hash(&access_token),
            email: &user.email,
            email_verified: user.email_verified_at.is_some(),
            name: &user.full_name,
        };
        body["id_token"] = users.keys.sign("JWT", &claims)?.into();
        body["scope"] = code.scope.clone().into();
    }
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET|POST /auth/userinfo`: the signed-in user's claims, for an access token.
async fn userinfo(State(state): State<OidcState>, headers: HeaderMap) -> Response {
    let unauthorized = || {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        response
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Ok(Some(principal)) = state.verifier.verify_header(authorization).await else {
        return unauthorized();
    };
    match store::find_user(&state.users.db, principal.user_id).await {
        Ok(Some(user)) => Json(serde_json::json!({
            "sub": user.id,
            "email": user.email,
            "email_verified": user.email_verified_at.is_some(),
            "name": user.full_name,
        }))
        .into_response(),
        Ok(None) => unauthorized(),
        Err(err) => {
            tracing::error!(error = %err, "userinfo failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
struct RevokeRequest {
    #[serde(default)]
    token: String,
    #[serde(default)]
    client_id: String,
}

/// `POST /auth/revoke` (RFC 7009): a refresh token ends its whole session. The answer is 200
/// whether or not the token was known (an unknown one tells nothing).
async fn revoke(
    State(state): State<OidcState>,
    headers: HeaderMap,
    Form(request): Form<RevokeRequest>,
) -> Response {
    if state.config.client(&request.client_id).is_none() {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    }
    match store::revoke_by_token(&state.users.db, &hash_refresh_token(request.token.trim())).await {
        Ok(ended) => {
            let mut entry = audit_entry("users.oidc.revoke", &headers);
            entry.outcome = "OK".into();
            entry.after = Some(serde_json::json!({ "sessionEnded": ended }));
            state.audit.record(vec![entry]).await;
            StatusCode::OK.into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "revocation failed");
            unavailable()
        }
    }
}

#[derive(Debug, Deserialize)]
struct EndSessionParams {
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// `GET /auth/logout` (RP-initiated logout): the provider keeps no browser session of its own
/// (every authorization asks for the password), so ending one is the client's revocation of
/// its refresh token; this sends the browser back to a registered address, or says it is done.
async fn end_session(
    State(state): State<OidcState>,
    Query(params): Query<EndSessionParams>,
) -> Response {
    let target = params.post_logout_redirect_uri.as_ref().filter(|uri| {
        state
            .config
            .clients
            .iter()
            .filter(|c| params.client_id.as_ref().is_none_or(|id| *id == c.id))
            .any(|c| c.post_logout_redirect_uris.contains(uri))
    });
    match target.and_then(|uri| openidconnect::url::Url::parse(uri).ok()) {
        Some(mut url) => {
            if let Some(value) = &params.state {
                url.query_pairs_mut().append_pair("state", value);
            }
            Redirect::to(url.as_str()).into_response()
        }
        None => page(
            StatusCode::OK,
            "Signed out",
            "",
            Some("<p>You are signed out of the bank.</p>".into()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> AuthorizeParams {
        AuthorizeParams {
            response_type: "code".into(),
            client_id: "bank-web".into(),
            redirect_uri: "https://localhost:8443/callback".into(),
            scope: "openid email".into(),
            state: Some("s".into()),
            nonce: Some("n".into()),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            code_challenge_method: "S256".into(),
        }
    }

    #[test]
    fn authorization_requests_need_a_registered_redirect_and_pkce_s256() {
        let config = OidcConfig::for_app("https://localhost:8443");
        assert!(check(&config, &params()).is_ok());
        let page_refusal =
            |p: AuthorizeParams| matches!(check(&config, &p), Err(Refusal::Page(..)));
        let redirect = |p: AuthorizeParams| match check(&config, &p) {
            Err(Refusal::Redirect(error, _)) => Some(error),
            _ => None,
        };
        assert!(page_refusal(AuthorizeParams {
            client_id: "other".into(),
            ..params()
        }));
        assert!(page_refusal(AuthorizeParams {
            redirect_uri: "https://localhost:8443/callback/".into(),
            ..params()
        }));
        assert_eq!(
            redirect(AuthorizeParams {
                code_challenge_method: "plain".into(),
                ..params()
            }),
            Some("invalid_request")
        );
        assert_eq!(
            redirect(AuthorizeParams {
                code_challenge: String::new(),
                ..params()
            }),
            Some("invalid_request")
        );
        assert_eq!(
            redirect(AuthorizeParams {
                response_type: "token".into(),
                ..params()
            }),
            Some("unsupported_response_type")
        );
        assert_eq!(
            redirect(AuthorizeParams {
                scope: "email".into(),
                ..params()
            }),
            Some("invalid_scope")
        );
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256() {
        // RFC 7515-style check: 16 bytes, base64url without padding.
        assert_eq!(at_hash("token").len(), 22);
        assert_ne!(at_hash("a"), at_hash("b"));
    }

    #[test]
    fn discovery_names_the_issuer_and_pkce() {
        let doc = discovery(&OidcConfig::for_app("https://localhost:8443")).unwrap();
        assert_eq!(doc["issuer"], "https://localhost:8443/auth");
        assert_eq!(
            doc["authorization_endpoint"],
            "https://localhost:8443/auth/authorize"
        );
        assert_eq!(doc["token_endpoint"], "https://localhost:8443/auth/token");
        assert_eq!(doc["jwks_uri"], "https://localhost:8443/auth/jwks");
        assert_eq!(
            doc["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            doc["revocation_endpoint"],
            "https://localhost:8443/auth/revoke"
        );
    }
}
