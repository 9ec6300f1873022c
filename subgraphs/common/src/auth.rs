//! Access tokens: who is calling, and with which roles.
//!
//! The users service signs short-lived ES256 JWTs and publishes its public keys as a JWKS.
//! The router checks every token before planning; each subgraph checks it again here (defence in
//! depth: a subgraph reachable without the router still trusts nobody) and then checks ownership
//! of every object it returns or changes.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::{
    decode, decode_header,
    jwk::{Jwk, JwkSet},
    Algorithm, DecodingKey, Validation,
};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

use crate::{config::AuthConfig, error::ApiError};

/// The only signature algorithm the bank issues or accepts.
pub const ALGORITHM: Algorithm = Algorithm::ES256;

/// The `typ` header of an access token (RFC 9068; RFC 8725 3.11): a JWT of another kind (an
/// ID token, say) signed by the same key is not an access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Whether a `typ` header names an access token (`at+jwt`, or its media type).
pub fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|typ| {
        typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
            || typ.eq_ignore_ascii_case("application/at+jwt")
    })
}

#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Customer,
    Teller,
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Customer => "CUSTOMER",
            Role::Teller => "TELLER",
            Role::Admin => "ADMIN",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "CUSTOMER" => Some(Role::Customer),
            "TELLER" => Some(Role::Teller),
            "ADMIN" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The claims of a bank access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: Uuid,
    pub roles: Vec<Role>,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// The session (refresh-token family) the token belongs to: ending the session ends the
    /// token too ([`Revocations`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

/// What the users service says no longer counts, until the tokens concerned have expired:
/// ended sessions (logout, revocation, a refresh token or code replayed) and, per user, a
/// time before which their tokens were issued (a change of roles). Published inside the
/// cluster at `/.well-known/revocations`, next to the JWKS; every verifier fetches it every
/// [`REVOCATIONS_POLL`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revocations {
    pub sessions: Vec<Uuid>,
    pub users: Vec<UserCutoff>,
}

/// A user's tokens issued before `not_before` (seconds since the epoch) no longer count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCutoff {
    pub user_id: Uuid,
    pub not_before: i64,
}

/// How often a verifier fetches the revocations: a logged-out or demoted token stops working
/// everywhere within about this long.
pub const REVOCATIONS_POLL: Duration = Duration::from_secs(1);

/// Every this many revocation polls a verifier fetches the JWKS again (a minute), so that a
/// retired key stops verifying.
const JWKS_POLL_TICKS: u64 = 60;

#[derive(Default, PartialEq)]
struct RevokedSet {
    sessions: std::collections::HashSet<Uuid>,
    users: HashMap<Uuid, i64>,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub roles: Vec<Role>,
}

impl Principal {
    /// Tellers and admins act on other people's accounts.
    pub fn is_staff(&self) -> bool {
        self.roles
            .iter()
            .any(|role| matches!(role, Role::Teller | Role::Admin))
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller may see or change something owned by `owner`.
    pub fn can_access(&self, owner: Uuid) -> bool {
        self.user_id == owner || self.is_staff()
    }

    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

enum KeySource {
    /// Keys fetched from the users service's JWKS endpoint, refreshed on an unknown `kid`.
    Remote {
        url: String,
        client: reqwest::Client,
        last_refresh: Mutex<Option<Instant>>,
    },
    /// Keys given at construction (the users service verifies with its own keys).
    Static,
}

/// What an accepted token was issued for and until when: enough to tell, later and without
/// verifying its signature again, whether it still counts ([`TokenVerifier::lease_ended`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLease {
    pub user_id: Uuid,
    pub session: Option<Uuid>,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// Why a token stopped counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseEnd {
    Expired,
    Revoked,
}

impl LeaseEnd {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseEnd::Expired => "expired",
            LeaseEnd::Revoked => "revoked",
        }
    }

    /// What the client is told.
    pub fn message(self) -> &'static str {
        match self {
            LeaseEnd::Expired => "the access token expired: connect again with a fresh one",
            LeaseEnd::Revoked => "the session has ended or the user's roles changed: sign in again",
        }
    }
}

fn revoked_error() -> ApiError {
    ApiError::Unauthenticated(LeaseEnd::Revoked.message().into())
}

/// Verifies access tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    validation: Validation,
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    source: KeySource,
    revoked: std::sync::RwLock<RevokedSet>,
    /// Bumped whenever `revoked` changes: what [`TokenVerifier::lease_end`] waits on.
    revision: tokio::sync::watch::Sender<u64>,
    /// Tokens whose signature and claims were checked already, by the token's SHA-256: a
    /// client sends the same token on every request until it expires, and an ES256
    /// verification costs far more than a hash. An entry counts only until its token's expiry
    /// and while its key is still known; revocations are checked on every use.
    verified: std::sync::Mutex<HashMap<[u8; 32], Verified>>,
}

/// A token verified once: what it said, and which key signed it.
#[derive(Clone)]
struct Verified {
    principal: Principal,
    lease: TokenLease,
    kid: String,
}

/// Verified tokens remembered at most (about 200 bytes each); past this the memory starts
/// again, empty.
const VERIFIED_CAPACITY: usize = 20_000;

/// Access tokens checked: `verified` (signature and claims) or `remembered` (the same token
/// verified before, in this process).
static VERIFICATIONS: std::sync::LazyLock<prometheus::IntCounterVec> = std::sync::LazyLock::new(
    || {
        crate::metrics::service_metric(
            prometheus::IntCounterVec::new(
                prometheus::Opts::new(
                    "access_token_checks_total",
                    "Access tokens checked, by how: verified, or remembered from an earlier verification",
                ),
                &["how"],
            )
            .expect("valid metric"),
        )
    },
);

/// An unknown `kid` triggers at most one JWKS fetch per this interval.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
const JWKS_TIMEOUT: Duration = Duration::from_secs(3);

impl TokenVerifier {
    fn validation(config: &AuthConfig) -> Validation {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        validation
    }

    /// A verifier that fetches keys from `config.jwks_url` (lazily, and again on an unknown key).
    pub fn remote(config: &AuthConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(JWKS_TIMEOUT)
            .build()
            .expect("a TLS backend is compiled in");
        let verifier = Self {
            inner: Arc::new(VerifierInner {
                validation: Self::validation(config),
                keys: RwLock::new(HashMap::new()),
                source: KeySource::Remote {
                    url: config.jwks_url.clone(),
                    client: client.clone(),
                    last_refresh: Mutex::new(None),
                },
                revoked: Default::default(),
                revision: tokio::sync::watch::Sender::new(0),
                verified: Default::default(),
            }),
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(poll_revocations(
                Arc::downgrade(&verifier.inner),
                client,
                revocations_url(&config.jwks_url),
            ));
        }
        verifier
    }

    /// Replaces the keys (the users service feeds its own verifier this way after a rotation
    /// or a retirement).
    pub async fn set_keys(&self, jwks: &JwkSet) {
        *self.inner.keys.write().await = keys_by_kid(jwks);
    }

    /// Replaces what no longer counts (the users service feeds its own verifier this way).
    pub fn set_revocations(&self, revocations: &Revocations) {
        let set = RevokedSet {
            sessions: revocations.sessions.iter().copied().collect(),
            users: revocations
                .users
                .iter()
                .map(|cutoff| (cutoff.user_id, cutoff.not_before))
                .collect(),
        };
        let mut current = self.inner.revoked.write().expect("not poisoned");
        if *current != set {
            *current = set;
            drop(current);
            self.inner.revision.send_modify(|revision| *revision += 1);
        }
    }

    /// A verifier over a fixed key set.
    pub fn with_keys(config: &AuthConfig, jwks: &JwkSet) -> Self {
        Self {
            inner: Arc::new(VerifierInner {
                validation: Self::validation(config),
                keys: RwLock::new(keys_by_kid(jwks)),
                source: KeySource::Static,
                revoked: Default::default(),
                revision: tokio::sync::watch::Sender::new(0),
                verified: Default::default(),
            }),
        }
    }

    /// Checks signature, algorithm, issuer, audience and expiry; returns the caller.
    pub async fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        self.verify_lease(token)
            .await
            .map(|(principal, _)| principal)
    }

    /// [`verify`](Self::verify), and what decides how long the token keeps counting: a
    /// long-lived connection (a subscription) holds the [`TokenLease`] and ends when
    /// [`lease_ended`](Self::lease_ended) says so.
    pub async fn verify_lease(&self, token: &str) -> Result<(Principal, TokenLease), ApiError> {
        let invalid = || ApiError::Unauthenticated("the access token is invalid or expired".into());
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let remembered = self
            .inner
            .verified
            .lock()
            .expect("not poisoned")
            .get(&digest)
            .cloned();
        if let Some(known) = remembered {
            // Its key still verifies: what ends a lease ends the remembered token.
            if self.inner.keys.read().await.contains_key(&known.kid) {
                match self.lease_ended(&known.lease) {
                    None => {
                        VERIFICATIONS.with_label_values(&["remembered"]).inc();
                        return Ok((known.principal, known.lease));
                    }
                    Some(LeaseEnd::Revoked) => {
                        tracing::debug!("a revoked token refused");
                        return Err(revoked_error());
                    }
                    // Forgotten, and verified again below (which refuses it).
                    Some(LeaseEnd::Expired) => {}
                }
            }
            self.inner
                .verified
                .lock()
                .expect("not poisoned")
                .remove(&digest);
        }
        let header = decode_header(token).map_err(|_| invalid())?;
        if header.alg != ALGORITHM || !is_access_token_type(header.typ.as_deref()) {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        // Bind the lookup first: a read guard held across `refresh()` would deadlock with the
        // write lock it takes. Keys are shared (`Arc`), so a request copies no key material.
        let cached = self.inner.keys.read().await.get(&kid).cloned();
        let key = match cached {
            Some(key) => key,
            None => {
                self.refresh().await;
                let refreshed = self.inner.keys.read().await.get(&kid).cloned();
                refreshed.ok_or_else(|| {
                    tracing::debug!(kid, "token signed with an unknown key");
                    invalid()
                })?
            }
        };
        let data = decode::<Claims>(token, &key, &self.inner.validation).map_err(|err| {
            tracing::debug!(error = %err, "token rejected");
            invalid()
        })?;
        let lease = TokenLease {
            user_id: data.claims.sub,
            session: data.claims.sid,
            issued_at: data.claims.iat,
            expires_at: data.claims.exp,
        };
        VERIFICATIONS.with_label_values(&["verified"]).inc();
        let principal = Principal {
            user_id: data.claims.sub,
            roles: data.claims.roles,
        };
        {
            let mut verified = self.inner.verified.lock().expect("not poisoned");
            if verified.len() >= VERIFIED_CAPACITY {
                verified.clear();
            }
            verified.insert(
                digest,
                Verified {
                    principal: principal.clone(),
                    lease: lease.clone(),
                    kid,
                },
            );
        }
        if self.is_revoked(&lease) {
            tracing::debug!("a revoked token refused");
            return Err(revoked_error());
        }
        Ok((principal, lease))
    }

    fn is_revoked(&self, lease: &TokenLease) -> bool {
        let revoked = self.inner.revoked.read().expect("not poisoned");
        let session_ended = lease
            .session
            .is_some_and(|sid| revoked.sessions.contains(&sid));
        let superseded = revoked
            .users
            .get(&lease.user_id)
            .is_some_and(|not_before| lease.issued_at < *not_before);
        session_ended || superseded
    }

    /// Why a token accepted earlier no longer counts (`None` while it does): it expired (with
    /// the same leeway as [`verify`](Self::verify)), its session ended, or its user's roles
    /// changed since it was issued.
    pub fn lease_ended(&self, lease: &TokenLease) -> Option<LeaseEnd> {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        if now > lease.expires_at + self.inner.validation.leeway as i64 {
            return Some(LeaseEnd::Expired);
        }
        self.is_revoked(lease).then_some(LeaseEnd::Revoked)
    }

    /// Resolves when `lease` stops counting, with the reason: at its expiry, or as soon as a
    /// revocation that concerns it arrives. Costs nothing between changes (no polling per
    /// connection).
    pub async fn lease_end(&self, lease: &TokenLease) -> LeaseEnd {
        let mut changes = self.inner.revision.subscribe();
        loop {
            if let Some(reason) = self.lease_ended(lease) {
                return reason;
            }
            let now = jsonwebtoken::get_current_timestamp() as i64;
            let left = (lease.expires_at + self.inner.validation.leeway as i64 - now).max(0) as u64;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(left) + Duration::from_millis(100)) => {}
                changed = changes.changed() => {
                    if changed.is_err() {
                        // The verifier is gone: only the expiry is left to wait for.
                        tokio::time::sleep(Duration::from_secs(left) + Duration::from_millis(100)).await;
                    }
                }
            }
        }
    }

    /// Reads `Authorization: Bearer <token>`: no header is an anonymous caller (`Ok(None)`),
    /// a malformed header or a bad token is an error.
    pub async fn verify_header(&self, value: Option<&str>) -> Result<Option<Principal>, ApiError> {
        Ok(self
            .verify_header_lease(value)
            .await?
            .map(|(principal, _)| principal))
    }

    /// [`verify_header`](Self::verify_header) with the token's [`TokenLease`].
    pub async fn verify_header_lease(
        &self,
        value: Option<&str>,
    ) -> Result<Option<(Principal, TokenLease)>, ApiError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "the Authorization header must be `Bearer <token>`".into(),
                )
            })?;
        self.verify_lease(token.trim()).await.map(Some)
    }

    async fn refresh(&self) {
        let KeySource::Remote {
            url,
            client,
            last_refresh,
        } = &self.inner.source
        else {
            return;
        };
        let mut last = last_refresh.lock().await;
        if last.is_some_and(|at| at.elapsed() < MIN_REFRESH_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        match fetch_jwks(client, url).await {
            Ok(jwks) => {
                let keys = keys_by_kid(&jwks);
                tracing::info!(url, keys = keys.len(), "refreshed signing keys");
                *self.inner.keys.write().await = keys;
            }
            Err(err) => tracing::warn!(url, error = %err, "could not fetch signing keys"),
        }
    }
}

/// `/.well-known/revocations` next to the JWKS URL.
fn revocations_url(jwks_url: &str) -> String {
    match jwks_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/revocations"),
        None => format!("{jwks_url}/revocations"),
    }
}

/// Fetches the revocations every [`REVOCATIONS_POLL`] while the verifier lives. When the users
/// service cannot be reached the last list stays (and a warning says for how long).
async fn poll_revocations(
    inner: std::sync::Weak<VerifierInner>,
    client: reqwest::Client,
    url: String,
) {
    let mut ticker = tokio::time::interval(REVOCATIONS_POLL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing_since: Option<Instant> = None;
    let mut ticks: u64 = 0;
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        ticks += 1;
        // The keys too, now and then: a retired key leaves the JWKS, and then this verifier's
        // set (an unknown key is fetched at once anyway).
        if ticks.is_multiple_of(JWKS_POLL_TICKS) {
            TokenVerifier {
                inner: inner.clone(),
            }
            .refresh()
            .await;
        }
        let fetched = async {
            Ok::<_, anyhow::Error>(
                client
                    .get(&url)
                    .send()
                    .await?
                    .error_for_status()?
                    .json::<Revocations>()
                    .await?,
            )
        }
        .await;
        match fetched {
            Ok(revocations) => {
                if failing_since.take().is_some() {
                    tracing::info!(url, "revocations fetched again");
                }
                TokenVerifier { inner }.set_revocations(&revocations);
            }
            Err(err) => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                // Quiet at first (a service may start before the users service), then once a
                // minute.
                let stale = since.elapsed().as_secs();
                if stale >= 30 && stale % 60 == 30 {
                    tracing::warn!(url, error = %err, stale_secs = since.elapsed().as_secs(), "could not fetch revocations: logged-out tokens may still be accepted here");
                }
            }
        }
    }
}

async fn fetch_jwks(client: &reqwest::Client, url: &str) -> anyhow::Result<JwkSet> {
    Ok(client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json::<JwkSet>()
        .await?)
}

fn keys_by_kid(jwks: &JwkSet) -> HashMap<String, Arc<DecodingKey>> {
    jwks.keys
        .iter()
        .filter_map(|jwk: &Jwk| {
            let kid = jwk.common.key_id.clone()?;
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => Some((kid, Arc::new(key))),
                Err(err) => {
                    tracing::warn!(kid, error = %err, "ignoring an unusable key in the JWKS");
                    None
                }
            }
        })
        .collect()
}

/// Reads the caller from the GraphQL context.
pub trait ContextAuth {
    /// The caller, or `UNAUTHENTICATED`.
    fn principal(&self) -> Result<&Principal, ApiError>;
}

impl ContextAuth for async_graphql::Context<'_> {
    fn principal(&self) -> Result<&Principal, ApiError> {
        self.data_opt::<Principal>()
            .ok_or_else(ApiError::unauthenticated)
    }
}

#[cfg(test)]
mod remembered_tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use jsonwebtoken::{encode, EncodingKey, Header};
    use p256::{
        elliptic_curve::sec1::ToEncodedPoint,
        pkcs8::{EncodePrivateKey, LineEnding},
        SecretKey,
    };

    struct Keys {
        kid: String,
        encoding: EncodingKey,
        jwks: JwkSet,
        config: AuthConfig,
    }

    fn keys() -> Keys {
        let secret = SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let point = secret.public_key().to_encoded_point(false);
        let kid = format!("k-{}", Uuid::new_v4().simple());
        let jwks = serde_json::from_value(serde_json::json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        }]}))
        .unwrap();
        Keys {
            kid,
            encoding: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            jwks,
            config: AuthConfig {
                jwks_url: "http://127.0.0.1:9/unused".into(),
                issuer: "https://bank.test/auth".into(),
                audience: "bank".into(),
            },
        }
    }

    fn token(keys: &Keys, sid: Uuid, lifetime: i64) -> String {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let claims = Claims {
            iss: keys.config.issuer.clone(),
            aud: keys.config.audience.clone(),
            sub: Uuid::now_v7(),
            roles: vec![Role::Customer],
            iat: now,
            exp: now + lifetime,
            jti: Uuid::new_v4(),
            sid: Some(sid),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(keys.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        encode(&header, &claims, &keys.encoding).unwrap()
    }

    fn remembered(verifier: &TokenVerifier) -> usize {
        verifier.inner.verified.lock().unwrap().len()
    }

    /// A token verified once is remembered, and what ends it still ends it: its session, its
    /// key's retirement. A copy with another signature is verified on its own, and refused.
    #[tokio::test]
    async fn a_remembered_token_still_ends_with_its_session_and_its_key() {
        let keys = keys();
        let verifier = TokenVerifier::with_keys(&keys.config, &keys.jwks);
        let sid = Uuid::now_v7();
        let token = token(&keys, sid, 300);
        let first = verifier.verify(&token).await.unwrap();
        assert_eq!(remembered(&verifier), 1);
        assert_eq!(verifier.verify(&token).await.unwrap(), first);

        let mut forged = token.clone();
        forged.truncate(forged.len() - 4);
        forged.push_str("AAAA");
        assert!(verifier.verify(&forged).await.is_err());

        verifier.set_revocations(&Revocations {
            sessions: vec![sid],
            users: vec![],
        });
        assert!(verifier.verify(&token).await.is_err(), "its session ended");
        verifier.set_revocations(&Revocations::default());
        assert!(verifier.verify(&token).await.is_ok());

        verifier.set_keys(&JwkSet { keys: vec![] }).await;
        assert!(verifier.verify(&token).await.is_err(), "its key is retired");
        assert_eq!(remembered(&verifier), 0, "and it is forgotten");
    }

    /// A remembered token counts until its expiry (with the verifier's leeway), not longer.
    #[tokio::test]
    async fn a_remembered_token_expires_with_its_token() {
        let keys = keys();
        let verifier = TokenVerifier::with_keys(&keys.config, &keys.jwks);
        let token = token(&keys, Uuid::now_v7(), 1);
        verifier.verify(&token).await.unwrap();
        assert_eq!(remembered(&verifier), 1);
        tokio::time::sleep(Duration::from_secs(1 + 5 + 2)).await;
        assert!(verifier.verify(&token).await.is_err());
    }
}
