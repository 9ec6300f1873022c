//! Sign-in with an external OpenID Connect provider (the users service as its relying party):
//! the bank's login page links to `/auth/external` with the bank's own authorization request;
//! that sends the browser to the provider with the code flow, PKCE (S256), a nonce and a state
//! bound to the browser by a cookie; the provider comes back to `/auth/external/callback`, where
//! the code is exchanged (with the client secret), the ID token verified (issuer, audience,
//! signature, nonce) and the e-mail address read from the ID token or userinfo. The person is
//! then the bank user linked to the provider's subject, or else the user with that address
//! (linked now), or else a new customer; only an address the provider says is verified links or
//! creates. The bank's authorization request then ends as a password sign-in does: a code for
//! the client.

use std::time::{Duration, Instant};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use openidconnect::{
    core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims},
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::{
    audit_entry, check, cookie, escape, grant_code, page, refuse, AuthorizeParams, OidcState,
};
use crate::{
    keys::{hash_refresh_token, new_refresh_token},
    store::{self, ExternalLink},
};

/// An external provider (`USERS_EXTERNAL_ISSUER`, `USERS_EXTERNAL_CLIENT_ID`,
/// `USERS_EXTERNAL_CLIENT_SECRET`, `USERS_EXTERNAL_NAME`), registered there with the redirect
/// URI `<issuer of the bank>/external/callback`.
#[derive(Debug, Clone)]
pub struct ExternalProvider {
    /// What the login page calls it: "Sign in with <name>".
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

impl ExternalProvider {
    /// Checks the issuer: `https`, or `http` on a loopback host only (a provider started on
    /// this machine for development and tests).
    pub fn validate(&self) -> Result<(), String> {
        let url = openidconnect::url::Url::parse(&self.issuer)
            .map_err(|err| format!("the issuer is not a URL: {err}"))?;
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match url.scheme() {
            "https" => Ok(()),
            "http" if loopback => Ok(()),
            _ => Err("the issuer must be https (http only on a loopback host)".into()),
        }
    }
}

/// How long a sign-in at the provider may take, from the bank's page to the callback.
const SIGN_IN_TTL_SECS: i64 = 600;
/// The provider's metadata and keys are fetched again after this long (its keys rotate).
const DISCOVERY_TTL: Duration = Duration::from_secs(300);
/// The cookie that binds a sign-in under way to the browser that started it.
const BROWSER_COOKIE: &str = "__Host-bank_external";

/// The provider's metadata (with its JWKS), fetched on first use and again after
/// [`DISCOVERY_TTL`], and the HTTP client that talks to the provider (built once).
pub struct Discovered {
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
    http: reqwest::Client,
}

impl Default for Discovered {
    fn default() -> Self {
        Self {
            metadata: Mutex::new(None),
            http: reqwest::Client::builder()
                // A redirect from the provider's endpoints is not followed (SSRF, RFC 9700).
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
        }
    }
}

/// The bank's client at the provider, from its metadata (fetched again first when `fresh`).
async fn provider_client(
    state: &OidcState,
    provider: &ExternalProvider,
    fresh: bool,
) -> anyhow::Result<
    CoreClient<
        EndpointSet,
        EndpointNotSet,
        EndpointNotSet,
        EndpointNotSet,
        EndpointMaybeSet,
        EndpointMaybeSet,
    >,
> {
    let metadata = {
        let mut cached = state.external.metadata.lock().await;
        match cached.as_ref() {
            Some((at, metadata)) if !fresh && at.elapsed() < DISCOVERY_TTL => metadata.clone(),
            _ => {
                let issuer = IssuerUrl::new(provider.issuer.clone())?;
                let metadata =
                    CoreProviderMetadata::discover_async(issuer, &state.external.http).await?;
                *cached = Some((Instant::now(), metadata.clone()));
                metadata
            }
        }
    };
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri(state))?))
}

fn redirect_uri(state: &OidcState) -> String {
    format!(
        "{}/external/callback",
        state.config.issuer.trim_end_matches('/')
    )
}

/// The login page's link to the external provider, with the bank's authorization request.
pub(super) fn sign_in_link(state: &OidcState, params: &AuthorizeParams) -> String {
    match &state.config.external {
        Some(provider) => link_html(&provider.name, params),
        None => String::new(),
    }
}

fn link_html(name: &str, params: &AuthorizeParams) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    format!(
        "<p><a class=\"external\" href=\"external?{}\">Sign in with {}</a></p>",
        escape(&query),
        escape(name)
    )
}

fn unavailable(provider: &ExternalProvider) -> Response {
    page(
        StatusCode::BAD_GATEWAY,
        "Cannot sign in",
        &format!(
            "{} cannot be reached just now. Sign in with your password, or try again later.",
            provider.name
        ),
        None,
    )
}

/// `GET /auth/external`: starts a sign-in at the provider for the bank's authorization
/// request in the query.
pub(super) async fn start(
    State(state): State<OidcState>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    let Some(provider) = state.config.external.clone() else {
        return page(
            StatusCode::NOT_FOUND,
            "Cannot sign in",
            "No external provider is configured.",
            None,
        );
    };
    if let Err(refusal) = check(&state.config, &params) {
        return refuse(refusal, &params, &state.config.issuer);
    }
    let client = match provider_client(&state, &provider, false).await {
        Ok(client) => client,
        Err(err) => {
            tracing::warn!(issuer = %provider.issuer, error = %err, "the external provider's discovery failed");
            return unavailable(&provider);
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let (browser, browser_hash) = new_refresh_token();
    let stored = store::begin_external_sign_in(
        &state.users.db,
        &store::ExternalSignIn {
            state_hash: hash_refresh_token(csrf.secret()),
            browser_hash,
            pkce_verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            request: serde_json::to_value(&params).unwrap_or_default(),
        },
        SIGN_IN_TTL_SECS,
    )
    .await;
    if let Err(err) = stored {
        tracing::error!(error = %err, "storing an external sign-in failed");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Cannot sign in",
            "Please try again in a moment.",
            None,
        );
    }
    let mut response = Redirect::to(url.as_str()).into_response();
    // Lax: the provider sends the browser back with a top-level GET from its own site.
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{BROWSER_COOKIE}={browser}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={SIGN_IN_TTL_SECS}"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The provider's answer (RFC 6749 4.1.2).
#[derive(Debug, Deserialize)]
pub(super) struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// Who the provider says signed in.
struct Identity {
    subject: String,
    email: String,
    name: Option<String>,
}

/// `GET /auth/external/callback`: the provider's answer. A sign-in that is unknown, spent,
/// expired or started in another browser goes no further.
pub(super) async fn callback(
    State(state): State<OidcState>,
    headers: HeaderMap,
    Query(answer): Query<CallbackParams>,
) -> Response {
    let Some(provider) = state.config.external.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let expired = || {
        page(
            StatusCode::BAD_REQUEST,
            "Cannot sign in",
            "This sign-in has expired or was used already. Please start again from the app.",
            None,
        )
    };
    let Some(state_param) = answer.state.as_deref() else {
        return expired();
    };
    let pending = match store::take_external_sign_in(
        &state.users.db,
        &hash_refresh_token(state_param),
        SIGN_IN_TTL_SECS,
    )
    .await
    {
        Ok(Some(pending)) => pending,
        Ok(None) => return expired(),
        Err(err) => {
            tracing::error!(error = %err, "reading an external sign-in failed");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Cannot sign in",
                "Please try again in a moment.",
                None,
            );
        }
    };
    let browser = cookie(&headers, BROWSER_COOKIE).unwrap_or_default();
    if hash_refresh_token(&browser) != pending.browser_hash {
        return page(
            StatusCode::BAD_REQUEST,
            "Cannot sign in",
            "This sign-in was started in another browser. Please start again from the app.",
            None,
        );
    }
    let Ok(params) = serde_json::from_value::<AuthorizeParams>(pending.request.clone()) else {
        return expired();
    };
    if let Err(refusal) = check(&state.config, &params) {
        return refuse(refusal, &params, &state.config.issuer);
    }
    let mut entry = audit_entry("users.oidc.external", &headers);
    entry.after = Some(serde_json::json!({
        "clientId": params.client_id,
        "issuer": provider.issuer,
    }));
    let refused = |state: &OidcState,
                   mut entry: bank_common::audit::Entry,
                   outcome: &str,
                   message: String| {
        entry.outcome = outcome.into();
        let audit = state.audit.clone();
        async move {
            audit.record(vec![entry]).await;
            page(StatusCode::FORBIDDEN, "Cannot sign in", &message, None)
        }
    };
    let Some(code) = answer.code.filter(|_| answer.error.is_none()) else {
        let why = answer.error.unwrap_or_else(|| "no code".into());
        return refused(
            &state,
            entry,
            "PROVIDER_REFUSED",
            format!("{} did not sign you in ({why}).", provider.name),
        )
        .await;
    };
    let identity = match identify(&state, &provider, code, &pending).await {
        Ok(Some(identity)) => identity,
        Ok(None) => {
            return refused(
                &state,
                entry,
                "EMAIL_NOT_VERIFIED",
                format!(
                    "{} did not confirm an e-mail address for you, so the bank cannot tell which account is yours.",
                    provider.name
                ),
            )
            .await
        }
        Err(err) => {
            tracing::warn!(issuer = %provider.issuer, error = %err, "an external sign-in failed");
            return refused(
                &state,
                entry,
                "PROVIDER_FAILED",
                format!(
                    "{} could not confirm who you are. Please try again.",
                    provider.name
                ),
            )
            .await;
        }
    };
    let linked = store::link_external_identity(
        &state.users.db,
        &provider.issuer,
        &identity.subject,
        &identity.email,
        identity.name.as_deref(),
    )
    .await;
    let (row, how) = match linked {
        Ok(linked) => linked,
        Err(err) => {
            tracing::error!(error = %err.message(), "linking an external identity failed");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Cannot sign in",
                "Please try again in a moment.",
                None,
            );
        }
    };
    if let Some(after) = entry.after.as_mut() {
        after["link"] = serde_json::json!(how.as_str());
    }
    if row.disabled_at.is_some() {
        entry.actor = row.id.to_string();
        entry.subject = Some(row.id.to_string());
        return refused(
            &state,
            entry,
            "FORBIDDEN",
            "This account is disabled.".into(),
        )
        .await;
    }
    tracing::info!(user_id = %row.id, link = how.as_str(), "signed in through the external provider");
    let mut response = grant_code(&state, &params, &row, entry).await;
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{BROWSER_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Exchanges the code, verifies the ID token and reads the person's verified address (from
/// the ID token, else from userinfo): `None` when the provider gives no address or has not
/// verified it.
async fn identify(
    state: &OidcState,
    provider: &ExternalProvider,
    code: String,
    pending: &store::ExternalSignIn,
) -> anyhow::Result<Option<Identity>> {
    let http = &state.external.http;
    let client = provider_client(state, provider, false).await?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(http)
        .await
        .map_err(|err| anyhow::anyhow!("the token request failed: {err:?}"))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| anyhow::anyhow!("the token response has no ID token"))?;
    let nonce = Nonce::new(pending.nonce.clone());
    let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(claims) => claims.clone(),
        Err(first) => {
            // A key the provider rotated in since the last discovery: fetch once more.
            let client = provider_client(state, provider, true).await?;
            let verifier = client.id_token_verifier();
            let claims = id_token
                .claims(&verifier, &nonce)
                .map_err(|err| anyhow::anyhow!("the ID token is invalid: {first}; {err}"))?
                .clone();
            claims
        }
    };
    let subject = claims.subject().to_string();
    let mut email = claims
        .email()
        .map(|email| (email.to_string(), claims.email_verified() == Some(true)));
    let mut name = claims
        .name()
        .and_then(|name| name.get(None))
        .map(|name| name.to_string());
    if email.is_none() {
        let info: CoreUserInfoClaims = client
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )?
            .request_async(http)
            .await
            .map_err(|err| anyhow::anyhow!("userinfo failed: {err:?}"))?;
        email = info
            .email()
            .map(|email| (email.to_string(), info.email_verified() == Some(true)));
        name = name.or_else(|| {
            info.name()
                .and_then(|name| name.get(None))
                .map(|name| name.to_string())
        });
    }
    let Some((email, true)) = email else {
        return Ok(None);
    };
    let Ok(email) = crate::domain::Email::parse(&email) else {
        return Ok(None);
    };
    Ok(Some(Identity {
        subject,
        email: email.as_str().to_string(),
        name,
    }))
}

impl ExternalLink {
    pub fn as_str(self) -> &'static str {
        match self {
            ExternalLink::Known => "known",
            ExternalLink::ByEmail => "by-email",
            ExternalLink::Created => "created",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(issuer: &str) -> ExternalProvider {
        ExternalProvider {
            name: "Demo".into(),
            issuer: issuer.into(),
            client_id: "bank".into(),
            client_secret: "secret".into(),
        }
    }

    #[test]
    fn the_issuer_is_https_or_a_loopback_http() {
        assert!(provider("https://id.example.com").validate().is_ok());
        assert!(provider("http://127.0.0.1:4092").validate().is_ok());
        assert!(provider("http://localhost:4092").validate().is_ok());
        assert!(provider("http://id.example.com").validate().is_err());
        assert!(provider("ftp://id.example.com").validate().is_err());
        assert!(provider("not a url").validate().is_err());
    }

    #[test]
    fn the_link_carries_the_request_and_escapes_what_it_shows() {
        let params = AuthorizeParams {
            response_type: "code".into(),
            client_id: "bank-web".into(),
            redirect_uri: "https://bank.test/callback".into(),
            scope: "openid email".into(),
            state: Some("a\"b&c".into()),
            ..Default::default()
        };
        let html = link_html("<Demo & Co>", &params);
        assert!(
            html.contains("Sign in with &lt;Demo &amp; Co&gt;"),
            "{html}"
        );
        let href = html
            .split("href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(!href.contains('<'), "{href}");
        let query = href.replace("&amp;", "&");
        let back: AuthorizeParams =
            serde_urlencoded::from_str(query.trim_start_matches("external?")).unwrap();
        assert_eq!(back.state.as_deref(), Some("a\"b&c"));
        assert_eq!(back.redirect_uri, params.redirect_uri);
        assert_eq!(back.scope, "openid email");
    }
}
