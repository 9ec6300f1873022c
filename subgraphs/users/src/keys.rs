//! Access-token signing: ES256 keys kept in the database (generated at first start) and the
//! JWKS that publishes their public halves.

use std::sync::Arc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::Utc;
use jsonwebtoken::{encode, jwk::JwkSet, EncodingKey, Header};
use openidconnect::{
    core::{CoreJsonCurveType, CoreJsonWebKey, CoreJsonWebKeySet},
    JsonWebKeyId,
};
use p256::{
    elliptic_curve::{rand_core::OsRng, sec1::ToEncodedPoint},
    pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding},
    SecretKey,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use bank_common::{
    auth::{Claims, Role, ALGORITHM},
    config::AuthConfig,
    ApiError, ApiResult,
};

use crate::store;

/// The keys this instance signs with and publishes. They change at run time (a rotation, a
/// retirement): [`SigningKeys::reload`] reads them again.
pub struct SigningKeys {
    state: std::sync::RwLock<Arc<KeyState>>,
}

struct KeyState {
    kid: String,
    encoding: EncodingKey,
    /// The JWKS document (every unretired key), as served at `/.well-known/jwks.json`.
    jwks_json: serde_json::Value,
}

impl SigningKeys {
    /// Loads the unretired keys, generating the first one if there is none. Replicas starting
    /// together serialise on an advisory lock, so exactly one key is generated.
    pub async fn load_or_create(db: &DatabaseConnection) -> anyhow::Result<Self> {
        let txn = db.begin().await?;
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(hashtext('users.signing_keys'))")
            .await?;
        let mut rows = store::active_signing_keys(&txn).await?;
        if rows.is_empty() {
            let (kid, pem) = new_key()?;
            store::insert_signing_key(&txn, &kid, &pem, Utc::now()).await?;
            tracing::info!(kid, "generated a new access-token signing key");
            rows = store::active_signing_keys(&txn).await?;
        }
        txn.commit().await?;
        Ok(Self {
            state: std::sync::RwLock::new(Arc::new(KeyState::from_rows(&rows)?)),
        })
    }

    /// Generates a key that is published now and signs from `lead` on (once every verifier
    /// has fetched the JWKS again). Returns its id and when it signs from.
    pub async fn rotate(
        db: &DatabaseConnection,
        lead: std::time::Duration,
    ) -> anyhow::Result<(String, chrono::DateTime<Utc>)> {
        let (kid, pem) = new_key()?;
        let signs_from = Utc::now() + chrono::TimeDelta::from_std(lead)?;
        store::insert_signing_key(db, &kid, &pem, signs_from).await?;
        tracing::info!(kid, %signs_from, "a new signing key is published; it signs from then");
        Ok((kid, signs_from))
    }

    /// Retires keys replaced more than `grace` ago and reads the keys again. Returns whether
    /// what this instance signs with or publishes changed.
    pub async fn reload(
        &self,
        db: &DatabaseConnection,
        grace: std::time::Duration,
    ) -> anyhow::Result<bool> {
        let retired = store::retire_replaced_keys(db, chrono::TimeDelta::from_std(grace)?).await?;
        if retired > 0 {
            tracing::info!(retired, "signing keys retired: their tokens have expired");
        }
        let rows = store::active_signing_keys(db).await?;
        let next = KeyState::from_rows(&rows)?;
        let current = self.state();
        if next.kid == current.kid && next.jwks_json == current.jwks_json {
            return Ok(false);
        }
        if next.kid != current.kid {
            tracing::info!(kid = next.kid, "signing with a new key");
        }
        *self.state.write().expect("not poisoned") = Arc::new(next);
        Ok(true)
    }

    fn state(&self) -> Arc<KeyState> {
        self.state.read().expect("not poisoned").clone()
    }

    /// The id of the key that signs new tokens.
    pub fn kid(&self) -> String {
        self.state().kid.clone()
    }

    pub fn jwks_json(&self) -> serde_json::Value {
        self.state().jwks_json.clone()
    }

    /// The same key set, for verifying tokens inside this service.
    pub fn jwk_set(&self) -> anyhow::Result<JwkSet> {
        Ok(serde_json::from_value(self.jwks_json())?)
    }

    /// Signs an access token for `user_id` valid for `ttl_secs`, in the session (refresh-token
    /// family) `session`.
    pub fn issue(
        &self,
        config: &AuthConfig,
        user_id: Uuid,
        roles: Vec<Role>,
        ttl_secs: i64,
        session: Uuid,
    ) -> ApiResult<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: config.issuer.clone(),
            aud: config.audience.clone(),
            sub: user_id,
            roles,
            iat: now,
            exp: now + ttl_secs,
            jti: Uuid::new_v4(),
            sid: Some(session),
        };
        let state = self.state();
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(state.kid.clone());
        encode(&header, &claims, &state.encoding).map_err(ApiError::internal)
    }
}

impl KeyState {
    /// Signs with the newest key whose time has come; publishes every unretired key (those
    /// still to sign included). `rows` are newest first.
    fn from_rows(rows: &[store::signing_keys::Model]) -> anyhow::Result<Self> {
        let now = Utc::now();
        let signer = rows
            .iter()
            .find(|row| row.signs_from <= now)
            .or_else(|| rows.last())
            .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let secret = SecretKey::from_pkcs8_pem(&row.private_key_pem)?;
            keys.push(public_jwk(&secret, &row.kid));
        }
        let mut jwks_json = serde_json::to_value(CoreJsonWebKeySet::new(keys))?;
        // openidconnect's JWK type has no setter for `alg`; publish it so clients need not guess.
        if let Some(keys) = jwks_json.get_mut("keys").and_then(|k| k.as_array_mut()) {
            for key in keys {
                key["alg"] = serde_json::Value::from("ES256");
            }
        }
        Ok(Self {
            kid: signer.kid.clone(),
            encoding: EncodingKey::from_ec_pem(signer.private_key_pem.as_bytes())?,
            jwks_json,
        })
    }
}

/// A new ES256 key: its id (the RFC 7638 thumbprint) and its PKCS #8 PEM.
fn new_key() -> anyhow::Result<(String, String)> {
    let secret = SecretKey::random(&mut OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF)?;
    Ok((thumbprint(&secret), pem.to_string()))
}

impl SigningKeys {
    /// Signs any claims with the current key (ES256, its `kid`), with the header's `typ`.
    pub fn sign(&self, typ: &str, claims: &impl serde::Serialize) -> ApiResult<String> {
        let state = self.state();
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(state.kid.clone());
        header.typ = Some(typ.to_string());
        encode(&header, claims, &state.encoding).map_err(ApiError::internal)
    }
}

fn public_jwk(secret: &SecretKey, kid: &str) -> CoreJsonWebKey {
    let point = secret.public_key().to_encoded_point(false);
    let x = point.x().map(|x| x.to_vec()).unwrap_or_default();
    let y = point.y().map(|y| y.to_vec()).unwrap_or_default();
    CoreJsonWebKey::new_ec(
        x,
        y,
        CoreJsonCurveType::P256,
        Some(JsonWebKeyId::new(kid.to_string())),
    )
}

/// The RFC 7638 thumbprint of the public key: a stable, content-derived key id.
fn thumbprint(secret: &SecretKey) -> String {
    let point = secret.public_key().to_encoded_point(false);
    let b64 = |bytes: Option<&[u8]>| URL_SAFE_NO_PAD.encode(bytes.unwrap_or_default());
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        b64(point.x().map(|x| x.as_slice())),
        b64(point.y().map(|y| y.as_slice()))
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A refresh token: 32 random bytes, URL-safe. Only its SHA-256 is stored.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let bytes: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_stable_and_distinct() {
        let a = SecretKey::random(&mut OsRng);
        let b = SecretKey::random(&mut OsRng);
        assert_eq!(thumbprint(&a), thumbprint(&a));
        assert_ne!(thumbprint(&a), thumbprint(&b));
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (first, first_hash) = new_refresh_token();
        let (second, _) = new_refresh_token();
        assert_ne!(first, second);
        assert_eq!(hash_refresh_token(&first), first_hash);
        assert_eq!(first_hash.len(), 32);
    }
}
